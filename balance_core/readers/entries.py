"""The files of a detection dataset, from a zip or a folder, read safely.

A zip is read through its central directory with the checks of
:mod:`balance_core.readers.zipped` (bombs, unsafe names, sizes): nothing is
extracted and no entry name is ever used as a path on this machine. A folder (for
the command line) is walked without following symbolic links. Both give the same
:class:`Entries`: names relative to the root, sizes, and bytes on request.
"""

from __future__ import annotations

import io
import os
import stat
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from ..dataset import Finding, FindingKind, Severity
from ..errors import DatasetError
from ..limits import Limits, limit_error
from . import zipped
from .imageprobe import (
    PROBE_CORRUPT,
    EntryError,
    data_start,
    inspect_entries,
    iter_entry,
    probe_header,
)
from .sources import Input

__all__ = ["Entries", "open_entries"]

# Entry categories of the zip reader that may be read (images, metadata, other).
_READABLE = (zipped._IMAGE, zipped._METADATA, zipped._OTHER)


@dataclass
class Entries:
    """Files of a dataset: ``names[i]`` (posix, relative), ``sizes[i]``, and bytes.

    Attributes
    ----------
    archive : str
        The name of the zip or folder, for messages.
    names : list of str
        Readable files, in sorted order.
    sizes : numpy.ndarray
        Declared (zip) or actual (folder) sizes in bytes.
    findings : list of Finding
        Entries that were skipped (unsafe, junk, too large), as the zip reader
        reports them.
    """

    archive: str
    names: list[str]
    sizes: np.ndarray
    findings: list[Finding] = field(default_factory=list)
    _buffer: Any = None
    _directory: Any = None
    _index: np.ndarray | None = None  # zip: central-directory index of names[i]
    _root: Path | None = None

    def read(self, i: int, *, limit: int) -> bytes:
        """The whole file ``i``; a file above ``limit`` bytes raises :class:`DatasetError`."""
        name = self.names[i]
        if int(self.sizes[i]) > limit:
            raise limit_error(
                f"{name!r} in {self.archive!r} is {int(self.sizes[i]):,} bytes",
                "max_entry_uncompressed",
                limit,
            )
        if self._root is not None:
            with _open_regular(self._root, name) as handle:
                data = handle.read(limit + 1)
            if len(data) > limit:
                raise limit_error(
                    f"{name!r} in {self.archive!r} is over {limit:,} bytes",
                    "max_entry_uncompressed",
                    limit,
                )
            return data
        try:
            return zipped._read_whole(self._buffer, self._directory, int(self._index[i]))
        except EntryError as error:
            raise DatasetError(
                f"{name!r} inside {self.archive!r} cannot be read: it {error}.",
                kind="corrupt_zip",
            ) from None

    def stream(self, i: int) -> io.RawIOBase:
        """File ``i`` as a binary stream, decompressed piece by piece (constant
        memory), its CRC-32 checked at the end."""
        if self._root is not None:
            return _open_regular(self._root, self.names[i]).__enter__()
        entry = int(self._index[i])
        directory = self._directory
        try:
            start = data_start(
                self._buffer,
                int(directory.offset[entry]),
                int(directory.name_pos[entry]),
                int(directory.name_len[entry]),
                directory.cd_start,
            )
        except EntryError as error:
            raise DatasetError(
                f"{self.names[i]!r} inside {self.archive!r} cannot be read: it {error}.",
                kind="corrupt_zip",
            ) from None
        pieces = iter_entry(
            self._buffer,
            start,
            int(directory.compressed_size[entry]),
            int(directory.method[entry]),
            int(directory.size[entry]) + 1,
            directory.cd_start,
        )
        return _CheckedStream(
            pieces, int(directory.size[entry]), int(directory.crc[entry]), self.names[i],
            self.archive,
        )  # fmt: skip

    def probe(self, indices: np.ndarray, *, max_pixels: int) -> list[tuple]:
        """Image header probes ``(status, format, width, height, mode, reason)`` of
        the files ``indices``, no pixel decoded (see
        :func:`~balance_core.readers.imageprobe.probe_header`)."""
        indices = np.asarray(indices, dtype=np.int64)
        if not len(indices):
            return []
        if self._root is not None:
            results = []
            for i in indices.tolist():
                try:
                    with _open_regular(self._root, self.names[i]) as handle:

                        def read(n: int, handle=handle) -> bytes:
                            handle.seek(0)
                            return handle.read(n)

                        results.append(
                            probe_header(read, int(self.sizes[i]), max_pixels=max_pixels)
                        )
                except DatasetError as error:
                    results.append((PROBE_CORRUPT, None, None, None, None, str(error)))
            return results
        entries = self._index[indices]
        order = np.argsort(self._directory.offset[entries], kind="stable")
        units = self._directory.units(
            entries[order], np.ones(len(order), dtype=bool), np.zeros(len(order), dtype=bool)
        )
        found = inspect_entries(
            self._buffer, units, max_pixels=max_pixels, n_jobs=None, progress=None
        )
        results: list[tuple] = [()] * len(indices)
        for position, (result, _, _) in zip(order.tolist(), found, strict=True):
            results[position] = result
        return results


