"""Recipes: a balancing choice written down, so it can be replayed on the full data.

A recipe names the input (SHA-256 fingerprint), how it was read, the label mapping,
the strategy and its parameters, the split and group choices and the seed. Running
the same recipe on the same input gives the same bytes as the app's download.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Literal

import pyarrow as pa

from ._version import __version__
from .apply import Resampled, counts_for, default_split, resample, sample_weights
from .budget import check_output, estimate_output
from .dataset import Dataset
from .errors import DatasetError
from .limits import Limits
from .plan import (
    ClassWeights,
    SamplerWeights,
    SamplingPlan,
    class_weights,
    parse_target,
    plan_oversample,
    plan_resample,
    plan_undersample,
    sampler_weights,
)
from .rowkey import KEY_VERSION

__all__ = [
    "RECIPE_FORMAT",
    "Outcome",
    "Recipe",
    "Strategy",
    "make_plan",
    "recipe_problems",
    "run",
    "run_counts",
]

RECIPE_FORMAT = "seesaw-recipe/1"
SAMPLING_METHODS = ("undersample", "oversample", "resample")
WEIGHT_KINDS = ("weights", "sampler")
# Samples with several labels or boxes: the plan replays through balance_core.sample_recipe.
SAMPLE_PLAN = "sample_plan"


@dataclass(frozen=True, kw_only=True)
class Strategy:
    """What to do: a sampling method with its target, or a weighting.

    Attributes
    ----------
    method : {"undersample", "oversample", "resample", "weights", "sampler"}
    target : str
        For sampling: ``equal``, ``majority``/``minority``, ``ratio:R``, ``cap:N``,
        ``median``, ``mean``, ``N`` or ``counts:a=1,b=2`` (see
        :func:`balance_core.plan.parse_target`).
    weighting : str
        For weights: one of :data:`balance_core.plan.WEIGHT_METHODS`.
    beta, normalize, max_ratio, custom, num_samples
        Options of :func:`balance_core.plan.class_weights` and
        :func:`balance_core.plan.sampler_weights`.
    sample_plan : dict, optional
        With ``method="sample_plan"``: the plan for samples with several labels or
        boxes, as :func:`balance_core.sample_recipe.sample_record` writes it
        (``{"method": "repeat_factor", "threshold": 0.001, "seed": 0}``).
    """

    method: Literal["undersample", "oversample", "resample", "weights", "sampler", "sample_plan"]
    target: str = "equal"
    weighting: str = "balanced"
    beta: float = 0.999
    normalize: Literal["source", "mean", "min"] = "source"
    max_ratio: float | None = None
    custom: dict[str, float] | None = None
    num_samples: int | None = None
    sample_plan: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        if self.method not in (*SAMPLING_METHODS, *WEIGHT_KINDS, SAMPLE_PLAN):
            raise DatasetError(
                f"Unknown strategy {self.method!r}; use one of "
                f"{', '.join((*SAMPLING_METHODS, *WEIGHT_KINDS, SAMPLE_PLAN))}.",
                kind="bad_parameter",
            )
        if (self.method == SAMPLE_PLAN) != isinstance(self.sample_plan, dict):
            raise DatasetError(
                "A sample_plan strategy needs its plan (a JSON object), and only it has one.",
                kind="bad_recipe",
            )

    @property
    def is_sampling(self) -> bool:
        return self.method in SAMPLING_METHODS


@dataclass(frozen=True, kw_only=True)
class Recipe:
    """Everything needed to replay a balancing choice.

    Attributes
    ----------
    strategy : Strategy
    seed : int
    split : str or None
        The split to change; ``None`` changes all rows, ``"auto"`` the training split.
    use_groups : bool
    stratify : str or None
    label_mapping : dict of str to (str or None)
    reader : dict
        Reader options (``label_col``, ``path_col``, ``split_col``, ``group_col``,
        ``sheet``).
    input : dict
        ``name``, ``format``, ``size_bytes`` and ``sha256`` of the input it was made on.
    output : dict
        ``format`` (``csv`` or ``parquet``) and ``neutralize_formulas``.
    key_version : int
        How rows get their random keys (see :func:`balance_core.apply.resample`):
        2 (XXH64 of the row identity, shared by the pandas and Spark engines) for new
        recipes; a recipe written without one replays with version 1, as it was made.
    key_col : str or None
        The column that identifies a row; None: the path column, else the row number.
    """

    strategy: Strategy
    seed: int = 0
    split: str | None = "auto"
    use_groups: bool = True
    stratify: str | None = None
    label_mapping: dict[str, str | None] = field(default_factory=dict)
    reader: dict[str, Any] = field(default_factory=dict)
    input: dict[str, Any] = field(default_factory=dict)
    output: dict[str, Any] = field(
        default_factory=lambda: {"format": "csv", "neutralize_formulas": True}
    )
    key_version: int = KEY_VERSION
    key_col: str | None = None

    def to_json(self) -> bytes:
        """The recipe as UTF-8 JSON with sorted keys (stable bytes)."""
        strategy = asdict(self.strategy)
        if strategy["sample_plan"] is None:
            del strategy["sample_plan"]  # recipes of one label per row keep their bytes
        payload = {
            "format": RECIPE_FORMAT,
            "seesaw_version": __version__,
            "strategy": strategy,
            "seed": self.seed,
            "split": self.split,
            "use_groups": self.use_groups,
            "stratify": self.stratify,
            "label_mapping": dict(self.label_mapping),
            "reader": dict(self.reader),
            "input": dict(self.input),
            "output": dict(self.output),
            "key_version": self.key_version,
            "key_col": self.key_col,
        }
        return (
            json.dumps(payload, indent=2, sort_keys=True, ensure_ascii=False, allow_nan=False)
            + "\n"
        ).encode("utf-8")

    @classmethod
    def from_json(cls, data: bytes | str) -> Recipe:
        """Read a recipe written by :meth:`to_json`.

        The document is checked against the recipe schema before anything is
        built (see :func:`recipe_problems`); every problem found is named in one
        sentence of the error (kind ``bad_recipe``), e.g. ``strategy.target must
        be text, not a number``."""
        if isinstance(data, (bytes, bytearray)) and len(data) > MAX_RECIPE_BYTES:
            raise DatasetError(
                f"The recipe is {len(data):,} bytes, more than a recipe ever needs "
                f"({MAX_RECIPE_BYTES:,}); use the file Seesaw wrote.",
                kind="bad_recipe",
            )
        try:
            payload = json.loads(data)
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            raise DatasetError(
                f"The recipe is not valid JSON ({error}); use the file Seesaw wrote.",
                kind="bad_recipe",
            ) from None
        except RecursionError:
            raise DatasetError(
                "The recipe is nested too deeply to be a Seesaw recipe; use the file Seesaw wrote.",
                kind="bad_recipe",
            ) from None
        if not isinstance(payload, dict) or payload.get("format") != RECIPE_FORMAT:
            raise DatasetError(
                f"This is not a Seesaw recipe (expected format {RECIPE_FORMAT!r}).",
                kind="bad_recipe",
            )
        problems = recipe_problems(payload)
        if problems:
            raise DatasetError(
                "The recipe is not valid: " + "; ".join(problems) + "; use the file Seesaw "
                "wrote or fix these fields.",
                kind="bad_recipe",
            )
        strategy = Strategy(**payload["strategy"])
        return cls(
            strategy=strategy,
            seed=payload.get("seed", 0),
            split=payload.get("split", "auto"),
            use_groups=payload.get("use_groups", True),
            stratify=payload.get("stratify"),
            label_mapping=dict(payload.get("label_mapping") or {}),
            reader=dict(payload.get("reader") or {}),
            input=dict(payload.get("input") or {}),
            output=dict(payload.get("output") or {"format": "csv"}),
            # Recipes written before row keys had versions replay as they were made.
            key_version=payload.get("key_version", 1),
            key_col=payload.get("key_col"),
        )


MAX_RECIPE_BYTES = 64 * 1024**2
"""A recipe is a few kilobytes (a label mapping of 100,000 classes a few MB)."""


def _kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true or false"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "a list"
    return "an object"


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_whole(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


# field -> (test, what it must be); a missing optional field takes its default.
_TEXT = (lambda v: isinstance(v, str), "text")
_TEXT_OR_NULL = (lambda v: v is None or isinstance(v, str), "text or null")
_STRATEGY_FIELDS: dict[str, tuple[Any, str]] = {
    "method": (lambda v: v in (*SAMPLING_METHODS, *WEIGHT_KINDS, SAMPLE_PLAN), "one of "
               + ", ".join((*SAMPLING_METHODS, *WEIGHT_KINDS, SAMPLE_PLAN))),
    "target": _TEXT,
    "weighting": _TEXT,
    "beta": (_is_number, "a number"),
    "normalize": (lambda v: v in ("source", "mean", "min"), "one of source, mean, min"),
    "max_ratio": (lambda v: v is None or _is_number(v), "a number or null"),
    "custom": (
        lambda v: v is None
        or (isinstance(v, dict) and all(_is_number(w) for w in v.values())),
        "null or an object of label: number",
    ),
    "num_samples": (lambda v: v is None or (_is_whole(v) and v > 0), "a whole number or null"),
    # Samples with several labels or boxes (balance_core.sample_recipe).
    "sample_plan": (
        lambda v: v is None
        or (isinstance(v, dict) and isinstance(v.get("method"), str)
            and all(w is None or isinstance(w, (str, int, float, bool)) for w in v.values())),
        'null or an object with "method" and plain option values',
    ),
}  # fmt: skip
_TOP_FIELDS: dict[str, tuple[Any, str]] = {
    "format": _TEXT,
    "seesaw_version": _TEXT,
    "strategy": (lambda v: isinstance(v, dict), "an object"),
    "seed": (lambda v: _is_whole(v) and v >= 0, "a whole number >= 0"),
    "split": _TEXT_OR_NULL,
    "use_groups": (lambda v: isinstance(v, bool), "true or false"),
    "stratify": _TEXT_OR_NULL,
    "label_mapping": (
        lambda v: isinstance(v, dict)
        and all(n is None or isinstance(n, str) for n in v.values()),
        "an object of old label: new label (or null to drop it)",
    ),
    "reader": (
        lambda v: isinstance(v, dict)
        and all(
            c is None
            or isinstance(c, (str, int, float, bool))
            or (isinstance(c, list) and all(isinstance(n, str) for n in c))  # label_cols
            for c in v.values()
        ),
        "an object of reader option: value (a role's column name, a list of columns, or "
        "null)",
    ),
    "input": (lambda v: isinstance(v, dict), "an object"),
    "key_version": (lambda v: v in (1, KEY_VERSION) and not isinstance(v, bool), "1 or 2"),
    "key_col": _TEXT_OR_NULL,
    "output": (
        lambda v: isinstance(v, dict)
        and v.get("format", "csv") in ("csv", "parquet")
        and isinstance(v.get("neutralize_formulas", True), bool),
        'an object with "format" csv or parquet and "neutralize_formulas" true or false',
    ),
}  # fmt: skip
_REQUIRED = ("strategy",)


def recipe_problems(payload: Mapping[str, Any]) -> list[str]:
    """Every way a parsed recipe document differs from the recipe schema, one
    phrase each (empty when it is valid). Unknown fields are problems too: a
    misspelt field would otherwise be ignored silently."""
    problems: list[str] = []

    def check(where: str, fields: Mapping[str, tuple[Any, str]], value: Mapping) -> None:
        for key, item in value.items():
            if key not in fields:
                problems.append(f"{where}{key!s:.80} is not a recipe field")
                continue
            test, wanted = fields[key]
            if not test(item):
                problems.append(f"{where}{key} must be {wanted}, not {_kind(item)}")

    for key in _REQUIRED:
        if key not in payload:
            problems.append(f"{key} is missing")
    check("", _TOP_FIELDS, payload)
    strategy = payload.get("strategy")
    if isinstance(strategy, dict):
        if "method" not in strategy:
            problems.append("strategy.method is missing")
        check("strategy.", _STRATEGY_FIELDS, strategy)
    return problems[:20]


@dataclass(frozen=True, eq=False, kw_only=True)
class Outcome:
    """The result of running a recipe: rows (sampling) or weights (weighting)."""

    recipe: Recipe
    split: str | None
    counts: dict[str, int]
    plan: SamplingPlan | None = None
    resampled: Resampled | None = None
    weights: ClassWeights | None = None
    sampler: SamplerWeights | None = None


def make_plan(counts: Mapping[str, int], strategy: Strategy) -> SamplingPlan:
    """The sampling plan a strategy asks for, from class counts."""
    options = parse_target(strategy.target)
    if strategy.method == "undersample":
        if "to" in options or "minority_only" in options:
            raise DatasetError(
                f"Undersampling takes equal, majority, ratio:R, cap:N or counts:..., "
                f"not {strategy.target!r}.",
                kind="bad_parameter",
            )
        return plan_undersample(counts, **options)
    if strategy.method == "oversample":
        if "cap" in options or "to" in options:
            raise DatasetError(
                f"Oversampling takes equal, minority, ratio:R or counts:..., "
                f"not {strategy.target!r}.",
                kind="bad_parameter",
            )
        if options.pop("majority_only", False):
            raise DatasetError(
                "Oversampling cannot target the majority only; use minority or equal.",
                kind="bad_parameter",
            )
        return plan_oversample(counts, **options)
    if set(options) - {"to"} or not options:
        raise DatasetError(
            f"Hybrid resampling takes median, mean or a count N, not {strategy.target!r}.",
            kind="bad_parameter",
        )
    return plan_resample(counts, **options)


def _weights(counts: Mapping[str, int], strategy: Strategy) -> ClassWeights:
    return class_weights(
        counts,
        method=strategy.weighting,
        beta=strategy.beta,
        normalize=strategy.normalize,
        max_ratio=strategy.max_ratio,
        custom=strategy.custom,
    )


def resolve_split(dataset: Dataset, split: str | None) -> str | None:
    """``"auto"`` -> the training split (or None without splits); ``"all"``/None -> None."""
    if split == "auto":
        return default_split(dataset)
    if split in (None, "all"):
        return None
    return split


def run_counts(recipe: Recipe, counts: Mapping[str, int]) -> Outcome:
    """The plan or weights ``recipe`` gives on class ``counts``, touching no rows: what
    the live preview shows. :func:`run` then applies the same plan to the rows."""
    strategy = recipe.strategy
    counts = dict(counts)
    split = None if recipe.split in ("auto", "all") else recipe.split
    if strategy.is_sampling:
        return Outcome(recipe=recipe, split=split, counts=counts, plan=make_plan(counts, strategy))
    if strategy.method == "sampler":
        sampler = sampler_weights(
            counts,
            num_samples=strategy.num_samples,
            method=strategy.weighting,
            beta=strategy.beta,
            normalize=strategy.normalize,
            max_ratio=strategy.max_ratio,
            custom=strategy.custom,
        )
        return Outcome(
            recipe=recipe, split=split, counts=counts, weights=sampler.class_weights,
            sampler=sampler,
        )  # fmt: skip
    return Outcome(recipe=recipe, split=split, counts=counts, weights=_weights(counts, strategy))


def run(recipe: Recipe, dataset: Dataset, *, limits: Limits | None = None) -> Outcome:
    """Carry out ``recipe`` on ``dataset`` (already read with ``recipe.reader``).

    A sampling plan's output is estimated from its counts and checked against
    ``limits.max_output_rows`` and ``max_output_bytes`` (see
    :mod:`balance_core.budget`) before any row is chosen: a plan asking for
    billions of rows is refused in one sentence instead of exhausting memory.
    For a ``sample_plan`` recipe use :func:`balance_core.sample_recipe.run_samples`."""
    if recipe.strategy.method == SAMPLE_PLAN:
        raise DatasetError(
            "This recipe balances samples with several labels or boxes; run it with "
            "balance_core.sample_recipe.run_samples.",
            kind="usage",
        )
    if dataset.kind != "single":
        raise DatasetError(
            f"{recipe.strategy.method.capitalize()} balances one label per row, and "
            f"{dataset.source.name!r} has {_kind_words(dataset)}; balance it with the sample "
            "or label-weights command (repeat-factor, image-level sampling, ML-ROS/ML-RUS, "
            "label weights).",
            kind="wrong_kind",
        )
    split = resolve_split(dataset, recipe.split)
    mapping = recipe.label_mapping or None
    counts = counts_for(dataset, split=split, mapping=mapping)
    outcome = replace(run_counts(recipe, counts), split=split)
    if outcome.plan is None:
        return outcome
    check_output(estimate_output(outcome.plan, dataset=dataset), limits=limits, what="The manifest")
    _check_stratify(dataset, recipe.stratify)
    resampled = resample(
        dataset,
        outcome.plan,
        seed=recipe.seed,
        split=split,
        use_groups=recipe.use_groups,
        stratify=recipe.stratify,
        mapping=mapping,
        key_version=recipe.key_version,
        key_col=recipe.key_col,
    )
    return replace(outcome, resampled=resampled)


def _check_stratify(dataset: Dataset, column: str | None) -> None:
    """A column to stratify by holds values that can be told apart: not lists or
    structs (Parquet's nested columns), which no grouping kernel takes."""
    if column is None or column not in dataset.raw.column_names:
        return  # a missing column is apply's to report, with the columns there are
    kind = dataset.raw.schema.field(column).type
    if pa.types.is_nested(kind) or pa.types.is_union(kind):
        raise DatasetError(
            f"The column {column!r} holds {kind} values (lists or records), which "
            "cannot be strata; pick a column of text or numbers to stratify by.",
            kind="nested_column",
        )


def _kind_words(dataset: Dataset) -> str:
    if dataset.kind == "detection":
        return "boxes (a detection dataset)"
    return "several labels per row"


def per_sample_weights(outcome: Outcome, dataset: Dataset):
    """Per-row weights of a weighting outcome (see :func:`balance_core.apply.sample_weights`)."""
    if outcome.weights is None:
        raise DatasetError("This recipe samples rows; it has no weights.", kind="bad_parameter")
    return sample_weights(dataset, outcome.weights, mapping=outcome.recipe.label_mapping or None)
