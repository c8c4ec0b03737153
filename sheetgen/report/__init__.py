"""TODO: one paragraph: what sheetgen.report.render holds and what it may import."""
