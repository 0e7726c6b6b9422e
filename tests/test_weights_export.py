"""Weights handed to training code: the weights JSON, and snippets that really run
(scikit-learn) or parse (PyTorch, Keras)."""

from __future__ import annotations

import ast
import json
import math

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from balance_core import DatasetError, __version__
from balance_core.export import snippets, weights_json
from balance_core.plan import ClassWeights, class_weights, sampler_weights

HOSTILE = ['"); import os #', "x'\nimport os\n#", "back\\slash"]


# --------------------------------------------------------------------------- weights JSON


def no_constants(name: str) -> float:
    raise AssertionError(f"JSON holds the non-standard constant {name}")


def test_weights_json_keys_and_values() -> None:
    weights = class_weights({"dog": 600, "cat": 100}, method="balanced")
    document = json.loads(weights_json(weights), parse_constant=no_constants)
    assert sorted(document) == sorted(
        [
            "method", "params", "class_order", "classes", "keys", "class_to_index", "counts",
            "weights", "weights_by_index", "loss_share_before", "loss_share_after", "spread",
            "clipped", "warnings", "seesaw_version",
        ]
    )  # fmt: skip
    assert document["method"] == "balanced"
    assert document["params"] == {"beta": None, "normalize": "source", "max_ratio": None}
    assert document["classes"] == ["cat", "dog"]
    assert document["class_to_index"] == {"cat": 0, "dog": 1}
    assert document["counts"] == {"cat": 100, "dog": 600}
    assert document["weights"] == {"cat": 700 / 200, "dog": 700 / 1200}
    assert document["weights_by_index"] == [3.5, 0.5833333333333334]
    assert document["loss_share_before"] == {"cat": 100 / 700, "dog": 600 / 700}
    assert document["loss_share_after"] == {"cat": 0.5, "dog": 0.5}
    assert document["spread"] == 6.0
    assert document["clipped"] == []
    assert document["warnings"] == []
    assert document["seesaw_version"] == __version__


def test_weights_json_sampler_section() -> None:
    counts = {"a": 30, "b": 900, "c": 70}
    weights = class_weights(counts, method="effective_number", beta=0.99, max_ratio=2)
    sampler = sampler_weights(counts, num_samples=600)
    document = json.loads(weights_json(weights, sampler=sampler), parse_constant=no_constants)
    section = document["sampler"]
    assert section["method"] == "inverse"
    assert section["num_samples"] == 600
    assert section["replacement"] is True
    assert section["sample_weight"] == sampler.class_weights.weights
    assert section["sample_weight_by_index"] == sampler.class_weights.as_list
    assert section["expected_distinct"] == sampler.expected_distinct
    assert section["expected_distinct_total"] == sampler.expected_distinct_total
    assert section["draw_share"] == sampler.draw_share
    # The loss weights are the clipped effective-number ones, to the last bit.
    assert document["weights"] == weights.weights
    assert document["clipped"] == list(weights.clipped) != []
    assert document["params"]["max_ratio"] == 2


def test_weights_json_is_deterministic_sorted_and_full_precision() -> None:
    weights = class_weights({"x": 3, "y": 7, "z": 11}, method="sqrt_inverse")
    data = weights_json(weights)
    assert data == weights_json(weights)
    assert data.endswith(b"}\n")
    document = json.loads(data)
    assert list(document) == sorted(document)
    for label, value in weights.weights.items():
        assert repr(value).encode() in data
        assert document["weights"][label] == value


def test_weights_json_refuses_non_finite_values() -> None:
    broken = ClassWeights(method="custom", counts={"a": 1, "b": 2}, weights={"a": math.nan, "b": 1})
    with pytest.raises(DatasetError) as caught:
        weights_json(broken)
    assert caught.value.kind == "bad_parameter"
    infinite = ClassWeights(
        method="custom", counts={"a": 1, "b": 2}, weights={"a": math.inf, "b": 1}
    )
    with pytest.raises(DatasetError):
        weights_json(infinite)


def test_weights_json_refuses_a_sampler_for_other_counts() -> None:
    weights = class_weights({"a": 10, "b": 20})
    with pytest.raises(DatasetError) as caught:
        weights_json(weights, sampler=sampler_weights({"a": 10, "b": 21}))
    assert caught.value.kind == "bad_parameter"


# --------------------------------------------------------------------------- snippets


def call_named(tree: ast.AST, name: str) -> list[ast.Call]:
    return [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and ast.unparse(node.func).endswith(name)
    ]


def assigned(tree: ast.Module, target: str) -> ast.expr:
    for node in tree.body:
        if isinstance(node, ast.Assign) and ast.unparse(node.targets[0]) == target:
            return node.value
    raise KeyError(target)


