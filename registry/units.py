"""Unit types and serial blocks: the unit of record, as in the Kyoto ITL.

A holding is a set of `UnitBlock`s, each an inclusive range of serials of one
(origin registry, unit type, vintage) with its provenance. A block keeps its
identity when it crosses a link: a Chinese CEA held in Korea is still a CEA.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields
from enum import StrEnum
from typing import Any

from registry import canonical


class UnitKind(StrEnum):
    """What a unit is, which decides how compliance rules count it."""

    ALLOWANCE = "allowance"
    OFFSET_CREDIT = "offset_credit"
    ARTICLE6_UNIT = "article6_unit"


@dataclass(frozen=True, slots=True)
class UnitType:
    """A unit type as data: `KAU` is an allowance issued by registry `KR`."""

    code: str
    kind: UnitKind
    origin: str
    name: str = ""

    def to_data(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "kind": self.kind.value,
            "origin": self.origin,
            "name": self.name,
        }

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> UnitType:
        return cls(data["code"], UnitKind(data["kind"]), data["origin"], data.get("name", ""))


@dataclass(frozen=True, slots=True, init=False)
class UnitBlock:
    """An inclusive serial range [start, end] of one origin, unit type and vintage.

    `project_id` names the offset project a credit came from ("" for
    allowances); `article6_authorized` records an Article 6.2 authorisation.
    """

    origin: str
    unit_type: str
    vintage: int
    start: int
    end: int
    project_id: str = ""
    article6_authorized: bool = False

    def __init__(
        self,
        origin: str,
        unit_type: str,
        vintage: int,
        start: int,
        end: int,
        project_id: str = "",
        article6_authorized: bool = False,
    ) -> None:
        # The generated __init__ of a frozen dataclass, at half the cost: every
        # transfer builds blocks and replay builds one per journaled block. The
        # slots' own setters do what object.__setattr__ does for each field.
        # A broken block is a programmer error: commands validate input first.
        assert 1 <= start <= end, f"bad serial range {start}-{end}"
        _set_origin(self, origin)
        _set_unit_type(self, unit_type)
        _set_vintage(self, vintage)
        _set_start(self, start)
        _set_end(self, end)
        _set_project_id(self, project_id)
        _set_article6_authorized(self, article6_authorized)

    @property
    def quantity(self) -> int:
        return self.end - self.start + 1

    @property
    def serial_key(self) -> tuple[str, str, int]:
        """Return the serial space this block numbers within."""
        return (self.origin, self.unit_type, self.vintage)

    def with_range(self, start: int, end: int) -> UnitBlock:
        return UnitBlock(
            self.origin,
            self.unit_type,
            self.vintage,
            start,
            end,
            self.project_id,
            self.article6_authorized,
        )

    def split(self, quantity: int) -> tuple[UnitBlock, UnitBlock]:
        """Split into the first `quantity` serials and the rest."""
        assert 0 < quantity < self.quantity, f"cannot split {quantity} from {self}"
        cut = self.start + quantity
        return self.with_range(self.start, cut - 1), self.with_range(cut, self.end)

    def contains(self, other: UnitBlock) -> bool:
        return (
            self.serial_key == other.serial_key
            and self.start <= other.start
            and other.end <= self.end
        )

    def same_provenance(self, other: UnitBlock) -> bool:
        return (
            self.serial_key == other.serial_key
            and self.project_id == other.project_id
            and self.article6_authorized == other.article6_authorized
        )

    def adjoins(self, other: UnitBlock) -> bool:
        """Return whether `other` starts right after this block, with equal provenance."""
        return self.end + 1 == other.start and self.same_provenance(other)

    def merge(self, other: UnitBlock) -> UnitBlock:
        assert self.adjoins(other), f"{self} and {other} are not adjacent"
        return self.with_range(self.start, other.end)

    def to_data(self) -> dict[str, Any]:
        return {
            "origin": self.origin,
            "unit_type": self.unit_type,
            "vintage": self.vintage,
            "start": self.start,
            "end": self.end,
            "project_id": self.project_id,
            "article6_authorized": self.article6_authorized,
        }

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> UnitBlock:
        return cls(
            data["origin"],
            data["unit_type"],
            data["vintage"],
            data["start"],
            data["end"],
            data.get("project_id", ""),
            data.get("article6_authorized", False),
        )

    def __str__(self) -> str:
        return f"{self.origin}:{self.unit_type}:{self.vintage}:{self.start}-{self.end}"


def _slot_setter(name: str) -> Callable[[UnitBlock, Any], None]:
    setter: Callable[[UnitBlock, Any], None] = getattr(UnitBlock, name).__set__
    return setter


_set_origin = _slot_setter("origin")
_set_unit_type = _slot_setter("unit_type")
_set_vintage = _slot_setter("vintage")
_set_start = _slot_setter("start")
_set_end = _slot_setter("end")
_set_project_id = _slot_setter("project_id")
_set_article6_authorized = _slot_setter("article6_authorized")
# UnitBlock.__init__ sets each field by hand: a field added or renamed must be set there too.
assert [item.name for item in fields(UnitBlock)] == [
    "origin",
    "unit_type",
    "vintage",
    "start",
    "end",
    "project_id",
    "article6_authorized",
]


def merge_adjacent(blocks: list[UnitBlock]) -> list[UnitBlock]:
    """Return `blocks` sorted by serial, with adjacent equal-provenance blocks merged."""
    ordered = sorted(blocks, key=lambda b: (b.origin, b.unit_type, b.vintage, b.start))
    merged: list[UnitBlock] = []
    for block in ordered:
        if merged and merged[-1].adjoins(block):
            merged[-1] = merged[-1].merge(block)
        else:
            merged.append(block)
    return merged


def blocks_text(blocks: Any) -> str | None:
    """Return the blocks' canonical texts joined by commas, or None off the exact types."""
    if type(blocks) is not tuple:
        return None
    texts = [block_text(block) for block in blocks]
    if None in texts:
        return None
    return ",".join(texts)  # type: ignore[arg-type]


def block_text(block: Any) -> str | None:
    """Return the canonical text of `block.to_data()`, or None unless every field
    has its exact expected type (then only the generic path is trusted)."""
    if not (
        type(block) is UnitBlock
        and type(block.origin) is str
        and type(block.unit_type) is str
        and type(block.vintage) is int
        and type(block.start) is int
        and type(block.end) is int
        and type(block.project_id) is str
        and type(block.article6_authorized) is bool
    ):
        return None
    quote = canonical.quote
    return (
        f'{{"article6_authorized":{"true" if block.article6_authorized else "false"}'
        f',"end":{block.end}'
        f',"origin":{quote(block.origin)}'
        f',"project_id":{quote(block.project_id)}'
        f',"start":{block.start}'
        f',"unit_type":{quote(block.unit_type)}'
        f',"vintage":{block.vintage}}}'
    )
