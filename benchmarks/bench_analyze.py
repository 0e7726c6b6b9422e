"""Benchmark ``balance_core`` on a big labels CSV against plain pyarrow doing the same work.

Run as ``python benchmarks/bench_analyze.py [--rows 10000000] [--repeat 3] [--out DIR]``.

The first run writes a ``path,label`` CSV with ``--rows`` distinct paths
(``img/00000000.jpg`` ...) and four imbalanced classes (shares 0.70 / 0.12 / 0.10 /
0.08), about 240 MB at 10 M rows, into ``--out`` (default: ``<tmp>/seesaw-bench``);
later runs reuse it. Every side of every figure then runs in its own fresh Python
process, so peak memory never mixes, ``--repeat`` times in rotating order, and one
Markdown table of ratios (balance_core / baseline) is printed:

1. counts and metrics: ``read_dataset`` + ``analyze(dataset, findings=False)`` vs
   ``pyarrow.csv.read_csv`` + ``pyarrow.compute.value_counts(table["label"])``;
2. every finding: ``read_dataset`` + ``analyze(dataset)`` vs the same baseline plus
   ``pyarrow.compute.count_distinct(table["path"])`` (the duplicate-path check);
3. both again through the real CLI (``python -m balance_core analyze FILE --json``
   with and without ``--no-findings``), timed as whole processes against the
   baselines run as whole processes, so interpreter start-up counts on both sides.

Figures 1 and 2 time the work inside the process (imports excluded); figure 3 times
the process from start to exit. Wall times are the best of ``--repeat`` runs, peak RSS
the median. Each run's results are checked against the baseline's before timing counts.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

try:  # imported as part of a package (``benchmarks.bench_analyze``)
    from . import _common
except ImportError:  # run as a script, or imported with benchmarks/ on sys.path
    import _common

__all__ = ["CLASSES", "expected_size", "main", "run_benchmark", "write_csv"]

CLASSES = _common.LABEL_SHARES
SEED = 20240601
DEFAULT_OUT = _common.DEFAULT_OUT
DUPLICATE_KINDS = {"duplicate_path", "conflicting_labels", "split_leakage"}
expected_size = _common.labels_csv_size

# --------------------------------------------------------------------------- input


def write_csv(path: str | os.PathLike, rows: int, *, seed: int = SEED) -> None:
    """Write this benchmark's labels CSV (see ``_common.write_labels_csv``)."""
    _common.write_labels_csv(path, rows, seed=seed)


def dataset_csv(out: Path, rows: int) -> Path:
    """The cached input ``out/labels_<rows>_v1.csv``."""
    return _common.cached_labels_csv(out, rows, stem="labels", seed=SEED)


# --------------------------------------------------------------------------- jobs

# Each job runs as ``python -c JOB FILE counts|full`` and prints one JSON line.
LIBRARY_JOB = """
import json, sys, time
from balance_core import analyze, read_dataset

path, full = sys.argv[1], sys.argv[2] == "full"
started = time.perf_counter()
dataset = read_dataset(path)
read = time.perf_counter()
result = analyze(dataset, findings=full)
done = time.perf_counter()
dist = result.distribution
print(json.dumps({
    "work": done - started,
    "read": read - started,
    "analyze": done - read,
    "rows": dist.n_rows,
    "counts": dist.counts,
    "findings": sorted(str(f.kind) for f in result.findings),
}))
"""

BASELINE_JOB = """
import json, sys, time
import pyarrow.compute as pc
import pyarrow.csv as pacsv

path, full = sys.argv[1], sys.argv[2] == "full"
started = time.perf_counter()
table = pacsv.read_csv(path)
counts = pc.value_counts(table["label"])
distinct_paths = pc.count_distinct(table["path"]).as_py() if full else None
done = time.perf_counter()
print(json.dumps({
    "work": done - started,
    "rows": table.num_rows,
    "counts": dict(zip(counts.field("values").to_pylist(), counts.field("counts").to_pylist())),
    "distinct_paths": distinct_paths,
}))
"""


@dataclass(frozen=True)
class Job:
    name: str
    argv: tuple[str, ...]
    full: bool
    kind: str  # "library", "baseline" or "cli"


def _jobs(path: Path) -> list[Job]:
    py, file = sys.executable, str(path)
    jobs = []
    for full, mode in ((False, "counts"), (True, "full")):
        jobs.append(Job(f"library-{mode}", (py, "-c", LIBRARY_JOB, file, mode), full, "library"))
        jobs.append(Job(f"baseline-{mode}", (py, "-c", BASELINE_JOB, file, mode), full, "baseline"))
        flags = ("--json",) if full else ("--json", "--no-findings")
        cli = (py, "-m", "balance_core", "analyze", file, *flags)
        jobs.append(Job(f"cli-{mode}", cli, full, "cli"))
    # Start-up alone, for the notes: the CLI doing nothing vs importing pyarrow.
    jobs.append(Job("cli-startup", (py, "-m", "balance_core", "--version"), False, "startup"))
    imports = "import json, sys, time; import pyarrow.compute, pyarrow.csv"
    jobs.append(Job("baseline-startup", (py, "-c", imports), False, "startup"))
    return jobs


