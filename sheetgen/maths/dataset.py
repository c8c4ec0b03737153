"""A training data set: M examples, each with a network's inputs and targets, and the
mini-batches a training run takes from them.

A data set lives in a training sheet as an editable table, like the start weights: its values
are parameters of the sheet, named ``example{m}.x{i}`` and ``example{m}.target{j}``. What a
sheet's spec records is only its shape (``examples=4,batch=2``), so ``verify`` rebuilds the
layout from the spec and reads the data from the learner's sheet; ``--data xor`` or a CSV file
only fills the table in.

Mini-batches take the examples in order and cycle: step k's batch of B starts at example
``(k - 1) B mod M + 1``. Every step sees B distinct examples (``B <= M``), and a full batch
(``B = M``) sees all of them every step.
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

from ..errors import UsageError

MAX_EXAMPLES = 1_000
"""The most examples a data table may hold: one row of the sheet each, and one row per
example of every step's batch."""

XOR = ((0.0, 0.0, 0.0), (0.0, 1.0, 1.0), (1.0, 0.0, 1.0), (1.0, 1.0, 0.0))
"""The four XOR examples: input 1, input 2, target."""


def example_prefix(m: int) -> str:
    return f"example{m}."


def data_name(m: int, leaf: str) -> str:
    """The parameter holding example ``m``'s ``leaf`` (``x1``, ``target1``)."""
    return f"{example_prefix(m)}{leaf}"


def batch(step: int, size: int, examples: int) -> list[int]:
    """The examples (numbered from 1) step ``step`` trains on: ``size`` of them in order from
    where the last step stopped, cycling back to example 1."""
    start = (step - 1) * size
    return [(start + b) % examples + 1 for b in range(size)]


def parse_examples(text: str) -> int:
    """A spec's ``examples`` option: a whole number from 1 to :data:`MAX_EXAMPLES`."""
    try:
        count = int(text)
    except ValueError:
        raise UsageError(f"examples must be a whole number, not {text!r}.") from None
    if not 1 <= count <= MAX_EXAMPLES:
        raise UsageError(f"examples must be between 1 and {MAX_EXAMPLES}, not {count}.")
    return count


def parse_batch(text: str, examples: int) -> int:
    """A spec's ``batch`` option: how many examples each step averages over, 1 to ``examples``."""
    try:
        size = int(text)
    except ValueError:
        raise UsageError(f"batch must be a whole number, not {text!r}.") from None
    if not 1 <= size <= examples:
        allowed = (
            "1 (the data has 1 example)"
            if examples == 1
            else (f"between 1 and the {examples} examples of the data")
        )
        raise UsageError(f"batch must be {allowed}, not {size}.")
    return size


def default_data(
    inputs: int, outputs: int, examples: int, *, classes: bool = False
) -> dict[str, float]:
    """Reproducible data for a table of this shape, from a documented rule: the parity
    problem XOR generalises. Example m's input i is bit i of ``m - 1`` (0 or 1) and its
    target j is the parity of those bits, flipped for every other output (``j`` even). For two
    inputs, one output and four examples that is exactly XOR. With ``classes`` (a softmax's
    targets, which must sum to 1) target j is 1 for ``j ≡ number of bits set (mod outputs)``
    and 0 otherwise: one-hot, and for two outputs the same table as the parity rule's."""
    out: dict[str, float] = {}
    for m in range(1, examples + 1):
        bits = [float(((m - 1) >> (i - 1)) & 1) for i in range(1, inputs + 1)]
        count = int(sum(bits))
        for i, bit in enumerate(bits, start=1):
            out[data_name(m, f"x{i}")] = bit
        for j in range(1, outputs + 1):
            if classes:
                out[data_name(m, f"target{j}")] = float((count - j) % outputs == 0)
            else:
                out[data_name(m, f"target{j}")] = float((count % 2 + j + 1) % 2)
    return out


