"""A learner's file coming in: vetted before a byte is parsed (``safety``: size, zip and XML
bombs, limits), read without openpyxl (``xlsx``; ``ods`` and ``openformula`` for LibreOffice's
own format) into the read-only :class:`~sheetgen.workbook.book.Book` everything after works on.

May import: ``sheetgen.layouts``, ``sheetgen.maths``, ``sheetgen.a1``, ``sheetgen.errors``
(in practice only the last two), and openpyxl with defusedxml for the commands that write.
"""