class _CheckedStream(io.RawIOBase):
    """A read-only stream over decompressed pieces, checking size and CRC-32 at the end."""

    def __init__(
        self, pieces: Iterator[bytes], size: int, crc: int, name: str, archive: str
    ) -> None:
        self._pieces = pieces
        self._pending = b""
        self._size, self._crc, self._name, self._archive = size, crc, name, archive
        self._got = 0
        self._check = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._pending:
            try:
                piece = next(self._pieces)
            except StopIteration:
                self._finish()
                return 0
            except EntryError as error:
                raise DatasetError(
                    f"{self._name!r} inside {self._archive!r} cannot be read: it {error}.",
                    kind="corrupt_zip",
                ) from None
            self._got += len(piece)
            self._check = zlib.crc32(piece, self._check)
            self._pending = piece
        n = min(len(buffer), len(self._pending))
        buffer[:n] = self._pending[:n]
        self._pending = self._pending[n:]
        return n

    def _finish(self) -> None:
        if self._got != self._size or self._check != self._crc:
            raise DatasetError(
                f"{self._name!r} inside {self._archive!r} is damaged (its size or CRC-32 "
                "does not match the zip's directory); download or copy it again.",
                kind="corrupt_zip",
            )


@contextmanager
def _open_regular(root: Path, name: str) -> Iterator[Any]:
    """Open ``root/name`` for reading, refusing anything but a regular file."""
    path = root / name
    try:
        flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0)
        fd = os.open(path, flags)
    except OSError as error:
        raise DatasetError(
            f"{name!r} in {str(root)!r} cannot be opened ({error.strerror}).",
            kind="file_not_found",
        ) from None
    handle = os.fdopen(fd, "rb")
    try:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            raise DatasetError(f"{name!r} in {str(root)!r} is not a regular file.", kind="usage")
        yield handle
    finally:
        handle.close()


@contextmanager
def open_entries(item: Input, limits: Limits) -> Iterator[Entries]:
    """The readable files of a zip (bytes or path) or of a folder (path)."""
    if item.path is not None and item.path.is_dir():
        yield _folder_entries(item.path, item.name, limits)
        return
    with zipped._archive_bytes(item) as buffer:
        directory = zipped._read_directory(buffer, item.name, limits)
        classified = zipped._classify(directory, limits)
        findings = zipped._entry_findings(directory, classified, limits)
        readable = np.flatnonzero(np.isin(classified.category, _READABLE))
        names = directory.names.take(pa.array(readable, pa.int64())).to_pylist()
        order = sorted(range(len(names)), key=names.__getitem__)
        index = readable[np.array(order, dtype=np.int64)] if order else readable
        yield Entries(
            archive=item.name,
            names=[names[k] for k in order],
            sizes=directory.size[index],
            findings=findings,
            _buffer=buffer,
            _directory=directory,
            _index=index,
        )


def _folder_entries(root: Path, name: str, limits: Limits) -> Entries:
    names: list[str] = []
    sizes: list[int] = []
    skipped: list[str] = []
    for folder, dirs, files in os.walk(root, followlinks=False):
        relative = Path(folder).relative_to(root).as_posix()
        prefix = "" if relative == "." else relative + "/"
        if prefix.count("/") > limits.max_path_depth:
            dirs[:] = []
            continue
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d != "__MACOSX")
        for file in files:
            full = Path(folder) / file
            info = full.lstat()
            if file.startswith(".") or file.lower() in zipped.JUNK_FILES:
                skipped.append(prefix + file)
                continue
            if not stat.S_ISREG(info.st_mode):  # symbolic links are never followed
                skipped.append(prefix + file)
                continue
            names.append(prefix + file)
            sizes.append(info.st_size)
            if len(names) > limits.max_zip_entries:
                raise limit_error(
                    f"{name!r} holds more than {limits.max_zip_entries:,} files",
                    "max_zip_entries",
                    limits.max_zip_entries,
                )
    order = sorted(range(len(names)), key=names.__getitem__)
    findings = []
    if skipped:
        findings.append(
            Finding(
                kind=FindingKind.SKIPPED_JUNK,
                severity=Severity.INFO,
                count=len(skipped),
                message=(
                    f"{len(skipped):,} hidden files, system files or links were skipped "
                    f"(first: {skipped[0]!r}); they are not part of the dataset."
                ),
                entries=tuple(skipped),
            )
        )
    return Entries(
        archive=name,
        names=[names[k] for k in order],
        sizes=np.array([sizes[k] for k in order], dtype=np.int64),
        findings=findings,
        _root=root,
    )
