"""Layout descriptions: where each number of a sheet lives and what it must equal.

A layout is read from one TOML file in ``templates/`` and is the single source of every cell
address: the builder writes from it and the verifier checks against it. Formulas in a
template name cells by quantity (``{net}``, or ``{.net}`` for the cell's own row prefix);
:func:`load_layout` resolves them to A1 addresses once, so a layout can be rearranged by
editing the template alone. ``[[tables]]`` repeat a row of formulas and ``[[charts]]``
draw scatter charts from ranges named by quantity (``"{a}:{b}"``); cells marked
``decoration`` (such as a chart's data) are drawn for the reader and never verified.
"""

from __future__ import annotations

import functools
import operator
import os
import re
import sys
import threading
import tomllib
import weakref
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, NamedTuple, TypeVar, overload

from .. import a1
from ..errors import TemplateError, UsageError
from ..maths.neuron import kind_of
from .packed import Packed, described_fields

CellKind = Literal["text", "input", "constant", "formula"]
_T = TypeVar("_T")

TEMPLATE_REF = re.compile(r"\{(\.?[A-Za-z_][\w.]*)\}")


class Tail(NamedTuple):
    """The fields of a cell that cells alike share (``CellSpec._rest``: one tuple for all of
    them), and what they make of them (``checked``), read by ``CellSpec``'s properties in C
    (``attrgetter("_rest.kind")``): the verifier reads a large sheet's cells' kinds 100,000s
    of times, and a Python function a read cost 1,000 instructions. Made by :func:`tail`."""

    kind: CellKind
    text: str | None
    value: float | None
    note: str | None
    style: str | None
    format: str | None
    decoration: bool
    source: str | None
    leaf: str | None  # a repeated row's cells': the end of their quantities (Resolver.row_tail)
    checked: bool


def tail(
    kind: CellKind,
    text: str | None = None,
    value: float | None = None,
    note: str | None = None,
    style: str | None = None,
    format: str | None = None,
    decoration: bool = False,
    source: str | None = None,
    leaf: str | None = None,
) -> Tail:
    """The :class:`Tail` of these fields; ``checked`` as :attr:`CellSpec.checked` says."""
    checked = kind in ("constant", "formula") and not decoration
    return Tail(kind, text, value, note, style, format, decoration, source, leaf, checked)


def _field(name: str, doc: str | None = None) -> Any:
    """A read-only property of a cell, its tail's field ``name`` read in C."""
    return property(operator.attrgetter(f"_rest.{name}"), doc=doc)


class CellSpec(Packed):
    """One cell of a layout.

    ``kind`` says what the builder writes and what the verifier expects: ``text`` (a label),
    ``input`` (a parameter the learner may change), ``constant`` (a number that must equal
    ``quantity``) or ``formula`` (a live formula that must equal ``quantity``).

    A frozen dataclass to its users (``sheetgen.layouts.packed``): one per cell, and a large
    network has 100,000, so the fields most cells leave alike (kind, text, value, note, style,
    format, decoration, source) are one :class:`Tail` that those cells share; four slots, not
    five, make each cell 64 bytes, not 80 (pymalloc's blocks are multiples of 16).
    """

    __slots__ = ("_rest", "at", "formula", "quantity")
    FIELDS = (
        "at",
        "kind",
        "quantity",
        "text",
        "value",
        "formula",
        "source",
        "note",
        "style",
        "format",
        "decoration",
    )
    _rest: Tail
    if TYPE_CHECKING:  # slots of their own and the tail's fields, read-only as a frozen
        # dataclass's fields

        @property
        def at(self) -> str: ...

        @property
        def quantity(self) -> str | None: ...

        @property
        def formula(self) -> str | None: ...

        @property
        def kind(self) -> CellKind: ...

        @property
        def text(self) -> str | None: ...

        @property
        def value(self) -> float | None: ...

        @property
        def note(self) -> str | None: ...

        @property
        def style(self) -> str | None: ...

        @property
        def format(self) -> str | None:
            """The number format shown; the cell keeps full precision."""

        @property
        def decoration(self) -> bool:
            """Drawn for the reader (a chart's data), never verified."""

        @property
        def source(self) -> str | None:
            """The formula as the template writes it, with {quantity} refs; None where the
            formula and the layout's addresses say it (``Layout.source``): a network's faux
            rows are 1 KB each."""

        @property
        def checked(self) -> bool:
            """Whether the verifier compares this cell with the reference."""

    else:
        kind = _field("kind")
        text = _field("text")
        value = _field("value")
        note = _field("note")
        style = _field("style")
        format = _field("format", "The number format shown; the cell keeps full precision.")
        decoration = _field("decoration", "Drawn for the reader (a chart's data), never verified.")
        source = _field(
            "source",
            "The formula as the template writes it, with {quantity} refs; None where the "
            "formula and the layout's addresses say it (``Layout.source``).",
        )
        checked = _field("checked", "Whether the verifier compares this cell with the reference.")

    def __init__(
        self,
        at: str,
        kind: CellKind,
        quantity: str | None = None,
        text: str | None = None,
        value: float | None = None,
        formula: str | None = None,
        source: str | None = None,
        note: str | None = None,
        style: str | None = None,
        format: str | None = None,  # the number format shown; the cell keeps full precision
        decoration: bool = False,  # drawn for the reader (a chart's data), never verified
    ) -> None:
        rest = tail(kind, text, value, note, style, format, decoration, source)
        _set_cell(self, at, quantity, formula, _PLAIN.get(rest, rest))

    @property
    def repeats_a_parameter(self) -> bool:
        """Whether the template's formula only repeats a parameter (``={input}``, ``={target}``).

        The article's sheet types such a copy as a number; the verifier accepts that.
        """
        return repeats_a_parameter(self.source or "")


