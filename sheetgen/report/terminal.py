"""Text for a terminal that cannot show every character: transliterated, never dropped.

A character the terminal's encoding lacks (an ASCII or cp1252 console, ``LC_ALL=C``) becomes
its ASCII spelling by the ``anyascii`` library ("Þórsson" as "Thorsson"), except where that
would lose the meaning in a formula (``→`` is ``>`` to ``anyascii``, ``²`` is ``2``).
"""

from __future__ import annotations

__all__ = ["ASCII_ERRORS", "ascii_fallback"]

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
