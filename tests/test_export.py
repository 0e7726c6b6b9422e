"""Export: CSV read back by Python's csv module, Parquet, the weights JSON, snippets that
really run (scikit-learn) or parse (PyTorch, Keras), balanced zips copied without
recompressing, and atomic writes that never clobber a file."""

from __future__ import annotations

import ast
import csv
import io
import json
import math
import os
import stat
import struct
import zipfile
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from PIL import Image
from sklearn.linear_model import LogisticRegression

from balance_core import DatasetError, __version__, export
from balance_core.apply import counts_for, resample
from balance_core.export import (
    balanced_zip,
    snippets,
    table_csv,
    table_parquet,
    weights_json,
    write_atomic,
    write_atomic_many,
    write_table_csv,
)
from balance_core.plan import ClassWeights, class_weights, plan_oversample, sampler_weights
from balance_core.readers import read_zip

DATE = (2023, 5, 6, 7, 8, 10)
HOSTILE = ['"); import os #', "x'\nimport os\n#", "back\\slash"]


def parse_csv(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))


# --------------------------------------------------------------------------- CSV


def test_csv_round_trips_through_python_csv() -> None:
    text = ["plain", "a,b", 'say "hi"', "two\nlines", "crlf\r\ninside", "ünï ☃ 猫", None, ""]
    table = pa.table(
        {
            "text": text,
            "n": pa.array([1, -2, None, 4, 5, 6, 7, 8], pa.int64()),
            "x": [0.1, -1.5, 2.0, None, 1e-300, 0.30000000000000004, -0.0, 3.25],
        }
    )
    rows = parse_csv(table_csv(table))
    assert rows[0] == ["text", "n", "x"]
    assert [r[0] for r in rows[1:]] == [t if t is not None else "" for t in text]
    assert [r[1] for r in rows[1:]] == ["1", "-2", "", "4", "5", "6", "7", "8"]
    floats = [float(r[2]) if r[2] else None for r in rows[1:]]
    assert floats == table["x"].to_pylist()  # every float reads back exactly
    assert len(rows) == 9


def test_csv_keeps_null_apart_from_empty_string() -> None:
    data = table_csv(pa.table({"a": [None, ""], "b": [1, 2]}))
    assert data == b'"a","b"\r\n,1\r\n"",2\r\n'


def test_csv_lines_end_with_crlf() -> None:
    data = table_csv(pa.table({"a": ["x", "y", "z"], "b": [1, 2, 3]}))
    assert data.endswith(b"\r\n")
    assert data.count(b"\r\n") == 4
    assert data.count(b"\n") == 4  # no bare LF
    assert data.split(b"\r\n")[:-1] == [b'"a","b"', b'"x",1', b'"y",2', b'"z",3']


@pytest.mark.parametrize("first", ["=", "+", "-", "@", "\t", "\r"])
def test_csv_neutralises_each_formula_prefix(first: str) -> None:
    value = first + 'HYPERLINK("http://evil","x")'
    rows = parse_csv(table_csv(pa.table({"v": [value, "safe"]})))
    assert rows[1] == ["'" + value]
    assert rows[2] == ["safe"]


def test_csv_leaves_numbers_and_safe_strings_alone() -> None:
    safe = ["a=b", " =1", "'quoted", "1+1", "", "é=", "x-1"]
    table = pa.table(
        {
            "s": safe,
            "i": pa.array([-1, -2, 3, 4, 5, 6, -7], pa.int32()),
            "f": [-1.5, -0.25, 1.0, 2.0, 3.0, 4.0, -5.0],
        }
    )
    rows = parse_csv(table_csv(table))
    assert [r[0] for r in rows[1:]] == safe
    assert [r[1] for r in rows[1:]] == ["-1", "-2", "3", "4", "5", "6", "-7"]
    assert [r[2] for r in rows[1:]] == ["-1.5", "-0.25", "1", "2", "3", "4", "-5"]


def test_csv_neutralize_off_keeps_raw_values() -> None:
    values = ["=1+1", "-2x", "@SUM(A1)", "+x", "\tt"]
    table = pa.table({"=col": values})
    rows = parse_csv(table_csv(table, neutralize_formulas=False))
    assert rows == [["=col"], *[[v] for v in values]]
    rows = parse_csv(table_csv(table))
    assert rows == [["'=col"], *[["'" + v] for v in values]]


