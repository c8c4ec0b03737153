"""Formula text compiled once into what the evaluator calls: the ``formulas`` engine's parser
and functions, with what Excel, LibreOffice and Google Sheets write around them.

:func:`compile_formula` turns ``"=B2*C2+D2"`` into a :class:`Compiled`: its inputs as the
engine names them, the function to call, or the :class:`Problem` that keeps it from being
computed (vetted first by ``hazards``). It also notes what only the workbook can settle at
evaluation: names called as functions (a LAMBDA kept in a defined name), and whole rows or
columns Excel reads as the one cell in the formula's own row or column (implicit
intersection). Compiling is pure and remembered per text and per shape.
"""

from __future__ import annotations

import dataclasses
import functools
import operator
import re
import sys
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from .. import a1
from .function_table import functions_bare
from .hazards import HAZARD_DESCRIPTIONS, hazards_of_shape

__all__ = [
    "ENGINE_LIMITS",
    "WORDS",
    "Compiled",
    "Form",
    "FormulaCache",
    "Problem",
    "compile_afresh",
    "compile_by_shape",
    "compile_formula",
    "functions_bare",
    "tokenable",
    "tokens",
]


ENGINE_LIMITS = frozenset({"unsupported", "external", "syntax", "depends"})
"""Problem kinds that are sheetgen's limit, not the learner's mistake: a function Excel or
LibreOffice knows that the engine cannot compute (``unsupported``), another workbook or a
function never evaluated for safety (``external``, ``unsupported``), text the engine's parser
cannot read although an application wrote it (``syntax``), and a cell that reads one of those
(``depends``). Such a cell takes the value the learner's application saved, when it is a number
(:attr:`Evaluator.saved`); it is never called wrong for sheetgen's own limit."""


_T = TypeVar("_T")


@dataclass(frozen=True)
class Problem:
    """Why a cell could not be evaluated faithfully.

    ``kind``: one of :data:`ENGINE_LIMITS`, or the learner's own mistake: ``unknown`` (a
    function no application knows: Excel and LibreOffice show #NAME? too), ``reference`` (a
    name or sheet the workbook does not have), ``circular``.
    """

    kind: str
    message: str
    detail: str = ""  # "circular": the cycle, as "E2 → I2 → H2 → F2 → E2"; "unknown": the name

    @property
    def engine_limit(self) -> bool:
        """Whether sheetgen could not compute the cell although the application can."""
        return self.kind in ENGINE_LIMITS


@dataclass(frozen=True, slots=True)
class Form:
    """What the formulas of one shape share (``=B5*C5+D5``, ``=B6*C6+D6``...): all of a
    :class:`Compiled` but its inputs."""

    function: Callable[..., Any] | None
    problem: Problem | None = None
    # Whole-row or whole-column inputs (E:E, 2:2) Excel reads as the one cell in the formula's
    # row or column (implicit intersection): under ``@`` (``_xlfn.SINGLE``) always, and where
    # only element-wise functions and operators take them in a formula stored without the
    # dynamic-array flag (not an array formula): ``=TANH(E:E)`` in F2 is ``TANH(E2)``.
    always: frozenset[str] = frozenset()
    legacy: frozenset[str] = frozenset()
    # Inputs that are names called as functions (``=MYTANH(E2)``): a LAMBDA the workbook keeps
    # in a defined name, or a typo. The evaluator resolves them by the workbook's names.
    calls: frozenset[str] = frozenset()
    # Where each input is among a formula's words (``tokens``) when every input is one of its
    # cells: picks them out of any formula of this shape (see :meth:`inputs_in`).
    picks: Callable[[list[str]], Sequence[str]] | None = None
    # Whether every input is one of the formula's cells (``B5``, as ``a1.shape`` finds them;
    # no defined name, range or spill): then it reads those cells of its own sheet alone.
    cells: bool = False

    def inputs_in(self, text: str) -> Sequence[str] | None:
        """The inputs of ``text``, a formula of this shape, as :func:`compile_formula` names
        them, read off its words without a parse (a few microseconds in C for a network's
        161-input sum); None where they cannot be (no picks, or text not :func:`tokenable`).

        So an evaluator need not keep each formula's compilation once its value is computed:
        the formula text, which the workbook keeps anyway, says again what it reads.
        """
        if self.picks is None or not tokenable(text):
            return None
        return self.picks(tokens(text))


