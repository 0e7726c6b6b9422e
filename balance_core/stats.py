"""Class distribution of a dataset and the imbalance metrics computed from it."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

import pyarrow as pa
import pyarrow.compute as pc

from .dataset import Dataset
from .errors import DatasetError

__all__ = [
    "BALANCED_MAX_RATIO",
    "MILD_MAX_RATIO",
    "SPLIT_MIX_TOLERANCE",
    "Distribution",
    "Verdict",
    "distribution",
    "format_ratio",
    "format_times",
    "ratio_beside_threshold",
]

# Fernández, García, del Jesus & Herrera (2008), "A study of the behaviour of
# linguistic fuzzy rule based classification systems in the framework of
# imbalanced data-sets", Fuzzy Sets and Systems 159(18): data sets with an
# imbalance ratio below 1.5 are treated as balanced, 1.5-9 as low imbalance and
# above 9 as high imbalance. The KEEL imbalanced-data repository uses the same cut.
BALANCED_MAX_RATIO = 1.5
MILD_MAX_RATIO = 9.0
# A split whose class mix is more than this total-variation distance away from the
# overall mix is reported: stratified splitting keeps it near 0.
SPLIT_MIX_TOLERANCE = 0.10


class Verdict(StrEnum):
    """How imbalanced a dataset is, by its imbalance ratio (see :data:`MILD_MAX_RATIO`)."""

    BALANCED = "balanced"
    MILD = "mild"
    SEVERE = "severe"


def format_ratio(ratio: float, *, digits: int = 1) -> str:
    """An imbalance ratio the way people say it: ``6.3`` -> ``"1 : 6.3"``.

    ``digits`` decimals below 100 (trailing zeros dropped), none above.
    """
    if not math.isfinite(ratio):
        return "1 : ∞"
    if ratio >= 100:
        return f"1 : {ratio:.0f}"
    text = f"{ratio:.{digits}f}".rstrip("0").removesuffix(".") if digits else f"{ratio:.0f}"
    return f"1 : {text}"


def format_times(value: float) -> str:
    """A multiple (a weight spread, a copy factor) as ``"7.4×"``: one decimal below
    100, none above. Every view of a spread goes through this one function, so the
    same number is never rounded two ways."""
    if not math.isfinite(value):
        return "∞×"
    return f"{value:,.0f}×" if value >= 100 else f"{value:.1f}×"


def ratio_beside_threshold(ratio: float, threshold: float) -> str:
    """``format_ratio(ratio)`` with as many decimals as it takes to differ from
    ``format_ratio(threshold)`` when ``ratio != threshold`` (1.48 is "1 : 1.48", not
    "1 : 1.5", next to the threshold 1.5)."""
    for digits in (1, 2, 3):
        text = format_ratio(ratio, digits=digits)
        if ratio == threshold or text != format_ratio(threshold, digits=digits):
            return text
    return format_ratio(ratio, digits=4)


@dataclass(frozen=True, kw_only=True)
class Distribution:
    """Counts per class, per split, and the imbalance metrics derived from them.

    Build one with :func:`distribution` (from a dataset) or
    :meth:`Distribution.from_counts` (from counts alone).

    Attributes
    ----------
    counts : dict of str to int
        Samples per class, in sorted label order (the class index order of
        torchvision ``ImageFolder`` and Keras ``image_dataset_from_directory``).
    split_counts : dict of str to dict of str to int
        Split -> class -> samples, splits in sorted order; empty when the data has no
        split column. Rows with no split value are counted in ``rows_without_split``.
    missing_labels : int
        Rows with no label; they are left out of ``counts``.
    rows_without_split : int
        Labelled rows whose split cell is empty (0 without a split column).
    """

    counts: dict[str, int]
    split_counts: dict[str, dict[str, int]] = field(default_factory=dict)
    missing_labels: int = 0
    rows_without_split: int = 0

    def __post_init__(self) -> None:
        for label, count in self.counts.items():
            if not isinstance(count, int) or count < 0:
                raise DatasetError(
                    f"The count of class {label!r} must be a whole number >= 0, got {count!r}.",
                    kind="usage",
                )

    @classmethod
    def from_counts(
        cls,
        counts: Mapping[str, int],
        *,
        split_counts: Mapping[str, Mapping[str, int]] | None = None,
        missing_labels: int = 0,
    ) -> Distribution:
        """A distribution from class counts (labels are sorted; zero counts kept)."""
        return cls(
            counts={str(k): int(counts[k]) for k in sorted(counts, key=str)},
            split_counts={
                str(s): {str(k): int(v[k]) for k in sorted(v, key=str)}
                for s, v in sorted((split_counts or {}).items())
            },
            missing_labels=int(missing_labels),
        )

    # ------------------------------------------------------------------ basics

    @property
    def labels(self) -> tuple[str, ...]:
        """Class labels in sorted order; ``labels[i]`` has class index ``i``."""
        return tuple(self.counts)

    @property
    def n_classes(self) -> int:
        return len(self.counts)

    @property
    def n_labelled(self) -> int:
        return sum(self.counts.values())

    @property
    def n_rows(self) -> int:
        """All rows, labelled or not."""
        return self.n_labelled + self.missing_labels

    @property
    def shares(self) -> dict[str, float]:
        """Each class's fraction of the labelled rows."""
        total = self.n_labelled
        return {k: (v / total if total else 0.0) for k, v in self.counts.items()}

    @property
    def minority(self) -> str | None:
        """The smallest class (the first in label order on a tie); None if no class."""
        return min(self.counts, key=self.counts.__getitem__) if self.counts else None

    @property
    def majority(self) -> str | None:
        """The largest class (the first in label order on a tie); None if no class."""
        return max(self.counts, key=self.counts.__getitem__) if self.counts else None

    # ------------------------------------------------------------------ metrics

    @property
    def imbalance_ratio(self) -> float:
        r"""Imbalance ratio :math:`\max_c n_c / \min_c n_c` (1.0 for one class or none;
        ``inf`` when a class has no samples)."""
        if not self.counts:
            return 1.0
        smallest, largest = min(self.counts.values()), max(self.counts.values())
        if smallest == 0:
            return math.inf if largest else 1.0
        return largest / smallest

    @property
    def ratio_text(self) -> str:
        """The imbalance ratio as people say it, e.g. ``"1 : 6.3"``."""
        return format_ratio(self.imbalance_ratio)

    @property
    def evenness(self) -> float:
        r"""Normalised Shannon entropy (Pielou's evenness) :math:`H / \ln K` with
        :math:`H = -\sum_c p_c \ln p_c`: 1 when every class has the same count, near 0
        when one class holds almost everything. 1.0 for a single class.

        References
        ----------
        Pielou, E. C. (1966). The measurement of diversity in different types of
        biological collections. Journal of Theoretical Biology, 13, 131-144.
        """
        k = self.n_classes
        if k < 2 or self.n_labelled == 0:
            return 1.0
        return self._entropy() / math.log(k)

    @property
    def effective_classes(self) -> float:
        r"""Effective number of classes :math:`e^{H}` (Hill number of order 1): the
        number of equally common classes that would give the same entropy.

        References
        ----------
        Hill, M. O. (1973). Diversity and evenness: a unifying notation and its
        consequences. Ecology, 54(2), 427-432.
        """
        if self.n_labelled == 0:
            return 0.0
        return math.exp(self._entropy())

    @property
    def imbalance_degree(self) -> float:
        r"""Imbalance Degree with the total-variation distance.

        .. math:: ID(\zeta) = \frac{d_{TV}(\zeta, e)}{d_{TV}(\iota_m, e)} + (m - 1)

        where :math:`\zeta` is the class distribution, :math:`e` the uniform one,
        :math:`m` the number of minority classes (:math:`\zeta_c < 1/K`) and
        :math:`\iota_m` the distribution with :math:`m` empty classes furthest from
        :math:`e`. 0 for a balanced distribution; its integer part is :math:`m - 1`.

        References
        ----------
        Ortigosa-Hernández, J., Inza, I., & Lozano, J. A. (2017). Measuring the class-
        imbalance extent of multi-class problems. Pattern Recognition Letters, 98, 32-38.
        """
        k, total = self.n_classes, self.n_labelled
        if k < 2 or total == 0:
            return 0.0
        counts = list(self.counts.values())
        minority = sum(1 for n in counts if n * k < total)
        if minority == 0:
            return 0.0
        zeta = [n / total for n in counts]
        uniform = 1.0 / k
        distance = 0.5 * sum(abs(z - uniform) for z in zeta)
        # The furthest distribution with m minority classes: m zeros, K - m - 1
        # classes at 1/K and one class holding the rest.
        furthest = 0.5 * (minority * uniform + abs(1.0 - (k - minority) * uniform))
        return distance / furthest + (minority - 1)

    @property
    def gini(self) -> float:
        r"""Gini coefficient of the class counts,
        :math:`G = \sum_i \sum_j |n_i - n_j| / (2 K^2 \bar n)`: 0 when all classes are
        equal, approaching 1 when one class holds everything.

        References
        ----------
        Gini, C. (1912). Variabilità e mutabilità. As used for class imbalance in
        e.g. Ortigosa-Hernández et al. (2017).
        """
        counts = sorted(self.counts.values())
        k, total = len(counts), sum(counts)
        if k < 2 or total == 0:
            return 0.0
        # Sorted form of the double sum: sum_i (2i - k - 1) n_(i), i = 1..k.
        weighted = sum((2 * i - k - 1) * n for i, n in enumerate(counts, start=1))
        return weighted / (k * total)

    @property
    def verdict(self) -> Verdict:
        """Balanced (IR < 1.5), mild (1.5 <= IR <= 9) or severe (IR > 9), after
        Fernández et al. (2008); see :data:`BALANCED_MAX_RATIO`, :data:`MILD_MAX_RATIO`."""
        ratio = self.imbalance_ratio
        if ratio < BALANCED_MAX_RATIO:
            return Verdict.BALANCED
        if ratio <= MILD_MAX_RATIO:
            return Verdict.MILD
        return Verdict.SEVERE

    @property
    def verdict_label(self) -> str:
        """The verdict in a word for a card: ``"Balanced"``, ``"Mild"``, ``"Severe"``,
        or ``"One class"`` / ``"No classes"`` where there is nothing to balance (the
        verdict alone would say balanced)."""
        if self.n_classes == 0:
            return "No classes"
        if self.n_classes == 1:
            return "One class"
        return self.verdict.value.capitalize()

    @property
    def verdict_reason(self) -> str:
        """One sentence giving the verdict with its threshold.

        The ratio gets a second decimal when one would round it onto the threshold
        (1.48 is "1 : 1.48 is below 1 : 1.5", never "1 : 1.5 is below 1 : 1.5")."""
        if self.n_classes == 0:
            return "There are no labelled rows, so there is nothing to balance."
        if self.n_classes == 1:
            return (
                f"There is only one class ({self.minority!r}): there is nothing to balance, "
                "and a classifier needs at least two classes."
            )
        ratio = self.imbalance_ratio
        if self.verdict is Verdict.BALANCED:
            return (
                f"Balanced: the imbalance ratio {ratio_beside_threshold(ratio, BALANCED_MAX_RATIO)}"
                f" is below 1 : {BALANCED_MAX_RATIO}."
            )
        if self.verdict is Verdict.MILD:
            low = ratio_beside_threshold(ratio, BALANCED_MAX_RATIO)
            text = low if low != self.ratio_text else ratio_beside_threshold(ratio, MILD_MAX_RATIO)
            return (
                f"Mildly imbalanced: {text} is between 1 : {BALANCED_MAX_RATIO} and "
                f"1 : {MILD_MAX_RATIO:g} (Fernández et al. 2008)."
            )
        return (
            f"Severely imbalanced: {ratio_beside_threshold(ratio, MILD_MAX_RATIO)} is above "
            f"1 : {MILD_MAX_RATIO:g} (Fernández et al. 2008)."
        )

    @property
    def split_mix_distance(self) -> dict[str, float]:
        r"""For each split, the total-variation distance between its class mix and the
        mix over all splits, :math:`\tfrac12 \sum_c |p_{s,c} - p_c|` (0 = same mix,
        1 = disjoint classes). Empty without splits."""
        overall: dict[str, int] = {}
        for counts in self.split_counts.values():
            for label, n in counts.items():
                overall[label] = overall.get(label, 0) + n
        total = sum(overall.values())
        result = {}
        for split, counts in self.split_counts.items():
            size = sum(counts.values())
            if not size or not total:
                continue
            result[split] = 0.5 * sum(
                abs(counts.get(label, 0) / size - n / total) for label, n in overall.items()
            )
        return result

    @property
    def split_mix_warning(self) -> str | None:
        """A sentence when a split's class mix differs from the others' by more than
        :data:`SPLIT_MIX_TOLERANCE` (total variation), else None."""
        distances = self.split_mix_distance
        if len(distances) < 2:
            return None
        worst = max(distances, key=distances.__getitem__)
        if distances[worst] <= SPLIT_MIX_TOLERANCE:
            return None
        return (
            f"The class mix of split {worst!r} differs from the overall mix by "
            f"{distances[worst]:.0%} (total variation): scores on it will not reflect the "
            "other splits; re-split with stratification by label."
        )

    def _entropy(self) -> float:
        total = self.n_labelled
        return -sum((n / total) * math.log(n / total) for n in self.counts.values() if n)

    def to_dict(self) -> dict:
        """A JSON-ready summary (finite numbers only)."""
        ratio = self.imbalance_ratio
        return {
            "rows": self.n_rows,
            "labelled_rows": self.n_labelled,
            "classes": self.n_classes,
            "counts": dict(self.counts),
            "shares": self.shares,
            "missing_labels": self.missing_labels,
            "minority": self.minority,
            "majority": self.majority,
            "imbalance_ratio": ratio if math.isfinite(ratio) else None,
            "imbalance_ratio_text": self.ratio_text,
            "evenness": self.evenness,
            "effective_classes": self.effective_classes,
            "imbalance_degree": self.imbalance_degree,
            "gini": self.gini,
            "verdict": str(self.verdict),
            "verdict_reason": self.verdict_reason,
            "splits": {s: dict(c) for s, c in self.split_counts.items()},
            "split_mix_distance": self.split_mix_distance,
            "rows_without_split": self.rows_without_split,
        }


