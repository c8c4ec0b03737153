"""Reference models by name: what a layout's ``model`` setting computes its quantities with.

A layout names its model (``model = "neuron"`` in the template, the default); the verifier asks
that model for every quantity, given the parameters read from the sheet itself. New families of
sheets (networks, training runs) register a function here and reuse everything else.
"""

from __future__ import annotations

import functools
import math
import re
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from itertools import chain

from .losses import (
    CROSS_ENTROPY,
    RESOLUTION,
    UNIT,
    bce_conditioning,
    bce_growths,
    bce_loss_rounding,
    growth_for,
    unresolved,
)
from .neuron import Difference, Neuron, kind_of
from .optimizers import ONE_STEP_REL
from .optimizers import STATE_NAMES as STATES
from .steps import Steps


@dataclass(frozen=True)
class Reference:
    """A model's numbers for one set of parameters, with the magnitudes tolerances scale by.

    ``value_scale``: the largest parameter magnitude (at least 1); rounding in a few
    operations on such numbers is about ``eps * value_scale``. ``loss_scale``: a bound on the
    magnitudes whose rounding a loss carries (``|error| (|output| + |target|)`` for the
    cancellation in ``output - target``). ``tiny``: what faux gradients divide by.
    ``amplification``: for quantities at the end of a long chain (a late training step), how
    many times the rounding of one step may have accumulated by then (default 1); or a
    function that works it out, called on the first :meth:`growth`. Only tolerances need it,
    so a model whose amplification is costly (a network's Jacobian norms, with numpy) leaves
    it to the verifier: the builder, which caches ``values``, never asks. ``conditioning``: a
    further factor per quantity for the rounding an ill-conditioned step adds (a cross-entropy's
    ``ln(1 - y)`` near ``y = 1``, ``sheetgen.maths.losses``); ``inf`` where it could hide a slip.
    """

    values: Mapping[str, float]
    value_scale: float
    loss_scale: float
    tiny: float
    amplification: Mapping[str, float] | Callable[[], Mapping[str, float]] = field(
        default_factory=dict
    )
    conditioning: Mapping[str, float] = field(default_factory=dict)

    def growth(self, quantity: str) -> float:
        return self._amplification.get(quantity, 1.0) * self.conditioning.get(quantity, 1.0)

    def unbounded(self) -> list[str]:
        """The quantities whose :meth:`growth` is infinite (left unchecked): only those
        ``amplification`` or ``conditioning`` name can be, every other's is 1."""
        amplified, conditioning = self._amplification, self.conditioning
        if not conditioning:  # the common case: 16,000 growths for a 2-2-1 Adam run
            growths = amplified.values()
            if math.inf not in growths and -math.inf not in growths:  # one pass in C: none
                return []
            return [q for q, a in amplified.items() if a == math.inf or a == -math.inf]
        out = [q for q, a in amplified.items() if math.isinf(a * conditioning.get(q, 1.0))]
        return out + [q for q, c in conditioning.items() if q not in amplified and math.isinf(c)]

    def tolerance(self, quantity: str, expected: float) -> float:
        """The largest difference from ``expected`` still counted as right for ``quantity``
        (derived in ``sheetgen.check.judge``'s docstring)."""
        return self._allowance(quantity, expected, self.growth(quantity))

    def _allowance(self, quantity: str, expected: float, growth: float) -> float:
        if kind_of(quantity) == "faux":
            nudge = quantity.rsplit(".", 1)[0] + "."
            lam = max(
                self.loss_scale,
                self.loss_rounding(""),
                self.loss_rounding(nudge),
                self.loss_rounding(nudge + "down."),  # central differences
            )
            # A faux gradient's distance from the real one also carries the real one's rounding.
            real = UNIT * self.value_scale if quantity.endswith(".distance") else 0.0
            return allowance(expected, UNIT * lam / abs(self.tiny) + real, growth)
        return allowance(expected, UNIT * self.value_scale, growth)

    @functools.cached_property
    def _amplification(self) -> Mapping[str, float]:
        """Each quantity's growth but its conditioning: the model's amplification, and an
        infinite growth for every quantity whose allowance would reach ``RESOLUTION`` of its
        size (at least 1), where a 1 % slip could hide. The optimizers' analysis gives its
        cells up by this rule itself (``sheetgen.layouts.optimized``); a plain gradient
        descent's ``A_k`` (``sheetgen.maths.training.amplification``) has no other cap, and at
        an extreme learning rate or input it grows past this one while every number stays
        finite; a parameter of 1e200 makes every cell's ``64 eps S`` as wide; a Tiny of 1e-12
        each faux gradient's."""
        given = self.amplification
        amplified = given() if callable(given) else given
        values, conditioning = self.values, self.conditioning
        # Which quantities could be over: the amplified and the conditioned; the faux
        # gradients (their allowance divides by Tiny); every computed one once 64 eps S alone
        # passes half the resolution (the relative part, 1e-12, never does).
        unit = UNIT * self.value_scale
        # An amplified computed cell's allowance, (1e-12 |v| + unit) A, stays within RESOLUTION
        # max(1, |v|) while A itself is within half of it over the larger coefficient; the sum
        # of every A bounds each (all are at least 1) and is NaN or infinite if one is: one
        # pass in C for a long run's 30,000, which then need no look one by one.
        # An infinite A is left as it is (below), so a run given up on at its end screens
        # the others' sum; a NaN A is not given up on yet, and makes that sum NaN: looked at.
        coefficient = max(ONE_STEP_REL, unit)
        screened = sum(amplified.values()) * coefficient <= RESOLUTION / 2 or (
            sum(a for a in amplified.values() if a != math.inf) * coefficient <= RESOLUTION / 2
        )
        # Named one at a time, not all at once: a long run's 100,000 names are 9 MB.
        suspects: Iterable[str] = chain(
            () if screened else amplified,
            conditioning,
            (q for q, _ in _ending(values, _FAUX_ENDS) if q.startswith("nudge.")),
        )
        if unit > RESOLUTION / 2:
            suspects = (q for q in values if kind_of(q) != "parameter")
        over = []
        for q in suspects:
            given_up = amplified.get(q, 1.0)
            if given_up == math.inf:  # infinite already: a copy of every growth would add none
                continue
            size = abs(values.get(q, 0.0))
            growth = given_up * conditioning.get(q, 1.0)
            if not self._allowance(q, size, growth) <= RESOLUTION * max(1.0, size):
                over.append(q)
        return {**amplified, **dict.fromkeys(over, math.inf)} if over else amplified

    def loss_rounding(self, prefix: str) -> float:
        """A bound on what the loss computed under ``prefix`` ("", ``nudge.weight.``,
        ``nudge.weight.down.``) carries in rounding, in units of eps (see
        ``sheetgen.check.verify``).

        ``|loss| + Σ (2 |error| D + 64 eps D²)``, ``D = |output| + |target| + value_scale``,
        over the errors that loss adds up: each error rounds by about eps (|output| +
        |target|), the output by what its net rounds (eps value_scale), so by ``δ <= 64 eps
        D`` (the headroom any computed cell gets); the loss ``e²/2`` or ``e²`` passes that on
        as at most ``2 |error| δ + δ²``. The second term is the floor at an error of exactly 0:
        the rounding then scales with the magnitudes that cancel in ``output - target``, not
        with the (zero) result.
        """
        return self._loss_rounding.get(prefix, self.loss_scale)

    @functools.cached_property
    def _loss_rounding(self) -> Mapping[str, float]:
        out: dict[str, float] = {}
        values = self.values
        for key, error in _ending(values, (".error",), "error"):
            head = key[: -len("error")]  # "", "nudge.bias.", "nudge.bias.down.", "nudge.w.n2_1."
            parts = head.split(".")
            if len(parts) >= 2 and _NEURON.fullmatch(parts[-2]):  # one output of a network
                head = ".".join(parts[:-2]) + ("." if len(parts) > 2 else "")
            output = values.get(key[: -len("error")] + "output", 0.0)
            target = output - error
            spread = abs(output) + abs(target) + self.value_scale
            term = 2 * abs(error) * spread + 64 * _EPS * spread * spread
            out[head] = out.get(head, 0.0) + term
        for head in list(out):
            out[head] += abs(values.get(head + "loss", 0.0))
        return out


