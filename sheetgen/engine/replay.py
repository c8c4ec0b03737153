"""Call a compiled formula's functions directly, in the order the engine recorded.

``formulas`` compiles a formula into a schedula ``DispatchPipe``: a small graph of the engine's
own operator and function implementations plus the order (the "pipe") in which it evaluated
them. Calling the pipe replays that order through schedula's general machinery (solutions,
workflows, callbacks), which costs about a millisecond per formula however simple it is; a
class's worth of workbooks is mostly that overhead. :func:`straighten` turns the same pipe into
a list of plain calls of the same functions on the same values, in the same order, with the
same conventions (``NONE`` arguments dropped, the output node's filters applied), so the
numbers cannot differ. It refuses (returns None) any pipe that uses a feature it does not
replay, and :class:`Straight` hands any call it cannot finish back to the pipe itself.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from .scalar import fast

_FUNCTION_KEYS = frozenset(
    {"type", "function", "inputs", "outputs", "wait_inputs", "index", "solve_cycle", "extra_inputs"}
)
_DATA_KEYS = frozenset({"type", "wait_inputs", "index", "filters"})

Step = tuple[Callable[..., Any], tuple[int, ...], int]


class Straight:
    """A compiled formula as straight-line calls; called like the pipe, positionally."""

    __slots__ = (
        "_direct",
        "_none",
        "_plain",
        "_plan",
        "_unwrap_only",
        "arity",
        "filters",
        "output",
        "pipe",
        "slots",
        "steps",
        "template",
        "unset",
    )

    def __init__(
        self,
        pipe: Callable[..., Any],
        template: list[Any],
        slots: tuple[int, ...],
        steps: Sequence[Step],
        output: int,
        filters: Sequence[Callable[[Any], Any]],
        none: object,
        symbols: Sequence[str | None] = (),
    ) -> None:
        self.pipe = pipe
        self.template = template
        self.slots = slots
        self.arity = len(slots)
        self.steps = tuple(steps)
        self.output = output
        self.filters = tuple(filters)
        # The engine's default output filter only unwraps a range (``wrap_ranges_func`` of
        # schedula's ``bypass``): a number passes it unchanged (the very object), so it is
        # not called for one: Python's float, or numpy's that TANH, EXP and SQRT return.
        self._unwrap_only = all(_unwraps_only(f) for f in self.filters)
        import numpy as np

        self._plain = frozenset({float, np.float64})
        self._none = none
        # Slots no argument or step ever fills: only these can hold NONE when a step runs.
        filled = set(slots) | {out for _, _, out in self.steps}
        self.unset = frozenset(i for i, v in enumerate(template) if v is none and i not in filled)
        # Each step with whether its inputs are always set (None: some may hold NONE), and
        # then whether it takes exactly two: decided once here, not on every call.
        self._plan = tuple(
            (f, ins, out, None if not self.unset.isdisjoint(ins) else len(ins) == 2)
            for f, ins, out in self.steps
        )
        self._direct = (
            _arithmetic(template, slots, steps, output, symbols, none)
            if self._unwrap_only and len(symbols) == len(self.steps)
            else None
        )

    def __call__(self, *args: Any) -> Any:
        if len(args) != self.arity:
            return self.pipe(*args)
        direct = self._direct
        if direct is not None and set(map(type, args)) == _FLOAT:
            result = direct(*args)
            if result - result == 0.0:  # finite: each step's was (see ``_arithmetic``)
                return result
        none = self._none
        values = self.template.copy()
        careful = False  # whether an argument is one the engine would drop
        for slot, value in zip(self.slots, args, strict=True):
            values[slot] = value
            if value is none:
                careful = True
        for function, inputs, output, pair in self._plan:
            if careful or pair is None:
                result = function(*[v for v in (values[i] for i in inputs) if v is not none])
            elif pair:  # the usual case, a binary operator whose inputs are all set
                result = function(values[inputs[0]], values[inputs[1]])
            else:
                result = function(*[values[i] for i in inputs])
            if result is none:  # schedula would leave the node unset: let it decide
                return self.pipe(*args)
            values[output] = result
        result = values[self.output]
        if result is none:
            return self.pipe(*args)
        if self._unwrap_only and type(result) in self._plain:  # most results: a number
            return result
        for f in self.filters:
            result = f(result)
        return result


_FLOAT = {float}

_SOURCE = {"+": "{} + {}", "-": "{} - {}", "*": "{} * {}", "U-": "-{}"}
"""The engine's operators that :func:`_arithmetic` writes as Python's, and how."""


def _arithmetic(
    template: Sequence[Any],
    slots: Sequence[int],
    steps: Sequence[Step],
    output: int,
    symbols: Sequence[str | None],
    none: object,
) -> Callable[..., float] | None:
    """The steps as one Python function of plain numbers, where every step is ``+``, ``-``,
    ``*`` or a negation (:data:`_SOURCE`) of arguments, earlier steps and numbers the formula
    holds; None for any other formula.

    A network's faux row is a sum of 161 products: 320 steps, each a call of the engine
    operator's shortcut (``scalar.fast``), replayed one by one. For float arguments the
    shortcut computes Python's own arithmetic on them and keeps a finite result, so where
    this function's result is finite it is the replay's: a step that gave ``inf`` or ``nan``
    (where the engine takes over) would have carried it to the result, since ``+``, ``-``,
    ``*`` and negation never make a finite number of a non-finite one, and every step's
    result is read by a later step or is the result. Any other result: the replay decides.
    """
    numbers = {}
    for slot, value in enumerate(template):
        if value is none or slot in slots:
            continue
        try:
            number = float(value) if type(value) in (float, int) else math.inf
        except OverflowError:  # an int past a float: the engine's own failure
            return None
        if not math.isfinite(number):
            return None
        numbers[slot] = f"({number!r})"
    names = {slot: f"a{k}" for k, slot in enumerate(slots)}
    lines = []
    read: set[int] = set()
    for (_, inputs, out), symbol in zip(steps, symbols, strict=True):
        form = _SOURCE.get(symbol or "")
        if form is None or form.count("{}") != len(inputs) or out in names or out in numbers:
            return None
        if any(i not in names and i not in numbers for i in inputs):
            return None
        read.update(inputs)
        lines.append(f"    v{out} = " + form.format(*(names.get(i) or numbers[i] for i in inputs)))
        names[out] = f"v{out}"
    if output not in names or any(out not in read for _, _, out in steps[:-1]):
        return None
    if not steps or steps[-1][2] != output:
        return None
    code = f"def direct({', '.join(f'a{k}' for k in range(len(slots)))}):\n"
    code += "\n".join(lines) + f"\n    return {names[output]}\n"
    found: dict[str, Any] = {}
    exec(compile(code, "<sheetgen formula>", "exec"), {}, found)
    return found["direct"]  # type: ignore[no-any-return]


@functools.cache
def _symbols() -> Mapping[int, tuple[Callable[..., Any], str]]:
    """The engine's operators :func:`_arithmetic` writes, by identity."""
    from formulas.functions.operators import OPERATORS

    return {id(OPERATORS[s]): (OPERATORS[s], s) for s in _SOURCE}


