"""An entry of a zip inflated in chunks: by ``zipfile``, or, for a small plain entry of bytes
already in memory, by ``zlib`` at once (the same chunks, a fraction of the cost).

``zipfile``'s reader costs tens of microseconds an entry in Python (a shared file object, a
header read, a decompressor wrapped in buffering), as much as inflating the small parts of a
workbook itself. A small entry whose every detail is the plain case (no encryption, stored
or deflated, its local header where the directory says and naming the same file, its data
ending before the next entry) is inflated whole here, checked against its declared size and
CRC-32, and handed on in the chunks ``zipfile`` would give. Anything else, or anything that
does not check out, is read by ``zipfile`` from the start, which raises what it raises.
"""

from __future__ import annotations

import struct
import zipfile
import zlib
from collections.abc import Generator, Sequence
from typing import Final

_WHOLE_LIMIT: Final = 1024 * 1024
"""Entries at most this large (inflated) are inflated at once."""
_HEADER: Final = struct.Struct("<4s2B4HL2L2H")
_SIGNATURE: Final = b"PK\x03\x04"
_PLAIN_FLAGS: Final = 0x2 | 0x4 | 0x8 | 0x800  # deflate level, data descriptor, UTF-8 names


def entry_ends(zf: zipfile.ZipFile, infos: Sequence[zipfile.ZipInfo], size: int) -> dict[int, int]:
    """Where each entry's bytes must end, by its header offset: the next entry's header (or
    the central directory)."""
    offsets = sorted({info.header_offset for info in infos})
    limit = getattr(zf, "start_dir", size)
    ends = [*offsets[1:], limit if isinstance(limit, int) else size]
    return dict(zip(offsets, ends, strict=True))


def entry_chunks(
    zf: zipfile.ZipFile,
    info: zipfile.ZipInfo,
    chunk: int,
    data: bytes | None = None,
    ends: dict[int, int] | None = None,
    stored: bytes | None = None,
) -> Generator[bytes, None, None]:
    """The entry's inflated bytes in chunks of ``chunk`` bytes (the last shorter), then
    ``b""``: from ``data`` (the archive's bytes) where the entry is plain, else ``zipfile``.
    ``stored``: its :func:`plain_bytes`, when the caller has them already."""
    whole = None if data is None or ends is None else _whole(data, info, ends, stored)
    if whole is not None:
        for start in range(0, len(whole), chunk):
            yield whole[start : start + chunk]
        yield b""
        return
    with zf.open(info) as stream:
        while True:
            piece = stream.read(chunk)
            yield piece
            if not piece:
                return


def plain_bytes(data: bytes, info: zipfile.ZipInfo, ends: dict[int, int]) -> bytes | None:
    """The entry's stored (compressed) bytes where every detail is the plain case (see the
    module docstring), or None where ``zipfile`` is to read it. Equal stored bytes under the
    same method, size and CRC-32 inflate to the same bytes."""
    if (
        info.file_size > _WHOLE_LIMIT
        or info.flag_bits & ~_PLAIN_FLAGS
        or info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)
    ):
        return None
    offset = info.header_offset
    header = data[offset : offset + _HEADER.size]
    if len(header) != _HEADER.size:
        return None
    fields = _HEADER.unpack(header)
    if fields[0] != _SIGNATURE:
        return None
    name_length, extra_length = fields[10], fields[11]
    start = offset + _HEADER.size
    name = data[start : start + name_length]
    try:
        named = name.decode("utf-8" if fields[3] & 0x800 else "cp437")
    except UnicodeDecodeError:
        return None
    start += name_length + extra_length
    end = start + info.compress_size
    if named != info.orig_filename or end > ends.get(offset, -1) or end > len(data):
        return None
    return data[start:end]


def _whole(
    data: bytes, info: zipfile.ZipInfo, ends: dict[int, int], stored: bytes | None = None
) -> bytes | None:
    """The entry inflated, or None where ``zipfile`` is to read it."""
    stored = stored if stored is not None else plain_bytes(data, info, ends)
    if stored is None:
        return None
    if info.compress_type == zipfile.ZIP_STORED:
        whole = stored
    else:
        inflater = zlib.decompressobj(-15)
        try:
            whole = inflater.decompress(stored, info.file_size + 1)
        except zlib.error:
            return None
    if len(whole) != info.file_size or zlib.crc32(whole) != info.CRC:
        return None
    return whole
