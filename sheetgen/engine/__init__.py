"""Formulas evaluated, cell by cell: the ``formulas`` engine's functions loaded on demand
(``function_table``, which also says which function names applications know), formula text
compiled once per text and shape (``compiled``), replayed without schedula's dispatcher
(``replay``),
the :class:`~sheetgen.engine.evaluate.Evaluator` a check asks for values, where the names
its formulas read point (``references``), what it works out from a book's structure alone and
shares among books of one hand-out (``plan``), values handed to and taken from the engine's
functions (``convert``), and the formula text that must never be evaluated (``hazards``).

The only folder that imports ``formulas`` or ``schedula`` (a contract in pyproject.toml).

May import: ``sheetgen.workbook``, ``sheetgen.layouts``, ``sheetgen.maths``, ``sheetgen.a1``,
``sheetgen.errors``.
"""
