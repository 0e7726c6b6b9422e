"""Excel reader: python-calamine (today's reader) against openpyxl (the one before).

Each workbook has four columns (path, label, an integer, a float), written as openpyxl's
write-only mode writes them (inline strings, ``r`` references, no ``<dimension>``),
but generated directly so that 10 M cells take seconds rather than openpyxl's minutes.
Each read runs in a fresh process (wall time and peak RSS from ``wait4``):

* ``calamine``: ``balance_core.read_table`` on the file, as the CLI and the app read
  it (pre-flight scan, calamine, the text columns), with ``max_sheet_cells`` and
  ``max_entry_uncompressed`` raised out of the way (openpyxl's inline strings make 10 M
  cells 568 MB of sheet XML, past the 512 MiB default for one part);
* ``openpyxl``: what ``read_table`` did before, for the sheet part: openpyxl in
  read-only mode, ``iter_rows(values_only=True)``, the same text conversion.

openpyxl reads about 25,000 cells a second here, so it is only run up to
``--openpyxl-max-rows`` rows (default 250,000, i.e. 1 M cells, about 40 s).

Usage::

    python benchmarks/bench_excel.py                       # 1 M, 5 M, 10 M cells
    python benchmarks/bench_excel.py --rows 2000 --quick   # smoke check
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import zipfile
from pathlib import Path

from _common import child_env, load_average, machine_info, markdown_table, run_measured

__all__ = ["main", "write_workbook"]

_PARTS = {
    "[Content_Types].xml": (
        '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org'
        '/package/2006/content-types"><Default Extension="rels" ContentType="application/'
        'vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType='
        '"application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/'
        'vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName='
        '"/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-'
        'officedocument.spreadsheetml.worksheet+xml"/></Types>'
    ),
    "_rels/.rels": (
        '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.'
        'openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://'
        "schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument"
        '" Target="xl/workbook.xml"/></Relationships>'
    ),
    "xl/workbook.xml": (
        '<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats'
        '.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/'
        'officeDocument/2006/relationships"><sheets><sheet name="Data" sheetId="1" '
        'r:id="rId1"/></sheets></workbook>'
    ),
    "xl/_rels/workbook.xml.rels": (
        '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.'
        'openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://'
        'schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="'
        'worksheets/sheet1.xml"/></Relationships>'
    ),
}
_LABELS = (b"cat", b"dog", b"bird")


def write_workbook(path: Path, rows: int) -> None:
    """An .xlsx of a header and ``rows`` rows of path, label, integer, float."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        for name, text in _PARTS.items():
            archive.writestr(name, text)
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
            sheet.write(
                b'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.'
                b'openxmlformats.org/spreadsheetml/2006/main"><sheetData><row r="1">'
                + b"".join(
                    b'<c r="%s1" t="inlineStr"><is><t>%s</t></is></c>' % (c, h)
                    for c, h in zip(b"ABCD", (b"path", b"label", b"n", b"x"), strict=True)
                    for c in [bytes([c])]
                )
                + b"</row>"
            )
            for start in range(0, rows, 10_000):
                sheet.write(
                    b"".join(
                        b'<row r="%d"><c r="A%d" t="inlineStr"><is><t>img/%d.png</t></is></c>'
                        b'<c r="B%d" t="inlineStr"><is><t>%s</t></is></c><c r="C%d" t="n">'
                        b'<v>%d</v></c><c r="D%d" t="n"><v>%r</v></c></row>'
                        % (r, r, i, r, _LABELS[i % 3], r, i, r, i / 7)
                        for i in range(start, min(start + 10_000, rows))
                        for r in [i + 2]
                    )
                )
            sheet.write(b"</sheetData></worksheet>")


_READ = {
    "calamine": (
        "import sys\n"
        "from balance_core import read_table\n"
        "from balance_core.limits import Limits\n"
        "limits = Limits(max_sheet_cells=10**9, max_entry_uncompressed=2**34)\n"
        "ds = read_table(sys.argv[1], limits=limits)\n"
        "print(ds.raw.num_rows)\n"
    ),
    "openpyxl": (
        "import sys\n"
        "import pyarrow as pa\n"
        "from balance_core.readers import excel\n"
        "data = open(sys.argv[1], 'rb').read()\n"
        "book = excel._open_workbook(data, 'bench.xlsx', data_only=True)\n"
        "rows = excel._sheet_rows(book, book.sheetnames[0], 'bench.xlsx')\n"
        "table = pa.table({str(i): pa.array([excel._excel_cell(r[i]) for _, r in rows[1:]],\n"
        "                  type=pa.string()) for i in range(len(rows[0][1]))})\n"
        "print(table.num_rows)\n"
    ),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", default="250000,1250000,2500000", help="comma-separated")
    parser.add_argument("--openpyxl-max-rows", type=int, default=250_000)
    parser.add_argument("--quick", action="store_true", help="one run each (default: best of 2)")
    parser.add_argument("--out", default=None, help="folder for the workbooks (default: temp)")
    args = parser.parse_args(argv)
    repeat = 1 if args.quick else 2
    sizes = [int(r) for r in args.rows.split(",")]
    print(machine_info(("python-calamine", "openpyxl", "pyarrow")))
    print(f"load average (1 min) at start: {load_average()}\n")
    table = []
    with tempfile.TemporaryDirectory() as temp:
        folder = Path(args.out or temp)
        for rows in sizes:
            path = folder / f"bench_{rows}.xlsx"
            write_workbook(path, rows)
            results = {}
            for engine, code in _READ.items():
                if engine == "openpyxl" and rows > args.openpyxl_max_rows:
                    continue
                runs = [
                    run_measured([sys.executable, "-c", code, str(path)], env=child_env())
                    for _ in range(repeat)
                ]
                for run in runs:
                    if int(run.stdout.split()[-1]) != rows:
                        raise RuntimeError(f"{engine} read {run.stdout!r} rows, not {rows}")
                results[engine] = min(runs, key=lambda run: run.wall)
            fast, slow = results["calamine"], results.get("openpyxl")
            table.append(
                [
                    f"{rows:,}",
                    f"{rows * 4:,}",
                    f"{path.stat().st_size / 1e6:.1f}",
                    f"{fast.wall:.2f}",
                    f"{fast.cpu:.2f}",
                    f"{fast.peak_mb:.0f}",
                    f"{slow.wall:.2f}" if slow else "not run",
                    f"{slow.cpu:.2f}" if slow else "-",
                    f"{slow.peak_mb:.0f}" if slow else "-",
                    f"{slow.wall / fast.wall:.1f}x" if slow else "-",
                ]
            )
            path.unlink()
            print("| " + " | ".join(table[-1]) + " |", flush=True)
    print(
        markdown_table(
            [
                "rows",
                "cells",
                "file MB",
                "calamine s",
                "calamine CPU s",
                "calamine peak MB",
                "openpyxl s",
                "openpyxl CPU s",
                "openpyxl peak MB",
                "openpyxl / calamine",
            ],
            table,
        )
    )
    print(f"\nload average (1 min) at end: {load_average()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
