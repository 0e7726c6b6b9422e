"""Outputs and recipes are attack surface too (issue 14): output sizes estimated
from the plan and checked before writing, balanced zips copied in pieces, recipes
checked against their schema, devices never replaced by regular files, SIGTERM
leaving no temporary file, and unusable paths answered in one sentence."""

from __future__ import annotations

import io
import json
import os
import signal
import stat
import subprocess
import sys
import time
import tracemalloc
import zipfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from zip_factory import make_zip, png

import balance_core as bc
from balance_core.budget import (
    OutputEstimate,
    check_output,
    entry_sizes,
    estimate_output,
    estimate_table,
)
from balance_core.cli import main
from balance_core.export import table_csv, table_parquet, write_balanced_zip
from balance_core.recipe import Recipe, Strategy, recipe_problems, run


def one_sentence(err: str) -> str:
    assert err.startswith("error: ") and err.endswith("\n") and err.count("\n") == 1, err
    assert "Traceback" not in err
    return err.removeprefix("error: ").rstrip("\n")


def labels_file(tmp_path: Path, counts: dict[str, int], name: str = "in.csv") -> Path:
    lines = ["path,label"]
    for label, n in counts.items():
        lines += [f"{label}_{i}.png,{label}" for i in range(n)]
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n")
    return path


# --------------------------------------------------------------------------- estimates


def test_a_plan_asking_for_two_billion_rows_is_refused_before_any_row_is_made(
    tmp_path: Path, capsys
):
    source = labels_file(tmp_path, {"a": 3, "b": 5})
    out = tmp_path / "out.csv"
    tracemalloc.start()
    status = main(["resample", str(source), "--to", "2000000000", "-o", str(out)])
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    sentence = one_sentence(capsys.readouterr().err)
    assert status == 2
    assert "The manifest would have 4,000,000,000 rows" in sentence
    assert "--limit max_output_rows=N" in sentence
    assert peak < 50 * 1024**2  # nothing of the size of the plan was allocated
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv"]


def test_the_manifest_estimate_is_its_rows_and_close_to_its_csv_size(tmp_path: Path):
    dataset = bc.read_dataset(labels_file(tmp_path, {"a": 40, "b": 400}))
    recipe = Recipe(strategy=Strategy(method="oversample", target="equal"))
    outcome = run(recipe, dataset)
    estimate = estimate_output(outcome.plan, dataset=dataset)
    written = table_csv(outcome.resampled.manifest)
    assert estimate.rows == outcome.resampled.manifest.num_rows == 800
    assert estimate.copies == outcome.plan.rows_added == 360
    # An upper-side estimate: within a factor of 2 of the real CSV, never below it.
    assert len(written) <= estimate.bytes <= 2 * len(written)


def test_the_zip_estimate_matches_the_balanced_zip_written(tmp_path: Path):
    entries = [(f"cats/{i}.png", png(i, size=(40, 30))) for i in range(6)]
    entries += [(f"dogs/{i}.png", png(100 + i, size=(8, 6))) for i in range(30)]
    source = make_zip(entries)
    dataset = bc.read_dataset(source, name="pets.zip")
    outcome = run(Recipe(strategy=Strategy(method="oversample", target="equal")), dataset)
    estimate = estimate_output(outcome.plan, dataset=dataset, kind="zip")
    sizes = entry_sizes(dataset)
    assert sizes["cats"].count == 6 and sizes["dogs"].count == 30
    sink = io.BytesIO()
    written = write_balanced_zip(source, outcome.resampled.manifest, sink)
    assert written == len(sink.getvalue())
    assert estimate.rows == len(zipfile.ZipFile(sink).infolist()) == 60
    # Headers are counted at their zip64 worst case: the estimate is an upper bound.
    assert written <= estimate.bytes <= written + 60 * 200


def test_check_output_names_the_limit_and_passes_within_it():
    check_output(OutputEstimate(rows=10, bytes=100, copies=0), limits=bc.Limits())
    with pytest.raises(bc.DatasetError) as caught:
        check_output(
            OutputEstimate(rows=10, bytes=10**12, copies=0),
            limits=bc.Limits(max_output_bytes=10**9),
            what="The balanced zip",
        )
    assert caught.value.kind == "limit_hit"
    assert str(caught.value).startswith("The balanced zip would take about 1,000,000,000,000")
    assert "Limits(max_output_bytes=...)" in str(caught.value)


def test_every_exporter_checks_its_table_before_writing():
    table = pa.table({"path": [f"{i}.png" for i in range(100)], "label": ["a"] * 100})
    assert estimate_table(table).rows == 100
    small = bc.Limits(max_output_rows=99)
    for export in (table_csv, table_parquet):
        with pytest.raises(bc.DatasetError) as caught:
            export(table, limits=small)
        assert "would have 100 rows" in str(caught.value)
        assert export(table)  # within the default


