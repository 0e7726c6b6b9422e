"""Findings about a dataset's splits: a class missing from a split, a class seen only
in validation or test, a group or path in two splits, and splits whose class mixes
differ (Jensen-Shannon distance and a chi-square test of homogeneity).

Every check returns :class:`~balance_core.dataset.Finding` objects with their rows
and their threshold in the message, the same objects the dashboard, the CLI, the
``check`` gate and the HTML report show.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .apply import TRAIN_NAMES
from .dataset import Dataset, Finding, FindingKind, Severity
from .stats import Distribution, distribution

__all__ = [
    "DEFAULT_ALPHA",
    "DEFAULT_MAX_JS_DISTANCE",
    "DEFAULT_MIN_PER_SPLIT",
    "Homogeneity",
    "SplitMix",
    "check_splits",
    "chi_square_homogeneity",
    "js_distance",
    "split_mix",
]

# Jensen-Shannon distance (base 2, in [0, 1]) above which two splits' class mixes are
# reported: 0.05 is e.g. 14 % vs 18 % positives; 0.10 is 14 % vs 25 %.
DEFAULT_MAX_JS_DISTANCE = 0.05
# The mix is reported only when the chi-square test also rejects one shared mix at
# this level: on a few hundred rows a large distance can be chance.
DEFAULT_ALPHA = 0.01
DEFAULT_MIN_PER_SPLIT = 1
EXAMPLES = 3


def _quote(values: Sequence[str], limit: int = EXAMPLES) -> str:
    shown = ", ".join(repr(v) for v in values[:limit])
    return shown + (f" and {len(values) - limit} more" if len(values) > limit else "")


# --------------------------------------------------------------------------- statistics


def js_distance(p: Sequence[float], q: Sequence[float], *, base: float = 2.0) -> float:
    r"""Jensen-Shannon distance between two count (or probability) vectors.

    .. math:: d_{JS}(p, q) = \sqrt{\tfrac12 KL(p \| m) + \tfrac12 KL(q \| m)},
              \quad m = \tfrac12 (p + q)

    with both vectors normalised to sum 1 and logarithms to ``base`` (base 2 gives a
    distance in [0, 1]): 0 for the same mix, 1 for disjoint classes.

    References
    ----------
    Lin, J. (1991). Divergence measures based on the Shannon entropy. IEEE
    Transactions on Information Theory, 37(1), 145-151. Endres, D. M., & Schindelin,
    J. E. (2003). A new metric for probability distributions. IEEE Transactions on
    Information Theory, 49(7), 1858-1860 (the square root is a metric).
    """
    p_arr = np.asarray(p, dtype=np.float64)
    q_arr = np.asarray(q, dtype=np.float64)
    if p_arr.shape != q_arr.shape or p_arr.sum() <= 0 or q_arr.sum() <= 0:
        raise ValueError("js_distance needs two non-empty count vectors of the same length")
    p_arr = p_arr / p_arr.sum()
    q_arr = q_arr / q_arr.sum()
    m = (p_arr + q_arr) / 2

    def kl(a: np.ndarray) -> float:
        nonzero = a > 0
        return float(np.sum(a[nonzero] * np.log(a[nonzero] / m[nonzero])))

    divergence = (kl(p_arr) + kl(q_arr)) / 2 / math.log(base)
    return math.sqrt(max(divergence, 0.0))


@dataclass(frozen=True, eq=False, kw_only=True)
class Homogeneity:
    """A chi-square test that several splits share one class mix.

    Attributes
    ----------
    statistic : float
    p_value : float
    dof : int
    expected : numpy.ndarray
        Expected counts under one shared mix (splits x classes).
    cramers_v : float
        Effect size :math:`\\sqrt{\\chi^2 / (N \\min(S - 1, K - 1))}`, in [0, 1].
    """

    statistic: float
    p_value: float
    dof: int
    expected: np.ndarray
    cramers_v: float


def chi_square_homogeneity(table: np.ndarray, *, correction: bool = True) -> Homogeneity:
    r"""Pearson's chi-square test of homogeneity on a splits x classes count table.

    .. math:: \chi^2 = \sum_{s,c} \frac{(O_{s,c} - E_{s,c})^2}{E_{s,c}}, \quad
              E_{s,c} = \frac{O_{s\cdot} O_{\cdot c}}{N}

    with :math:`(S - 1)(K - 1)` degrees of freedom. Classes with no rows in any split
    are left out. With one degree of freedom and ``correction`` (the default, as in
    :func:`scipy.stats.chi2_contingency`), Yates' continuity correction moves each
    observed count up to 0.5 towards its expected count. The p-value is the upper
    tail of the chi-square distribution (:func:`scipy.special.chdtrc`).

    References
    ----------
    Pearson, K. (1900). On the criterion that a given system of deviations from the
    probable ... Philosophical Magazine, 50(302), 157-175. Yates, F. (1934).
    Contingency tables involving small numbers and the chi-square test. Supplement to
    the Journal of the Royal Statistical Society, 1(2), 217-235.
    """
    observed = np.asarray(table, dtype=np.float64)
    observed = observed[:, observed.sum(axis=0) > 0]
    observed = observed[observed.sum(axis=1) > 0]
    n_rows, n_columns = observed.shape if observed.ndim == 2 else (0, 0)
    total = observed.sum()
    if n_rows < 2 or n_columns < 2 or total <= 0:
        return Homogeneity(
            statistic=0.0, p_value=1.0, dof=0, expected=observed.copy(), cramers_v=0.0
        )
    expected = observed.sum(axis=1, keepdims=True) * observed.sum(axis=0, keepdims=True) / total
    dof = (n_rows - 1) * (n_columns - 1)
    if dof == 1 and correction:
        difference = expected - observed
        observed = observed + np.sign(difference) * np.minimum(0.5, np.abs(difference))
    statistic = float(np.sum((observed - expected) ** 2 / expected))
    from scipy.special import chdtrc  # the incomplete gamma tail, accurate to 1e-300

    p_value = float(chdtrc(dof, statistic))
    cramers_v = math.sqrt(statistic / (total * min(n_rows - 1, n_columns - 1)))
    return Homogeneity(
        statistic=statistic,
        p_value=p_value,
        dof=dof,
        expected=expected,
        cramers_v=min(cramers_v, 1.0),
    )


@dataclass(frozen=True, eq=False, kw_only=True)
class SplitMix:
    """How different the splits' class mixes are.

    Attributes
    ----------
    splits, classes : tuple of str
    counts : numpy.ndarray
        Rows per split and class.
    distances : numpy.ndarray
        Pairwise Jensen-Shannon distances between the splits' mixes (base 2).
    to_rest : numpy.ndarray
        Each split's distance to the pooled mix of all the other splits.
    homogeneity : Homogeneity
        The chi-square test over all splits.
    """

    splits: tuple[str, ...]
    classes: tuple[str, ...]
    counts: np.ndarray
    distances: np.ndarray
    to_rest: np.ndarray
    homogeneity: Homogeneity

    @property
    def worst_pair(self) -> tuple[str, str, float]:
        """The two splits whose mixes differ most, and their distance."""
        i, j = np.unravel_index(int(np.argmax(self.distances)), self.distances.shape)
        a, b = sorted((int(i), int(j)))
        return self.splits[a], self.splits[b], float(self.distances[a, b])

    def to_dict(self) -> dict:
        a, b, distance = self.worst_pair
        test = self.homogeneity
        return {
            "splits": list(self.splits),
            "js_distance": {
                x: {y: float(self.distances[i, j]) for j, y in enumerate(self.splits)}
                for i, x in enumerate(self.splits)
            },
            "js_distance_to_rest": {x: float(self.to_rest[i]) for i, x in enumerate(self.splits)},
            "worst_pair": {"splits": [a, b], "js_distance": distance},
            "chi_square": {
                "statistic": test.statistic,
                "dof": test.dof,
                "p_value": test.p_value,
                "cramers_v": test.cramers_v,
            },
        }


def split_mix(dist: Distribution) -> SplitMix | None:
    """The distances between the class mixes of ``dist``'s splits (None with fewer
    than two splits)."""
    splits = tuple(s for s, counts in dist.split_counts.items() if sum(counts.values()))
    if len(splits) < 2:
        return None
    classes = dist.labels
    counts = np.array(
        [[dist.split_counts[s].get(c, 0) for c in classes] for s in splits], dtype=np.int64
    )
    n = len(splits)
    distances = np.zeros((n, n))
    for i in range(n):
        for j in range(i + 1, n):
            distances[i, j] = distances[j, i] = js_distance(counts[i], counts[j])
    total = counts.sum(axis=0)
    to_rest = np.array(
        [
            js_distance(counts[i], total - counts[i]) if (total - counts[i]).sum() else 0.0
            for i in range(n)
        ]
    )
    return SplitMix(
        splits=splits,
        classes=classes,
        counts=counts,
        distances=distances,
        to_rest=to_rest,
        homogeneity=chi_square_homogeneity(counts),
    )


# --------------------------------------------------------------------------- findings


def _rows_of(column: pa.ChunkedArray, values: Sequence[str]) -> np.ndarray:
    mask = pc.is_in(column, value_set=pa.array(list(values), type=pa.string()))
    return np.asarray(pc.indices_nonzero(pc.fill_null(mask, False)), dtype=np.int64)


def _rows_where(labels: pa.ChunkedArray, split: pa.ChunkedArray, split_names, label_names):
    in_split = pc.is_in(split, value_set=pa.array(list(split_names), type=pa.string()))
    of_class = pc.is_in(labels, value_set=pa.array(list(label_names), type=pa.string()))
    mask = pc.fill_null(pc.and_(in_split, of_class), False)
    return np.asarray(pc.indices_nonzero(mask), dtype=np.int64)


def _train_split(splits: Sequence[str]) -> str | None:
    for name in sorted(splits):
        if name.strip().lower() in TRAIN_NAMES:
            return name
    return None


def check_splits(
    dataset: Dataset,
    dist: Distribution | None = None,
    *,
    findings: Sequence[Finding] | None = None,
    min_per_split: int = DEFAULT_MIN_PER_SPLIT,
    max_js_distance: float = DEFAULT_MAX_JS_DISTANCE,
    alpha: float = DEFAULT_ALPHA,
) -> tuple[Finding, ...]:
    """Findings about the splits of ``dataset`` (none without a split column).

    Parameters
    ----------
    dataset : Dataset
    dist : Distribution, optional
        The dataset's distribution, if already computed.
    findings : sequence of Finding, optional
        The findings of :func:`balance_core.check_quality`, if already computed: its
        leakage findings (a group, path or file in two splits) are reused, not
        recomputed.
    min_per_split : int, default 1
        Every class present in the data should have at least this many rows in every
        split; 1 reports classes missing from a split.
    max_js_distance : float, default 0.05
        Report the class mixes when two splits are further apart than this
        Jensen-Shannon distance (base 2) ...
    alpha : float, default 0.01
        ... and the chi-square test of homogeneity rejects one shared mix at this
        level.

    Returns
    -------
    tuple of Finding
        Most serious first: ``eval_only_class``, ``split_missing_class``,
        ``split_leakage``, ``split_mix``.
    """
    split = dataset.column("split")
    if split is None:
        return ()
    dist = dist or distribution(dataset)
    labels = dataset.labels
    splits = list(dist.split_counts)
    result: list[Finding] = []
    train = _train_split(splits)
    eval_only: list[str] = []
    if train is not None and len(splits) > 1:
        in_train = dist.split_counts[train]
        eval_only = [c for c in dist.labels if in_train.get(c, 0) == 0 and dist.counts[c] > 0]
        if eval_only:
            rows = _rows_of(labels, eval_only)
            where = sorted({s for s in splits for c in eval_only if dist.split_counts[s].get(c)})
            result.append(
                Finding(
                    kind=FindingKind.EVAL_ONLY_CLASS,
                    severity=Severity.ERROR,
                    count=int(rows.size),
                    message=(
                        f"{len(eval_only)} class(es) appear only outside the training split "
                        f"{train!r}, in {_quote(where)} ({_quote(eval_only)}): a model "
                        "trained on it never sees them; re-split (seesaw split --resplit) "
                        "or move rows of those classes into training."
                    ),
                    rows=rows,
                    groups=(tuple(eval_only),),
                )
            )
    short: list[tuple[str, ...]] = []
    empty = False
    for name in splits:
        counts = dist.split_counts[name]
        missing = [
            c
            for c in dist.labels
            if counts.get(c, 0) < min_per_split
            and dist.counts[c] > 0
            and not (name == train and c in eval_only)
        ]
        if missing:
            short.append((name, *missing))
            empty = empty or any(counts.get(c, 0) == 0 for c in missing)
    if short and len(splits) > 1:
        labels_short = sorted({c for _, *missing in short for c in missing})
        rows = _rows_of(labels, labels_short)
        parts = "; ".join(f"{name!r}: {_quote(missing)}" for name, *missing in short[:EXAMPLES])
        more = f"; and {len(short) - EXAMPLES} more split(s)" if len(short) > EXAMPLES else ""
        what = "no rows" if min_per_split <= 1 else f"fewer than {min_per_split} rows"
        result.append(
            Finding(
                kind=FindingKind.SPLIT_MISSING_CLASS,
                severity=Severity.ERROR if empty else Severity.WARNING,
                count=int(rows.size),
                message=(
                    f"{len(short)} split(s) have {what} of some class (threshold: at least "
                    f"{min_per_split} per class and split) — {parts}{more}: scores on such "
                    "a split say nothing about those classes; re-split with a minimum per "
                    "class (seesaw split --min-per-class)."
                ),
                rows=rows,
                groups=tuple(short),
            )
        )
    leakage = _leakage(dataset, findings)
    result += leakage
    mix = split_mix(dist)
    if mix is not None:
        a, b, distance = mix.worst_pair
        test = mix.homogeneity
        if distance > max_js_distance and test.p_value < alpha:
            worst = int(np.argmax(mix.to_rest))
            rows = _rows_of(split, [mix.splits[worst]])
            result.append(
                Finding(
                    kind=FindingKind.SPLIT_MIX,
                    severity=Severity.WARNING,
                    count=int(rows.size),
                    message=(
                        f"The class mixes of splits {a!r} and {b!r} differ: Jensen-Shannon "
                        f"distance {distance:.3f} (threshold {max_js_distance:g}), and the "
                        f"chi-square test of homogeneity rejects one shared mix (chi2 = "
                        f"{test.statistic:,.1f}, {test.dof} dof, p = {test.p_value:.2g} < "
                        f"{alpha:g}); split {mix.splits[worst]!r} is furthest from the "
                        "others: re-split stratified by class (seesaw split --resplit)."
                    ),
                    rows=rows,
                    groups=((a, b),),
                )
            )
    return tuple(sorted(result, key=lambda f: f.sort_key))


def _leakage(dataset: Dataset, findings: Sequence[Finding] | None) -> list[Finding]:
    """Groups, paths or files in two splits: the quality checks' findings, reused."""
    if findings is not None:
        return [f for f in findings if f.kind == FindingKind.SPLIT_LEAKAGE]
    # The same code as check_quality's, so both views agree row for row.
    from .quality import _duplicates, _group_leakage

    split = dataset.column("split")
    labels = dataset.labels
    found: list[Finding] = []
    path = dataset.column("path")
    if path is not None:
        found += _duplicates(path, labels, split, what="path")
    if dataset.content_key is not None:
        found += _duplicates(pa.chunked_array([dataset.content_key]), labels, split,
                             what="content")  # fmt: skip
    group = dataset.column("group")
    if group is not None:
        found += _group_leakage(group, split)
    return [f for f in found if f.kind == FindingKind.SPLIT_LEAKAGE]
