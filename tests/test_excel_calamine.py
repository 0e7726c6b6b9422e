"""The Excel reader on python-calamine: the same text per cell as openpyxl gave
(checked against pandas.read_excel(engine="openpyxl")), sheets past the old
200,000-cell limit, and what calamine alone would get wrong or crash on."""

from __future__ import annotations

import datetime as dt
import io
import math
import zipfile

import openpyxl
import pandas as pd
import pytest
from hostile_corpus import no_dimension_sheet, repack, xlsx_of

from balance_core import read_table
from balance_core.errors import DatasetError
from balance_core.limits import DEFAULT_LIMITS, Limits

SHEET = "xl/worksheets/sheet1.xml"
NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"


def raises(kind: str, data: bytes, **options) -> str:
    with pytest.raises(DatasetError) as info:
        read_table(data, name="book.xlsx", **options)
    message = str(info.value)
    assert info.value.kind == kind, message
    assert message.strip() and "\n" not in message and "Traceback" not in message
    return message


def as_text(value) -> str | None:
    """The reader's documented text of a cell, from the value openpyxl gives (via
    pandas): TRUE/FALSE, whole numbers without ".0", ISO dates and times."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NaT:
        return None
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    text = str(value)
    return text or None


def sheet_of(body: str) -> bytes:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="{NS}"><sheetData>{body}'
        "</sheetData></worksheet>"
    ).encode()


def test_mixed_types_read_as_pandas_with_openpyxl_reads_them():
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "Data"
    sheet.append(["label", "n", "x", "when", "day", "at", "flag", "note", "neg"])
    sheet.append(["cat", 1, 1.5, dt.datetime(2024, 1, 2, 3, 4, 5), dt.date(2024, 3, 1),
                  dt.time(13, 30), True, "héllo ✓ 猫", -3])  # fmt: skip
    sheet.append(["dog", 2.0, 0.1, dt.datetime(1999, 12, 31, 23, 59, 59, 500000), None,
                  dt.time(0, 0, 1), False, None, 1e-7])  # fmt: skip
    sheet.append(["ünï", None, 123456789012345.0, None, dt.date(1900, 3, 1), None, None,
                  "01", 2.5])  # fmt: skip
    sheet.append(["bird", 10**12, -0.25, dt.datetime(2024, 2, 29), None, None, True, "=x", 0])
    buffer = io.BytesIO()
    workbook.save(buffer)
    data = buffer.getvalue()

    reference = pd.read_excel(
        io.BytesIO(data), engine="openpyxl", dtype=object, keep_default_na=False
    )
    ds = read_table(data, name="book.xlsx")
    assert ds.raw.column_names == list(reference.columns)
    got = ds.raw.to_pylist()
    assert len(got) == len(reference) == 4
    for i, row in enumerate(got):
        want = {c: as_text(reference[c].iloc[i]) for c in reference.columns}
        assert row == want, (i, row, want)


def test_300000_cells_past_the_old_limit_read_every_row():
    base = xlsx_of({"Data": [["path", "label"], ["0.png", "a"]]})
    data = repack(base, {SHEET: no_dimension_sheet(150_000)})  # 300,002 cells
    assert DEFAULT_LIMITS.max_sheet_cells > 300_002
    ds = read_table(data, name="big.xlsx")
    assert ds.raw.num_rows == 150_000
    assert ds.raw.column("path").to_pylist() == [str(r) for r in range(2, 150_002)]
    assert set(ds.raw.column("label").to_pylist()) == {"1"}


def test_the_cell_count_limit_still_applies():
    base = xlsx_of({"Data": [["path", "label"], ["0.png", "a"]]})
    data = repack(base, {SHEET: no_dimension_sheet(1_000)})
    message = raises("limit_hit", data, limits=Limits(max_sheet_cells=1_000))
    assert "holds more than 1,000 cells" in message and "max_sheet_cells" in message


def test_two_far_apart_cells_are_refused_before_calamine_allocates_the_grid():
    # calamine holds a sheet as a dense grid from A1: A1 and XFD1048576 alone would
    # ask for 17 billion cells (calamine aborts the process on the allocation).
    corner = f"XFD{DEFAULT_LIMITS.max_sheet_cells // 16_384 + 2}"
    body = (
        '<row r="1"><c r="A1" t="inlineStr"><is><t>label</t></is></c></row>'
        '<row r="2"><c r="A2" t="inlineStr"><is><t>a</t></is></c>'
        f'<c r="{corner}" t="inlineStr"><is><t>b</t></is></c></row>'
    )
    data = repack(xlsx_of({"Data": [["label"], ["a"]]}), {SHEET: sheet_of(body)})
    message = raises("limit_hit", data)
    assert "spans" in message and "max_sheet_cells" in message


def test_error_values_long_integers_and_uncached_formulas_from_the_sheet_xml():
    body = (
        '<row r="1"><c r="A1" t="inlineStr"><is><t>label</t></is></c>'
        '<c r="B1" t="inlineStr"><is><t>id</t></is></c>'
        '<c r="C1" t="inlineStr"><is><t>total</t></is></c></row>'
        '<row r="2"><c r="A2" t="e"><v>#N/A</v></c><c r="B2"><v>1234567890123456789</v></c>'
        '<c r="C2"><f>1+1</f><v>2</v></c></row>'
        '<row r="3"><c r="A3" t="inlineStr"><is><t>b</t></is></c>'
        '<c r="B3" t="n"><v>-12345678901234567</v></c><c r="C3"><f>A1&amp;"x"</f></c></row>'
        '<row r="4"><c r="B4" t="e"><f>1/0</f><v>#DIV/0!</v></c></row>'
    )
    data = repack(xlsx_of({"Data": [["label"], ["a"]]}), {SHEET: sheet_of(body)})
    ds = read_table(data, name="book.xlsx", label_col="label")
    assert ds.raw.to_pylist() == [
        {"label": "#N/A", "id": "1234567890123456789", "total": "2"},
        {"label": "b", "id": "-12345678901234567", "total": None},
        {"label": None, "id": "#DIV/0!", "total": None},
    ]
    message = raises("uncached_formula", data, label_col="total")
    assert "C3" in message


def test_cells_without_references_are_read_by_openpyxl_as_before():
    body = (
        "<row><c t='inlineStr'><is><t>label</t></is></c><c t='inlineStr'><is><t>note</t>"
        "</is></c></row><row><c t='inlineStr'><is><t>a</t></is></c><c><v>1</v></c></row>"
        "<row><c t='inlineStr'><is><t>b</t></is></c><c><f>1+1</f></c></row>"
    )
    data = repack(xlsx_of({"Data": [["label"], ["a"]]}), {SHEET: sheet_of(body)})
    ds = read_table(data, name="book.xlsx")
    assert ds.raw.to_pylist() == [{"label": "a", "note": "1"}, {"label": "b", "note": None}]
    assert "B3" in raises("uncached_formula", data, group_col="note")


def test_a_calamine_failure_is_one_sentence_without_its_words():
    body = '<row r="1"><c r="A1" t="inlineStr"><is><t>label</t></is></c></row><row r="2"><c'
    data = repack(xlsx_of({"Data": [["label"], ["a"]]}), {SHEET: sheet_of(body)[:-30]})
    message = raises("parse_error", data)
    assert "could not be read as an Excel workbook" in message
    assert "calamine" not in message.lower() and "XmlError" not in message


# --------------------------------------------------------------------------- moved parts


def _book(rows: int) -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["path", "label"])
    for i in range(rows):
        sheet.append([f"{i}.png", "a" if i % 3 else "b"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _moved(data: bytes, moves: dict[str, str], edits: list[tuple[str, bytes, bytes]]) -> bytes:
    """The package with parts renamed and the relationships edited to follow them."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            body = source.read(info.filename)
            for part, old, new in edits:
                if info.filename == part:
                    assert old in body, (part, old)
                    body = body.replace(old, new)
            target.writestr(moves.get(info.filename, info.filename), body)
    return out.getvalue()


