"""Uniform access to an input given as bytes, a path or a binary file object."""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from ..errors import DatasetError

__all__ = ["Input", "open_input"]

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
        if not path.is_file():
            raise DatasetError(
                f"There is no file at {str(path)!r}; check the path.", kind="file_not_found"
            )
        return Input(name=name or path.name, data=None, path=path, size=path.stat().st_size)
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
