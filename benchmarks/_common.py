"""Helpers shared by the benchmark scripts: measuring a command in a fresh process,
describing the machine, printing Markdown tables, and the labels CSV the table
benchmarks share.

Nothing heavy is imported here: the process that runs a benchmark must stay small,
because on Linux a child's peak RSS (``ru_maxrss``) starts from the parent's own
peak at the moment of the fork (the kernel carries the parent's high-water mark over
``exec``). :func:`driver_peak_mb` tells how high that floor is.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

__all__ = [
    "DEFAULT_OUT",
    "LABEL_SHARES",
    "REPO_ROOT",
    "Run",
    "best",
    "cached_labels_csv",
    "child_env",
    "driver_peak_mb",
    "labels_csv_bytes",
    "labels_csv_size",
    "load_average",
    "machine_info",
    "markdown_table",
    "median",
    "positive",
    "run_measured",
    "warm_page_cache",
    "write_labels_csv",
]

REPO_ROOT = Path(__file__).resolve().parent.parent
# ru_maxrss is in kibibytes on Linux and in bytes on macOS.
_MAXRSS_UNIT = 1 if sys.platform == "darwin" else 1024


@dataclass(frozen=True)
class Run:
    """One command run in its own process.

    Attributes
    ----------
    wall : float
        Seconds from just before the process was started until it was reaped,
        interpreter start-up and imports included.
    peak_mb : float
        The process's peak resident set size (``ru_maxrss`` from ``wait4``), in MB
        (10^6 bytes).
    cpu : float
        CPU seconds (user + system) the process used on all its threads; less
        sensitive than wall time to other work on the machine.
    stdout, stderr : str
        What the process printed.
    """

    wall: float
    peak_mb: float
    cpu: float
    stdout: str
    stderr: str
    status: int = 0


def child_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment for child processes: the repository importable, no bytecode
    writing, plus ``extra``."""
    env = dict(os.environ)
    paths = [str(REPO_ROOT), *filter(None, env.get("PYTHONPATH", "").split(os.pathsep))]
    env["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(paths))
    env.update(extra or {})
    return env


def run_measured(
    argv: Sequence[str],
    *,
    cwd: str | os.PathLike | None = None,
    env: Mapping[str, str] | None = None,
    statuses: Sequence[int] = (0,),
) -> Run:
    """Run ``argv`` in a fresh process; return its wall time, peak RSS and output.

    The peak comes from ``os.wait4`` on that one child, so runs never mix (unlike
    ``RUSAGE_CHILDREN``, which keeps the maximum over every child reaped so far).
    Raises ``RuntimeError`` with the child's stderr if it exits with a status not in
    ``statuses`` (default: only 0; the hostile benchmark expects 2 as well).
    """
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        process = subprocess.Popen(
            list(argv), stdout=out, stderr=err, cwd=cwd, env=dict(env) if env else None
        )
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout = out.read().decode("utf-8", errors="replace")
        stderr = err.read().decode("utf-8", errors="replace")
    if process.returncode not in statuses:
        raise RuntimeError(
            f"{' '.join(map(str, argv))!r} exited with status {process.returncode}:\n{stderr}"
        )
    return Run(
        wall=wall,
        peak_mb=usage.ru_maxrss * _MAXRSS_UNIT / 1e6,
        cpu=usage.ru_utime + usage.ru_stime,
        stdout=stdout,
        stderr=stderr,
        status=process.returncode,
    )


def driver_peak_mb() -> float:
    """Peak RSS of this process so far, in MB: the floor under every child's peak."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * _MAXRSS_UNIT / 1e6


def load_average() -> str:
    """The 1-minute load average, or "n/a" where the platform has none."""
    try:
        return f"{os.getloadavg()[0]:.1f}"
    except (AttributeError, OSError):
        return "n/a"


def best(values: Sequence[float]) -> float:
    """The smallest value: the run least disturbed by other work on the machine."""
    return min(values)


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def machine_info(packages: Sequence[str] = ("pyarrow", "polars", "numpy", "pandas")) -> str:
    """One line naming the machine and the versions that matter for the timings."""
    cores = os.cpu_count()
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        usable = cores
    memory = ""
    try:
        pages = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        memory = f", {pages / 1024**3:.0f} GiB RAM"
    except (ValueError, OSError, AttributeError):
        pass
    versions = ", ".join(f"{name} {_version(name)}" for name in packages)
    return (
        f"{platform.system()} {platform.machine()}, nproc {usable} (of {cores}){memory}; "
        f"Python {platform.python_version()}; {versions}"
    )


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A Markdown table with columns padded to line up in a terminal."""
    cells = [list(header), *[list(map(str, row)) for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]

    def line(row: Sequence[str]) -> str:
        padded = (cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        return "| " + " | ".join(padded) + " |"

    rule = "|" + "|".join("-" * (width + 2) for width in widths) + "|"
    return "\n".join([line(cells[0]), rule, *(line(row) for row in cells[1:])])


def positive(text: str) -> int:
    """argparse type: a whole number >= 1 (underscores allowed, as in 10_000_000)."""
    value = int(text.replace("_", ""))
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text!r}")
    return value


# --------------------------------------------------------------------------- the labels CSV
# The ``path,label`` file the table benchmarks read: all-distinct paths
# ``img/00000000.jpg`` ... and four imbalanced classes, all six letters long so that
# every line has the same width (24 bytes up to 100 M rows).

LABEL_SHARES = {"normal": 0.70, "benign": 0.12, "nodule": 0.10, "cancer": 0.08}
LABELS_HEADER = b"path,label\n"
LABELS_FORMAT_VERSION = 1
DEFAULT_OUT = Path(tempfile.gettempdir()) / "seesaw-bench"
_BLOCK_ROWS = 1_000_000


def _digits(rows: int) -> int:
    return max(8, len(str(max(rows - 1, 0))))


def labels_csv_size(rows: int) -> int:
    """Bytes of the labels CSV with ``rows`` rows: the header plus ``img/`` + digits +
    ``.jpg,`` + a six-letter label + newline per row."""
    return len(LABELS_HEADER) + rows * (len("img/") + _digits(rows) + len(".jpg,") + 6 + 1)


def _labels_csv_blocks(rows: int, seed: int) -> Iterator[bytes]:
    """The body a million lines at a time, built with numpy, labels drawn with
    :data:`LABEL_SHARES` from a generator seeded with ``seed`` (same bytes for the
    same arguments)."""
    import numpy as np

    digits = _digits(rows)
    width = (labels_csv_size(rows) - len(LABELS_HEADER)) // max(rows, 1)
    names = np.frombuffer("".join(LABEL_SHARES).encode(), dtype=np.uint8).reshape(-1, 6)
    shares = np.array(list(LABEL_SHARES.values()))
    rng = np.random.default_rng(seed)
    stem_end = 4 + digits
    for start in range(0, rows, _BLOCK_ROWS):
        n = min(_BLOCK_ROWS, rows - start)
        index = np.arange(start, start + n, dtype=np.int64)
        lines = np.empty((n, width), dtype=np.uint8)
        lines[:, :4] = np.frombuffer(b"img/", dtype=np.uint8)
        for place in range(digits):
            lines[:, stem_end - 1 - place] = ord("0") + (index // 10**place) % 10
        lines[:, stem_end : stem_end + 5] = np.frombuffer(b".jpg,", dtype=np.uint8)
        lines[:, stem_end + 5 : stem_end + 11] = names[rng.choice(len(names), n, p=shares)]
        lines[:, -1] = ord("\n")
        yield lines.tobytes()


def labels_csv_bytes(rows: int, *, seed: int) -> bytes:
    """The labels CSV in memory."""
    return LABELS_HEADER + b"".join(_labels_csv_blocks(rows, seed))


def write_labels_csv(path: str | os.PathLike, rows: int, *, seed: int) -> None:
    """Write the labels CSV a block at a time, under a temporary name renamed at the
    end, so an interrupted run never leaves a truncated input behind."""
    target = Path(path)
    partial = target.with_name(target.name + ".partial")
    with partial.open("wb") as handle:
        handle.write(LABELS_HEADER)
        for block in _labels_csv_blocks(rows, seed):
            handle.write(block)
    os.replace(partial, target)


def cached_labels_csv(out: Path, rows: int, *, stem: str, seed: int) -> Path:
    """``out/<stem>_<rows>_v1.csv``, written in a child process (numpy stays out of
    the driver, whose peak RSS is every child's floor) when missing or of the wrong
    size."""
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{stem}_{rows}_v{LABELS_FORMAT_VERSION}.csv"
    if not path.is_file() or path.stat().st_size != labels_csv_size(rows):
        code = (
            "import sys; sys.path.insert(0, sys.argv[1]); from _common import write_labels_csv; "
            "write_labels_csv(sys.argv[2], int(sys.argv[3]), seed=int(sys.argv[4]))"
        )
        here = str(Path(__file__).resolve().parent)
        run = run_measured([sys.executable, "-c", code, here, str(path), str(rows), str(seed)])
        print(f"wrote {path} ({rows:,} rows) in {run.wall:.1f} s", file=sys.stderr)
    return path


def warm_page_cache(path: Path) -> None:
    """Read the file once so that no side pays for the first read from disk."""
    buffer = bytearray(1 << 20)
    with path.open("rb", buffering=0) as handle:
        while handle.readinto(buffer):
            pass