CellSpec.__dataclass_fields__ = described_fields(
    "CellSpec",
    {
        "at": "str",
        "kind": "CellKind",
        "quantity": "str | None",
        "text": "str | None",
        "value": "float | None",
        "formula": "str | None",
        "source": "str | None",
        "note": "str | None",
        "style": "str | None",
        "format": "str | None",
        "decoration": "bool",
    },
    {
        "quantity": None,
        "text": None,
        "value": None,
        "formula": None,
        "source": None,
        "note": None,
        "style": None,
        "format": None,
        "decoration": False,
    },
)
_SLOT_SETTERS = tuple(
    CellSpec.__dict__[name].__set__ for name in ("at", "quantity", "formula", "_rest")
)


def _set_cell(
    cell: CellSpec, at: str, quantity: str | None, formula: str | None, rest: Tail
) -> None:
    """Each slot of ``cell`` set through its descriptor (the class refuses assignment)."""
    put_at, put_quantity, put_formula, put_rest = _SLOT_SETTERS
    put_at(cell, at)
    put_quantity(cell, quantity)
    put_formula(cell, formula)
    put_rest(cell, rest)


_PLAIN: dict[Tail, Tail] = {
    rest: rest for kind in ("text", "input", "constant", "formula") for rest in [tail(kind)]
}
"""The shared tail of a cell with nothing but its kind (most cells of a large sheet)."""
_FORMULA = _PLAIN[tail("formula")]


def repeats_a_parameter(source: str) -> bool:
    """Whether a template of one reference only repeats a parameter (``={input}``): such a
    cell keeps its template, whoever writes it (:attr:`CellSpec.repeats_a_parameter` reads it)."""
    src = source.strip()
    return src.startswith("={") and src.endswith("}") and kind_of(src[2:-1]) == "parameter"


@dataclass(frozen=True)
class SeriesSpec:
    """One line of a chart: ``x`` and ``y`` are A1 ranges (or single cells) of the sheet."""

    title: str
    x: str
    y: str
    line: bool = True  # join the points
    dash: bool = False  # a dashed line, for an approximation drawn over the real thing
    marker: str | None = None  # "circle", "diamond", "x", ... or None for no markers
    marker_size: int = 7
    smooth: bool = False


@dataclass(frozen=True)
class ChartSpec:
    """A scatter chart drawn from live cells, so it moves when the learner edits an input."""

    title: str
    anchor: str  # the cell the chart's top-left corner sits on
    series: tuple[SeriesSpec, ...]
    x_title: str = ""
    y_title: str = ""
    width: float = 16.0  # centimetres
    height: float = 9.0
    span_blanks: bool = False  # join the points across empty cells (rows between the points)
    x_format: str = "0.00"  # the x axis' numbers ("0" for step numbers)
    # The anchor's row holds no cell and is made as tall as the chart: a chart seen on
    # opening, above a table of any length, that covers no cell and moves none.
    own_row: bool = False


