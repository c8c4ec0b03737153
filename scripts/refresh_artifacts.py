"""Rebuild the files LibreOffice makes for us: the golden workbook and the README's picture.

    PYTHONPATH=. python scripts/refresh_artifacts.py [--pictures]   # --pictures: only docs/

- ``tests/golden/<family>.libreoffice.xlsx`` and ``<family>.gnumeric.xlsx``: a small
  workbook of each family (``tests/golden/families.json``) as LibreOffice and as Gnumeric
  (``ssconvert --recalc``) recalculated and saved it. Tests compare its numbers and XML parts
  with ours, in the spirit of XlsxWriter's comparison files. Refresh them whenever a
  layout changes.
- ``docs/sheet.png`` and the README's other pictures of sheets (``PICTURES``): each sheet as
  LibreOffice prints it, cropped to what is on the page.

Needs LibreOffice (soffice + python3-uno), Gnumeric (ssconvert) and pdftoppm (poppler-utils).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from sheetgen import build
from sheetgen.cli import main as sheetgen
from tests.support import libreoffice as lo

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "tests" / "golden"
FAMILIES: dict[str, str] = json.loads((GOLDEN / "families.json").read_text())
DOCS = ROOT / "docs"
WIDE = 240  # DPI for the training sheets: LibreOffice shrinks their many columns to one page
PICTURES: dict[str, list[str]] = {  # the README's pictures: file -> `sheetgen build` arguments
    "sheet.png": ["build"],
    "training-adam.png": [
        *("build", "training", "--steps", "12", "--optimizer", "adam", "--learning-rate", "0.05")
    ],
    "training-xor.png": ["build", "training", "--layers", "2-2-1", "--data", "xor", "--steps", "3"],
    "classification-softmax.png": [
        *("build", "network", "--layers", "2,3,3", "--loss", "cross-entropy", "--faux", "none")
    ],
}
DPI = 120
MARGIN = 12  # pixels of white kept around the content


def content_box(pdf: Path, pdftoppm: str, dpi: int) -> tuple[int, int, int, int]:
    """(x, y, width, height) of the non-white part of page 1 at ``dpi``, with a margin."""
    ppm = subprocess.run(
        [pdftoppm, "-r", str(dpi), "-f", "1", "-l", "1", "-singlefile", "-gray", str(pdf)],
        capture_output=True,
        check=True,
    ).stdout
    magic, width, height, _maxval, pixels = ppm.split(maxsplit=4)
    assert magic == b"P5", magic
    w, h = int(width), int(height)
    rows = [y for y in range(h) if min(pixels[y * w : (y + 1) * w]) < 250]
    cols = [x for x in range(w) if min(pixels[x::w][:h]) < 250]
    x0, x1 = max(0, cols[0] - MARGIN), min(w, cols[-1] + MARGIN)
    y0, y1 = max(0, rows[0] - MARGIN), min(h, rows[-1] + MARGIN)
    return x0, y0, x1 - x0, y1 - y0


def picture(built: Path, dest: Path, tmp: Path, pdftoppm: str) -> None:
    """``dest``: page 1 of ``built`` as LibreOffice prints it, cropped to its content."""
    dpi = WIDE if dest.stem.startswith("training") else DPI
    pdf = lo.render(built, tmp)
    x, y, w, h = content_box(pdf, pdftoppm, dpi)
    crop = ["-x", str(x), "-y", str(y), "-W", str(w), "-H", str(h)]
    args = [pdftoppm, "-png", "-r", str(dpi), "-f", "1", "-l", "1", "-singlefile", *crop]
    subprocess.run([*args, str(pdf), str(tmp / dest.stem)], check=True)
    dest.write_bytes((tmp / f"{dest.stem}.png").read_bytes())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pictures", action="store_true", help="only the README's pictures")
    only_pictures = parser.parse_args(argv).pictures
    pdftoppm = lo.find_pdftoppm()
    ssconvert = shutil.which("ssconvert")
    if lo.find_soffice() is None or pdftoppm is None or ssconvert is None:
        print("needs LibreOffice, Gnumeric's ssconvert and pdftoppm", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        for key, spec in {} if only_pictures else FAMILIES.items():
            made = build(tmp / f"{key}.xlsx", spec)
            lo.recalculate(made, GOLDEN / f"{key}.libreoffice.xlsx")
            gnumeric = [ssconvert, "--recalc", str(made), str(GOLDEN / f"{key}.gnumeric.xlsx")]
            subprocess.run(gnumeric, check=True, capture_output=True)
        for name, arguments in PICTURES.items():
            built = tmp / Path(name).with_suffix(".xlsx").name
            if sheetgen([*arguments, "-o", str(built), "--quiet"]) != 0:
                raise SystemExit(f"sheetgen {' '.join(arguments)} failed")
            picture(built, DOCS / name, tmp, pdftoppm)
    golden = (
        "" if only_pictures else f"{GOLDEN.relative_to(ROOT)}/*.libreoffice.xlsx, *.gnumeric.xlsx, "
    )
    print(f"Wrote {golden}docs/: {', '.join(PICTURES)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
