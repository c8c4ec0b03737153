"""The ``neuron`` layout family: the article's sheet with other activations, losses,
faux-gradient differences and numbers of inputs.

A variant is a layout generated from options, named by a spec such as
``neuron:activation=sigmoid,loss=squared,difference=central,inputs=2,distance=yes``. The
generator decides only *where* cells go; what they say (formulas, labels, notes, the
per-activation and per-loss snippets) is read from ``templates/families/neuron.toml``. It
emits the same cell entries a template holds and hands them to :func:`parse_layout`, so a
variant is one description read by the builder and the verifier alike, and ``build`` stores
its spec in the workbook for ``verify`` to rebuild it. The default options give exactly the
article's layout (``templates/single_neuron.toml``); a test holds them to that.

Options (defaults are the article's):

- ``activation``: ``tanh`` | ``sigmoid`` | ``relu`` | ``linear``;
- ``loss``: ``half-squared`` (error²/2) | ``squared`` (error², the series' first article) |
  ``cross-entropy`` (binary cross-entropy; the output is then a sigmoid, targets in [0, 1]);
- ``difference``: ``forward`` ((loss(x+Tiny) - loss)/Tiny) | ``central``
  ((loss(x+Tiny) - loss(x-Tiny))/(2·Tiny)), which adds a row nudged down under each faux row;
- ``inputs``: N ≥ 1; with N > 1 the inputs and weights are numbered (``input1``, ``weight2``);
- ``distance``: ``yes`` | ``no``, a column with each faux gradient's distance from the real
  one; on for every variant except the article's own sheet, which it would change.
"""

from __future__ import annotations

import functools
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from .. import a1
from ..errors import TemplateError, UsageError
from ..maths.losses import CROSS_ENTROPY
from ..maths.models import Reference, cross_entropy_neuron
from ..maths.neuron import ACTIVATIONS, DIFFERENCES, LOSSES
from ..maths.neuron_n import MultiNeuron, suffixes
from .layout import Layout, file_name, load_layout, parse_layout, shipped_templates_dir

FAMILY = "neuron"
MAX_INPUTS = 100  # a sheet wider than this teaches nothing more, and grows past 200 columns
FORWARD_ROW, LOCAL_ROW, GLOBAL_ROW, FAUX_HEADER_ROW = 2, 3, 4, 5


@dataclass(frozen=True)
class Options:
    """A variant of the article's neuron; the defaults are the article's."""

    activation: str = "tanh"
    loss: str = "half-squared"
    difference: str = "forward"
    inputs: int = 1
    distance: bool | None = None  # None: shown unless this is the article's own sheet

    @property
    def is_article(self) -> bool:
        """Whether these are the article's choices (then the distance column is off)."""
        return (self.activation, self.loss, self.difference, self.inputs) == (
            Options.activation,
            Options.loss,
            Options.difference,
            Options.inputs,
        )

    @property
    def shows_distance(self) -> bool:
        return not self.is_article if self.distance is None else self.distance

    @property
    def spec(self) -> str:
        """The canonical spec: every option spelled out, so it rebuilds this exact layout
        (the article's choices are the article's template)."""
        if self.is_article and not self.shows_distance:
            return "single_neuron"
        return (
            f"{FAMILY}:activation={self.activation},loss={self.loss},"
            f"difference={self.difference},inputs={self.inputs},"
            f"distance={'yes' if self.shows_distance else 'no'}"
        )