def distribution(dataset: Dataset) -> Distribution:
    """Count the classes (and the classes per split) of ``dataset``.

    One hash pass over the label column (and the split column, if any), in pyarrow.

    Parameters
    ----------
    dataset : Dataset

    Returns
    -------
    Distribution
    """
    labels = dataset.labels
    missing = labels.null_count
    counts = _value_counts(labels)
    split_counts: dict[str, dict[str, int]] = {}
    without_split = 0
    split = dataset.column("split")
    if split is not None:
        grouped = (
            pa.table({"split": split, "label": labels})
            .filter(pc.is_valid(labels))
            .group_by(["split", "label"], use_threads=False)
            .aggregate([([], "count_all")])
        )
        for s, label, n in zip(
            grouped["split"].to_pylist(),
            grouped["label"].to_pylist(),
            grouped["count_all"].to_pylist(),
            strict=True,
        ):
            if s is None:
                without_split += n
            else:
                split_counts.setdefault(s, {})[label] = n
        split_counts = {s: {k: v[k] for k in sorted(v)} for s, v in sorted(split_counts.items())}
    return Distribution(
        counts=counts,
        split_counts=split_counts,
        missing_labels=missing,
        rows_without_split=without_split,
    )


def _value_counts(labels: pa.ChunkedArray) -> dict[str, int]:
    counted = pc.value_counts(labels)
    values = counted.field("values").to_pylist()
    numbers = counted.field("counts").to_pylist()
    pairs = {v: n for v, n in zip(values, numbers, strict=True) if v is not None}
    return {label: pairs[label] for label in sorted(pairs)}
