"""A network's faux rows written as templates and resolved one formula at a time: how
``sheetgen.layouts.network`` wrote them before it wrote them resolved (``_FauxRows``), kept here
alone as what the fast way must equal (``tests/test_network_faux_rows.py``).

Each formula is the template text naming quantities (``={nudge.w1_1_1.n1_1.output}*{w2_1_1}``),
handed to ``Grid.formula``, which resolves it as a template's formula is resolved.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import sheetgen.layouts.network as network
from sheetgen.maths.network import affected, bias, input_name, neuron, target_name, weight


class TemplatedFauxRows:
    """What ``_FauxRows`` is to ``_faux_gradients``, its rows written as templates."""

    def __init__(self, d: Any, col_of: Mapping[str, int], col_err: int, col_loss: int) -> None:
        self.d, self.col_of, self.col_err, self.col_loss = d, col_of, col_err, col_loss
        self.sums = _Sums(d.sizes)

    def row(self, row: int, name: str, layer: int, j: int) -> None:
        _faux_row(self.d, row, name, layer, j, self.col_of, self.col_err, self.col_loss, self.sums)


class _Sums:
    """Each neuron's weighted sum as the faux rows write it, term by term, before a nudge."""

    def __init__(self, sizes: Sequence[int]) -> None:
        self.sizes = sizes
        self._made: dict[tuple[int, int, bool], list[tuple[str, str, str, str]]] = {}

    def of(self, layer: int, k: int, own: bool) -> list[tuple[str, str, str, str]]:
        key = (layer, k, own)
        if key not in self._made:
            n, made = neuron(layer, k), []
            for i in range(1, self.sizes[layer - 1] + 1):
                w = weight(layer, k, i)
                source = n if own else neuron(layer - 1, i)
                x = f"{n}.input{i}" if own else f"{source}.output"
                made.append((w, x, source, f"{{{x}}}*{{{w}}}"))
            self._made[key] = made
        return self._made[key]


def _faux_row(
    d: Any,
    row: int,
    name: str,
    layer: int,
    j: int,
    col_of: Mapping[str, int],
    col_err: int,
    col_loss: int,
    sums: _Sums,
) -> None:
    g, sizes, depth = d.g, d.sizes, d.depth
    p = f"nudge.{name}."
    g.text(1, row, f"Faux gradient of '{name}':", "label")
    g.formula(2, row, p + name, f"={{{name}}}+Tiny", f"{name}, nudged up by Tiny.")
    moved = set(affected(sizes, layer, j))

    for n in affected(sizes, layer, j):
        lay, k = (int(s) for s in n[1:].split("_"))
        own = lay == layer
        terms = []
        for w, x, source, term in sums.of(lay, k, own):
            nudged = not own and source in moved
            if nudged or w == name:
                term = f"{{{p + x if nudged else x}}}*{{{p + w if w == name else w}}}"
            terms.append(term)
        b = bias(lay, k)
        b_ref = f"{{{p + b}}}" if b == name else f"{{{b}}}"
        g.formula(col_of[n], row, f"{p}{n}.net", "=" + "+".join(terms) + "+" + b_ref)
        g.formula(col_of[n] + 1, row, f"{p}{n}.output", "=" + _faux_output(d, lay, n, p, moved))
    errs = []
    for k in range(1, sizes[-1] + 1):
        n = neuron(depth, k)
        if n not in moved:
            errs.append(d.fx.loss_of(f"{{{n}.error}}", f"{{{n}.output}}", f"{{{n}.target}}"))
            continue
        g.formula(col_err + k - 1, row, f"{p}{n}.error", f"={{{p}{n}.output}}-{{{target_name(k)}}}")
        errs.append(
            d.fx.loss_of(f"{{{p}{n}.error}}", f"{{{p}{n}.output}}", f"{{{target_name(k)}}}")
        )
    if d.fx.softmax:
        nets = _nudged_nets(d, p, moved)
        top = f"MAX({','.join(nets)})"
        total = "+".join(f"EXP({z}-{top})" for z in nets)
        errs = [_softmax_loss(nets, top, total)]
    g.formula(col_loss, row, p + "loss", "=" + "+".join(errs), "Loss with the nudged parameter.")
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


def _softmax_loss(nets: list[str], top: str, total: str) -> str:
    dot = "+".join(f"{{{target_name(j)}}}*{z}" for j, z in enumerate(nets, start=1))
    return f"{top}+LN({total})-({dot})"


