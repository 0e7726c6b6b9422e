"""Multi-label tables: readers, and MeanIR, IRLbl, CVIR, SCUMBLE, cardinality and
co-occurrence on hand-computed cases and against scikit-learn's binarizer."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.preprocessing import MultiLabelBinarizer

from balance_core import read_table
from balance_core.dataset import FindingKind
from balance_core.detection_examples import CHEST_FINDINGS, chest_xray_table
from balance_core.errors import DatasetError
from balance_core.multilabel import multilabel_findings, summarize_multilabel
from balance_core.readers.multilabel import read_multilabel_table, sniff_multilabel

# Six samples: {a}, {a, b}, {a, c}, {a}, {b}, {} (written "No Finding").
HAND = b"file,labels\n1.png,a\n2.png,a|b\n3.png,c|a\n4.png,a\n5.png,b\n6.png,No Finding\n"


def _hand():
    return read_multilabel_table(read_table(HAND, label_col="labels"))


def test_hand_computed_measures():
    summary = summarize_multilabel(_hand())
    assert summary.classes == ("a", "b", "c")
    assert summary.positives == {"a": 4, "b": 2, "c": 1}
    assert summary.irlbl == {"a": 1.0, "b": 2.0, "c": 4.0}
    assert summary.mean_ir == pytest.approx(7 / 3)
    assert summary.max_ir == 4.0
    # CVIR: sample standard deviation of (1, 2, 4) over MeanIR.
    assert summary.cvir == pytest.approx(math.sqrt(7 / 3) / (7 / 3))
    # SCUMBLE: {a, b}: 1 - sqrt(1 * 2) / 1.5; {a, c}: 1 - sqrt(1 * 4) / 2.5; others 0.
    s_ab, s_ac = 1 - math.sqrt(2) / 1.5, 1 - 2 / 2.5
    assert summary.scumble == pytest.approx((s_ab + s_ac) / 6)
    assert summary.scumble_per_label["c"] == pytest.approx(s_ac)
    assert summary.scumble_per_label["a"] == pytest.approx((s_ab + s_ac) / 4)
    assert summary.cardinality == pytest.approx(7 / 6)
    assert summary.density == pytest.approx(7 / 18)
    assert summary.empty_sets == 1
    assert summary.cooccurrence.tolist() == [[4, 1, 1], [1, 2, 0], [1, 0, 1]]
    assert summary.alone == {"a": 2, "b": 1, "c": 0}
    assert summary.negatives == {"a": 2, "b": 4, "c": 5}
    assert summary.label_sets == 5  # {a}, {a,b}, {a,c}, {b}, {}


def test_findings_name_the_label_that_never_occurs_alone():
    findings = multilabel_findings(_hand())
    never = next(f for f in findings if f.kind == FindingKind.NEVER_ALONE)
    assert never.groups == (("c",),) and "'c'" in never.message
    empty = next(f for f in findings if f.kind == FindingKind.EMPTY_LABEL_SET)
    assert empty.rows.tolist() == [5] and "No Finding" in empty.message


def test_separator_is_sniffed_and_counts_equal_the_binarizer():
    data = chest_xray_table(style="nih", n_rows=400)
    table = read_table(data)
    guess = sniff_multilabel(table)
    assert guess is not None and guess.shape == "separator" and guess.sep == "|"
    dataset = read_multilabel_table(table)
    rows = [
        set() if cell == "No Finding" else set(cell.split("|"))
        for cell in table.raw.column("Finding Labels").to_pylist()
    ]
    binarizer = MultiLabelBinarizer()
    matrix = binarizer.fit_transform(rows)
    summary = summarize_multilabel(dataset)
    assert list(summary.classes) == list(binarizer.classes_)
    assert list(summary.positives.values()) == matrix.sum(axis=0).tolist()
    assert summary.cooccurrence.tolist() == (matrix.T @ matrix).tolist()
    assert summary.empty_sets == int((matrix.sum(axis=1) == 0).sum())
    # The example makes Hernia come only with Effusion.
    assert summary.alone["Hernia"] == 0


@pytest.mark.parametrize(("sep", "text"), [(";", "a;b"), (",", '"a,b"')])
def test_other_separators(sep, text):
    data = f"file,labels\n1,{text}\n2,a\n3,b\n4,{text}\n".encode()
    dataset = read_multilabel_table(read_table(data, label_col="labels"))
    assert summarize_multilabel(dataset).positives == {"a": 3, "b": 3}


def test_separator_can_be_given():
    data = b"file,labels\n1,a/b\n2,a\n"
    dataset = read_multilabel_table(read_table(data, label_col="labels"), sep="/")
    assert summarize_multilabel(dataset).positives == {"a": 2, "b": 1}


@pytest.mark.parametrize(
    ("policy", "positives", "uncertain"),
    [("ignore", 1, 1), ("zeros", 1, 0), ("ones", 2, 0)],
)
def test_chexpert_uncertain_policies(policy, positives, uncertain):
    data = b"Path,A,B,C\nx1,1.0,,0.0\nx2,-1.0,1.0,\nx3,0.0,1.0,1.0\nx4,,0.0,-1.0\n"
    table = read_table(data, path_col="Path")
    guess = sniff_multilabel(table)
    assert guess.shape == "indicators" and guess.label_cols == ("A", "B", "C")
    assert guess.has_uncertain
    dataset = read_multilabel_table(table, uncertain=policy)
    summary = summarize_multilabel(dataset)
    assert summary.positives["A"] == positives
    assert summary.uncertain["A"] == uncertain
    # Blank cells are negatives; uncertain ones are neither under "ignore".
    assert summary.negatives["A"] == 4 - positives - uncertain
    assert dataset.annotations.classes == ("A", "B", "C")  # column order


def test_chexpert_example_counts_by_hand():
    data = chest_xray_table(style="chexpert", n_rows=300)
    table = read_table(data)
    dataset = read_multilabel_table(table)
    summary = summarize_multilabel(dataset)
    for name in CHEST_FINDINGS:
        cells = table.raw.column(name).to_pylist()
        assert summary.positives[name] == cells.count("1.0")
        assert summary.uncertain[name] == cells.count("-1.0")
    assert any(f.kind == FindingKind.UNCERTAIN_LABELS for f in dataset.findings)


def test_true_false_indicators():
    data = b"id,cat,dog,bird\n1,true,false,false\n2,TRUE,true,\n3,no,yes,yes\n"
    dataset = read_multilabel_table(read_table(data), label_cols=["cat", "dog", "bird"])
    assert summarize_multilabel(dataset).positives == {"cat": 2, "dog": 2, "bird": 1}


def test_bad_indicator_value_gets_one_sentence():
    data = b"id,cat,dog,bird\n1,1,0,0\n2,maybe,1,0\n"
    with pytest.raises(DatasetError) as caught:
        read_multilabel_table(read_table(data), label_cols=["cat", "dog", "bird"])
    assert "'maybe' in row 2" in caught.value.message


def test_single_label_table_is_not_sniffed():
    data = b"file,label\n1,cat\n2,dog\n3,cat\n"
    table = read_table(data)
    assert sniff_multilabel(table) is None
    with pytest.raises(DatasetError) as caught:
        read_multilabel_table(table)
    assert caught.value.kind == "not_multilabel"


def test_single_label_dataset_reads_as_one_label_per_sample():
    table = read_table(b"file,label\n1,cat\n2,dog\n3,cat\n4,\n")
    summary = summarize_multilabel(table)
    assert summary.positives == {"cat": 2, "dog": 1}
    assert summary.cardinality == pytest.approx(3 / 4)
    assert np.array_equal(summary.cooccurrence, np.diag([2, 1]))
    assert table.kind == "single" and table.label_table().num_rows == 3


def test_zip_with_metadata_of_several_labels(tmp_path):
    import io
    import zipfile

    from balance_core import read_zip

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("metadata.csv", "file_name,labels\na.png,cat|dog\nb.png,dog\nc.png,cat\n")
        for name in ("a.png", "b.png", "c.png"):
            archive.writestr(name, b"x")
    dataset = read_multilabel_table(read_zip(out.getvalue(), probe="none"))
    assert summarize_multilabel(dataset).positives == {"cat": 2, "dog": 2}
