"""A layout going out as an .xlsx: the workbook built with live formulas (``build``), the
values a spreadsheet would cache written in (``cached_values``), charts (``charts``), the
package tidied (``package``) and files written atomically, never over a file unasked
(``files``).

May import: ``sheetgen.engine``, ``sheetgen.workbook``, ``sheetgen.layouts``,
``sheetgen.maths``, ``sheetgen.a1``, ``sheetgen.errors``; not ``sheetgen.check``.
"""
