"""COCO object detection annotations (``instances_*.json``) -> Dataset.

The JSON is streamed (ijson's C parser, a few passes of 64 KiB reads), never
loaded whole: annotations go straight into numpy columns in chunks, so memory
grows by about 70 bytes per box instead of the kilobyte a parsed Python dict
costs. Every field is checked; a file that is not COCO gets one sentence saying
which field of which annotation is wrong.

References
----------
Lin, T.-Y. et al. (2014). Microsoft COCO: Common Objects in Context. ECCV.
Data format: https://cocodataset.org/#format-data ("Object Detection").
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, BinaryIO

import ijson
import numpy as np

from ..dataset import Finding, FindingKind, Severity
from ..errors import DatasetError
from ..limits import Limits, limit_error
from .boxes import Boxes

__all__ = ["CocoFile", "coco_boxes", "looks_like_coco", "parse_coco", "stream_of"]

CHUNK = 65_536
_HEAD = 1 << 16
# Categories are looked for in this many bytes at the end of the file.
TAIL_BYTES = 1 << 20


def looks_like_coco(head: bytes) -> bool:
    """Whether the first bytes of a JSON file look like a COCO annotation file."""
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if not text.startswith(b"{"):
        return False
    return any(key in text for key in (b'"images"', b'"annotations"', b'"categories"'))


@dataclass
class CocoFile:
    """One parsed COCO file, as columns."""

    image_ids: np.ndarray
    file_names: list[str]
    widths: np.ndarray  # float64, NaN where not given
    heights: np.ndarray
    category_ids: np.ndarray
    category_names: list[str]
    ann_ids: np.ndarray
    ann_image: np.ndarray
    ann_category: np.ndarray
    bbox: np.ndarray  # (n, 4) float64
    area: np.ndarray  # float64, NaN where not given
    iscrowd: np.ndarray  # bool
    findings: list[Finding]
    has_categories: bool

    def release(self) -> None:
        """Drop the annotation columns once they are turned into boxes (memory)."""
        empty = np.zeros(0)
        self.ann_ids = self.ann_image = self.ann_category = self.area = empty
        self.bbox = np.zeros((0, 4))
        self.iscrowd = np.zeros(0, dtype=bool)


def _bad(name: str, message: str) -> DatasetError:
    return DatasetError(
        f"{name!r} is not a COCO annotation file we can use: {message}", kind="bad_coco"
    )


def parse_coco(
    open_stream: Callable[[], BinaryIO],
    name: str,
    limits: Limits,
    *,
    tail: Callable[[int], bytes] | None = None,
) -> CocoFile:
    """Parse a COCO file read from ``open_stream()`` (called once per pass).

    ``tail(n)``, when the input can be read from its end, returns its last ``n``
    bytes: ``categories`` usually come last (as in COCO's own files) and are then
    read from there instead of parsing the whole file once more.

    Raises :class:`DatasetError` (kind ``bad_coco``) with one sentence for a file
    that is not COCO: not a JSON object, ``bbox`` not four numbers (or numbers
    written as text), ids that are not whole numbers >= 0, an image or category id
    given twice; kind ``limit_hit`` above ``max_table_rows`` images or boxes.
    """
    _check_top(open_stream, name)
    findings: list[Finding] = []
    images = _parse_images(_whole_list(open_stream, "images", name), name, limits)
    categories = _list_at_end(tail, "categories")
    if categories is None:
        categories = _whole_list(open_stream, "categories", name)
    has_categories = bool(categories)
    category_ids, category_names = _parse_categories(categories, name)
    annotations = _parse_annotations(open_stream, name, limits, findings)
    return CocoFile(
        *images,
        category_ids=category_ids,
        category_names=category_names,
        **annotations,
        findings=findings,
        has_categories=has_categories,
    )


def _check_top(open_stream: Callable[[], BinaryIO], name: str) -> None:
    with open_stream() as stream:
        head = stream.read(_HEAD)
    if not looks_like_coco(head):
        raise _bad(
            name,
            "it is not a JSON object with 'images', 'annotations' and 'categories'; export "
            "the dataset as COCO JSON.",
        )


def _items(open_stream: Callable[[], BinaryIO], prefix: str, name: str):
    stream = open_stream()
    try:
        yield from ijson.items(stream, prefix, use_float=True)
    except ijson.JSONError as error:
        raise DatasetError(
            f"{name!r} is not valid JSON ({_short(error)}); export it again.", kind="parse_error"
        ) from None
    finally:
        stream.close()


def _list_at_end(tail: Callable[[int], bytes] | None, key: str) -> list[Any] | None:
    """The top-level array ``key`` when it is the file's last member, read from the
    last bytes; None when it is not there (then the caller parses the file).

    A match is accepted only if ``{`` + the text from the key to the end of the
    file is one complete JSON object: a nested key of that name would leave
    closing brackets over, and a quote inside a string is always escaped."""
    if tail is None:
        return None
    data = tail(TAIL_BYTES)
    position = data.rfind(b'"' + key.encode() + b'"')
    if position < 0:
        return None
    document = b"{" + data[position:]
    try:
        found = list(ijson.kvitems(io.BytesIO(document), "", use_float=True))
    except ijson.JSONError:
        return None
    if len(found) != 1 or found[0][0] != key or not isinstance(found[0][1], list):
        return None
    return found[0][1]


def _whole_list(open_stream: Callable[[], BinaryIO], key: str, name: str) -> list[Any]:
    """The top-level array ``key`` (images or categories, small next to the
    annotations), read until it ends: the rest of the file is not parsed."""
    found = _items(open_stream, key, name)
    try:
        value = next(found, None)
    finally:
        found.close()
    if value is None:
        return []
    if not isinstance(value, list):
        raise _bad(name, f"{key!r} is not a list.")
    return value


def _short(error: Exception) -> str:
    text = str(error).strip().splitlines()
    return (text[0] if text else type(error).__name__)[:200]


def _whole(value: Any) -> bool:
    return type(value) is int


def _check_id(value: Any, what: str, name: str) -> int:
    if not _whole(value):
        raise _bad(
            name,
            f"{what} is {value!r} ({type(value).__name__}); COCO ids are whole numbers.",
        )
    if value < 0:
        raise _bad(name, f"{what} is {value}; COCO ids are whole numbers >= 0.")
    return value


def _size(value: Any, what: str, name: str) -> float:
    if value is None:
        return math.nan
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _bad(name, f"{what} is {value!r}; image sizes are numbers of pixels.")
    return float(value)


def _parse_images(images: list[Any], name: str, limits: Limits):
    if len(images) > limits.max_table_rows:
        raise limit_error(
            f"{name!r} lists {len(images):,} images", "max_table_rows", limits.max_table_rows
        )
    ids: list[int] = []
    names: list[str] = []
    widths: list[float] = []
    heights: list[float] = []
    for position, image in enumerate(images):
        if not isinstance(image, dict):
            raise _bad(name, f"images[{position}] is not an object.")
        ids.append(_check_id(image.get("id"), f"the id of images[{position}]", name))
        file_name = image.get("file_name")
        if not isinstance(file_name, str) or not file_name:
            raise _bad(name, f"images[{position}] has no file_name.")
        names.append(file_name)
        widths.append(_size(image.get("width"), f"the width of image {ids[-1]}", name))
        heights.append(_size(image.get("height"), f"the height of image {ids[-1]}", name))
    image_ids = np.array(ids, dtype=np.int64)
    _refuse_duplicates(image_ids, "image", name, names)
    return image_ids, names, np.array(widths, dtype=np.float64), np.array(heights, np.float64)


def _refuse_duplicates(ids: np.ndarray, what: str, name: str, labels: list[str]) -> None:
    if len(ids) < 2:
        return
    order = np.argsort(ids, kind="stable")
    same = np.flatnonzero(ids[order][1:] == ids[order][:-1])
    if len(same):
        first, second = order[same[0]], order[same[0] + 1]
        raise _bad(
            name,
            f"{what} id {int(ids[first])} is given twice ({labels[first]!r} and "
            f"{labels[second]!r}), so its boxes could belong to either; give every {what} "
            "its own id.",
        )


def _parse_categories(categories: list[Any], name: str) -> tuple[np.ndarray, list[str]]:
    ids: list[int] = []
    names: list[str] = []
    for position, category in enumerate(categories):
        if not isinstance(category, dict):
            raise _bad(name, f"categories[{position}] is not an object.")
        ids.append(_check_id(category.get("id"), f"the id of categories[{position}]", name))
        label = category.get("name")
        if not isinstance(label, str) or not label:
            raise _bad(name, f"category {ids[-1]} has no name.")
        names.append(label)
    array = np.array(ids, dtype=np.int64)
    _refuse_duplicates(array, "category", name, names)
    return array, names


def _parse_annotations(open_stream, name: str, limits: Limits, findings: list[Finding]) -> dict:
    ids: list[np.ndarray] = []
    image: list[np.ndarray] = []
    category: list[np.ndarray] = []
    bbox: list[np.ndarray] = []
    area: list[np.ndarray] = []
    crowd: list[np.ndarray] = []
    chunk: list[Any] = []
    total = 0
    for annotation in _items(open_stream, "annotations.item", name):
        chunk.append(annotation)
        if len(chunk) == CHUNK:
            total += len(chunk)
            if total > limits.max_table_rows:
                raise limit_error(
                    f"{name!r} holds more than {limits.max_table_rows:,} annotations",
                    "max_table_rows",
                    limits.max_table_rows,
                )
            _columns(chunk, total - len(chunk), name, ids, image, category, bbox, area, crowd)
            chunk = []
    if chunk:
        total += len(chunk)
        if total > limits.max_table_rows:
            raise limit_error(
                f"{name!r} holds more than {limits.max_table_rows:,} annotations",
                "max_table_rows",
                limits.max_table_rows,
            )
        _columns(chunk, total - len(chunk), name, ids, image, category, bbox, area, crowd)

    def joined(parts: list[np.ndarray], dtype, shape=()) -> np.ndarray:
        return np.concatenate(parts) if parts else np.empty((0, *shape), dtype=dtype)

    ann_ids = joined(ids, np.int64)
    result = {
        "ann_ids": ann_ids,
        "ann_image": joined(image, np.int64),
        "ann_category": joined(category, np.int64),
        "bbox": joined(bbox, np.float64, (4,)),
        "area": joined(area, np.float64),
        "iscrowd": joined(crowd, bool),
    }
    if len(ann_ids) > 1:
        order = np.sort(ann_ids)
        twice = order[1:][order[1:] == order[:-1]]
        if len(twice):
            distinct = np.unique(twice)
            findings.append(
                Finding(
                    kind=FindingKind.BAD_ANNOTATION,
                    severity=Severity.WARNING,
                    count=len(twice),
                    message=(
                        f"{len(distinct):,} annotation id{'s are' if len(distinct) > 1 else ' is'}"
                        f" used more than once in {name!r} (first: {int(distinct[0])}); every "
                        "box is counted, but tools that index boxes by id (pycocotools' "
                        "loadAnns) keep only one of each."
                    ),
                )
            )
    return result


def _columns(chunk, offset, name, ids, image, category, bbox, area, crowd) -> None:
    """Check one chunk of annotation objects and append its columns."""
    for position, annotation in enumerate(chunk):
        if not isinstance(annotation, dict):
            raise _bad(name, f"annotations[{offset + position}] is not an object.")
    raw_ids = [a.get("id") for a in chunk]
    raw_image = [a.get("image_id") for a in chunk]
    raw_category = [a.get("category_id") for a in chunk]
    ids.append(_id_column(raw_ids, "id", chunk, offset, name))
    image.append(_id_column(raw_image, "image_id", chunk, offset, name))
    category.append(_id_column(raw_category, "category_id", chunk, offset, name))
    raw_boxes = [a.get("bbox") for a in chunk]
    boxes = _box_column(raw_boxes, chunk, offset, name)
    bbox.append(boxes)
    raw_area = [a.get("area") for a in chunk]
    area.append(_float_column(raw_area, "area", chunk, offset, name))
    crowd_values = [a.get("iscrowd", 0) for a in chunk]
    try:
        flags = np.array(crowd_values)
    except (ValueError, TypeError, OverflowError):
        flags = np.array([], dtype=object)
    if (
        flags.shape != (len(chunk),)
        or flags.dtype.kind not in "biu"
        or (len(flags) and not np.isin(flags, (0, 1)).all())
    ):
        position = next(
            (i for i, v in enumerate(crowd_values) if v not in (0, 1, True, False, None)), None
        )
        if position is not None:
            raise _bad(
                name,
                f"annotation {_which(chunk, offset, position)} has iscrowd "
                f"{crowd_values[position]!r}; it must be 0 or 1.",
            )
        flags = np.array([c in (1, True) for c in crowd_values], dtype=bool)
    crowd.append(flags.astype(bool))


def _which(chunk, offset, position) -> str:
    value = chunk[position].get("id")
    return repr(value) if _whole(value) else f"number {offset + position}"


def _id_column(values: list[Any], field: str, chunk, offset, name) -> np.ndarray:
    try:
        array = np.array(values)
    except (ValueError, TypeError, OverflowError):
        array = np.array([], dtype=object)
    if array.dtype.kind in "iu" and array.shape == (len(values),):
        array = array.astype(np.int64, copy=False)
        if len(array) and array.min() < 0:
            position = int(np.argmax(array < 0))
            raise _bad(
                name,
                f"annotation {_which(chunk, offset, position)} has {field} "
                f"{values[position]}; COCO ids are whole numbers >= 0.",
            )
        return array
    if not values:
        return np.empty(0, dtype=np.int64)
    position = next(i for i, v in enumerate(values) if type(v) is not int)
    value = values[position]
    what = "no " + field if value is None else f"{field} {value!r} ({type(value).__name__})"
    raise _bad(
        name,
        f"annotation {_which(chunk, offset, position)} has {what}; COCO ids are whole numbers.",
    )


def _box_column(values: list[Any], chunk, offset, name) -> np.ndarray:
    try:
        array = np.array(values)
    except (ValueError, TypeError, OverflowError):  # ragged lists
        array = np.array([], dtype=object)
    if array.dtype.kind in "iuf" and array.shape == (len(values), 4):
        return array.astype(np.float64, copy=False)
    if not values:
        return np.empty((0, 4), dtype=np.float64)
    ok = [
        isinstance(v, list)
        and len(v) == 4
        and all(not isinstance(c, bool) and isinstance(c, (int, float)) for c in v)
        for v in values
    ]
    position = ok.index(False)
    value = values[position]
    which = _which(chunk, offset, position)
    if value is None:
        why = "has no bbox"
    elif isinstance(value, str) or (
        isinstance(value, list) and any(isinstance(c, str) for c in value)
    ):
        why = f"gives its bbox as text ({str(value)[:60]!r})"
    elif isinstance(value, list):
        why = f"has a bbox of {len(value)} values ({str(value)[:60]})"
    else:
        why = f"has bbox {str(value)[:60]!r}"
    raise _bad(
        name, f"annotation {which} {why}; COCO boxes are four numbers [x, y, width, height]."
    )


def _float_column(values: list[Any], field: str, chunk, offset, name) -> np.ndarray:
    try:
        array = np.array(values)
    except (ValueError, TypeError, OverflowError):
        array = np.array([], dtype=object)
    if array.dtype.kind in "iuf" and array.shape == (len(values),):
        return array.astype(np.float64, copy=False)
    out = np.full(len(values), np.nan)
    for position, value in enumerate(values):
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise _bad(
                name,
                f"annotation {_which(chunk, offset, position)} has {field} {value!r}; it must "
                "be a number.",
            )
        out[position] = value
    return out


def coco_boxes(
    parsed: CocoFile, class_position: dict[int, int], row_offset: int = 0
) -> tuple[Boxes, np.ndarray, np.ndarray]:
    """The boxes of a parsed file, pointing at dataset rows ``row_offset + k`` for
    its ``k``-th image, with class indices from ``class_position`` (category id ->
    class index; -1 where the id is not there).

    Returns the boxes of listed images, the mask of annotations whose image is not
    listed (orphans) and, among the returned boxes, the category ids without a name.
    """
    order = np.argsort(parsed.image_ids, kind="stable")
    sorted_ids = parsed.image_ids[order]
    if len(sorted_ids):
        where = np.minimum(np.searchsorted(sorted_ids, parsed.ann_image), len(sorted_ids) - 1)
        found = sorted_ids[where] == parsed.ann_image
        image = order[where]
    else:
        found = np.zeros(len(parsed.ann_image), dtype=bool)
        image = np.zeros(len(parsed.ann_image), dtype=np.int64)
    class_index = _class_index(parsed.ann_category, class_position)
    everything = bool(found.all())

    def kept(values: np.ndarray) -> np.ndarray:
        return values if everything else values[found]

    x, y, w, h = (np.ascontiguousarray(kept(parsed.bbox[:, k])) for k in range(4))
    area = kept(parsed.area)
    missing_area = np.isnan(area)
    if missing_area.any():
        area = np.where(missing_area, w * h, area)
    image = kept(image)
    share = area.copy()
    if len(parsed.widths):
        with np.errstate(divide="ignore", invalid="ignore"):
            share /= parsed.widths[image] * parsed.heights[image]
        share[~np.isfinite(share)] = np.nan
    else:
        share[:] = np.nan
    index = kept(class_index)
    boxes = Boxes(
        sample=image + row_offset,
        class_index=index,
        x=x,
        y=y,
        w=w,
        h=h,
        area=area,
        area_share=share,
        iscrowd=kept(parsed.iscrowd),
        source_id=kept(parsed.ann_ids),
    )
    return boxes, ~found, kept(parsed.ann_category)[index < 0]


def _class_index(category: np.ndarray, class_position: dict[int, int]) -> np.ndarray:
    """Class index of each category id (-1 where the id has no category)."""
    largest = max(int(category.max(initial=0)), max(class_position, default=0))
    if largest < 1 << 22:  # a lookup table; COCO ids are small
        table = np.full(largest + 1, -1, dtype=np.int32)
        for cid, position in class_position.items():
            table[cid] = position
        return table[category]
    distinct, inverse = np.unique(category, return_inverse=True)
    mapped = np.array([class_position.get(int(c), -1) for c in distinct], dtype=np.int32)
    return mapped[inverse] if len(distinct) else np.zeros(0, np.int32)


def stream_of(data: bytes) -> Callable[[], BinaryIO]:
    return lambda: io.BytesIO(data)
