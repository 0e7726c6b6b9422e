"""Splits of samples that carry several labels (or boxes): per split and class, how
many samples hold the class, as the Splits page shows them for the current split
column and for a new iterative stratification."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .dataset import Dataset
from .multilabel import LabelMatrix

__all__ = [
    "LabelSplitCounts",
    "current_label_splits",
    "groups_in_several_splits",
    "label_split_counts",
    "with_split_column",
]


@dataclass(frozen=True)
class LabelSplitCounts:
    """Samples holding each class in each split.

    Attributes
    ----------
    splits : tuple of str
        Split names, in the order of ``counts``' rows.
    classes : tuple of str
    sizes : tuple of int
        Samples in each split (with or without a label).
    counts : numpy.ndarray
        ``counts[s, c]``: samples of split ``s`` holding class ``c``.
    unsplit : int
        Samples in no split (a blank split cell).
    asked : tuple of float or None
        The shares asked of each split, for a split just made.
    """

    splits: tuple[str, ...]
    classes: tuple[str, ...]
    sizes: tuple[int, ...]
    counts: np.ndarray
    unsplit: int = 0
    asked: tuple[float, ...] | None = None

    @property
    def totals(self) -> np.ndarray:
        """Samples holding each class, over all splits."""
        return self.counts.sum(axis=0)

    @property
    def shares(self) -> np.ndarray:
        """``counts[s, c] / totals[c]`` (0 for a class no sample holds)."""
        totals = self.totals
        return np.divide(
            self.counts, totals, out=np.zeros(self.counts.shape, float), where=totals > 0
        )

    def absent(self) -> list[tuple[str, str]]:
        """(split, class) for each class held somewhere but by no sample of the split."""
        held = self.totals > 0
        return [
            (name, self.classes[c])
            for s, name in enumerate(self.splits)
            for c in np.flatnonzero(held & (self.counts[s] == 0))
        ]

    def largest_gap(self) -> tuple[str, str, float, float] | None:
        """(class, split, share achieved, share asked) where the share of a class's
        samples in a split is furthest from the share asked; None when nothing was
        asked or no class is held."""
        held = self.totals > 0
        if self.asked is None or not held.any():
            return None
        achieved = self.shares[:, held]
        gap = np.abs(achieved - np.asarray(self.asked)[:, None])
        s, c = np.unravel_index(int(gap.argmax()), gap.shape)
        label = np.asarray(self.classes, dtype=object)[held][c]
        return str(label), self.splits[s], float(achieved[s, c]), float(self.asked[s])


def label_split_counts(
    matrix: LabelMatrix,
    split_of: np.ndarray,
    splits: list[str] | tuple[str, ...],
    *,
    asked: list[float] | tuple[float, ...] | None = None,
) -> LabelSplitCounts:
    """Count, per split and class, the samples of ``matrix`` holding the class.

    Parameters
    ----------
    matrix : LabelMatrix
        The (sample, label) pairs (:func:`balance_core.multilabel.label_matrix`).
    split_of : numpy.ndarray of int
        The split index of every sample; ``len(splits)`` for a sample in none.
    splits : sequence of str
    asked : sequence of float, optional
        The shares asked of each split.
    """
    split_of = np.asarray(split_of, dtype=np.int64)
    n = len(splits)
    counts = np.zeros((n + 1, matrix.n_labels), dtype=np.int64)
    np.add.at(counts, (split_of[matrix.sample], matrix.label), 1)
    sizes = np.bincount(split_of, minlength=n + 1)
    return LabelSplitCounts(
        splits=tuple(splits),
        classes=tuple(matrix.classes),
        sizes=tuple(int(v) for v in sizes[:n]),
        counts=counts[:n],
        unsplit=int(sizes[n]),
        asked=None if asked is None else tuple(float(a) for a in asked),
    )


def current_label_splits(dataset: Dataset, matrix: LabelMatrix) -> LabelSplitCounts | None:
    """:func:`label_split_counts` of the dataset's split column (None without one);
    splits in sorted order."""
    if dataset.roles.split is None:
        return None
    column = dataset.raw.column(dataset.roles.split).combine_chunks().cast(pa.string())
    names = sorted(pc.unique(column.drop_null()).to_pylist())
    index = pc.index_in(column, value_set=pa.array(names, pa.string()))
    split_of = index.fill_null(len(names)).to_numpy(zero_copy_only=False).astype(np.int64)
    return label_split_counts(matrix, split_of, names)


def groups_in_several_splits(dataset: Dataset, split_of: np.ndarray) -> int:
    """How many values of the group column have samples in more than one split
    (0 without a group column)."""
    group = dataset.roles.group
    if group is None:
        return 0
    groups = dataset.raw.column(group).combine_chunks().cast(pa.string())
    table = pa.table({"g": groups, "s": pa.array(np.asarray(split_of, dtype=np.int64))})
    table = table.filter(pc.is_valid(table.column("g")))
    per_group = table.group_by("g").aggregate([("s", "count_distinct")])
    return int(pc.sum(pc.greater(per_group.column("s_count_distinct"), 1)).as_py() or 0)


def with_split_column(
    dataset: Dataset, splits: list[str] | tuple[str, ...], split_of: np.ndarray
) -> tuple[pa.Table, str]:
    """The dataset's table with the split of every sample: in its split column when
    it has one (replaced), else in a new column ``split`` (``split_`` and so on when
    the name is taken). Returns the table and the column's name."""
    raw = dataset.raw
    new = pc.take(pa.array(list(splits), pa.string()), pa.array(np.asarray(split_of)))
    column = dataset.roles.split or "split"
    if column != dataset.roles.split:
        while column in raw.column_names:
            column += "_"
    if column in raw.column_names:
        return raw.set_column(raw.column_names.index(column), column, new), column
    return raw.append_column(column, new), column