@dataclass(frozen=True)
class DataSet:
    """Examples as rows of numbers: ``inputs`` values then ``outputs`` targets each."""

    inputs: int
    outputs: int
    rows: tuple[tuple[float, ...], ...]
    source: str  # how the user named it, for messages

    @property
    def examples(self) -> int:
        return len(self.rows)

    def values(self) -> dict[str, float]:
        """The data table's parameters (``example{m}.x{i}``, ``example{m}.target{j}``)."""
        out: dict[str, float] = {}
        for m, row in enumerate(self.rows, start=1):
            for i in range(1, self.inputs + 1):
                out[data_name(m, f"x{i}")] = row[i - 1]
            for j in range(1, self.outputs + 1):
                out[data_name(m, f"target{j}")] = row[self.inputs + j - 1]
        return out

    def one_hot(self, outputs: int) -> tuple[DataSet, int] | None:
        """The data with its one target column of class numbers written one-hot over
        ``outputs`` targets (the only way one column can feed several outputs), and the
        number of the first class; None when there is more than one target column or one
        holds anything but whole numbers of ``outputs`` classes.

        Classes count from 0 when any example is of class 0 (a label column as most data
        sets write it), else from 1; either way target j is 1 for the j-th class."""
        if self.outputs != 1 or outputs < 2:
            return None
        labels = [row[-1] for row in self.rows]
        if not all(label.is_integer() for label in labels):
            return None
        first = 0 if 0.0 in labels else 1
        if not all(first <= label < first + outputs for label in labels):
            return None
        rows = tuple(
            row[:-1] + tuple(1.0 if j == int(row[-1]) - first else 0.0 for j in range(outputs))
            for row in self.rows
        )
        return DataSet(self.inputs, outputs, rows, self.source), first

    def check_fits(self, sizes: Sequence[int]) -> None:
        """Refuse, in one sentence, data whose columns a network of ``sizes`` cannot take."""
        if (self.inputs, self.outputs) != (sizes[0], sizes[-1]):
            shape = "-".join(str(n) for n in sizes)
            raise UsageError(
                f"{self.source} has {_count(self.inputs, 'input column')} and "
                f"{_count(self.outputs, 'target column')}, but a {shape} network takes "
                f"{_count(sizes[0], 'input')} and {_count(sizes[-1], 'target')}: pass "
                f"--layers {self.inputs}-...-{self.outputs} or other data"
                + (
                    " (a softmax takes one target column per class, one-hot: 1 for the "
                    "example's class, 0 for the others; or one column of class numbers, "
                    f"0 to {sizes[-1] - 1} or 1 to {sizes[-1]})."
                    if self.outputs == 1 < sizes[-1]
                    else "."
                )
            )


def _count(n: int, what: str) -> str:
    return f"{n} {what}{'s' if n != 1 else ''}"


def xor_data() -> DataSet:
    return DataSet(2, 1, XOR, "xor")


def parse_csv(text: str, source: str, sizes: Sequence[int] | None) -> DataSet:
    """A data set from CSV text: a header row naming each column, then one row per example.

    Columns are separated by commas, or (when the header has no comma) by semicolons, where
    ``0,5`` is then a number, or tabs; trailing columns empty in every row are dropped.

    Which columns are targets: those named ``target…``, ``label…``, ``class…``, ``y``, ``y1``…
    or ``y_…`` (case aside), which must all come after the inputs; with none so named, the last
    ``sizes[-1]`` columns when the layers are known, or the last one alone (class numbers)
    when the others are as many as the inputs. Otherwise the split is ambiguous and the
    error says what to pass. Every other problem (an empty file, a row of another length, a
    cell that is not a finite number, too many rows) is one sentence naming the row.
    """
    separator = _separator(text)
    reader = csv.reader(io.StringIO(text), delimiter=separator, strict=True)
    try:
        rows = _trimmed([r for r in reader if any(c.strip() for c in r)])
    except csv.Error:
        raise UsageError(
            f"{source} is not a CSV file: its line {reader.line_num} cannot be split into "
            "columns (a quote left open, or not text at all)."
        ) from None
    if not rows:
        raise UsageError(f"{source} is empty: give a header row and at least one example.")
    header = [h.strip() for h in rows[0]]
    if len(rows) == 1:
        raise UsageError(f"{source} has a header row but no examples.")
    if len(rows) - 1 > MAX_EXAMPLES:
        raise UsageError(
            f"{source} has {len(rows) - 1:,} examples; a training sheet holds at most "
            f"{MAX_EXAMPLES:,}."
        )
    if len(header) < 2 or any(not h for h in header):
        raise UsageError(
            f"{source}'s first row should name every column (at least one input and one "
            f"target), not {separator.join(rows[0])!r}."
        )
    values: list[tuple[float, ...]] = []
    for number, row in enumerate(rows[1:], start=2):
        if len(row) != len(header):
            raise UsageError(
                f"{source} row {number} has {len(row)} values, but the header names "
                f"{len(header)} columns."
            )
        cells = zip(row, header, strict=True)
        values.append(tuple(_number(cell, source, number, h, separator) for cell, h in cells))
    outputs = _targets(header, source, sizes)
    return DataSet(len(header) - outputs, outputs, tuple(values), source)


