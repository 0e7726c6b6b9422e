"""Class weights handed to training code: a JSON file and code snippets for common
training libraries."""

from __future__ import annotations

import json
import math
from typing import Any

from ._version import __version__
from .classes import ClassOrder, class_order
from .errors import DatasetError
from .plan import ClassWeights, SamplerWeights

__all__ = ["DOUBLE_CORRECTION", "snippets", "weights_json"]


def _bad(message: str, kind: str = "bad_parameter") -> DatasetError:
    return DatasetError(message, kind=kind)


# --------------------------------------------------------------------------- weights


def _finite(value: float, what: str) -> float:
    number = float(value)
    if not math.isfinite(number):
        raise _bad(f"{what} must be a finite number, got {number!r}.")
    return number


def _order_for(weights: ClassWeights, order: ClassOrder | None) -> ClassOrder:
    if order is None:
        return class_order(weights.labels)
    if not isinstance(order, ClassOrder):
        raise _bad(f"order must be a ClassOrder, got {type(order).__name__}.")
    if set(order.labels) != set(weights.labels):
        raise _bad(
            "The class order is for other classes than the weights; make it from the same "
            "labels (dataset_class_order(dataset, weights.labels))."
        )
    return order


def _weights_section(weights: ClassWeights, order: ClassOrder) -> dict[str, Any]:
    return {
        "method": weights.method,
        "params": dict(weights.params),
        "class_order": {"rule": order.rule, "numeric": order.numeric},
        "classes": list(order.labels),
        "keys": list(order.keys),
        "class_to_index": dict(order.index),
        "counts": {label: int(n) for label, n in weights.counts.items()},
        "weights": {k: _finite(w, f"The weight of {k!r}") for k, w in weights.weights.items()},
        "weights_by_index": [_finite(w, "A class weight") for w in order.ordered(weights.weights)],
        "loss_share_before": dict(weights.loss_share_before),
        "loss_share_after": dict(weights.loss_share_after),
        "spread": _finite(weights.spread, "The weight spread"),
        "clipped": list(weights.clipped),
        "warnings": list(weights.warnings),
    }


#: What the sampler export says about weighting the loss as well.
DOUBLE_CORRECTION = (
    "The sampler already draws every class about equally often: train with an unweighted "
    "loss, since weighting the loss as well corrects the imbalance twice and over-weights "
    "the rare classes."
)


def weights_json(
    weights: ClassWeights,
    *,
    sampler: SamplerWeights | None = None,
    order: ClassOrder | None = None,
) -> bytes:
    """Class weights as a JSON file that training code can load.

    Keys: ``method``, ``params``, ``class_order`` (``rule``: the sentence saying how
    classes are numbered, ``numeric``: whether keys are integers; see
    :func:`balance_core.classes.class_order`), ``classes`` (the labels as written, in
    class index order), ``keys`` (the value training code sees for each class, in the
    same order: integers for labels that are all whole numbers), ``class_to_index``,
    ``counts``, ``weights`` (by label), ``weights_by_index``, ``loss_share_before``
    (n_c / N), ``loss_share_after`` (n_c w_c / sum_j n_j w_j), ``spread`` (max / min
    weight), ``clipped``, ``warnings``, ``seesaw_version``, and with ``sampler`` a
    ``sampler`` object: ``method``, ``sample_weight`` (the weight of one sample of each
    class), ``sample_weight_by_index``, ``num_samples``, ``replacement``,
    ``draw_share``, ``expected_distinct`` (per class, n_c (1 - (1 - p_c)^M)),
    ``expected_distinct_total``, ``loss`` (use an unweighted loss: the sampler already
    corrects) and ``warnings``.

    Parameters
    ----------
    weights : ClassWeights
    sampler : SamplerWeights, optional
        Per-sample weights for ``WeightedRandomSampler`` on the same classes and
        counts.
    order : ClassOrder, optional
        The class order of the data (:func:`balance_core.classes.dataset_class_order`);
        by default the rule for a table (numeric order when every label is a whole
        number). Pass it for class folders, which training code numbers as text.

    Returns
    -------
    bytes
        UTF-8 JSON, keys sorted, floats written with full precision (``repr``),
        never NaN or Infinity; the same bytes for the same input.
    """
    if not isinstance(weights, ClassWeights):
        raise _bad(f"weights must be ClassWeights, got {type(weights).__name__}.")
    order = _order_for(weights, order)
    document = _weights_section(weights, order)
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
            "sample_weight_by_index": [_finite(w, "A sample weight") for w in
                                       order.ordered(own.weights)],
            "num_samples": int(sampler.num_samples),
            "replacement": True,
            "draw_share": dict(sampler.draw_share),
            "expected_distinct": dict(sampler.expected_distinct),
            "expected_distinct_total": float(sampler.expected_distinct_total),
            "loss": DOUBLE_CORRECTION,
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


