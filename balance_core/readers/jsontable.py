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
from .sources import Input, as_stream
from .text import SNIFF_BYTES, bom_encoding, decode_text, fallback_finding, looks_utf16

__all__ = ["JSON_CELLS_FLOOR", "JSON_CELLS_PER_BYTE", "read_json"]


def read_json(
    item: Input, findings: list[Finding], limits: Limits, *, lines: bool = False
) -> tuple[pa.Table, str]:
    """Read JSON (an array of objects, or an object of columns) or JSON Lines.

    JSON Lines in UTF-8 (``lines=True``, as :func:`detect_format` says) is streamed:
    one line at a time, its cells appended to columns that become Arrow arrays
    every :data:`CHUNK_ROWS` rows, so memory follows the table, not the Python
    objects of every row. Anything else is parsed whole."""
    if lines:
        head = item.head(SNIFF_BYTES)
        if bom_encoding(head) in (None, "utf-8-sig") and not looks_utf16(head):
            try:
                return _read_json_lines(item, limits), "UTF-8"
            except _NotUtf8:
                pass  # read whole below, as Windows-1252
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
    del data
    try:
        records = _json_records(text.removeprefix("\ufeff"), item.name)
        del text
        builder = _Columns(item.name, limits, item.size)
        for record in records:
            builder.add(record)
        table = builder.table()
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
CHUNK_ROWS = 65_536
"""Rows gathered as Python strings before they become Arrow arrays."""


class _NotUtf8(Exception):
    pass


def _read_json_lines(item: Input, limits: Limits) -> pa.Table:
    builder = _Columns(item.name, limits, item.size)
    number = 0
    with as_stream(item) as stream:
        for raw in stream:
            number += 1
            if number == 1:
                raw = raw.removeprefix(b"\xef\xbb\xbf")
            if not raw.strip():
                continue
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError:
                raise _NotUtf8 from None
            try:
                record = json.loads(line, **_LOADS)
            except json.JSONDecodeError as error:
                raise DatasetError(
                    f"{item.name!r} is not valid JSON Lines (line {number:,}: {error.msg}); "
                    "fix the syntax and upload again.",
                    kind="parse_error",
                ) from None
            except RecursionError:
                raise DatasetError(
                    f"{item.name!r} is nested too deeply on line {number:,} to be a table; "
                    "give one flat object per row.",
                    kind="nested_json",
                ) from None
            builder.add(record)
    if builder.rows == 0:
        raise DatasetError(f"{item.name!r} is empty.", kind="empty_file")
    return builder.table()


class _Columns:
    """A table of strings built row by row, checked as it grows: columns, rows and
    sparseness against the limits, keys and cells that are not text (lone
    surrogates such as ``"\\ud800"``), one sentence for the first problem."""

    def __init__(self, name: str, limits: Limits, size: int) -> None:
        self.name, self.limits = name, limits
        self.max_cells = max(JSON_CELLS_FLOOR, JSON_CELLS_PER_BYTE * size)
        self.pending: dict[str, list[str | None]] = {}
        self.chunks: dict[str, list[pa.Array]] = {}
        self.rows = 0  # rows added
        self.flushed = 0  # rows already in self.chunks

    def add(self, record: Any) -> None:
        if not isinstance(record, dict):
            raise DatasetError(
                f"{self.name!r}: row {self.rows + 1:,} is a {_json_type(record)}, not an "
                'object; give one object per row, like {"path": "a.png", "label": "cat"}.',
                kind="bad_json_shape",
            )
        for key in record:
            if key not in self.pending:
                self._new_column(key)
        for key, values in self.pending.items():
            values.append(_json_cell(record.get(key)))
        self.rows += 1
        if self.rows > self.limits.max_table_rows:
            raise limit_error(
                f"{self.name!r} has more than {self.limits.max_table_rows:,} rows",
                "max_table_rows",
                self.limits.max_table_rows,
            )
        if self.rows - self.flushed >= CHUNK_ROWS:
            self._check_sparse(len(self.pending))
            self._flush()

    def _new_column(self, key: str) -> None:
        if len(self.pending) + 1 > self.limits.max_table_columns:
            raise columns_limit(len(self.pending) + 1, self.name, self.limits)
        if not _is_text(key):
            raise DatasetError(
                f"{self.name!r}: row {self.rows + 1:,} has a key with a lone surrogate "
                f"({_escaped(key)}), which is not text; fix the key and upload again.",
                kind="bad_json_text",
            )
        self._check_sparse(len(self.pending) + 1)
        self.pending[key] = [None] * (self.rows - self.flushed)
        self.chunks[key] = [pa.nulls(self.flushed, pa.string())] if self.flushed else []

    def _check_sparse(self, columns: int) -> None:
        if max(self.rows, 1) * columns > self.max_cells:
            raise DatasetError(
                f"{self.name!r} would be a table of {self.rows:,} rows by {columns:,} "
                "columns, nearly all empty, because its objects have different keys; give "
                "every object the same few keys.",
                kind="sparse_json",
            )

    def _flush(self) -> None:
        for key, values in self.pending.items():
            try:
                array = pa.array(values, type=pa.string())
            except UnicodeEncodeError:
                row = next(i for i, v in enumerate(values) if v is not None and not _is_text(v))
                raise DatasetError(
                    f"{self.name!r}: row {self.flushed + row + 1:,} holds a lone surrogate "
                    f"in {key!r} ({_escaped(values[row])}), which is not text; fix that "
                    "value and upload again.",
                    kind="bad_json_text",
                ) from None
            self.chunks[key].append(array)
            values.clear()
        self.flushed = self.rows

    def table(self) -> pa.Table:
        if self.rows == 0:
            raise DatasetError(
                f"{self.name!r} holds no rows; give a list of objects, one per sample.",
                kind="header_only",
            )
        if not self.pending:
            raise DatasetError(
                f"{self.name!r} holds only empty objects; give each row its fields.",
                kind="empty_file",
            )
        self._check_sparse(len(self.pending))
        self._flush()
        return pa.table(
            {
                key: pa.chunked_array(chunks, type=pa.string()).combine_chunks()
                for key, chunks in self.chunks.items()
            }
        )


def _is_text(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _escaped(value: str) -> str:
    """The first lone surrogate of ``value``, written as a JSON escape."""
    for char in value:
        if 0xD800 <= ord(char) <= 0xDFFF:
            return f"\\u{ord(char):04x}"
    return "?"


class _Number(str):
    """A JSON number (or NaN/Infinity) kept as the text it was written as."""

    __slots__ = ()


def _json_records(text: str, name: str) -> list[Any]:
    loads_options = _LOADS
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


_LOADS: dict[str, Any] = {}  # filled below, once its functions exist


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


_LOADS.update(
    parse_int=_Number,
    parse_float=_Number,
    parse_constant=_Number,
    object_pairs_hook=_no_duplicate_keys,
)


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
