"""The recommendation (issue 10, item 10), ratio choices and cost tables at many classes
(item 8), and the verdict's wording (items 10 and 13)."""

from __future__ import annotations

import pytest

from balance_core.advice import MIN_KEPT_PER_CLASS, recommend, undersample_equal_warning
from balance_core.examples import face_antispoofing_csv, lung_ct_csv
from balance_core.plan import class_weights, plan_undersample, ratio_choices
from balance_core.readers import read_dataset
from balance_core.stats import Distribution, distribution, format_times, ratio_beside_threshold


def _dist(counts, splits=None) -> Distribution:
    return Distribution.from_counts(counts, split_counts=splits)


def test_balanced_needs_no_action():
    d = _dist({"a": 100, "b": 80})
    advice = recommend(d)
    assert advice.action == "none" and advice.strategy is None
    assert f"({d.ratio_text}, below 1 : 1.5): train as is." in advice.reason


def test_one_class_is_never_called_balanced():
    d = _dist({"only": 40})
    advice = recommend(d)
    assert advice.action == "fix_labels"
    assert "one class only ('only')" in advice.reason
    assert d.verdict_label == "One class"
    assert "Balanced" not in d.verdict_reason and "only one class" in d.verdict_reason


def test_tiny_classes_are_merged_or_dropped_first():
    advice = recommend(_dist({"a": 5000, "b": 900, "c": 1}))
    assert advice.action == "merge_or_drop"
    assert "'c'" in advice.reason and "fewer than 5" in advice.reason


def test_many_minority_rows_undersample_as_in_the_lung_ct_story():
    ds = read_dataset(lung_ct_csv(), name="lung.csv")
    counts = distribution(ds).counts
    assert min(counts.values()) >= MIN_KEPT_PER_CLASS
    advice = recommend(distribution(ds))
    assert (advice.action, advice.strategy, advice.target) == (
        "undersample",
        "undersample",
        "equal",
    )
    assert "Losing majority rows is cheap" in advice.reason
    plan = plan_undersample(counts)  # what the recommendation asks for is what it says
    assert f"{min(counts.values()):,} rows" in advice.reason
    assert f"({plan.rows_after:,} in all)" in advice.reason


def test_every_sample_counts_gets_class_weights_as_in_the_face_story():
    ds = read_dataset(face_antispoofing_csv(), name="fas.csv")
    d = distribution(ds)
    # Counts alone cannot tell the two stories apart (1,078 real faces in train,
    # 1,068 cancer slices): the user says every sample counts.
    assert recommend(d, split="train").action == "undersample"
    advice = recommend(d, split="train", every_sample_counts=True)
    assert advice.action == "class_weights" and advice.strategy == "weights"
    assert "Every sample counts" in advice.reason
    train = d.split_counts["train"]
    assert advice.ratio == Distribution.from_counts(train).ratio_text
    assert advice.ratio_overall == d.ratio_text
    assert advice.ratio_text.startswith(f"{advice.ratio} in split 'train' (")
    assert not any("also resamples" in w for w in advice.warnings)


def test_all_rows_would_resample_validation_and_test():
    splits = {"train": {"a": 80, "b": 10}, "test": {"a": 8, "b": 2}, "val": {"a": 9, "b": 1}}
    d = _dist({"a": 97, "b": 13}, splits)
    advice = recommend(d)
    assert any("also resamples the splits 'test', 'val'" in w for w in advice.warnings)
    assert recommend(d, split="train").warnings == recommend(d, split="train").warnings
    assert not any("also resamples" in w for w in recommend(d, split="train").warnings)


def test_a_small_minority_gets_class_weights():
    advice = recommend(_dist({"rare": 120, "common": 600}))
    assert advice.action == "class_weights"
    assert "120 samples in the smallest class" in advice.reason


def test_weights_with_a_wide_spread_are_clipped():
    counts = {"rare": 20, "common": 5000}
    advice = recommend(_dist(counts))
    assert advice.max_ratio == 10
    spread = class_weights(counts).spread
    assert any(format_times(spread) in w for w in advice.warnings)


def test_undersampling_a_one_image_class_to_equal_is_called_out():
    counts = {"one": 1, **{f"c{i}": 500 for i in range(10)}}
    warning = undersample_equal_warning(counts)
    assert warning.startswith("Undersampling to equal counts would keep only 11 of 5,001 rows")
    assert "'one'" in warning
    assert undersample_equal_warning({"a": 600, "b": 500}) is None


def test_ratio_choices_usable_at_any_range():
    choices = ratio_choices(8773)
    assert choices[0] == 1.0 and choices[-1] == 8773.0 and len(choices) <= 45
    assert list(choices) == sorted(set(choices))
    assert ratio_choices(6.3) == (1.0, 1.2, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.3)
    counts = {"rare": 10, "common": 14}
    assert plan_undersample(counts, ratio=ratio_choices(1.4)[-1]).after == counts
    with pytest.raises(Exception, match="finite number >= 1"):
        ratio_choices(0.5)


def test_cost_rows_grow_linearly_with_the_classes():
    # Counted in dict lookups rather than timed: each row reads four prebuilt dicts.
    plan = plan_undersample({f"cls_{i}": 10 + i for i in range(2000)})
    calls = {"n": 0}
    original = type(plan).dropped

    def counting(self):
        calls["n"] += 1
        return original.fget(self)

    type(plan).dropped = property(counting)
    try:
        rows = plan.cost_rows()
    finally:
        type(plan).dropped = original
    assert len(rows) == 2000 and rows[0]["dropped"] == 0
    assert calls["n"] <= 2  # was 2 per class per row: cubic in the classes


def test_ratio_next_to_its_threshold_gets_a_second_decimal():
    d = _dist({"a": 148, "b": 100})
    assert d.verdict_reason == "Balanced: the imbalance ratio 1 : 1.48 is below 1 : 1.5."
    assert ratio_beside_threshold(9.04, 9.0) == "1 : 9.04"
    assert "1 : 6.3 is between" in _dist({"a": 63, "b": 10}).verdict_reason
    assert format_times(7.45) == format_times(7.45)
    assert format_times(7.4) == "7.4×" and format_times(250) == "250×"
