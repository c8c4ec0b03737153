"""The ``formulas`` engine's function table, loaded one submodule at a time as names are used.

``formulas.functions.get_functions()`` imports every function submodule before it answers
anything; its statistics module alone pulls in scipy, about a second of start-up that a sheet
using only TANH never needs. The engine's tokens look ``get_functions`` up inside their
methods, so we can install a drop-in: a dict that knows, from a small index generated from
``formulas`` itself (``_formulas_index.py``), which submodule defines each name, and imports
only that one when a name is first asked for. The values are the engine's own functions, so
verdicts cannot change. Whenever we are unsure (another ``formulas`` version, a name that is
not where the index says, a caller that wants the whole table), it loads everything exactly as
``get_functions()`` does. ``SHEETGEN_EAGER_FUNCTIONS=1`` turns the whole thing off.

Regenerate the index after upgrading ``formulas``: ``python -m sheetgen.functions``.

One submodule, ``stat`` (MAX, MIN, AVERAGE: what a ReLU or a learner's own formula uses),
imports three scipy packages at its top, a second and more, for a handful of statistical
functions. While we import it, those scipy modules are stand-ins (:class:`_Later`) that import
the real module the first time one of their functions is used; scipy is left exactly as it
was for everyone else. MAX never touches scipy; KURT or LOGNORM.DIST load it when called.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import os
import sys
import types
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

INDEX_FILE = Path(__file__).with_name("_formulas_index.py")
BASE = ""  # the index's name for functions that formulas.functions itself defines


# What ``formulas.functions.stat`` takes from scipy while it is imported (formulas 1.3.4):
# ``from scipy import stats, linalg`` and ``from scipy.interpolate import interp1d``.
_DEFERRED = {"scipy": ("stats", "linalg"), "scipy.interpolate": ("interp1d",)}
_DEFERRED_MODULES = ("scipy", "scipy.stats", "scipy.linalg", "scipy.interpolate")


class _Later(types.ModuleType):
    """A scipy module that is imported for real only when one of its attributes is used.

    Attributes an importer takes at import time (``_DEFERRED``) are handed out as stand-ins
    themselves: submodules as :class:`_Later`, functions as calls that import first.
    """

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self._real: types.ModuleType | None = None
        self.__path__: list[str] = []  # a package, to the import machinery

    def _load(self) -> types.ModuleType:
        if self._real is None:
            if sys.modules.get(self.__name__) is self:
                del sys.modules[self.__name__]  # let the import machinery find the real one
            self._real = importlib.import_module(self.__name__)
        return self._real

    def __getattr__(self, attr: str) -> Any:
        if self._real is None and attr in _DEFERRED.get(self.__name__, ()):
            name = f"{self.__name__}.{attr}"
            stand_in = sys.modules.get(name)
            if isinstance(stand_in, _Later):
                return stand_in
            return _later_call(self, attr)
        return getattr(self._load(), attr)


def _later_call(module: _Later, attr: str) -> Callable[..., Any]:
    def call(*args: Any, **kwargs: Any) -> Any:
        return getattr(module._load(), attr)(*args, **kwargs)

    call.__name__ = call.__qualname__ = attr
    return call


@contextlib.contextmanager
def _scipy_later() -> Iterator[None]:
    """Within: scipy's modules are :class:`_Later` stand-ins, unless scipy is already loaded."""
    if any(name in sys.modules for name in _DEFERRED_MODULES):
        yield
        return
    stand_ins = {name: _Later(name) for name in _DEFERRED_MODULES}
    sys.modules.update(stand_ins)
    try:
        yield
    finally:
        for name, stand_in in stand_ins.items():
            if sys.modules.get(name) is stand_in:
                del sys.modules[name]


def _import_submodule(module: str, package: str) -> Any:
    """``importlib.import_module(module, package)``, with scipy deferred (module docstring)."""
    with _scipy_later():
        return importlib.import_module(module, package)