SHEET_MOVED = (
    {SHEET: "xl/custom/data1.xml"},
    [
        ("xl/_rels/workbook.xml.rels", b"/" + SHEET.encode(), b"/xl/custom/data1.xml"),
        ("[Content_Types].xml", b"/" + SHEET.encode(), b"/xl/custom/data1.xml"),
    ],
)
WORKBOOK_MOVED = (
    {**SHEET_MOVED[0], "xl/workbook.xml": "xl/main.xml",
     "xl/_rels/workbook.xml.rels": "xl/_rels/main.xml.rels"},
    [*SHEET_MOVED[1],
     ("_rels/.rels", b'Target="xl/workbook.xml"', b'Target="xl/main.xml"'),
     ("[Content_Types].xml", b"/xl/workbook.xml", b"/xl/main.xml")],
)  # fmt: skip


@pytest.mark.parametrize("layout", [SHEET_MOVED, WORKBOOK_MOVED], ids=["sheet", "workbook"])
def test_parts_moved_by_the_relationships_are_read_and_bounded(layout):
    # openpyxl (and calamine, for a sheet) follow the relationships, so a sheet outside
    # xl/worksheets/ must be counted against the limits too: it once went uncounted.
    data = _moved(_book(300), *layout)
    assert len(pd.read_excel(io.BytesIO(data), engine="openpyxl")) == 300
    dataset = read_table(data, name="book.xlsx")
    counts = dict(zip(*[dataset.raw.column("label").value_counts().field(f).to_pylist()
                        for f in ("values", "counts")], strict=True))  # fmt: skip
    assert counts == {"a": 200, "b": 100}
    message = raises("limit_hit", data, limits=Limits(max_sheet_cells=100))
    assert "max_sheet_cells" in message
