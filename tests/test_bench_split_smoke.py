"""Smoke test of benchmarks/bench_split.py on a small input: it runs end to end, checks
both sides keep groups whole, and prints its table. No timing assertions."""

from __future__ import annotations

import importlib
import json
import re
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


@pytest.mark.slow
def test_bench_split_runs_and_prints_the_table(tmp_path, monkeypatch, capsys):
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    bench = importlib.import_module("bench_split")
    report = bench.main(["--rows", "20000", "--groups", "400", "--repeat", "1",
                         "--out", str(tmp_path)])  # fmt: skip
    assert capsys.readouterr().out == report
    rows = [line for line in report.splitlines() if line.startswith("| 1 ")]
    assert len(rows) == 2
    for row in rows:
        cells = [c.strip() for c in row.strip("|").split("|")]
        assert float(cells[2]) > 0 and float(cells[3]) > 0
        assert re.fullmatch(r"\d+\.\d\dx", cells[4])
        assert cells[5] == "<= 0.2x" and cells[6] in {"yes", "**no**"}
    assert "No group in two splits on any side" in report
    samples = json.loads((tmp_path / "bench_split_20000_400.json").read_text())
    assert all(run["leaking_groups"] == 0 for runs in samples.values() for run in runs)


def test_bench_data_is_deterministic(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    bench = importlib.import_module("bench_split")
    first = bench.make_data(5000, 50)
    second = bench.make_data(5000, 50)
    assert all((a == b).all() for a, b in zip(first, second, strict=True))
    labels, patients, _, group = first
    assert len(set(patients.tolist())) == len(set(group.tolist())) <= 50
    assert set(labels.tolist()) == set(bench.CLASSES)
