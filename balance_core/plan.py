"""Plans: pure functions from class counts to target counts or class weights.

Everything here costs O(classes), never a pass over the rows, so the app can
recompute a preview on every slider move. Turning a plan into rows is
:mod:`balance_core.apply`'s job.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from .errors import DatasetError
from .stats import format_times

__all__ = [
    "LARGE_WEIGHT",
    "LARGE_WEIGHT_SPREAD",
    "TORCH_MULTINOMIAL_LIMIT",
    "WEIGHT_METHODS",
    "ClassWeights",
    "SamplerWeights",
    "SamplingPlan",
    "StrategySummary",
    "class_weights",
    "compare_strategies",
    "parse_target",
    "plan_oversample",
    "plan_resample",
    "plan_undersample",
    "ratio_choices",
    "sampler_weights",
]

WEIGHT_METHODS = (
    "balanced",
    "inverse",
    "sqrt_inverse",
    "effective_number",
    "median_frequency",
    "custom",
)
NORMALIZATIONS = ("source", "mean", "min")
# Above these, training with weighted losses tends to become unstable: a class
# weight of 10 multiplies that class's gradient steps tenfold.
LARGE_WEIGHT = 10.0
LARGE_WEIGHT_SPREAD = 10.0
# torch.multinomial (behind WeightedRandomSampler) refuses more than 2**24 categories.
TORCH_MULTINOMIAL_LIMIT = 2**24
# Class counts above this cannot be turned into weights or targets exactly (floats).
MAX_COUNT = 2**53
# Warn when this share of the rows would be thrown away, or a class copied this often.
LARGE_DROP_SHARE = 0.5
MANY_COPIES = 10


def _bad(message: str) -> DatasetError:
    return DatasetError(message, kind="bad_parameter")


def _check_counts(counts: Mapping[str, int]) -> dict[str, int]:
    if len(counts) >= 2:
        labels = sorted(counts)
        values = [counts[k] for k in labels]
        # Fast path: plain ints in range (type() is int also rules out bool).
        if set(map(type, values)) == {int} and min(values) > 0 and max(values) <= MAX_COUNT:
            return dict(zip(labels, values, strict=True))
    if not counts:
        raise _bad("There are no classes to balance; the data has no labelled rows.")
    checked = {}
    for label in sorted(counts):
        n = counts[label]
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise _bad(f"The count of class {label!r} must be a whole number >= 0, got {n!r}.")
        if n > MAX_COUNT:
            # Weights and targets are computed in floating point: beyond 2**53 they
            # lose whole samples, and far beyond it they overflow.
            raise _bad(
                f"The count of class {label!r} is above the {MAX_COUNT:,} samples Seesaw "
                "can weigh or sample exactly; check the counts."
            )
        checked[label] = n
    if len(checked) < 2:
        raise _bad(
            f"There is only one class ({next(iter(checked))!r}); balancing needs at least two."
        )
    if min(checked.values()) == 0:
        empty = [k for k, v in checked.items() if v == 0]
        raise _bad(f"Class {empty[0]!r} has no samples; drop it from the label mapping first.")
    return checked


def _check_targets(targets: Mapping[str, int], counts: Mapping[str, int]) -> dict[str, int]:
    result = {}
    for label, n in targets.items():
        if label not in counts:
            raise _bad(
                f"Class {label!r} is not in the data; the classes are "
                f"{', '.join(map(repr, sorted(counts)))}."
            )
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise _bad(f"The target for class {label!r} must be a whole number >= 0, got {n!r}.")
        result[label] = n
    return result


@dataclass(frozen=True, kw_only=True)
class SamplingPlan:
    """Target counts per class, and what reaching them costs.

    Attributes
    ----------
    method : {"undersample", "oversample", "resample"}
    request : str
        The request in the CLI's words (``"equal"``, ``"ratio:2"``, ``"cap:500"``,
        ``"counts"``, ``"median"``, ...).
    before, after : dict of str to int
        Counts per class (sorted label order) before and after.
    warnings : tuple of str
        Risky consequences, one sentence each.
    """

    method: Literal["undersample", "oversample", "resample"]
    request: str
    before: dict[str, int]
    after: dict[str, int]
    warnings: tuple[str, ...] = ()

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(self.before)

    @property
    def dropped(self) -> dict[str, int]:
        """Rows removed per class."""
        return {k: max(0, self.before[k] - self.after[k]) for k in self.before}

    @property
    def added(self) -> dict[str, int]:
        """Duplicate rows added per class."""
        return {k: max(0, self.after[k] - self.before[k]) for k in self.before}

    @property
    def rows_before(self) -> int:
        return sum(self.before.values())

    @property
    def rows_after(self) -> int:
        return sum(self.after.values())

    @property
    def rows_dropped(self) -> int:
        after = self.after
        return sum(n - after[k] for k, n in self.before.items() if n > after[k])

    @property
    def rows_added(self) -> int:
        after = self.after
        return sum(after[k] - n for k, n in self.before.items() if after[k] > n)

    @property
    def ratio_after(self) -> float:
        """Imbalance ratio (max / min) of the counts after the plan."""
        return max(self.after.values()) / max(min(self.after.values()), 1)

    @property
    def dropped_share(self) -> dict[str, float]:
        """Share of each class's rows that is dropped."""
        dropped = self.dropped
        return {k: (dropped[k] / n if n else 0.0) for k, n in self.before.items()}

    def cost_rows(self) -> list[dict]:
        """One row per class: counts before and after, rows dropped (and their share of
        the class) and duplicates added, for the preview's cost table. O(classes)."""
        # Each property builds a dict over every class: read each once, not per row.
        dropped, share, added = self.dropped, self.dropped_share, self.added
        return [
            {
                "class": label,
                "before": n,
                "after": self.after[label],
                "dropped": dropped[label],
                "dropped share": share[label],
                "duplicates added": added[label],
            }
            for label, n in self.before.items()
        ]

    def to_dict(self) -> dict:
        return {
            "method": self.method,
            "request": self.request,
            "classes": list(self.labels),
            "before": dict(self.before),
            "after": dict(self.after),
            "dropped": self.dropped,
            "added": self.added,
            "rows_before": self.rows_before,
            "rows_after": self.rows_after,
            "warnings": list(self.warnings),
        }


