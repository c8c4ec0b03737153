"""TODO: one paragraph: what sheetgen.writer holds and what it may import."""
