"""One account's holding: its unit blocks, sorted oldest vintage then lowest serial.

Cost is O(blocks), never O(units): adjacent blocks of equal provenance are
merged on the way in, and a selection by quantity splits at most one block.
"""

from __future__ import annotations

from collections.abc import Iterator

from sortedcontainers import SortedKeyList

from registry.quarantine import QuarantineList
from registry.units import UnitBlock


def _order(block: UnitBlock) -> tuple[int, int]:
    # A unit type code has one origin, so (vintage, start) orders a type's blocks.
    return (block.vintage, block.start)


class Holding:
    """The blocks one account holds, per unit type, with cached balances."""

    __slots__ = ("_balance_t", "_blocks")

    def __init__(self) -> None:
        self._blocks: dict[str, SortedKeyList] = {}
        self._balance_t: dict[str, int] = {}

    def __bool__(self) -> bool:
        return bool(self._blocks)

    def unit_types(self) -> list[str]:
        return sorted(self._blocks)

    def balance(self, unit_type: str | None = None, vintage: int | None = None) -> int:
        if vintage is None:
            if unit_type is None:
                return sum(self._balance_t.values())
            return self._balance_t.get(unit_type, 0)
        return sum(block.quantity for block in self.blocks(unit_type, vintage))

    def blocks(self, unit_type: str | None = None, vintage: int | None = None) -> Iterator[UnitBlock]:
        """Yield held blocks, by unit type, then oldest vintage, then lowest serial."""
        unit_types = self.unit_types() if unit_type is None else [unit_type]
        for code in unit_types:
            held = self._blocks.get(code)
            if held is None:
                continue
            if vintage is None:
                yield from held
            else:
                yield from held.irange_key((vintage, 0), (vintage + 1, 0), inclusive=(True, False))

    def find_container(self, block: UnitBlock) -> UnitBlock | None:
        """Return the held block that wholly contains `block`, if there is one."""
        held = self._blocks.get(block.unit_type)
        if held is None:
            return None
        index = held.bisect_key_right((block.vintage, block.start)) - 1
        if index < 0:
            return None
        candidate: UnitBlock = held[index]
        return candidate if candidate.contains(block) else None

    def select(
        self,
        unit_type: str,
        quantity: int,
        vintage: int | None,
        quarantine: QuarantineList,
    ) -> list[UnitBlock] | None:
        """Choose `quantity` units oldest vintage first, lowest serial first.

        Quarantined serials are passed over. Return None when the free units
        fall short. Whole blocks are taken and at most one is split (more only
        around a quarantined range).
        """
        chosen: list[UnitBlock] = []
        remaining = quantity
        for held in self.blocks(unit_type, vintage):
            parts = quarantine.free_parts(held) if quarantine else (held,)
            for part in parts:
                size = part.quantity
                if size <= remaining:
                    chosen.append(part)
                    remaining -= size
                else:
                    chosen.append(part.split(remaining)[0])
                    remaining = 0
                if remaining == 0:
                    return chosen
        return None

    def add(self, block: UnitBlock) -> None:
        """Credit `block`, merging it with adjacent blocks of equal provenance."""
        code = block.unit_type
        self._balance_t[code] = self._balance_t.get(code, 0) + block.quantity
        held = self._blocks.get(code)
        if held is None:
            held = self._blocks[code] = SortedKeyList(key=_order)
        index = held.bisect_key_left((block.vintage, block.start))
        if index > 0:
            before: UnitBlock = held[index - 1]
            if before.adjoins(block):
                del held[index - 1]
                index -= 1
                block = before.merge(block)
        if index < len(held):
            after: UnitBlock = held[index]
            if block.adjoins(after):
                del held[index]
                block = block.merge(after)
        held.add(block)

    def remove(self, block: UnitBlock) -> None:
        """Debit exactly the serials of `block`, splitting the held block around them."""
        container = self.find_container(block)
        assert container is not None, f"{block} is not held"
        held = self._blocks[block.unit_type]
        held.remove(container)
        if container.start < block.start:
            held.add(container.with_range(container.start, block.start - 1))
        if block.end < container.end:
            held.add(container.with_range(block.end + 1, container.end))
        balance = self._balance_t[block.unit_type] - block.quantity
        if balance:
            self._balance_t[block.unit_type] = balance
        else:
            del self._balance_t[block.unit_type]
            del self._blocks[block.unit_type]
