"""Distribution and imbalance metrics, against their published definitions."""

from __future__ import annotations

import math

import numpy as np
import pytest
import redflag
from hypothesis import given, settings
from hypothesis import strategies as st

from balance_core import Distribution, Verdict, distribution, read_table
from balance_core.stats import format_ratio

counts_strategy = st.dictionaries(
    st.text(min_size=1, max_size=6),
    st.integers(min_value=1, max_value=10_000),
    min_size=2,
    max_size=12,
)


def labels_from_counts(counts: dict[str, int]) -> list[str]:
    return [label for label, n in counts.items() for _ in range(n)]


def test_counts_are_in_sorted_label_order_and_exact():
    ds = read_table(b"label\nb\na\nb\nc\nb\n\n01\n1\n")
    dist = distribution(ds)
    assert list(dist.counts) == ["01", "1", "a", "b", "c"]
    assert dist.counts == {"01": 1, "1": 1, "a": 1, "b": 3, "c": 1}
    assert dist.n_rows == 7
    assert dist.missing_labels == 0


def test_missing_labels_are_counted_apart():
    ds = read_table(b"path,label\na,x\nb,\nc,y\nd,\n")
    dist = distribution(ds)
    assert dist.counts == {"x": 1, "y": 1}
    assert dist.missing_labels == 2
    assert dist.n_rows == 4


def test_split_counts_per_split_and_label():
    ds = read_table(b"label,split\na,train\na,train\nb,train\na,test\nb,\n")
    dist = distribution(ds)
    assert dist.split_counts == {"test": {"a": 1}, "train": {"a": 2, "b": 1}}
    assert dist.rows_without_split == 1


def test_ratio_minority_majority_and_text():
    dist = Distribution.from_counts({"real": 100, "attack": 630})
    assert dist.imbalance_ratio == pytest.approx(6.3)
    assert dist.ratio_text == "1 : 6.3"
    assert dist.minority == "real"
    assert dist.majority == "attack"
    assert dist.labels == ("attack", "real")


@pytest.mark.parametrize(
    ("ratio", "text"),
    [(1.0, "1 : 1"), (6.0, "1 : 6"), (6.25, "1 : 6.2"), (12.34, "1 : 12.3"), (250.4, "1 : 250"),
     (math.inf, "1 : ∞")],
)  # fmt: skip
def test_format_ratio(ratio, text):
    assert format_ratio(ratio) == text


def test_shannon_evenness_and_effective_classes_by_hand():
    dist = Distribution.from_counts({"a": 1, "b": 3})
    p = np.array([0.25, 0.75])
    entropy = -(p * np.log(p)).sum()
    assert dist.evenness == pytest.approx(entropy / math.log(2))
    assert dist.effective_classes == pytest.approx(math.exp(entropy))


def test_gini_matches_mean_absolute_difference_definition():
    counts = {"a": 5, "b": 10, "c": 85}
    x = np.array(list(counts.values()), dtype=float)
    expected = np.abs(x[:, None] - x[None, :]).sum() / (2 * len(x) ** 2 * x.mean())
    assert Distribution.from_counts(counts).gini == pytest.approx(expected)


@pytest.mark.parametrize(
    "counts", [[288, 49, 288], [629, 333, 511], [2, 81, 61, 4], [10, 3, 5], [1, 1, 1, 97]]
)
def test_imbalance_degree_matches_redflag(counts):
    mapping = {f"c{i}": n for i, n in enumerate(counts)}
    expected = redflag.imbalance_degree(labels_from_counts(mapping), method="tv")
    assert Distribution.from_counts(mapping).imbalance_degree == pytest.approx(expected, abs=1e-9)


def test_imbalance_degree_published_example():
    # Ortigosa-Hernández et al. (2017) / redflag docs: [288, 49, 288] with TV -> 0.76.
    dist = Distribution.from_counts({"a": 288, "b": 49, "c": 288})
    assert round(dist.imbalance_degree, 2) == 0.76


@pytest.mark.parametrize(
    ("counts", "verdict"),
    [({"a": 10, "b": 14}, Verdict.BALANCED), ({"a": 10, "b": 15}, Verdict.MILD),
     ({"a": 10, "b": 90}, Verdict.MILD), ({"a": 10, "b": 91}, Verdict.SEVERE)],
)  # fmt: skip
def test_verdict_thresholds(counts, verdict):
    dist = Distribution.from_counts(counts)
    assert dist.verdict is verdict
    assert dist.verdict_reason.startswith(verdict.value.capitalize()[:4])


def test_single_class_and_empty_edge_cases():
    one = Distribution.from_counts({"only": 5})
    assert (one.imbalance_ratio, one.evenness, one.imbalance_degree, one.gini) == (1.0, 1.0, 0, 0)
    zero = Distribution.from_counts({"a": 0, "b": 5})
    assert zero.imbalance_ratio == math.inf
    assert zero.to_dict()["imbalance_ratio"] is None


def test_negative_count_is_rejected():
    with pytest.raises(ValueError, match="whole number"):
        Distribution.from_counts({"a": -1})


@settings(max_examples=200, deadline=None)
@given(counts_strategy, st.integers(0, 2**32 - 1))
def test_permuting_rows_changes_nothing(counts, seed):
    labels = labels_from_counts(counts)
    shuffled = list(np.random.default_rng(seed).permutation(np.array(labels, dtype=object)))
    a = distribution(_dataset(labels)).to_dict()
    b = distribution(_dataset(shuffled)).to_dict()
    assert a == b


@settings(max_examples=200, deadline=None)
@given(st.integers(2, 50), st.integers(1, 1000))
def test_equal_counts_give_ratio_one_and_evenness_one(k, n):
    dist = Distribution.from_counts({f"class{i}": n for i in range(k)})
    assert dist.imbalance_ratio == 1.0
    assert dist.evenness == pytest.approx(1.0)
    assert dist.effective_classes == pytest.approx(k)
    assert dist.imbalance_degree == 0.0
    assert dist.gini == pytest.approx(0.0, abs=1e-12)
    assert dist.verdict is Verdict.BALANCED


@settings(max_examples=200, deadline=None)
@given(counts_strategy)
def test_metric_ranges(counts):
    dist = Distribution.from_counts(counts)
    assert dist.imbalance_ratio >= 1.0
    assert 0.0 <= dist.evenness <= 1.0 + 1e-12
    assert 1.0 - 1e-9 <= dist.effective_classes <= dist.n_classes + 1e-9
    assert 0.0 <= dist.gini < 1.0
    assert 0.0 <= dist.imbalance_degree < dist.n_classes
    assert sum(dist.shares.values()) == pytest.approx(1.0)


def _dataset(labels: list[str]):
    import pyarrow as pa

    from balance_core import ColumnRoles, Dataset, Source

    return Dataset(
        raw=pa.table({"label": pa.array(labels, type=pa.string())}),
        roles=ColumnRoles(label="label"),
        source=Source(name="test", format="csv", size_bytes=0),
    )
