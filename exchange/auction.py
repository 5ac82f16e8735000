"""Sealed-bid, uniform-price auctions for primary allocation (Korea, California, EU style).

`clear_auction` is a pure function of the supply, the bids and the rules:

1. A bid is valid when its bidder is eligible, its quantity is a positive
   multiple of the lot (California sells in lots of 1,000), its price is a
   positive multiple of the tick and at or above the reserve price. Invalid
   bids are refused whole, with a code, before anything is cleared.
2. Bids are ranked by price, highest first. Each bidder's awards are capped
   at its share of the supply (Korea: one bidder at most 30% of an auction);
   what a bid asks beyond its bidder's cap is not awarded.
3. The clearing price is the price of the lowest bid that is awarded
   anything when demand reaches the supply, and the reserve price when it
   does not (then every valid bid is filled and the rest is unsold). Every
   winner pays the clearing price.
4. Ties at the clearing price share what is left pro rata to the tonnes they
   asked, in whole lots, rounding down; lots left over go one at a time to
   the tied bids in the order they were submitted. Stated and deterministic:
   the same bids always clear the same way.
5. Unsold tonnes are reported; what becomes of them is the regime's rule
   (`UnsoldRule`), applied by whoever delivers the auction.
6. An auction whose clearing price is below `cancel_below_minor` is cancelled
   (the EU: below a threshold under the secondary price, Regulation (EU) No
   1031/2010 Art. 7(6)): nobody is awarded anything, the whole supply is unsold
   and stays with the issuer for a later auction, whatever `UnsoldRule` says.

`Auction` runs one auction against the clearing house and a registry: a bid
reserves its bidder's cash at its own price (the bid guarantee), clearing
pays the proceeds to the seller of the allowances (the government) and
releases the rest, and the awarded units are transferred from the auction
account to each winner's account.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import Enum, IntEnum
from fractions import Fraction

from exchange.clearing import ClearingHouse
from registry.errors import RegistryError
from registry.registry import Registry

BIDS_MAX = 100_000


class AuctionCode(IntEnum):
    """Why a bid or an auction was refused (the exchange's 113xx range)."""

    BIDDER_NOT_ELIGIBLE = 11301
    BAD_LOT = 11302
    BAD_TICK = 11303
    BELOW_RESERVE_PRICE = 11304
    DUPLICATE_BID = 11305
    AUCTION_CLOSED = 11306
    BAD_SUPPLY = 11307
    TOO_MANY_BIDS = 11308


class AuctionError(RegistryError):
    def __init__(self, code: AuctionCode, message: str) -> None:
        super().__init__(code, message)


class UnsoldRule(Enum):
    """What happens to tonnes an auction did not sell (the regime decides)."""

    RETURN_TO_ISSUER = "return_to_issuer"  # stay in the auction account for a later auction
    CANCEL = "cancel"  # cancelled in the registry


@dataclass(frozen=True, slots=True)
class AuctionRules:
    reserve_price_minor: int
    lot_t: int = 1
    tick_minor: int = 1
    bidder_share_max: Fraction | None = None  # of the supply; Korea 3/10
    eligible: frozenset[str] | None = None  # None: every member may bid
    unsold: UnsoldRule = UnsoldRule.RETURN_TO_ISSUER
    cancel_below_minor: Fraction | None = None  # a lower clearing price cancels the auction

    def __post_init__(self) -> None:
        if self.reserve_price_minor < 0 or self.lot_t <= 0 or self.tick_minor <= 0:
            raise ValueError(f"bad auction rules {self}")
        if self.cancel_below_minor is not None and self.cancel_below_minor < 0:
            raise ValueError(f"cancellation threshold must be >= 0, was {self.cancel_below_minor}")
        if self.bidder_share_max is not None and not 0 < self.bidder_share_max <= 1:
            raise ValueError(f"bidder share cap must be in (0, 1], was {self.bidder_share_max}")


@dataclass(frozen=True, slots=True)
class Bid:
    bid_id: str
    bidder: str
    price_minor: int
    quantity_t: int
    sequence: int = 0  # submission order: the last tie-break


@dataclass(frozen=True, slots=True)
class Award:
    bid_id: str
    bidder: str
    quantity_t: int


@dataclass(frozen=True, slots=True)
class AuctionResult:
    """What an auction cleared. A cancelled one keeps the clearing price it would have
    had, awards nothing and leaves its whole supply unsold."""

    supply_t: int
    clearing_price_minor: int
    awards: tuple[Award, ...]
    unsold_t: int
    cancelled: bool = False

    @property
    def sold_t(self) -> int:
        return self.supply_t - self.unsold_t

    @property
    def proceeds_minor(self) -> int:
        return self.sold_t * self.clearing_price_minor

    def by_bidder(self) -> dict[str, int]:
        totals: dict[str, int] = {}
        for award in self.awards:
            totals[award.bidder] = totals.get(award.bidder, 0) + award.quantity_t
        return totals


def check_bid(bid: Bid, rules: AuctionRules) -> None:
    """Raise `AuctionError` with the first rule the bid breaks."""
    if rules.eligible is not None and bid.bidder not in rules.eligible:
        raise AuctionError(
            AuctionCode.BIDDER_NOT_ELIGIBLE, f"{bid.bidder} is not an eligible bidder"
        )
    if type(bid.quantity_t) is not int or bid.quantity_t <= 0 or bid.quantity_t % rules.lot_t:
        raise AuctionError(
            AuctionCode.BAD_LOT,
            f"bid {bid.bid_id}: {bid.quantity_t!r} t is not a positive multiple of the "
            f"{rules.lot_t:,} t lot",
        )
    if (
        type(bid.price_minor) is not int
        or bid.price_minor <= 0
        or bid.price_minor % rules.tick_minor
    ):
        raise AuctionError(
            AuctionCode.BAD_TICK,
            f"bid {bid.bid_id}: price {bid.price_minor!r} is not a positive multiple of the "
            f"tick {rules.tick_minor}",
        )
    if bid.price_minor < rules.reserve_price_minor:
        raise AuctionError(
            AuctionCode.BELOW_RESERVE_PRICE,
            f"bid {bid.bid_id}: {bid.price_minor:,} is below the reserve price "
            f"{rules.reserve_price_minor:,}",
        )


def clear_auction(supply_t: int, bids: Iterable[Bid], rules: AuctionRules) -> AuctionResult:
    """Clear a sealed-bid uniform-price auction (see the module's rules)."""
    bids = list(bids)
    if type(supply_t) is not int or supply_t <= 0 or supply_t % rules.lot_t:
        raise AuctionError(
            AuctionCode.BAD_SUPPLY, f"supply {supply_t!r} t is not a positive number of lots"
        )
    if len(bids) > BIDS_MAX:
        raise AuctionError(AuctionCode.TOO_MANY_BIDS, f"{BIDS_MAX:,} bids at most")
    ids = [bid.bid_id for bid in bids]
    if len(set(ids)) != len(ids):
        raise AuctionError(AuctionCode.DUPLICATE_BID, "a bid id repeats")
    for bid in bids:
        check_bid(bid, rules)
    cap = _cap_t(supply_t, rules)
    awarded: dict[str, int] = {}  # bid id → tonnes
    by_bidder: dict[str, int] = {}
    left = supply_t
    clearing_price = rules.reserve_price_minor
    for price, tied in _price_levels(bids):
        if left == 0:
            break
        asks: dict[str, int] = {}
        pending = dict(by_bidder)  # a bidder's tied bids share its cap, in submission order
        for bid in tied:
            asks[bid.bid_id] = _room(bid, cap, pending)
            pending[bid.bidder] = pending.get(bid.bidder, 0) + asks[bid.bid_id]
        wanted = sum(asks.values())
        if wanted == 0:
            continue
        clearing_price = price
        shares = asks if wanted <= left else _pro_rata(tied, asks, left, rules.lot_t)
        for bid in tied:
            amount = shares.get(bid.bid_id, 0)
            if amount:
                awarded[bid.bid_id] = amount
                by_bidder[bid.bidder] = by_bidder.get(bid.bidder, 0) + amount
                left -= amount
    if left > 0:
        clearing_price = rules.reserve_price_minor  # undersubscribed: the reserve price
    if rules.cancel_below_minor is not None and clearing_price < rules.cancel_below_minor:
        return AuctionResult(supply_t, clearing_price, (), supply_t, cancelled=True)
    in_order = sorted(bids, key=lambda b: (b.sequence, b.bid_id))  # whatever order they came
    awards = tuple(
        Award(bid.bid_id, bid.bidder, awarded[bid.bid_id])
        for bid in in_order
        if bid.bid_id in awarded
    )
    return AuctionResult(supply_t, clearing_price, awards, left)


def _cap_t(supply_t: int, rules: AuctionRules) -> int | None:
    """Return the most one bidder may win, in whole lots."""
    if rules.bidder_share_max is None:
        return None
    lots = int(supply_t // rules.lot_t * rules.bidder_share_max)
    return lots * rules.lot_t


def _room(bid: Bid, cap: int | None, by_bidder: dict[str, int]) -> int:
    if cap is None:
        return bid.quantity_t
    return max(0, min(bid.quantity_t, cap - by_bidder.get(bid.bidder, 0)))


def _price_levels(bids: list[Bid]) -> list[tuple[int, list[Bid]]]:
    """Group bids by price, highest first; within a price, by submission order."""
    levels: dict[int, list[Bid]] = {}
    for bid in sorted(bids, key=lambda b: (b.sequence, b.bid_id)):
        levels.setdefault(bid.price_minor, []).append(bid)
    return sorted(levels.items(), reverse=True)


def _pro_rata(tied: list[Bid], asks: dict[str, int], left: int, lot_t: int) -> dict[str, int]:
    """Share `left` among tied bids pro rata to what they ask, in whole lots."""
    wanted = sum(asks.values())
    lots_left = left // lot_t
    shares = {bid_id: (ask * lots_left // wanted) * lot_t for bid_id, ask in asks.items()}
    spare = left - sum(shares.values())
    while spare >= lot_t:
        progressed = False
        for bid in tied:  # submission order
            if spare < lot_t:
                break
            if shares[bid.bid_id] + lot_t <= asks[bid.bid_id]:
                shares[bid.bid_id] += lot_t
                spare -= lot_t
                progressed = True
        if not progressed:
            break
    return shares


# ---------------------------------------------------------------- running one


@dataclass
class Auction:
    """One auction: bids backed by cash at the clearing house; delivery through a registry."""

    auction_id: str
    supply_t: int
    unit_type: str
    currency: str
    rules: AuctionRules
    clearing: ClearingHouse
    registry: Registry
    auction_account: str
    seller: str  # the clearing member paid the proceeds (the government)
    accounts: dict[str, str]  # bidder → its account in the registry
    bids: list[Bid] = field(default_factory=list)
    result: AuctionResult | None = None

    def bid(self, bid_id: str, bidder: str, price_minor: int, quantity_t: int) -> Bid:
        """Place a sealed bid; its cash (price × quantity) is reserved as its guarantee."""
        if self.result is not None:
            raise AuctionError(AuctionCode.AUCTION_CLOSED, f"auction {self.auction_id} has cleared")
        placed = Bid(bid_id, bidder, price_minor, quantity_t, len(self.bids))
        check_bid(placed, self.rules)
        if any(existing.bid_id == bid_id for existing in self.bids):
            raise AuctionError(AuctionCode.DUPLICATE_BID, f"bid {bid_id} was placed already")
        if bidder not in self.accounts:
            raise AuctionError(AuctionCode.BIDDER_NOT_ELIGIBLE, f"{bidder} has no account here")
        self.clearing.reserve(
            self._reservation(bid_id), bidder, self.currency, price_minor * quantity_t
        )
        self.bids.append(placed)
        return placed

    def clear(self) -> AuctionResult:
        """Clear, pay the seller, release the rest, deliver the units; cancel or keep the unsold."""
        if self.result is not None:
            raise AuctionError(AuctionCode.AUCTION_CLOSED, f"auction {self.auction_id} has cleared")
        result = clear_auction(self.supply_t, self.bids, self.rules)
        price = result.clearing_price_minor
        awarded = {award.bid_id: award.quantity_t for award in result.awards}
        for bid in self.bids:
            reservation = self._reservation(bid.bid_id)
            quantity = awarded.get(bid.bid_id, 0)
            if quantity:
                self.clearing.pay(reservation, self.seller, price * quantity, self.auction_id)
            if self.clearing.reservation(reservation) is not None:
                self.clearing.release(reservation)
        for bidder, quantity in sorted(result.by_bidder().items()):
            self.registry.transfer(
                self.auction_account, self.accounts[bidder], self.unit_type, quantity
            )
        if result.unsold_t and self.rules.unsold is UnsoldRule.CANCEL and not result.cancelled:
            self.registry.cancel(self.auction_account, self.unit_type, result.unsold_t)
        self.result = result
        return result

    def _reservation(self, bid_id: str) -> str:
        return f"{self.auction_id}-{bid_id}"
