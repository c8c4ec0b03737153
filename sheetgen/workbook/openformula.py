"""OpenFormula (the formulas of .ods files) translated to the Excel syntax the engine reads.

LibreOffice writes ``of:=[.B2]*[.C2]+[.D2]`` where Excel writes ``=B2*C2+D2``. The grammar is
ODF 1.2 part 2 (OpenFormula): references sit in brackets with a dot before the column
(``[.B2]``, ``[$Sheet1.$A$1]``, ``[$'My sheet'.A1:.B3]``, another file as
``['file:///x.ods'#$Sheet1.A1]``), ``;`` separates arguments (``{1;2|3;4}``: ``;`` columns and
``|`` rows in an array), ``~`` is the union and ``!`` the intersection operator, and some
functions have other names. Everything else (numbers, strings, error literals, operators,
names of ranges) reads the same. The translation tokenizes the text once, so a string literal
or a quoted sheet name holding ``;``, ``[`` or ``.`` is never touched.

Function names that differ are taken from LibreOffice 7.4's own opcode maps (the ODFF and
OOXML formula languages of ``com.sun.star.sheet.FormulaOpCodeMapper``), so a formula reads
here exactly as LibreOffice would write it into an .xlsx (``COM.MICROSOFT.CONCAT`` ->
``_xlfn.CONCAT``, ``LEGACY.NORMSDIST`` -> ``NORMSDIST``); ``tests/test_ods.py`` checks the
table against a running LibreOffice when one is installed.
"""

from __future__ import annotations

import functools
import re
from typing import Final

from .. import a1
from .xlsx import shift

__all__ = [
    "EXCEL_NAMES",
    "MSOXL",
    "OOOC",
    "OPENFORMULA",
    "FormulaError",
    "expression_to_excel",
    "range_to_excel",
    "reference",
    "to_excel",
]

OPENFORMULA: Final = "urn:oasis:names:tc:opendocument:xmlns:of:1.2"
"""The namespace of ``of:=`` formulas."""
OOOC: Final = "http://openoffice.org/2004/formula"
"""OpenOffice.org's older formula namespace (``oooc:=``): the same reference syntax."""
MSOXL: Final = "http://schemas.microsoft.com/office/excel/formula"
"""Excel's own syntax, as Excel writes into .ods files (``msoxl:=``)."""

