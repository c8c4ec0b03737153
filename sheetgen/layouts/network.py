"""The network sheet: every neuron as the article's three rows, layer under layer.

Each neuron gets a block like the single-neuron sheet: its forward row (inputs, weights,
bias, net, output, and for output neurons target and error), its local gradients, and its
global gradients. A hidden neuron's ``d loss / d output`` adds the ``d loss / d input`` cells
of the next layer's neurons, so following a formula back from the loss walks the chain rule
layer by layer. Below, one row per weight and bias re-runs the part of the forward pass it
moves with that parameter nudged by Tiny: the faux gradient, beside the real one.

Spec: ``network:layers=2-3-1,activation=tanh,loss=half-squared`` (and ``faux=``, which weights
and biases get a faux row: ``all``, the default; ``none``; a number N, a fixed sample of N; or
names joined by ``+``, ``w1_1_1+b2_1``). A wide network's faux rows are most of its cells, so
fewer of them make a large network a sheet one can open, and check, in seconds.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from ..maths.losses import CROSS_ENTROPY, default_targets, softmax_rounding
from ..maths.models import Reference, cross_entropy_neuron
from ..maths.network import (
    Network,
    bias,
    default_parameters,
    faux_sample,
    input_name,
    layers_text,
    learnable,
    neuron,
    parse_faux,
    parse_layers,
    target_name,
    weight,
)
from .grid import SOFTMAX_NOTE, Grid, NetworkSheet, at, functions, title
from .layout import Layout, generated_family

DEFAULT_LAYERS = "2-3-1"
OPTIONS = ("layers", "activation", "loss", "faux")


@dataclass(frozen=True)
class _Columns:
    """Where a layer block puts each quantity (inputs and weights side by side, then the rest)."""

    fan: int  # the widest layer's fan-in

    def input(self, i: int) -> int:
        return 1 + i

    def weight(self, i: int) -> int:
        return 1 + self.fan + i

    @property
    def bias(self) -> int:
        return 2 + 2 * self.fan

    @property
    def net(self) -> int:
        return self.bias + 1

    @property
    def output(self) -> int:
        return self.bias + 2

    @property
    def target(self) -> int:
        return self.bias + 3

    @property
    def error(self) -> int:
        return self.bias + 4


@dataclass(frozen=True)
class _Net(NetworkSheet):
    """A network sheet's shape and functions, and where its blocks' columns go."""

    cols: _Columns


@generated_family("network", OPTIONS)
def network_layout(options: dict[str, str]) -> Layout:
    """The layout for ``network:layers=...``."""
    sizes = parse_layers(options.get("layers", DEFAULT_LAYERS))
    fx = functions(options, sizes[-1])
    activation, loss = fx.activation, fx.loss
    chosen = parse_faux(options.get("faux", "all"), sizes)
    faux = faux_text(options.get("faux", "all"), chosen)
    d = _Net(Grid(), sizes, fx, _Columns(max(sizes[:-1])))
    _parameters(d)
    row = 5
    for layer in range(1, d.depth + 1):
        row = _layer(d, layer, row)
    row = _loss_row(d, row)
    _faux_gradients(d, row, chosen)
    spec = f"network:layers={layers_text(sizes)},activation={activation},loss={loss}"
    spec += f",faux={faux}" if faux != "all" else ""
    return d.g.layout(
        name="network",
        title=f"Gradients for a network of neurons ({layers_text(sizes)})",
        sheet="Network",
        description="A network of neurons: forward pass, local and global gradients per "
        "neuron, faux gradients for every weight and bias.",
        defaults=default_parameters(sizes) | classifier_targets(loss, sizes[-1]),
        settings={
            "model": "network",
            "layers": layers_text(sizes),
            "activation": activation,
            "loss": loss,
            "faux": faux,
        }
        | ({"output": fx.output} if fx.output != activation else {}),
        spec=spec,
        names={"Tiny": "tiny"},
    )


def classifier_targets(loss: str, outputs: int) -> dict[str, float]:
    """A cross-entropy network's starting targets (class 1), none for another loss."""
    return default_targets(outputs) if loss == CROSS_ENTROPY else {}


