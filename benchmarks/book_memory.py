"""What a workbook's ``Book`` holds, and how much of it is the book's own.

    python benchmarks/book_memory.py FILE.xlsx            # with the sheetgen to measure installed
    python benchmarks/book_memory.py --phases FILE.xlsx   # what verify holds, phase by phase

Reads FILE as ``verify`` does (traced with tracemalloc), then splits the book into what only
the book holds (its ``Cell`` objects and its cells dicts) and the strings it shares: the
formula texts and addresses that the layout (``CellSpec.formula``, ``CellSpec.at``) and the
verdicts (``CellResult``) hold as the very same objects once the sheet is checked, so that
dropping the book's reference to them frees nothing. What is left of the traced total is
mostly the interpreter's table of interned strings, grown by the 100,000s of addresses and
formulas a large sheet interns (the layout interns the same ones: the table is the price of
holding each string once). Run it outside a checkout (the checkout's ``sheetgen`` would be
imported instead of the installed one).
"""

from __future__ import annotations

import gc
import sys
import tracemalloc
from pathlib import Path
from typing import Any


def main(path: Path) -> None:
    import sheetgen.check.verify as verify
    from sheetgen.engine.evaluate import Evaluator
    from sheetgen.workbook.safety import configured_limits, read_checked

    tracemalloc.start()
    book = read_checked(path, configured_limits()).book
    gc.collect()
    read = tracemalloc.get_traced_memory()[0]
    cells = {id(c): c for sheet in book.sheets for c in sheet.cells.values()}
    own = sum(map(sys.getsizeof, cells.values()))
    dicts = sum(sys.getsizeof(sheet.cells) for sheet in book.sheets)
    addresses = {id(at): at for sheet in book.sheets for at in sheet.cells}
    texts = {id(c.formula): c.formula for c in cells.values() if c.formula is not None}
    address_bytes = sum(map(sys.getsizeof, addresses.values()))
    text_bytes = sum(map(sys.getsizeof, texts.values()))
    mb = 1e6
    print(f"{path.name}: the book alone, {read / mb:.1f} MB traced")
    print(f"  {len(cells):,} Cell objects ({len(texts):,} formula texts)")
    print(f"  own:    Cells {own / mb:.1f} MB, cells dicts {dicts / mb:.1f} MB")
    shared = f"formula texts {text_bytes / mb:.1f} MB, addresses {address_bytes / mb:.1f} MB"
    print(f"  shared: {shared}")
    rest = read - own - dicts - text_bytes - address_bytes
    print(f"  rest (mostly the interned-strings table): {rest / mb:.1f} MB")

    placement, _ = verify.find_layout(book, None, str(path))
    layout, sheet = placement.layout, placement.sheet
    del placement
    judged = verify.check(book, sheet, layout, str(path), evaluator=Evaluator(book))
    in_layout = {id(c.formula) for c in layout.cells} | {id(c.at) for c in layout.cells}
    in_verdicts = {id(c.formula) for c in judged.cells} | {id(c.cell) for c in judged.cells}
    both = in_layout & in_verdicts
    held = sum(sys.getsizeof(t) for i, t in texts.items() if i in both)
    held += sum(sys.getsizeof(a) for i, a in addresses.items() if i in both)
    print(
        f"  of the shared strings, held by the layout and the verdicts too once checked: "
        f"{held / mb:.1f} MB"
    )


def phases(path: Path) -> None:
    """``verify_workbook(path)`` traced, phase by phase: what is live at each boundary and the
    peak since the one before, and the largest peak above what is live once the layout is
    found (the book and the layout: what verify must hold). The verdicts handed from one
    phase to the next are never held by the wrappers (the diagnosis lets each go)."""
    import sheetgen.check.diagnose as diagnosis
    import sheetgen.check.verify as verify

    rows: list[tuple[str, int, int]] = []

    def mark(name: str) -> None:
        rows.append((name, *tracemalloc.get_traced_memory()))
        tracemalloc.reset_peak()

    def timed(module: Any, name: str) -> None:
        run = getattr(module, name)

        def wrapped(*args: Any, **kwargs: Any) -> Any:
            mark(f"before {name}")
            out = run(*args, **kwargs)
            mark(f"after {name}")
            return out

        setattr(module, name, wrapped)

    for name in ("read_checked", "find_layout", "check", "named_constants"):
        timed(verify, name)
    timed(diagnosis, "_fragility")
    names = vars(verify)
    structure_faults, diagnose = names["structure_faults"], names["diagnose"]

    def structure(ev: Any, sheet: str, layout: Any, cells: Any) -> Any:
        mark("before structure_faults")
        held = [cells]
        del cells
        out = structure_faults(ev, sheet, layout, held.pop())
        mark("after structure_faults")
        return out

    def diagnosed(
        book: Any,
        sheet: Any,
        layout: Any,
        judged: Any,
        parameters: Any,
        ev: Any,
        *,
        warnings: Any,
        path: Any,
        variants: Any,
        seed: Any,
        hints: Any,
    ) -> Any:
        mark("before diagnose")
        held = [judged]
        del judged
        # Each argument named: a call with *args or **kwargs holds them until it returns.
        out = diagnose(
            book,
            sheet,
            layout,
            held.pop(),
            parameters,
            ev,
            warnings=warnings,
            path=path,
            variants=variants,
            seed=seed,
            hints=hints,
        )
        mark("after diagnose")
        return out

    names["structure_faults"], names["diagnose"] = structure, diagnosed
    tracemalloc.start()
    verify.verify_workbook(path)
    mark("end")
    mb = 1e6
    layout = next(now for name, now, _ in rows if name == "after find_layout")
    print(f"{path.name}: traced MB, live at each boundary and the peak since the one before")
    for name, now, peak in rows:
        print(f"  {name:24} {now / mb:7.1f} {peak / mb:7.1f}")
    after = rows[[r[0] for r in rows].index("after find_layout") + 1 :]
    print(f"  peak above 'after find_layout': {max(p for _, _, p in after) / mb - layout / mb:.1f}")


if __name__ == "__main__":
    if sys.argv[1] == "--phases":
        phases(Path(sys.argv[2]))
    else:
        main(Path(sys.argv[1]))
