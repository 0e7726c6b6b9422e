"""Delimited text (CSV, TSV, TXT) -> a table of strings, parsed by pyarrow's
multi-threaded CSV reader with every column typed as string."""

from __future__ import annotations

import contextlib
import csv
import io
import itertools
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv

from ..dataset import Finding
from ..errors import DatasetError
from ..limits import Limits
from .checks import check_header, column_names
from .sources import Input
from .text import (
    SNIFF_BYTES,
    bom_encoding,
    decode_prefix,
    decode_text,
    fallback_finding,
    first_line,
    looks_utf16,
)

__all__ = ["DELIMITERS", "read_delimited", "sniff_delimiter"]

DELIMITERS = (",", ";", "\t", "|")


HEADER_MAX_BYTES = 64 * 1024**2
"""How far the sample is extended to hold blank lines above the header and the
whole header row (80 kB headers of 1,500 columns exist)."""


def _head_through_header(item: Input) -> bytes:
    """The file's first bytes: at least :data:`SNIFF_BYTES` past any blank lines
    above the header, and always the header's whole line (up to
    :data:`HEADER_MAX_BYTES`), so the header and the delimiter are read from the
    header itself, not from a cut-off prefix of it."""
    size = SNIFF_BYTES
    while True:
        head = item.head(size)
        if len(head) >= item.size or size >= HEADER_MAX_BYTES:
            return head
        body = head.removeprefix(b"\xef\xbb\xbf").lstrip(b"\r\n")
        if _complete_line(body) and len(body) >= SNIFF_BYTES // 2:
            return head
        size *= 4


def _complete_line(body: bytes) -> bool:
    # UTF-16 text has a zero byte beside each newline; either way a newline ends it.
    return b"\n" in body or b"\r" in body


def read_delimited(
    item: Input, fmt: str, findings: list[Finding], limits: Limits
) -> tuple[pa.Table, str, str]:
    head = _head_through_header(item)
    encoding = bom_encoding(head)
    if encoding is None and looks_utf16(head):
        encoding = "utf-16-le" if head[1:2] == b"\x00" else "utf-16-be"
    if encoding is None and b"\x00" in head:
        raise DatasetError(
            f"{item.name!r} holds binary data, not text; upload a CSV, TSV, JSON, Parquet "
            "or Excel table.",
            kind="binary_file",
        )
    if encoding in ("utf-16", "utf-16-le", "utf-16-be", "utf-32"):
        text = decode_text(item.read_all(), encoding, item.name)
        table, delimiter = _parse_delimited(text.encode("utf-8"), text, fmt, item.name, limits)
        return table, encoding.upper(), delimiter
    try:
        # The header and the delimiter come from this sample, so it must be UTF-8 too;
        # pyarrow checks the rest of the file while it parses.
        sample = decode_prefix(head, "utf-8-sig")
    except UnicodeDecodeError:
        pass
    else:
        try:
            source = item.data if item.data is not None else item.path
            table, delimiter = _parse_delimited(source, sample, fmt, item.name, limits)
            return table, "UTF-8", delimiter
        except _InvalidUtf8:
            pass
    data = item.read_all()
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    text = decode_text(data, "cp1252", item.name)
    table, delimiter = _parse_delimited(text.encode("utf-8"), text, fmt, item.name, limits)
    findings.append(fallback_finding(item.name))
    return table, "cp1252", delimiter


class _InvalidUtf8(Exception):
    pass


_RAGGED = re.compile(r"Expected \d+ columns?, got \d+")


