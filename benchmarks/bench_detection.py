"""Benchmark the detection engine against the baselines named in issue 12.

Run as ``python benchmarks/bench_detection.py [--annotations 1000000]
[--label-files 100000] [--classes 1000]``. It prints a Markdown table:

1. A COCO instances JSON with ``--annotations`` boxes: :func:`read_detection` plus
   :func:`summarize_detection` (boxes, images, area per class) against
   pycocotools' ``COCO()`` load plus ``getAnnIds(catIds=[c])`` and
   ``getImgIds(catIds=[c])`` for every category; each side in a fresh process
   (wall time with imports, CPU time, peak RSS). Target: ratio <= 1.
2. A zip of ``--label-files`` YOLO label files (Roboflow layout, a ``data.yaml``):
   the reader plus the summary against reading every entry with ``zipfile`` and
   counting first tokens; in this process, best of ``--repeat``. Target <= 1.2.
3. The repeat-factor preview (:func:`plan_repeat_factor`: factors, exact seeded
   copies, images and boxes per class after) for ``--classes`` classes on a
   prepared :class:`SampleLabels`, best of 50. Target: under 5 ms.

Inputs are generated deterministically and cached in ``--out``.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
import zipfile
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _common import (
    REPO_ROOT,
    best,
    child_env,
    load_average,
    machine_info,
    markdown_table,
    positive,
    run_measured,
)

FORMAT_VERSION = 1
COCO_CATEGORIES = 80

OURS_COCO = """
import sys
from balance_core.readers.detection import read_detection
from balance_core.detection import summarize_detection
summary = summarize_detection(read_detection(sys.argv[1]))
print(sum(summary.boxes.values()), sum(summary.images.values()))
"""
PYCOCOTOOLS = """
import contextlib, io, sys
from pycocotools.coco import COCO
with contextlib.redirect_stdout(io.StringIO()):
    coco = COCO(sys.argv[1])
boxes = images = 0
for c in coco.getCatIds():
    boxes += len(coco.getAnnIds(catIds=[c]))
    images += len(coco.getImgIds(catIds=[c]))