def test_csv_neutralises_dictionary_and_large_string_columns() -> None:
    table = pa.table(
        {
            "d": pa.array(["=a", "b", "=a", None]).dictionary_encode(),
            "l": pa.array(["-x", "y", None, "@z"], pa.large_string()),
        }
    )
    rows = parse_csv(table_csv(table))
    assert rows[1:] == [["'=a", "'-x"], ["b", "y"], ["'=a", ""], ["", "'@z"]]


def test_csv_writes_nested_values_as_json_text() -> None:
    table = pa.table({"tags": pa.array([["a", "b"], None, []]), "n": [1, 2, 3]})
    rows = parse_csv(table_csv(table))
    assert rows[1:] == [['["a", "b"]', "1"], ["", "2"], ["[]", "3"]]


def test_csv_is_deterministic_and_independent_of_chunking() -> None:
    whole = pa.table({"a": ["=1", "b", "-c", "d"], "n": [1, 2, 3, 4]})
    chunked = pa.concat_tables([whole.slice(0, 1), whole.slice(1, 2), whole.slice(3)])
    assert chunked["a"].num_chunks == 3
    assert table_csv(whole) == table_csv(whole) == table_csv(chunked)


def test_csv_rejects_what_is_not_a_table() -> None:
    with pytest.raises(DatasetError) as caught:
        table_csv({"a": [1]})  # type: ignore[arg-type]
    assert caught.value.kind == "bad_parameter"


# --------------------------------------------------------------------------- Parquet


def test_parquet_round_trip_keeps_raw_values_and_types() -> None:
    table = pa.table(
        {
            "path": ["a/=1.png", "b/-2.png", None],
            "label": ["=cmd|' /C calc'!A0", "-1", "@x"],
            "class_index": pa.array([0, 1, 1], pa.int32()),
            "w": [0.1, -1.5, 1 / 3],
        }
    )
    data = table_parquet(table)
    assert data == table_parquet(table)
    back = pq.read_table(io.BytesIO(data))
    assert back.schema == table.schema
    assert back.to_pylist() == table.to_pylist()


# --------------------------------------------------------------------------- weights JSON


def no_constants(name: str) -> float:
    raise AssertionError(f"JSON holds the non-standard constant {name}")


