"""What to do about an imbalance, said in a sentence, and the ratio targets a control
offers: pure functions of class counts (cheap enough for every rerun)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from .stats import BALANCED_MAX_RATIO, Distribution, Verdict, ratio_beside_threshold

__all__ = ["TINY_CLASS", "Recommendation", "ratio_choices", "recommend"]

#: A class with fewer samples than this is too small to learn from or to balance
#: towards: undersampling to it guts the data, oversampling copies it dozens of times.
TINY_CLASS = 10
#: Undersampling is recommended when the minority has at least this many samples...
UNDERSAMPLE_MIN_MINORITY = 100
#: ...and undersampling to equal keeps at least this share of the rows.
UNDERSAMPLE_MIN_KEPT = 0.2
#: Weight spreads above this make training unstable without clipping.
WEIGHT_SPREAD_CLIP = 10.0


@dataclass(frozen=True, kw_only=True)
class Recommendation:
    """A short recommendation from class counts.

    Attributes
    ----------
    action : {"none", "one_class", "merge_small", "undersample", "weights"}
    method : str or None
        The strategy a page should preselect (``undersample`` or ``weights``), or
        None when nothing needs balancing.
    headline : str
        One sentence: what to do.
    reason : str
        One or two sentences: why, from the data.
    """

    action: str
    method: str | None
    headline: str
    reason: str


def recommend(counts: Mapping[str, int]) -> Recommendation:
    """What to do about the imbalance of ``counts``, in the words of the two stories
    the defaults come from (DESIGN.md): lung CT slices, where losing near-duplicate
    majority rows is cheap (random undersampling), and face anti-spoofing, where every
    sample is worth learning (class weights in the loss).

    Rules, first match wins: fewer than two classes -> nothing to balance; an imbalance
    ratio below the verdict's balanced threshold -> no action; any class under
    :data:`TINY_CLASS` samples -> merge or drop those first; a minority of at least
    :data:`UNDERSAMPLE_MIN_MINORITY` samples where undersampling to equal keeps at
    least :data:`UNDERSAMPLE_MIN_KEPT` of the rows -> undersample; otherwise class
    weights (clipped when the spread would pass :data:`WEIGHT_SPREAD_CLIP`).

    Examples
    --------
    >>> recommend({"cat": 50, "dog": 48}).action
    'none'
    >>> recommend({"normal": 6000, "cancer": 1000}).method
    'undersample'
    """
    counts = {str(k): int(v) for k, v in counts.items()}
    if len(counts) < 2:
        return Recommendation(
            action="one_class",
            method=None,
            headline="There is nothing to balance: the data has fewer than two classes.",
            reason="Check the label column, or the label mapping if you merged classes.",
        )
    total = sum(counts.values())
    smallest, largest = min(counts.values()), max(counts.values())
    ratio = largest / smallest if smallest else math.inf
    if Distribution.from_counts(counts).verdict is Verdict.BALANCED:
        return Recommendation(
            action="none",
            method=None,
            headline="No action needed: the classes are about equal.",
            reason=f"The imbalance ratio {ratio_beside_threshold(ratio, BALANCED_MAX_RATIO)} "
            f"is below 1 : {BALANCED_MAX_RATIO}, where the verdict calls data balanced.",
        )
    tiny = sorted(label for label, n in counts.items() if n < TINY_CLASS)
    if tiny:
        names = ", ".join(repr(label) for label in tiny[:5]) + (
            f" and {len(tiny) - 5:,} more" if len(tiny) > 5 else ""
        )
        return Recommendation(
            action="merge_small",
            method="weights",
            headline=(
                f"Merge or drop the {len(tiny):,} tiny classes"
                if len(tiny) > 1
                else f"Merge or drop the tiny class {tiny[0]!r}"
            )
            + " first (label mapping on the Balance page), then balance.",
            reason=f"{names} {'have' if len(tiny) > 1 else 'has'} fewer than {TINY_CLASS} "
            f"samples: undersampling to equal would keep only {len(counts) * smallest:,} of "
            f"{total:,} rows, and oversampling would copy them again and again.",
        )
    kept = len(counts) * smallest
    if smallest >= UNDERSAMPLE_MIN_MINORITY and kept >= UNDERSAMPLE_MIN_KEPT * total:
        return Recommendation(
            action="undersample",
            method="undersample",
            headline="Undersample the larger classes.",
            reason=f"The smallest class has {smallest:,} samples, so undersampling to equal "
            f"still keeps {kept:,} of {total:,} rows; losing majority rows is cheap when "
            "they are near-duplicates (many CT slices of one patient). If every sample "
            "carries something worth learning, use class weights instead.",
        )
    spread = ratio
    clip = (
        f" The weights would differ {spread:,.0f}-fold; clip the spread to keep training stable."
        if spread > WEIGHT_SPREAD_CLIP
        else ""
    )
    return Recommendation(
        action="weights",
        method="weights",
        headline="Keep every row and weigh the loss with class weights.",
        reason=f"Undersampling to equal would keep only {kept:,} of {total:,} rows; with "
        "class weights nothing is dropped, as when every attack sample of a face "
        f"anti-spoofing set is worth learning.{clip}",
    )


def ratio_choices(largest_ratio: float) -> list[float]:
    """Targets for a "largest / smallest at most R" control, usable at any range: 1 to
    ``largest_ratio`` in steps that grow with the value (1, 1.1, ..., 2, 2.5, 3, 4, 5,
    6, 8, 10, 12, 15, 20, 25, 30, 40, 50, 60, 80, 100, ...), ending at the ratio itself.

    Examples
    --------
    >>> ratio_choices(3.2)
    [1.0, 1.1, 1.2, 1.3, 1.4, 1.5, 1.6, 1.7, 1.8, 1.9, 2.0, 2.5, 3.0, 3.2]
    """
    if not math.isfinite(largest_ratio) or largest_ratio <= 1:
        return [1.0]
    choices = [round(1 + step / 10, 1) for step in range(10)]
    mantissas = (1.0, 1.2, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0)
    decade = 1.0
    while True:
        for m in mantissas:
            value = m * decade
            if value >= 2 and value < largest_ratio and value not in choices:
                choices.append(value)
        decade *= 10
        if decade > largest_ratio:
            break
    top = round(largest_ratio, 1)
    if top > choices[-1]:
        choices.append(top)
    return [float(c) for c in choices if c <= max(top, 1.0)]
