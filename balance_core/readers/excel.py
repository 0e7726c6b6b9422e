"""Excel workbooks (.xlsx) -> a table of text, one worksheet at a time."""

from __future__ import annotations

import datetime as dt
import html
import io
import posixpath
import re
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from ..errors import DatasetError
from ..limits import Limits, limit_error
from .checks import check_header, column_names, columns_limit
from .roles import guess_sheet
from .sources import Input
from .text import first_line

__all__ = ["OPENPYXL_MAX_CELLS", "PackageScan", "SheetScan", "inspect_package", "read_xlsx"]

RATIO_FLOOR = 1 << 20  # as for zips: a small part may compress very well
MAX_WORKBOOK_PART = 16 << 20  # the workbook's index and relationships: a few kB in practice
OPENPYXL_MAX_CELLS = 200_000
"""Cells openpyxl is given at most (about 8 s at its 25,000 cells a second): only
sheets whose cells lack their ``r`` reference go to openpyxl."""


@dataclass(frozen=True)
class SheetScan:
    """What the pre-flight pass found in one worksheet part.

    Attributes
    ----------
    cells : int
        ``<c>`` elements.
    extent : int
        Last row x last column referenced by a cell (what calamine allocates).
    positioned : bool
        Every cell carries its ``r="A1"`` reference.
    fixups : bool
        The part holds a formula, an error value or an integer of 16 digits or
        more, which calamine does not read as openpyxl did.
    """

    cells: int
    extent: int
    positioned: bool
    fixups: bool


@dataclass(frozen=True)
class PackageScan:
    """The pre-flight findings of a workbook: one :class:`SheetScan` per worksheet
    part (keyed by its name in the zip, e.g. ``xl/worksheets/sheet1.xml``)."""

    sheets: Mapping[str, SheetScan]


def read_xlsx(
    item: Input, sheet: str | None, limits: Limits
) -> tuple[pa.Table, str, tuple[str, ...], dict[str, str]]:
    """The sheet as a table of text, its name, the other sheets' names, and the
    columns holding formulas without a saved result (column -> first cell).

    The sheet is parsed by python-calamine (a Rust parser, no entity expansion), after
    :func:`inspect_package` has bounded its cells and its extent. A spreadsheet
    program saves each formula's result; a workbook written by a script (openpyxl,
    xlsxwriter) has none, so such cells read as missing here, and
    :func:`read_table` refuses them in a role column.

    What calamine does not give is taken from the sheet XML in one more streaming
    pass, only when the pre-flight scan saw it there: formulas without a saved result
    (calamine reads them as blank), error values such as ``#N/A`` (blank in calamine)
    and integers of 16 digits or more (calamine reads a float). A sheet whose cells
    do not all carry their ``r="A1"`` reference (rare writers) is read by openpyxl,
    as before, within openpyxl's own budget of cells (``OPENPYXL_MAX_CELLS``).

    One difference remains: calamine trims the spaces around a text that is not
    marked ``xml:space="preserve"`` (Excel and LibreOffice mark every such text;
    openpyxl leaves a text of spaces only unmarked, which now reads as missing)."""
    data = item.read_all()
    scan = inspect_package(data, item.name, limits)
    names, parts, _ = _sheet_parts(data, item.name)
    if not names:
        raise DatasetError(
            f"{item.name!r} has no worksheet; save it again from a spreadsheet program.",
            kind="parse_error",
        )
    if sheet is not None and sheet not in names:
        raise DatasetError(
            f"The workbook has no sheet {sheet!r}; its sheets are {', '.join(map(repr, names))}.",
            kind="unknown_sheet",
        )
    # A README or Notes sheet in front of the data is skipped (guess_sheet).
    chosen = sheet or guess_sheet(names)[0]
    part = scan.sheets.get(parts.get(chosen, ""))
    # calamine finds the workbook only at xl/workbook.xml; openpyxl follows _rels/.rels.
    fast = part is not None and part.positioned and _standard_workbook(data)
    if fast:
        grid = _calamine_grid(data, item.name, chosen)
        if part.fixups:
            _apply_fixups(data, item.name, parts[chosen], grid)
        if part.fixups:
            rows = [(n, row) for n, row in enumerate(grid, start=1) if not all(map(_blank, row))]
        else:  # only "" is blank in calamine's grid (0 and False are not)
            rows = [(n, row) for n, row in enumerate(grid, start=1) if row.count("") < len(row)]
        del grid
    else:
        rows = _openpyxl_rows(data, item.name, chosen, part, limits)
    if not rows:
        raise DatasetError(f"Sheet {chosen!r} of {item.name!r} is empty.", kind="empty_file")
    header_row = rows[0][1]
    width = max(len(row) for _, row in rows)
    header = [_excel_cell(c) or "" for c in header_row] + [""] * (width - len(header_row))
    while (
        header
        and header[-1] == ""
        and all(len(row) < len(header) or _blank(row[len(header) - 1]) for _, row in rows)
    ):
        header.pop()
    check_header(header, item.name, limits)
    header = column_names(header)
    if len(rows) == 1:
        raise DatasetError(
            f"Sheet {chosen!r} of {item.name!r} has a header but no rows; add one row per sample.",
            kind="header_only",
        )
    if fast:  # calamine's rows all have the sheet's width: transpose them at C speed
        columns = zip(*(row for _, row in rows[1:]), strict=True)
        texts = [_texts(values) for values, _ in zip(columns, header, strict=False)]
    else:
        texts = [
            [_excel_cell(row[i]) if i < len(row) else None for _, row in rows[1:]]
            for i in range(len(header))
        ]
    table = pa.table(
        {
            column: pa.array(values, type=pa.string())
            for column, values in zip(header, texts, strict=True)
        }
    )
    del texts
    found: dict[str, str] = {}
    if fast and part.fixups:
        found = _first_uncached(rows, header)
    elif not fast and any(column.null_count for column in table.columns):
        found = _uncached_formulas(data, item.name, chosen, rows[1:], header)
    return table, chosen, tuple(n for n in names if n != chosen), found


