"""Smoke test of benchmarks/bench_browser.py: one first load of each page and two strategy
changes, end to end in Chromium, and the table it prints. No timing assertions."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"
pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_bench_browser_runs_and_prints_the_table(monkeypatch, capsys):
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    bench = importlib.import_module("bench_browser")

    assert bench.main(["--loads", "1", "--changes", "2"]) == 0

    out = capsys.readouterr().out
    rows = [line for line in out.splitlines() if line.startswith("| 16")]
    assert [row.split("|")[1].strip() for row in rows] == ["16a", "16a", "16b"]
    # Every figure is a positive number of seconds, and the ratio is computed from them.
    seesaw, bare, ratio = (rows[0].split("|")[i].strip() for i in (3, 4, 5))
    bare_s = float(bare.split()[0])
    assert float(seesaw) > 0 and bare_s > 0
    assert float(ratio.rstrip("x")) == pytest.approx(float(seesaw) / bare_s, abs=0.02)
    changes = re.search(r"Strategy changes, s: ([\d., ]+) \(", out).group(1).split(", ")
    assert len(changes) == 2 and all(float(c) > 0 for c in changes)
