"""Code health checks over the package sources (no imports, only their syntax trees)."""

from __future__ import annotations

import ast
import warnings
from functools import lru_cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("lineage", "observability_pipelines")
MAX_FUNCTION_LINES = 80  # a function longer than this no longer reads at once (issue #14)
# Alembic revisions are history: a released migration is never rewritten, however long its upgrade().
EXCLUDED = ("lineage/store/migrations/versions/",)
# Known long functions, each with why it is still here; the test fails once one is split, so the list shrinks.
KNOWN_LONG: dict[str, str] = {}


def _functions(path: Path):
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
            yield node.name, node.lineno, node.end_lineno - first + 1


@lru_cache(maxsize=None)  # both tests read the same parse of the sources
def long_functions(limit: int = MAX_FUNCTION_LINES) -> tuple[str, ...]:
    """`path:line name (N lines)` of every function (decorators included, nested ones on their own too)
    longer than `limit` lines."""
    found = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            relative = path.relative_to(ROOT).as_posix()
            if relative.startswith(EXCLUDED):
                continue
            found += [f"{relative} {name}:{line} ({length} lines)"
                      for name, line, length in _functions(path) if length > limit]
    return tuple(found)


def _key(entry: str) -> str:
    return entry.rsplit(":", 1)[0]  # "path name", without the line number and length


def test_no_function_is_longer_than_80_lines() -> None:
    found = [entry for entry in long_functions() if _key(entry) not in KNOWN_LONG]
    assert not found, f"{len(found)} functions over {MAX_FUNCTION_LINES} lines:\n" + "\n".join(found)


def test_known_long_functions_are_still_long() -> None:
    """An entry of KNOWN_LONG whose function was split (or renamed) goes from the list."""
    current = {_key(entry) for entry in long_functions()}
    assert sorted(set(KNOWN_LONG) - current) == []


def test_the_check_finds_a_long_function(tmp_path: Path) -> None:
    body = "\n".join(f"    x{i} = {i}" for i in range(MAX_FUNCTION_LINES))
    source = tmp_path / "long.py"
    source.write_text(f"def short():\n    return 1\n\n\n@decorated\ndef long():\n{body}\n")
    assert [(name, length) for name, _, length in _functions(source)] == [
        ("short", 2), ("long", MAX_FUNCTION_LINES + 2)]


# ---------------------------------------------------------------------- deprecations (pyproject filterwarnings)
def _warn_from(module: str) -> list[warnings.WarningMessage]:
    """A DeprecationWarning as if raised in `module`, under the filters pytest applies to this test."""
    with warnings.catch_warnings(record=True) as caught:  # keeps the active filters; records what is shown
        warnings.warn_explicit("old API", DeprecationWarning, f"{module.replace('.', '/')}.py", 1, module=module)
    return caught


@pytest.mark.parametrize("module", ["lineage.store.database", "observability_pipelines.observe.asset",
                                    "expectations.build_suites"])
def test_a_deprecation_raised_from_our_code_fails_the_test(module: str) -> None:
    with pytest.raises(DeprecationWarning, match="old API"):
        _warn_from(module)


def test_a_third_party_deprecation_is_shown_not_fatal() -> None:
    assert [str(w.message) for w in _warn_from("some_library.module")] == ["old API"]
