"""The learner's page in a real browser: Debian's Chromium, driven by Selenium through
chromedriver, uploads a right and a wrong sheet to a running ``sheetgen serve`` and reads the
colours of the cells and the explanation of the wrong one.

Skipped without ``chromium`` and ``chromedriver`` (``apt-get install chromium
chromium-driver``) unless ``SHEETGEN_REQUIRE_CHROMIUM=1`` (CI), which makes that a failure.
"""

from __future__ import annotations

import base64
import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .serving import Server, right_and_wrong, running

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
REQUIRED = os.environ.get("SHEETGEN_REQUIRE_CHROMIUM") == "1"

pytestmark = pytest.mark.skipif(
    (CHROMIUM is None or CHROMEDRIVER is None) and not REQUIRED,
    reason="no chromium and chromedriver (apt-get install chromium chromium-driver)",
)

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
COLOURS = {  # sheetgen/serve/static/app.css
    "right": "rgba(198, 239, 206, 1)",
    "root": "rgba(248, 203, 173, 1)",
    "inherited": "rgba(255, 230, 153, 1)",
}


def browser(profile: Path, width: int = 1200, height: int = 900) -> Any:
    """A headless Chromium with a fresh profile, its console messages kept."""
    assert CHROMIUM is not None and CHROMEDRIVER is not None, "no chromium or chromedriver"
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in [*FLAGS, f"--user-data-dir={profile}", f"--window-size={width},{height}"]:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))


@pytest.fixture(scope="module")
def sheets(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return right_and_wrong(tmp_path_factory.mktemp("sheets"))


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One ``sheetgen serve`` for the module's tests."""
    with running(["--workers", "1"], tmp_path_factory.mktemp("serve")) as served:
        yield served


@pytest.fixture
def driver(tmp_path: Path) -> Iterator[Any]:
    d = browser(tmp_path / "profile")
    try:
        yield d
    finally:
        d.quit()


def check(driver: Any, url: str, sheet: Path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get(url)
    driver.find_element(By.ID, "file").send_keys(str(sheet))
    driver.find_element(By.CSS_SELECTOR, "button[value=check]").click()
    WebDriverWait(driver, 60).until(
        expected_conditions.presence_of_element_located((By.ID, "summary"))
    )


def test_a_learner_checks_a_wrong_then_a_right_sheet(
    driver: Any, sheets: dict[str, Path], server: Server
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    check(driver, server.url, sheets["wrong"])
    summary = driver.find_element(By.ID, "summary").text
    assert summary.startswith("FAILED: 47 of 52 cells right")

    def colour(at: str) -> str:
        cell = driver.find_element(By.ID, f"cell-{at}")
        return str(cell.value_of_css_property("background-color"))

    assert colour("E3") == COLOURS["root"]
    assert colour("B4") == COLOURS["inherited"]
    assert colour("E2") == COLOURS["right"]
    e3 = driver.find_element(By.ID, "cell-E3")
    assert e3.find_element(By.CLASS_NAME, "mark").text == "\u2717"  # not colour alone
    first = driver.find_element(By.CSS_SELECTOR, "#attention li")
    assert first.get_attribute("id") == "fix-E3"

    e3.click()  # the explanation opens on click (and on keyboard focus)
    detail = driver.find_element(By.ID, "detail").text
    assert "E3" in detail and "wrong: fix this first" in detail
    assert "=1-F2^3" in detail and "Hint:" in detail
    driver.find_element(By.ID, "cell-E2").click()
    assert "right" in driver.find_element(By.ID, "detail").text
    driver.switch_to.active_element.send_keys(Keys.TAB)  # the keyboard moves on
    focused = driver.switch_to.active_element.get_attribute("data-cell")
    assert focused and focused != "E2"
    assert driver.find_element(By.ID, "detail").text.startswith(focused)

    check(driver, server.url, sheets["right"])
    summary = driver.find_element(By.ID, "summary").text
    assert summary == "OK: all 52 cells of right.xlsx compute the right numbers."
    assert colour("E3") == COLOURS["right"]
    assert driver.find_elements(By.CSS_SELECTOR, "td.k-root, td.k-inherited") == []

    problems = [entry for entry in driver.get_log("browser") if entry.get("level") == "SEVERE"]
    assert problems == []  # no script error, nothing the page's CSP had to block


def test_the_page_fits_a_phone(driver: Any, sheets: dict[str, Path], server: Server) -> None:
    from selenium.webdriver.common.by import By

    driver.set_window_size(390, 844)
    check(driver, server.url, sheets["wrong"])
    page_width = driver.execute_script("return document.documentElement.scrollWidth")
    view_width = driver.execute_script("return window.innerWidth")
    assert page_width <= view_width  # the grid scrolls inside its box, not the page
    box = driver.find_element(By.CSS_SELECTOR, ".scroll")
    assert driver.execute_script("return arguments[0].scrollWidth", box) > box.size["width"]


DROP = """
const [name, data] = arguments;
const bytes = Uint8Array.from(atob(data), c => c.charCodeAt(0));
const transfer = new DataTransfer();
transfer.items.add(new File([bytes], name));
const zone = document.getElementById("drop");
zone.dispatchEvent(new DragEvent("dragover", {dataTransfer: transfer, bubbles: true}));
zone.dispatchEvent(new DragEvent("drop", {dataTransfer: transfer, bubbles: true}));
"""


def test_a_sheet_dropped_on_the_page_is_checked(
    driver: Any, sheets: dict[str, Path], server: Server
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get(server.url)
    data = base64.b64encode(sheets["wrong"].read_bytes()).decode()
    driver.execute_script(DROP, "dropped.xlsx", data)
    WebDriverWait(driver, 60).until(
        expected_conditions.presence_of_element_located((By.ID, "summary"))
    )
    assert driver.find_element(By.TAG_NAME, "h1").text == "dropped.xlsx"
    assert driver.find_element(By.ID, "summary").text.startswith("FAILED")


CORNERS = """
const box = arguments[0].getBoundingClientRect();
const head = document.querySelector("#grid thead th").getBoundingClientRect();
const y = head.bottom + 2;
const number = document.elementFromPoint(box.left + head.width / 2, y).closest("th, td");
const cell = document.elementFromPoint(box.left + head.width + 60, y).closest("th, td");
return {
  corner: document.elementFromPoint(box.left + 4, box.top + 4).closest("th, td").outerHTML,
  number: number.outerHTML,
  cell: cell.id,
};
"""


def test_a_scrolled_large_grid_keeps_its_headers_apart(
    driver: Any, server: Server, tmp_path: Path
) -> None:
    """A network's grid scrolled down and right: the corner is the header's own (no row number
    over it), the row numbers stay on the left and the first row under the header is readable."""
    from selenium.webdriver.common.by import By

    from sheetgen import build

    check(driver, server.url, build(tmp_path / "net.xlsx", "network:layers=20-20-1"))
    box = driver.find_element(By.CSS_SELECTOR, ".scroll")
    driver.execute_script("arguments[0].scrollIntoView(); arguments[0].scrollTop = 400;", box)
    driver.execute_script("arguments[0].scrollLeft = 300;", box)
    seen = driver.execute_script(CORNERS, box)
    assert seen["corner"] == "<th></th>"  # the header's corner, no row number over it
    row = re.fullmatch(r'<th scope="row">(\d+)</th>', seen["number"])
    assert row is not None  # the row just under the header: its number on the left
    assert re.fullmatch(rf"cell-[A-Z]+{row[1]}", seen["cell"])  # and its cells beside it
