"""Class weights handed to training code: a JSON file and code snippets for common
training libraries."""

from __future__ import annotations

import json
import math
from typing import Any

from ._version import __version__
from .errors import DatasetError
from .plan import ClassWeights, SamplerWeights

__all__ = ["snippets", "weights_json"]


def _bad(message: str, kind: str = "bad_parameter") -> DatasetError:
    return DatasetError(message, kind=kind)


# --------------------------------------------------------------------------- weights


def _finite(value: float, what: str) -> float:
    number = float(value)
    if not math.isfinite(number):
        raise _bad(f"{what} must be a finite number, got {number!r}.")
    return number


def _weights_section(weights: ClassWeights) -> dict[str, Any]:
    classes = list(weights.labels)
    return {
        "method": weights.method,
        "params": dict(weights.params),
        "classes": classes,
        "class_to_index": {label: index for index, label in enumerate(classes)},
        "counts": {label: int(n) for label, n in weights.counts.items()},
        "weights": {k: _finite(w, f"The weight of {k!r}") for k, w in weights.weights.items()},
        "weights_by_index": [_finite(w, "A class weight") for w in weights.as_list],
        "loss_share_before": dict(weights.loss_share_before),
        "loss_share_after": dict(weights.loss_share_after),
        "spread": _finite(weights.spread, "The weight spread"),
        "clipped": list(weights.clipped),
        "warnings": list(weights.warnings),
    }


def weights_json(weights: ClassWeights, *, sampler: SamplerWeights | None = None) -> bytes:
    """Class weights as a JSON file that training code can load.

    Keys: ``method``, ``params``, ``classes`` (class index order = sorted labels,
    as torchvision's ``ImageFolder``, Keras and scikit-learn's ``LabelEncoder``
    number them), ``class_to_index``, ``counts``, ``weights`` (by label),
    ``weights_by_index``, ``loss_share_before`` (n_c / N), ``loss_share_after``
    (n_c w_c / sum_j n_j w_j), ``spread`` (max / min weight), ``clipped``,
    ``warnings``, ``seesaw_version``, and with ``sampler`` a ``sampler`` object:
    ``method``, ``sample_weight`` (the weight of one sample of each class),
    ``sample_weight_by_index``, ``num_samples``, ``replacement``, ``draw_share``,
    ``expected_distinct`` (per class, n_c (1 - (1 - p_c)^M)),
    ``expected_distinct_total`` and ``warnings``.

    Parameters
    ----------
    weights : ClassWeights
    sampler : SamplerWeights, optional
        Per-sample weights for ``WeightedRandomSampler`` on the same classes and
        counts.

    Returns
    -------
    bytes
        UTF-8 JSON, keys sorted, floats written with full precision (``repr``),
        never NaN or Infinity; the same bytes for the same input.
    """
    if not isinstance(weights, ClassWeights):
        raise _bad(f"weights must be ClassWeights, got {type(weights).__name__}.")
    document = _weights_section(weights)
    document["seesaw_version"] = __version__
    if sampler is not None:
        if not isinstance(sampler, SamplerWeights):
            raise _bad(f"sampler must be SamplerWeights, got {type(sampler).__name__}.")
        own = sampler.class_weights
        if own.counts != weights.counts:
            raise _bad(
                "The sampler weights were made for other class counts than the class "
                "weights; make both from the same counts."
            )
        document["sampler"] = {
            "method": own.method,
            "sample_weight": {k: _finite(w, f"The sample weight of {k!r}") for k, w in
                              own.weights.items()},
            "sample_weight_by_index": [_finite(w, "A sample weight") for w in own.as_list],
            "num_samples": int(sampler.num_samples),
            "replacement": True,
            "draw_share": dict(sampler.draw_share),
            "expected_distinct": dict(sampler.expected_distinct),
            "expected_distinct_total": float(sampler.expected_distinct_total),
            "warnings": list(sampler.warnings),
        }  # fmt: skip
    try:
        text = json.dumps(document, allow_nan=False, sort_keys=True, indent=2, ensure_ascii=False)
    except ValueError as error:  # NaN or Infinity somewhere
        raise _bad(f"The weights hold a value that is not a finite number ({error}).") from error
    return (text + "\n").encode("utf-8")


# --------------------------------------------------------------------------- snippets


def _number(value: float) -> str:
    """A float literal that reads back to the same float."""
    return repr(_finite(value, "A weight"))


def _index_comment(labels: tuple[str, ...], indent: str = "#   ") -> str:
    # repr() escapes newlines and quotes: a label cannot end the comment line.
    return "\n".join(f"{indent}{index}: {label!r}" for index, label in enumerate(labels))


