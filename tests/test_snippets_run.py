"""Every weights snippet RUN with the real library, on numeric and text labels, with y
read as text and as numbers (issue 10, items 1 and 2).

scikit-learn, XGBoost and LightGBM run here; PyTorch and Keras run in the tests marked
``heavy`` (``pytest -m heavy``, after ``pip install torch keras``).
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import LabelEncoder
from sklearn.utils.class_weight import compute_class_weight, compute_sample_weight

from balance_core.classes import class_order
from balance_core.plan import class_weights, sampler_weights
from balance_core.weights_export import DOUBLE_CORRECTION, snippets, weights_json

# (labels as written, count of each): the commonest numeric labels, signs, ids, text.
CASES = {
    "0/1": {"0": 90, "1": 10},
    "+1/-1": {"+1": 12, "-1": 88},
    "1..10": {str(i): 5 + 3 * i for i in range(1, 11)},
    "ids 10..132": {str(i): 4 + (i % 7) for i in range(10, 133, 11)},
    "01/02/10": {"01": 30, "02": 12, "10": 6},
    "text binary": {"real": 14, "attack": 86},
    "text multi": {"cat": 40, "dog": 15, "bird": 9},
}


def _data(counts: dict[str, int], *, as_numbers: bool, seed: int = 0):
    """X with signal, and y as a CSV reader gives it: text as written, or numbers."""
    rng = np.random.default_rng(seed)
    labels = [label for label, n in counts.items() for _ in range(n)]
    rng.shuffle(labels)
    order = sorted(counts)
    signal = np.array([order.index(v) for v in labels], dtype=float)
    X = np.column_stack([signal + rng.normal(scale=0.3, size=len(labels)),
                         rng.normal(size=len(labels))])  # fmt: skip
    y = np.array([int(v) for v in labels]) if as_numbers else np.array(labels, dtype=object)
    return X, y, labels


def _variants():
    for name, counts in CASES.items():
        numeric = class_order(counts).numeric
        for as_numbers in (False, True) if numeric else (False,):
            yield pytest.param(counts, as_numbers, id=f"{name}-{'int' if as_numbers else 'text'}")


def _run(code: str, **names):
    namespace = dict(names)
    exec(compile(code, "<snippet>", "exec"), namespace)
    return namespace


def _expected_index(counts, labels):
    """Class indices as scikit-learn's LabelEncoder gives them on y read as numbers
    (numeric labels) or as text."""
    if class_order(counts).numeric:
        return LabelEncoder().fit_transform(np.array([int(v) for v in labels]))
    return LabelEncoder().fit_transform(np.array(labels))


@pytest.mark.parametrize(("counts", "as_numbers"), list(_variants()))
def test_sklearn_snippet_runs_and_matches_balanced(counts, as_numbers):
    X, y, _ = _data(counts, as_numbers=as_numbers)
    code = snippets(class_weights(counts))["sklearn"]
    ns = _run(code, X=X, y=y)
    ours = ns["model"]
    y_fit = ns["y_fit"]
    reference = LogisticRegression(class_weight="balanced").fit(X, y_fit)
    np.testing.assert_allclose(ours.coef_, reference.coef_, rtol=1e-6, atol=1e-8)
    np.testing.assert_array_equal(ours.classes_, reference.classes_)
    expected = compute_class_weight("balanced", classes=ours.classes_, y=y_fit)
    got = [ns["class_weight"][c] for c in ours.classes_]
    np.testing.assert_allclose(got, expected, rtol=1e-12)
    if class_order(counts).numeric:
        assert ours.classes_.dtype.kind == "i"  # integer keys, as the reader gives them


@pytest.mark.parametrize(("counts", "as_numbers"), list(_variants()))
@pytest.mark.parametrize("library", ["xgboost", "lightgbm"])
def test_boosting_snippets_run_with_the_right_positive_class(counts, as_numbers, library):
    X, y, labels = _data(counts, as_numbers=as_numbers)
    weights = class_weights(counts)
    code = snippets(weights)[library]
    ns = _run(code, X=X, y=y)
    np.testing.assert_array_equal(ns["y_index"], _expected_index(counts, labels))
    model = ns["model"]
    assert model.n_classes_ == len(counts)
    if len(counts) == 2:
        order = class_order(counts)
        negative, positive = order.labels
        assert model.get_params()["scale_pos_weight"] == pytest.approx(
            counts[negative] / counts[positive]
        )
        if counts == CASES["+1/-1"]:
            assert (negative, positive) == ("-1", "+1")  # numeric order, not text order
    else:
        numeric_y = [int(v) for v in labels] if class_order(counts).numeric else labels
        np.testing.assert_allclose(
            ns["sample_weight"], compute_sample_weight("balanced", np.array(numeric_y))
        )


def test_plus_minus_one_is_not_inverted():
    counts = CASES["+1/-1"]
    code = snippets(class_weights(counts))["xgboost"]
    assert "Positive class: '+1' (class index 1); negative: '-1'" in code
    assert "scale_pos_weight = 88 / 12" in code.replace("n_negative / n_positive = ", "")


def test_weights_json_states_the_rule_and_integer_keys():
    document = json.loads(weights_json(class_weights(CASES["1..10"])))
    assert document["classes"] == [str(i) for i in range(1, 11)]
    assert document["keys"] == list(range(1, 11))
    assert document["class_order"]["numeric"] is True
    assert "numeric order" in document["class_order"]["rule"]
    expected = compute_class_weight(
        "balanced",
        classes=np.arange(1, 11),
        y=np.repeat(np.arange(1, 11), [CASES["1..10"][str(i)] for i in range(1, 11)]),
    )
    np.testing.assert_allclose(document["weights_by_index"], expected, rtol=1e-12)


def test_folder_order_is_text_order():
    counts = {"1": 5, "10": 7, "2": 9}
    order = class_order(counts, folders=True)
    document = json.loads(weights_json(class_weights(counts), order=order))
    assert document["classes"] == ["1", "10", "2"]
    assert document["keys"] == ["1", "10", "2"]
    assert "ImageFolder" in document["class_order"]["rule"]
    code = snippets(class_weights(counts), order=order)["keras"]
    assert "classes = ['1', '10', '2']" in code


def test_same_number_written_twice_is_text():
    order = class_order(["1", "01", "2"])
    assert not order.numeric and order.labels == ("01", "1", "2")
    assert "'01' and '1'" in order.rule


@pytest.mark.parametrize("name", sorted(CASES))
def test_every_snippet_states_the_class_order(name):
    weights = class_weights(CASES[name])
    rule = class_order(CASES[name]).rule.split()[:6]
    for key, code in snippets(weights, sampler=sampler_weights(CASES[name])).items():
        assert " ".join(rule) in " ".join(code.replace("#", " ").split()), key


def test_sampler_snippet_keeps_num_samples_and_warns_of_double_correction():
    counts = CASES["text multi"]
    sampler = sampler_weights(counts, num_samples=500)
    code = snippets(class_weights(counts), sampler=sampler)["pytorch_sampler"]
    assert "num_samples=500" in code
    assert "corrects the imbalance twice" in " ".join(code.replace("#", " ").split())
    assert "CrossEntropyLoss()" in code
    document = json.loads(weights_json(sampler.class_weights, sampler=sampler))
    assert document["sampler"]["num_samples"] == 500
    assert document["sampler"]["loss"] == DOUBLE_CORRECTION


# --------------------------------------------------------------------------- heavy


@pytest.mark.heavy
@pytest.mark.parametrize(("counts", "as_numbers"), list(_variants()))
def test_pytorch_snippets_run(counts, as_numbers):
    import torch
    from torch.utils.data import TensorDataset

    X, y, labels = _data(counts, as_numbers=as_numbers)
    weights = class_weights(counts)
    sampler = sampler_weights(counts, num_samples=64)
    code = snippets(weights, sampler=sampler)
    ns = _run(code["pytorch"], y=y)
    order = class_order(counts)
    np.testing.assert_allclose(
        ns["criterion"].weight.numpy(), order.ordered(weights.weights), rtol=1e-6
    )
    targets = torch.as_tensor(ns["y_index"])
    np.testing.assert_array_equal(targets.numpy(), _expected_index(counts, labels))
    logits = torch.zeros(len(y), len(counts))
    assert torch.isfinite(ns["criterion"](logits, targets))
    dataset = TensorDataset(torch.as_tensor(X, dtype=torch.float32), targets)
    ns = _run(code["pytorch_sampler"], y=y, train_dataset=dataset)
    assert ns["sampler"].num_samples == 64
    batches = list(ns["loader"])
    assert sum(len(b[1]) for b in batches) == 64


@pytest.mark.heavy
@pytest.mark.parametrize(("counts", "as_numbers"), list(_variants()))
def test_keras_snippet_runs(counts, as_numbers):
    import keras

    X, y, labels = _data(counts, as_numbers=as_numbers)
    model = keras.Sequential(
        [keras.Input(shape=(X.shape[1],)), keras.layers.Dense(len(counts), activation="softmax")]
    )
    model.compile(loss="sparse_categorical_crossentropy", optimizer="sgd")
    code = snippets(class_weights(counts))["keras"].replace("epochs=10", "epochs=1, verbose=0")
    ns = _run(code, X=X, y=y, model=model)
    np.testing.assert_array_equal(ns["y_index"], _expected_index(counts, labels))
    assert sorted(ns["class_weight"]) == list(range(len(counts)))
