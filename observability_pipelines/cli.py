"""The `obs` console script: one entry point, subcommands registered by each concern."""

from __future__ import annotations

import typer
from typer.core import TyperGroup


class _FlagsWithoutMetavar(TyperGroup):
    """The root group: typer 0.29 prints a flag's type (`--help <bool>`) in the help's type column, although
    a flag takes no value. Blanks the metavar of every flag (and of each command's --help) in the tree."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        _blank_flag_metavars(self)


def _blank_flag_metavars(command) -> None:
    for param in command.params:
        if getattr(param, "is_flag", False) and param.metavar is None:
            param.metavar = ""
    make_help_option = command.get_help_option

    def get_help_option(ctx):
        option = make_help_option(ctx)
        if option is not None and option.metavar is None:
            option.metavar = ""
        return option

    command.get_help_option = get_help_option
    for sub in getattr(command, "commands", {}).values():
        _blank_flag_metavars(sub)


app = typer.Typer(
    name="obs",
    help="AI data observability on Dagster: pipelines, lineage, checks and root-cause analysis.",
    no_args_is_help=True,
    add_completion=False,
    cls=_FlagsWithoutMetavar,
)


@app.callback()
def main() -> None:
    """AI data observability on Dagster."""


def _register_subcommands() -> None:
    # Imported lazily so `obs --help` stays fast and each concern owns its commands.
    from observability_pipelines import cli_demo, cli_expectations, cli_outbox

    cli_demo.register(app)
    cli_expectations.register(app)
    cli_outbox.register(app)
    try:
        from lineage import cli as lineage_cli
    except ImportError:  # lineage CLI not present yet
        return
    lineage_cli.register(app)


_register_subcommands()


def main() -> None:
    """The `obs` console script: usage errors (a missing argument, an unknown option) in the CLI's one
    error style, `error: …` and `next: obs … --help`, instead of a boxed panel."""
    try:
        code = app(standalone_mode=False)
    except typer.Abort:
        raise SystemExit(130) from None
    except Exception as exc:
        if not (hasattr(exc, "format_message") and hasattr(exc, "exit_code")):
            raise  # not a usage error (ClickException): typer's own traceback handling applies
        from lineage.cli import _fail

        ctx = getattr(exc, "ctx", None)
        hint = f"`{ctx.command_path} --help` lists the arguments and options" if ctx is not None else None
        raise SystemExit(_fail(exc.format_message(), hint, exc.exit_code).exit_code) from None
    raise SystemExit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()
