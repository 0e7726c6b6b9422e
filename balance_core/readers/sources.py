"""Uniform access to an input given as bytes, a path or a binary file object."""

from __future__ import annotations

import io
import os
import stat
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from ..errors import DatasetError
from ..limits import Limits, limit_error

__all__ = [
    "GZIP_MAGIC",
    "Input",
    "as_stream",
    "gunzip_input",
    "is_office_package",
    "open_input",
]

InputLike = bytes | bytearray | memoryview | str | os.PathLike | BinaryIO


@dataclass(frozen=True)
class Input:
    """An input file: its user-facing name and either its bytes or its path."""

    name: str
    data: bytes | None
    path: Path | None
    size: int

    def head(self, n: int) -> bytes:
        """The first ``n`` bytes (fewer if the input is shorter)."""
        if self.data is not None:
            return self.data[:n]
        with self.path.open("rb") as handle:
            return handle.read(n)

    def tail(self, n: int) -> bytes:
        """The last ``n`` bytes (fewer if the input is shorter)."""
        if self.data is not None:
            return self.data[-n:] if n else b""
        with self.path.open("rb") as handle:
            handle.seek(max(0, self.size - n))
            return handle.read(n)

    def read_all(self) -> bytes:
        if self.data is not None:
            return self.data
        return self.path.read_bytes()

    @property
    def content(self) -> bytes | Path:
        return self.data if self.data is not None else self.path

    @property
    def suffix(self) -> str:
        return Path(self.name).suffix.lower().lstrip(".")


def open_input(source: InputLike, *, name: str | None = None) -> Input:
    """Wrap ``source`` (bytes, a path or a readable binary file) as an :class:`Input`.

    A path is never read whole here, so a large file can be streamed by the reader.
    """
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
        return Input(name=name or "upload", data=data, path=None, size=len(data))
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        try:
            # Opened once here, so a file that cannot be read fails in one sentence
            # now rather than deep inside a parser.
            with path.open("rb") as handle:
                size = os.fstat(handle.fileno()).st_size
                regular = stat.S_ISREG(os.fstat(handle.fileno()).st_mode)
        except FileNotFoundError:
            raise DatasetError(
                f"There is no file at {str(path)!r}; check the path.", kind="file_not_found"
            ) from None
        except IsADirectoryError:
            raise DatasetError(
                f"{str(path)!r} is a folder, not a file; zip the folder or give a file.",
                kind="file_not_found",
            ) from None
        except OSError as error:
            reason = error.strerror or str(error)
            raise DatasetError(
                f"Cannot read {str(path)[:200]!r}: {reason}; check the path and its permissions.",
                kind="file_not_found",
            ) from None
        if not regular:
            raise DatasetError(
                f"{str(path)!r} is not a regular file (a device or a pipe); save the data "
                "to a file first.",
                kind="file_not_found",
            )
        return Input(name=name or path.name, data=None, path=path, size=size)
    if hasattr(source, "read"):
        data = source.read()
        if isinstance(data, str):
            raise DatasetError(
                "The file was opened in text mode; open it in binary mode ('rb').",
                kind="usage",
            )
        if not isinstance(data, bytes):  # bytearray or memoryview from some readers
            data = bytes(data)
        given = name or getattr(source, "name", None)
        base = os.path.basename(given) if isinstance(given, str) else "upload"
        return Input(name=base, data=data, path=None, size=len(data))
    raise DatasetError(
        f"Cannot read a {type(source).__name__}; give bytes, a file path or a binary file.",
        kind="usage",
    )


def as_stream(item: Input) -> BinaryIO:
    """A readable binary stream over the input."""
    if item.data is not None:
        return io.BytesIO(item.data)
    return item.path.open("rb")


def is_office_package(item: Input) -> bool:
    """Whether a zip whose first part is an Office part (``docProps/``, ``_rels/``,
    e.g. a thumbnail saved first) is a workbook: its central directory names
    ``[Content_Types].xml`` and ``xl/workbook.xml``. Other zips are not opened."""
    head = item.head(30 + 512)
    if len(head) < 30:
        return False
    length = int.from_bytes(head[26:28], "little")
    if not head[30 : 30 + length].startswith((b"docProps/", b"_rels/", b"customXml/")):
        return False
    try:
        with zipfile.ZipFile(as_stream(item)) as archive:
            names = set(archive.namelist())
    except Exception:
        return False
    return "[Content_Types].xml" in names and "xl/workbook.xml" in names


GZIP_MAGIC = b"\x1f\x8b"
_GZIP_CHUNK = 1 << 20


def gunzip_input(item: Input, limits: Limits) -> Input:
    """The decompressed content of a gzip-compressed table (``labels.csv.gz``).

    Decompressed in 1 MiB steps, so a bomb stops at the first step past a limit:
    the decompressed size is held to ``max_input_bytes`` (the input limit applies
    to what is parsed) and, above 1 MiB, to ``max_compression_ratio`` times the
    compressed size. Concatenated gzip members are read as one stream, as ``gzip``
    does. The result keeps the name without ``.gz`` (its format comes from its
    content) and is held in memory.
    """
    cap = min(
        limits.max_input_bytes,
        max(1 << 20, int(limits.max_compression_ratio * max(item.size, 1))),
    )
    ratio_bound = cap < limits.max_input_bytes
    out = io.BytesIO()
    stream = as_stream(item)
    with stream:
        decoder = zlib.decompressobj(wbits=31)
        pending = b""
        while True:
            if not pending:
                pending = stream.read(_GZIP_CHUNK)
                if not pending:
                    break
            try:
                piece = decoder.decompress(pending, _GZIP_CHUNK)
            except zlib.error as error:
                raise DatasetError(
                    f"{item.name!r} is damaged gzip data ({error}); compress the table "
                    "again or upload it uncompressed.",
                    kind="corrupt_gzip",
                ) from None
            pending = decoder.unconsumed_tail
            out.write(piece)
            if out.tell() > cap:
                if ratio_bound:
                    raise limit_error(
                        f"{item.name!r} inflates to more than {limits.max_compression_ratio:g} "
                        f"times its {item.size:,} compressed bytes (a gzip bomb?)",
                        "max_compression_ratio",
                        limits.max_compression_ratio,
                    )
                raise limit_error(
                    f"{item.name!r} decompresses to more than {limits.max_input_bytes:,} bytes",
                    "max_input_bytes",
                    limits.max_input_bytes,
                )
            if decoder.eof:
                rest = decoder.unused_data + pending or stream.read(_GZIP_CHUNK)
                if not rest.strip(b"\x00"):  # the end (zero padding allowed)
                    break
                if not rest.startswith(GZIP_MAGIC):
                    raise DatasetError(
                        f"{item.name!r} has bytes after its gzip data that are not gzip; "
                        "compress the table again.",
                        kind="corrupt_gzip",
                    )
                decoder = zlib.decompressobj(wbits=31)  # the next member
                pending = rest
        if not decoder.eof:
            raise DatasetError(
                f"{item.name!r} is cut short: its gzip data ends before the end of the "
                "compressed stream; download or compress it again.",
                kind="corrupt_gzip",
            )
    data = out.getvalue()
    inner = item.name[:-3] if item.name.lower().endswith(".gz") else item.name
    return Input(name=inner, data=data, path=None, size=len(data))
