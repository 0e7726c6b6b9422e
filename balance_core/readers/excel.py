"""Excel workbooks (.xlsx) -> a table of text, one worksheet at a time."""

from __future__ import annotations

import io
import re
import zipfile
from typing import Any

import pyarrow as pa

from ..errors import DatasetError
from ..limits import Limits, limit_error
from .checks import check_header, column_names, columns_limit
from .roles import guess_sheet
from .sources import Input
from .text import first_line

__all__ = ["inspect_package", "read_xlsx"]

RATIO_FLOOR = 1 << 20  # as for zips: a small part may compress very well


def read_xlsx(
    item: Input, sheet: str | None, limits: Limits
) -> tuple[pa.Table, str, tuple[str, ...], dict[str, str]]:
    """The sheet as a table of text, its name, the other sheets' names, and the
    columns holding formulas without a saved result (column -> first cell).

    openpyxl reads the result a spreadsheet program saved with each formula; a
    workbook written by a script (openpyxl, xlsxwriter) has none, so such cells read
    as missing here, and :func:`read_table` refuses them in a role column."""
    data = item.read_all()
    inspect_package(data, item.name, limits)
    workbook = _open_workbook(data, item.name, data_only=True)
    try:
        names = workbook.sheetnames
        if not names:
            raise DatasetError(
                f"{item.name!r} has no worksheet; save it again from a spreadsheet program.",
                kind="parse_error",
            )
        if sheet is not None and sheet not in names:
            raise DatasetError(
                f"The workbook has no sheet {sheet!r}; its sheets are "
                f"{', '.join(map(repr, names))}.",
                kind="unknown_sheet",
            )
        # A README or Notes sheet in front of the data is skipped (guess_sheet).
        chosen = sheet or guess_sheet(names)[0]
        rows = _sheet_rows(workbook, chosen, item.name)
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
    check_header(header, item.name, limits)
    header = column_names(header)
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


def _broken(name: str, error: BaseException) -> DatasetError:
    why = first_line(str(error)) if str(error).strip() else type(error).__name__
    return DatasetError(
        f"{name!r} could not be read as an Excel workbook ({why[:200]}); save it again "
        "as .xlsx or export it as CSV.",
        kind="parse_error",
    )


def _open_workbook(data: bytes, name: str, *, data_only: bool) -> Any:
    import openpyxl

    try:
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=data_only)
    except DatasetError:
        raise
    except Exception as error:
        raise _broken(name, error) from None
    return workbook


def _sheet_rows(workbook: Any, sheet: str, name: str) -> list[tuple[int, tuple]]:
    """The non-empty rows of a sheet, numbered; any parser failure is one sentence."""
    try:
        worksheet = workbook[sheet]
        # Read the cells there are, not the declared <dimension> (which could pad
        # every row to a million columns).
        worksheet.reset_dimensions()
        return [
            (number, row)
            for number, row in enumerate(worksheet.iter_rows(values_only=True), start=1)
            if any(cell is not None and cell != "" for cell in row)
        ]
    except DatasetError:
        raise
    except Exception as error:
        raise _broken(name, error) from None


# --------------------------------------------------------------------------- package


EXCEL_MAX_ROWS = 1_048_576
EXCEL_MAX_COLUMNS = 16_384
_XML_HEAD = 64 * 1024
_DIMENSION = re.compile(
    rb"<(?:\w+:)?dimension\s+ref=\"([A-Z]{1,8})(\d{1,12})(?::([A-Z]{1,8})(\d{1,12}))?\""
)
_STRING_ITEM = re.compile(rb"<(?:\w+:)?si[\s>/]")
_CELL = re.compile(rb"<(?:\w+:)?c[\s>/]")


