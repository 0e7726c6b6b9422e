"""Parquet -> a table, its columns with the types they were written with."""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from ..errors import DatasetError
from .sources import Input
from .text import first_line

__all__ = ["read_parquet"]


def read_parquet(item: Input) -> pa.Table:
    import pyarrow.parquet as pq

    try:
        # An open file, never a path string: pyarrow would take "s3:x.parquet" or
        # "hdfs:..." as a URI and reach for a remote filesystem.
        source: Any = (
            pa.BufferReader(item.data) if item.data is not None else pa.OSFile(str(item.path))
        )
        with source:
            # ParquetFile, not read_table: the dataset layer behind read_table fails on
            # duplicate column names before they can be reported as such.
            table = pq.ParquetFile(source).read()
    except (pa.ArrowException, OSError) as error:
        raise DatasetError(
            f"{item.name!r} could not be read as Parquet ({first_line(str(error))}); "
            "write the file again or export it as CSV.",
            kind="parse_error",
        ) from None
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
    # Dictionary-encoded columns are plain values to the user.
    for index, field in enumerate(table.schema):
        if pa.types.is_dictionary(field.type):
            table = table.set_column(
                index, field.name, table.column(index).cast(field.type.value_type)
            )
    return table.combine_chunks()