@dataclass(frozen=True, slots=True)
class Compiled:
    """A formula compiled once: its input references (as the engine names them) and, shared
    with the formulas of its shape, its function and what else the evaluator needs (``form``).

    One per distinct formula text (a large network has 85,000): two slots each, the form
    held once for all the formulas of a shape.
    """

    inputs: tuple[str, ...]
    form: Form

    @classmethod
    def failed(cls, problem: Problem) -> Compiled:
        """A formula that is never computed, and why."""
        return cls((), Form(None, problem))

    def renamed(self, inputs: tuple[str, ...]) -> Compiled:
        """This formula with other inputs: another formula of the same shape.

        Made as ``__init__`` makes it, without its two ``object.__setattr__`` calls through
        the frozen class (one per distinct formula text: 85,000 in a large network).
        """
        other = _new(Compiled)
        _set_inputs(other, inputs)
        _set_form(other, self.form)
        return other

    @property
    def function(self) -> Callable[..., Any] | None:
        return self.form.function

    @property
    def problem(self) -> Problem | None:
        return self.form.problem

    @property
    def always(self) -> frozenset[str]:
        return self.form.always

    @property
    def legacy(self) -> frozenset[str]:
        return self.form.legacy

    @property
    def calls(self) -> frozenset[str]:
        return self.form.calls


_new = object.__new__
_set_inputs = cast(Any, Compiled.__dict__["inputs"]).__set__  # the slots' own setters
_set_form = cast(Any, Compiled.__dict__["form"]).__set__


@functools.lru_cache(maxsize=4096)
def compile_formula(text: str) -> Compiled:
    """:func:`compile_afresh`, the last 4,096 texts remembered: a small book's checks and a
    class's hand-outs ask the same texts again."""
    return compile_afresh(text)


def compile_afresh(text: str) -> Compiled:
    """Compile ``text`` (``"=B2*C2+D2"``), sharing the work among formulas of the same shape.

    A generated sheet repeats a handful of shapes thousands of times (``=B5*C5+D5``,
    ``=B6*C6+D6``...) and compiling costs milliseconds, so single-cell references are renamed
    to placeholders in order of appearance, the shape is vetted and compiled once, and the
    placeholders are mapped back to this formula's cells. Formulas with ranges, sheet names,
    strings or external links are vetted and compiled as written. (Renaming cells cannot
    hide or make a hazard: those need a function name, ``|``, or the characters that send a
    formula down the second path.)

    Finding the shape is itself a regular expression's pass over the text, the dearer part of
    compiling a large network's 85,000 long sums: a formula whose text, its digits aside, is
    that of one compiled before (a row further down) is first tried against that one's
    shape (:class:`_Pattern`), checked word by word, in C.
    """
    key = _skeleton(text) if tokenable(text) else None
    if key is not None:
        known = _PATTERNS.get(key)
        if known is not None and (found := known.compiled(text)) is not None:
            return found
    shape, cells = a1.shape(text)
    if cells and key is not None:
        if len(_PATTERNS) >= _MOST_PATTERNS:
            _PATTERNS.clear()
        _PATTERNS[key] = _Pattern(shape)
    return _shaped(shape, cells) if cells else _vetted(text)


def compile_by_shape(text: str) -> Compiled:
    """What :func:`compile_formula` gives ``text``, by its shape from ``a1.shape`` always:
    the general way, which its patterns' shortcut must match (tests hold them equal)."""
    shape, cells = a1.shape(text)
    return _shaped(shape, cells) if cells else _vetted(text)


def _shaped(shape: str, cells: Mapping[str, str]) -> Compiled:
    """The formula of ``shape`` whose placeholders stand for ``cells`` (see ``a1.shape``)."""
    compiled, picks, most = _vetted_shape(shape)
    if picks is not None and most < len(cells):  # each input one of the cells: by position
        named = list(cells)
        inputs = tuple([named[k] for k in picks])
    else:
        back = dict(zip(cells.values(), cells, strict=True))
        inputs = tuple([_renamed(n, back) for n in compiled.inputs])
    return compiled.renamed(inputs)


def _skeleton(text: str) -> bytes:
    """``text`` without its digits: the formulas of a shape down a sheet's rows mostly share
    theirs (``=B5*C5+D5``, ``=B6*C6+D6``: ``=B*C+D``), so it finds their :class:`_Pattern`."""
    return text.encode().translate(None, b"0123456789")