def _separator(text: str) -> str:
    """The column separator, from the header row: a comma, unless the header has none and
    semicolons (Excel's CSV where the decimal separator is a comma) or tabs."""
    header = next((line for line in text.splitlines() if line.strip()), "")
    if "," not in header and ";" in header:
        return ";"
    if "," not in header and "\t" in header:
        return "\t"
    return ","


def _trimmed(rows: list[list[str]]) -> list[list[str]]:
    """``rows`` without the trailing columns empty in every row, header included (a sheet's
    export of cells that once held something)."""
    width = max((len(r) for r in rows), default=0)
    while width and all(not "".join(r[width - 1 : width]).strip() for r in rows):
        width -= 1
    return [r[:width] for r in rows]


_DECIMAL_COMMA = re.compile(r"[+-]?\d*,\d+(?:[eE][+-]?\d+)?")
"""A number with a decimal comma (``-1,25``, ``2,5E2``): read only where a comma cannot be
the separator between columns."""


def _number(cell: str, source: str, row: int, column: str, separator: str) -> float:
    text = cell.strip()
    if separator != "," and _DECIMAL_COMMA.fullmatch(text):
        text = text.replace(",", ".")
    try:
        value = float(text)
    except ValueError:
        raise UsageError(
            f"{source} row {row}, column {column!r}: {cell.strip()!r} is not a number."
        ) from None
    if not math.isfinite(value):
        what = "is not finite" if text.lstrip("+-").isalpha() else "is too large a number"
        raise UsageError(f"{source} row {row}, column {column!r}: {cell.strip()} {what}.")
    return value


_TARGET_HEAD = re.compile(r"(target|label|class)\w*|y(\d+|_\w*)?", re.IGNORECASE)
"""A target column's name: ``target…``, ``label…``, ``class…``, or ``y``, ``y1``, ``y_…`` (not
``year``)."""


def _targets(header: Sequence[str], source: str, sizes: Sequence[int] | None) -> int:
    """How many of the last columns are targets (see :func:`parse_csv`)."""
    named = [_TARGET_HEAD.fullmatch(h) is not None for h in header]
    if any(named):
        count = sum(named)
        if not all(named[len(header) - count :]) or count == len(header):
            targets = ", ".join(h for h, t in zip(header, named, strict=True) if t)
            raise UsageError(
                f"{source}: the target columns ({targets}) must come after at least one input "
                "column."
            )
        return count
    if sizes is not None:
        if sizes[-1] > 1 and len(header) == sizes[0] + 1:
            return 1  # the inputs, then one column: class numbers, for ``DataSet.one_hot``
        if sizes[-1] >= len(header):
            raise UsageError(
                f"{source} has {len(header)} columns, too few for {sizes[0]} inputs and "
                f"{sizes[-1]} targets."
            )
        return sizes[-1]
    raise UsageError(
        f"{source}: which columns are targets? Name them target1, target2... in the header "
        "row, or pass --layers (its last number is how many)."
    )
