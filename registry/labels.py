"""The rule for names people read and type: account labels, holders, project ids.

Two names that look alike must be the same name, or one of them refused:
text is kept in Unicode normal form C (so "é" typed as one character or as
"e" plus an accent is one label), and characters a reader cannot see are
refused (check 9107): controls (NUL, line breaks), format characters (the
bidi overrides U+202A-U+202E and U+2066-U+2069, the zero-width U+200B-U+200D,
U+2060 and U+FEFF), line and paragraph separators, surrogates, private-use
and unassigned code points.
"""

from __future__ import annotations

import unicodedata

from registry.errors import CheckCode, RegistryError

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
