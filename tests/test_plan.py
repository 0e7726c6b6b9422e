"""Plans against their references: imbalanced-learn's counts, scikit-learn's weights,
and the papers' formulas on hand-computed values."""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from imblearn.over_sampling import RandomOverSampler
from imblearn.under_sampling import RandomUnderSampler
from sklearn.utils.class_weight import compute_class_weight

from balance_core import DatasetError
from balance_core.plan import (
    TORCH_MULTINOMIAL_LIMIT,
    class_weights,
    parse_target,
    plan_oversample,
    plan_resample,
    plan_undersample,
    sampler_weights,
)

counts_st = st.dictionaries(
    st.sampled_from([f"c{i}" for i in range(8)]), st.integers(1, 300), min_size=2, max_size=8
)
binary_st = st.tuples(st.integers(1, 400), st.integers(1, 400))


def labels_of(counts: dict[str, int]) -> np.ndarray:
    return np.array([k for k, n in counts.items() for _ in range(n)], dtype=object)


def imblearn_counts(sampler, counts: dict[str, int]) -> dict[str, int]:
    y = labels_of(counts)
    _, y_res = sampler.fit_resample(np.zeros((len(y), 1)), y)
    found = Counter(y_res.tolist())
    return {k: found.get(k, 0) for k in sorted(counts)}


@settings(max_examples=60, deadline=None)
@given(counts_st)
def test_undersample_equal_matches_imblearn_auto(counts):
    ref = imblearn_counts(RandomUnderSampler(sampling_strategy="auto", random_state=0), counts)
    assert plan_undersample(counts).after == ref


@settings(max_examples=60, deadline=None)
@given(counts_st)
def test_undersample_majority_matches_imblearn(counts):
    ref = imblearn_counts(RandomUnderSampler(sampling_strategy="majority", random_state=0), counts)
    assert plan_undersample(counts, majority_only=True).after == ref


@settings(max_examples=100, deadline=None)
@given(binary_st, st.sampled_from([1.0, 1.25, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 10.0]))
def test_undersample_ratio_matches_imblearn_float(sizes, ratio):
    counts = {"a": sizes[0], "b": sizes[1]}
    minority, majority = min(sizes), max(sizes)
    if math.floor(minority * ratio) > majority:
        # imbalanced-learn refuses a ratio that would need new samples; we keep the class.
        assert plan_undersample(counts, ratio=ratio).after == counts
        return
    ref = imblearn_counts(RandomUnderSampler(sampling_strategy=1 / ratio, random_state=0), counts)
    assert plan_undersample(counts, ratio=ratio).after == ref


@settings(max_examples=60, deadline=None)
@given(counts_st, st.data())
def test_undersample_dict_matches_imblearn(counts, data):
    targets = {
        k: data.draw(st.integers(0, n)) for k, n in counts.items() if data.draw(st.booleans())
    }
    ref = imblearn_counts(RandomUnderSampler(sampling_strategy=targets, random_state=0), counts)
    assert plan_undersample(counts, targets=targets).after == ref


@settings(max_examples=60, deadline=None)
@given(counts_st)
def test_oversample_equal_and_minority_match_imblearn(counts):
    ref = imblearn_counts(RandomOverSampler(sampling_strategy="auto", random_state=0), counts)
    assert plan_oversample(counts).after == ref
    ref = imblearn_counts(RandomOverSampler(sampling_strategy="minority", random_state=0), counts)
    assert plan_oversample(counts, minority_only=True).after == ref


@settings(max_examples=100, deadline=None)
@given(binary_st, st.sampled_from([1.0, 1.25, 1.5, 2.0, 3.0, 4.0, 8.0]))
def test_oversample_ratio_matches_imblearn_float(sizes, ratio):
    counts = {"a": sizes[0], "b": sizes[1]}
    minority, majority = min(sizes), max(sizes)
    if math.floor(majority / ratio) <= minority:
        assert plan_oversample(counts, ratio=ratio).after == counts
        return
    ref = imblearn_counts(RandomOverSampler(sampling_strategy=1 / ratio, random_state=0), counts)
    assert plan_oversample(counts, ratio=ratio).after == ref


