"""Outputs of the plans for samples with several labels or boxes, for other code.

- :func:`copies_manifest`: one row per output copy (the sample's columns, its
  ``row`` in the input and ``copy`` 0, 1, 2, ...), as the single-label manifest.
- :func:`yolo_image_list`: the ``train.txt`` Ultralytics reads, one image path per
  line, repeated images repeated (``./`` paths resolve beside the list file).
- :func:`coco_json`: a COCO file whose repeated images have new ids and their
  annotations copied under new ids (``seesaw_source_id`` keeps the original).
- :func:`label_weights_json`: the per-label weights with the ``pos_weight`` vector
  in class order.
- :func:`sample_snippets`: code for PyTorch ``BCEWithLogitsLoss(pos_weight=...)``,
  detectron2 ``RepeatFactorTrainingSampler``, MMDetection ``ClassBalancedDataset``
  and Ultralytics.
- :func:`strategy_record`: the plan's method and options, as a recipe would carry
  them.

Every function returns the same bytes for the same input; labels reach code only
as Python (``repr``) or JSON string literals, so no label can break out of one.
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ._version import __version__
from .dataset import Dataset
from .errors import DatasetError
from .sample_plans import LabelWeights, SamplePlan

__all__ = [
    "coco_json",
    "copies_manifest",
    "label_weights_json",
    "sample_snippets",
    "strategy_record",
    "yolo_image_list",
]


def _bad(message: str) -> DatasetError:
    return DatasetError(message, kind="bad_parameter")


def _check(dataset: Dataset, plan: SamplePlan) -> None:
    if not isinstance(plan, SamplePlan):
        raise _bad(f"plan must be a SamplePlan, got {type(plan).__name__}.")
    if plan.labels.rows.size and int(plan.labels.rows.max()) >= dataset.n_rows:
        raise _bad("The plan was made for another dataset; make it from this one.")
    if plan.classes != dataset.classes:
        raise _bad("The plan was made for other classes than this dataset has.")


def copies_manifest(dataset: Dataset, plan: SamplePlan) -> pa.Table:
    """One row per output copy, ordered by input row then copy: ``row``, ``copy``
    and the dataset's columns (with ``label_set`` for detection and indicator
    tables); rows of other splits than the plan's are passed through once."""
    _check(dataset, plan)
    copies = np.ones(dataset.n_rows, dtype=np.int64)
    if plan.labels.split is not None:
        copies[plan.labels.rows] = plan.copies
    else:
        copies = plan.copies.astype(np.int64)
    rows = np.repeat(np.arange(dataset.n_rows), copies)
    starts = np.cumsum(copies) - copies
    copy = np.arange(rows.size, dtype=np.int64) - np.repeat(starts, copies)
    table = dataset.raw.take(pa.array(rows))
    names = table.column_names
    front = {"row": pa.array(rows), "copy": pa.array(copy)}
    for name in ("row", "copy"):
        if name in names:
            table = table.rename_columns([n + "_original" if n == name else n for n in names])
            names = table.column_names
    return pa.table({**front, **{n: table.column(n) for n in names}})


def yolo_image_list(dataset: Dataset, plan: SamplePlan, *, prefix: str = "./") -> bytes:
    """Ultralytics' image list: one path per line, each image as many times as it
    is copied. Paths are the dataset's, prefixed with ``prefix`` (``./`` makes
    Ultralytics resolve them beside the list file: save it at the dataset's root).
    """
    _check(dataset, plan)
    path = dataset.column("path")
    if path is None:
        raise _bad("The dataset has no image paths to list.")
    paths = path.combine_chunks().take(pa.array(plan.rows))
    if pc.any(pc.match_substring_regex(paths, r"[\r\n]")).as_py():
        raise _bad("An image path holds a line break, which a list file cannot carry.")
    lines = pc.binary_join_element_wise(pa.scalar(prefix), paths, "")
    return ("\n".join(lines.to_pylist()) + "\n").encode("utf-8") if len(paths) else b""


def _finite(value: float) -> float:
    number = float(value)
    if not math.isfinite(number):
        raise _bad(f"A value to export is not a finite number ({number!r}).")
    return number


