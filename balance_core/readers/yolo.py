"""YOLO (Ultralytics / Darknet) label files -> boxes.

A label file holds one object per line, ``class x_center y_center width height``
normalised to [0, 1] (a segment line, ``class x1 y1 x2 y2 ...``, becomes its
bounding box, as Ultralytics' ``segments2boxes``). Label files sit in a
``labels/`` folder mirroring ``images/`` (``train/images/a.jpg`` ->
``train/labels/a.txt``, Roboflow's export; or ``images/train`` -> ``labels/train``),
or beside their images (Darknet, CVAT's "YOLO 1.1"). Class names come from
``data.yaml`` (read with ``yaml.safe_load`` only: no Python object is ever built)
or from ``classes.txt`` / ``obj.names``.

All lines of all files are parsed at once with pyarrow's string kernels; a bad
line is reported with its file and line number, never guessed at.

References
----------
Ultralytics, "Object detection datasets overview",
https://docs.ultralytics.com/datasets/detect/ (label format and ``data.yaml``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import yaml

from ..dataset import Finding, FindingKind, Severity
from ..errors import DatasetError

__all__ = ["NAME_FILES", "YAML_FILES", "YoloLines", "image_key", "label_key", "parse_names"]

YAML_FILES = ("data.yaml", "data.yml", "dataset.yaml", "dataset.yml")
NAME_FILES = ("classes.txt", "obj.names", "classes.names", "_darknet.labels")
NOT_LABEL_FILES = frozenset(
    {"classes.txt", "train.txt", "val.txt", "valid.txt", "test.txt", "readme.txt",
     "readme.roboflow.txt", "obj.data", "labels.txt", "notes.txt"}
)  # fmt: skip
MAX_NAMES_FILE = 1 << 20
_NUMBER = r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$"
_CLASS = r"^\d+$"


def label_key(name: str) -> str:
    """The pairing key of a label file: its path without the extension."""
    return name.rpartition(".")[0]


def image_key(name: str) -> str:
    """The label file an image expects, without extension: the last ``images``
    folder becomes ``labels`` (Ultralytics' ``img2label_paths``); an image outside
    any ``images`` folder expects its label beside it."""
    stem = name.rpartition(".")[0]
    parts = stem.split("/")
    for k in range(len(parts) - 2, -1, -1):
        if parts[k] == "images":
            parts[k] = "labels"
            return "/".join(parts)
    return stem


def is_label_file(name: str) -> bool:
    """A ``.txt`` file in a ``labels`` folder (not a list or names file)."""
    base = name.rpartition("/")[2].lower()
    return (
        base.endswith(".txt") and base not in NOT_LABEL_FILES and "labels" in name.split("/")[:-1]
    )


def parse_names(data: bytes, file: str) -> list[str]:
    """Class names from a ``data.yaml`` (``names`` as a list, or a mapping of class
    index to name) or a names file (one name per line)."""
    if len(data) > MAX_NAMES_FILE:
        raise DatasetError(
            f"{file!r} is {len(data):,} bytes, too large for a class-names file.",
            kind="bad_yolo",
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise DatasetError(
            f"{file!r} is not UTF-8 text; save it as UTF-8.", kind="bad_yolo"
        ) from None
    if not file.lower().endswith((".yaml", ".yml")):
        return [line.strip() for line in text.splitlines() if line.strip()]
    try:
        document = yaml.safe_load(text)
    except yaml.constructor.ConstructorError as error:
        tag = getattr(error, "problem", "") or ""
        raise DatasetError(
            f"{file!r} asks YAML to build objects ({tag.strip()[:80]}); Seesaw reads YAML "
            "with safe_load only, so remove the tag and list the names as plain text.",
            kind="bad_yolo",
        ) from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise DatasetError(
            f"{file!r} is not valid YAML{where}; fix it so that 'names:' lists the class names.",
            kind="bad_yolo",
        ) from None
    if not isinstance(document, dict) or "names" not in document:
        raise DatasetError(
            f"{file!r} has no 'names:' entry; list the class names there "
            "(names: [cat, dog] or names: {{0: cat, 1: dog}}).",
            kind="bad_yolo",
        )
    names = document["names"]
    if isinstance(names, dict):
        if not all(type(k) is int and k >= 0 for k in names):
            raise DatasetError(
                f"The 'names' mapping of {file!r} must have class numbers 0, 1, 2, ... as keys.",
                kind="bad_yolo",
            )
        count = max(names) + 1 if names else 0
        if sorted(names) != list(range(count)):
            missing = sorted(set(range(count)) - set(names))
            raise DatasetError(
                f"The 'names' of {file!r} skip class number {missing[0]}; give every class "
                f"from 0 to {count - 1} a name.",
                kind="bad_yolo",
            )
        names = [names[k] for k in range(count)]
    if not isinstance(names, list) or not all(
        isinstance(n, (str, int, float)) and not isinstance(n, bool) for n in names
    ):
        raise DatasetError(
            f"The 'names' of {file!r} must be a list of class names.", kind="bad_yolo"
        )
    names = [str(n) for n in names]
    nc = document.get("nc")
    if nc is not None and nc != len(names):
        raise DatasetError(
            f"{file!r} says nc: {nc!r} but lists {len(names)} names; make them agree.",
            kind="bad_yolo",
        )
    return names


@dataclass
class YoloLines:
    """Parsed label lines: one element per box."""

    file: np.ndarray  # index of the label file
    line: np.ndarray  # 1-based line number
    class_id: np.ndarray  # int64
    cx: np.ndarray
    cy: np.ndarray
    w: np.ndarray
    h: np.ndarray
    findings: list[Finding]


def parse_lines(texts: list[bytes], files: list[str]) -> YoloLines:
    """Parse every line of every label file in a few vectorised passes."""
    findings: list[Finding] = []
    try:
        text = b"\n".join(texts).decode("utf-8")
    except UnicodeDecodeError:
        texts, bad_files = _decode_each(texts, files)
        text = b"\n".join(texts).decode("utf-8")
        findings.append(
            Finding(
                kind=FindingKind.BAD_ANNOTATION,
                severity=Severity.ERROR,
                count=len(bad_files),
                message=(
                    f"{len(bad_files):,} label file(s) are not UTF-8 text (first: "
                    f"{bad_files[0]!r}); their boxes are left out."
                ),
                entries=tuple(bad_files),
            )
        )
    lines = pc.split_pattern(pa.array([text], pa.large_string()), "\n").flatten()
    # The file and line number of each line: files were joined with one "\n" each.
    line_counts = _line_counts(texts)
    file_of = np.repeat(np.arange(len(texts)), line_counts)
    line_no = (
        np.arange(len(file_of)) - np.repeat(np.cumsum(line_counts) - line_counts, line_counts) + 1
    )
    tokens = pc.utf8_split_whitespace(lines)
    lengths = pc.list_value_length(tokens).to_numpy(zero_copy_only=False).astype(np.int64)
    if len(lengths) != len(file_of):
        raise DatasetError("The label files could not be split into lines.", kind="bad_yolo")
    blank = pc.equal(pc.utf8_trim_whitespace(lines), "").to_numpy(zero_copy_only=False)
    count = np.where(blank, 0, lengths)
    nonblank = ~blank
    flat = pc.list_flatten(tokens)
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
    numeric = pc.match_substring_regex(flat, _NUMBER).to_numpy(zero_copy_only=False)
    is_class = pc.match_substring_regex(flat, _CLASS).to_numpy(zero_copy_only=False)
    values = np.full(len(flat), np.nan)
    if numeric.any():
        values[numeric] = pc.cast(flat.filter(pa.array(numeric)), pa.float64()).to_numpy()
    # Per line: the class token an index, every other token a number.
    first_ok = np.zeros(len(count), dtype=bool)
    first_ok[nonblank] = is_class[starts[nonblank]]
    running = np.concatenate([[0], np.cumsum(~numeric)])
    bad_per_line = np.where(nonblank, running[starts + lengths] - running[starts], 0)
    coords = count - 1
    box = nonblank & (count == 5)
    segment = nonblank & (count >= 7) & (coords % 2 == 0)
    good = (box | segment) & first_ok & (bad_per_line == 0)
    _report_bad_lines(
        nonblank & ~good,
        count,
        first_ok,
        bad_per_line,
        flat,
        starts,
        files,
        file_of,
        line_no,
        findings,
    )
    chosen = np.flatnonzero(good)
    class_id = values[starts[chosen]].astype(np.int64) if len(chosen) else np.empty(0, np.int64)
    cx = np.empty(len(chosen))
    cy = np.empty(len(chosen))
    w = np.empty(len(chosen))
    h = np.empty(len(chosen))
    is_box = box[chosen]
    at = starts[chosen]
    cx[is_box], cy[is_box] = values[at[is_box] + 1], values[at[is_box] + 2]
    w[is_box], h[is_box] = values[at[is_box] + 3], values[at[is_box] + 4]
    for position in np.flatnonzero(~is_box).tolist():  # segments: few, one at a time
        start, n = at[position] + 1, coords[chosen[position]]
        xs, ys = values[start : start + n : 2], values[start + 1 : start + n : 2]
        cx[position], cy[position] = (xs.min() + xs.max()) / 2, (ys.min() + ys.max()) / 2
        w[position], h[position] = xs.max() - xs.min(), ys.max() - ys.min()
    return YoloLines(
        file=file_of[chosen],
        line=line_no[chosen],
        class_id=class_id,
        cx=cx,
        cy=cy,
        w=w,
        h=h,
        findings=findings,
    )


def _decode_each(texts: list[bytes], files: list[str]) -> tuple[list[bytes], list[str]]:
    kept, bad = [], []
    for data, file in zip(texts, files, strict=True):
        try:
            data.decode("utf-8")
            kept.append(data)
        except UnicodeDecodeError:
            kept.append(b"")
            bad.append(file)
    return kept, bad


def _line_counts(texts: list[bytes]) -> np.ndarray:
    # Files are joined with one "\n": each gives its newlines + 1 lines.
    return np.fromiter((t.count(b"\n") + 1 for t in texts), dtype=np.int64, count=len(texts))


def _report_bad_lines(
    bad, count, first_ok, bad_per_line, flat, starts, files, file_of, line_no, findings
) -> None:
    where = np.flatnonzero(bad)
    if not len(where):
        return
    reasons: dict[str, list[int]] = {}
    for line in where.tolist():
        n = int(count[line])
        if not first_ok[line]:
            token = flat[int(starts[line])].as_py()
            key = (
                f"the line starts with {token[:40]!r}, not a class number: YOLO lines start "
                "with the class index (0, 1, ...) and the names go in data.yaml"
            )
        elif bad_per_line[line]:
            key = "a value on the line is not a number"
        elif n < 5:
            key = (
                f"the line has {n} number{'s' if n != 1 else ''}, and a YOLO box needs 5 "
                "(class x_center y_center width height)"
            )
        elif n == 6:
            key = (
                "the line has 6 numbers, and a YOLO box has 5 (class x_center y_center width "
                "height): a sixth is usually a prediction's confidence, so export the "
                "ground-truth labels instead"
            )
        else:
            key = (
                f"the line has {n} numbers, and a segment needs a class and an even number "
                "of coordinates (x y pairs)"
            )
        reasons.setdefault(key, []).append(line)
    for key, lines in reasons.items():
        places = tuple(f"{files[int(file_of[k])]}:{int(line_no[k])}" for k in lines)
        findings.append(
            Finding(
                kind=FindingKind.BAD_ANNOTATION,
                severity=Severity.ERROR,
                count=len(places),
                message=(
                    f"{len(places):,} label line{'s' if len(places) != 1 else ''} left out of "
                    f"the counts (first: {places[0]!r}): {key}."
                ),
                entries=places,
            )
        )


def numeric_stem(name: str) -> bool:
    return bool(re.fullmatch(r"\d+", name))
