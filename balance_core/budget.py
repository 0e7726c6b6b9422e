"""Output budgets: how large an output a plan asks for, checked before writing it.

A plan is made from counts, so it can ask for far more than the input holds
(``resample --to 2000000000``, or oversampling a class of large images into a
balanced zip). This module estimates the output from the plan alone and checks it
against :attr:`Limits.max_output_rows` and :attr:`Limits.max_output_bytes`, before
any row is chosen or any byte written.

Interface (for the CLI, the exporters and the app's Balance page preview)::

    from balance_core.budget import estimate_output, check_output

    estimate = estimate_output(plan, dataset=dataset)               # manifest
    estimate = estimate_output(plan, dataset=dataset, kind="zip")   # balanced zip
    check_output(estimate, limits=limits)   # raises DatasetError(kind="limit_hit")

The exporters check the table they are given with :func:`estimate_table`, and
:func:`~balance_core.zip_export.write_balanced_zip` the exact size of the zip from
the source's central directory, both before the first byte is written.

Both are pure and cost O(classes) once :func:`entry_sizes` has been computed
(one grouped pass over a zip dataset's ``compressed_size`` column, which
:func:`estimate_output` does when it is not given ``sizes``); the app can cache
``entry_sizes(dataset)`` per upload and pass it as ``sizes=`` on every slider move.

The byte estimate of a manifest is the Arrow width of an average row plus one
delimiter per column and a line end: close to the CSV's size and an upper bound
for Parquet. For a zip it is, per class, the mean compressed size of the class's
entries (copies are spread evenly over the originals by the seeded sampler) plus
the headers, so it is exact when every entry of a class has the same size.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .dataset import Dataset
from .errors import DatasetError
from .limits import DEFAULT_LIMITS, Limits, limit_error
from .plan import SamplingPlan

__all__ = [
    "EntrySizes",
    "OutputEstimate",
    "check_output",
    "entry_sizes",
    "estimate_output",
    "estimate_table",
]

# Local header (30) + central record (46) + zip64 fields at worst (2 x 28), plus
# the name twice: what one entry of a written zip costs beyond its data.
ZIP_ENTRY_OVERHEAD = 30 + 46 + 56
ZIP_END_BYTES = 22 + 56 + 20


@dataclass(frozen=True)
class OutputEstimate:
    """The size of an output, estimated from a plan before it is written.

    Attributes
    ----------
    rows : int
        Rows of the manifest (entries of a balanced zip), other splits included.
    bytes : int
        Estimated size of the written file, in bytes.
    copies : int
        Rows that are duplicates of another row (oversampling).
    """

    rows: int
    bytes: int
    copies: int


@dataclass(frozen=True)
class EntrySizes:
    """Compressed sizes of one class's entries in a zip (from the central directory).

    Attributes
    ----------
    count : int
    mean : float
        Mean compressed size plus the mean name length, in bytes.
    max : int
        Largest compressed size plus its name length, in bytes.
    """

    count: int
    mean: float
    max: int


def entry_sizes(dataset: Dataset) -> dict[str, EntrySizes]:
    """Per label, the compressed sizes of a zip dataset's entries (one grouped pass).

    Returns an empty dict for datasets without ``compressed_size`` (tables)."""
    raw = dataset.raw
    if "compressed_size" not in raw.column_names or raw.num_rows == 0:
        return {}
    size = pc.fill_null(raw.column("compressed_size").cast(pa.int64()), 0)
    path = dataset.column("path")
    if path is not None:
        name_bytes = pc.fill_null(pc.binary_length(path.cast(pa.large_string())), 0)
        size = pc.add(size, name_bytes.cast(pa.int64()))
    labels = dataset.labels.cast(pa.large_string())
    grouped = (
        pa.table({"label": labels, "size": size})
        .group_by("label")
        .aggregate([("size", "count"), ("size", "mean"), ("size", "max")])
    )
    return {
        label: EntrySizes(int(count), float(mean), int(largest))
        for label, count, mean, largest in zip(
            grouped.column("label").to_pylist(),
            grouped.column("size_count").to_pylist(),
            grouped.column("size_mean").to_pylist(),
            grouped.column("size_max").to_pylist(),
            strict=True,
        )
        if label is not None
    }


def _row_bytes(dataset: Dataset) -> float:
    raw = dataset.raw
    if raw.num_rows == 0:
        return 0.0
    # Arrow's width (values + offsets) plus a delimiter per column, a line end and
    # the "copy" column a resampled manifest gains.
    return raw.nbytes / raw.num_rows + raw.num_columns + 2 + 4


def estimate_output(
    plan: SamplingPlan,
    *,
    dataset: Dataset | None = None,
    kind: Literal["manifest", "zip"] = "manifest",
    other_rows: int | None = None,
    sizes: Mapping[str, EntrySizes] | None = None,
) -> OutputEstimate:
    """Estimate the rows and bytes of the output a sampling plan asks for.

    .. math::

        \\text{rows} = \\sum_c t_c + r_{\\text{other}}, \\qquad
        \\text{bytes} = \\sum_c t_c\\, b_c + r_{\\text{other}}\\, \\bar b

    with :math:`t_c` the plan's target count of class :math:`c`,
    :math:`r_{\\text{other}}` the rows of other splits (copied unchanged),
    :math:`b_c` the bytes of one row (manifest: the mean row; zip: the class's mean
    compressed entry plus headers) and :math:`\\bar b` the mean over all rows.

    Parameters
    ----------
    plan : SamplingPlan
    dataset : Dataset, optional
        The dataset the plan is for; gives the row width, the rows outside the
        plan's split, and for ``kind="zip"`` the entry sizes. Without it the
        estimate counts rows only (``bytes`` 0).
    kind : {"manifest", "zip"}, default "manifest"
        The manifest (CSV or Parquet, also the dropped rows' file) or a balanced zip.
    other_rows : int, optional
        Rows passed through unchanged (default: the dataset's rows minus the
        plan's ``rows_before``).
    sizes : mapping of str to EntrySizes, optional
        :func:`entry_sizes` of the dataset, when already computed.

    Returns
    -------
    OutputEstimate
    """
    if not isinstance(plan, SamplingPlan):
        raise DatasetError(
            f"estimate_output needs a SamplingPlan, got {type(plan).__name__}.",
            kind="bad_parameter",
        )
    if kind not in ("manifest", "zip"):
        raise DatasetError(f"kind must be 'manifest' or 'zip', not {kind!r}.", kind="bad_parameter")
    total_rows = dataset.n_rows if dataset is not None else plan.rows_before
    if other_rows is None:
        other_rows = max(0, total_rows - plan.rows_before)
    rows = plan.rows_after + other_rows
    if dataset is None:
        return OutputEstimate(rows=rows, bytes=0, copies=plan.rows_added)
    if kind == "manifest":
        width = _row_bytes(dataset)
        size = width * rows + dataset.raw.num_columns * 32  # the header
        return OutputEstimate(rows=rows, bytes=math.ceil(size), copies=plan.rows_added)
    sizes = entry_sizes(dataset) if sizes is None else sizes
    if sizes:
        counts = np.array([s.count for s in sizes.values()], dtype=np.float64)
        means = np.array([s.mean for s in sizes.values()], dtype=np.float64)
        overall = float((counts * means).sum() / max(counts.sum(), 1))
    else:
        overall = 0.0
    data = sum(
        n * ((sizes[label].mean if label in sizes else overall) + ZIP_ENTRY_OVERHEAD)
        for label, n in plan.after.items()
    )
    data += other_rows * (overall + ZIP_ENTRY_OVERHEAD) + ZIP_END_BYTES
    return OutputEstimate(rows=rows, bytes=math.ceil(data), copies=plan.rows_added)


def estimate_table(table: pa.Table) -> OutputEstimate:
    """The rows and (Arrow-width) bytes of a table about to be written, O(columns)."""
    rows = table.num_rows
    width = table.nbytes + rows * (table.num_columns + 2) + table.num_columns * 32
    copies = 0
    if "copy" in table.column_names and rows:
        copies = int(pc.sum(pc.greater(table.column("copy"), 0)).as_py() or 0)
    return OutputEstimate(rows=rows, bytes=int(width), copies=copies)


def check_output(
    estimate: OutputEstimate, *, limits: Limits | None = None, what: str = "The output"
) -> None:
    """Refuse an output above :attr:`Limits.max_output_rows` or ``max_output_bytes``.

    Parameters
    ----------
    estimate : OutputEstimate
    limits : Limits, optional
        Default :data:`DEFAULT_LIMITS`.
    what : str
        How the sentence names the output (e.g. ``"The balanced zip"``).

    Raises
    ------
    DatasetError
        ``kind="limit_hit"``, naming the estimate, the limit and how to raise it.
    """
    limits = limits or DEFAULT_LIMITS
    if estimate.rows > limits.max_output_rows:
        raise limit_error(
            f"{what} would have {estimate.rows:,} rows",
            "max_output_rows",
            limits.max_output_rows,
        )
    if estimate.bytes > limits.max_output_bytes:
        raise limit_error(
            f"{what} would take about {estimate.bytes:,} bytes",
            "max_output_bytes",
            limits.max_output_bytes,
        )