def _symbol(function: Callable[..., Any]) -> str | None:
    """Which of :data:`_SOURCE`'s operators ``function`` is, if one."""
    found = _symbols().get(id(function))
    return found[1] if found is not None and found[0] is function else None


def _unwraps_only(f: Callable[[Any], Any]) -> bool:
    """Whether ``f`` is the engine's filter that passes anything but a range on unchanged."""
    import schedula as sh

    return getattr(f, "__wrapped__", None) is sh.bypass


def straighten(pipe: Any) -> Straight | None:
    """The pipe as a :class:`Straight`, or None if it uses anything we do not replay."""
    try:
        import schedula as sh

        dsp = pipe.dsp
        nodes: dict[str, dict[str, Any]] = dsp.nodes
        inputs = list(pipe.inputs or ())
        (output,) = pipe.outputs
        defaults = {k: v["value"] for k, v in dsp.default_values.items()}
        order = [x[-1][0] for x, _, _ in pipe.pipe]
    except Exception:
        return None
    slot: dict[str, int] = {}
    template: list[Any] = []

    def slot_of(node: str) -> int:
        if node not in slot:
            slot[node] = len(template)
            template.append(defaults.get(node, sh.NONE))
        return slot[node]

    arg_slots = tuple(slot_of(k) for k in inputs)
    known = set(inputs) | set(defaults)
    produced: set[str] = set()
    steps: list[Step] = []
    symbols: list[str | None] = []
    for node_id, node in nodes.items():
        kind = node.get("type")
        if kind == "data":
            if not set(node) <= _DATA_KEYS or node.get("wait_inputs"):
                return None
            if node.get("filters") and node_id != output:
                return None
        elif kind != "function" or not set(node) <= _FUNCTION_KEYS:
            return None
    for node_id in order:
        if node_id not in nodes:
            return None
        node = nodes[node_id]
        if node["type"] != "function":
            continue
        ins = list(node.get("inputs") or ())
        outs = list(node.get("outputs") or ())
        if node.get("wait_inputs") is not True or len(outs) != 1 or outs[0] in produced:
            return None
        if any(i not in known for i in ins) or not callable(node.get("function")):
            return None
        function = fast(node["function"])  # two plain numbers skip the engine's wrapper
        steps.append((function, tuple(slot_of(i) for i in ins), slot_of(outs[0])))
        symbols.append(_symbol(node["function"]))
        known.add(outs[0])
        produced.add(outs[0])
    if output not in known:
        return None
    filters = tuple(nodes[output].get("filters") or ())
    return Straight(pipe, template, arg_slots, steps, slot_of(output), filters, sh.NONE, symbols)
