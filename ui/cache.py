"""A cache shared by the server's sessions, bounded by bytes, with per-session pins.

Entries are parsed tables, analyses and chosen rows (never raw upload bytes), each
with its size in bytes. Open sessions pin the entries they show, so their pages
always find them; the least recently used unpinned entries go first once the total
passes the bound, and a closed session's pins are dropped (Streamlit's session
end, see :func:`ui.state.lease`), so its entries become the first to go.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import gc
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa

__all__ = ["ByteCache", "give_back", "nbytes"]


def _libc():
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:
        return None


_LIBC = _libc()


def give_back() -> None:
    """Return freed memory to the operating system: Arrow's pool keeps freed blocks
    for reuse and glibc keeps its heap's free pages, so without this a dropped table
    stays in the server's resident memory."""
    gc.collect()
    with contextlib.suppress(Exception):  # an allocator without the call
        pa.default_memory_pool().release_unused()
    if _LIBC is not None and hasattr(_LIBC, "malloc_trim"):
        _LIBC.malloc_trim(0)


@dataclass
class _Entry:
    value: Any
    size: int
    pins: set[str] = field(default_factory=set)


class ByteCache:
    """A least-recently-used cache whose unpinned entries total at most ``max_bytes``.

    Parameters
    ----------
    max_bytes : int
        The bound on the total size of the entries (pinned entries included; a
        pinned entry is never evicted, so pins alone may exceed it).
    """

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = int(max_bytes)
        self._entries: OrderedDict[Hashable, _Entry] = OrderedDict()
        self._lock = threading.RLock()
        self._building: dict[Hashable, threading.Lock] = {}

    def get(self, key: Hashable, *, pin: str | None = None) -> Any | None:
        """The value under ``key`` (None when absent), pinned for ``pin`` if given."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            self._entries.move_to_end(key)
            if pin is not None:
                entry.pins.add(pin)
            return entry.value

    def get_or_build(
        self,
        key: Hashable,
        build: Callable[[], Any],
        *,
        pin: str | None = None,
        size: Callable[[Any], int] | None = None,
    ) -> Any:
        """The value under ``key``, built once (other callers of the same key wait)."""
        value = self.get(key, pin=pin)
        if value is not None:
            return value
        with self._lock:
            building = self._building.setdefault(key, threading.Lock())
        with building:
            value = self.get(key, pin=pin)
            if value is not None:
                return value
            try:
                value = build()
            finally:
                with self._lock:
                    self._building.pop(key, None)
            self.put(key, value, pin=pin, size=(size or nbytes)(value))
            return value

    def put(self, key: Hashable, value: Any, *, size: int, pin: str | None = None) -> None:
        with self._lock:
            entry = self._entries.pop(key, None) or _Entry(value, size)
            entry.value, entry.size = value, size
            if pin is not None:
                entry.pins.add(pin)
            self._entries[key] = entry
            self._evict()

    def unpin(self, owner: str, *, keep: frozenset = frozenset()) -> None:
        """Drop ``owner``'s pins, except on the keys in ``keep``."""
        with self._lock:
            for key, entry in self._entries.items():
                if key not in keep:
                    entry.pins.discard(owner)
            self._evict()

    def resize(self, max_bytes: int) -> None:
        with self._lock:
            self.max_bytes = int(max_bytes)
            self._evict()

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    @property
    def total_bytes(self) -> int:
        with self._lock:
            return sum(entry.size for entry in self._entries.values())

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key: Hashable) -> bool:
        return key in self._entries

    def _evict(self) -> None:
        total = sum(entry.size for entry in self._entries.values())
        evicted = []
        for key in list(self._entries):
            if total <= self.max_bytes:
                break
            entry = self._entries[key]
            if not entry.pins:
                total -= entry.size
                evicted.append(self._entries.pop(key))
        if evicted:
            evicted.clear()  # the values' last references, before giving memory back
            give_back()


def nbytes(value: Any, _seen: set[int] | None = None) -> int:
    """Bytes held by ``value``: Arrow buffers, numpy arrays and bytes, found through
    dataclass fields, containers and ``__dict__`` (each object counted once)."""
    seen = set() if _seen is None else _seen
    if id(value) in seen or value is None or isinstance(value, (int, float, bool, str)):
        return 0
    seen.add(id(value))
    if isinstance(value, (pa.Table, pa.RecordBatch, pa.Array, pa.ChunkedArray)):
        return value.nbytes
    if isinstance(value, np.ndarray):
        return value.nbytes
    if isinstance(value, (bytes, bytearray, memoryview)):
        return len(value)
    if isinstance(value, dict):
        return sum(nbytes(k, seen) + nbytes(v, seen) for k, v in value.items())
    if isinstance(value, (list, tuple, set, frozenset)):
        return sum(nbytes(item, seen) for item in value)
    attributes = getattr(value, "__dict__", None)
    if attributes is None:
        return 0
    return sum(nbytes(item, seen) for item in attributes.values())
