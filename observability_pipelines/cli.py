"""The `obs` console script: one entry point, subcommands registered by each concern."""

from __future__ import annotations

import re

import typer
from typer.core import TyperGroup


class _FlagsWithoutMetavar(TyperGroup):
    """The root group: typer 0.29 prints a flag's type (`--help <bool>`) in the help's type column, although
    a flag takes no value. Blanks the metavar of every flag (and of each command's --help) in the tree, and
    gives each parameter the cheap coercion of `_PlainValues`."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        _blank_flag_metavars(self)


_PLAIN_INT = re.compile(r"-?(0|[1-9][0-9]{0,17})")


class _PlainValues:
    """A parameter's coercion that answers a value already of the parameter's plain type (str, int, float)
    itself and hands anything else to typer's own (a pydantic TypeAdapter). typer 0.29 builds that adapter for
    every parameter, even one left at its default: importing pydantic and building the schemas was ~0.4 s of
    each quick command. The answer is the same: the adapter returns such a value unchanged."""

    def __init__(self, param) -> None:
        self._param = param
        descriptor = param.type_descriptor
        self._type, self._info = descriptor.annotation, descriptor.parameter_info
        self._plain = self._type in (str, int, float) and self._info.parser is None and descriptor.file_annotation is None

    def coerce(self, value, param, ctx):
        if value is None:  # typer's RuntimeParam.coerce answers these before coercing
            return () if param.multiple or param.nargs == -1 else None
        if self._type is int and isinstance(value, str) and _PLAIN_INT.fullmatch(value):
            value = int(value)  # digits only: the integer pydantic's lax mode reads too
        if self._plain and type(value) is self._type and self._in_bounds(value):
            return value
        from typer._coercion import build_runtime_param

        self._param._runtime_param = build_runtime_param(self._param.type_descriptor)
        return self._param._runtime_param.coerce(value, param=param, ctx=ctx)

    def _in_bounds(self, value) -> bool:
        low, high = getattr(self._info, "min", None), getattr(self._info, "max", None)
        return self._type is str or ((low is None or value >= low) and (high is None or value <= high))


def _plain_values(param) -> None:
    if getattr(param, "_runtime_param", False) is None and hasattr(param, "type_descriptor"):
        param._runtime_param = _PlainValues(param)  # typer 0.29's lazy slot; absent in other versions


def _blank_flag_metavars(command) -> None:
    for param in command.params:
        if getattr(param, "is_flag", False) and param.metavar is None:
            param.metavar = ""
        _plain_values(param)
    make_help_option = command.get_help_option

    def get_help_option(ctx):
        option = make_help_option(ctx)
        if option is not None and option.metavar is None:
            option.metavar = ""
        _plain_values(option)
        return option

    command.get_help_option = get_help_option
    for sub in getattr(command, "commands", {}).values():
        _blank_flag_metavars(sub)


def _new_app() -> typer.Typer:
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

    return app


# Commands of this package by their first word; every other word belongs to the lineage CLI.
_OWN_CONCERNS = {"demo": "cli_demo", "expectations": "cli_expectations", "outbox": "cli_outbox"}


def _register_subcommands(app: typer.Typer, only: str | None = None) -> typer.Typer:
    # Imported lazily so each concern owns its commands, and `obs <command>` imports only the concern it runs
    # (`only`, the first word of the command line): the others' imports are most of a quick command's time.
    import importlib

    for word, module in _OWN_CONCERNS.items():
        if only is None or only == word:
            importlib.import_module(f"observability_pipelines.{module}").register(app)
    if only is None or only not in _OWN_CONCERNS:
        try:
            from lineage import cli as lineage_cli
        except ImportError:  # lineage CLI not present yet
            return app
        lineage_cli.register(app, only)
    return app


def _command_word(argv: list[str]) -> str | None:
    """The sub-command a command line names, or None (no word, an option first, a word no concern owns:
    then the whole tree is built, so help and "no such command" list every command)."""
    word = argv[0] if argv and not argv[0].startswith("-") else None
    return word if word in _OWN_CONCERNS or word in _LINEAGE_WORDS else None


# First words of the lineage CLI's commands (lineage/cli*.py register them); a test checks the list.
_LINEAGE_WORDS = frozenset({"serve", "ingest", "lineage", "rca", "incidents", "import", "store"})


def __getattr__(name: str):
    # `app` (the whole tree) is built on first use, so the console script can build only the invoked part.
    if name == "app":
        globals()["app"] = _register_subcommands(_new_app())
        return globals()["app"]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def main() -> None:
    """The `obs` console script: usage errors (a missing argument, an unknown option) in the CLI's one
    error style, `error: …` and `next: obs … --help`, instead of a boxed panel."""
    try:
        import sys

        app = _register_subcommands(_new_app(), _command_word(sys.argv[1:]))
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
