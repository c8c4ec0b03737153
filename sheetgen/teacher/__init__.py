"""TODO: one paragraph: what sheetgen.teacher holds and what it may import."""
