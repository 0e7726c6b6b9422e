"""What read_dataset's recognition of detection and multi-label data costs.

``read_dataset`` looks at the content before it reads: a zip's entry names for
annotation files, a table's label column and indicator columns for several labels
per row. This measures that look against calling the reader that would have read
the input anyway:

1. a zip of N class folders: ``read_dataset`` against ``read_zip`` (target <= 1.2x);
2. a single-label CSV of M rows: ``read_dataset`` against ``read_table`` (<= 1.2x);
3. an NIH-style multi-label CSV: ``read_dataset`` (sniffed) against ``read_table`` +
   ``read_multilabel_table(sep="|")`` (told the separator);
4. a COCO zip: ``read_dataset`` against ``read_detection``.

CPU seconds of this process (best of ``--repeat``, the two sides in turns), less
sensitive than wall time to the other work on a shared machine; each pair checks
both sides read the same dataset.

    python benchmarks/bench_read_dataset.py [--zip-entries 100000] [--rows 1000000]
"""

from __future__ import annotations

import argparse
import io
import time
import zipfile

from _common import load_average, machine_info, markdown_table, positive


def _cpu(ours, theirs, repeat: int):
    """Best CPU time of each side over ``repeat`` rounds, taken in turns so that a
    burst of other work on the machine falls on both."""
    times: tuple[list[float], list[float]] = ([], [])
    results = [None, None]
    for _ in range(repeat):
        for side, function in enumerate((ours, theirs)):
            start = time.process_time()
            results[side] = function()
            times[side].append(time.process_time() - start)
    return min(times[0]), min(times[1]), results[0], results[1]


def class_folder_zip(n: int) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        for i in range(n):
            archive.writestr(
                f"data/{('cat', 'dog', 'fox')[i % 3 if i % 11 else 2]}/{i:07d}.png", b"x"
            )
    return buffer.getvalue()


def main(argv: list[str] | None = None) -> str:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--zip-entries", type=positive, default=100_000)
    parser.add_argument("--rows", type=positive, default=1_000_000)
    parser.add_argument("--multilabel-rows", type=positive, default=100_000)
    parser.add_argument("--coco-images", type=positive, default=2_000)
    parser.add_argument("--repeat", type=positive, default=5)
    args = parser.parse_args(argv)

    from _common import labels_csv_bytes

    import balance_core as bc
    from balance_core.detection_examples import chest_xray_table, road_objects
    from balance_core.readers.detection import read_detection
    from balance_core.readers.multilabel import read_multilabel_table

    cases = []
    archive = class_folder_zip(args.zip_entries)
    cases.append((
        f"zip of {args.zip_entries:,} images in class folders", "read_zip",
        lambda: bc.read_dataset(archive, probe="none"),
        lambda: bc.read_zip(archive, probe="none", n_jobs=1),
    ))  # fmt: skip
    table = labels_csv_bytes(args.rows, seed=3)
    cases.append((
        f"single-label CSV, {args.rows:,} rows", "read_table",
        lambda: bc.read_dataset(table), lambda: bc.read_table(table),
    ))  # fmt: skip
    nih = chest_xray_table(style="nih", n_rows=args.multilabel_rows)
    cases.append((
        f"NIH-style multi-label CSV, {args.multilabel_rows:,} rows",
        "read_table + read_multilabel_table(sep)",
        lambda: bc.read_dataset(nih),
        lambda: read_multilabel_table(bc.read_table(nih), sep="|"),
    ))  # fmt: skip
    coco = road_objects(format="coco", n_images=args.coco_images)
    cases.append((
        f"COCO zip, {args.coco_images:,} images", "read_detection",
        lambda: bc.read_dataset(coco, probe="none"),
        lambda: read_detection(coco, probe="none"),
    ))  # fmt: skip
    rows = []
    for number, (what, baseline, ours, theirs) in enumerate(cases, start=1):
        ours_time, base_time, a, b = _cpu(ours, theirs, args.repeat)
        if a.kind != b.kind or not a.raw.equals(b.raw):
            raise RuntimeError(f"{what}: read_dataset read another dataset than {baseline}.")
        rows.append([
            str(number), what, baseline, f"{ours_time:.3f}", f"{base_time:.3f}",
            f"{ours_time / base_time:.2f}",
        ])  # fmt: skip
    report = "\n".join([
        "read_dataset against the reader it dispatches to (CPU seconds, best of "
        f"{args.repeat}; load {load_average()})",
        machine_info(),
        "",
        markdown_table(
            ["#", "input", "baseline", "read_dataset, s", "baseline, s", "ratio"], rows
        ),
    ]) + "\n"  # fmt: skip
    print(report, end="")
    return report


if __name__ == "__main__":
    main()
