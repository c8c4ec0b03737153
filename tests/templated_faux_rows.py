"""A network's faux rows written as templates and resolved one formula at a time: how
``sheetgen.layouts.network`` wrote them before it wrote them resolved (``_FauxRows``), kept here
alone as what the fast way must equal (``tests/test_network_faux_rows.py``).

Each formula is the template text naming quantities (``={nudge.w1_1_1.n1_1.output}*{w2_1_1}``),
handed to ``Grid.formula``, which resolves it as a template's formula is resolved.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sheetgen.maths.network import affected, bias, neuron, target_name, weight


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
