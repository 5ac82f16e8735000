"""Account identifiers: `<registry>-<type>-<number>-<period>-<check>`, ISO 7064 mod 97-10.

Source for the format and the check-digit rule: reference/registry-and-linking.md
A4 (UK ETS registry `GeneratorService`), check codes 1001/2001 from D9.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from registry import AccountId, AccountIdError, AccountKind, CheckCode, RegistryError
from registry.account_ids import check_digits
from tests.registry.conftest import build_korean_ledger

registry_codes = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=2, max_size=2)
account_ids = st.builds(
    AccountId,
    registry=registry_codes,
    type_code=st.sampled_from(sorted({kind.type_code for kind in AccountKind})),
    number=st.integers(min_value=1, max_value=10**12),
    period=st.integers(min_value=0, max_value=99),
)


def reference_check_digits(registry: str, type_code: int, number: int, period: int) -> int:
    """Compute the check digits the way A4 states them, by search.

    ISO 7064 mod 97-10 check digits lie in 02..98 (98 − x mod 97), so one is valid.
    """
    letters = "".join(str(ord(letter) - ord("A") + 10) for letter in registry)
    payload = f"{number}{letters}{type_code:03d}{period:02d}"
    valid = [digits for digits in range(2, 99) if int(f"{payload}{digits:02d}") % 97 == 1]
    assert len(valid) == 1, valid
    return valid[0]


@given(account_ids)
def test_account_id_round_trips_through_its_text(account: AccountId) -> None:
    text = str(account)
    assert AccountId.parse(text) == account
    assert str(AccountId.parse(text)) == text


@given(account_ids)
def test_check_digits_make_the_whole_identifier_one_mod_97(account: AccountId) -> None:
    """ISO 7064 mod 97-10 as in A4: the string with its check digits is 1 mod 97."""
    expected = reference_check_digits(
        account.registry, account.type_code, account.number, account.period
    )
    assert check_digits(account.registry, account.type_code, account.number, account.period) == (
        expected
    )
    assert str(account).endswith(f"-{expected:02d}")


def test_documented_example_identifier_is_valid() -> None:
    """The example in registry/account_ids.py's docstring must itself parse."""
    account = AccountId.parse("KR-120-1000001-0-26")
    assert account == AccountId("KR", 120, 1_000_001, 0)


@given(account_ids, st.data())
def test_every_single_digit_typo_in_the_number_is_detected(
    account: AccountId, data: st.DataObject
) -> None:
    """A one-digit substitution changes the value by d·10^k, never 0 mod the prime 97."""
    text = str(account)
    registry, type_text, number_text, period_text, check_text = text.split("-")
    position = data.draw(st.integers(min_value=0, max_value=len(number_text) - 1))
    wrong = data.draw(st.sampled_from([d for d in "0123456789" if d != number_text[position]]))
    typo = number_text[:position] + wrong + number_text[position + 1 :]
    mistyped = "-".join((registry, type_text, typo, period_text, check_text))
    with pytest.raises(AccountIdError, match="check digits"):
        AccountId.parse(mistyped)


@given(account_ids, st.data())
def test_every_adjacent_transposition_in_the_number_is_detected(
    account: AccountId, data: st.DataObject
) -> None:
    text = str(account)
    registry, type_text, number_text, period_text, check_text = text.split("-")
    swaps = [i for i in range(len(number_text) - 1) if number_text[i] != number_text[i + 1]]
    if not swaps:
        return
    i = data.draw(st.sampled_from(swaps))
    swapped = number_text[:i] + number_text[i + 1] + number_text[i] + number_text[i + 2 :]
    with pytest.raises(AccountIdError):
        AccountId.parse("-".join((registry, type_text, swapped, period_text, check_text)))


@given(account_ids, st.integers(min_value=1, max_value=99))
def test_wrong_check_digits_are_refused(account: AccountId, offset: int) -> None:
    text = str(account)
    head, check_text = text.rsplit("-", 1)
    wrong = (int(check_text) + offset) % 100
    with pytest.raises(AccountIdError, match="check digits"):
        AccountId.parse(f"{head}-{wrong:02d}")


