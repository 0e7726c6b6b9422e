"""Excel workbooks (.xlsx) -> a table of text, one worksheet at a time."""

from __future__ import annotations

import io
import zipfile
from typing import Any

import pyarrow as pa

from ..errors import DatasetError
from ..limits import Limits
from .checks import check_header, column_names
from .roles import guess_sheet
from .sources import Input
from .text import first_line

__all__ = ["read_xlsx"]


def read_xlsx(
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
        # A README or Notes sheet in front of the data is skipped (guess_sheet).
        chosen = sheet or guess_sheet(names)[0]
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


def _open_workbook(data: bytes, name: str, *, data_only: bool) -> Any:
    import openpyxl

    try:
        return openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=data_only)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as error:
        raise DatasetError(
            f"{name!r} could not be read as an Excel workbook ({first_line(str(error))}); "
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
