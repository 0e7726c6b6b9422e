"""Readers: bytes or a path in, a :class:`~balance_core.dataset.Dataset` out."""

from __future__ import annotations

import struct
from collections.abc import Callable

from ..dataset import Dataset
from ..errors import DatasetError
from ..limits import DEFAULT_LIMITS, Limits
from .sources import InputLike, is_office_package, open_input
from .tables import SNIFF_BYTES, check_input_size, detect_format, read_table

__all__ = ["read_dataset", "read_table", "read_zip"]


def read_zip(source: InputLike, **options) -> Dataset:
    """Read a zip of image folders; see :func:`balance_core.readers.zipped.read_zip`."""
    from .zipped import read_zip as _read_zip

    return _read_zip(source, **options)


def read_dataset(
    source: InputLike,
    *,
    name: str | None = None,
    label_col: str | None = None,
    path_col: str | None = None,
    split_col: str | None = None,
    group_col: str | None = None,
    sheet: str | None = None,
    probe: str = "all",
    limits: Limits | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Dataset:
    """Read a labels table or a zip of image folders, whichever ``source`` holds.

    The format is taken from the content, not the file name. Parameters are those
    of :func:`read_table` and :func:`read_zip`; ``sheet`` applies to workbooks, and
    ``probe`` and ``progress`` (called with images done and total) to zips.
    """
    item = open_input(source, name=name)
    check_input_size(item, limits or DEFAULT_LIMITS)
    roles = {
        "label_col": label_col,
        "path_col": path_col,
        "split_col": split_col,
        "group_col": group_col,
    }
    if item.size and _is_zip(item):
        return read_zip(
            item.content, name=item.name, probe=probe, limits=limits, progress=progress, **roles
        )
    return read_table(item.content, name=item.name, sheet=sheet, limits=limits, **roles)


def _is_zip(item) -> bool:
    """A zip by its first bytes, or by its end record: a zip with bytes before it
    (a self-extracting archive) or a damaged first entry is still read as a zip,
    through its central directory, instead of being taken for text."""
    try:
        fmt = detect_format(item.head(SNIFF_BYTES), suffix=item.suffix)
    except DatasetError:
        if _ends_like_zip(item):
            return True
        raise
    if fmt == "zip" and is_office_package(item):
        return False  # an xlsx whose first part is its thumbnail
    return fmt == "zip" or (fmt not in ("xlsx", "parquet") and _ends_like_zip(item))


def _ends_like_zip(item) -> bool:
    """Whether the input ends with a zip end record whose comment runs exactly to
    the end of the file (the check zip tools make)."""
    tail = item.tail(_EOCD_SIZE + 0xFFFF)
    position = tail.rfind(b"PK\x05\x06")
    while position >= 0:
        if position + _EOCD_SIZE <= len(tail):
            (comment,) = struct.unpack_from("<H", tail, position + 20)
            if position + _EOCD_SIZE + comment == len(tail):
                return True
        position = tail.rfind(b"PK\x05\x06", 0, position)
    return False


_EOCD_SIZE = 22
