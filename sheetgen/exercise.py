"""Exercises: the built workbook with chosen cells left blank for a learner to fill in.

The answer key is the ordinary build with the same parameters. The blanks are recorded in the
workbook (defined name ``SHEETGEN_TODO``) so that ``verify`` can tell "still to do" from "the
learner emptied it", and each blank keeps the cell's note as a hint. ``seed`` gives every
learner their own parameters, reproducibly, so answers cannot be copied from a neighbour.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping
from pathlib import Path

from openpyxl.comments import Comment
from openpyxl.styles import PatternFill
from openpyxl.utils.cell import coordinate_from_string
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.workbook.workbook import Workbook

from . import a1
from .book import text_formula
from .build import build_workbook, parameters
from .cache import save_with_cached_values
from .errors import UsageError
from .fileio import write_atomically
from .layout import TODO_NAME, Layout, resolve_layout
from .reference import describe, round_significant

"""The defined name under which an exercise records its blanks (``"E3,B3,C3"``)."""

DEFAULT_BLANK_PREFIXES = ("local.", "global.")
"""By default an exercise blanks the local and global gradient rows: the chain rule itself."""

_TODO_FILL = PatternFill("solid", fgColor="DDEBF7")  # pale blue: "your turn"


def default_blanks(layout: Layout) -> tuple[str, ...]:
    """The checked cells whose quantity is a local or global gradient."""
    return tuple(
        c.at
        for c in layout.checked
        if c.quantity is not None and c.quantity.startswith(DEFAULT_BLANK_PREFIXES)
    )


def select_blanks(layout: Layout, choice: str | Iterable[str] | None) -> tuple[str, ...]:
    """Cells to blank from ``"3,4"`` (rows), ``"E3,C4"`` (cells), quantities, or a mix.

    Only cells the verifier checks can be blanked: a label or a parameter is not an answer.
    """
    if choice is None:
        picked = default_blanks(layout)
    else:
        items = choice.split(",") if isinstance(choice, str) else list(choice)
        tokens = [t.strip() for t in items if t.strip()]
        by_quantity = {c.quantity: c.at for c in layout.checked if c.quantity}
        checked = {c.at for c in layout.checked}
        wanted: set[str] = set()
        for token in tokens:
            if token.isdigit():
                row = [
                    c.at for c in layout.checked if coordinate_from_string(c.at)[1] == int(token)
                ]
                if not row:
                    raise UsageError(f"Row {token} of {layout.name} has no cell to fill in.")
                wanted.update(row)
            elif token in by_quantity:
                wanted.add(by_quantity[token])
            elif token.upper() in checked:
                wanted.add(token.upper())
            else:
                raise UsageError(
                    f"--blank {token}: not a row number, nor a cell or quantity of "
                    f"{layout.name} that must be computed."
                )
        picked = tuple(c.at for c in layout.checked if c.at in wanted)
    if not picked:
        raise UsageError("An exercise needs at least one cell to fill in (see --blank).")
    return picked


def random_parameters(layout: Layout, seed: int) -> dict[str, float]:
    """Reproducible per-learner parameters: each default scaled by a factor in [0.5, 1.5].

    Signs and orders of magnitude are kept (a nudge stays tiny, a positive input positive),
    and values are rounded to two significant digits so learners can read them.
    """
    rng = random.Random(f"{layout.spec or layout.name}/{seed}")
    out: dict[str, float] = {}
    for spec in layout.inputs:
        assert spec.quantity is not None
        default = layout.defaults.get(spec.quantity, 0.0)
        value = default * rng.uniform(0.5, 1.5) if default else rng.uniform(-1.0, 1.0)
        out[spec.quantity] = round_significant(value, 2) or default or 0.5
    return out


def exercise_workbook(
    layout: Layout, params: Mapping[str, float], blanks: Iterable[str]
) -> Workbook:
    """The layout's workbook with ``blanks`` emptied, marked, hinted and recorded."""
    wb = build_workbook(layout, params)
    ws = wb[layout.sheet]
    specs = {c.at: c for c in layout.checked}
    todo = [at for at in blanks if at in specs]
    for at in todo:
        spec = specs[at]
        cell = ws[at]
        cell.value = None
        cell.fill = _TODO_FILL
        hint = spec.note or f"Compute {describe(spec.quantity or '')}."
        cell.comment = Comment(f"To do: {hint}", "sheetgen", width=260, height=70)
    todo_text = text_formula(a1.compact(todo))
    wb.defined_names[TODO_NAME] = DefinedName(TODO_NAME, attr_text=todo_text)
    return wb


def build_exercise(
    path: Path | str,
    layout: Layout | str = "single_neuron",
    *,
    blanks: str | Iterable[str] | None = None,
    seed: int | None = None,
    force: bool = False,
    **overrides: float | None,
) -> Path:
    """Write a learner's exercise; ``build(..., **seeded_parameters(...))`` is its key."""
    lay = resolve_layout(layout) if isinstance(layout, str) else layout
    params = parameters(lay, seeded_parameters(lay, seed, overrides))
    wb = exercise_workbook(lay, params, select_blanks(lay, blanks))
    # Cached values as for the key, but none for the blanks and the cells that read them.
    return write_atomically(
        Path(path), lambda tmp: save_with_cached_values(wb, tmp, lay, params), force=force
    )


def seeded_parameters(
    layout: Layout, seed: int | None, overrides: Mapping[str, float | None] | None = None
) -> dict[str, float | None]:
    """``random_parameters`` for ``seed`` (if any), with explicit ``overrides`` winning."""
    out: dict[str, float | None] = dict(random_parameters(layout, seed)) if seed is not None else {}
    out.update({k: v for k, v in (overrides or {}).items() if v is not None})
    return out