def _sheet_parts(data: bytes, name: str) -> tuple[list[str], dict[str, str], str | None]:
    """The sheets' names in workbook order, each sheet's part in the zip, and the
    shared strings' part, as the parsers find them: the workbook part named by
    ``_rels/.rels`` (``xl/workbook.xml`` in every common writer) and its relationships.
    The DTD check has run on these parts; their size is bounded here before parsing."""
    from defusedxml import ElementTree

    def parse(archive: zipfile.ZipFile, part: str):
        info = archive.getinfo(part)
        if info.file_size > MAX_WORKBOOK_PART:
            raise DatasetError(
                f"The part {part!r} of {name!r} declares {info.file_size:,} bytes, far more "
                "than a workbook's index needs; save it again from a spreadsheet program.",
                kind="parse_error",
            )
        return ElementTree.fromstring(archive.read(info))

    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        workbook_part = "xl/workbook.xml"
        try:
            for rel in parse(archive, "_rels/.rels"):
                if rel.get("Type", "").endswith("/officeDocument") and rel.get("Target"):
                    workbook_part = posixpath.normpath(rel.get("Target").lstrip("/"))
                    break
        except KeyError:
            pass
        workbook = parse(archive, workbook_part)
        base, leaf = posixpath.split(workbook_part)
        try:
            rels = parse(archive, posixpath.join(base, "_rels", leaf + ".rels"))
        except KeyError:
            rels = None
    except DatasetError:
        raise
    except Exception as error:
        raise _broken(name, error) from None
    targets: dict[str, str] = {}
    strings: str | None = None
    for rel in [] if rels is None else rels:
        target = rel.get("Target", "")
        target = target.lstrip("/") if target.startswith("/") else posixpath.join(base, target)
        targets[rel.get("Id", "")] = posixpath.normpath(target)
        if rel.get("Type", "").endswith("/sharedStrings"):
            strings = targets[rel.get("Id", "")]
    names: list[str] = []
    parts: dict[str, str] = {}
    for element in workbook.iter():
        if element.tag.rsplit("}", 1)[-1] != "sheet" or element.get("name") is None:
            continue
        names.append(element.get("name"))
        rid = next((v for k, v in element.attrib.items() if k.endswith("}id")), "")
        parts[element.get("name")] = targets.get(rid, "")
    return names, parts, strings


