"""The registry core's reference tables, rendered from its code so the docs cannot drift.

A document holds each generated table between two markers:

    <!-- check-codes:start -->
    | code | name | … |
    <!-- check-codes:end -->

`python -m registry.docs docs/registry-core.md` rewrites the tables this module knows
(`TABLES`: the check codes of `registry.errors.CheckCode`, the account kinds of
`registry.accounts.AccountKind`); `--check` rewrites nothing and exits 1 when a file's
table differs from the code's. `tests/registry/test_registry_core_doc.py` runs that check.
The gateway renders its own table (`gateway.docs`, docs/hub-check-codes.md) with the same
machinery: this module imports nothing above the registry.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path

from registry.accounts import AccountKind
from registry.errors import CheckCode

PACKAGE_DIR = Path(__file__).parent
MARKER_RE = "<!-- {name}:{end} -->"
DOC_BYTES_MAX = 1024 * 1024  # a document this tool rewrites

# What each check refuses. Families and sources: reference/registry-and-linking.md §b3
# (the UK ETS registry's business checks), §b4 (its transaction log), §b5 (our plan).
MEANINGS: Mapping[CheckCode, str] = {
    CheckCode.TRANSFERRING_ACCOUNT_CHECK_DIGITS_INVALID: (
        "the transferring account's id is malformed or its ISO 7064 check digits do not match"
    ),
    CheckCode.TRANSFERRING_ACCOUNT_DOES_NOT_EXIST: "no such transferring account in this registry",
    CheckCode.TRANSFERRING_ACCOUNT_CLOSED: "the transferring account is closed",
    CheckCode.TRANSFERRING_ACCOUNT_SUSPENDED: "the transferring account is blocked",
    CheckCode.OTHER_PENDING_TRANSACTION_OF_SAME_TYPE: (
        "the transferring account has another transfer of the same kind (internal or "
        "external) awaiting approval or delayed"
    ),
    CheckCode.TRANSACTION_NOT_ALLOWED_FOR_TRANSFERRING_ACCOUNT_TYPE: (
        "this transaction may not take units from an account of this kind"
    ),
    CheckCode.ACQUIRING_ACCOUNT_CHECK_DIGITS_INVALID: (
        "the acquiring account's id is malformed, of another registry, or its check digits "
        "do not match"
    ),
    CheckCode.ACQUIRING_ACCOUNT_DOES_NOT_EXIST: "no such acquiring account in this registry",
    CheckCode.ACQUIRING_ACCOUNT_CLOSED: "the acquiring account is closed",
    CheckCode.ACQUIRING_ACCOUNT_SUSPENDED: "the acquiring account is blocked",
    CheckCode.ACQUIRING_ACCOUNT_TYPE_MAY_NOT_HOLD_UNITS: (
        "the acquiring account's kind may not hold these units (a reserve or issuance "
        "account holds only the registry's own)"
    ),
    CheckCode.TRANSACTION_NOT_ALLOWED_FOR_ACQUIRING_ACCOUNT_TYPE: (
        "this transaction may not credit an account of this kind"
    ),
    CheckCode.TRANSFER_OUTSIDE_TRUSTED_LIST_NOT_ALLOWED: (
        "the account pays only accounts on its trusted list, and the payee is not on it "
        "(or not yet in effect)"
    ),
    CheckCode.ACQUIRING_ACCOUNT_EQUALS_TRANSFERRING: (
        "the acquiring account is the transferring account"
    ),
    CheckCode.QUANTITY_EXCEEDS_BALANCE: "the account holds fewer units of the type than asked for",
    CheckCode.INVALID_UNIT_TYPE: (
        "a unit type the registry does not know, or may not issue (another origin's)"
    ),
    CheckCode.QUANTITY_NOT_POSITIVE_INTEGER: "the quantity is not a whole number of 1 or more",
    CheckCode.ACQUIRING_ACCOUNT_HAS_PENDING_TRANSACTION_OF_SAME_TYPE: (
        "the acquiring account has an internal transfer of its own pending"
    ),
    CheckCode.TRANSACTION_DURING_RECONCILIATION: (
        "a reconciliation is pending: no transaction may start (raised by the gateway)"
    ),
    CheckCode.ISSUANCE_OVER_CAP: "issuing would exceed the cap set for the unit type and vintage",
    CheckCode.BLOCKS_NOT_HELD: (
        "the account does not hold the named serial block, or an imported block overlaps "
        "serials already held (the hub log's check)"
    ),
    CheckCode.TRANSACTION_ID_EXISTS: (
        "the transaction or lock id was already used: a replay or a duplicate"
    ),
    CheckCode.UNITS_QUARANTINED: "the serials are on the quarantine list: nothing may move them",
    CheckCode.REGISTRY_SUSPENDED: (
        "the registry is suspended: only allocation and surrender are allowed"
    ),
    CheckCode.ACCOUNT_NOT_EMPTY: "an account that still holds units, or locked units, cannot close",
    CheckCode.ISSUANCE_OVERLAPS_ISSUED_SERIALS: (
        "the serials asked for overlap serials already issued: serials are never reused"
    ),
    CheckCode.UNKNOWN_LOCK: "no such lock in this registry",
    CheckCode.INVALID_VINTAGE: "the vintage is not a year in the registry's range",
    CheckCode.INVALID_ARGUMENT: (
        "a malformed argument: a name, code, label, time or message field not as expected"
    ),
    CheckCode.ACCOUNT_STATUS_CONFLICT: (
        "the account's status does not allow the change (closing a closed account, "
        "blocking a singleton account)"
    ),
    CheckCode.UNIT_TYPE_ALREADY_REGISTERED: "the unit type is already registered",
    CheckCode.INVALID_SERIAL_RANGE: "a serial range outside 1 <= start <= end <= the maximum",
    CheckCode.PROJECT_ID_INVALID: (
        "an offset credit issued without its project id, or an allowance with one"
    ),
    CheckCode.HOLDING_LIMIT_EXCEEDED: (
        "the acquiring holder would hold more allowances than its holding limit"
    ),
    CheckCode.TRANSFER_NEEDS_APPROVAL: (
        "a transfer from a controlled account must be initiated by a representative (and "
        "approved by another), not made directly"
    ),
    CheckCode.UNKNOWN_CONTROLLED_TRANSFER: "no such initiated transfer in this registry",
    CheckCode.APPROVER_IS_INITIATOR: "the approver initiated the transfer: four eyes need two",
    CheckCode.NOT_A_REPRESENTATIVE: "the person is not an authorised representative of the account",
    CheckCode.TRANSFER_NOT_PENDING: (
        "the transfer is not awaiting approval (or not approved) any more"
    ),
}


def family(code: CheckCode) -> str:
    """Return the family of `code` and where its numbering comes from."""
    number = int(code)
    if 1000 <= number < 2000:
        return "transferring account (UK registry)"
    if 2000 <= number < 3000:
        return "acquiring account (UK registry)"
    if 3000 <= number < 4000:
        return "units and quantities (UK registry)"
    if 10000 <= number < 11000:
        return "hub log (UK transaction log)"
    assert 9100 <= number < 9200, f"check code {number} is in no family"
    return "registry (etslink)"


def raised_in(code: CheckCode, package_dir: Path = PACKAGE_DIR) -> list[str]:
    """Return the registry modules that name `code` (`CheckCode.NAME`), sorted."""
    pattern = re.compile(rf"\bCheckCode\.{code.name}\b")
    modules = []
    for path in sorted(package_dir.glob("*.py")):
        if path.name in ("errors.py", "docs.py"):
            continue  # where the codes are defined, and this table
        if pattern.search(path.read_text(encoding="utf-8")):
            modules.append(path.stem)
    return modules


def check_code_table() -> str:
    """Return the markdown table of every `CheckCode`, in numeric order."""
    missing = [code.name for code in CheckCode if code not in MEANINGS]
    if missing:
        raise ValueError(f"check codes without a meaning in registry/docs.py: {missing}")
    rows = []
    for code in sorted(CheckCode, key=int):
        modules = raised_in(code)
        rows.append(
            (
                str(int(code)),
                f"`{code.name}`",
                family(code),
                MEANINGS[code],
                ", ".join(f"`{module}`" for module in modules) or "—",
            )
        )
    return markdown_table(("code", "name", "family", "refused when", "raised in registry/"), rows)


def account_kind_table() -> str:
    """Return the markdown table of every `AccountKind`: type code, singleton, terminal."""
    rows = [
        (
            f"`{kind.value}`",
            str(kind.type_code),
            "one, opened with the registry" if kind.singleton else "any number",
            "yes: units never move again" if kind.terminal else "no",
        )
        for kind in sorted(AccountKind, key=lambda kind: kind.type_code)
    ]
    return markdown_table(("kind", "type code", "accounts", "terminal"), rows)


TABLES: Mapping[str, Callable[[], str]] = {
    "check-codes": check_code_table,
    "account-kinds": account_kind_table,
}


# ---------------------------------------------------------------- the machinery


def markdown_table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """Return a GitHub markdown table; a `|` inside a cell is escaped."""
    lines = [_row(header), "|" + "---|" * len(header)]
    for row in rows:
        assert len(row) == len(header), (header, row)
        lines.append(_row(row))
    return "\n".join(lines)


def _row(cells: Sequence[str]) -> str:
    return "| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |"


def block(text: str, name: str) -> str:
    """Return what `text` holds between the markers of `name`; ValueError without them."""
    start, end = _markers(name)
    if text.count(start) != 1 or text.count(end) != 1:
        raise ValueError(f"expected one {start} and one {end}")
    _, rest = text.split(start)
    inside, _ = rest.split(end)
    return inside.strip("\n")


def with_block(text: str, name: str, table: str) -> str:
    """Return `text` with the block of `name` replaced by `table`."""
    block(text, name)  # exactly one pair of markers, or ValueError
    start, end = _markers(name)
    before, rest = text.split(start)
    _, after = rest.split(end)
    return f"{before}{start}\n{table}\n{end}{after}"


def _markers(name: str) -> tuple[str, str]:
    return MARKER_RE.format(name=name, end="start"), MARKER_RE.format(name=name, end="end")


def stale_blocks(text: str, tables: Mapping[str, Callable[[], str]]) -> list[str]:
    """Return the names of the blocks in `text` whose table differs from the code's."""
    return [
        name
        for name, render in tables.items()
        if _markers(name)[0] in text and block(text, name) != render()
    ]