def _comment(text: str, width: int = 88) -> str:
    """``text`` as ``#`` comment lines (the rule sentences hold no user data)."""
    lines, line = [], "#"
    for word in text.split():
        if len(line) + 1 + len(word) > width and line != "#":
            lines.append(line)
            line = "#"
        line += " " + word
    return "\n".join([*lines, line])


def _index_comment(order: ClassOrder, counts: dict[str, int]) -> str:
    # repr() escapes newlines and quotes: a label cannot end the comment line.
    return "\n".join(
        f"#   {index}: {label!r} ({counts[label]:,} samples)"
        for index, label in enumerate(order.labels)
    )


def _preamble(order: ClassOrder, counts: dict[str, int]) -> str:
    """The class order and ``y_index``: every sample's class index, from its label ``y``."""
    keys = ", ".join(str(k) if order.numeric else repr(k) for k in order.keys)
    if order.numeric:
        convert = (
            "# y: the label of every training sample, read as text or as numbers.\n"
            "y_index = np.array([class_to_index[int(v)] for v in y], dtype=np.int64)\n"
        )
    else:
        convert = (
            "# y: the label of every training sample as text (read the column with dtype=str).\n"
            "y_index = np.array([class_to_index[str(v)] for v in y], dtype=np.int64)\n"
        )
    return (
        f"{_comment(order.rule)}\n"
        f"{_index_comment(order, counts)}\n"
        f"classes = [{keys}]\n"
        "class_to_index = {c: i for i, c in enumerate(classes)}\n"
        f"{convert}"
    )


def _scale_pos_weight(weights: ClassWeights, order: ClassOrder) -> tuple[float, str]:
    """XGBoost/LightGBM's ``scale_pos_weight`` for two classes, and how it was made."""
    negative, positive = order.labels
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


