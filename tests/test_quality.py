"""Findings about the rows: each kind on a small table made for it."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from balance_core import (
    ColumnRoles,
    Dataset,
    FindingKind,
    Severity,
    Source,
    check_quality,
    read_table,
)
from balance_core.quality import label_key


def kinds(findings) -> list[str]:
    return [str(f.kind) for f in findings]


def only(findings, kind):
    (found,) = [f for f in findings if f.kind == kind]
    return found


def test_clean_data_has_no_findings():
    ds = read_table(
        b"path,label\n" + b"".join(f"{i}.png,{'ab'[i % 2]}\n".encode() for i in range(20))
    )
    assert check_quality(ds) == ()


def test_missing_labels_name_their_rows():
    ds = read_table(b"path,label\na,x\nb,\nc,y\nd,\n" + b"e,x\nf,y\n" * 5)
    finding = only(check_quality(ds), FindingKind.MISSING_LABEL)
    assert finding.count == 2
    assert finding.rows.tolist() == [1, 3]


def test_label_variants_case_spaces_and_unicode():
    data = "label\n" + "cat\n" * 6 + "Cat\n" + " cat \n" + "ｃａｔ\n" + "dog\n" * 6 + "DOG\n"
    ds = read_table(data.encode())
    finding = only(check_quality(ds), FindingKind.LABEL_VARIANTS)
    assert sorted(map(sorted, finding.groups)) == [
        sorted([" cat ", "Cat", "cat", "ｃａｔ"]),
        sorted(["DOG", "dog"]),
    ]
    # the most common spelling of each group comes first and its rows are not flagged
    assert {g[0] for g in finding.groups} == {"cat", "dog"}
    assert finding.count == 4
    assert finding.rows.tolist() == [6, 7, 8, 15]


def test_label_key():
    assert label_key("  Lung  Cancer ") == label_key("lung cancer") == label_key("ＬＵＮＧ cancer")
    assert label_key("01") != label_key("1")


def test_tiny_and_single_class():
    ds = read_table(b"label\n" + b"a\n" * 50 + b"b\n" * 3)
    tiny = only(check_quality(ds), FindingKind.TINY_CLASS)
    assert tiny.count == 3
    assert tiny.groups == (("b",),)
    single = check_quality(read_table(b"label\nx\nx\nx\n"))
    assert kinds(single) == ["single_class"]
    assert single[0].severity is Severity.ERROR


def test_duplicate_paths_same_class_conflict_and_leakage():
    rows = [
        ("a.png", "cat", "train"), ("a.png", "cat", "train"),   # same class, same split
        ("b.png", "cat", "train"), ("b.png", "dog", "train"),   # conflicting labels
        ("c.png", "dog", "train"), ("c.png", "dog", "test"),    # leakage across splits
    ] + [(f"u{i}.png", "cat" if i % 2 else "dog", "train") for i in range(20)]  # fmt: skip
    text = "path,label,split\n" + "".join(",".join(r) + "\n" for r in rows)
    found = check_quality(read_table(text.encode()))
    assert only(found, FindingKind.DUPLICATE_PATH).rows.tolist() == [0, 1]
    assert only(found, FindingKind.CONFLICTING_LABELS).rows.tolist() == [2, 3]
    assert only(found, FindingKind.SPLIT_LEAKAGE).rows.tolist() == [4, 5]
    # errors come before warnings
    severities = [f.severity for f in found]
    assert severities == sorted(severities, key=["error", "warning", "info"].index)


def test_duplicate_paths_ignore_missing_paths():
    ds = read_table(
        b"path,label\n,a\n,a\n,b\nx,a\ny,b\n" + b"".join(f"{i},a\n".encode() for i in range(9))
    )
    assert FindingKind.DUPLICATE_PATH not in kinds(check_quality(ds))


def test_duplicate_detection_on_many_rows_finds_the_one_duplicate():
    n = 200_000
    paths = [f"img/{i:08d}.jpg" for i in range(n)]
    paths[123_456] = paths[7]
    labels = ["a" if i % 3 else "b" for i in range(n)]
    labels[123_456] = labels[7]
    ds = Dataset(
        raw=pa.table({"path": paths, "label": labels}),
        roles=ColumnRoles(label="label", path="path"),
        source=Source(name="t", format="csv", size_bytes=0),
    )
    finding = only(check_quality(ds), FindingKind.DUPLICATE_PATH)
    assert finding.rows.tolist() == [7, 123_456]


def test_identical_content_through_content_key():
    ds = Dataset(
        raw=pa.table({"path": [f"{i}.png" for i in range(8)],
                      "label": ["a", "a", "a", "b", "b", "b", "b", "b"],
                      "split": ["train"] * 6 + ["test", "train"]}),
        roles=ColumnRoles(label="label", path="path", split="split"),
        source=Source(name="t.zip", format="zip", size_bytes=0),
        content_key=pa.array([0, 0, 1, 1, 2, 3, 2, 4], type=pa.int64()),
    )  # fmt: skip
    found = check_quality(ds, tiny_class_size=1)
    assert only(found, FindingKind.DUPLICATE_CONTENT).rows.tolist() == [0, 1]
    assert only(found, FindingKind.CONFLICTING_LABELS).rows.tolist() == [2, 3]
    assert only(found, FindingKind.SPLIT_LEAKAGE).rows.tolist() == [4, 6]


def test_group_leakage_between_splits():
    text = "label,split,patient_id\n" + "".join(
        f"{'ab'[i % 2]},{'train' if i < 16 else 'test'},p{i // 4 if i != 16 else 0}\n"
        for i in range(24)
    )
    found = check_quality(read_table(text.encode()))
    leak = only(found, FindingKind.SPLIT_LEAKAGE)
    assert leak.groups == (("p0",),)
    assert leak.rows.tolist() == [0, 1, 2, 3, 16]


def test_reader_findings_are_kept():
    ds = read_table("label\nCafé\nCafé\nthé\nthé\nthé\n".encode("cp1252"))
    found = check_quality(ds, tiny_class_size=1)
    assert kinds(found) == ["encoding_fallback"]


def test_finding_to_dict_is_json_ready():
    ds = read_table(b"path,label\na,x\nb,\n" + b"c,y\n" * 6)
    payload = only(check_quality(ds), FindingKind.MISSING_LABEL).to_dict()
    assert payload["rows"] == [1] and payload["kind"] == "missing_label"
    assert isinstance(payload["count"], int)
    assert np.asarray(payload["rows"]).dtype.kind == "i"
