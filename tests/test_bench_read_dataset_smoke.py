"""Smoke test of benchmarks/bench_read_dataset.py on small inputs: it runs end to
end, read_dataset reads the same datasets as the readers it dispatches to (it
raises otherwise), and it prints the table. No timing assertions."""

from __future__ import annotations

import importlib
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


def test_bench_read_dataset_runs_and_prints_the_table(monkeypatch, capsys):
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    bench = importlib.import_module("bench_read_dataset")
    report = bench.main(
        ["--zip-entries", "300", "--rows", "500", "--multilabel-rows", "200",
         "--coco-images", "20", "--repeat", "1"]
    )  # fmt: skip
    assert capsys.readouterr().out == report
    rows = [line for line in report.splitlines() if line.startswith("| ")][1:]
    assert [row.split("|")[1].strip() for row in rows] == ["1", "2", "3", "4"]
    assert "read_zip" in report and "read_detection" in report