def allowance(expected: float, absolute: float, growth: float) -> float:
    """A cell's allowance: its relative part (``ONE_STEP_REL``, the verifier's ``REL``) and
    ``absolute`` part, times its growth (``sheetgen.check.judge`` derives both parts). One
    formula for :meth:`Reference.tolerance` and the usual right cell the verifier says right
    at once."""
    return (ONE_STEP_REL * abs(expected) + absolute) * growth


def _ending(
    values: Mapping[str, float], ends: tuple[str, ...], named: str | None = None
) -> Iterator[tuple[str, float]]:
    """The quantities of ``values`` named ``named`` or ending with one of ``ends``, in order: a
    network's (``sheetgen.maths.network_names.Quantities``) spells only those."""
    ending = getattr(values, "ending", None)
    if ending is not None:
        found: Iterator[tuple[str, float]] = ending(ends, named)
        return found
    return ((k, v) for k, v in values.items() if k == named or k.endswith(ends))


_FAUX_ENDS = (".gradient", ".distance")  # kind_of's "faux", among the names under "nudge."
_NEURON = re.compile(r"n\d+_\d+")
_EPS = sys.float_info.epsilon


ModelFn = Callable[[Mapping[str, float], Mapping[str, str]], Reference]


def neuron_model(params: Mapping[str, float], settings: Mapping[str, str]) -> Reference:
    """The article's single neuron (with the activation and loss the layout names), and its
    chart's data when the parameters include the chart's weight step ``sweep.step``."""
    neuron = Neuron(
        input=params["input"],
        weight=params["weight"],
        bias=params["bias"],
        target=params["target"],
        activation=settings.get("activation", "tanh"),
        loss=settings.get("loss", "half-squared"),
    )
    central = settings.get("difference") == "central"
    difference: Difference = "central" if central else "forward"
    values = neuron.quantities(params["tiny"], difference)
    if "sweep.step" in params:
        values |= neuron.sweep(params["sweep.step"], params["tiny"], difference)
    scale = max(1.0, *(abs(params[k]) for k in ("input", "weight", "bias", "target")))
    loss_scale = max(
        abs(values["loss"]), abs(values["error"]) * (abs(values["output"]) + abs(values["target"]))
    )
    reference = Reference(values, scale, loss_scale, params["tiny"])
    if neuron.loss == CROSS_ENTROPY:
        return cross_entropy_neuron(reference, (k for k in values if k.startswith("global.")))
    return reference


