"""Text for a terminal: transliterated where it cannot show a character, never dropped, and
measured in the columns it takes, so that tables of learners' names line up.

A character the terminal's encoding lacks (an ASCII or cp1252 console, ``LC_ALL=C``) becomes
its ASCII spelling by the ``anyascii`` library ("Þórsson" as "Thorsson"), except where that
would lose the meaning in a formula (``→`` is ``>`` to ``anyascii``, ``²`` is ``2``).
"""

from __future__ import annotations

import unicodedata

__all__ = ["ASCII_ERRORS", "ascii_fallback", "display_width", "pad"]

ASCII_ERRORS = "sheetgen-ascii"
"""The name the command registers :func:`ascii_fallback` under (``codecs.register_error``)."""

_ASCII = {"→": "->", "←": "<-", "²": "^2", "³": "^3", "≤": "<=", "≥": ">=", "⚠": "!"}


def ascii_fallback(exc: UnicodeError) -> tuple[str, int]:
    """A codec error handler: what the encoding lacks, in ASCII (``Þ`` as ``Th``, ``→`` as
    ``->``)."""
    if not isinstance(exc, UnicodeEncodeError):
        raise exc
    from anyascii import anyascii

    text = exc.object[exc.start : exc.end]
    return "".join(_ASCII.get(ch) or anyascii(ch) or "?" for ch in text), exc.end


def display_width(text: str) -> int:
    """The columns ``text`` takes on a terminal: two for a wide character (Chinese, Japanese,
    Korean, most emoji), none for a combining mark or a format character, else one."""
    return sum(
        0
        if unicodedata.combining(ch) or unicodedata.category(ch) in ("Mn", "Me", "Cf")
        else 2
        if unicodedata.east_asian_width(ch) in ("W", "F")
        else 1
        for ch in text
    )


def pad(text: str, width: int, *, left: bool = True) -> str:
    """``text`` padded with spaces to ``width`` columns (:func:`display_width`), on the
    right (``left``-aligned) or on the left."""
    fill = " " * max(0, width - display_width(text))
    return text + fill if left else fill + text
