"""Turning plans into rows: exact counts, subsets, determinism, splits, groups, strata."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from balance_core import ColumnRoles, Dataset, DatasetError, Source
from balance_core.apply import (
    counts_for,
    default_split,
    map_counts,
    map_labels,
    resample,
    sample_weights,
)
from balance_core.plan import class_weights, plan_oversample, plan_resample, plan_undersample


def make_dataset(labels, *, split=None, group=None, extra=None) -> Dataset:
    columns = {"path": [f"f{i}.png" for i in range(len(labels))], "label": labels}
    roles = {"label": "label", "path": "path"}
    if split is not None:
        columns["split"] = split
        roles["split"] = "split"
    if group is not None:
        columns["patient"] = group
        roles["group"] = "patient"
    columns.update(extra or {})
    return Dataset(
        raw=pa.table({k: pa.array(v, type=pa.string()) for k, v in columns.items()}),
        roles=ColumnRoles(**roles),
        source=Source(name="t.csv", format="csv", size_bytes=0),
    )


rows_st = st.lists(st.sampled_from(["a", "b", "c", "d"]), min_size=2, max_size=300).filter(
    lambda xs: len(set(xs)) >= 2
)


@settings(max_examples=80, deadline=None)
@given(rows_st, st.integers(0, 2**32), st.sampled_from([None, 1.5, 3.0]))
def test_undersampling_is_exact_subset_without_duplicates(labels, seed, ratio):
    ds = make_dataset(labels)
    plan = plan_undersample(counts_for(ds), ratio=ratio)
    out = resample(ds, plan, seed=seed)
    assert out.counts() == plan.after
    rows = out.manifest["row"].to_pylist()
    assert len(rows) == len(set(rows))
    assert out.manifest["copy"].to_pylist() == [0] * len(rows)
    # every input row is either kept or dropped, never both, never lost
    assert sorted(rows + out.dropped["row"].to_pylist()) == list(range(len(labels)))
    assert [labels[r] for r in rows] == out.manifest["label"].to_pylist()


@settings(max_examples=80, deadline=None)
@given(rows_st, st.integers(0, 2**32))
def test_oversampling_keeps_every_row_and_numbers_copies(labels, seed):
    ds = make_dataset(labels)
    plan = plan_oversample(counts_for(ds))
    out = resample(ds, plan, seed=seed)
    assert out.counts() == plan.after
    pairs = list(
        zip(out.manifest["row"].to_pylist(), out.manifest["copy"].to_pylist(), strict=True)
    )
    assert {r for r, c in pairs if c == 0} == set(range(len(labels)))
    assert len(pairs) == len(set(pairs))
    assert pairs == sorted(pairs)
    per_row = Counter(r for r, _ in pairs)
    for label in plan.before:  # copies spread evenly over a class's rows
        counts = [per_row[i] for i, x in enumerate(labels) if x == label]
        assert max(counts) - min(counts) <= 1
    assert out.dropped.num_rows == 0


@settings(max_examples=50, deadline=None)
@given(rows_st, st.integers(0, 2**32))
def test_same_seed_same_bytes_other_seed_other_rows(labels, seed):
    ds = make_dataset(labels)
    plan = plan_resample(counts_for(ds))
    a = resample(ds, plan, seed=seed)
    b = resample(ds, plan, seed=seed)
    assert a.manifest.equals(b.manifest)
    assert a.dropped.equals(b.dropped)


def test_different_seeds_choose_different_rows():
    ds = make_dataset(["a"] * 50 + ["b"] * 500)
    plan = plan_undersample(counts_for(ds))
    chosen = {tuple(resample(ds, plan, seed=s).manifest["row"].to_pylist()) for s in range(5)}
    assert len(chosen) == 5


def splitmix_reference(value: int, seed: int, stream: int) -> int:
    """SplitMix64 (Steele, Lea & Flood 2014) in plain Python integers."""
    mask = (1 << 64) - 1
    offset = (seed * 0x9E3779B97F4A7C15 + (stream + 1) * 0xD1B54A32D192ED03) & mask
    z = (value * 0x9E3779B97F4A7C15 + offset) & mask
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & mask
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & mask
    return z ^ (z >> 31)


def test_selection_equals_a_plain_python_reference():
    # The keyed hash is part of the contract: recipes made by earlier versions must
    # replay to the same rows, whatever numpy does to its random streams.
    labels = ["a"] * 7 + ["b"] * 30 + ["c"] * 12
    ds = make_dataset(labels)
    seed = 1234
    out = resample(ds, plan_undersample(counts_for(ds)), seed=seed)
    expected = []
    for index, label in enumerate(["a", "b", "c"]):
        members = [i for i, x in enumerate(labels) if x == label]
        members.sort(key=lambda i: splitmix_reference(i, seed, index))
        expected += members[:7]
    assert out.manifest["row"].to_pylist() == sorted(expected)


@pytest.mark.parametrize("n_classes", [3, 40])  # one pass per class, and the sort path
def test_selection_from_large_classes_equals_the_reference(n_classes):
    # Large classes and a small quota take the pre-filtered selection of the k
    # smallest keys; it must pick the very rows a full sort would.
    rng = np.random.default_rng(n_classes)
    sizes = [40] + [int(x) for x in rng.integers(1500, 3000, size=n_classes - 1)]
    labels = [f"c{c:02d}" for c, size in enumerate(sizes) for _ in range(size)]
    order = rng.permutation(len(labels))
    labels = [labels[i] for i in order]
    ds = make_dataset(labels)
    seed = 99
    out = resample(ds, plan_undersample(counts_for(ds)), seed=seed)
    expected = []
    for index, label in enumerate(sorted(set(labels))):
        members = [i for i, x in enumerate(labels) if x == label]
        members.sort(key=lambda i: splitmix_reference(i, seed, index))
        expected += members[:40]
    assert out.manifest["row"].to_pylist() == sorted(expected)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(st.sampled_from(["a", "b"]), st.integers(0, 9)), min_size=4, max_size=300),
    st.integers(0, 2**32),
)
def test_groups_are_spread_evenly(rows, seed):
    labels = [label for label, _ in rows]
    if len(set(labels)) < 2:
        return
    groups = [f"p{g}" for _, g in rows]
    ds = make_dataset(labels, group=groups)
    plan = plan_undersample(counts_for(ds))
    out = resample(ds, plan, seed=seed)
    assert out.counts() == plan.after
    for label in plan.before:
        sizes = Counter(g for x, g in zip(labels, groups, strict=True) if x == label)
        kept = Counter(
            g
            for x, g in zip(
                out.manifest["label"].to_pylist(), out.manifest["patient"].to_pylist(), strict=True
            )
            if x == label
        )
        # water-filling: a group below the level keeps everything; the others differ by <= 1
        level = max(kept.values(), default=0)
        for g, size in sizes.items():
            assert kept.get(g, 0) == size or kept.get(g, 0) >= level - 1


def test_groups_protect_small_patients_from_being_wiped_out():
    # 10 patients of normal slices; one has 500 slices, nine have 5 each.
    labels = ["normal"] * 545 + ["cancer"] * 45
    groups = ["big"] * 500 + [f"p{i}" for i in range(9) for _ in range(5)] + ["c"] * 45
    ds = make_dataset(labels, group=groups)
    out = resample(ds, plan_undersample(counts_for(ds)), seed=0)
    kept = Counter(
        g
        for x, g in zip(
            out.manifest["label"].to_pylist(), out.manifest["patient"].to_pylist(), strict=True
        )
        if x == "normal"
    )
    # quota 45 over 10 patients: level 4 each, 5 patients (seeded) get a fifth slice
    assert sorted(kept.values()) == [4] * 5 + [5] * 5
    without = resample(ds, plan_undersample(counts_for(ds)), seed=0, use_groups=False)
    kept_plain = Counter(
        g
        for x, g in zip(
            without.manifest["label"].to_pylist(),
            without.manifest["patient"].to_pylist(),
            strict=True,
        )
        if x == "normal"
    )
    assert kept_plain["big"] > 30  # random choice piles onto the big patient


def test_split_aware_leaves_other_splits_byte_identical():
    labels = ["a"] * 10 + ["b"] * 40 + ["a"] * 5 + ["b"] * 20
    split = ["train"] * 50 + ["test"] * 25
    ds = make_dataset(labels, split=split)
    assert default_split(ds) == "train"
    plan = plan_undersample(counts_for(ds, split="train"))
    out = resample(ds, plan, seed=1, split="train")
    assert out.counts() == {"a": 10, "b": 10}
    assert out.passthrough_rows == 25
    test_rows = out.manifest.filter(pc.equal(out.manifest["split"], "test"))
    assert test_rows["row"].to_pylist() == list(range(50, 75))
    assert test_rows["label"].to_pylist() == labels[50:]


def test_plan_for_other_counts_is_refused():
    ds = make_dataset(["a"] * 3 + ["b"] * 9, split=["train"] * 6 + ["test"] * 6)
    with pytest.raises(DatasetError, match="other class counts"):
        resample(ds, plan_undersample(counts_for(ds)), split="train")


def test_default_split_needs_a_training_split():
    ds = make_dataset(["a", "b"], split=["dev", "test"])
    with pytest.raises(DatasetError, match="train"):
        default_split(ds)


def test_stratify_keeps_attack_mix_inside_a_class():
    labels = ["real"] * 20 + ["spoof"] * 120
    attack = ["none"] * 20 + ["print"] * 60 + ["replay"] * 40 + ["mask"] * 20
    ds = make_dataset(labels, extra={"attack": attack})
    out = resample(ds, plan_undersample(counts_for(ds)), seed=2, stratify="attack")
    mix = Counter(
        a
        for x, a in zip(
            out.manifest["label"].to_pylist(), out.manifest["attack"].to_pylist(), strict=True
        )
        if x == "spoof"
    )
    assert mix == {"print": 10, "replay": 7, "mask": 3}  # 20 x (1/2, 1/3, 1/6), largest remainder


def test_label_mapping_merges_renames_and_drops():
    labels = ["Cat", "cat", "cat", "dog", "dog", "dog", "bird"]
    ds = make_dataset(labels)
    mapping = {"Cat": "cat", "bird": None}
    assert map_counts({"Cat": 1, "cat": 2, "dog": 3, "bird": 1}, mapping) == {"cat": 3, "dog": 3}
    assert map_labels(ds.labels, mapping).to_pylist() == ["cat"] * 3 + ["dog"] * 3 + [None]
    counts = counts_for(ds, mapping=mapping)
    out = resample(ds, plan_undersample(counts), seed=0, mapping=mapping)
    assert out.counts() == {"cat": 3, "dog": 3}
    assert out.manifest["original_label"].to_pylist()[:3] == ["Cat", "cat", "cat"]
    assert out.dropped.to_pydict()["reason"] == ["class dropped by the label mapping"]


def test_rows_without_label_are_dropped_with_a_reason():
    ds = make_dataset(["a", None, "b", "b"])
    out = resample(ds, plan_undersample(counts_for(ds)), seed=0)
    reasons = dict(
        zip(out.dropped["row"].to_pylist(), out.dropped["reason"].to_pylist(), strict=True)
    )
    assert reasons[1] == "no label"
    assert out.manifest.num_rows + out.dropped.num_rows == 4


def test_class_index_follows_sorted_labels():
    ds = make_dataset(["zebra", "ant", "moth", "ant"])
    out = resample(ds, plan_oversample(counts_for(ds)), seed=0)
    index = dict(
        zip(out.manifest["label"].to_pylist(), out.manifest["class_index"].to_pylist(), strict=True)
    )
    assert index == {"ant": 0, "moth": 1, "zebra": 2}


def test_sample_weights_per_row():
    ds = make_dataset(["a", "b", "b", None])
    table = sample_weights(ds, class_weights({"a": 1, "b": 2}))
    assert table["weight"].to_pylist()[:3] == pytest.approx([1.5, 0.75, 0.75])
    assert table["weight"].to_pylist()[3] is None


def test_large_undersampling_is_vectorised():
    n = 1_000_000
    rng = np.random.default_rng(0)
    labels = np.where(rng.random(n) < 0.1, "rare", "common").tolist()
    ds = make_dataset(labels)
    out = resample(ds, plan_undersample(counts_for(ds)), seed=0)
    assert out.counts() == {"common": labels.count("rare"), "rare": labels.count("rare")}


def test_mapping_from_an_edited_table():
    from balance_core.apply import mapping_from_table

    rows = [
        {"class": "Cat", "new name": "cat", "drop": False},
        {"class": "cat", "new name": "cat", "drop": False},
        {"class": "bird", "new name": "bird", "drop": True},
        {"class": "dog", "new name": "  canine ", "drop": False},
        {"class": "fish", "new name": "", "drop": False},
    ]
    assert mapping_from_table(rows) == {"Cat": "cat", "bird": None, "dog": "canine"}
