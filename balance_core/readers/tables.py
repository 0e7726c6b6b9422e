"""Labels tables: CSV, TSV, TXT, JSON, JSON Lines, Parquet and Excel -> Dataset.

Every cell of a text format is read as text exactly as written: ``01`` stays ``01``
and ``NA``, ``None``, ``null``, ``nan`` or ``N/A`` are labels when they are written;
only an empty cell is missing. Large delimited files are parsed by pyarrow's
multi-threaded CSV reader with every column typed as string.
"""

from __future__ import annotations

import re

from ..dataset import Dataset, Finding, Source
from ..errors import DatasetError
from ..limits import DEFAULT_LIMITS, Limits
from .checks import (
    check_classes,
    check_input_size,
    check_labels,
    check_role_types,
    check_shape,
)
from .delimited import read_delimited
from .excel import read_xlsx
from .jsontable import read_json
from .parquet import read_parquet
from .roles import guess_roles
from .sources import GZIP_MAGIC, InputLike, gunzip_input, is_office_package, open_input
from .text import SNIFF_BYTES, decode_sample

__all__ = [
    "SNIFF_BYTES",
    "TABLE_FORMATS",
    "check_classes",
    "check_input_size",
    "detect_format",
    "read_table",
]

TABLE_FORMATS = ("csv", "tsv", "txt", "json", "jsonl", "parquet", "xlsx")


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
    original = item
    if item.head(2) == GZIP_MAGIC:
        # labels.csv.gz: the limits apply to what is parsed, the decompressed table.
        item = gunzip_input(item, limits)
        check_input_size(item, limits)
        if item.size == 0:
            raise DatasetError(
                f"{original.name!r} decompresses to nothing; compress the table again.",
                kind="empty_file",
            )
    fmt = format or detect_format(item.head(SNIFF_BYTES), suffix=item.suffix)
    if fmt == "gzip":
        raise DatasetError(
            f"{original.name!r} is compressed twice; decompress it once and upload the "
            ".csv.gz (or the table itself).",
            kind="unsupported_format",
        )
    findings: list[Finding] = []
    encoding = delimiter = sheet_name = None
    other_sheets: tuple[str, ...] = ()
    uncached: dict[str, str] = {}
    if fmt == "zip" and format is None and is_office_package(item):
        fmt = "xlsx"  # its first part is a thumbnail, not a workbook part
    if fmt == "zip":
        raise DatasetError(
            f"{item.name!r} is a zip archive, not a table; read it with read_zip "
            "(the app and the CLI do this by themselves).",
            kind="wrong_format",
        )
    if fmt in ("csv", "tsv", "txt"):
        raw, encoding, delimiter = read_delimited(item, fmt, findings, limits)
    elif fmt in ("json", "jsonl"):
        try:
            raw, encoding = read_json(item, findings, limits, lines=fmt == "jsonl")
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
                raw, encoding, delimiter = read_delimited(item, fmt, findings, limits)
            except DatasetError:
                if item.suffix == "":
                    raise json_error from None
                raise
    elif fmt == "parquet":
        raw = read_parquet(item, limits)
    elif fmt == "xlsx":
        raw, sheet_name, other_sheets, uncached = read_xlsx(item, sheet, limits)
    else:
        raise DatasetError(
            f"Unknown format {fmt!r}; use one of {', '.join(TABLE_FORMATS)}.", kind="usage"
        )
    check_shape(raw, item.name, limits)
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
    check_role_types(raw, roles, item.name)
    check_labels(raw, roles, item.name)
    check_classes(raw.column(roles.label), item.name, limits)
    return Dataset(
        raw=raw,
        roles=roles,
        source=Source(
            name=original.name,
            format=fmt,
            size_bytes=original.size,
            encoding=encoding,
            delimiter=delimiter,
            sheet=sheet_name,
            other_sheets=other_sheets,
            content=original.content,
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
    if head.startswith(b"\x1f\x8b"):
        return "gzip"  # read_table decompresses it (bounded) and detects again
    binary_formats = {
        b"\xd0\xcf\x11\xe0": "an old Excel .xls (or other OLE2) file; save it as .xlsx or .csv",
        b"BZh": "bzip2-compressed; decompress it first",
        b"\x28\xb5\x2f\xfd": "zstd-compressed, not a zip or a table; decompress it (or zip the "
        "folders with a standard zip tool)",
        b"\x04\x22\x4d\x18": "LZ4-compressed; decompress it first",
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
    text = decode_sample(head)
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
