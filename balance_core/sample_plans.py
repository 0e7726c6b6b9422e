r"""Balancing samples that carry several labels or boxes.

Copying a sample copies every label (or box) in it: oversampling an image for its
rare bicycle also copies its ten cars. So every plan here works per sample and
reports what it does to **every** class, including the ones that ride along,
counted in boxes and in samples (images) containing the class.

- :func:`plan_repeat_factor`: repeat-factor sampling (Gupta et al., LVIS, 2019),
  :math:`r_c = \max(1, \sqrt{t / f_c})` with :math:`f_c` the share of images
  containing class :math:`c`; an image repeats :math:`r_i = \max_{c \in i} r_c`
  times (1 for an image with no label), as detectron2's
  ``RepeatFactorTrainingSampler`` and MMDetection's ``ClassBalancedDataset``.
- :func:`plan_image_sampling`: image-level under- or oversampling of the images
  grouped by their rarest class, with the counts of
  :func:`balance_core.plan.plan_undersample` / ``plan_oversample`` on the groups.
- :func:`plan_ml_ros`, :func:`plan_ml_rus`: ML-ROS and ML-RUS (Charte et al. 2015).
- :func:`label_weights`: per-label ``pos_weight`` (negatives / positives) for
  ``BCEWithLogitsLoss``, or effective-number weights (Cui et al. 2019).
- :func:`sample_label_weights`: one sampler weight per sample from its labels.

Fractional repeats are made exact and seeded: the images of a group share one
factor :math:`r`, the group gets :math:`\mathrm{round}(n r)` copies in all, every
image :math:`\lfloor r \rfloor` and the images with the smallest SplitMix64 keys
(of their row number and the seed, as :mod:`balance_core.apply` draws) one more.
The plans run on a :class:`SampleLabels` summary made once per dataset; the
preview for a new threshold costs one pass over the (sample, class) pairs, with
no Python loop.

References
----------
Gupta, A., Dollár, P., & Girshick, R. (2019). LVIS: A dataset for large vocabulary
instance segmentation. CVPR, 5356-5364 (section 4, repeat factor sampling).
Charte, F., Rivera, A. J., del Jesus, M. J., & Herrera, F. (2015). Addressing
imbalance in multilabel classification: Measures and random resampling
algorithms. Neurocomputing, 163, 3-16.
Cui, Y., Jia, M., Lin, T.-Y., Song, Y., & Belongie, S. (2019). Class-balanced loss
based on effective number of samples. CVPR, 9268-9277.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pyarrow.compute as pc

from .apply import _splitmix
from .dataset import Dataset
from .errors import DatasetError
from .multilabel import irlbl
from .plan import plan_oversample, plan_undersample

__all__ = [
    "NO_LABEL",
    "LabelWeights",
    "SampleLabels",
    "SamplePlan",
    "SampleWeightsPlan",
    "image_factors",
    "label_weights",
    "plan_image_sampling",
    "plan_ml_ros",
    "plan_ml_rus",
    "plan_repeat_factor",
    "repeat_factors",
    "sample_label_weights",
    "sample_labels",
]

NO_LABEL = "(no label)"
"""The group of samples with no label (background images), in image-level plans."""
# Above this the same few samples are seen again and again: warn.
MANY_REPEATS = 10.0
LARGE_POS_WEIGHT = 100.0


def _bad(message: str) -> DatasetError:
    return DatasetError(message, kind="bad_parameter")


@dataclass(frozen=True, eq=False, kw_only=True)
class SampleLabels:
    r"""What the plans need from a dataset, computed once: the (sample, class) pairs
    with their box counts, samples and boxes per class, and each sample's rarest
    class.

    Attributes
    ----------
    classes : tuple of str
    rows : numpy.ndarray
        Dataset row of each sample counted (all rows, or one split's).
    pair_sample, pair_class, pair_boxes : numpy.ndarray
        One element per (sample, class) present; ``pair_sample`` indexes ``rows``;
        ``pair_boxes`` counts the class's boxes in the sample (1 without boxes).
    samples, boxes : numpy.ndarray
        Per class: samples containing it, boxes (= samples without boxes).
    rarest : numpy.ndarray
        Per sample: the class present in it with the fewest samples (ties: the
        lower class index), -1 for a sample with no label. Since
        :math:`\sqrt{t / f_c}` falls as :math:`f_c` grows, an image's repeat factor
        is always its rarest class's, whatever the threshold.
    has_boxes : bool
    split : str or None
    """

    classes: tuple[str, ...]
    rows: np.ndarray
    pair_sample: np.ndarray
    pair_class: np.ndarray
    pair_boxes: np.ndarray
    samples: np.ndarray
    boxes: np.ndarray
    rarest: np.ndarray
    has_boxes: bool
    split: str | None = None
    _ranks: dict = field(default_factory=dict, repr=False)

    @property
    def n_samples(self) -> int:
        return len(self.rows)

    @property
    def n_classes(self) -> int:
        return len(self.classes)

    @property
    def group_names(self) -> tuple[str, ...]:
        """Names of the groups of :meth:`group_counts`: the classes, then the group
        of samples with no label (renamed if a class is called that)."""
        name = NO_LABEL
        while name in self.classes:
            name += " "
        return (*self.classes, name)

    def group_of(self) -> np.ndarray:
        """Group index per sample: its rarest class, or ``n_classes`` for no label."""
        if "group" not in self._ranks:
            self._ranks["group"] = np.where(self.rarest >= 0, self.rarest, self.n_classes)
        return self._ranks["group"]

    def group_counts(self) -> np.ndarray:
        """Samples per group (see :meth:`group_of`)."""
        if "sizes" not in self._ranks:
            self._ranks["sizes"] = np.bincount(self.group_of(), minlength=self.n_classes + 1)
        return self._ranks["sizes"]

    def ranks(self, seed: int) -> np.ndarray:
        """Each sample's rank inside its group by SplitMix64 key of its row and
        ``seed`` (the draw order; cached per seed)."""
        if ("rank", seed) not in self._ranks:
            group = self.group_of()
            keys = _splitmix(self.rows, seed, 0)
            order = np.lexsort((keys, group))
            starts = np.searchsorted(group[order], np.arange(self.n_classes + 1))
            rank = np.empty(self.n_samples, dtype=np.int64)
            rank[order] = np.arange(self.n_samples) - np.repeat(
                starts, np.diff(np.r_[starts, self.n_samples])
            )
            # One seed at a time: a slider moves the threshold, not the seed.
            for key in [k for k in self._ranks if isinstance(k, tuple)]:
                del self._ranks[key]
            self._ranks[("rank", seed)] = rank
        return self._ranks[("rank", seed)]

    def counts_after(self, copies: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Samples containing each class and its boxes, when sample ``i`` appears
        ``copies[i]`` times."""
        weight = copies[self.pair_sample].astype(np.float64)
        k = self.n_classes
        samples = np.rint(np.bincount(self.pair_class, weights=weight, minlength=k))
        if not self.has_boxes:  # one "box" per (sample, label)
            return samples.astype(np.int64), samples.astype(np.int64)
        boxes = np.bincount(self.pair_class, weights=weight * self.pair_boxes, minlength=k)
        return samples.astype(np.int64), np.rint(boxes).astype(np.int64)


def sample_labels(dataset: Dataset, *, split: str | None = None) -> SampleLabels:
    """The :class:`SampleLabels` of a dataset (any kind), or of one split."""
    table = dataset.label_table()
    sample = table.column("sample").to_numpy().astype(np.int64)
    index = table.column("class_index").to_numpy().astype(np.int64)
    keep = index >= 0
    sample, index = sample[keep], index[keep]
    rows = np.arange(dataset.n_rows, dtype=np.int64)
    if split is not None:
        column = dataset.column("split")
        if column is None:
            raise _bad(f"The data has no split column, so it has no split {split!r}.")
        in_split = np.asarray(pc.equal(column.combine_chunks(), split).fill_null(False), bool)
        if not in_split.any():
            raise _bad(f"The data has no split {split!r}.")
        rows = np.flatnonzero(in_split)
        position = np.cumsum(in_split) - 1
        keep = in_split[sample]
        sample, index = position[sample[keep]], index[keep]
    k = max(len(dataset.classes), 1)
    pairs, boxes_in = np.unique(sample * k + index, return_counts=True)
    pair_sample, pair_class = np.divmod(pairs, k)
    n_classes = len(dataset.classes)
    samples = np.bincount(pair_class, minlength=n_classes)
    boxes = np.bincount(pair_class, weights=boxes_in, minlength=n_classes).astype(np.int64)
    # Rarest class per sample: order the pairs by (sample, samples of the class, class).
    rarest = np.full(len(rows), -1, dtype=np.int64)
    if len(pairs):
        order = np.lexsort((pair_class, samples[pair_class], pair_sample))
        first = np.r_[True, pair_sample[order][1:] != pair_sample[order][:-1]]
        rarest[pair_sample[order][first]] = pair_class[order][first]
    has_boxes = dataset.annotations is not None and dataset.annotations.has_boxes
    return SampleLabels(
        classes=dataset.classes,
        rows=rows,
        pair_sample=pair_sample,
        pair_class=pair_class,
        pair_boxes=boxes_in.astype(np.int64),
        samples=samples,
        boxes=boxes,
        rarest=rarest,
        has_boxes=has_boxes,
        split=split,
    )


@dataclass(frozen=True, eq=False, kw_only=True)
class SamplePlan:
    """Copies per sample, and what they do to every class.

    Attributes
    ----------
    method : str
        ``repeat_factor``, ``image_undersample``, ``image_oversample``, ``ml_ros``,
        ``ml_rus``.
    params : dict
        The options, as a recipe records them (``threshold``, ``target``,
        ``percentage``, ``seed``).
    classes : tuple of str
    copies : numpy.ndarray
        Per sample of ``labels.rows``: 0 (dropped), 1, 2, ...
    samples_before, samples_after, boxes_before, boxes_after : dict of str to int
        Per class: samples (images) containing it and boxes (equal to samples
        without boxes), before and after.
    class_factors : dict of str to float
        For repeat-factor sampling: :math:`r_c` per class.
    warnings : tuple of str
    """

    method: str
    params: dict
    classes: tuple[str, ...]
    labels: SampleLabels = field(repr=False)
    copies: np.ndarray = field(repr=False)
    samples_before: dict[str, int]
    samples_after: dict[str, int]
    boxes_before: dict[str, int]
    boxes_after: dict[str, int]
    class_factors: dict[str, float] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()

    @property
    def rows_before(self) -> int:
        return len(self.copies)

    @property
    def rows_after(self) -> int:
        return int(self.copies.sum())

    @property
    def rows(self) -> np.ndarray:
        """Dataset row of every output copy, in row order (a row repeated ``copies``
        times)."""
        return np.repeat(self.labels.rows, self.copies)

    def ratio_after(self, unit: str = "samples") -> float:
        after = self.samples_after if unit == "samples" else self.boxes_after
        values = list(after.values())
        return max(values) / max(min(values), 1) if values else 1.0

    def cost_rows(self) -> list[dict]:
        """One row per class: samples and boxes before and after, and the factor."""
        return [
            {
                "class": c,
                "samples before": self.samples_before[c],
                "samples after": self.samples_after[c],
                "boxes before": self.boxes_before[c],
                "boxes after": self.boxes_after[c],
                "factor": self.class_factors.get(c),
            }
            for c in self.classes
        ]

    def to_dict(self) -> dict:
        return {
            "method": self.method,
            "params": dict(self.params),
            "classes": list(self.classes),
            "samples_before": dict(self.samples_before),
            "samples_after": dict(self.samples_after),
            "boxes_before": dict(self.boxes_before),
            "boxes_after": dict(self.boxes_after),
            "class_factors": dict(self.class_factors),
            "rows_before": self.rows_before,
            "rows_after": self.rows_after,
            "warnings": list(self.warnings),
        }


def _check_seed(seed: int) -> None:
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise _bad(f"The seed must be a whole number >= 0, got {seed!r}.")


def _plan(method, params, labels: SampleLabels, copies, factors=None, warnings=()) -> SamplePlan:
    samples_after, boxes_after = labels.counts_after(copies)
    classes = labels.classes
    warnings = list(warnings)
    present = labels.samples > 0
    if present.any():
        growth = np.where(present, samples_after / np.maximum(labels.samples, 1), 0.0)
        worst = int(np.argmax(growth))
        most, name = float(growth[worst]), classes[worst]
        if most >= MANY_REPEATS:
            warnings.append(
                f"The images of {name!r} appear {most:.0f} times over: the model sees the "
                "same few objects again and again and may overfit them; a lower threshold "
                "or more data helps."
            )
    return SamplePlan(
        method=method,
        params=params,
        classes=classes,
        labels=labels,
        copies=copies,
        samples_before=dict(zip(classes, labels.samples.tolist(), strict=True)),
        samples_after=dict(zip(classes, samples_after.tolist(), strict=True)),
        boxes_before=dict(zip(classes, labels.boxes.tolist(), strict=True)),
        boxes_after=dict(zip(classes, boxes_after.tolist(), strict=True)),
        class_factors=factors or {},
        warnings=tuple(warnings),
    )


def _copies_from_quota(labels: SampleLabels, quota: np.ndarray, seed: int) -> np.ndarray:
    """Copies per sample so that group ``g`` gets exactly ``quota[g]`` in all: each
    sample ``quota // n``, the first ``quota % n`` by seeded rank one more."""
    group = labels.group_of()
    sizes = labels.group_counts()
    base, extra = np.divmod(quota, np.maximum(sizes, 1))
    rank = labels.ranks(seed)
    return (base[group] + (rank < extra[group])).astype(np.int64)


# --------------------------------------------------------------------------- repeat factor


def repeat_factors(samples: np.ndarray, n_samples: int, threshold: float) -> np.ndarray:
    r"""Per-class repeat factors :math:`r_c = \max(1, \sqrt{t / f_c})`, with
    :math:`f_c` = ``samples[c] / n_samples`` (Gupta et al. 2019, eq. in section 4);
    1 for a class with no sample."""
    if not (isinstance(threshold, (int, float)) and math.isfinite(threshold)) or not (
        0 < threshold <= 1
    ):
        raise _bad(
            f"The repeat threshold t is a share of images in (0, 1] (LVIS uses 0.001), "
            f"got {threshold!r}."
        )
    if n_samples <= 0:
        raise _bad("There are no images to repeat.")
    frequency = np.asarray(samples, dtype=np.float64) / n_samples
    with np.errstate(divide="ignore"):
        factor = np.sqrt(threshold / frequency)
    return np.where(frequency > 0, np.maximum(1.0, factor), 1.0)


def plan_repeat_factor(
    labels: SampleLabels, *, threshold: float = 0.001, seed: int = 0
) -> SamplePlan:
    r"""Repeat-factor sampling (LVIS): images with rare classes repeat.

    Parameters
    ----------
    labels : SampleLabels
        From :func:`sample_labels`.
    threshold : float, default 0.001
        :math:`t`: classes in less than this share of the images are repeated
        (detectron2's ``DATALOADER.REPEAT_THRESHOLD``, MMDetection's
        ``oversample_thr``).
    seed : int, default 0
        Which images take the fractional part of their group's repeats.

    Returns
    -------
    SamplePlan
        ``class_factors`` holds :math:`r_c`; every image of rarest class :math:`c`
        has factor :math:`r_c`, and the :math:`n_c` images of that group get
        :math:`\mathrm{round}(n_c r_c)` copies in all.
    """
    _check_seed(seed)
    factors = repeat_factors(labels.samples, labels.n_samples, threshold)
    group_factor = np.r_[factors, 1.0]
    sizes = labels.group_counts()
    quota = np.floor(sizes * group_factor + 0.5).astype(np.int64)
    copies = _copies_from_quota(labels, quota, seed)
    return _plan(
        "repeat_factor",
        {"threshold": float(threshold), "seed": seed},
        labels,
        copies,
        dict(zip(labels.classes, factors.tolist(), strict=True)),
    )


def image_factors(labels: SampleLabels, threshold: float) -> np.ndarray:
    """Each sample's fractional repeat factor :math:`r_i = \\max_{c \\in i} r_c`."""
    factors = np.r_[repeat_factors(labels.samples, labels.n_samples, threshold), 1.0]
    return factors[labels.group_of()]


# --------------------------------------------------------------------------- image-level


def plan_image_sampling(
    labels: SampleLabels, *, method: str = "undersample", seed: int = 0, **target
) -> SamplePlan:
    """Image-level under- or oversampling: the images are grouped by their rarest
    class (and a group of images with no label), the group sizes are balanced with
    :func:`~balance_core.plan.plan_undersample` or
    :func:`~balance_core.plan.plan_oversample` (``target`` are their options:
    ``ratio``, ``cap``, ``targets``, ...), and the plan reports what that does to
    every class, including the frequent ones that ride along in kept or copied
    images."""
    _check_seed(seed)
    if method not in ("undersample", "oversample"):
        raise _bad(f"method must be 'undersample' or 'oversample', not {method!r}.")
    names = labels.group_names
    sizes = labels.group_counts()
    counts = {names[g]: int(n) for g, n in enumerate(sizes) if n}
    planner = plan_undersample if method == "undersample" else plan_oversample
    group_plan = planner(counts, **target)
    quota = np.array([group_plan.after.get(name, 0) for name in names], dtype=np.int64)
    copies = _copies_from_quota(labels, quota, seed)
    return _plan(
        f"image_{method}",
        {"target": group_plan.request, "seed": seed, "groups": "rarest class"},
        labels,
        copies,
        warnings=group_plan.warnings,
    )


# --------------------------------------------------------------------------- ML-ROS / ML-RUS


def _check_percentage(percentage: float) -> float:
    if not (isinstance(percentage, (int, float)) and math.isfinite(percentage)) or not (
        0 < percentage <= 100
    ):
        raise _bad(f"The percentage must be in (0, 100], got {percentage!r}.")
    return float(percentage)


def _bags(labels: SampleLabels, seed: int) -> list[np.ndarray]:
    """Each label's samples in seeded draw order."""
    order = np.lexsort((_splitmix(labels.rows[labels.pair_sample], seed, 1), labels.pair_class))
    starts = np.searchsorted(labels.pair_class[order], np.arange(labels.n_classes + 1))
    members = labels.pair_sample[order]
    return [members[starts[c] : starts[c + 1]] for c in range(labels.n_classes)]


def _sample_classes(labels: SampleLabels) -> list[np.ndarray]:
    starts = np.searchsorted(labels.pair_sample, np.arange(labels.n_samples + 1))
    return [labels.pair_class[starts[i] : starts[i + 1]] for i in range(labels.n_samples)]


def plan_ml_ros(labels: SampleLabels, *, percentage: float = 25.0, seed: int = 0) -> SamplePlan:
    r"""ML-ROS (Charte et al. 2015, Algorithm 1): clone samples of minority labels.

    A label is a minority label when :math:`IRLbl > MeanIR` (MeanIR fixed at the
    start). ``percentage`` % of the samples are cloned, one from each minority
    label's bag in turn (its samples in seeded order, cycling); a label leaves the
    minority set once its IRLbl, recomputed after each clone, falls to MeanIR.
    """
    _check_seed(seed)
    to_clone = int(labels.n_samples * _check_percentage(percentage) / 100)
    counts = labels.samples.astype(np.float64).copy()
    ratios = irlbl(counts)
    occurring = np.isfinite(ratios)
    mean_ir = ratios[occurring].mean() if occurring.any() else 1.0
    minority = [c for c in range(labels.n_classes) if occurring[c] and ratios[c] > mean_ir]
    bags = _bags(labels, seed)
    sample_classes = _sample_classes(labels)
    copies = np.ones(labels.n_samples, dtype=np.int64)
    drawn = dict.fromkeys(minority, 0)
    largest = counts.max(initial=0)
    while to_clone > 0 and minority:
        for c in list(minority):
            if to_clone <= 0:
                break
            bag = bags[c]
            sample = int(bag[drawn[c] % len(bag)])
            drawn[c] += 1
            copies[sample] += 1
            present = sample_classes[sample]
            counts[present] += 1
            largest = max(largest, counts[present].max())
            to_clone -= 1
            if largest / counts[c] <= mean_ir:
                minority.remove(c)
    return _plan(
        "ml_ros",
        {"percentage": float(percentage), "seed": seed, "mean_ir": float(mean_ir)},
        labels,
        copies,
    )


def plan_ml_rus(labels: SampleLabels, *, percentage: float = 25.0, seed: int = 0) -> SamplePlan:
    r"""ML-RUS (Charte et al. 2015, Algorithm 2): delete samples of majority labels.

    A label is a majority label when :math:`IRLbl < MeanIR`. ``percentage`` % of
    the samples are deleted, one from each majority label's bag in turn (seeded
    order, skipping samples already deleted); a label leaves the majority set once
    its IRLbl, recomputed after each deletion, reaches MeanIR. A deleted sample's
    other labels lose it too, minority ones included, as in the paper.
    """
    _check_seed(seed)
    to_delete = int(labels.n_samples * _check_percentage(percentage) / 100)
    counts = labels.samples.astype(np.float64).copy()
    ratios = irlbl(counts)
    occurring = np.isfinite(ratios)
    mean_ir = ratios[occurring].mean() if occurring.any() else 1.0
    majority = [c for c in range(labels.n_classes) if occurring[c] and ratios[c] < mean_ir]
    bags = _bags(labels, seed)
    sample_classes = _sample_classes(labels)
    copies = np.ones(labels.n_samples, dtype=np.int64)
    position = dict.fromkeys(majority, 0)
    while to_delete > 0 and majority:
        for c in list(majority):
            if to_delete <= 0:
                break
            bag = bags[c]
            while position[c] < len(bag) and copies[bag[position[c]]] == 0:
                position[c] += 1
            if position[c] >= len(bag) or counts[c] <= 1:
                majority.remove(c)
                continue
            sample = int(bag[position[c]])
            copies[sample] = 0
            counts[sample_classes[sample]] -= 1
            to_delete -= 1
            present = counts[counts > 0]
            if present.size and present.max() / counts[c] >= mean_ir:
                majority.remove(c)
    return _plan(
        "ml_rus",
        {"percentage": float(percentage), "seed": seed, "mean_ir": float(mean_ir)},
        labels,
        copies,
    )


# --------------------------------------------------------------------------- weights


@dataclass(frozen=True, kw_only=True)
class LabelWeights:
    """One weight per label for a multi-label loss (``BCEWithLogitsLoss``).

    Attributes
    ----------
    method : {"pos_weight", "effective_number"}
    params : dict
    classes : tuple of str
        Class order of the dataset: ``weights[i]`` goes with output ``i``.
    positives, negatives : dict of str to int
    weights : dict of str to float
    clipped : tuple of str
    warnings : tuple of str
    """

    method: str
    params: dict
    classes: tuple[str, ...]
    positives: dict[str, int]
    negatives: dict[str, int]
    weights: dict[str, float]
    clipped: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()

    @property
    def as_list(self) -> list[float]:
        return [self.weights[c] for c in self.classes]


def label_weights(
    positives: Mapping[str, int],
    negatives: Mapping[str, int],
    *,
    method: str = "pos_weight",
    beta: float = 0.999,
    max_weight: float | None = None,
) -> LabelWeights:
    r"""Per-label weights, in the order of ``positives``.

    - ``pos_weight``: :math:`p_l = N^-_l / N^+_l`, the ``pos_weight`` PyTorch's
      ``BCEWithLogitsLoss`` documents ("number of negatives / number of positives"),
      so a label's positives weigh as much in the loss as its negatives.
    - ``effective_number``: :math:`w_l \propto (1 - \beta) / (1 - \beta^{N^+_l})`,
      scaled so the weights sum to the number of labels (Cui et al. 2019, applied
      per label).

    Parameters
    ----------
    positives, negatives : mapping of str to int
        Per label (see :class:`~balance_core.multilabel.MultilabelSummary`:
        uncertain labels are in neither under U-Ignore).
    method : {"pos_weight", "effective_number"}
    beta : float, default 0.999
    max_weight : float, optional
        Clip every weight to at most this (a label with 1 positive in 100,000
        samples would get a pos_weight of 100,000, which makes training unstable).
    """
    classes = tuple(positives)
    if not classes:
        raise _bad("There are no labels to weigh.")
    pos = np.array([positives[c] for c in classes], dtype=np.float64)
    neg = np.array([negatives[c] for c in classes], dtype=np.float64)
    if (pos <= 0).any():
        empty = classes[int(np.argmax(pos <= 0))]
        raise _bad(f"Label {empty!r} has no positive sample, so it cannot be weighted; drop it.")
    if method == "pos_weight":
        raw = neg / pos
        params: dict = {"max_weight": max_weight}
    elif method == "effective_number":
        if not (isinstance(beta, (int, float)) and 0.0 <= beta < 1.0):
            raise _bad(f"beta must be in [0, 1), got {beta!r}.")
        effective = -np.expm1(pos * math.log(beta)) if beta > 0 else np.ones_like(pos)
        raw = (1.0 - beta) / effective
        raw = raw * len(classes) / raw.sum()
        params = {"beta": beta, "max_weight": max_weight}
    else:
        raise _bad(f"method must be 'pos_weight' or 'effective_number', not {method!r}.")
    clipped: tuple[str, ...] = ()
    if max_weight is not None:
        if (
            not (isinstance(max_weight, (int, float)) and math.isfinite(max_weight))
            or max_weight <= 0
        ):
            raise _bad(f"max_weight must be a number above 0, got {max_weight!r}.")
        clipped = tuple(c for c, w in zip(classes, raw, strict=True) if w > max_weight)
        raw = np.minimum(raw, max_weight)
    warnings = []
    heaviest = int(np.argmax(raw))
    if method == "pos_weight" and raw[heaviest] > LARGE_POS_WEIGHT:
        warnings.append(
            f"Label {classes[heaviest]!r} gets pos_weight {raw[heaviest]:.0f}: each of its "
            "positives counts that many times, which makes training unstable; consider "
            f"max_weight={LARGE_POS_WEIGHT:g}."
        )
    return LabelWeights(
        method=method,
        params=params,
        classes=classes,
        positives={c: int(p) for c, p in zip(classes, pos, strict=True)},
        negatives={c: int(n) for c, n in zip(classes, neg, strict=True)},
        weights={c: float(w) for c, w in zip(classes, raw, strict=True)},
        clipped=clipped,
        warnings=tuple(warnings),
    )


@dataclass(frozen=True, eq=False, kw_only=True)
class SampleWeightsPlan:
    """One sampler weight per sample (``WeightedRandomSampler``), from its labels.

    Attributes
    ----------
    weights : numpy.ndarray
        Per sample of ``labels.rows``.
    label_draw_share : dict of str to float
        Expected share of draws holding each label (a draw can hold several).
    label_share_before : dict of str to float
        The same with uniform draws: the label's prevalence.
    """

    labels: SampleLabels = field(repr=False)
    method: str
    weights: np.ndarray = field(repr=False)
    label_draw_share: dict[str, float]
    label_share_before: dict[str, float]


def sample_label_weights(labels: SampleLabels, *, method: str = "max") -> SampleWeightsPlan:
    r"""Sampler weight per sample from the inverse frequencies of its labels,
    :math:`w_i = \mathrm{agg}_{l \in Y_i} 1 / n_l` with ``agg`` ``max`` (default:
    a sample is as rare as its rarest label), ``mean`` or ``sum``. Samples with no
    label count as one more label of their own (:data:`NO_LABEL`)."""
    if method not in ("max", "mean", "sum"):
        raise _bad(f"method must be 'max', 'mean' or 'sum', not {method!r}.")
    inverse = 1.0 / np.maximum(labels.samples, 1)
    values = inverse[labels.pair_class]
    n = labels.n_samples
    if method == "max":
        weights = np.zeros(n)
        np.maximum.at(weights, labels.pair_sample, values)
    else:
        weights = np.bincount(labels.pair_sample, weights=values, minlength=n)
        if method == "mean":
            weights /= np.maximum(np.bincount(labels.pair_sample, minlength=n), 1)
    empty = labels.rarest < 0
    if empty.any():
        weights[empty] = 1.0 / empty.sum()
    total = weights.sum()
    held = np.bincount(
        labels.pair_class, weights=weights[labels.pair_sample], minlength=labels.n_classes
    )
    return SampleWeightsPlan(
        labels=labels,
        method=method,
        weights=weights,
        label_draw_share={c: float(held[i] / total) for i, c in enumerate(labels.classes)},
        label_share_before={c: float(labels.samples[i] / n) for i, c in enumerate(labels.classes)},
    )
