"""A training run's numbers by name, ``step{k}.<leaf>``, without a key string per number.

A training sheet's reference holds a number for each of its cells: 140,000 for a neuron trained
10,000 steps. As a dict by name each cost a key string of its own (``step9713.global.weight``,
70 bytes), a float (24) and a slot of the dict (40): 12 MB; and the tolerances' amplification,
one per cell too, as much again with the names spelled a second time. Every step names the same
few leaves, so :class:`Steps` keeps each step's numbers in one ``array('d')`` with the leaves
they are under (one tuple shared by every step that has the same), and :class:`Stepwise` one
number per step for all of a step's leaves. Both find a name's place from its two halves,
``step{k}`` (one short key per step, shared by the two) and the leaf, and spell the names only
when iterated, in the order the dict they stand for had them.
"""

from __future__ import annotations

from array import array
from collections.abc import ItemsView, Iterable, Iterator, Mapping, Sequence, ValuesView
from itertools import chain, repeat
from typing import Any

__all__ = ["Steps", "Stepwise", "step_of"]


def step_of(name: str) -> tuple[int, str]:
    """``name`` as ``step{k}.<leaf>``: ``(k, leaf)``, or ``(0, "")`` for any other name (k is
    spelled as ``f"step{k}."`` spells it: no sign, no leading zero)."""
    if not name.startswith("step"):
        return 0, ""
    head, dot, leaf = name.partition(".")
    digits = head[4:]
    if not dot or not (digits.isdecimal() and digits.isascii()) or digits[0] == "0":
        return 0, ""
    return int(digits), leaf


class _Shape:
    """A step's leaves in order, and each one's place among them."""

    __slots__ = ("index", "leaves")

    def __init__(self, leaves: tuple[str, ...]) -> None:
        self.leaves = leaves
        self.index = {leaf: i for i, leaf in enumerate(leaves)}
        if len(self.index) != len(leaves):
            raise ValueError(f"A step names a leaf twice: {leaves}.")


class Steps(Mapping[str, float]):
    """``params`` (as given, first), then each step's numbers under ``step{k}.<leaf>``, the
    steps added in order by :meth:`add`. Read-only once built, as the dict it stands for."""

    __slots__ = ("_heads", "_params", "_rows", "_shapes", "_values")

    def __init__(self, params: Mapping[str, float]) -> None:
        self._params = dict(params)
        if any(step_of(name)[0] for name in self._params):
            raise ValueError("A parameter is named as a step's quantity.")
        self._shapes: dict[tuple[str, ...], _Shape] = {}
        self._rows: list[tuple[_Shape, int]] = []  # each step's leaves, where its numbers begin
        # Each step's row by its name's head, "step{k}": two lookups in C find a name's place
        # (reading k off the name was 5,000 instructions a cell; 9 bytes a cell this way).
        self._heads: dict[str, int] = {}
        self._values = array("d")

    def add(self, leaves: tuple[str, ...], numbers: Iterable[float]) -> None:
        """The next step's ``numbers``, one under each of ``leaves``."""
        shape = self._shapes.get(leaves)
        if shape is None:
            shape = self._shapes[leaves] = _Shape(leaves)
        start = len(self._values)
        self._values.extend(numbers)
        if len(self._values) - start != len(leaves):
            del self._values[start:]
            raise ValueError(f"{len(leaves)} leaves, but another count of numbers.")
        self._heads[f"step{len(self._rows) + 1}"] = len(self._rows)
        self._rows.append((shape, start))

    @property
    def heads(self) -> Mapping[str, int]:
        """Each step's head, ``step{k}``, and k - 1: for a :class:`Stepwise` of the same steps."""
        return self._heads

    @property
    def count(self) -> int:
        """How many steps there are."""
        return len(self._rows)

    def leaves(self, k: int) -> tuple[str, ...]:
        """Step k's leaves, in order."""
        return self._rows[k - 1][0].leaves

    def row(self, k: int) -> Sequence[float]:
        """Step k's numbers, one under each of :meth:`leaves` ``(k)`` in order (a copy)."""
        shape, start = self._rows[k - 1]
        return self._values[start : start + len(shape.leaves)]

    def _place(self, name: str) -> int:
        head, _, leaf = name.partition(".")
        k = self._heads.get(head)
        if k is None:
            return -1
        shape, start = self._rows[k]
        i = shape.index.get(leaf)
        return -1 if i is None else start + i

    def __getitem__(self, name: str) -> float:
        place = self._place(name)
        if place >= 0:
            return self._values[place]
        return self._params[name]

    def get(self, name: str, default: Any = None) -> Any:
        # ``_place`` written out: the verifier asks once per cell.
        head, _, leaf = name.partition(".")
        k = self._heads.get(head)
        if k is not None:
            shape, start = self._rows[k]
            i = shape.index.get(leaf)
            if i is not None:
                return self._values[start + i]
        return self._params.get(name, default)

    def __contains__(self, name: object) -> bool:
        if not isinstance(name, str):
            return False
        return name in self._params or self._place(name) >= 0

    def __len__(self) -> int:
        return len(self._params) + len(self._values)

    def __iter__(self) -> Iterator[str]:
        yield from self._params
        for k, (shape, _) in enumerate(self._rows, start=1):
            s = f"step{k}."
            for leaf in shape.leaves:
                yield s + leaf

    def values(self) -> ValuesView[float]:
        return _Values(self)

    def items(self) -> ItemsView[str, float]:
        return _Items(self)

    def numbers(self) -> Iterator[float]:
        """The numbers in the order of the names."""
        return chain(self._params.values(), self._values)

    def ending(
        self, ends: tuple[str, ...], named: str | None = None
    ) -> Iterator[tuple[str, float]]:
        """The names ``named`` or ending with one of ``ends`` and their numbers, in order, the
        steps' spelled without the others."""
        if not all(end.startswith(".") for end in ends) or step_of(named or "")[0]:
            yield from ((k, v) for k, v in self.items() if k == named or k.endswith(ends))
            return
        for name, value in self._params.items():
            if name == named or name.endswith(ends):
                yield name, value
        # A step's name ends with ".x" just where "." + its leaf does: "step{k}" has no dot.
        matching = {
            shape: [(i, leaf) for i, leaf in enumerate(shape.leaves) if f".{leaf}".endswith(ends)]
            for shape in self._shapes.values()
        }
        values = self._values
        for k, (shape, start) in enumerate(self._rows, start=1):
            for i, leaf in matching[shape]:
                yield f"step{k}.{leaf}", values[start + i]