def faux_text(given: str, chosen: tuple[str, ...] | None) -> str:
    """The canonical ``faux=`` of a spec: ``all``, ``none``, the sample's size, or the names."""
    if chosen is None:
        return "all"
    if not chosen:
        return "none"
    given = given.strip()
    return given if given.isdigit() else "+".join(chosen)


def _parameters(d: _Net) -> None:
    """The title, and the row of the network's inputs, targets and Tiny."""
    g, sizes = d.g, d.sizes
    g.text(1, 1, title(f"Network {layers_text(sizes)} ({d.fx.activation})", d.fx), "label")
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


def _layer(d: _Net, layer: int, row: int) -> int:
    """One layer: its header row, then three rows per neuron; returns the next free row."""
    g, c = d.g, d.cols
    fan_in = d.sizes[layer - 1]
    kind = "output" if layer == d.depth else "hidden"
    g.text(1, row, f"Layer {layer} ({kind})", "label")
    for i in range(1, fan_in + 1):
        g.text(c.input(i), row, f"In {i}")
        g.text(c.weight(i), row, f"Weight {i}")
    for col, head in ((c.bias, "Bias"), (c.net, "Net"), (c.output, "Output")):
        g.text(col, row, head)
    if layer == d.depth:
        g.text(c.target, row, "Target")
        g.text(c.error, row, "Error")
    row += 1
    for j in range(1, d.sizes[layer] + 1):
        _neuron(d, layer, j, row)
        row += 3
    return row


def _neuron(d: _Net, layer: int, j: int, fwd: int) -> None:
    """A neuron's three rows: its maths, its local gradients, its global gradients."""
    g, c = d.g, d.cols
    fan_in = d.sizes[layer - 1]
    n = neuron(layer, j)
    g.notes = j == 1
    loc, glo = fwd + 1, fwd + 2
    g.text(1, fwd, f"{n} maths:", "label")
    g.text(1, loc, f"{n} local gradients:", "label")
    g.text(1, glo, f"{n} global gradients:", "label")
    # Written resolved (Grid.said): what each reads is in this block, at known columns, or
    # placed above it (the inputs, the previous layer's outputs), and the net's global
    # gradient, which the gradients below read, is at (net, glo), described after them.
    address, global_net = g.address, at(c.net, glo)
    terms = []
    for i in range(1, fan_in + 1):
        w = weight(layer, j, i)
        source = input_name(i) if layer == 1 else f"{neuron(layer - 1, i)}.output"
        x = g.said(c.input(i), fwd, f"{n}.input{i}", f"={address(source)}", f"Input {i}: {source}.")
        g.input(c.weight(i), fwd, w, f"Weight {w}: from input {i} into {n}. Edit it.")
        w_at = at(c.weight(i), fwd)
        terms.append(f"{x}*{w_at}")
        local_x = g.said(
            c.input(i), loc, f"local.{n}.input{i}", f"={w_at}", "d net / d input = weight."
        )
        local_w = g.said(c.weight(i), loc, f"local.{w}", f"={x}", "d net / d weight = input.")
        g.said(
            c.input(i),
            glo,
            f"global.{n}.input{i}",
            f"={local_x}*{global_net}",
            "d loss / d input = (d net / d input) * (d loss / d net).",
        )
        g.said(
            c.weight(i),
            glo,
            f"global.{w}",
            f"={local_w}*{global_net}",
            "d loss / d weight = (d net / d weight) * (d loss / d net).",
        )
    b = bias(layer, j)
    g.input(c.bias, fwd, b, f"Bias of {n}. Edit it.")
    g.said(
        c.net,
        fwd,
        f"{n}.net",
        "=" + "+".join(terms) + f"+{at(c.bias, fwd)}",
        "Net = Σ input * weight + bias.",
    )
    last = layer == d.depth
    name, act, act_slope = d.fx.activation, d.fx.act_out, d.fx.act_slope
    if last:
        name, act, act_slope = d.fx.output, d.fx.out_act, d.fx.out_slope
    g.value(c.bias, loc, f"local.{b}", 1.0, "d net / d bias = 1.")
    g.said(c.bias, glo, f"global.{b}", f"={global_net}", "d loss / d bias = d loss / d net.")
    if last and d.fx.softmax:
        _softmax_neuron(d, n, j, fwd)
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
        _output_neuron(d, n, j, fwd)
    else:
        nxt = [
            f"{{global.{neuron(layer + 1, k)}.input{j}}}" for k in range(1, d.sizes[layer + 1] + 1)
        ]
        g.later(  # the next layer's, below
            c.output,
            glo,
            f"global.{n}.output",
            "=" + "+".join(nxt),
            f"d loss / d output: the sum of d loss / d input {j} of every neuron in layer "
            f"{layer + 1}, the chain rule across layers.",
        )