@dataclass(frozen=True)
class Layout:
    """A whole sheet: its cells plus the facts the builder and verifier share."""

    name: str
    title: str
    sheet: str
    description: str
    cells: tuple[CellSpec, ...]
    names: Mapping[str, str] = field(default_factory=dict)  # defined name -> address
    defaults: Mapping[str, float] = field(default_factory=dict)
    settings: Mapping[str, str] = field(default_factory=dict)  # model, activation, loss, ...
    freeze: str | None = None  # the first cell that scrolls (frozen headers above and left)
    spec: str = ""  # what `resolve_layout` rebuilds this layout from; stored in built workbooks
    charts: tuple[ChartSpec, ...] = ()
    moved: Mapping[str, str] = field(default_factory=dict)
    """For a layout found elsewhere on a sheet (``relocated``): built address -> current one."""

    def current(self, at: str) -> str:
        """Where the cell the builder put at ``at`` is now (``at`` itself unless moved)."""
        return self.moved.get(at, at)

    def __iter__(self) -> Iterator[CellSpec]:
        return iter(self.cells)

    def quantity_at(self) -> dict[str, str]:
        """Each cell's quantity by its address (made when asked: a large network's is 5 MB)."""
        return {c.at: c.quantity for c in self.cells if c.quantity is not None}

    def source(self, cell: CellSpec, quantity_at: Mapping[str, str] | None = None) -> str | None:
        """``cell``'s formula as the template writes it (``={h1_1.net}*{w2_1_1}``).

        A cell keeps its template's text only where its formula and the layout's addresses do
        not say it (see :func:`_said`); otherwise it is the formula with each address named by
        its quantity: by ``quantity_at`` (:meth:`quantity_at`) where given, else by
        :attr:`by_address` (made once, kept with the layout).
        """
        if cell.source is not None or cell.formula is None:
            return cell.source
        named = quantity_at.__getitem__ if quantity_at is not None else self._quantity_named
        parts = ADDRESSES.split(cell.formula)
        parts[1::2] = [f"{{{q}}}" for q in map(named, parts[1::2])]
        return "".join(parts)

    def _quantity_named(self, at: str) -> str:
        """The quantity of the cell at ``at``, by :attr:`by_address`; a KeyError for an
        address that holds none (as :meth:`quantity_at`'s)."""
        quantity = self.by_address[at].quantity
        if quantity is None:
            raise KeyError(at)
        return quantity

    @property
    def by_quantity(self) -> dict[str, CellSpec]:
        return {c.quantity: c for c in self.cells if c.quantity is not None}

    # Worked out once per layout (a frozen dataclass: these never change), as every workbook
    # checked against it asks for them.
    @functools.cached_property
    def inputs(self) -> tuple[CellSpec, ...]:
        """The parameters the verifier reads (a decoration's own inputs are not among them)."""
        return tuple(c for c in self.cells if c.kind == "input" and not c.decoration)

    @functools.cached_property
    def checked(self) -> tuple[CellSpec, ...]:
        return tuple(c for c in self.cells if c.checked)

    @functools.cached_property
    def labels(self) -> tuple[CellSpec, ...]:
        """The headers and labels that identify the sheet (decorations' are not required)."""
        return tuple(c for c in self.cells if c.kind == "text" and not c.decoration)

    @functools.cached_property
    def by_address(self) -> CellsByAddress:
        """Each cell by its address, one index for every check that looks cells up by
        address (the diagnosis, its suspects and hints, the typed numbers), shared by every
        workbook checked against the layout; its dict is made on the first lookup, which the
        check of a right sheet seldom makes (it looks cells up for wrong verdicts, and for
        the suspects only where many cells are asked about): an 80-80-1 network's is 5.8 MB."""
        return CellsByAddress(self.cells)


class CellsByAddress(Mapping[str, CellSpec]):
    """A layout's cells by address (:attr:`Layout.by_address`), indexed on the first lookup.

    ``index`` is the dict itself, for a caller that looks up many cells in a loop (a
    method call each would be slower than the dict's own).
    """

    __slots__ = ("_cells", "_index")

    def __init__(self, cells: tuple[CellSpec, ...]) -> None:
        self._cells = cells
        self._index: dict[str, CellSpec] | None = None

    @property
    def index(self) -> dict[str, CellSpec]:
        """The cells by address, made now if not yet (read-only: the layout's own)."""
        if self._index is None:
            self._index = {c.at: c for c in self._cells}
        return self._index

    @property
    def indexed(self) -> bool:
        """Whether the index has been made (a lookup asked for it)."""
        return self._index is not None

    def __getitem__(self, at: str) -> CellSpec:
        return self.index[at]

    @overload
    def get(self, at: str, /) -> CellSpec | None: ...
    @overload
    def get(self, at: str, default: CellSpec | _T, /) -> CellSpec | _T: ...
    def get(self, at: str, default: Any = None) -> Any:  # the dict's own, not the mixin's
        return self.index.get(at, default)

    def __contains__(self, at: object) -> bool:
        return at in self.index

    def __iter__(self) -> Iterator[str]:
        return iter(self.index)

    def __len__(self) -> int:
        return len(self.index)


LayoutFamily = Callable[[Mapping[str, str]], Layout]


def generated_family(
    family: str, known: tuple[str, ...]
) -> Callable[[Callable[[dict[str, str]], Layout]], LayoutFamily]:
    """Decorate a family's generator: unknown options are refused in one sentence, not
    ignored, and each spec is generated once (``verify`` resolves a layout several times)."""

    def decorate(make: Callable[[dict[str, str]], Layout]) -> LayoutFamily:
        cached = _Generated(make)
        _GENERATED.append(cached)

        @functools.wraps(make)
        def family_layout(options: Mapping[str, str]) -> Layout:
            unknown = sorted(set(options) - set(known))
            if unknown:
                raise UsageError(
                    f"The {family} layout has no option {unknown[0]!r} (known: {', '.join(known)})."
                )
            return cached(tuple(sorted(options.items())))

        return family_layout

    return decorate


