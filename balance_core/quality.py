"""Findings about the data: missing and variant labels, duplicates, leakage, tiny classes."""

from __future__ import annotations

import unicodedata
from collections import defaultdict

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .dataset import Dataset, Finding, FindingKind, Severity
from .stats import Distribution, distribution

__all__ = ["TINY_CLASS_SIZE", "check_quality", "label_key"]

# Below this many samples a class cannot be split into train/validation/test folds
# with a few examples each (5-fold stratified CV needs at least 5 per class).
TINY_CLASS_SIZE = 5
EXAMPLES_IN_MESSAGE = 3


def check_quality(
    dataset: Dataset,
    dist: Distribution | None = None,
    *,
    tiny_class_size: int = TINY_CLASS_SIZE,
) -> tuple[Finding, ...]:
    """Every finding about ``dataset``, most serious first.

    The reader's own findings (encoding fallback, skipped zip entries, ...) come
    first in their severity band, followed by what this function finds in the rows.

    Parameters
    ----------
    dataset : Dataset
    dist : Distribution, optional
        The dataset's distribution, if already computed.
    tiny_class_size : int, default 5
        A class with fewer samples than this is reported as tiny.

    Returns
    -------
    tuple of Finding
        Sorted by severity, then by the number of rows affected.
    """
    dist = dist or distribution(dataset)
    findings = list(dataset.findings)
    labels = dataset.labels
    explained = [f.rows for f in dataset.findings if f.kind == FindingKind.MISSING_LABEL]
    findings += _missing_labels(labels, explained)
    findings += _label_variants(labels, dist)
    findings += _class_size(dist, labels, tiny_class_size)
    split = dataset.column("split")
    path = dataset.column("path")
    if path is not None:
        findings += _duplicates(path, labels, split, what="path")
    if dataset.content_key is not None:
        findings += _duplicates(
            pa.chunked_array([dataset.content_key]), labels, split, what="content"
        )
    group = dataset.column("group")
    if group is not None and split is not None:
        findings += _group_leakage(group, split)
    return tuple(sorted(findings, key=lambda f: f.sort_key))


def label_key(label: str) -> str:
    """The form two labels share when they differ only in case, spaces or Unicode
    normalisation: NFKC, case-folded, inner whitespace collapsed, ends stripped."""
    return " ".join(unicodedata.normalize("NFKC", label).casefold().split())


def _quote_list(values: list[str] | tuple[str, ...], limit: int = EXAMPLES_IN_MESSAGE) -> str:
    shown = ", ".join(repr(v) for v in values[:limit])
    return shown + (f" and {len(values) - limit} more" if len(values) > limit else "")


def _rows(mask: pa.ChunkedArray | pa.Array) -> np.ndarray:
    return np.asarray(pc.indices_nonzero(pc.fill_null(mask, False)), dtype=np.int64)


def _missing_labels(labels: pa.ChunkedArray, explained: list[np.ndarray]) -> list[Finding]:
    """Rows without a label that no reader finding has explained already."""
    if not labels.null_count:
        return []
    rows = _rows(pc.is_null(labels))
    if explained:
        rows = np.setdiff1d(rows, np.concatenate(explained), assume_unique=False)
    missing = int(rows.size)
    if not missing:
        return []
    return [
        Finding(
            kind=FindingKind.MISSING_LABEL,
            severity=Severity.WARNING,
            count=missing,
            message=(
                f"{missing:,} row(s) have no label; they are left out of the counts and "
                "of any balanced output until you label them."
            ),
            rows=rows,
        )
    ]


def _label_variants(labels: pa.ChunkedArray, dist: Distribution) -> list[Finding]:
    by_key: dict[str, list[str]] = defaultdict(list)
    for label in dist.counts:
        by_key[label_key(label)].append(label)
    groups = [
        tuple(sorted(group, key=lambda v: (-dist.counts[v], v)))
        for group in by_key.values()
        if len(group) > 1
    ]
    if not groups:
        return []
    groups.sort(key=lambda g: g[0])
    # Rows spelled differently from their group's most common spelling.
    variants = [label for group in groups for label in group[1:]]
    rows = _rows(pc.is_in(labels, value_set=pa.array(variants, type=pa.string())))
    first = groups[0]
    return [
        Finding(
            kind=FindingKind.LABEL_VARIANTS,
            severity=Severity.WARNING,
            count=int(rows.size),
            message=(
                f"{len(groups)} label(s) are written in several ways that differ only in "
                f"case, spaces or Unicode form (e.g. {_quote_list(first)}); merge them in "
                "the label mapping if they mean the same class."
            ),
            rows=rows,
            groups=tuple(groups),
        )
    ]


def _class_size(dist: Distribution, labels: pa.ChunkedArray, tiny_class_size: int) -> list[Finding]:
    findings = []
    if dist.n_classes == 1:
        findings.append(
            Finding(
                kind=FindingKind.SINGLE_CLASS,
                severity=Severity.ERROR,
                count=dist.n_labelled,
                message=(
                    f"Every labelled row has the same label, {dist.labels[0]!r}: there is "
                    "nothing to balance and nothing a classifier can learn; check the label "
                    "column."
                ),
            )
        )
    tiny = [label for label, n in dist.counts.items() if 0 < n < tiny_class_size]
    if tiny and dist.n_classes > 1:
        rows = _rows(pc.is_in(labels, value_set=pa.array(tiny, type=pa.string())))
        findings.append(
            Finding(
                kind=FindingKind.TINY_CLASS,
                severity=Severity.WARNING,
                count=int(rows.size),
                message=(
                    f"{len(tiny)} class(es) have fewer than {tiny_class_size} samples "
                    f"({_quote_list(tiny)}): too few to learn from or to evaluate; collect "
                    "more, or merge or drop them."
                ),
                rows=rows,
                groups=(tuple(tiny),),
            )
        )
    return findings