def _softmax_neuron(d: _Net, n: str, j: int, fwd: int) -> None:
    """An output of a softmax: its probability, target and error, and the local gradient of
    softmax and cross-entropy together, d loss / d net = output - target."""
    g, c = d.g, d.cols
    loc, glo = fwd + 1, fwd + 2
    g.formula(
        c.output,
        fwd,
        f"{n}.output",
        f"=EXP({{{n}.net}}-{{softmax.max}})/{{softmax.sum}}",
        "Output = softmax: EXP(net - max net) / Σ EXP(net - max net), a probability. "
        + SOFTMAX_NOTE,
    )
    _target_and_error(d, n, j, fwd)
    g.formula(
        c.net,
        loc,
        f"local.{n}.softmax",
        f"={{{n}.error}}",
        "d loss / d net = output - target: softmax and cross-entropy together (their "
        "product of slopes), the error itself.",
    )
    g.formula(
        c.net,
        glo,
        f"global.{n}.net",
        f"={{local.{n}.softmax}}",
        "d loss / d net: the loss is reached through the softmax, so global = local.",
    )


def _target_and_error(d: _Net, n: str, j: int, fwd: int) -> None:
    d.g.formula(d.cols.target, fwd, f"{n}.target", f"={{{target_name(j)}}}", "The target.")
    d.g.formula(
        d.cols.error,
        fwd,
        f"{n}.error",
        f"={{{n}.output}}-{{{n}.target}}",
        "Error = output - target.",
    )


def _output_neuron(d: _Net, n: str, j: int, fwd: int) -> None:
    """What only an output neuron has: its target, its error and the loss's slope."""
    g, c = d.g, d.cols
    loc, glo = fwd + 1, fwd + 2
    _target_and_error(d, n, j, fwd)
    g.formula(
        c.output,
        loc,
        f"local.{n}.output",
        "=" + d.fx.slope_of(f"{{{n}.error}}", f"{{{n}.output}}"),
        f"d loss / d output = {d.fx.slope_of('error', 'output')}: the {d.fx.loss} loss's slope "
        "at this output.",
    )
    g.formula(
        c.output,
        glo,
        f"global.{n}.output",
        f"={{local.{n}.output}}",
        "d loss / d output: the loss is the last step, so global = local.",
    )


def _loss_row(d: _Net, row: int) -> int:
    """The loss over every output; returns the row the faux gradients start at."""
    g = d.g
    g.notes = True
    outputs = [neuron(d.depth, j) for j in range(1, d.sizes[-1] + 1)]
    if d.fx.softmax:
        nets = [f"{{{n}.net}}" for n in outputs]
        g.text(2, row, "Max net")
        g.text(3, row, "Σ EXP(net - max)")
        g.text(1, row + 1, "Softmax:", "label")
        g.formula(2, row + 1, "softmax.max", f"=MAX({','.join(nets)})", SOFTMAX_NOTE)
        g.formula(
            3,
            row + 1,
            "softmax.sum",
            "=" + "+".join(f"EXP({z}-{{softmax.max}})" for z in nets),
            "Σ EXP(net - max net): between 1 and the number of outputs.",
        )
        row += 2
        g.text(1, row, "Loss:", "label")
        g.formula(2, row, "loss", "=" + _softmax_loss(d, nets), SOFTMAX_NOTE)
        return row + 2
    g.text(1, row, "Loss:", "label")
    errors = [d.fx.loss_of(f"{{{n}.error}}", f"{{{n}.output}}", f"{{{n}.target}}") for n in outputs]
    g.formula(
        2,
        row,
        "loss",
        "=" + "+".join(errors),
        f"Loss: the {d.fx.loss} loss of every output, added; for one output "
        f"{d.fx.loss_of('error', 'output', 'target')}.",
    )
    return row + 2