print(boxes, images)
"""


def build_coco(path: Path, n_annotations: int) -> None:
    """A COCO file shaped like COCO itself: 80 categories with a skewed mix, about
    7 boxes per image, polygons, keys in COCO's order (images before annotations,
    categories last)."""
    rng = random.Random(20241202)
    n_images = max(1, n_annotations // 7)
    partial = path.with_suffix(".partial")
    with partial.open("w") as out:
        out.write('{"info": {"description": "seesaw benchmark"}, "licenses": [], "images": [')
        out.write(
            ",".join(
                f'{{"id": {i + 1}, "file_name": "{i + 1:012d}.jpg", "width": 640, "height": 480}}'
                for i in range(n_images)
            )
        )
        out.write('], "annotations": [')
        for start in range(0, n_annotations, 100_000):
            parts = []
            for a in range(start, min(n_annotations, start + 100_000)):
                x, y = rng.uniform(0, 500), rng.uniform(0, 400)
                w, h = rng.uniform(1, 140), rng.uniform(1, 80)
                category = 1 + int(COCO_CATEGORIES * rng.random() ** 2)
                parts.append(
                    f'{{"segmentation": [[{x:.2f}, {y:.2f}, {x + w:.2f}, {y:.2f}, '
                    f'{x + w:.2f}, {y + h:.2f}]], "area": {w * h:.2f}, "iscrowd": 0, '
                    f'"image_id": {rng.randrange(1, n_images + 1)}, "bbox": [{x:.2f}, '
                    f'{y:.2f}, {w:.2f}, {h:.2f}], "category_id": {category}, "id": {a + 1}}}'
                )
            out.write(("," if start else "") + ",".join(parts))
        out.write('], "categories": [')
        out.write(
            ",".join(
                f'{{"supercategory": "thing", "id": {c}, "name": "class_{c}"}}'
                for c in range(1, COCO_CATEGORIES + 1)
            )
        )
        out.write("]}")
    os.replace(partial, path)


def build_yolo_zip(path: Path, n_files: int) -> None:
    """``train/labels/*.txt`` and ``valid/labels/*.txt`` with 1-8 boxes each and a
    ``data.yaml`` naming 20 classes (label files only, as a labels export)."""
    rng = random.Random(20241203)
    partial = path.with_suffix(".partial")
    names = [f"class_{k}" for k in range(20)]
    with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("data.yaml", "nc: 20\nnames: [" + ", ".join(names) + "]\n")
        for index in range(n_files):
            split = "valid" if index % 10 == 0 else "train"
            lines = [
                f"{int(20 * rng.random() ** 2)} {rng.random():.6f} {rng.random():.6f} "
                f"{rng.random() / 4:.6f} {rng.random() / 4:.6f}"
                for _ in range(rng.randint(1, 8))
            ]
            archive.writestr(f"{split}/labels/{index:07d}.txt", "\n".join(lines) + "\n")
    os.replace(partial, path)


def _cached(out: Path, stem: str, size: int, build) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{stem}_{size}_v{FORMAT_VERSION}{'.zip' if 'yolo' in stem else '.json'}"
    if not path.exists():
        build(path, size)
    return path


def zipfile_first_tokens(path: Path) -> Counter:
    """The baseline: every label file read with zipfile, first tokens counted."""
    counts: Counter = Counter()
    with zipfile.ZipFile(path) as archive:
        for info in archive.infolist():
            if info.filename.endswith(".txt"):
                for line in archive.read(info).decode().splitlines():
                    if line.strip():
                        counts[line.split(None, 1)[0]] += 1
    return counts


def _timed(function, repeat: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - started)
    return best(times), result


def repeat_factor_preview(n_classes: int, n_images: int) -> tuple[float, float]:
    """Best and median time of one preview on ``n_classes`` Zipf-distributed classes."""
    import numpy as np
    import pyarrow as pa

    from balance_core.dataset import Annotations, ColumnRoles, Dataset, Source
    from balance_core.sample_plans import plan_repeat_factor, sample_labels

    rng = np.random.default_rng(7)
    per_image = rng.integers(1, 6, n_images)
    sample = np.repeat(np.arange(n_images), per_image)
    weights = 1.0 / np.arange(1, n_classes + 1)
    index = rng.choice(n_classes, size=len(sample), p=weights / weights.sum()).astype(np.int32)
    classes = tuple(f"c{k:04d}" for k in range(n_classes))
    table = pa.table(
        {
            "sample": pa.array(sample, pa.int64()),
            "class_index": pa.array(index),
            "label": pa.array(np.array(classes)[index]),
        }
    )
    raw = pa.table({"path": [f"{i}.jpg" for i in range(n_images)], "label_set": ["x"] * n_images})
    dataset = Dataset(
        raw=raw,
        roles=ColumnRoles(label="label_set", path="path"),
        source=Source(name="bench", format="coco", size_bytes=0),
        annotations=Annotations(kind="multilabel", table=table, classes=classes),
    )
    labels = sample_labels(dataset)
    plan_repeat_factor(labels, threshold=0.01)  # ranks for the seed, made once
    times = []
    for k in range(50):
        started = time.perf_counter()
        plan_repeat_factor(labels, threshold=0.001 + k * 0.002)
        times.append(time.perf_counter() - started)
    times.sort()
    return times[0], times[len(times) // 2]


def main(argv: list[str] | None = None) -> str:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--annotations", type=positive, default=1_000_000)
    parser.add_argument("--label-files", type=positive, default=100_000)
    parser.add_argument("--classes", type=positive, default=1000)
    parser.add_argument("--images", type=positive, default=50_000)
    parser.add_argument("--repeat", type=positive, default=3)
    parser.add_argument(
        "--out", type=Path, default=Path(tempfile.gettempdir()) / "seesaw-bench-detection"
    )
    args = parser.parse_args(argv)
    rows = []
    coco = _cached(args.out, "coco", args.annotations, build_coco)
    env = child_env()
    runs = {}
    for side, code in (("ours", OURS_COCO), ("pycocotools", PYCOCOTOOLS)):
        measured = [
            run_measured([sys.executable, "-c", code, str(coco)], cwd=REPO_ROOT, env=env)
            for _ in range(args.repeat)
        ]
        runs[side] = measured
    if runs["ours"][0].stdout != runs["pycocotools"][0].stdout:
        raise RuntimeError(
            f"The counts differ: ours {runs['ours'][0].stdout!r}, "
            f"pycocotools {runs['pycocotools'][0].stdout!r}"
        )
    for what, key in (("wall, s", "wall"), ("CPU, s", "cpu"), ("peak RSS, MB", "peak_mb")):
        ours = best([getattr(r, key) for r in runs["ours"]])
        theirs = best([getattr(r, key) for r in runs["pycocotools"]])
        rows.append(
            [
                "1",
                f"COCO {args.annotations:,} boxes, counts per class: {what}",
                f"{ours:.2f}" if key != "peak_mb" else f"{ours:.0f}",
                f"{theirs:.2f}" if key != "peak_mb" else f"{theirs:.0f}",
                f"{ours / theirs:.2f}",
            ]
        )

    from balance_core.detection import summarize_detection
    from balance_core.readers.detection import read_detection

    yolo = _cached(args.out, "yolo", args.label_files, build_yolo_zip)
    ours_time, summary = _timed(
        lambda: summarize_detection(read_detection(yolo, probe="none")), args.repeat
    )
    base_time, counts = _timed(lambda: zipfile_first_tokens(yolo), args.repeat)
    by_index = {f"class_{k}": counts.get(str(k), 0) for k in range(20)}
    if summary.boxes != by_index:
        raise RuntimeError("The YOLO box counts differ from the zipfile baseline.")
    rows.append(
        [
            "2",
            f"YOLO zip of {args.label_files:,} label files: wall, s",
            f"{ours_time:.2f}",
            f"{base_time:.2f}",
            f"{ours_time / base_time:.2f}",
        ]
    )
    fastest, typical = repeat_factor_preview(args.classes, args.images)
    rows.append(
        [
            "3",
            f"repeat-factor preview, {args.classes:,} classes, {args.images:,} images: ms "
            "(best / median)",
            f"{fastest * 1e3:.2f} / {typical * 1e3:.2f}",
            "target 5",
            f"{typical * 1e3 / 5:.2f}",
        ]
    )
    report = (
        f"{machine_info(('pyarrow', 'numpy', 'ijson', 'pycocotools'))}; load {load_average()}\n\n"
        + markdown_table(["Fig.", "Measure", "balance_core", "baseline", "Ratio"], rows)
        + "\n"
    )
    print(report, end="")
    return report


if __name__ == "__main__":
    main()
