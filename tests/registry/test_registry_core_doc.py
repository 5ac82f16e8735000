"""docs/registry-core.md: its tables are the ones the code renders (`registry.docs`).

The check-code table comes from `registry.errors.CheckCode` and the meanings beside it in
registry/docs.py; the account-kind table from `registry.accounts.AccountKind`. A code
added, renamed or moved to another module changes the rendering, and this test fails
until `python -m registry.docs docs/registry-core.md` is run.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from registry import docs
from registry.account_ids import AccountId
from registry.accounts import AccountKind
from registry.errors import CheckCode

DOC = Path(__file__).parents[2] / "docs" / "registry-core.md"


@pytest.mark.parametrize("name", sorted(docs.TABLES))
def test_the_registry_core_doc_holds_the_table_the_code_renders(name: str) -> None:
    text = DOC.read_text(encoding="utf-8")

    assert docs.block(text, name) == docs.TABLES[name](), (
        f"docs/registry-core.md's {name} table differs from the code; run "
        "python -m registry.docs docs/registry-core.md"
    )


def test_the_check_code_table_has_one_row_per_code_in_numeric_order() -> None:
    rows = docs.check_code_table().splitlines()[2:]

    assert [int(row.split(" | ")[0].strip("| ")) for row in rows] == sorted(map(int, CheckCode))
    assert "| 3005 | `QUANTITY_EXCEEDS_BALANCE` | units and quantities (UK registry) |" in rows[14]


def test_a_check_code_without_a_meaning_stops_the_rendering(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    meanings = dict(docs.MEANINGS)
    del meanings[CheckCode.UNKNOWN_LOCK]
    monkeypatch.setattr(docs, "MEANINGS", meanings)

    with pytest.raises(
        ValueError, match=r"without a meaning in registry/docs.py: \['UNKNOWN_LOCK'\]"
    ):
        docs.check_code_table()


def test_raised_in_names_the_modules_that_raise_a_code() -> None:
    assert docs.raised_in(CheckCode.HOLDING_LIMIT_EXCEEDED) == ["transfer_controls"]
    assert docs.raised_in(CheckCode.TRANSACTION_DURING_RECONCILIATION) == []  # the gateway's


def test_the_account_kind_table_says_each_kinds_type_code_and_whether_it_is_terminal() -> None:
    table = docs.account_kind_table()

    assert "| `trading` | 121 | any number | no |" in table
    assert (
        "| `surrender` | 290 | one, opened with the registry | yes: units never move again |"
        in (table)
    )
    assert table.count("\n") == len(AccountKind) + 1


def test_the_docs_worked_account_id_is_the_one_the_code_spells() -> None:
    # docs/registry-core.md, "Account ids and their check digits"
    account = AccountId("EU", AccountKind.TRADING.type_code, 1_000_059)

    assert str(account) == "EU-121-1000059-0-91"
    assert int("1000059143012100" + "00") % 97 == 7
    assert int("1000059143012100" + "91") % 97 == 1
    assert AccountId.parse("EU-121-1000059-0-91") == account


def test_the_command_rewrites_a_stale_table_and_check_reports_it(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(
        "# Codes\n\n<!-- check-codes:start -->\n| old |\n<!-- check-codes:end -->\n\nAfter.\n",
        encoding="utf-8",
    )

    assert docs.main(["--check", str(page)]) == 1
    assert docs.main([str(page)]) == 0
    assert docs.main(["--check", str(page)]) == 0
    text = page.read_text(encoding="utf-8")
    assert docs.block(text, "check-codes") == docs.check_code_table()
    assert text.startswith("# Codes\n\n<!-- check-codes:start -->\n| code |")
    assert text.endswith("<!-- check-codes:end -->\n\nAfter.\n")


def test_a_page_without_markers_or_with_two_is_refused(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text("# No table here\n", encoding="utf-8")
    assert docs.main([str(page)]) == 2
    twice = "<!-- check-codes:start -->\n<!-- check-codes:end -->\n" * 2
    with pytest.raises(ValueError, match="expected one <!-- check-codes:start -->"):
        docs.block(twice, "check-codes")


def test_a_pipe_inside_a_cell_is_escaped() -> None:
    assert docs.markdown_table(("a", "b"), [("x|y", "z")]) == "| a | b |\n|---|---|\n| x\\|y | z |"