def _softmax_loss(
    d: _Net,
    nets: list[str],
    top: str = "{softmax.max}",
    total: str = "",
    targets: Sequence[str] = (),
) -> str:
    """max + LN(Σ EXP(net - max)) - Σ target * net, the nets' references given (and the
    targets', ``{targetK}`` unless given)."""
    total = total or "{softmax.sum}"
    targets = targets or [f"{{{target_name(j)}}}" for j in range(1, len(nets) + 1)]
    dot = "+".join(f"{t}*{z}" for t, z in zip(targets, nets, strict=True))
    return f"{top}+LN({total})-({dot})"


def _faux_gradients(d: _Net, row: int, chosen: tuple[str, ...] | None) -> None:
    """Faux gradients: one row per weight and bias of ``chosen`` (None: all), re-running
    what it moves; nothing when none is chosen."""
    g, sizes = d.g, d.sizes
    if chosen is not None and not chosen:
        return
    g.text(1, row, "Faux gradients", "label")
    g.text(2, row, "Nudged")
    col_of: dict[str, int] = {}
    col = 3
    for layer in range(1, d.depth + 1):
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
    wanted = None if chosen is None else set(chosen)
    rows = [c for c in learnable(sizes) if wanted is None or c[0] in wanted]
    faux = _FauxRows(d, col_of, col_err, col_loss)
    for count, (name, layer, j) in enumerate(rows):
        g.notes = count == 0
        faux.row(row, name, layer, j)
        row += 1


@dataclass(frozen=True, slots=True)
class _Sum:
    """A neuron's weighted sum as the faux rows write it before a nudge, resolved: per input
    the term ``x*w`` (addresses), the address of the value read and of the weight; the bias's."""

    terms: list[str]
    reads: list[str]
    weights: list[str]
    bias: str


