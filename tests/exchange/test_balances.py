"""Balances with reservations (the clearing house's cash, the exchange's custody of units):
each refusal changes nothing; a machine against a plain model."""

from __future__ import annotations

import pytest
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from exchange.balances import (
    AMOUNT_MAX,
    Balance,
    BalanceCode,
    BalanceError,
    decode_event,
    encode_event,
)
from exchange.clearing import ClearingHouse
from exchange.custody import CustodyBook
from registry import canonical


def _house() -> ClearingHouse:
    house = ClearingHouse()
    for member in ("buyer", "seller"):
        house.open_member(member)
    house.deposit("buyer", "EUR", 1_000_000)  # EUR 10,000.00, in cents
    return house


def _refused(house: ClearingHouse | CustodyBook, code: BalanceCode, command, *arguments) -> None:  # type: ignore[no-untyped-def]
    before = house.state_digest()
    with pytest.raises(BalanceError) as refused:
        command(*arguments)
    assert refused.value.code == code
    assert house.state_digest() == before


def test_a_trade_is_paid_out_of_the_buyers_reservation_and_the_rest_released() -> None:
    """A buy order of 100 t at EUR 65.00 reserves EUR 6,500.00; 60 t fill at EUR 64.50."""
    house = _house()
    house.reserve("order-1", "buyer", "EUR", 650_000)
    assert house.balance("buyer", "EUR") == Balance(1_000_000, 650_000)
    house.pay("order-1", "seller", 60 * 6_450, "trade-1")
    house.release("order-1")
    assert house.balance("buyer", "EUR") == Balance(1_000_000 - 387_000, 0)
    assert house.balance("seller", "EUR") == Balance(387_000, 0)
    assert house.reservation("order-1") is None
    house.check_conservation()


def test_each_refusal_has_its_code_and_changes_nothing() -> None:
    house = _house()
    house.reserve("order-1", "buyer", "EUR", 900_000)
    _refused(house, BalanceCode.UNKNOWN_MEMBER, house.deposit, "nobody", "EUR", 1)
    _refused(house, BalanceCode.MEMBER_EXISTS, house.open_member, "buyer")
    _refused(house, BalanceCode.BAD_ASSET, house.deposit, "buyer", "eur", 1)
    _refused(house, BalanceCode.AMOUNT_NOT_POSITIVE, house.deposit, "buyer", "EUR", 0)
    _refused(house, BalanceCode.AMOUNT_NOT_POSITIVE, house.deposit, "buyer", "EUR", 1.5)
    _refused(house, BalanceCode.INSUFFICIENT_FREE_BALANCE, house.withdraw, "buyer", "EUR", 100_001)
    _refused(
        house, BalanceCode.INSUFFICIENT_FREE_BALANCE, house.reserve, "o2", "buyer", "EUR", 100_001
    )
    _refused(house, BalanceCode.RESERVATION_EXISTS, house.reserve, "order-1", "buyer", "EUR", 1)
    _refused(house, BalanceCode.UNKNOWN_RESERVATION, house.release, "order-9")
    _refused(house, BalanceCode.RESERVATION_EXCEEDED, house.pay, "order-1", "seller", 900_001, "t")
    _refused(house, BalanceCode.UNKNOWN_MEMBER, house.pay, "order-1", "nobody", 1, "t")
    _refused(house, BalanceCode.BAD_ID, house.reserve, "", "buyer", "EUR", 1)
    house.deposit("seller", "EUR", AMOUNT_MAX)
    _refused(house, BalanceCode.LIMIT_REACHED, house.deposit, "seller", "EUR", 1)
    house.release("order-1")
    # A used reservation id is never reused, even after release.
    _refused(house, BalanceCode.RESERVATION_EXISTS, house.reserve, "order-1", "buyer", "EUR", 1)


def test_custody_delivers_sold_units_out_and_keeps_claims_equal_to_what_came_in() -> None:
    """A seller's 1,000 EUA in custody: a sell order of 400 t reserves them; 250 t sell."""
    custody = CustodyBook()
    custody.open_member("seller")
    custody.deposit("seller", "EUA", 1_000)
    custody.reserve("sell-1", "seller", "EUA", 400)
    custody.deliver("sell-1", 250, "trade-1")
    custody.release("sell-1")
    assert custody.balance("seller", "EUA") == Balance(750, 0)
    assert custody.total("EUA") == 750
    custody.check_conservation()
    _refused(custody, BalanceCode.BAD_ASSET, custody.deposit, "seller", "eua", 1)
    _refused(custody, BalanceCode.INSUFFICIENT_FREE_BALANCE, custody.withdraw, "seller", "EUA", 751)


def test_events_replay_to_the_same_state() -> None:
    house = _house()
    events = [
        house.open_member("third"),
        house.reserve("order-1", "buyer", "EUR", 500_000),
        house.pay("order-1", "third", 100_000, "trade-1"),
        house.release("order-1", 50_000),
        house.deposit("third", "KRW", 7_800),
    ]
    replayed = _house()
    for event in events:
        kind, data = encode_event(event)
        replayed.apply(decode_event(kind, canonical.decode(canonical.encode_text(data))))
    assert replayed.state_digest() == house.state_digest()


MEMBERS = ("a", "b", "c")
CURRENCIES = ("EUR", "KRW")
amounts = st.integers(1, 5_000)


