"""docs/hub-check-codes.md: its table is the one `gateway.docs` renders from the codes."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from gateway import docs
from gateway.errors import LinkCode
from registry.docs import block

DOC = Path(__file__).parents[2] / "docs" / "hub-check-codes.md"


def test_the_hub_check_codes_doc_holds_the_table_the_code_renders() -> None:
    text = DOC.read_text(encoding="utf-8")

    assert block(text, "hub-check-codes") == docs.hub_check_code_table(), (
        "docs/hub-check-codes.md's table differs from gateway/docs.py; run "
        "python -m gateway.docs docs/hub-check-codes.md"
    )


def test_every_link_code_has_exactly_one_row() -> None:
    codes = [row.code for row in docs.ROWS]

    assert {code for code in codes if isinstance(code, LinkCode)} == set(LinkCode)
    assert len(codes) == len(set(codes))


def test_a_link_code_without_a_row_stops_the_rendering(monkeypatch: pytest.MonkeyPatch) -> None:
    rows = tuple(row for row in docs.ROWS if row.code is not LinkCode.PROPOSAL_STALE)
    monkeypatch.setattr(docs, "ROWS", rows)

    with pytest.raises(ValueError, match=r"link codes without a row \['PROPOSAL_STALE'\]"):
        docs.hub_check_code_table()


def test_a_code_with_two_rows_stops_the_rendering(monkeypatch: pytest.MonkeyPatch) -> None:
    extra = dataclasses.replace(docs.ROWS[0], meaning="again")
    monkeypatch.setattr(docs, "ROWS", (*docs.ROWS, extra))

    with pytest.raises(ValueError, match=r"codes with two rows \[9001\]"):
        docs.hub_check_code_table()