_Options = tuple[tuple[str, str], ...]

HELD_LAYOUTS = 8
"""How many generated layouts a family keeps for the specs asked last (a class's workbooks
share a few)."""


class _Generated:
    """A family's layouts by their options: the last :data:`HELD_LAYOUTS` asked for are held;
    one let go of (:func:`let_go`) is held no more, but handed back while anything else holds
    it (``verify_each`` holds the layout it was given for the whole batch)."""

    def __init__(self, make: Callable[[dict[str, str]], Layout]) -> None:
        self.make = make
        self.held: dict[_Options, Layout] = {}  # in the order last asked for
        self.loose: dict[_Options, weakref.ref[Layout]] = {}
        self.lock = threading.Lock()  # ``serve`` verifies in threads

    def __call__(self, items: _Options) -> Layout:
        with self.lock:
            found = self.held.pop(items, None)
            if found is None and (loose := self.loose.pop(items, None)) is not None:
                found = loose()
            if found is not None:
                self.hold(items, found)
                return found
        made = self.make(dict(items))  # outside the lock: a large network takes a second
        with self.lock:
            found = self.held.pop(items, None)  # another thread's, made meanwhile
            kept = made if found is None else found
            self.hold(items, kept)
        return kept

    def hold(self, items: _Options, layout: Layout) -> None:
        self.held[items] = layout
        if len(self.held) > HELD_LAYOUTS:
            del self.held[next(iter(self.held))]

    def let_go(self, layout: Layout) -> None:
        with self.lock:
            for items in [k for k, held in self.held.items() if held is layout]:
                del self.held[items]
                self.loose[items] = weakref.ref(layout)
            for items in [k for k, ref in self.loose.items() if ref() is None]:
                del self.loose[items]


_GENERATED: list[_Generated] = []
"""Every family's layouts (:func:`generated_family`), for :func:`let_go`."""


def let_go(layout: Layout) -> None:
    """Hold ``layout`` in no family's cache any more: it lives while anything else holds it,
    and a spec of it asked for after is generated again (see :func:`relocated`)."""
    for generated in _GENERATED:
        generated.let_go(layout)


SPEC_NAME = "SHEETGEN_LAYOUT"
"""The defined name under which a built workbook records its layout's spec, so that
``verify`` needs no flags."""

TODO_NAME = "SHEETGEN_TODO"
"""The defined name under which an exercise records the cells it left blank (``"E2,F3"``)."""

TODO_NOTE = "To do:"
"""How the note on each blank of an exercise begins: the mark that survives applications which
drop the defined names (a sheet copied to a new workbook, ExcelJS, Apple Numbers)."""

NO_HINTS_NOTE = "Hints are off for this hand-out."
"""A line of the note on an exercise's title cell when it was built without hints: ``verify``
then explains wrong cells without the formula's hint (notes travel with their cells)."""


def file_name(spec: str) -> str:
    """The file a layout is written to by default: the template's name, made safe for a file
    system (``single_neuron.xlsx``); the ``neuron`` family names its variants itself."""
    return re.sub(r"[^\w.-]+", "_", Path(spec).stem) + ".xlsx"


def templates_dir() -> Path:
    """The folder of layout descriptions (``SHEETGEN_TEMPLATES`` overrides it).

    An installed sheetgen carries them as package data (``sheetgen/templates``, mapped from
    the repository's top-level ``templates/`` by pyproject.toml); a source checkout run
    without installing, or an editable install, reads the repository's folder itself.
    """
    env = os.environ.get("SHEETGEN_TEMPLATES")
    if env:
        return Path(env)
    return shipped_templates_dir()


@functools.cache
def shipped_templates_dir() -> Path:
    from importlib.resources import files

    packaged = files("sheetgen").joinpath("templates")
    if isinstance(packaged, Path) and (packaged / "single_neuron.toml").is_file():
        return packaged
    # A source checkout (run in place or installed with -e) has no sheetgen/templates.
    checkout = Path(__file__).resolve().parents[2] / "templates"
    if (checkout / "single_neuron.toml").is_file():
        return checkout
    raise TemplateError(
        "sheetgen's layout descriptions are missing from its installation "
        f"(looked in {packaged} and {checkout}); reinstall sheetgen."
    )


def available_layouts() -> list[str]:
    """Names of the layouts that ``templates/`` describes, sorted."""
    return sorted(p.stem for p in templates_dir().glob("*.toml"))


def load_layout(name_or_path: str | Path = "single_neuron") -> Layout:
    """Read and resolve a layout by template name or by path to a ``.toml`` file."""
    path = Path(name_or_path)
    if path.suffix != ".toml":
        path = templates_dir() / f"{name_or_path}.toml"
    try:
        # Parsed once per file version: a batch verifies hundreds of workbooks with one layout.
        stat = path.stat()
        return _load_file(str(path), stat.st_mtime_ns, stat.st_size)
    except FileNotFoundError:
        known = ", ".join(available_layouts()) or "none"
        raise TemplateError(f"No layout named {str(name_or_path)!r} (known: {known}).") from None
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise TemplateError(f"Cannot read layout {path}: {exc}.") from None


