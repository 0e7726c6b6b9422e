"""Smoke test of benchmarks/bench_analyze.py on a small input: it runs end to end and
prints the expected table. No timing assertions: speed is for the benchmark itself."""

from __future__ import annotations

import importlib
import json
import re
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"

EXPECTED_ROWS = [
    ("1", "counts + metrics: wall, s"),
    ("1", "counts + metrics: peak RSS, MB"),
    ("2", "every finding: wall, s"),
    ("2", "every finding: peak RSS, MB"),
    ("3", "CLI `--no-findings --json`: process wall, s"),
    ("3", "CLI `--json`: process wall, s"),
    ("3", "CLI `--no-findings --json`: peak RSS, MB"),
    ("3", "CLI `--json`: peak RSS, MB"),
]


def _table_rows(report: str) -> list[list[str]]:
    lines = [line for line in report.splitlines() if line.startswith("|")]
    header, rule, *body = lines
    assert [c.strip() for c in header.strip("|").split("|")][:5] == [
        "Fig.",
        "Measure",
        "balance_core",
        "pyarrow baseline",
        "Ratio",
    ]
    assert set(rule) <= {"|", "-"}
    return [[c.strip() for c in line.strip("|").split("|")] for line in body]


@pytest.mark.slow
def test_bench_analyze_runs_and_prints_the_table(tmp_path, monkeypatch, capsys):
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    bench = importlib.import_module("bench_analyze")

    report = bench.main(["--rows", "20000", "--repeat", "1", "--out", str(tmp_path)])

    assert capsys.readouterr().out == report
    rows = _table_rows(report)
    assert [(r[0], r[1]) for r in rows] == EXPECTED_ROWS
    for _figure, measure, ours, base, ratio, target, met in rows:
        assert float(ours) > 0, measure
        assert float(base) > 0, measure
        assert re.fullmatch(r"\d+\.\d\dx", ratio) and float(ratio[:-1]) > 0, measure
        if target == "none set":
            assert met == "–"
        else:
            assert target.startswith("<= ")
            assert met in {"yes", "**no**"}
    assert "best of 1" in report and "Machine: " in report

    # The input is cached and its size is what the generator promises.
    data = tmp_path / "labels_20000_v1.csv"
    assert data.stat().st_size == bench.expected_size(20000)
    assert data.read_bytes().startswith(b"path,label\nimg/00000000.jpg,")
    samples = json.loads((tmp_path / "bench_analyze_20000.json").read_text())
    assert {len(runs) for runs in samples.values()} == {1}
    assert (tmp_path / "bench_analyze_20000.md").read_text(encoding="utf-8") == report


def test_generated_csv_is_deterministic_and_imbalanced(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    bench = importlib.import_module("bench_analyze")
    first, second = tmp_path / "a.csv", tmp_path / "b.csv"
    bench.write_csv(first, 5000)
    bench.write_csv(second, 5000)
    assert first.read_bytes() == second.read_bytes()
    lines = first.read_text().splitlines()
    assert lines[0] == "path,label" and len(lines) == 5001
    paths, labels = zip(*(line.split(",") for line in lines[1:]), strict=True)
    assert len(set(paths)) == 5000
    shares = {label: labels.count(label) / len(labels) for label in bench.CLASSES}
    for label, share in bench.CLASSES.items():
        assert abs(shares[label] - share) < 0.03, (label, shares)
