"""Benchmark balancing: exact seeded undersampling, the CLI run, and plan previews.

Run as ``python benchmarks/bench_balance.py [--rows 10000000] [--repeat 5]
[--baseline-repeat 3] [--calls 2000] [--out DIR]``.

The first run writes a ``path,label`` CSV with ``--rows`` distinct paths
(``img/00000000.jpg`` ...) and four imbalanced classes (shares 0.70 / 0.12 / 0.10 /
0.08, drawn from a seeded generator), about 240 MB at 10 M rows, into ``--out``
(default ``<tmp>/seesaw-bench``); later runs reuse it. Every side of every figure runs
in its own fresh Python process, and one Markdown table is printed:

1. exact seeded undersampling to equal counts on a dataset already read:
   ``resample(ds, plan_undersample(counts_for(ds)), seed=0)`` (counts, plan, row
   selection and the manifest table) vs imbalanced-learn's
   ``RandomUnderSampler(random_state=0).fit_resample(row_index.reshape(-1, 1), labels)``
   on the same labels (a numpy array, as ``table["label"].to_numpy()`` gives it).
   Target: at least 50x faster. The selection alone (everything before the manifest is
   built) and the manifest alone are reported too, by timing ``apply._build`` inside
   ``resample``.
2. the whole CLI run ``python -m balance_core undersample FILE -o OUT.csv`` vs
   ``python -m balance_core analyze FILE --json``, both timed as whole processes.
   Target: at most 2x.
3. a preview for 1,000 classes: median time of one call of ``plan_undersample``,
   ``plan_oversample``, ``class_weights`` and ``compare_strategies`` over ``--calls``
   calls on 1,000 class counts. Target: under 1 ms each.

Wall times are the best of ``--repeat`` runs (``--baseline-repeat`` for
imbalanced-learn, which takes about a minute a run at 10 M rows); figure 3 gives the
median of many calls. Every run's output is checked (equal class counts, the same
rows on every repeat, the CLI's manifest line count) before its time counts.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

try:  # imported as part of a package (``benchmarks.bench_balance``)
    from . import _common
except ImportError:  # run as a script, or imported with benchmarks/ on sys.path
    import _common

__all__ = [
    "CLASSES",
    "csv_bytes",
    "dataset_csv",
    "expected_size",
    "main",
    "plan_counts",
    "run_benchmark",
    "write_csv",
]

CLASSES = _common.LABEL_SHARES
SEED = 20240607
DEFAULT_OUT = _common.DEFAULT_OUT
PLAN_CLASSES = 1000
VERSIONS = ("pyarrow", "numpy", "imbalanced-learn", "scikit-learn")
PLAN_FUNCTIONS = ("plan_undersample", "plan_oversample", "class_weights", "compare_strategies")
expected_size = _common.labels_csv_size

# --------------------------------------------------------------------------- input


def csv_bytes(rows: int, *, seed: int = SEED) -> bytes:
    """The benchmark CSV in memory: ``rows`` distinct paths, four imbalanced classes."""
    return _common.labels_csv_bytes(rows, seed=seed)


def write_csv(path: str | os.PathLike, rows: int, *, seed: int = SEED) -> None:
    """Write this benchmark's labels CSV (see ``_common.write_labels_csv``)."""
    _common.write_labels_csv(path, rows, seed=seed)


def dataset_csv(out: Path, rows: int) -> Path:
    """The cached input ``out/balance_<rows>_v1.csv``."""
    return _common.cached_labels_csv(out, rows, stem="balance", seed=SEED)