class _Pattern:
    """A shape's text between its cells and where its cells are among its words: what
    compiles another formula of that shape without ``a1.shape``'s regular expression (a
    split in C, but a large network's 85,000 formulas, 12 MB of text, spent a fifth of its
    verify there). Only for :func:`tokenable` text, whose cells are words."""

    __slots__ = ("count", "made", "order", "parts", "pick", "picks", "shape")

    def __init__(self, shape: str) -> None:
        """The pattern of ``shape``, which has a cell (as ``a1.shape`` made it)."""
        pieces = a1.CELL_IN_FORMULA.split(shape)  # text, letters, digits, text, ...
        places, order, word = [], [], 0
        parts: list[str | None] = []
        for k in range(0, len(pieces) - 1, 3):
            word += len(tokens(pieces[k]))
            places.append(word)
            order.append(int(pieces[k + 2]) - 1)  # A1 -> 0: placeholders are in order
            parts += (pieces[k], None)
            word += 1
        parts.append(pieces[-1])
        self.shape = shape
        self.parts = parts  # text, None, text, None, ..., text: a None where each cell goes
        self.pick = _picker(places)  # a formula's cells, one per place, from its words
        self.count = max(order) + 1  # how many distinct cells
        self.order = None if self.count == len(order) else order  # when a cell repeats
        self.made = _vetted_shape(shape)[0]  # the shape compiled
        self.picks = self.made.form.picks  # a formula's inputs from its words, if they can be

    def compiled(self, text: str) -> Compiled | None:
        """``compile_formula(text)`` when ``text`` is a formula of this shape, else None."""
        words = tokens(text)
        try:
            found = self.pick(words)
        except IndexError:  # fewer words: another shape
            return None
        parts = self.parts.copy()
        parts[1::2] = found
        # The same text around each place and a cell in each (words are upper case, so a
        # cell written in lower case is not found here): what a1.shape would split it into.
        if "".join(cast(list[str], parts)) != text or _CELLS.fullmatch(" ".join(found)) is None:
            return None
        if self.order is None and self.picks is not None:
            if len(set(found)) != self.count:  # a cell read twice: another shape
                return None
            # Each input one of the cells (interned, as a1.shape's: a network's names recur).
            return self.made.renamed(tuple(map(sys.intern, self.picks(words))))
        refs = list(map(sys.intern, found))
        distinct = dict.fromkeys(refs)
        if len(distinct) != self.count:
            return None
        if self.order is not None:
            first = {ref: k for k, ref in enumerate(distinct)}
            if list(map(first.__getitem__, refs)) != self.order:
                return None
        return _shaped(self.shape, dict(zip(distinct, a1.placeholders(self.count), strict=False)))


def _picker(places: Sequence[int]) -> Callable[[list[str]], Sequence[str]]:
    """The words at ``places``, as a sequence however many."""
    if len(places) == 1:
        only = places[0]
        return lambda words: (words[only],)
    return operator.itemgetter(*places)


_PATTERNS: dict[bytes, _Pattern] = {}
"""Each skeleton's pattern (see :func:`_skeleton`), the last one met kept."""
_MOST_PATTERNS = 4096
_CELLS = re.compile(r"[A-Z]{1,3}[0-9]+(?: [A-Z]{1,3}[0-9]+)*")
"""Cells as ``a1.shape`` finds them in upper-case, ``$``-free text, one space between."""


class FormulaCache:
    """Each formula text's compilation, kept as long as its owner keeps this object.

    ``compile_formula``'s own cache is small (a sheet with more distinct formulas than it
    holds would compile each again for its dependencies, its value and every what-if; a
    large one kept per process would hold a network's 85,000 formulas after its check), so
    an evaluator keeps what it compiled here. By default each book has its own; the submissions
    of one hand-out share their formulas, so a ``grade`` run, or a server worker, makes one
    and hands it to every book it checks (``verify_workbook(formulas=...)``). Compiling is pure,
    so sharing changes no verdict. Within a book nothing is dropped; between books
    (:meth:`next_book`), past ``keep`` texts it starts afresh, so that a long run or a
    long-lived worker meeting large sheets of other hand-outs holds one or two books' worth.

    It also keeps what an evaluator works out from a book's structure alone (:meth:`shared`,
    by a key that holds all of that structure): books of one hand-out share it too. At most
    ``plans`` of those are kept.
    """

    __slots__ = ("_compiled", "_shared", "keep", "plans")

    def __init__(self, keep: int = 50_000, plans: int = 16) -> None:
        self._compiled: dict[str, Compiled] = {}
        self._shared: dict[Hashable, Any] = {}
        self.keep = keep
        self.plans = plans

    def __len__(self) -> int:
        return len(self._compiled)

    def compiled(self, text: str) -> Compiled:
        """``compile_formula(text)``, remembered."""
        found = self._compiled.get(text)
        if found is None:
            found = self._compiled[text] = compile_formula(text)
        return found

    def shared(self, key: Hashable, make: Callable[[], _T]) -> _T:
        """What ``make()`` built for ``key`` before, or builds now (``key`` must name
        everything the result depends on)."""
        found = self._shared.get(key)
        if found is None:
            if len(self._shared) >= self.plans:
                self._shared.clear()
            found = self._shared[key] = make()
        return cast(_T, found)

    def next_book(self) -> None:
        """Another book is about to be checked: forget everything past ``keep`` texts."""
        if len(self._compiled) > self.keep:
            self._compiled.clear()
            self._shared.clear()