def test_weights_json_keys_and_values() -> None:
    weights = class_weights({"dog": 600, "cat": 100}, method="balanced")
    document = json.loads(weights_json(weights), parse_constant=no_constants)
    assert sorted(document) == sorted(
        [
            "method", "params", "classes", "class_to_index", "counts", "weights",
            "weights_by_index", "loss_share_before", "loss_share_after", "spread", "clipped",
            "warnings", "seesaw_version",
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
    namespace: dict = {}
    exec(snippets(weights)["sklearn"], namespace)  # the real snippet, run for real
    class_weight = namespace["class_weight"]
    assert class_weight == weights.weights
    assert list(class_weight) == ["benign", "malignant", "unclear"]
    rng = np.random.default_rng(0)
    y = np.array([label for label, n in counts.items() for _ in range(n)], dtype=object)
    centres = {"benign": 0.0, "malignant": 2.0, "unclear": -2.0}
    x = np.array([[centres[v] + rng.normal(), rng.normal()] for v in y])
    model = namespace["model"]
    assert isinstance(model, LogisticRegression)
    model.fit(x, y)  # fails if a label in class_weight is not a class of y
    reference = LogisticRegression().fit(x, y, sample_weight=[weights.weights[v] for v in y])
    np.testing.assert_allclose(model.coef_, reference.coef_, rtol=1e-6, atol=1e-8)
    unweighted = LogisticRegression().fit(x, y)
    assert not np.allclose(model.coef_, unweighted.coef_, rtol=1e-3)


def test_pytorch_snippet_has_the_weights_in_index_order() -> None:
    weights = class_weights({"real": 100, "attack": 630, "print": 3}, method="balanced")
    code = snippets(weights)["pytorch"]
    tree = ast.parse(code)
    (loss,) = call_named(tree, "torch.nn.CrossEntropyLoss")
    (tensor,) = call_named(loss, "torch.tensor")
    assert ast.literal_eval(tensor.args[0]) == weights.as_list
    assert weights.labels == ("attack", "print", "real")
    for index, label in enumerate(weights.labels):
        assert f"#   {index}: {label!r}\n" in code
    assert imported(tree) == {"torch"}


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
        "class_sample_weight[torch.as_tensor(labels, dtype=torch.long)]"
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


def test_only_two_classes_get_boosting_snippets() -> None:
    three = snippets(class_weights({"a": 1, "b": 2, "c": 3}))
    assert set(three) == {"pytorch", "pytorch_sampler", "keras", "sklearn"}
    two = snippets(class_weights({"a": 1, "b": 2}))
    assert set(two) == {"pytorch", "pytorch_sampler", "keras", "sklearn", "xgboost", "lightgbm"}


def test_hostile_labels_stay_string_literals() -> None:
    counts = dict(zip(HOSTILE, (3, 5, 7), strict=True))
    weights = class_weights(counts)
    expected = {  # key: (modules imported, names assigned)
        "pytorch": ({"torch"}, ["criterion"]),
        "pytorch_sampler": (
            {"torch", "torch.utils.data"},
            ["class_sample_weight", "sample_weights", "sampler", "loader"],
        ),
        "keras": (set(), ["class_weight"]),
        "sklearn": ({"sklearn.linear_model"}, ["class_weight", "model"]),
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
    namespace: dict = {}
    exec(code["sklearn"], namespace)
    assert namespace["class_weight"] == weights.weights
    binary = snippets(class_weights({HOSTILE[0]: 2, HOSTILE[1]: 9}))
    for key in ("xgboost", "lightgbm"):
        tree = ast.parse(binary[key])
        assert [ast.unparse(n.targets[0]) for n in tree.body if isinstance(n, ast.Assign)] == [
            "scale_pos_weight",
            "model",
        ]
        assert imported(tree) == {"xgboost" if key == "xgboost" else "lightgbm"}


def test_a_hostile_method_name_stays_in_its_comment() -> None:
    odd = ClassWeights(
        method="custom\nimport os", counts={"a": 1, "b": 4}, weights={"a": 2.0, "b": 3.0}
    )
    code = snippets(odd)
    assert imported(ast.parse(code["pytorch"])) == {"torch"}
    tree = ast.parse(code["xgboost"])
    assert imported(tree) == {"xgboost"}
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


# --------------------------------------------------------------------------- balanced zip


def png(seed: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (5, 4), (seed % 256, 40, 90)).save(buffer, "PNG")
    return buffer.getvalue()


def local_data(blob: bytes, info: zipfile.ZipInfo) -> bytes:
    """An entry's stored (compressed) bytes, found through its local header."""
    name_len, extra_len = struct.unpack_from("<2H", blob, info.header_offset + 26)
    start = info.header_offset + 30 + name_len + extra_len
    return blob[start : start + info.compress_size]


def source_zip(entries: list[tuple[str, bytes, int]]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data, method in entries:
            info = zipfile.ZipInfo(name, date_time=DATE)
            info.compress_type = method
            archive.writestr(info, data)
    return buffer.getvalue()


FILES = {
    "data/cat/1.jpg": b"cat one " * 50,
    "data/cat/2.jpg": b"cat two " * 40,
    "data/dog/1.jpg": b"\x00\x01dog" * 30,
    "data/dog/2.jpg": bytes(range(256)),
    "data/dog/3.tar.gz": b"not really gz",
}
METHODS = [zipfile.ZIP_DEFLATED, zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_STORED,
           zipfile.ZIP_DEFLATED]  # fmt: skip


@pytest.fixture
def source() -> bytes:
    return source_zip(
        [(name, data, method) for (name, data), method in zip(FILES.items(), METHODS, strict=True)]
    )


MANIFEST = pa.table(
    {
        "row": [0, 0, 0, 2, 3, 3, 4],
        "path": ["data/cat/1.jpg", "data/cat/1.jpg", "data/cat/1.jpg", "data/dog/1.jpg",
                 "data/dog/2.jpg", "data/dog/2.jpg", "data/dog/3.tar.gz"],
        "label": ["cat", "cat", "cat", "dog", "dog", "dog", "dog"],
        "copy": [0, 1, 2, 0, 0, 1, 0],
    }
)  # fmt: skip


def test_balanced_zip_holds_the_manifest_files_without_recompressing(source: bytes) -> None:
    out = balanced_zip(source, MANIFEST)
    original = zipfile.ZipFile(io.BytesIO(source))
    archive = zipfile.ZipFile(io.BytesIO(out))
    assert archive.testzip() is None
    assert archive.namelist() == [
        "data/cat/1.jpg",
        "data/cat/1__copy1.jpg",
        "data/cat/1__copy2.jpg",
        "data/dog/1.jpg",
        "data/dog/2.jpg",
        "data/dog/2__copy1.jpg",
        "data/dog/3.tar.gz",
    ]
    for info, path in zip(archive.infolist(), MANIFEST["path"].to_pylist(), strict=True):
        before = original.getinfo(path)
        assert archive.read(info) == FILES[path]
        assert info.compress_type == before.compress_type
        assert info.compress_size == before.compress_size
        assert info.CRC == before.CRC
        assert info.date_time == DATE
        # The very same compressed bytes, not a recompression that decodes alike.
        assert local_data(out, info) == local_data(source, before)
    assert out == balanced_zip(source, MANIFEST)


def test_balanced_zip_reads_a_path_like_bytes(source: bytes, tmp_path: Path) -> None:
    path = tmp_path / "source.zip"
    path.write_bytes(source)
    assert balanced_zip(path, MANIFEST) == balanced_zip(str(path), MANIFEST)
    assert balanced_zip(path, MANIFEST) == balanced_zip(source, MANIFEST)


def test_balanced_zip_missing_file(source: bytes) -> None:
    manifest = pa.table({"path": ["data/cat/1.jpg", "data/cat/9.jpg"], "copy": [0, 0]})
    with pytest.raises(DatasetError) as caught:
        balanced_zip(source, manifest)
    assert caught.value.kind == "missing_file"
    assert "'data/cat/9.jpg'" in str(caught.value)
    with pytest.raises(DatasetError) as caught:
        balanced_zip(source, pa.table({"path": ["data/cat/"], "copy": [0]}))
    assert caught.value.kind in ("missing_file", "unsafe_entry")


def test_balanced_zip_copy_names_never_collide() -> None:
    data = source_zip([("a/x.png", b"x", 0), ("a/x__copy1.png", b"y", 0), ("a/.hidden", b"h", 0)])
    manifest = pa.table(
        {
            "path": ["a/x.png", "a/x.png", "a/x__copy1.png", "a/x.png", "a/.hidden", "a/.hidden"],
            "copy": [0, 1, 0, 0, 0, 1],
        }
    )
    archive = zipfile.ZipFile(io.BytesIO(balanced_zip(data, manifest)))
    assert archive.namelist() == [
        "a/x.png",
        "a/x__copy2.png",
        "a/x__copy1.png",
        "a/x__copy3.png",
        "a/.hidden",
        "a/.hidden__copy1",
    ]
    assert [archive.read(n) for n in archive.namelist()] == [b"x", b"x", b"y", b"x", b"h", b"h"]


def test_balanced_zip_without_copy_column_and_empty_manifest(source: bytes) -> None:
    archive = zipfile.ZipFile(
        io.BytesIO(balanced_zip(source, pa.table({"path": ["data/dog/2.jpg"]})))
    )
    assert archive.namelist() == ["data/dog/2.jpg"]
    empty = balanced_zip(source, pa.table({"path": pa.array([], pa.string())}))
    assert zipfile.ZipFile(io.BytesIO(empty)).namelist() == []
    with pytest.raises(DatasetError) as caught:
        balanced_zip(source, pa.table({"file": ["data/dog/2.jpg"]}))
    assert caught.value.kind == "no_path_column"


def test_balanced_zip_writes_zip64_records_when_needed(
    source: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(export, "_ZIP64_SIZE", 0)
    monkeypatch.setattr(export, "_ZIP64_COUNT", 0)
    out = balanced_zip(source, MANIFEST)
    assert b"PK\x06\x06" in out and b"PK\x06\x07" in out
    archive = zipfile.ZipFile(io.BytesIO(out))
    assert archive.testzip() is None
    paths = MANIFEST["path"].to_pylist()
    assert [archive.read(i) for i in archive.infolist()] == [FILES[p] for p in paths]
    assert all(i.extract_version == 45 for i in archive.infolist())


def test_balanced_zip_from_streamed_zip_with_data_descriptors() -> None:
    class Unseekable(io.RawIOBase):
        def __init__(self) -> None:
            self.buffer = io.BytesIO()

        def writable(self) -> bool:
            return True

        def write(self, data) -> int:  # type: ignore[override]
            return self.buffer.write(data)

    stream = Unseekable()
    with zipfile.ZipFile(stream, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("k/a.bin", b"abc" * 100)
    data = stream.buffer.getvalue()
    assert zipfile.ZipFile(io.BytesIO(data)).getinfo("k/a.bin").flag_bits & 0x08
    out = balanced_zip(data, pa.table({"path": ["k/a.bin", "k/a.bin"], "copy": [0, 1]}))
    archive = zipfile.ZipFile(io.BytesIO(out))
    assert archive.testzip() is None
    assert [i.flag_bits & 0x08 for i in archive.infolist()] == [0, 0]
    assert [archive.read(n) for n in archive.namelist()] == [b"abc" * 100] * 2


def test_balanced_zip_matches_names_as_the_zip_reader_decodes_them() -> None:
    # Names without the UTF-8 flag: zipfile decodes them as cp437; Seesaw's reader
    # takes them as UTF-8 when they are valid UTF-8.
    data = source_zip([("c/AA.png", b"utf8 bytes", 0), ("c/BB.png", b"cp437 bytes", 0)])
    data = data.replace(b"c/AA.png", "c/é.png".encode())  # same length: 8 bytes
    data = data.replace(b"c/BB.png", b"c/\x82\x83.png")
    names = [i.orig_filename for i in zipfile.ZipFile(io.BytesIO(data)).infolist()]
    assert names == ["c/├⌐.png", "c/éâ.png"]
    out = balanced_zip(data, pa.table({"path": ["c/é.png", "c/éâ.png"], "copy": [0, 1]}))
    archive = zipfile.ZipFile(io.BytesIO(out))
    assert archive.namelist() == ["c/é.png", "c/éâ__copy1.png"]
    assert [archive.read(n) for n in archive.namelist()] == [b"utf8 bytes", b"cp437 bytes"]
    assert [i.flag_bits & 0x800 for i in archive.infolist()] == [0x800, 0x800]


def test_balanced_zip_refuses_unsafe_names_and_bad_sources() -> None:
    data = source_zip([("../evil.png", b"e", 0), ("ok/a.png", b"a", 0)])
    with pytest.raises(DatasetError) as caught:
        balanced_zip(data, pa.table({"path": ["../evil.png"]}))
    assert caught.value.kind == "unsafe_entry"
    with pytest.raises(DatasetError) as caught:
        balanced_zip(b"not a zip at all", pa.table({"path": ["ok/a.png"]}))
    assert caught.value.kind == "not_a_zip"
    with pytest.raises(DatasetError) as caught:
        balanced_zip(Path("/nonexistent/source.zip"), pa.table({"path": ["ok/a.png"]}))
    assert caught.value.kind == "file_not_found"


def test_balanced_zip_of_a_resampled_dataset_reads_back_balanced() -> None:
    names = [f"pets/cat/{i}.png" for i in range(2)] + [f"pets/dog/{i}.png" for i in range(5)]
    data = source_zip([(name, png(i), zipfile.ZIP_DEFLATED) for i, name in enumerate(names)])
    dataset = read_zip(data, name="pets.zip")
    plan = plan_oversample(counts_for(dataset))
    assert plan.after == {"cat": 5, "dog": 5}
    resampled = resample(dataset, plan, seed=3)
    out = balanced_zip(data, resampled.manifest)
    back = read_zip(out, name="balanced.zip")
    assert counts_for(back) == plan.after
    archive = zipfile.ZipFile(io.BytesIO(out))
    assert len(archive.namelist()) == 10
    assert sum("__copy" in n for n in archive.namelist()) == 3


# --------------------------------------------------------------------------- write_atomic


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_write_atomic_writes_and_replaces(tmp_path: Path) -> None:
    target = tmp_path / "out.csv"
    write_atomic(target, b"first")
    assert target.read_bytes() == b"first"
    write_atomic(str(target), bytearray(b"second"))
    assert target.read_bytes() == b"second"
    assert leftovers(tmp_path) == ["out.csv"]


def test_write_atomic_keeps_the_old_file_when_replace_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "weights.json"
    target.write_bytes(b"old")

    def failing_replace(src, dst) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(DatasetError) as caught:
        write_atomic(target, b"new content")
    assert caught.value.kind == "write_failed"
    assert "No space left on device" in str(caught.value)
    assert target.read_bytes() == b"old"
    assert leftovers(tmp_path) == ["weights.json"]


def test_write_atomic_keeps_the_old_file_when_fsync_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "manifest.csv"
    target.write_bytes(b"old")

    def failing_fsync(fd: int) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(os, "fsync", failing_fsync)
    with pytest.raises(DatasetError):
        write_atomic(target, b"new")
    assert target.read_bytes() == b"old"
    assert leftovers(tmp_path) == ["manifest.csv"]


def test_write_atomic_refuses_text_and_touches_nothing(tmp_path: Path) -> None:
    target = tmp_path / "a.txt"
    target.write_bytes(b"old")
    with pytest.raises(TypeError):
        write_atomic(target, "not bytes")  # type: ignore[arg-type]
    assert target.read_bytes() == b"old"
    assert leftovers(tmp_path) == ["a.txt"]


def test_write_atomic_into_a_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(DatasetError) as caught:
        write_atomic(tmp_path / "nope" / "x.bin", b"x")
    assert caught.value.kind == "write_failed"
    assert leftovers(tmp_path) == []


def test_write_atomic_keeps_the_permissions_of_a_replaced_file(tmp_path: Path) -> None:
    target = tmp_path / "secret.json"
    target.write_bytes(b"old")
    target.chmod(0o600)
    write_atomic(target, b"new")
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    fresh = tmp_path / "fresh.json"
    write_atomic(fresh, b"x")
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o666 & ~umask


def test_plain_signed_numbers_are_values_not_formulas():
    # Binary labels -1/+1 must survive the spreadsheet-safe CSV; "-2+3" must not.
    table = pa.table({"label": ["-1", "+1", "-0.5", "-1e-3", "-2+3", "+cmd|' /C calc'!A0"]})
    rows = list(csv.reader(io.StringIO(table_csv(table).decode("utf-8"), newline="")))
    assert [r[0] for r in rows[1:]] == ["-1", "+1", "-0.5", "-1e-3", "'-2+3", "'+cmd|' /C calc'!A0"]


def test_write_table_csv_streams_the_same_bytes_as_table_csv(tmp_path):
    table = pa.table({"label": ["=SUM(A1)", "b", None, "-1"], "n": [1, 2, 3, 4]})
    for neutralize in (True, False):
        path = tmp_path / f"out-{neutralize}.csv"
        write_table_csv(table, str(path), neutralize_formulas=neutralize)
        assert path.read_bytes() == table_csv(table, neutralize_formulas=neutralize)


@pytest.mark.parametrize("start", [0, 1, 2, 3])
def test_formula_cells_are_found_in_sliced_and_chunked_columns(start):
    # The first-byte pre-check reads the offsets buffer: slices and chunks must not
    # hide a dangerous cell from it.
    cells = ["safe", "=cmd|' /C calc'!A0", "ok", "@SUM(1)", "fine"]
    column = pa.chunked_array([pa.array(cells[:2]), pa.array(cells[2:])])
    table = pa.table({"label": column}).slice(start)
    rows = list(csv.reader(io.StringIO(table_csv(table).decode())))[1:]
    expected = [("'" + c if c[0] in "=@" else c) for c in cells[start:]]
    assert [r[0] for r in rows] == expected


def test_a_failing_streamed_output_leaves_every_file_untouched(tmp_path):
    first, second = tmp_path / "manifest.csv", tmp_path / "dropped.csv"
    first.write_bytes(b"old manifest")
    second.write_bytes(b"old dropped")

    def half_then_fail(handle):
        handle.write(b"half a file")
        raise DatasetError("stopped midway", kind="write_failed")

    with pytest.raises(DatasetError, match="stopped midway"):
        write_atomic_many([(first, b"new manifest"), (second, half_then_fail)])
    assert first.read_bytes() == b"old manifest"
    assert second.read_bytes() == b"old dropped"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dropped.csv", "manifest.csv"]