EXCEL_NAMES: Final[dict[str, str]] = {
    "ACOT": "_xlfn.ACOT",
    "ACOTH": "_xlfn.ACOTH",
    "ARABIC": "_xlfn.ARABIC",
    "BASE": "_xlfn.BASE",
    "BITAND": "_xlfn.BITAND",
    "BITLSHIFT": "_xlfn.BITLSHIFT",
    "BITOR": "_xlfn.BITOR",
    "BITRSHIFT": "_xlfn.BITRSHIFT",
    "BITXOR": "_xlfn.BITXOR",
    "CEILING": "_xlfn.CEILING.MATH",
    "COM.MICROSOFT.AGGREGATE": "_xlfn.AGGREGATE",
    "COM.MICROSOFT.BAHTTEXT": "_xlfn.BAHTTEXT",
    "COM.MICROSOFT.BETA.DIST": "_xlfn.BETA.DIST",
    "COM.MICROSOFT.BETA.INV": "_xlfn.BETA.INV",
    "COM.MICROSOFT.BINOM.DIST": "_xlfn.BINOM.DIST",
    "COM.MICROSOFT.BINOM.INV": "_xlfn.BINOM.INV",
    "COM.MICROSOFT.CEILING": "CEILING",
    "COM.MICROSOFT.CEILING.MATH": "_xlfn.CEILING.MATH",
    "COM.MICROSOFT.CEILING.PRECISE": "_xlfn.CEILING.PRECISE",
    "COM.MICROSOFT.CHISQ.DIST": "_xlfn.CHISQ.DIST",
    "COM.MICROSOFT.CHISQ.DIST.RT": "_xlfn.CHISQ.DIST.RT",
    "COM.MICROSOFT.CHISQ.INV": "_xlfn.CHISQ.INV",
    "COM.MICROSOFT.CHISQ.INV.RT": "_xlfn.CHISQ.INV.RT",
    "COM.MICROSOFT.CHISQ.TEST": "_xlfn.CHISQ.TEST",
    "COM.MICROSOFT.CONCAT": "_xlfn.CONCAT",
    "COM.MICROSOFT.CONFIDENCE.NORM": "_xlfn.CONFIDENCE.NORM",
    "COM.MICROSOFT.CONFIDENCE.T": "_xlfn.CONFIDENCE.T",
    "COM.MICROSOFT.COVARIANCE.P": "_xlfn.COVARIANCE.P",
    "COM.MICROSOFT.COVARIANCE.S": "_xlfn.COVARIANCE.S",
    "COM.MICROSOFT.ENCODEURL": "_xlfn.ENCODEURL",
    "COM.MICROSOFT.ERF.PRECISE": "_xlfn.ERF.PRECISE",
    "COM.MICROSOFT.ERFC.PRECISE": "_xlfn.ERFC.PRECISE",
    "COM.MICROSOFT.EXPON.DIST": "_xlfn.EXPON.DIST",
    "COM.MICROSOFT.F.DIST.RT": "_xlfn.F.DIST.RT",
    "COM.MICROSOFT.F.INV.RT": "_xlfn.F.INV.RT",
    "COM.MICROSOFT.F.TEST": "_xlfn.F.TEST",
    "COM.MICROSOFT.FILTERXML": "_xlfn.FILTERXML",
    "COM.MICROSOFT.FLOOR": "FLOOR",
    "COM.MICROSOFT.FLOOR.MATH": "_xlfn.FLOOR.MATH",
    "COM.MICROSOFT.FLOOR.PRECISE": "_xlfn.FLOOR.PRECISE",
    "COM.MICROSOFT.FORECAST.ETS": "_xlfn.FORECAST.ETS",
    "COM.MICROSOFT.FORECAST.ETS.CONFINT": "_xlfn.FORECAST.ETS.CONFINT",
    "COM.MICROSOFT.FORECAST.ETS.SEASONALITY": "_xlfn.FORECAST.ETS.SEASONALITY",
    "COM.MICROSOFT.FORECAST.ETS.STAT": "_xlfn.FORECAST.ETS.STAT",
    "COM.MICROSOFT.FORECAST.LINEAR": "_xlfn.FORECAST.LINEAR",
    "COM.MICROSOFT.GAMMA.DIST": "_xlfn.GAMMA.DIST",
    "COM.MICROSOFT.GAMMA.INV": "_xlfn.GAMMA.INV",
    "COM.MICROSOFT.GAMMALN.PRECISE": "_xlfn.GAMMALN.PRECISE",
    "COM.MICROSOFT.HYPGEOM.DIST": "_xlfn.HYPGEOM.DIST",
    "COM.MICROSOFT.IFS": "_xlfn.IFS",
    "COM.MICROSOFT.ISO.CEILING": "ISO.CEILING",
    "COM.MICROSOFT.LOGNORM.DIST": "_xlfn.LOGNORM.DIST",
    "COM.MICROSOFT.LOGNORM.INV": "_xlfn.LOGNORM.INV",
    "COM.MICROSOFT.MAXIFS": "_xlfn.MAXIFS",
    "COM.MICROSOFT.MINIFS": "_xlfn.MINIFS",
    "COM.MICROSOFT.MODE.MULT": "_xlfn.MODE.MULT",
    "COM.MICROSOFT.MODE.SNGL": "_xlfn.MODE.SNGL",
    "COM.MICROSOFT.NEGBINOM.DIST": "_xlfn.NEGBINOM.DIST",
    "COM.MICROSOFT.NETWORKDAYS.INTL": "NETWORKDAYS.INTL",
    "COM.MICROSOFT.NORM.DIST": "_xlfn.NORM.DIST",
    "COM.MICROSOFT.NORM.INV": "_xlfn.NORM.INV",
    "COM.MICROSOFT.NORM.S.DIST": "_xlfn.NORM.S.DIST",
    "COM.MICROSOFT.NORM.S.INV": "_xlfn.NORM.S.INV",
    "COM.MICROSOFT.PERCENTILE.EXC": "_xlfn.PERCENTILE.EXC",
    "COM.MICROSOFT.PERCENTILE.INC": "_xlfn.PERCENTILE.INC",
    "COM.MICROSOFT.PERCENTRANK.EXC": "_xlfn.PERCENTRANK.EXC",
    "COM.MICROSOFT.PERCENTRANK.INC": "_xlfn.PERCENTRANK.INC",
    "COM.MICROSOFT.POISSON.DIST": "_xlfn.POISSON.DIST",
    "COM.MICROSOFT.QUARTILE.EXC": "_xlfn.QUARTILE.EXC",
    "COM.MICROSOFT.QUARTILE.INC": "_xlfn.QUARTILE.INC",
    "COM.MICROSOFT.RANK.AVG": "_xlfn.RANK.AVG",
    "COM.MICROSOFT.RANK.EQ": "_xlfn.RANK.EQ",
    "COM.MICROSOFT.STDEV.P": "_xlfn.STDEV.P",
    "COM.MICROSOFT.STDEV.S": "_xlfn.STDEV.S",
    "COM.MICROSOFT.SWITCH": "_xlfn.SWITCH",
    "COM.MICROSOFT.T.DIST": "_xlfn.T.DIST",
    "COM.MICROSOFT.T.DIST.2T": "_xlfn.T.DIST.2T",
    "COM.MICROSOFT.T.DIST.RT": "_xlfn.T.DIST.RT",
    "COM.MICROSOFT.T.INV": "_xlfn.T.INV",
    "COM.MICROSOFT.T.INV.2T": "_xlfn.T.INV.2T",
    "COM.MICROSOFT.T.TEST": "_xlfn.T.TEST",
    "COM.MICROSOFT.TEXTJOIN": "_xlfn.TEXTJOIN",
    "COM.MICROSOFT.VAR.P": "_xlfn.VAR.P",
    "COM.MICROSOFT.VAR.S": "_xlfn.VAR.S",
    "COM.MICROSOFT.WEBSERVICE": "_xlfn.WEBSERVICE",
    "COM.MICROSOFT.WEIBULL.DIST": "_xlfn.WEIBULL.DIST",
    "COM.MICROSOFT.WORKDAY.INTL": "WORKDAY.INTL",
    "COM.MICROSOFT.Z.TEST": "_xlfn.Z.TEST",
    "COMBINA": "_xlfn.COMBINA",
    "COT": "_xlfn.COT",
    "COTH": "_xlfn.COTH",
    "CSC": "_xlfn.CSC",
    "CSCH": "_xlfn.CSCH",
    "DAYS": "_xlfn.DAYS",
    "DECIMAL": "_xlfn.DECIMAL",
    "FDIST": "_xlfn.F.DIST",
    "FINV": "_xlfn.F.INV",
    "FLOOR": "_xlfn.FLOOR.MATH",
    "FORMULA": "_xlfn.FORMULATEXT",
    "GAMMA": "_xlfn.GAMMA",
    "GAUSS": "_xlfn.GAUSS",
    "IFNA": "_xlfn.IFNA",
    "ISFORMULA": "_xlfn.ISFORMULA",
    "ISOWEEKNUM": "_xlfn.ISOWEEKNUM",
    "LEGACY.CHIDIST": "CHIDIST",
    "LEGACY.CHIINV": "CHIINV",
    "LEGACY.CHITEST": "CHITEST",
    "LEGACY.FDIST": "FDIST",
    "LEGACY.FINV": "FINV",
    "LEGACY.NORMSDIST": "NORMSDIST",
    "LEGACY.NORMSINV": "NORMSINV",
    "LEGACY.TDIST": "TDIST",
    "MULTIPLE.OPERATIONS": "TABLE",
    "MUNIT": "_xlfn.MUNIT",
    "NUMBERVALUE": "_xlfn.NUMBERVALUE",
    "ORG.LIBREOFFICE.COLOR": "_xlfn.ORG.LIBREOFFICE.COLOR",
    "ORG.LIBREOFFICE.FORECAST.ETS.MULT": "_xlfn.ORG.LIBREOFFICE.FORECAST.ETS.MULT",
    "ORG.LIBREOFFICE.FORECAST.ETS.PI.MULT": "_xlfn.ORG.LIBREOFFICE.FORECAST.ETS.PI.MULT",
    "ORG.LIBREOFFICE.FORECAST.ETS.STAT.MULT": "_xlfn.ORG.LIBREOFFICE.FORECAST.ETS.STAT.MULT",
    "ORG.LIBREOFFICE.FOURIER": "_xlfn.ORG.LIBREOFFICE.FOURIER",
    "ORG.LIBREOFFICE.RAND.NV": "_xlfn.ORG.LIBREOFFICE.RAND.NV",
    "ORG.LIBREOFFICE.RANDBETWEEN.NV": "_xlfn.ORG.LIBREOFFICE.RANDBETWEEN.NV",
    "ORG.LIBREOFFICE.RAWSUBTRACT": "_xlfn.ORG.LIBREOFFICE.RAWSUBTRACT",
    "ORG.LIBREOFFICE.REGEX": "_xlfn.ORG.LIBREOFFICE.REGEX",
    "ORG.LIBREOFFICE.ROUNDSIG": "_xlfn.ORG.LIBREOFFICE.ROUNDSIG",
    "ORG.LIBREOFFICE.WEEKNUM_OOO": "_xlfn.ORG.LIBREOFFICE.WEEKNUM_OOO",
    "ORG.OPENOFFICE.CONVERT": "_xlfn.ORG.OPENOFFICE.CONVERT",
    "ORG.OPENOFFICE.CURRENT": "_xlfn.ORG.OPENOFFICE.CURRENT",
    "ORG.OPENOFFICE.EASTERSUNDAY": "_xlfn.ORG.OPENOFFICE.EASTERSUNDAY",
    "ORG.OPENOFFICE.ERRORTYPE": "_xlfn.ORG.OPENOFFICE.ERRORTYPE",
    "ORG.OPENOFFICE.GOALSEEK": "_xlfn.ORG.OPENOFFICE.GOALSEEK",
    "ORG.OPENOFFICE.MULTIRANGE": "_xlfn.ORG.OPENOFFICE.MULTIRANGE",
    "ORG.OPENOFFICE.STYLE": "_xlfn.ORG.OPENOFFICE.STYLE",
    "PDURATION": "_xlfn.PDURATION",
    "PERMUTATIONA": "_xlfn.PERMUTATIONA",
    "PHI": "_xlfn.PHI",
    "RRI": "_xlfn.RRI",
    "SEC": "_xlfn.SEC",
    "SECH": "_xlfn.SECH",
    "SHEET": "_xlfn.SHEET",
    "SHEETS": "_xlfn.SHEETS",
    "SKEWP": "_xlfn.SKEW.P",
    "UNICHAR": "_xlfn.UNICHAR",
    "UNICODE": "_xlfn.UNICODE",
    "XOR": "_xlfn.XOR",
}
"""OpenFormula function name -> the name LibreOffice writes into .xlsx, where they differ."""