def cross_entropy_neuron(
    reference: Reference,
    gradients: Iterable[str],
    output: str = "output",
    target: str = "target",
    slopes: tuple[str, ...] = ("local.output", "global.output"),
    local_net: str = "local.net",
) -> Reference:
    """``reference`` (a one-output neuron's or network's quantities, a sigmoid output with
    binary cross-entropy) with the tolerances its ``ln(1 - y)`` and ``y (1 - y)`` need
    (``sheetgen.maths.losses``): each cell's conditioning, and for the faux gradients the
    loss's rounding, nudged passes included. ``gradients``: the chain rule's cells below
    ``d loss / d output`` (global.net, global.weight...); ``output``, ``target``, ``slopes``
    (d loss / d output) and ``local_net`` (d output / d net): the sheet's names for them."""
    values, scale = reference.values, reference.value_scale
    roles = {"loss": ["loss"], "local.output": list(slopes), "local.net": [local_net]}
    growth = bce_growths(values, scale, output, target, roles)
    growth |= bce_growths(values, scale, output, target, {}, tuple(gradients))
    loss_scale = reference.loss_scale
    for key in values:
        if not key.endswith(".gradient"):
            continue
        head = key[: -len("gradient")]  # nudge.X.
        worst = 0.0
        for prefix in ("", head, head + "down."):
            if prefix + "loss" not in values:
                continue
            y = prefix + output if prefix + output in values else output
            t = prefix + target if prefix + target in values else target
            growth |= bce_growths(values, scale, y, t, {"loss": [prefix + "loss"]})
            rounding = bce_loss_rounding(values, scale, prefix + "loss", y, t)
            loss_scale = max(loss_scale, rounding)
            # What ill-conditioning adds (the rest the faux tolerance always held).
            worst = max(worst, rounding - abs(values[prefix + "loss"]) - scale)
        faux = worst / abs(reference.tiny)
        # Unchecked only where ill-conditioning, not the small Tiny every layout allows, rules.
        if worst > max(reference.loss_scale, scale) and unresolved(faux, values[key], scale):
            growth[key] = growth[head + "distance"] = math.inf
    return replace(reference, loss_scale=loss_scale, conditioning=growth)


