"""One account's holding: selection order, splitting, merging, against a set of serials.

DESIGN.md "Core domain": a transfer takes whole blocks and splits at most one;
a registry of billions of units costs O(blocks), not O(units).
"""

from __future__ import annotations

from collections import Counter
from itertools import pairwise

from hypothesis import given, note
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from registry.holdings import Holding
from registry.quarantine import QuarantinedRange, QuarantineList
from registry.units import UnitBlock

Serial = tuple[str, int, int]  # (unit type, vintage, serial)
SERIALS_PER_SPACE = 300
VINTAGES = (2020, 2021, 2022)
UNIT_TYPES = ("KAU", "KOC")


def project_of(unit_type: str, serial: int) -> str:
    """Give offset serials a project that changes every 40 serials: provenance boundaries."""
    return "" if unit_type == "KAU" else f"P-{serial // 40}"


def expand(blocks: list[UnitBlock]) -> list[Serial]:
    return [(b.unit_type, b.vintage, s) for b in blocks for s in range(b.start, b.end + 1)]


def held_serials(holding: Holding) -> set[Serial]:
    return set(expand(list(holding.blocks())))


@st.composite
def holdings(draw: st.DrawFn) -> tuple[Holding, list[UnitBlock]]:
    """Draw a holding of disjoint KAU blocks over several vintages, added in random order."""
    blocks: list[UnitBlock] = []
    for vintage in draw(st.sets(st.sampled_from(VINTAGES), min_size=1)):
        cuts = sorted(draw(st.sets(st.integers(1, 199), max_size=8)))
        edges = [0, *cuts, 200]
        for low, high in pairwise(edges):
            if draw(st.booleans()):
                blocks.append(UnitBlock("KR", "KAU", vintage, low + 1, high))
    holding = Holding()
    for block in draw(st.permutations(blocks)):
        holding.add(block)
    return holding, blocks


@given(holdings(), st.data())
def test_select_takes_exactly_the_quantity_oldest_vintage_then_lowest_serial(
    drawn: tuple[Holding, list[UnitBlock]], data: st.DataObject
) -> None:
    holding, _ = drawn
    balance = holding.balance("KAU")
    if balance == 0:
        assert holding.select("KAU", 1, None, QuarantineList()) is None
        return
    quantity = data.draw(st.integers(min_value=1, max_value=balance))
    held_blocks = list(holding.blocks("KAU"))
    chosen = holding.select("KAU", quantity, None, QuarantineList())
    assert chosen is not None
    assert sum(block.quantity for block in chosen) == quantity
    # Exactly the first `quantity` serials in (vintage, serial) order.
    in_order = sorted(expand(held_blocks), key=lambda s: (s[1], s[2]))
    assert expand(chosen) == in_order[:quantity]
    # Whole blocks, except possibly the last, which is a prefix of a held block.
    assert chosen[:-1] == held_blocks[: len(chosen) - 1]
    last_held = held_blocks[len(chosen) - 1]
    assert chosen[-1].start == last_held.start and chosen[-1].end <= last_held.end
    splits = sum(1 for block in chosen if block not in held_blocks)
    assert splits <= 1


@given(holdings(), st.data())
def test_select_by_vintage_takes_only_that_vintage_and_refuses_more_than_it_holds(
    drawn: tuple[Holding, list[UnitBlock]], data: st.DataObject
) -> None:
    holding, _ = drawn
    vintage = data.draw(st.sampled_from(VINTAGES))
    available = holding.balance("KAU", vintage)
    assert available == sum(b.quantity for b in holding.blocks("KAU") if b.vintage == vintage)
    assert holding.select("KAU", available + 1, vintage, QuarantineList()) is None
    if available:
        quantity = data.draw(st.integers(min_value=1, max_value=available))
        chosen = holding.select("KAU", quantity, vintage, QuarantineList())
        assert chosen is not None
        assert {block.vintage for block in chosen} == {vintage}
        assert sum(block.quantity for block in chosen) == quantity


def test_select_reads_without_changing_the_holding() -> None:
    holding = Holding()
    holding.add(UnitBlock("KR", "KAU", 2021, 1, 100))
    chosen = holding.select("KAU", 30, None, QuarantineList())
    assert chosen == [UnitBlock("KR", "KAU", 2021, 1, 30)]
    assert list(holding.blocks()) == [UnitBlock("KR", "KAU", 2021, 1, 100)]
    assert holding.balance() == 100


@given(holdings(), st.data())
def test_select_passes_over_quarantined_serials(
    drawn: tuple[Holding, list[UnitBlock]], data: st.DataObject
) -> None:
    """Quarantined serials are never selected (EU registry thefts, Jan 2011; D2)."""
    holding, _ = drawn
    quarantine = QuarantineList()
    for _ in range(data.draw(st.integers(0, 3))):
        vintage = data.draw(st.sampled_from(VINTAGES))
        start = data.draw(st.integers(1, 200))
        end = data.draw(st.integers(start, 200))
        quarantine.add(QuarantinedRange("KR", "KAU", vintage, start, end, "stolen"))
    note(f"quarantine: {list(quarantine)}")

    def quarantined(serial: Serial) -> bool:
        return any(
            entry.vintage == serial[1] and entry.start <= serial[2] <= entry.end
            for entry in quarantine
        )

    free = sorted(
        (s for s in expand(list(holding.blocks("KAU"))) if not quarantined(s)),
        key=lambda s: (s[1], s[2]),
    )
    quantity = data.draw(st.integers(min_value=1, max_value=len(free) + 1))
    chosen = holding.select("KAU", quantity, None, quarantine)
    if quantity > len(free):
        assert chosen is None
        return
    assert chosen is not None
    assert expand(chosen) == free[:quantity]
    assert all(quarantine.overlapping(block) is None for block in chosen)


