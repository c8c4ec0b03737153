// Open a workbook with ExcelJS and save it again, as a learner's tool built on ExcelJS does:
// node save_workbook.js in.xlsx out.xlsx. ExcelJS keeps range names only, and notes.
"use strict";
const ExcelJS = require("exceljs");

(async () => {
  const wb = new ExcelJS.Workbook();
  await wb.xlsx.readFile(process.argv[2]);
  await wb.xlsx.writeFile(process.argv[3]);
})().catch((err) => {
  console.error(String(err));
  process.exit(2);
});
