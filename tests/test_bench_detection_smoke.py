"""Smoke test of benchmarks/bench_detection.py on small inputs: it runs end to end,
its counts agree with the baselines (it raises otherwise), and it prints the
table. No timing assertions: speed is for the benchmark itself."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


@pytest.mark.slow
def test_bench_detection_runs_and_prints_the_table(tmp_path, monkeypatch, capsys):
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    bench = importlib.import_module("bench_detection")
    report = bench.main(
        ["--annotations", "3000", "--label-files", "300", "--classes", "50",
         "--images", "2000", "--repeat", "1", "--out", str(tmp_path)]
    )  # fmt: skip
    assert capsys.readouterr().out == report
    rows = [line for line in report.splitlines() if line.startswith("| ")][1:]
    assert [row.split("|")[1].strip() for row in rows] == ["1", "1", "1", "2", "3"]
    assert "COCO 3,000 boxes" in report and "YOLO zip of 300 label files" in report
