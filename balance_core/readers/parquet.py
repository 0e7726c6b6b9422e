"""Parquet -> a table, its columns with the types they were written with.

The footer is checked against the limits before any data page is read: rows,
columns, and the uncompressed size the row groups declare. Text columns are read
dictionary-encoded, so a dictionary whose few values repeat into gigabytes is
measured (value lengths times uses, no copy) and refused before it is expanded.
View types (``string_view``, ``binary_view``), which pyarrow's filter and take
kernels do not handle, come back as ``large_string`` / ``large_binary``.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from ..errors import DatasetError
from ..limits import Limits, limit_error
from .checks import columns_limit
from .sources import Input
from .text import first_line

__all__ = ["EXPANSION_FLOOR", "read_parquet"]

EXPANSION_FLOOR = 1 << 30
"""A table may always take this many bytes in memory; beyond it, at most
``max_compression_ratio`` times the file's size."""


def _unreadable(item: Input, error: BaseException) -> DatasetError:
    return DatasetError(
        f"{item.name!r} could not be read as Parquet ({first_line(str(error))}); "
        "write the file again or export it as CSV.",
        kind="parse_error",
    )


def read_parquet(item: Input, limits: Limits) -> pa.Table:
    import pyarrow.parquet as pq

    allowed = max(EXPANSION_FLOOR, int(limits.max_compression_ratio * item.size))
    try:
        # An open file, never a path string: pyarrow would take "s3:x.parquet" or
        # "hdfs:..." as a URI and reach for a remote filesystem.
        source: Any = (
            pa.BufferReader(item.data) if item.data is not None else pa.OSFile(str(item.path))
        )
        with source:
            # ParquetFile, not read_table: the dataset layer behind read_table fails on
            # duplicate column names before they can be reported as such.
            parquet = pq.ParquetFile(source)
            metadata = parquet.metadata
            _check_footer(item, metadata, limits, allowed)
            encoded = _dictionary_columns(metadata)
            text = [
                field.name
                for field in parquet.schema_arrow
                if field.name in encoded
                and (
                    pa.types.is_string(field.type)
                    or pa.types.is_large_string(field.type)
                    or pa.types.is_binary(field.type)
                    or pa.types.is_large_binary(field.type)
                )
            ]
            if text:
                parquet = pq.ParquetFile(source, metadata=metadata, read_dictionary=text)
            table = parquet.read()
    except UnicodeDecodeError:
        raise DatasetError(
            f"{item.name!r} has a column name that is not valid UTF-8 text; rename the "
            "columns and write the file again.",
            kind="bad_column_name",
        ) from None
    except (pa.ArrowException, OSError) as error:
        raise _unreadable(item, error) from None
    if table.num_rows == 0:
        raise DatasetError(
            f"{item.name!r} has columns but no rows; add one row per sample.", kind="header_only"
        )
    names = table.column_names
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise DatasetError(
            f"{item.name!r} names the column {duplicated[0]!r} twice; give every column "
            "its own name.",
            kind="duplicate_columns",
        )
    _check_expansion(item, table, limits, allowed)
    # Dictionary-encoded columns are plain values to the user; view types become the
    # large types every kernel handles.
    for index, field in enumerate(table.schema):
        kind = field.type
        if pa.types.is_dictionary(kind):
            kind = kind.value_type
        if pa.types.is_string_view(kind):
            kind = pa.large_string()
        elif pa.types.is_binary_view(kind):
            kind = pa.large_binary()
        if kind != field.type:
            table = table.set_column(index, field.name, table.column(index).cast(kind))
    return table.combine_chunks()


def _dictionary_columns(metadata: Any) -> set[str]:
    """Top-level columns with a dictionary page in some row group: the only ones a
    few bytes of file can expand into gigabytes of values."""
    found: set[str] = set()
    for group in range(metadata.num_row_groups):
        row_group = metadata.row_group(group)
        for index in range(row_group.num_columns):
            chunk = row_group.column(index)
            if chunk.has_dictionary_page:
                found.add(chunk.path_in_schema.split(".")[0])
    return found


def _check_footer(item: Input, metadata: Any, limits: Limits, allowed: int) -> None:
    """Rows, columns and declared uncompressed bytes, from the footer alone."""
    if metadata.num_columns > limits.max_table_columns:
        raise columns_limit(metadata.num_columns, item.name, limits)
    if metadata.num_rows > limits.max_table_rows:
        raise limit_error(
            f"{item.name!r} has {metadata.num_rows:,} rows",
            "max_table_rows",
            limits.max_table_rows,
        )
    declared = sum(metadata.row_group(i).total_byte_size for i in range(metadata.num_row_groups))
    if declared > allowed:
        raise _expansion_error(item, declared, limits)


def _check_expansion(item: Input, table: pa.Table, limits: Limits, allowed: int) -> None:
    """The bytes the table takes once its dictionaries are expanded: each value's
    length times its uses, summed without building the expanded column."""
    total = 0
    for column in table.columns:
        if not pa.types.is_dictionary(column.type):
            total += column.nbytes
            continue
        for chunk in column.chunks:
            lengths = pc.binary_length(chunk.dictionary).fill_null(0).cast(pa.int64())
            used = pc.take(lengths, chunk.indices).fill_null(0)
            total += int(pc.sum(used).as_py() or 0) + 8 * len(chunk)
        if total > allowed:
            raise _expansion_error(item, total, limits)


def _expansion_error(item: Input, size: int, limits: Limits) -> DatasetError:
    return limit_error(
        f"{item.name!r} expands to {size:,} bytes in memory, more than "
        f"{limits.max_compression_ratio:g} times its {item.size:,} bytes (a compression "
        "or dictionary bomb?)",
        "max_compression_ratio",
        limits.max_compression_ratio,
    )
