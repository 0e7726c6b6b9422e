"""JSON and JSON Lines -> a table of strings: numbers kept as the text they were
written as, nested values as compact JSON text."""

from __future__ import annotations

import json
from typing import Any

import pyarrow as pa

from ..dataset import Finding
from ..errors import DatasetError
from ..limits import Limits, limit_error
from .checks import columns_limit
from .sources import Input
from .text import SNIFF_BYTES, bom_encoding, decode_text, fallback_finding, looks_utf16

__all__ = ["JSON_CELLS_FLOOR", "JSON_CELLS_PER_BYTE", "read_json"]


def read_json(item: Input, findings: list[Finding], limits: Limits) -> tuple[pa.Table, str]:
    data = item.read_all()
    encoding = bom_encoding(data)
    if encoding is None and looks_utf16(data[:SNIFF_BYTES]):
        encoding = "utf-16-le" if data[1:2] == b"\x00" else "utf-16-be"
    if encoding is None:
        try:
            text, encoding = data.decode("utf-8"), "utf-8"
        except UnicodeDecodeError:
            text, encoding = decode_text(data, "cp1252", item.name), "cp1252"
            findings.append(fallback_finding(item.name))
    else:
        text = decode_text(data, encoding, item.name)
    try:
        records = _json_records(text.removeprefix("\ufeff"), item.name)
        table = _json_table(records, item.name, limits, item.size)
    except RecursionError:
        raise DatasetError(
            f"{item.name!r} is nested too deeply to be a table; give one flat object per row.",
            kind="nested_json",
        ) from None
    return table, {"utf-8": "UTF-8", "utf-8-sig": "UTF-8"}.get(encoding, encoding.upper())


# A key absent from a JSON object costs no byte of input but one cell of the table:
# beyond this many cells per input byte (and a floor for small files), the objects
# are too unlike each other to be rows of one table.
JSON_CELLS_PER_BYTE = 8
JSON_CELLS_FLOOR = 10_000_000


def _json_table(records: list[Any], name: str, limits: Limits, size: int) -> pa.Table:
    # First pass: the shape, checked before a single cell is built.
    keys: dict[str, None] = {}
    for index, record in enumerate(records):
        if not isinstance(record, dict):
            raise DatasetError(
                f"{name!r}: row {index + 1} is a {_json_type(record)}, not an object; "
                'give one object per row, like {"path": "a.png", "label": "cat"}.',
                kind="bad_json_shape",
            )
        keys.update(dict.fromkeys(record))
        if len(keys) > limits.max_table_columns:
            raise columns_limit(len(keys), name, limits)
    if len(records) > limits.max_table_rows:
        raise limit_error(
            f"{name!r} has {len(records):,} rows", "max_table_rows", limits.max_table_rows
        )
    cells = len(records) * len(keys)
    if cells > max(JSON_CELLS_FLOOR, JSON_CELLS_PER_BYTE * size):
        raise DatasetError(
            f"{name!r} would be a table of {len(records):,} rows by {len(keys):,} columns, "
            "nearly all empty, because its objects have different keys; give every object "
            "the same few keys.",
            kind="sparse_json",
        )
    columns: dict[str, list[Any]] = {key: [] for key in keys}
    for record in records:
        for key, values in columns.items():
            values.append(_json_cell(record.get(key)))
    if not records:
        raise DatasetError(
            f"{name!r} holds no rows; give a list of objects, one per sample.",
            kind="header_only",
        )
    if not columns:
        raise DatasetError(
            f"{name!r} holds only empty objects; give each row its fields.", kind="empty_file"
        )
    return pa.table({key: pa.array(values, type=pa.string()) for key, values in columns.items()})


class _Number(str):
    """A JSON number (or NaN/Infinity) kept as the text it was written as."""

    __slots__ = ()


def _json_records(text: str, name: str) -> list[Any]:
    loads_options = {
        "parse_int": _Number,
        "parse_float": _Number,
        "parse_constant": _Number,
        "object_pairs_hook": _no_duplicate_keys,
    }
    stripped = text.strip()
    if not stripped:
        raise DatasetError(f"{name!r} is empty.", kind="empty_file")
    try:
        document = json.loads(stripped, **loads_options)
    except json.JSONDecodeError as whole_error:
        records = []
        # JSON Lines ends records at "\n" only: U+2028, \x85 and friends may sit raw
        # inside strings, so str.splitlines would cut records apart.
        for number, line in enumerate(stripped.split("\n"), start=1):
            if not line.strip():
                continue
            try:
                records.append(json.loads(line, **loads_options))
            except json.JSONDecodeError as error:
                raise DatasetError(
                    f"{name!r} is not valid JSON or JSON Lines (line "
                    f"{number if number > 1 else whole_error.lineno}: {error.msg}); "
                    "fix the syntax and upload again.",
                    kind="parse_error",
                ) from None
        return records
    if isinstance(document, list):
        return document
    if isinstance(document, dict):
        return _records_from_object(document, name)
    raise DatasetError(
        f"{name!r} holds a single {_json_type(document)}; give a list of objects, one per row.",
        kind="bad_json_shape",
    )


def _records_from_object(document: dict[str, Any], name: str) -> list[Any]:
    """Rows of a top-level JSON object: columns as lists (``{"label": [...]}``), pandas'
    ``to_json()`` layout (``{"label": {"0": ...}}``), records under a key such as
    ``"data"``, or else the object itself as the only row."""
    values = list(document.values())
    if values and all(
        isinstance(v, list) and not any(isinstance(x, dict) for x in v) for v in values
    ):
        if len({len(v) for v in values}) != 1:
            raise DatasetError(
                f"{name!r} holds columns of different lengths; give every column "
                "the same number of values.",
                kind="ragged_rows",
            )
        keys = list(document)
        return [dict(zip(keys, row, strict=True)) for row in zip(*values, strict=True)]
    if values and all(isinstance(v, dict) for v in values):
        index = list(values[0])
        if index and all(set(v) == set(index) for v in values):
            return [{key: document[key][i] for key in document} for i in index]
    for key in ("data", "records", "rows", "items", "annotations", "images"):
        if isinstance(document.get(key), list):
            return document[key]
    return [document]


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise DatasetError(
                f"A JSON object names the key {key!r} twice; give every field its own name.",
                kind="duplicate_columns",
            )
        result[key] = value
    return result


def _json_cell(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return str(value) if value != "" else None
    if value is True:
        return "true"
    if value is False:
        return "false"
    return _json_text(value)


def _json_text(value: Any) -> str:
    """Compact JSON for a nested value, numbers exactly as they were written."""
    if isinstance(value, _Number):
        return str(value)
    if isinstance(value, dict):
        items = (f"{_json_text(k)}:{_json_text(v)}" for k, v in value.items())
        return "{" + ",".join(items) + "}"
    if isinstance(value, list):
        return "[" + ",".join(_json_text(v) for v in value) + "]"
    return json.dumps(value, ensure_ascii=False)


def _json_type(value: Any) -> str:
    if isinstance(value, _Number):
        return "number"
    return {list: "list", dict: "object", str: "string", bool: "boolean"}.get(type(value), "value")
