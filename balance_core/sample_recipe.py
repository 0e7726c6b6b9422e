"""Recipes for samples with several labels or boxes: write a plan down, replay it.

A recipe of this kind has ``strategy.method == "sample_plan"`` and carries in
``strategy.sample_plan`` the record of :func:`sample_record` (what
:func:`balance_core.sample_export.strategy_record` gives, with the target as the
user wrote it): ``{"method": "repeat_factor", "threshold": 0.001, "seed": 0}``,
``{"method": "image_undersample", "target": "ratio:2", "seed": 0}``,
``{"method": "ml_ros", "percentage": 25.0, "seed": 0}``,
``{"method": "label_weights:pos_weight", "max_weight": None}`` or
``{"method": "sample_weights:max"}``. :func:`run_samples` makes the same plan again
from the same data, so every output written from it has the same bytes.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pyarrow as pa

from .dataset import Dataset
from .errors import DatasetError
from .multilabel import summarize_multilabel
from .plan import parse_target
from .recipe import Recipe, Strategy, resolve_split
from .sample_export import strategy_record
from .sample_plans import (
    LabelWeights,
    SampleLabels,
    SamplePlan,
    SampleWeightsPlan,
    label_weights,
    plan_image_sampling,
    plan_ml_ros,
    plan_ml_rus,
    plan_repeat_factor,
    sample_label_weights,
    sample_labels,
)

__all__ = [
    "LABEL_WEIGHT_METHODS",
    "PLAN_METHODS",
    "SAMPLER_METHODS",
    "SampleOutcome",
    "label_weights_for",
    "make_sample_plan",
    "run_samples",
    "sample_recipe",
    "sample_record",
    "sample_weights_table",
]

PLAN_METHODS = ("repeat_factor", "image_undersample", "image_oversample", "ml_ros", "ml_rus")
LABEL_WEIGHT_METHODS = ("pos_weight", "effective_number")
SAMPLER_METHODS = ("max", "mean", "sum")


def _bad(message: str) -> DatasetError:
    return DatasetError(message, kind="bad_recipe")


@dataclass(frozen=True, eq=False, kw_only=True)
class SampleOutcome:
    """What a sample-plan recipe gives on a dataset: one of ``plan`` (copies per
    sample), ``weights`` (per label) or ``sampler`` (per sample).

    Attributes
    ----------
    recipe : Recipe
    split : str or None
        The split balanced (None: every row).
    labels : SampleLabels
    plan : SamplePlan or None
    weights : LabelWeights or None
    sampler : SampleWeightsPlan or None
    """

    recipe: Recipe
    split: str | None
    labels: SampleLabels
    plan: SamplePlan | None = None
    weights: LabelWeights | None = None
    sampler: SampleWeightsPlan | None = None


def sample_record(
    *,
    plan: SamplePlan | None = None,
    weights: LabelWeights | None = None,
    sampler: SampleWeightsPlan | None = None,
    target: str | None = None,
) -> dict[str, Any]:
    """The ``strategy.sample_plan`` of a recipe: :func:`strategy_record` of the plan
    or weights (without the split, which the recipe holds), with ``target`` as the
    user wrote it for image-level sampling (the plan's own request rounds ratios
    and drops explicit counts), or the sampler's aggregation."""
    if sampler is not None:
        return {"method": f"sample_weights:{sampler.method}"}
    record = strategy_record(plan, weights)
    record.pop("split", None)
    if plan is not None and plan.method.startswith("image_"):
        if target is None:
            raise DatasetError("Image-level sampling needs its target.", kind="bad_parameter")
        record["target"] = target
    return record


def sample_recipe(record: dict[str, Any], **fields: Any) -> Recipe:
    """A :class:`Recipe` for a sample plan: ``record`` from :func:`sample_record`,
    other recipe fields (``split``, ``reader``, ``input``, ``output``) as given; the
    seed is the plan's."""
    seed = record.get("seed", 0)
    return Recipe(
        strategy=Strategy(method="sample_plan", sample_plan=dict(record)), seed=seed, **fields
    )