def _plan_warnings(before: dict[str, int], after: dict[str, int]) -> tuple[str, ...]:
    warnings = []
    total_before, total_after = sum(before.values()), sum(after.values())
    dropped = sum(n - after[k] for k, n in before.items() if n > after[k])
    if total_before and dropped / total_before > LARGE_DROP_SHARE:
        warnings.append(
            f"{dropped / total_before:.0%} of the rows ({dropped:,} of {total_before:,}) would "
            "be thrown away; that is fine when the majority rows are many and alike, but if "
            "every sample carries something worth learning use class weights instead."
        )
    if total_after > total_before - dropped:  # something is copied
        copies = {k: after[k] / n for k, n in before.items() if n and after[k] > n}
        worst = max(copies, key=copies.__getitem__)
        if copies[worst] >= MANY_COPIES:
            warnings.append(
                f"Class {worst!r} would be copied {copies[worst]:.0f} times over "
                f"({before[worst]:,} -> {after[worst]:,} rows): the model sees the same few "
                "samples again and again and overfits them; collect more, or combine with "
                "undersampling."
            )
    if total_after == 0:
        warnings.append("The plan keeps no rows at all.")
    return tuple(warnings)


_NICE_STEPS = (1.0, 1.2, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0)


def ratio_choices(imbalance_ratio: float) -> tuple[float, ...]:
    """Ratio values for a ratio control at any range: 1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6,
    8, 10, 12, 15, ... (about ten per factor of ten, evenly spaced on a log scale),
    up to the data's imbalance ratio, rounded up, which comes last (undersampling to
    it changes nothing). 1 : 8,773 gives 41 choices instead of 87,720 steps of 0.1.

    Parameters
    ----------
    imbalance_ratio : float
        max n_c / min n_c of the counts being balanced (>= 1).

    Returns
    -------
    tuple of float
        Increasing, starting at 1.0; ``(1.0,)`` for balanced counts.
    """
    if not math.isfinite(imbalance_ratio) or imbalance_ratio < 1:
        raise _bad(f"The imbalance ratio must be a finite number >= 1, got {imbalance_ratio!r}.")
    choices: list[float] = []
    decade = 1.0
    while decade <= imbalance_ratio:
        for step in _NICE_STEPS:
            value = round(step * decade, 6)
            # A choice within 5 % of the data's ratio is the data's ratio.
            if value < imbalance_ratio / 1.05:
                choices.append(value)
        decade *= 10
    # Rounded up, so the last choice never caps a class (nothing changes).
    last = (
        math.ceil(imbalance_ratio * 10 - 1e-9) / 10
        if imbalance_ratio < 100
        else float(math.ceil(imbalance_ratio - 1e-9))
    )
    if not choices or last > choices[-1]:
        choices.append(last)
    return tuple(choices)