def plan_counts(n_classes: int = PLAN_CLASSES) -> dict[str, int]:
    """Deterministic, heavily imbalanced counts (Zipf-like, 1 : 1000) for the previews."""
    return {f"class_{i:04d}": 1_000_000 // (i + 1) + 7 * i for i in range(n_classes)}


# --------------------------------------------------------------------------- jobs
# Each job runs in a fresh process as ``python bench_balance.py --job NAME ARGS`` and
# prints one JSON object.


def _job_resample(path: str, repeat: int) -> dict:
    import numpy as np

    from balance_core import apply, read_dataset
    from balance_core.apply import counts_for, resample
    from balance_core.plan import plan_undersample

    dataset = read_dataset(path)
    build_times: list[float] = []
    original_build = apply._build

    def timed_build(*args, **kwargs):
        started = time.perf_counter()
        result = original_build(*args, **kwargs)
        build_times.append(time.perf_counter() - started)
        return result

    apply._build = timed_build  # resample looks _build up in the module on every call
    runs, first_rows, counts_after = [], None, None
    try:
        for _ in range(repeat):
            started = time.perf_counter()
            counts = counts_for(dataset)
            counted = time.perf_counter()
            plan = plan_undersample(counts)
            result = resample(dataset, plan, seed=0)
            done = time.perf_counter()
            runs.append(
                {
                    "total": done - started,
                    "counts": counted - started,
                    "resample": done - counted,
                    "build": build_times[-1],
                }
            )
            rows = result.manifest["row"].to_numpy()
            if first_rows is None:
                first_rows, counts_after = rows, result.counts()
            elif not np.array_equal(rows, first_rows):
                raise RuntimeError("resample chose other rows on a repeat with the same seed")
            del result, rows
    finally:
        apply._build = original_build
    return {
        "runs": runs,
        "rows": dataset.n_rows,
        "counts_before": counts,
        "counts_after": counts_after,
        "manifest_rows": int(first_rows.size),
        "manifest_columns": ["row", "path", "label", "class_index", "copy"],
    }


def _job_imblearn(path: str, repeat: int) -> dict:
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pacsv
    from imblearn.under_sampling import RandomUnderSampler

    options = pacsv.ConvertOptions(column_types={"path": pa.string(), "label": pa.string()})
    table = pacsv.read_csv(path, convert_options=options)
    labels = table["label"].to_numpy()  # an object array of str, as pandas would give
    row_index = np.arange(table.num_rows)
    del table
    runs, counts_after = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        x_res, y_res = RandomUnderSampler(random_state=0).fit_resample(
            row_index.reshape(-1, 1), labels
        )
        runs.append({"total": time.perf_counter() - started})
        counted = pc.value_counts(pa.array(y_res, type=pa.string()))
        counts_after = dict(
            zip(
                counted.field("values").to_pylist(),
                counted.field("counts").to_pylist(),
                strict=True,
            )
        )
        del x_res, y_res
    return {
        "runs": runs,
        "rows": int(row_index.size),
        "labels_dtype": str(labels.dtype),
        "counts_after": dict(sorted(counts_after.items())),
    }


def _job_plans(calls: int) -> dict:
    from balance_core import plan

    counts = plan_counts()
    results = {}
    for name in PLAN_FUNCTIONS:
        function = getattr(plan, name)
        for _ in range(max(10, calls // 20)):  # warm up
            function(counts)
        times = []
        for _ in range(calls):
            started = time.perf_counter_ns()
            function(counts)
            times.append(time.perf_counter_ns() - started)
        times.sort()
        results[name] = {"median_ms": times[len(times) // 2] / 1e6, "best_ms": times[0] / 1e6}
    return {"classes": len(counts), "calls": calls, "functions": results}


def _run_job(argv: Sequence[str]) -> None:
    name, *args = argv
    if name == "resample":
        report = _job_resample(args[0], int(args[1]))
    elif name == "imblearn":
        report = _job_imblearn(args[0], int(args[1]))
    elif name == "plans":
        report = _job_plans(int(args[0]))
    else:
        raise SystemExit(f"unknown job {name!r}")
    print(json.dumps(report))


def _child(*args: str) -> dict:
    env = _common.child_env({"PYTHONDONTWRITEBYTECODE": "1"})
    argv = [sys.executable, str(Path(__file__).resolve()), "--job", *args]
    run = _common.run_measured(argv, cwd=_common.REPO_ROOT, env=env)
    report = json.loads(run.stdout)
    report["process_wall"] = run.wall
    report["peak_mb"] = run.peak_mb
    return report


# --------------------------------------------------------------------------- figures


def _figure_1(path: Path, repeat: int, baseline_repeat: int) -> tuple[dict, dict]:
    ours = _child("resample", str(path), str(repeat))
    theirs = _child("imblearn", str(path), str(baseline_repeat))
    minority = min(ours["counts_before"].values())
    wanted = dict.fromkeys(ours["counts_before"], minority)
    if ours["counts_after"] != wanted or theirs["counts_after"] != wanted:
        raise RuntimeError(
            f"undersampling counts differ: balance_core {ours['counts_after']}, "
            f"imbalanced-learn {theirs['counts_after']}, expected {wanted}"
        )
    return ours, theirs


def _line_count(path: Path) -> int:
    count = 0
    with path.open("rb") as handle:
        while block := handle.read(1 << 24):
            count += block.count(b"\n")
    return count


def _figure_2(path: Path, repeat: int, out: Path) -> dict[str, list[_common.Run]]:
    py, file = sys.executable, str(path)
    target = out / f"bench_balance_manifest_{os.getpid()}.csv"
    jobs = {
        "undersample": (py, "-m", "balance_core", "undersample", file, "-o", str(target)),
        "analyze": (py, "-m", "balance_core", "analyze", file, "--json"),
    }
    env = _common.child_env({"PYTHONDONTWRITEBYTECODE": "1"})
    runs: dict[str, list[_common.Run]] = {name: [] for name in jobs}
    manifest_rows = []
    try:
        for round_ in range(repeat):
            order = list(jobs) if round_ % 2 == 0 else list(reversed(jobs))
            for name in order:
                target.unlink(missing_ok=True)
                runs[name].append(_common.run_measured(jobs[name], cwd=_common.REPO_ROOT, env=env))
                if name == "undersample":
                    manifest_rows.append(_line_count(target) - 1)  # minus the header
    finally:
        target.unlink(missing_ok=True)
    counts = json.loads(runs["analyze"][-1].stdout)["counts"]
    expected = len(counts) * min(counts.values())
    if any(n != expected for n in manifest_rows):
        raise RuntimeError(f"CLI manifest rows {manifest_rows}, expected {expected}")
    return runs


def _figure_3(calls: int) -> dict:
    return _child("plans", str(calls))


# --------------------------------------------------------------------------- report

HEADERS = ["Fig.", "Measure", "balance_core", "Baseline", "Ratio", "Target", "Met"]


def _num(value: float) -> str:
    """Three decimals, or three significant digits below 0.1 (tiny smoke-run times)."""
    return f"{value:.3f}" if value >= 0.1 else f"{value:.3g}"


@dataclass(frozen=True)
class Row:
    figure: str
    what: str
    ours: float
    base: float | None
    base_name: str
    target: str
    met: bool | None
    ratio_text: str

    def cells(self) -> list[str]:
        base = f"{_num(self.base)} ({self.base_name})" if self.base is not None else self.base_name
        met = "–" if self.met is None else ("yes" if self.met else "**no**")
        return [self.figure, self.what, _num(self.ours), base, self.ratio_text, self.target, met]


def _faster(speedup: float) -> str:
    return f"{speedup:.1f}x faster" if speedup < 10 else f"{speedup:.0f}x faster"


def _rows(ours: dict, theirs: dict, cli: dict[str, list], plans: dict) -> list[Row]:
    best = _common.best
    total = best([r["total"] for r in ours["runs"]])
    fastest = min(ours["runs"], key=lambda r: r["total"])
    selection = best([r["resample"] - r["build"] for r in ours["runs"]])
    build = best([r["build"] for r in ours["runs"]])
    imblearn = best([r["total"] for r in theirs["runs"]])
    under = best([r.wall for r in cli["undersample"]])
    analyze = best([r.wall for r in cli["analyze"]])
    rows = [
        Row("1", "undersample to equal: counts_for + plan + resample (selection + manifest), s",
            total, imblearn, "RandomUnderSampler", ">= 50x faster", imblearn / total >= 50,
            _faster(imblearn / total)),
        Row("1", "  of which counts_for, s", fastest["counts"], imblearn, "RandomUnderSampler",
            "info", None, _faster(imblearn / fastest["counts"])),
        Row("1", "  of which row selection in resample (before the manifest), s", selection,
            imblearn, "RandomUnderSampler", "info", None, _faster(imblearn / selection)),
        Row("1", "  of which manifest table (apply._build), s", build, imblearn,
            "RandomUnderSampler", "info", None, _faster(imblearn / build)),
        Row("2", "CLI `undersample FILE -o OUT.csv`: process wall, s", under, analyze,
            "CLI `analyze --json`", "<= 2x", under / analyze <= 2, f"{under / analyze:.2f}x"),
    ]  # fmt: skip
    for name in PLAN_FUNCTIONS:
        median_ms = plans["functions"][name]["median_ms"]
        rows.append(
            Row("3", f"`{name}` on {plans['classes']:,} classes: median per call, ms", median_ms,
                None, "1 ms budget", "< 1 ms", median_ms < 1.0, f"{median_ms:.2f}x of budget")
        )  # fmt: skip
    return rows


def _notes(path: Path, rows: int, ours, theirs, cli, plans, repeat, baseline_repeat, load):
    shares = " / ".join(f"{name} {share:.2f}" for name, share in CLASSES.items())

    def med(values):
        return _common.median(values)

    under_cpu = med([r.cpu for r in cli["undersample"]])
    analyze_cpu = med([r.cpu for r in cli["analyze"]])
    fig1 = med([r["total"] for r in theirs["runs"]]) / med([r["total"] for r in ours["runs"]])
    fig2 = med([r.wall for r in cli["undersample"]]) / med([r.wall for r in cli["analyze"]])
    medians = f"fig. 1 {_faster(fig1)}, fig. 2 {fig2:.2f}x"
    first_calls = (
        f"first call in the process: balance_core {ours['runs'][0]['total']:.2f} s, "
        f"imbalanced-learn {theirs['runs'][0]['total']:.2f} s"
    )
    best_plans = ", ".join(
        f"`{name}` {v['best_ms']:.3f} ms" for name, v in plans["functions"].items()
    )
    return [
        f"Input: `{path.name}`, {rows:,} rows, {path.stat().st_size / 1e6:.0f} MB, distinct "
        f"paths, labels {shares}; counts {ours['counts_before']} -> "
        f"{min(ours['counts_before'].values()):,} each ({ours['manifest_rows']:,} rows kept).",
        f"Machine: {_common.machine_info(VERSIONS)}.",
        f"Statistic: wall = best of {repeat} (imbalanced-learn: best of {baseline_repeat}); "
        f"fig. 3 = median of {plans['calls']:,} calls after a warm-up. Fig. 1 times the work "
        "inside one process with the dataset already read (the read is not timed); fig. 2 "
        "times whole processes, start-up included.",
        f"Fig. 1 baseline input: `labels` = `table['label'].to_numpy()` (dtype "
        f"{theirs['labels_dtype']}), `row_index = np.arange(n)`; both sides give every class "
        f"{min(ours['counts_before'].values()):,} rows, and balance_core picked the same rows "
        f"on every repeat. Peak RSS: balance_core process {ours['peak_mb']:.0f} MB, "
        f"imbalanced-learn process {theirs['peak_mb']:.0f} MB.",
        f"Medians instead of bests: {medians}; {first_calls}. CPU seconds per CLI "
        f"process (median): undersample {under_cpu:.2f}, analyze --json {analyze_cpu:.2f}.",
        f"Fig. 3 best single calls: {best_plans}.",
        f"1-minute load average before / after: {load} / {_common.load_average()}.",
    ]


def run_benchmark(rows: int, repeat: int, baseline_repeat: int, calls: int, out: Path) -> str:
    """Generate (or reuse) the input, measure the three figures, return the report."""
    path = dataset_csv(out, rows)
    _common.warm_page_cache(path)
    load = _common.load_average()
    plans = _figure_3(calls)
    ours, theirs = _figure_1(path, repeat, baseline_repeat)
    cli = _figure_2(path, repeat, out)
    table = _common.markdown_table(
        HEADERS, [row.cells() for row in _rows(ours, theirs, cli, plans)]
    )
    notes = _notes(path, rows, ours, theirs, cli, plans, repeat, baseline_repeat, load)
    return "\n".join([table, "", *(f"- {note}" for note in notes)]) + "\n"


def main(argv: Sequence[str] | None = None) -> str:
    """Parse ``argv``, run the benchmark, print the report and return it."""
    argv = list(sys.argv[1:] if argv is None else map(str, argv))
    if argv[:1] == ["--job"]:
        _run_job(argv[1:])
        return ""
    parser = argparse.ArgumentParser(
        description="Time undersampling, the CLI and plan previews against their baselines."
    )
    parser.add_argument("--rows", type=_common.positive, default=10_000_000, help="CSV rows")
    parser.add_argument("--repeat", type=_common.positive, default=5, help="runs of each side")
    parser.add_argument(
        "--baseline-repeat", type=_common.positive, default=None,
        help="runs of imbalanced-learn (default: --repeat, at most 3)",
    )  # fmt: skip
    parser.add_argument(
        "--calls", type=_common.positive, default=2000, help="calls per plan function"
    )
    parser.add_argument(
        "--out", type=Path, default=DEFAULT_OUT, help=f"input cache folder ({DEFAULT_OUT})"
    )
    args = parser.parse_args(argv)
    baseline_repeat = args.baseline_repeat or min(args.repeat, 3)
    report = run_benchmark(args.rows, args.repeat, baseline_repeat, args.calls, args.out)
    print(report, end="")
    (args.out / f"bench_balance_{args.rows}.md").write_text(report, encoding="utf-8")
    return report


if __name__ == "__main__":
    main()
