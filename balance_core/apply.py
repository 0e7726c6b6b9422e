"""Apply a plan: choose the rows (seeded, exact, split- and group-aware), or weight them.

Randomness comes from a counter-based hash (SplitMix64 of the row number and the
seed) computed with numpy's wrapping uint64 arithmetic, not from a random number
generator's stream: the same input, plan and seed pick the same rows on every
machine and every numpy version, and a row's fate does not depend on which other
rows are in the data.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import NamedTuple

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .classes import dataset_class_order
from .dataset import Dataset
from .errors import DatasetError
from .plan import ClassWeights, SamplingPlan
from .rowkey import KEY_VERSION, row_keys
from .stats import Distribution

__all__ = [
    "LabelMapping",
    "Resampled",
    "counts_for",
    "default_split",
    "map_counts",
    "map_labels",
    "mapping_from_table",
    "resample",
    "sample_weights",
]

LabelMapping = Mapping[str, str | None]
TRAIN_NAMES = ("train", "training", "trn")
# A tuple, not a pa.array: building an array at import makes pyarrow import pandas.
DROP_REASONS = ("undersampled", "no label", "class dropped by the label mapping")
# Copies per row are int32, and a manifest of more rows could not be built anyway.
MAX_OUTPUT_ROWS = 2**31 - 1
_MASK = (1 << 64) - 1
_GOLDEN = 0x9E3779B97F4A7C15


def _splitmix(values: np.ndarray, seed: int, stream: int) -> np.ndarray:
    """SplitMix64 finaliser of ``values + offset(seed, stream)``: a well-mixed 64-bit
    key per value, identical on every platform."""
    offset = (seed * _GOLDEN + (stream + 1) * 0xD1B54A32D192ED03) & _MASK
    x = values.astype(np.uint64)  # a copy: updated in place below
    x *= np.uint64(_GOLDEN)
    x += np.uint64(offset)
    t = np.empty_like(x)
    for shift, factor in ((30, 0xBF58476D1CE4E5B9), (27, 0x94D049BB133111EB), (31, None)):
        np.right_shift(x, np.uint64(shift), out=t)
        x ^= t
        if factor is not None:
            x *= np.uint64(factor)
    return x


# --------------------------------------------------------------------------- labels


def map_counts(counts: Mapping[str, int], mapping: LabelMapping | None) -> dict[str, int]:
    """Class counts after a label mapping (merge, rename, drop), in sorted label order.

    ``mapping`` sends an old label to a new one, or to None to drop the class; labels
    it does not name are kept.
    """
    if not mapping:
        return {k: counts[k] for k in sorted(counts)}
    result: dict[str, int] = {}
    for label, n in counts.items():
        new = mapping.get(label, label)
        if new is not None:
            result[new] = result.get(new, 0) + n
    return {k: result[k] for k in sorted(result)}


def mapping_from_table(rows: list[dict]) -> dict[str, str | None]:
    """A label mapping from edited rows ``{"class", "new name", "drop"}``: dropped
    classes map to None, renamed ones to their new (stripped) name, the rest are left
    out. An empty new name keeps the class as it is."""
    mapping: dict[str, str | None] = {}
    for row in rows:
        label = row["class"]
        new = (row.get("new name") or "").strip()
        if row.get("drop"):
            mapping[label] = None
        elif new and new != label:
            mapping[label] = new
    return mapping


def _check_mapping(mapping: LabelMapping) -> None:
    for old, new in mapping.items():
        if not isinstance(old, str) or not (new is None or isinstance(new, str)):
            raise DatasetError(
                "A label mapping sends label text to label text (or None to drop the class); "
                f"got {old!r} -> {new!r}.",
                kind="bad_parameter",
            )
        if new == "":
            raise DatasetError(
                f"Class {old!r} would be renamed to an empty label; give it a name or map it "
                "to None to drop it.",
                kind="bad_parameter",
            )


def map_labels(
    labels: pa.ChunkedArray | pa.Array, mapping: LabelMapping | None
) -> pa.ChunkedArray | pa.Array:
    """Apply a label mapping to a label column; dropped classes become null.

    Without a mapping the column comes back as it is (no copy)."""
    if not mapping:
        return labels
    _check_mapping(mapping)
    column = labels.combine_chunks() if isinstance(labels, pa.ChunkedArray) else labels
    encoded = pc.dictionary_encode(column)
    dictionary = encoded.dictionary.to_pylist()
    new_dictionary = pa.array([mapping.get(v, v) for v in dictionary], type=pa.string())
    return pc.take(new_dictionary, encoded.indices)


# --------------------------------------------------------------------------- splits


def default_split(dataset: Dataset) -> str | None:
    """The split that balancing changes by default: the training split.

    None when the data has no split column. Raises when it has splits but none is
    called train/training, since guessing would resample an evaluation split.
    """
    split = dataset.column("split")
    if split is None:
        return None
    values = [v for v in pc.unique(split).to_pylist() if v is not None]
    for value in sorted(values):
        if value.strip().lower() in TRAIN_NAMES:
            return value
    raise DatasetError(
        f"None of the splits ({', '.join(map(repr, sorted(values)))}) is called 'train'; "
        "choose the split to balance (split=... or --split).",
        kind="bad_parameter",
    )


def counts_for(
    dataset: Dataset, *, split: str | None = None, mapping: LabelMapping | None = None
) -> dict[str, int]:
    """Class counts of the rows a plan would change: one split (or all rows), after
    the label mapping. Feed this to the ``plan_*`` functions."""
    labels = map_labels(dataset.labels, mapping)
    if split is not None:
        split_column = dataset.column("split")
        if split_column is None:
            raise DatasetError(
                f"The data has no split column, so it has no split {split!r}; leave the "
                "split unset to balance all rows.",
                kind="bad_parameter",
            )
        mask = pc.equal(split_column.combine_chunks(), split).fill_null(False)
        if not pc.any(mask).as_py():
            names = sorted(v for v in pc.unique(split_column).to_pylist() if v is not None)
            raise DatasetError(
                f"The data has no split {split!r}; its splits are {', '.join(map(repr, names))}.",
                kind="bad_parameter",
            )
        labels = labels.filter(mask)
    counted = pc.value_counts(labels)
    pairs = {
        v: n
        for v, n in zip(
            counted.field("values").to_pylist(), counted.field("counts").to_pylist(), strict=True
        )
        if v is not None
    }
    return {k: pairs[k] for k in sorted(pairs)}


# --------------------------------------------------------------------------- result


class _Selection(NamedTuple):
    """The input of a resampling run and the copies chosen per row."""

    dataset: Dataset
    labels: pa.Array  # after the label mapping
    code: np.ndarray  # class index per row, -1 without a class
    copies: np.ndarray  # output copies per row, 0 = dropped
    mapping: LabelMapping | None


@dataclass(frozen=True, eq=False, kw_only=True)
class Resampled:
    """Rows chosen by a plan.

    Attributes
    ----------
    manifest : pyarrow.Table
        One row per output sample: ``row`` (the 0-based row number in the input),
        every column of the input under its own name, with its values and type as
        written (the label column holds the new labels when a label mapping changed
        them), ``class_index`` (the class order training code uses, see
        :func:`balance_core.classes.class_order`), ``original_label`` (the label as
        written, only with a label mapping) and ``copy`` (0 for the original row,
        1, 2, ... for oversampled duplicates). Ordered by ``row`` then ``copy``. An
        added column whose name the input already uses is prefixed ``seesaw_``.
    plan : SamplingPlan
    seed : int
    split : str or None
        The split that was resampled; rows of other splits passed through untouched.
    passthrough_rows : int
        Rows of other splits copied unchanged.
    """

    manifest: pa.Table
    plan: SamplingPlan
    seed: int
    split: str | None
    passthrough_rows: int
    classes: tuple[str, ...]
    # What the dropped table is built from, only when it is asked for.
    selection: _Selection = field(repr=False)

    @cached_property
    def base(self) -> pa.Table:
        chosen = self.selection
        return _output_columns(
            chosen.dataset, chosen.labels, chosen.code, chosen.mapping, classes=self.classes
        )

    @cached_property
    def dropped_rows(self) -> np.ndarray:
        return np.flatnonzero(self.selection.copies == 0)

    @cached_property
    def drop_reasons(self) -> np.ndarray:
        # 0 undersampled, 1 no label, 2 class dropped by the mapping (DROP_REASONS).
        chosen, dropped_rows = self.selection, self.dropped_rows
        unlabelled = np.asarray(pc.is_null(chosen.dataset.labels), dtype=bool)
        return np.where(
            chosen.code[dropped_rows] >= 0, 0, np.where(unlabelled[dropped_rows], 1, 2)
        ).astype(np.int8)

    @cached_property
    def dropped_by_reason(self) -> dict[str, int]:
        """Rows of the dropped table per reason (``"undersampled"``, ``"no label"``,
        ``"class dropped by the label mapping"``), reasons with no row left out. The
        plan counts only labelled rows; this counts every row the manifest leaves out."""
        counts = np.bincount(self.drop_reasons, minlength=len(DROP_REASONS))
        return {reason: int(n) for reason, n in zip(DROP_REASONS, counts, strict=True) if n}

    @cached_property
    def dropped(self) -> pa.Table:
        """The input rows left out, with a ``reason`` column (built on first use: on
        millions of rows most callers never ask for it)."""
        # A dictionary column: millions of reasons cost one byte each until cast.
        reasons = pa.DictionaryArray.from_arrays(
            pa.array(self.drop_reasons), pa.array(DROP_REASONS, type=pa.string())
        )
        name = manifest_names(self.selection.dataset.raw.column_names)["reason"]
        return self.base.take(pa.array(self.dropped_rows)).append_column(
            name, reasons.cast(pa.string())
        )

    def counts(self) -> dict[str, int]:
        """Class counts of the resampled split in the manifest (equals ``plan.after``)."""
        roles = self.selection.dataset.roles
        labels = self.manifest[roles.label].cast(pa.string())  # the user's type, as text
        if self.split is not None:
            split = self.manifest[roles.split].cast(pa.string())
            labels = labels.filter(pc.equal(split, self.split).fill_null(False))
        counted = pc.value_counts(labels)
        pairs = dict(
            zip(
                counted.field("values").to_pylist(),
                counted.field("counts").to_pylist(),
                strict=True,
            )
        )
        return {k: pairs.get(k, 0) for k in self.plan.before}


def resample(
    dataset: Dataset,
    plan: SamplingPlan,
    *,
    seed: int = 0,
    split: str | None = None,
    use_groups: bool = True,
    stratify: str | None = None,
    mapping: LabelMapping | None = None,
    key_version: int = 1,
    key_col: str | None = None,
) -> Resampled:
    """Choose the rows that realise ``plan``: exactly ``plan.after[c]`` rows of every
    class ``c`` in the chosen split, the other splits untouched.

    Parameters
    ----------
    dataset : Dataset
    plan : SamplingPlan
        Made from ``counts_for(dataset, split=split, mapping=mapping)``.
    seed : int, default 0
        Same input, plan and seed give the same rows, byte for byte.
    split : str, optional
        The split to resample (see :func:`default_split`); None resamples all rows.
    use_groups : bool, default True
        With a group column (patient, subject, ...), undersampling spreads each
        class's quota over its groups as evenly as possible (water-filling: every
        group keeps ``min(size, t)`` rows for a common level ``t``, the remainder
        going one row each to seeded-randomly chosen groups), and oversampling raises
        the smallest groups first.
    stratify : str, optional
        A column (e.g. attack type) whose mix is kept inside each class: the class's
        quota is shared among its strata in proportion to their sizes (largest
        remainder) before the groups are considered.
    mapping : LabelMapping, optional
        Merge, rename or drop classes first (see :func:`map_counts`).
    key_version : {1, 2}, default 1
        How a row's random key is made. 2: XXH64 of the row's identity (``key_col``,
        else the path column, else the row number) and the seed, the key every engine
        shares (:mod:`balance_core.rowkey`), so Spark picks the same rows. 1: SplitMix64
        of the row number, what recipes without a ``key_version`` were made with.
    key_col : str, optional
        The column that identifies a row (``key_version=2``); default the path column.

    Returns
    -------
    Resampled
    """
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise DatasetError(
            f"The seed must be a whole number >= 0, got {seed!r}.", kind="bad_parameter"
        )
    if sum(plan.after.values()) > MAX_OUTPUT_ROWS:
        raise DatasetError(
            f"The plan asks for {sum(plan.after.values()):,} rows, more than the "
            f"{MAX_OUTPUT_ROWS:,} one manifest can hold; ask for a smaller target.",
            kind="bad_parameter",
        )
    n = dataset.n_rows
    row_key = _row_keys(dataset, seed, key_version, key_col)
    labels = map_labels(dataset.labels, mapping)
    classes = tuple(plan.before)
    code = _codes(labels, classes)  # -1 for missing or dropped labels
    in_scope = np.ones(n, dtype=bool)
    if split is not None:
        split_column = dataset.column("split")
        if split_column is None:
            raise DatasetError(
                f"The data has no split column, so it has no split {split!r}; leave the "
                "split unset to balance all rows.",
                kind="bad_parameter",
            )
        in_scope = np.asarray(
            pc.equal(split_column.combine_chunks(), split).fill_null(False), dtype=bool
        )
    active = in_scope & (code >= 0)
    # The plan must describe exactly these rows: same classes, same counts.
    found = np.bincount(code[active], minlength=len(classes))
    unplanned = int(np.count_nonzero(in_scope & (code < 0) & pc.is_valid(labels).to_numpy(False)))
    if unplanned or found.tolist() != list(plan.before.values()):
        raise DatasetError(
            "The plan was made for other class counts than this data has"
            + (f" in split {split!r}" if split is not None else "")
            + "; make the plan from counts_for(dataset, split=..., mapping=...).",
            kind="bad_parameter",
        )
    strata = None
    n_strata = 1
    if stratify is not None:
        if stratify not in dataset.raw.column_names:
            raise DatasetError(
                f"There is no column {stratify!r} to stratify by; the columns are "
                f"{', '.join(map(repr, dataset.raw.column_names))}.",
                kind="unknown_column",
            )
        strata = _group_codes(dataset.raw.column(stratify))
        n_strata = int(strata.max()) + 1 if strata.size else 1
    group_column = dataset.column("group") if use_groups else None
    groups = _group_codes(group_column) if group_column is not None else None
    # Few classes: one pass over the codes per class. Many: one stable sort by class
    # puts each class's rows together, in row order.
    few = len(classes) <= 32
    if not few:
        sort_type = np.int16 if len(classes) < 2**15 else np.int64  # int16 sorts by radix
        order = np.argsort(np.where(active, code, len(classes)).astype(sort_type), kind="stable")
        bounds = np.concatenate([[0], np.cumsum(found)])
    copies = np.zeros(n, dtype=np.int32)  # output copies per row: 0 = dropped, 1 = kept once
    for class_index, label in enumerate(classes):
        if few:  # one pass per class beats sorting every row
            members = np.flatnonzero(
                code == class_index if split is None else (code == class_index) & in_scope
            )
        else:
            members = order[bounds[class_index] : bounds[class_index + 1]]
        quota = plan.after[label]
        if groups is None and strata is None and quota <= members.size:
            # Plain undersampling: mark the quota smallest keys (as _allocate would).
            keys = _splitmix(members, seed, class_index) if row_key is None else row_key[members]
            copies[members[_smallest(keys, quota)]] = 1
            continue
        member_groups = groups[members] if groups is not None else None
        if strata is None:
            copies[members] = _allocate(
                members, member_groups, quota, seed, stream=class_index, row_key=row_key
            )
            continue
        copies[members] = _allocate_strata(
            members, strata[members], member_groups, quota, seed, class_index, n_strata, row_key
        )
    copies[~in_scope] = 1  # other splits pass through untouched
    return _build(dataset, labels, code, classes, copies, in_scope, plan, seed, split, mapping)


def _row_keys(
    dataset: Dataset, seed: int, key_version: int, key_col: str | None
) -> np.ndarray | None:
    """Every row's XXH64 key (key version 2), or None for the SplitMix64 keys of
    version 1, which :func:`_splitmix` makes per class."""
    if key_version == 1 and key_col is None:
        return None
    if key_version != KEY_VERSION:
        raise DatasetError(
            f"Unknown key version {key_version!r}; this Seesaw makes keys of version 1 or "
            f"{KEY_VERSION}.",
            kind="bad_parameter",
        )
    if key_col is not None and key_col not in dataset.raw.column_names:
        raise DatasetError(
            f"There is no key column {key_col!r}; the columns are "
            f"{', '.join(map(repr, dataset.raw.column_names))}.",
            kind="unknown_column",
        )
    identity = dataset.raw.column(key_col) if key_col is not None else dataset.column("path")
    if identity is None:
        return row_keys(seed=seed, n_rows=dataset.n_rows)
    return row_keys(seed=seed, identity=identity)


def _codes(labels: pa.Array, classes: tuple[str, ...]) -> np.ndarray:
    """Class index per row in sorted label order, -1 where the label is missing."""
    index = pc.index_in(labels, value_set=pa.array(classes, type=pa.string()))
    return np.asarray(index.fill_null(-1), dtype=np.int32)


def _group_codes(column: pa.ChunkedArray) -> np.ndarray:
    """Dense codes in sorted value order (nulls form one group of their own, last)."""
    array = column.combine_chunks()
    if not (pa.types.is_string(array.type) or pa.types.is_large_string(array.type)):
        array = array.cast(pa.string())
    if len(array) == 0:
        return np.zeros(0, dtype=np.int64)
    # One hash pass, then a sort of the distinct values only (not an index_in lookup
    # of every row in a value set): linear in rows for any number of values.
    encoded = pc.dictionary_encode(array, null_encoding="mask")
    dictionary = encoded.dictionary
    rank = np.empty(len(dictionary), dtype=np.int64)
    rank[pc.sort_indices(dictionary).to_numpy()] = np.arange(len(dictionary))
    indices = encoded.indices.fill_null(len(dictionary)).to_numpy(zero_copy_only=False)
    return np.append(rank, len(dictionary))[indices]


def _largest_remainder(sizes: np.ndarray, quota: int, seed: int, stream: int) -> np.ndarray:
    """Share ``quota`` among cells in proportion to ``sizes`` (Hamilton's method),
    never above a cell's size; ties broken by a seeded order."""
    total = int(sizes.sum())
    if total == 0:
        return np.zeros_like(sizes)
    exact = sizes * (quota / total)
    base = np.floor(exact).astype(np.int64)
    remainder = quota - int(base.sum())
    if remainder > 0:
        fraction = exact - base
        tiebreak = _splitmix(np.arange(sizes.size), seed, stream + 7)
        eligible = np.flatnonzero(sizes > 0)
        order = eligible[np.lexsort((tiebreak[eligible], -fraction[eligible]))]
        base[order[:remainder]] += 1
    return base


def _allocate(
    members: np.ndarray,
    groups: np.ndarray | None,
    quota: int,
    seed: int,
    stream: int,
    row_key: np.ndarray | None = None,
) -> np.ndarray:
    """Copies of each member row (0, 1, 2, ...) so that they sum to ``quota``."""
    size = members.size
    if size == 0:
        return np.zeros(0, dtype=np.int64)
    keys = _splitmix(members, seed, stream) if row_key is None else row_key[members]
    if groups is None or groups.min() == groups.max():
        # One group: no ranking inside groups is needed, only the k smallest keys.
        full, extra = divmod(quota, size)
        copies = np.full(size, full, dtype=np.int32)
        copies[_smallest(keys, extra)] += 1
        return copies
    group_ids, group_of = np.unique(groups, return_inverse=True)
    sizes = np.bincount(group_of, minlength=group_ids.size)
    group_keys = _splitmix(group_ids, seed, stream + 13)
    if quota <= size:
        per_group = _water_fill(sizes, quota, group_keys, up=False)
        return (_rank_in_group(group_of, keys) < per_group[group_of]).astype(np.int64)
    per_group = _water_fill(sizes, quota, group_keys, up=True)
    # Each row of a group gets per_group // size copies, and the first
    # per_group % size rows (by key) one more.
    full, extra = np.divmod(per_group, sizes)
    return full[group_of] + (_rank_in_group(group_of, keys) < extra[group_of])


def _allocate_strata(
    members: np.ndarray,
    cell_of: np.ndarray,
    groups: np.ndarray | None,
    quota: int,
    seed: int,
    class_index: int,
    n_strata: int,
    row_key: np.ndarray | None = None,
) -> np.ndarray:
    """Copies of each member row with the class's quota shared among its strata.

    The same copies as :func:`_allocate` called once per stratum (stream
    ``(class_index + 1) * 1_000_003 + stratum``), in O(rows log rows) for any number
    of strata: strata with at most one group are done in a few array passes, and
    only strata that hold several groups are water-filled one by one, each on its
    own slice of the rows sorted by stratum.
    """
    sizes = np.bincount(cell_of, minlength=n_strata)
    shares = _largest_remainder(sizes, quota, seed, stream=class_index)
    # Per-row streams: _splitmix's offset, computed for every row's own stratum.
    streams = (class_index + 1) * 1_000_003 + cell_of.astype(np.uint64)
    keys = _splitmix_streams(members, seed, streams) if row_key is None else row_key[members]
    full, extra = np.divmod(shares, np.maximum(sizes, 1))
    copies = full[cell_of] + (_rank_in_group(cell_of, keys) < extra[cell_of])
    copies = copies.astype(np.int64)
    if groups is None or members.size == 0:
        return copies
    order = np.argsort(cell_of, kind="stable")
    starts = np.concatenate([[0], np.cumsum(sizes)])
    sorted_groups = groups[order]
    nonempty = np.flatnonzero(sizes)
    low = np.minimum.reduceat(sorted_groups, starts[nonempty])
    high = np.maximum.reduceat(sorted_groups, starts[nonempty])
    for stratum in nonempty[low != high]:  # several groups: water-fill this stratum
        inside = order[starts[stratum] : starts[stratum + 1]]
        copies[inside] = _allocate(
            members[inside],
            groups[inside],
            int(shares[stratum]),
            seed,
            stream=(class_index + 1) * 1_000_003 + int(stratum),
            row_key=row_key,
        )
    return copies


def _splitmix_streams(values: np.ndarray, seed: int, streams: np.ndarray) -> np.ndarray:
    """:func:`_splitmix` with one stream per value (uint64 wrapping arithmetic)."""
    offset = np.uint64((seed * _GOLDEN) & _MASK) + (streams + np.uint64(1)) * np.uint64(
        0xD1B54A32D192ED03
    )
    x = values.astype(np.uint64)
    x *= np.uint64(_GOLDEN)
    x += offset
    t = np.empty_like(x)
    for shift, factor in ((30, 0xBF58476D1CE4E5B9), (27, 0x94D049BB133111EB), (31, None)):
        np.right_shift(x, np.uint64(shift), out=t)
        x ^= t
        if factor is not None:
            x *= np.uint64(factor)
    return x


def _smallest(keys: np.ndarray, k: int) -> np.ndarray:
    """Positions of the ``k`` smallest keys (keys are distinct: SplitMix64 is a bijection)."""
    if k <= 0:
        return np.empty(0, dtype=np.int64)
    if k >= keys.size:
        return np.arange(keys.size)
    # Keys are uniform 64-bit hashes: the k smallest lie (almost surely) below the
    # k/n quantile plus a few standard deviations. Select among those candidates;
    # the set is the same as a full argpartition's (keys are distinct).
    share = min(1.0, (k + 8 * np.sqrt(k) + 64) / keys.size)
    if share < 0.5:
        candidates = np.flatnonzero(keys < np.uint64(int(share * 2.0**64)))
        if candidates.size >= k:
            return candidates[np.argpartition(keys[candidates], k - 1)[:k]]
    return np.argpartition(keys, k - 1)[:k]


def _rank_in_group(group_of: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """0-based position of each row inside its group when the group is ordered by key."""
    # Sort by key, then stably by group: the order of np.lexsort((keys, group_of)),
    # in two single-key sorts, several times faster than lexsort's.
    by_key = np.argsort(keys, kind="stable")  # equal keys (a repeated key column) by row
    order = by_key[np.argsort(group_of[by_key], kind="stable")]
    sorted_groups = group_of[order]
    starts = np.flatnonzero(np.r_[True, sorted_groups[1:] != sorted_groups[:-1]])
    run_start = np.repeat(starts, np.diff(np.r_[starts, order.size]))
    rank = np.empty(order.size, dtype=np.int64)
    rank[order] = np.arange(order.size) - run_start
    return rank


def _water_fill(sizes: np.ndarray, quota: int, group_keys: np.ndarray, *, up: bool) -> np.ndarray:
    """Rows per group summing to ``quota``, as even across groups as sizes allow.

    Down (undersampling): every group keeps ``min(size, t)`` for the largest level
    ``t`` that fits. Up (oversampling): every group rises to ``max(size, t)``, so the
    smallest groups gain the most. The remainder goes one row each to the groups at
    the level's edge, in the order of their seeded keys.
    """
    clip = np.maximum if up else np.minimum
    low, high = (int(sizes.min()), quota) if up else (0, int(sizes.max()))
    while low < high:  # the largest level whose total still fits the quota
        mid = (low + high + 1) // 2
        if int(clip(sizes, mid).sum()) <= quota:
            low = mid
        else:
            high = mid - 1
    result = clip(sizes, low)
    remainder = quota - int(result.sum())
    if remainder:
        eligible = np.flatnonzero(sizes <= low if up else sizes > low)
        chosen = eligible[np.argsort(group_keys[eligible], kind="stable")[:remainder]]
        result[chosen] += 1
    return result


def _build(
    dataset: Dataset,
    labels: pa.Array,
    code: np.ndarray,
    classes: tuple[str, ...],
    copies: np.ndarray,
    in_scope: np.ndarray,
    plan: SamplingPlan,
    seed: int,
    split: str | None,
    mapping: LabelMapping | None,
) -> Resampled:
    copy_name = manifest_names(dataset.raw.column_names)["copy"]
    if copies.max(initial=0) <= 1:
        # No duplicates: only the kept rows are built, column by column.
        keep = copies > 0
        kept_rows = np.flatnonzero(keep)
        manifest = _output_columns(
            dataset, labels, code, mapping, rows=kept_rows, keep=keep, classes=classes
        )
        manifest = manifest.append_column(copy_name, pa.array(np.zeros(kept_rows.size, np.int64)))
    else:
        kept_rows = np.flatnonzero(copies > 0)
        repeats = copies[kept_rows]
        out_rows = np.repeat(kept_rows, repeats)
        starts = np.cumsum(repeats) - repeats
        copy_number = np.arange(out_rows.size, dtype=np.int64) - np.repeat(starts, repeats)
        base = _output_columns(dataset, labels, code, mapping, classes=classes)
        manifest = base.take(pa.array(out_rows)).append_column(copy_name, pa.array(copy_number))
    return Resampled(
        manifest=manifest,
        plan=plan,
        seed=seed,
        split=split,
        passthrough_rows=int(in_scope.size - np.count_nonzero(in_scope)),
        classes=classes,
        selection=_Selection(dataset, labels, code, copies, mapping),
    )


ADDED_COLUMNS = ("row", "class_index", "original_label", "copy", "reason")


def manifest_names(column_names: list[str] | tuple[str, ...]) -> dict[str, str]:
    """The names of the columns Seesaw adds to a manifest (``row``, ``class_index``,
    ``original_label``, ``copy``; ``reason`` in the dropped rows), each prefixed
    ``seesaw_`` (repeatedly) while the user has a column of that name: the user's own
    columns are never renamed."""
    taken = set(column_names)
    names = {}
    for added in ADDED_COLUMNS:
        name = added
        while name in taken:
            name = f"seesaw_{name}"
        names[added] = name
        taken.add(name)
    return names


def _class_index_codes(dataset: Dataset, classes: tuple[str, ...], code: np.ndarray) -> np.ndarray:
    """Class indices in the order training code uses (:mod:`balance_core.classes`)
    from ``code``, which counts in sorted label order."""
    order = dataset_class_order(dataset, classes)
    if order.labels == classes:
        return code
    permutation = np.array([order.index[label] for label in classes], dtype=np.int32)
    return np.where(code >= 0, permutation[np.maximum(code, 0)], code)


def _output_columns(
    dataset: Dataset,
    labels: pa.Array,
    code: np.ndarray,
    mapping: LabelMapping | None,
    *,
    rows: np.ndarray | None = None,
    keep: np.ndarray | None = None,
    classes: tuple[str, ...] | None = None,
) -> pa.Table:
    """The output columns of every row, or of ``rows`` only (``keep`` is their mask):
    ``row``, the user's columns under their own names with their own types (the
    label column holding the mapped labels when a mapping is given), ``class_index``
    and, with a mapping, ``original_label`` (see :func:`manifest_names`)."""
    if rows is None:
        rows = np.arange(dataset.n_rows)
        pick = lambda column: column  # noqa: E731
    else:
        mask = pa.array(keep)
        code = code[rows]
        pick = lambda column: column.filter(mask)  # noqa: E731
    names = manifest_names(dataset.raw.column_names)
    label_name = dataset.roles.label
    columns: dict[str, pa.Array | pa.ChunkedArray] = {names["row"]: pa.array(rows)}
    for name in dataset.raw.column_names:
        # Without a mapping the label column is the user's, values and type as written.
        value = labels if (name == label_name and mapping) else dataset.raw.column(name)
        columns[name] = pick(value)
    if classes is not None:
        code = _class_index_codes(dataset, classes, code)
    missing = code < 0
    columns[names["class_index"]] = pa.array(
        np.where(missing, 0, code) if missing.any() else code, mask=missing, type=pa.int32()
    )
    if mapping:
        columns[names["original_label"]] = pick(dataset.raw.column(label_name))
    return pa.table(columns)


# --------------------------------------------------------------------------- weights


def sample_weights(
    dataset: Dataset,
    weights: ClassWeights,
    *,
    mapping: LabelMapping | None = None,
) -> pa.Table:
    """One weight per row (its class's weight) for a weighted loss or sampler.

    Columns ``row``, ``path`` (if any), ``label``, ``class_index`` and ``weight``;
    rows without a (mapped) label get a null weight.
    """
    labels = map_labels(dataset.labels, mapping)
    classes = weights.labels
    code = _codes(labels, classes)
    table = {"row": pa.array(np.arange(dataset.n_rows))}
    if dataset.roles.path is not None:
        table["path"] = dataset.column("path")
    values = np.array(weights.as_list, dtype=np.float64)
    table["label"] = labels
    table["class_index"] = pa.array(np.where(code >= 0, code, 0), mask=code < 0, type=pa.int32())
    table["weight"] = pa.array(values[np.where(code >= 0, code, 0)], mask=code < 0)
    return pa.table(table)


def distribution_after(resampled: Resampled) -> Distribution:
    """The distribution of the resampled split, as a Distribution."""
    return Distribution.from_counts(resampled.counts())
