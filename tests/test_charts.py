"""Plotly figures: a categorical class axis, a sane log axis, long tails folded."""

from __future__ import annotations

import math

import pytest

import balance_core as bc
from balance_core.charts import before_after_chart, seesaw_chart, split_chart, weights_chart
from balance_core.ordering import natural_sorted
from balance_core.plan import class_weights, plan_undersample

NUMERIC = {"0": 900, "1": 40, "10": 300, "2": 5}


def dist_of(counts, splits=None):
    return bc.Distribution.from_counts(counts, split_counts=splits)


def figures(counts):
    dist = dist_of(counts, {"train": dict(counts), "test": dict.fromkeys(counts, 1)})
    plan = plan_undersample(counts)
    weights = class_weights(counts)
    return {
        "seesaw": seesaw_chart(dist),
        "seesaw_log": seesaw_chart(dist, log_scale=True),
        "split": split_chart(dist),
        "before_after": before_after_chart(plan.before, plan.after),
        "weights": weights_chart(
            weights.weights, weights.loss_share_before, weights.loss_share_after
        ),
    }


@pytest.mark.parametrize("kind", ["seesaw", "seesaw_log", "split", "before_after", "weights"])
def test_numeric_looking_labels_are_categories_drawn_by_count(kind):
    figure = figures(NUMERIC)[kind]
    assert figure.layout.xaxis.type == "category"
    x = list(figure.data[0].x)
    assert x == ["0", "10", "1", "2"]  # by count, not by value
    assert list(figure.layout.xaxis.categoryarray) == x


def test_log_scale_places_the_minority_line_in_log10_and_bounds_the_range():
    dist = dist_of({"big": 5000, "small": 37})
    figure = seesaw_chart(dist, log_scale=True)
    (line,) = figure.layout.shapes
    assert line.y0 == pytest.approx(math.log10(37))
    low, high = figure.layout.yaxis.range
    assert low < math.log10(37) and math.log10(5000) < high < math.log10(5000) + 1
    linear = seesaw_chart(dist)
    assert linear.layout.shapes[0].y0 == 37 and linear.layout.yaxis.type == "linear"


def test_log_scale_with_an_empty_class_keeps_a_finite_range():
    figure = seesaw_chart(dist_of({"a": 5, "b": 0}), log_scale=True)
    assert all(math.isfinite(v) for v in figure.layout.yaxis.range)


def test_every_chart_folds_a_long_tail_into_one_bar():
    counts = {f"cls_{i}": 1000 - i for i in range(1000)}
    for kind, figure in figures(counts).items():
        x = list(figure.data[0].x)
        assert len(x) == 30, kind
        assert x[-1] == "971 smaller classes", kind
    seesaw = figures(counts)["seesaw"]
    assert sum(seesaw.data[0].y) == sum(counts.values())  # nothing lost in the fold


def test_ties_in_natural_order():
    figure = seesaw_chart(dist_of({"cls_10": 5, "cls_2": 5, "cls_1": 5, "a": 9}))
    assert list(figure.data[0].x) == ["a", "cls_1", "cls_2", "cls_10"]


def test_natural_sorted():
    assert natural_sorted(["cls_10", "cls_2", "cls_1", "b", "10", "9"]) == [
        "9", "10", "b", "cls_1", "cls_2", "cls_10",
    ]  # fmt: skip


def test_the_minority_line_is_named_away_from_the_minority_bars_own_label():
    # Bars run by count, so the minority's count label is at the right end of the line;
    # at phone width a line label there was drawn over it (issue 10, item 15).
    figure = seesaw_chart(dist_of({"normal": 6364, "cancer": 1068}))
    assert list(figure.data[0].x)[-1] == "cancer"
    (note,) = [a for a in figure.layout.annotations if "minority" in a.text]
    assert note.xref == "x domain" and note.x == 0 and note.xanchor == "left"
    assert note.bgcolor is not None