@functools.lru_cache(maxsize=4096)
def _vetted_shape(shape: str) -> tuple[Compiled, tuple[int, ...] | None, int]:
    """``_vetted(shape)``, with where each of its inputs is among the shape's placeholders
    (``A1`` is the first cell, ``A2`` the second...), or None when one input is something else
    (a spill ``A1#``, a name): mapping a formula's cells back is then a pick by position.
    The last: the highest position picked (-1 for none). Its form tells where each input is
    among the words of a formula of this shape (``Form.picks``)."""
    compiled = _vetted(shape)
    cells = all(_PLACEHOLDER.fullmatch(name) for name in compiled.inputs)
    if compiled.form.function is not None:
        reader = _word_picks(shape, compiled.inputs) if tokenable(shape) else None
        form = dataclasses.replace(compiled.form, picks=reader, cells=cells)
        compiled = Compiled(compiled.inputs, form)
    if not cells:
        return compiled, None, -1
    picks = tuple(int(name[1:]) - 1 for name in compiled.inputs)
    return compiled, picks, max(picks, default=-1)


# A formula's words: its runs of letters, digits and ``_``, in upper case (every other ASCII
# character parts them). A cell reference is one word: the character before it and the one
# after it part words (``a1.CELL_IN_FORMULA``), ``$`` aside, which is why a formula holding
# one is not read this way; nor one with a character past ASCII (``\w`` is Unicode's there).
# A table of bytes (``bytes.translate``), which is faster than ``str.translate``'s.
WORDS = bytes(
    c - 32 if 97 <= c <= 122 else c if c > 127 or chr(c).isalnum() or c == 95 else 32
    for c in range(256)
)


def tokens(text: str) -> list[str]:
    """``text``'s words (see ``WORDS``)."""
    return text.encode().translate(WORDS).decode().split()


def tokenable(text: str) -> bool:
    """Whether each cell reference in ``text`` is one of its :func:`tokens`, as the cell's name."""
    return text.isascii() and "$" not in text


def _word_picks(shape: str, inputs: Sequence[str]) -> Callable[[list[str]], Sequence[str]] | None:
    """What picks ``inputs`` of ``shape`` out of the words of a formula of that shape (None
    if one is a spill, ``A1#``): a placeholder (a cell) by its first place, counted in words,
    a name (``Tiny``) as it is. The words between references are the same in every formula
    of the shape, so the places are too."""
    parts = a1.CELL_IN_FORMULA.split(shape)
    first: dict[str, int] = {}
    word = 0
    for k in range(0, len(parts) - 1, 3):
        word += len(tokens(parts[k]))
        first.setdefault((parts[k + 1] + parts[k + 2]).upper(), word)
        word += 1
    places = [first.get(name) for name in inputs]
    for name, place in zip(inputs, places, strict=True):
        if place is None and (name.endswith("#") or _PLACEHOLDER.fullmatch(name)):
            return None
    if None not in places:
        if len(places) == 1:
            only = cast(int, places[0])
            return lambda words: (words[only],)
        return operator.itemgetter(*places)
    spec = tuple(zip(places, inputs, strict=True))
    return lambda words: tuple([name if at is None else words[at] for at, name in spec])


_PLACEHOLDER = re.compile(r"A[1-9][0-9]*")