def inspect_package(data: bytes, name: str, limits: Limits) -> None:
    """Bound the work a workbook can ask for, before openpyxl parses any of it.

    From the zip's central directory: entries, declared sizes and compression
    ratios (as for any zip). From the XML parts' first 64 KiB: no DTD (``<!DOCTYPE``
    or ``<!ENTITY``, where external entities and entity bombs live; a workbook never
    needs one, and openpyxl parses through defusedxml as well). From each
    worksheet's ``<dimension>``: rows and columns against the limits. From each
    worksheet, counted in a streaming pass: its cells, against ``max_sheet_cells``
    (with or without a ``<dimension>``, which may lie). From the shared strings,
    counted the same way: no more strings than the sheets hold cells."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
    except Exception as error:
        raise _broken(name, error) from None
    if len(infos) > limits.max_zip_entries:
        raise limit_error(
            f"{name!r} is a workbook of {len(infos):,} parts", "max_zip_entries",
            limits.max_zip_entries,
        )  # fmt: skip
    total = sum(info.file_size for info in infos)
    if total > limits.max_total_uncompressed:
        raise limit_error(
            f"{name!r} declares {total:,} bytes uncompressed in total",
            "max_total_uncompressed",
            limits.max_total_uncompressed,
        )
    cells = 0
    strings: zipfile.ZipInfo | None = None
    for info in infos:
        if info.file_size > limits.max_entry_uncompressed:
            raise limit_error(
                f"The part {info.filename!r} of {name!r} declares {info.file_size:,} bytes",
                "max_entry_uncompressed",
                limits.max_entry_uncompressed,
            )
        if (
            info.file_size > RATIO_FLOOR
            and info.file_size > info.compress_size * limits.max_compression_ratio
        ):
            raise limit_error(
                f"The part {info.filename!r} of {name!r} inflates "
                f"{info.file_size / max(info.compress_size, 1):,.0f} times",
                "max_compression_ratio",
                limits.max_compression_ratio,
            )
        lower = info.filename.lower()
        if not lower.endswith((".xml", ".rels", ".vml")):
            continue
        head = _read_head(archive, info, name)
        if b"<!DOCTYPE" in head or b"<!ENTITY" in head or _utf16_dtd(head):
            raise DatasetError(
                f"The part {info.filename!r} of {name!r} declares a DTD (<!DOCTYPE>), which "
                "no workbook needs and which can hide external entities or entity bombs; "
                "save it again from a spreadsheet program.",
                kind="unsafe_xml",
            )
        if lower.startswith("xl/worksheets/"):
            _declared_cells(head, info.filename, name, limits)
            # The cells there are, whatever the <dimension> says (or when it is
            # missing): openpyxl's time grows with them, not with the file's size.
            cells += _count_items(archive, info, name, _CELL, stop=limits.max_sheet_cells - cells)
            if cells > limits.max_sheet_cells:
                raise limit_error(
                    f"{name!r} holds more than {limits.max_sheet_cells:,} cells (export it "
                    "as CSV, which reads in a second)",
                    "max_sheet_cells",
                    limits.max_sheet_cells,
                )
        elif lower == "xl/sharedstrings.xml":
            strings = info
    if strings is not None:
        count = _count_items(archive, strings, name, _STRING_ITEM, stop=cells)
        if count > cells:
            raise DatasetError(
                f"{name!r} holds more than {cells:,} shared strings but its sheets hold "
                f"only {cells:,} cells; save it again from a spreadsheet program or export "
                "it as CSV.",
                kind="parse_error",
            )


def _utf16_dtd(head: bytes) -> bool:
    if not head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return False
    text = head.decode("utf-16", "replace")
    return "<!DOCTYPE" in text or "<!ENTITY" in text


def _read_head(archive: zipfile.ZipFile, info: zipfile.ZipInfo, name: str) -> bytes:
    try:
        with archive.open(info) as member:
            return member.read(_XML_HEAD)
    except Exception as error:
        raise _broken(name, error) from None


def _column_number(letters: bytes) -> int:
    number = 0
    for letter in letters:
        number = number * 26 + (letter - 64)
    return number


def _declared_cells(head: bytes, part: str, name: str, limits: Limits) -> int | None:
    """Rows x columns of a sheet's ``<dimension ref="A1:C10">``, checked against the
    limits (and Excel's own 1,048,576 x 16,384); None without a dimension."""
    found = _DIMENSION.search(head)
    if found is None:
        return None
    last_column, last_row = found.group(3) or found.group(1), found.group(4) or found.group(2)
    rows, columns = int(last_row), _column_number(last_column)
    if columns > min(limits.max_table_columns, EXCEL_MAX_COLUMNS):
        raise columns_limit(columns, name, limits)
    if rows > min(limits.max_table_rows + 1, EXCEL_MAX_ROWS):
        raise limit_error(
            f"The sheet {part!r} of {name!r} declares {rows:,} rows",
            "max_table_rows",
            limits.max_table_rows,
        )
    return rows * columns


def _count_items(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, name: str, pattern: re.Pattern, *, stop: int
) -> int:
    """Tags matching ``pattern`` (shared strings ``<si>``, cells ``<c>``) in a part,
    counted in 1 MiB pieces; stops past ``stop``."""
    count = 0
    carry = b""
    try:
        with archive.open(info) as member:
            while piece := member.read(1 << 20):
                block = carry + piece
                count += len(pattern.findall(block))
                carry = block[-8:]
                count -= len(pattern.findall(carry))  # counted again next time
                if count > stop:
                    return count
    except Exception as error:
        raise _broken(name, error) from None
    return count + len(pattern.findall(carry))


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
