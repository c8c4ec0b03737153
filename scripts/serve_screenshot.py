"""Rebuild the README's picture of the learner's page of ``sheetgen serve`` (``docs/serve.png``).

    PYTHONPATH=. python scripts/serve_screenshot.py

Starts ``sheetgen serve`` on a loopback port, uploads the article's sheet with a mistake in E3
(``=1-F2^3``) and a number typed over C4's formula, as a learner would in headless Chromium
(driven by Selenium through chromedriver, the browser of ``tests/test_serve_browser.py``),
opens E3's explanation and screenshots the page.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import openpyxl

from sheetgen import build
from tests.serving import running
from tests.test_serve_browser import browser, check

ROOT = Path(__file__).resolve().parent.parent
PICTURE = ROOT / "docs" / "serve.png"


def main() -> int:
    from selenium.webdriver.common.by import By

    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        sheet = build(tmp / "my-neuron.xlsx")
        wb = openpyxl.load_workbook(sheet)
        wb["Neuron"]["E3"] = "=1-F2^3"
        wb["Neuron"]["C4"] = -0.008
        wb.save(sheet)
        driver = browser(tmp / "profile", 1100, 1500)
        try:
            with running(["--workers", "1"], tmp) as server:
                check(driver, server.url, sheet)
                driver.find_element(By.ID, "cell-E3").click()
                height = driver.execute_script("return document.body.scrollHeight")
                driver.set_window_size(1100, min(int(height) + 40, 2400))
                driver.execute_script(
                    "window.scrollTo(0, 0); document.querySelector('.scroll').scrollLeft = 0"
                )
                driver.save_screenshot(str(PICTURE))
        finally:
            driver.quit()
    print(f"Wrote {PICTURE.relative_to(ROOT)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
