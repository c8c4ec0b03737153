"""The network sheet: every neuron as the article's three rows, layer under layer.

Each neuron gets a block like the single-neuron sheet: its forward row (inputs, weights,
bias, net, output, and for output neurons target and error), its local gradients, and its
global gradients. A hidden neuron's ``d loss / d output`` adds the ``d loss / d input`` cells
of the next layer's neurons, so following a formula back from the loss walks the chain rule
layer by layer. Below, one row per weight and bias re-runs the part of the forward pass it
moves with that parameter nudged by Tiny: the faux gradient, beside the real one.

Spec: ``network:layers=2-3-1,activation=tanh,loss=half-squared``.
"""

from __future__ import annotations

from collections.abc import Mapping

from ..maths.models import Reference
from ..maths.network import (
    Network,
    affected,
    bias,
    default_parameters,
    input_name,
    layers_text,
    learnable,
    neuron,
    parse_layers,
    target_name,
    weight,
)
from .grid import Grid, activation_formulas, loss_formulas
from .layout import Layout, generated_family

DEFAULT_LAYERS = "2-3-1"
OPTIONS = ("layers", "activation", "loss")


@generated_family("network", OPTIONS)
def network_layout(options: dict[str, str]) -> Layout:
    """The layout for ``network:layers=...``."""
    sizes = parse_layers(options.get("layers", DEFAULT_LAYERS))
    activation = options.get("activation", "tanh")
    loss = options.get("loss", "half-squared")
    act_out, act_slope = activation_formulas(activation)
    loss_value, loss_slope = loss_formulas(loss)
    depth = len(sizes) - 1
    fan = max(sizes[:-1])

    def col_in(i: int) -> int:
        return 1 + i

    def col_w(i: int) -> int:
        return 1 + fan + i

    col_bias, col_net, col_out, col_target, col_error = (2 + 2 * fan + k for k in range(5))

    g = Grid()
    g.text(1, 1, f"Network {layers_text(sizes)} ({activation})", "label")
    for i in range(1, sizes[0] + 1):
        g.text(1 + i, 2, f"Input {i}")
        g.input(1 + i, 3, input_name(i), f"Network input {i}. Edit it: everything below follows.")
    first_target = 2 + sizes[0]
    for j in range(1, sizes[-1] + 1):
        g.text(first_target + j - 1, 2, f"Target {j}")
        g.input(first_target + j - 1, 3, target_name(j), f"What output {j} should have been.")
    tiny_col = first_target + sizes[-1]
    g.text(tiny_col, 2, "Tiny")
    g.input(tiny_col, 3, "tiny", "Tiny: the nudge of the faux gradients (defined name 'Tiny').")
    g.text(1, 3, "Network inputs:", "label")

    row = 5
    for layer in range(1, depth + 1):
        fan_in = sizes[layer - 1]
        kind = "output" if layer == depth else "hidden"
        g.text(1, row, f"Layer {layer} ({kind})", "label")
        for i in range(1, fan_in + 1):
            g.text(col_in(i), row, f"In {i}")
            g.text(col_w(i), row, f"Weight {i}")
        for col, head in ((col_bias, "Bias"), (col_net, "Net"), (col_out, "Output")):
            g.text(col, row, head)
        if layer == depth:
            g.text(col_target, row, "Target")
            g.text(col_error, row, "Error")
        row += 1
        for j in range(1, sizes[layer] + 1):
            n = neuron(layer, j)
            g.notes = j == 1
            fwd, loc, glo = row, row + 1, row + 2
            g.text(1, fwd, f"{n} maths:", "label")
            g.text(1, loc, f"{n} local gradients:", "label")
            g.text(1, glo, f"{n} global gradients:", "label")
            terms = []
            for i in range(1, fan_in + 1):
                w = weight(layer, j, i)
                source = input_name(i) if layer == 1 else f"{neuron(layer - 1, i)}.output"
                g.formula(
                    col_in(i), fwd, f"{n}.input{i}", f"={{{source}}}", f"Input {i}: {source}."
                )
                g.input(col_w(i), fwd, w, f"Weight {w}: from input {i} into {n}. Edit it.")
                terms.append(f"{{{n}.input{i}}}*{{{w}}}")
                g.formula(
                    col_in(i), loc, f"local.{n}.input{i}", f"={{{w}}}", "d net / d input = weight."
                )
                g.formula(
                    col_w(i), loc, f"local.{w}", f"={{{n}.input{i}}}", "d net / d weight = input."
                )
                g.formula(
                    col_in(i),
                    glo,
                    f"global.{n}.input{i}",
                    f"={{local.{n}.input{i}}}*{{global.{n}.net}}",
                    "d loss / d input = (d net / d input) * (d loss / d net).",
                )
                g.formula(
                    col_w(i),
                    glo,
                    f"global.{w}",
                    f"={{local.{w}}}*{{global.{n}.net}}",
                    "d loss / d weight = (d net / d weight) * (d loss / d net).",
                )
            b = bias(layer, j)
            g.input(col_bias, fwd, b, f"Bias of {n}. Edit it.")
            g.formula(
                col_net,
                fwd,
                f"{n}.net",
                "=" + "+".join(terms) + f"+{{{b}}}",
                "Net = Σ input * weight + bias.",
            )
            g.formula(
                col_out,
                fwd,
                f"{n}.output",
                "=" + act_out.replace("{net}", f"{{{n}.net}}"),
                f"Output = {activation}(net).",
            )
            g.value(col_bias, loc, f"local.{b}", 1.0, "d net / d bias = 1.")
            slope = act_slope.replace("{net}", f"{{{n}.net}}").replace(
                "{output}", f"{{{n}.output}}"
            )
            g.formula(col_net, loc, f"local.{n}.net", "=" + slope, "d output / d net.")
            g.formula(
                col_bias,
                glo,
                f"global.{b}",
                f"={{global.{n}.net}}",
                "d loss / d bias = d loss / d net.",
            )
            g.formula(
                col_net,
                glo,
                f"global.{n}.net",
                f"={{local.{n}.net}}*{{global.{n}.output}}",
                "d loss / d net = (d output / d net) * (d loss / d output).",
            )
            if layer == depth:
                g.formula(col_target, fwd, f"{n}.target", f"={{{target_name(j)}}}", "The target.")
                g.formula(
                    col_error,
                    fwd,
                    f"{n}.error",
                    f"={{{n}.output}}-{{{n}.target}}",
                    "Error = output - target.",
                )
                g.formula(
                    col_out,
                    loc,
                    f"local.{n}.output",
                    "=" + loss_slope.replace("{error}", f"{{{n}.error}}"),
                    "d loss / d output (the loss's slope at this error).",
                )
                g.formula(
                    col_out,
                    glo,
                    f"global.{n}.output",
                    f"={{local.{n}.output}}",
                    "d loss / d output: the loss is the last step, so global = local.",
                )
            else:
                nxt = [
                    f"{{global.{neuron(layer + 1, k)}.input{j}}}"
                    for k in range(1, sizes[layer + 1] + 1)
                ]
                g.formula(
                    col_out,
                    glo,
                    f"global.{n}.output",
                    "=" + "+".join(nxt),
                    f"d loss / d output: the sum of d loss / d input {j} of every neuron in layer "
                    f"{layer + 1}, the chain rule across layers.",
                )
            row += 3
    g.notes = True
    g.text(1, row, "Loss:", "label")
    errors = [
        loss_value.replace("{error}", f"{{{neuron(depth, j)}.error}}")
        for j in range(1, sizes[-1] + 1)
    ]
    g.formula(
        2,
        row,
        "loss",
        "=" + "+".join(errors),
        f"Loss: the {loss} loss of every output's error, added.",
    )
    row += 2

    # Faux gradients: one row per weight and bias, re-running what it moves.
    g.text(1, row, "Faux gradients", "label")
    g.text(2, row, "Nudged")
    col_of: dict[str, int] = {}
    col = 3
    for layer in range(1, depth + 1):
        for j in range(1, sizes[layer] + 1):
            n = neuron(layer, j)
            g.text(col, row, f"{n} net")
            g.text(col + 1, row, f"{n} output")
            col_of[n] = col
            col += 2
    col_err = col
    for j in range(1, sizes[-1] + 1):
        g.text(col_err + j - 1, row, f"Error {j}")
    col_loss = col_err + sizes[-1]
    g.text(col_loss, row, "Loss")
    g.text(col_loss + 1, row, "Faux gradient")
    g.text(col_loss + 2, row, "Real gradient")
    row += 1
    for count, (name, layer, j) in enumerate(learnable(sizes)):
        g.notes = count == 0
        p = f"nudge.{name}."
        g.text(1, row, f"Faux gradient of '{name}':", "label")
        g.formula(2, row, p + name, f"={{{name}}}+Tiny", f"{name}, nudged up by Tiny.")
        moved = set(affected(sizes, layer, j))

        def value_of(q: str, moved: set[str] = moved, p: str = p) -> str:
            n = q.partition(".")[0]
            return f"{{{p}{q}}}" if n in moved else f"{{{q}}}"

        for n in affected(sizes, layer, j):
            lay, k = (int(s) for s in n[1:].split("_"))
            terms = []
            for i in range(1, sizes[lay - 1] + 1):
                w = weight(lay, k, i)
                x = (
                    f"{{{n}.input{i}}}"
                    if lay == layer
                    else value_of(f"{neuron(lay - 1, i)}.output")
                )
                terms.append(f"{x}*{{{p + w if w == name else w}}}")
            b = bias(lay, k)
            b_ref = f"{{{p + b}}}" if b == name else f"{{{b}}}"
            g.formula(col_of[n], row, f"{p}{n}.net", "=" + "+".join(terms) + "+" + b_ref)
            g.formula(
                col_of[n] + 1,
                row,
                f"{p}{n}.output",
                "=" + act_out.replace("{net}", f"{{{p}{n}.net}}"),
            )
        errs = []
        for k in range(1, sizes[-1] + 1):
            n = neuron(depth, k)
            if n not in moved:  # an output this parameter cannot move keeps its error
                errs.append(loss_value.replace("{error}", f"{{{n}.error}}"))
                continue
            g.formula(
                col_err + k - 1, row, f"{p}{n}.error", f"={{{p}{n}.output}}-{{{target_name(k)}}}"
            )
            errs.append(loss_value.replace("{error}", f"{{{p}{n}.error}}"))
        g.formula(
            col_loss, row, p + "loss", "=" + "+".join(errs), "Loss with the nudged parameter."
        )
        g.formula(
            col_loss + 1,
            row,
            p + "gradient",
            f"=({{{p}loss}}-{{loss}})/Tiny",
            f"Faux d loss / d {name}: how much the loss moved, per unit of nudge.",
        )
        g.formula(
            col_loss + 2, row, p + "real", f"={{global.{name}}}", "The real gradient, to compare."
        )
        row += 1

    spec = f"network:layers={layers_text(sizes)},activation={activation},loss={loss}"
    return g.layout(
        name="network",
        title=f"Gradients for a network of neurons ({layers_text(sizes)})",
        sheet="Network",
        description="A network of neurons: forward pass, local and global gradients per "
        "neuron, faux gradients for every weight and bias.",
        defaults=default_parameters(sizes),
        settings={
            "model": "network",
            "layers": layers_text(sizes),
            "activation": activation,
            "loss": loss,
        },
        spec=spec,
        names={"Tiny": "tiny"},
    )