def parse_target(text: str) -> dict:
    """Parse a CLI target: ``equal``, ``majority``, ``minority``, ``ratio:R``, ``cap:N``,
    ``median``, ``mean``, ``N`` (a count) or ``counts:a=10,b=20``.

    Returns keyword arguments for the ``plan_*`` functions.
    """
    head, _, value = text.strip().partition(":")
    head = head.lower()
    try:
        if head == "equal" and not value:
            return {}
        if head == "majority" and not value:
            return {"majority_only": True}
        if head == "minority" and not value:
            return {"minority_only": True}
        if head == "ratio":
            return {"ratio": float(value)}
        if head == "cap":
            return {"cap": int(value)}
        if head in ("median", "mean") and not value:
            return {"to": head}
        if head == "counts":
            targets = {}
            for item in value.split(","):
                label, _, number = item.rpartition("=")
                targets[label] = int(number)
            return {"targets": targets}
        if head.isdigit() and not value:
            return {"to": int(head)}
    except ValueError:
        pass
    raise _bad(
        f"Cannot read the target {text!r}; use equal, majority, minority, ratio:R, cap:N, "
        "median, mean, N or counts:LABEL=N,LABEL=N."
    )


def plan_undersample(
    counts: Mapping[str, int],
    *,
    ratio: float | None = None,
    cap: int | None = None,
    targets: Mapping[str, int] | None = None,
    majority_only: bool = False,
) -> SamplingPlan:
    r"""Target counts for random undersampling.

    With no option every class goes down to the minority count (``equal``);
    ``ratio=R`` caps every class at :math:`\lfloor R \cdot \min_c n_c \rfloor`;
    ``cap=N`` caps every class at ``N``; ``targets`` gives counts for some classes
    (the others keep theirs). ``majority_only`` applies ``equal`` or ``ratio`` to
    the largest class alone.

    The counts equal imbalanced-learn's ``RandomUnderSampler`` for
    ``sampling_strategy="auto"`` (equal), ``"majority"`` and a dict. For a float
    :math:`\alpha = 1/R` (two classes) they are equal except where floating point
    lands just below a whole number: imbalanced-learn keeps
    ``int(n_minority / alpha)`` rows, which truncates ``68 / 0.68 =
    99.99999999999999`` to 99, while Seesaw computes
    :math:`\lfloor n_{min} R (1 + 10^{-12}) \rfloor` and keeps 100, the count the
    ratio names.

    Parameters
    ----------
    counts : mapping of str to int
        Samples per class.
    ratio : float, optional
        Largest allowed count as a multiple of the minority count, ``R >= 1``.
    cap : int, optional
        Largest allowed count, ``N >= 1``.
    targets : mapping of str to int, optional
        Explicit counts, none above what its class has.
    majority_only : bool, default False
        Only the majority class is reduced.

    Returns
    -------
    SamplingPlan

    References
    ----------
    Lemaître, G., Nogueira, F., & Aridas, C. K. (2017). Imbalanced-learn: a Python
    toolbox to tackle the curse of imbalanced datasets in machine learning. JMLR 18(17).
    """
    before = _check_counts(counts)
    given = sum(option is not None for option in (ratio, cap, targets))
    if given > 1:
        raise _bad("Give only one of ratio, cap or targets.")
    minority = min(before.values())
    majority = max(before, key=before.__getitem__)
    if targets is not None:
        wanted = _check_targets(targets, before)
        for label, n in wanted.items():
            if n > before[label]:
                raise _bad(
                    f"Class {label!r} has {before[label]:,} samples; undersampling cannot "
                    f"raise it to {n:,} (use oversampling for that)."
                )
        after = {k: wanted.get(k, v) for k, v in before.items()}
        request = "counts"
    elif cap is not None:
        if isinstance(cap, bool) or not isinstance(cap, int) or cap < 1:
            raise _bad(f"The cap must be a whole number >= 1, got {cap!r}.")
        after = {k: min(v, cap) for k, v in before.items()}
        request = f"cap:{cap}"
    else:
        r = 1.0 if ratio is None else float(ratio)
        if not math.isfinite(r) or r < 1:
            raise _bad(f"The ratio must be a number >= 1 (no class above R x minority), got {r}.")
        # The tiny relative epsilon makes 10 x 2.2 give 22, not 21 from 21.999999999999996.
        limit = math.floor(minority * r * (1 + 1e-12))
        if majority_only:
            after = {k: (limit if k == majority and v > limit else v) for k, v in before.items()}
        else:
            after = {k: (v if v <= limit else limit) for k, v in before.items()}
        request = ("majority" if majority_only else "equal") if ratio is None else f"ratio:{r:g}"
        if majority_only and ratio is not None:
            request = f"majority-ratio:{r:g}"
    return SamplingPlan(
        method="undersample",
        request=request,
        before=before,
        after=after,
        warnings=_plan_warnings(before, after),
    )


