"""Build real table files (CSV in several encodings, JSON, JSON Lines, Parquet, XLSX) as
bytes, for the reader tests. No mocks: every helper returns what a user would upload."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from collections.abc import Sequence
from typing import Any

import openpyxl
import pyarrow as pa
import pyarrow.parquet as pq

Rows = Sequence[Sequence[Any]]


def csv_text(
    header: Sequence[str],
    rows: Rows,
    *,
    delimiter: str = ",",
    quoting: int = csv.QUOTE_MINIMAL,
    lineterminator: str = "\n",
) -> str:
    """The rows written by Python's csv module, header first."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, delimiter=delimiter, quoting=quoting, lineterminator=lineterminator)
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


def csv_bytes(
    header: Sequence[str],
    rows: Rows,
    *,
    encoding: str = "utf-8",
    delimiter: str = ",",
    quoting: int = csv.QUOTE_MINIMAL,
    lineterminator: str = "\n",
) -> bytes:
    """CSV bytes in ``encoding``; ``utf-16-le-bom`` / ``utf-16-be-bom`` prepend the BOM."""
    text = csv_text(
        header, rows, delimiter=delimiter, quoting=quoting, lineterminator=lineterminator
    )
    if encoding == "utf-16-le-bom":
        return b"\xff\xfe" + text.encode("utf-16-le")
    if encoding == "utf-16-be-bom":
        return b"\xfe\xff" + text.encode("utf-16-be")
    return text.encode(encoding)


def json_bytes(document: Any, *, encoding: str = "utf-8") -> bytes:
    return json.dumps(document, ensure_ascii=False).encode(encoding)


def jsonl_bytes(records: Sequence[Any], *, newline: str = "\n") -> bytes:
    lines = [json.dumps(record, ensure_ascii=False) for record in records]
    return (newline.join(lines) + newline).encode("utf-8")


def parquet_bytes(table: pa.Table | dict[str, Any]) -> bytes:
    if isinstance(table, dict):
        table = pa.table(table)
    sink = io.BytesIO()
    pq.write_table(table, sink)
    return sink.getvalue()


def xlsx_bytes(sheets: dict[str, Rows]) -> bytes:
    """A workbook with one worksheet per item, rows written with openpyxl.

    Strings starting with ``=`` become formulas (openpyxl stores no cached result)."""
    workbook = openpyxl.Workbook()
    first = True
    for title, rows in sheets.items():
        if first:
            sheet = workbook.active
            sheet.title = title
            first = False
        else:
            sheet = workbook.create_sheet(title)
        for row in rows:
            sheet.append(list(row))
    sink = io.BytesIO()
    workbook.save(sink)
    return sink.getvalue()


def zip_bytes(entries: dict[str, bytes]) -> bytes:
    sink = io.BytesIO()
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return sink.getvalue()


PNG_1X1 = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00"
    b"\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N"
    b"\x00\x00\x00\x00IEND\xaeB`\x82"
)
