"""The one list of layout families: what each is called, which options it takes, which
function generates its layout and which reference model checks it.

A family is a layout generated from options (``neuron:inputs=2``, ``network:layers=2-3-1``)
rather than read from a template file. Its module is imported the first time a spec names
it (building or verifying the article's sheet imports none); nothing registers itself by being
imported. The ``options`` tuples are what the command's flags are checked against; a test
holds them equal to what each generator accepts.
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Final

from ..errors import TemplateError
from ..maths.optimizers import OPTIMIZER_OPTIONS

if TYPE_CHECKING:  # the command imports this module to check its flags: keep it light
    from ..maths.models import ModelFn
    from .layout import Layout

__all__ = [
    "FAMILIES",
    "MODELS",
    "Family",
    "family",
    "load",
    "model_for",
    "planned_cells",
    "resolve_layout",
]


@dataclass(frozen=True)
class Family:
    """One family of generated layouts; its callables are named "module:function", loaded lazily."""

    name: str
    options: tuple[str, ...]  # the keys its spec may set
    layout: str  # options -> Layout
    usage: str  # () -> (spec pattern, one-line description), for ``sheetgen templates``
    models: Mapping[str, str]  # the reference models its layouts name -> their functions


FAMILIES: Final = (
    Family(
        "neuron",
        ("activation", "loss", "difference", "inputs", "distance"),
        layout="sheetgen.layouts.neuron:neuron_layout",
        usage="sheetgen.layouts.neuron:usage",
        models=MappingProxyType({"neuron_n": "sheetgen.layouts.neuron:neuron_n_model"}),
    ),
    Family(
        "network",
        ("layers", "activation", "loss", "faux"),
        layout="sheetgen.layouts.network:network_layout",
        usage="sheetgen.layouts.network:usage",
        models=MappingProxyType({"network": "sheetgen.layouts.network:network_model"}),
    ),
    Family(
        "training",
        (
            "layers",
            "steps",
            "learning_rate",
            "activation",
            "loss",
            *OPTIMIZER_OPTIONS,
            "examples",
            "batch",
        ),
        layout="sheetgen.layouts.training:training_layout",
        usage="sheetgen.layouts.training:usage",
        models=MappingProxyType(
            {
                "training": "sheetgen.layouts.training:training_model",
                "batch_training": "sheetgen.layouts.batch_training:batch_training_model",
            }
        ),
    ),
)
"""In the order ``sheetgen templates`` lists them."""

MODELS: Final = MappingProxyType(
    {"neuron": "sheetgen.maths.models:neuron_model"}
    | {name: target for f in FAMILIES for name, target in f.models.items()}
)
"""Every reference model a layout's ``model`` setting may name (a template file's default:
``neuron``), as "module:function"."""


@functools.cache
def load(target: str) -> Callable[..., Any]:
    """The function ``"module:function"`` names, its module imported on first use."""
    module, _, name = target.partition(":")
    function: Callable[..., Any] = getattr(importlib.import_module(module), name)
    return function


def family(name: str) -> Family | None:
    """The family called ``name``, or None."""
    return next((f for f in FAMILIES if f.name == name), None)


PLANNERS: Final = MappingProxyType({"network": "sheetgen.layouts.network:planned_cells"})
"""Families whose sheets can be large enough to refuse, and how each counts a spec's cells
before making them (options -> cells)."""


def _options(raw: str) -> dict[str, str]:
    options: dict[str, str] = {}
    for item in filter(None, raw.split(",")):
        key, sep, value = item.partition("=")
        if not sep:
            raise TemplateError(
                f"Layout option {item!r} should look like key=value (options are separated "
                "by commas, a list's items by '-': network:layers=3-2-1)."
            )
        options[key.strip()] = value.strip()
    return options


def planned_cells(spec: str) -> int | None:
    """How many cells the layout ``spec`` names will have, counted without making it, for
    the families that can grow large (None for the others, and for templates)."""
    name, _, raw = spec.partition(":")
    if name not in PLANNERS:
        return None
    count: int = load(PLANNERS[name])(_options(raw))
    return count


def resolve_layout(spec: str) -> Layout:
    """A layout from a spec: a template name or path, or ``family:key=value,key=value``."""
    name, _, raw = spec.partition(":")
    found = family(name)
    if found is not None:
        layout: Layout = load(found.layout)(_options(raw))
        return layout
    from .layout import available_layouts, load_layout

    if raw or (not spec.endswith(".toml") and spec not in available_layouts()):
        what = "Unknown layout family" if raw else "No layout named"
        raise TemplateError(f"{what} {name!r} ({_known(available_layouts())}).")
    return load_layout(spec)


def _known(templates: list[str]) -> str:
    """Every kind of layout a user can give: a family's spec as much as a template."""
    families = ", ".join(f"{f.name}:..." for f in FAMILIES)
    return (
        f"known: the templates {', '.join(templates) or 'none'}, the families {families}, "
        "or a .toml file; `sheetgen templates` lists them with their options"
    )


def model_for(settings: Mapping[str, str]) -> ModelFn:
    """The reference function a layout's settings name."""
    name = settings.get("model", "neuron")
    try:
        target = MODELS[name]
    except KeyError:
        raise TemplateError(f"The layout names an unknown model {name!r}.") from None
    model: ModelFn = load(target)
    return model
