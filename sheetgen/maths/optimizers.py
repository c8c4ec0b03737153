"""The optimizers a training sheet may step with, one parameter at a time, and how far each
step's rounding can carry.

Every optimizer moves a parameter ``p`` against its gradient ``g`` of this step, keeping some
state from step to step (all state starts at 0, before step 1):

- ``sgd``: ``p - lr g`` (no state).
- ``momentum`` (Polyak's heavy ball, as PyTorch's SGD writes it):
  ``velocity = beta velocity + g``, ``p - lr velocity``.
- ``rmsprop`` (Hinton's lecture 6e): ``mean_square = beta mean_square + (1 - beta) g^2``,
  ``p - lr g / (sqrt(mean_square) + epsilon)``.
- ``adam`` (Kingma and Ba, 2015, Algorithm 1): ``moment1 = beta1 moment1 + (1 - beta1) g``,
  ``moment2 = beta2 moment2 + (1 - beta2) g^2``, bias-corrected
  ``corrected1 = moment1 / (1 - beta1^k)``, ``corrected2 = moment2 / (1 - beta2^k)`` at step
  ``k``, and ``p - lr corrected1 / (sqrt(corrected2) + epsilon)``.

:func:`bounds` runs the same step in *error bounds* rather than values (a running error
analysis): given how wrong ``p``, ``g`` and the state may already be, it bounds how wrong each
new state cell and the new parameter may be, local rounding included. That is where Adam's
division by ``sqrt(v) + epsilon`` shows: with a gradient near 0 an error in it is multiplied
by up to ``1 / epsilon``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Final, TypeVar

from ..errors import UsageError

EPS: Final = 2.0**-52
"""Machine epsilon of a double: the relative rounding of one operation is at most half of it."""
ONE_STEP_REL: Final = 1e-12
"""The verifier's relative allowance for one cell (``sheetgen.check.judge.REL`` is this one):
part of what bounds a gradient's error as it enters the optimizer."""

OPTIMIZERS: Final = ("sgd", "momentum", "rmsprop", "adam")
OPTIMIZER_OPTIONS: Final = ("optimizer", "beta", "beta1", "beta2", "epsilon")
"""The spec options both training families take for their optimizer (and the command's flags)."""
HYPER: Final[Mapping[str, tuple[str, ...]]] = {
    "sgd": (),
    "momentum": ("beta",),
    "rmsprop": ("beta", "epsilon"),
    "adam": ("beta1", "beta2", "epsilon"),
}
"""The settings each optimizer reads: editable cells of its sheet, defaults from the spec."""
DEFAULTS: Final[Mapping[str, float]] = {
    "beta": 0.9,
    "beta1": 0.9,
    "beta2": 0.999,
    "epsilon": 1e-8,
}
RATES: Final[Mapping[str, float]] = {"rmsprop": 0.001}
"""A learning rate other than the sheets' 0.1 when none is given: RMSProp's steps stay about
the rate long after its gradients have fallen to rounding noise, and at 0.1 a 2-2-1 network's
run turns to chaos (its last digits no two spreadsheets compute alike) before step 50."""
TITLES: Final[Mapping[str, str]] = {
    "sgd": "gradient descent",
    "momentum": "momentum",
    "rmsprop": "RMSProp",
    "adam": "Adam",
}
"""Each optimizer's name as a sheet's title spells it."""
STATE: Final[Mapping[str, tuple[str, ...]]] = {
    "sgd": (),
    "momentum": ("velocity",),
    "rmsprop": ("mean_square",),
    "adam": ("moment1", "moment2", "corrected1", "corrected2"),
}
"""Each optimizer's state columns per parameter, in sheet order (the update ``new`` follows).
Only ``velocity``, ``mean_square``, ``moment1`` and ``moment2`` carry to the next step."""
CARRIED: Final = ("velocity", "mean_square", "moment1", "moment2")
STATE_NAMES: Final[Mapping[str, str]] = {
    "velocity": "velocity",
    "mean_square": "mean square",
    "moment1": "first moment",
    "moment2": "second moment",
    "corrected1": "corrected first moment",
    "corrected2": "corrected second moment",
}
"""Each state column's name in words: its header (after the parameter) and in reports."""