_TOKEN_PATTERN = r"""
    (?P<string>"(?:[^"]|"")*")
    |(?P<ref>\[(?:[^\]']|'(?:[^']|'')*')*\])
    |(?P<error>\#(?:NULL!|DIV/0!|VALUE!|REF!|NAME\?|NUM!|N/A|GETTING_DATA))
    |(?P<function>[A-Za-z_\u00c0-\uffff][\w.\u00c0-\uffff]*(?=\s*\())
    |(?P<name>[A-Za-z_\u00c0-\uffff][\w.\u00c0-\uffff]*)
    |(?P<number>[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)
    |(?P<operator>[;|~!{}])
    """


@functools.cache
def _token() -> re.Pattern[str]:
    """The tokens of an OpenFormula expression, compiled when an .ods is first read (its wide
    ranges cost milliseconds to compile, at the start of every process that reads none)."""
    return re.compile(_TOKEN_PATTERN, re.VERBOSE)


# Inside brackets: [source #] [$]sheet . column row [: [[$]sheet] . column row]
_SHEET = r"(?:\$?(?:'(?:[^']|'')*'|[^\].\s#$':]+))"
_POINT = r"(?:\$?[A-Za-z]{1,3}\$?[0-9]{1,7}|\$?[A-Za-z]{1,3}|\$?[0-9]{1,7})"
_ADDRESS = re.compile(rf"(?P<sheet>{_SHEET})?\.(?P<point>{_POINT})|(?P<bare>{_POINT})")
_REF = re.compile(rf"(?P<first>{_SHEET}?\.?{_POINT})(?::(?P<second>{_SHEET}?\.?{_POINT}))?")
_PLAIN_SHEET = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_LOOKS_LIKE_CELL = re.compile(r"(?:[A-Za-z]{1,3}[0-9]+|[Rr][0-9]*[Cc][0-9]*|TRUE|FALSE)", re.I)


