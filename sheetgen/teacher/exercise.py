"""Exercises: the built workbook with chosen cells left blank for a learner to fill in.

The answer key is the ordinary build with the same parameters. The blanks are recorded in the
workbook (defined name ``SHEETGEN_TODO``) so that ``verify`` can tell "still to do" from "the
learner emptied it", and each blank keeps the cell's note as a hint; that note begins "To do:",
which marks the blanks where an application dropped the defined name. ``seed`` gives every
learner their own parameters, reproducibly, so answers cannot be copied from a neighbour.
"""

from __future__ import annotations

import contextlib
import random
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from openpyxl.comments import Comment
from openpyxl.packaging.custom import StringProperty
from openpyxl.styles import PatternFill
from openpyxl.utils.cell import coordinate_from_string
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.workbook.workbook import Workbook

from .. import a1
from ..errors import UsageError
from ..layouts.families import resolve_layout
from ..layouts.layout import NO_HINTS_NOTE, TODO_NAME, TODO_NOTE, Layout
from ..maths.losses import CROSS_ENTROPY, TARGET
from ..maths.neuron import describe, round_significant
from ..maths.optimizers import DEFAULTS as OPTIMIZER_SETTINGS
from ..maths.optimizers import STATE_NAMES
from ..workbook.book import text_formula
from ..writer.build import build_workbook, parameters
from ..writer.cached_values import save_with_cached_values
from ..writer.files import check_writable, write_atomically
from .provenance import (
    CODES_FILE,
    KEY_FILE,
    MANIFEST_FILE,
    PROPERTY_SIGNATURE,
    SIGNATURE_NAME,
    Expected,
    Record,
    class_key,
    codes_csv,
    learner_code,
    write_manifest,
)
from .roster import Learner, identity_properties, read_roster

"""The defined name under which an exercise records its blanks (``"E3,B3,C3"``)."""

DEFAULT_BLANK_PREFIXES = ("local.", "global.")
"""By default an exercise blanks the local and global gradient rows: the chain rule itself."""

_FIRST_STEP = "step1."
"""A training run's first step: its gradients and update are the blanks by default (the later
steps, handed out filled in, wait for them and then show the learner's formulas at work)."""

_FIRST_EXAMPLE = "example1."
"""The first example of a data set's training (``sheetgen.layouts.batch_training``)."""

_TODO_FILL = PatternFill("solid", fgColor="DDEBF7")  # pale blue: "your turn"


_STEP_BLANKS = (*DEFAULT_BLANK_PREFIXES, "new.", *(f"{state}." for state in STATE_NAMES))
"""What a training run's first step leaves blank: its gradients, its optimizer's state (a
velocity, moments) and its update."""


def default_blanks(layout: Layout) -> tuple[str, ...]:
    """The checked cells whose quantity is a local or global gradient.

    In a training run, the first step's gradients, optimizer state and update (``new.*``)
    alone: every step repeats the same formulas, so one step is the exercise. On a data set
    that is the first example's backpropagation and the batch's means and update: the other
    examples repeat the first's formulas.
    """
    plain = tuple(
        c.at
        for c in layout.checked
        if c.quantity is not None and c.quantity.startswith(DEFAULT_BLANK_PREFIXES)
    )
    if plain:
        return plain
    first = tuple(
        c.at
        for c in layout.checked
        if c.quantity is not None
        and c.quantity.startswith(_FIRST_STEP)
        and c.quantity.removeprefix(_FIRST_STEP)
        .removeprefix(_FIRST_EXAMPLE)
        .startswith(_STEP_BLANKS)
    )
    return first


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
                    f"Blank {token!r} is not a row number, nor a cell or quantity of "
                    f"{layout.name} that must be computed."
                )
        picked = tuple(c.at for c in layout.checked if c.at in wanted)
    if not picked:
        raise UsageError("An exercise needs at least one cell to fill in (see blanks).")
    return picked


def random_parameters(layout: Layout, seed: int) -> dict[str, float]:
    """Reproducible per-learner parameters: each default scaled by a factor in [0.5, 1.5].

    Signs and orders of magnitude are kept (a nudge stays tiny, a positive input positive),
    and values are rounded to two significant digits so learners can read them. An
    optimizer's settings (betas, epsilon) are the teacher's, the same for everyone, and so are
    a classifier's targets: a probability scaled by 1.5, or a one-hot row scaled unevenly, is
    no target cross-entropy can take.
    """
    classifier = layout.settings.get("loss") == CROSS_ENTROPY
    rng = random.Random(f"{layout.spec or layout.name}/{seed}")
    out: dict[str, float] = {}
    for spec in layout.inputs:
        assert spec.quantity is not None
        default = layout.defaults.get(spec.quantity, 0.0)
        if spec.quantity in OPTIMIZER_SETTINGS or (  # a beta past 1 is no optimizer at all
            classifier and TARGET.fullmatch(spec.quantity)
        ):
            out[spec.quantity] = default
            continue
        value = default * rng.uniform(0.5, 1.5) if default else rng.uniform(-1.0, 1.0)
        out[spec.quantity] = round_significant(value, 2) or default or 0.5
    return out