def make_sample_plan(record: dict[str, Any], labels: SampleLabels) -> SamplePlan:
    """The plan a record asks for, from :func:`~balance_core.sample_plans.sample_labels`."""
    method = record.get("method")
    seed = record.get("seed", 0)
    try:
        if method == "repeat_factor":
            return plan_repeat_factor(labels, threshold=record["threshold"], seed=seed)
        if method in ("image_undersample", "image_oversample"):
            target = parse_target(str(record["target"]))
            if "to" in target:
                raise DatasetError(
                    f"Image-level sampling takes equal, ratio:R, cap:N or counts:..., not "
                    f"{record['target']!r}.",
                    kind="bad_parameter",
                )
            return plan_image_sampling(labels, method=method[len("image_") :], seed=seed, **target)
        if method == "ml_ros":
            return plan_ml_ros(labels, percentage=record["percentage"], seed=seed)
        if method == "ml_rus":
            return plan_ml_rus(labels, percentage=record["percentage"], seed=seed)
    except KeyError as error:
        raise _bad(f"The recipe's {method} plan has no {error.args[0]!r}.") from None
    except TypeError as error:
        raise _bad(
            f"The recipe's {method} plan has an option it does not take ({error})."
        ) from None
    raise _bad(
        f"Unknown sample plan {method!r}; the recipe names one of {', '.join(PLAN_METHODS)}, "
        "label_weights:... or sample_weights:...."
    )


def label_weights_for(
    dataset: Dataset,
    *,
    method: str = "pos_weight",
    beta: float = 0.999,
    max_weight: float | None = None,
    split: str | None = None,
) -> LabelWeights:
    """Per-label weights of a dataset: positives and negatives per label (uncertain
    labels in neither, as U-Ignore), then :func:`~balance_core.sample_plans.label_weights`.
    For detection an image is a positive of every class it has a box of."""
    summary = summarize_multilabel(dataset, split=split)
    return label_weights(
        summary.positives, summary.negatives, method=method, beta=beta, max_weight=max_weight
    )


def run_samples(recipe: Recipe, dataset: Dataset) -> SampleOutcome:
    """Carry out a sample-plan recipe on a dataset read with ``recipe.reader``."""
    record = recipe.strategy.sample_plan
    if recipe.strategy.method != "sample_plan" or not isinstance(record, dict):
        raise _bad("This recipe balances one label per row; replay it with apply as usual.")
    if dataset.kind == "single":
        raise DatasetError(
            f"The recipe balances samples with several labels or boxes, and "
            f"{dataset.source.name!r} has one label per row; read it as the recipe was made "
            "(its reader options), or make a new recipe for it.",
            kind="wrong_format",
        )
    split = resolve_split(dataset, recipe.split)
    labels = sample_labels(dataset, split=split)
    outcome = SampleOutcome(recipe=recipe, split=split, labels=labels)
    method = str(record.get("method", ""))
    if method.startswith("label_weights:"):
        weighting = method.partition(":")[2]
        if weighting not in LABEL_WEIGHT_METHODS:
            raise _bad(f"Unknown label weights {weighting!r}.")
        weights = label_weights_for(
            dataset,
            method=weighting,
            beta=record.get("beta", 0.999),
            max_weight=record.get("max_weight"),
            split=split,
        )
        return replace(outcome, weights=weights)
    if method.startswith("sample_weights:"):
        aggregate = method.partition(":")[2]
        if aggregate not in SAMPLER_METHODS:
            raise _bad(f"Unknown sampler weights {aggregate!r}.")
        return replace(outcome, sampler=sample_label_weights(labels, method=aggregate))
    return replace(outcome, plan=make_sample_plan(record, labels))


def sample_weights_table(dataset: Dataset, sampler: SampleWeightsPlan) -> pa.Table:
    """One row per sample of the sampler: ``row`` (in the input), the dataset's
    columns and ``sample_weight`` (for ``WeightedRandomSampler``)."""
    rows = sampler.labels.rows
    table = dataset.raw.take(pa.array(rows))
    names = [n + "_original" if n in ("row", "sample_weight") else n for n in table.column_names]
    table = table.rename_columns(names)
    columns = {"row": pa.array(rows.astype(np.int64))}
    columns |= {n: table.column(n) for n in names}
    columns["sample_weight"] = pa.array(sampler.weights.astype(np.float64))
    return pa.table(columns)
