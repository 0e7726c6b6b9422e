"""Multi-label tables: several labels per row -> Dataset with annotations.

Two shapes, both common in medical imaging:

- One column holding several labels joined by a separator (NIH ChestX-ray14's
  ``Finding Labels``: ``Cardiomegaly|Emphysema``; ``No Finding`` for none). The
  separator (``|``, ``;`` or ``,``) is sniffed, or given.
- One indicator column per label: 1/0, true/false, yes/no, or CheXpert's 1 / 0 /
  -1 (uncertain) / blank (not mentioned). Uncertain labels are counted apart and
  treated as the user chooses (Irvin et al. 2019): ``ignore`` (neither positive
  nor negative: masked out of the loss), ``zeros`` or ``ones``.

:func:`read_multilabel_table` turns a dataset read by
:func:`~balance_core.readers.tables.read_table` (or a zip whose metadata file
lists several labels per image, read by :func:`~balance_core.readers.read_zip`)
into a multi-label one; :func:`sniff_multilabel` says whether a table looks like
either shape.

References
----------
Wang, X. et al. (2017). ChestX-ray8: Hospital-scale chest X-ray database and
benchmarks. CVPR.
Irvin, J. et al. (2019). CheXpert: A large chest radiograph dataset with
uncertainty labels and expert comparison. AAAI.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..dataset import (
    POSITIVE,
    UNCERTAIN,
    Annotations,
    ColumnRoles,
    Dataset,
    Finding,
    FindingKind,
    Severity,
)
from ..errors import DatasetError
from ..limits import DEFAULT_LIMITS, Limits, limit_error

__all__ = [
    "SEPARATORS",
    "UNCERTAIN_POLICIES",
    "MultilabelGuess",
    "read_multilabel_table",
    "sniff_multilabel",
]

SEPARATORS = ("|", ";", ",")
UNCERTAIN_POLICIES = ("ignore", "zeros", "ones")
EMPTY_MARKERS = ("no finding",)
# Indicator values, compared after lower-casing and stripping.
_POSITIVE = ("1", "1.0", "true", "yes", "y", "t")
_NEGATIVE = ("0", "0.0", "false", "no", "n", "f")
_UNCERTAIN = ("-1", "-1.0")
_INDICATOR = _POSITIVE + _NEGATIVE + _UNCERTAIN
MIN_INDICATOR_COLUMNS = 3
SNIFF_ROWS = 20_000
# A separator column is sniffed when this share of its cells hold the separator.
MIN_SEPARATED_SHARE = 0.02


@dataclass(frozen=True, kw_only=True)
class MultilabelGuess:
    """What :func:`sniff_multilabel` found: options for :func:`read_multilabel_table`.

    Attributes
    ----------
    shape : {"separator", "indicators"}
    labels_col : str or None
        The column of joined labels (``separator``).
    sep : str or None
    label_cols : tuple of str
        The indicator columns (``indicators``).
    has_uncertain : bool
        Some indicator cell holds -1.
    reason : str
        One sentence on why.
    """

    shape: str
    labels_col: str | None = None
    sep: str | None = None
    label_cols: tuple[str, ...] = ()
    has_uncertain: bool = False
    reason: str = ""

    def options(self) -> dict:
        if self.shape == "separator":
            return {"labels_col": self.labels_col, "sep": self.sep}
        return {"label_cols": list(self.label_cols)}


def _text(column: pa.ChunkedArray) -> pa.Array:
    array = column.combine_chunks()
    if not (pa.types.is_string(array.type) or pa.types.is_large_string(array.type)):
        array = array.cast(pa.string())
    return array


def _indicator_columns(dataset: Dataset, rows: int | None = SNIFF_ROWS) -> list[str]:
    taken = {dataset.roles.path, dataset.roles.split, dataset.roles.group}
    found = []
    for name in dataset.raw.column_names:
        if name in taken:
            continue
        column = dataset.raw.column(name)
        if pa.types.is_nested(column.type) or pa.types.is_binary(column.type):
            continue  # lists, structs and bytes are never 1/0 indicators
        if rows is not None:
            column = column.slice(0, rows)
        values = pc.unique(pc.utf8_lower(pc.utf8_trim_whitespace(_text(column)))).drop_null()
        values = [v for v in values.to_pylist() if v != ""]
        if values and all(v in _INDICATOR for v in values):
            found.append(name)
    return found


def sniff_multilabel(dataset: Dataset) -> MultilabelGuess | None:
    """Whether a table has several labels per row, from its first rows.

    A separator column: the label column (as the table reader guessed or was
    told) has ``|``, ``;`` or ``,`` in at least 2 % of its cells, and fewer
    distinct labels than distinct cells (combinations of a vocabulary, not free
    text). Indicator columns: at least three columns holding only 1/0, true/false,
    yes/no or -1 (with blanks). Returns None for a single-label table.
    """
    if dataset.annotations is not None:
        return None
    indicators = _indicator_columns(dataset)
    if len(indicators) >= MIN_INDICATOR_COLUMNS:
        uncertain = False
        for name in indicators:
            column = pc.utf8_trim_whitespace(_text(dataset.raw.column(name).slice(0, SNIFF_ROWS)))
            if pc.any(pc.is_in(column, value_set=pa.array(_UNCERTAIN))).as_py():
                uncertain = True
                break
        return MultilabelGuess(
            shape="indicators",
            label_cols=tuple(indicators),
            has_uncertain=uncertain,
            reason=(
                f"{len(indicators)} columns hold only 1/0 (or true/false, -1) values, one per label"
            ),
        )
    labels = dataset.labels
    if labels is None:
        return None
    sample = _text(labels.slice(0, SNIFF_ROWS)).drop_null()
    if not len(sample):
        return None
    for sep in SEPARATORS:
        holding = pc.sum(pc.cast(pc.match_substring(sample, sep), pa.int64())).as_py() or 0
        if holding < max(1, MIN_SEPARATED_SHARE * len(sample)):
            continue
        tokens = pc.utf8_trim_whitespace(pc.list_flatten(pc.split_pattern(sample, sep)))
        distinct_tokens = pc.count_distinct(tokens).as_py()
        if distinct_tokens < pc.count_distinct(sample).as_py():
            return MultilabelGuess(
                shape="separator",
                labels_col=dataset.roles.label,
                sep=sep,
                reason=(
                    f"{holding:,} of the first {len(sample):,} labels in column "
                    f"{dataset.roles.label!r} join several labels with {sep!r}"
                ),
            )
    return None


def read_multilabel_table(
    dataset: Dataset,
    *,
    labels_col: str | None = None,
    sep: str | None = None,
    label_cols: Sequence[str] | None = None,
    uncertain: str = "ignore",
    empty_label: str | None = None,
    limits: Limits | None = None,
) -> Dataset:
    """A multi-label dataset from a table with several labels per row.

    Parameters
    ----------
    dataset : Dataset
        A table (or a zip with a metadata file), as a reader returned it.
    labels_col : str, optional
        Column holding several labels joined by ``sep`` (default: the label
        column). Ignored when ``label_cols`` is given.
    sep : str, optional
        The separator; sniffed among ``|``, ``;`` and ``,`` when not given (the
        one found in most cells).
    label_cols : sequence of str, optional
        Indicator columns, one per label (their order is the class order). When
        neither this nor ``labels_col``/``sep`` is given, the shape is sniffed
        (:func:`sniff_multilabel`).
    uncertain : {"ignore", "zeros", "ones"}, default "ignore"
        How -1 cells count: ``ignore`` counts them apart (neither positive nor
        negative; a masked loss skips them), ``zeros`` as negatives, ``ones`` as
        positives (CheXpert's U-Ignore, U-Zeros, U-Ones).
    empty_label : str, optional
        A label meaning "no label at all" (NIH's ``No Finding``): rows holding
        only it have an empty label set. Default: ``No Finding`` (any case) when it
        never appears together with another label. Pass ``""`` to keep every
        label as a label.
    limits : Limits, optional
        ``max_classes`` bounds the distinct labels, ``max_table_rows`` the rows of
        the long table.

    Returns
    -------
    Dataset
        The same rows, with ``annotations`` of kind ``multilabel`` (status 1 for
        positives and -1 for uncertain ones when indicator columns have them) and a
        ``label_set`` column (the positives joined by ``|``) as the label role for
        indicator columns.
    """
    limits = limits or DEFAULT_LIMITS
    if uncertain not in UNCERTAIN_POLICIES:
        raise DatasetError(
            f"uncertain must be one of {', '.join(UNCERTAIN_POLICIES)}, not {uncertain!r}.",
            kind="usage",
        )
    if dataset.annotations is not None:
        raise DatasetError("This dataset already has several labels per sample.", kind="usage")
    if label_cols is None and labels_col is None and sep is None:
        guess = sniff_multilabel(dataset)
        if guess is None:
            raise DatasetError(
                f"{dataset.source.name!r} has one label per row: no label column joins several "
                "labels with |, ; or , and no three columns hold 1/0 indicators; name them "
                "with labels_col=/sep= or label_cols= (--labels-sep, --label-cols).",
                kind="not_multilabel",
            )
        if guess.shape == "indicators":
            label_cols = list(guess.label_cols)
        else:
            labels_col, sep = guess.labels_col, guess.sep
    if label_cols is not None:
        return _from_indicators(dataset, list(label_cols), uncertain, limits)
    return _from_separator(dataset, labels_col or dataset.roles.label, sep, empty_label, limits)


def _check_column(dataset: Dataset, name: str) -> None:
    if name not in dataset.raw.column_names:
        raise DatasetError(
            f"There is no column {name!r}; the columns are "
            f"{', '.join(map(repr, dataset.raw.column_names))}.",
            kind="unknown_column",
        )


def _from_separator(
    dataset: Dataset, column: str, sep: str | None, empty_label: str | None, limits: Limits
) -> Dataset:
    _check_column(dataset, column)
    cells = _text(dataset.raw.column(column))
    if sep is None:
        counts = {
            s: pc.sum(pc.cast(pc.match_substring(cells, s), pa.int64())).as_py() or 0
            for s in SEPARATORS
        }
        sep = max(SEPARATORS, key=lambda s: (counts[s], -SEPARATORS.index(s)))
    if not isinstance(sep, str) or not sep:
        raise DatasetError("The label separator must be a non-empty text.", kind="usage")
    parts = pc.split_pattern(cells, sep)
    lengths = pc.list_value_length(parts).fill_null(0).to_numpy(zero_copy_only=False)
    rows = np.repeat(np.arange(len(cells), dtype=np.int64), lengths)
    tokens = pc.utf8_trim_whitespace(pc.list_flatten(parts))
    nonempty = pc.not_equal(tokens, "").to_numpy(zero_copy_only=False)
    rows, tokens = rows[nonempty], tokens.filter(pa.array(nonempty))
    findings = list(dataset.findings)
    empty = _empty_marker(rows, tokens, empty_label, len(cells))
    if empty is not None:
        marked = pc.equal(tokens, empty).to_numpy(zero_copy_only=False)
        findings.append(
            Finding(
                kind=FindingKind.EMPTY_LABEL_SET,
                severity=Severity.INFO,
                count=int(marked.sum()),
                message=(
                    f"{int(marked.sum()):,} rows say {empty!r}, read as an empty label set "
                    "(no positive label); pass empty_label='' to count it as a label."
                ),
                rows=rows[marked],
            )
        )
        rows, tokens = rows[~marked], tokens.filter(pa.array(~marked))
    # One row per (sample, label): a label written twice in a cell counts once.
    classes = sorted(pc.unique(tokens).to_pylist())
    if len(classes) > limits.max_classes:
        raise limit_error(
            f"{dataset.source.name!r} has {len(classes):,} distinct labels",
            "max_classes",
            limits.max_classes,
        )
    index = pc.index_in(tokens, value_set=pa.array(classes, pa.string())).to_numpy()
    key = np.unique(rows * max(len(classes), 1) + index)
    rows, index = np.divmod(key, max(len(classes), 1))
    table = _long_table(rows, index.astype(np.int32), classes)
    return _with_annotations(dataset, table, classes, None, findings, label_column=None)


def _empty_marker(rows, tokens, empty_label, n_rows) -> str | None:
    if empty_label == "":
        return None
    values = pc.unique(tokens).to_pylist()
    if empty_label is not None:
        return empty_label if empty_label in values else None
    for value in values:
        if value.strip().lower() in EMPTY_MARKERS:
            marked = pc.equal(tokens, value).to_numpy(zero_copy_only=False)
            per_row = np.bincount(rows, minlength=n_rows)
            if (per_row[rows[marked]] == 1).all():
                return value
    return None


def _long_table(rows: np.ndarray, index: np.ndarray, classes, status=None) -> pa.Table:
    columns = {
        "sample": pa.array(rows.astype(np.int64)),
        "class_index": pa.array(index.astype(np.int32)),
        "label": pc.take(pa.array(list(classes), pa.string()), pa.array(index)),
    }
    if status is not None:
        columns["status"] = pa.array(status.astype(np.int8))
    return pa.table(columns)


def _from_indicators(
    dataset: Dataset, columns: list[str], uncertain: str, limits: Limits
) -> Dataset:
    if not columns:
        raise DatasetError("label_cols must name at least one column.", kind="usage")
    if len(set(columns)) != len(columns):
        raise DatasetError("label_cols names a column twice.", kind="usage")
    for name in columns:
        _check_column(dataset, name)
    if len(columns) > limits.max_classes:
        raise limit_error(f"{len(columns):,} label columns", "max_classes", limits.max_classes)
    n = dataset.n_rows
    sample_parts, index_parts, status_parts = [], [], []
    uncertain_counts = {}
    for k, name in enumerate(columns):
        values = pc.utf8_lower(pc.utf8_trim_whitespace(_text(dataset.raw.column(name))))
        valid = pc.and_(pc.is_valid(values), pc.not_equal(values, ""))
        bad = pc.and_(valid, pc.invert(pc.is_in(values, value_set=pa.array(_INDICATOR))))
        if pc.any(bad).as_py():
            first = int(pc.index(bad, True).as_py())
            raise DatasetError(
                f"Column {name!r} holds {dataset.raw.column(name)[first].as_py()!r} in row "
                f"{first + 1}; an indicator column holds 1 (yes), 0 (no), -1 (uncertain) or "
                "nothing.",
                kind="bad_indicator",
            )
        positive = pc.is_in(values, value_set=pa.array(_POSITIVE)).fill_null(False)
        unsure = pc.is_in(values, value_set=pa.array(_UNCERTAIN)).fill_null(False)
        pos_rows = np.flatnonzero(positive.to_numpy(zero_copy_only=False))
        unsure_rows = np.flatnonzero(unsure.to_numpy(zero_copy_only=False))
        uncertain_counts[name] = len(unsure_rows)
        rows = np.concatenate([pos_rows, unsure_rows])
        status = np.concatenate(
            [np.full(len(pos_rows), POSITIVE), np.full(len(unsure_rows), UNCERTAIN)]
        )
        sample_parts.append(rows)
        index_parts.append(np.full(len(rows), k, dtype=np.int32))
        status_parts.append(status)
    rows = np.concatenate(sample_parts)
    index = np.concatenate(index_parts)
    status = np.concatenate(status_parts).astype(np.int8)
    order = np.lexsort((index, rows))
    rows, index, status = rows[order], index[order], status[order]
    if len(rows) > limits.max_table_rows:
        raise limit_error(f"{len(rows):,} labels", "max_table_rows", limits.max_table_rows)
    has_status = bool((status == UNCERTAIN).any())
    table = _long_table(rows, index, columns, status if has_status else None)
    findings = list(dataset.findings)
    total_uncertain = sum(uncertain_counts.values())
    if total_uncertain:
        worst = max(uncertain_counts, key=uncertain_counts.__getitem__)
        treated = {
            "ignore": "counted apart, as neither positive nor negative (U-Ignore)",
            "zeros": "counted as negatives (U-Zeros)",
            "ones": "counted as positives (U-Ones)",
        }[uncertain]
        findings.append(
            Finding(
                kind=FindingKind.UNCERTAIN_LABELS,
                severity=Severity.INFO,
                count=total_uncertain,
                message=(
                    f"{total_uncertain:,} labels are uncertain (-1), most in {worst!r} "
                    f"({uncertain_counts[worst]:,}); they are {treated}."
                ),
                rows=np.unique(rows[status == UNCERTAIN]),
            )
        )
    positives = status == POSITIVE if uncertain != "ones" else np.ones(len(status), bool)
    label_set = _label_sets(rows[positives], index[positives], columns, n)
    return _with_annotations(
        dataset, table, columns, uncertain if has_status else None, findings,
        label_column=label_set,
    )  # fmt: skip


def _label_sets(rows: np.ndarray, index: np.ndarray, classes, n: int) -> pa.Array:
    offsets = np.searchsorted(rows, np.arange(n + 1)).astype(np.int32)
    names = pc.take(pa.array(list(classes), pa.string()), pa.array(index))
    lists = pa.ListArray.from_arrays(pa.array(offsets), names)
    joined = pc.binary_join(lists, "|")
    return pc.if_else(
        pc.equal(pc.list_value_length(lists), 0), pa.scalar(None, pa.string()), joined
    )


def _with_annotations(
    dataset: Dataset,
    table: pa.Table,
    classes: Sequence[str],
    uncertain: str | None,
    findings: list[Finding],
    *,
    label_column: pa.Array | None,
) -> Dataset:
    annotations = Annotations(
        kind="multilabel", table=table, classes=tuple(classes), uncertain=uncertain
    )
    raw, roles = dataset.raw, dataset.roles
    if label_column is not None:
        name = "label_set"
        while name in raw.column_names:
            name += "_"
        raw = raw.append_column(name, label_column)
        roles = ColumnRoles(
            label=name,
            path=roles.path,
            split=roles.split,
            group=roles.group,
            guessed=tuple(r for r in roles.guessed if r != "label"),
            reasons={**{r: w for r, w in roles.reasons.items() if r != "label"},
                     "label": "the positive labels of each row, joined by '|'"},
        )  # fmt: skip
    return replace(dataset, raw=raw, roles=roles, findings=tuple(findings), annotations=annotations)