@settings(max_examples=60, deadline=None)
@given(counts_st, st.data())
def test_oversample_dict_matches_imblearn(counts, data):
    targets = {k: n + data.draw(st.integers(0, 50)) for k, n in counts.items()}
    ref = imblearn_counts(RandomOverSampler(sampling_strategy=targets, random_state=0), counts)
    assert plan_oversample(counts, targets=targets).after == ref


def test_cap_and_hybrid_targets():
    counts = {"a": 10, "b": 40, "c": 400}
    assert plan_undersample(counts, cap=50).after == {"a": 10, "b": 40, "c": 50}
    assert plan_resample(counts).after == {"a": 40, "b": 40, "c": 40}
    assert plan_resample(counts, to="mean").after == {"a": 150, "b": 150, "c": 150}
    assert plan_resample(counts, to=25).after == {"a": 25, "b": 25, "c": 25}
    plan = plan_resample(counts)
    assert plan.dropped == {"a": 0, "b": 0, "c": 360}
    assert plan.added == {"a": 30, "b": 0, "c": 0}


@pytest.mark.parametrize(
    ("call", "needle"),
    [
        (lambda: plan_undersample({"a": 5}), "only one class"),
        (lambda: plan_undersample({"a": 5, "b": 9}, ratio=0.5), ">= 1"),
        (lambda: plan_undersample({"a": 5, "b": 9}, cap=0), ">= 1"),
        (lambda: plan_undersample({"a": 5, "b": 9}, targets={"a": 6}), "cannot raise"),
        (lambda: plan_undersample({"a": 5, "b": 9}, targets={"z": 1}), "not in the data"),
        (lambda: plan_undersample({"a": 5, "b": 9}, ratio=2, cap=3), "only one"),
        (lambda: plan_oversample({"a": 5, "b": 9}, targets={"b": 3}), "cannot lower"),
        (lambda: plan_resample({"a": 5, "b": 9}, to="mode"), "median"),
        (lambda: class_weights({"a": 5, "b": 9}, method="magic"), "Unknown weighting"),
        (lambda: class_weights({"a": 5, "b": 9}, method="effective_number", beta=1.0), "beta"),
        (lambda: class_weights({"a": 5, "b": 9}, method="custom", custom={"a": 1}), "every class"),
        (lambda: class_weights({"a": 5, "b": 9}, max_ratio=0.5), "max_ratio"),
        (lambda: parse_target("ratio:x"), "Cannot read the target"),
    ],
)
def test_bad_requests_raise_one_sentence(call, needle):
    with pytest.raises(DatasetError, match=needle) as caught:
        call()
    assert caught.value.kind == "bad_parameter"
    assert str(caught.value).count(". ") == 0


@settings(max_examples=100, deadline=None)
@given(counts_st)
def test_balanced_weights_equal_scikit_learn(counts):
    y = labels_of(counts)
    classes = np.array(sorted(counts), dtype=object)
    ref = compute_class_weight("balanced", classes=classes, y=y)
    got = class_weights(counts).as_list
    np.testing.assert_allclose(got, ref, rtol=1e-12)


def test_balanced_weights_keep_mean_sample_weight_one():
    cw = class_weights({"real": 100, "attack": 630})
    assert sum(cw.counts[c] * cw.weights[c] for c in cw.counts) / 730 == pytest.approx(1.0)
    assert cw.loss_share_after == pytest.approx({"attack": 0.5, "real": 0.5})
    assert cw.loss_share_before["real"] == pytest.approx(100 / 730)


def test_inverse_and_sqrt_inverse_by_hand():
    counts = {"a": 10, "b": 40}
    inv = class_weights(counts, method="inverse").weights
    # 1/10 : 1/40 = 4 : 1, scaled to sum 2 -> 1.6, 0.4
    assert inv == pytest.approx({"a": 1.6, "b": 0.4})
    sq = class_weights(counts, method="sqrt_inverse").weights
    # 1/sqrt(10) : 1/sqrt(40) = 2 : 1 -> 4/3, 2/3
    assert sq == pytest.approx({"a": 4 / 3, "b": 2 / 3})


