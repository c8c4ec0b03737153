"""The .xlsx package as strict readers expect it: parts where Excel puts them, relative targets.

openpyxl writes a valid package in its own way: comments at ``xl/comments/comment1.xml``, their
shapes at ``xl/drawings/commentsDrawing1.vml``, absolute relationship targets
(``/xl/drawings/drawing1.xml``), a drawing in the default namespace (``<wsDr>``) and an empty
``<workbookProtection/>``. Excel, LibreOffice and Gnumeric accept that; ExcelJS 4.4 does not
(it looks for ``xl/commentsN.xml``, ``xl/drawings/vmlDrawingN.vml``, targets relative to the
part, and ``xdr:``-prefixed drawings, and it reads a note's text only from formatting runs,
``<text><r><t>``, so openpyxl's plain ``<text><t>`` comes back empty: the hints, and the "To
do" marks an exercise's blanks are known by once ExcelJS has dropped the defined names), and
Gnumeric warns about the empty element. XlsxWriter,
whose output is compared with files Excel saved, writes the layout below; :func:`tidy_parts`
rewrites ours to match it, leaving every part's meaning as it was.
"""

from __future__ import annotations

import posixpath
import re
import time
import zipfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.etree import ElementTree  # only ever parses parts openpyxl has just written

_RELS_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
_TYPES_NS = "http://schemas.openxmlformats.org/package/2006/content-types"
_PREFIXES = {
    "http://schemas.openxmlformats.org/drawingml/2006/spreadsheetDrawing": "xdr",
    "http://schemas.openxmlformats.org/drawingml/2006/main": "a",
    "http://schemas.openxmlformats.org/drawingml/2006/chart": "c",
    "http://schemas.openxmlformats.org/officeDocument/2006/relationships": "r",
    "urn:schemas-microsoft-com:vml": "v",
    "urn:schemas-microsoft-com:office:office": "o",
    "urn:schemas-microsoft-com:office:excel": "x",
}
"""The prefixes Excel and XlsxWriter give the namespaces of drawings, charts and VML shapes
(Excel reads VML by its prefixes, and Gnumeric warns about one namespace under two)."""

_RENAMES = (
    (re.compile(r"^xl/comments/comment(\d+)\.xml$"), r"xl/comments\1.xml"),
    (re.compile(r"^xl/drawings/commentsDrawing(\d+)\.vml$"), r"xl/drawings/vmlDrawing\1.vml"),
)
_PLAIN_NOTE = re.compile(rb"<text>(<t(?:\s[^>]*)?>[^<]*</t>)</text>")
"""A note's text as one plain ``<t>`` (openpyxl's way), put into a run as Excel writes it."""
_HEADER = b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'


def save_workbook(wb: Any, path: Path) -> None:
    """``wb.save(path)`` (an openpyxl ``Workbook``), the package then tidied (``tidy_parts``)."""
    wb.save(path)
    tidy_file(path)


def tidy_file(path: Path) -> None:
    """Rewrite the .xlsx at ``path`` (a file we have just written) with :func:`tidy_parts`."""
    with zipfile.ZipFile(path) as zin:
        parts = {info.filename: zin.read(info.filename) for info in zin.infolist()}
    write_parts(path, tidy_parts(parts))


@dataclass(frozen=True)
class Pieces:
    """A part written as it is made, piece by piece, so that it is never held whole (a large
    network's sheet is tens of megabytes of XML); ``most`` bounds its size in bytes."""

    pieces: Iterable[bytes]
    most: int


def write_parts(path: Path, parts: Mapping[str, bytes | Pieces]) -> None:
    """Write ``parts`` as a zip package, ``[Content_Types].xml`` first as Excel does.

    A part given as :class:`Pieces` is compressed piece by piece into an entry made as
    ``ZipFile.writestr`` makes one; zipfile decides by an entry's size whether its header
    needs zip64 (past 2 GiB / 1.05), and here by ``most``: the same bytes whenever ``most``
    is below that, as a sheet far within ``verify``'s limits is."""
    order = sorted(parts, key=lambda name: name != "[Content_Types].xml")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zout:
        for name in order:
            data = parts[name]
            if isinstance(data, bytes):
                zout.writestr(name, data)
                continue
            info = zipfile.ZipInfo(name, date_time=time.localtime(time.time())[:6])
            info.compress_type = zout.compression
            info.file_size = data.most  # rewritten with the true size once written
            with zout.open(info, "w") as member:
                for piece in data.pieces:
                    member.write(piece)


