"""A workbook judged: read -> locate (``locate``, ``recognise``) -> evaluate -> judge
(``judge``) -> diagnose (``diagnose``; saved values and array formulas in ``provenance``), run
by ``verify.verify_workbook`` into one :class:`~sheetgen.check.results.Report` (``results``);
values shown one way (``show``); many files at once (``batch``).

May import: ``sheetgen.engine``, ``sheetgen.workbook``, ``sheetgen.layouts``,
``sheetgen.maths``, ``sheetgen.a1``, ``sheetgen.errors``; not ``sheetgen.writer``.
"""