class FormulaError(ValueError):
    """Text that is not an OpenFormula expression this translator understands."""


def _unquote(sheet: str) -> str:
    sheet = sheet.removeprefix("$")
    if sheet.startswith("'"):
        return sheet[1:-1].replace("''", "'")
    return sheet


def _quoted(sheet: str) -> str:
    """A sheet name as Excel writes it before ``!``: quoted unless it is a plain word."""
    if _PLAIN_SHEET.fullmatch(sheet) and not _LOOKS_LIKE_CELL.fullmatch(sheet):
        return sheet
    return "'" + sheet.replace("'", "''") + "'"


def _split_address(text: str) -> tuple[str | None, str]:
    match = _ADDRESS.fullmatch(text)
    if match is None:
        raise FormulaError(f"{text!r} is not a cell address")
    if match.group("bare") is not None:
        return None, match.group("bare")
    sheet = match.group("sheet")
    return (_unquote(sheet) if sheet else None), match.group("point")


def _source(inner: str) -> tuple[str | None, str]:
    """Split ``'file:///x.ods'#$Sheet1.A1`` into its source document and the address."""
    if inner.startswith("'"):
        end = 1
        while True:
            end = inner.find("'", end)
            if end < 0:
                raise FormulaError("unterminated quote")
            if inner[end + 1 : end + 2] == "'":
                end += 2
                continue
            break
        if inner[end + 1 : end + 2] == "#":
            return inner[1:end].replace("''", "'"), inner[end + 2 :]
        return None, inner
    hash_at = inner.find("#")
    if hash_at > 0 and not inner.startswith("$#"):
        return inner[:hash_at], inner[hash_at + 1 :]
    return None, inner