def _check(job: Job, report: dict, baseline: dict) -> None:
    """Stop the benchmark if balance_core did not find what pyarrow found."""
    problems = []
    if report["rows"] != baseline["rows"]:
        problems.append(f"{report['rows']} rows, the baseline read {baseline['rows']}")
    if report["counts"] != dict(sorted(baseline["counts"].items())):
        problems.append(f"counts {report['counts']}, the baseline's {baseline['counts']}")
    if job.full:
        kinds = report["findings"]
        kinds = {k if isinstance(k, str) else k["kind"] for k in kinds}
        duplicated = baseline["distinct_paths"] < baseline["rows"]
        if bool(kinds & DUPLICATE_KINDS) != duplicated:
            problems.append(f"findings {sorted(kinds)} but {baseline['distinct_paths']} distinct")
    if problems:
        raise RuntimeError(f"{job.name} disagrees with pyarrow: {'; '.join(problems)}.")


@dataclass(frozen=True)
class Sample:
    wall: float  # the whole process
    peak_mb: float
    cpu: float  # the whole process, user + system, all threads
    work: float | None  # reported by the process itself (library and baseline jobs)
    read: float | None
    analyze: float | None


def _measure(jobs: Sequence[Job], repeat: int) -> dict[str, list[Sample]]:
    samples: dict[str, list[Sample]] = {job.name: [] for job in jobs}
    env = _common.child_env({"PYTHONDONTWRITEBYTECODE": "1"})
    for round_ in range(repeat):
        # Rotate the order so that no job always runs right after the same neighbour.
        shift = round_ % len(jobs)
        reports: dict[str, dict] = {}
        for job in [*jobs[shift:], *jobs[:shift]]:
            run = _common.run_measured(job.argv, cwd=_common.REPO_ROOT, env=env)
            report = json.loads(run.stdout) if job.kind != "startup" else {}
            reports[job.name] = report
            samples[job.name].append(
                Sample(
                    wall=run.wall,
                    peak_mb=run.peak_mb,
                    cpu=run.cpu,
                    work=report.get("work"),
                    read=report.get("read"),
                    analyze=report.get("analyze"),
                )
            )
        for job in jobs:
            if job.kind in ("library", "cli"):
                reference = "baseline-full" if job.full else "baseline-counts"
                _check(job, reports[job.name], reports[reference])
    return samples


# --------------------------------------------------------------------------- report


@dataclass(frozen=True)
class Row:
    figure: str
    what: str
    ours: float
    base: float
    unit: str
    target: float | None
    reference_only: bool = False

    @property
    def ratio(self) -> float:
        return self.ours / self.base

    def cells(self) -> list[str]:
        # Seconds to three significant figures, so a small --rows run never prints 0.00.
        spec = ".0f" if self.unit == "MB" else "#.3g"
        if self.target is None:
            target, met = "none set", "–"
        else:
            target = f"<= {self.target:.1f}x" + (" (as fig. 1/2)" if self.reference_only else "")
            met = "yes" if self.ratio <= self.target else "**no**"
        return [
            self.figure,
            f"{self.what}, {self.unit}",
            f"{self.ours:{spec}}",
            f"{self.base:{spec}}",
            f"{self.ratio:.2f}x",
            target,
            met,
        ]


HEADERS = ["Fig.", "Measure", "balance_core", "pyarrow baseline", "Ratio", "Target", "Met"]


def _rows(samples: dict[str, list[Sample]]) -> list[Row]:
    def wall(name: str, field: str = "work") -> float:
        return _common.best([getattr(s, field) for s in samples[name]])

    def peak(name: str) -> float:
        return _common.median([s.peak_mb for s in samples[name]])

    return [
        Row("1", "counts + metrics: wall", wall("library-counts"), wall("baseline-counts"),
            "s", 1.3),
        Row("1", "counts + metrics: peak RSS", peak("library-counts"), peak("baseline-counts"),
            "MB", 1.5),
        Row("2", "every finding: wall", wall("library-full"), wall("baseline-full"), "s", 1.0),
        Row("2", "every finding: peak RSS", peak("library-full"), peak("baseline-full"),
            "MB", None),
        Row("3", "CLI `--no-findings --json`: process wall", wall("cli-counts", "wall"),
            wall("baseline-counts", "wall"), "s", 1.3, reference_only=True),
        Row("3", "CLI `--json`: process wall", wall("cli-full", "wall"),
            wall("baseline-full", "wall"), "s", 1.0, reference_only=True),
        Row("3", "CLI `--no-findings --json`: peak RSS", peak("cli-counts"),
            peak("baseline-counts"), "MB", 1.5, reference_only=True),
        Row("3", "CLI `--json`: peak RSS", peak("cli-full"), peak("baseline-full"), "MB", None),
    ]  # fmt: skip