def parse_options(raw: Mapping[str, str]) -> Options:
    """Options from a spec's ``key=value`` pairs, each checked, with one sentence if wrong."""
    known = ("activation", "loss", "difference", "inputs", "distance")
    for key in raw:
        if key not in known:
            raise UsageError(
                f"The {FAMILY} layouts have no option {key!r} (known: {', '.join(known)})."
            )
    choices = {"activation": tuple(ACTIVATIONS), "loss": tuple(LOSSES), "difference": DIFFERENCES}
    values: dict[str, Any] = {}
    for key, allowed in choices.items():
        if key in raw:
            if raw[key] not in allowed:
                raise UsageError(f"{key} must be one of {', '.join(allowed)}, not {raw[key]!r}.")
            values[key] = raw[key]
    if "inputs" in raw:
        text = raw["inputs"]
        if not text.isdigit() or not 1 <= int(text) <= MAX_INPUTS:
            raise UsageError(f"inputs must be a whole number from 1 to {MAX_INPUTS}, not {text!r}.")
        values["inputs"] = int(text)
    if "distance" in raw:
        flag = raw["distance"].lower()
        if flag not in ("yes", "no"):
            raise UsageError(f"distance must be yes or no, not {raw['distance']!r}.")
        values["distance"] = flag == "yes"
    if values.get("loss") == CROSS_ENTROPY:
        values["activation"] = probability_output(values.get("activation"))
    return Options(**values)


def probability_output(activation: str | None) -> str:
    """The output activation cross-entropy needs (sigmoid), or one sentence if another is asked."""
    if activation not in (None, "sigmoid"):
        raise UsageError(
            f"The cross-entropy loss needs a probability output, so the output is a sigmoid; "
            f"--activation {activation} conflicts with --loss cross-entropy (omit it)."
        )
    return "sigmoid"