class _FauxRows:
    """The faux rows of a network, each written resolved (``Grid.said``): a row re-runs the
    forward pass's sums with one parameter nudged, so its formulas are made from the addresses
    of the forward pass, worked out once per neuron for all the rows (an 80-80-1 network has
    6,561 rows, 13,000 sums of 80 terms), and of the row's own cells, at known columns. What
    each formula says is the template the row would be written as, ``={nudge.w1_1_1.n1_1.net}``
    for the nudged net (``tests/test_network_faux_rows.py`` holds the two ways equal)."""

    def __init__(self, d: _Net, col_of: Mapping[str, int], col_err: int, col_loss: int) -> None:
        self.d, self.col_of, self.col_err, self.col_loss = d, col_of, col_err, col_loss
        address = d.g.address
        outputs = [neuron(d.depth, k) for k in range(1, d.sizes[-1] + 1)]
        self.targets = [address(target_name(k)) for k in range(1, d.sizes[-1] + 1)]
        # What an output no nudge moves adds to the loss: its own error, output and target.
        self.kept = [
            d.fx.loss_of(address(f"{n}.error"), address(f"{n}.output"), address(f"{n}.target"))
            for n in outputs
        ]
        self.nets = [address(f"{n}.net") for n in outputs]
        self.loss = address("loss")
        self._sums: dict[tuple[int, int, bool], _Sum] = {}

    def sum_of(self, layer: int, k: int, own: bool) -> _Sum:
        """Neuron (layer, k)'s sum: of its own inputs when ``own``, else of the previous
        layer's outputs (a neuron after the nudged one reads the nudged outputs in its row)."""
        key = (layer, k, own)
        made = self._sums.get(key)
        if made is None:
            address, n = self.d.g.address, neuron(layer, k)
            fan_in = range(1, self.d.sizes[layer - 1] + 1)
            reads = [
                address(f"{n}.input{i}" if own else f"{neuron(layer - 1, i)}.output")
                for i in fan_in
            ]
            weights = [address(weight(layer, k, i)) for i in fan_in]
            terms = [f"{x}*{w}" for x, w in zip(reads, weights, strict=True)]
            made = self._sums[key] = _Sum(terms, reads, weights, address(bias(layer, k)))
        return made

    def row(self, row: int, name: str, layer: int, j: int) -> None:
        """The faux gradient of ``name``, a weight or bias of neuron (layer, j): the neurons
        it moves, re-run with it nudged, the outputs' errors and the loss."""
        d, col_of = self.d, self.col_of
        g, sizes, depth, fx = d.g, d.sizes, d.depth, d.fx
        p = f"nudge.{name}."
        g.text(1, row, f"Faux gradient of '{name}':", "label")
        nudged = g.said(2, row, p + name, f"={g.address(name)}+Tiny", f"{name}, nudged up by Tiny.")
        nudged_input = int(name.rsplit("_", 1)[1]) - 1 if name[0] == "w" else -1
        softmax, nets, top, total = fx.softmax, self.nets, "", ""
        if softmax:  # each output's net in this row: the nudged pass's where it moves it
            nets = [
                at(col_of[neuron(depth, k)], row) if layer < depth or k == j else net
                for k, net in enumerate(nets, start=1)
            ]
            top = f"MAX({','.join(nets)})"
            total = "+".join(f"EXP({z}-{top})" for z in nets)
        moved: dict[int, str] = {}  # the previous layer's outputs in this row, by index
        for lay in range(layer, depth + 1):
            last = lay == depth
            now: dict[int, str] = {}
            for k in [j] if lay == layer else range(1, sizes[lay] + 1):
                n = neuron(lay, k)
                made = self.sum_of(lay, k, lay == layer)
                terms, b_ref = made.terms, made.bias
                if lay == layer:  # its inputs are the sheet's, never nudged; one weight or bias is
                    if nudged_input >= 0:
                        terms = terms.copy()
                        terms[nudged_input] = f"{made.reads[nudged_input]}*{nudged}"
                    else:
                        b_ref = nudged
                elif moved:
                    terms = terms.copy()
                    for i, x in moved.items():
                        terms[i] = f"{x}*{made.weights[i]}"
                col = col_of[n]
                net = g.said(col, row, f"{p}{n}.net", "=" + "+".join(terms) + "+" + b_ref)
                if last and softmax:
                    output = f"EXP({net}-{top})/({total})"
                else:
                    output = (fx.out_act if last else fx.act_out).replace("{net}", net)
                now[k - 1] = g.said(col + 1, row, f"{p}{n}.output", "=" + output)
            moved = now
        errs = []
        for k in range(1, sizes[-1] + 1):
            if k - 1 not in moved:  # an output this parameter cannot move keeps its error
                errs.append(self.kept[k - 1])
                continue
            n, out, target = neuron(depth, k), moved[k - 1], self.targets[k - 1]
            error = g.said(self.col_err + k - 1, row, f"{p}{n}.error", f"={out}-{target}")
            errs.append(fx.loss_of(error, out, target))
        if softmax:  # the loss from the nets, in the stable form, as the loss row's
            errs = [_softmax_loss(d, nets, top, total, self.targets)]
        col = self.col_loss
        loss = g.said(col, row, p + "loss", "=" + "+".join(errs), "Loss with the nudged parameter.")
        g.said(
            col + 1,
            row,
            p + "gradient",
            f"=({loss}-{self.loss})/Tiny",
            f"Faux d loss / d {name}: how much the loss moved, per unit of nudge.",
        )
        g.said(
            col + 2,
            row,
            p + "real",
            f"={g.address(f'global.{name}')}",
            "The real gradient, to compare.",
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
    faux = parse_faux(settings.get("faux", "all"), sizes)
    values = net.quantities(params["tiny"], faux)
    # A neuron's inputs are the network's inputs or the outputs of the layer before.
    inputs = [[params[input_name(i)] for i in range(1, sizes[0] + 1)]] + [
        [values[f"{neuron(layer, j)}.output"] for j in range(1, sizes[layer] + 1)]
        for layer in range(1, len(sizes) - 1)
    ]
    sums = [
        sum(abs(x * params[weight(layer, j, i)]) for i, x in enumerate(inputs[layer - 1], start=1))
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
    reference = Reference(values, scale, loss_scale, params["tiny"])
    return _classification(reference, net, sizes) if net.loss == CROSS_ENTROPY else reference


def _classification(reference: Reference, net: Network, sizes: tuple[int, ...]) -> Reference:
    """A cross-entropy network's tolerances: a sigmoid output's, as the neuron's
    (``sheetgen.maths.models.cross_entropy_neuron``); a softmax's, stable, only the loss's
    rounding (``sheetgen.maths.losses.softmax_rounding``) for the faux gradients."""
    values, scale = reference.values, reference.value_scale
    outputs = [neuron(net.depth, j) for j in range(1, sizes[-1] + 1)]
    if net.output_activation == "sigmoid":
        n = outputs[0]
        return cross_entropy_neuron(
            reference,
            (k for k in values if k.startswith("global.") and k != f"global.{n}.output"),
            output=f"{n}.output",
            target=f"{n}.target",
            slopes=(f"local.{n}.output", f"global.{n}.output"),
            local_net=f"local.{n}.net",
        )
    targets = [values[f"{n}.target"] for n in outputs]
    rounding = softmax_rounding([values[f"{n}.net"] for n in outputs], targets, scale)
    for key in values:
        if key.endswith(".gradient"):
            head = key[: -len("gradient")]
            nets = [values.get(f"{head}{n}.net", values[f"{n}.net"]) for n in outputs]
            rounding = max(rounding, softmax_rounding(nets, targets, scale))
    return replace(reference, loss_scale=max(reference.loss_scale, rounding))


def planned_cells(options: Mapping[str, str]) -> int:
    """How many cells ``network_layout(options)`` makes, counted without making them, so a
    sheet too large to check is refused before any work (tests hold it to the layout)."""
    sizes = parse_layers(options.get("layers", DEFAULT_LAYERS))
    chosen = parse_faux(options.get("faux", "all"), sizes)
    wanted = None if chosen is None else set(chosen)
    rows = [layer for name, layer, _ in learnable(sizes) if wanted is None or name in wanted]
    softmax = _softmax_cells(options, sizes)
    return _fixed_cells(sizes, bool(rows)) + softmax + sum(_faux_row_cells(sizes, n) for n in rows)


def _softmax_cells(options: Mapping[str, str], sizes: tuple[int, ...]) -> int:
    """What a softmax output layer changes: its two cells and three texts above the loss, and
    per output one local gradient (softmax with cross-entropy) for three."""
    softmax = options.get("loss") == CROSS_ENTROPY and sizes[-1] > 1
    return 5 - 2 * sizes[-1] if softmax else 0


def faux_rows_that_fit(options: Mapping[str, str], max_cells: int) -> int:
    """The largest N for which ``faux=N`` makes at most ``max_cells`` cells (0 if none)."""
    sizes = parse_layers(options.get("layers", DEFAULT_LAYERS))
    layer_of = {name: layer for name, layer, _ in learnable(sizes)}
    cells, fitted = _fixed_cells(sizes, True) + _softmax_cells(options, sizes), 0
    for name in faux_sample(sizes, 0, ranked=True) or ():
        cells += _faux_row_cells(sizes, layer_of[name])
        if cells > max_cells:
            break
        fitted += 1
    return fitted


def _fixed_cells(sizes: tuple[int, ...], faux_rows: bool) -> int:
    """The cells of everything but the faux rows (with their header when there are any)."""
    depth, outputs = len(sizes) - 1, sizes[-1]
    cells = 4 + 2 * sizes[0] + 2 * outputs + 2  # title, inputs, targets, Tiny; the loss row
    for layer in range(1, depth + 1):
        fan_in, last = sizes[layer - 1], layer == depth
        cells += 1 + 2 * fan_in + 3 + (2 if last else 0)  # the layer's header row
        cells += sizes[layer] * (3 + 6 * fan_in + 7 + (4 if last else 1))  # its neurons
    return cells + (2 + 2 * sum(sizes[1:]) + outputs + 3 if faux_rows else 0)


def _faux_row_cells(sizes: tuple[int, ...], layer: int) -> int:
    """The cells of the faux row of a parameter in ``layer``: label, nudged value, the net and
    output of every neuron it moves, the errors it moves, loss, faux and real gradient."""
    moved = 1 + sum(sizes[layer + 1 :])
    return 2 + 2 * moved + (sizes[-1] if layer < len(sizes) - 1 else 1) + 3


def usage() -> tuple[str, str]:
    """The family's spec pattern and one-line description, for ``sheetgen templates``."""
    return (
        "network:layers=2-3-1,activation=tanh|sigmoid|relu|linear,"
        "loss=half-squared|squared|cross-entropy,faux=all|none|N|w1_1_1+b2_1",
        "A network of neurons: forward values, local and backpropagated gradients, faux gradients; "
        "with cross-entropy a classifier (one output a sigmoid, several a softmax in the stable "
        "form), activation then the hidden layers'.",
    )
