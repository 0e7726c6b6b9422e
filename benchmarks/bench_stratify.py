"""Benchmark stratified undersampling with many distinct stratum values (issue 16).

Run as ``python benchmarks/bench_stratify.py [--rows 100000,1000000,10000000]
[--repeat 3] [--reference-rows 100000]``.

For each size, a dataset is built in memory (no file read): four imbalanced classes
(shares 0.70 / 0.12 / 0.10 / 0.08, seeded) and a text column ``site`` with one distinct
value per 10 rows (rows // 10, shuffled with the same seed), so 1M rows have 100k
values. Timed, best of ``--repeat``:

- ``stratified``: ``resample(ds, plan_undersample(counts_for(ds)), seed=0,
  stratify="site")``, the work behind ``--stratify`` and the app's "Keep the mix of";
- ``plain``: the same without ``stratify`` (the named baseline: the ratio
  stratified / plain says what keeping the mix costs);
- ``before``: the per-stratum loop Seesaw used until this benchmark was written (one
  boolean pass over the class's rows per stratum, quadratic), at ``--reference-rows``
  only, with its rows checked equal to ``stratified``'s.

Targets: linear in rows, 10M within 12x of 1M. Every stratified run is checked (equal
class counts; the same rows on every repeat) before its time counts.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence

import numpy as np
import pyarrow as pa

try:  # imported as part of a package (``benchmarks.bench_stratify``)
    from . import _common
except ImportError:  # run as a script, or imported with benchmarks/ on sys.path
    import _common

from balance_core import ColumnRoles, Dataset, Source
from balance_core.apply import _allocate, _largest_remainder, counts_for, resample
from balance_core.plan import plan_undersample

__all__ = ["before_copies", "main", "make_dataset", "run_benchmark"]

SHARES = (0.70, 0.12, 0.10, 0.08)
ROWS_PER_VALUE = 10


def make_dataset(rows: int, *, seed: int = 0) -> Dataset:
    """``rows`` rows, four imbalanced classes, one ``site`` value per 10 rows."""
    rng = np.random.default_rng(seed)
    codes = rng.choice(len(SHARES), size=rows, p=SHARES)
    labels = pa.DictionaryArray.from_arrays(
        pa.array(codes.astype(np.int32)), pa.array([f"class_{i}" for i in range(len(SHARES))])
    ).cast(pa.string())
    site = rng.permutation(np.arange(rows) // ROWS_PER_VALUE)
    return Dataset(
        raw=pa.table({"label": labels, "site": pa.array(site.astype(str))}),
        roles=ColumnRoles(label="label"),
        source=Source(name="bench.csv", format="csv", size_bytes=0),
    )


def before_copies(ds: Dataset, seed: int = 0) -> np.ndarray:
    """Copies per row by the per-stratum loop used before (the quadratic reference)."""
    from balance_core.apply import _codes, _group_codes

    plan = plan_undersample(counts_for(ds))
    code = _codes(ds.labels.combine_chunks(), plan.labels)
    strata = _group_codes(ds.raw.column("site"))
    n_strata = int(strata.max()) + 1
    copies = np.zeros(ds.n_rows, dtype=np.int64)
    for class_index, label in enumerate(plan.labels):
        members = np.flatnonzero(code == class_index)
        cell_of = strata[members]
        sizes = np.bincount(cell_of, minlength=n_strata)
        shares = _largest_remainder(sizes, plan.after[label], seed, stream=class_index)
        for stratum in np.flatnonzero(sizes):
            inside = cell_of == stratum
            copies[members[inside]] = _allocate(
                members[inside], None, int(shares[stratum]), seed,
                stream=(class_index + 1) * 1_000_003 + int(stratum),
            )  # fmt: skip
    return copies


def _timed(function, repeat: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - start)
    return min(times), result


def run_benchmark(
    sizes: Sequence[int], *, repeat: int = 3, reference_rows: int = 100_000
) -> list[dict]:
    """One result per size: seconds stratified, plain, and (at ``reference_rows``) before."""
    results = []
    for rows in sizes:
        ds = make_dataset(rows)
        plan = plan_undersample(counts_for(ds))
        kept = []

        def stratified(ds=ds, plan=plan, kept=kept):
            out = resample(ds, plan, seed=0, stratify="site")
            if out.counts() != plan.after:
                raise AssertionError("stratified undersampling missed the plan's counts")
            kept.append(out.manifest["row"].to_numpy())
            return out

        seconds, _ = _timed(stratified, repeat)
        if any(not np.array_equal(kept[0], other) for other in kept[1:]):
            raise AssertionError("stratified undersampling chose other rows on a repeat")
        plain, _ = _timed(lambda ds=ds, plan=plan: resample(ds, plan, seed=0), repeat)
        before = None
        if rows == reference_rows:
            before, copies = _timed(lambda ds=ds: before_copies(ds), 1)
            if not np.array_equal(np.flatnonzero(copies), kept[0]):
                raise AssertionError("the vectorised strata chose other rows than the loop")
        results.append(
            {"rows": rows, "values": rows // ROWS_PER_VALUE, "stratified": seconds,
             "plain": plain, "before": before}
        )  # fmt: skip
    return results


def _before(result: dict) -> str:
    if result["before"] is None:
        return "-"
    return f"{result['before']:.2f} ({result['before'] / result['stratified']:.0f}x slower)"


def _table(results: list[dict]) -> str:
    base = next((r for r in results if r["rows"] == 1_000_000), results[0])
    rows = []
    for r in results:
        rows.append(
            [
                f"{r['rows']:,}",
                f"{r['values']:,}",
                f"{r['stratified']:.3f}",
                f"{r['plain']:.3f}",
                f"{r['stratified'] / r['plain']:.1f}x",
                f"{r['stratified'] / base['stratified']:.2f}x",
                _before(r),
            ]
        )  # fmt: skip
    header = [
        "rows", "site values", "stratified (s)", "plain (s)", "stratified / plain",
        f"vs {base['rows']:,} rows", "before (s)",
    ]  # fmt: skip
    return _common.markdown_table(header, rows)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", default="100000,1000000,10000000")
    parser.add_argument("--repeat", type=_common.positive, default=3)
    parser.add_argument("--reference-rows", type=int, default=100_000)
    args = parser.parse_args(argv)
    sizes = [int(x) for x in args.rows.split(",")]
    results = run_benchmark(sizes, repeat=args.repeat, reference_rows=args.reference_rows)
    print(_common.machine_info())
    print(f"load average: {_common.load_average()}\n")
    print(_table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