def plan_oversample(
    counts: Mapping[str, int],
    *,
    ratio: float | None = None,
    targets: Mapping[str, int] | None = None,
    minority_only: bool = False,
) -> SamplingPlan:
    r"""Target counts for random oversampling (duplicating rows).

    With no option every class goes up to the majority count (``equal``);
    ``ratio=R`` raises every class to at least :math:`\lfloor \max_c n_c / R \rfloor`;
    ``targets`` gives counts for some classes, none below what the class has.
    ``minority_only`` raises the smallest class alone.

    The counts equal imbalanced-learn's ``RandomOverSampler`` for
    ``sampling_strategy="auto"``, ``"minority"``, a float :math:`\alpha = 1/R`
    (two classes) and a dict.

    Parameters
    ----------
    counts : mapping of str to int
    ratio : float, optional
        ``R >= 1``: no class stays below majority / R.
    targets : mapping of str to int, optional
    minority_only : bool, default False

    Returns
    -------
    SamplingPlan
    """
    before = _check_counts(counts)
    if ratio is not None and targets is not None:
        raise _bad("Give only one of ratio or targets.")
    largest = max(before.values())
    minority = min(before, key=before.__getitem__)
    if targets is not None:
        wanted = _check_targets(targets, before)
        for label, n in wanted.items():
            if n < before[label]:
                raise _bad(
                    f"Class {label!r} has {before[label]:,} samples; oversampling cannot "
                    f"lower it to {n:,} (use undersampling for that)."
                )
        after = {k: wanted.get(k, v) for k, v in before.items()}
        request = "counts"
    else:
        r = 1.0 if ratio is None else float(ratio)
        if not math.isfinite(r) or r < 1:
            raise _bad(f"The ratio must be a number >= 1 (no class below majority / R), got {r}.")
        # The tolerance absorbs float error in largest / r; it never lifts a class
        # above the majority (on large counts, largest * 1e-12 exceeds one sample).
        floor = min(largest, math.floor(largest / r * (1 + 1e-12)))
        if minority_only:
            after = {k: (floor if k == minority and v < floor else v) for k, v in before.items()}
        else:
            after = {k: (v if v >= floor else floor) for k, v in before.items()}
        request = ("minority" if minority_only else "equal") if ratio is None else f"ratio:{r:g}"
    return SamplingPlan(
        method="oversample",
        request=request,
        before=before,
        after=after,
        warnings=_plan_warnings(before, after),
    )