class Dual:
    """A number with its first derivatives by each input (forward-mode differentiation):
    how the tolerances learn how strongly a step's results depend on the gradient, the
    parameter and the state, exactly and with their signs, so that errors that cancel
    (Adam's gradient above and below its division) are not counted twice. Never changed once
    made; a plain class with slots, as the error analysis makes tens of thousands."""

    __slots__ = ("d", "value")

    def __init__(self, value: float, d: tuple[float, ...]) -> None:
        self.value = value
        self.d = d

    def __add__(self, other: Dual | float) -> Dual:
        if isinstance(other, Dual):
            pairs = zip(self.d, other.d, strict=True)
            return Dual(self.value + other.value, tuple([a + b for a, b in pairs]))
        return Dual(self.value + other, self.d)

    __radd__ = __add__

    def __neg__(self) -> Dual:
        return Dual(-self.value, tuple([-a for a in self.d]))

    def __sub__(self, other: Dual | float) -> Dual:
        return self + (-other)

    def __rsub__(self, other: float) -> Dual:
        return (-self) + other

    def __mul__(self, other: Dual | float) -> Dual:
        if isinstance(other, Dual):
            pairs = zip(self.d, other.d, strict=True)
            x, y = self.value, other.value
            return Dual(x * y, tuple([a * y + b * x for a, b in pairs]))
        return Dual(self.value * other, tuple([a * other for a in self.d]))

    __rmul__ = __mul__

    def __truediv__(self, other: Dual | float) -> Dual:
        if isinstance(other, Dual):
            q = self.value / other.value
            pairs = zip(self.d, other.d, strict=True)
            return Dual(q, tuple([(a - q * b) / other.value for a, b in pairs]))
        return Dual(self.value / other, tuple([a / other for a in self.d]))

    def sqrt(self) -> Dual:
        root = _root(self.value)
        if root == 0:
            # Unbounded slope, but a mean square of 0 means every gradient so far was 0, and
            # the root divides that 0: nothing an error in the square does reaches the update
            # to first order (the gradient's own error is carried by the division's slope;
            # ``sheetgen.layouts.optimized`` checks the square's error stays far below epsilon).
            return Dual(0.0, tuple([0.0 for _ in self.d]))
        return Dual(root, tuple([a / (2 * root) for a in self.d]))


N = TypeVar("N", float, Dual)


def _div(x: N, y: N | float) -> N:
    """``x / y``, NaN for a division by 0, as a spreadsheet's #DIV/0! (a learner's epsilon of
    0 with a gradient of 0, or a beta of 1): the reference must answer for any parameters."""
    try:
        return x / y
    except ZeroDivisionError:
        return x * math.nan


def _root(x: float) -> float:
    """A square root that is NaN below 0, as SQRT's #NUM! (a learner's beta above 1 makes
    the mean square negative): the reference must answer for any parameters."""
    return math.sqrt(x) if x >= 0 else math.nan


@dataclass(frozen=True)
class Optimizer:
    """An optimizer by name, and the defaults of its settings' cells."""

    name: str
    defaults: Mapping[str, float]

    @property
    def state(self) -> tuple[str, ...]:
        return STATE[self.name]

    @property
    def spec(self) -> str:
        """The spec's spelling (empty for plain gradient descent, so older specs stay)."""
        if self.name == "sgd":
            return ""
        return f",optimizer={self.name}" + "".join(f",{k}={v!r}" for k, v in self.defaults.items())


def default_rate(options: Mapping[str, str], otherwise: float) -> float:
    """The learning rate a spec leaves to its optimizer: :data:`RATES`, else ``otherwise``."""
    return RATES.get(options.get("optimizer", "sgd"), otherwise)


