"""The Overview under AppTest: findings a person can read, a class's rows, the label
mapping visible, tables in natural order."""

from __future__ import annotations

from app_session import start, upload
from zip_factory import make_zip, png

import balance_core as bc
from balance_core.finding_view import INTERNAL_COLUMNS, finding_rows


def overview(at):
    at.switch_page("pages/1_Overview.py").run()
    assert not at.exception, at.exception
    return at


def metric(at, label):
    return next(m.value for m in at.metric if m.label == label)


def duplicates_zip() -> bytes:
    # The same image filed under two classes (conflicting labels), another copied
    # within one class, and distinct images.
    entries = [("cats/same.png", png(1)), ("dogs/same.png", png(1))]
    entries += [("cats/a.png", png(2)), ("cats/a_copy.png", png(2))]
    entries += [(f"cats/{i}.png", png(10 + i)) for i in range(6)]
    entries += [(f"dogs/{i}.png", png(30 + i)) for i in range(3)]
    return make_zip(entries)


def test_zip_findings_are_grouped_with_images_side_by_side_and_no_internal_columns():
    at = start()
    upload(at, "pets.zip", duplicates_zip())
    overview(at)
    frames = [d.value for d in at.dataframe]
    for frame in frames:
        assert not set(INTERNAL_COLUMNS) & set(frame.columns), list(frame.columns)
    sets = [f for f in frames if "set" in f.columns]
    assert sets, [list(f.columns) for f in frames]
    conflict = next(f for f in sets if set(f["label"]) == {"cats", "dogs"})
    assert list(conflict["set"]) == [1, 1]
    assert sorted(conflict["path"]) == ["cats/same.png", "dogs/same.png"]
    assert "Set 1" in [t.value for t in at.text]


def test_finding_rows_groups_sets_in_order_of_first_row():
    csv = b"path,label,split\n" + b"".join(
        f"{p},{label},{s}\n".encode()
        for p, label, s in [
            ("b.png", "x", "train"), ("a.png", "x", "train"), ("b.png", "x", "test"),
            ("a.png", "x", "val"), ("c.png", "y", "train"),
        ]
    )  # fmt: skip
    analysis = bc.analyze(bc.read_dataset(csv, name="t.csv"))
    leak = next(f for f in analysis.findings if f.kind == bc.FindingKind.SPLIT_LEAKAGE)
    table = finding_rows(analysis.dataset, leak).to_pydict()
    assert table["set"] == [1, 1, 2, 2]
    assert table["row"] == [0, 2, 1, 3]
    assert table["path"] == ["b.png", "b.png", "a.png", "a.png"]


def test_pick_a_class_to_see_its_rows_or_thumbnails():
    at = start()
    upload(at, "pets.zip", duplicates_zip())
    overview(at)
    box = next(s for s in at.selectbox if s.label == "Show the rows of class")
    box.set_value("dogs").run()
    rows = next(
        d.value for d in at.dataframe if "row" in d.value.columns and "set" not in d.value.columns
    )
    assert set(rows["label"]) == {"dogs"} and len(rows) == 4
    assert len(at.get("image")) >= 4


def test_merging_variants_visibly_changes_the_overview():
    rows = ["cat"] * 30 + ["Cat"] * 5 + ["dog"] * 20
    at = start()
    upload(at, "pets.csv", ("label\n" + "\n".join(rows) + "\n").encode())
    overview(at)
    assert metric(at, "Classes") == "3"
    next(b for b in at.button if b.label.startswith("Merge")).click().run()
    assert metric(at, "Classes") == "2"
    assert metric(at, "Imbalance ratio") == "1 : 1.8"
    assert any("Counts after the label mapping" in i.value for i in at.info)
    counts = next(d.value for d in at.dataframe if "samples" in d.value.columns)
    assert dict(zip(counts["class"], counts["samples"], strict=True)) == {"cat": 35, "dog": 20}


def test_counts_table_in_natural_order_folded_past_30_classes():
    rows = "".join(f"cls_{i % 40}\n" for i in range(4000))
    at = start()
    upload(at, "forty.csv", ("label\n" + rows).encode())
    overview(at)
    table = next(d.value for d in at.dataframe if "samples" in d.value.columns)
    assert len(table) == 29
    at.toggle(key="overview.all").set_value(True).run()
    table = next(d.value for d in at.dataframe if "samples" in d.value.columns)
    assert list(table["class"][:3]) == ["cls_0", "cls_1", "cls_2"]
    assert table["class"].iloc[10] == "cls_10" and len(table) == 40


def test_numeric_labels_get_numeric_class_indices():
    rows = "".join(f"{v}\n" for v in [1] * 10 + [2] * 5 + [10] * 7)
    at = start()
    upload(at, "nums.csv", ("target\n" + rows).encode())
    overview(at)
    table = next(d.value for d in at.dataframe if "samples" in d.value.columns)
    assert list(table["class"]) == ["1", "2", "10"]
    assert list(table["class index"]) == [0, 1, 2]