def _parse_delimited(
    source: bytes | Path, sample: str, fmt: str, name: str, limits: Limits
) -> tuple[pa.Table, str]:
    """Parse UTF-8 delimited text with pyarrow, every column as strings.

    ``sample`` is the decoded start of the input: it gives the delimiter and the
    header. The header row is parsed by pyarrow too (as row 0, then dropped), so a
    quoted newline in a column name or blank lines above the header cannot shift
    the rows."""
    sample = sample.removeprefix("\ufeff")
    if not sample.strip():
        raise DatasetError(
            f"{name!r} holds only blank lines; upload a table with a header row.",
            kind="empty_file",
        )
    delimiter = sniff_delimiter(sample, prefer="\t" if fmt == "tsv" else None)
    header = _parse_header(sample, delimiter)
    check_header(header, name, limits)
    names = column_names(header)
    # A path is opened as a plain stream: given a path, pyarrow would decompress by
    # extension (a CSV named .gz).
    stream = (
        pa.BufferReader(source)
        if isinstance(source, bytes)
        else pa.input_stream(str(source), compression=None)
    )
    try:
        table = pacsv.read_csv(
            stream,
            read_options=pacsv.ReadOptions(column_names=names, block_size=1 << 24),
            parse_options=pacsv.ParseOptions(
                delimiter=delimiter,
                quote_char='"',
                double_quote=True,
                newlines_in_values=True,
            ),
            convert_options=pacsv.ConvertOptions(
                column_types=dict.fromkeys(names, pa.string()),
                null_values=[""],
                strings_can_be_null=True,
                quoted_strings_can_be_null=True,
            ),
        )
    except pa.ArrowInvalid as error:
        text = str(error)
        if "UTF8" in text or "UTF-8" in text:
            raise _InvalidUtf8 from None
        if _RAGGED.search(text):
            raise _ragged_error(source, delimiter, len(names), name) from None
        line = _unclosed_quote_line(source, delimiter)
        if line is not None:
            raise _unclosed_quote_error(name, line) from None
        raise DatasetError(
            f"{name!r} could not be parsed as delimited text ({first_line(text)}); "
            "check quoting, or save it again from a spreadsheet as CSV.",
            kind="parse_error",
        ) from None
    finally:
        stream.close()
    if table.num_rows == 0:
        raise DatasetError(f"{name!r} has no header row.", kind="no_header")
    written = [table.column(i)[0].as_py() or "" for i in range(table.num_columns)]
    if written != header:  # pyarrow read the header differently: trust pyarrow
        check_header(written, name, limits)
        names = column_names(written)
    table = table.slice(1).rename_columns(names)
    if table.num_rows and _last_row_spans_lines(table):
        # A quote that is never closed swallows the rest of the file into the last
        # row's cell: every line after it would be lost without a word.
        line = _unclosed_quote_line(source, delimiter)
        if line is not None:
            raise _unclosed_quote_error(name, line)
    if table.num_rows == 0:
        raise DatasetError(
            f"{name!r} has a header but no rows; add one row per sample.", kind="header_only"
        )
    return table, delimiter


def _last_row_spans_lines(table: pa.Table) -> bool:
    last = table.slice(table.num_rows - 1)
    return any("\n" in (last.column(i)[0].as_py() or "") for i in range(last.num_columns))


def _unclosed_quote_error(name: str, line: int) -> DatasetError:
    return DatasetError(
        f"{name!r}: the quote opened on line {line:,} is never closed, so every line after "
        'it would be read as one cell; close that quote (or write a literal quote as "") '
        "and upload the file again.",
        kind="unclosed_quote",
    )


def _unclosed_quote_line(source: bytes | Path, delimiter: str) -> int | None:
    """The line (1-based) where the record that runs to the end of the file starts,
    when it runs there because a quote is never closed; else None.

    Only called when the parse failed or its last row spans lines, so a pass of
    Python's csv module (C code, about 50 MB/s) is affordable. The last record is an
    unclosed quote when its lines, parsed again in strict mode, end inside a quoted
    field ("unexpected end of data"); a closed cell that holds line breaks does not."""
    start, record_start, last_start, last_field = 1, 1, None, ""
    try:
        with _text(source) as handle, _no_field_limit():  # the runaway field is the rest
            reader = csv.reader(handle, delimiter=delimiter, quotechar='"', doublequote=True)
            for record in reader:
                if record:
                    before = sum(field.count("\n") for field in record[:-1])
                    record_start, last_start = start, start + before
                    last_field = record[-1]
                start = reader.line_num + 1
    except csv.Error:
        return None
    if last_start is None or "\n" not in last_field:
        return None
    del last_field
    try:
        with _text(source) as handle, _no_field_limit():
            lines = itertools.islice(handle, record_start - 1, None)
            strict = csv.reader(
                lines, delimiter=delimiter, quotechar='"', doublequote=True, strict=True
            )
            for _ in strict:
                pass
    except csv.Error as error:
        return last_start if "unexpected end of data" in str(error) else None
    return None


