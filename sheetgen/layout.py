"""Layout descriptions: where each number of a sheet lives and what it must equal.

A layout is read from one TOML file in ``templates/`` and is the single source of every cell
address: the builder writes from it and the verifier checks against it. Formulas in a
template name cells by quantity (``{net}``, or ``{.net}`` for the cell's own row prefix);
:func:`load_layout` resolves them to A1 addresses once, so a layout can be rearranged by
editing the template alone.
"""

from __future__ import annotations

import functools
import os
import re
import tomllib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from openpyxl.utils.cell import coordinate_from_string

from .errors import TemplateError

CellKind = Literal["text", "input", "constant", "formula"]

_REF = re.compile(r"\{(\.?[A-Za-z_][\w.]*)\}")


@dataclass(frozen=True)
class CellSpec:
    """One cell of a layout.

    ``kind`` says what the builder writes and what the verifier expects: ``text`` (a label),
    ``input`` (a parameter the learner may change), ``constant`` (a number that must equal
    ``quantity``) or ``formula`` (a live formula that must equal ``quantity``).
    """

    at: str
    kind: CellKind
    quantity: str | None = None
    text: str | None = None
    value: float | None = None
    formula: str | None = None
    source: str | None = None  # the formula as the template writes it, with {quantity} refs
    note: str | None = None
    style: str | None = None

    @property
    def checked(self) -> bool:
        """Whether the verifier compares this cell with the reference."""
        return self.kind in ("constant", "formula")


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
    spec: str = ""  # what `resolve_layout` rebuilds this layout from; stored in built workbooks

    def __iter__(self) -> Iterator[CellSpec]:
        return iter(self.cells)

    @property
    def by_quantity(self) -> dict[str, CellSpec]:
        return {c.quantity: c for c in self.cells if c.quantity is not None}

    @property
    def inputs(self) -> tuple[CellSpec, ...]:
        return tuple(c for c in self.cells if c.kind == "input")

    @property
    def checked(self) -> tuple[CellSpec, ...]:
        return tuple(c for c in self.cells if c.checked)

    @property
    def labels(self) -> tuple[CellSpec, ...]:
        return tuple(c for c in self.cells if c.kind == "text")


LayoutFamily = Callable[[Mapping[str, str]], Layout]
FAMILIES: dict[str, LayoutFamily] = {}
"""Layouts generated from parameters (``neuron:inputs=2``), by family name. A family turns
its options into a ``Layout`` whose ``spec`` rebuilds it, so builder and verifier still read
one description."""

SPEC_NAME = "SHEETGEN_LAYOUT"
"""The defined name under which a built workbook records its layout's spec, so that
``verify`` needs no flags."""


def resolve_layout(spec: str) -> Layout:
    """A layout from a spec: a template name or path, or ``family:key=value,key=value``."""
    name, _, raw = spec.partition(":")
    if name in FAMILIES:
        options: dict[str, str] = {}
        for item in filter(None, raw.split(",")):
            key, sep, value = item.partition("=")
            if not sep:
                raise TemplateError(f"Layout option {item!r} should look like key=value.")
            options[key.strip()] = value.strip()
        return FAMILIES[name](options)
    if raw:
        raise TemplateError(f"Unknown layout family {name!r}.")
    return load_layout(spec)


def templates_dir() -> Path:
    """The folder of layout descriptions (``SHEETGEN_TEMPLATES`` overrides it)."""
    env = os.environ.get("SHEETGEN_TEMPLATES")
    return Path(env) if env else Path(__file__).resolve().parent.parent / "templates"


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
    address_of: dict[str, str] = {}
    seen: set[str] = set()
    for raw in raw_cells:
        at = _address(raw.get("at"), origin)
        if at in seen:
            raise TemplateError(f"{origin}: cell {at} is described twice.")
        seen.add(at)
        q = raw.get("quantity")
        if q is not None:
            if q in address_of:
                raise TemplateError(f"{origin}: quantity {q!r} is in {address_of[q]} and {at}.")
            address_of[q] = at
    cells = tuple(_cell(raw, address_of, origin) for raw in raw_cells)
    names = {}
    for defined, quantity in dict(data.get("names", {})).items():
        if quantity not in address_of:
            raise TemplateError(f"{origin}: name {defined!r} refers to unknown {quantity!r}.")
        names[defined] = address_of[quantity]
    settings = {k: str(data[k]) for k in ("model", "activation", "loss", "difference") if k in data}
    name = str(data.get("name", Path(origin).stem))
    return Layout(
        name=name,
        title=str(data.get("title", "")),
        sheet=str(data.get("sheet", "Sheet1")),
        description=str(data.get("description", "")),
        cells=cells,
        names=names,
        defaults={k: float(v) for k, v in dict(data.get("defaults", {})).items()},
        settings=settings,
        spec=name,
    )


def _address(value: object, origin: str) -> str:
    if not isinstance(value, str):
        raise TemplateError(f"{origin}: every cell needs an 'at' address like \"B2\".")
    try:
        column, row = coordinate_from_string(value.upper())
    except ValueError:
        raise TemplateError(f"{origin}: {value!r} is not a cell address.") from None
    return f"{column}{row}"


def _cell(raw: Mapping[str, Any], address_of: Mapping[str, str], origin: str) -> CellSpec:
    at = _address(raw["at"], origin)
    quantity = raw.get("quantity")
    common: dict[str, Any] = {
        "at": at,
        "quantity": quantity,
        "note": raw.get("note"),
        "style": raw.get("style"),
    }
    if "text" in raw:
        return CellSpec(kind="text", text=str(raw["text"]), **common)
    if quantity is None:
        raise TemplateError(f"{origin}: cell {at} needs a 'quantity' (or 'text').")
    if raw.get("input"):
        return CellSpec(kind="input", **common)
    if "value" in raw:
        return CellSpec(kind="constant", value=float(raw["value"]), **common)
    if "formula" in raw:
        source = str(raw["formula"])
        prefix = quantity.rsplit(".", 1)[0] + "." if "." in quantity else ""

        def resolve(match: re.Match[str]) -> str:
            ref = match.group(1)
            target = prefix + ref[1:] if ref.startswith(".") else ref
            if target not in address_of:
                raise TemplateError(f"{origin}: {at} refers to unknown quantity {target!r}.")
            return address_of[target]

        return CellSpec(kind="formula", formula=_REF.sub(resolve, source), source=source, **common)
    raise TemplateError(f"{origin}: cell {at} needs one of text, input, value or formula.")
