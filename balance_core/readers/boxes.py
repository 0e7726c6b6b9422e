"""What the COCO, YOLO and Pascal VOC readers share: one Dataset built from images
and boxes, and the sentences for their findings."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..dataset import Annotations, ColumnRoles, Dataset, Finding, FindingKind, Severity, Source
from ..errors import DatasetError
from ..limits import Limits, limit_error

__all__ = ["Boxes", "Images", "build_detection", "quote_first"]

LABEL_SET_SEPARATOR = "|"


def quote_first(values: Sequence[str], noun: str, plural: str | None = None) -> str:
    """``"1 file ('a')"`` or ``"3 files (first: 'a')"``."""
    count = len(values)
    word = noun if count == 1 else (plural or noun + "s")
    first = f"({values[0]!r})" if count == 1 else f"(first: {values[0]!r})"
    return f"{count:,} {word} {first}"


@dataclass
class Images:
    """The samples: one element per image, in the order of the rows to build."""

    path: list[str]
    split: list[str | None] | None = None
    width: np.ndarray | None = None  # float64, NaN where unknown
    height: np.ndarray | None = None
    extra: dict[str, pa.Array] = field(default_factory=dict)
    present: np.ndarray | None = None  # bool: the image file is in the archive

    def __len__(self) -> int:
        return len(self.path)


@dataclass
class Boxes:
    """Boxes as columns: pixel boxes (x, y, w, h; NaN where the image size is
    unknown), area and area share, and the class index (-1 without a name)."""

    sample: np.ndarray  # int64
    class_index: np.ndarray  # int32
    x: np.ndarray
    y: np.ndarray
    w: np.ndarray
    h: np.ndarray
    area: np.ndarray
    area_share: np.ndarray
    iscrowd: np.ndarray  # bool
    source_id: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.sample)


def _nullable(values: np.ndarray) -> pa.Array:
    values = np.asarray(values, dtype=np.float64)
    missing = np.isnan(values)
    return pa.array(values, mask=missing if missing.any() else None, type=pa.float64())


def build_detection(
    *,
    images: Images,
    boxes: Boxes,
    classes: Sequence[str],
    class_ids: Sequence[int],
    source: Source,
    findings: list[Finding],
    limits: Limits,
    unknown_ids: np.ndarray | None = None,
    what: str = "boxes",
) -> Dataset:
    """The Dataset of a detection set: ``raw`` has one row per image (``path``,
    ``split`` when known, ``width``, ``height``, reader-specific columns and
    ``label_set``: the image's distinct classes in class order, joined by ``|``,
    null for an image with no box), and ``annotations`` one row per box."""
    n_images = len(images)
    if n_images > limits.max_table_rows:
        raise limit_error(
            f"{source.name!r} lists {n_images:,} images", "max_table_rows", limits.max_table_rows
        )
    if len(boxes) > limits.max_table_rows:
        raise limit_error(
            f"{source.name!r} holds {len(boxes):,} {what}", "max_table_rows", limits.max_table_rows
        )
    if len(classes) > limits.max_classes:
        raise limit_error(
            f"{source.name!r} names {len(classes):,} classes", "max_classes", limits.max_classes
        )
    if len(set(classes)) != len(classes):
        seen: set[str] = set()
        twice = next(c for c in classes if c in seen or seen.add(c))
        raise DatasetError(
            f"{source.name!r} gives two classes the same name {twice!r}; their boxes could "
            "not be told apart; give every class its own name.",
            kind="duplicate_class",
        )
    class_array = pa.array(list(classes), type=pa.string())
    index = boxes.class_index.astype(np.int32)
    named = index >= 0
    labels = pc.take(class_array, pa.array(np.where(named, index, 0), mask=~named))
    table = {
        "sample": pa.array(boxes.sample.astype(np.int64)),
        "class_index": pa.array(index, type=pa.int32()),
        "label": labels,
        "x": _nullable(boxes.x),
        "y": _nullable(boxes.y),
        "w": _nullable(boxes.w),
        "h": _nullable(boxes.h),
        "area": _nullable(boxes.area),
        "area_share": _nullable(boxes.area_share),
        "iscrowd": pa.array(boxes.iscrowd.astype(bool)),
    }
    if boxes.source_id is not None:
        table["source_id"] = pa.array(boxes.source_id.astype(np.int64))
    annotations = Annotations(
        kind="detection",
        table=pa.table(table),
        classes=tuple(classes),
        class_ids=tuple(int(i) for i in class_ids),
    )
    columns: dict[str, pa.Array] = {"path": pa.array(images.path, type=pa.string())}
    if images.split is not None:
        columns["split"] = pa.array(images.split, type=pa.string())
    for name, values in (("width", images.width), ("height", images.height)):
        if values is not None:
            columns[name] = _nullable(values)
    columns.update(images.extra)
    columns["label_set"] = _label_sets(boxes.sample[named], index[named], classes, n_images)
    raw = pa.table(columns)
    roles = ColumnRoles(
        label="label_set",
        path="path",
        split="split" if images.split is not None else None,
        reasons={
            "label_set": "the classes of each image's boxes",
            "path": "each image's file name",
        },
    )
    dataset = Dataset(
        raw=raw, roles=roles, source=source, findings=tuple(findings), annotations=annotations
    )
    return dataset


def _label_sets(
    sample: np.ndarray, index: np.ndarray, classes: Sequence[str], n_images: int
) -> pa.Array:
    """Each image's distinct classes in class order, joined by ``|`` (null if none)."""
    if not len(sample):
        return pa.nulls(n_images, type=pa.string())
    pairs = np.unique(sample.astype(np.int64) * (len(classes) + 1) + index)
    image, cls = np.divmod(pairs, len(classes) + 1)
    starts = np.searchsorted(image, np.arange(n_images))
    stops = np.searchsorted(image, np.arange(n_images), side="right")
    offsets = np.concatenate([[0], stops]).astype(np.int32)
    del starts
    names = pc.take(pa.array(list(classes), type=pa.string()), pa.array(cls))
    lists = pa.ListArray.from_arrays(pa.array(offsets), names)
    joined = pc.binary_join(lists, LABEL_SET_SEPARATOR)
    empty = pc.equal(pc.list_value_length(lists), 0)
    return pc.if_else(empty, pa.scalar(None, pa.string()), joined)


def missing_image_finding(names: Sequence[str], what: str) -> Finding:
    return Finding(
        kind=FindingKind.MISSING_IMAGE,
        severity=Severity.WARNING,
        count=len(names),
        message=(
            f"{quote_first(list(names), what)} point{'s' if len(names) == 1 else ''} at "
            "images that are not in the dataset; their boxes are left out of the counts."
        ),
        entries=tuple(names),
    )


def unknown_class_finding(ids: np.ndarray, rows: np.ndarray, named: int, where: str) -> Finding:
    """Boxes whose class id has no name: kept with a null label, left out of counts."""
    distinct = np.unique(ids)
    shown = ", ".join(str(int(i)) for i in distinct[:5]) + (" ..." if len(distinct) > 5 else "")
    return Finding(
        kind=FindingKind.UNKNOWN_CLASS_ID,
        severity=Severity.ERROR,
        count=len(ids),
        message=(
            f"{len(ids):,} box{'es' if len(ids) != 1 else ''} use class id"
            f"{'s' if len(distinct) != 1 else ''} {shown} that {where} does not name "
            f"({named:,} names given); they are left out of the counts: add the names or "
            "fix the ids."
        ),
        rows=np.unique(rows).astype(np.int64),
    )
