"""Writing outputs without losing anything: atomically, durably, and never over a file unasked.

What a written file looks like to others, and what happens around it:

- **Permissions.** A new file gets the permissions any new file gets (``0o666`` less the
  umask), so hand-outs on a shared drive are readable as usual; a file replaced with ``force``
  keeps its own mode.
- **Atomic and durable.** The bytes go to a temporary file beside the target, which is flushed
  to disk (``fsync``) before it is moved into place, and the folder is flushed after: a
  reader never sees half a file, and a crash leaves the old file or the new one, whole.
- **Symbolic links.** Without ``force`` an existing link (even a dangling one) is an existing
  output and is refused. With ``force`` sheetgen writes *through* the link: the file it points
  to is replaced (atomically, in that file's folder, keeping that file's mode) and the link
  stays a link.
- **Names.** Any name the file system accepts works, up to its limit (255 bytes on most): the
  temporary name is short whatever the target's. A name or folder the system refuses is one
  sentence (:class:`~sheetgen.errors.UsageError`), not a traceback.
- **Folders.** The library creates missing parent folders (``build("hand-out/alice.xlsx")``);
  the command line refuses an output in a folder that does not exist, before any work
  (:func:`check_output`), as ``cp`` would.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
from collections.abc import Callable, Iterable
from pathlib import Path

from ..errors import OutputExistsError, UsageError, shown

WORKBOOK_SUFFIXES = (".xlsx",)


def _refusal(path: Path | str, exc: OSError) -> UsageError:
    reason = exc.strerror or type(exc).__name__
    if exc.errno == errno.ENAMETOOLONG:
        reason = "the name is longer than the file system allows"
    return UsageError(f"Cannot write {shown(path)}: {reason[0].lower()}{reason[1:]}.")


def check_output(
    path: Path | str,
    *,
    suffixes: Iterable[str] = WORKBOOK_SUFFIXES,
    force: bool = False,
    what: str = "workbooks",
) -> Path:
    """Settle, before any work, whether ``path`` can be written; raise one sentence if not.

    The suffix must be one the writer produces (``suffixes``), the name must not exist unless
    ``force``, must not be a folder, and its folder must exist.
    """
    target = Path(path)
    allowed = tuple(s.lower() for s in suffixes)
    if not os.fspath(path) or target.name in ("", ".", ".."):
        raise UsageError(f"{shown(path) or 'An empty name'} is not a file name.")
    if target.suffix.lower() not in allowed:
        raise UsageError(
            f"Cannot write {shown(path)}: sheetgen writes {what} as {', '.join(allowed)}."
        )
    try:
        if target.is_dir():
            raise UsageError(f"{shown(path)} is a folder, not a file name.")
        if (target.exists() or target.is_symlink()) and not force:
            raise OutputExistsError(f"{shown(path)} already exists.")
        if not target.parent.is_dir():
            raise UsageError(f"Cannot write {shown(path)}: {not_a_folder(target.parent)}.")
    except OSError as exc:  # a name too long, a folder we may not look into
        raise _refusal(path, exc) from None
    return target


def not_a_folder(folder: Path) -> str:
    """Why ``folder``, which is no folder, cannot hold a file: a file of that name is in the
    way (of it or of one of its parents), or it does not exist."""
    for part in (folder, *folder.parents):
        if part.exists() and not part.is_dir():  # afile/out.xlsx, or afile/sub/out.xlsx
            return f"{shown(part)} is a file, not a folder"
    return f"the folder {shown(folder)} does not exist"


def check_writable(path: Path | str) -> None:
    """Refuse, before any work, an output whose folder cannot be written to (read-only, no
    permission, a file in the way): a probe file is made there and removed, which answers even
    for root. A folder still to be made is probed at the nearest one that exists, where
    :func:`write_atomically` would make it."""
    import tempfile

    target = Path(path)
    try:
        folder = next((p for p in target.parents if p.exists()), target.parent)
        if not folder.is_dir():
            raise UsageError(f"Cannot write {shown(path)}: {not_a_folder(target.parent)}.")
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".sheetgen-probe-"):
            pass
    except OSError as exc:
        raise _refusal(path, exc) from None


def _new_temporary(folder: Path) -> Path:
    """An empty file with a short unused name in ``folder``, created with ``0o666 & ~umask``."""
    for _ in range(100):
        tmp = folder / f".sheetgen-{secrets.token_hex(6)}.tmp"
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            continue
        os.close(fd)
        return tmp
    raise FileExistsError(errno.EEXIST, "no unused temporary name", str(folder))


def _fsync(path: Path, *, folder: bool = False) -> None:
    fd = os.open(path, os.O_RDONLY | (getattr(os, "O_DIRECTORY", 0) if folder else 0))
    try:
        os.fsync(fd)
    except OSError:  # some file systems cannot sync a folder; the data itself was synced
        if not folder:
            raise
    finally:
        os.close(fd)


def write_atomically(path: Path, write: Callable[[Path], None], *, force: bool = False) -> Path:
    """Call ``write(tmp)`` on a temporary file beside ``path``, then move it into place.

    See the module docstring for permissions, durability, links and names. Without ``force``
    an existing ``path`` is refused, and the final step is a hard link, which fails rather than
    replace a file that appeared meanwhile. Returns ``path`` as given.
    """
    given = path
    path = Path(path)
    try:
        if (path.exists() or path.is_symlink()) and not force:
            raise OutputExistsError(f"{shown(given)} already exists.")
        if path.is_dir():
            raise UsageError(f"{shown(given)} is a folder, not a file name.")
        target = path.resolve() if path.is_symlink() else path  # --force writes through a link
        mode: int | None = None
        if force:
            with contextlib.suppress(FileNotFoundError):
                mode = target.stat().st_mode & 0o7777
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = _new_temporary(target.parent)
    except OSError as exc:
        raise _refusal(given, exc) from None
    try:
        write(tmp)
        if mode is not None:
            os.chmod(tmp, mode)
        _fsync(tmp)
        if force:
            os.replace(tmp, target)
        else:
            try:
                os.link(tmp, target)
            except FileExistsError:
                raise OutputExistsError(f"{shown(given)} already exists.") from None
            except OSError as exc:
                if exc.errno not in (errno.EPERM, errno.EOPNOTSUPP, errno.EXDEV, errno.EMLINK):
                    raise
                # A file system without hard links: best effort.
                if target.exists():
                    raise OutputExistsError(f"{shown(given)} already exists.") from None
                os.replace(tmp, target)
        _fsync(target.parent, folder=True)
    except OSError as exc:
        raise _refusal(given, exc) from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    return path