def parse_optimizer(options: Mapping[str, str]) -> Optimizer:
    """The ``optimizer`` option and its settings; a usage error for an unknown optimizer, a
    setting it does not read, or a value outside its range (a beta in [0, 1), epsilon > 0)."""
    name = options.get("optimizer", "sgd")
    if name not in OPTIMIZERS:
        raise UsageError(f"Unknown optimizer {name!r} (known: {', '.join(OPTIMIZERS)}).")
    defaults = {}
    for key in DEFAULTS:
        if key in options and key not in HYPER[name]:
            reads = ", ".join(HYPER[name]) or "no settings"
            raise UsageError(f"The {name} optimizer has no setting {key} (it reads {reads}).")
    for key in HYPER[name]:
        text = options.get(key, repr(DEFAULTS[key]))
        try:
            value = float(text)
        except ValueError:
            raise UsageError(f"{key} must be a number, not {text!r}.") from None
        if key == "epsilon" and not 0 < value < math.inf:
            raise UsageError(f"epsilon must be a positive number, not {text}.")
        if key != "epsilon" and not 0 <= value < 1:
            raise UsageError(f"{key} must be at least 0 and below 1, not {text}.")
        defaults[key] = value
    return Optimizer(name, defaults)


def step(
    name: str,
    k: int,
    p: N,
    g: N,
    previous: Mapping[str, N],
    hyper: Mapping[str, float],
    sqrt: Callable[[N], N] = _root,  # type: ignore[assignment]
) -> dict[str, N]:
    """Step ``k`` (from 1) of optimizer ``name`` for one parameter ``p`` with gradient ``g``:
    its state columns and ``new``. ``previous`` is the last step's state (empty at step 1).
    Numbers may be floats or :class:`Dual` numbers (with ``sqrt=Dual.sqrt``)."""
    lr = hyper["learning_rate"]
    out: dict[str, N] = {}
    if name == "sgd":
        out["new"] = p - lr * g
    elif name == "momentum":
        out["velocity"] = hyper["beta"] * previous.get("velocity", 0.0) + g
        out["new"] = p - lr * out["velocity"]
    elif name == "rmsprop":
        beta = hyper["beta"]
        out["mean_square"] = beta * previous.get("mean_square", 0.0) + (1 - beta) * g * g
        out["new"] = p - lr * _div(g, sqrt(out["mean_square"]) + hyper["epsilon"])
    else:
        b1, b2 = hyper["beta1"], hyper["beta2"]
        out["moment1"] = b1 * previous.get("moment1", 0.0) + (1 - b1) * g
        out["moment2"] = b2 * previous.get("moment2", 0.0) + (1 - b2) * g * g
        out["corrected1"] = _div(out["moment1"], 1 - b1**k)
        out["corrected2"] = _div(out["moment2"], 1 - b2**k)
        denominator = sqrt(out["corrected2"]) + hyper["epsilon"]
        out["new"] = p - lr * _div(out["corrected1"], denominator)
    return out


