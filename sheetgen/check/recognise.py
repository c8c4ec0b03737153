"""Recognise a generated layout from the sheet itself, when the spec it recorded is gone.

A built workbook records its layout's spec in the defined name ``SHEETGEN_LAYOUT``, a text
constant. Apps that keep only range names drop it (ExcelJS; LibreOffice's "copy sheet to a
new workbook"), and Apple Numbers keeps no names at all. What every app keeps is the sheet:
its titles and headers say the family, the layers, the number of inputs and of steps, the
difference and the distance column; its formulas say the activation (``TANH``, ``EXP``,
``MAX``) and the loss (``^2/2``, ``^2``, a cross-entropy's ``LN``). From those this module
proposes specs, which
``verify`` then places on the sheet by their labels like any layout: a proposal that does
not fit is simply not used.
"""

from __future__ import annotations

import re
from collections import Counter

from ..workbook.book import Book, Sheet

# A title's head; what follows a colon (the loss, the optimizer: ``sheetgen.layouts.grid.title``)
# is read from the formulas and headers instead, which a learner's retitling cannot change.
_NETWORK = re.compile(r"^network (\d+(?:-\d+)+) \((\w+)\)(?:: .*)?$")
_TRAINING_NETWORK = re.compile(r"^training network (\d+(?:-\d+)+) \((\w+)\)(?:: .*)?$")
_TRAINING_DATA = re.compile(
    r"^training network (\d+(?:-\d+)+) \((\w+)\) on (\d+) examples?, batches of (\d+)"
    r"(?:: .*)?$"
)
_INPUT = re.compile(r"^input(?: (\d+))?$")
_MARKERS = {"TANH(": "tanh", "EXP(": "sigmoid", "MAX(": "relu"}


def recognised_specs(book: Book, only: str | None = None) -> list[str]:
    """Specs of generated layouts the sheets (or the sheet ``only``) look like."""
    specs: list[str] = []
    for sheet in book.sheets:
        if only is not None and sheet.title.upper() != only.upper():
            continue
        for spec in _specs(sheet):
            if spec not in specs:
                specs.append(spec)
    return specs


def _texts(sheet: Sheet) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for at, cell in sheet.cells.items():
        if cell.formula is None and isinstance(cell.value, str):
            out.setdefault(" ".join(cell.value.split()).lower(), []).append(at)
    return out


def _activation(sheet: Sheet) -> str:
    """The activation most of the sheet's formulas use (a learner's edit is outvoted)."""
    votes: Counter[str] = Counter()
    for cell in sheet.cells.values():
        if cell.formula:
            text = cell.formula.upper()
            for marker, name in _MARKERS.items():
                if marker in text:
                    votes[name] += 1
    return votes.most_common(1)[0][0] if votes else "linear"


def _loss(sheet: Sheet) -> str:
    """Cross-entropy if a formula takes a log (``LN(``); else half-squared if any formula
    halves (``^2/2``, or a learner's ``H2*H2/2``), else squared."""
    if any(c.formula and "LN(" in c.formula.upper() for c in sheet.cells.values()):
        return "cross-entropy"
    halves = any(c.formula and "/2" in c.formula.replace(" ", "") for c in sheet.cells.values())
    return "half-squared" if halves else "squared"


def _batch_loss(sheet: Sheet) -> str:
    """:func:`_loss` for a data set's sheet, where a batch of 2 averages with "/2": only a
    squared error halved (``^2/2``) is the loss's."""
    if any(c.formula and "LN(" in c.formula.upper() for c in sheet.cells.values()):
        return "cross-entropy"
    halves = any(c.formula and "^2/2" in c.formula for c in sheet.cells.values())
    return "half-squared" if halves else "squared"


def _steps(sheet: Sheet, texts: dict[str, list[str]], stride: int = 1) -> int:
    """How many step rows follow the ``Step`` header: 1, 2, 3... in its column, every
    ``stride`` rows (a data set's sheet has a block of rows per step, its number on the last)."""
    from .. import a1

    best = 0
    for at in texts.get("step", []):
        row, col = a1.split(at)
        k = 0
        while True:
            cell = sheet.cells.get(a1.name(row + (k + 1) * stride, col))
            if cell is None or cell.value != float(k + 1):
                break
            k += 1
        best = max(best, k)
    return best


_OPTIMIZER_HEADERS = {" velocity": "momentum", " mean square": "rmsprop", " first moment": "adam"}


def _optimizer(texts: dict[str, list[str]]) -> str:
    """A training sheet's optimizer, from its state columns' headers (``Weight velocity``,
    ``w1_1_1 mean square``, ``Bias first moment``); nothing for gradient descent. Its
    settings are cells the verifier reads, like the learning rate."""
    for ending, name in _OPTIMIZER_HEADERS.items():
        if any(t.endswith(ending) and not t.endswith("corrected" + ending) for t in texts):
            return f",optimizer={name}"
    return ""


def _fits(sheet: Sheet, layers: str, steps: int = 0) -> bool:
    """Whether a network of ``layers`` could be on a sheet with this many cells.

    A title is only text: ``Network 200-200-200 (tanh)`` typed into a small file must not make
    ``verify`` generate a layout of a million cells to find out that it does not fit.
    """
    try:
        sizes = [int(n) for n in layers.split("-")]
    except ValueError:
        return False
    parameters = sum(sizes[i] * (sizes[i - 1] + 1) for i in range(1, len(sizes)))
    cells = parameters * (2 * steps if steps else 4)
    return cells <= 4 * len(sheet.cells) + 1000


def _specs(sheet: Sheet) -> list[str]:
    texts = _texts(sheet)
    out = []
    for text in texts:
        if match := _NETWORK.match(text):
            layers, activation = match.groups()
            if _fits(sheet, layers):
                out.append(f"network:layers={layers},activation={activation},loss={_loss(sheet)}")
        elif match := _TRAINING_DATA.match(text):
            layers, activation, examples, size = match.groups()
            steps = _steps(sheet, texts, int(size) + 1)
            if steps and _fits(sheet, layers, steps * (int(size) + 1)):
                out.append(
                    f"training:layers={layers},examples={examples},batch={size},steps={steps},"
                    f"activation={activation},loss={_batch_loss(sheet)}{_optimizer(texts)}"
                )
        elif match := _TRAINING_NETWORK.match(text):
            layers, activation = match.groups()
            steps = _steps(sheet, texts)
            if steps and _fits(sheet, layers, steps):
                out.append(
                    f"training:layers={layers},steps={steps},activation={activation},"
                    f"loss={_loss(sheet)}{_optimizer(texts)}"
                )
    if "start weight" in texts and "learning rate" in texts and not out:
        steps = _steps(sheet, texts)
        if steps:
            out.append(
                f"training:steps={steps},activation={_activation(sheet)},loss={_loss(sheet)}"
                f"{_optimizer(texts)}"
            )
    if "neuron maths:" in texts:
        from ..layouts.neuron import Options, family_text

        labels = family_text()["labels"]
        down = labels["faux_down"].split("{")[0].strip().lower()
        distance = " ".join(family_text()["headers"]["distance"].split()).lower()
        inputs = sum(1 for t in texts if _INPUT.match(t))
        options = Options(
            activation=_activation(sheet),
            loss=_loss(sheet),
            difference="central" if any(t.startswith(down) for t in texts) else "forward",
            inputs=max(inputs, 1),
            distance=distance in texts,
        )
        out.append(options.spec)
    return out
