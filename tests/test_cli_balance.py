"""undersample | oversample | resample | weights | apply, as a user runs them."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from balance_core.examples import defect_photos_zip, face_antispoofing_csv, lung_ct_csv


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "balance_core", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=120,
    )


def read_csv(path: Path) -> list[dict]:
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"), newline="")))


@pytest.fixture
def data(tmp_path: Path) -> Path:
    (tmp_path / "lung.csv").write_bytes(lung_ct_csv())
    (tmp_path / "fas.csv").write_bytes(face_antispoofing_csv())
    return tmp_path


def test_undersample_ratio_with_groups_writes_exact_counts(data: Path):
    result = run(
        "undersample", "lung.csv", "--to", "ratio:2", "--seed", "7",
        "--group-col", "patient_id", "-o", "balanced.csv", "--dropped", "dropped.csv",
        cwd=data,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    rows = read_csv(data / "balanced.csv")
    dropped = read_csv(data / "dropped.csv")
    cancer = sum(r["diagnosis"] == "cancer" for r in rows)
    normal = sum(r["diagnosis"] == "normal" for r in rows)
    assert normal == 2 * cancer
    assert len(rows) + len(dropped) == 7432  # every input row accounted for
    assert {r["reason"] for r in dropped} == {"undersampled"}
    # The user's own column names and values, plus the added row, class_index, copy.
    assert list(rows[0]) == [
        "row", "path", "patient_id", "slice_index", "diagnosis", "scanner", "class_index", "copy",
    ]  # fmt: skip
    assert "wrote balanced.csv" in result.stdout


def test_recipe_replay_gives_identical_bytes(data: Path):
    first = run(
        "oversample", "fas.csv", "--to", "ratio:1.5", "--seed", "3", "--stratify",
        "attack_type", "-o", "a.csv", "--recipe", "recipe.json", cwd=data,
    )  # fmt: skip
    assert first.returncode == 0, first.stderr
    again = run("apply", "recipe.json", "fas.csv", "-o", "b.csv", cwd=data)
    assert again.returncode == 0, again.stderr
    assert (data / "a.csv").read_bytes() == (data / "b.csv").read_bytes()
    recipe = json.loads((data / "recipe.json").read_text())
    assert recipe["seed"] == 3 and recipe["strategy"]["target"] == "ratio:1.5"
    assert recipe["input"]["sha256"] and recipe["reader"]["split"] == "split"


@pytest.mark.parametrize("method", ["undersample", "oversample"])
def test_a_recipe_made_on_an_image_zip_replays(data: Path, method: str):
    (data / "defects.zip").write_bytes(defect_photos_zip())
    first = run(
        method, "defects.zip", "--seed", "5", "-o", "a.csv", "--recipe", "recipe.json", cwd=data
    )
    assert first.returncode == 0, first.stderr
    again = run("apply", "recipe.json", "defects.zip", "-o", "b.csv", cwd=data)
    assert again.returncode == 0, again.stderr
    assert (data / "a.csv").read_bytes() == (data / "b.csv").read_bytes()
    assert json.loads((data / "recipe.json").read_text())["reader"]["label"] == "label"


def test_split_aware_default_is_train_and_other_splits_pass_through(data: Path):
    result = run("undersample", "fas.csv", "-o", "out.parquet", cwd=data)
    assert result.returncode == 0, result.stderr
    table = pq.read_table(data / "out.parquet").to_pylist()
    train = [r for r in table if r["split"] == "train"]
    assert sum(r["label"] == "real" for r in train) == sum(r["label"] == "spoof" for r in train)
    source = read_csv(data / "fas.csv")
    for split in ("dev", "test"):
        kept = [r["row"] for r in table if r["split"] == split]
        assert kept == [i for i, r in enumerate(source) if r["split"] == split]


def test_weights_json_and_clipping(data: Path):
    result = run(
        "weights", "fas.csv", "--method", "balanced", "--max-ratio", "3", "-o", "w.json",
        cwd=data,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    payload = json.loads((data / "w.json").read_text())
    assert payload["classes"] == ["real", "spoof"]
    assert payload["weights"]["real"] / payload["weights"]["spoof"] == pytest.approx(3.0)
    assert payload["weights_by_index"] == [payload["weights"]["real"], payload["weights"]["spoof"]]


def test_label_mapping_from_the_cli(tmp_path: Path):
    (tmp_path / "t.csv").write_text("label\n" + "cat\n" * 6 + "Cat\n" * 2 + "dog\n" * 3 + "bird\n")
    result = run(
        "undersample", "t.csv", "--map", "Cat=cat", "--drop", "bird", "-o", "o.csv",
        "--dropped", "d.csv", cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    rows = read_csv(tmp_path / "o.csv")
    assert sorted({r["label"] for r in rows}) == ["cat", "dog"]
    assert sum(r["label"] == "cat" for r in rows) == 3
    reasons = [r["reason"] for r in read_csv(tmp_path / "d.csv")]
    assert reasons.count("class dropped by the label mapping") == 1


def test_formula_cells_are_neutralised_unless_raw(tmp_path: Path):
    (tmp_path / "t.csv").write_text('label,path\n"=HYPERLINK(""x"")",a\nok,b\nok,c\n')
    assert run("oversample", "t.csv", "-o", "safe.csv", cwd=tmp_path).returncode == 0
    assert run("oversample", "t.csv", "-o", "raw.csv", "--raw-csv", cwd=tmp_path).returncode == 0
    safe = {r["label"] for r in read_csv(tmp_path / "safe.csv")}
    raw = {r["label"] for r in read_csv(tmp_path / "raw.csv")}
    assert safe == {'\'=HYPERLINK("x")', "ok"}
    assert raw == {'=HYPERLINK("x")', "ok"}


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["undersample", "lung.csv", "--to", "ratio:0.5", "-o", "o.csv"], ">= 1"),
        (["undersample", "lung.csv", "--to", "median", "-o", "o.csv"], "not 'median'"),
        (["oversample", "lung.csv", "--to", "counts:cancer=5", "-o", "o.csv"], "cannot lower"),
        (["undersample", "lung.csv", "-o", "lung.csv"], "overwrite the input"),
        (["undersample", "lung.csv", "-o", "nowhere/o.csv"], "does not exist"),
        (["undersample", "fas.csv", "--split", "nope", "-o", "o.csv"], "no split 'nope'"),
        (["weights", "lung.csv", "--method", "custom", "--custom", "x", "-o", "w.json"],
         "LABEL=WEIGHT"),
        (["apply", "missing.json", "lung.csv", "-o", "o.csv"], "Cannot read the recipe"),
        (["apply", "lung.csv", "lung.csv", "-o", "o.csv"], "not valid JSON"),
    ],
)  # fmt: skip
def test_bad_requests_exit_2_and_write_nothing(data: Path, args: list[str], needle: str):
    before = sorted(p.name for p in data.iterdir())
    result = run(*args, cwd=data)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert needle in result.stderr
    assert sorted(p.name for p in data.iterdir()) == before


def test_failed_run_keeps_an_existing_output(data: Path):
    (data / "o.csv").write_text("precious\n")
    result = run("undersample", "lung.csv", "--to", "cap:0", "-o", "o.csv", cwd=data)
    assert result.returncode == 2
    assert (data / "o.csv").read_text() == "precious\n"


def test_apply_on_other_data_notes_it_and_strict_refuses(data: Path):
    assert (
        run("undersample", "lung.csv", "-o", "a.csv", "--recipe", "r.json", cwd=data).returncode
        == 0
    )
    other = data / "other.csv"
    other.write_bytes(lung_ct_csv().replace(b"Siemens", b"SIEMENS"))
    loose = run("apply", "r.json", "other.csv", "-o", "b.csv", cwd=data)
    assert loose.returncode == 0 and "differs" in loose.stderr
    strict = run("apply", "r.json", "other.csv", "-o", "c.csv", "--strict", cwd=data)
    assert strict.returncode == 2 and not (data / "c.csv").exists()
