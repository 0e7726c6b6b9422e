"""Checks every table reader makes against the limits and the roles, before or
right after parsing."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from ..dataset import ColumnRoles
from ..errors import DatasetError
from ..limits import Limits, limit_error
from .sources import Input

__all__ = [
    "check_classes",
    "check_header",
    "check_input_size",
    "check_labels",
    "check_names",
    "check_role_types",
    "check_shape",
    "column_names",
    "columns_limit",
]


def check_input_size(item: Input, limits: Limits) -> None:
    """Refuse an input larger than ``max_input_bytes`` before reading it."""
    if item.size > limits.max_input_bytes:
        raise limit_error(
            f"{item.name!r} is {item.size:,} bytes", "max_input_bytes", limits.max_input_bytes
        )


def check_classes(labels: pa.ChunkedArray | pa.Array, name: str, limits: Limits) -> None:
    """Refuse more distinct labels than ``max_classes`` (one hash pass)."""
    if len(labels) <= limits.max_classes:
        return
    distinct = pc.count_distinct(labels, mode="only_valid").as_py()
    if distinct > limits.max_classes:
        raise limit_error(
            f"{name!r} has {distinct:,} distinct labels", "max_classes", limits.max_classes
        )


def columns_limit(count: int, name: str, limits: Limits) -> DatasetError:
    return limit_error(
        f"{name!r} has {count:,} columns", "max_table_columns", limits.max_table_columns
    )


def check_names(names: list[str], name: str, limits: Limits) -> None:
    for column in names:
        # A character takes at most 4 bytes: only long names need encoding.
        if len(column) * 4 > limits.max_cell_bytes:
            size = len(column.encode("utf-8", "surrogatepass"))
            if size > limits.max_cell_bytes:
                raise limit_error(
                    f"{name!r} has a column name of {size:,} bytes ({column[:40]!r}...)",
                    "max_cell_bytes",
                    limits.max_cell_bytes,
                )


def check_shape(table: pa.Table, name: str, limits: Limits) -> None:
    if table.num_rows > limits.max_table_rows:
        raise limit_error(
            f"{name!r} has {table.num_rows:,} rows", "max_table_rows", limits.max_table_rows
        )
    if table.num_columns > limits.max_table_columns:
        raise columns_limit(table.num_columns, name, limits)
    check_names(table.column_names, name, limits)
    for column_name, column in zip(table.column_names, table.columns, strict=True):
        kind = column.type
        if not (
            pa.types.is_string(kind)
            or pa.types.is_large_string(kind)
            or pa.types.is_binary(kind)
            or pa.types.is_large_binary(kind)
        ):
            continue
        # A column cannot hold a cell longer than all its bytes together.
        if sum(chunk.buffers()[2].size for chunk in column.chunks if chunk.buffers()[2]) <= (
            limits.max_cell_bytes
        ):
            continue
        lengths = pc.binary_length(column)
        longest = pc.max(lengths).as_py()
        if longest is not None and longest > limits.max_cell_bytes:
            row = pc.index(lengths, longest).as_py()
            raise limit_error(
                f"{name!r} has a cell of {longest:,} bytes (column {column_name!r}, row "
                f"{row + 1:,})",
                "max_cell_bytes",
                limits.max_cell_bytes,
            )


def check_role_types(table: pa.Table, roles: ColumnRoles, name: str) -> None:
    """Role columns are read as text: a Parquet binary column must hold UTF-8.

    (Nested columns are refused by the Dataset constructor.)"""
    for role, column in roles.as_dict().items():
        if column is None:
            continue
        type_ = table.schema.field(column).type
        if pa.types.is_nested(type_) or pa.types.is_string(type_):
            continue
        try:
            table.column(column).cast(pa.string())
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            raise DatasetError(
                f"The {role} column {column!r} of {name!r} holds {type_} values that are "
                "not text; pick a column of text or numbers.",
                kind="bad_column_type",
            ) from None


def check_labels(table: pa.Table, roles: ColumnRoles, name: str) -> None:
    column = table.column(roles.label)
    if column.null_count == len(column):
        raise DatasetError(
            f"The label column {roles.label!r} of {name!r} is empty in every row; "
            "pick the column that holds the labels.",
            kind="no_label_column",
        )


def check_header(header: list[str], name: str, limits: Limits) -> None:
    if not any(column.strip() for column in header):
        raise DatasetError(
            f"{name!r} has no header row; the first line should name the columns.",
            kind="no_header",
        )
    if len(header) > limits.max_table_columns:
        raise columns_limit(len(header), name, limits)
    check_names(header, name, limits)
    seen: set[str] = set()
    for column in header:
        if column in seen and column != "":
            raise DatasetError(
                f"{name!r} names the column {column!r} twice; give every column its own name.",
                kind="duplicate_columns",
            )
        seen.add(column)


def column_names(header: list[str]) -> list[str]:
    """The header with blank names replaced by ``column_<position>``, kept unique."""
    taken = set(header)
    names = []
    for position, column in enumerate(header, start=1):
        if column == "":
            column = candidate = f"column_{position}"
            suffix = 2
            while column in taken:
                column = f"{candidate}_{suffix}"
                suffix += 1
            taken.add(column)
        names.append(column)
    return names