def snippets(
    weights: ClassWeights,
    *,
    sampler: SamplerWeights | None = None,
    order: ClassOrder | None = None,
) -> dict[str, str]:
    """Code that puts the class weights into common training libraries.

    Every snippet starts by stating the class order (see
    :func:`balance_core.classes.class_order`) and turning ``y``, the label of every
    training sample, into ``y_index``, its class index; labels that are all whole
    numbers are read with ``int()``, so ``y`` may hold them as text or as numbers.
    Labels are written as Python literals (``repr``), so no label can break out of its
    string or comment; floats are written with ``repr`` so they read back exactly.
    Each snippet runs as it is once ``y`` and ``X`` (or ``model`` for Keras,
    ``train_dataset`` for the sampler) exist.

    Parameters
    ----------
    weights : ClassWeights
    sampler : SamplerWeights, optional
        For ``pytorch_sampler``: its per-class sample weights and ``num_samples``.
        Without it, ``weights`` serve as the sample weights and an epoch draws as
        many samples as there are.
    order : ClassOrder, optional
        The class order of the data (:func:`balance_core.classes.dataset_class_order`);
        by default the rule for a table. Pass it for class folders.

    Returns
    -------
    dict of str to str
        ``pytorch`` (``CrossEntropyLoss(weight=...)``), ``pytorch_sampler``
        (``WeightedRandomSampler``, with a note not to weight the loss as well),
        ``keras`` (``class_weight`` by class index), ``sklearn`` (``class_weight`` by
        label, keys as scikit-learn sees them), ``xgboost`` and ``lightgbm``
        (``scale_pos_weight`` for two classes, the positive class being class index 1;
        ``sample_weight`` for more).
    """
    if not isinstance(weights, ClassWeights):
        raise _bad(f"weights must be ClassWeights, got {type(weights).__name__}.")
    order = _order_for(weights, order)
    counts = weights.counts
    preamble = _preamble(order, counts)
    values = ", ".join(_number(w) for w in order.ordered(weights.weights))
    method = f"# Class weights ({weights.method!r}) in class index order."
    result = {
        "pytorch": (
            "import numpy as np\nimport torch\n\n"
            f"{preamble}"
            f"{method}\n"
            f"class_weight = torch.tensor([{values}], dtype=torch.float32)\n"
            "criterion = torch.nn.CrossEntropyLoss(weight=class_weight)\n"
            "# In the training loop: loss = criterion(logits, targets), targets being\n"
            "# class indices (torch.as_tensor(y_index) for the whole set).\n"
        ),
    }
    source = sampler.class_weights if sampler is not None else weights
    if sampler is not None and set(source.labels) != set(order.labels):
        raise _bad("The sampler weights are for other classes than the class weights.")
    draws = (
        f"num_samples={int(sampler.num_samples)}"
        if sampler is not None
        else "num_samples=len(sample_weights)"
    )
    sample_values = ", ".join(_number(w) for w in order.ordered(source.weights))
    result["pytorch_sampler"] = (
        "import numpy as np\nimport torch\n"
        "from torch.utils.data import DataLoader, WeightedRandomSampler\n\n"
        f"{preamble}"
        f"# Weight of one sample of each class ({source.method!r}), in class index order:\n"
        f"class_sample_weight = torch.tensor([{sample_values}], dtype=torch.double)\n"
        "sample_weights = class_sample_weight[torch.as_tensor(y_index, dtype=torch.long)]\n"
        f"sampler = WeightedRandomSampler(sample_weights, {draws}, replacement=True)\n"
        f"{_comment(DOUBLE_CORRECTION)}\n"
        "criterion = torch.nn.CrossEntropyLoss()\n"
        "loader = DataLoader(train_dataset, batch_size=32, sampler=sampler)  # no shuffle=True\n"
    )
    by_index = ", ".join(f"{i}: {v}" for i, v in enumerate(values.split(", ")))
    result["keras"] = (
        "import numpy as np\n\n"
        f"{preamble}"
        f"{method} Keys are class indices, and the model is\n"
        "# trained on y_index (image_dataset_from_directory yields these indices itself).\n"
        f"class_weight = {{{by_index}}}\n"
        "model.fit(X, y_index, epochs=10, class_weight=class_weight)\n"
    )
    key_text = [str(k) if order.numeric else repr(k) for k in order.keys]
    by_key = ", ".join(
        f"{key}: {_number(weights.weights[label])}"
        for key, label in zip(key_text, order.labels, strict=True)
    )
    as_seen = (
        "y_fit = np.array([int(v) for v in y])  # y as numbers, so the keys match\n"
        if order.numeric
        else "y_fit = np.array([str(v) for v in y])  # y as text, so the keys match\n"
    )
    result["sklearn"] = (
        "import numpy as np\nfrom sklearn.linear_model import LogisticRegression\n\n"
        f"{_comment(order.rule)}\n"
        f"# Class weights ({weights.method!r}); keys are the labels as scikit-learn sees them.\n"
        f"class_weight = {{{by_key}}}\n"
        f"{as_seen}"
        "model = LogisticRegression(class_weight=class_weight)\n"
        "model.fit(X, y_fit)\n"
    )
    if len(order.labels) == 2:
        value, how = _scale_pos_weight(weights, order)
        negative, positive = order.labels
        header = (
            f"{preamble}"
            f"# Positive class: {positive!r} (class index 1); negative: {negative!r} (index 0).\n"
            f"# scale_pos_weight = {how}\n"
            f"scale_pos_weight = {_number(value)}\n"
        )
        result["xgboost"] = (
            "import numpy as np\nimport xgboost as xgb\n\n"
            f"{header}"
            "model = xgb.XGBClassifier(scale_pos_weight=scale_pos_weight)\n"
            "model.fit(X, y_index)  # XGBoost wants class indices 0 .. K-1\n"
        )
        result["lightgbm"] = (
            "import lightgbm as lgb\nimport numpy as np\n\n"
            f"{header}"
            "model = lgb.LGBMClassifier(scale_pos_weight=scale_pos_weight)\n"
            "model.fit(X, y_index)\n"
        )
    else:
        header = (
            f"{preamble}"
            f"{method} Each sample gets its class's\n"
            "# weight through sample_weight (scale_pos_weight is for two classes only).\n"
            f"class_weight = np.array([{values}])\n"
            "sample_weight = class_weight[y_index]\n"
        )
        result["xgboost"] = (
            "import numpy as np\nimport xgboost as xgb\n\n"
            f"{header}"
            "model = xgb.XGBClassifier()\n"
            "model.fit(X, y_index, sample_weight=sample_weight)  # class indices 0 .. K-1\n"
        )
        result["lightgbm"] = (
            "import lightgbm as lgb\nimport numpy as np\n\n"
            f"{header}"
            "model = lgb.LGBMClassifier()\n"
            "model.fit(X, y_index, sample_weight=sample_weight)\n"
        )
    return result
