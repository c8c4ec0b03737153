"""The reference neuron with N inputs, in plain Python, independent of any spreadsheet.

The article's :class:`~sheetgen.maths.neuron.Neuron` has one input; the series' first article
has two. This neuron has any number, and names its quantities so that with one input they
are exactly the article's (``input``, ``weight``, ``local.input``, ``nudge.input.loss``...)
and with N > 1 they are numbered: ``input1`` .. ``inputN``, ``weight1`` .. ``weightN``,
``global.weight2``, ``nudge.input3.gradient``. It reuses the activation and loss
definitions of :mod:`sheetgen.maths.neuron` (maths, not sheet formulas) and adds, for each faux
gradient, ``nudge.X.distance = |faux - real|``: what nudging by a finite Tiny costs.

Like the article's program it knows nothing of cells or formulas; the tests hold it to an
independent high-precision oracle and to :class:`Neuron` where the two overlap.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from .neuron import ACTIVATIONS, LOSSES, Difference, flat_quantities, nudged


def suffixes(n: int) -> tuple[str, ...]:
    """How inputs are numbered: ``("",)`` for one input (the article's names), else 1..N."""
    return ("",) if n == 1 else tuple(str(k) for k in range(1, n + 1))


@dataclass(frozen=True)
class MultiNeuron:
    """``output = activation(sum(inputs[k] * weights[k]) + bias)``; ``loss = L(output - target)``.

    Tuples, not lists, so that a neuron is hashable and cannot change under a test.
    """

    inputs: tuple[float, ...]
    weights: tuple[float, ...]
    bias: float
    target: float
    activation: str = "tanh"
    loss: str = "half-squared"

    def __post_init__(self) -> None:
        if not self.inputs or len(self.inputs) != len(self.weights):
            raise ValueError("a neuron needs as many weights as inputs, and at least one")
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"unknown activation {self.activation!r}")
        if self.loss not in LOSSES:
            raise ValueError(f"unknown loss {self.loss!r}")
        needs = LOSSES[self.loss].output_activation
        if needs not in (None, self.activation):
            raise ValueError(f"the {self.loss} loss needs a {needs} output, not {self.activation}")

    @classmethod
    def from_parameters(
        cls, params: Mapping[str, float], activation: str = "tanh", loss: str = "half-squared"
    ) -> MultiNeuron:
        """The neuron whose parameters are named as in a sheet (``input`` or ``input1``...)."""
        n = 1 if "input" in params else sum(1 for k in params if k.startswith("input"))
        sx = suffixes(n)
        return cls(
            tuple(params[f"input{s}"] for s in sx),
            tuple(params[f"weight{s}"] for s in sx),
            params["bias"],
            params["target"],
            activation,
            loss,
        )

    @property
    def suffixes(self) -> tuple[str, ...]:
        return suffixes(len(self.inputs))

    @property
    def nudgeable(self) -> tuple[str, ...]:
        """What the faux rows nudge, from the loss backwards as in the article."""
        sx = self.suffixes
        return ("output", "net", "bias", *(f"weight{s}" for s in sx), *(f"input{s}" for s in sx))

    def parameters(self) -> dict[str, float]:
        sx = self.suffixes
        return (
            {f"input{s}": x for s, x in zip(sx, self.inputs, strict=True)}
            | {f"weight{s}": w for s, w in zip(sx, self.weights, strict=True)}
            | {"bias": self.bias, "target": self.target}
        )

    def forward(self, **nudged: float) -> dict[str, float]:
        """The forward pass; a keyword overrides that node (``net``/``output`` skip the steps
        before them, as the article's faux rows for the output and the net do)."""
        act, loss = ACTIVATIONS[self.activation], LOSSES[self.loss]
        values = {k: nudged.get(k, v) for k, v in self.parameters().items()}
        net = 0.0
        for s in self.suffixes:
            net += values[f"input{s}"] * values[f"weight{s}"]
        net = nudged.get("net", net + values["bias"])
        out = nudged.get("output", act.forward(net))
        err = out - self.target
        return values | {
            "net": net,
            "output": out,
            "error": err,
            "loss": loss.forward(out, self.target),
        }

    def gradients(self) -> dict[str, float]:
        """Each step's local derivative, then the chain rule from the loss back to each input."""
        act, loss = ACTIVATIONS[self.activation], LOSSES[self.loss]
        f = self.forward()
        d_output = loss.derivative(f["output"], self.target)  # d loss / d output
        local_net = act.derivative(f["net"], f["output"])
        d_net = local_net * d_output
        out = {
            "local.bias": 1.0,
            "local.net": local_net,
            "local.output": d_output,
            "global.output": d_output,
            "global.net": d_net,
            "global.bias": d_net,
        }
        for s, x, w in zip(self.suffixes, self.inputs, self.weights, strict=True):
            out[f"local.input{s}"] = w  # d net / d input_k = weight_k
            out[f"local.weight{s}"] = x  # d net / d weight_k = input_k
            out[f"global.input{s}"] = w * d_net
            out[f"global.weight{s}"] = x * d_net
        return out

    def faux_gradients(self, tiny: float, difference: Difference = "forward") -> dict[str, float]:
        """Every nudged forward pass, its finite-difference slope and that slope's distance
        from the real gradient."""
        base = self.forward()
        real = self.gradients()
        out: dict[str, float] = {}
        for name in self.nudgeable:
            out |= nudged(self.forward, base, name, tiny, difference)
            slope = out[f"nudge.{name}.gradient"]
            out[f"nudge.{name}.distance"] = abs(slope - real[f"global.{name}"])
        return out

    def quantities(
        self, tiny: float = 0.0001, difference: Difference = "forward"
    ) -> dict[str, float]:
        """Every named quantity a variant's sheet may show, as one flat mapping."""
        return flat_quantities(self, tiny, difference)