def tidy_parts(parts: Mapping[str, bytes]) -> dict[str, bytes]:
    """The package ``parts`` (zip member name -> bytes) laid out as XlsxWriter lays them out."""
    renamed = {name: _renamed(name) for name in parts}
    out: dict[str, bytes] = {}
    for name, data in parts.items():
        new = renamed[name]
        if name.endswith(".rels"):
            data = _relationships(name, data)
        elif name == "[Content_Types].xml":
            data = _content_types(data)
        elif name == "xl/workbook.xml":
            data = data.replace(b"<workbookProtection/>", b"")
        elif re.fullmatch(r"xl/(drawings|charts)/[^/]+\.(xml|vml)", name):
            data = _prefixed(data)
        elif re.fullmatch(r"xl/comments\d+\.xml", new):
            data = _PLAIN_NOTE.sub(rb"<text><r>\1</r></text>", data)
        out[new] = data
    return out


def _renamed(name: str) -> str:
    for pattern, replacement in _RENAMES:
        if pattern.match(name):
            return pattern.sub(replacement, name)
    return name


def _relationships(name: str, data: bytes) -> bytes:
    """A .rels part with each internal target renamed and made relative to its source part."""
    folder, _, _ = name.rpartition("/_rels/")
    if name == "_rels/.rels":
        folder = ""
    root = ElementTree.fromstring(data)
    rows = []
    for rel in root.findall(f"{{{_RELS_NS}}}Relationship"):
        attrs = dict(rel.attrib)
        target = attrs.get("Target", "")
        if attrs.get("TargetMode") != "External":
            where = target[1:] if target.startswith("/") else posixpath.join(folder, target)
            where = _renamed(posixpath.normpath(where))
            attrs["Target"] = posixpath.relpath(where, folder or ".")
        rows.append("<Relationship" + "".join(f' {k}="{_attr(v)}"' for k, v in attrs.items()))
    body = "/>".join(rows) + ("/>" if rows else "")
    return _HEADER + f'<Relationships xmlns="{_RELS_NS}">{body}</Relationships>'.encode()


def _content_types(data: bytes) -> bytes:
    root = ElementTree.fromstring(data)
    rows = []
    for item in root:
        tag = item.tag.rpartition("}")[2]
        attrs = dict(item.attrib)
        if "PartName" in attrs:
            attrs["PartName"] = "/" + _renamed(attrs["PartName"].lstrip("/"))
        rows.append(f"<{tag}" + "".join(f' {k}="{_attr(v)}"' for k, v in attrs.items()) + "/>")
    return _HEADER + f'<Types xmlns="{_TYPES_NS}">{"".join(rows)}</Types>'.encode()


def _prefixed(data: bytes) -> bytes:
    """A drawing, chart or VML part re-serialised with Excel's prefixes (``xdr:``, ``v:``...)."""
    root = ElementTree.fromstring(data)
    used: dict[str, str] = {}

    def qname(tag: str) -> str:
        if not tag.startswith("{"):
            return tag
        uri, _, local = tag[1:].partition("}")
        prefix = _PREFIXES.get(uri) or f"ns{len(used)}"
        used.setdefault(uri, prefix)
        return f"{used[uri]}:{local}"

    def write(element: ElementTree.Element, declare: bool = False) -> str:
        tag = qname(element.tag)
        attrs = "".join(f' {qname(k)}="{_attr(v)}"' for k, v in element.attrib.items())
        inner = _text(element.text or "") + "".join(write(child) for child in element)
        if declare:  # the root: every namespace used below, declared once
            attrs = "".join(f' xmlns:{p}="{uri}"' for uri, p in used.items()) + attrs
        tail = _text(element.tail or "")
        if not inner:
            return f"<{tag}{attrs}/>{tail}"
        return f"<{tag}{attrs}>{inner}</{tag}>{tail}"

    qname(root.tag)
    body = write(root, declare=True)
    return _HEADER + body.encode()


def _text(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _attr(text: str) -> str:
    return _text(text).replace('"', "&quot;")
