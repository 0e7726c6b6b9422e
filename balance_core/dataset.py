"""The in-memory dataset every reader produces, and the findings attached to it."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from enum import StrEnum
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .errors import DatasetError

if TYPE_CHECKING:  # pandas costs 0.4 s to import; only Dataset.table needs it
    import pandas as pd

__all__ = [
    "ANNOTATION_KINDS",
    "Annotations",
    "ColumnRoles",
    "Dataset",
    "Finding",
    "FindingKind",
    "Severity",
    "Source",
]

ROLES = ("label", "path", "split", "group")
ANNOTATION_KINDS = ("multilabel", "detection")
"""Kinds of :class:`Annotations`: several labels per sample, or boxes that carry labels."""


class FindingKind(StrEnum):
    """The fixed vocabulary of things Seesaw reports about a dataset."""

    MISSING_LABEL = "missing_label"
    LABEL_VARIANTS = "label_variants"
    DUPLICATE_PATH = "duplicate_path"
    DUPLICATE_CONTENT = "duplicate_content"
    CONFLICTING_LABELS = "conflicting_labels"
    SPLIT_LEAKAGE = "split_leakage"
    CORRUPT_IMAGE = "corrupt_image"
    NON_IMAGE = "non_image"
    SKIPPED_JUNK = "skipped_junk"
    UNSAFE_ENTRY = "unsafe_entry"
    LIMIT_HIT = "limit_hit"
    TINY_CLASS = "tiny_class"
    SINGLE_CLASS = "single_class"
    ENCODING_FALLBACK = "encoding_fallback"
    MISSING_FILE = "missing_file"
    # Splits (balance_core.split_checks) and the check gate (balance_core.gate).
    SPLIT_MISSING_CLASS = "split_missing_class"
    EVAL_ONLY_CLASS = "eval_only_class"
    SPLIT_MIX = "split_mix"
    IMBALANCE_RATIO = "imbalance_ratio"
    SMALL_CLASS = "small_class"
    # Several labels or boxes per sample (balance_core.detection, balance_core.multilabel).
    UNKNOWN_CLASS_ID = "unknown_class_id"
    MISSING_IMAGE = "missing_image"
    UNANNOTATED_IMAGE = "unannotated_image"
    DEGENERATE_BOX = "degenerate_box"
    DUPLICATE_BOX = "duplicate_box"
    SMALL_OBJECTS = "small_objects"
    BAD_ANNOTATION = "bad_annotation"
    EMPTY_LABEL_SET = "empty_label_set"
    NEVER_ALONE = "never_alone"
    UNCERTAIN_LABELS = "uncertain_labels"


class Severity(StrEnum):
    """How much a finding matters for training: errors first, then warnings, then notes."""

    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


_SEVERITY_ORDER = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.INFO: 2}


@dataclass(frozen=True, eq=False, kw_only=True)
class Finding:
    """One problem found in the data.

    Attributes
    ----------
    kind : FindingKind
        What kind of problem.
    severity : Severity
        How much it matters.
    count : int
        How many rows (or zip entries) are affected.
    message : str
        One sentence for the user. It may quote user data verbatim: escape it
        before it reaches Markdown or HTML.
    rows : numpy.ndarray
        0-based positions in ``Dataset.table`` of the affected rows (int64, sorted).
    entries : tuple of str
        Affected zip entry names that are not rows of the table (junk, non-images,
        unsafe names).
    groups : tuple of tuple of str
        For kinds that relate values to each other (label variants, conflicting
        labels), the related values, one tuple per group.
    """

    kind: FindingKind
    severity: Severity
    count: int
    message: str
    rows: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    entries: tuple[str, ...] = ()
    groups: tuple[tuple[str, ...], ...] = ()

    @property
    def sort_key(self) -> tuple[int, int]:
        return (_SEVERITY_ORDER[self.severity], -self.count)

    def to_dict(self, *, max_items: int = 1000) -> dict:
        """A JSON-ready summary; long row and entry lists are cut to ``max_items``."""
        return {
            "kind": str(self.kind),
            "severity": str(self.severity),
            "count": int(self.count),
            "message": self.message,
            "rows": [int(r) for r in self.rows[:max_items]],
            "entries": list(self.entries[:max_items]),
            "groups": [list(g) for g in self.groups[:max_items]],
        }


@dataclass(frozen=True, kw_only=True)
class ColumnRoles:
    """Which column of the source plays which role, and how that was decided.

    Attributes
    ----------
    label, path, split, group : str or None
        Column names as they appear in the source (``label`` is required).
    guessed : tuple of str
        Roles that were guessed rather than given explicitly.
    reasons : dict
        Role -> one sentence on why that column was picked.
    """

    label: str
    path: str | None = None
    split: str | None = None
    group: str | None = None
    guessed: tuple[str, ...] = ()
    reasons: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, str | None]:
        return {role: getattr(self, role) for role in ROLES}


@dataclass(frozen=True, kw_only=True)
class Source:
    """Where a dataset came from and how it was read.

    Attributes
    ----------
    name : str
        File name as given by the user (never used as a path on disk).
    format : str
        ``csv``, ``tsv``, ``json``, ``jsonl``, ``parquet``, ``xlsx`` or ``zip``.
    size_bytes : int
        Size of the input.
    encoding : str or None
        Text encoding used, for text formats.
    delimiter : str or None
        Field delimiter used, for delimited text.
    sheet : str or None
        Worksheet read, for Excel workbooks.
    other_sheets : tuple of str
        The workbook's other worksheets, which were not read.
    content : bytes or pathlib.Path
        The input itself, kept for the fingerprint (and never modified).
    """

    name: str
    format: str
    size_bytes: int
    encoding: str | None = None
    delimiter: str | None = None
    sheet: str | None = None
    other_sheets: tuple[str, ...] = ()
    content: bytes | Path = field(default=b"", repr=False, compare=False)

    @cached_property
    def sha256(self) -> str:
        """Hex SHA-256 of the input bytes: the fingerprint a recipe refers to.

        Computed on first use, so reading a big file does not pay for it."""
        if isinstance(self.content, Path):
            with self.content.open("rb") as handle:
                return hashlib.file_digest(handle, "sha256").hexdigest()
        return hashlib.sha256(self.content).hexdigest()


# Columns of Annotations.table: the type each must have, and whether it is required.
_ANNOTATION_COLUMNS: dict[str, tuple[pa.DataType, bool]] = {
    "sample": (pa.int64(), True),
    "class_index": (pa.int32(), True),
    "label": (pa.string(), True),
    "status": (pa.int8(), False),
    "x": (pa.float64(), False),
    "y": (pa.float64(), False),
    "w": (pa.float64(), False),
    "h": (pa.float64(), False),
    "area": (pa.float64(), False),
    "area_share": (pa.float64(), False),
    "iscrowd": (pa.bool_(), False),
    "source_id": (pa.int64(), False),
}
BOX_COLUMNS = ("x", "y", "w", "h", "area", "area_share", "iscrowd")
POSITIVE, NEGATIVE, UNCERTAIN = 1, 0, -1


@dataclass(frozen=True, eq=False, kw_only=True)
class Annotations:
    """The labels of samples that carry several labels, or boxes that each carry one.

    A long table beside :attr:`Dataset.raw`: one row per (sample, label) for
    multi-label data, one row per box for detection. Plain Arrow columns, no Python
    object per row, so that counting, plans, exports and a distributed engine all
    read the same thing. A single-label dataset has no ``Annotations``; its
    :meth:`Dataset.label_table` is the same long table with one row per sample.

    Attributes
    ----------
    kind : {"multilabel", "detection"}
    table : pyarrow.Table
        Columns (types are checked):

        - ``sample`` (int64): 0-based row of ``Dataset.raw`` (the image or sample).
        - ``class_index`` (int32): position in ``classes``; -1 for a class id the
          source gives no name for (see ``UNKNOWN_CLASS_ID`` findings).
        - ``label`` (string): ``classes[class_index]``, null where the index is -1.
        - ``status`` (int8, optional): 1 positive, 0 negative, -1 uncertain, as
          CheXpert's 1 / 0 / -1 (a blank cell has no row). Without the column every
          row is a positive.
        - ``x``, ``y``, ``w``, ``h`` (float64, detection): the box in pixels, COCO's
          ``[x, y, width, height]`` from the top-left corner; null where the image
          size is unknown and the source gives normalised coordinates.
        - ``area`` (float64, detection): box area in pixels (COCO's ``area`` when
          given, else ``w * h``); ``area_share`` (float64): box area / image area.
        - ``iscrowd`` (bool, detection): COCO's crowd flag.
        - ``source_id`` (int64, optional): the annotation's id in the source (COCO
          annotation id, YOLO line number).
    classes : tuple of str
        Class names in the order training code indexes them: YOLO's ``names``
        order, COCO categories by id, indicator columns in column order, labels
        from a separator column in sorted order.
    class_ids : tuple of int
        The id of each class in the source (COCO ``category_id``, YOLO class
        index); ``range(len(classes))`` when the source has no ids.
    uncertain : str or None
        For labels with a status: how uncertain ones count (``"ignore"``,
        ``"zeros"``, ``"ones"``, after Irvin et al. 2019); None otherwise.
    """

    kind: str
    table: pa.Table
    classes: tuple[str, ...]
    class_ids: tuple[int, ...] = ()
    uncertain: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in ANNOTATION_KINDS:
            raise DatasetError(
                f"Annotations are {' or '.join(ANNOTATION_KINDS)}, not {self.kind!r}.",
                kind="usage",
            )
        schema = self.table.schema
        for column, (kind, required) in _ANNOTATION_COLUMNS.items():
            if column not in schema.names:
                if required:
                    raise DatasetError(f"Annotations need a column {column!r}.", kind="usage")
                continue
            if schema.field(column).type != kind:
                raise DatasetError(
                    f"Annotation column {column!r} must be {kind}, "
                    f"not {schema.field(column).type}.",
                    kind="usage",
                )
        if not self.class_ids:
            object.__setattr__(self, "class_ids", tuple(range(len(self.classes))))
        if len(self.class_ids) != len(self.classes):
            raise DatasetError("Annotations need one class id per class.", kind="usage")

    @property
    def n_annotations(self) -> int:
        return self.table.num_rows

    @property
    def has_boxes(self) -> bool:
        return "w" in self.table.column_names

    @property
    def has_status(self) -> bool:
        return "status" in self.table.column_names

    def positives(self) -> pa.Table:
        """The rows that count as a positive label: every row without a status column;
        with one, status 1, plus status -1 when uncertain labels count as ones."""
        if not self.has_status:
            return self.table
        status = self.table.column("status")
        keep = pc.equal(status, POSITIVE)
        if self.uncertain == "ones":
            keep = pc.or_(keep, pc.equal(status, UNCERTAIN))
        return self.table.filter(keep)


@dataclass(frozen=True, eq=False, kw_only=True)
class Dataset:
    """A labelled dataset: one row per sample.

    Attributes
    ----------
    raw : pyarrow.Table
        The rows as read, every column under its original name; text columns are
        strings exactly as written, an empty cell is null.
    roles : ColumnRoles
        Which columns are the label, path, split and group.
    source : Source
        Where the data came from.
    findings : tuple of Finding
        Problems the reader met (encoding fallback, skipped zip entries, ...).
        Problems in the data itself come from :func:`balance_core.assess`.
    content_key : pyarrow.Array or None
        For zipped images, one id per row shared by rows whose files have
        identical bytes (confirmed, not just the same CRC); otherwise None.
    annotations : Annotations or None
        For samples with several labels or with boxes: the long table of
        (sample, label[, box]) beside ``raw``. None for one label per sample, where
        the label column says it all (see :meth:`label_table`).
    """

    raw: pa.Table
    roles: ColumnRoles
    source: Source
    findings: tuple[Finding, ...] = ()
    content_key: pa.Array | None = None
    annotations: Annotations | None = None

    def __post_init__(self) -> None:
        names = self.raw.column_names
        for role, column in self.roles.as_dict().items():
            if column is not None and column not in names:
                raise DatasetError(
                    f"There is no column {column!r} to use as the {role}; "
                    f"the columns are: {', '.join(map(repr, names))}.",
                    kind="unknown_column",
                )
            if column is not None and pa.types.is_nested(self.raw.schema.field(column).type):
                raise DatasetError(
                    f"Column {column!r} holds nested values "
                    f"({self.raw.schema.field(column).type}), so it cannot be the {role}; "
                    "pick a column of plain values.",
                    kind="nested_column",
                )
        used = [c for c in self.roles.as_dict().values() if c is not None]
        if len(used) != len(set(used)):
            raise DatasetError(
                "One column cannot play two roles; pick different columns for "
                "label, path, split and group.",
                kind="role_conflict",
            )
        if self.annotations is not None:
            samples = self.annotations.table.column("sample")
            if len(samples) and (
                pc.min(samples).as_py() < 0 or pc.max(samples).as_py() >= self.raw.num_rows
            ):
                raise DatasetError(
                    "Every annotation must point at a row of the dataset.", kind="usage"
                )

    @property
    def kind(self) -> str:
        """``"single"`` (one label per sample), ``"multilabel"`` or ``"detection"``."""
        return "single" if self.annotations is None else self.annotations.kind

    @cached_property
    def classes(self) -> tuple[str, ...]:
        """Class names in class index order: sorted labels for one label per sample,
        :attr:`Annotations.classes` otherwise."""
        if self.annotations is not None:
            return self.annotations.classes
        labels = pc.unique(self.labels).drop_null()
        return tuple(sorted(labels.to_pylist()))

    def label_table(self) -> pa.Table:
        """One row per (sample, positive label): columns ``sample`` (int64),
        ``class_index`` (int32, into :attr:`classes`) and ``label``, plus the box
        columns for detection. For one label per sample: one row per labelled row.

        The same long table for all three kinds, so that counting is written once.
        """
        if self.annotations is not None:
            return self.annotations.positives()
        labels = self.labels.combine_chunks()
        valid = pc.is_valid(labels)
        rows = pc.indices_nonzero(valid).cast(pa.int64())
        kept = labels.filter(valid)
        index = pc.index_in(kept, value_set=pa.array(self.classes, type=pa.string()))
        return pa.table({"sample": rows, "class_index": index.cast(pa.int32()), "label": kept})

    @property
    def n_rows(self) -> int:
        return self.raw.num_rows

    def column(self, role: str) -> pa.ChunkedArray | None:
        """The column playing ``role`` as text (None if no column has that role)."""
        name = getattr(self.roles, role)
        if name is None:
            return None
        column = self.raw.column(name)
        if not pa.types.is_string(column.type) and not pa.types.is_large_string(column.type):
            column = column.cast(pa.string())
        return column

    @property
    def labels(self) -> pa.ChunkedArray:
        """The label column as text; null where the label is missing."""
        return self.column("label")

    @cached_property
    def table(self) -> pd.DataFrame:
        """The rows as a DataFrame with columns ``label`` (str) and, where the data
        has them, ``path``, ``split`` and ``group``; other columns keep their names
        (suffixed with ``_original`` when one collides with a role name)."""
        roles = self.roles.as_dict()
        by_source = {column: role for role, column in roles.items() if column is not None}
        taken = set(by_source.values())
        names = []
        for name in self.raw.column_names:
            if name in by_source:
                names.append(by_source[name])
            elif name in taken:
                names.append(f"{name}_original")
            else:
                names.append(name)
        renamed = self.raw.rename_columns(names)
        for role in taken:
            index = renamed.column_names.index(role)
            renamed = renamed.set_column(index, role, self.column(role))
        return renamed.to_pandas()

    def with_roles(self, **roles: str | None) -> Dataset:
        """A copy with some column roles changed, e.g. ``ds.with_roles(group="patient")``."""
        unknown = set(roles) - set(ROLES)
        if unknown:
            raise DatasetError(
                f"Unknown role {sorted(unknown)[0]!r}; the roles are {', '.join(ROLES)}.",
                kind="usage",
            )
        current = self.roles.as_dict() | roles
        if current["label"] is None:
            raise DatasetError("A dataset needs a label column.", kind="no_label_column")
        changed = set(roles)
        new_roles = ColumnRoles(
            **current,
            guessed=tuple(r for r in self.roles.guessed if r not in changed),
            reasons={r: why for r, why in self.roles.reasons.items() if r not in changed},
        )
        return replace(self, roles=new_roles)