class Stepwise(Mapping[str, float]):
    """One number per step for each of ``leaves`` under it (``step{k}.<leaf>``), the steps
    in order: what a dict ``{f"step{k}.{leaf}": numbers[k - 1] for k ... for leaf in leaves}``
    holds, in its order, without its 140,000 keys."""

    __slots__ = ("_heads", "_index", "_leaves", "_numbers")

    def __init__(
        self,
        leaves: Sequence[str],
        numbers: Iterable[float],
        heads: Mapping[str, int] | None = None,
    ) -> None:
        """``heads``: each step's head ``step{k}`` and k - 1, as :attr:`Steps.heads` (shared
        with the numbers of the same steps); made here when not given."""
        self._leaves = tuple(leaves)
        self._index = _Shape(self._leaves).index
        self._numbers = array("d", numbers)
        steps = len(self._numbers)
        self._heads = {f"step{k}": k - 1 for k in range(1, steps + 1)} if heads is None else heads

    def get(self, name: str, default: Any = None) -> Any:
        head, _, leaf = name.partition(".")
        k = self._heads.get(head)
        if k is not None and k < len(self._numbers) and leaf in self._index:
            return self._numbers[k]
        return default

    def __getitem__(self, name: str) -> float:
        found: float | None = self.get(name)
        if found is None:
            raise KeyError(name)
        return found

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.get(name) is not None

    def __len__(self) -> int:
        return len(self._numbers) * len(self._leaves)

    def __iter__(self) -> Iterator[str]:
        for k in range(1, len(self._numbers) + 1):
            s = f"step{k}."
            for leaf in self._leaves:
                yield s + leaf

    def values(self) -> ValuesView[float]:
        return _StepwiseValues(self)

    def items(self) -> ItemsView[str, float]:
        return _Items(self)

    def numbers(self) -> Iterator[float]:
        """The numbers in the order of the names: each step's once per leaf."""
        n = len(self._leaves)
        return chain.from_iterable(repeat(a, n) for a in self._numbers)


class _Values(ValuesView[float]):
    _mapping: Steps

    def __iter__(self) -> Iterator[float]:
        return self._mapping.numbers()


class _StepwiseValues(ValuesView[float]):
    _mapping: Stepwise

    def __iter__(self) -> Iterator[float]:
        return self._mapping.numbers()

    def __contains__(self, value: object) -> bool:
        held = self._mapping
        return bool(len(held._leaves)) and value in held._numbers


class _Items(ItemsView[str, float]):
    _mapping: Steps | Stepwise

    def __iter__(self) -> Iterator[tuple[str, float]]:
        return zip(self._mapping, self._mapping.numbers(), strict=True)
