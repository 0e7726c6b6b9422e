"""Readers: bytes or a path in, a :class:`~balance_core.dataset.Dataset` out."""

from __future__ import annotations

import os
import struct
from collections.abc import Callable, Sequence
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from ..dataset import Dataset
from ..errors import DatasetError
from ..limits import DEFAULT_LIMITS, Limits
from .sources import InputLike, is_office_package, open_input
from .tables import SNIFF_BYTES, check_input_size, detect_format, read_table

__all__ = ["FORMATS", "MULTILABEL_MODES", "read_dataset", "read_table", "read_zip"]

TABLE_FORMATS = ("csv", "tsv", "txt", "json", "jsonl", "parquet", "xlsx")
FORMATS = ("table", "zip", "coco", "yolo", "voc", *TABLE_FORMATS)
"""Values of ``read_dataset(format=...)``: a labels table (or one of its formats), a
zip of class folders, or a detection format."""
MULTILABEL_MODES = ("auto", "on", "off")
# Auto mode takes a separator column for several labels only when at least this
# share of its distinct labels also stand alone in some cell: "Cardiomegaly" next
# to "Cardiomegaly|Emphysema", never "Smith" next to "Smith, J".
MIN_ALONE_SHARE = 0.5


def read_zip(source: InputLike, **options) -> Dataset:
    """Read a zip of image folders; see :func:`balance_core.readers.zipped.read_zip`."""
    from .zipped import read_zip as _read_zip

    return _read_zip(source, **options)


def read_dataset(
    source: InputLike,
    *,
    name: str | None = None,
    label_col: str | None = None,
    path_col: str | None = None,
    split_col: str | None = None,
    group_col: str | None = None,
    sheet: str | None = None,
    probe: str = "all",
    limits: Limits | None = None,
    progress: Callable[[int, int], None] | None = None,
    format: str | None = None,
    multilabel: str = "auto",
    labels_sep: str | None = None,
    label_cols: Sequence[str] | None = None,
    uncertain: str = "ignore",
    empty_label: str | None = None,
) -> Dataset:
    """Read a labels table, a zip of image folders or a detection dataset, whichever
    ``source`` holds.

    The format is taken from the content, not the file name: a COCO JSON file, or
    a zip (or folder) holding COCO JSON, YOLO ``labels/*.txt`` or Pascal VOC XML,
    is read by :func:`~balance_core.readers.detection.read_detection`; any other
    zip by :func:`read_zip`; anything else by :func:`read_table`.

    Parameters
    ----------
    source : bytes, path or binary file
        The input; a folder path for a detection dataset on disk.
    name, label_col, path_col, split_col, group_col, sheet, limits
        As for :func:`read_table` and :func:`read_zip` (``sheet`` for workbooks).
    probe : {"all", "sample", "none"}, default "all"
        Image headers to read in a zip; a detection set reads all of them (YOLO
        boxes need the image size) unless ``"none"``.
    progress : callable, optional
        ``progress(done, total)`` while a zip's images are probed.
    format : str, optional
        Skip detection: ``"table"`` (or ``"csv"``, ``"tsv"``, ``"txt"``,
        ``"json"``, ``"jsonl"``, ``"parquet"``, ``"xlsx"``), ``"zip"`` (class
        folders or a metadata file), ``"coco"``, ``"yolo"`` or ``"voc"``.
    multilabel : {"auto", "on", "off"}, default "auto"
        Several labels per row in a table (or a zip's metadata file), read with
        :func:`~balance_core.readers.multilabel.read_multilabel_table`. ``"auto"``
        takes them only when the data leaves little doubt: a label column whose
        cells join labels with ``|``, ``;`` or ``,`` (as sniffed by
        :func:`~balance_core.readers.multilabel.sniff_multilabel`) and at least
        half of whose labels also stand alone in some cell, or, with no label
        column given or named like one, at least three 1/0 indicator columns that
        make up half of the other columns. ``"on"`` takes whatever the sniffer
        finds (and says so when it finds nothing); ``"off"`` keeps one label per
        row, each combination a class. ``labels_sep`` or ``label_cols`` imply
        ``"on"``.
    labels_sep : str, optional
        The separator of a column of joined labels (the label column, or
        ``label_col``).
    label_cols : sequence of str, optional
        Indicator columns, one per label, in class order.
    uncertain : {"ignore", "zeros", "ones"}, default "ignore"
        How CheXpert's -1 (uncertain) cells count.
    empty_label : str, optional
        The label meaning "no label" (default: ``No Finding`` when it stands
        alone); ``""`` keeps every label.

    Returns
    -------
    Dataset
        ``Dataset.kind`` is ``"single"``, ``"multilabel"`` or ``"detection"``.

    Raises
    ------
    DatasetError
        One sentence on what is wrong, from the reader that read the input, or for
        options that contradict each other.
    """
    _check_options(format, multilabel, labels_sep, label_cols)
    limits = limits or DEFAULT_LIMITS
    roles = {
        "label_col": label_col,
        "path_col": path_col,
        "split_col": split_col,
        "group_col": group_col,
    }
    if isinstance(source, (str, os.PathLike)) and Path(source).is_dir():
        if format not in (None, "coco", "yolo", "voc"):
            raise DatasetError(
                f"{Path(source).name!r} is a folder; only detection datasets (COCO, YOLO, "
                "VOC) are read from a folder: zip it, or give the labels table.",
                kind="usage",
            )
        return _detection(source, name, format, probe, limits, roles)
    if format in ("coco", "yolo", "voc"):
        return _detection(source, name, format, probe, limits, roles)
    item = open_input(source, name=name)
    check_input_size(item, limits)
    if format is None and item.size:
        found = _sniff_detection(item, limits)
        if found is not None:
            return _detection(item.content, item.name, found, probe, limits, roles)
    if format == "zip" or (format is None and item.size and _is_zip(item)):
        dataset = read_zip(
            item.content, name=item.name, probe=probe, limits=limits, progress=progress, **roles
        )
    else:
        table_format = None if format in (None, "table") else format
        dataset = read_table(
            item.content, name=item.name, format=table_format, sheet=sheet, limits=limits, **roles
        )
    return _multilabel(
        dataset, multilabel, labels_sep, label_cols, uncertain, empty_label, limits, label_col
    )