class LazyFunctions(dict[str, Any]):
    """``get_functions()``'s table, filling itself one submodule at a time.

    Lookups (``in``, ``[]``, ``get``) load at most the one submodule that defines the name;
    anything that needs the whole table (iteration, length, views, copies) loads all first.
    Like the engine's ``defaultdict``, a missing name maps to its ``not_implemented``.
    """

    def __init__(self, winner_of: Mapping[str, str], submodules: tuple[str, ...]) -> None:
        import formulas.functions as base

        super().__init__()
        self._winner_of = dict(winner_of)
        self._submodules = submodules
        self._loaded: set[str] = set()
        self._custom: dict[str, Any] = {}  # set by a caller, as formulas' docs suggest
        self._complete = False
        self._base = base
        self._default: Callable[..., Any] = base.not_implemented
        self._take(BASE, base.FUNCTIONS)

    @property
    def loaded(self) -> frozenset[str]:
        """The submodules imported so far (``""`` is formulas.functions itself)."""
        return frozenset(self._loaded)

    @property
    def complete(self) -> bool:
        return self._complete

    def _take(self, module: str, table: Mapping[str, Any]) -> None:
        self._loaded.add(module)
        for name, fn in table.items():
            if self._winner_of.get(name) == module and name not in self._custom:
                dict.__setitem__(self, name, fn)

    def _load_for(self, name: str) -> bool:
        """Load the submodule that defines ``name``; False if the index does not know it."""
        if self._complete or dict.__contains__(self, name):
            return True
        module = self._winner_of.get(name)
        if module is None:
            return False
        if module not in self._loaded:
            self._take(module, _import_submodule(module, self._base.__name__).FUNCTIONS)
        if not dict.__contains__(self, name):  # the index is wrong about this version: be safe
            self.load_all()
        return True

    def load_all(self) -> None:
        """Build the whole table exactly as ``formulas.functions.get_functions()`` does."""
        if self._complete:
            return
        table: dict[str, Any] = {}
        for module in self._submodules:
            table.update(_import_submodule(module, self._base.__name__).FUNCTIONS)
        table.update(self._base.FUNCTIONS)
        table.update(self._custom)
        dict.clear(self)
        dict.update(self, table)
        self._loaded.update((BASE, *self._submodules))
        self._complete = True

    def __contains__(self, name: object) -> bool:
        if isinstance(name, str):
            self._load_for(name)
        return dict.__contains__(self, name)

    def __setitem__(self, name: str, fn: Any) -> None:
        self._custom[name] = fn
        dict.__setitem__(self, name, fn)

    def __missing__(self, name: str) -> Any:
        if self._load_for(name) and dict.__contains__(self, name):
            return dict.__getitem__(self, name)
        return self._default  # like the engine's defaultdict, but not stored: ``in`` stays true

    def get(self, name: str, default: Any = None) -> Any:
        self._load_for(name)
        return dict.get(self, name, default)

    def _whole(self) -> dict[str, Any]:
        self.load_all()
        return self

    def __iter__(self) -> Iterator[str]:
        return dict.__iter__(self._whole())

    def __len__(self) -> int:
        return dict.__len__(self._whole())

    def keys(self) -> Any:
        return dict.keys(self._whole())

    def values(self) -> Any:
        return dict.values(self._whole())

    def items(self) -> Any:
        return dict.items(self._whole())

    def copy(self) -> dict[str, Any]:
        return dict(dict.items(self._whole()))

    def __repr__(self) -> str:
        return f"LazyFunctions(loaded={sorted(self._loaded)}, complete={self._complete})"


def build_index() -> dict[str, str]:
    """Name -> the submodule whose definition ``get_functions()`` keeps (the last one wins)."""
    import formulas.functions as base

    winner_of: dict[str, str] = {}
    for module in base.SUBMODULES:
        for name in importlib.import_module(module, base.__name__).FUNCTIONS:
            winner_of[name] = module
    for name in base.FUNCTIONS:
        winner_of[name] = BASE
    return winner_of


def render_index() -> str:
    """The text of ``_formulas_index.py`` for the installed ``formulas``."""
    import formulas
    import formulas.functions as base

    lines = [
        f'"""Which formulas submodule defines each function: generated from formulas '
        f"{formulas.__version__}.",
        "",
        "Do not edit: regenerate with ``python -m sheetgen.functions`` (a test checks it).",
        '"""',
        "",
        f'FORMULAS_VERSION = "{formulas.__version__}"',
        "SUBMODULES = (",
        *(f'    "{m}",' for m in base.SUBMODULES),
        ")",
        "WINNER_OF: dict[str, str] = {",
        *(f'    "{name}": "{module}",' for name, module in sorted(build_index().items())),
        "}",
        "",
    ]
    return "\n".join(lines)


@functools.cache
def lazy_table() -> LazyFunctions | None:
    """The lazy table, or None when the index does not describe the installed engine."""
    if os.environ.get("SHEETGEN_EAGER_FUNCTIONS"):
        return None
    import formulas
    import formulas.functions as base

    from . import _formulas_index as index

    if formulas.__version__ != index.FORMULAS_VERSION or tuple(base.SUBMODULES) != index.SUBMODULES:
        return None
    return LazyFunctions(index.WINNER_OF, index.SUBMODULES)


def install() -> bool:
    """Make the engine look functions up lazily; idempotent. False if it loads eagerly instead.

    If the engine's own table was already built (someone called ``get_functions()``), it is
    left alone: everything is loaded anyway.
    """
    import formulas.functions as base

    current = base.get_functions
    if getattr(current, "sheetgen_lazy", False):
        return True
    cache_info = getattr(current, "cache_info", None)
    if cache_info is not None and cache_info().currsize:
        return False
    table = lazy_table()
    if table is None:
        return False

    def get_functions() -> LazyFunctions:
        return table

    get_functions.sheetgen_lazy = True  # type: ignore[attr-defined]
    base.get_functions = get_functions
    formulas = sys.modules["formulas"]
    if "get_functions" in vars(formulas):  # formulas caches its lazy attributes
        setattr(formulas, "get_functions", get_functions)  # noqa: B010
    return True


def main() -> None:
    """Rewrite the index for the installed formulas (run after upgrading it)."""
    INDEX_FILE.write_text(render_index(), encoding="utf-8")
    print(f"wrote {INDEX_FILE}")


if __name__ == "__main__":
    main()