def _renamed(name: str, back: Mapping[str, str]) -> str:
    """An input of a compiled shape named as this formula's cell (``A1#``: ``A1``'s spill)."""
    if name.endswith("#"):
        return back.get(name[:-1], name[:-1]) + "#"
    return back.get(name, name)


@functools.lru_cache(maxsize=4096)
def _vetted(text: str) -> Compiled:
    """``text`` compiled, unless it could reach outside the workbook or build references."""
    hazards = hazards_of_shape(text)  # a shape already: no second normalisation
    if hazards:  # never evaluated
        kind = "external" if hazards[0] in ("external-reference", "dde") else "unsupported"
        what = "; ".join(HAZARD_DESCRIPTIONS[h] for h in hazards)
        return Compiled.failed(Problem(kind, f"was not evaluated: it {what}"))
    return _compile_text(text)


@functools.lru_cache(maxsize=4096)
def _compile_text(text: str) -> Compiled:
    """Parse and compile ``text`` once; identical texts share the result."""
    import formulas
    from formulas.tokens.function import Function, Lambda

    from . import function_table as functions
    from .replay import straighten

    functions.prepare()  # the engine's function modules, scipy deferred until a function needs it
    from formulas.functions import get_functions, not_implemented

    text = _ARRAYFORMULA.sub("(", text) if "ARRAYFORMULA" in text.upper() else text
    try:
        # As a cell's formula (``is_cell``): a name the engine does not know as a function is
        # parsed as a call of what that name holds, an input like a cell (``func_token``).
        tokens, ast = formulas.Parser(is_cell=True).ast(text)
    except MemoryError:  # not the text's fault: a failure would be remembered for the text
        raise
    except Exception:  # the parser raises several unrelated types
        return Compiled.failed(_unreadable(text))
    known = get_functions()  # a defaultdict: parsing inserts unknown names as not_implemented
    calls = set()
    for token in tokens:
        if isinstance(token, Lambda) and token.attr.get("call"):  # LAMBDA(x, ...)(E2)
            return Compiled.failed(_INLINE_LAMBDA)
        if isinstance(token, Function) and not _computes(token.name, known, not_implemented):
            problem = _function_problem(token.name)
            called = token.attr.get("func_token")
            if problem.kind != "unknown" or called is None:
                return Compiled.failed(problem)
            calls.add(called.name)
    try:
        fn = ast.compile()
    except MemoryError:
        raise
    except Exception as exc:
        return Compiled.failed(Problem("syntax", f"could not be compiled ({exc})"))
    always, legacy = _intersected(tokens, known, not_implemented)
    # The same functions called directly, without schedula's per-call bookkeeping.
    form = Form(straighten(fn) or fn, None, always, legacy, frozenset(calls))
    return Compiled(tuple(fn.inputs), form)


_WHOLE = re.compile(r"(?:.*!)?(?:\$?[A-Z]{1,3}:\$?[A-Z]{1,3}|\$?\d+:\$?\d+)", re.IGNORECASE)


def _intersected(
    tokens: Sequence[Any], known: Mapping[str, object], missing: object
) -> tuple[frozenset[str], frozenset[str]]:
    """The whole-row or whole-column inputs Excel intersects with the formula's own row or
    column (``Compiled.always`` and ``Compiled.legacy``), from the parser's tokens.

    A function takes a value where the engine computes it element by element (its table entry
    ends in a numpy ufunc: TANH, EXP, LN, ABS...); operators and grouping parentheses too. Any
    other function (SUMIF, INDEX, SUM, VLOOKUP...) takes the range itself.
    """
    from formulas.tokens.function import Function
    from formulas.tokens.operand import Range
    from formulas.tokens.parenthesis import Parenthesis

    stack: list[str] = []  # what each open parenthesis belongs to
    pending = "group"
    always: set[str] = set()
    legacy: set[str] = set()
    whole: set[str] = set()
    for token in tokens:
        if isinstance(token, Function):
            pending = _takes(token.name, known, missing)
        elif isinstance(token, Parenthesis):
            if token.name == "(":
                stack.append(pending)
            elif stack:
                stack.pop()
            pending = "group"
        elif isinstance(token, Range) and _WHOLE.fullmatch(token.name):
            whole.add(token.name)
            kinds = [k for k in stack if k != "group"]
            if (kinds and kinds[-1] == "single") or ("single" in kinds and "range" not in kinds):
                always.add(token.name)
            elif "range" not in kinds:
                legacy.add(token.name)
    if not whole:
        return frozenset(), frozenset()
    # A name read both ways (E:E in TANH and in SUM) is read whole: it is one input.
    elsewhere = {n for n in whole if n not in always and n not in legacy}
    return frozenset(always - elsewhere - legacy), frozenset(legacy - elsewhere)


