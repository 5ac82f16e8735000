"""A transfer's journal body, written directly, is exactly the canonical encoding.

`UnitsMoved.to_text` skips the generic check and encoder for speed; the
journal's hash chain is defined over `canonical.encode_text(event.to_data())`,
so the two must agree byte for byte, and on what they refuse.
"""

from __future__ import annotations

from dataclasses import fields, replace
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from registry import LockPurpose, TransactionType, UnitBlock, UnitsMoved, canonical
from registry.events import UnitsExported, UnitsImported

# Text that JSON escapes, or that the encoder writes raw because ensure_ascii is off.
texts = st.text(alphabet=st.sampled_from('aZ9-"\\/\n\t\x00\x1f\x7fé€😀\u2028'), max_size=6)


class Label(str):
    """A str subclass: check_plain refuses it, so both paths must."""


class Count(int):
    """An int subclass: check_plain refuses it, so both paths must."""


# Values of a type other than the one a field expects.
odd_values = st.sampled_from([Label("x"), 1.5, True, None, 7, [1], ("a",)])


@st.composite
def blocks(draw: st.DrawFn) -> UnitBlock:
    start = draw(st.integers(min_value=1, max_value=2**62 - 1))
    return UnitBlock(
        draw(texts),
        draw(texts),
        draw(st.integers(1990, 2200)),
        start,
        draw(st.integers(min_value=start, max_value=2**62)),
        draw(texts),
        draw(st.booleans()),
    )


@st.composite
def moves(draw: st.DrawFn) -> UnitsMoved:
    return UnitsMoved(
        draw(st.sampled_from(TransactionType)),
        draw(texts),
        draw(texts),
        tuple(draw(st.lists(blocks(), max_size=4))),
        draw(st.none() | st.integers(1990, 2200)),
        draw(texts),
        draw(st.none() | st.sampled_from(LockPurpose)),
    )


@st.composite
def moves_with_one_odd_field(draw: st.DrawFn) -> UnitsMoved:
    """Draw a transfer with one field, its own or one block's, of an unexpected type."""
    event = draw(moves())
    odd: Any = draw(odd_values | st.sampled_from(["transfer", 2021.0, 0, 1, Label("lock")]))
    if draw(st.booleans()) and event.blocks:
        index = draw(st.integers(0, len(event.blocks) - 1))
        name = draw(st.sampled_from(["(the block)", *(field.name for field in fields(UnitBlock))]))
        changed: list[Any] = list(event.blocks)
        if name == "(the block)":
            changed[index] = odd
            return replace(event, blocks=tuple(changed))
        if name in ("start", "end"):
            odd = Count(getattr(changed[index], name))  # keeps start <= end comparable
        block_changes: dict[str, Any] = {name: odd}
        changed[index] = replace(changed[index], **block_changes)
        return replace(event, blocks=tuple(changed))
    name = draw(st.sampled_from([field.name for field in fields(UnitsMoved)]))
    changes: dict[str, Any] = {name: list(event.blocks) if name == "blocks" else odd}
    return replace(event, **changes)


def outcome(encode: Any) -> tuple[str, str]:
    try:
        return ("text", encode())
    except Exception as error:  # the refusal itself is what is compared
        return (type(error).__name__, str(error))


@given(moves())
def test_transfer_body_written_directly_equals_the_canonical_encoding(event: UnitsMoved) -> None:
    assert outcome(event.to_text) == outcome(lambda: canonical.encode_text(event.to_data()))


@settings(max_examples=400)  # cheap, and each example probes one field of a dozen
@given(moves_with_one_odd_field())
def test_transfer_with_a_field_of_unexpected_type_is_encoded_or_refused_as_generically(
    event: UnitsMoved,
) -> None:
    assert outcome(event.to_text) == outcome(lambda: canonical.encode_text(event.to_data()))


def test_transfer_body_of_a_known_transfer_is_exactly_the_expected_text() -> None:
    block = UnitBlock("KR", "KAU", 2021, 1, 500)
    event = UnitsMoved(
        TransactionType.LOCK,
        "KR-120-1000006-0-96",
        "KR-110-1000002-0-32",
        (block,),
        None,
        "lock-1",
        LockPurpose.EXTERNAL_TRANSFER,
    )

    assert event.to_text() == (
        '{"blocks":[{"article6_authorized":false,"end":500,"origin":"KR","project_id":"",'
        '"start":1,"unit_type":"KAU","vintage":2021}],"from_account":"KR-120-1000006-0-96",'
        '"lock_purpose":"external_transfer","period":null,"reference":"lock-1",'
        '"to_account":"KR-110-1000002-0-32","transaction_type":"lock"}'
    )


@st.composite
def crossings(draw: st.DrawFn) -> UnitsExported | UnitsImported:
    """Draw an export or an import, sometimes with one field of an unexpected type."""
    values: list[Any] = [draw(texts), draw(texts), draw(texts)]
    chosen = tuple(draw(st.lists(blocks(), max_size=4)))
    if draw(st.booleans()):
        values[draw(st.integers(0, 2))] = draw(odd_values)
    kind = draw(st.sampled_from([UnitsExported, UnitsImported]))
    return kind(*values, chosen)


@given(crossings())
def test_export_and_import_bodies_written_directly_equal_the_canonical_encoding(
    event: UnitsExported | UnitsImported,
) -> None:
    assert outcome(event.to_text) == outcome(lambda: canonical.encode_text(event.to_data()))
