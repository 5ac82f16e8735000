"""Tables that fit and never cut an id or a number; `--json` and `--csv` for tools.

`etslink.cli.output` leaves columns out in their `drop` order and says so, and
falls back to one "header: value" line per cell when even that is too wide.
"""

from __future__ import annotations

import csv
import io
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console

from etslink.cli.output import Column, Report, Section, emit, print_section

ACCOUNT = "KR-100-1000046-0-23"
COLUMNS = [
    Column("account", "account", "id"),
    Column("holder", "holder", "text"),
    Column("quantity_t", "quantity t", "number"),
    Column("note", "note", "text", drop=1),
    Column("price_minor", "price KRW/t", "number", drop=2, show=lambda v: f"{v:,}"),
]


def _rows(count: int = 3) -> list[dict[str, object]]:
    return [
        {
            "account": ACCOUNT,
            "holder": "Pohang steel works of a company with a long name",
            "quantity_t": 20_350_125,
            "note": "allocated at the start of the period",
            "price_minor": 9_900_000,
        }
        for _ in range(count)
    ]


def _printed(width: int, rows: list[dict[str, object]] | None = None) -> str:
    console = Console(width=width, record=True, file=io.StringIO(), color_system=None)
    print_section(Section("holdings", rows or _rows(), COLUMNS, title="holdings"), console)
    return console.export_text()


@pytest.mark.parametrize("width", [200, 120, 80, 60, 40, 24])
def test_ids_and_numbers_are_whole_at_every_width(width: int) -> None:
    text = _printed(width)
    assert ACCOUNT in text
    assert "20,350,125" in text
    assert all(len(line) <= width for line in text.splitlines())
    if "9,900,000" not in text:
        assert "left out" in text and "price KRW/t" in text


def test_at_60_columns_the_lowest_priority_column_is_left_out_and_named() -> None:
    assert "left out" not in _printed(80)  # at 80 the text columns wrap instead
    text = _printed(60)
    assert "left out at 60 columns: note " in text
    assert "9,900,000" in text


def test_too_narrow_for_any_table_prints_each_row_as_lines() -> None:
    text = _printed(24)
    assert "quantity t: 20,350,125" in text
    assert ACCOUNT in text


@settings(max_examples=40, deadline=None)
@given(
    width=st.integers(30, 160),
    quantities=st.lists(st.integers(-(10**12), 10**12), min_size=1, max_size=5),
)
def test_no_number_is_ever_cut(width: int, quantities: list[int]) -> None:
    rows = [dict(_rows(1)[0], quantity_t=quantity) for quantity in quantities]
    text = _printed(width, rows)
    for quantity in quantities:
        assert f"{quantity:,}" in text


def test_json_has_every_key_of_every_row_and_a_versioned_schema(
    capsys: pytest.CaptureFixture[str],
) -> None:
    report = Report("holdings", [Section("holdings", _rows(2), COLUMNS)], extra={"registry": "KR"})
    emit(report, "json")
    doc = json.loads(capsys.readouterr().out)
    assert doc["schema"] == "etslink.holdings/1"
    assert doc["registry"] == "KR"
    assert doc["holdings"][0] == _rows(1)[0]


def test_csv_has_every_key_and_one_row_per_row(capsys: pytest.CaptureFixture[str]) -> None:
    emit(Report("holdings", [Section("holdings", _rows(2), COLUMNS)]), "csv")
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert len(rows) == 2
    assert rows[0]["account"] == ACCOUNT and rows[0]["price_minor"] == "9900000"
