"""TODO: one paragraph: what sheetgen.layouts holds and what it may import."""