def reference(inner: str) -> str:
    """One bracketed reference's content (``$Sheet1.A1:.B2``) in Excel syntax (``Sheet1!A1:B2``)."""
    if "#REF!" in inner.upper():
        return "#REF!"
    source, address = _source(inner.strip())
    match = _REF.fullmatch(address)
    if match is None:
        raise FormulaError(f"[{inner}] is not a reference")
    sheet, first = _split_address(match.group("first"))
    point = first
    if match.group("second") is not None:
        other, second = _split_address(match.group("second"))
        if other is not None and sheet is not None and other.upper() != sheet.upper():
            sheet = f"{sheet}:{other}"  # a 3-D reference through several sheets
        elif sheet is None:
            sheet = other
        point = f"{first}:{second}"
    if source is not None:
        # The form formula_hazards knows as a link: '[file]Sheet'!A1
        return (
            "'[" + source.replace("'", "''") + "]" + (sheet or "").replace("'", "''") + "'!" + point
        )
    return f"{_quoted(sheet)}!{point}" if sheet else point


def _translate(expression: str) -> str:
    out: list[str] = []
    arrays = 0
    position = 0
    for match in _token().finditer(expression):
        out.append(expression[position : match.start()])
        position = match.end()
        kind = match.lastgroup
        text = match.group()
        if kind == "ref":
            out.append(reference(text[1:-1]))
        elif kind == "function":
            out.append(EXCEL_NAMES.get(text.upper(), text))
        elif kind == "operator":
            if text == "{":
                arrays += 1
            elif text == "}":
                arrays -= 1
            elif text == ";":
                text = ","
            elif text == "|" and arrays:
                text = ";"
            elif text == "~":
                text = ","
            elif text == "!":
                text = " "
            out.append(text)
        else:
            out.append(text)
    out.append(expression[position:])
    return "".join(out)


