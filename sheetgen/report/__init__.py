"""One :class:`~sheetgen.check.results.Report` shown, never recomputed: as text, JSON or JUnit
(``render``) and as the learner's own workbook with each checked cell coloured and explained
(``annotate``).

May import: ``sheetgen.check``, ``sheetgen.writer`` and everything below them.
"""
