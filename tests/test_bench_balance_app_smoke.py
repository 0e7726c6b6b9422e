"""Smoke tests of benchmarks/bench_balance.py and benchmarks/bench_app.py on tiny inputs:
they run end to end and print the expected table. No timing assertions: speed is for
the benchmarks themselves."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"
ROWS = 20000


def _bench(monkeypatch, name: str):
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    return importlib.import_module(name)


def _table(report: str, header: list[str]) -> list[list[str]]:
    lines = [line for line in report.splitlines() if line.startswith("|")]
    first, rule, *body = lines
    assert [c.strip() for c in first.strip("|").split("|")] == header
    assert set(rule) <= {"|", "-"}
    return [[c.strip() for c in line.strip("|").split("|")] for line in body]


def _number(cell: str) -> float:
    """The leading number of a cell such as ``0.123``, ``73 (200 rows)`` or ``12x faster``."""
    match = re.match(r"(\d+(?:\.\d+)?)", cell)
    assert match, cell
    return float(match.group(1))


@pytest.mark.slow
def test_bench_balance_runs_and_prints_the_table(tmp_path, monkeypatch, capsys):
    bench = _bench(monkeypatch, "bench_balance")

    report = bench.main(["--rows", ROWS, "--repeat", 1, "--calls", 50, "--out", str(tmp_path)])

    assert capsys.readouterr().out == report
    rows = _table(report, ["Fig.", "Measure", "balance_core", "Baseline", "Ratio", "Target", "Met"])
    assert [(r[0], r[1].split(":")[0].split(",")[0]) for r in rows] == [
        ("1", "undersample to equal"),
        ("1", "of which counts_for"),
        ("1", "of which row selection in resample (before the manifest)"),
        ("1", "of which manifest table (apply._build)"),
        ("2", "CLI `undersample FILE -o OUT.csv`"),
        ("3", "`plan_undersample` on 1"),
        ("3", "`plan_oversample` on 1"),
        ("3", "`class_weights` on 1"),
        ("3", "`compare_strategies` on 1"),
    ]
    for _fig, measure, ours, base, ratio, target, met in rows:
        assert _number(ours) > 0, measure
        assert _number(ratio) > 0, measure
        if base != "1 ms budget":
            assert _number(base) > 0, measure
        assert met in ({"–"} if target == "info" else {"yes", "**no**"}), measure
    assert "best of 1" in report and "Machine: " in report
    assert "1,000 classes" in report
    data = tmp_path / f"balance_{ROWS}_v1.csv"
    assert data.stat().st_size == bench.expected_size(ROWS)
    assert (tmp_path / f"bench_balance_{ROWS}.md").read_text(encoding="utf-8") == report
    assert not list(tmp_path.glob("bench_balance_manifest_*"))  # the CLI's output is removed


@pytest.mark.slow
def test_bench_app_runs_and_prints_the_table(tmp_path, monkeypatch, capsys):
    bench = _bench(monkeypatch, "bench_app")

    report = bench.main(["--rows", ROWS, "--repeat", 1, "--reruns", 2, "--out", str(tmp_path)])

    assert capsys.readouterr().out == report
    rows = _table(report, ["Fig.", "Measure", "Seesaw", "Baseline", "Ratio", "Target", "Met"])
    sizes = [f"{ROWS // 100:,} rows", f"{ROWS // 10:,} rows", f"{ROWS:,} rows"]
    expected = [
        ("4", f"{prefix}{what}, {size}")
        for what in bench.MEASURES.values()
        for prefix, size in zip(("", "", "(info) "), sizes, strict=True)
    ] + [("6", f"{page} rerun (") for page in bench.PAGES.values()]
    expected += [("5", f"first load of {ROWS:,} rows")]
    got = [(r[0], r[1].split(": ")[0]) for r in rows]
    assert [(f, m if f != "6" else m.split("(")[0] + "(") for f, m in got] == expected
    for _fig, measure, ours, base, ratio, _target, met in rows:
        assert _number(ours) > 0, measure
        if base != "–":
            assert _number(base) > 0 and _number(ratio) > 0, measure
        assert met in {"yes", "**no**", "–"}, measure
    assert "median of 2 reruns" in report and "best of 1" in report
    assert (tmp_path / f"bench_app_{ROWS}.md").read_text(encoding="utf-8") == report


def test_benchmark_inputs_are_deterministic_and_imbalanced(monkeypatch):
    bench = _bench(monkeypatch, "bench_balance")
    first, second = bench.csv_bytes(5000), bench.csv_bytes(5000)
    assert first == second and len(first) == bench.expected_size(5000)
    lines = first.decode().splitlines()
    assert lines[0] == "path,label" and len(lines) == 5001
    paths, labels = zip(*(line.split(",") for line in lines[1:]), strict=True)
    assert len(set(paths)) == 5000
    for label, share in bench.CLASSES.items():
        assert abs(labels.count(label) / len(labels) - share) < 0.03, label
    counts = bench.plan_counts()
    assert len(counts) == 1000 and max(counts.values()) / min(counts.values()) > 100


def test_importing_the_benchmarks_runs_nothing(monkeypatch, capsys):
    for name in ("bench_balance", "bench_app"):
        module = _bench(monkeypatch, name)
        assert callable(module.main)
    assert capsys.readouterr().out == ""