@functools.lru_cache(maxsize=64)
def _load_file(path: str, mtime_ns: int, size: int) -> Layout:
    """The layout in ``path`` as it was at (``mtime_ns``, ``size``); cached."""
    data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    return parse_layout(data, origin=path)


def parse_layout(data: Mapping[str, Any], origin: str = "<layout>") -> Layout:
    """Validate a template's data and resolve its ``{quantity}`` references to addresses."""
    raw_cells = data.get("cells")
    if not isinstance(raw_cells, list) or not raw_cells:
        raise TemplateError(f"{origin}: a layout needs a non-empty [[cells]] list.")
    raw_cells = raw_cells + [c for t in data.get("tables", []) for c in _table_cells(t, origin)]
    resolver = Resolver(origin)
    # Every cell placed before any is resolved: a template's formula may name a quantity
    # described below it.
    addresses = [
        resolver.place(_address(raw.get("at"), origin), raw.get("quantity")) for raw in raw_cells
    ]
    made = tuple(_cell(raw, at, resolver) for raw, at in zip(raw_cells, addresses, strict=True))
    return resolver.layout(data, made)


class Resolver:
    """What resolving a layout's cells needs, shared by a template (:func:`parse_layout`)
    and a generated layout (``sheetgen.layouts.grid.Grid``): where each quantity is, which
    addresses are taken, and what cells alike share.

    A template's cells are all placed, then each resolved. A generated layout resolves each
    cell as it is described, where its formula names only quantities placed before it, so
    that no template outlives its cell (an 80-80-1 network's faux rows are 27 MB of 1 KB
    templates); those naming a quantity below them (a hidden neuron's gradients read its net
    and the next layer's, described after them) wait for the end (:meth:`formula_if_known`).
    """

    def __init__(self, origin: str) -> None:
        self.origin = origin
        self.address_of: dict[str, str] = {}
        self.taken: set[str] = set()
        self.shapes: dict[str, bool] = {}  # see _said
        self.tails: dict[Tail, Tail] = dict(_PLAIN)

    def place(self, at: str, quantity: str | None) -> str:
        """Take ``at`` (an address as :func:`_address` gives it) for ``quantity``; ``at``."""
        if at in self.taken:
            raise TemplateError(f"{self.origin}: cell {at} is described twice.")
        self.taken.add(at)
        if quantity is not None:
            if quantity in self.address_of:
                where = self.address_of[quantity]
                raise TemplateError(f"{self.origin}: quantity {quantity!r} is in {where} and {at}.")
            self.address_of[quantity] = at
        return at

    def resolve(
        self,
        at: str,
        kind: CellKind,
        quantity: str | None,
        *,
        text: str | None = None,
        value: float | None = None,
        template: str | None = None,
        note: str | None = None,
        style: str | None = None,
        format: str | None = None,
        decoration: bool = False,
    ) -> CellSpec:
        """The cell at ``at`` (placed), a formula's made from ``template``."""
        formula = source = None
        if template is not None:
            assert quantity is not None  # _cell and Grid.formula give one
            resolved = _resolved(template, quantity, self.address_of, self.shapes)
            if isinstance(resolved, str):
                raise TemplateError(f"{self.origin}: {at} refers to unknown quantity {resolved!r}.")
            formula, said = resolved
            source = None if said else template
        return self._made(
            at, quantity, formula, tail(kind, text, value, note, style, format, decoration, source)
        )

    def formula_if_known(
        self, at: str, quantity: str, template: str, note: str | None
    ) -> CellSpec | None:
        """The formula cell at ``at`` (placed), as :meth:`resolve` makes it, or None where
        ``template`` names a quantity not placed yet."""
        resolved = _resolved(template, quantity, self.address_of, self.shapes)
        if isinstance(resolved, str):
            return None
        formula, said = resolved
        source = None if said else template
        return self._made(at, quantity, formula, tail("formula", note=note, source=source))

    def said(self, at: str, quantity: str, formula: str, note: str | None) -> CellSpec:
        """The formula cell that :meth:`resolve` makes of a template which ``formula`` says
        (``Grid.said``: its addresses given in place, none kept apart), placed at ``at``.
        Made with no more calls than it takes: a large network's faux rows are 60,000."""
        self.place(at, quantity)
        rest = _FORMULA
        if note is not None:
            rest = tail("formula", note=note)
            rest = self.tails.setdefault(rest, rest)
        cell = _new(CellSpec)
        _set_cell(cell, at, quantity, sys.intern(formula), rest)
        return cell

    def row_tail(self, kind: CellKind, leaf: str, note: str | None = None) -> Tail:
        """The tail (``CellSpec._rest``) that the cells of a repeated row's column share
        (:meth:`row_said`): a ``kind`` cell with ``note``, whose quantities end in ``leaf``."""
        rest = tail(kind, note=note, leaf=leaf)
        return self.tails.setdefault(rest, rest)

    def row_said(self, at: str, prefix: str, formula: str, tail: Tail) -> CellSpec:
        """The formula cell :meth:`said` makes, of quantity ``prefix`` + the leaf of ``tail``
        (:meth:`row_tail`, made once per column, not once per cell)."""
        assert tail.leaf is not None  # a row_tail
        quantity = prefix + tail.leaf
        self.place(at, quantity)
        cell = _new(CellSpec)
        _set_cell(cell, at, quantity, sys.intern(formula), tail)
        return cell

    def _made(self, at: str, quantity: str | None, formula: str | None, rest: Tail) -> CellSpec:
        # Made without ``__init__`` (a training run's 30,000 cells in a fraction of its time),
        # its tail shared with the cells alike.
        cell = _new(CellSpec)
        _set_cell(cell, at, quantity, formula, self.tails.setdefault(rest, rest))
        return cell

    def layout(self, data: Mapping[str, Any], cells: tuple[CellSpec, ...]) -> Layout:
        """The layout of ``cells`` (each resolved here) with what else ``data`` says of it
        (``name``, ``title``, defined ``names`` of quantities, ``defaults``, ``charts``...)."""
        origin, address_of = self.origin, self.address_of
        names = {}
        for defined, quantity in dict(data.get("names", {})).items():
            if quantity not in address_of:
                raise TemplateError(f"{origin}: name {defined!r} refers to unknown {quantity!r}.")
            names[defined] = address_of[quantity]
        keys = ("model", "activation", "loss", "difference")
        settings = {k: str(data[k]) for k in keys if k in data}
        name = str(data.get("name", Path(origin).stem))
        return Layout(
            name=name,
            title=str(data.get("title", "")),
            sheet=str(data.get("sheet", "Sheet1")),
            description=str(data.get("description", "")),
            cells=cells,
            names=names,
            defaults=_defaults(dict(data.get("defaults", {})), cells),
            settings=settings,
            freeze=_address(data["freeze"], origin) if "freeze" in data else None,
            spec=name,
            charts=tuple(_chart(c, address_of, origin) for c in data.get("charts", [])),
        )