class HoldingMachine(RuleBasedStateMachine):
    """Drive one Holding's add/remove beside a reference set of serials."""

    def __init__(self) -> None:
        super().__init__()
        self.holding = Holding()
        self.model: dict[Serial, str] = {}  # serial -> project id

    def _runs(self, serials: list[Serial]) -> list[tuple[str, int, int, int]]:
        """Group sorted serials into maximal runs of one space and one project."""
        runs: list[tuple[str, int, int, int]] = []
        for unit_type, vintage, serial in sorted(serials):
            if (
                runs
                and runs[-1][:2] == (unit_type, vintage)
                and runs[-1][3] + 1 == serial
                and project_of(unit_type, serial) == project_of(unit_type, runs[-1][3])
            ):
                runs[-1] = (unit_type, vintage, runs[-1][2], serial)
            else:
                runs.append((unit_type, vintage, serial, serial))
        return runs

    @rule(data=st.data())
    def add_free_serials(self, data: st.DataObject) -> None:
        unit_type = data.draw(st.sampled_from(UNIT_TYPES))
        vintage = data.draw(st.sampled_from(VINTAGES))
        free = [
            (unit_type, vintage, s)
            for s in range(1, SERIALS_PER_SPACE + 1)
            if (unit_type, vintage, s) not in self.model
        ]
        if not free:
            return
        _, _, low, high = data.draw(st.sampled_from(self._runs(free)))
        start = data.draw(st.integers(low, high))
        end = data.draw(st.integers(start, high))
        block = UnitBlock("KR", unit_type, vintage, start, end, project_of(unit_type, start))
        self.holding.add(block)
        for serial in range(start, end + 1):
            self.model[(unit_type, vintage, serial)] = block.project_id

    @precondition(lambda self: bool(self.model))
    @rule(data=st.data())
    def remove_held_serials(self, data: st.DataObject) -> None:
        held = data.draw(st.sampled_from(list(self.holding.blocks())))
        start = data.draw(st.integers(held.start, held.end))
        end = data.draw(st.integers(start, held.end))
        block = held.with_range(start, end)
        assert self.holding.find_container(block) == held
        self.holding.remove(block)
        for serial in range(start, end + 1):
            del self.model[(block.unit_type, block.vintage, serial)]

    @invariant()
    def serials_match_the_reference_set(self) -> None:
        blocks = list(self.holding.blocks())
        provenance = {
            (b.unit_type, b.vintage, s): b.project_id
            for b in blocks
            for s in range(b.start, b.end + 1)
        }
        assert provenance == self.model
        assert sum(b.quantity for b in blocks) == len(self.model)

    @invariant()
    def balances_are_cached_correctly(self) -> None:
        assert self.holding.balance() == len(self.model)
        by_space = Counter(key[:2] for key in self.model)
        for unit_type in UNIT_TYPES:
            count = sum(by_space[(unit_type, vintage)] for vintage in VINTAGES)
            assert self.holding.balance(unit_type) == count
            for vintage in VINTAGES:
                assert self.holding.balance(unit_type, vintage) == by_space[(unit_type, vintage)]
        assert bool(self.holding) == bool(self.model)
        assert self.holding.unit_types() == sorted({key[0] for key in self.model})

    @invariant()
    def blocks_are_canonical_one_block_per_maximal_run(self) -> None:
        """Adjacent equal-provenance blocks are always merged: O(blocks), not O(units)."""
        blocks = list(self.holding.blocks())
        runs = self._runs(list(self.model))
        assert [(b.unit_type, b.vintage, b.start, b.end) for b in blocks] == runs


TestHoldingMachine = HoldingMachine.TestCase


def test_adjacent_blocks_merge_into_one_whatever_the_order_they_arrive_in() -> None:
    holding = Holding()
    for start in (201, 1, 101, 301):
        holding.add(UnitBlock("KR", "KAU", 2021, start, start + 99))
    assert list(holding.blocks()) == [UnitBlock("KR", "KAU", 2021, 1, 400)]
    holding.remove(UnitBlock("KR", "KAU", 2021, 150, 160))
    assert list(holding.blocks()) == [
        UnitBlock("KR", "KAU", 2021, 1, 149),
        UnitBlock("KR", "KAU", 2021, 161, 400),
    ]
    holding.add(UnitBlock("KR", "KAU", 2021, 150, 160))
    assert list(holding.blocks()) == [UnitBlock("KR", "KAU", 2021, 1, 400)]


def test_find_container_needs_the_whole_block_inside_one_held_block() -> None:
    holding = Holding()
    holding.add(UnitBlock("KR", "KAU", 2021, 1, 10))
    holding.add(UnitBlock("KR", "KAU", 2021, 21, 30))
    assert holding.find_container(UnitBlock("KR", "KAU", 2021, 3, 7)) == UnitBlock(
        "KR", "KAU", 2021, 1, 10
    )
    assert holding.find_container(UnitBlock("KR", "KAU", 2021, 5, 25)) is None
    assert holding.find_container(UnitBlock("KR", "KAU", 2022, 3, 7)) is None
    assert holding.find_container(UnitBlock("KR", "KOC", 2021, 3, 7, "P")) is None
