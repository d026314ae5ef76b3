"""The README promises two set-up commands; CI must run the second one verbatim."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _setup_commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    section = text.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```(?:bash|sh)\n(.+?)\n```", section)


def test_readme_has_exactly_two_setup_commands_each_with_its_own_venv():
    commands = _setup_commands()
    assert len(commands) == 2, commands
    run, test = commands
    assert "-m venv" in run and "obs demo" in run
    assert "-m venv" in test and "pytest" in test
    assert run.split("-m venv ")[1].split()[0] != test.split("-m venv ")[1].split()[0]


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert _setup_commands()[1] in ci