def exercise_workbook(
    layout: Layout,
    params: Mapping[str, float],
    blanks: Iterable[str],
    *,
    hints: bool = True,
    properties: Mapping[str, str] | None = None,
    signed: Signed | None = None,
) -> Workbook:
    """The layout's workbook with ``blanks`` emptied, marked, hinted and recorded.

    Without ``hints`` a blank's note says what the cell means, not how to compute it, and the
    title cell's note says hints are off (``verify`` then gives none). ``properties`` are
    recorded as document custom properties (who the hand-out is for); ``signed`` puts the
    signed record on the title cell (``sheetgen.teacher.provenance``).
    """
    wb = build_workbook(layout, params)
    for name, value in (properties or {}).items():
        wb.custom_doc_props.append(StringProperty(name=name, value=value))
    ws = wb[layout.sheet]
    specs = {c.at: c for c in layout.checked}
    todo = [at for at in blanks if at in specs]
    for at in todo:
        spec = specs[at]
        cell = ws[at]
        cell.value = None
        cell.fill = _TODO_FILL
        meaning = f"Compute {describe(spec.quantity or '')}."
        hint = (spec.note or meaning) if hints else meaning
        cell.comment = Comment(f"{TODO_NOTE} {hint}", "sheetgen", width=260, height=70)
    todo_text = text_formula(a1.compact(todo))
    wb.defined_names[TODO_NAME] = DefinedName(TODO_NAME, attr_text=todo_text)
    lines = [signed.greeting] if signed else []
    if not hints:
        lines.append(NO_HINTS_NOTE)
    if signed:
        lines.append(signed.text)
    if lines:
        sign_workbook(wb, layout, lines, signed.signature if signed else None)
    return wb


@dataclass(frozen=True)
class Signed:
    """What a signed file carries: a line for people, the record, and its signature."""

    greeting: str
    text: str
    signature: str


def sign_workbook(
    wb: Workbook, layout: Layout, lines: Iterable[str], signature: str | None
) -> None:
    """Put ``lines`` in the title cell's note and, with ``signature``, the named range and the
    custom property that carry it (see ``sheetgen.teacher.provenance``)."""
    ws = wb[layout.sheet]
    at = title_cell(layout)
    text = "\n".join(lines)
    ws[at].comment = Comment(text, "sheetgen", width=320, height=110)
    if signature is None:
        return
    name = SIGNATURE_NAME + signature
    col, row = coordinate_from_string(at)
    sheet = layout.sheet.replace("'", "''")
    target = f"'{sheet}'!${col}${row}"
    wb.defined_names[name] = DefinedName(name, attr_text=target)
    wb.custom_doc_props.append(StringProperty(name=PROPERTY_SIGNATURE, value=signature))


def title_cell(layout: Layout) -> str:
    """Where a signed file's record lives: the layout's first label (its title), which no
    learner has to edit."""
    checked = {c.at for c in layout.checked} | {c.at for c in layout.inputs}
    for spec in layout.labels:
        if spec.at not in checked:
            return spec.at
    return a1.name(1, 1)  # the first cell: every layout has one


def build_exercise(
    path: Path | str,
    layout: Layout | str = "single_neuron",
    *,
    blanks: str | Iterable[str] | None = None,
    seed: int | None = None,
    force: bool = False,
    hints: bool = True,
    learner: Learner | None = None,
    **overrides: float | None,
) -> Path:
    """Write a learner's exercise; ``build(..., **seeded_parameters(...))`` is its key.

    The hand-out records its seed, and ``learner`` when given (``sheetgen.teacher.roster``); a
    learner's seed defaults to the one derived from their id.
    """
    lay = resolve_layout(layout) if isinstance(layout, str) else layout
    if seed is None and learner is not None:
        seed = learner.seed
    params = parameters(lay, seeded_parameters(lay, seed, overrides))
    wb = exercise_workbook(
        lay,
        params,
        select_blanks(lay, blanks),
        hints=hints,
        properties=identity_properties(learner, seed),
    )
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