@functools.lru_cache(maxsize=1)
def family_text() -> Mapping[str, Any]:
    """The family's snippets, labels and notes (``templates/families/neuron.toml``)."""
    try:
        return tomllib.loads(family_file().read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise TemplateError(
            f"Cannot read the {FAMILY} family's description {family_file()}: {exc}."
        ) from None


def family_file() -> Path:
    """``templates/families/neuron.toml`` as sheetgen ships it (``SHEETGEN_TEMPLATES`` aside)."""
    return shipped_templates_dir() / "families" / f"{FAMILY}.toml"


_NUMBERED_REF = re.compile(r"\{([^{}]*)#\}")


def numbered(text: str, suffix: str) -> str:
    """Replace ``#`` by an input's number: in a ref ``{weight#}`` -> ``{weight2}``; in prose
    ``"input #"`` -> ``"input 2"``; with one input (suffix "") it simply disappears."""
    text = _NUMBERED_REF.sub(lambda m: "{" + m.group(1) + suffix + "}", text)
    return text.replace(" #", f" {suffix}" if suffix else "")


def _row2(formula: str) -> str:
    """A formula written for any row (``{.net}``) as row 2 writes it (``{net}``)."""
    return formula.replace("{.", "{")


def _display(quantity: str) -> str:
    """How text names a quantity: ``input2`` -> ``input 2``."""
    return re.sub(r"(?<=[a-z])(\d+)$", r" \1", quantity)


class _Draft:
    """A variant's sheet being written: the family's texts for these options, where each
    quantity's column is, and the cell entries so far (template form, for parse_layout)."""

    def __init__(self, options: Options) -> None:
        t = self.t = family_text()
        self.options = options
        self.act = t["activations"][options.activation]
        self.loss = t["losses"][options.loss]
        self.diff = t["differences"][options.difference]
        self.sx = sx = suffixes(options.inputs)
        self.params = [f"input{s}" for s in sx] + [f"weight{s}" for s in sx] + ["bias"]
        self.columns = [*self.params, "net", "output", "target", "error", "loss"]
        self.col = {q: a1.column_letter(2 + i) for i, q in enumerate(self.columns)}
        self.faux_col = a1.column_letter(len(self.columns) + 3)  # one empty column, as the article
        self.distance_col = a1.column_letter(len(self.columns) + 4)
        self.suffix_of = {f"{kind}{s}": s for s in sx for kind in ("input", "weight")}
        self.net_formula = t["forward"]["net"].replace(
            "TERMS", "+".join(numbered(t["forward"]["net_term"], s) for s in sx)
        )
        self.net_note = t["notes"]["net"].replace(
            "TERMS", " + ".join(numbered(t["notes"]["net_term"], s) for s in sx)
        )
        self.labels, self.headers, self.notes = t["labels"], t["headers"], t["notes"]
        self.cells: list[dict[str, Any]] = []

    def text(self, template: str, q: str = "") -> str:
        return numbered(template, self.suffix_of.get(q, ""))

    def add(self, at: str, **entry: Any) -> None:
        self.cells.append({"at": at, **{k: v for k, v in entry.items() if v is not None}})

    def label(self, row: int, value: str) -> None:
        self.add(f"A{row}", text=value, style="label")


@functools.lru_cache(maxsize=16)  # verify resolves a workbook's spec twice; tests many times
def generate(options: Options) -> Layout:
    """The layout of one variant: cell entries in template form, resolved by parse_layout."""
    d = _Draft(options)
    _header_row(d)
    _forward_row(d)
    _local_row(d)
    _global_row(d)
    r = _faux_rows(d)
    _tiny_row(d, r)
    simple = options.inputs == 1 and not options.shows_distance
    data = {
        "name": options.spec,
        "title": _title(d.t["title"], options),
        "sheet": d.t["sheet"],
        "description": d.t["description"],
        # The article's own quantities are the one-input Neuron's; anything more needs N inputs
        # or distances, which the MultiNeuron model computes.
        "model": "neuron" if simple else MULTI_MODEL,
        "activation": options.activation,
        "loss": options.loss,
        "difference": options.difference,
        "defaults": _defaults(d.t, options.inputs),
        "names": {"Tiny": "tiny"},
        "cells": d.cells,
    }
    layout = parse_layout(data, origin=f"{family_file()} ({options.spec})")
    return replace(layout, spec=options.spec)


def _header_row(d: _Draft) -> None:
    """Row 1: headers."""
    for q in d.columns:
        kind = q.rstrip("0123456789")
        d.add(f"{d.col[q]}1", text=d.text(d.headers[kind], q), style="header")


def _forward_row(d: _Draft) -> None:
    """Row 2: the forward pass."""
    r = FORWARD_ROW
    d.label(r, d.labels["forward"])
    for q in d.columns:
        at = f"{d.col[q]}{r}"
        kind = q.rstrip("0123456789")
        if q in d.params or q == "target":
            d.add(at, quantity=q, input=True, note=d.text(d.notes[kind], q))
        elif q == "net":
            d.add(at, quantity=q, formula=_row2(d.net_formula), note=d.net_note)
        elif q == "output":
            d.add(at, quantity=q, formula=_row2(d.act["output"]), note=d.act["output_note"])
        elif q == "error":
            d.add(at, quantity=q, formula=_row2(d.t["forward"]["error"]), note=d.notes["error"])
        else:
            d.add(at, quantity=q, formula=_row2(d.loss["loss"]), note=d.loss["loss_note"])


def _local_row(d: _Draft) -> None:
    """Row 3: local gradients."""
    d.label(LOCAL_ROW, d.labels["local"])
    for q in d.params:
        entry = d.t["local"][q.rstrip("0123456789")]
        at = f"{d.col[q]}{LOCAL_ROW}"
        if "value" in entry:
            d.add(at, quantity=f"local.{q}", value=entry["value"], note=d.text(entry["note"], q))
        else:
            d.add(
                at,
                quantity=f"local.{q}",
                formula=d.text(entry["formula"], q),
                note=d.text(entry["note"], q),
            )
    at = f"{d.col['net']}{LOCAL_ROW}"
    if "local_value" in d.act:
        d.add(at, quantity="local.net", value=d.act["local_value"], note=d.act["local_note"])
    else:
        d.add(at, quantity="local.net", formula=d.act["local"], note=d.act["local_note"])
    d.add(
        f"{d.col['output']}{LOCAL_ROW}",
        quantity="local.output",
        formula=d.loss["local"],
        note=d.loss["local_note"],
    )


def _global_row(d: _Draft) -> None:
    """Row 4: the chain rule."""
    d.label(GLOBAL_ROW, d.labels["global"])
    for q in (*d.params, "net", "output"):
        entry = d.t["global"][q.rstrip("0123456789")]
        d.add(
            f"{d.col[q]}{GLOBAL_ROW}",
            quantity=f"global.{q}",
            formula=d.text(entry["formula"], q),
            note=d.text(entry["note"], q),
        )


def _faux_rows(d: _Draft) -> int:
    """Rows 6...: faux gradients, one row per nudge (two with central differences); returns
    the next free row."""
    options, labels, headers = d.options, d.labels, d.headers
    d.add(f"{d.faux_col}{FAUX_HEADER_ROW}", text=headers["faux"], style="header")
    if options.shows_distance:
        d.add(f"{d.distance_col}{FAUX_HEADER_ROW}", text=headers["distance"], style="header")
    sx = d.sx
    nudged = ["output", "net", "bias", *(f"weight{s}" for s in sx), *(f"input{s}" for s in sx)]
    passes = [("", "up", labels["faux"])]
    if options.difference == "central":
        passes.append(("down.", "down", labels["faux_down"]))
    r = FAUX_HEADER_ROW + 1
    for i, name in enumerate(nudged):
        shown = {"name": _display(name), "real": f"{d.col[name]}{GLOBAL_ROW}", "row": FORWARD_ROW}
        for infix, direction, title in passes:
            _faux_pass(d, r, i, name, f"nudge.{name}.{infix}", direction, title, shown)
            if direction == "up":
                _faux_gradient(d, r, i, name, shown)
            r += 1
    return r


def _faux_pass(
    d: _Draft,
    r: int,
    i: int,
    name: str,
    prefix: str,
    direction: str,
    title: str,
    shown: dict[str, Any],
) -> None:
    """One nudged forward pass, on row ``r``: from the nudged node on (the nodes before it
    copy the sheet's parameters)."""
    faux, first = d.t["faux"], d.t["faux"]["first_notes"]
    start = d.columns.index(name) if name in ("net", "output") else 0
    explain = i == 0 and direction == "up"  # the article explains the first row only
    d.label(r, title.format(**shown))
    for q in d.columns[start:]:
        at, quantity = f"{d.col[q]}{r}", prefix + q
        if q == name:
            formula = faux[direction].replace("NAME", q)
            d.add(
                at,
                quantity=quantity,
                formula=formula,
                note=faux[f"{direction}_note"].format(**shown),
            )
        elif q in d.params or q == "target":
            note = first["target"].format(**shown) if explain and q == "target" else None
            d.add(at, quantity=quantity, formula=faux["copy"].replace("NAME", q), note=note)
        elif q == "net":
            d.add(at, quantity=quantity, formula=d.net_formula)
        elif q == "output":
            d.add(at, quantity=quantity, formula=d.act["output"])
        elif q == "error":
            note = first["error"] if explain else None
            d.add(at, quantity=quantity, formula=d.t["forward"]["error"], note=note)
        else:
            note = first["loss"] if explain else None
            d.add(at, quantity=quantity, formula=d.loss["loss"], note=note)


def _faux_gradient(d: _Draft, r: int, i: int, name: str, shown: dict[str, Any]) -> None:
    """The faux gradient beside the upward pass (and its distance from the real one)."""
    faux, diff = d.t["faux"], d.diff
    note = (diff["first_note"] if i == 0 else diff["note"]).format(**shown)
    d.add(
        f"{d.faux_col}{r}",
        quantity=f"nudge.{name}.gradient",
        formula=diff["gradient"],
        note=note,
    )
    if d.options.shows_distance:
        d.add(
            f"{d.distance_col}{r}",
            quantity=f"nudge.{name}.distance",
            formula=faux["distance"].replace("NAME", name),
            note=faux["distance_note"].format(**shown) if i == 0 else None,
        )


def _tiny_row(d: _Draft, r: int) -> None:
    """Last row: the nudge size, a defined name every faux formula uses."""
    d.label(r, d.labels["tiny"])
    d.add(f"B{r}", quantity="tiny", input=True, note=d.notes["tiny"])
    d.add(f"C{r}", text=d.labels["tiny_aside"], style="note")


def _title(base: str, options: Options) -> str:
    if options.is_article:
        return base
    parts = [options.activation, f"{options.loss} loss", f"{options.difference} differences"]
    parts.append("1 input" if options.inputs == 1 else f"{options.inputs} inputs")
    return f"{base} ({', '.join(parts)})"


def _defaults(t: Mapping[str, Any], n: int) -> dict[str, float]:
    if n == 1:
        return {k: float(v) for k, v in t["defaults"].items()}
    many = t["defaults_many"]
    values = {
        f"input{s}": float(many["inputs"][k % len(many["inputs"])])
        for k, s in enumerate(suffixes(n))
    }
    values |= {
        f"weight{s}": float(many["weights"][k % len(many["weights"])])
        for k, s in enumerate(suffixes(n))
    }
    return values | {k: float(many[k]) for k in ("bias", "target", "tiny")}


def neuron_layout(raw: Mapping[str, str]) -> Layout:
    """The ``neuron`` family's layout (its row in ``sheetgen.layouts.families``).

    The article's own choices give the article's hand-written template (with its formats,
    notes and chart), so there is one description of that sheet, not two.
    """
    options = parse_options(raw)
    if options.is_article and not options.shows_distance:
        return load_layout("single_neuron")
    return generate(options)


def variant_spec(layout: str, **given: str | int | bool | None) -> str:
    """What ``build LAYOUT --activation ...`` builds: LAYOUT itself when no variant option is
    given, else the ``neuron`` spec of LAYOUT (the article's by default) with them applied."""
    chosen = {k: v for k, v in given.items() if v is not None}
    if not chosen:
        return layout
    name, _, raw = layout.partition(":")
    if layout == "single_neuron":
        base: dict[str, str] = {}
    elif name == FAMILY:
        base = dict(item.partition("=")[::2] for item in filter(None, raw.split(",")))
    else:
        option = next(iter(chosen))
        raise UsageError(f"--{option} applies to the neuron layouts, not to {layout!r}.")
    for key, value in chosen.items():
        base[key] = ("yes" if value else "no") if isinstance(value, bool) else str(value)
    return parse_options(base).spec


def output_name(spec: str) -> str:
    """A file name that tells variants apart: ``neuron-sigmoid-squared-central-2in.xlsx``."""
    name, _, raw = spec.partition(":")
    if name != FAMILY:
        return file_name(spec)
    o = parse_options(dict(item.partition("=")[::2] for item in filter(None, raw.split(","))))
    usual = replace(o, distance=None).shows_distance
    extra = (
        "" if o.shows_distance == usual else ("-distance" if o.shows_distance else "-nodistance")
    )
    return f"{FAMILY}-{o.activation}-{o.loss}-{o.difference}-{o.inputs}in{extra}.xlsx"


MULTI_MODEL = "neuron_n"


def neuron_n_model(params: Mapping[str, float], settings: Mapping[str, str]) -> Reference:
    """The reference for any variant: N inputs, faux gradients and their distances."""
    neuron = MultiNeuron.from_parameters(
        params, settings.get("activation", "tanh"), settings.get("loss", "half-squared")
    )
    central = settings.get("difference") == "central"
    values = neuron.quantities(params["tiny"], "central" if central else "forward")
    # Rounding in the net scales with the sum of its terms' magnitudes, not the largest one.
    terms = sum(abs(x * w) for x, w in zip(neuron.inputs, neuron.weights, strict=True))
    scale = max(1.0, terms + abs(neuron.bias), *(abs(v) for k, v in params.items() if k != "tiny"))
    loss_scale = max(
        abs(values["loss"]), abs(values["error"]) * (abs(values["output"]) + abs(values["target"]))
    )
    reference = Reference(values, scale, loss_scale, params["tiny"])
    if neuron.loss == CROSS_ENTROPY:
        return cross_entropy_neuron(reference, (k for k in values if k.startswith("global.")))
    return reference


def usage() -> tuple[str, str]:
    """The family's spec pattern and one-line description, for ``sheetgen templates``."""
    return (
        f"{FAMILY}:activation={'|'.join(ACTIVATIONS)},loss={'|'.join(LOSSES)},"
        f"difference={'|'.join(DIFFERENCES)},inputs=N,distance=yes|no",
        str(family_text()["description"]),
    )
