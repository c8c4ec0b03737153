"""The UNO side of tests/support/libreoffice.py: open, edit, recalculate and save one workbook.

Runs under the interpreter python3-uno was built for (Debian's ``/usr/bin/python3``, never the
project's venv, never imported by pytest), connected over a private pipe to the ``soffice`` the
driver started. Reads the JSON job named on the command line and prints one JSON line:
``{"ok": true}`` or ``{"ok": false, "kind": ..., "message": ...}``.
"""

import contextlib
import json
import sys
import time
from typing import Any, NoReturn

import uno
from com.sun.star.beans import PropertyValue
from com.sun.star.connection import NoConnectException


def prop(name: str, value: object) -> Any:
    p = PropertyValue()
    p.Name = name
    p.Value = value
    return p


def fail(kind: str, message: str) -> NoReturn:
    print(json.dumps({"ok": False, "kind": kind, "message": message}))
    sys.exit(0)


def connect(pipe: str, deadline: float) -> Any:
    local = uno.getComponentContext()
    resolver = local.ServiceManager.createInstanceWithContext(
        "com.sun.star.bridge.UnoUrlResolver", local
    )
    url = f"uno:pipe,name={pipe};urp;StarOffice.ComponentContext"
    while True:
        try:
            return resolver.resolve(url)
        except NoConnectException:
            if time.monotonic() > deadline:
                fail("office", "could not connect to LibreOffice")
            time.sleep(0.1)


def main() -> None:
    with open(sys.argv[1], encoding="utf-8") as f:
        job = json.load(f)
    deadline = time.monotonic() + job["deadline_seconds"]
    ctx = connect(job["pipe"], deadline)
    desktop = ctx.ServiceManager.createInstanceWithContext("com.sun.star.frame.Desktop", ctx)
    try:
        run(desktop, job)
    finally:
        with contextlib.suppress(Exception):  # the bridge dies with the office: the point
            desktop.terminate()


def run(desktop: Any, job: dict[str, Any]) -> None:
    load_props = (
        prop("Hidden", True),
        prop("MacroExecutionMode", 0),  # NEVER_EXECUTE: learners' files are untrusted
        prop("UpdateDocMode", 0),  # NO_UPDATE: do not fetch external links
    )
    try:
        doc = desktop.loadComponentFromURL(job["src"], "_blank", 0, load_props)
    except Exception as exc:
        fail("input", f"LibreOffice could not open the file ({exc})")
    if doc is None or not hasattr(doc, "Sheets"):
        if doc is not None:
            doc.close(True)
        fail("input", "LibreOffice could not open the file as a spreadsheet")
    first = doc
    try:
        sheets = doc.Sheets
        if job["sheet"] is None:
            sheet = sheets.getByIndex(0)
        elif sheets.hasByName(job["sheet"]):
            sheet = sheets.getByName(job["sheet"])
        else:
            names = ", ".join(sheets.ElementNames)
            fail("usage", f"there is no sheet named {job['sheet']!r} (sheets: {names})")
        for index in job.get("insert_rows", []):
            sheet.Rows.insertByIndex(index, 1)
        for op in job.get("ops", []):
            if op["op"] == "to_new_workbook":
                doc, sheet = to_new_workbook(desktop, doc, sheet)
            else:
                sheet = restructure(doc, sheet, op)
        for e in job["edits"]:
            try:
                cell = sheet.getCellRangeByName(e["cell"])
            except Exception:
                fail("usage", f"{e['cell']} is not a cell on the sheet")
            if e["kind"] == "formula":
                cell.setPropertyValue("FormulaLocal", e["value"])
            elif e["kind"] == "array":
                cell.setArrayFormula(e["value"])
            elif e["kind"] == "number":
                cell.setValue(e["value"])
            elif e["kind"] == "clear":
                cell.setFormula("")
            else:
                cell.setString(e["value"])
        doc.calculateAll()
        doc.storeToURL(job["dst"], (prop("FilterName", job["filter"]), prop("Overwrite", True)))
    finally:
        if doc is not first:
            doc.close(True)
        first.close(True)
    print(json.dumps({"ok": True}))


def to_new_workbook(desktop: Any, doc: Any, sheet: Any) -> tuple[Any, Any]:
    """ "Move or copy sheet... to a new document": the sheet alone in a new workbook."""
    new = desktop.loadComponentFromURL(
        "private:factory/scalc", "_blank", 0, (prop("Hidden", True),)
    )
    name = sheet.Name
    new.Sheets.importSheet(doc, name, 0)
    for other in list(new.Sheets.ElementNames):
        if other != name:
            new.Sheets.removeByName(other)
    return new, new.Sheets.getByName(name)


def restructure(doc: Any, sheet: Any, op: dict[str, Any]) -> Any:
    """One structural edit, as a person makes it; returns the sheet later edits go to."""
    kind = op["op"]
    if kind in ("insert_rows", "remove_rows"):
        rows = sheet.Rows
        index = int(op["at"]) - 1
        if kind == "insert_rows":
            rows.insertByIndex(index, int(op.get("count", 1)))
        else:
            rows.removeByIndex(index, int(op.get("count", 1)))
    elif kind in ("insert_columns", "remove_columns"):
        columns = sheet.Columns
        index = columns.getByName(op["at"]).getRangeAddress().StartColumn
        if kind == "insert_columns":
            columns.insertByIndex(index, int(op.get("count", 1)))
        else:
            columns.removeByIndex(index, int(op.get("count", 1)))
    elif kind == "move":
        source = sheet.getCellRangeByName(op["range"]).getRangeAddress()
        target = sheet.getCellRangeByName(op["to"]).getCellAddress()
        sheet.moveRange(target, source)
    elif kind == "copy_sheet":
        sheets = doc.Sheets
        names = list(sheets.ElementNames)
        position = names.index(sheet.Name) + 1
        sheets.copyByName(sheet.Name, op["name"], position)
        sheet = sheets.getByName(op["name"])
    elif kind == "rename":
        sheet.Name = op["name"]
    else:
        fail("usage", f"unknown structural edit {kind!r}")
    return sheet


if __name__ == "__main__":
    try:
        main()
    except SystemExit:
        raise
    except BaseException as exc:
        message = f"{type(exc).__name__}: {exc}"
        print(json.dumps({"ok": False, "kind": "office", "message": message}))
