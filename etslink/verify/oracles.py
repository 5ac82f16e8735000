"""The rules `etslink verify` checks after every step, as pure functions of what happened.

Each returns None when the rule held, or a sentence saying how it broke:

- `admission_refusal`: why a regime does not admit a unit (origin declared ineligible,
  no value under `world.linked_valuation`, or a 0% limit that year);
- `surrender_cap_breach`: an entity's surrenders for a period over a quantitative limit
  of its regime or a link's foreign-unit share cap;
- `link_breach`: a completed transfer over a link that was not active, not in effect,
  in a direction it does not permit, or carrying unit types it does not list;
- `period_cap_breach`: a link that carried more in a year than its period cap.

Each reads the regime as the scenario loader left it: its overrides (a scenario's
`offset_cap`) and its links' per-entity caps are applied there
(`etslink.scenario.apply_overrides`, `with_link_caps`), once for the books and the oracles.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from compliance.regime import QuantitativeLimit, Regime, UnitOrigin
from etslink.sim.world import linked_valuation
from gateway.links import Link
from registry import UnitKind, UnitType
from registry.formatting import percent, share_over_cap
from registry.units import UnitBlock


def effective_limits(regime: Regime, year: int) -> tuple[QuantitativeLimit, ...]:
    """Return the quantitative limits the oracles hold surrenders and arrivals to in `year`."""
    return regime.limits_for(year)


def _covers(limit: QuantitativeLimit, regime: Regime, kind: UnitKind, origin: str) -> bool:
    if kind not in limit.unit_kinds:
        return False
    domestic = origin == regime.registry_code
    if limit.origin is UnitOrigin.DOMESTIC:
        return domestic
    if limit.origin is UnitOrigin.INTERNATIONAL:
        return not domestic
    return True


def _kind(unit_type: UnitType) -> str:
    return unit_type.kind.value.replace("_", " ")


def admission_refusal(
    regime: Regime,
    links: tuple[Link, ...],
    unit_type: UnitType,
    origin: str,
    year: int,
) -> str | None:
    """Return why `regime` does not admit a unit of `unit_type` and `origin` in `year`, or None.

    A regime admits its own units, and a unit it may surrender: not of an origin
    it declares ineligible, valued by `linked_valuation` (its eligible types, and
    a linked party's allowance where it takes foreign units via links), and not
    covered by a limit whose share is 0 in that year (an outright ban, like New
    Zealand's on overseas units or a scenario's `offset_cap = "0"`).
    """
    code = regime.registry_code
    if origin == code:
        return None
    name = f"{regime.name} ({code})"
    if origin in regime.surrender.ineligible_origins:
        return f"{name} declares units of origin {origin} ineligible"
    if linked_valuation(regime, links)(unit_type) is None:
        eligible = ", ".join(sorted(regime.surrender.eligible_unit_types)) or "none"
        foreign = (
            "and allowances of its link partners"
            if regime.surrender.foreign_units_via_links
            else "and no foreign units"
        )
        return (
            f"{name} does not admit {unit_type.code} ({_kind(unit_type)} of {origin}): "
            f"it admits {eligible} {foreign}"
        )
    for limit in effective_limits(regime, year):
        if limit.share == 0 and _covers(limit, regime, unit_type.kind, origin):
            return (
                f"{name} bans {unit_type.code} ({_kind(unit_type)} of {origin}) in {year}: "
                f"its limit {limit.name!r} is 0%"
            )
    return None


def surrender_cap_breach(
    regime: Regime,
    links: tuple[Link, ...],
    unit_types: dict[str, UnitType],
    entity_id: str,
    period: int,
    obligation_t: int | None,
    surrendered: list[UnitBlock],
) -> str | None:
    """Return how an entity's surrenders for `period` break a cap, or None if they keep them."""
    code = regime.registry_code
    for limit in effective_limits(regime, period):
        used_t = sum(
            block.quantity
            for block in surrendered
            if _covers(limit, regime, unit_types[block.unit_type].kind, block.origin)
        )
        if used_t == 0:
            continue
        if obligation_t is None:
            return (
                f"{entity_id} surrendered {used_t:,} t under the {limit.name} limit for period "
                f"{period} before its obligation was known"
            )
        if used_t > limit.share * obligation_t:
            return (
                f"{entity_id} surrendered {used_t:,} t under the {limit.name} limit for period "
                f"{period}: "
                + (
                    share_over_cap(used_t, obligation_t, limit.share)
                    if obligation_t
                    else "against an obligation of 0 t"
                )
            )
    for link in links:
        if link.entity_share_cap is None or code not in link.parties:
            continue
        (other,) = link.parties - {code}
        foreign_t = sum(block.quantity for block in surrendered if block.origin == other)
        if foreign_t and (obligation_t is None or foreign_t > link.entity_share_cap * obligation_t):
            return (
                f"{entity_id} surrendered {foreign_t:,} t of {other} units for period {period}, "
                f"over link {link.link_id}'s foreign share cap {percent(link.entity_share_cap)} "
                f"of its obligation {obligation_t if obligation_t is not None else 'not known'}"
            )
    return None


def link_breach(
    link: Link,
    transfer_id: str,
    from_registry: str,
    to_registry: str,
    unit_types: frozenset[str],
    active_during_step: bool,
    step_from: datetime,
    step_to: datetime,
) -> str | None:
    """Return how a transfer that completed during a step broke its link's state, or None."""
    if not active_during_step:
        return f"transfer {transfer_id} completed over link {link.link_id}, which was not active"
    in_effect = link.effective_from <= step_to and (
        link.effective_to is None or step_from < link.effective_to
    )
    if not in_effect:
        return (
            f"transfer {transfer_id} completed over link {link.link_id} between "
            f"{step_from.isoformat()} and {step_to.isoformat()}, outside its effective dates"
        )
    if unit_types - link.unit_types:
        return (
            f"transfer {transfer_id} carried {', '.join(sorted(unit_types - link.unit_types))} "
            f"over link {link.link_id}, which lists {', '.join(sorted(link.unit_types))}"
        )
    if not link.permits_direction(from_registry, to_registry):
        return (
            f"transfer {transfer_id} went {from_registry} -> {to_registry} over link "
            f"{link.link_id}, which is {link.direction.value} {link.registry_a} -> "
            f"{link.registry_b}"
        )
    return None


def period_cap_breach(links: Mapping[str, Link], flows_t: dict[tuple[str, int], int]) -> str | None:
    """Return which link carried more in a period than its cap, or None.

    `flows_t` maps (link id, year) to the tonnes of the transfers completed over it.
    """
    for (link_id, year), moved_t in sorted(flows_t.items()):
        cap = links[link_id].period_cap_t
        if cap is not None and moved_t > cap:
            return (
                f"link {link_id} carried {moved_t:,} t in {year}, over its period cap of {cap:,} t"
            )
    return None


__all__ = [
    "admission_refusal",
    "effective_limits",
    "link_breach",
    "period_cap_breach",
    "surrender_cap_breach",
]
