"""TODO: one paragraph: what sheetgen.workbook holds and what it may import."""
