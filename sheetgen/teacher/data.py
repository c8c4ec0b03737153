"""A data set for a training sheet, read as ``build --data`` reads it: ``xor`` or a CSV file a
spreadsheet exported, so that a teacher's script builds what the command line builds."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputFileError, UsageError, shown
from ..maths.dataset import DataSet, parse_csv, xor_data
from ..maths.network import layers_text, parse_layers
from ..workbook.safety.files import read_input
from ..workbook.safety.limits import Limits
from .roster import decode_table, not_a_table

MAX_DATA_BYTES = 10_000_000
"""The largest CSV file read: far more than the thousand examples a sheet holds."""


@dataclass(frozen=True)
class TrainingData:
    """What a training sheet needs from a data set: its layers, its size and its table's
    values (the parameters ``example<m>.x<i>``, ``example<m>.target<j>``), and what was decided
    for the user that they should be told (the layers chosen, class numbers made one-hot)."""

    layers: str
    examples: int
    values: Mapping[str, float]
    notes: tuple[str, ...]

    def spec(self, **options: object) -> str:
        """The ``training`` spec of this data (``steps=200``, ``batch=2``... added)."""
        extra = "".join(f",{k}={v}" for k, v in options.items())
        return f"training:layers={self.layers},examples={self.examples}{extra}"


def read_data(source: str | Path, layers: str | None = None) -> TrainingData:
    """``"xor"`` or a CSV file (see ``sheetgen.maths.dataset.parse_csv``) for a network of
    ``layers`` (``"2-2-1"``; None: one hidden layer as wide as the inputs). One column of
    class numbers for several outputs is written one-hot. Anything else is one sentence
    (``UsageError``, ``InputFileError``)."""
    sizes = parse_layers(layers.replace(",", "-")) if layers else None
    xor = str(source) == "xor"
    data = xor_data() if xor else parse_csv(_read_text(Path(source)), shown(source), sizes)
    notes: list[str] = []
    if sizes is None:
        # The hidden layer is a choice the data cannot make: as wide as the input, as XOR's.
        sizes = (data.inputs, data.inputs, data.outputs)
        if not xor:
            notes.append(
                f"Training a {layers_text(sizes)} network ({_count(data.inputs, 'input')} and "
                f"{_count(data.outputs, 'target')} in {shown(source)}; --layers chooses another)"
            )
    elif (classes := data.one_hot(sizes[-1])) is not None:
        data, first = classes
        notes.append(
            f"{shown(source)}'s target column holds class numbers: written one-hot over the "
            f"{sizes[-1]} outputs (class {first} is target 1, class {first + sizes[-1] - 1} "
            f"target {sizes[-1]})"
        )
    data.check_fits(sizes)
    return TrainingData(layers_text(sizes), data.examples, data.values(), tuple(notes))


def _count(n: int, what: str) -> str:
    return f"{n} {what}{'s' if n != 1 else ''}"


def _read_text(path: Path) -> str:
    """A data file's text: a bounded regular file (never a device or a pipe), decoded as a
    roster is (UTF-16 with a BOM, UTF-8 with or without one, else Windows-1252)."""
    if path.is_dir():
        raise InputFileError(f"{shown(path)} is a folder, not a CSV file.")
    if not path.exists():
        raise InputFileError(f"No data file {shown(path)} (give xor or a CSV file).")
    if path.is_file() and path.stat().st_size > MAX_DATA_BYTES:
        raise UsageError(
            f"{shown(path)} is larger than {MAX_DATA_BYTES // 1_000_000} MB; a training "
            "sheet holds at most a thousand examples."
        )
    if not path.is_file():
        raise InputFileError(f"{shown(path)} is a device or a pipe, not a CSV file.")
    raw = read_input(path, Limits(max_file_bytes=MAX_DATA_BYTES))
    if (why := not_a_table(raw)) is not None:
        raise InputFileError(f"{shown(path)} is {why}.")
    return decode_table(raw)


__all__ = ["DataSet", "TrainingData", "read_data"]