def _takes(name: str, known: Mapping[str, object], missing: object) -> str:
    """What the function ``name`` takes: ``single`` (``@``), ``value`` (element-wise), or
    ``range``."""
    import numpy as np

    bare = functions_bare(name.upper())
    if bare == "SINGLE":
        return "single"
    entry = known.get(name.upper(), known.get(bare, missing))
    function = entry.get("function") if isinstance(entry, dict) else entry
    for _ in range(8):  # the engine's wrappers, down to what they wrap
        if isinstance(function, np.ufunc):
            return "value"
        function = getattr(function, "__wrapped__", None)
        if function is None:
            break
    return "range"


# Google Sheets' ARRAYFORMULA(x) is x computed as an array, which an array formula is (Sheets
# exports it as one); outside string literals only (their "" escapes keep the quotes paired).
_ARRAYFORMULA = re.compile(r'(?<![\w.])ARRAYFORMULA\s*\((?=(?:[^"]*"[^"]*")*[^"]*$)', re.IGNORECASE)


# A table's structured reference: Table1[Col], Table1[@Col], Table1[[#This Row],[Col]], [@Col].
_STRUCTURED = re.compile(r"(?:[A-Za-z_\\][\w.]*|(?<![\w\]]))\[(?:@|#|\[|[^\]\d!][^\]]*\])")
_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"")


def _unreadable(text: str) -> Problem:
    """Why the parser refused ``text``, in words: a reference to an Excel table by its column
    names (which Excel computes, and the engine, having no tables, cannot), else that it is no
    formula the engine reads (the parser's own error is a tuple of its template and the text)."""
    bare = _QUOTED.sub(lambda m: " " * len(m.group()), text)  # a sheet's or a text's brackets
    found = _STRUCTURED.search(bare)
    if found is None:
        return Problem("syntax", "is not a formula the engine can read")
    depth = 0
    for end in range(bare.index("[", found.start()), len(bare)):  # to the first one's close
        depth += {"[": 1, "]": -1}.get(bare[end], 0)
        if depth == 0:
            break
    return Problem(
        "syntax",
        f"refers to a table by its column names ({text[found.start() : end + 1]}), which Excel "
        "computes and the formulas engine cannot",
    )


# formulas 1.3 parses a LAMBDA called where it is written but computes #VALUE! for it; Excel
# computes it. One kept in a defined name and called by that name is computed.
_INLINE_LAMBDA = Problem(
    "unsupported",
    "calls a LAMBDA where it is written, which the formulas engine cannot compute "
    "(one kept in a defined name and called by name, it can)",
)


def _computes(name: str, known: Mapping[str, object], missing: object) -> bool:
    """Whether the engine computes the function ``name`` as Excel writes it (``_xlfn.X``...).

    Not ``name in known``: the engine's table is a defaultdict that compiling an unknown name
    has already filled with its ``not_implemented`` placeholder. LET and LAMBDA are the
    parser's own (it binds their names itself), never in the table. Google Sheets' export of a
    function only Sheets has, ``__xludf.DUMMYFUNCTION("...")``, is in it, as #NAME?: only
    Sheets computes it.
    """
    upper = name.upper()
    if upper.startswith("__XLUDF."):
        return False
    bare = functions_bare(upper)
    if bare in ("LET", "LAMBDA"):
        return True
    return any(known.get(n, missing) is not missing for n in (upper, bare))


def _function_problem(name: str) -> Problem:
    """Why a formula calling ``name`` is not computed: the engine's limit when Excel, LibreOffice
    or Google Sheets know the function, the learner's mistake (#NAME? everywhere) when not."""
    from .function_table import known_to_applications

    bare = functions_bare(name.upper())
    if bare == "__XLUDF.DUMMYFUNCTION":
        return Problem(
            "unsupported", "uses a Google Sheets function that only Google Sheets computes"
        )
    if known_to_applications(name):
        return Problem(
            "unsupported",
            f"uses {bare}, a function Excel or LibreOffice knows but the formulas engine "
            "cannot compute",
        )
    return Problem("unknown", f"uses {bare}, a function no spreadsheet application knows", bare)
