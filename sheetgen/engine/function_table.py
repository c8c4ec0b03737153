"""The ``formulas`` engine's function modules, imported without paying for scipy up front.

``formulas.functions.get_functions()`` imports every function submodule before it answers
anything. One of them, ``stat`` (MAX, MIN, AVERAGE: what a ReLU or a learner's own formula
uses), imports three scipy packages at its top, a second and more of start-up, for a handful
of statistical functions a sheet of TANH and products never calls. :func:`prepare` imports the
submodules first, once, while those scipy modules are stand-ins (:class:`_Later`) that import
the real module the first time one of their functions is used; then ``get_functions()``
builds the engine's own table from the modules already imported. The table and every function
in it are the engine's own, so verdicts cannot change; MAX never touches scipy, and KURT or
LOGNORM.DIST load it when called. Nothing of the engine is replaced: the stand-ins are in
``sys.modules`` only while the submodules import (sheetgen's own call), and scipy stays
exactly as it was for everyone else.

What the stand-ins must hand out is what ``stat`` takes from scipy while it imports
(``_DEFERRED``: formulas 1.3.x). Should a release of ``formulas`` import scipy otherwise, the
real scipy is loaded as the engine asks (correct, a second slower) and one warning names the
version. ``SHEETGEN_EAGER_FUNCTIONS=1`` turns the deferral off.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import os
import sys
import types
import warnings
from collections.abc import Callable, Iterator
from typing import Any

# What ``formulas.functions.stat`` takes from scipy while it is imported (formulas 1.3.x):
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


@functools.cache
def prepare() -> bool:
    """Import the engine's function modules with scipy deferred, once per process.

    True if scipy was deferred; False if it was loaded anyway (already imported by someone,
    turned off, or imported otherwise by this ``formulas``, which the one warning says).
    """
    import formulas
    import formulas.functions as base

    if os.environ.get("SHEETGEN_EAGER_FUNCTIONS") or _scipy_loaded():
        return False
    try:
        with _scipy_later():
            for module in base.SUBMODULES:
                importlib.import_module(module, base.__name__)
        if not _scipy_loaded():
            return True
    except ImportError:  # a scipy import the stand-ins cannot serve: the engine will import it
        pass
    warnings.warn(
        f"formulas {formulas.__version__} imports scipy in a way sheetgen does not defer "
        f"(it knows formulas 1.3.x): verify starts about a second slower, with the same verdicts.",
        RuntimeWarning,
        stacklevel=2,
    )
    return False


def _scipy_loaded() -> bool:
    scipy = sys.modules.get("scipy")
    return scipy is not None and not isinstance(scipy, _Later)


def known_to_applications(name: str) -> bool:
    """Whether a spreadsheet application knows the function ``name`` as a formula writes it.

    Known: any function the engine's table holds (computed or not), the functions of Excel
    2007's file format (openpyxl's list), and every name written with a prefix only Excel and
    LibreOffice write for functions they know (``_xlfn.`` for a function newer than the file
    format, ``_xlws.`` for a worksheet-only one, ``COM.MICROSOFT.`` and ``ORG.`` for
    LibreOffice's and OpenFormula's own), or Google Sheets' ``__xludf.``. A name typed wrong
    gets none of these: Excel stores it as typed and shows #NAME?.
    """
    from formulas.functions import get_functions, not_implemented
    from openpyxl.utils.formulas import FORMULAE

    upper = name.upper()
    if upper.startswith(_PREFIXES):
        return True
    bare = functions_bare(upper)
    table = get_functions()  # a defaultdict: compiling fills unknown names with not_implemented
    return bare in FORMULAE or any(
        table.get(n, not_implemented) is not not_implemented for n in (upper, bare, "_XLFN." + bare)
    )


_PREFIXES = ("_XLFN.", "_XLWS.", "__XLUDF.", "COM.MICROSOFT.", "ORG.")


def functions_bare(name: str) -> str:
    """A function's name without the prefixes Excel and LibreOffice write (``_xlfn._xlws.``)."""
    while name[:6].upper() in ("_XLFN.", "_XLWS."):
        name = name[6:]
    return name