def _text(source: bytes | Path) -> Any:
    """The source as text for Python's csv module (newlines kept as written)."""
    if isinstance(source, bytes):
        return io.TextIOWrapper(
            io.BytesIO(source), encoding="utf-8-sig", errors="replace", newline=""
        )
    return open(source, encoding="utf-8-sig", errors="replace", newline="")


def _ragged_error(source: bytes | Path, delimiter: str, width: int, name: str) -> DatasetError:
    """The error for rows whose number of fields differs from the header's, with the
    physical line numbers (1-based, counting the header) of the first few.

    Only built on the error path, so a plain Python pass over the file is fine."""
    if isinstance(source, bytes):
        handle: Any = io.TextIOWrapper(
            io.BytesIO(source), encoding="utf-8-sig", errors="replace", newline=""
        )
    else:
        handle = open(source, encoding="utf-8-sig", errors="replace", newline="")  # noqa: SIM115
    lines: list[int] = []
    count = 0
    with handle:
        reader = csv.reader(handle, delimiter=delimiter, quotechar='"', doublequote=True)
        start, seen_header = 1, False
        try:
            for record in reader:
                if record and not seen_header:
                    seen_header = True
                elif record and len(record) != width:
                    count += 1
                    if len(lines) < 5:
                        lines.append(start)
                start = reader.line_num + 1
        except csv.Error:  # a field above csv's size limit: report what was found
            pass
    count = max(count, 1)
    shown = ", ".join(str(n) for n in lines) or "unknown"
    more = f" and {count - len(lines)} more" if count > len(lines) and lines else ""
    where = f"line {shown}" if len(lines) == 1 and not more else f"lines {shown}{more}"
    rows = "1 row has" if count == 1 else f"{count:,} rows have"
    return DatasetError(
        f"{name!r}: {rows} a different number of fields than the header's {width} "
        f"({where}); fix or quote those rows.",
        kind="ragged_rows",
    )


def sniff_delimiter(sample: str, *, prefer: str | None = None) -> str:
    """Pick the field delimiter (comma, semicolon, tab or pipe) from a text sample.

    Each candidate splits the sample's complete records with a quote-aware parser;
    the winner gives the same number of fields (more than one) on the most records.
    A table with a single column gets ``prefer`` or a comma.
    """
    # Split where the CSV parsers do (\\n, \\r, \\r\\n), not at every Unicode line break.
    lines = io.StringIO(sample, newline="").readlines()
    if len(lines) > 1 and not sample.endswith(("\n", "\r")):
        lines = lines[:-1]  # the sample may cut the last record short
    lines = [line for line in lines if line.strip()][:200]  # blank lines above the header
    best, best_score = prefer or ",", (0, 0)
    for delimiter in DELIMITERS:
        try:
            widths = [len(r) for r in csv.reader(lines, delimiter=delimiter) if r]
        except csv.Error:
            continue
        if not widths or widths[0] < 2:
            continue
        consistent = sum(1 for w in widths if w == widths[0])
        score = (consistent, widths[0] if delimiter != prefer else widths[0] + 1)
        if score > best_score:
            best, best_score = delimiter, score
    return best


def _parse_header(sample: str, delimiter: str) -> list[str]:
    # The first non-empty line, as pyarrow (which skips empty lines) sees it.
    reader = csv.reader(io.StringIO(sample, newline=""), delimiter=delimiter, quotechar='"')
    with _no_field_limit():  # a huge column name is for check_header to report
        try:
            for record in reader:
                if record:
                    return record
        except csv.Error:
            pass
    return []


@contextlib.contextmanager
def _no_field_limit() -> Iterator[None]:
    """Lift the csv module's 128 KiB field limit for one parse (it is process-wide,
    so it is put back at once)."""
    previous = csv.field_size_limit()
    csv.field_size_limit(1 << 62)
    try:
        yield
    finally:
        csv.field_size_limit(previous)
