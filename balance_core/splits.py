"""Make train/validation/test splits: stratified by class, group-aware, seeded.

A split is made of *units* that never straddle two splits: a group (patient,
subject) when the data has a group column, else a distinct path (so duplicate
files stay together), else a row. Units of one row are shared out exactly, class by
class; units of several rows (groups) are placed first by iterative stratification
(Sechidis et al. 2011), weighted by their rows, and the single rows then fill what
the groups left, so each class's share of each split comes as close to the asked
proportion as the groups allow.

Randomness comes from the project's counter-based hashing (SplitMix64, as in
:mod:`balance_core.apply`) of each unit's identity: the group or path text itself
when there is one, the row number otherwise. The same input and seed give the same
split on every machine, and reordering the rows changes nothing when units have a
text identity.
"""

from __future__ import annotations

import heapq
import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ._version import __version__
from .apply import TRAIN_NAMES, _splitmix
from .dataset import Dataset
from .errors import DatasetError

__all__ = [
    "SPLIT_PARAMS_FORMAT",
    "SPLIT_RECORD_FORMAT",
    "Deviation",
    "SplitParams",
    "SplitResult",
    "iterative_stratification",
    "moved_table",
    "parse_proportions",
    "split_dataset",
    "split_record",
    "with_split_column",
]

SPLIT_PARAMS_FORMAT = "seesaw-split/1"
SPLIT_RECORD_FORMAT = "seesaw-split-record/1"
VALIDATION_NAMES = ("val", "valid", "validation", "dev")
TEST_NAMES = ("test", "testing", "tst", "holdout", "eval")
DEFAULT_NAMES = {2: ("train", "test"), 3: ("train", "val", "test")}
_MASK = (1 << 64) - 1
# Streams of the SplitMix64 keys, so the same seed draws independent numbers for
# each purpose.
_STREAM_UNIT, _STREAM_ROW, _STREAM_LABEL, _STREAM_TIE = 101, 102, 103, 104
_HASH_CHUNK_BYTES = 1 << 22
# The local search after placing groups: at most this many single-group moves, and
# only while the groups x classes share matrix stays small.
POLISH_MOVES = 400
POLISH_MAX_CELLS = 20_000_000


# --------------------------------------------------------------------------- parameters


