r"""How balanced a multi-label dataset is: per-label counts, co-occurrence and the
imbalance measures made for several labels per sample.

With :math:`D` samples, labels :math:`L` (:math:`q = |L|`), :math:`Y_i` the label
set of sample :math:`i` and :math:`n_\lambda` the positives of label
:math:`\lambda`:

- label cardinality :math:`\frac1D \sum_i |Y_i|`, density cardinality / :math:`q`;
- IRLbl (imbalance ratio per label) :math:`IRLbl(\lambda) = \max_{\lambda'}
  n_{\lambda'} / n_\lambda`, MeanIR its mean over the labels, CVIR its coefficient
  of variation (Charte et al. 2015);
- SCUMBLE (Charte et al. 2014): for sample :math:`i`,
  :math:`SCUMBLE_i = 1 - \big(\prod_{\lambda \in Y_i} IRLbl(\lambda)\big)^{1/|Y_i|}
  / \overline{IRLbl}_i`, one minus the geometric over the arithmetic mean of the
  IRLbl of its labels (the Atkinson index; 0 for samples with fewer than two
  labels), and :math:`SCUMBLE = \frac1D \sum_i SCUMBLE_i`. High when rare labels
  mostly appear together with frequent ones, which resampling then cannot separate.

References
----------
Charte, F., Rivera, A. J., del Jesus, M. J., & Herrera, F. (2015). Addressing
imbalance in multilabel classification: Measures and random resampling
algorithms. Neurocomputing, 163, 3-16.
Charte, F., Rivera, A., del Jesus, M. J., & Herrera, F. (2014). Concurrence among
imbalanced labels and its influence on multilabel resampling algorithms. HAIS
2014, LNCS 8480, 110-121.
Tsoumakas, G., Katakis, I., & Vlahavas, I. (2010). Mining multi-label data. In
Data Mining and Knowledge Discovery Handbook (cardinality and density).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .dataset import UNCERTAIN, Dataset, Finding, FindingKind, Severity
from .errors import DatasetError
from .stats import Distribution

__all__ = [
    "LabelMatrix",
    "MultilabelSummary",
    "irlbl",
    "label_matrix",
    "multilabel_findings",
    "scumble",
    "summarize_multilabel",
]

# Rows x labels above this are not held as one dense matrix at once.
DENSE_LIMIT = 50_000_000


@dataclass(frozen=True, eq=False, kw_only=True)
class LabelMatrix:
    """Positive (and uncertain) labels as sorted (sample, label) pairs.

    Attributes
    ----------
    classes : tuple of str
    n_samples : int
    sample, label : numpy.ndarray
        Positives, sorted by sample then label (no pair twice).
    uncertain_sample, uncertain_label : numpy.ndarray
        Uncertain labels (status -1) when the data has them and they are not
        counted as ones.
    """

    classes: tuple[str, ...]
    n_samples: int
    sample: np.ndarray
    label: np.ndarray
    uncertain_sample: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    uncertain_label: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))

    @property
    def n_labels(self) -> int:
        return len(self.classes)

    def positives(self) -> np.ndarray:
        return np.bincount(self.label, minlength=self.n_labels)

    def cardinality_per_sample(self) -> np.ndarray:
        return np.bincount(self.sample, minlength=self.n_samples)

    def dense(self) -> np.ndarray:
        """The 0/1 sample x label matrix (uint8)."""
        matrix = np.zeros((self.n_samples, self.n_labels), dtype=np.uint8)
        matrix[self.sample, self.label] = 1
        return matrix

    def cooccurrence(self) -> np.ndarray:
        """Label x label counts of samples holding both (the diagonal: positives)."""
        q = self.n_labels
        if self.n_samples * q <= DENSE_LIMIT:
            dense = self.dense().astype(np.float64)
            return np.rint(dense.T @ dense).astype(np.int64)
        result = np.zeros((q, q), dtype=np.int64)
        step = max(1, DENSE_LIMIT // max(q, 1))
        starts = np.searchsorted(self.sample, np.arange(0, self.n_samples, step))
        stops = [*starts[1:].tolist(), len(self.sample)]
        for k, (a, b) in enumerate(zip(starts.tolist(), stops, strict=True)):
            block = np.zeros((step, q), dtype=np.float64)
            block[self.sample[a:b] - k * step, self.label[a:b]] = 1
            result += np.rint(block.T @ block).astype(np.int64)
        return result


def label_matrix(dataset: Dataset, *, split: str | None = None) -> LabelMatrix:
    """The (sample, label) pairs of a dataset (any kind: one label, several, boxes),
    positives only, with the uncertain ones apart; ``split`` keeps its rows."""
    labels = dataset.label_table()
    sample = labels.column("sample").to_numpy().astype(np.int64)
    label = labels.column("class_index").to_numpy().astype(np.int64)
    unsure_sample = unsure_label = np.zeros(0, np.int64)
    annotations = dataset.annotations
    if annotations is not None and annotations.has_status and annotations.uncertain == "ignore":
        table = annotations.table
        unsure = pc.equal(table.column("status"), UNCERTAIN)
        chosen = table.filter(unsure)
        unsure_sample = chosen.column("sample").to_numpy().astype(np.int64)
        unsure_label = chosen.column("class_index").to_numpy().astype(np.int64)
    classes = dataset.classes
    n = dataset.n_rows
    keep = label >= 0
    sample, label = sample[keep], label[keep]
    if split is not None:
        column = dataset.column("split")
        if column is None:
            raise DatasetError(
                f"The data has no split column, so it has no split {split!r}.",
                kind="bad_parameter",
            )
        in_split = np.asarray(pc.equal(column.combine_chunks(), split).fill_null(False), bool)
        if not in_split.any():
            raise DatasetError(f"The data has no split {split!r}.", kind="bad_parameter")
        new_index = np.cumsum(in_split) - 1
        keep = in_split[sample]
        sample, label = new_index[sample[keep]], label[keep]
        keep = in_split[unsure_sample]
        unsure_sample, unsure_label = new_index[unsure_sample[keep]], unsure_label[keep]
        n = int(in_split.sum())
    k = max(len(classes), 1)
    pairs = np.unique(sample * k + label)
    sample, label = np.divmod(pairs, k)
    return LabelMatrix(
        classes=classes,
        n_samples=n,
        sample=sample,
        label=label,
        uncertain_sample=unsure_sample,
        uncertain_label=unsure_label,
    )


def irlbl(positives: np.ndarray) -> np.ndarray:
    r"""Imbalance ratio per label, :math:`\max_{\lambda'} n_{\lambda'} / n_\lambda`
    (Charte et al. 2015); ``inf`` for a label with no positive."""
    positives = np.asarray(positives, dtype=np.float64)
    with np.errstate(divide="ignore"):
        return np.where(positives > 0, positives.max(initial=0) / positives, np.inf)


def scumble(matrix: LabelMatrix, ratios: np.ndarray | None = None) -> tuple[float, np.ndarray]:
    r"""SCUMBLE of the dataset and per sample (Charte et al. 2014), see the module
    docstring; labels with no positive never occur, so every IRLbl used is finite."""
    ratios = irlbl(matrix.positives()) if ratios is None else ratios
    per_sample = np.zeros(matrix.n_samples)
    if not len(matrix.sample):
        return 0.0, per_sample
    values = ratios[matrix.label]
    count = np.bincount(matrix.sample, minlength=matrix.n_samples)
    log_sum = np.bincount(matrix.sample, weights=np.log(values), minlength=matrix.n_samples)
    total = np.bincount(matrix.sample, weights=values, minlength=matrix.n_samples)
    many = count > 1
    geometric = np.exp(log_sum[many] / count[many])
    arithmetic = total[many] / count[many]
    per_sample[many] = np.clip(1.0 - geometric / arithmetic, 0.0, 1.0)
    return float(per_sample.mean()) if matrix.n_samples else 0.0, per_sample


@dataclass(frozen=True, kw_only=True)
class MultilabelSummary:
    """Per-label counts and the multi-label imbalance measures.

    Attributes
    ----------
    classes : tuple of str
    n_samples : int
    positives, uncertain, negatives : dict of str to int
        Per label. ``negatives`` are samples neither positive nor uncertain
        (blank cells count as negatives, as CheXpert's training code does).
    empty_sets : int
        Samples with no positive label (NIH's ``No Finding``).
    cardinality, density : float
    irlbl : dict of str to float
    mean_ir, max_ir, cvir : float
        Over the labels that occur.
    scumble : float
    scumble_per_label : dict of str to float
        Mean SCUMBLE of the samples holding the label.
    cooccurrence : numpy.ndarray
        ``cooccurrence[a, b]``: samples with both labels (diagonal: positives).
    alone : dict of str to int
        Samples whose only label is this one.
    label_sets : int
        Distinct label combinations.
    split : str or None
    """

    classes: tuple[str, ...]
    n_samples: int
    positives: dict[str, int]
    uncertain: dict[str, int]
    negatives: dict[str, int]
    empty_sets: int
    cardinality: float
    density: float
    irlbl: dict[str, float]
    mean_ir: float
    max_ir: float
    cvir: float
    scumble: float
    scumble_per_label: dict[str, float]
    cooccurrence: np.ndarray = field(repr=False)
    alone: dict[str, int] = field(default_factory=dict)
    label_sets: int = 0
    split: str | None = None

    def distribution(self) -> Distribution:
        """Positives per label as a :class:`~balance_core.stats.Distribution` (the
        seesaw chart; its ratio is MaxIR)."""
        return Distribution.from_counts(self.positives)

    def cooccurrence_rows(self) -> list[dict]:
        """The co-occurrence matrix as long rows (``a``, ``b``, ``samples``), for a
        heatmap or a table."""
        return [
            {"a": a, "b": b, "samples": int(self.cooccurrence[i, j])}
            for i, a in enumerate(self.classes)
            for j, b in enumerate(self.classes)
        ]

    def rows(self) -> list[dict]:
        return [
            {
                "label": c,
                "positives": self.positives[c],
                "uncertain": self.uncertain[c],
                "negatives": self.negatives[c],
                "prevalence": self.positives[c] / self.n_samples if self.n_samples else 0.0,
                "IRLbl": self.irlbl[c],
                "alone": self.alone[c],
                "SCUMBLE": self.scumble_per_label[c],
            }
            for c in self.classes
        ]

    def to_dict(self) -> dict:
        def finite(value: float) -> float | None:
            return value if math.isfinite(value) else None

        return {
            "samples": self.n_samples,
            "labels": list(self.classes),
            "positives": dict(self.positives),
            "uncertain": dict(self.uncertain),
            "negatives": dict(self.negatives),
            "empty_label_sets": self.empty_sets,
            "cardinality": self.cardinality,
            "density": self.density,
            "irlbl": {c: finite(v) for c, v in self.irlbl.items()},
            "mean_ir": finite(self.mean_ir),
            "max_ir": finite(self.max_ir),
            "cvir": finite(self.cvir),
            "scumble": self.scumble,
            "scumble_per_label": dict(self.scumble_per_label),
            "cooccurrence": self.cooccurrence.tolist(),
            "alone": dict(self.alone),
            "label_sets": self.label_sets,
            "split": self.split,
        }


def summarize_multilabel(dataset: Dataset, *, split: str | None = None) -> MultilabelSummary:
    """Positives per label, cardinality, density, empty label sets, co-occurrence,
    IRLbl, MeanIR, CVIR and SCUMBLE (see the module docstring for the formulas).

    Works on any dataset: for detection, an image "has" the classes of its boxes.
    """
    matrix = label_matrix(dataset, split=split)
    classes, n, q = matrix.classes, matrix.n_samples, matrix.n_labels
    positives = matrix.positives()
    unsure = np.bincount(matrix.uncertain_label, minlength=q)
    per_sample = matrix.cardinality_per_sample()
    ratios = irlbl(positives)
    occurring = np.isfinite(ratios)
    mean_ir = float(ratios[occurring].mean()) if occurring.any() else 1.0
    max_ir = float(ratios[occurring].max()) if occurring.any() else 1.0
    if occurring.sum() > 1 and mean_ir:
        cvir = float(ratios[occurring].std(ddof=1) / mean_ir)
    else:
        cvir = 0.0
    total, per_instance = scumble(matrix, ratios)
    holding = np.bincount(matrix.label, weights=per_instance[matrix.sample], minlength=q)
    with np.errstate(invalid="ignore", divide="ignore"):
        per_label = np.where(positives > 0, holding / np.maximum(positives, 1), 0.0)
    single = per_sample[matrix.sample] == 1
    alone = np.bincount(matrix.label[single], minlength=q)
    if len(matrix.sample):
        starts = np.flatnonzero(np.r_[True, matrix.sample[1:] != matrix.sample[:-1]])
        combos = {
            tuple(matrix.label[a:b])
            for a, b in zip(
                starts.tolist(), [*starts[1:].tolist(), len(matrix.sample)], strict=True
            )
        }
        label_sets = len(combos) + int((per_sample == 0).any())
    else:
        label_sets = 1 if n else 0
    return MultilabelSummary(
        classes=classes,
        n_samples=n,
        positives={c: int(positives[i]) for i, c in enumerate(classes)},
        uncertain={c: int(unsure[i]) for i, c in enumerate(classes)},
        negatives={c: int(n - positives[i] - unsure[i]) for i, c in enumerate(classes)},
        empty_sets=int(np.count_nonzero(per_sample == 0)),
        cardinality=float(per_sample.mean()) if n else 0.0,
        density=float(per_sample.mean() / q) if n and q else 0.0,
        irlbl={c: float(ratios[i]) for i, c in enumerate(classes)},
        mean_ir=mean_ir,
        max_ir=max_ir,
        cvir=cvir,
        scumble=total,
        scumble_per_label={c: float(per_label[i]) for i, c in enumerate(classes)},
        cooccurrence=matrix.cooccurrence(),
        alone={c: int(alone[i]) for i, c in enumerate(classes)},
        label_sets=label_sets,
        split=split,
    )


def multilabel_findings(
    dataset: Dataset, summary: MultilabelSummary | None = None
) -> tuple[Finding, ...]:
    """Empty label sets, labels that never occur alone, labels with no positive,
    and a high SCUMBLE; the reader's findings first. Most serious first."""
    summary = summary or summarize_multilabel(dataset)
    findings = list(dataset.findings)
    matrix_rows = dataset.label_table().column("sample").to_numpy()
    if summary.empty_sets and not any(f.kind == FindingKind.EMPTY_LABEL_SET for f in findings):
        has_label = np.zeros(dataset.n_rows, dtype=bool)
        has_label[matrix_rows] = True
        missing = dataset.labels.is_null().to_numpy(zero_copy_only=False)
        empty = np.flatnonzero(~has_label & ~missing)
        if len(empty):
            findings.append(
                Finding(
                    kind=FindingKind.EMPTY_LABEL_SET,
                    severity=Severity.INFO,
                    count=len(empty),
                    message=(
                        f"{len(empty):,} of {summary.n_samples:,} samples have no positive "
                        "label; they are the negatives of every label."
                    ),
                    rows=empty.astype(np.int64),
                )
            )
    never = [c for c in summary.classes if summary.positives[c] and not summary.alone[c]]
    if never:
        shown = ", ".join(map(repr, never[:5])) + (" ..." if len(never) > 5 else "")
        index = [summary.classes.index(c) for c in never]
        table = dataset.label_table()
        rows = table.filter(pc.is_in(table.column("class_index"), pa.array(index, pa.int32())))
        findings.append(
            Finding(
                kind=FindingKind.NEVER_ALONE,
                severity=Severity.INFO,
                count=len(never),
                message=(
                    f"{len(never):,} label{'s never occur' if len(never) != 1 else ' never occurs'}"
                    f" alone ({shown}): every sample with "
                    f"{'them' if len(never) != 1 else 'it'} has another label too, so copying "
                    "those samples copies the other labels as well."
                ),
                rows=np.unique(rows.column("sample").to_numpy()),
                groups=tuple((c,) for c in never),
            )
        )
    absent = [c for c in summary.classes if not summary.positives[c]]
    if absent:
        findings.append(
            Finding(
                kind=FindingKind.TINY_CLASS,
                severity=Severity.WARNING,
                count=len(absent),
                message=(
                    f"{len(absent):,} label{'s have' if len(absent) != 1 else ' has'} no positive "
                    f"sample ({', '.join(map(repr, absent[:5]))}); a model cannot learn "
                    f"{'them' if len(absent) != 1 else 'it'}."
                ),
            )
        )
    return tuple(sorted(findings, key=lambda f: f.sort_key))