def imported(tree: ast.AST) -> set[str]:
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            names.add(node.module or "")
    return names


def test_sklearn_snippet_runs_and_fits_with_the_weights() -> None:
    counts = {"benign": 40, "malignant": 8, "unclear": 12}
    weights = class_weights(counts, method="effective_number", beta=0.9)
    rng = np.random.default_rng(0)
    y = np.array([label for label, n in counts.items() for _ in range(n)], dtype=object)
    centres = {"benign": 0.0, "malignant": 2.0, "unclear": -2.0}
    x = np.array([[centres[v] + rng.normal(), rng.normal()] for v in y])
    namespace: dict = {"X": x, "y": y}
    # The real snippet, run for real: fit fails if a key of class_weight is not in y.
    exec(snippets(weights)["sklearn"], namespace)
    class_weight = namespace["class_weight"]
    assert class_weight == weights.weights
    assert list(class_weight) == ["benign", "malignant", "unclear"]
    model = namespace["model"]
    assert isinstance(model, LogisticRegression)
    reference = LogisticRegression().fit(x, y, sample_weight=[weights.weights[v] for v in y])
    np.testing.assert_allclose(model.coef_, reference.coef_, rtol=1e-6, atol=1e-8)
    unweighted = LogisticRegression().fit(x, y)
    assert not np.allclose(model.coef_, unweighted.coef_, rtol=1e-3)


def test_pytorch_snippet_has_the_weights_in_index_order() -> None:
    weights = class_weights({"real": 100, "attack": 630, "print": 3}, method="balanced")
    code = snippets(weights)["pytorch"]
    tree = ast.parse(code)
    (loss,) = call_named(tree, "torch.nn.CrossEntropyLoss")
    assert ast.unparse(loss) == "torch.nn.CrossEntropyLoss(weight=class_weight)"
    (tensor,) = call_named(assigned(tree, "class_weight"), "torch.tensor")
    assert ast.literal_eval(tensor.args[0]) == weights.as_list
    assert weights.labels == ("attack", "print", "real")
    for index, label in enumerate(weights.labels):
        assert f"#   {index}: {label!r} ({weights.counts[label]:,} samples)\n" in code
    assert imported(tree) == {"numpy", "torch"}


def test_pytorch_sampler_snippet() -> None:
    counts = {"a": 10, "b": 990}
    weights = class_weights(counts, method="inverse")
    tree = ast.parse(snippets(weights)["pytorch_sampler"])
    (tensor,) = call_named(assigned(tree, "class_sample_weight"), "torch.tensor")
    assert ast.literal_eval(tensor.args[0]) == weights.as_list
    (sampler_call,) = call_named(tree, "WeightedRandomSampler")
    keywords = {k.arg: ast.unparse(k.value) for k in sampler_call.keywords}
    assert keywords == {"num_samples": "len(sample_weights)", "replacement": "True"}
    assert ast.unparse(assigned(tree, "sample_weights")) == (
        "class_sample_weight[torch.as_tensor(y_index, dtype=torch.long)]"
    )
    sampler = sampler_weights(counts, num_samples=500, method="sqrt_inverse")
    tree = ast.parse(snippets(weights, sampler=sampler)["pytorch_sampler"])
    (tensor,) = call_named(assigned(tree, "class_sample_weight"), "torch.tensor")
    assert ast.literal_eval(tensor.args[0]) == sampler.class_weights.as_list
    (sampler_call,) = call_named(tree, "WeightedRandomSampler")
    assert {k.arg: ast.unparse(k.value) for k in sampler_call.keywords}["num_samples"] == "500"


def test_keras_snippet_maps_class_indices_to_weights() -> None:
    weights = class_weights({"c": 5, "a": 50, "b": 20}, method="median_frequency")
    tree = ast.parse(snippets(weights)["keras"])
    class_weight = ast.literal_eval(assigned(tree, "class_weight"))
    assert class_weight == dict(enumerate(weights.as_list))
    assert list(class_weight) == [0, 1, 2]
    (fit,) = call_named(tree, "model.fit")
    assert [k.arg for k in fit.keywords] == ["epochs", "class_weight"]


def test_xgboost_and_lightgbm_scale_pos_weight_is_negatives_over_positives() -> None:
    weights = class_weights({"normal": 600, "cancer": 100}, method="balanced")
    # Sorted order: cancer (index 0, negative), normal (index 1, positive).
    for key, call in (("xgboost", "xgb.XGBClassifier"), ("lightgbm", "lgb.LGBMClassifier")):
        code = snippets(weights)[key]
        tree = ast.parse(code)
        assert ast.literal_eval(assigned(tree, "scale_pos_weight")) == 100 / 600
        (model,) = call_named(tree, call)
        assert ast.unparse(model) == f"{call}(scale_pos_weight=scale_pos_weight)"
        assert "# Positive class: 'normal' (class index 1" in code
        assert "negative: 'cancer' (index 0)" in code


