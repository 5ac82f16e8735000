"""A set of serial numbers kept as sorted, disjoint, merged inclusive ranges."""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Iterator
from typing import TypeVar

K = TypeVar("K")


class RangeSet:
    """Serials as [(start, end), ...], sorted, disjoint, adjacent ranges merged."""

    __slots__ = ("_ranges",)

    def __init__(self, ranges: list[tuple[int, int]] | None = None) -> None:
        self._ranges: list[tuple[int, int]] = []
        for start, end in ranges or ():
            self.add(start, end)

    def __iter__(self) -> Iterator[tuple[int, int]]:
        return iter(self._ranges)

    def __bool__(self) -> bool:
        return bool(self._ranges)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RangeSet) and self._ranges == other._ranges

    def __repr__(self) -> str:
        return f"RangeSet({self._ranges})"

    def ranges(self) -> list[tuple[int, int]]:
        return list(self._ranges)

    def overlaps(self, start: int, end: int) -> bool:
        """Return whether any serial of [start, end] is in the set."""
        # Disjoint and sorted: only the last range starting at or before `end` can overlap.
        index = bisect.bisect_right(self._ranges, (end, 2**63))
        return index > 0 and self._ranges[index - 1][1] >= start

    def covers(self, start: int, end: int) -> bool:
        """Return whether every serial of [start, end] is in the set."""
        index = bisect.bisect_right(self._ranges, (start, 2**63)) - 1
        return index >= 0 and self._ranges[index][0] <= start and end <= self._ranges[index][1]

    def add(self, start: int, end: int) -> None:
        """Add [start, end]; the caller guarantees it overlaps nothing already in the set."""
        assert start <= end and not self.overlaps(start, end), f"{start}-{end} overlaps {self}"
        index = bisect.bisect_left(self._ranges, (start, end))
        if index and self._ranges[index - 1][1] + 1 == start:
            index -= 1
            start = self._ranges[index][0]
            del self._ranges[index]
        if index < len(self._ranges) and end + 1 == self._ranges[index][0]:
            end = self._ranges[index][1]
            del self._ranges[index]
        self._ranges.insert(index, (start, end))

    def include(self, start: int, end: int) -> None:
        """Add whatever part of [start, end] is not in the set yet (a union)."""
        pieces = []
        cursor = start
        index = max(bisect.bisect_right(self._ranges, (start, 2**63)) - 1, 0)
        for low, high in self._ranges[index:]:
            if low > end:
                break
            if high < cursor:
                continue
            if low > cursor:
                pieces.append((cursor, low - 1))
            cursor = max(cursor, high + 1)
        if cursor <= end:
            pieces.append((cursor, end))
        for piece in pieces:
            self.add(*piece)

    def add_all(self, pieces: list[tuple[int, int]]) -> None:
        """Add disjoint pieces none of which is in the set, in one merge of sorted lists."""
        merged: list[tuple[int, int]] = []
        for start, end in sorted([*self._ranges, *pieces]):
            if merged:
                assert start > merged[-1][1], f"{start}-{end} overlaps {merged[-1]}"
                if start == merged[-1][1] + 1:
                    merged[-1] = (merged[-1][0], end)
                    continue
            merged.append((start, end))
        self._ranges = merged

    def remove_all(self, pieces: list[tuple[int, int]]) -> None:
        """Remove disjoint pieces, each wholly in the set, in one pass over sorted lists."""
        remaining: list[tuple[int, int]] = []
        ordered = sorted(pieces)
        index = 0
        for low, high in self._ranges:
            cursor = low
            while index < len(ordered) and ordered[index][0] <= high:
                start, end = ordered[index]
                assert cursor <= start and end <= high, f"{start}-{end} is not wholly in {self}"
                if start > cursor:
                    remaining.append((cursor, start - 1))
                cursor = end + 1
                index += 1
            if cursor <= high:
                remaining.append((cursor, high))
        assert index == len(ordered), f"{ordered[index:]} are not in {self}"
        self._ranges = remaining

    def remove(self, start: int, end: int) -> None:
        """Remove [start, end]; the caller guarantees the set covers all of it."""
        assert self.covers(start, end), f"{start}-{end} is not wholly in {self}"
        index = bisect.bisect_right(self._ranges, (start, 2**63)) - 1
        low, high = self._ranges[index]
        pieces = [piece for piece in ((low, start - 1), (end + 1, high)) if piece[0] <= piece[1]]
        self._ranges[index : index + 1] = pieces


def add_ranges(sets: dict[K, RangeSet], pieces: Iterable[tuple[K, int, int]]) -> None:
    """Add many (key, start, end) pieces; a key with many is rebuilt in one merge."""
    pieces = list(pieces)
    if len(pieces) < _MERGE_FROM:
        for key, start, end in pieces:
            add_range(sets, key, start, end)
        return
    for key, added in _by_key(pieces).items():
        ranges = sets.get(key)
        if ranges is None:
            ranges = sets[key] = RangeSet()
        ranges.add_all(added)


def remove_ranges(sets: dict[K, RangeSet], pieces: Iterable[tuple[K, int, int]]) -> None:
    """Remove many (key, start, end) pieces, each wholly present."""
    pieces = list(pieces)
    if len(pieces) < _MERGE_FROM:
        for key, start, end in pieces:
            sets[key].remove(start, end)
        return
    for key, removed in _by_key(pieces).items():
        sets[key].remove_all(removed)


def _by_key(pieces: list[tuple[K, int, int]]) -> dict[K, list[tuple[int, int]]]:
    by_key: dict[K, list[tuple[int, int]]] = {}
    for key, start, end in pieces:
        by_key.setdefault(key, []).append((start, end))
    return by_key


# Below this many pieces one bisect each beats rebuilding the list.
_MERGE_FROM = 16


def add_range(sets: dict[K, RangeSet], key: K, start: int, end: int) -> None:
    """Add [start, end] to the set under `key`, creating it when absent."""
    ranges = sets.get(key)
    if ranges is None:
        ranges = sets[key] = RangeSet()
    ranges.add(start, end)
