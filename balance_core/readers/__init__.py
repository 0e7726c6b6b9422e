"""Readers: bytes or a path in, a :class:`~balance_core.dataset.Dataset` out."""

from __future__ import annotations

from collections.abc import Callable

from ..dataset import Dataset
from ..limits import Limits
from .sources import InputLike, open_input
from .tables import SNIFF_BYTES, detect_format, read_table

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
    roles = {
        "label_col": label_col,
        "path_col": path_col,
        "split_col": split_col,
        "group_col": group_col,
    }
    if item.size and detect_format(item.head(SNIFF_BYTES), suffix=item.suffix) == "zip":
        return read_zip(
            item.content, name=item.name, probe=probe, limits=limits, progress=progress, **roles
        )
    return read_table(item.content, name=item.name, sheet=sheet, limits=limits, **roles)
