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

from collections.abc import Callable, Sequence
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

    def __call__(self, *args: Any) -> Any:
        if len(args) != self.arity:
            return self.pipe(*args)
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
        known.add(outs[0])
        produced.add(outs[0])
    if output not in known:
        return None
    filters = tuple(nodes[output].get("filters") or ())
    return Straight(pipe, template, arg_slots, steps, slot_of(output), filters, sh.NONE)
