"""CLI tables and names: plain whole values through a pipe, fitted to a terminal, in full with --wide."""

from __future__ import annotations

import re

import pytest

from lineage.cli_render import Col, Names, iso_seconds, node_label, table

ANSI = re.compile(r"\x1b\[[0-9;]*m")
COLS = [Col("dataset", keep=True), Col("rows", justify="right"), Col("transformations", drop_if_empty=True),
        Col("producer", optional=True)]
ROWS = [["raw.customers_with_a_long_name", "1500", "", "https://github.com/OpenLineage/producer/dagster"],
        ["clean.customers", "12", "", "https://github.com/OpenLineage/producer/spark"]]


def test_through_a_pipe_every_value_is_whole_and_aligned(capsys, monkeypatch) -> None:
    monkeypatch.setenv("TTY_COMPATIBLE", "0")
    monkeypatch.setenv("COLUMNS", "40")
    table("Datasets", COLS, ROWS, note="namespace: demo")
    lines = capsys.readouterr().out.splitlines()
    assert lines[:2] == ["Datasets", "namespace: demo"]
    assert lines[2].split() == ["dataset", "rows", "producer"]  # the empty column is left out
    assert lines[3].startswith("raw.customers_with_a_long_name  1500  https://github.com/OpenLineage/producer/dagster")
    assert lines[4].startswith("clean.customers                   12  ")  # numbers right-aligned
    assert all(len(line) > 40 for line in lines[3:])  # not folded at the terminal width


def test_on_a_narrow_terminal_optional_columns_go_and_the_note_says_so(capsys, monkeypatch) -> None:
    monkeypatch.setenv("TTY_COMPATIBLE", "1")
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "60")
    table(None, COLS, ROWS)
    text = ANSI.sub("", capsys.readouterr().out)
    assert "--wide adds: producer" in text and "github.com" not in text
    assert "raw.customers_with_a_long_name" in text  # a name is never wrapped
    assert all(len(line) <= 60 for line in text.splitlines())


def test_wide_prints_everything_at_its_natural_width(capsys, monkeypatch) -> None:
    monkeypatch.setenv("TTY_COMPATIBLE", "1")
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "60")
    table(None, COLS, ROWS, wide=True)
    text = ANSI.sub("", capsys.readouterr().out)
    assert "https://github.com/OpenLineage/producer/dagster" in text and "--wide adds" not in text


def test_names_say_the_namespace_once_and_in_place_only_where_ambiguous() -> None:
    nodes = [{"namespace": "warehouse", "name": "orders"}, {"namespace": "lake", "name": "orders"},
             {"namespace": "warehouse", "name": "customers"}, {"type": "job", "namespace": "etl", "name": "load"}]
    names = Names(nodes)
    assert [names.label(n) for n in nodes] == ["warehouse:orders", "lake:orders", "customers", "job:load"]
    assert names.note == "namespaces: datasets in lake, warehouse; jobs in etl"
    single = Names(nodes[2:3])
    assert single.note == "namespace: warehouse" and single.name(nodes[2]) == "customers"
    wide = Names(nodes, wide=True)
    assert wide.name(nodes[2]) == "warehouse:customers" and wide.note is None


@pytest.mark.parametrize(("iso", "shown"), [
    ("2026-03-05T02:14:09.123456+00:00", "2026-03-05T02:14:09Z"), ("2026-03-05T02:14:09Z", "2026-03-05T02:14:09Z"),
    ("2026-03-05T02:14:09+02:00", "2026-03-05T02:14:09+02:00"), (None, ""), ("", ""),
])
def test_iso_seconds_shows_utc_times_to_the_second(iso, shown) -> None:
    assert iso_seconds(iso) == shown


def test_node_label_marks_jobs() -> None:
    assert node_label({"type": "job", "name": "load"}) == "job:load" and node_label({"name": "orders"}) == "orders"
