"""Account identifiers with ISO 7064 mod 97-10 check digits, as Kyoto registries use.

Full form: `<registry>-<type>-<number>-<period>-<check>`, e.g. `KR-120-1000001-0-26`.
The check digits make the string `number ‖ registry letters as 10..35 ‖
type:%03d ‖ period:%02d ‖ check:%02d` equal 1 mod 97 (IBAN style), so a
mistyped account number is refused before any lookup.
"""

from __future__ import annotations

from dataclasses import dataclass

ACCOUNT_ID_LENGTH_MAX = 40  # the store's account_id column


class AccountIdError(ValueError):
    """The text is not a well-formed account identifier with valid check digits."""


def _payload(registry: str, type_code: int, number: int, period: int) -> str:
    letters = "".join(str(ord(letter) - 55) for letter in registry)
    return f"{number}{letters}{type_code:03d}{period:02d}"


def check_digits(registry: str, type_code: int, number: int, period: int) -> int:
    """Return the two check digits for the identifier's fields."""
    return 98 - int(_payload(registry, type_code, number, period) + "00") % 97


@dataclass(frozen=True, slots=True)
class AccountId:
    registry: str
    type_code: int
    number: int
    period: int = 0

    def __str__(self) -> str:
        digits = check_digits(self.registry, self.type_code, self.number, self.period)
        return f"{self.registry}-{self.type_code}-{self.number}-{self.period}-{digits:02d}"

    @classmethod
    def parse(cls, text: str) -> AccountId:
        """Parse `text`, refusing a malformed identifier or wrong check digits."""
        if len(text) > ACCOUNT_ID_LENGTH_MAX:
            # Also keeps int() below its 4,300-digit limit, which raises ValueError.
            raise AccountIdError(
                f"account id of {len(text):,} characters is longer than {ACCOUNT_ID_LENGTH_MAX}"
            )
        parts = text.strip().split("-")
        if len(parts) != 5:
            raise AccountIdError(
                f"account id {text!r} should have 5 parts "
                "<registry>-<type>-<number>-<period>-<check>"
            )
        registry, type_text, number_text, period_text, check_text = parts
        if (
            len(registry) != 2
            or not registry.isascii()
            or not registry.isupper()
            or not registry.isalpha()
        ):
            raise AccountIdError(f"account id {text!r}: registry code must be two letters A-Z")
        # isascii: str.isdigit() also accepts '²' (int() then raises) and other scripts' digits.
        if not all(
            part.isascii() and part.isdigit()
            for part in (type_text, number_text, period_text, check_text)
        ):
            raise AccountIdError(
                f"account id {text!r}: type, number, period and check must be digits"
            )
        account = cls(registry, int(type_text), int(number_text), int(period_text))
        expected = check_digits(registry, account.type_code, account.number, account.period)
        if int(check_text) != expected or len(check_text) != 2:
            raise AccountIdError(
                f"account id {text!r}: check digits {check_text} do not match (mistyped number?)"
            )
        if str(account) != text.strip():
            # Leading zeros would give one account several spellings.
            raise AccountIdError(f"account id {text!r} is not in canonical form {account}")
        return account


def is_registry_code(code: str) -> bool:
    return len(code) == 2 and code.isascii() and code.isalpha() and code.isupper()
