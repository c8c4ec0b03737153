"""``sheetgen.workbook.safety.inflate``: a small plain entry inflated by zlib at once gives the
chunks ``zipfile`` gives, and anything else is left to ``zipfile`` (its errors included)."""

from __future__ import annotations

import io
import random
import zipfile
import zlib
from dataclasses import replace
from pathlib import Path
from unittest import mock

import pytest

from sheetgen.workbook.safety import inflate

from . import hostile

CHUNK = 1000


def _chunks(path: Path, whole: bool) -> list[tuple[str, object]]:
    """Each entry's chunks (or the error ``zipfile`` raises), one way or the other."""
    data = path.read_bytes()
    out: list[tuple[str, object]] = []
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        infos = zf.infolist()
        ends = inflate.entry_ends(zf, infos, len(data)) if whole else None
        for info in infos:
            try:
                chunks = list(inflate.entry_chunks(zf, info, CHUNK, data if whole else None, ends))
            except Exception as exc:
                out.append((info.filename, (type(exc).__name__, str(exc))))
            else:
                out.append((info.filename, chunks))
    return out


def _taken(path: Path) -> list[bool]:
    """Which entries are inflated without ``zipfile``'s reader."""
    data = path.read_bytes()
    out = []
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        ends = inflate.entry_ends(zf, zf.infolist(), len(data))
        for info in zf.infolist():
            with mock.patch.object(zipfile.ZipFile, "open", side_effect=LookupError):
                try:
                    list(inflate.entry_chunks(zf, info, CHUNK, data, ends))
                except LookupError:
                    out.append(False)
                else:
                    out.append(True)
    return out


def _payload(seed: int, size: int) -> bytes:
    rng = random.Random(seed)
    return bytes(rng.choice(b"<>abc =\"'\n") for _ in range(size))


def test_plain_entries_inflate_to_zipfiles_chunks(tmp_path: Path) -> None:
    entries = [hostile.deflated(f"p{n}.xml", _payload(n, n * 997)) for n in range(8)]
    entries += [hostile.stored("s.xml", _payload(9, 3 * CHUNK)), hostile.deflated("e.xml", b"")]
    path = hostile.write_raw_zip(tmp_path / "plain.zip", entries)
    assert _chunks(path, True) == _chunks(path, False)
    assert all(_taken(path))


def test_a_built_workbook_inflates_alike(tmp_path: Path) -> None:
    from sheetgen import build

    path = build(tmp_path / "article.xlsx")
    assert _chunks(path, True) == _chunks(path, False)
    assert all(_taken(path))


BAD = {
    "crc": lambda e: replace(e, crc=e.crc ^ 1),
    "longer than declared": lambda e: replace(e, size=e.size - 1),
    "shorter than declared": lambda e: replace(e, size=e.size + 1),
    "encrypted": lambda e: replace(e, flags=1),
    "patched": lambda e: replace(e, flags=0x20),
    "not deflate": lambda e: replace(e, method=zipfile.ZIP_BZIP2),
    "damaged stream": lambda e: replace(e, payload=b"\xff" + e.payload[1:]),
    "cut short": lambda e: replace(e, payload=e.payload[:-3]),
}


@pytest.mark.parametrize("change", BAD.values(), ids=BAD.keys())
def test_anything_but_the_plain_case_is_left_to_zipfile(tmp_path: Path, change: object) -> None:
    assert callable(change)
    good = hostile.deflated("a.xml", _payload(1, 5000))
    path = hostile.write_raw_zip(tmp_path / "bad.zip", [change(good), good])
    assert _chunks(path, True) == _chunks(path, False)
    assert _taken(path)[0] is False


def test_a_large_entry_is_left_to_zipfile(tmp_path: Path) -> None:
    path = hostile.write_raw_zip(
        tmp_path / "large.zip", [hostile.deflated("big.xml", b"<a/>" * 300_000)]
    )
    assert _taken(path) == [False]


def test_a_header_that_names_another_file_is_left_to_zipfile(tmp_path: Path) -> None:
    path = hostile.write_raw_zip(tmp_path / "x.zip", [hostile.deflated("a.xml", b"<a/>")])
    data = bytearray(path.read_bytes())
    data[30:35] = b"b.xml"  # the local header's name; the directory still says a.xml
    path.write_bytes(bytes(data))
    assert _chunks(path, True) == _chunks(path, False)
    assert _taken(path) == [False]


def test_entries_whose_data_overlap_are_left_to_zipfile(tmp_path: Path) -> None:
    """Two directory entries whose data run into each other (a zip bomb's trick)."""
    body = zlib.compress(b"<a/>" * 1000)[2:-4]
    first = hostile.RawEntry("a.xml", body, zipfile.ZIP_DEFLATED, zlib.crc32(b"<a/>" * 1000), 4000)
    path = hostile.write_raw_zip(tmp_path / "overlap.zip", [first, first])
    data = bytearray(path.read_bytes())
    # The first entry's directory record claims its data run on into the second entry.
    at = data.index(b"PK\x01\x02") + 20
    data[at : at + 4] = (len(body) + 40).to_bytes(4, "little")
    path.write_bytes(bytes(data))
    assert _chunks(path, True) == _chunks(path, False)
    assert _taken(path)[0] is False
