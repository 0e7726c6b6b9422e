"""Undersampling to a float ratio against imbalanced-learn: equal counts, except where
imbalanced-learn's int(n_min / alpha) truncates a float just below a whole number."""

from __future__ import annotations

import numpy as np
import pytest
from imblearn.under_sampling import RandomUnderSampler

from balance_core.plan import plan_undersample


def _imblearn_after(counts: dict[str, int], alpha: float) -> dict[str, int]:
    y = np.repeat(list(counts), list(counts.values()))
    sampler = RandomUnderSampler(sampling_strategy=alpha, random_state=0)
    _, y_out = sampler.fit_resample(np.zeros((y.size, 1)), y)
    labels, numbers = np.unique(y_out, return_counts=True)
    return dict(zip(labels.tolist(), numbers.tolist(), strict=True))


@pytest.mark.parametrize(
    ("minority", "majority", "alpha"),
    [(10, 100, 0.5), (37, 1000, 0.25), (5, 80, 0.8), (123, 4567, 0.3), (40, 500, 0.1)],
)
def test_float_ratio_counts_equal_imbalanced_learn(minority, majority, alpha):
    counts = {"rare": minority, "common": majority}
    plan = plan_undersample(counts, ratio=1 / alpha)
    assert plan.after == _imblearn_after(counts, alpha)


def test_where_imbalanced_learn_truncates_a_whole_number():
    counts = {"rare": 68, "common": 1000}
    assert 68 / 0.68 < 100  # 99.99999999999999 in floating point
    assert _imblearn_after(counts, 0.68)["common"] == 99
    assert plan_undersample(counts, ratio=1 / 0.68).after["common"] == 100
    assert "68 / 0.68" in plan_undersample.__doc__