_PREFIX = re.compile(r"([A-Za-z_][\w.-]*):(?==|\[|$)")


@functools.lru_cache(maxsize=65536)
def to_excel(text: str, namespaces: tuple[tuple[str, str], ...] = ()) -> str:
    """``of:=[.B2]*[.C2]`` -> ``=B2*C2``: an .ods cell's formula in the engine's syntax.

    ``namespaces``: (prefix, namespace) pairs the document declares, to read the formula's
    prefix (``of:``, ``oooc:``, ``msoxl:``); without them the usual prefixes are assumed. A
    formula in an unknown namespace is returned as written after its ``=`` (the engine then
    reports it as a formula it cannot read). Raises :class:`FormulaError` for a malformed
    reference.
    """
    language = OPENFORMULA
    prefix = _PREFIX.match(text)
    if prefix is not None:
        known = dict(namespaces) or _USUAL
        language = known.get(prefix.group(1), "")
        text = text[prefix.end() :]
    body = text[1:] if text.startswith("=") else text
    if language == MSOXL:
        return "=" + body
    if language not in (OPENFORMULA, OOOC):
        return "=" + body
    return "=" + _translate(body)


_USUAL = {"of": OPENFORMULA, "oooc": OOOC, "msoxl": MSOXL}


def expression_to_excel(text: str, base: str | None = None) -> str:
    """A named expression (``[$Sheet1.$B$2]*2``, ``"text"``) as a defined name's Excel text.

    Relative references in it are relative to ``base`` (``$Sheet1.$C$5``); Excel keeps them
    relative to A1, so they are moved by the difference (round the sheet's edge, as Excel
    writes a reference left of or above A1: ``sheetgen.engine.names`` moves them back).
    """
    formula = to_excel(text if text.startswith(("of:", "oooc:", "msoxl:", "=")) else "=" + text)
    return _from_base(formula[1:], base)


def range_to_excel(address: str, base: str | None = None) -> str:
    """A named range's ``table:cell-range-address`` (``$Neuron.$B$11``) as ``Neuron!$B$11``."""
    return _from_base(reference(address), base)


def _from_base(text: str, base: str | None) -> str:
    if not base:
        return text
    try:
        point = _split_address(base.strip())[1]
        row, column = a1.split(point)
    except (FormulaError, ValueError):
        return text
    return shift(text, 1 - row, 1 - column, wrap=True)
