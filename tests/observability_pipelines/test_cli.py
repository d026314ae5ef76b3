"""The `obs` console script's root: every command is registered, and help shows no type for flags."""

from __future__ import annotations

import re

import typer
from typer.testing import CliRunner

from observability_pipelines.cli import app

ANSI = re.compile(r"\x1b\[[0-9;]*m")
runner = CliRunner()


def _command_paths(command, path=()):
    yield list(path)
    for name, sub in getattr(command, "commands", {}).items():
        yield from _command_paths(sub, (*path, name))


def _help(path: list[str]) -> str:
    result = runner.invoke(app, [*path, "--help"], env={"COLUMNS": "160", "NO_COLOR": "1"})
    assert result.exit_code == 0, (path, result.output)
    return ANSI.sub("", result.output)


def test_every_command_is_reachable_from_the_root() -> None:
    paths = {" ".join(p) for p in _command_paths(typer.main.get_command(app))}
    for expected in ("demo", "serve", "ingest", "rca", "lineage upstream", "lineage datasets", "outbox flush",
                     "expectations validate", "incidents show", "store prune", "import marquez"):
        assert expected in paths, sorted(paths)


def test_flags_show_no_bool_metavar_in_any_help() -> None:
    """A flag takes no value, so the type column stays empty (typer 0.29 prints `<bool>` there)."""
    root = typer.main.get_command(app)
    for path in _command_paths(root):
        text = _help(path)
        assert "<bool>" not in text, (path, [line for line in text.splitlines() if "<bool>" in line])
        assert re.search(r"--help\s+Show this message and exit\.", text), path


def test_options_that_take_values_keep_their_type() -> None:
    prune = _help(["store", "prune"])
    assert re.search(r"--older-than\s+<float range>", prune)
    assert re.search(r"--dry-run\s+Count only", prune)  # the flag: its help right after the name
