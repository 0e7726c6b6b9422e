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

from .errors import DatasetError

if TYPE_CHECKING:  # pandas costs 0.4 s to import; only Dataset.table needs it
    import pandas as pd

__all__ = ["ColumnRoles", "Dataset", "Finding", "FindingKind", "Severity", "Source"]

ROLES = ("label", "path", "split", "group")


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
    """

    raw: pa.Table
    roles: ColumnRoles
    source: Source
    findings: tuple[Finding, ...] = ()
    content_key: pa.Array | None = None

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
