"""Object detection datasets (COCO, YOLO, Pascal VOC) -> Dataset with boxes.

:func:`read_detection` takes a COCO JSON file, or a zip (or, from Python and the
command line, a folder) holding COCO JSON, YOLO label files or VOC XML with their
images, and returns a :class:`~balance_core.dataset.Dataset` whose ``raw`` has one
row per image and whose ``annotations`` hold one row per box.
:func:`sniff_detection` tells from the content whether an input is one of these.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyarrow as pa

from ..dataset import Dataset, Finding, FindingKind, Severity, Source
from ..errors import DatasetError
from ..limits import DEFAULT_LIMITS, Limits
from . import coco, voc, yolo
from .boxes import Boxes, Images, build_detection, missing_image_finding, unknown_class_finding
from .entries import Entries, open_entries
from .imageprobe import PROBE_OK
from .sources import Input, InputLike, open_input
from .tables import check_input_size
from .zipped import IMAGE_EXTENSIONS, SPLIT_FOLDERS, _file_matcher

__all__ = ["DETECTION_FORMATS", "read_detection", "sniff_detection"]

DETECTION_FORMATS = ("coco", "yolo", "voc")
PROBES = ("all", "none")
_HEAD = 1 << 16


def _open(source: InputLike, name: str | None, limits: Limits) -> Input:
    if isinstance(source, (str, os.PathLike)) and Path(source).is_dir():
        path = Path(source)
        return Input(name=name or path.name, data=None, path=path, size=0)
    item = open_input(source, name=name)
    check_input_size(item, limits)
    return item


def _is_container(item: Input) -> bool:
    if item.path is not None and item.path.is_dir():
        return True
    head = item.head(4)
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return True
    tail = item.tail(22 + 0xFFFF)
    return b"PK\x05\x06" in tail and not head.lstrip().startswith((b"{", b"["))


def sniff_detection(
    source: InputLike, *, name: str | None = None, limits: Limits | None = None
) -> str | None:
    """``"coco"``, ``"yolo"`` or ``"voc"`` when ``source`` holds detection annotations
    (a COCO JSON file; a zip or folder with COCO JSON, YOLO ``labels/*.txt`` or a
    ``data.yaml``, or VOC XML), else None. Reads only names and the first bytes
    of a few files."""
    limits = limits or DEFAULT_LIMITS
    item = _open(source, name, limits)
    if not _is_container(item):
        return "coco" if coco.looks_like_coco(item.head(_HEAD)) else None
    try:
        with open_entries(item, limits) as entries:
            return _container_format(entries)
    except DatasetError:
        return None


def _container_format(entries: Entries) -> str | None:
    names = entries.names
    for i, entry in enumerate(names):
        if entry.lower().endswith(".json") and coco.looks_like_coco(_head(entries, i)):
            return "coco"
    has_images = any(_is_image(n) for n in names)
    if any(yolo.is_label_file(n) for n in names) or (
        has_images and any(n.rpartition("/")[2].lower() in yolo.YAML_FILES for n in names)
    ):
        return "yolo"
    for i, entry in enumerate(names):
        if entry.lower().endswith(".xml") and voc.looks_like_voc(_head(entries, i)):
            return "voc"
    return None


_WHAT = {
    "coco": "COCO JSON file",
    "yolo": "YOLO label files (labels/*.txt) or data.yaml",
    "voc": "Pascal VOC XML file",
}


def _holds(entries: Entries, format: str) -> bool:
    """Whether a zip or folder has any annotation file of ``format``."""
    names = entries.names
    if format == "coco":
        return any(
            n.lower().endswith(".json") and coco.looks_like_coco(_head(entries, i))
            for i, n in enumerate(names)
        )
    if format == "yolo":
        return any(
            yolo.is_label_file(n)
            or n.rpartition("/")[2].lower() in (*yolo.YAML_FILES, *yolo.NAME_FILES)
            for n in names
        )
    return any(
        n.lower().endswith(".xml") and voc.looks_like_voc(_head(entries, i))
        for i, n in enumerate(names)
    )


def _head(entries: Entries, i: int) -> bytes:
    with entries.stream(i) as stream:
        return stream.read(_HEAD).lstrip(b"\xef\xbb\xbf \t\r\n")


def _is_image(name: str) -> bool:
    return name.rpartition(".")[2].lower() in IMAGE_EXTENSIONS


def _split_of(name: str) -> str | None:
    for part in name.split("/")[:-1]:
        if part.lower() in SPLIT_FOLDERS:
            return part
    return None


def read_detection(
    source: InputLike,
    *,
    name: str | None = None,
    format: str | None = None,
    probe: str = "all",
    limits: Limits | None = None,
) -> Dataset:
    """Read an object detection dataset.

    Parameters
    ----------
    source : bytes, path or binary file
        A COCO JSON file, a zip holding COCO JSON (one per split, as Roboflow
        exports: ``train/_annotations.coco.json``), YOLO label files (``labels/``
        beside ``images/``, names in ``data.yaml`` or ``classes.txt``) or VOC XML
        (``Annotations/*.xml``), with or without the images; or a folder path.
    name : str, optional
        The name to report.
    format : {"coco", "yolo", "voc"}, optional
        Skip detection (by content).
    probe : {"all", "none"}, default "all"
        YOLO gives boxes as shares of the image: read each image's header (no
        pixel decoded) for its size in pixels, or leave pixel sizes unknown.
    limits : Limits, optional
        ``max_input_bytes``, the zip limits, ``max_entry_uncompressed`` for each
        annotation file, ``max_table_rows`` for images and for boxes,
        ``max_classes``.

    Returns
    -------
    Dataset
        ``raw``: one row per image (``path``, ``split`` when the data has splits,
        ``width``, ``height``, ``label_set``); ``annotations``: one row per box.

    Raises
    ------
    DatasetError
        One sentence: not a detection dataset, a COCO field of the wrong type,
        duplicate image or category ids, XML with a document type or entities,
        a ``data.yaml`` that is not YAML or asks for Python objects, limits.
    """
    limits = limits or DEFAULT_LIMITS
    if format is not None and format not in DETECTION_FORMATS:
        raise DatasetError(
            f"format must be one of {', '.join(DETECTION_FORMATS)}, not {format!r}.", kind="usage"
        )
    if probe not in PROBES:
        raise DatasetError(f"probe must be 'all' or 'none', not {probe!r}.", kind="usage")
    item = _open(source, name, limits)
    if not _is_container(item):
        if format not in (None, "coco"):
            raise DatasetError(
                f"{item.name!r} is a single file; {format} annotations come as a zip or a "
                "folder with their images.",
                kind="wrong_format",
            )
        opener = (
            coco.stream_of(item.data) if item.data is not None else lambda: item.path.open("rb")
        )
        parsed = coco.parse_coco(opener, item.name, limits, tail=item.tail)
        return _coco_dataset([parsed], [None], None, item, limits, [], [None])
    with open_entries(item, limits) as entries:
        found = format or _container_format(entries)
        if format is not None and not _holds(entries, format):
            raise DatasetError(
                f"{item.name!r} holds no {_WHAT[format]}, so it cannot be read as {format}; "
                "leave the format out to have it recognised.",
                kind="not_detection",
            )
        if found is None:
            raise DatasetError(
                f"{item.name!r} holds no COCO JSON, YOLO labels (labels/*.txt) or Pascal VOC "
                "XML (Annotations/*.xml); for a zip of class folders use read_zip.",
                kind="not_detection",
            )
        reader: Callable[[Input, Entries, Limits, str], Dataset] = {
            "coco": _read_coco_container,
            "yolo": _read_yolo_container,
            "voc": _read_voc_container,
        }[found]
        return reader(item, entries, limits, probe)


def _source(item: Input, fmt: str) -> Source:
    return Source(name=item.name, format=fmt, size_bytes=item.size, content=item.content)


# --------------------------------------------------------------------------- COCO


def _read_coco_container(item: Input, entries: Entries, limits: Limits, probe: str) -> Dataset:
    files = [
        i
        for i, entry in enumerate(entries.names)
        if entry.lower().endswith(".json") and coco.looks_like_coco(_head(entries, i))
    ]
    parsed = [
        coco.parse_coco(lambda i=i: entries.stream(i), entries.names[i], limits) for i in files
    ]
    image_names = [n for n in entries.names if _is_image(n)]
    folders = [entries.names[i].rpartition("/")[0] for i in files]
    splits = []
    for i, folder in zip(files, folders, strict=True):
        base = folder.rpartition("/")[2]
        if base.lower() in SPLIT_FOLDERS:
            splits.append(base)
        elif len(files) > 1:
            splits.append(entries.names[i].rpartition("/")[2].rpartition(".")[0])
        else:
            splits.append(None)
    return _coco_dataset(
        parsed, folders, image_names, item, limits, list(entries.findings), splits,
        [entries.names[i] for i in files],
    )  # fmt: skip


def _coco_dataset(
    parsed: list[coco.CocoFile],
    folders: list[str | None],
    image_names: list[str] | None,
    item: Input,
    limits: Limits,
    findings: list[Finding],
    splits: list[str | None],
    json_names: list[str] | None = None,
) -> Dataset:
    json_names = json_names or [item.name]
    # Categories of all files, by id; one id must keep one name.
    by_id: dict[int, str] = {}
    for file, name in zip(parsed, json_names, strict=True):
        for cid, label in zip(file.category_ids.tolist(), file.category_names, strict=True):
            if by_id.setdefault(cid, label) != label:
                raise DatasetError(
                    f"Category id {cid} is {by_id[cid]!r} in one file and {label!r} in "
                    f"{name!r}; give the splits the same categories.",
                    kind="bad_coco",
                )
    ids = sorted(by_id)
    classes = [by_id[c] for c in ids]
    position = {c: k for k, c in enumerate(ids)}
    paths: list[str] = []
    split_column: list[str | None] = []
    widths, heights, image_ids, present = [], [], [], []
    box_parts: list[Boxes] = []
    orphans: list[str] = []
    unknown: list[np.ndarray] = []
    unknown_rows: list[np.ndarray] = []
    for file, folder, split, name in zip(parsed, folders, splits, json_names, strict=True):
        findings += file.findings
        offset = len(paths)
        if image_names is not None:
            match = _file_matcher(image_names, (folder + "/") if folder else "")
            matched = [match(f) for f in file.file_names]
            paths += [
                image_names[m] if m >= 0 else f
                for m, f in zip(matched, file.file_names, strict=True)
            ]
            present += [m >= 0 for m in matched]
        else:
            paths += file.file_names
        split_column += [split] * len(file.file_names)
        widths.append(file.widths)
        heights.append(file.heights)
        image_ids.append(file.image_ids)
        boxes, orphan, missing = coco.coco_boxes(file, position, offset)
        box_parts.append(boxes)
        orphan_ids = file.ann_ids[orphan][:1000] if orphan.any() else None
        file.release()
        if orphan_ids is not None:
            orphans += [f"{name}: annotation {int(a)}" for a in orphan_ids]
            if orphan.sum() > 1000:
                orphans += [f"{name}: ..."] * int(orphan.sum() - 1000)
        if len(missing):
            unknown.append(missing)
            unknown_rows.append(boxes.sample[boxes.class_index < 0])
    if not any(f.has_categories for f in parsed):
        findings.append(
            Finding(
                kind=FindingKind.UNKNOWN_CLASS_ID,
                severity=Severity.ERROR,
                count=sum(len(b) for b in box_parts),
                message=(
                    "The COCO file has no 'categories', so no class has a name; add the "
                    "categories (id and name of each class)."
                ),
            )
        )
    elif unknown:
        findings.append(
            unknown_class_finding(
                np.concatenate(unknown), np.concatenate(unknown_rows), len(classes),
                "'categories'",
            )
        )  # fmt: skip
    if orphans:
        findings.append(missing_image_finding(orphans, "annotation"))
    images = Images(
        path=paths,
        split=split_column if any(s is not None for s in splits) else None,
        width=np.concatenate(widths) if widths else np.zeros(0),
        height=np.concatenate(heights) if heights else np.zeros(0),
        extra={
            "image_id": pa.array(np.concatenate(image_ids) if image_ids else np.zeros(0, np.int64)),
            "file_name": pa.array([n for f in parsed for n in f.file_names], pa.string()),
        },
    )
    if image_names is not None:
        findings += _presence_findings(paths, present, image_names, "the COCO file")
    return build_detection(
        images=images,
        boxes=_concat(box_parts),
        classes=classes,
        class_ids=ids,
        source=_source(item, "coco"),
        findings=findings,
        limits=limits,
    )


def _presence_findings(
    paths: list[str], present: list[bool], image_names: list[str], listing: str
) -> list[Finding]:
    findings = []
    absent = [k for k, ok in enumerate(present) if not ok]
    if absent:
        findings.append(
            Finding(
                kind=FindingKind.MISSING_FILE,
                severity=Severity.WARNING,
                count=len(absent),
                message=(
                    f"{len(absent):,} image{'s' if len(absent) != 1 else ''} listed in "
                    f"{listing} {'are' if len(absent) != 1 else 'is'} not in the archive "
                    f"(first: {paths[absent[0]]!r}); the counts include "
                    f"{'them' if len(absent) != 1 else 'it'}, but training will not find "
                    f"{'them' if len(absent) != 1 else 'it'}."
                ),
                rows=np.array(absent, dtype=np.int64),
            )
        )
    listed = set(paths)
    unlisted = [n for n in image_names if n not in listed]
    if unlisted:
        findings.append(
            Finding(
                kind=FindingKind.MISSING_LABEL,
                severity=Severity.WARNING,
                count=len(unlisted),
                message=(
                    f"{len(unlisted):,} image{'s' if len(unlisted) != 1 else ''} in the archive "
                    f"{'are' if len(unlisted) != 1 else 'is'} not listed in {listing} "
                    f"(first: {unlisted[0]!r}); {'they are' if len(unlisted) != 1 else 'it is'} "
                    "not part of the dataset."
                ),
                entries=tuple(unlisted),
            )
        )
    return findings


def _concat(parts: list[Boxes]) -> Boxes:
    if not parts:
        empty = np.zeros(0)
        return Boxes(
            sample=np.zeros(0, np.int64), class_index=np.zeros(0, np.int32), x=empty, y=empty,
            w=empty, h=empty, area=empty, area_share=empty, iscrowd=np.zeros(0, bool),
        )  # fmt: skip
    fields = ("sample", "class_index", "x", "y", "w", "h", "area", "area_share", "iscrowd")
    joined = {f: np.concatenate([getattr(p, f) for p in parts]) for f in fields}
    ids = [p.source_id for p in parts]
    if all(i is not None for i in ids):
        joined["source_id"] = np.concatenate(ids)
    return Boxes(**joined)


# --------------------------------------------------------------------------- YOLO


def _names_for_yolo(entries: Entries, limits: Limits) -> tuple[list[str] | None, str | None]:
    """Class names from the shallowest data.yaml, else a names file."""
    for files in (yolo.YAML_FILES, yolo.NAME_FILES):
        found = [
            (entry.count("/"), entry, i)
            for i, entry in enumerate(entries.names)
            if entry.rpartition("/")[2].lower() in files
        ]
        if found:
            _, entry, i = min(found)
            data = entries.read(i, limit=min(limits.max_entry_uncompressed, yolo.MAX_NAMES_FILE))
            return yolo.parse_names(data, entry), entry
    return None, None


def _read_yolo_container(item: Input, entries: Entries, limits: Limits, probe: str) -> Dataset:
    findings = list(entries.findings)
    names, names_file = _names_for_yolo(entries, limits)
    images = [i for i, n in enumerate(entries.names) if _is_image(n)]
    image_by_key: dict[str, int] = {}
    for row, i in enumerate(images):
        image_by_key.setdefault(yolo.image_key(entries.names[i]), row)
    image_stems = {yolo.label_key(entries.names[i]) for i in images}
    label_files = [
        i
        for i, n in enumerate(entries.names)
        if yolo.is_label_file(n)
        or (
            n.lower().endswith(".txt")
            and n.rpartition("/")[2].lower() not in yolo.NOT_LABEL_FILES
            and yolo.label_key(n) in image_stems
        )
    ]
    texts = [entries.read(i, limit=limits.max_entry_uncompressed) for i in label_files]
    label_names = [entries.names[i] for i in label_files]
    lines = yolo.parse_lines(texts, label_names)
    findings += lines.findings
    labels_only = not images
    if labels_only:
        # A labels-only export (the images left out to save the upload): each label
        # file stands for its image, named by its own path.
        row_of_file = np.arange(len(label_names), dtype=np.int64)
        paths = list(label_names)
        findings.append(
            Finding(
                kind=FindingKind.MISSING_FILE,
                severity=Severity.INFO,
                count=len(label_names),
                message=(
                    f"{item.name!r} holds label files but no images; each of the "
                    f"{len(label_names):,} label files is counted as one image, and image "
                    "sizes (box areas in pixels) are unknown."
                ),
            )
        )
    else:
        row_of_file = np.array(
            [image_by_key.get(yolo.label_key(n), -1) for n in label_names], dtype=np.int64
        )
        paths = [entries.names[i] for i in images]
    orphan_files = [n for n, r in zip(label_names, row_of_file, strict=True) if r < 0]
    if orphan_files:
        findings.append(missing_image_finding(orphan_files, "label file"))
    row = row_of_file[lines.file] if len(lines.file) else np.zeros(0, np.int64)
    keep = row >= 0
    width = np.full(len(paths), np.nan)
    height = np.full(len(paths), np.nan)
    if probe == "all" and images:
        for k, result in enumerate(
            entries.probe(np.array(images), max_pixels=limits.max_image_pixels)
        ):
            if result and result[0] == PROBE_OK:
                width[k], height[k] = result[2], result[3]
    class_id = lines.class_id[keep]
    n_names = len(names) if names is not None else int(class_id.max(initial=-1)) + 1
    if names is None:
        names = [str(k) for k in range(n_names)]
        findings.append(
            Finding(
                kind=FindingKind.UNKNOWN_CLASS_ID,
                severity=Severity.INFO,
                count=len(class_id),
                message=(
                    "There is no data.yaml or classes.txt, so the classes are named by their "
                    "numbers (0, 1, ...); add one to see the names."
                ),
            )
        )
    index = np.where(class_id < n_names, class_id, -1).astype(np.int32)
    sample = row[keep]
    if (index < 0).any():
        findings.append(
            unknown_class_finding(class_id[index < 0], sample[index < 0], n_names, repr(names_file))
        )
    W, H = width[sample], height[sample]
    cx, cy, w, h = lines.cx[keep], lines.cy[keep], lines.w[keep], lines.h[keep]
    boxes = Boxes(
        sample=sample,
        class_index=index,
        x=(cx - w / 2) * W,
        y=(cy - h / 2) * H,
        w=w * W,
        h=h * H,
        area=w * h * W * H,
        area_share=w * h,
        iscrowd=np.zeros(len(sample), dtype=bool),
        source_id=lines.line[keep],
    )
    split = [_split_of(p) for p in paths]
    return build_detection(
        images=Images(
            path=paths,
            split=split if any(s is not None for s in split) else None,
            width=width,
            height=height,
            extra={
                "label_file": pa.array(
                    _label_file_per_image(len(paths), row_of_file, label_names), pa.string()
                )
            },
        ),
        boxes=boxes,
        classes=names,
        class_ids=range(len(names)),
        source=_source(item, "yolo"),
        findings=findings,
        limits=limits,
    )


def _label_file_per_image(n: int, row_of_file: np.ndarray, label_names: list[str]) -> list:
    result: list[str | None] = [None] * n
    for name, row in zip(label_names, row_of_file.tolist(), strict=True):
        if row >= 0 and result[row] is None:
            result[row] = name
    return result


# --------------------------------------------------------------------------- VOC


def _read_voc_container(item: Input, entries: Entries, limits: Limits, probe: str) -> Dataset:
    findings = list(entries.findings)
    xml_files = [i for i, n in enumerate(entries.names) if n.lower().endswith(".xml")]
    image_names = [n for n in entries.names if _is_image(n)]
    lists = {}
    for i, n in enumerate(entries.names):
        folder, _, base = n.rpartition("/")
        stem = base.rpartition(".")[0]
        if folder.endswith("ImageSets/Main") and base.endswith(".txt") and stem in voc.SPLIT_LISTS:
            lists[stem] = entries.read(i, limit=limits.max_entry_uncompressed)
    split_by_id = voc.split_lists(lists)
    known = set(image_names)
    by_name = _file_matcher(image_names, "")
    paths, split, widths, heights, present = [], [], [], [], []
    sample, names, box_rows = [], [], []
    difficult = []
    for i in xml_files:
        file = entries.names[i]
        parsed = voc.parse_voc(
            entries.read(i, limit=limits.max_entry_uncompressed), file, item.name, findings
        )
        if parsed is None:
            continue
        folder = file.rpartition("/")[0]
        stem = file.rpartition("/")[2].rpartition(".")[0]
        root = folder[: -len("Annotations")] if folder.endswith("Annotations") else None
        image = _voc_image(parsed.filename, stem, folder, root, known, by_name, image_names)
        row = len(paths)
        paths.append(image if image is not None else (parsed.filename or stem))
        present.append(image is not None)
        split.append(split_by_id.get(stem) or _split_of(file))
        widths.append(parsed.width)
        heights.append(parsed.height)
        sample += [row] * len(parsed.names)
        names += parsed.names
        box_rows += parsed.boxes
        difficult += parsed.difficult
    if not paths:
        raise DatasetError(
            f"{item.name!r} has no Pascal VOC annotation file that can be read.", kind="bad_voc"
        )
    classes = sorted(set(names))
    position = {c: k for k, c in enumerate(classes)}
    index = np.array([position[n] for n in names], dtype=np.int32)
    xywh = np.array(box_rows, dtype=np.float64).reshape(-1, 4)
    width, height = np.array(widths), np.array(heights)
    rows = np.array(sample, dtype=np.int64)
    area = xywh[:, 2] * xywh[:, 3]
    with np.errstate(divide="ignore", invalid="ignore"):
        share = area / (width[rows] * height[rows])
    boxes = Boxes(
        sample=rows, class_index=index, x=xywh[:, 0], y=xywh[:, 1], w=xywh[:, 2], h=xywh[:, 3],
        area=area, area_share=share, iscrowd=np.zeros(len(rows), bool),
    )  # fmt: skip
    findings += _presence_findings(paths, present, image_names, "the XML annotations")
    return build_detection(
        images=Images(
            path=paths,
            split=split if any(s is not None for s in split) else None,
            width=width,
            height=height,
            extra={
                "difficult_boxes": pa.array(
                    np.bincount(rows[np.array(difficult, bool)], minlength=len(paths))
                    if difficult
                    else np.zeros(len(paths), np.int64)
                )
            },
        ),
        boxes=boxes,
        classes=classes,
        class_ids=range(len(classes)),
        source=_source(item, "voc"),
        findings=findings,
        limits=limits,
    )


def _voc_image(
    filename: str | None,
    stem: str,
    folder: str,
    root: str | None,
    known: set[str],
    by_name: Callable[[str | None], int],
    image_names: list[str],
) -> str | None:
    """The image an annotation file describes: its <filename> in JPEGImages/, beside
    the XML, as written, or by base name; else an image with the XML's stem."""
    candidates = []
    if filename:
        if root is not None:
            candidates.append(f"{root}JPEGImages/{filename}")
        candidates += [f"{folder}/{filename}" if folder else filename, filename]
    for candidate in candidates:
        if candidate in known:
            return candidate
    prefixes = ([f"{root}JPEGImages/"] if root is not None else []) + [
        f"{folder}/" if folder else ""
    ]
    for prefix in prefixes:
        for ext in sorted(IMAGE_EXTENSIONS):
            for name in (f"{prefix}{stem}.{ext}", f"{prefix}{stem}.{ext.upper()}"):
                if name in known:
                    return name
    if filename:
        match = by_name(filename)
        if match >= 0:
            return image_names[match]
    return None