def _notes(
    samples: dict[str, list[Sample]], path: Path, rows: int, repeat: int, load: str
) -> list[str]:
    def split(name: str) -> str:
        fastest = min(samples[name], key=lambda s: s.work)
        return f"read {fastest.read:.2f} s + analyze {fastest.analyze:.2f} s"

    def median_ratio(ours: str, base: str, field: str) -> str:
        mine = _common.median([getattr(s, field) for s in samples[ours]])
        theirs = _common.median([getattr(s, field) for s in samples[base]])
        return f"{mine / theirs:.2f}x"

    def startup(name: str) -> str:
        wall = _common.best([s.wall for s in samples[name]])
        peak = _common.median([s.peak_mb for s in samples[name]])
        return f"{wall:.2f} s, {peak:.0f} MB"

    def cpu(name: str) -> str:
        return f"{_common.median([s.cpu for s in samples[name]]):.2f}"

    shares = " / ".join(f"{name} {share:.2f}" for name, share in CLASSES.items())
    return [
        f"Input: `{path.name}`, {rows:,} rows, {path.stat().st_size / 1e6:.0f} MB, "
        f"distinct paths, labels {shares}.",
        f"Machine: {_common.machine_info()}.",
        f"Statistic: wall = best of {repeat}, peak RSS = median of {repeat}; every side "
        "in its own fresh process. Fig. 1-2 time read + analyze inside the process "
        "(imports excluded); fig. 3 times the whole process, start-up included. "
        "MB = 10^6 bytes.",
        f"Medians instead of bests: fig. 1 wall "
        f"{median_ratio('library-counts', 'baseline-counts', 'work')}, fig. 2 wall "
        f"{median_ratio('library-full', 'baseline-full', 'work')}, fig. 3 walls "
        f"{median_ratio('cli-counts', 'baseline-counts', 'wall')} / "
        f"{median_ratio('cli-full', 'baseline-full', 'wall')}.",
        f"CPU seconds per process (user + system, median), balance_core CLI vs baseline: "
        f"fig. 3 counts {cpu('cli-counts')} vs {cpu('baseline-counts')} "
        f"({median_ratio('cli-counts', 'baseline-counts', 'cpu')}), every finding "
        f"{cpu('cli-full')} vs {cpu('baseline-full')} "
        f"({median_ratio('cli-full', 'baseline-full', 'cpu')}).",
        f"balance_core time split (fastest run): fig. 1 {split('library-counts')}; "
        f"fig. 2 {split('library-full')}. Start-up alone (best): "
        f"`python -m balance_core --version` {startup('cli-startup')} vs "
        f"importing pyarrow.csv + pyarrow.compute {startup('baseline-startup')}.",
        f"1-minute load average before / after: {load} / {_common.load_average()} "
        f"(other work on the machine makes walls noisy). Driver peak RSS "
        f"{_common.driver_peak_mb():.0f} MB (no child's peak can read lower than this).",
    ]


def run_benchmark(rows: int, repeat: int, out: Path) -> str:
    """Generate (or reuse) the input, run every job ``repeat`` times, return the report.

    Every sample is also saved to ``out/bench_analyze_<rows>.json``."""
    path = dataset_csv(out, rows)
    _common.warm_page_cache(path)
    load = _common.load_average()
    samples = _measure(_jobs(path), repeat)
    table = _common.markdown_table(HEADERS, [row.cells() for row in _rows(samples)])
    notes = _notes(samples, path, rows, repeat, load)
    raw = {name: [asdict(s) for s in runs] for name, runs in samples.items()}
    (out / f"bench_analyze_{rows}.json").write_text(json.dumps(raw, indent=1), encoding="utf-8")
    return "\n".join([table, "", *(f"- {note}" for note in notes)]) + "\n"


def main(argv: Sequence[str] | None = None) -> str:
    """Parse ``argv``, run the benchmark, print the report and return it."""
    parser = argparse.ArgumentParser(
        description="Time balance_core against pyarrow on a big labels CSV."
    )
    parser.add_argument("--rows", type=_common.positive, default=10_000_000, help="CSV rows")
    parser.add_argument("--repeat", type=_common.positive, default=3, help="runs of every job")
    parser.add_argument(
        "--out", type=Path, default=DEFAULT_OUT, help=f"input cache folder ({DEFAULT_OUT})"
    )
    args = parser.parse_args(None if argv is None else [str(a) for a in argv])
    report = run_benchmark(args.rows, args.repeat, args.out)
    print(report, end="")
    results = args.out / f"bench_analyze_{args.rows}.md"
    results.write_text(report, encoding="utf-8")
    return report


if __name__ == "__main__":
    main()