@pytest.mark.parametrize(
    "text",
    [
        "",
        "KR",
        "KR-120-1000006-0",
        "KR-120-1000006-0-98-1",
        "kr-120-1000006-0-98",
        "K1-120-1000006-0-98",
        "KRX-120-1000006-0-98",
        "ÄR-120-1000006-0-98",
        "KR-12a-1000006-0-98",
        "KR--1000006-0-98",
        "KR-120-1000006-0-",
        "KR-120-1000006-0-8",
        "KR-120-1000006-0-098",
        "KR-120-1000006-0-+8",
        "KR-120-1000006-0- 98",
        "KR-120-²-0-12",
        "KR-120-١٠٠٠٠٠٦-0-98",
        "KR-120-01000006-0-98",
        "KR-0120-1000006-0-98",
        "KR-120-1000006-00-98",
        "KR-120-" + "1" * 5_000 + "-0-00",
    ],
)
def test_malformed_account_ids_are_refused(text: str) -> None:
    """Malformed text, non-ASCII digits, leading zeros and huge numbers all raise AccountIdError.

    '²' passes str.isdigit() but not int(); a 5,000-digit number passes isdigit() but
    exceeds int()'s 4,300-digit limit; both once escaped as a bare ValueError.
    """
    assert AccountId.parse("KR-120-1000006-0-98") == AccountId("KR", 120, 1_000_006, 0)
    with pytest.raises(AccountIdError):
        AccountId.parse(text)


@given(st.text(max_size=60))
def test_any_text_either_parses_to_its_canonical_form_or_raises_account_id_error(
    text: str,
) -> None:
    try:
        account = AccountId.parse(text)
    except AccountIdError:
        return
    assert str(account) == text.strip()


@given(
    st.one_of(
        st.text(max_size=50),
        account_ids.map(str),
        st.builds(lambda a, s: str(a)[:-1] + s, account_ids, st.sampled_from("0123456789")),
    )
)
def test_ledger_answers_any_account_reference_with_a_code_and_changes_nothing(text: str) -> None:
    """Bad account ids are refused with 1001/1002/9107 before any balance lookup (D9)."""
    ledger = build_korean_ledger()
    ledger.issue("KAU", 2021, 10)
    known = {record.account_id for record in ledger.accounts()} | {"posco", "kepco", "broker"}
    known |= {record.label for record in ledger.accounts() if not record.kind.singleton}
    if text in known:
        return
    before = ledger.state_digest()
    with pytest.raises(RegistryError) as refused:
        ledger.transfer(text, "posco", "KAU", 1)
    assert refused.value.code in {
        CheckCode.TRANSFERRING_ACCOUNT_CHECK_DIGITS_INVALID,
        CheckCode.TRANSFERRING_ACCOUNT_DOES_NOT_EXIST,
        CheckCode.INVALID_ARGUMENT,
    }
    if "-" in text and refused.value.code is not CheckCode.INVALID_ARGUMENT:
        parses = True
        try:
            AccountId.parse(text)
        except AccountIdError:
            parses = False
        expected = (
            CheckCode.TRANSFERRING_ACCOUNT_DOES_NOT_EXIST
            if parses
            else CheckCode.TRANSFERRING_ACCOUNT_CHECK_DIGITS_INVALID
        )
        assert refused.value.code is expected
    with pytest.raises(RegistryError) as refused_acquiring:
        ledger.transfer(ledger.singleton(AccountKind.ISSUANCE).account_id, text, "KAU", 1)
    assert refused_acquiring.value.code in {
        CheckCode.ACQUIRING_ACCOUNT_CHECK_DIGITS_INVALID,
        CheckCode.ACQUIRING_ACCOUNT_DOES_NOT_EXIST,
        CheckCode.INVALID_ARGUMENT,
    }
    assert ledger.state_digest() == before