def regenerate(text: str, tables: Mapping[str, Callable[[], str]]) -> str:
    """Return `text` with every block it has of `tables` rendered afresh."""
    for name, render in tables.items():
        if _markers(name)[0] in text:
            text = with_block(text, name, render())
    return text


def main(argv: Sequence[str], tables: Mapping[str, Callable[[], str]] = TABLES) -> int:
    """Rewrite (or with `--check`, compare) the generated tables in the files of `argv`."""
    check = "--check" in argv
    paths = [Path(arg) for arg in argv if arg != "--check"]
    if not paths:
        print("usage: python -m registry.docs [--check] FILE.md …", file=sys.stderr)
        return 2
    stale = []
    for path in paths:
        text = path.read_text(encoding="utf-8")
        if len(text) > DOC_BYTES_MAX:
            print(f"{path}: expected at most {DOC_BYTES_MAX:,} bytes", file=sys.stderr)
            return 2
        names = [name for name in tables if _markers(name)[0] in text]
        if not names:
            print(f"{path}: no generated table ({', '.join(tables)}) in it", file=sys.stderr)
            return 2
        if check:
            stale += [f"{path}: {name}" for name in stale_blocks(text, tables)]
        else:
            path.write_text(regenerate(text, tables), encoding="utf-8")
    if stale:
        print("tables differ from the code: " + "; ".join(stale), file=sys.stderr)
        return 1
    return 0


__all__ = [
    "MEANINGS",
    "TABLES",
    "account_kind_table",
    "block",
    "check_code_table",
    "family",
    "main",
    "markdown_table",
    "raised_in",
    "regenerate",
    "stale_blocks",
    "with_block",
]

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
