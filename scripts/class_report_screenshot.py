"""Rebuild the README's picture of the HTML class report (``docs/class-report.png``).

    PYTHONPATH=. python scripts/class_report_screenshot.py

Grades the made-up class of ``tests/test_class_report.py`` (24 learners with a pattern of
mistakes and one broken file) into ``report.html`` and screenshots it in headless Chromium.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from sheetgen.cli import main as sheetgen
from tests.test_class_report import make_class

ROOT = Path(__file__).resolve().parent.parent
PICTURE = ROOT / "docs" / "class-report.png"


def main() -> int:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        print("needs chromium", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        make_class(tmp / "returned")
        report = tmp / "report.html"
        sheetgen(["grade", str(tmp / "returned"), "-o", str(report), "--no-progress"])
        subprocess.run(
            [
                chromium,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--no-first-run",
                f"--user-data-dir={tmp / 'profile'}",
                "--hide-scrollbars",
                "--window-size=1100,1900",
                f"--screenshot={PICTURE}",
                report.as_uri(),
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )
    print(f"Wrote {PICTURE.relative_to(ROOT)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