def _nudged_nets(d: Any, p: str, moved: set[str]) -> list[str]:
    outputs = (neuron(d.depth, k) for k in range(1, d.sizes[-1] + 1))
    return [f"{{{p}{n}.net}}" if n in moved else f"{{{n}.net}}" for n in outputs]


def _faux_output(d: Any, layer: int, n: str, p: str, moved: set[str]) -> str:
    if layer < d.depth or not d.fx.softmax:
        act = d.fx.act_out if layer < d.depth else d.fx.out_act
        return str(act.replace("{net}", f"{{{p}{n}.net}}"))
    nets = _nudged_nets(d, p, moved)
    top = f"MAX({','.join(nets)})"
    total = "+".join(f"EXP({z}-{top})" for z in nets)
    return f"EXP({{{p}{n}.net}}-{top})/({total})"


def templated_neuron(d: Any, layer: int, j: int, fwd: int) -> None:
    """What ``network._neuron`` is to ``_layer``: a neuron's three rows, as templates."""
    g, c = d.g, d.cols
    fan_in = d.sizes[layer - 1]
    n = neuron(layer, j)
    g.notes = j == 1
    loc, glo = fwd + 1, fwd + 2
    g.text(1, fwd, f"{n} maths:", "label")
    g.text(1, loc, f"{n} local gradients:", "label")
    g.text(1, glo, f"{n} global gradients:", "label")
    terms = []
    for i in range(1, fan_in + 1):
        w = weight(layer, j, i)
        source = input_name(i) if layer == 1 else f"{neuron(layer - 1, i)}.output"
        g.formula(c.input(i), fwd, f"{n}.input{i}", f"={{{source}}}", f"Input {i}: {source}.")
        g.input(c.weight(i), fwd, w, f"Weight {w}: from input {i} into {n}. Edit it.")
        terms.append(f"{{{n}.input{i}}}*{{{w}}}")
        g.formula(c.input(i), loc, f"local.{n}.input{i}", f"={{{w}}}", "d net / d input = weight.")
        g.formula(c.weight(i), loc, f"local.{w}", f"={{{n}.input{i}}}", "d net / d weight = input.")
        g.formula(
            c.input(i),
            glo,
            f"global.{n}.input{i}",
            f"={{local.{n}.input{i}}}*{{global.{n}.net}}",
            "d loss / d input = (d net / d input) * (d loss / d net).",
        )
        g.formula(
            c.weight(i),
            glo,
            f"global.{w}",
            f"={{local.{w}}}*{{global.{n}.net}}",
            "d loss / d weight = (d net / d weight) * (d loss / d net).",
        )
    b = bias(layer, j)
    g.input(c.bias, fwd, b, f"Bias of {n}. Edit it.")
    g.formula(
        c.net,
        fwd,
        f"{n}.net",
        "=" + "+".join(terms) + f"+{{{b}}}",
        "Net = Σ input * weight + bias.",
    )
    last = layer == d.depth
    name, act, act_slope = d.fx.activation, d.fx.act_out, d.fx.act_slope
    if last:
        name, act, act_slope = d.fx.output, d.fx.out_act, d.fx.out_slope
    g.value(c.bias, loc, f"local.{b}", 1.0, "d net / d bias = 1.")
    g.formula(
        c.bias, glo, f"global.{b}", f"={{global.{n}.net}}", "d loss / d bias = d loss / d net."
    )
    if last and d.fx.softmax:
        network._softmax_neuron(d, n, j, fwd)
        return
    g.formula(
        c.output,
        fwd,
        f"{n}.output",
        "=" + act.replace("{net}", f"{{{n}.net}}"),
        f"Output = {name}(net).",
    )
    slope = act_slope.replace("{net}", f"{{{n}.net}}").replace("{output}", f"{{{n}.output}}")
    g.formula(c.net, loc, f"local.{n}.net", "=" + slope, "d output / d net.")
    g.formula(
        c.net,
        glo,
        f"global.{n}.net",
        f"={{local.{n}.net}}*{{global.{n}.output}}",
        "d loss / d net = (d output / d net) * (d loss / d output).",
    )
    if last:
        network._output_neuron(d, n, j, fwd)
    else:
        nxt = [
            f"{{global.{neuron(layer + 1, k)}.input{j}}}" for k in range(1, d.sizes[layer + 1] + 1)
        ]
        g.formula(
            c.output,
            glo,
            f"global.{n}.output",
            "=" + "+".join(nxt),
            f"d loss / d output: the sum of d loss / d input {j} of every neuron in layer "
            f"{layer + 1}, the chain rule across layers.",
        )