def bounds(
    name: str,
    k: int,
    g: float,
    values: Mapping[str, float],
    e_p: float,
    e_g: float,
    previous: Mapping[str, float],
    e_previous: Mapping[str, float],
    hyper: Mapping[str, float],
) -> dict[str, float]:
    """Bounds on the errors of :func:`step`'s results ``values`` (for gradient ``g``), to first
    order, given bounds ``e_p`` on the parameter's error, ``e_g`` on the gradient's and
    ``e_previous`` on the state's. Each operation adds its own rounding (``2 EPS |result|``,
    twice the worst case; ``8 EPS`` for ``beta^k``, which a spreadsheet's POWER may round a
    little worse). The settings (learning rate, betas, epsilon) are cells a learner types:
    exact numbers.
    """
    lr = abs(hyper["learning_rate"])
    out: dict[str, float] = {}

    def update(e_direction: float, direction: float) -> float:
        """``p - lr direction``: the parameter's error, the direction's, two roundings."""
        return e_p + lr * e_direction + 2 * EPS * (lr * abs(direction) + abs(values["new"]))

    if name == "sgd":
        out["new"] = update(e_g, g)
    elif name == "momentum":
        beta, v = hyper["beta"], values["velocity"]
        out["velocity"] = (
            beta * e_previous.get("velocity", 0.0)
            + e_g
            + 2 * EPS * (abs(beta * previous.get("velocity", 0.0)) + abs(v))
        )
        out["new"] = update(out["velocity"], v)
    elif name == "rmsprop":
        beta, s = hyper["beta"], values["mean_square"]
        carried = previous.get("mean_square", 0.0), e_previous.get("mean_square", 0.0)
        out["mean_square"] = _average_of_squares(beta, *carried, g, e_g, s)
        e_u, u = _ratio(g, e_g, s, out["mean_square"], hyper["epsilon"])
        out["new"] = update(e_u, u)
    else:
        b1, b2 = hyper["beta1"], hyper["beta2"]
        m, v = values["moment1"], values["moment2"]
        m_prev = previous.get("moment1", 0.0)
        out["moment1"] = (
            b1 * e_previous.get("moment1", 0.0)
            + (1 - b1) * e_g
            + 2 * EPS * (abs(b1 * m_prev) + 2 * abs((1 - b1) * g) + abs(m))
        )
        carried = previous.get("moment2", 0.0), e_previous.get("moment2", 0.0)
        out["moment2"] = _average_of_squares(b2, *carried, g, e_g, v)
        out["corrected1"] = _corrected(m, out["moment1"], b1, k)
        out["corrected2"] = _corrected(v, out["moment2"], b2, k)
        e_u, u = _ratio(
            values["corrected1"],
            out["corrected1"],
            values["corrected2"],
            out["corrected2"],
            hyper["epsilon"],
        )
        out["new"] = update(e_u, u)
    return out


def _average_of_squares(
    beta: float, previous: float, e_previous: float, g: float, e_g: float, s: float
) -> float:
    """``beta previous + (1 - beta) g^2``: the carried error, the squared gradient's
    (``2 |g| e_g + e_g^2``) and the roundings of ``1 - beta``, the square, both products and
    the sum."""
    return (
        beta * e_previous
        + (1 - beta) * (2 * abs(g) * e_g + e_g * e_g)
        + 2 * EPS * (abs(beta * previous) + 3 * (1 - beta) * g * g + abs(s))
    )


def _corrected(moment: float, e_moment: float, beta: float, k: int) -> float:
    """``moment / (1 - beta^k)``: the moment's error and the rounding of the divisor (whose
    ``beta^k`` near 1 cancels: its rounding, relative to ``1 - beta^k``, is
    ``8 EPS beta^k / (1 - beta^k)``), then the division's."""
    power = beta**k
    divisor = 1 - power
    e_divisor = 8 * EPS * power + 2 * EPS * divisor
    if e_divisor >= divisor:
        return math.inf
    corrected = moment / divisor
    return (e_moment + abs(corrected) * e_divisor) / (divisor - e_divisor) + 2 * EPS * abs(
        corrected
    )


def _ratio(
    top: float, e_top: float, square: float, e_square: float, epsilon: float
) -> tuple[float, float]:
    """``top / (sqrt(square) + epsilon)`` and a bound on its error. The square root of a
    number known to ``e`` is known to ``e / (2 sqrt(x))``, and never worse than ``sqrt(e)``
    (near 0, where the first bound fails); the division then divides the top's error by at
    least ``sqrt(square) + epsilon - e``: the ``1 / epsilon`` that a gradient near 0 meets."""
    root = math.sqrt(max(square, 0.0))
    e_square = e_square if e_square >= 0 else math.inf
    e_root = math.sqrt(e_square) if root == 0 else min(e_square / (2 * root), math.sqrt(e_square))
    e_root += 2 * EPS * root
    denominator = root + epsilon
    e_denominator = e_root + 2 * EPS * denominator
    if e_denominator >= denominator:
        return math.inf, _div(top, denominator)
    ratio = top / denominator
    e_ratio = (e_top + abs(ratio) * e_denominator) / (denominator - e_denominator)
    return e_ratio + 2 * EPS * abs(ratio), ratio
