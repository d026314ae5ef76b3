"""How the CLI prints tables and messages: fitted to a terminal, plain and whole through a pipe.

On a terminal a table is a Rich table whose name-like columns never wrap (the others fold);
`--wide` prints it at its natural width. Through a pipe (stdout not a terminal, where Rich would
fold everything at 80 columns) it is plain aligned text with every value whole: `grep`/`cut`-able.
Columns that are empty in every row are left out, and namespaces are said once above the table
(a name held by two namespaces is shown as namespace:name; `--wide` shows every namespace in place).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from rich.console import Console

JOB_PREFIX = "job:"  # how a job is told from a dataset in a path or an edge


@dataclass(frozen=True)
class Col:
    heading: str
    justify: str = "left"
    keep: bool = False  # a name: never wrapped on a terminal
    drop_if_empty: bool = False
    optional: bool = False  # left out (last first) when the table does not fit the terminal; --wide shows it


class LazyConsole:
    """A Console made at each use, so the terminal (or pipe) and $COLUMNS of *this* call decide;
    through a pipe lines are never folded (soft wrap)."""

    def __init__(self, stderr: bool = False) -> None:
        self._stderr = stderr

    def console(self) -> Console:
        console = Console(stderr=self._stderr, highlight=False)
        console.soft_wrap = self._stderr or not console.is_terminal
        return console

    def __getattr__(self, name: str) -> Any:
        return getattr(self.console(), name)


out = LazyConsole()
err = LazyConsole(stderr=True)


def table(title: str | None, cols: Sequence[Col], rows: Iterable[Sequence[str]], *, wide: bool = False,
          note: str | None = None) -> None:
    """Print rows under headings; `note` (e.g. the shared namespace) goes under the title."""
    rows = [list(r) for r in rows]
    keep = [i for i, c in enumerate(cols) if not (c.drop_if_empty and not any(r[i] for r in rows))]
    cols = [cols[i] for i in keep]
    rows = [[r[i] for i in keep] for r in rows]
    console = out.console()
    if not console.is_terminal:
        _plain(console, title, note, cols, rows)
        return
    if not wide:
        cols, rows, hidden = _fit(cols, rows, console.width)
        if hidden:
            note = "; ".join(filter(None, [note, f"--wide adds: {', '.join(hidden)}"]))
    from rich.table import Table
    from rich.text import Text

    for line, style in ((title, "bold"), (note, "dim")):
        if line:
            console.print(Text(line, style=style))  # wrapped between words at the terminal's width
    grid = Table(show_edge=False)
    for c in cols:
        grid.add_column(c.heading, justify=c.justify, no_wrap=wide or c.keep, overflow="fold",
                        min_width=min(len(c.heading), 12))
    for r in rows:
        grid.add_row(*(Text(cell) for cell in r))  # values print as they are: no markup
    if wide:
        width = console.measure(grid, options=console.options.update_width(10**5)).maximum
        console = Console(file=console.file, width=max(width, console.width), highlight=False, force_terminal=True,
                          no_color=console.no_color)
    console.print(grid, markup=False, crop=not wide)


def _natural_width(cols: Sequence[Col], rows: list[list[str]]) -> int:
    widths = [max([len(c.heading), *(len(r[i]) for r in rows)]) for i, c in enumerate(cols)]
    return sum(widths) + 3 * len(cols) - 1  # a space either side of each cell, a rule between cells


def _fit(cols: Sequence[Col], rows: list[list[str]], width: int) -> tuple[list[Col], list[list[str]], list[str]]:
    """Leave out optional columns, the last first, until the table fits `width`."""
    cols, hidden = list(cols), []
    while _natural_width(cols, rows) > width:
        optional = [i for i, c in enumerate(cols) if c.optional]
        if not optional:
            break
        drop = optional[-1]
        hidden.insert(0, cols.pop(drop).heading)
        rows = [r[:drop] + r[drop + 1:] for r in rows]
    return cols, rows, hidden


def _plain(console: Console, title: str | None, note: str | None, cols: Sequence[Col], rows: list[list[str]]) -> None:
    widths = [max([len(c.heading), *(len(r[i]) for r in rows)]) for i, c in enumerate(cols)]

    def line(cells: Sequence[str]) -> str:
        padded = [cell.rjust(w) if c.justify == "right" else cell.ljust(w) for cell, w, c in zip(cells, widths, cols)]
        return "  ".join(padded).rstrip()

    text = [t for t in (title, note) if t] + [line([c.heading for c in cols]), *(line(r) for r in rows)]
    console.file.write("\n".join(text) + "\n")


class Names:
    """How nodes are named in one answer: by name alone where that is unambiguous (the namespaces are
    then said once, in `note`), as `namespace:name` where two namespaces hold the name, and always in
    full under `--wide`. Jobs read `job:NAME`."""

    def __init__(self, items: Iterable[Mapping[str, Any]], wide: bool = False) -> None:
        spaces: dict[tuple[str, str], set[str]] = {}
        for item in items:
            spaces.setdefault((item.get("type", "dataset"), item["name"]), set()).add(item["namespace"])
        self.wide = wide
        self.ambiguous = {key for key, found in spaces.items() if len(found) > 1}
        self._by_kind: dict[str, set[str]] = {}
        for (kind, _), found in spaces.items():
            self._by_kind.setdefault(kind, set()).update(found)

    def name(self, node: Mapping[str, Any]) -> str:
        full = self.wide or (node.get("type", "dataset"), node["name"]) in self.ambiguous
        return f"{node['namespace']}:{node['name']}" if full else node["name"]

    def label(self, node: Mapping[str, Any]) -> str:
        return f"{JOB_PREFIX}{self.name(node)}" if node.get("type") == "job" else self.name(node)

    @property
    def note(self) -> str | None:
        if self.wide or not self._by_kind:
            return None
        every = sorted(set().union(*self._by_kind.values()))
        if len(every) == 1:
            return f"namespace: {every[0]}"
        return "namespaces: " + "; ".join(f"{kind}s in {', '.join(sorted(found))}"
                                          for kind, found in sorted(self._by_kind.items()))


def node_label(node: Mapping[str, Any]) -> str:
    """`name` for a dataset, `job:name` for a job."""
    return f"{JOB_PREFIX}{node['name']}" if node.get("type") == "job" else node["name"]


def iso_seconds(iso: str | None) -> str:
    """`2026-03-05T02:14:09Z`: an ISO-8601 UTC time to the second, for a table cell."""
    if not iso:
        return ""
    return iso[:19] + "Z" if iso.endswith("+00:00") or iso.endswith("Z") else iso