def _scale_pos_weight(weights: ClassWeights) -> tuple[float, str]:
    """XGBoost/LightGBM's ``scale_pos_weight`` for two classes, and how it was made."""
    negative, positive = weights.labels
    n_neg, n_pos = weights.counts[negative], weights.counts[positive]
    from_counts = n_neg / n_pos
    ratio = weights.weights[positive] / weights.weights[negative]
    if math.isclose(ratio, from_counts, rel_tol=1e-12):
        return from_counts, f"n_negative / n_positive = {n_neg} / {n_pos}"
    return ratio, (
        f"weight of {positive!r} / weight of {negative!r} as chosen ({weights.method!r}"
        f"{', clipped' if weights.clipped else ''}); n_negative / n_positive would be "
        f"{n_neg} / {n_pos} = {from_counts!r}"
    )


def snippets(weights: ClassWeights, *, sampler: SamplerWeights | None = None) -> dict[str, str]:
    """Code that puts the class weights into common training libraries.

    Class index order is sorted label order (torchvision ``ImageFolder``, Keras
    ``image_dataset_from_directory``, scikit-learn ``LabelEncoder``). Labels are
    written as Python string literals (``repr``), so no label can break out of
    its string or comment; floats are written with ``repr`` so they read back
    exactly.

    Parameters
    ----------
    weights : ClassWeights
    sampler : SamplerWeights, optional
        For ``pytorch_sampler``: its per-class sample weights and ``num_samples``.
        Without it, ``weights`` serve as the sample weights and an epoch draws as
        many samples as there are.

    Returns
    -------
    dict of str to str
        ``pytorch`` (``CrossEntropyLoss(weight=...)``), ``pytorch_sampler``
        (``WeightedRandomSampler``), ``keras`` (``class_weight`` by index),
        ``sklearn`` (``class_weight`` by label), and for exactly two classes
        ``xgboost`` and ``lightgbm`` (``scale_pos_weight``; the positive class is
        the second label in sorted order, class index 1).
    """
    if not isinstance(weights, ClassWeights):
        raise _bad(f"weights must be ClassWeights, got {type(weights).__name__}.")
    labels = weights.labels
    values = ", ".join(_number(w) for w in weights.as_list)
    comment = _index_comment(labels)
    result = {
        "pytorch": (
            "import torch\n\n"
            f"# Class weights ({weights.method!r}) in class index order (sorted labels, as\n"
            "# torchvision ImageFolder numbers the classes):\n"
            f"{comment}\n"
            f"criterion = torch.nn.CrossEntropyLoss(weight=torch.tensor([{values}]))\n"
        ),
    }
    source = sampler.class_weights if sampler is not None else weights
    if sampler is not None and source.labels != labels:
        raise _bad("The sampler weights are for other classes than the class weights.")
    draws = (
        f"num_samples={int(sampler.num_samples)}"
        if sampler is not None
        else "num_samples=len(sample_weights)"
    )
    sample_values = ", ".join(_number(w) for w in source.as_list)
    result["pytorch_sampler"] = (
        "import torch\n"
        "from torch.utils.data import DataLoader, WeightedRandomSampler\n\n"
        "# Weight of one sample of each class, in class index order:\n"
        f"{_index_comment(source.labels)}\n"
        f"class_sample_weight = torch.tensor([{sample_values}], dtype=torch.double)\n"
        "# labels: the class index of every training sample (a list or tensor of ints).\n"
        "sample_weights = class_sample_weight[torch.as_tensor(labels, dtype=torch.long)]\n"
        f"sampler = WeightedRandomSampler(sample_weights, {draws}, replacement=True)\n"
        "loader = DataLoader(train_dataset, batch_size=32, sampler=sampler)  # no shuffle=True\n"
    )
    by_index = ", ".join(f"{i}: {_number(w)}" for i, w in enumerate(weights.as_list))
    result["keras"] = (
        "# Keys are class indices (sorted labels, as image_dataset_from_directory):\n"
        f"{comment}\n"
        f"class_weight = {{{by_index}}}\n"
        "model.fit(train_ds, epochs=10, class_weight=class_weight)\n"
    )
    by_label = ", ".join(f"{label!r}: {_number(weights.weights[label])}" for label in labels)
    result["sklearn"] = (
        "from sklearn.linear_model import LogisticRegression\n\n"
        "# Keys are the labels exactly as they appear in y.\n"
        f"class_weight = {{{by_label}}}\n"
        "model = LogisticRegression(class_weight=class_weight)\n"
    )
    if len(labels) == 2:
        value, how = _scale_pos_weight(weights)
        header = (
            f"# Positive class: {labels[1]!r} (class index 1, the second label in sorted\n"
            f"# order, as LabelEncoder encodes it); negative: {labels[0]!r} (index 0).\n"
            f"# scale_pos_weight = {how}\n"
            f"scale_pos_weight = {_number(value)}\n"
        )
        result["xgboost"] = (
            "import xgboost as xgb\n\n"
            f"{header}"
            "model = xgb.XGBClassifier(scale_pos_weight=scale_pos_weight)\n"
        )
        result["lightgbm"] = (
            "import lightgbm as lgb\n\n"
            f"{header}"
            "model = lgb.LGBMClassifier(scale_pos_weight=scale_pos_weight)\n"
        )
    return result