def test_a_balanced_zip_over_the_limit_writes_nothing():
    source = make_zip([(f"c/{i}.png", png(i)) for i in range(4)])
    manifest = pa.table({"path": ["c/0.png"] * 50, "copy": list(range(50))})
    sink = io.BytesIO()
    with pytest.raises(bc.DatasetError) as caught:
        write_balanced_zip(source, manifest, sink, limits=bc.Limits(max_output_rows=49))
    assert "The balanced zip would have 50 rows" in str(caught.value)
    assert sink.getvalue() == b""


def test_copies_of_a_large_entry_are_streamed_not_held(tmp_path: Path):
    big = os.urandom(4 * 1024**2)  # incompressible: stored as 4 MiB of data
    source = tmp_path / "big.zip"
    source.write_bytes(make_zip([("c/big.png", big), ("c/small.png", png(1))]))
    manifest = pa.table({"path": ["c/big.png"] * 16, "copy": list(range(16))})
    out = tmp_path / "balanced.zip"
    tracemalloc.start()
    with out.open("wb") as sink:
        written = write_balanced_zip(source, manifest, sink)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert written == out.stat().st_size > 64 * 1024**2
    assert peak < 8 * 1024**2  # one 1 MiB piece at a time, not 64 MiB of copies
    with zipfile.ZipFile(out) as archive:
        assert archive.testzip() is None
        assert archive.read("c/big__copy15.png") == big


# --------------------------------------------------------------------------- recipes


def good_recipe() -> dict:
    return json.loads(Recipe(strategy=Strategy(method="undersample")).to_json())


@pytest.mark.parametrize(
    ("change", "phrases"),
    [
        ({"strategy": {"method": "undersample", "target": 5}}, ["strategy.target must be text"]),
        ({"label_mapping": "a=b"}, ["label_mapping must be an object"]),
        ({"seed": -1}, ["seed must be a whole number >= 0, not a number"]),
        ({"use_groups": "yes"}, ["use_groups must be true or false, not text"]),
        ({"strategy": {"method": "explode"}}, ["strategy.method must be one of"]),
        ({"strategy": "undersample"}, ["strategy must be an object, not text"]),
        ({"sede": 1}, ["sede is not a recipe field"]),
        (
            {"seed": "1", "output": {"format": "xls"}, "strategy": {"target": "equal"}},
            ["seed must be", "output must be", "strategy.method is missing"],
        ),
    ],
)
def test_a_recipe_is_checked_against_its_schema_one_phrase_per_problem(
    change: dict, phrases: list[str], tmp_path: Path, capsys
):
    payload = good_recipe() | change
    problems = recipe_problems(payload)
    assert len(problems) == len(phrases)
    recipe = tmp_path / "recipe.json"
    recipe.write_text(json.dumps(payload))
    source = labels_file(tmp_path, {"a": 3, "b": 5})
    status = main(["apply", str(recipe), str(source), "-o", str(tmp_path / "out.csv")])
    sentence = one_sentence(capsys.readouterr().err)
    assert status == 2 and sentence.startswith("The recipe is not valid: ")
    for phrase in phrases:
        assert phrase in sentence, (phrase, sentence)
    assert not (tmp_path / "out.csv").exists()


@pytest.mark.parametrize(
    "data",
    [b"[" * 100_000 + b"]" * 100_000, b'{"format": "seesaw-recipe/1", "strategy": ' * 5000],
)
def test_a_deeply_nested_or_broken_recipe_is_one_sentence(data: bytes, tmp_path: Path, capsys):
    recipe = tmp_path / "recipe.json"
    recipe.write_bytes(data)
    source = labels_file(tmp_path, {"a": 3, "b": 5})
    status = main(["apply", str(recipe), str(source), "-o", str(tmp_path / "out.csv")])
    assert status == 2
    one_sentence(capsys.readouterr().err)


def test_a_valid_recipe_still_replays(tmp_path: Path, capsys):
    source = labels_file(tmp_path, {"a": 3, "b": 5})
    recipe = tmp_path / "recipe.json"
    out = tmp_path / "first.csv"
    assert main(["undersample", str(source), "-o", str(out), "--recipe", str(recipe)]) == 0
    again = tmp_path / "again.csv"
    assert main(["apply", str(recipe), str(source), "-o", str(again)]) == 0
    capsys.readouterr()
    assert again.read_bytes() == out.read_bytes()
    assert recipe_problems(json.loads(recipe.read_text())) == []


# --------------------------------------------------------------------------- files


@pytest.mark.skipif(not Path("/dev/null").exists(), reason="POSIX only")
def test_dev_null_stays_a_device(tmp_path: Path, capsys):
    source = labels_file(tmp_path, {"a": 3, "b": 5})
    assert main(["undersample", str(source), "-o", "/dev/null"]) == 0
    capsys.readouterr()
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="Linux only")
def test_dev_full_is_one_sentence_and_leaves_the_other_outputs_alone(tmp_path: Path, capsys):
    source = labels_file(tmp_path, {"a": 3, "b": 5})
    dropped = tmp_path / "dropped.csv"
    dropped.write_text("keep me\n")
    status = main(["undersample", str(source), "-o", "/dev/full", "--dropped", str(dropped)])
    sentence = one_sentence(capsys.readouterr().err)
    assert status == 2 and sentence == "Cannot write '/dev/full': No space left on device."
    assert stat.S_ISCHR(os.stat("/dev/full").st_mode)
    assert dropped.read_text() == "keep me\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dropped.csv", "in.csv"]


