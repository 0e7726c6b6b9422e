"""Smoke test of benchmarks/bench_stratify.py on small inputs: it runs end to end, checks
its rows against the old per-stratum loop and prints the table. No timing assertions."""

from __future__ import annotations

import sys
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


def test_bench_stratify_runs_and_prints_a_table(capsys, monkeypatch):
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    sys.modules.pop("bench_stratify", None)
    import bench_stratify

    assert (
        bench_stratify.main(["--rows", "2000,5000", "--repeat", "2", "--reference-rows", "2000"])
        == 0
    )
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("|")]
    header, _, *body = lines
    assert "stratified (s)" in header and "before (s)" in header
    assert [row.split("|")[1].strip() for row in body] == ["2,000", "5,000"]
    assert "slower" in body[0] and body[1].rstrip(" |").endswith("-")


def test_bench_dataset_has_one_value_per_ten_rows(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    import bench_stratify

    ds = bench_stratify.make_dataset(1000)
    assert len(set(ds.raw.column("site").to_pylist())) == 100
