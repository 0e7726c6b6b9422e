"""Resource limits for untrusted input, with documented defaults, in one place.

Where each limit is enforced (always before the work it protects):

=========================  ==========================================================
``max_input_bytes``        :func:`~balance_core.read_table`, :func:`~balance_core.read_zip`:
                           the input's size, before it is parsed (a path is not read).
``max_zip_entries``        zip reader: the end record's count, then the central
                           directory's records, before any record is parsed.
``max_total_uncompressed`` zip reader: the sum of declared sizes, from the central
                           directory, before anything is decompressed.
``max_entry_uncompressed`` zip reader: per entry, declared size (the entry is skipped
                           and reported); thumbnails skip such entries too.
``max_compression_ratio``  zip reader: per entry above 1 MiB, declared size over
                           compressed size (skipped and reported).
``max_path_depth``         zip reader: folders in an entry name, from the directory.
``max_image_pixels``       image header probe and thumbnails: width x height read
                           from the header, before any pixel is decoded.
``max_table_rows``         table reader: rows, right after parsing (the input size
                           bounds the parse).
``max_table_columns``      table reader: the header's fields, before the rows are
                           parsed (Parquet and JSON: right after parsing).
``max_cell_bytes``         table reader: the longest column name before parsing, and
                           the longest text cell of each column right after (one
                           vectorised pass, ``pyarrow.compute.binary_length``).
``max_sheet_cells``        Excel reader: the cells of every worksheet, and each
                           sheet's extent from A1 to its last cell, found in a
                           streaming pass over the sheet XML before python-calamine
                           parses it (1 M cells: about 7 CPU seconds, 310 MB).
``max_classes``            table and zip readers: distinct labels, once the label
                           column is known.
``max_output_rows``        balancing (CLI, :func:`~balance_core.recipe.run`) and the
                           exporters: rows a plan asks for, estimated from its target
                           counts (:mod:`balance_core.budget`) before any row is chosen.
``max_output_bytes``       the same, for the estimated bytes of a manifest, the dropped
                           rows or a balanced zip (from the central directory's sizes).
=========================  ==========================================================

The app reads overrides from ``.streamlit/seesaw.toml`` (see ``ui/limits.py``); the
CLI from ``--limit NAME=VALUE``; library callers pass ``Limits(...)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

from .errors import DatasetError

__all__ = ["DEFAULT_LIMITS", "FLOAT_LIMITS", "Limits", "check_limit_value", "limit_error"]


@dataclass(frozen=True, kw_only=True)
class Limits:
    """Upper bounds checked before any expensive work on untrusted input.

    Every field can be raised (or lowered) by passing ``Limits(...)`` to a reader,
    from the CLI with ``--limit NAME=VALUE``, or in the app under ``[limits]`` in
    ``.streamlit/seesaw.toml``.

    Attributes
    ----------
    max_input_bytes : int
        Size of the input file (default 64 GiB; the app's default is Streamlit's
        ``server.maxUploadSize``, 2 GB in ``.streamlit/config.toml``).
    max_zip_entries : int
        Entries listed in a zip's central directory (default 1,000,000).
    max_total_uncompressed : int
        Sum of the declared uncompressed sizes of all entries, in bytes (64 GiB).
    max_entry_uncompressed : int
        Declared uncompressed size of one entry, in bytes (512 MiB).
    max_compression_ratio : float
        Declared uncompressed size / compressed size of one entry above 1 MiB
        (200; zip bombs reach 1000+).
    max_path_depth : int
        Folders in one entry name (12).
    max_image_pixels : int
        Width x height of one image (89,478,485, Pillow's own warning threshold).
    max_table_rows : int
        Rows in a labels table (200,000,000).
    max_table_columns : int
        Columns in a labels table (2,000).
    max_cell_bytes : int
        Length of one cell or column name, in UTF-8 bytes (1 MiB).
    max_sheet_cells : int
        Cells in the worksheets of one Excel workbook, and rows x columns from A1
        to a sheet's last cell (1,000,000: about 7 CPU seconds and 310 MB peak with
        python-calamine on a small machine, 2 M take 13 s; see benchmarks/README.md;
        larger sheets read in seconds as CSV).
    max_classes : int
        Distinct labels (100,000).
    max_output_rows : int
        Rows of one output (manifest, dropped rows, entries of a balanced zip),
        estimated from the plan before writing (200,000,000).
    max_output_bytes : int
        Estimated bytes of one output file (64 GiB; the app sets a lower value in
        ``.streamlit/seesaw.toml``, as it builds downloads in memory).

    Every value must be a finite number above 0, a whole number except
    ``max_compression_ratio``; anything else raises :class:`DatasetError`
    (kind ``usage``) with one sentence.
    """

    max_input_bytes: int = 64 * 1024**3
    max_zip_entries: int = 1_000_000
    max_total_uncompressed: int = 64 * 1024**3
    max_entry_uncompressed: int = 512 * 1024**2
    max_compression_ratio: float = 200.0
    max_path_depth: int = 12
    max_image_pixels: int = 89_478_485
    max_table_rows: int = 200_000_000
    max_table_columns: int = 2_000
    max_cell_bytes: int = 1024**2
    max_sheet_cells: int = 1_000_000
    max_classes: int = 100_000
    max_output_rows: int = 200_000_000
    max_output_bytes: int = 64 * 1024**3

    def __post_init__(self) -> None:
        for spec in fields(self):
            check_limit_value(spec.name, getattr(self, spec.name))


FLOAT_LIMITS = frozenset({"max_compression_ratio"})
"""The limits that may be fractional; every other limit is a whole number."""


def check_limit_value(name: str, value: object) -> None:
    """Refuse a limit that is not a finite number above 0 (whole where it must be)."""
    whole = name not in FLOAT_LIMITS
    number = not isinstance(value, bool) and isinstance(value, (int, float))
    ok = (
        number
        and math.isfinite(value)
        and value > 0
        and (not whole or isinstance(value, int) or float(value).is_integer())
    )
    if not ok:
        wanted = "a whole number above 0" if whole else "a finite number above 0"
        raise DatasetError(f"The limit {name} must be {wanted}, got {value!r}.", kind="usage")


DEFAULT_LIMITS = Limits()


def limit_error(what: str, limit: str, value: float) -> DatasetError:
    """The error for a limit hit: what was found, the limit's name and value, and
    how to raise it. ``what`` completes "... above the limit of N"."""
    return DatasetError(
        f"{what}, above the limit of {value:,}; if you trust the file, raise it with "
        f"Limits({limit}=...) or --limit {limit}=N.",
        kind="limit_hit",
    )
