"""What to do about the imbalance: one recommendation from the class counts.

The rules follow the two stories the defaults come from (DESIGN.md):

- When losing majority rows is cheap and there are many of them (lung CT slices: many
  near-identical normal slices, thousands of cancer slices), **random undersampling**
  to equal counts still leaves plenty to train on.
- When every sample counts, or the minority is small (face anti-spoofing: every real
  face carries artifacts worth learning), **class weights** in the loss keep every row;
  large weights make training unstable, so a wide spread is clipped.

Before either: a balanced dataset needs nothing, and classes with a handful of samples
are merged or dropped first, since no resampling teaches a class from three examples.
O(classes); it reads counts only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from .apply import TRAIN_NAMES
from .plan import LARGE_WEIGHT_SPREAD, class_weights
from .quality import TINY_CLASS_SIZE
from .stats import BALANCED_MAX_RATIO, Distribution, format_times

__all__ = [
    "MIN_KEPT_PER_CLASS",
    "Recommendation",
    "recommend",
    "undersample_equal_warning",
]

#: Undersampling to equal is recommended only when every class keeps at least this many.
MIN_KEPT_PER_CLASS = 1000
#: Undersampling to equal "guts" the data when it keeps less than this share of the rows.
GUTTED_SHARE = 0.2

Action = Literal["none", "fix_labels", "merge_or_drop", "undersample", "class_weights"]


@dataclass(frozen=True, kw_only=True)
class Recommendation:
    """What to do, and why.

    Attributes
    ----------
    action : {"none", "fix_labels", "merge_or_drop", "undersample", "class_weights"}
    strategy : str or None
        The recipe strategy that carries it out (``"undersample"`` or ``"weights"``),
        None when the action is not a strategy.
    target : str or None
        For ``undersample``: the target (``"equal"``).
    max_ratio : float or None
        For ``class_weights``: the clip to use (None: no clipping needed).
    headline : str
        A few words: "No action needed", "Merge or drop tiny classes first", ...
    reason : str
        One sentence saying why, from the data.
    ratio : str
        The imbalance ratio of the rows being balanced (e.g. the training split).
    ratio_overall : str
        The imbalance ratio of all labelled rows.
    split : str or None
        The split being balanced; None for all rows.
    warnings : tuple of str
        Risks, one sentence each (resampling validation/test rows, a strategy that
        would gut the data, unstable weights).
    """

    action: Action
    strategy: str | None
    target: str | None
    max_ratio: float | None
    headline: str
    reason: str
    ratio: str
    ratio_overall: str
    split: str | None
    warnings: tuple[str, ...] = ()

    @property
    def ratio_text(self) -> str:
        """The two ratios side by side: "1 : 6.3 in split 'train' (1 : 6.1 over all rows)"."""
        if self.split is None:
            return f"{self.ratio} over all rows"
        return f"{self.ratio} in split {self.split!r} ({self.ratio_overall} over all rows)"


def undersample_equal_warning(counts: Mapping[str, int]) -> str | None:
    """A sentence when undersampling every class to the minority count would keep
    less than :data:`GUTTED_SHARE` of the rows or fewer than :data:`TINY_CLASS_SIZE`
    per class; None otherwise. Say it before the user picks that strategy."""
    if len(counts) < 2:
        return None
    smallest = min(counts, key=counts.__getitem__)
    n_min, total = counts[smallest], sum(counts.values())
    kept = n_min * len(counts)
    if total == 0 or (kept >= GUTTED_SHARE * total and n_min >= TINY_CLASS_SIZE):
        return None
    return (
        f"Undersampling to equal counts would keep only {kept:,} of {total:,} rows "
        f"({kept / total:.0%}): every class cut to {n_min:,}, the size of {smallest!r}; "
        "merge or drop the smallest classes first, or undersample to a ratio, or use "
        "class weights."
    )


def recommend(
    distribution: Distribution,
    *,
    split: str | None = None,
    every_sample_counts: bool = False,
    tiny_class_size: int = TINY_CLASS_SIZE,
) -> Recommendation:
    """Recommend an action for the rows being balanced.

    Parameters
    ----------
    distribution : Distribution
        Counts of the whole dataset (with its splits, if any).
    split : str, optional
        The split being balanced (usually the training split); None balances all
        rows, which earns a warning when the data has validation or test splits.
    every_sample_counts : bool, default False
        The user says every sample carries something worth learning (the counts
        cannot tell): class weights even when the minority is large.
    tiny_class_size : int, default 5
        Classes with fewer samples are merged or dropped first.

    Returns
    -------
    Recommendation

    Notes
    -----
    In order: no labelled rows or one class -> fix the labels; imbalance ratio below
    1 : 1.5 -> no action; a class under ``tiny_class_size`` -> merge or drop first;
    every class has at least :data:`MIN_KEPT_PER_CLASS` rows (losing majority rows
    is cheap and there are many) and ``every_sample_counts`` is not set ->
    undersample to equal; otherwise (every sample
    counts, the minority is small) -> class weights (``balanced``, clipped to
    :data:`~balance_core.plan.LARGE_WEIGHT_SPREAD` when their spread is wider).
    """
    counts = dict(distribution.counts)
    if split is not None:
        counts = dict(distribution.split_counts.get(split, {}))
    scoped = Distribution.from_counts(counts)
    overall = distribution.ratio_text
    common = {"ratio": scoped.ratio_text, "ratio_overall": overall, "split": split}
    warnings = []
    others = sorted(s for s in distribution.split_counts if s.strip().lower() not in TRAIN_NAMES)
    if split is None and others:
        warnings.append(
            f"Balancing all rows also resamples the splits {', '.join(map(repr, others))}: "
            "scores on validation and test data would no longer reflect the real class "
            "mix; balance the training split only."
        )
    if scoped.n_classes < 2:
        where = f"split {split!r}" if split is not None else "the data"
        reason = (
            f"{where[0].upper()}{where[1:]} has no labelled rows."
            if scoped.n_classes == 0
            else f"{where[0].upper()}{where[1:]} has one class only ({scoped.minority!r}): "
            "a classifier needs at least two, so check the label column."
        )
        return Recommendation(
            action="fix_labels", strategy=None, target=None, max_ratio=None,
            headline="Check the label column", reason=reason, warnings=tuple(warnings),
            **common,
        )  # fmt: skip
    ratio = scoped.imbalance_ratio
    if ratio < BALANCED_MAX_RATIO:
        return Recommendation(
            action="none", strategy=None, target=None, max_ratio=None,
            headline="No action needed",
            reason=f"The classes are balanced ({scoped.ratio_text}, below 1 : "
            f"{BALANCED_MAX_RATIO}): train as is.",
            warnings=tuple(warnings), **common,
        )  # fmt: skip
    tiny = [label for label, n in counts.items() if n < tiny_class_size]
    if tiny:
        shown = ", ".join(repr(label) for label in tiny[:5])
        more = f" and {len(tiny) - 5:,} more" if len(tiny) > 5 else ""
        return Recommendation(
            action="merge_or_drop", strategy=None, target=None, max_ratio=None,
            headline="Merge or drop tiny classes first",
            reason=f"{len(tiny):,} class(es) have fewer than {tiny_class_size} samples "
            f"({shown}{more}): merge each into a related class or drop it, since no "
            "resampling or weighting teaches a model a class from so few examples.",
            warnings=tuple(warnings), **common,
        )  # fmt: skip
    n_min = min(counts.values())
    if n_min >= MIN_KEPT_PER_CLASS and not every_sample_counts:
        kept = n_min * len(counts)
        return Recommendation(
            action="undersample", strategy="undersample", target="equal", max_ratio=None,
            headline="Undersample the larger classes",
            reason=f"Losing majority rows is cheap here and there are many: at equal "
            f"counts every class keeps {n_min:,} rows ({kept:,} in all), enough to train "
            "on, and no sample is repeated; if every sample carries something worth "
            "learning, use class weights instead.",
            warnings=tuple(warnings), **common,
        )  # fmt: skip
    weights = class_weights(counts)
    clip = LARGE_WEIGHT_SPREAD if weights.spread > LARGE_WEIGHT_SPREAD else None
    gutted = undersample_equal_warning(counts)
    if gutted:
        warnings.append(gutted)
    if clip is not None:
        warnings.append(
            f"Unclipped, the largest weight would be {format_times(weights.spread)} the "
            f"smallest, which makes training unstable: clip the spread at "
            f"{format_times(clip)} (max_ratio={clip:g})."
        )
    return Recommendation(
        action="class_weights", strategy="weights", target=None, max_ratio=clip,
        headline="Use class weights",
        reason=(
            "Every sample counts here, so class weights keep every row and make each "
            "class count equally in the loss."
            if n_min >= MIN_KEPT_PER_CLASS
            else f"Every sample counts when the minority is small: {n_min:,} samples in "
            "the smallest class, so undersampling would throw away most of the data; "
            "class weights keep every row and make each class count equally in the loss."
        ),
        warnings=tuple(warnings), **common,
    )  # fmt: skip