class ClearingMachine(RuleBasedStateMachine):
    """The house against a model of plain dicts; cash conserved after every step."""

    def __init__(self) -> None:
        super().__init__()
        self.house = ClearingHouse()
        self.events: list = []  # type: ignore[type-arg]
        self.total: dict[tuple[str, str], int] = {}
        self.open: dict[str, tuple[str, str, int]] = {}
        self.count = 0
        for member in MEMBERS:
            self.events.append(self.house.open_member(member))

    def _reserved(self, member: str, currency: str) -> int:
        return sum(a for m, c, a in self.open.values() if (m, c) == (member, currency))

    def _try(self, expected_ok: bool, command, *arguments) -> None:  # type: ignore[no-untyped-def]
        before = self.house.state_digest()
        if expected_ok:
            self.events.append(command(*arguments))
        else:
            with pytest.raises(BalanceError):
                command(*arguments)
            assert self.house.state_digest() == before

    @rule(member=st.sampled_from(MEMBERS), currency=st.sampled_from(CURRENCIES), amount=amounts)
    def deposit(self, member: str, currency: str, amount: int) -> None:
        self._try(True, self.house.deposit, member, currency, amount)
        self.total[(member, currency)] = self.total.get((member, currency), 0) + amount

    @rule(member=st.sampled_from(MEMBERS), currency=st.sampled_from(CURRENCIES), amount=amounts)
    def withdraw(self, member: str, currency: str, amount: int) -> None:
        free = self.total.get((member, currency), 0) - self._reserved(member, currency)
        self._try(amount <= free, self.house.withdraw, member, currency, amount)
        if amount <= free:
            self.total[(member, currency)] -= amount

    @rule(member=st.sampled_from(MEMBERS), currency=st.sampled_from(CURRENCIES), amount=amounts)
    def reserve(self, member: str, currency: str, amount: int) -> None:
        self.count += 1
        reservation_id = f"r{self.count}"
        free = self.total.get((member, currency), 0) - self._reserved(member, currency)
        self._try(amount <= free, self.house.reserve, reservation_id, member, currency, amount)
        if amount <= free:
            self.open[reservation_id] = (member, currency, amount)

    @rule(data=st.data(), payee=st.sampled_from(MEMBERS), amount=amounts)
    def pay(self, data: st.DataObject, payee: str, amount: int) -> None:
        if not self.open:
            return
        reservation_id = data.draw(st.sampled_from(sorted(self.open)))
        member, currency, left = self.open[reservation_id]
        ok = amount <= left
        self._try(ok, self.house.pay, reservation_id, payee, amount, "trade")
        if ok:
            self.total[(member, currency)] -= amount
            self.total[(payee, currency)] = self.total.get((payee, currency), 0) + amount
            self._take(reservation_id, amount)

    @rule(data=st.data(), amount=st.none() | amounts)
    def release(self, data: st.DataObject, amount: int | None) -> None:
        if not self.open:
            return
        reservation_id = data.draw(st.sampled_from(sorted(self.open)))
        left = self.open[reservation_id][2]
        ok = amount is None or amount <= left
        self._try(ok, self.house.release, reservation_id, amount)
        if ok:
            self._take(reservation_id, left if amount is None else amount)

    @rule(data=st.data(), amount=amounts)
    def deliver(self, data: st.DataObject, amount: int) -> None:
        if not self.open:
            return
        reservation_id = data.draw(st.sampled_from(sorted(self.open)))
        member, currency, left = self.open[reservation_id]
        ok = amount <= left
        self._try(ok, self.house.deliver, reservation_id, amount, "delivery")
        if ok:
            self.total[(member, currency)] -= amount
            self._take(reservation_id, amount)

    def _take(self, reservation_id: str, amount: int) -> None:
        member, currency, left = self.open[reservation_id]
        if left == amount:
            del self.open[reservation_id]
        else:
            self.open[reservation_id] = (member, currency, left - amount)

    @invariant()
    def matches_the_model_and_conserves_cash(self) -> None:
        self.house.check_conservation()
        for member in MEMBERS:
            for currency in CURRENCIES:
                assert self.house.balance(member, currency) == Balance(
                    self.total.get((member, currency), 0), self._reserved(member, currency)
                )
        replayed = ClearingHouse()
        for event in self.events:
            replayed.apply(event)
        assert replayed.state_digest() == self.house.state_digest()


TestClearing = ClearingMachine.TestCase


def test_custody_takes_a_venue_listing_code_and_refuses_malformed_ones() -> None:
    """EUA@CH: EU allowances at the Swiss venue, a claim of its own beside plain EUA."""
    custody = CustodyBook()
    custody.open_member("seller")
    custody.deposit("seller", "EUA@CH", 100)
    custody.deposit("seller", "EUA", 40)
    custody.reserve("sell-1", "seller", "EUA@CH", 60)
    custody.deliver("sell-1", 60, "EUA@CH-1")  # a venue trade id is a good reference
    assert custody.balance("seller", "EUA@CH") == Balance(40, 0)
    assert custody.balance("seller", "EUA") == Balance(40, 0)
    custody.check_conservation()
    for code in ("EUA@", "EUA@che", "eua@CH", "EUA@C", "@CH", "EUA@CH@EU"):
        _refused(custody, BalanceCode.BAD_ASSET, custody.deposit, "seller", code, 1)
