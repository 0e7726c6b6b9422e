"""Labels tables: CSV, TSV, TXT, JSON, JSON Lines, Parquet and Excel -> Dataset.

Every cell of a text format is read as text exactly as written: ``01`` stays ``01``
and ``NA``, ``None``, ``null``, ``nan`` or ``N/A`` are labels when they are written;
only an empty cell is missing. Large delimited files are parsed by pyarrow's
multi-threaded CSV reader with every column typed as string.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import re
import zipfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from ..dataset import ColumnRoles, Dataset, Finding, FindingKind, Severity, Source
from ..errors import DatasetError
from ..limits import DEFAULT_LIMITS, Limits, limit_error
from .sources import Input, InputLike, open_input

__all__ = ["TABLE_FORMATS", "detect_format", "read_table"]

TABLE_FORMATS = ("csv", "tsv", "txt", "json", "jsonl", "parquet", "xlsx")
SNIFF_BYTES = 64 * 1024
DELIMITERS = (",", ";", "\t", "|")

BOMS = (
    (b"\xef\xbb\xbf", "utf-8-sig"),
    (b"\xff\xfe\x00\x00", "utf-32"),  # before UTF-16 LE, whose BOM it starts with
    (b"\x00\x00\xfe\xff", "utf-32"),
    (b"\xff\xfe", "utf-16"),
    (b"\xfe\xff", "utf-16"),
)

# Common column names per role, compared after lower-casing and mapping
# spaces, dashes and dots to underscores.
ROLE_NAMES: dict[str, tuple[str, ...]] = {
    "label": (
        "label", "labels", "class", "class_name", "classname", "class_label", "category",
        "target", "y", "diagnosis", "finding", "findings", "outcome", "annotation",
        "ground_truth", "gt", "tag", "is_fake", "is_spoof", "liveness", "sentiment",
    ),
    "path": (
        "path", "filepath", "file_path", "file", "filename", "file_name", "fname", "image",
        "image_path", "image_file", "image_name", "img", "img_path", "img_name", "uri",
        "url", "location", "relative_path", "slice_path", "dicom_path",
    ),
    "split": (
        "split", "subset", "fold", "partition", "set", "data_split", "dataset_split",
        "stage", "phase",
    ),
    "group": (
        "group", "group_id", "patient", "patient_id", "patientid", "subject",
        "subject_id", "identity", "identity_id", "person", "person_id", "video",
        "video_id", "source", "source_id", "session", "session_id", "study",
        "study_id", "case", "case_id", "speaker", "speaker_id", "user", "user_id",
        "client", "client_id", "series_id",
    ),
}  # fmt: skip
LABEL_GUESS_SAMPLE = 10_000


def read_table(
    source: InputLike,
    *,
    name: str | None = None,
    format: str | None = None,
    label_col: str | None = None,
    path_col: str | None = None,
    split_col: str | None = None,
    group_col: str | None = None,
    sheet: str | None = None,
    limits: Limits | None = None,
) -> Dataset:
    """Read a labels table into a :class:`~balance_core.dataset.Dataset`.

    Parameters
    ----------
    source : bytes, path or binary file
        The table. Its format is taken from its content (a misleading or missing
        extension does not matter); ``format`` overrides that.
    name : str, optional
        The file name to report (defaults to the path's name, or ``"upload"``).
    format : {"csv", "tsv", "txt", "json", "jsonl", "parquet", "xlsx"}, optional
        Skip detection and read the input as this format.
    label_col, path_col, split_col, group_col : str, optional
        Columns playing each role. Roles not given are guessed from common column
        names and, for the label, from a low-cardinality text column; the guesses
        are reported in ``Dataset.roles``.
    sheet : str, optional
        Worksheet to read from an Excel workbook (default: the first one).
    limits : Limits, optional
        Bounds on the input's size, rows, columns, cell size and distinct labels
        (default :data:`DEFAULT_LIMITS`); hitting one raises kind ``limit_hit``.

    Returns
    -------
    Dataset

    Raises
    ------
    DatasetError
        With one sentence saying what is wrong and what to do: empty file, header
        only, no usable label column, duplicate column names, ragged rows (with line
        numbers), unreadable bytes, JSON objects so unlike each other that the table
        would be nearly all empty (``sparse_json``), and so on. An Excel formula saved without its
        result (as openpyxl writes them) reads as missing, except in a role column,
        where it is an error (kind ``uncached_formula``).
    """
    limits = limits or DEFAULT_LIMITS
    item = open_input(source, name=name)
    check_input_size(item, limits)
    if item.size == 0:
        raise DatasetError(
            f"{item.name!r} is empty; upload a table with a header row and one row per sample.",
            kind="empty_file",
        )
    fmt = format or detect_format(item.head(SNIFF_BYTES), suffix=item.suffix)
    findings: list[Finding] = []
    encoding = delimiter = sheet_name = None
    other_sheets: tuple[str, ...] = ()
    uncached: dict[str, str] = {}
    if fmt == "zip":
        raise DatasetError(
            f"{item.name!r} is a zip archive, not a table; read it with read_zip "
            "(the app and the CLI do this by themselves).",
            kind="wrong_format",
        )
    if fmt in ("csv", "tsv", "txt"):
        raw, encoding, delimiter = _read_delimited(item, fmt, findings, limits)
    elif fmt in ("json", "jsonl"):
        try:
            raw, encoding = _read_json(item, findings, limits)
        except DatasetError as json_error:
            # Text that opens like JSON but is not JSON may be a table whose header
            # starts with "[" or "{": read it as delimited text unless told otherwise.
            if format is not None or json_error.kind != "parse_error":
                raise
            if item.suffix not in ("csv", "tsv", "txt", ""):
                raise
            fmt = item.suffix or "csv"
            findings.clear()
            try:
                raw, encoding, delimiter = _read_delimited(item, fmt, findings, limits)
            except DatasetError:
                if item.suffix == "":
                    raise json_error from None
                raise
    elif fmt == "parquet":
        raw = _read_parquet(item)
    elif fmt == "xlsx":
        raw, sheet_name, other_sheets, uncached = _read_xlsx(item, sheet, limits)
    else:
        raise DatasetError(
            f"Unknown format {fmt!r}; use one of {', '.join(TABLE_FORMATS)}.", kind="usage"
        )
    _check_shape(raw, item.name, limits)
    roles = guess_roles(
        raw, label_col=label_col, path_col=path_col, split_col=split_col, group_col=group_col
    )
    for role, column in roles.as_dict().items():
        if column in uncached:
            raise DatasetError(
                f"The {role} column {column!r} of {item.name!r} holds formulas whose results "
                f"were never saved (first at cell {uncached[column]} of sheet {sheet_name!r}); "
                "open the workbook in Excel or LibreOffice, save it, and upload it again.",
                kind="uncached_formula",
            )
    _check_role_types(raw, roles, item.name)
    _check_labels(raw, roles, item.name)
    check_classes(raw.column(roles.label), item.name, limits)
    return Dataset(
        raw=raw,
        roles=roles,
        source=Source(
            name=item.name,
            format=fmt,
            size_bytes=item.size,
            encoding=encoding,
            delimiter=delimiter,
            sheet=sheet_name,
            other_sheets=other_sheets,
            content=item.content,
        ),
        findings=tuple(findings),
    )


# --------------------------------------------------------------------------- detection


def detect_format(head: bytes, *, suffix: str = "") -> str:
    """Name the format of a file from its first bytes, using the extension only as
    a tie-breaker between text formats.

    Returns one of ``csv``, ``tsv``, ``txt``, ``json``, ``jsonl``, ``parquet``,
    ``xlsx`` or ``zip``; raises :class:`DatasetError` for formats Seesaw does not read.
    """
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")):
        return "xlsx" if _looks_like_xlsx(head) else "zip"
    if head.startswith(b"PAR1"):
        return "parquet"
    binary_formats = {
        b"\xd0\xcf\x11\xe0": "an old Excel .xls (or other OLE2) file; save it as .xlsx or .csv",
        b"\x1f\x8b": "gzip-compressed; decompress it first",
        b"BZh": "bzip2-compressed; decompress it first",
        b"\xfd7zXZ": "xz-compressed; decompress it first",
        b"7z\xbc\xaf": "a 7-Zip archive; repack it as .zip",
        b"Rar!": "a RAR archive; repack it as .zip",
        b"%PDF": "a PDF document, not a table; export the table as CSV",
        b"\x89PNG": "a PNG image, not a table; zip image folders to upload images",
        b"\xff\xd8\xff": "a JPEG image, not a table; zip image folders to upload images",
        b"SQLite format 3": "an SQLite database; export the table as CSV",
        b"ARROW1": "an Arrow IPC file; write it as Parquet or CSV",
    }
    for magic, what in binary_formats.items():
        if head.startswith(magic):
            raise DatasetError(f"This file is {what}.", kind="unsupported_format")
    if len(head) > 262 and head[257:262] == b"ustar":
        raise DatasetError(
            "This file is a tar archive; repack the folders as a .zip.", kind="unsupported_format"
        )
    text = _decode_sample(head)
    stripped = text.lstrip()
    # JSON only if the first token can open a JSON array or object: a CSV header
    # such as "[x],label" or "{id},label" stays CSV.
    if re.match(r'\[\s*(?:[\[{"\-0-9tfn\]]|$)', stripped):
        return "json"
    if re.match(r'\{\s*(?:["}]|$)', stripped):
        lines = [line for line in stripped.split("\n") if line.strip()]
        if len(lines) > 1 and all(line.lstrip().startswith("{") for line in lines[:-1][:50]):
            return "jsonl"
        return "jsonl" if suffix == "jsonl" else "json"
    if suffix in ("tsv", "txt", "csv"):
        return suffix
    return "csv"


def _looks_like_xlsx(head: bytes) -> bool:
    """Whether a zip's first local entries are the parts of a workbook.

    An xlsx names ``[Content_Types].xml`` or parts under ``xl/`` early on. Only entry
    names are compared, so a zip of a folder such as ``pixl/`` is not a workbook."""
    for match in re.finditer(rb"PK\x03\x04", head[:8000]):
        start = match.start() + 30
        if start > len(head):
            break
        length = int.from_bytes(head[match.start() + 26 : match.start() + 28], "little")
        entry = head[start : start + length]
        if entry == b"[Content_Types].xml" or entry.startswith(b"xl/"):
            return True
    return False


def _decode_sample(head: bytes) -> str:
    encoding = _bom_encoding(head)
    if encoding is None and _looks_utf16(head):
        encoding = "utf-16-le" if head[1:2] == b"\x00" else "utf-16-be"
    if encoding is None and b"\x00" in head:
        raise DatasetError(
            "This file holds binary data, not text; upload a CSV, TSV, JSON, Parquet or "
            "Excel table.",
            kind="binary_file",
        )
    for candidate in (encoding or "utf-8", "cp1252"):
        try:
            return _decode_prefix(head, candidate)
        except UnicodeDecodeError:
            continue
    raise DatasetError(
        "This file is neither UTF-8 nor Windows-1252 text; save it as UTF-8 and upload again.",
        kind="unreadable_bytes",
    )


def _decode_prefix(head: bytes, encoding: str) -> str:
    # The sample may end in the middle of a character: ignore only the last few bytes.
    decoder = codecs.getincrementaldecoder(encoding)()
    return decoder.decode(head, final=False)


def _bom_encoding(head: bytes) -> str | None:
    for bom, encoding in BOMS:
        if head.startswith(bom):
            return encoding
    return None


def _looks_utf16(head: bytes) -> bool:
    sample = head[:4000]
    if len(sample) < 4:
        return False
    zeros_even = sample[0::2].count(0)
    zeros_odd = sample[1::2].count(0)
    half = len(sample) / 2
    return max(zeros_even, zeros_odd) > 0.3 * half and min(zeros_even, zeros_odd) < 0.05 * half


# --------------------------------------------------------------------------- delimited


def _read_delimited(
    item: Input, fmt: str, findings: list[Finding], limits: Limits
) -> tuple[pa.Table, str, str]:
    head = item.head(SNIFF_BYTES)
    encoding = _bom_encoding(head)
    if encoding is None and _looks_utf16(head):
        encoding = "utf-16-le" if head[1:2] == b"\x00" else "utf-16-be"
    if encoding is None and b"\x00" in head:
        raise DatasetError(
            f"{item.name!r} holds binary data, not text; upload a CSV, TSV, JSON, Parquet "
            "or Excel table.",
            kind="binary_file",
        )
    if encoding in ("utf-16", "utf-16-le", "utf-16-be", "utf-32"):
        text = _decode(item.read_all(), encoding, item.name)
        table, delimiter = _parse_delimited(text.encode("utf-8"), text, fmt, item.name, limits)
        return table, encoding.upper(), delimiter
    try:
        # The header and the delimiter come from this sample, so it must be UTF-8 too;
        # pyarrow checks the rest of the file while it parses.
        sample = _decode_prefix(head, "utf-8-sig")
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
    text = _decode(data, "cp1252", item.name)
    table, delimiter = _parse_delimited(text.encode("utf-8"), text, fmt, item.name, limits)
    findings.append(_fallback_finding(item.name))
    return table, "cp1252", delimiter


def _fallback_finding(name: str) -> Finding:
    return Finding(
        kind=FindingKind.ENCODING_FALLBACK,
        severity=Severity.WARNING,
        count=1,
        message=(
            f"{name!r} is not valid UTF-8, so it was read as Windows-1252 "
            "(cp1252); check that accented labels look right, or save the file as UTF-8."
        ),
        entries=(name,),
    )


class _InvalidUtf8(Exception):
    pass


def _decode(data: bytes, encoding: str, name: str) -> str:
    """The whole input as text, without a byte order mark; never drops bytes."""
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as error:
        raise DatasetError(
            f"{name!r} cannot be read as UTF-8 or {encoding} text (bad byte at offset "
            f"{error.start}); save it as UTF-8 and upload again.",
            kind="unreadable_bytes",
        ) from None
    return text.removeprefix("\ufeff")


_RAGGED = re.compile(r"Expected \d+ columns?, got \d+")


def _parse_delimited(
    source: bytes | Path, sample: str, fmt: str, name: str, limits: Limits
) -> tuple[pa.Table, str]:
    """Parse UTF-8 delimited text with pyarrow, every column as strings.

    ``sample`` is the decoded start of the input: it gives the delimiter and the
    header. The header row is parsed by pyarrow too (as row 0, then dropped), so a
    quoted newline in a column name or blank lines above the header cannot shift
    the rows."""
    sample = sample[:SNIFF_BYTES].removeprefix("\ufeff")
    if not sample.strip():
        raise DatasetError(
            f"{name!r} holds only blank lines; upload a table with a header row.",
            kind="empty_file",
        )
    delimiter = sniff_delimiter(sample, prefer="\t" if fmt == "tsv" else None)
    header = _parse_header(sample, delimiter)
    _check_header(header, name, limits)
    names = _column_names(header)
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
        raise DatasetError(
            f"{name!r} could not be parsed as delimited text ({_first_line(text)}); "
            "check quoting, or save it again from a spreadsheet as CSV.",
            kind="parse_error",
        ) from None
    finally:
        stream.close()
    if table.num_rows == 0:
        raise DatasetError(f"{name!r} has no header row.", kind="no_header")
    written = [table.column(i)[0].as_py() or "" for i in range(table.num_columns)]
    if written != header:  # pyarrow read the header differently: trust pyarrow
        _check_header(written, name, limits)
        names = _column_names(written)
    table = table.slice(1).rename_columns(names)
    if table.num_rows == 0:
        raise DatasetError(
            f"{name!r} has a header but no rows; add one row per sample.", kind="header_only"
        )
    return table, delimiter


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else "unknown error"


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
    lines = lines[:200]
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
    try:
        for record in reader:
            if record:
                return record
    except csv.Error:
        pass
    return []


def _check_header(header: list[str], name: str, limits: Limits) -> None:
    if not any(column.strip() for column in header):
        raise DatasetError(
            f"{name!r} has no header row; the first line should name the columns.",
            kind="no_header",
        )
    if len(header) > limits.max_table_columns:
        raise _columns_limit(len(header), name, limits)
    _check_names(header, name, limits)
    seen: set[str] = set()
    for column in header:
        if column in seen and column != "":
            raise DatasetError(
                f"{name!r} names the column {column!r} twice; give every column its own name.",
                kind="duplicate_columns",
            )
        seen.add(column)


def _column_names(header: list[str]) -> list[str]:
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


# --------------------------------------------------------------------------- JSON


def _read_json(item: Input, findings: list[Finding], limits: Limits) -> tuple[pa.Table, str]:
    data = item.read_all()
    encoding = _bom_encoding(data)
    if encoding is None and _looks_utf16(data[:SNIFF_BYTES]):
        encoding = "utf-16-le" if data[1:2] == b"\x00" else "utf-16-be"
    if encoding is None:
        try:
            text, encoding = data.decode("utf-8"), "utf-8"
        except UnicodeDecodeError:
            text, encoding = _decode(data, "cp1252", item.name), "cp1252"
            findings.append(_fallback_finding(item.name))
    else:
        text = _decode(data, encoding, item.name)
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
            raise _columns_limit(len(keys), name, limits)
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


# --------------------------------------------------------------------------- Parquet


def _read_parquet(item: Input) -> pa.Table:
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
            f"{item.name!r} could not be read as Parquet ({_first_line(str(error))}); "
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


# --------------------------------------------------------------------------- Excel


def _read_xlsx(
    item: Input, sheet: str | None, limits: Limits
) -> tuple[pa.Table, str, tuple[str, ...], dict[str, str]]:
    """The sheet as a table of text, its name, the other sheets' names, and the
    columns holding formulas without a saved result (column -> first cell).

    openpyxl reads the result a spreadsheet program saved with each formula; a
    workbook written by a script (openpyxl, xlsxwriter) has none, so such cells read
    as missing here, and :func:`read_table` refuses them in a role column."""
    data = item.read_all()
    workbook = _open_workbook(data, item.name, data_only=True)
    try:
        names = workbook.sheetnames
        if sheet is not None and sheet not in names:
            raise DatasetError(
                f"The workbook has no sheet {sheet!r}; its sheets are "
                f"{', '.join(map(repr, names))}.",
                kind="unknown_sheet",
            )
        chosen = sheet or names[0]
        rows = [
            (number, row)
            for number, row in enumerate(workbook[chosen].iter_rows(values_only=True), start=1)
            if any(cell is not None and cell != "" for cell in row)
        ]
    finally:
        workbook.close()
    if not rows:
        raise DatasetError(f"Sheet {chosen!r} of {item.name!r} is empty.", kind="empty_file")
    header_row = rows[0][1]
    width = max(len(row) for _, row in rows)
    header = [_excel_cell(c) or "" for c in header_row] + [""] * (width - len(header_row))
    while (
        header
        and header[-1] == ""
        and all(len(row) < len(header) or row[len(header) - 1] in (None, "") for _, row in rows)
    ):
        header.pop()
    _check_header(header, item.name, limits)
    header = _column_names(header)
    if len(rows) == 1:
        raise DatasetError(
            f"Sheet {chosen!r} of {item.name!r} has a header but no rows; add one row per sample.",
            kind="header_only",
        )
    table = pa.table(
        {
            column: pa.array(
                [_excel_cell(row[i]) if i < len(row) else None for _, row in rows[1:]],
                type=pa.string(),
            )
            for i, column in enumerate(header)
        }
    )
    uncached: dict[str, str] = {}
    if any(column.null_count for column in table.columns):
        uncached = _uncached_formulas(data, item.name, chosen, rows[1:], header)
    return table, chosen, tuple(n for n in names if n != chosen), uncached


def _open_workbook(data: bytes, name: str, *, data_only: bool) -> Any:
    import openpyxl

    try:
        return openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=data_only)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as error:
        raise DatasetError(
            f"{name!r} could not be read as an Excel workbook ({_first_line(str(error))}); "
            "save it again as .xlsx or export it as CSV.",
            kind="parse_error",
        ) from None


def _uncached_formulas(
    data: bytes, name: str, sheet: str, rows: list[tuple[int, tuple]], header: list[str]
) -> dict[str, str]:
    """Columns whose empty-looking cells are formulas without a saved result."""
    from openpyxl.utils import get_column_letter

    values = dict(rows)
    last = rows[-1][0]
    found: dict[str, str] = {}
    workbook = _open_workbook(data, name, data_only=False)
    try:
        for number, row in enumerate(workbook[sheet].iter_rows(values_only=True), start=1):
            if number > last:
                break
            cached = values.get(number)
            if cached is None:
                continue
            for i, column in enumerate(header[: len(row)]):
                if (
                    column not in found
                    and (i >= len(cached) or cached[i] is None)
                    and _is_formula(row[i])
                ):
                    found[column] = f"{get_column_letter(i + 1)}{number}"
    finally:
        workbook.close()
    return found


def _is_formula(value: Any) -> bool:
    if isinstance(value, str):
        return value.startswith("=")
    return type(value).__name__ in ("ArrayFormula", "DataTableFormula")


def _excel_cell(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    if hasattr(value, "isoformat"):
        return value.isoformat()
    text = str(value)
    return text if text != "" else None


# --------------------------------------------------------------------------- roles


def _normalise_name(name: str) -> str:
    return re.sub(r"[\s\-.]+", "_", name.strip().lower())


def guess_roles(
    table: pa.Table,
    *,
    label_col: str | None = None,
    path_col: str | None = None,
    split_col: str | None = None,
    group_col: str | None = None,
) -> ColumnRoles:
    """Decide which columns are the label, path, split and group.

    Explicit choices win; otherwise a column whose name is a common name for the
    role is taken, and failing that the label is the text column with the fewest
    distinct values (at least two) in the first rows.
    """
    names = table.column_names
    given = {"label": label_col, "path": path_col, "split": split_col, "group": group_col}
    for role, column in given.items():
        if column is not None and column not in names:
            raise DatasetError(
                f"There is no column {column!r} for the {role}; the columns are "
                f"{', '.join(map(repr, names))}.",
                kind="unknown_column",
            )
    chosen: dict[str, str | None] = dict(given)
    reasons: dict[str, str] = {r: "chosen explicitly" for r, c in given.items() if c is not None}
    guessed: list[str] = []
    taken = {c for c in given.values() if c is not None}
    flat = [n for n in names if not pa.types.is_nested(table.schema.field(n).type)]
    for role in ("label", "path", "split", "group"):
        if chosen[role] is not None:
            continue
        # A nested column named like the label is still taken as the label, so the
        # Dataset refuses it by name instead of another column becoming the label.
        pool = names if role == "label" else flat
        for candidate in ROLE_NAMES[role]:
            match = next(
                (n for n in pool if n not in taken and _normalise_name(n) == candidate), None
            )
            if match is not None:
                chosen[role] = match
                taken.add(match)
                guessed.append(role)
                reasons[role] = f"{match!r} is a common name for the {role} column"
                break
    if chosen["label"] is None:
        match, reason = _guess_label_by_cardinality(table, [n for n in flat if n not in taken])
        if match is None:
            raise DatasetError(
                "Could not tell which column holds the labels (columns: "
                f"{', '.join(map(repr, names))}); name it with label_col=... or --label-col.",
                kind="no_label_column",
            )
        chosen["label"] = match
        guessed.append("label")
        reasons["label"] = reason
    return ColumnRoles(
        label=chosen["label"],
        path=chosen["path"],
        split=chosen["split"],
        group=chosen["group"],
        guessed=tuple(guessed),
        reasons=reasons,
    )


def _guess_label_by_cardinality(
    table: pa.Table, candidates: Iterable[str]
) -> tuple[str | None, str]:
    head = table.slice(0, LABEL_GUESS_SAMPLE)
    best: tuple[int, int, str] | None = None
    for position, name in enumerate(candidates):
        column = head.column(name)
        if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
            continue
        distinct = pc.count_distinct(column).as_py()
        present = len(column) - column.null_count
        if distinct < 2 or distinct > max(2, min(1000, present // 2)):
            continue
        if best is None or (distinct, position) < best[:2]:
            best = (distinct, position, name)
    if best is None:
        return None, ""
    return best[2], (
        f"{best[2]!r} has few distinct values ({best[0]} in the first "
        f"{min(table.num_rows, LABEL_GUESS_SAMPLE):,} rows), like a label column"
    )


# --------------------------------------------------------------------------- checks


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


def _columns_limit(count: int, name: str, limits: Limits) -> DatasetError:
    return limit_error(
        f"{name!r} has {count:,} columns", "max_table_columns", limits.max_table_columns
    )


def _check_names(names: list[str], name: str, limits: Limits) -> None:
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


def _check_shape(table: pa.Table, name: str, limits: Limits) -> None:
    if table.num_rows > limits.max_table_rows:
        raise limit_error(
            f"{name!r} has {table.num_rows:,} rows", "max_table_rows", limits.max_table_rows
        )
    if table.num_columns > limits.max_table_columns:
        raise _columns_limit(table.num_columns, name, limits)
    _check_names(table.column_names, name, limits)
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


def _check_role_types(table: pa.Table, roles: ColumnRoles, name: str) -> None:
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


def _check_labels(table: pa.Table, roles: ColumnRoles, name: str) -> None:
    column = table.column(roles.label)
    if column.null_count == len(column):
        raise DatasetError(
            f"The label column {roles.label!r} of {name!r} is empty in every row; "
            "pick the column that holds the labels.",
            kind="no_label_column",
        )