def test_sigterm_mid_write_leaves_no_temporary_file(tmp_path: Path):
    source = tmp_path / "big.csv"
    with source.open("w") as handle:
        handle.write("path,label,note\n")
        for block in range(60):
            handle.write(
                "".join(f"{block}_{i}.png,{'ab'[i % 2]},{'x' * 40}\n" for i in range(10_000))
            )
    out = tmp_path / "out.csv"
    process = subprocess.Popen(
        [sys.executable, "-m", "balance_core", "oversample", str(source), "-o", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        if any(p.name.endswith(".tmp") for p in tmp_path.iterdir()):
            process.send_signal(signal.SIGTERM)
            break
        time.sleep(0.002)
    else:
        pytest.fail("the temporary file never appeared")
    _, err = process.communicate(timeout=60)
    left = sorted(p.name for p in tmp_path.iterdir())
    assert not [name for name in left if name.endswith(".tmp")], left
    if process.returncode == 143:
        assert err == "error: terminated.\n"
        # The signal can land between the rename and the exit: then the output is whole.
        if "out.csv" in left:
            assert out.read_bytes().count(b"\n") == 600_001
    else:  # the run finished before the signal was delivered
        assert process.returncode == 0 and "out.csv" in left, err


@pytest.mark.parametrize(
    "make",
    [
        lambda tmp: tmp / ("n" * 300 + ".csv"),  # longer than NAME_MAX
        lambda tmp: tmp / "in.csv" / "inside.csv",  # a file where a folder should be
        lambda tmp: tmp,  # a folder
    ],
    ids=["name_too_long", "not_a_directory", "a_folder"],
)
def test_an_input_that_cannot_be_opened_is_one_sentence(make, tmp_path: Path, capsys):
    labels_file(tmp_path, {"a": 3, "b": 5})
    status = main(["analyze", str(make(tmp_path))])
    assert status == 2
    one_sentence(capsys.readouterr().err)


def test_an_unreadable_input_is_one_sentence(tmp_path: Path):
    source = labels_file(tmp_path, {"a": 3, "b": 5})
    source.chmod(0)
    command = [sys.executable, "-m", "balance_core", "analyze", str(source)]
    if os.geteuid() == 0:
        # Root reads every file through CAP_DAC_OVERRIDE: run the CLI without it (and
        # without CAP_DAC_READ_SEARCH), so the permission bits apply as to any user.
        drop = "-dac_override,-dac_read_search"
        command = ["setpriv", "--bounding-set", drop, "--inh-caps", drop, *command]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=120)
        assert done.returncode == 2, done.stderr
        assert "Permission denied" in one_sentence(done.stderr)
    finally:
        source.chmod(0o644)


def test_an_output_name_too_long_is_one_sentence(tmp_path: Path, capsys):
    source = labels_file(tmp_path, {"a": 3, "b": 5})
    status = main(["undersample", str(source), "-o", str(tmp_path / ("o" * 300 + ".csv"))])
    sentence = one_sentence(capsys.readouterr().err)
    assert status == 2 and "File name too long" in sentence
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv"]


# --------------------------------------------------------------------------- Parquet roles


def parquet_file(tmp_path: Path, table: pa.Table) -> Path:
    path = tmp_path / "in.parquet"
    pq.write_table(table, path)
    return path


def test_a_nested_column_to_stratify_by_is_one_sentence(tmp_path: Path, capsys):
    labels = ["a"] * 4 + ["b"] * 8
    source = parquet_file(tmp_path, pa.table({"label": labels, "tags": [["x"], ["y"]] * 6}))
    out = tmp_path / "out.csv"
    status = main(["undersample", str(source), "--stratify", "tags", "-o", str(out)])
    sentence = one_sentence(capsys.readouterr().err)
    assert status == 2 and "The column 'tags' holds list<element: string> values" in sentence
    assert not out.exists()


@pytest.mark.parametrize("kind", [pa.string_view(), pa.large_string()])
def test_view_typed_columns_balance_like_any_other(kind, tmp_path: Path, capsys):
    labels = ["a"] * 4 + ["b"] * 8
    table = pa.table(
        {
            "path": pa.array([f"{i}.png" for i in range(12)], kind),
            "label": pa.array(labels, kind),
            "site": pa.array(["s1", "s2"] * 6, kind),
        }
    )
    source = parquet_file(tmp_path, table)
    out = tmp_path / "out.parquet"
    assert main(["undersample", str(source), "--stratify", "site", "-o", str(out)]) == 0
    capsys.readouterr()
    written = pq.read_table(out)
    assert written.num_rows == 8
    assert sorted(written.column("label").to_pylist()) == ["a"] * 4 + ["b"] * 4
