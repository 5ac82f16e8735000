"""Serial blocks: split and merge keep quantity and serials; merge_adjacent canonicalises.

Units are serial blocks as in the Kyoto ITL (reference/registry-and-linking.md A1).
"""

from __future__ import annotations

from itertools import pairwise

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from registry import UnitBlock, UnitKind, UnitType
from registry.units import merge_adjacent

SERIAL_TOP = 10**12


def serials(block: UnitBlock) -> set[tuple[str, str, int, int]]:
    return {(*block.serial_key, serial) for serial in range(block.start, block.end + 1)}


@st.composite
def unit_blocks(draw: st.DrawFn, max_quantity: int = 10**9) -> UnitBlock:
    start = draw(st.integers(min_value=1, max_value=SERIAL_TOP))
    quantity = draw(st.integers(min_value=1, max_value=max_quantity))
    return UnitBlock(
        draw(st.sampled_from(["KR", "CN"])),
        draw(st.sampled_from(["KAU", "KOC"])),
        draw(st.integers(min_value=2015, max_value=2030)),
        start,
        start + quantity - 1,
        draw(st.sampled_from(["", "P-1"])),
        draw(st.booleans()),
    )


@given(unit_blocks(), st.data())
def test_split_keeps_quantity_and_cuts_at_the_asked_quantity(
    block: UnitBlock, data: st.DataObject
) -> None:
    assume(block.quantity >= 2)
    quantity = data.draw(st.integers(min_value=1, max_value=block.quantity - 1))
    head, tail = block.split(quantity)
    assert head.quantity == quantity
    assert head.quantity + tail.quantity == block.quantity
    assert (head.start, head.end + 1, tail.end) == (block.start, tail.start, block.end)
    assert head.same_provenance(block) and tail.same_provenance(block)
    assert head.adjoins(tail)
    assert head.merge(tail) == block
    assert block.contains(head) and block.contains(tail)


@given(unit_blocks(max_quantity=300), st.data())
def test_split_then_merge_preserves_every_serial(block: UnitBlock, data: st.DataObject) -> None:
    assume(block.quantity >= 2)
    head, tail = block.split(data.draw(st.integers(min_value=1, max_value=block.quantity - 1)))
    assert serials(head) | serials(tail) == serials(block)
    assert not serials(head) & serials(tail)


@pytest.mark.parametrize("quantity", [0, 5, 6])
def test_split_refuses_a_cut_that_leaves_an_empty_part(quantity: int) -> None:
    block = UnitBlock("KR", "KAU", 2021, 1, 5)
    with pytest.raises(AssertionError):
        block.split(quantity)


def test_blocks_with_different_provenance_do_not_adjoin() -> None:
    first = UnitBlock("KR", "KOC", 2021, 1, 10, "P-1")
    assert first.adjoins(UnitBlock("KR", "KOC", 2021, 11, 20, "P-1"))
    assert not first.adjoins(UnitBlock("KR", "KOC", 2021, 11, 20, "P-2"))
    assert not first.adjoins(UnitBlock("KR", "KOC", 2021, 11, 20, "P-1", True))
    assert not first.adjoins(UnitBlock("KR", "KOC", 2022, 11, 20, "P-1"))
    assert not first.adjoins(UnitBlock("CN", "KOC", 2021, 11, 20, "P-1"))
    assert not first.adjoins(UnitBlock("KR", "KOC", 2021, 12, 20, "P-1"))
    with pytest.raises(AssertionError):
        first.merge(UnitBlock("KR", "KOC", 2021, 11, 20, "P-2"))


def test_a_block_needs_a_positive_ordered_serial_range() -> None:
    with pytest.raises(AssertionError):
        UnitBlock("KR", "KAU", 2021, 0, 5)
    with pytest.raises(AssertionError):
        UnitBlock("KR", "KAU", 2021, 6, 5)


@st.composite
def disjoint_blocks(draw: st.DrawFn) -> list[UnitBlock]:
    """Draw blocks of two serial spaces cut from [1, 400] at random points, shuffled."""
    blocks: list[UnitBlock] = []
    for unit_type in ("KAU", "KOC"):
        cuts = sorted(draw(st.sets(st.integers(min_value=1, max_value=399), max_size=12)))
        edges = [0, *cuts, 400]
        for low, high in pairwise(edges):
            if draw(st.booleans()):
                project = draw(st.sampled_from(["", "P-1"]))
                blocks.append(UnitBlock("KR", unit_type, 2021, low + 1, high, project))
    return draw(st.permutations(blocks))


@given(disjoint_blocks())
def test_merge_adjacent_keeps_serials_and_leaves_no_mergeable_neighbours(
    blocks: list[UnitBlock],
) -> None:
    merged = merge_adjacent(blocks)
    before: set[tuple[str, str, int, int]] = set().union(*(serials(b) for b in blocks))
    after: set[tuple[str, str, int, int]] = set().union(*(serials(b) for b in merged))
    assert after == before
    assert sum(b.quantity for b in merged) == sum(b.quantity for b in blocks)
    keys = [(b.origin, b.unit_type, b.vintage, b.start) for b in merged]
    assert keys == sorted(keys)
    for left, right in pairwise(merged):
        assert not left.adjoins(right)
    # Merging is idempotent and independent of input order.
    assert merge_adjacent(merged) == merged
    assert merge_adjacent(list(reversed(blocks))) == merged


@given(disjoint_blocks())
def test_merge_adjacent_keeps_each_serials_provenance(blocks: list[UnitBlock]) -> None:
    def provenance(items: list[UnitBlock]) -> dict[tuple[str, int], str]:
        return {
            (block.unit_type, serial): block.project_id
            for block in items
            for serial in range(block.start, block.end + 1)
        }

    assert provenance(merge_adjacent(blocks)) == provenance(blocks)


@given(unit_blocks())
def test_block_round_trips_through_plain_data(block: UnitBlock) -> None:
    assert UnitBlock.from_data(block.to_data()) == block


@given(
    st.sampled_from(["KAU", "KOC", "CEA"]),
    st.sampled_from(list(UnitKind)),
    st.sampled_from(["KR", "CN"]),
    st.text(max_size=20),
)
def test_unit_type_round_trips_through_plain_data(
    code: str, kind: UnitKind, origin: str, name: str
) -> None:
    unit_type = UnitType(code, kind, origin, name)
    assert UnitType.from_data(unit_type.to_data()) == unit_type
