"""The serial quarantine list: ranges that no operation may move.

After the January 2011 EU registry thefts, stolen serials had to be traced by
hand. Here a quarantined range is refused everywhere (check 9101), and
block selection by quantity passes over it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from registry.units import UnitBlock

SerialKey = tuple[str, str, int]


@dataclass(frozen=True, slots=True)
class QuarantinedRange:
    origin: str
    unit_type: str
    vintage: int
    start: int
    end: int
    reason: str

    @property
    def serial_key(self) -> SerialKey:
        return (self.origin, self.unit_type, self.vintage)

    def to_data(self) -> dict[str, Any]:
        return {
            "origin": self.origin,
            "unit_type": self.unit_type,
            "vintage": self.vintage,
            "start": self.start,
            "end": self.end,
            "reason": self.reason,
        }

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> QuarantinedRange:
        return cls(
            data["origin"],
            data["unit_type"],
            data["vintage"],
            data["start"],
            data["end"],
            data["reason"],
        )


class QuarantineList:
    """Quarantined serial ranges by serial space; small, so scanned linearly."""

    __slots__ = ("_ranges",)

    def __init__(self) -> None:
        self._ranges: dict[SerialKey, list[QuarantinedRange]] = {}

    def __bool__(self) -> bool:
        return bool(self._ranges)

    def __iter__(self) -> Iterator[QuarantinedRange]:
        for ranges in self._ranges.values():
            yield from ranges

    def add(self, entry: QuarantinedRange) -> None:
        self._ranges.setdefault(entry.serial_key, []).append(entry)

    def remove(self, entry: QuarantinedRange) -> None:
        ranges = self._ranges[entry.serial_key]
        ranges.remove(entry)
        if not ranges:
            del self._ranges[entry.serial_key]

    def find(self, key: SerialKey, start: int, end: int) -> QuarantinedRange | None:
        """Return the entry quarantining exactly [start, end] in `key`, if any."""
        for entry in self._ranges.get(key, ()):
            if entry.start == start and entry.end == end:
                return entry
        return None

    def overlapping(self, block: UnitBlock) -> QuarantinedRange | None:
        for entry in self._ranges.get(block.serial_key, ()):
            if entry.start <= block.end and block.start <= entry.end:
                return entry
        return None

    def free_parts(self, block: UnitBlock) -> list[UnitBlock]:
        """Return the parts of `block` outside every quarantined range, in serial order."""
        ranges = self._ranges.get(block.serial_key)
        if not ranges:
            return [block]
        parts = [(block.start, block.end)]
        for entry in ranges:
            next_parts = []
            for start, end in parts:
                if entry.end < start or end < entry.start:
                    next_parts.append((start, end))
                    continue
                if start < entry.start:
                    next_parts.append((start, entry.start - 1))
                if entry.end < end:
                    next_parts.append((entry.end + 1, end))
            parts = next_parts
        return [block.with_range(start, end) for start, end in sorted(parts)]