def _standard_workbook(data: bytes) -> bool:
    try:
        zipfile.ZipFile(io.BytesIO(data)).getinfo("xl/workbook.xml")
    except KeyError:
        return False
    return True


def _calamine_grid(data: bytes, name: str, sheet: str) -> list[list[Any]]:
    """Every row of a sheet from row 1, every cell from column A ("" where blank)."""
    from python_calamine import CalamineWorkbook

    try:
        with CalamineWorkbook.from_filelike(io.BytesIO(data)) as workbook:
            return workbook.get_sheet_by_name(sheet).to_python(skip_empty_area=False)
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException:  # calamine's errors, and pyo3's PanicException
        # calamine's own words name Rust types; the sentence names the file.
        raise DatasetError(
            f"{name!r} could not be read as an Excel workbook (the XML of its sheet or "
            "shared strings is malformed); save it again as .xlsx or export it as CSV.",
            kind="parse_error",
        ) from None


def _openpyxl_rows(
    data: bytes, name: str, sheet: str, part: SheetScan | None, limits: Limits
) -> list[tuple[int, tuple]]:
    cells = part.cells if part is not None else 0
    budget = min(limits.max_sheet_cells, OPENPYXL_MAX_CELLS)
    if cells > budget:
        raise limit_error(
            f"The sheet {sheet!r} of {name!r} holds {cells:,} cells without their "
            'r="A1" references, which only the slow reader takes, up to '
            f"{OPENPYXL_MAX_CELLS:,} (export it as CSV, which reads in a second)",
            "max_sheet_cells",
            budget,
        )
    workbook = _open_workbook(data, name, data_only=True)
    try:
        return _sheet_rows(workbook, sheet, name)
    finally:
        workbook.close()


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
# A cell's reference, its column letters and row digits (``r="B7"``; rows have only
# digits). Four letters and eight digits at most: anything longer is past Excel's grid
# and left uncounted, so that the sheet counts as having cells without references.
_CELL_REF = re.compile(rb"\sr=[\"']([A-Z]{1,4})(\d{1,8})[\"']")
# What calamine reads differently from openpyxl: a formula (calamine cannot tell a
# blank from a formula without a saved result), an error value (blank in calamine),
# an integer literal of 16 digits or more (a float in calamine). Plain substrings
# first (a false hit only costs one more pass), the regular expression last.
_FIXUP_TAGS = (b"<f>", b"<f ", b"<f/", b":f>", b":f ", b":f/", b't="e"', b"t='e'")
_LONG_VALUE = re.compile(rb"<(?:\w+:)?v>\s*-?\d{16}")


def inspect_package(data: bytes, name: str, limits: Limits) -> PackageScan:
    """Bound the work a workbook can ask for, before any parser reads it.

    From the zip's central directory: entries, declared sizes and compression
    ratios (as for any zip). From the XML parts' first 64 KiB: no DTD (``<!DOCTYPE``
    or ``<!ENTITY``, where external entities and entity bombs live; a workbook never
    needs one, and openpyxl parses through defusedxml as well). From each
    worksheet's ``<dimension>``: rows and columns against the limits. From each
    worksheet, counted in a streaming pass: its cells, against ``max_sheet_cells``
    (with or without a ``<dimension>``, which may lie), and the last row and column
    its cells refer to, whose product (what calamine allocates, whatever the count:
    two cells at ``A1`` and ``XFD1048576`` would ask for 17 billion) is held to the
    same limit. From the shared strings, counted the same way: no more strings than
    the sheets hold cells.

    Returns
    -------
    PackageScan
        What each worksheet part holds, for :func:`read_xlsx` to choose its reader.
    """
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
    sheets: dict[str, SheetScan] = {}
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
        _refuse_dtd(head, info.filename, name)
        if lower.startswith("xl/worksheets/"):
            cells += _bounded_sheet(archive, info, head, name, limits, cells, sheets)
        elif lower == "xl/sharedstrings.xml":
            strings = info
    # The parsers follow the package's relationships, not these paths: a sheet or the
    # shared strings moved elsewhere is bounded the same way (else it went uncounted).
    _, parts, strings_part = _sheet_parts(data, name)
    by_name = {info.filename: info for info in infos}
    by_lower = {info.filename.lower(): info for info in infos}
    for part in parts.values():
        info = by_name.get(part) or by_lower.get(part.lower())
        if info is None or info.filename in sheets:
            continue
        head = _read_head(archive, info, name)
        _refuse_dtd(head, info.filename, name)
        cells += _bounded_sheet(archive, info, head, name, limits, cells, sheets)
    if strings_part is not None:
        moved = by_name.get(strings_part) or by_lower.get(strings_part.lower())
        if moved is not None and moved is not strings:
            _refuse_dtd(_read_head(archive, moved, name), moved.filename, name)
            _check_strings(archive, moved, name, cells)
    if strings is not None:
        _check_strings(archive, strings, name, cells)
    return PackageScan(sheets=sheets)


