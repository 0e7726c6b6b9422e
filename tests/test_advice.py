"""The recommendation and the ratio choices: pure functions of counts."""

from __future__ import annotations

import pytest

import balance_core as bc
from balance_core.advice import TINY_CLASS, ratio_choices, recommend
from balance_core.examples import face_antispoofing_csv, lung_ct_csv
from balance_core.plan import plan_undersample


def test_balanced_data_needs_no_action():
    advice = recommend({"cat": 50, "dog": 48})
    assert advice.action == "none" and advice.method is None


def test_one_class_is_never_called_balanced():
    advice = recommend({"only": 12})
    assert advice.action == "one_class" and "nothing to balance" in advice.headline


def test_a_tiny_class_is_merged_first_and_the_default_cannot_gut_the_data():
    counts = {"a": 300, "b": 200, "one": 1}
    advice = recommend(counts)
    assert advice.action == "merge_small" and "'one'" in advice.headline
    assert advice.method == "weights"
    kept = plan_undersample(counts).rows_after
    assert f"only {kept:,} of 501 rows" in advice.reason


def test_plenty_of_minority_rows_recommends_undersampling():
    dist = bc.analyze(bc.read_dataset(lung_ct_csv(), name="lung.csv")).distribution
    assert recommend(dist.counts).method == "undersample"


def test_a_small_minority_keeps_every_row_with_weights_and_says_to_clip():
    advice = recommend({"real": 60, "spoof": 900})
    assert advice.method == "weights" and "clip" in advice.reason
    assert recommend({"real": 60, "spoof": 300}).method == "weights"
    assert "clip" not in recommend({"real": 60, "spoof": 300}).reason


def test_face_example_train_split():
    dataset = bc.read_dataset(face_antispoofing_csv(), name="face.csv")
    train = bc.analyze(dataset).distribution.split_counts["train"]
    assert recommend(train).action in ("undersample", "weights")


@pytest.mark.parametrize("largest", [1.0, 1.05, 2.0, 3.2, 9.0, 563.0, 8773.0, 1e6])
def test_ratio_choices_are_increasing_bounded_and_end_at_the_ratio(largest):
    choices = ratio_choices(largest)
    assert choices[0] == 1.0
    assert choices == sorted(set(choices))
    assert choices[-1] == max(1.0, round(largest, 1))
    assert len(choices) <= 70  # usable as a slider at any range


def test_tiny_class_threshold_is_a_count():
    assert recommend({"a": 100, "b": TINY_CLASS}).action != "merge_small"
    assert recommend({"a": 100, "b": TINY_CLASS - 1}).action == "merge_small"
