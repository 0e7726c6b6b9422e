"""Smoke test of benchmarks/bench_hostile.py on two corpus bombs: it prepares its
inputs in a child process, runs them through the real CLI and prints the table. No
timing assertions (speed is the benchmark's to report)."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


@pytest.mark.slow
def test_bench_hostile_runs_and_prints_the_table(tmp_path, monkeypatch, capsys):
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    bench = importlib.import_module("bench_hostile")
    status = bench.main(["--quick", "--only", "tbl_gzip", "--out", str(tmp_path)])
    report = capsys.readouterr().out
    rows = [line for line in report.splitlines() if line.startswith("| tbl_gzip")]
    ids = {row.strip("|").split("|")[0].strip() for row in rows}
    assert {"tbl_gzip_bomb", "tbl_gzip_cut_short", "tbl_gzip_two_members"} <= ids
    met = []
    for row in rows:
        cells = [c.strip() for c in row.strip("|").split("|")]
        assert cells[2].startswith(("exit 0", "exit 2: ")), cells
        assert float(cells[3]) > 0 and float(cells[4]) > 0 and float(cells[6]) > 0
        assert cells[8] in {"yes", "NO"}
        met.append(cells[8] == "yes")
    assert status == (0 if all(met) else 1)