def _refuse_dtd(head: bytes, part: str, name: str) -> None:
    if b"<!DOCTYPE" in head or b"<!ENTITY" in head or _utf16_dtd(head):
        raise DatasetError(
            f"The part {part!r} of {name!r} declares a DTD (<!DOCTYPE>), which "
            "no workbook needs and which can hide external entities or entity bombs; "
            "save it again from a spreadsheet program.",
            kind="unsafe_xml",
        )


def _bounded_sheet(
    archive: zipfile.ZipFile,
    info: zipfile.ZipInfo,
    head: bytes,
    name: str,
    limits: Limits,
    cells_before: int,
    sheets: dict[str, SheetScan],
) -> int:
    """Scan one worksheet part against the limits; record it and return its cells."""
    _declared_cells(head, info.filename, name, limits)
    # The cells there are, whatever the <dimension> says (or when it is missing): the
    # parser's time grows with them, not with the file's size.
    found = _scan_sheet(archive, info, name, stop=limits.max_sheet_cells - cells_before)
    if cells_before + found.cells > limits.max_sheet_cells:
        raise limit_error(
            f"{name!r} holds more than {limits.max_sheet_cells:,} cells (export it "
            "as CSV, which reads in a second)",
            "max_sheet_cells",
            limits.max_sheet_cells,
        )
    if found.extent > limits.max_sheet_cells:
        raise limit_error(
            f"The sheet {info.filename!r} of {name!r} spans {found.extent:,} cells "
            "from A1 to its last cell",
            "max_sheet_cells",
            limits.max_sheet_cells,
        )
    sheets[info.filename] = found
    return found.cells


def _check_strings(archive: zipfile.ZipFile, info: zipfile.ZipInfo, name: str, cells: int) -> None:
    count = _count_items(archive, info, name, _STRING_ITEM, stop=cells)
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


def _scan_sheet(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, name: str, *, stop: int
) -> SheetScan:
    """One streaming pass over a worksheet part, in 1 MiB pieces cut before a tag:
    its cells (stopping past ``stop``), the last row and column they refer to, whether
    every cell has a reference, and whether it needs :func:`_apply_fixups`."""
    cells = referenced = last_row = last_column = 0
    fixups = False
    carry = b""
    try:
        with archive.open(info) as member:
            while True:
                piece = member.read(1 << 20)
                block = carry + piece
                cut = block.rfind(b"<") if piece else len(block)
                if cut <= 0:
                    cut = len(block)
                block, carry = block[:cut], block[cut:]
                cells += len(_CELL.findall(block))
                refs = _CELL_REF.findall(block)
                referenced += len(refs)
                if refs:
                    columns, rows = zip(*refs, strict=True)
                    # Same length, same order as numbers: no int() per cell.
                    longest = len(max(rows, key=len))
                    last_row = max(last_row, int(max(r for r in rows if len(r) == longest)))
                    last_column = max(last_column, *map(_column_number, set(columns)))
                fixups = fixups or any(tag in block for tag in _FIXUP_TAGS)
                fixups = fixups or _LONG_VALUE.search(block) is not None
                if cells > stop or not piece:
                    break
    except Exception as error:
        raise _broken(name, error) from None
    return SheetScan(
        cells=cells,
        extent=last_row * last_column,
        positioned=referenced == cells,
        fixups=fixups,
    )


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