def plan_resample(
    counts: Mapping[str, int], *, to: Literal["median", "mean"] | int = "median"
) -> SamplingPlan:
    """Target counts for hybrid resampling: every class to one count.

    Classes above the target are undersampled, classes below it oversampled.

    Parameters
    ----------
    counts : mapping of str to int
    to : "median", "mean" or int, default "median"
        The common target: the median class count (rounded down), the mean
        (rounded to nearest), or a number.
    """
    before = _check_counts(counts)
    if to == "median":
        target = math.floor(statistics.median(before.values()))
    elif to == "mean":
        target = round(sum(before.values()) / len(before))
    elif isinstance(to, int) and not isinstance(to, bool) and to >= 1:
        target = to
    else:
        raise _bad(f"The common target must be 'median', 'mean' or a count >= 1, got {to!r}.")
    after = dict.fromkeys(before, target)
    return SamplingPlan(
        method="resample",
        request=str(to),
        before=before,
        after=after,
        warnings=_plan_warnings(before, after),
    )


# --------------------------------------------------------------------------- weights


@dataclass(frozen=True, kw_only=True)
class ClassWeights:
    """A weight per class for a weighted loss, and what it does to the loss.

    Attributes
    ----------
    method : str
        One of :data:`WEIGHT_METHODS`.
    params : dict
        ``beta``, ``normalize``, ``max_ratio`` as used.
    counts : dict of str to int
        Samples per class, sorted label order (= class index order).
    weights : dict of str to float
        The weight of each class.
    clipped : tuple of str
        Classes whose weight was lowered to respect ``max_ratio``.
    warnings : tuple of str
        Risks, one sentence each.
    """

    method: str
    params: dict = field(default_factory=dict)
    counts: dict[str, int]
    weights: dict[str, float]
    clipped: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(self.counts)

    @property
    def as_list(self) -> list[float]:
        """Weights in class index order (sorted labels), for ``CrossEntropyLoss(weight=...)``."""
        return [self.weights[k] for k in self.counts]

    @property
    def spread(self) -> float:
        """Largest weight / smallest weight."""
        values = list(self.weights.values())
        return max(values) / min(values)

    @property
    def loss_share_before(self) -> dict[str, float]:
        """Each class's share of the total loss weight without weights: n_c / N."""
        total = sum(self.counts.values())
        return {k: n / total for k, n in self.counts.items()}

    @property
    def loss_share_after(self) -> dict[str, float]:
        """Each class's share of the total loss weight with weights: n_c w_c / sum n_j w_j."""
        total = sum(self.counts[k] * self.weights[k] for k in self.counts)
        return {k: self.counts[k] * self.weights[k] / total for k in self.counts}

    def cost_rows(self) -> list[dict]:
        """One row per class (class index order): count, weight and loss shares."""
        before, after = self.loss_share_before, self.loss_share_after
        return [
            {
                "class index": index,
                "class": label,
                "samples": self.counts[label],
                "weight": self.weights[label],
                "loss share unweighted": before[label],
                "loss share weighted": after[label],
                "clipped": label in self.clipped,
            }
            for index, label in enumerate(self.counts)
        ]