def _defaults(given: Mapping[str, Any], cells: tuple[CellSpec, ...]) -> dict[str, float]:
    """The default parameters, in order, each named by its cell's own quantity string where
    there is one (an 80-80-1 network's 6,643 names are not held twice)."""
    if not given:
        return {}
    own = {q: q for c in cells if (q := c.quantity) is not None and q in given}
    return {own.get(k, k): float(v) for k, v in given.items()}


def _table_cells(table: Mapping[str, Any], origin: str) -> list[dict[str, Any]]:
    """Expand a ``[[tables]]`` entry into one cell entry per row and column.

    A table is rows of the same formulas: each column gives a ``quantity`` containing
    ``{row}`` (0, 1, ...), and either ``values`` (one per row) or a ``formula`` whose
    ``{.leaf}`` references stay within the row. Other keys (note, format, style) apply to
    every cell of the column; the table's own ``decoration`` applies to all of them.
    """
    top_left = _address(table.get("at"), origin)
    first_row, first_column = a1.split(top_left)
    rows = table.get("rows")
    columns = table.get("columns")
    if not isinstance(rows, int) or rows < 1 or not isinstance(columns, list) or not columns:
        raise TemplateError(f"{origin}: the table at {top_left} needs rows = N and [columns].")
    cells: list[dict[str, Any]] = []
    for row in range(rows):
        for offset, spec in enumerate(columns):
            quantity = str(spec.get("quantity", ""))
            if "{row}" not in quantity:
                raise TemplateError(f"{origin}: table column quantities need {{row}}: {quantity!r}")
            cell = {k: v for k, v in spec.items() if k != "values"}
            cell["at"] = a1.name(first_row + row, first_column + offset)
            cell["quantity"] = quantity.replace("{row}", str(row))
            if "values" in spec:
                values = spec["values"]
                if not isinstance(values, list) or len(values) != rows:
                    raise TemplateError(f"{origin}: {quantity!r} needs {rows} values.")
                cell["value"] = values[row]
            if table.get("decoration"):
                cell["decoration"] = True
            cells.append(cell)
    return cells