def coco_json(dataset: Dataset, plan: SamplePlan) -> bytes:
    """A COCO detection file of the plan's images: each copy is an image with a new
    id (1, 2, ... in row then copy order) and ``seesaw_source_id`` (the original
    image id, or row), ``seesaw_copy``; each of its boxes is copied with a new id.
    Boxes whose class has no name are left out (they have no category)."""
    _check(dataset, plan)
    annotations = dataset.annotations
    if annotations is None or not annotations.has_boxes:
        raise _bad("A COCO file needs boxes; this dataset has none.")
    table = annotations.table
    if table.column("x").null_count:
        raise _bad(
            "Some boxes have no size in pixels (YOLO boxes of images whose size was not "
            "read); read the data with probe='all' to write COCO."
        )
    raw = dataset.raw
    names = raw.column("file_name" if "file_name" in raw.column_names else "path").to_pylist()
    width = raw.column("width").to_pylist() if "width" in raw.column_names else [None] * len(names)
    height = (
        raw.column("height").to_pylist() if "height" in raw.column_names else [None] * len(names)
    )
    source = (
        raw.column("image_id").to_pylist()
        if "image_id" in raw.column_names
        else list(range(len(names)))
    )
    rows = plan.rows
    sample = table.column("sample").to_numpy()
    order = np.argsort(sample, kind="stable")
    starts = np.searchsorted(sample[order], np.arange(dataset.n_rows + 1))
    index = table.column("class_index").to_numpy()
    x, y, w, h = (table.column(c).to_numpy() for c in ("x", "y", "w", "h"))
    area = table.column("area").to_numpy(zero_copy_only=False)
    crowd = table.column("iscrowd").to_numpy(zero_copy_only=False)
    ids = annotations.class_ids
    images_out, boxes_out = [], []
    previous, copy = -1, 0
    for image_id, row in enumerate(rows.tolist(), start=1):
        copy = copy + 1 if row == previous else 0
        previous = row
        image = {"id": image_id, "file_name": names[row], "seesaw_source_id": source[row],
                 "seesaw_copy": copy}  # fmt: skip
        if width[row] is not None and height[row] is not None:
            image["width"], image["height"] = int(width[row]), int(height[row])
        images_out.append(image)
        for k in order[starts[row] : starts[row + 1]].tolist():
            if index[k] < 0:
                continue
            boxes_out.append(
                {
                    "id": len(boxes_out) + 1,
                    "image_id": image_id,
                    "category_id": int(ids[index[k]]),
                    "bbox": [_finite(x[k]), _finite(y[k]), _finite(w[k]), _finite(h[k])],
                    "area": _finite(area[k]),
                    "iscrowd": int(bool(crowd[k])),
                }
            )
    document = {
        "info": {
            "description": f"Balanced by Seesaw {__version__}: {plan.method} {plan.params}",
        },
        "images": images_out,
        "annotations": boxes_out,
        "categories": [
            {"id": int(i), "name": c} for i, c in zip(ids, annotations.classes, strict=True)
        ],
    }
    return (json.dumps(document, ensure_ascii=False, allow_nan=False) + "\n").encode("utf-8")


def label_weights_json(weights: LabelWeights) -> bytes:
    """Per-label weights as JSON: ``classes`` (class order), ``class_to_index``,
    ``positives``, ``negatives``, ``weights`` (by label), ``pos_weight`` (the vector
    in class order, for ``BCEWithLogitsLoss``), ``method``, ``params``,
    ``clipped``, ``warnings``, ``seesaw_version``."""
    if not isinstance(weights, LabelWeights):
        raise _bad(f"weights must be LabelWeights, got {type(weights).__name__}.")
    document = {
        "method": weights.method,
        "params": dict(weights.params),
        "classes": list(weights.classes),
        "class_to_index": {c: i for i, c in enumerate(weights.classes)},
        "positives": dict(weights.positives),
        "negatives": dict(weights.negatives),
        "weights": {c: _finite(w) for c, w in weights.weights.items()},
        "pos_weight": [_finite(w) for w in weights.as_list],
        "clipped": list(weights.clipped),
        "warnings": list(weights.warnings),
        "seesaw_version": __version__,
    }
    text = json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False, allow_nan=False)
    return (text + "\n").encode("utf-8")