class _Uncached:
    """A formula cell without a saved result (read as missing, and reported)."""

    def __repr__(self) -> str:
        return "UNCACHED"


UNCACHED = _Uncached()
_FULL_CELL = re.compile(
    rb"<(?:\w+:)?c\s((?:[^>\"']|\"[^\"]*\"|'[^']*')*?)(?:/>|>(.*?)</(?:\w+:)?c>)", re.DOTALL
)
_REF = re.compile(rb"(?:^|\s)r=[\"']([A-Z]{1,4})(\d{1,8})[\"']")
_TYPE = re.compile(rb"(?:^|\s)t=[\"'](\w+)[\"']")
_FORMULA = re.compile(rb"<(?:\w+:)?f[\s>/]")
_VALUE = re.compile(rb"<(?:\w+:)?v(?:\s[^>]*)?>([^<]*)</(?:\w+:)?v>")
_LONG_INT = re.compile(rb"\s*(-?\d{16,})\s*")
_MAX_CARRY = 64 << 20


def _apply_fixups(data: bytes, name: str, part: str, grid: list[list[Any]]) -> None:
    """Put into calamine's ``grid`` (rows from row 1, cells from column A) what
    openpyxl read and calamine does not: error values (``#N/A``) as their text,
    integers of 16 digits or more exactly, and :data:`UNCACHED` where a formula has
    no saved result. One streaming pass over the part, only for a sheet whose
    pre-flight scan saw such cells; every cell there has its reference."""
    carry = b""
    try:
        with zipfile.ZipFile(io.BytesIO(data)).open(part) as member:
            while piece := member.read(1 << 20):
                block = carry + piece
                end = 0
                for found in _FULL_CELL.finditer(block):
                    end = found.end()
                    _fix_cell(found.group(1), found.group(2) or b"", grid)
                carry = block[end:]
                if len(carry) > _MAX_CARRY:
                    raise ValueError("a cell of more than 64 MiB of XML")
    except Exception as error:
        raise _broken(name, error) from None


def _fix_cell(attributes: bytes, body: bytes, grid: list[list[Any]]) -> None:
    ref = _REF.search(attributes)
    if ref is None:
        return
    row, column = int(ref.group(2)) - 1, _column_number(ref.group(1)) - 1
    if row >= len(grid) or column >= len(grid[row]):
        return
    kind = _TYPE.search(attributes)
    kind = kind.group(1) if kind else b"n"
    value = _VALUE.search(body)
    text = value.group(1) if value else b""
    if _FORMULA.search(body) and not text.strip() and grid[row][column] == "":
        grid[row][column] = UNCACHED
    elif kind == b"e" and text.strip():
        grid[row][column] = html.unescape(text.decode("utf-8", "replace"))
    elif kind == b"n" and (number := _LONG_INT.fullmatch(text)):
        grid[row][column] = int(number.group(1))


def _first_uncached(rows: list[tuple[int, list]], header: list[str]) -> dict[str, str]:
    """Columns whose empty-looking cells are formulas without a saved result, each
    with its first such cell below the header."""
    from openpyxl.utils import get_column_letter

    found: dict[str, str] = {}
    for number, row in rows[1:]:
        for i, column in enumerate(header[: len(row)]):
            if row[i] is UNCACHED and column not in found:
                found[column] = f"{get_column_letter(i + 1)}{number}"
    return found


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


def _texts(values: tuple) -> list[str | None]:
    """:func:`_excel_cell` of every value, text passed through without a call."""
    out: list[str | None] = []
    add = out.append
    for v in values:
        kind = v.__class__
        if kind is str:
            add(v or None)
        elif kind is float and v.is_integer() and -1e15 < v < 1e15:
            add(str(int(v)))
        else:
            add(_excel_cell(v))
    return out


def _blank(value: Any) -> bool:
    return value is None or value is UNCACHED or (isinstance(value, str) and value == "")


def _excel_cell(value: Any) -> str | None:
    if value is None or value is UNCACHED:
        return None
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    if type(value) is dt.date:  # calamine's date is openpyxl's datetime at midnight
        return dt.datetime.combine(value, dt.time()).isoformat()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    text = str(value)
    return text if text != "" else None
