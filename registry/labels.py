"""The rules for text the registry keeps: bounded, encodable, and names a reader can see.

Any text (a reason, an id, a name) is at most `TEXT_LENGTH_MAX` characters
and has a UTF-8 form (`check_text`). Names people read and type (account
labels, holders, project ids) must also not look alike: two names that look
alike must be the same name, or one of them refused. Text is kept in
Unicode normal form C (so "é" typed as one character or as "e" plus an
accent is one label), and characters a reader cannot see are refused
(check 9107): controls (NUL, line breaks), format characters (the bidi
overrides U+202A-U+202E and U+2066-U+2069, the zero-width U+200B-U+200D,
U+2060 and U+FEFF), line and paragraph separators, surrogates, private-use
and unassigned code points.
"""

from __future__ import annotations

import unicodedata
from typing import Any

from registry.errors import CheckCode, RegistryError

TEXT_LENGTH_MAX = 200

# Unicode general categories of characters a name may not hold, and why.
_REFUSED_CATEGORIES = {
    "Cc": "a control character",
    "Cf": "an invisible format character (bidi override or zero-width)",
    "Cs": "a surrogate",
    "Co": "a private-use character",
    "Cn": "an unassigned character",
    "Zl": "a line separator",
    "Zp": "a paragraph separator",
}


def check_text(what: str, text: Any, required: bool = False) -> None:
    """Refuse (9107) anything but text of at most `TEXT_LENGTH_MAX` characters with a UTF-8 form.

    `required` text must also hold more than blanks.
    """
    if not isinstance(text, str) or len(text) > TEXT_LENGTH_MAX or (required and not text.strip()):
        need = "a non-empty text" if required else "a text"
        raise RegistryError(
            CheckCode.INVALID_ARGUMENT,
            f"{what} must be {need} of at most {TEXT_LENGTH_MAX} characters, was {text!r}",
        )
    if not text.isascii():
        # Text with no UTF-8 form (a lone surrogate) cannot be journaled; accepted, it
        # would leave the ledger ahead of the journal and the chain unreplayable.
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise RegistryError(
                CheckCode.INVALID_ARGUMENT, f"{what} is not valid Unicode text, was {text!r}"
            ) from None


def checked_name(what: str, text: str) -> str:
    """Return `text` in NFC, refusing (9107) any character a reader cannot see."""
    if text.isascii() and text.isprintable():
        return text  # the common case: nothing to normalise, nothing invisible
    for position, character in enumerate(text):
        category = unicodedata.category(character)
        if category in _REFUSED_CATEGORIES:
            name = unicodedata.name(character, "unnamed")
            raise RegistryError(
                CheckCode.INVALID_ARGUMENT,
                f"{what} {text!a} holds {_REFUSED_CATEGORIES[category]} "
                f"U+{ord(character):04X} ({name}) at position {position}; "
                "names must be visible text",
            )
    return unicodedata.normalize("NFC", text)


def nfc(text: str) -> str:
    """Return `text` in Unicode normal form C, as names are stored."""
    return text if text.isascii() else unicodedata.normalize("NFC", text)