def build_class(
    roster: Path | str,
    out_dir: Path | str,
    layout: Layout | str = "single_neuron",
    *,
    keys_dir: Path | str | None = None,
    blanks: str | Iterable[str] | None = None,
    hints: bool = True,
    force: bool = False,
    **overrides: float | None,
) -> list[tuple[Learner, Path, Path]]:
    """One signed hand-out per learner of ``roster`` in ``out_dir``, and one answer key each.

    Keys go to ``keys_dir`` (default: ``out_dir`` with ``-keys`` appended, beside it, so that
    the hand-out folder can be handed out whole), with the class key (``class.key``, made once
    and reused), the learners' codes (``codes.csv``) and the manifest of every hand-out
    (``hand-outs.json``) that ``grade --keys`` checks files against.

    All or nothing: every workbook is made in memory and every target checked before the
    first file is written, and a failure while writing removes what this run wrote.
    """
    learners = read_roster(roster)
    lay = resolve_layout(layout) if isinstance(layout, str) else layout
    out = Path(out_dir)
    keys = Path(keys_dir) if keys_dir is not None else out.with_name(out.name + "-keys")
    if (out.exists() and not out.is_dir()) or out.suffix.lower() in (".xlsx", ".xlsm", ".ods"):
        raise UsageError(f"{out} is a file name; --roster writes a folder of hand-outs (-o DIR).")
    if keys.exists() and not keys.is_dir():
        raise UsageError(f"{keys} is a file, not a folder for the answer keys.")
    if keys.resolve() == out.resolve() or out.resolve() in keys.resolve().parents:
        raise UsageError(
            f"The keys folder {keys} must not be in the hand-out folder {out}: it holds the "
            "answer keys and the class's secret key."
        )
    picked = select_blanks(lay, blanks)  # a bad --blank is refused before any file is written
    plan = [(p, out / f"{p.file_stem}.xlsx", keys / f"{p.file_stem}-key.xlsx") for p in learners]
    stems = [hand.name.casefold() for _, hand, _ in plan]
    if len(set(stems)) != len(stems):
        raise UsageError("Two learners of the roster would get the same file name.")
    outputs = [t for _, hand, key in plan for t in (hand, key)]
    outputs += [keys / CODES_FILE, keys / MANIFEST_FILE]
    if not force:
        for target in outputs:
            if target.exists() or target.is_symlink():
                raise UsageError(f"{target} already exists; pass --force to overwrite it.")
    for target in (plan[0][1], keys / CODES_FILE):  # the hand-outs' folder, the keys'
        check_writable(target)
    key_file = keys / KEY_FILE
    new_key = not key_file.exists()
    secret = class_key(keys, create=True)
    quantities = {c.at: c.quantity or c.at for c in lay.checked}
    files: list[tuple[Path, Callable[[Path], None]]] = []
    expected: list[Expected] = []
    for learner, hand, key_path in plan:
        params = parameters(lay, seeded_parameters(lay, learner.seed, overrides))
        code = learner_code(secret, learner.id)
        record = Record(
            "hand-out",
            learner.id,
            learner.name,
            lay.spec or lay.name,
            learner.seed,
            tuple(quantities[at] for at in picked),
            {k: float(v) for k, v in params.items()},
            hints,
        )
        key_record = replace(record, kind="key")
        greeting = f"Hand-out of {learner.name} (id {learner.id}). Your code: {code}."
        signed = Signed(greeting, record.encoded(secret), record.signature(secret))
        wb = exercise_workbook(
            lay,
            params,
            picked,
            hints=hints,
            properties=identity_properties(learner, learner.seed),
            signed=signed,
        )
        key_wb = build_workbook(lay, params)
        sign_workbook(
            key_wb,
            lay,
            [f"Answer key of {learner.name} (id {learner.id}).", key_record.encoded(secret)],
            key_record.signature(secret),
        )
        files.append((hand, _saver(wb, lay, params)))
        files.append((key_path, _saver(key_wb, lay, params)))
        expected.append(
            Expected(
                record, code, record.signature(secret), key_record.signature(secret), hand.name
            )
        )
    texts = {
        keys / CODES_FILE: codes_csv((e.learner_id, e.record.name, e.code) for e in expected),
        keys / MANIFEST_FILE: write_manifest(expected, hints=hints),
    }
    for path, text in texts.items():
        files.append((path, _text_writer(text)))
    if new_key:
        files.append((key_file, _text_writer(secret.hex() + "\n", mode=0o600)))
    _write_all(files, [out, keys], force=force)
    return [(learner, hand, key) for learner, hand, key in plan]


def _saver(wb: Workbook, lay: Layout, params: Mapping[str, float]) -> Callable[[Path], None]:
    return lambda tmp: save_with_cached_values(wb, tmp, lay, params)


def _text_writer(text: str, *, mode: int | None = None) -> Callable[[Path], None]:
    def write(tmp: Path) -> None:
        tmp.write_text(text, encoding="utf-8")
        if mode is not None:  # the class key: its owner's alone
            tmp.chmod(mode)

    return write


def _write_all(
    files: Sequence[tuple[Path, Callable[[Path], None]]], folders: Sequence[Path], *, force: bool
) -> None:
    """Write every file, or none: on a failure, what this run wrote is removed again (files it
    replaced with ``force`` are gone, as ``--force`` asked) and folders it made as well."""
    made = [f for f in folders if not f.exists()]
    written: list[Path] = []
    try:
        for path, write in files:
            existed = path.exists()
            write_atomically(path, write, force=force)
            if not existed:
                written.append(path)
    except BaseException:
        for path in written:
            with contextlib.suppress(OSError):
                path.unlink()
        for folder in reversed(made):
            with contextlib.suppress(OSError):
                folder.rmdir()
        raise
