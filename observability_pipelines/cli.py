"""The `obs` console script: one entry point, subcommands registered by each concern."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="obs",
    help="AI data observability on Dagster: pipelines, lineage, checks and root-cause analysis.",
    no_args_is_help=True,
    add_completion=False,
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

if __name__ == "__main__":
    app()