@dataclass(frozen=True, kw_only=True)
class SplitParams:
    """A split request, as it is recorded (and replayed) in a recipe.

    Attributes
    ----------
    proportions : tuple of (str, float)
        Split names and the share of rows each should get, in order, summing to 1.
        A mapping is accepted and kept in its order. ``None`` only for a re-split,
        which then keeps the current splits' names and sizes.
    seed : int, default 0
    use_groups : bool, default True
        Keep each group (the dataset's group column) inside one split.
    min_per_class : int, default 1
        Every class must get at least this many rows in every split; when the data
        cannot give that, the split is refused with a sentence saying why.
    mode : {"split", "resplit"}
        ``split`` draws a fresh split; ``resplit`` starts from the data's current
        split column and moves as few rows as it takes to fix the class mix and
        reunite groups that leak across splits.
    """

    proportions: tuple[tuple[str, float], ...] | None = None
    seed: int = 0
    use_groups: bool = True
    min_per_class: int = 1
    mode: Literal["split", "resplit"] = "split"

    def __post_init__(self) -> None:
        if self.mode not in ("split", "resplit"):
            raise DatasetError(
                f"The split mode is 'split' or 'resplit', got {self.mode!r}.", kind="bad_parameter"
            )
        if self.proportions is None:
            if self.mode == "split":
                raise DatasetError(
                    "Say how to split, e.g. proportions {'train': 0.8, 'val': 0.1, "
                    "'test': 0.1} (--splits train=0.8,val=0.1,test=0.1).",
                    kind="bad_parameter",
                )
        else:
            object.__setattr__(self, "proportions", _check_proportions(self.proportions))
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise DatasetError(
                f"The seed must be a whole number >= 0, got {self.seed!r}.", kind="bad_parameter"
            )
        if (
            isinstance(self.min_per_class, bool)
            or not isinstance(self.min_per_class, int)
            or self.min_per_class < 0
        ):
            raise DatasetError(
                f"The minimum per class and split must be a whole number >= 0, got "
                f"{self.min_per_class!r}.",
                kind="bad_parameter",
            )

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.proportions or ())

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: ``{"format": "seesaw-split/1", "proportions": [{"split": "train",
        "share": 0.8}, ...], ...}``."""
        return {
            "format": SPLIT_PARAMS_FORMAT,
            "mode": self.mode,
            # A list, not an object: the order of the splits is part of the request, and
            # JSON writers that sort keys would lose it.
            "proportions": None
            if self.proportions is None
            else [{"split": name, "share": share} for name, share in self.proportions],
            "seed": self.seed,
            "use_groups": self.use_groups,
            "min_per_class": self.min_per_class,
        }

    @classmethod
    def from_dict(cls, payload: Mapping[str, Any]) -> SplitParams:
        """The inverse of :meth:`to_dict`; anything else raises DatasetError."""
        if not isinstance(payload, Mapping) or payload.get("format") != SPLIT_PARAMS_FORMAT:
            raise DatasetError(
                f"This is not a Seesaw split record (expected format {SPLIT_PARAMS_FORMAT!r}).",
                kind="bad_recipe",
            )
        unknown = set(payload) - {"format", "mode", "proportions", "seed", "use_groups",
                                  "min_per_class"}  # fmt: skip
        if unknown:
            raise DatasetError(
                f"The split record has an unknown field {sorted(unknown)[0]!r}; use the file "
                "Seesaw wrote.",
                kind="bad_recipe",
            )
        proportions = payload.get("proportions")
        pairs = None
        if isinstance(proportions, Mapping):
            pairs = tuple(proportions.items())
        elif isinstance(proportions, list) and all(
            isinstance(item, Mapping) and set(item) == {"split", "share"} for item in proportions
        ):
            pairs = tuple((item["split"], item["share"]) for item in proportions)
        elif proportions is not None:
            raise DatasetError(
                'The split record\'s proportions must be a list of {"split": NAME, "share": '
                "SHARE} objects.",
                kind="bad_recipe",
            )
        return cls(
            proportions=pairs,
            seed=payload.get("seed", 0),
            use_groups=bool(payload.get("use_groups", True)),
            min_per_class=payload.get("min_per_class", 1),
            mode=payload.get("mode", "split"),
        )


def _check_proportions(
    proportions: Mapping[str, float] | Iterable[tuple[str, float]],
) -> tuple[tuple[str, float], ...]:
    pairs = list(proportions.items() if isinstance(proportions, Mapping) else proportions)
    if len(pairs) < 2:
        raise DatasetError(
            f"A split needs at least two parts (e.g. train and test), got {len(pairs)}.",
            kind="bad_parameter",
        )
    names = []
    values = []
    for pair in pairs:
        if not (isinstance(pair, tuple | list) and len(pair) == 2):
            raise DatasetError(
                f"Each split is a (name, share) pair, got {pair!r}.", kind="bad_parameter"
            )
        name, value = pair
        if not isinstance(name, str) or not name.strip() or name != name.strip():
            raise DatasetError(
                f"A split name must be non-empty text without surrounding spaces, got {name!r}.",
                kind="bad_parameter",
            )
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise DatasetError(
                f"The share of split {name!r} must be a number, got {value!r}.",
                kind="bad_parameter",
            )
        if not math.isfinite(value) or value <= 0:
            raise DatasetError(
                f"The share of split {name!r} must be above 0, got {value!r}.",
                kind="bad_parameter",
            )
        names.append(name)
        values.append(float(value))
    if len(set(names)) != len(names):
        raise DatasetError("Two splits have the same name; name each once.", kind="bad_parameter")
    total = sum(values)
    if abs(total - 100) <= 1e-6 * 100 and total > 1.5:
        values = [v / 100 for v in values]  # percentages
    elif abs(total - 1) > 1e-6:
        raise DatasetError(
            f"The split shares must add up to 1 (or to 100 as percentages); they add up to "
            f"{total:g}.",
            kind="bad_parameter",
        )
    # Kept as given (no renormalising), so a recorded split reads back identical.
    return tuple(zip(names, values, strict=True))


def parse_proportions(text: str) -> tuple[tuple[str, float], ...]:
    """``"train=0.8,val=0.1,test=0.1"``, ``"train=80,test=20"`` or ``"80/10/10"``
    (named train/val/test, or train/test for two numbers) -> (name, share) pairs."""
    text = text.strip()
    if "=" not in text:
        parts = [p for p in re.split(r"[/,:\s]+", text) if p]
        if len(parts) not in DEFAULT_NAMES:
            raise DatasetError(
                f"Name the splits, e.g. train=0.8,val=0.1,test=0.1; {text!r} has "
                f"{len(parts)} number(s) and only 2 or 3 get default names.",
                kind="usage",
            )
        pairs = list(zip(DEFAULT_NAMES[len(parts)], parts, strict=True))
    else:
        pairs = []
        for item in text.split(","):
            name, sep, value = item.rpartition("=")
            if not sep or not name.strip():
                raise DatasetError(
                    f"Each split is NAME=SHARE (e.g. train=0.8), got {item.strip()!r}.",
                    kind="usage",
                )
            pairs.append((name.strip(), value))
    parsed = []
    for name, value in pairs:
        try:
            parsed.append((name, float(value.strip().rstrip("%"))))
        except ValueError:
            raise DatasetError(
                f"The share of split {name!r} must be a number, got {value.strip()!r}.",
                kind="usage",
            ) from None
    return _check_proportions(parsed)


# --------------------------------------------------------------------------- hashing


def _text_hashes(array: pa.Array) -> np.ndarray:
    """A 64-bit hash of each text value, from its UTF-8 bytes alone (the same on every
    machine and pyarrow version): a sum of the bytes times per-position odd
    multipliers, wrapping mod 2^64, then the length mixed in and SplitMix64 applied.
    Nulls all hash alike."""
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    if not pa.types.is_large_string(array.type):
        array = array.cast(pa.large_string())
    n = len(array)
    result = np.zeros(n, dtype=np.uint64)
    if n == 0:
        return result
    _, offsets_buffer, data_buffer = array.buffers()
    offsets = np.frombuffer(offsets_buffer, dtype=np.int64, count=array.offset + n + 1)[
        array.offset :
    ]
    data = (
        np.frombuffer(data_buffer, dtype=np.uint8)
        if data_buffer is not None
        else np.zeros(0, np.uint8)
    )
    lengths = np.diff(offsets)
    start = 0
    while start < n:
        stop = int(np.searchsorted(offsets, offsets[start] + _HASH_CHUNK_BYTES, side="right")) - 1
        stop = min(max(stop, start + 1), n)
        bounds = offsets[start : stop + 1]
        low, high = int(bounds[0]), int(bounds[-1])
        if high > low:
            local = bounds - low
            piece_lengths = np.diff(local)
            position = np.arange(high - low, dtype=np.int64) - np.repeat(local[:-1], piece_lengths)
            multipliers = _splitmix(np.arange(int(piece_lengths.max())), 0, 0) | np.uint64(1)
            terms = data[low:high].astype(np.uint64)
            terms += np.uint64(1)  # a zero byte still counts
            terms *= multipliers[position]
            running = np.concatenate([np.zeros(1, np.uint64), np.cumsum(terms, dtype=np.uint64)])
            result[start:stop] = running[local[1:]] - running[local[:-1]]
        start = stop
    result ^= lengths.astype(np.uint64) * np.uint64(0xD6E8FEB86659FD93)
    hashed = _splitmix(result, 0, 1)
    if array.null_count:
        hashed[np.asarray(array.is_null())] = np.uint64(0)
    return hashed


def _keys(identity: np.ndarray, seed: int, stream: int) -> np.ndarray:
    """The seeded 64-bit key of each identity (a uint64 hash or a row number)."""
    return _splitmix(identity, seed, stream)


# --------------------------------------------------------------------------- iterative


def iterative_stratification(
    labels: Any,
    proportions: Sequence[float],
    *,
    seed: int = 0,
    order: int = 2,
) -> np.ndarray:
    """Split multi-label samples into subsets by iterative stratification.

    The algorithm of Sechidis et al. (2011): the desired number of samples of each
    label in subset :math:`j` is :math:`c_j^l = r_j |D^l|`; repeatedly take the label
    with the fewest samples not yet placed (ties broken at random) and place each of
    its samples in the subset that most desires that label (ties broken by the
    subset's desired total :math:`c_j = r_j |D|`, then at random), updating the
    desired counts of all the sample's labels. Samples without labels go where the
    desired total is largest.

    With ``order=2`` (the default) the pairs of labels a sample carries are
    stratified too, as in the second-order variant of Szymański & Kajdanowicz
    (2017): every label and every label pair is a stratum of its own, the rarest
    taken first, and a sample goes to the subset where it keeps all its strata
    filling evenly (the least growth of :math:`\\sum_k \\mathrm{Var}_j f_{k,j}`,
    :math:`f_{k,j}` = samples of stratum :math:`k` placed in subset :math:`j` over its
    desired count). This keeps the label-pair distribution much closer to the whole
    data's than the first-order algorithm, at the same label distribution.
    ``order=1`` is the paper's algorithm as published.

    Parameters
    ----------
    labels : array-like of shape (n_samples, n_labels), or sequence of iterables
        A label-indicator matrix (nonzero = the sample has the label), or one
        collection of hashable labels per sample (``[{"cat"}, {"cat", "dog"}, set()]``).
    proportions : sequence of float
        The share of samples for each subset, summing to 1.
    seed : int, default 0
        Ties are broken by SplitMix64 keys of the sample position and the seed: the
        same input and seed give the same subsets on every machine.
    order : {1, 2}, default 2
        Stratify labels (1) or labels and label pairs (2).

    Returns
    -------
    numpy.ndarray of int
        The subset index (into ``proportions``) of every sample.

    References
    ----------
    Sechidis, K., Tsoumakas, G., & Vlahavas, I. (2011). On the stratification of
    multi-label data. ECML PKDD 2011, LNCS 6913, 145-158.

    Szymański, P., & Kajdanowicz, T. (2017). A network perspective on stratification
    of multi-label data. Proceedings of the First International Workshop on Learning
    with Imbalanced Domains, PMLR 74, 22-35.
    """
    shares = np.asarray(
        [p for _, p in _check_proportions([(f"s{i}", p) for i, p in enumerate(proportions)])]
    )
    if order not in (1, 2):
        raise DatasetError(f"The order is 1 or 2, got {order!r}.", kind="bad_parameter")
    indptr, indices = _label_sets(labels)
    if order == 2:
        indptr, indices = _with_pairs(indptr, indices)
    n = indptr.size - 1
    n_labels = int(indices.max()) + 1 if indices.size else 0
    per_label = np.bincount(indices, minlength=n_labels).astype(np.float64)
    desired = shares[:, None] * per_label[None, :]
    desired_total = shares * n
    keys = _keys(np.arange(n), seed, _STREAM_ROW)
    return _iterative_assign(
        indptr,
        indices,
        np.ones(indices.size, dtype=np.float64),
        np.ones(n, dtype=np.float64),
        desired,
        desired_total,
        keys,
        seed=seed,
        joint=order == 2,
    )


def _with_pairs(indptr: np.ndarray, indices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each sample's labels plus every pair of them, as new label ids (Szymański &
    Kajdanowicz's second-order stratification)."""
    n_labels = int(indices.max()) + 1 if indices.size else 0
    rows: list[list[int]] = []
    for start, stop in zip(indptr[:-1].tolist(), indptr[1:].tolist(), strict=True):
        own = indices[start:stop].tolist()
        combos = list(own)
        combos += [n_labels + a * n_labels + b for i, a in enumerate(own) for b in own[i + 1 :]]
        rows.append(combos)
    flat = [x for row in rows for x in row]
    _, dense = np.unique(np.asarray(flat, dtype=np.int64), return_inverse=True)
    new_indptr = np.concatenate([[0], np.cumsum([len(row) for row in rows])]).astype(np.int64)
    return new_indptr, dense.astype(np.int64)


def _label_sets(labels: Any) -> tuple[np.ndarray, np.ndarray]:
    """CSR (indptr, label indices) of an indicator matrix or a sequence of label sets."""
    if isinstance(labels, np.ndarray) or hasattr(labels, "toarray") or hasattr(labels, "shape"):
        matrix = labels.toarray() if hasattr(labels, "toarray") else np.asarray(labels)
        if matrix.ndim != 2:
            raise DatasetError(
                f"A label-indicator matrix has two dimensions (samples x labels), got "
                f"{matrix.ndim}.",
                kind="bad_parameter",
            )
        rows, columns = np.nonzero(matrix)
        indptr = np.concatenate([[0], np.cumsum(np.bincount(rows, minlength=matrix.shape[0]))])
        return indptr.astype(np.int64), columns.astype(np.int64)
    sets = [set(sample) if not isinstance(sample, str) else {sample} for sample in labels]
    vocabulary = {label: i for i, label in enumerate(sorted({x for s in sets for x in s}, key=str))}
    indices = [vocabulary[x] for s in sets for x in sorted(s, key=str)]
    indptr = np.concatenate([[0], np.cumsum([len(s) for s in sets])])
    return indptr.astype(np.int64), np.asarray(indices, dtype=np.int64)


def _iterative_assign(
    indptr: np.ndarray,
    labels: np.ndarray,
    counts: np.ndarray,
    sizes: np.ndarray,
    desired: np.ndarray,
    desired_total: np.ndarray,
    keys: np.ndarray,
    *,
    seed: int,
    current: np.ndarray | None = None,
    joint: bool = False,
) -> np.ndarray:
    """Sechidis et al.'s iterative stratification of weighted items.

    Item ``i`` carries ``counts[indptr[i]:indptr[i+1]]`` samples of the labels
    ``labels[indptr[i]:indptr[i+1]]`` and ``sizes[i]`` samples in all (a group's rows
    per class; 1 per label for a multi-label sample). ``desired`` (subsets x labels)
    and ``desired_total`` are updated by the samples placed. Within a label, items
    are taken largest first (by powers of two, so equal-sized items keep a seeded
    random order): small items then even out what the large ones leave.

    ``joint=False`` places an item where the label being processed is most desired
    (the paper's rule). ``joint=True``, for groups that hold several classes,
    places it where it keeps the subsets filling evenly in all its classes at once:
    with :math:`f_{k,s}` the rows of class :math:`k` placed in subset :math:`s` over
    its target, the subset that least increases :math:`\\sum_k \\mathrm{Var}_s f_{k,s}`
    (the criterion of scikit-learn's ``StratifiedGroupKFold``, for subsets of any
    size; the paper's label order is kept).

    With ``current`` (a subset per item, -1 for none), an item stays in its current
    subset while that subset still wants at least half of the item's samples of the
    label being placed: a re-split moves only what the mix needs.
    """
    n_items = indptr.size - 1
    n_subsets, n_labels = desired.shape
    assigned = np.full(n_items, -1, dtype=np.int64)
    if n_items == 0:
        return assigned
    bucket = np.floor(np.log2(np.maximum(sizes, 1))).astype(np.int64)
    order = np.lexsort((keys, -bucket))
    rank = np.empty(n_items, dtype=np.int64)
    rank[order] = np.arange(n_items)
    item_of = np.repeat(np.arange(n_items), np.diff(indptr))
    by_label = np.lexsort((rank[item_of], labels))
    label_items = item_of[by_label].tolist()
    label_counts = counts[by_label].tolist()
    label_ptr = np.concatenate([[0], np.cumsum(np.bincount(labels, minlength=n_labels))]).tolist()
    remaining = np.bincount(labels, minlength=n_labels).tolist()  # items left per label
    label_tiebreak = _keys(np.arange(n_labels), seed, _STREAM_LABEL).tolist()
    heap = [(remaining[k], label_tiebreak[k], k) for k in range(n_labels) if remaining[k]]
    heapq.heapify(heap)
    want = desired.T.tolist()  # want[label][subset]
    want_total = desired_total.tolist()
    rotation = (_keys(np.arange(n_items), seed, _STREAM_TIE) % np.uint64(n_subsets)).tolist()
    ptr = indptr.tolist()
    item_labels = labels.tolist()
    item_counts = counts.tolist()
    item_sizes = sizes.tolist()
    stay = current.tolist() if current is not None else None
    result = assigned.tolist()
    subsets = range(n_subsets)

    # Joint placement: how full each subset is of each label, as a fraction of its
    # target, and the mean over subsets (scikit-learn's StratifiedGroupKFold keeps the
    # spread of these fractions small; here weighted by the subsets' proportions).
    inverse_target = (1.0 / np.maximum(desired, 1e-12)).T.tolist()  # [label][subset]
    fill = [[0.0] * n_subsets for _ in range(n_labels)]
    fill_mean = [0.0] * n_labels
    shrink = 1.0 - 1.0 / n_subsets

    def gain(item: int, s: int) -> float:
        # Minus the growth of sum_k Var_s(fill[k][s]) if the item went to subset s.
        total = 0.0
        for j in range(ptr[item], ptr[item + 1]):
            k = item_labels[j]
            step = item_counts[j] * inverse_target[k][s]
            total -= step * (2.0 * (fill[k][s] - fill_mean[k]) + step * shrink)
        return total

    def choose(item: int, row: list[float] | None, amount: float) -> int:
        if stay is not None:
            home = stay[item]
            if home >= 0:
                if row is None:
                    if 2 * want_total[home] >= item_sizes[item]:
                        return home
                elif 2 * row[home] >= amount:
                    return home
        start = rotation[item]
        best = -1
        best_key = None
        for offset in subsets:
            s = (start + offset) % n_subsets
            if row is None:
                key = (want_total[s],)
            elif joint:
                key = (gain(item, s), want_total[s])
            else:
                key = (row[s], want_total[s])
            if best_key is None or key > best_key:
                best, best_key = s, key
        return best

    while heap:
        left, _, label = heapq.heappop(heap)
        if left != remaining[label] or left == 0:
            if remaining[label] and left != remaining[label]:
                heapq.heappush(heap, (remaining[label], label_tiebreak[label], label))
            continue
        row = want[label]
        for position in range(label_ptr[label], label_ptr[label + 1]):
            item = label_items[position]
            if result[item] >= 0:
                continue
            s = choose(item, row, label_counts[position])
            result[item] = s
            want_total[s] -= item_sizes[item]
            for j in range(ptr[item], ptr[item + 1]):
                k = item_labels[j]
                want[k][s] -= item_counts[j]
                remaining[k] -= 1
                if joint:
                    step = item_counts[j] * inverse_target[k][s]
                    fill[k][s] += step
                    fill_mean[k] += step / n_subsets
        remaining[label] = 0
    # Items with no label at all keep the subsets' sizes.
    for item in order.tolist():
        if result[item] < 0:
            s = choose(item, None, 0.0)
            result[item] = s
            want_total[s] -= item_sizes[item]
    return np.asarray(result, dtype=np.int64)


# --------------------------------------------------------------------------- apportioning


def _largest_remainder(total: int, weights: np.ndarray, tiebreak: np.ndarray) -> np.ndarray:
    """``total`` shared in proportion to ``weights`` (Hamilton's method)."""
    weights = np.asarray(weights, dtype=np.float64)
    if total <= 0 or weights.sum() <= 0:
        result = np.zeros(weights.size, dtype=np.int64)
        if total > 0:
            result[np.argsort(tiebreak)[: total % max(weights.size, 1)]] += 1
            result += total // max(weights.size, 1)
        return result
    exact = weights * (total / weights.sum())
    result = np.floor(exact).astype(np.int64)
    left = total - int(result.sum())
    if left > 0:
        result[np.lexsort((tiebreak, -(exact - result)))[:left]] += 1
    return result


def _round_bounded(
    target: np.ndarray,
    total: int,
    lower: np.ndarray,
    upper: np.ndarray,
    tiebreak: np.ndarray,
    scale: np.ndarray,
) -> np.ndarray:
    """Whole numbers between ``lower`` and ``upper`` that add up to ``total`` (clipped to
    what the bounds allow) and lie as close to ``target`` as a common shift allows:
    ``clip(target + t, lower, upper)`` for the shift ``t`` that meets the total,
    rounded so that the gaps weighted by ``scale`` (1 / the class's rows: gaps in
    share of the class) add up to the least: the cells whose rounding up saves the
    most, :math:`(2 f - 1) \\cdot scale`, get the extra rows."""
    lower = lower.astype(np.float64)
    upper = np.maximum(upper.astype(np.float64), lower)
    total = int(min(max(total, lower.sum()), upper.sum()))

    def filled(shift: float) -> np.ndarray:
        return np.clip(target + shift, lower, upper)

    shift = 0.0
    if abs(filled(0.0).sum() - total) > 1e-9:
        low = float((lower - target).min()) - 1.0
        high = float((upper - target).max()) + 1.0
        for _ in range(100):
            middle = (low + high) / 2
            if filled(middle).sum() < total:
                low = middle
            else:
                high = middle
        shift = high
    exact = filled(shift)
    result = np.clip(np.floor(exact + 1e-9), lower, upper).astype(np.int64)
    left = total - int(result.sum())
    if left > 0:
        room = np.flatnonzero(result < upper)
        saving = (2.0 * (exact[room] - result[room]) - 1.0) * scale[room]
        pick = room[np.lexsort((tiebreak[room], -saving))][:left]
        result[pick] += 1
    elif left < 0:
        room = np.flatnonzero(result > lower)
        saving = (1.0 - 2.0 * (exact[room] - result[room])) * scale[room]
        pick = room[np.lexsort((tiebreak[room], -saving))][:-left]
        result[pick] -= 1
    return result


def _apportion(
    available: np.ndarray,
    target: np.ndarray,
    totals: np.ndarray,
    minimum: np.ndarray,
    tiebreak: np.ndarray,
    scale: np.ndarray,
) -> np.ndarray:
    """Rows of each class (``available``, length K) per split (S x K): each split's
    row total as asked by ``totals``, each cell near ``target`` and at least
    ``minimum``, each class's rows all placed. Splits are filled one after the other,
    as scikit-learn's stratified ``train_test_split`` fills train then test; the last
    split takes what is left."""
    n_splits = target.shape[0]
    left = available.astype(np.int64).copy()
    result = np.zeros(target.shape, dtype=np.int64)
    for s in range(n_splits - 1):
        later = minimum[s + 1 :].sum(axis=0)
        upper = np.maximum(left - later, 0)
        lower = np.minimum(minimum[s], upper)
        result[s] = _round_bounded(target[s], int(totals[s]), lower, upper, tiebreak, scale)
        left -= result[s]
    result[-1] = left
    return result


# --------------------------------------------------------------------------- result


@dataclass(frozen=True, kw_only=True)
class Deviation:
    """How far one class's share of one split is from the share asked for.

    Attributes
    ----------
    label, split : str
    rows : int
        Rows of the class in the split.
    achieved : float
        ``rows`` / the class's rows.
    asked : float
        The split's proportion.
    """

    label: str
    split: str
    rows: int
    achieved: float
    asked: float

    @property
    def points(self) -> float:
        """achieved - asked, in percentage points."""
        return 100 * (self.achieved - self.asked)

    @property
    def sentence(self) -> str:
        return (
            f"class {self.label!r} in {self.split!r}: {self.achieved:.1%} of its rows "
            f"({self.rows:,}) vs {self.asked:.1%} asked ({self.points:+.1f} points)"
        )


@dataclass(frozen=True, eq=False, kw_only=True)
class SplitResult:
    """A split of a dataset's rows.

    Attributes
    ----------
    params : SplitParams
        As resolved (a re-split's names and proportions filled in): replaying these
        on the same input gives the same split.
    names : tuple of str
        The splits, in the order asked for.
    classes : tuple of str
        Class labels in sorted order.
    assignment : numpy.ndarray
        The split index (into ``names``) of every row.
    counts : numpy.ndarray
        Rows per split and class (splits x classes).
    unlabelled : numpy.ndarray
        Rows without a label per split (they are split too, never dropped).
    units : int
        Units that were kept whole (groups, distinct paths or rows).
    grouped_by : str
        ``group``, ``path`` or ``row``: what a unit is.
    previous : pyarrow.Array or None
        For a re-split, each row's split before.
    reunited_groups : int
        For a re-split, groups that had rows in several splits before.
    """

    params: SplitParams
    names: tuple[str, ...]
    classes: tuple[str, ...]
    assignment: np.ndarray = field(repr=False)
    counts: np.ndarray = field(repr=False)
    unlabelled: np.ndarray = field(repr=False)
    units: int
    grouped_by: str
    previous: pa.Array | None = field(default=None, repr=False)
    reunited_groups: int = 0

    @property
    def asked(self) -> np.ndarray:
        return np.array([share for _, share in self.params.proportions], dtype=np.float64)

    @cached_property
    def split_column(self) -> pa.Array:
        """The new split name of every row."""
        codes = pa.array(self.assignment.astype(np.int32))
        return pa.DictionaryArray.from_arrays(codes, pa.array(self.names)).cast(pa.string())

    @property
    def rows_per_split(self) -> dict[str, int]:
        totals = self.counts.sum(axis=1) + self.unlabelled
        return {name: int(n) for name, n in zip(self.names, totals, strict=True)}

    @property
    def achieved(self) -> np.ndarray:
        """Each class's share in each split (splits x classes): rows / the class's rows."""
        per_class = self.counts.sum(axis=0)
        return self.counts / np.maximum(per_class, 1)[None, :]

    def deviations(self) -> list[Deviation]:
        """Every (class, split) cell: achieved share against the asked proportion."""
        achieved = self.achieved
        return [
            Deviation(
                label=label,
                split=name,
                rows=int(self.counts[s, c]),
                achieved=float(achieved[s, c]),
                asked=float(self.asked[s]),
            )
            for c, label in enumerate(self.classes)
            for s, name in enumerate(self.names)
        ]

    @property
    def largest_deviation(self) -> Deviation | None:
        """The (class, split) whose share is furthest from the one asked for."""
        if not self.classes:
            return None
        gap = np.abs(self.achieved - self.asked[:, None])
        s, c = np.unravel_index(int(np.argmax(gap)), gap.shape)
        return Deviation(
            label=self.classes[c],
            split=self.names[s],
            rows=int(self.counts[s, c]),
            achieved=float(self.achieved[s, c]),
            asked=float(self.asked[s]),
        )

    @cached_property
    def moved_rows(self) -> np.ndarray:
        """Rows whose split changed (a re-split; every row for a fresh split of data
        that had no split before)."""
        if self.previous is None:
            return np.arange(self.assignment.size)
        same = pc.equal(self.previous, self.split_column).fill_null(False)
        return np.flatnonzero(~np.asarray(same, dtype=bool))

    def moves(self) -> dict[tuple[str | None, str], int]:
        """(split before, split after) -> rows moved; None before = no split."""
        if self.previous is None:
            return {}
        rows = pa.array(self.moved_rows)
        table = pa.table(
            {"before": pc.take(self.previous, rows), "after": pc.take(self.split_column, rows)}
        )
        grouped = table.group_by(["before", "after"], use_threads=False).aggregate(
            [([], "count_all")]
        )
        pairs = zip(
            grouped["before"].to_pylist(),
            grouped["after"].to_pylist(),
            grouped["count_all"].to_pylist(),
            strict=True,
        )
        return dict(sorted((((b, a), n) for b, a, n in pairs), key=lambda kv: -kv[1]))

    def summary(self) -> list[str]:
        """Plain sentences: rows per split, the largest deviation, what moved."""
        total = int(self.assignment.size)
        sizes = ", ".join(
            f"{name} {n:,} ({n / max(total, 1):.1%} vs {share:.1%} asked)"
            for (name, n), share in zip(self.rows_per_split.items(), self.asked, strict=True)
        )
        unit = {"group": "groups", "path": "distinct paths", "row": "rows"}[self.grouped_by]
        lines = [f"{total:,} rows in {self.units:,} {unit} kept whole: {sizes}."]
        worst = self.largest_deviation
        if worst is not None:
            lines.append(f"Largest deviation: {worst.sentence}.")
        if self.params.mode == "resplit":
            moved = self.moved_rows.size
            detail = "; ".join(
                f"{before if before is not None else '(none)'} -> {after}: {n:,}"
                for (before, after), n in self.moves().items()
            )
            lines.append(
                f"Moved {moved:,} of {total:,} rows ({moved / max(total, 1):.1%})"
                + (f": {detail}" if detail else "")
                + (
                    f"; {self.reunited_groups:,} group(s) that straddled splits are now whole"
                    if self.reunited_groups
                    else ""
                )
                + "."
            )
        return lines

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: parameters, rows per split, per-class shares, largest deviation."""
        worst = self.largest_deviation
        return {
            "params": self.params.to_dict(),
            "rows_per_split": self.rows_per_split,
            "units": self.units,
            "grouped_by": self.grouped_by,
            "counts": {
                name: {label: int(self.counts[s, c]) for c, label in enumerate(self.classes)}
                for s, name in enumerate(self.names)
            },
            "unlabelled": {n: int(v) for n, v in zip(self.names, self.unlabelled, strict=True)},
            "asked": [{"split": n, "share": v} for n, v in self.params.proportions],
            "achieved": {
                label: {name: float(self.achieved[s, c]) for s, name in enumerate(self.names)}
                for c, label in enumerate(self.classes)
            },
            "largest_deviation": None
            if worst is None
            else {
                "label": worst.label,
                "split": worst.split,
                "rows": worst.rows,
                "achieved": worst.achieved,
                "asked": worst.asked,
                "points": worst.points,
            },
            "moved_rows": int(self.moved_rows.size) if self.params.mode == "resplit" else None,
            "moves": [{"before": b, "after": a, "rows": n} for (b, a), n in self.moves().items()],
            "reunited_groups": self.reunited_groups,
        }


def with_split_column(
    dataset: Dataset, result: SplitResult, *, column: str | None = None
) -> pa.Table:
    """The dataset's rows as read (every column under its own name) with the new
    split: it replaces the split column, or is added as ``column`` (default
    ``"split"``) when the data had none."""
    if result.assignment.size != dataset.n_rows:
        raise DatasetError(
            "This split was made for another dataset (the row counts differ).",
            kind="bad_parameter",
        )
    raw = dataset.raw
    name = column or dataset.roles.split or "split"
    if name in raw.column_names:
        if name != dataset.roles.split and column is None:
            raise DatasetError(
                f"The data already has a column {name!r} that is not its split column; "
                "name the new column (--column NAME).",
                kind="bad_parameter",
            )
        return raw.set_column(raw.column_names.index(name), name, result.split_column)
    return raw.append_column(name, result.split_column)


# --------------------------------------------------------------------------- splitting


def _ordered_split_names(values: Iterable[str]) -> list[str]:
    """Existing split names in the usual order: training, validation, test, others."""

    def rank(name: str) -> tuple[int, str]:
        key = name.strip().lower()
        if key in TRAIN_NAMES:
            return (0, name)
        if key in VALIDATION_NAMES:
            return (1, name)
        if key in TEST_NAMES:
            return (2, name)
        return (3, name)

    return sorted(values, key=rank)


def _dense_codes(column: pa.ChunkedArray | pa.Array) -> tuple[np.ndarray, pa.Array]:
    """Codes into the sorted distinct values (-1 for null) and those values."""
    array = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    encoded = pc.dictionary_encode(array)
    dictionary = encoded.dictionary
    order = pc.sort_indices(dictionary)  # sorted values: codes independent of row order
    remap = np.empty(len(dictionary), dtype=np.int64)
    remap[np.asarray(order)] = np.arange(len(dictionary))
    indices = np.asarray(encoded.indices.fill_null(-1), dtype=np.int64)
    codes = np.where(indices >= 0, remap[np.maximum(indices, 0)], -1)
    return codes, pc.take(dictionary, order)


def split_dataset(dataset: Dataset, params: SplitParams) -> SplitResult:
    """Split ``dataset`` into the named parts, stratified by class and group-aware.

    Parameters
    ----------
    dataset : Dataset
    params : SplitParams
        Names and proportions, seed, groups, the minimum rows of each class in each
        split, and the mode (a fresh split, or a re-split of the current one).

    Returns
    -------
    SplitResult

    Notes
    -----
    Each split :math:`s` asks for :math:`T_s` rows (Hamilton's largest remainder of
    :math:`N r_s`) and each class :math:`c` for :math:`t_{s,c} = n_c T_s / N` of them.
    Groups (units of several rows) are placed by iterative stratification (Sechidis
    et al. 2011) weighted by their rows per class; the single rows of each class are
    then shared out so that every split's count comes as close to :math:`t_{s,c}` as
    the groups left room for, each split holding at least ``min_per_class`` rows of
    every class. Without groups every class's count in every split is within one or
    two rows of :math:`t_{s,c}`, as with scikit-learn's stratified
    ``train_test_split``.

    References
    ----------
    Sechidis, K., Tsoumakas, G., & Vlahavas, I. (2011). On the stratification of
    multi-label data. ECML PKDD 2011, LNCS 6913, 145-158.
    """
    n = dataset.n_rows
    previous = None
    current_codes = None
    if params.mode == "resplit":
        split_column = dataset.column("split")
        if split_column is None:
            raise DatasetError(
                "A re-split starts from the data's split column, and this data has none; "
                "make a fresh split instead (mode='split', or split without --resplit).",
                kind="bad_parameter",
            )
        previous = split_column.combine_chunks()
        present = [v for v in pc.unique(previous).to_pylist() if v is not None]
        if params.proportions is None:
            if len(present) < 2:
                raise DatasetError(
                    f"The data has {len(present)} split(s), so there is no mix to repair; "
                    "give the splits and their shares (--splits train=0.8,test=0.2).",
                    kind="bad_parameter",
                )
            names = _ordered_split_names(present)
            sizes = pc.value_counts(previous)
            size_of = dict(
                zip(
                    sizes.field("values").to_pylist(),
                    sizes.field("counts").to_pylist(),
                    strict=True,
                )
            )
            params = SplitParams(
                proportions=tuple((name, size_of[name] / sum(size_of[v] for v in names))
                                  for name in names),
                seed=params.seed,
                use_groups=params.use_groups,
                min_per_class=params.min_per_class,
                mode="resplit",
            )  # fmt: skip
        index = pc.index_in(previous, value_set=pa.array(params.names, type=pa.string()))
        current_codes = np.asarray(index.fill_null(-1), dtype=np.int64)
    if n == 0:
        raise DatasetError("The data has no rows to split.", kind="empty_file")
    names = params.names
    shares = np.array([share for _, share in params.proportions], dtype=np.float64)
    n_splits = len(names)
    seed = params.seed

    labels = dataset.labels
    label_codes, class_values = _dense_codes(labels)
    classes = tuple(class_values.to_pylist())
    n_classes = len(classes)
    code = np.where(label_codes >= 0, label_codes, n_classes)  # "no label" is a stratum too
    n_strata = n_classes + 1

    units, unit_keys, grouped_by = _units(dataset, params.use_groups, seed)
    n_units = int(units.max()) + 1 if n else 0
    unit_size = np.bincount(units, minlength=n_units)
    per_class = np.bincount(code, minlength=n_strata)
    split_totals = _largest_remainder(n, shares, _keys(np.arange(n_splits), seed, _STREAM_TIE))
    target = split_totals[:, None] * (per_class[None, :] / max(n, 1))  # t[s, c]
    minimum = np.zeros((n_splits, n_strata), dtype=np.int64)
    minimum[:, :n_classes] = params.min_per_class
    multi = unit_size > 1
    assignment = np.full(n, -1, dtype=np.int64)
    group_counts = np.zeros((n_splits, n_strata), dtype=np.int64)
    reunited = 0
    units_per_class = np.bincount(code[~multi[units]], minlength=n_strata)
    if multi.any():
        in_group = multi[units]
        group_rows = np.flatnonzero(in_group)
        group_index = np.cumsum(multi) - 1  # unit -> group number
        group_of_row = group_index[units[group_rows]]
        n_groups = int(multi.sum())
        indptr, cls, cnt = _unit_class_counts(group_of_row, code[group_rows], n_groups, n_strata)
        units_per_class += np.bincount(cls, minlength=n_strata)
    _check_feasible(classes, per_class, units_per_class, names, params)
    if multi.any():
        current = None
        if current_codes is not None:
            current, reunited = _current_of_groups(group_of_row, current_codes[group_rows],
                                                   n_groups, n_splits)  # fmt: skip
        group_split = _iterative_assign(
            indptr,
            cls,
            cnt.astype(np.float64),
            unit_size[multi].astype(np.float64),
            target.astype(np.float64).copy(),
            split_totals.astype(np.float64),
            unit_keys[multi],
            seed=seed,
            current=current,
            joint=True,
        )
        if current is None:  # a re-split moves as little as it can instead
            group_split = _polish(group_split, indptr, cls, cnt, target, per_class)
        group_split = _repair_minimum(
            group_split, indptr, cls, cnt, n_splits, n_strata, per_class, unit_size[multi],
            minimum, classes, names,
        )  # fmt: skip
        assignment[group_rows] = group_split[group_of_row]
        owner = np.repeat(np.arange(n_groups), np.diff(indptr))
        group_counts = (
            np.bincount(
                group_split[owner] * n_strata + cls, weights=cnt, minlength=n_splits * n_strata
            )
            .reshape(n_splits, n_strata)
            .astype(np.int64)
        )
    single_rows = np.flatnonzero(~multi[units]) if multi.any() else np.arange(n)
    if single_rows.size:
        assignment[single_rows] = _place_singles(
            code[single_rows],
            unit_keys[units[single_rows]],
            None if current_codes is None else current_codes[single_rows],
            target,
            split_totals,
            group_counts,
            minimum,
            n_strata,
            seed,
        )
    counts = np.bincount(assignment * n_strata + code, minlength=n_splits * n_strata).reshape(
        n_splits, n_strata
    )
    short = np.argwhere(counts[:, :n_classes] < params.min_per_class)
    if short.size:
        s, c = short[0]
        raise DatasetError(
            f"Could not give split {names[s]!r} at least {params.min_per_class} row(s) of "
            f"class {classes[c]!r} without breaking up a group; lower the minimum "
            "(min_per_class, --min-per-class) or split without groups.",
            kind="split_infeasible",
        )
    return SplitResult(
        params=params,
        names=names,
        classes=classes,
        assignment=assignment.astype(np.int16 if n_splits < 2**15 else np.int64),
        counts=counts[:, :n_classes],
        unlabelled=counts[:, n_classes],
        units=n_units,
        grouped_by=grouped_by,
        previous=previous,
        reunited_groups=reunited,
    )


def _units(dataset: Dataset, use_groups: bool, seed: int) -> tuple[np.ndarray, np.ndarray, str]:
    """The unit of every row (kept whole in one split) and each unit's seeded key.

    A unit is the row's group (if groups are used and the cell is not empty), else its
    path (rows with the same path stay together), else the row itself."""
    n = dataset.n_rows
    unit = np.full(n, -1, dtype=np.int64)
    keys_parts: list[np.ndarray] = []
    next_unit = 0
    grouped_by = "row"
    for role in ("group", "path"):
        if role == "group" and not use_groups:
            continue
        column = dataset.column(role)
        if column is None:
            continue
        todo = np.flatnonzero(unit < 0)
        if todo.size == 0:
            break
        values = column.combine_chunks()
        if todo.size < n:
            values = values.take(pa.array(todo))
        codes, distinct = _dense_codes(values)
        has = codes >= 0
        if not has.any():
            continue
        if grouped_by == "row":
            grouped_by = role
        unit[todo[has]] = next_unit + codes[has]
        keys_parts.append(_keys(_text_hashes(distinct), seed, _STREAM_UNIT))
        next_unit += len(distinct)
    rest = np.flatnonzero(unit < 0)
    unit[rest] = next_unit + np.arange(rest.size)
    keys_parts.append(_keys(rest, seed, _STREAM_ROW))
    return unit, np.concatenate(keys_parts) if keys_parts else np.zeros(0, np.uint64), grouped_by


def _unit_class_counts(
    unit: np.ndarray, code: np.ndarray, n_units: int, n_strata: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """CSR of rows per (unit, class): indptr, class codes, counts."""
    if n_units * n_strata <= max(4 * unit.size, 1 << 20):
        dense = np.bincount(unit * n_strata + code, minlength=n_units * n_strata)
        flat = np.flatnonzero(dense)
        cnt = dense[flat]
    else:
        flat, cnt = np.unique(unit * n_strata + code, return_counts=True)
    owner, cls = np.divmod(flat, n_strata)
    indptr = np.concatenate([[0], np.cumsum(np.bincount(owner, minlength=n_units))])
    return indptr.astype(np.int64), cls.astype(np.int64), cnt.astype(np.int64)


def _current_of_groups(
    group_of_row: np.ndarray, current: np.ndarray, n_groups: int, n_splits: int
) -> tuple[np.ndarray, int]:
    """Each group's current split (the one holding most of its rows; -1 if none of its
    rows is in a wanted split) and how many groups straddle several splits."""
    placed = current >= 0
    table = np.zeros((n_groups, n_splits), dtype=np.int64)
    np.add.at(table, (group_of_row[placed], current[placed]), 1)
    home = np.where(table.max(axis=1) > 0, table.argmax(axis=1), -1)
    straddling = int(np.count_nonzero((table > 0).sum(axis=1) > 1))
    return home, straddling


def _check_feasible(
    classes: tuple[str, ...],
    per_class: np.ndarray,
    units_per_class: np.ndarray,
    names: tuple[str, ...],
    params: SplitParams,
) -> None:
    """Refuse, with the reason, a minimum per class and split the data cannot give."""
    need = params.min_per_class
    if need == 0 or not classes:
        return
    n_splits = len(names)
    n_classes = len(classes)
    short = np.flatnonzero(per_class[:n_classes] < need * n_splits)
    if short.size:
        c = int(short[np.argmin(per_class[short])])
        more = f" (and {short.size - 1:,} more)" if short.size > 1 else ""
        raise DatasetError(
            f"Class {classes[c]!r}{more} has {per_class[c]:,} row(s), too few for at least "
            f"{need} in each of the {n_splits} splits ({', '.join(names)}); lower the minimum "
            "(min_per_class; --min-per-class 0 lets a class miss a split), merge or drop the "
            "class, or ask for fewer splits.",
            kind="split_infeasible",
        )
    # A class whose rows sit in fewer units than there are splits cannot reach them all.
    thin = np.flatnonzero(units_per_class[:n_classes] < n_splits)
    if thin.size:
        c = int(thin[0])
        raise DatasetError(
            f"Class {classes[c]!r} occurs in only {units_per_class[c]:,} group(s), and a group "
            f"is never divided, so it cannot reach each of the {n_splits} splits "
            f"({', '.join(names)}); lower the minimum (--min-per-class 0), split without "
            "groups (--no-groups), or collect more groups of that class.",
            kind="split_infeasible",
        )


def _polish(
    split: np.ndarray,
    indptr: np.ndarray,
    cls: np.ndarray,
    cnt: np.ndarray,
    target: np.ndarray,
    per_class: np.ndarray,
    *,
    max_moves: int = POLISH_MOVES,
) -> np.ndarray:
    """Local search after the greedy placement: move one group at a time to the split
    where it most reduces :math:`\\sum_{s,k} ((m_{s,k} - t_{s,k}) / n_k)^2`, the
    squared gaps between each class's share of each split and the share asked, until
    no move helps (or ``max_moves``)."""
    n_groups = indptr.size - 1
    n_splits, n_strata = target.shape
    if n_groups < 2 or n_groups * n_strata > POLISH_MAX_CELLS:
        return split
    owner = np.repeat(np.arange(n_groups), np.diff(indptr))
    scale = 1.0 / np.maximum(per_class, 1)
    share = np.zeros((n_groups, n_strata))
    share[owner, cls] = cnt * scale[cls]
    squares = 2.0 * np.einsum("gk,gk->g", share, share)
    counts = np.bincount(
        split[owner] * n_strata + cls, weights=cnt, minlength=n_splits * n_strata
    ).reshape(n_splits, n_strata)
    gap = (counts - target) * scale[None, :]
    split = split.copy()
    everyone = np.arange(n_groups)
    for _ in range(max_moves):
        toward = share @ gap.T  # (groups, splits): sum_k share[g, k] * gap[s, k]
        delta = 2.0 * (toward - toward[everyone, split][:, None]) + squares[:, None]
        delta[everyone, split] = np.inf
        g, b = np.unravel_index(int(np.argmin(delta)), delta.shape)
        if not delta[g, b] < -1e-12:
            break
        a = split[g]
        gap[a] -= share[g]
        gap[b] += share[g]
        split[g] = b
    return split


def _repair_minimum(
    group_split: np.ndarray,
    indptr: np.ndarray,
    cls: np.ndarray,
    cnt: np.ndarray,
    n_splits: int,
    n_strata: int,
    per_class: np.ndarray,
    sizes: np.ndarray,
    minimum: np.ndarray,
    classes: tuple[str, ...],
    names: tuple[str, ...],
) -> np.ndarray:
    """Move whole groups so that every split can still reach ``minimum`` rows of every
    class once the single rows are added: a split short of a class takes the smallest
    group holding it from a split that can spare that group."""
    n_groups = indptr.size - 1
    owner = np.repeat(np.arange(n_groups), np.diff(indptr))
    counts = np.zeros((n_splits, n_strata), dtype=np.int64)
    np.add.at(counts, (group_split[owner], cls), cnt)
    grouped = np.zeros(n_strata, dtype=np.int64)
    np.add.at(grouped, cls, cnt)
    singles = per_class - grouped

    def shortfall(table: np.ndarray) -> np.ndarray:
        return np.maximum(minimum - table, 0)

    split = group_split.copy()
    for _ in range(n_groups + 1):
        short = shortfall(counts)
        # Single rows cover a class's shortfall as far as they go.
        uncovered = short.sum(axis=0) > singles
        if not uncovered.any():
            return split
        c = int(np.flatnonzero(uncovered)[0])
        s = int(np.flatnonzero(short[:, c])[0])
        holders = owner[cls == c]
        best = None
        for g in holders[np.argsort(sizes[holders], kind="stable")]:
            donor = int(split[g])
            if donor == s:
                continue
            labels_of = cls[indptr[g] : indptr[g + 1]]
            amounts = cnt[indptr[g] : indptr[g + 1]]
            after = counts.copy()
            after[donor, labels_of] -= amounts
            after[s, labels_of] += amounts
            before_gap = np.maximum(shortfall(counts).sum(axis=0) - singles, 0)
            after_gap = np.maximum(shortfall(after).sum(axis=0) - singles, 0)
            # Better for this class, and no class the group holds worse off.
            if (
                after_gap[c] < before_gap[c]
                and (after_gap[labels_of] <= before_gap[labels_of]).all()
            ):
                best = (g, after)
                break
        if best is None:
            raise DatasetError(
                f"Could not give split {names[s]!r} at least {minimum[s, c]} row(s) of class "
                f"{classes[c]!r}: every group holding it is needed where it is; lower the "
                "minimum (--min-per-class), split without groups (--no-groups), or collect "
                "more groups of that class.",
                kind="split_infeasible",
            )
        g, counts = best
        split[g] = s
    return split


def _place_singles(
    code: np.ndarray,
    keys: np.ndarray,
    current: np.ndarray | None,
    target: np.ndarray,
    split_totals: np.ndarray,
    group_counts: np.ndarray,
    minimum: np.ndarray,
    n_strata: int,
    seed: int,
) -> np.ndarray:
    """The split of each single-row unit: per class, what the groups left of each
    split's target, shared exactly; in a re-split, rows stay where they are as far as
    their split's share allows, and the others move in seeded order."""
    n_splits = target.shape[0]
    available = np.bincount(code, minlength=n_strata)
    remaining_total = split_totals - group_counts.sum(axis=1)
    totals = _largest_remainder(
        int(code.size),
        np.maximum(remaining_total, 0).astype(np.float64),
        _keys(np.arange(n_splits), seed, _STREAM_TIE),
    )
    wanted = np.maximum(minimum - group_counts, 0)
    tiebreak = _keys(np.arange(n_strata), seed, _STREAM_LABEL)
    scale = 1.0 / np.maximum(target.sum(axis=0), 1.0)  # rows of each class
    quota = _apportion(available, target - group_counts, totals, wanted, tiebreak, scale)
    result = np.empty(code.size, dtype=np.int64)
    if current is None:
        pool = np.arange(code.size)
        need = quota
    else:
        # Keep min(now, quota) rows of each (split, class) where they are: the ones
        # with the largest keys stay, the rest join the pool.
        here = current >= 0
        stay_cells = np.zeros((n_splits, n_strata), dtype=np.int64)
        np.add.at(stay_cells, (current[here], code[here]), 1)
        keep = np.minimum(stay_cells, quota)
        placed = np.flatnonzero(here)
        order = placed[np.lexsort((~keys[placed], code[placed], current[placed]))]
        cell = current[order] * n_strata + code[order]
        starts = np.flatnonzero(np.r_[True, cell[1:] != cell[:-1]])
        rank = np.arange(order.size) - np.repeat(starts, np.diff(np.r_[starts, order.size]))
        stays = rank < keep.ravel()[cell]
        result[order[stays]] = current[order[stays]]
        pool = np.sort(np.concatenate([order[~stays], np.flatnonzero(~here)]))
        need = quota - keep
    if pool.size:
        order = pool[np.lexsort((keys[pool], code[pool]))]
        classes_sorted = code[order]
        starts = np.searchsorted(classes_sorted, np.arange(n_strata))
        rank = np.arange(order.size) - starts[classes_sorted]
        bounds = np.cumsum(need, axis=0)  # (splits, strata)
        chosen = np.zeros(order.size, dtype=np.int64)
        for s in range(n_splits - 1):
            chosen += rank >= bounds[s, classes_sorted]
        result[order] = chosen
    return result


