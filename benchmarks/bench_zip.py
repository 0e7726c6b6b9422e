"""Benchmark the zip reader against plain ``zipfile`` loops.

Run as ``python benchmarks/bench_zip.py [--entries 200000]``. The first run builds a
zip of small, distinct, real images in a ``train|test/<class>/...`` layout with an
imbalanced class mix (cached in the temp folder); every run then times, in one
process, the reader against the baselines and prints a Markdown table.
"""

from __future__ import annotations

import argparse
import io
import os
import random
import sys
import tempfile
import time
import zipfile
from collections import Counter
from pathlib import Path

from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from balance_core.readers.zipped import read_zip

CLASSES = {"normal": 0.55, "benign": 0.20, "nodule": 0.12, "cancer": 0.09, "artifact": 0.04}
SPLITS = {"train": 0.8, "test": 0.2}
FORMAT_VERSION = 2


def build_zip(path: Path, n_entries: int) -> None:
    """Write ``n_entries`` distinct 8x8 PNG/JPEG images (every file's bytes differ)."""
    rng = random.Random(20240601)
    classes, weights = zip(*CLASSES.items(), strict=True)
    base = Image.new("RGB", (8, 8), (40, 90, 160))
    partial = path.with_suffix(".partial")
    with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for index in range(n_entries):
            label = rng.choices(classes, weights)[0]
            split = "train" if rng.random() < SPLITS["train"] else "test"
            image = base.copy()
            # Encode the index in three pixels so that every file is distinct.
            image.putpixel((0, 0), (index & 255, (index >> 8) & 255, (index >> 16) & 255))
            image.putpixel((7, 7), (rng.randrange(256), 0, 0))
            buffer = io.BytesIO()
            fmt = "JPEG" if index % 4 == 0 else "PNG"
            if fmt == "JPEG":
                # JPEG quantisation can erase a one-pixel difference; a comment cannot.
                image.save(buffer, fmt, quality=90, comment=f"seesaw {index}".encode())
            else:
                image.save(buffer, fmt)
            suffix = "jpg" if fmt == "JPEG" else "png"
            info = zipfile.ZipInfo(f"{split}/{label}/{label}_{index:07d}.{suffix}")
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, buffer.getvalue())
    os.replace(partial, path)


def dataset_zip(n_entries: int, cache: Path | None = None) -> Path:
    """The benchmark zip, built on first use and kept in ``cache`` (default: the
    temp folder) for later runs."""
    folder = cache or Path(tempfile.gettempdir()) / "seesaw-bench"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"zip_{n_entries}_v{FORMAT_VERSION}.zip"
    if not path.exists():
        started = time.perf_counter()
        build_zip(path, n_entries)
        print(f"built {path} in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    return path


def baseline_counts(path: Path) -> Counter:
    """What a user would write: list the entries, count the class folder names."""
    infos = zipfile.ZipFile(path).infolist()
    return Counter(info.filename.split("/")[1] for info in infos if not info.is_dir())


def baseline_probe(path: Path) -> int:
    """Plain single-threaded header probe through zipfile."""
    opened = 0
    with zipfile.ZipFile(path) as archive:
        for info in archive.infolist():
            with archive.open(info) as handle:
                image = Image.open(handle)
                image.size  # noqa: B018
                opened += 1
    return opened


def timed(function, *args, **kwargs):
    started = time.perf_counter()
    result = function(*args, **kwargs)
    return time.perf_counter() - started, result


def main(argv: list[str] | None = None) -> str:
    """Run the benchmark and return (and print) the Markdown report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=200_000, help="images in the zip")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each; the best counts")
    parser.add_argument("--cache-dir", type=Path, default=None, help="where the zip is kept")
    parser.add_argument(
        "--skip-probe-baseline",
        action="store_true",
        help="skip the slow zipfile probe loop (the table then lacks its ratio)",
    )
    args = parser.parse_args(argv)
    path = dataset_zip(args.entries, args.cache_dir)
    path.read_bytes()  # warm the page cache so that every run reads from memory
    load_before = os.getloadavg()
    runs: dict[str, list[float]] = {
        "base_counts": [],
        "none": [],
        "all": [],
        "all_one_process": [],
        "base_probe": [],
    }
    for _ in range(args.repeat):
        # Interleaved, so that a noisy neighbour slows both sides alike.
        elapsed, counts = timed(baseline_counts, path)
        runs["base_counts"].append(elapsed)
        elapsed, dataset = timed(read_zip, path, probe="none")
        runs["none"].append(elapsed)
        assert Counter(dataset.raw.column("label").to_pylist()) == counts
        elapsed, dataset = timed(read_zip, path, probe="all")
        runs["all"].append(elapsed)
        assert dataset.raw.column("width").null_count == 0
        elapsed, _ = timed(read_zip, path, probe="all", n_jobs=1)
        runs["all_one_process"].append(elapsed)
        if not args.skip_probe_baseline:
            elapsed, opened = timed(baseline_probe, path)
            runs["base_probe"].append(elapsed)
            assert opened == args.entries
    best = {key: min(values) if values else float("nan") for key, values in runs.items()}
    rows = [
        (
            "1. class counts: `read_zip(probe='none')` vs `ZipFile(path).infolist()` + Counter",
            best["base_counts"],
            best["none"],
            "<= 1.3x",
            1.3,
        ),
        (
            "2. header probe of every image: `read_zip(probe='all')` minus `probe='none'` vs "
            "a single-threaded `zf.open` + `Image.open` loop",
            best["base_probe"],
            best["all"] - best["none"],
            "<= 0.5x",
            0.5,
        ),
        (
            "(info) the same probe in one process: `read_zip(probe='all', n_jobs=1)` minus "
            "`probe='none'`",
            best["base_probe"],
            best["all_one_process"] - best["none"],
            "-",
            None,
        ),
    ]
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    lines = [
        f"{args.entries:,} images, {path.stat().st_size / 1e6:.1f} MB zip, {cores} cores, "
        f"best of {args.repeat} interleaved runs; load average {load_before[0]:.2f} before, "
        f"{os.getloadavg()[0]:.2f} after",
        "",
        "| task | baseline (s) | Seesaw (s) | ratio | target | met |",
        "| --- | ---: | ---: | ---: | ---: | --- |",
    ]
    for task, baseline, ours, target, limit in rows:
        ratio = ours / baseline
        if limit is None:
            met = "-"
        elif ratio != ratio:  # NaN: the baseline was skipped
            met = "not measured"
        else:
            met = "yes" if ratio <= limit else "no"
        lines.append(f"| {task} | {baseline:.2f} | {ours:.2f} | {ratio:.2f}x | {target} | {met} |")
    lines += ["", "all runs (s): " + "; ".join(
        f"{key} {', '.join(f'{v:.2f}' for v in values)}" for key, values in runs.items() if values
    )]  # fmt: skip
    report = "\n".join(lines)
    print(report)
    return report


if __name__ == "__main__":
    main()
