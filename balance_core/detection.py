"""How balanced a detection dataset is, counted three ways, and what is wrong with it.

A class can be counted in boxes (what the loss sees), in images that contain it
(what a sampler can repeat) or in box area (what the pixels say); they often
disagree: a class with many small boxes in few images looks common by boxes and
rare by images. :func:`summarize_detection` gives all three side by side, with
background images, boxes per image and COCO's size buckets, in one pass over
the box table (pyarrow and numpy, no Python loop per box).

References
----------
Lin, T.-Y. et al. (2014). Microsoft COCO: Common Objects in Context. ECCV (the
small / medium / large buckets: area below 32², below 96², above).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .dataset import Dataset, Finding, FindingKind, Severity
from .errors import DatasetError
from .stats import MILD_MAX_RATIO, Distribution

__all__ = [
    "COUNT_UNITS",
    "MEDIUM_AREA",
    "SMALL_AREA",
    "DetectionSummary",
    "counts_in",
    "detection_findings",
    "summarize_detection",
]

SMALL_AREA = 32**2
MEDIUM_AREA = 96**2
COUNT_UNITS = ("boxes", "images", "area", "samples")
# A class this much rarer than the largest one (by boxes), with more than this share
# of its boxes small, gets a SMALL_OBJECTS finding.
SMALL_SHARE = 0.5
# Boxes this many pixels past the image edge are still taken as inside (rounding).
EDGE_TOLERANCE = 1.0
BOXES_PER_IMAGE_BINS = 20


@dataclass(frozen=True, kw_only=True)
class DetectionSummary:
    """Per class: boxes, images containing it and box area, side by side.

    Attributes
    ----------
    classes : tuple of str
        Class order of the dataset (see :attr:`Annotations.classes`).
    boxes : dict of str to int
        Boxes per class (crowd boxes included, as pycocotools' ``getAnnIds``).
    images : dict of str to int
        Images containing at least one box of the class (``getImgIds(catIds=...)``).
    area : dict of str to float
        Total box area per class, in pixels where image sizes are known (else in
        shares of an image).
    crowd : dict of str to int
        Crowd boxes per class.
    sizes : dict of str to dict of str to int
        Class -> ``small`` (area < 32²), ``medium`` (< 96²), ``large``, ``unknown``
        (no pixel size).
    n_images : int
    background_images : int
        Images with no box at all.
    unnamed_boxes : int
        Boxes whose class id has no name (left out of the counts above).
    boxes_per_image : numpy.ndarray
        Histogram: images with 0, 1, ..., 19 and 20 or more boxes.
    area_unit : {"pixels", "image share"}
    split : str or None
        The split counted, None for all rows.
    """

    classes: tuple[str, ...]
    boxes: dict[str, int]
    images: dict[str, int]
    area: dict[str, float]
    crowd: dict[str, int]
    sizes: dict[str, dict[str, int]]
    n_images: int
    background_images: int
    unnamed_boxes: int
    boxes_per_image: np.ndarray = field(repr=False)
    area_unit: str = "pixels"
    split: str | None = None

    @property
    def n_boxes(self) -> int:
        return sum(self.boxes.values())

    @property
    def area_share(self) -> dict[str, float]:
        """Each class's share of all box area."""
        total = sum(self.area.values())
        return {c: (a / total if total else 0.0) for c, a in self.area.items()}

    @property
    def mean_boxes_per_image(self) -> float:
        return self.n_boxes / self.n_images if self.n_images else 0.0

    def counts(self, unit: str = "boxes") -> dict[str, int]:
        """Counts per class in ``unit``: ``boxes``, ``images`` or ``area`` (rounded to
        whole pixels, or to parts per million of an image without pixel sizes)."""
        if unit == "boxes":
            return dict(self.boxes)
        if unit == "images":
            return dict(self.images)
        if unit == "area":
            scale = 1.0 if self.area_unit == "pixels" else 1e6
            return {c: round(a * scale) for c, a in self.area.items()}
        raise DatasetError(
            f"Detection counts are in boxes, images or area, not {unit!r}.", kind="bad_parameter"
        )

    def distribution(self, unit: str = "boxes") -> Distribution:
        """The counts in ``unit`` as a :class:`~balance_core.stats.Distribution`, for
        the seesaw chart and the imbalance metrics."""
        return Distribution.from_counts(self.counts(unit))

    def rows(self) -> list[dict]:
        """One row per class, in class order: the table beside the chart."""
        share = self.area_share
        return [
            {
                "class": c,
                "boxes": self.boxes[c],
                "images": self.images[c],
                "share of images": self.images[c] / self.n_images if self.n_images else 0.0,
                "share of box area": share[c],
                "small": self.sizes[c]["small"],
                "medium": self.sizes[c]["medium"],
                "large": self.sizes[c]["large"],
                "crowd": self.crowd[c],
            }
            for c in self.classes
        ]

    def to_dict(self) -> dict:
        return {
            "unit_counts": {u: self.counts(u) for u in ("boxes", "images", "area")},
            "area_unit": self.area_unit,
            "area_share": self.area_share,
            "crowd": dict(self.crowd),
            "sizes": {c: dict(v) for c, v in self.sizes.items()},
            "images_total": self.n_images,
            "boxes_total": self.n_boxes,
            "background_images": self.background_images,
            "unnamed_boxes": self.unnamed_boxes,
            "mean_boxes_per_image": self.mean_boxes_per_image,
            "boxes_per_image_histogram": [int(n) for n in self.boxes_per_image],
            "split": self.split,
        }


def _require_boxes(dataset: Dataset) -> None:
    if dataset.annotations is None or not dataset.annotations.has_boxes:
        raise DatasetError(
            "This dataset has no boxes; detection counts need COCO, YOLO or VOC annotations.",
            kind="bad_parameter",
        )


def _split_rows(dataset: Dataset, split: str | None) -> np.ndarray | None:
    """Bool mask of the rows of ``split`` (None: every row)."""
    if split is None:
        return None
    column = dataset.column("split")
    if column is None:
        raise DatasetError(
            f"The data has no split column, so it has no split {split!r}.", kind="bad_parameter"
        )
    mask = np.asarray(pc.equal(column.combine_chunks(), split).fill_null(False), dtype=bool)
    if not mask.any():
        names = sorted(v for v in pc.unique(column).to_pylist() if v is not None)
        raise DatasetError(
            f"The data has no split {split!r}; its splits are {', '.join(map(repr, names))}.",
            kind="bad_parameter",
        )
    return mask


def _float(table: pa.Table, name: str) -> np.ndarray:
    return table.column(name).to_numpy().astype(np.float64, copy=False)


def summarize_detection(dataset: Dataset, *, split: str | None = None) -> DetectionSummary:
    """Boxes, images containing the class, box area and box sizes per class.

    Parameters
    ----------
    dataset : Dataset
        From :func:`~balance_core.readers.detection.read_detection`.
    split : str, optional
        Count only the images of this split.

    Returns
    -------
    DetectionSummary
    """
    _require_boxes(dataset)
    annotations = dataset.annotations
    classes = annotations.classes
    k = len(classes)
    table = annotations.table
    in_split = _split_rows(dataset, split)
    sample = table.column("sample").to_numpy()
    index = table.column("class_index").to_numpy()
    if in_split is not None:
        keep = in_split[sample]
        table = table.filter(pa.array(keep))
        sample, index = sample[keep], index[keep]
        n_images = int(in_split.sum())
    else:
        n_images = dataset.n_rows
    named = index >= 0
    boxes = np.bincount(index[named], minlength=k)
    pairs = np.unique(sample[named] * k + index[named]) if k else np.zeros(0, np.int64)
    images = np.bincount(pairs % k, minlength=k) if k else np.zeros(0, np.int64)
    area = _float(table, "area")
    unit = "pixels"
    if np.isnan(area[named]).all() and len(area):
        area, unit = _float(table, "area_share"), "image share"
    area_sum = np.bincount(index[named], weights=np.nan_to_num(area[named]), minlength=k)
    pixel_area = _float(table, "area")
    bucket = np.where(
        np.isnan(pixel_area),
        3,
        np.where(pixel_area < SMALL_AREA, 0, np.where(pixel_area < MEDIUM_AREA, 1, 2)),
    )
    by_bucket = np.bincount(index[named] * 4 + bucket[named], minlength=4 * k).reshape(k, 4)
    crowd = table.column("iscrowd").to_numpy(zero_copy_only=False)
    crowd_counts = np.bincount(index[named & crowd], minlength=k)
    per_image = np.bincount(sample, minlength=dataset.n_rows)
    if in_split is not None:
        per_image = per_image[in_split]
    histogram = np.bincount(
        np.minimum(per_image, BOXES_PER_IMAGE_BINS), minlength=BOXES_PER_IMAGE_BINS + 1
    )
    names = ("small", "medium", "large", "unknown")
    return DetectionSummary(
        classes=classes,
        boxes={c: int(boxes[i]) for i, c in enumerate(classes)},
        images={c: int(images[i]) for i, c in enumerate(classes)},
        area={c: float(area_sum[i]) for i, c in enumerate(classes)},
        crowd={c: int(crowd_counts[i]) for i, c in enumerate(classes)},
        sizes={
            c: {n: int(by_bucket[i, j]) for j, n in enumerate(names)} for i, c in enumerate(classes)
        },
        n_images=n_images,
        background_images=int(np.count_nonzero(per_image == 0)),
        unnamed_boxes=int(np.count_nonzero(~named)),
        boxes_per_image=histogram,
        area_unit=unit,
        split=split,
    )


def counts_in(
    dataset: Dataset, unit: str = "samples", *, split: str | None = None
) -> dict[str, int]:
    """Counts per class in a unit, for any dataset.

    ``samples`` counts samples carrying the class (for one label per sample: rows
    per label; for multi-label: positives per label; for detection: images
    containing the class, the same as ``images``); ``boxes``, ``images`` and
    ``area`` need boxes.
    """
    if unit not in COUNT_UNITS:
        raise DatasetError(
            f"Counts are in {', '.join(COUNT_UNITS)}, not {unit!r}.", kind="bad_parameter"
        )
    if dataset.annotations is not None and dataset.annotations.has_boxes:
        summary = summarize_detection(dataset, split=split)
        return summary.counts("images" if unit == "samples" else unit)
    if unit != "samples":
        raise DatasetError(
            f"This dataset has no boxes, so it is counted in samples, not {unit}.",
            kind="bad_parameter",
        )
    labels = dataset.label_table()
    sample = labels.column("sample").to_numpy()
    index = labels.column("class_index").to_numpy()
    mask = _split_rows(dataset, split)
    keep = index >= 0
    if mask is not None:
        keep &= mask[sample]
    k = len(dataset.classes)
    pairs = np.unique(sample[keep] * k + index[keep]) if k else np.zeros(0, np.int64)
    counts = np.bincount(pairs % k, minlength=k) if k else []
    return {c: int(counts[i]) for i, c in enumerate(dataset.classes)}


# --------------------------------------------------------------------------- findings


def _rows(mask_rows: np.ndarray) -> np.ndarray:
    return np.unique(mask_rows).astype(np.int64)


def _finding(kind, severity, count, message, rows) -> Finding:
    return Finding(
        kind=kind, severity=severity, count=int(count), message=message, rows=_rows(rows)
    )


def detection_findings(
    dataset: Dataset, summary: DetectionSummary | None = None
) -> tuple[Finding, ...]:
    """What is wrong with the boxes, most serious first: degenerate boxes (zero or
    negative size, NaN, outside the image), exact duplicate boxes, background
    images, and rare classes that are mostly small objects. The reader's findings
    (unknown class ids, annotations for missing images, bad lines) come first."""
    _require_boxes(dataset)
    summary = summary or summarize_detection(dataset)
    table = dataset.annotations.table
    findings = list(dataset.findings)
    sample = table.column("sample").to_numpy()
    x, y, w, h = (_float(table, c) for c in ("x", "y", "w", "h"))
    share = _float(table, "area_share")
    known = ~np.isnan(x)
    bad_size = known & ~((w > 0) & (h > 0))
    bad_size |= ~known & ~(share > 0)
    nan = known & (np.isnan(y) | np.isnan(w) | np.isnan(h))
    width = height = None
    if "width" in dataset.raw.column_names and "height" in dataset.raw.column_names:
        width = _float(dataset.raw, "width")[sample]
        height = _float(dataset.raw, "height")[sample]
    outside = np.zeros(len(sample), dtype=bool)
    if width is not None:
        with np.errstate(invalid="ignore"):
            outside = (
                known
                & ~bad_size
                & (
                    (x < -EDGE_TOLERANCE)
                    | (y < -EDGE_TOLERANCE)
                    | (x + w > width + EDGE_TOLERANCE)
                    | (y + h > height + EDGE_TOLERANCE)
                )
            )
    for mask, what in (
        (bad_size | nan, "have zero, negative or missing width or height"),
        (outside, "reach outside their image"),
    ):
        count = int(np.count_nonzero(mask))
        if count:
            findings.append(
                _finding(
                    FindingKind.DEGENERATE_BOX,
                    Severity.WARNING,
                    count,
                    f"{count:,} box{'es' if count != 1 else ''} {what} (first in image "
                    f"{_path(dataset, sample[mask][0])!r}); fix or drop them before training, "
                    "as most trainers discard or clip them.",
                    sample[mask],
                )
            )
    duplicates, duplicate_rows = _duplicates(table, known)
    if duplicates:
        findings.append(
            _finding(
                FindingKind.DUPLICATE_BOX,
                Severity.WARNING,
                duplicates,
                f"{duplicates:,} box"
                f"{'es are exact copies' if duplicates != 1 else ' is an exact copy'}"
                " of another box of the same class in the same image (first in "
                f"{_path(dataset, duplicate_rows[0])!r}); they count twice in every metric "
                "and in the loss.",
                duplicate_rows,
            )
        )
    if summary.background_images:
        empty = np.flatnonzero(np.bincount(sample, minlength=dataset.n_rows) == 0)
        findings.append(
            _finding(
                FindingKind.UNANNOTATED_IMAGE,
                Severity.INFO,
                len(empty),
                f"{len(empty):,} of {dataset.n_rows:,} images have no box (background; first: "
                f"{_path(dataset, empty[0])!r}); they teach the model what no object looks "
                "like, and image-level sampling can keep or cap them.",
                empty,
            )
        )
    findings += _small_object_findings(summary, table)
    findings += _unseen_classes(summary)
    return tuple(sorted(findings, key=lambda f: f.sort_key))


def _path(dataset: Dataset, row: int) -> str:
    path = dataset.column("path")
    return str(path[int(row)].as_py()) if path is not None else f"row {int(row)}"


def _duplicates(table: pa.Table, known: np.ndarray) -> tuple[int, np.ndarray]:
    keys = ["sample", "class_index", "x", "y", "w", "h"]
    subset = table.select(keys).filter(pa.array(known))
    if subset.num_rows < 2:
        return 0, np.zeros(0, np.int64)
    grouped = subset.group_by(keys, use_threads=False).aggregate([([], "count_all")])
    counts = grouped.column("count_all").to_numpy()
    many = counts > 1
    extra = int((counts[many] - 1).sum())
    return extra, grouped.column("sample").to_numpy()[many]


def _small_object_findings(summary: DetectionSummary, table: pa.Table) -> list[Finding]:
    largest = max(summary.boxes.values(), default=0)
    findings = []
    for c in summary.classes:
        n = summary.boxes[c]
        sizes = summary.sizes[c]
        measured = sizes["small"] + sizes["medium"] + sizes["large"]
        if not n or not measured or n * MILD_MAX_RATIO > largest:
            continue
        share = sizes["small"] / measured
        if share > SMALL_SHARE:
            index = summary.classes.index(c)
            rows = table.filter(pc.equal(table.column("class_index"), index)).column("sample")
            findings.append(
                _finding(
                    FindingKind.SMALL_OBJECTS,
                    Severity.WARNING,
                    sizes["small"],
                    f"Class {c!r} is rare ({n:,} boxes, 1 : {largest / n:.0f} against the "
                    f"largest class) and {share:.0%} of its boxes are small (under 32 x 32 "
                    "pixels, COCO's cut): detectors find small objects worst, so expect this "
                    "class to score lowest; repeat its images, or train at a higher resolution.",
                    rows.to_numpy(),
                )
            )
    return findings


def _unseen_classes(summary: DetectionSummary) -> list[Finding]:
    empty = [c for c in summary.classes if summary.boxes[c] == 0]
    if not empty or summary.split is not None:
        return []
    shown = ", ".join(map(repr, empty[:5])) + (" ..." if len(empty) > 5 else "")
    return [
        Finding(
            kind=FindingKind.TINY_CLASS,
            severity=Severity.WARNING,
            count=len(empty),
            message=(
                f"{len(empty):,} class{'es have' if len(empty) != 1 else ' has'} a name but no "
                f"box ({shown}); the model cannot learn {'them' if len(empty) != 1 else 'it'}."
            ),
        )
    ]


def _ratio(a: float, b: float) -> float:
    return a / b if b else math.inf
