"""A bounded memory of what was found in parts met before, keyed by the parts' stored bytes:
the submissions of one hand-out share most of their parts byte for byte, so what a pass over
one part found serves the next file's equal part (``entries``' scans, ``read_found``'s
records)."""

from __future__ import annotations

from collections.abc import Hashable
from typing import Generic, TypeVar

T = TypeVar("T")


class Memory(Generic[T]):
    """What was found, by a key that holds everything the finding depends on, the part's
    stored bytes themselves included (compared in full, never a checksum alone: equal keys
    are equal parts, so a file cannot borrow another's findings).

    Bounded: past ``most`` bytes (the sizes :meth:`put` is told), or ``entries`` keys (a part
    that differs in every file is remembered too), it starts afresh.
    """

    def __init__(self, most: int, entries: int) -> None:
        self.most = most
        self.entries = entries
        self._found: dict[Hashable, T] = {}
        self._bytes = 0

    def __len__(self) -> int:
        return len(self._found)

    def get(self, key: Hashable) -> T | None:
        return self._found.get(key)

    def put(self, key: Hashable, found: T, size: int) -> None:
        if self._bytes + size > self.most or len(self._found) >= self.entries:
            self.forget()
        if size <= self.most:
            self._found[key] = found
            self._bytes += size

    def forget(self) -> None:
        """Forget every finding."""
        self._found.clear()
        self._bytes = 0

    def clear(self) -> None:
        self.forget()
