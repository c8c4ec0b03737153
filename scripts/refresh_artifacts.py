"""Rebuild the files LibreOffice makes for us: the golden workbook and the README's picture.

    PYTHONPATH=. python scripts/refresh_artifacts.py

- ``tests/golden/<family>.libreoffice.xlsx`` and ``<family>.gnumeric.xlsx``: a small
  workbook of each family (``tests/golden/families.json``) as LibreOffice and as Gnumeric
  (``ssconvert --recalc``) recalculated and saved it. Tests compare its numbers and XML parts
  with ours, in the spirit of XlsxWriter's comparison files. Refresh them whenever a
  layout changes.
- ``docs/sheet.png``: the sheet as LibreOffice prints it, cropped to what is on the page.

Needs LibreOffice (soffice + python3-uno), Gnumeric (ssconvert) and pdftoppm (poppler-utils).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from sheetgen import build
from tests.support import libreoffice as lo

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "tests" / "golden"
FAMILIES: dict[str, str] = json.loads((GOLDEN / "families.json").read_text())
PICTURE = ROOT / "docs" / "sheet.png"
DPI = 120
MARGIN = 12  # pixels of white kept around the content


def content_box(pdf: Path, pdftoppm: str) -> tuple[int, int, int, int]:
    """(x, y, width, height) of the non-white part of page 1 at ``DPI``, with a margin."""
    ppm = subprocess.run(
        [pdftoppm, "-r", str(DPI), "-f", "1", "-l", "1", "-singlefile", "-gray", str(pdf)],
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


def main() -> int:
    pdftoppm = lo.find_pdftoppm()
    ssconvert = shutil.which("ssconvert")
    if lo.find_soffice() is None or pdftoppm is None or ssconvert is None:
        print("needs LibreOffice, Gnumeric's ssconvert and pdftoppm", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        for key, spec in FAMILIES.items():
            made = build(tmp / f"{key}.xlsx", spec)
            lo.recalculate(made, GOLDEN / f"{key}.libreoffice.xlsx")
            gnumeric = [ssconvert, "--recalc", str(made), str(GOLDEN / f"{key}.gnumeric.xlsx")]
            subprocess.run(gnumeric, check=True, capture_output=True)
        built = tmp / "single_neuron.xlsx"  # the article's sheet, built just above
        pdf = lo.render(built, tmp)
        x, y, w, h = content_box(pdf, pdftoppm)
        crop = ["-x", str(x), "-y", str(y), "-W", str(w), "-H", str(h)]
        args = [pdftoppm, "-png", "-r", str(DPI), "-f", "1", "-l", "1", "-singlefile", *crop]
        subprocess.run([*args, str(pdf), str(tmp / "sheet")], check=True)
        PICTURE.write_bytes((tmp / "sheet.png").read_bytes())
    golden = GOLDEN.relative_to(ROOT)
    print(f"Wrote {golden}/*.libreoffice.xlsx, *.gnumeric.xlsx and {PICTURE.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
