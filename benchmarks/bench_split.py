"""Benchmark a group-aware stratified split against scikit-learn's StratifiedGroupKFold.

Run as ``python benchmarks/bench_split.py [--rows 10000000] [--groups 100000]
[--repeat 3] [--baseline-repeat 1] [--out DIR]``.

Both sides get the same data, made in memory from a seeded generator (not timed):
``--rows`` rows in ``--groups`` patients, four classes with shares 0.70 / 0.12 /
0.10 / 0.08, each patient's rows mostly (80 %) of the patient's own class.

1. balance_core: ``split_dataset(ds, SplitParams(proportions={"train": 0.8, "test":
   0.2}))`` on a Dataset over a pyarrow table of the label and patient columns
   (strings): everything from the string columns to a split per row.
2. scikit-learn: ``next(StratifiedGroupKFold(5).split(X, y, groups))``, the first of
   five folds (a 20 % test split), on the same labels and patients as numpy arrays of
   strings (as ``DataFrame[col].to_numpy()`` gives them), and once more on integer codes
   (its fastest input).

Target: balance_core at most 0.2x scikit-learn's time. Every side runs in its own
fresh process; wall times are the best of ``--repeat`` (``--baseline-repeat`` for
scikit-learn). Before a time counts, each side's split must keep every patient in one
split, and the per-class share gaps of both are reported.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path

try:  # imported as part of a package (``benchmarks.bench_split``)
    from . import _common
except ImportError:  # run as a script, or imported with benchmarks/ on sys.path
    import _common

__all__ = ["CLASSES", "main", "make_data", "run_side"]

CLASSES = _common.LABEL_SHARES
SIDES = ("balance_core", "sklearn_strings", "sklearn_codes")
TARGET = 0.2


def make_data(rows: int, groups: int, *, seed: int = 0):
    """Labels and patients as numpy string arrays, and the label codes and group ids."""
    import numpy as np

    rng = np.random.default_rng(seed)
    names = np.array(list(CLASSES))
    shares = np.array(list(CLASSES.values()))
    group = rng.integers(0, groups, rows)
    own = rng.choice(len(names), groups, p=shares)
    code = np.where(rng.random(rows) < 0.8, own[group], rng.choice(len(names), rows, p=shares))
    patients = np.char.add("patient_", np.char.zfill(np.arange(groups).astype(str), 6))
    return names[code], patients[group], code, group


def _share_gap(assignment, code) -> float:
    import numpy as np

    worst = 0.0
    for c in np.unique(code):
        share = float(np.mean(assignment[code == c] == 1))
        worst = max(worst, abs(share - 0.2))
    return worst


def run_side(side: str, rows: int, groups: int) -> dict:
    """Time one side in this process; returns seconds and checks of its output."""
    import numpy as np

    labels, patients, code, group = make_data(rows, groups)
    if side == "balance_core":
        import pyarrow as pa

        from balance_core.dataset import ColumnRoles, Dataset, Source
        from balance_core.splits import SplitParams, split_dataset

        table = pa.table({"label": pa.array(labels), "patient": pa.array(patients)})
        dataset = Dataset(
            raw=table,
            roles=ColumnRoles(label="label", group="patient"),
            source=Source(name="bench", format="csv", size_bytes=0),
        )
        del table
        started = time.perf_counter()
        result = split_dataset(dataset, SplitParams(proportions={"train": 0.8, "test": 0.2}))
        seconds = time.perf_counter() - started
        assignment = np.asarray(result.assignment, dtype=np.int64)
    else:
        from sklearn.model_selection import StratifiedGroupKFold

        y, g = (labels, patients) if side == "sklearn_strings" else (code, group)
        started = time.perf_counter()
        _, test = next(StratifiedGroupKFold(n_splits=5).split(np.zeros(rows), y, g))
        seconds = time.perf_counter() - started
        assignment = np.zeros(rows, dtype=np.int64)
        assignment[test] = 1
    per_group = np.zeros(groups, dtype=np.int64)
    np.maximum.at(per_group, group, assignment + 1)
    first = np.full(groups, 3, dtype=np.int64)
    np.minimum.at(first, group, assignment + 1)
    leaking = int(np.count_nonzero(per_group != first))
    return {
        "seconds": seconds,
        "leaking_groups": leaking,
        "test_share": float(np.mean(assignment == 1)),
        "max_share_gap": _share_gap(assignment, code),
    }


def _child(side: str, rows: int, groups: int) -> dict:
    code = (
        "import json, sys; sys.path.insert(0, sys.argv[1]); import bench_split; "
        "print(json.dumps(bench_split.run_side(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))))"
    )
    here = str(Path(__file__).resolve().parent)
    run = _common.run_measured(
        [sys.executable, "-c", code, here, side, str(rows), str(groups)], env=_common.child_env()
    )
    measured = json.loads(run.stdout.strip().splitlines()[-1])
    measured["peak_mb"] = run.peak_mb
    if measured["leaking_groups"]:
        raise RuntimeError(f"{side} put {measured['leaking_groups']} group(s) in two splits")
    return measured


def main(argv: Sequence[str] | None = None) -> str:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=_common.positive, default=10_000_000)
    parser.add_argument("--groups", type=_common.positive, default=100_000)
    parser.add_argument("--repeat", type=_common.positive, default=3)
    parser.add_argument("--baseline-repeat", type=_common.positive, default=1)
    parser.add_argument("--out", type=Path, default=_common.DEFAULT_OUT)
    args = parser.parse_args(argv)
    load_before = _common.load_average()
    samples: dict[str, list[dict]] = {side: [] for side in SIDES}
    for round_number in range(max(args.repeat, args.baseline_repeat)):
        for side in SIDES:
            wanted = args.repeat if side == "balance_core" else args.baseline_repeat
            if round_number < wanted:
                samples[side].append(_child(side, args.rows, args.groups))
    best = {side: _common.best([s["seconds"] for s in runs]) for side, runs in samples.items()}
    ours = best["balance_core"]
    rows = []
    for side, title in (("sklearn_strings", "string columns"), ("sklearn_codes", "integer codes")):
        ratio = ours / best[side]
        rows.append(
            [
                "1",
                f"split vs StratifiedGroupKFold, {title}: wall, s",
                f"{ours:.3f}",
                f"{best[side]:.3f}",
                f"{ratio:.2f}x",
                f"<= {TARGET}x",
                "yes" if ratio <= TARGET else "**no**",
            ]
        )
    table = _common.markdown_table(
        ["Fig.", "Measure", "balance_core", "scikit-learn baseline", "Ratio", "Target", "Met"],
        rows,
    )
    gap = {side: runs[0]["max_share_gap"] for side, runs in samples.items()}
    notes = [
        f"- Input: {args.rows:,} rows in {args.groups:,} groups, classes "
        + " / ".join(f"{k} {v:.2f}" for k, v in CLASSES.items())
        + ", 80 % of a group's rows of its own class; split 80 / 20 (StratifiedGroupKFold: "
        "the first of 5 folds).",
        f"- Machine: {_common.machine_info(('numpy', 'pyarrow', 'scikit-learn'))}; 1-minute "
        f"load {load_before} before, {_common.load_average()} after.",
        f"- Statistic: best of {args.repeat} (balance_core) and of {args.baseline_repeat} "
        "(scikit-learn), each run in its own fresh process; data generation not timed.",
        "- No group in two splits on any side. Largest per-class share gap from 20 %: "
        + ", ".join(f"{side} {value:.4f}" for side, value in gap.items())
        + ".",
        "- Peak RSS (median), MB: "
        + ", ".join(
            f"{side} {_common.median([s['peak_mb'] for s in runs]):.0f}"
            for side, runs in samples.items()
        )
        + ".",
    ]
    report = table + "\n\n" + "\n".join(notes) + "\n"
    print(report, end="")
    args.out.mkdir(parents=True, exist_ok=True)
    stem = f"bench_split_{args.rows}_{args.groups}"
    (args.out / f"{stem}.md").write_text(report, encoding="utf-8")
    (args.out / f"{stem}.json").write_text(json.dumps(samples, indent=2), encoding="utf-8")
    return report


if __name__ == "__main__":
    main()
