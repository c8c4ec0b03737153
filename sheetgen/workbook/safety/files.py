"""The input as bytes: a regular file (not a folder, device or link to one) within the size
limit, read once, so it cannot be swapped between checks."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Final

from ...errors import InputFileError, TooLargeError, UnsafeFileError
from ..hints import raise_hint
from .limits import MB, Limits
from .messages import count, file_label, show, too_large

# --------------------------------------------------------------------------
# Reading the file


READ_CHUNK: Final = 1 * MB


def _describe_mode(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISFIFO(mode):
        return "a pipe"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def _require_regular(path: Path, mode: int) -> None:
    if stat.S_ISREG(mode):
        return
    what = _describe_mode(mode)
    via = " (through a symbolic link)" if path.is_symlink() else ""
    raise UnsafeFileError(f"{file_label(path)} is {what}{via}, not a workbook file.")


def read_input(path: Path, limits: Limits) -> bytes:
    """Read the whole file, refusing anything but a bounded regular file.

    ``os.stat`` follows symbolic links, so a link to ``/dev/zero`` is refused
    before it is ever opened.  The file is then opened non-blocking (a FIFO
    swapped in after the stat cannot hang us) and checked again with ``fstat``
    on the open descriptor, and never more than ``max_file_bytes + 1`` bytes
    are read, whatever the size claimed.
    """
    label = file_label(path)
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise InputFileError(f"{label} does not exist.") from None
    except PermissionError:
        raise InputFileError(f"{label} cannot be read (permission denied).") from None
    except OSError as exc:
        raise InputFileError(f"{label} cannot be read ({show(exc.strerror or '')}).") from None
    _require_regular(path, info.st_mode)
    _check_size(label, info.st_size, limits)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    flags |= getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise InputFileError(f"{label} cannot be opened ({show(exc.strerror or '')}).") from None
    chunks: list[bytes] = []
    try:
        opened = os.fstat(fd)
        _require_regular(path, opened.st_mode)
        _check_size(label, opened.st_size, limits)
        total = 0
        while True:
            chunk = os.read(fd, READ_CHUNK)
            if not chunk:
                break
            total += len(chunk)
            _check_size(label, total, limits)
            chunks.append(chunk)
        return b"".join(chunks)
    except OSError as exc:
        raise InputFileError(f"{label} cannot be read ({show(exc.strerror or '')}).") from None
    except MemoryError:
        chunks.clear()  # what was read goes back before the sentence is made
        raise TooLargeError(too_large(label)) from None
    finally:
        os.close(fd)


def _check_size(label: str, size: int, limits: Limits) -> None:
    if size > limits.max_file_bytes:
        raise UnsafeFileError(
            f"{label} is larger than the limit of {count(limits.max_file_bytes)} bytes"
            f"{raise_hint('max_file_bytes', size)}."
        )
