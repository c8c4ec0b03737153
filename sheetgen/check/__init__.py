"""TODO: one paragraph: what sheetgen.check holds and what it may import."""
