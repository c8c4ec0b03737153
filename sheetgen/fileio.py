"""Writing outputs without losing anything: atomically, and never over a file unasked."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from .errors import OutputExistsError, UsageError


def write_atomically(path: Path, write: Callable[[Path], None], *, force: bool = False) -> Path:
    """Call ``write(tmp)`` on a temporary file beside ``path``, then move it into place.

    A reader never sees a half-written file, and a crash leaves the old file (if any) intact.
    Without ``force`` an existing ``path`` is refused, and the final step is a hard link,
    which fails rather than replace a file that appeared meanwhile.
    """
    path = Path(path)
    if path.exists() and not force:
        raise OutputExistsError(f"{path} already exists; pass --force to overwrite it.")
    if path.is_dir():
        raise UsageError(f"{path} is a folder, not a file name.")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise UsageError(f"Cannot write to {path.parent}: {exc.strerror}.") from None
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        write(tmp)
        if force:
            os.replace(tmp, path)
        else:
            try:
                os.link(tmp, path)
            except FileExistsError:
                raise OutputExistsError(
                    f"{path} already exists; pass --force to overwrite it."
                ) from None
            except OSError:  # file systems without hard links: best effort
                if path.exists():
                    raise OutputExistsError(
                        f"{path} already exists; pass --force to overwrite it."
                    ) from None
                os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    return path
