"""Per-split class counts of multi-label data (balance_core.label_splits), checked
against pandas' crosstab and groupby on the same rows."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest

import balance_core as bc
from balance_core.detection_examples import chest_xray_table
from balance_core.label_splits import (
    current_label_splits,
    groups_in_several_splits,
    label_split_counts,
    with_split_column,
)
from balance_core.multilabel import label_matrix
from balance_core.splits import iterative_stratification


def nih(n_rows: int = 400) -> tuple[bc.Dataset, pd.DataFrame]:
    data = chest_xray_table(style="nih", n_rows=n_rows)
    return bc.read_dataset(data, name="nih.csv", label_col="Finding Labels"), pd.read_csv(
        io.BytesIO(data)
    )


def reference_counts(frame: pd.DataFrame, split: pd.Series, classes) -> np.ndarray:
    """Samples holding each finding per split, from the joined column with pandas."""
    long = frame.assign(split=split.to_numpy(), finding=frame["Finding Labels"].str.split("|"))
    long = long.explode("finding")
    table = pd.crosstab(long["split"], long["finding"])
    return table.reindex(columns=list(classes), fill_value=0).to_numpy()


def test_counts_of_a_new_split_equal_a_pandas_crosstab():
    dataset, frame = nih()
    matrix = label_matrix(dataset)
    assignment = iterative_stratification(matrix.dense(), [0.8, 0.2], seed=3)
    report = label_split_counts(matrix, assignment, ["train", "test"], asked=[0.8, 0.2])
    names = np.asarray(["train", "test"])[assignment]
    expected = reference_counts(frame, pd.Series(names), report.classes)
    expected = expected[[sorted(["train", "test"]).index(n) for n in ("train", "test")]]
    assert (report.counts == expected).all()
    assert report.sizes == (int((names == "train").sum()), int((names == "test").sum()))
    assert report.unsplit == 0
    label, split, achieved, asked = report.largest_gap()
    c, s = report.classes.index(label), report.splits.index(split)
    assert achieved == pytest.approx(expected[s, c] / expected[:, c].sum())
    gaps = np.abs(report.shares - np.asarray([[0.8], [0.2]]))
    assert abs(achieved - asked) == pytest.approx(gaps[:, report.totals > 0].max())


def test_current_splits_absent_classes_and_blank_splits_by_hand():
    rows = [("0.png", "a|b", "train"), ("1.png", "a", "train"), ("2.png", "b", "val"),
            ("3.png", "c", ""), ("4.png", "a|c", "val"), ("5.png", "a|b", "train")]  # fmt: skip
    text = "path,labels,split\n" + "".join(f"{p},{labels},{s}\n" for p, labels, s in rows)
    dataset = bc.read_dataset(text.encode(), name="t.csv", labels_sep="|")
    report = current_label_splits(dataset, label_matrix(dataset))
    assert report.splits == ("train", "val") and report.classes == ("a", "b", "c")
    assert report.sizes == (3, 2) and report.unsplit == 1
    assert report.counts.tolist() == [[3, 2, 0], [1, 1, 1]]
    assert report.absent() == [("train", "c")]
    assert report.largest_gap() is None  # nothing was asked


def test_no_split_column_gives_none():
    dataset, _ = nih(50)
    assert dataset.roles.split is None
    assert current_label_splits(dataset, label_matrix(dataset)) is None


def test_groups_in_several_splits_equal_pandas_nunique():
    dataset, frame = nih()
    assert dataset.roles.group == "Patient ID"
    assignment = np.arange(dataset.n_rows) % 3
    expected = int((frame.assign(s=assignment).groupby("Patient ID")["s"].nunique() > 1).sum())
    assert expected > 0
    assert groups_in_several_splits(dataset, assignment) == expected


def test_the_split_column_is_added_or_replaced_without_clobbering():
    dataset, _ = nih(30)
    table, column = with_split_column(dataset, ["train", "test"], np.arange(30) % 2)
    assert column == "split" and table.column_names[:-1] == dataset.raw.column_names
    assert table.column("split").to_pylist()[:3] == ["train", "test", "train"]
    # A column named "split" that is not the split role is kept: the new one is split_.
    text = "path,labels,split\n0.png,a|b,z\n1.png,b,z\n2.png,a,z\n"
    other = bc.read_dataset(text.encode(), name="t.csv", labels_sep="|")
    assert other.roles.split is None
    added, name = with_split_column(other, ["x", "y"], np.array([0, 1, 1]))
    assert name == "split_" and added.column("split").to_pylist() == ["z", "z", "z"]
    # The split role's column is replaced in place.
    text = "path,labels,split\n0.png,a|b,train\n1.png,b,test\n2.png,a,train\n"
    split = bc.read_dataset(text.encode(), name="t.csv", labels_sep="|", split_col="split")
    replaced, name = with_split_column(split, ["x", "y"], np.array([0, 1, 1]))
    assert name == "split" and replaced.column("split").to_pylist() == ["x", "y", "y"]
    assert replaced.column_names == split.raw.column_names