def _chart(raw: Mapping[str, Any], address_of: Mapping[str, str], origin: str) -> ChartSpec:
    """A ``[[charts]]`` entry; series ranges name cells by quantity, ``{a}:{b}`` or ``{a}``."""

    def where(text: object) -> str:
        if not isinstance(text, str) or not TEMPLATE_REF.search(text):
            raise TemplateError(f'{origin}: chart ranges look like "{{a}}:{{b}}", not {text!r}.')
        return TEMPLATE_REF.sub(lambda m: _lookup(m.group(1), address_of, origin, "a chart"), text)

    series = tuple(
        SeriesSpec(
            title=str(s.get("title", "")),
            x=where(s.get("x")),
            y=where(s.get("y")),
            line=bool(s.get("line", True)),
            dash=bool(s.get("dash", False)),
            marker=s.get("marker"),
            marker_size=int(s.get("marker_size", 7)),
            smooth=bool(s.get("smooth", False)),
        )
        for s in raw.get("series", [])
    )
    if not series:
        raise TemplateError(f"{origin}: a chart needs at least one [[charts.series]].")
    return ChartSpec(
        title=str(raw.get("title", "")),
        anchor=_address(raw.get("anchor"), origin),
        series=series,
        x_title=str(raw.get("x_title", "")),
        y_title=str(raw.get("y_title", "")),
        width=float(raw.get("width", 16.0)),
        height=float(raw.get("height", 9.0)),
    )


def _lookup(quantity: str, address_of: Mapping[str, str], origin: str, where: str) -> str:
    if quantity not in address_of:
        raise TemplateError(f"{origin}: {where} refers to unknown quantity {quantity!r}.")
    return address_of[quantity]


def _address(value: object, origin: str) -> str:
    if not isinstance(value, str):
        raise TemplateError(f"{origin}: every cell needs an 'at' address like \"B2\".")
    if a1.named_cell(value):
        return sys.intern(value)  # what a1.name(*a1.split(value)) gives, without the work
    try:
        return a1.name(*a1.split(value.upper()))
    except ValueError:
        raise TemplateError(f"{origin}: {value!r} is not a cell address.") from None


ADDRESSES = re.compile(f"({a1.TEMPLATE_CELL.pattern})")
"""Splits a resolved formula into text, address, text, ... (as ``TEMPLATE_REF`` splits a
template)."""
_SOME_CELL = a1.name(1, 1)  # any address stands for all in _said


def _cell(raw: Mapping[str, Any], at: str, resolver: Resolver) -> CellSpec:
    """The cell a template's entry ``raw`` describes, at ``at`` (placed in ``resolver``)."""
    quantity = raw.get("quantity")
    kind: CellKind = "text"
    text = value = template = None
    if "text" in raw:
        text = str(raw["text"])
    elif quantity is None:
        raise TemplateError(f"{resolver.origin}: cell {at} needs a 'quantity' (or 'text').")
    elif raw.get("input"):
        kind = "input"
    elif "value" in raw:
        kind = "constant"
        value = float(raw["value"])
    elif "formula" in raw:
        template = str(raw["formula"])
        kind = "formula"
    else:
        raise TemplateError(
            f"{resolver.origin}: cell {at} needs one of text, input, value or formula."
        )
    return resolver.resolve(
        at,
        kind,
        quantity,
        text=text,
        value=value,
        template=template,
        note=raw.get("note"),
        style=raw.get("style"),
        format=raw.get("format"),
        decoration=bool(raw["decoration"]) if "decoration" in raw else False,
    )


_new = object.__new__


def _resolved(
    source: str, quantity: str, address_of: Mapping[str, str], shapes: dict[str, bool]
) -> tuple[str, bool] | str:
    """A template formula (``={.net}*{weight}``) with each quantity's address in place, and
    whether the formula says the template (:func:`_said`) and it need not be kept; or the
    first quantity it names that ``address_of`` does not know."""
    # split() hands back text, reference, text, ...: the references are every other piece
    # (a generated network's formulas hold dozens, so no callback per match).
    parts = TEMPLATE_REF.split(source)
    refs = parts[1::2]
    relative = "{." in source
    if relative:
        prefix = quantity.rsplit(".", 1)[0] + "." if "." in quantity else ""
        refs = [prefix + ref[1:] if ref[0] == "." else ref for ref in refs]
    addresses = list(map(address_of.get, refs))
    if None in addresses:  # no exception: a generated layout asks this of many formulas
        return refs[addresses.index(None)]
    parts[1::2] = addresses
    said = False
    if not relative:  # whether the formula says the template: see _said, inlined (90,000 calls)
        texts = parts[0::2]
        probe = _SOME_CELL.join(texts)
        known = shapes.get(probe)
        if known is None:
            known = shapes[probe] = _said(texts)
        said = known
    if said and len(refs) == 1 and repeats_a_parameter(source):
        said = False  # kept: CellSpec.repeats_a_parameter reads the template
    # Interned: one string with the same formula read from a workbook.
    return sys.intern("".join(parts)), said