def _check_options(format, multilabel, labels_sep, label_cols) -> None:
    if format is not None and format not in FORMATS:
        raise DatasetError(
            f"format must be one of {', '.join(FORMATS)}, not {format!r}.", kind="usage"
        )
    if multilabel not in MULTILABEL_MODES:
        raise DatasetError(
            f"multilabel must be one of {', '.join(MULTILABEL_MODES)}, not {multilabel!r}.",
            kind="usage",
        )
    forced = labels_sep is not None or label_cols is not None
    if forced and multilabel == "off":
        raise DatasetError(
            "labels_sep and label_cols read several labels per row, which multilabel='off' "
            "turns off; drop one of them.",
            kind="usage",
        )
    if labels_sep is not None and label_cols is not None:
        raise DatasetError(
            "Give labels_sep (one column of joined labels) or label_cols (one column per "
            "label), not both.",
            kind="usage",
        )
    if forced and format in ("coco", "yolo", "voc"):
        raise DatasetError(
            f"labels_sep and label_cols are for tables; {format} data has boxes.", kind="usage"
        )


def _detection(source, name, format, probe, limits, roles) -> Dataset:
    from .detection import read_detection

    given = [f"{role[:-4]}" for role, column in roles.items() if column is not None]
    if given:
        raise DatasetError(
            f"A detection dataset has no {given[0]} column to choose: its images, boxes and "
            "split folders are read from the annotations; drop the column options.",
            kind="usage",
        )
    return read_detection(
        source, name=name, format=format, probe="none" if probe == "none" else "all",
        limits=limits,
    )  # fmt: skip


def _sniff_detection(item, limits: Limits) -> str | None:
    """A detection format by content, or None. A zip with a metadata file stays a
    zip of images (the metadata takes precedence, as always), and so does one whose
    only sign of YOLO is a ``data.yaml`` beside class folders."""
    from . import coco
    from .detection import _container_format
    from .entries import open_entries
    from .yolo import is_label_file
    from .zipped import METADATA_FILES

    if not _is_zip(item):
        return "coco" if coco.looks_like_coco(item.head(1 << 16)) else None
    try:
        if not _may_hold_annotations(item, limits):
            return None
        with open_entries(item, limits) as entries:
            names = entries.names
            if any(
                n.rpartition("/")[2].lower() in METADATA_FILES and n.count("/") <= 1 for n in names
            ):
                return None
            found = _container_format(entries)
            if found == "yolo" and not any(is_label_file(n) for n in names):
                return None
            return found
    except DatasetError:
        return None  # read_zip says what is wrong with the zip


