"""Resource limits for untrusted input, with documented defaults, in one place."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["DEFAULT_LIMITS", "Limits"]


@dataclass(frozen=True, kw_only=True)
class Limits:
    """Upper bounds checked before any expensive work on untrusted input.

    Every field can be raised (or lowered) by passing ``Limits(...)`` to a reader,
    or from the CLI with ``--limit NAME=VALUE``.

    Attributes
    ----------
    max_zip_entries : int
        Entries listed in a zip's central directory.
    max_total_uncompressed : int
        Sum of the declared uncompressed sizes of all entries, in bytes.
    max_entry_uncompressed : int
        Declared uncompressed size of one entry, in bytes.
    max_compression_ratio : float
        Declared uncompressed size / compressed size of one entry (zip bombs reach 1000+).
    max_path_depth : int
        Folders in one entry name.
    max_image_pixels : int
        Width x height of one image; Pillow's own default warning threshold is 89.5 M.
    max_table_rows : int
        Rows in a labels table.
    max_table_columns : int
        Columns in a labels table.
    max_cell_bytes : int
        Length of one cell, in bytes.
    max_classes : int
        Distinct labels.
    """

    max_zip_entries: int = 1_000_000
    max_total_uncompressed: int = 64 * 1024**3
    max_entry_uncompressed: int = 512 * 1024**2
    max_compression_ratio: float = 200.0
    max_path_depth: int = 12
    max_image_pixels: int = 89_478_485
    max_table_rows: int = 200_000_000
    max_table_columns: int = 2_000
    max_cell_bytes: int = 1024**2
    max_classes: int = 100_000


DEFAULT_LIMITS = Limits()