def _duplicate_rows(values: pa.ChunkedArray) -> np.ndarray:
    """Positions of the non-null values that occur more than once.

    Hashes every value to 64 bits on all cores (polars), so only rows whose hash
    repeats are compared as values; on 10 M distinct paths this is about 5x faster
    than a hash table of the strings themselves.
    """
    import polars as pl

    series = pl.from_arrow(values)  # no copy of the chunks into one array first
    hashes = series.hash(seed=0)
    if hashes.n_unique() == len(hashes) and series.null_count() <= 1:
        return np.empty(0, dtype=np.int64)
    candidates = np.flatnonzero(hashes.is_duplicated().to_numpy())
    subset = series.gather(candidates)
    exact = (subset.is_duplicated() & subset.is_not_null()).to_numpy()
    return candidates[exact].astype(np.int64)


def _duplicates(
    key: pa.ChunkedArray,
    labels: pa.ChunkedArray,
    split: pa.ChunkedArray | None,
    *,
    what: str,
) -> list[Finding]:
    rows = _duplicate_rows(key)
    if rows.size == 0:
        return []
    import polars as pl

    index = pa.array(rows)
    frame = pl.DataFrame(
        {
            "row": rows,
            "key": pl.Series(pc.take(key, index).combine_chunks()),
            "label": pl.Series(pc.take(labels, index).combine_chunks()),
            "split": (
                pl.Series(pc.take(split, index).combine_chunks())
                if split is not None
                else pl.repeat(None, rows.size, dtype=pl.String, eager=True)
            ),
        }
    )
    per_key = frame.group_by("key").agg(
        pl.col("label").drop_nulls().n_unique().alias("labels"),
        pl.col("split").drop_nulls().n_unique().alias("splits"),
    )
    conflicting = set(per_key.filter(pl.col("labels") > 1)["key"].to_list())
    leaking = set(per_key.filter(pl.col("splits") > 1)["key"].to_list())
    keys = frame["key"].to_list()
    row_list = frame["row"].to_numpy()

    def rows_where(selected: set) -> np.ndarray:
        mask = np.fromiter((k in selected for k in keys), dtype=bool, count=len(keys))
        return np.sort(row_list[mask])

    noun = "path" if what == "path" else "file content"
    findings = []
    same = per_key.filter((pl.col("labels") <= 1) & (pl.col("splits") <= 1))["key"].to_list()
    if same:
        same_rows = rows_where(set(same))
        example = f" (e.g. {str(same[0])!r})" if what == "path" else ""
        findings.append(
            Finding(
                kind=FindingKind.DUPLICATE_PATH
                if what == "path"
                else FindingKind.DUPLICATE_CONTENT,
                severity=Severity.WARNING,
                count=int(same_rows.size),
                message=(
                    f"{same_rows.size:,} rows share a {noun} with another row of the same "
                    f"class{example}; duplicates count twice in training and inflate "
                    "that class: drop the extra copies."
                ),
                rows=same_rows,
            )
        )
    if conflicting:
        conflict_rows = rows_where(conflicting)
        findings.append(
            Finding(
                kind=FindingKind.CONFLICTING_LABELS,
                severity=Severity.ERROR,
                count=int(conflict_rows.size),
                message=(
                    f"{len(conflicting):,} {noun}(s) carry different labels in different "
                    f"rows ({conflict_rows.size:,} rows); a sample cannot be two classes: "
                    "fix the labels or drop those rows."
                ),
                rows=conflict_rows,
            )
        )
    if leaking:
        leak_rows = rows_where(leaking)
        findings.append(
            Finding(
                kind=FindingKind.SPLIT_LEAKAGE,
                severity=Severity.ERROR,
                count=int(leak_rows.size),
                message=(
                    f"{len(leaking):,} {noun}(s) appear in more than one split "
                    f"({leak_rows.size:,} rows): test scores will be too optimistic; keep "
                    "each sample in one split."
                ),
                rows=leak_rows,
            )
        )
    return findings


def _group_leakage(group: pa.ChunkedArray, split: pa.ChunkedArray) -> list[Finding]:
    pairs = (
        pa.table({"group": group, "split": split})
        .filter(pc.and_(pc.is_valid(group), pc.is_valid(split)))
        .group_by(["group", "split"], use_threads=False)
        .aggregate([])
    )
    per_group = pairs.group_by("group", use_threads=False).aggregate([([], "count_all")])
    leaking = per_group.filter(pc.greater(per_group["count_all"], 1))["group"]
    if len(leaking) == 0:
        return []
    rows = _rows(pc.is_in(group, value_set=leaking.combine_chunks()))
    names = sorted(leaking.to_pylist())
    return [
        Finding(
            kind=FindingKind.SPLIT_LEAKAGE,
            severity=Severity.ERROR,
            count=int(rows.size),
            message=(
                f"{len(names):,} group(s) have rows in more than one split (e.g. "
                f"{_quote_list(names, 2)}): near-duplicate samples of one patient or "
                "subject leak between training and test; keep each group in one split."
            ),
            rows=rows,
            groups=(tuple(names),),
        )
    ]