def network_model(params: Mapping[str, float], settings: Mapping[str, str]) -> Reference:
    """The reference network for a sheet's parameters, with magnitudes for the tolerances.

    ``value_scale`` bounds what a forward or backward sum rounds: the largest of the
    parameters and of ``Σ |input * weight| + |bias|`` over neurons, times the depth (each
    layer adds its own rounding to what it receives). ``loss_scale`` bounds the rounding a
    loss carries: ``|loss|``, ``Σ |error| (|output| + |target|)`` and ``Σ |error| *
    value_scale`` (an output rounded by ``eps * value_scale`` moves the loss by that much).
    """
    sizes = parse_layers(settings.get("layers", DEFAULT_LAYERS))
    net = Network(
        sizes, params, settings.get("activation", "tanh"), settings.get("loss", "half-squared")
    )
    values = net.quantities(params["tiny"])
    sums = [
        sum(
            abs(values[f"{neuron(layer, j)}.input{i}"] * params[weight(layer, j, i)])
            for i in range(1, sizes[layer - 1] + 1)
        )
        + abs(params[bias(layer, j)])
        for layer in range(1, len(sizes))
        for j in range(1, sizes[layer] + 1)
    ]
    scale = max(1.0, *(abs(v) for v in params.values()), *sums) * net.depth
    errors = [abs(values[f"{neuron(net.depth, j)}.error"]) for j in range(1, sizes[-1] + 1)]
    loss_scale = max(
        abs(values["loss"]),
        sum(
            e * (abs(values[f"{neuron(net.depth, j)}.output"]) + abs(params[target_name(j)]))
            for j, e in enumerate(errors, start=1)
        ),
        sum(errors) * scale,
    )
    return Reference(values, scale, loss_scale, params["tiny"])


def usage() -> tuple[str, str]:
    """The family's spec pattern and one-line description, for ``sheetgen templates``."""
    return (
        "network:layers=2-3-1,activation=tanh|sigmoid|relu|linear,loss=half-squared|squared",
        "A network of neurons: forward values, local and backpropagated gradients, faux gradients.",
    )
