"""Which columns can stratify a resampling: few distinct values relative to the rows.

Stratifying by a column (``resample(..., stratify=column)``) shares each class's quota
among the column's values in proportion to their sizes. That keeps a mix only when
each value has enough rows to be shared: an id column (one value per row or per few
rows) or a continuous measurement has no mix to keep, and its largest-remainder
shares become a coin toss per row.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from .dataset import Dataset

__all__ = ["MAX_STRATA", "MIN_ROWS_PER_STRATUM", "StratifyOption", "stratify_options"]

#: More distinct values than this is no "mix" a person can check.
MAX_STRATA = 50
#: Fewer rows per value on average than this leaves nothing to share within a class.
MIN_ROWS_PER_STRATUM = 10


@dataclass(frozen=True, kw_only=True)
class StratifyOption:
    """Whether one column can stratify, and why (not).

    Attributes
    ----------
    column : str
        The column's name as written.
    distinct : int
        Distinct non-empty values.
    usable : bool
    reason : str
        One sentence: why the column can or cannot keep a mix.
    """

    column: str
    distinct: int
    usable: bool
    reason: str


def stratify_options(dataset: Dataset) -> tuple[StratifyOption, ...]:
    """Every column that is not the label, path or split, with whether it can stratify.

    A column can stratify when it has between 2 and :data:`MAX_STRATA` distinct values
    and at least :data:`MIN_ROWS_PER_STRATUM` rows per value on average; floating-point
    columns with more distinct values than that are continuous and never offered. One
    hash pass per column (``count_distinct``), O(rows x columns).

    Parameters
    ----------
    dataset : Dataset

    Returns
    -------
    tuple of StratifyOption
        In column order; usable ones have ``usable=True``.
    """
    roles = dataset.roles
    skip = {roles.label, roles.path, roles.split}
    rows = dataset.n_rows
    options = []
    for name in dataset.raw.column_names:
        if name in skip:
            continue
        column = dataset.raw.column(name)
        kind = column.type
        if pa.types.is_nested(kind):
            options.append(
                StratifyOption(
                    column=name, distinct=0, usable=False,
                    reason=f"{name!r} holds nested values (lists or records), not categories.",
                )
            )  # fmt: skip
            continue
        distinct = pc.count_distinct(column, mode="only_valid").as_py() if rows else 0
        options.append(_option(name, distinct, rows, continuous=pa.types.is_floating(kind)))
    return tuple(options)


def _option(name: str, distinct: int, rows: int, *, continuous: bool) -> StratifyOption:
    def no(reason: str) -> StratifyOption:
        return StratifyOption(column=name, distinct=distinct, usable=False, reason=reason)

    if distinct == 0:
        return no(f"{name!r} has no values.")
    if distinct == 1:
        return no(f"{name!r} has only one value: there is no mix to keep.")
    per_value = rows / distinct
    if continuous and (distinct > MAX_STRATA or per_value < MIN_ROWS_PER_STRATUM):
        return no(
            f"{name!r} is a continuous measurement ({distinct:,} distinct numbers): bin it "
            "into a few ranges first to keep its mix."
        )
    if distinct > MAX_STRATA:
        return no(
            f"{name!r} has {distinct:,} distinct values (at most {MAX_STRATA} keep a mix a "
            "person can check); it looks like an id, which belongs in the group column."
        )
    if per_value < MIN_ROWS_PER_STRATUM:
        return no(
            f"{name!r} has {distinct:,} distinct values in {rows:,} rows, about "
            f"{per_value:.1f} rows per value; a mix needs at least {MIN_ROWS_PER_STRATUM} "
            "rows per value."
        )
    return StratifyOption(
        column=name,
        distinct=distinct,
        usable=True,
        reason=f"{name!r} has {distinct:,} values with about {per_value:,.0f} rows each.",
    )
