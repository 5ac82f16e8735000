"""RangeSet against a plain set of serials: one-at-a-time and merged bulk paths agree."""

from __future__ import annotations

from itertools import pairwise

from hypothesis import given
from hypothesis import strategies as st

from registry.serial_ranges import RangeSet, add_ranges, remove_ranges


def _serials(ranges: RangeSet) -> set[int]:
    return {serial for start, end in ranges for serial in range(start, end + 1)}


@st.composite
def disjoint_pieces(
    draw: st.DrawFn, serial_max: int = 300, cuts_max: int = 40
) -> list[tuple[int, int]]:
    """Draw disjoint inclusive ranges in random order, some adjacent to each other."""
    cuts = sorted(draw(st.sets(st.integers(1, serial_max), max_size=cuts_max)))
    pieces = [(low, high - 1) for low, high in pairwise(cuts) if draw(st.booleans())]
    return draw(st.permutations(pieces))


@given(disjoint_pieces(), st.data())
def test_bulk_add_and_remove_equal_one_at_a_time_and_the_plain_set(
    pieces: list[tuple[int, int]], data: st.DataObject
) -> None:
    first = data.draw(st.integers(0, len(pieces)))
    one, bulk = RangeSet(pieces[:first]), RangeSet(pieces[:first])
    for start, end in pieces[first:]:
        one.add(start, end)
    bulk.add_all(pieces[first:])
    expected = {serial for start, end in pieces for serial in range(start, end + 1)}
    assert one == bulk
    assert _serials(bulk) == expected
    assert all(a[1] + 1 < b[0] for a, b in pairwise(bulk.ranges()))
    removed = data.draw(st.lists(st.sampled_from(pieces), unique=True)) if pieces else []
    for start, end in removed:
        one.remove(start, end)
    bulk.remove_all(removed)
    assert one == bulk
    gone = {serial for start, end in removed for serial in range(start, end + 1)}
    assert _serials(bulk) == expected - gone


@given(disjoint_pieces(serial_max=2_000, cuts_max=150))
def test_keyed_bulk_helpers_group_by_key(pieces: list[tuple[int, int]]) -> None:
    # Enough pieces per key to take the merging path as well as the one-by-one one.
    keyed = [
        (("EU", "EUA", 2000 + index % 3), start, end) for index, (start, end) in enumerate(pieces)
    ]
    sets: dict[tuple[str, str, int], RangeSet] = {}
    add_ranges(sets, keyed)
    for key, ranges in sets.items():
        assert _serials(ranges) == {
            serial for k, start, end in keyed if k == key for serial in range(start, end + 1)
        }
    remove_ranges(sets, keyed)
    assert all(not ranges for ranges in sets.values())


@given(
    disjoint_pieces(),
    st.lists(st.tuples(st.integers(1, 300), st.integers(0, 60)), max_size=10),
)
def test_include_is_the_union_whatever_it_overlaps(
    pieces: list[tuple[int, int]], added: list[tuple[int, int]]
) -> None:
    ranges = RangeSet(pieces)
    expected = _serials(ranges)
    for start, length in added:
        ranges.include(start, start + length)
        expected |= set(range(start, start + length + 1))
    assert _serials(ranges) == expected
    assert all(a[1] + 1 < b[0] for a, b in pairwise(ranges.ranges()))