def _comment(classes: tuple[str, ...]) -> str:
    return "\n".join(f"#   {i}: {c!r}" for i, c in enumerate(classes))


def sample_snippets(
    *, plan: SamplePlan | None = None, weights: LabelWeights | None = None
) -> dict[str, str]:
    """Code that applies a plan or label weights in training libraries.

    With ``weights``: ``pytorch_bce`` (``BCEWithLogitsLoss(pos_weight=...)`` in
    class order). With a repeat-factor ``plan``: ``detectron2``
    (``RepeatFactorTrainingSampler`` with the same threshold), ``mmdetection``
    (``ClassBalancedDataset`` with ``oversample_thr``), and for any ``plan`` of a
    detection set ``ultralytics`` (train on the exported image list). Floats are
    written with ``repr``, labels as string literals.
    """
    result: dict[str, str] = {}
    if weights is not None:
        values = ", ".join(repr(_finite(w)) for w in weights.as_list)
        result["pytorch_bce"] = (
            "import torch\n\n"
            f"# Per-label weights ({weights.method!r}) in class order; the model's output i\n"
            "# is the logit of label i:\n"
            f"{_comment(weights.classes)}\n"
            f"pos_weight = torch.tensor([{values}])\n"
            "criterion = torch.nn.BCEWithLogitsLoss(pos_weight=pos_weight)\n"
            "# loss = criterion(logits, targets)  # targets: float tensor of 0/1, one column "
            "per label\n"
        )
    if plan is not None:
        if plan.method == "repeat_factor":
            threshold = repr(_finite(plan.params["threshold"]))
            result["detectron2"] = (
                "from detectron2.config import get_cfg\n\n"
                "cfg = get_cfg()\n"
                "# Repeat-factor sampling (LVIS): r_c = max(1, sqrt(t / f_c)), images repeat\n"
                "# max over their classes; the same threshold as in Seesaw's preview.\n"
                'cfg.DATALOADER.SAMPLER_TRAIN = "RepeatFactorTrainingSampler"\n'
                f"cfg.DATALOADER.REPEAT_THRESHOLD = {threshold}\n"
            )
            result["mmdetection"] = (
                "# In the MMDetection config: wrap the training set in ClassBalancedDataset,\n"
                "# which repeats images by the same rule (oversample_thr = t).\n"
                "train_dataloader = dict(\n"
                "    dataset=dict(\n"
                '        type="ClassBalancedDataset",\n'
                f"        oversample_thr={threshold},\n"
                '        dataset=dict(type="CocoDataset", data_root="data/", '
                'ann_file="train.json", data_prefix=dict(img="train/")),\n'
                "    )\n"
                ")\n"
            )
        if plan.labels.has_boxes:
            names = ", ".join(f"{i}: {c!r}" for i, c in enumerate(plan.classes))
            result["ultralytics"] = (
                "from pathlib import Path\n\n"
                "import yaml\n"
                "from ultralytics import YOLO\n\n"
                "# train_balanced.txt is Seesaw's image list (repeated images repeated); save\n"
                "# it at the dataset's root, beside the images/ and labels/ folders.\n"
                f"names = {{{names}}}\n"
                "data = {\n"
                '    "path": str(Path(".").resolve()),\n'
                '    "train": "train_balanced.txt",\n'
                '    "val": "valid/images",\n'
                '    "names": names,\n'
                "}\n"
                'Path("data_balanced.yaml").write_text(yaml.safe_dump(data))\n'
                'model = YOLO("yolov8n.pt")\n'
                'model.train(data="data_balanced.yaml", epochs=100)\n'
            )
    return result


def strategy_record(
    plan: SamplePlan | None = None, weights: LabelWeights | None = None
) -> dict[str, Any]:
    """The strategy as a recipe carries it: ``method`` and its options, enough to
    make the same plan again from the same data (see the report for how
    :mod:`balance_core.recipe` should store it)."""
    if plan is not None:
        record: dict[str, Any] = {"method": plan.method, **plan.params}
        record.pop("mean_ir", None)
        if plan.labels.split is not None:
            record["split"] = plan.labels.split
        return record
    if weights is not None:
        return {"method": f"label_weights:{weights.method}", **weights.params}
    raise _bad("Give a plan or label weights.")