def class_weights(
    counts: Mapping[str, int],
    *,
    method: str = "balanced",
    beta: float = 0.999,
    normalize: Literal["source", "mean", "min"] = "source",
    max_ratio: float | None = None,
    custom: Mapping[str, float] | None = None,
) -> ClassWeights:
    r"""Class weights for a weighted loss.

    With :math:`n_c` samples in class :math:`c`, :math:`N` in all, :math:`K` classes:

    - ``balanced``: :math:`w_c = N / (K n_c)`, as scikit-learn's
      ``compute_class_weight("balanced")`` (King & Zeng 2001).
    - ``inverse``: :math:`w_c \propto 1 / n_c`; ``sqrt_inverse``:
      :math:`w_c \propto 1 / \sqrt{n_c}`; both scaled so the weights sum to :math:`K`.
    - ``effective_number``: :math:`w_c \propto (1 - \beta) / (1 - \beta^{n_c})`, scaled
      so the weights sum to :math:`K` (Cui et al. 2019), :math:`\beta \in [0, 1)`.
    - ``median_frequency``: :math:`w_c = \mathrm{median}_k(f_k) / f_c` with
      :math:`f_c = n_c / N` (Eigen & Fergus 2015).
    - ``custom``: the weights given in ``custom``.

    Parameters
    ----------
    counts : mapping of str to int
    method : str, default "balanced"
    beta : float, default 0.999
        For ``effective_number``; typical values 0.9 .. 0.9999.
    normalize : {"source", "mean", "min"}, default "source"
        ``source`` keeps the method's own scale (above); ``mean`` scales so the mean
        weight over samples, :math:`\sum_c n_c w_c / N`, is 1 (the loss keeps its
        scale); ``min`` makes the smallest weight 1.
    max_ratio : float, optional
        Clip so that max weight / min weight <= ``max_ratio`` (large weights
        destabilise training: the rare class's errors are multiplied by its weight).
    custom : mapping of str to float, optional
        Weights for ``method="custom"``, one per class, all > 0.

    Returns
    -------
    ClassWeights

    References
    ----------
    King, G., & Zeng, L. (2001). Logistic regression in rare events data. Political
    Analysis, 9(2), 137-163.
    Cui, Y., Jia, M., Lin, T.-Y., Song, Y., & Belongie, S. (2019). Class-balanced loss
    based on effective number of samples. CVPR, 9268-9277.
    Eigen, D., & Fergus, R. (2015). Predicting depth, surface normals and semantic
    labels with a common multi-scale convolutional architecture. ICCV, 2650-2658.
    """
    n = _check_counts(counts)
    if method not in WEIGHT_METHODS:
        raise _bad(f"Unknown weighting method {method!r}; use one of {', '.join(WEIGHT_METHODS)}.")
    if normalize not in NORMALIZATIONS:
        raise _bad(f"Unknown normalisation {normalize!r}; use one of {', '.join(NORMALIZATIONS)}.")
    total, k = sum(n.values()), len(n)
    if method == "balanced":
        raw = {c: total / (k * m) for c, m in n.items()}
    elif method == "inverse":
        raw = _sum_to(k, {c: 1.0 / m for c, m in n.items()})
    elif method == "sqrt_inverse":
        raw = _sum_to(k, {c: 1.0 / math.sqrt(m) for c, m in n.items()})
    elif method == "effective_number":
        if not (isinstance(beta, (int, float)) and 0.0 <= beta < 1.0):
            raise _bad(f"beta must be in [0, 1), got {beta!r}.")
        # (1 - beta**n) computed as -expm1(n log beta) stays accurate for beta near 1.
        raw = _sum_to(
            k,
            {
                c: (1.0 - beta) / (-math.expm1(m * math.log(beta)) if beta > 0 else 1.0)
                for c, m in n.items()
            },
        )
    elif method == "median_frequency":
        freq = {c: m / total for c, m in n.items()}
        median = statistics.median(freq.values())
        raw = {c: median / f for c, f in freq.items()}
    else:
        if custom is None:
            raise _bad("method='custom' needs the weights: custom={label: weight, ...}.")
        missing = [c for c in n if c not in custom]
        unknown = [c for c in custom if c not in n]
        if missing or unknown:
            raise _bad(
                f"Custom weights must name every class exactly: missing {missing}, "
                f"unknown {unknown}."
            )
        raw = {}
        for c in n:
            w = custom[c]
            if isinstance(w, bool) or not isinstance(w, (int, float)) or not math.isfinite(w):
                raise _bad(f"The weight of class {c!r} must be a finite number, got {w!r}.")
            if w <= 0:
                raise _bad(f"The weight of class {c!r} must be above 0, got {w!r}.")
            raw[c] = float(w)
    clipped: tuple[str, ...] = ()
    if max_ratio is not None:
        if not (isinstance(max_ratio, (int, float)) and math.isfinite(max_ratio)) or max_ratio < 1:
            raise _bad(f"max_ratio must be a number >= 1, got {max_ratio!r}.")
        ceiling = min(raw.values()) * max_ratio
        clipped = tuple(c for c, w in raw.items() if w > ceiling)
        raw = {c: min(w, ceiling) for c, w in raw.items()}
    weights = _normalise(raw, n, normalize)
    values = list(weights.values())
    # One finite sum and a positive minimum: every weight is finite and above 0.
    if not (math.isfinite(sum(values)) and min(values) > 0):
        raise _bad(
            "The class counts are too far apart for finite weights; merge or drop the "
            "tiniest classes, or set max_ratio."
        )
    result = ClassWeights(
        method=method,
        params={"beta": beta if method == "effective_number" else None,
                "normalize": normalize, "max_ratio": max_ratio},
        counts=n,
        weights=weights,
        clipped=clipped,
    )  # fmt: skip
    return _with_weight_warnings(result)