def test_scale_pos_weight_follows_clipped_weights() -> None:
    weights = class_weights({"neg": 1000, "pos": 10}, method="balanced", max_ratio=5)
    assert weights.clipped == ("pos",)
    tree = ast.parse(snippets(weights)["xgboost"])
    value = ast.literal_eval(assigned(tree, "scale_pos_weight"))
    assert value == weights.weights["pos"] / weights.weights["neg"] == pytest.approx(5.0)


def test_more_than_two_classes_get_boosting_snippets_with_sample_weight() -> None:
    every = {"pytorch", "pytorch_sampler", "keras", "sklearn", "xgboost", "lightgbm"}
    three = snippets(class_weights({"a": 1, "b": 2, "c": 3}))
    assert set(three) == every
    assert "model = xgb.XGBClassifier()\n" in three["xgboost"]
    assert "sample_weight=sample_weight" in three["xgboost"]
    two = snippets(class_weights({"a": 1, "b": 2}))
    assert set(two) == every
    assert "scale_pos_weight=scale_pos_weight" in two["lightgbm"]


def test_hostile_labels_stay_string_literals() -> None:
    counts = dict(zip(HOSTILE, (3, 5, 7), strict=True))
    weights = class_weights(counts)
    head = ["classes", "class_to_index", "y_index"]
    expected = {  # key: (modules imported, names assigned)
        "pytorch": ({"numpy", "torch"}, [*head, "class_weight", "criterion"]),
        "pytorch_sampler": (
            {"numpy", "torch", "torch.utils.data"},
            [*head, "class_sample_weight", "sample_weights", "sampler", "criterion", "loader"],
        ),
        "keras": ({"numpy"}, [*head, "class_weight"]),
        "sklearn": ({"numpy", "sklearn.linear_model"}, ["class_weight", "y_fit", "model"]),
    }
    code = snippets(weights)
    for key, (modules, targets) in expected.items():
        tree = ast.parse(code[key])
        assert imported(tree) == modules, key
        assert [ast.unparse(n.targets[0]) for n in tree.body if isinstance(n, ast.Assign)] == (
            targets
        ), key
        for label in HOSTILE:  # each label sits in a comment as a literal, never as code
            assert f"{label!r}" in code[key]
    class_weight = ast.literal_eval(assigned(ast.parse(code["sklearn"]), "class_weight"))
    assert class_weight == weights.weights
    assert set(class_weight) == set(HOSTILE)
    namespace: dict = {"X": np.zeros((3, 1)), "y": list(HOSTILE)}
    exec(code["sklearn"], namespace)
    assert namespace["class_weight"] == weights.weights
    binary = snippets(class_weights({HOSTILE[0]: 2, HOSTILE[1]: 9}))
    for key in ("xgboost", "lightgbm"):
        tree = ast.parse(binary[key])
        assert [ast.unparse(n.targets[0]) for n in tree.body if isinstance(n, ast.Assign)] == [
            *head, "scale_pos_weight", "model",
        ]  # fmt: skip
        assert imported(tree) == {"numpy", "xgboost" if key == "xgboost" else "lightgbm"}


def test_a_hostile_method_name_stays_in_its_comment() -> None:
    odd = ClassWeights(
        method="custom\nimport os", counts={"a": 1, "b": 4}, weights={"a": 2.0, "b": 3.0}
    )
    code = snippets(odd)
    assert imported(ast.parse(code["pytorch"])) == {"numpy", "torch"}
    tree = ast.parse(code["xgboost"])
    assert imported(tree) == {"numpy", "xgboost"}
    assert ast.literal_eval(assigned(tree, "scale_pos_weight")) == 1.5


def test_snippet_floats_read_back_exactly() -> None:
    counts = {"a": 7, "b": 13, "c": 1931}
    weights = class_weights(counts, method="effective_number", beta=0.9999, normalize="mean")
    tree = ast.parse(snippets(weights)["keras"])
    values = list(ast.literal_eval(assigned(tree, "class_weight")).values())
    assert values == weights.as_list
    assert all(len(repr(v)) > 10 for v in values)


def test_snippets_refuse_non_finite_weights() -> None:
    broken = ClassWeights(method="custom", counts={"a": 1, "b": 2}, weights={"a": math.inf, "b": 1})
    with pytest.raises(DatasetError):
        snippets(broken)
