"""TODO: one paragraph: what sheetgen.maths holds and what it may import."""