# Names an annotation file can have; a zip with none of them is not read twice.
_ANNOTATION_NAME = r"(?i)(\.json|\.xml|(^|/)labels/.*\.txt|(^|/)(data|dataset)\.ya?ml)$"


def _may_hold_annotations(item, limits: Limits) -> bool:
    """Whether any entry name of the zip could be an annotation file: the names
    alone, from the central directory, without classifying the entries (a zip of
    class folders then costs one directory read more, not a second full pass)."""
    from . import zipped

    with zipped._archive_bytes(item) as buffer:
        names = zipped._read_directory(buffer, item.name, limits).names
        return bool(pc.any(pc.match_substring_regex(names, _ANNOTATION_NAME)).as_py())


def _multilabel(
    dataset: Dataset,
    mode: str,
    sep: str | None,
    label_cols: Sequence[str] | None,
    uncertain: str,
    empty_label: str | None,
    limits: Limits,
    label_col: str | None,
) -> Dataset:
    from .multilabel import read_multilabel_table, sniff_multilabel

    options = {"uncertain": uncertain, "empty_label": empty_label, "limits": limits}
    if label_cols is not None:
        return read_multilabel_table(dataset, label_cols=list(label_cols), **options)
    if sep is not None:
        return read_multilabel_table(dataset, labels_col=dataset.roles.label, sep=sep, **options)
    if mode == "off":
        return dataset
    guess = sniff_multilabel(dataset)
    if mode == "on":
        return read_multilabel_table(dataset, **options)
    if guess is None or not _sure(dataset, guess, label_col):
        return dataset
    return read_multilabel_table(dataset, **guess.options(), **options)


def _sure(dataset: Dataset, guess, label_col: str | None) -> bool:
    """Whether a sniffed multi-label shape is certain enough to take unasked."""
    from .multilabel import SNIFF_ROWS

    if guess.shape == "separator":
        cells = pc.utf8_trim_whitespace(
            dataset.raw.column(guess.labels_col)
            .slice(0, SNIFF_ROWS)
            .combine_chunks()
            .cast(pa.string())
        ).drop_null()
        tokens = pc.unique(
            pc.utf8_trim_whitespace(pc.list_flatten(pc.split_pattern(cells, guess.sep)))
        )
        tokens = tokens.filter(pc.not_equal(tokens, ""))
        if not len(tokens):
            return False
        alone = pc.sum(pc.is_in(tokens, value_set=pc.unique(cells))).as_py() or 0
        return alone >= MIN_ALONE_SHARE * len(tokens)
    roles = dataset.roles
    named = "label" in roles.guessed and "common name" in roles.reasons.get("label", "")
    if label_col is not None or named:
        return False
    others = [
        n for n in dataset.raw.column_names if n not in (roles.path, roles.split, roles.group)
    ]
    return 2 * len(guess.label_cols) >= len(others)


def _is_zip(item) -> bool:
    """A zip by its first bytes, or by its end record: a zip with bytes before it
    (a self-extracting archive) or a damaged first entry is still read as a zip,
    through its central directory, instead of being taken for text."""
    try:
        fmt = detect_format(item.head(SNIFF_BYTES), suffix=item.suffix)
    except DatasetError:
        if _ends_like_zip(item):
            return True
        raise
    if fmt == "zip" and is_office_package(item):
        return False  # an xlsx whose first part is its thumbnail
    return fmt == "zip" or (fmt not in ("xlsx", "parquet") and _ends_like_zip(item))


def _ends_like_zip(item) -> bool:
    """Whether the input ends with a zip end record whose comment runs exactly to
    the end of the file (the check zip tools make)."""
    tail = item.tail(_EOCD_SIZE + 0xFFFF)
    position = tail.rfind(b"PK\x05\x06")
    while position >= 0:
        if position + _EOCD_SIZE <= len(tail):
            (comment,) = struct.unpack_from("<H", tail, position + 20)
            if position + _EOCD_SIZE + comment == len(tail):
                return True
        position = tail.rfind(b"PK\x05\x06", 0, position)
    return False


_EOCD_SIZE = 22