_STEP_NUMBER = re.compile(r"step(\d+)\.number")


def cross_entropy_steps(
    reference: Reference,
    output: str,
    target: str,
    slopes: tuple[str, ...],
    local_net: str,
    passes: Callable[[int], Sequence[str]] | None = None,
) -> Reference:
    """A training run's ``reference`` whose output is a sigmoid with binary cross-entropy, with
    each step's cells conditioned as :func:`cross_entropy_neuron` conditions a sheet's:
    ``step{k}.`` + ``output``, ``slopes`` (d loss / d output), ``local_net`` (d output / d
    net) and the loss; ``target`` the parameter. The chain rule's cells and the updates below
    them are unresolved with a step whose output may round to 1, and so is every later step
    (the sheet's parameters are errors from there).

    ``passes(k)``: where step k's passes are, under ``step{k}.`` (a data set's examples,
    ``example1.``...; one pass, "", by default). A pass's target is its own ``target`` where
    it has one (an example's), else the parameter. With several, ``step{k}.loss`` is their
    mean, which carries the mean of what each pass's loss may (the step's cells below a pass
    whose output may round to 1 are unresolved, and every later step)."""
    values, scale = reference.values, reference.value_scale
    growth = dict(reference.conditioning)
    steps, quantities = _steps(values)
    lost = False
    for k in steps:
        s = f"step{k}."
        mine = quantities(k)
        if lost:
            growth |= {q: math.inf for q in mine if not q.endswith(".number")}
            continue
        heads = list(passes(k)) if passes is not None else [""]
        losses = []
        for head in heads:
            p = s + head
            roles = {
                "loss": [p + "loss"],
                "local.output": [p + q for q in slopes],
                "local.net": [p + local_net],
            }
            t = p + target if p + target in values else target
            growth |= bce_growths(values, scale, p + output, t, roles)
            extra = bce_conditioning(values[p + output], values[t], scale)
            losses.append(extra["loss"])
            if math.isinf(extra.get("global", 0.0)):
                lost = True
                growth |= {q: math.inf for q in mine if q.startswith(p) and _below(q[len(p) :])}
        if heads != [""]:
            mean = math.fsum(losses) / len(losses)
            growth[s + "loss"] = growth_for(mean, values[s + "loss"], scale)
        if lost:
            growth |= {q: math.inf for q in mine if _below(q[len(s) :])}
    return replace(reference, conditioning=growth)


def _steps(values: Mapping[str, float]) -> tuple[list[int], Callable[[int], list[str]]]:
    """The steps of a run's ``values`` (those with a ``step{k}.number``) in order, and each
    one's quantities: a :class:`Steps`' named step by step, a dict's grouped in one pass."""
    if isinstance(values, Steps):
        held = values
        steps = [k for k in range(1, held.count + 1) if "number" in held.leaves(k)]
        return steps, lambda k: [f"step{k}.{leaf}" for leaf in held.leaves(k)]
    by_step: dict[str, list[str]] = {}
    for q in values:
        head, dot, _ = q.partition(".")
        if dot and head.startswith("step"):
            by_step.setdefault(head + ".", []).append(q)
    steps = sorted(int(m[1]) for key in values if (m := _STEP_NUMBER.fullmatch(key)))
    return steps, lambda k: by_step.get(f"step{k}.", [])


def _below(leaf: str) -> bool:
    """Whether a pass's or step's quantity ``leaf`` is computed through d loss / d output."""
    return leaf.startswith(("global.", "new.")) or leaf.split(".")[0] in STATES
