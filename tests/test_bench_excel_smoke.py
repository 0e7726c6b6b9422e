"""Smoke test of benchmarks/bench_excel.py on a tiny workbook: it writes the
workbook, reads it in fresh processes with calamine and with openpyxl, checks both
read every row, and prints the table. No timing assertions (speed is the
benchmark's to report)."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


@pytest.mark.slow
def test_bench_excel_runs_and_prints_the_table(tmp_path, monkeypatch, capsys):
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    bench = importlib.import_module("bench_excel")
    assert bench.main(["--rows", "300", "--quick", "--out", str(tmp_path)]) == 0
    report = capsys.readouterr().out
    rows = [line for line in report.splitlines() if line.startswith("| 300 ")]
    assert rows, report
    cells = [c.strip() for c in rows[-1].strip("|").split("|")]
    assert cells[1] == "1,200"
    assert float(cells[3]) > 0 and float(cells[5]) > 0 and float(cells[6]) > 0
    assert cells[-1].endswith("x")
