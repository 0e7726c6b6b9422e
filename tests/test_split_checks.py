"""Split checks: the statistics against scipy on the same tables, and each finding on
data made to have (and not to have) the problem."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
from scipy.spatial.distance import jensenshannon
from scipy.stats import chi2_contingency

from balance_core import check_quality
from balance_core.dataset import ColumnRoles, Dataset, FindingKind, Severity, Source
from balance_core.split_checks import (
    check_splits,
    chi_square_homogeneity,
    js_distance,
    split_mix,
)
from balance_core.stats import distribution


def make_dataset(columns: dict, **roles) -> Dataset:
    table = pa.table({k: pa.array(v, type=pa.string()) for k, v in columns.items()})
    return Dataset(
        raw=table, roles=ColumnRoles(**roles), source=Source(name="t", format="csv", size_bytes=0)
    )


def rows(split_counts: dict[str, dict[str, int]], *, group_of=None) -> dict:
    """Columns with the given counts per split and class (a path per row)."""
    columns = {"path": [], "label": [], "split": []}
    for split, counts in split_counts.items():
        for label, n in counts.items():
            for _ in range(n):
                columns["path"].append(f"{split}/{label}/{len(columns['path'])}.png")
                columns["label"].append(label)
                columns["split"].append(split)
    return columns


COUNT_VECTORS = [
    ([10, 20, 30], [10, 20, 30]),
    ([1, 0, 0], [0, 1, 0]),
    ([14, 86], [30, 70]),
    ([5, 0, 3, 2], [1, 1, 1, 1]),
    ([1e6, 3, 0.5], [2e6, 1, 7]),
]


@pytest.mark.parametrize(("p", "q"), COUNT_VECTORS)
@pytest.mark.parametrize("base", [2.0, np.e])
def test_js_distance_equals_scipy(p, q, base):
    assert js_distance(p, q, base=base) == pytest.approx(jensenshannon(p, q, base=base), abs=1e-9)


TABLES = [
    [[90, 10], [80, 20]],  # 2x2: Yates' correction applies
    [[5, 1], [1, 5]],
    [[500, 120, 80], [60, 15, 25], [58, 14, 9]],
    [[3, 0, 7], [4, 2, 0]],
    [[10, 0], [20, 0]],  # a class with no rows is left out: 1 dof column -> no test
    [[1000000, 12], [250000, 9]],
]


@pytest.mark.parametrize("table", TABLES)
@pytest.mark.parametrize("correction", [True, False])
def test_chi_square_equals_scipy(table, correction):
    ours = chi_square_homogeneity(np.array(table), correction=correction)
    kept = np.array(table)[:, np.array(table).sum(axis=0) > 0]
    if kept.shape[1] < 2:
        assert (ours.statistic, ours.p_value, ours.dof) == (0.0, 1.0, 0)
        return
    statistic, p_value, dof, expected = chi2_contingency(kept, correction=correction)
    assert ours.statistic == pytest.approx(statistic, rel=1e-10, abs=1e-12)
    assert ours.p_value == pytest.approx(p_value, rel=1e-8, abs=1e-300)
    assert ours.dof == dof
    assert np.allclose(ours.expected, expected)


def test_split_mix_names_the_most_different_pair():
    dist = distribution(
        make_dataset(
            rows(
                {
                    "train": {"a": 700, "b": 300},
                    "val": {"a": 68, "b": 32},
                    "test": {"a": 40, "b": 60},
                }
            ),
            label="label",
            path="path",
            split="split",
        )
    )
    mix = split_mix(dist)
    a, b, distance = mix.worst_pair
    assert {a, b} == {"train", "test"} or {a, b} == {"val", "test"}
    assert distance == pytest.approx(
        max(jensenshannon([700, 300], [40, 60], base=2), jensenshannon([68, 32], [40, 60], base=2))
    )
    test_index = mix.splits.index("test")
    assert int(np.argmax(mix.to_rest)) == test_index
    assert mix.to_rest[test_index] == pytest.approx(
        jensenshannon([40, 60], [768, 332], base=2), abs=1e-12
    )


def kinds(findings) -> list[str]:
    return [str(f.kind) for f in findings]


def test_a_clean_stratified_split_has_no_findings():
    columns = rows({"train": {"a": 800, "b": 200}, "test": {"a": 200, "b": 50}})
    dataset = make_dataset(columns, label="label", path="path", split="split")
    assert check_splits(dataset) == ()


def test_class_missing_from_a_split_and_class_only_in_test():
    columns = rows(
        {
            "train": {"a": 100, "b": 50},
            "val": {"a": 20, "b": 10},
            "test": {"a": 20, "c": 5},
        }
    )
    dataset = make_dataset(columns, label="label", path="path", split="split")
    found = {f.kind: f for f in check_splits(dataset, max_js_distance=1.0)}
    assert set(found) == {FindingKind.EVAL_ONLY_CLASS, FindingKind.SPLIT_MISSING_CLASS}
    only = found[FindingKind.EVAL_ONLY_CLASS]
    labels = np.array(columns["label"])
    assert only.severity == Severity.ERROR
    assert only.groups == (("c",),)
    assert np.array_equal(only.rows, np.flatnonzero(labels == "c"))
    missing = found[FindingKind.SPLIT_MISSING_CLASS]
    # 'c' missing from train is the eval-only finding; val misses 'c', test misses 'b'.
    assert set(missing.groups) == {("val", "c"), ("test", "b")}
    assert np.array_equal(missing.rows, np.flatnonzero(np.isin(labels, ["b", "c"])))
    assert "threshold: at least 1" in missing.message


def test_minimum_per_split_is_a_threshold():
    columns = rows({"train": {"a": 100, "b": 40}, "test": {"a": 30, "b": 3}})
    dataset = make_dataset(columns, label="label", path="path", split="split")
    assert FindingKind.SPLIT_MISSING_CLASS not in kinds(check_splits(dataset, max_js_distance=1))
    found = check_splits(dataset, min_per_split=5, max_js_distance=1)
    assert kinds(found) == ["split_missing_class"]
    assert found[0].severity == Severity.WARNING
    assert found[0].groups == (("test", "b"),)
    assert "fewer than 5 rows" in found[0].message


def test_mix_finding_needs_both_distance_and_significance():
    skewed = rows({"train": {"a": 860, "b": 140}, "test": {"a": 70, "b": 30}})
    dataset = make_dataset(skewed, label="label", path="path", split="split")
    found = check_splits(dataset)
    assert kinds(found) == ["split_mix"]
    distance = jensenshannon([860, 140], [70, 30], base=2)
    _, p_value, _, _ = chi2_contingency([[860, 140], [70, 30]])
    assert f"{distance:.3f}" in found[0].message
    assert f"p = {p_value:.2g}" in found[0].message
    assert np.array_equal(found[0].rows, np.flatnonzero(np.array(skewed["split"]) == "test"))
    # Same distance on a tenth of the data: not significant, so not reported.
    small = rows({"train": {"a": 86, "b": 14}, "test": {"a": 7, "b": 3}})
    small_data = make_dataset(small, label="label", path="path", split="split")
    assert check_splits(small_data) == ()
    # And a stricter distance threshold than the data's distance reports nothing.
    assert check_splits(dataset, max_js_distance=distance + 0.01) == ()


def test_leakage_is_the_quality_checks_own_findings():
    columns = rows({"train": {"a": 50, "b": 20}, "test": {"a": 10, "b": 5}})
    columns["patient"] = [f"p{i % 12}" for i in range(len(columns["path"]))]
    columns["path"][-1] = columns["path"][0]  # one file in both splits
    dataset = make_dataset(columns, label="label", path="path", split="split", group="patient")
    quality = check_quality(dataset)
    expected = [f for f in quality if f.kind == FindingKind.SPLIT_LEAKAGE]
    assert len(expected) == 2  # the groups and the path
    computed = [f for f in check_splits(dataset) if f.kind == FindingKind.SPLIT_LEAKAGE]
    reused = [
        f for f in check_splits(dataset, findings=quality) if f.kind == FindingKind.SPLIT_LEAKAGE
    ]
    assert all(any(r is e for e in expected) for r in reused) and len(reused) == 2
    assert sorted(f.message for f in computed) == sorted(f.message for f in expected)
    assert sorted(tuple(f.rows) for f in computed) == sorted(tuple(f.rows) for f in expected)


def test_no_split_column_no_findings():
    dataset = make_dataset({"label": ["a", "b"] * 5}, label="label")
    assert check_splits(dataset) == ()
    assert split_mix(distribution(dataset)) is None