def _sum_to(k: int, raw: dict[str, float]) -> dict[str, float]:
    total = sum(raw.values())
    return {c: k * w / total for c, w in raw.items()}


def _normalise(raw: dict[str, float], n: dict[str, int], how: str) -> dict[str, float]:
    if how == "mean":
        scale = sum(n.values()) / sum(n[c] * w for c, w in raw.items())
    elif how == "min":
        scale = 1.0 / min(raw.values())
    else:
        scale = 1.0
    return {c: w * scale for c, w in raw.items()}


def _with_weight_warnings(result: ClassWeights) -> ClassWeights:
    warnings = []
    heaviest = max(result.weights, key=result.weights.__getitem__)
    if result.spread > LARGE_WEIGHT_SPREAD:
        warnings.append(
            f"The largest weight is {format_times(result.spread)} the smallest: each error on "
            f"{heaviest!r} counts that much more, which makes training unstable; consider "
            f"clipping with max_ratio={LARGE_WEIGHT_SPREAD:g}."
        )
    elif result.weights[heaviest] > LARGE_WEIGHT:
        warnings.append(
            f"Class {heaviest!r} gets weight {result.weights[heaviest]:.1f}: its errors are "
            "multiplied that much, which can make training unstable; consider a lower "
            "learning rate or clipping."
        )
    if result.clipped:
        warnings.append(
            f"{len(result.clipped)} class weight(s) were clipped to keep the spread within "
            f"{result.params['max_ratio']:g} ({', '.join(map(repr, result.clipped[:3]))}): "
            "those classes stay somewhat under-weighted."
        )
    return ClassWeights(
        method=result.method,
        params=result.params,
        counts=result.counts,
        weights=result.weights,
        clipped=result.clipped,
        warnings=tuple(warnings),
    )


# --------------------------------------------------------------------------- sampler


@dataclass(frozen=True, kw_only=True)
class SamplerWeights:
    """Per-sample weights for PyTorch's ``WeightedRandomSampler``.

    Attributes
    ----------
    class_weights : ClassWeights
        The weight every sample of a class gets.
    num_samples : int
        Draws per epoch (with replacement).
    warnings : tuple of str
    """

    class_weights: ClassWeights
    num_samples: int
    warnings: tuple[str, ...] = ()

    @property
    def draw_share(self) -> dict[str, float]:
        """Expected share of the draws per class: n_c w_c / sum n_j w_j."""
        return self.class_weights.loss_share_after

    @property
    def expected_distinct(self) -> dict[str, float]:
        r"""Expected number of distinct samples of each class seen in one epoch:
        :math:`n_c (1 - (1 - p_c)^M)` with :math:`p_c = w_c / \sum_j n_j w_j` the
        probability of one given sample per draw and :math:`M` draws."""
        cw = self.class_weights
        total = sum(cw.counts[c] * cw.weights[c] for c in cw.counts)
        return {
            c: cw.counts[c] * -math.expm1(self.num_samples * math.log1p(-cw.weights[c] / total))
            for c in cw.counts
        }

    @property
    def expected_distinct_total(self) -> float:
        return sum(self.expected_distinct.values())