def split_record(dataset: Dataset, result: SplitResult, *, column: str | None = None) -> bytes:
    """The split written down: parameters, the input's fingerprint and how it was read,
    so ``split --from RECORD`` replays it (UTF-8 JSON, sorted keys)."""
    payload = {
        "format": SPLIT_RECORD_FORMAT,
        "seesaw_version": __version__,
        "split": result.params.to_dict(),
        "column": column or dataset.roles.split or "split",
        "reader": dataset.roles.as_dict()
        | ({"sheet": dataset.source.sheet} if dataset.source.sheet else {}),
        "input": {
            "name": dataset.source.name,
            "format": dataset.source.format,
            "size_bytes": dataset.source.size_bytes,
            "sha256": dataset.source.sha256,
        },
    }
    return (json.dumps(payload, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()


def moved_table(dataset: Dataset, result: SplitResult) -> pa.Table:
    """The rows whose split changed: row number, path, label, group, before, after."""
    rows = pa.array(result.moved_rows)
    columns: dict[str, Any] = {"row": rows}
    for role in ("path", "label", "group"):
        column = dataset.column(role)
        if column is not None:
            columns[role] = pc.take(column, rows)
    before = (
        pc.take(result.previous, rows)
        if result.previous is not None
        else pa.nulls(len(rows), pa.string())
    )
    columns["before"] = before
    columns["after"] = pc.take(result.split_column, rows)
    return pa.table(columns)
