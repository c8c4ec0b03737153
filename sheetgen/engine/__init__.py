"""TODO: one paragraph: what sheetgen.engine holds and what it may import."""
