"""The rows behind a finding, or behind a class, as a person reads them: rows that
belong together (one duplicated file, one path in two splits) side by side under one
set number, and the zip reader's bookkeeping columns left out."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .dataset import Dataset, Finding, FindingKind

__all__ = ["INTERNAL_COLUMNS", "class_rows", "finding_rows"]

#: Columns the zip reader keeps for its own checks (sizes, checksums); not the user's.
INTERNAL_COLUMNS = ("compressed_size", "size", "crc32")
#: Findings whose rows come in sets that share a key.
_SETS = (
    FindingKind.DUPLICATE_PATH,
    FindingKind.DUPLICATE_CONTENT,
    FindingKind.CONFLICTING_LABELS,
    FindingKind.SPLIT_LEAKAGE,
)


def _shown_columns(dataset: Dataset) -> list[str]:
    names = dataset.raw.column_names
    if dataset.source.format != "zip":
        return names
    return [n for n in names if n not in INTERNAL_COLUMNS]


def _set_key(dataset: Dataset, finding: Finding, rows: pa.Array) -> pa.Array | None:
    """The key the finding's rows share: path, file content or group, whichever
    repeats within every one of them."""
    candidates: list[pa.Array] = []
    if finding.kind != FindingKind.DUPLICATE_CONTENT and dataset.roles.path is not None:
        candidates.append(pc.take(dataset.raw.column(dataset.roles.path), rows).combine_chunks())
    if dataset.content_key is not None and finding.kind != FindingKind.DUPLICATE_PATH:
        candidates.append(pc.take(dataset.content_key, rows))
    if finding.kind == FindingKind.SPLIT_LEAKAGE and dataset.roles.group is not None:
        candidates.append(pc.take(dataset.raw.column(dataset.roles.group), rows).combine_chunks())
    for key in candidates:
        counts = pc.value_counts(key)
        if len(counts) and pc.min(counts.field("counts")).as_py() >= 2:
            return key
    return None


def finding_rows(dataset: Dataset, finding: Finding, *, max_rows: int = 200) -> pa.Table:
    """The finding's rows (at most ``max_rows``) with their row number, grouped.

    For duplicates, conflicting labels and leakage, a ``set`` column numbers the rows
    that share one path, one file content or one group (1 for the first such set),
    and rows of a set are adjacent. The zip reader's size and checksum columns are
    left out.

    Parameters
    ----------
    dataset : Dataset
    finding : Finding
    max_rows : int, default 200

    Returns
    -------
    pyarrow.Table
        Columns ``set`` (where sets apply), ``row``, then the user's columns.
    """
    rows = pa.array(np.asarray(finding.rows, dtype=np.int64))
    columns = _shown_columns(dataset)
    key = _set_key(dataset, finding, rows) if finding.kind in _SETS and len(rows) else None
    if key is None:
        shown = rows.slice(0, max_rows)
        table = dataset.raw.select(columns).take(shown)
        return table.add_column(0, "row", shown)
    # Dense set numbers in order of each key's first row.
    keys = key.to_pylist()
    number: dict = {}
    sets = np.fromiter((number.setdefault(k, len(number) + 1) for k in keys), dtype=np.int64)
    order = np.lexsort((np.asarray(rows), sets))[:max_rows]
    shown = pc.take(rows, pa.array(order))
    table = dataset.raw.select(columns).take(shown)
    table = table.add_column(0, "row", shown)
    return table.add_column(0, "set", pa.array(sets[order]))


def class_rows(dataset: Dataset, label: str, *, max_rows: int = 200) -> tuple[pa.Table, int]:
    """The first ``max_rows`` rows of class ``label`` (row number first, bookkeeping
    columns left out) and how many rows the class has."""
    mask = pc.fill_null(pc.equal(dataset.labels, pa.scalar(label, pa.string())), False)
    rows = pc.indices_nonzero(mask.combine_chunks() if hasattr(mask, "combine_chunks") else mask)
    shown = rows.slice(0, max_rows)
    table = dataset.raw.select(_shown_columns(dataset)).take(shown)
    return table.add_column(0, "row", shown.cast(pa.int64())), len(rows)