def _said(texts: list[str]) -> bool:
    """Whether a formula made of ``texts`` with an address between each two (none relative)
    splits back into them and its addresses: then the addresses name the template's
    quantities, in order, and the template need not be kept.

    The answer depends only on the texts (an address is letters then digits, and a match
    looks one character either side), so it is found once per shape (a network's tens of
    thousands of formulas have a handful; ``_resolved`` keeps the answers) by splitting the
    shape with one address in each gap.
    """
    return ADDRESSES.split(_SOME_CELL.join(texts))[0::2] == texts


class _Moved(Mapping[str, str]):
    """Where each cell of a relocated layout moved: built address -> current one.

    Held as the built addresses, in the order of the layout's cells, beside those cells (whose
    ``at`` says where each is now): a list of them (never changed) rather than a dict, which an
    80-80-1 network's check held to its end (4 MB) though only an exercise's blanks are looked
    up (:meth:`Layout.current`). The dict is made on the first lookup.
    """

    __slots__ = ("_built", "_cells", "_map")

    def __init__(self, built: list[str], cells: tuple[CellSpec, ...]) -> None:
        self._built = built
        self._cells = cells
        self._map: dict[str, str] | None = None

    def _mapping(self) -> dict[str, str]:
        if self._map is None:
            self._map = dict(zip(self._built, [c.at for c in self._cells], strict=True))
        return self._map

    def __getitem__(self, at: str) -> str:
        return self._mapping()[at]

    def __iter__(self) -> Iterator[str]:
        return iter(self._built)

    def __len__(self) -> int:
        return len(self._built)


def relocated(layout: Layout, where: Mapping[str, str]) -> Layout:
    """``layout`` with each cell moved to ``where[cell.at]`` (cells not in ``where`` left out).

    What ``verify`` checks when a learner moved the table: the same quantities, formulas
    pointing at the cells' current addresses (as a spreadsheet application rewrites them), the
    defined names pointing where they point now. Charts and frozen panes are the builder's.

    A formula that says its template where it was built (``CellSpec.source`` None) still says
    it when every cell it reads moved with it: each address it holds now is where the cell it
    read is, with the same quantity, so :meth:`Layout.source` works the template out when
    asked and none is kept (an 80-80-1 network's were 32 MB). A formula reading a cell left
    out keeps its template's text. The moved formula is interned: the learner's workbook
    holds the same text, once for both (16 MB more). A cell left where it was, reading only
    cells left where they were, is the layout's own (rows inserted below it move none of it).
    ``Layout.moved`` is held as the built addresses beside the moved cells (:class:`_Moved`).

    A layout of more than :data:`LET_GO_CELLS` cells is let go of by its family's cache
    (:func:`let_go`): the check of a moved sheet holds the relocated layout, and the built one
    beside it would hold its formulas at addresses no cell of the sheet has (an 80-80-1
    network's 20 MB, held through the check, where an unmoved sheet's formulas are the
    workbook's own strings). Whoever holds it keeps it (a batch given the layout); the spec
    asked for again is generated again (a second for an 80-80-1 network).
    """
    cells = []
    built = []
    quantity_at: dict[str, str] | None = None
    split, get, intern = ADDRESSES.split, where.get, sys.intern
    for c in layout.cells:
        at = get(c.at)
        if at is None:
            continue
        built.append(c.at)
        # A copy with the address, formula and source changed, sharing the rest: 10,000 cells
        # of a training run are placed in milliseconds, not a tenth of a second.
        formula, source = c.formula, c.source
        if formula is not None:
            parts = split(formula)  # text, address, text, ...: the addresses every other piece
            now = list(map(get, parts[1::2]))
            if None in now:  # reads a cell left out: it stays where it was, named by its text
                now = [get(a, a) for a in parts[1::2]]
                if source is None:
                    if quantity_at is None:
                        quantity_at = layout.quantity_at()
                    source = layout.source(c, quantity_at)
            parts[1::2] = now
            formula = intern("".join(parts))
        if at == c.at and formula == c.formula and source is c.source:
            cells.append(c)  # where it was, as it was
            continue
        rest = c._rest
        if source is not rest.source:
            rest = rest._replace(source=source)
        cell = _new(CellSpec)
        _set_cell(cell, at, c.quantity, formula, rest)
        cells.append(cell)
    names = {name: where.get(at, at) for name, at in layout.names.items()}
    placed = tuple(cells)
    # Every address ``where`` maps is a placed cell's (as ``sheetgen.check.locate`` makes it);
    # a map naming anything else is kept as given. The built addresses are kept as listed, not
    # copied into a tuple: the relocation's peak is verify's on a moved network (0.85 MB a
    # copy at 80-80-1).
    moved = _Moved(built, placed) if len(built) == len(where) else dict(where)
    if len(layout.cells) > LET_GO_CELLS:
        let_go(layout)
    return replace(layout, cells=placed, names=names, charts=(), freeze=None, moved=moved)


LET_GO_CELLS = 20_000
"""The most cells of a layout that its family's cache still holds once relocated (see
:func:`relocated`): a smaller one costs less held than made again for the next workbook."""