def test_effective_number_cui_2019_by_hand():
    counts = {"a": 10, "b": 100, "c": 1000}
    beta = 0.99
    raw = {k: (1 - beta) / (1 - beta**n) for k, n in counts.items()}
    scale = 3 / sum(raw.values())
    got = class_weights(counts, method="effective_number", beta=beta).weights
    assert got == pytest.approx({k: v * scale for k, v in raw.items()}, rel=1e-12)
    assert sum(got.values()) == pytest.approx(3.0)
    # beta -> 0 gives equal weights; beta -> 1 approaches inverse frequency.
    flat = class_weights(counts, method="effective_number", beta=0.0).weights
    assert flat == pytest.approx(dict.fromkeys(counts, 1.0))
    near = class_weights(counts, method="effective_number", beta=0.999999).as_list
    inv = class_weights(counts, method="inverse").as_list
    np.testing.assert_allclose(near, inv, rtol=1e-2)


def test_median_frequency_eigen_fergus_by_hand():
    counts = {"a": 10, "b": 30, "c": 60}
    # f = 0.1, 0.3, 0.6; median 0.3 -> 3, 1, 0.5
    assert class_weights(counts, method="median_frequency").weights == pytest.approx(
        {"a": 3.0, "b": 1.0, "c": 0.5}
    )


def test_normalisations():
    counts = {"a": 10, "b": 90}
    mean = class_weights(counts, method="inverse", normalize="mean")
    assert sum(counts[c] * mean.weights[c] for c in counts) / 100 == pytest.approx(1.0)
    smallest = class_weights(counts, method="inverse", normalize="min")
    assert min(smallest.weights.values()) == pytest.approx(1.0)
    assert smallest.weights["a"] == pytest.approx(9.0)


def test_clipping_bounds_the_spread_and_warns():
    counts = {"rare": 3, "common": 3000}
    raw = class_weights(counts)
    assert raw.spread == pytest.approx(1000)
    assert any("× the smallest" in w for w in raw.warnings)
    clipped = class_weights(counts, max_ratio=10)
    assert clipped.spread == pytest.approx(10)
    assert clipped.clipped == ("rare",)
    assert any("clipped" in w for w in clipped.warnings)


def test_custom_weights_and_huge_spread_stay_finite():
    cw = class_weights({"a": 1, "b": 10**15}, method="effective_number", beta=0.9999)
    assert all(math.isfinite(w) and w > 0 for w in cw.weights.values())
    custom = class_weights({"a": 1, "b": 2}, method="custom", custom={"a": 2.5, "b": 1})
    assert custom.weights == {"a": 2.5, "b": 1.0}


def test_sampler_weights_expected_distinct_and_torch_limit():
    sw = sampler_weights({"a": 100, "b": 900})
    # inverse weights: each class drawn half the time
    assert sw.draw_share == pytest.approx({"a": 0.5, "b": 0.5})
    # P(sample of a drawn) = 1/200 per draw, 1000 draws
    assert sw.expected_distinct["a"] == pytest.approx(100 * (1 - (1 - 1 / 200) ** 1000))
    assert sw.expected_distinct["b"] == pytest.approx(900 * (1 - (1 - 1 / 1800) ** 1000))
    big = sampler_weights({"a": TORCH_MULTINOMIAL_LIMIT, "b": 10})
    assert any("torch.multinomial" in w for w in big.warnings)


def test_plan_warnings_for_risky_choices():
    drop = plan_undersample({"cancer": 100, "normal": 600})
    assert any("thrown away" in w for w in drop.warnings)
    copy = plan_oversample({"rare": 3, "common": 300})
    assert any("copied 100 times" in w for w in copy.warnings)
    assert plan_undersample({"a": 90, "b": 100}).warnings == ()


def test_parse_target():
    assert parse_target("equal") == {}
    assert parse_target("ratio:2") == {"ratio": 2.0}
    assert parse_target("cap:500") == {"cap": 500}
    assert parse_target("counts:a=1,b=2") == {"targets": {"a": 1, "b": 2}}
    assert parse_target("median") == {"to": "median"}
    assert parse_target("300") == {"to": 300}
