"""The CLI's hand-off to training code: snippets written beside the weights, the class
order of numeric labels and of class folders, and every left-out row counted."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from sklearn.utils.class_weight import compute_class_weight
from zip_factory import image_zip


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "balance_core", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=120,
    )


def test_weights_writes_the_snippets_it_promises_and_they_run(tmp_path: Path):
    labels = ["1"] * 30 + ["2"] * 12 + ["10"] * 6
    (tmp_path / "t.csv").write_text(
        "label,x\n" + "".join(f"{v},{i}\n" for i, v in enumerate(labels))
    )
    (tmp_path / "snips").mkdir()
    result = run("weights", "t.csv", "-o", "w.json", "--snippets", "snips", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "wrote 6 snippets" in result.stdout
    written = sorted(p.name for p in (tmp_path / "snips").iterdir())
    assert written == [
        "keras.py", "lightgbm.py", "pytorch.py", "pytorch_sampler.py", "sklearn.py", "xgboost.py",
    ]  # fmt: skip
    document = json.loads((tmp_path / "w.json").read_text())
    assert document["classes"] == ["1", "2", "10"] and document["keys"] == [1, 2, 10]
    y = np.array(labels)  # y read as text
    expected = compute_class_weight("balanced", classes=np.array([1, 2, 10]), y=y.astype(int))
    np.testing.assert_allclose(document["weights_by_index"], expected, rtol=1e-12)
    X = np.arange(len(labels), dtype=float).reshape(-1, 1)
    for name in ("sklearn.py", "xgboost.py", "lightgbm.py"):
        namespace = {"X": X, "y": y}
        exec((tmp_path / "snips" / name).read_text(), namespace)  # run as written
        assert len(namespace["model"].classes_) == 3, name
    assert namespace["y_index"].tolist() == [{1: 0, 2: 1, 10: 2}[int(v)] for v in labels]


def test_snippets_folder_must_exist_and_nothing_is_written(tmp_path: Path):
    (tmp_path / "t.csv").write_text("label\n" + "a\n" * 3 + "b\n")
    result = run("weights", "t.csv", "-o", "w.json", "--snippets", "missing", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.startswith("error: The snippets folder 'missing' does not exist")
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "w.json").exists()


def test_class_folders_named_by_numbers_keep_text_order(tmp_path: Path):
    names = [f"{c}/{i}.png" for c, n in (("1", 3), ("10", 2), ("2", 5)) for i in range(n)]
    (tmp_path / "digits.zip").write_bytes(image_zip(names))
    result = run("weights", "digits.zip", "-o", "w.json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    document = json.loads((tmp_path / "w.json").read_text())
    assert document["classes"] == ["1", "10", "2"]  # as ImageFolder sorts the folders
    assert document["keys"] == ["1", "10", "2"]
    assert "ImageFolder" in document["class_order"]["rule"]


@pytest.mark.parametrize("command", ["undersample", "oversample"])
def test_the_summary_counts_unlabelled_rows_it_leaves_out(tmp_path: Path, command):
    (tmp_path / "t.csv").write_text("label,x\n" + "a,1\n" * 6 + "b,2\n" * 2 + ",3\n" * 3)
    result = run(command, "t.csv", "-o", "o.csv", "--dropped", "d.csv", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    dropped = (tmp_path / "d.csv").read_text().splitlines()[1:]
    assert len(dropped) == (7 if command == "undersample" else 3)
    if command == "undersample":
        assert "(7 dropped: 4 undersampled, 3 no label;" in result.stdout
    else:
        assert "(3 dropped: 0 undersampled, 3 no label;" in result.stdout
