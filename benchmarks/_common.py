"""Helpers shared by the benchmark scripts: measuring a command in a fresh process,
describing the machine and printing Markdown tables.

Nothing heavy is imported here: the process that runs a benchmark must stay small,
because on Linux a child's peak RSS (``ru_maxrss``) starts from the parent's own
peak at the moment of the fork (the kernel carries the parent's high-water mark over
``exec``). :func:`driver_peak_mb` tells how high that floor is.
"""

from __future__ import annotations

import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

__all__ = [
    "REPO_ROOT",
    "Run",
    "best",
    "child_env",
    "driver_peak_mb",
    "load_average",
    "machine_info",
    "markdown_table",
    "median",
    "run_measured",
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
) -> Run:
    """Run ``argv`` in a fresh process; return its wall time, peak RSS and output.

    The peak comes from ``os.wait4`` on that one child, so runs never mix (unlike
    ``RUSAGE_CHILDREN``, which keeps the maximum over every child reaped so far).
    Raises ``RuntimeError`` with the child's stderr if it exits with a non-zero status.
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
    if process.returncode != 0:
        raise RuntimeError(
            f"{' '.join(map(str, argv))!r} exited with status {process.returncode}:\n{stderr}"
        )
    return Run(
        wall=wall,
        peak_mb=usage.ru_maxrss * _MAXRSS_UNIT / 1e6,
        cpu=usage.ru_utime + usage.ru_stime,
        stdout=stdout,
        stderr=stderr,
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