def sampler_weights(
    counts: Mapping[str, int],
    *,
    num_samples: int | None = None,
    method: str = "inverse",
    **weight_options,
) -> SamplerWeights:
    """Per-sample weights for ``torch.utils.data.WeightedRandomSampler``.

    Every sample of class ``c`` gets the class weight ``w_c`` (``inverse`` by default,
    so each class is drawn equally often); the sampler draws ``num_samples`` times
    with replacement (default: the number of samples).

    Parameters
    ----------
    counts : mapping of str to int
    num_samples : int, optional
        Draws per epoch (default: all samples).
    method : str, default "inverse"
        Any of :data:`WEIGHT_METHODS`; further options go to :func:`class_weights`.
    """
    cw = class_weights(counts, method=method, **weight_options)
    total = sum(cw.counts.values())
    draws = total if num_samples is None else num_samples
    if isinstance(draws, bool) or not isinstance(draws, int) or draws < 1:
        raise _bad(f"num_samples must be a whole number >= 1, got {num_samples!r}.")
    warnings = list(cw.warnings)
    if total > TORCH_MULTINOMIAL_LIMIT:
        warnings.append(
            f"{total:,} samples is more than torch.multinomial accepts ({TORCH_MULTINOMIAL_LIMIT:,}"
            "), so WeightedRandomSampler will fail; sample class first, then a row within it."
        )
    return SamplerWeights(class_weights=cw, num_samples=draws, warnings=tuple(warnings))


# --------------------------------------------------------------------------- compare


@dataclass(frozen=True, kw_only=True)
class StrategySummary:
    """What one strategy costs on the current counts (a row of the compare view)."""

    key: str
    name: str
    rows_after: int
    rows_dropped: int
    rows_added: int
    ratio_after: float
    largest_weight: float
    weight_spread: float
    warnings: tuple[str, ...]

    def to_dict(self) -> dict:
        return {
            "strategy": self.name,
            "rows after": self.rows_after,
            "rows dropped": self.rows_dropped,
            "duplicates added": self.rows_added,
            "imbalance after": self.ratio_after,
            "largest weight": self.largest_weight,
            "weight spread": self.weight_spread,
            "warnings": len(self.warnings),
        }


def compare_strategies(counts: Mapping[str, int], *, beta: float = 0.999) -> list[StrategySummary]:
    """Every strategy side by side on ``counts``: rows kept, dropped and duplicated, the
    imbalance left, and the weights a loss would see. O(classes)."""
    checked = _check_counts(counts)
    summaries = []
    for key, name, plan in (
        ("undersample", "Undersample to the minority", plan_undersample(checked)),
        ("undersample_ratio", "Undersample to 1 : 2", plan_undersample(checked, ratio=2.0)),
        ("oversample", "Oversample to the majority", plan_oversample(checked)),
        ("resample", "Hybrid: every class to the median", plan_resample(checked)),
    ):
        summaries.append(
            StrategySummary(
                key=key,
                name=name,
                rows_after=plan.rows_after,
                rows_dropped=plan.rows_dropped,
                rows_added=plan.rows_added,
                ratio_after=plan.ratio_after,
                largest_weight=1.0,
                weight_spread=1.0,
                warnings=plan.warnings,
            )
        )
    total = sum(checked.values())
    for key, name, weights in (
        ("weights_balanced", "Class weights: balanced", class_weights(checked)),
        (
            "weights_effective",
            f"Class weights: effective number (β={beta:g})",
            class_weights(checked, method="effective_number", beta=beta, normalize="mean"),
        ),
        ("sampler", "Weighted sampler (inverse)", sampler_weights(checked).class_weights),
    ):
        shares = weights.loss_share_after
        summaries.append(
            StrategySummary(
                key=key,
                name=name,
                rows_after=total,
                rows_dropped=0,
                rows_added=0,
                ratio_after=max(shares.values()) / min(shares.values()),
                largest_weight=max(weights.weights.values()),
                weight_spread=weights.spread,
                warnings=weights.warnings,
            )
        )
    return summaries
