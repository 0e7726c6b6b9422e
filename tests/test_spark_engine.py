"""The Spark engine (real local[2] session) against the pandas engine, row for row."""

from __future__ import annotations

import csv
import json
import random

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from balance_core import DatasetError
from balance_core.analysis import analyze
from balance_core.apply import counts_for, resample, sample_weights
from balance_core.cli import main
from balance_core.engines.spark import (
    read_spark,
    spark_counts,
    spark_distribution,
    spark_findings,
    spark_resample,
    spark_sample_weights,
)
from balance_core.plan import class_weights, plan_oversample, plan_resample, plan_undersample
from balance_core.readers import read_dataset
from balance_core.recipe import Recipe, Strategy, run

N = 1500


def _rows(seed: int = 0) -> list[dict]:
    r = random.Random(seed)
    rows = []
    for i in range(N):
        label = r.choices(["cat", "dog", "fox", "Cat "], [40, 10, 3, 1])[0]
        rows.append({
            "path": f"img/{i:05d}.jpg",
            "label": "" if i % 97 == 0 else label,
            "split": r.choice(["train", "train", "val"]),
            "patient": f"p{r.randint(0, 30)}",
            "site": r.choice(["north", "south", "east"]),
        })  # fmt: skip
    rows[5]["path"] = rows[4]["path"]  # a duplicate path
    for i in (10, 11, 12):
        rows[i]["label"] = "owl"  # a tiny class
    return rows


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("spark")
    rows = _rows()
    path = folder / "labels.csv"
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    table = pa.Table.from_pylist([{k: (v or None) for k, v in row.items()} for row in rows])
    parts = folder / "parts"
    parts.mkdir()
    for i, start in enumerate(range(0, N, 500)):
        pq.write_table(table.slice(start, 500), parts / f"part-{i:03d}.parquet")
    pq.write_table(table, folder / "labels.parquet")
    jsonl = folder / "labels.jsonl"
    jsonl.write_text("".join(json.dumps({k: v or None for k, v in r.items()}) + "\n" for r in rows))
    return {"csv": path, "parts": parts, "parquet": folder / "labels.parquet", "jsonl": jsonl}


def _findings(findings) -> list[tuple]:
    # Spark findings carry no row lists; the rest must match.
    return sorted((str(f.kind), str(f.severity), f.count, f.message) for f in findings)


@pytest.mark.parametrize("kind", ["csv", "parts", "jsonl"])
def test_counts_metrics_and_findings_equal_pandas(spark, files, kind):
    pandas = analyze(
        read_dataset(files["csv" if kind != "parts" else "parquet"], group_col="patient")
    )
    data = read_spark(spark, str(files[kind]), group_col="patient")
    dist = spark_distribution(data)
    assert dist.to_dict() == pandas.distribution.to_dict()
    assert _findings(spark_findings(data, dist)) == _findings(pandas.findings)
    kinds = {str(f.kind) for f in pandas.findings}
    assert {"missing_label", "label_variants", "split_leakage", "tiny_class"} <= kinds


def _pandas_rows(resampled) -> list[tuple]:
    m = resampled.manifest
    return sorted(zip(m["path"].to_pylist(), m["label"].to_pylist(), m["copy"].to_pylist(),
                      m["class_index"].to_pylist(), strict=True))  # fmt: skip


def _spark_rows(frame) -> list[tuple]:
    return sorted(
        (r["path"], r["label"], r["copy"], r["class_index"])
        for r in frame.select("path", "label", "copy", "class_index").collect()
    )


CASES = [
    (plan_undersample, {}, "train", True, None, None),
    (plan_undersample, {"ratio": 2.0}, "train", False, "site", {"Cat ": "cat"}),
    (plan_undersample, {}, None, True, "site", {"fox": None}),
    (plan_oversample, {}, "train", True, None, {"Cat ": "cat"}),
    (plan_oversample, {}, None, False, "site", None),
    (plan_resample, {"to": "median"}, "train", True, "site", None),
]


@pytest.mark.parametrize(("plan_fn", "options", "split", "groups", "stratify", "mapping"), CASES)
def test_manifests_equal_pandas(spark, files, plan_fn, options, split, groups, stratify, mapping):
    dataset = read_dataset(files["csv"], group_col="patient")
    plan = plan_fn(counts_for(dataset, split=split, mapping=mapping), **options)
    data = read_spark(spark, str(files["csv"]), group_col="patient")
    assert spark_counts(data, split=split, mapping=mapping) == dict(plan.before)
    kwargs = {"seed": 7, "split": split, "use_groups": groups}
    kwargs |= {"stratify": stratify, "mapping": mapping}
    expected = resample(dataset, plan, key_version=2, **kwargs)
    chosen = spark_resample(data, plan, **kwargs)
    assert _spark_rows(chosen.manifest) == _pandas_rows(expected)
    dropped = chosen.dropped.groupBy("reason").count().collect()
    assert {r["reason"]: r["count"] for r in dropped} == expected.dropped_by_reason


def test_same_rows_for_any_partitioning_and_rerun_and_seed(spark, files):
    data = read_spark(spark, str(files["parts"]), group_col="patient")
    plan = plan_undersample(spark_counts(data, split="train"))
    runs = []
    for partitions in (1, 3, 17, 3):
        shuffled = type(data)(frame=data.frame.repartition(partitions), roles=data.roles,
                              key_col=data.key_col, name=data.name)  # fmt: skip
        chosen = spark_resample(shuffled, plan, seed=3, split="train", stratify="site")
        runs.append(_spark_rows(chosen.manifest))
    assert all(run == runs[0] for run in runs)
    other = spark_resample(data, plan, seed=4, split="train", stratify="site")
    assert _spark_rows(other.manifest) != runs[0]
    assert len(_spark_rows(other.manifest)) == len(runs[0])


def test_rows_keyed_by_position_without_a_path_column(spark, tmp_path):
    rows = [{"label": "a" if i % 5 else "b", "note": f"n{i % 7}"} for i in range(400)]
    path = tmp_path / "nopath.csv"
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["label", "note"])
        writer.writeheader()
        writer.writerows(rows)
    dataset = read_dataset(path)
    plan = plan_undersample(counts_for(dataset))
    expected = resample(dataset, plan, seed=1, key_version=2).manifest["row"].to_pylist()
    data = read_spark(spark, str(path))
    chosen = spark_resample(data, plan, seed=1)
    assert sorted(r["row"] for r in chosen.manifest.select("row").collect()) == sorted(expected)


def test_weights_equal_pandas(spark, files):
    dataset = read_dataset(files["csv"], group_col="patient")
    data = read_spark(spark, str(files["csv"]), group_col="patient")
    counts = spark_counts(data)
    assert counts == counts_for(dataset)
    weights = class_weights(counts, method="effective_number", beta=0.99)
    expected = sample_weights(dataset, weights)
    got = sorted((r["path"], r["weight"]) for r in spark_sample_weights(data, weights).collect())
    assert got == sorted(zip(expected["path"].to_pylist(), expected["weight"].to_pylist(),
                             strict=True))  # fmt: skip


def test_dashboard_recipe_replays_on_spark(spark, files, tmp_path, capsys):
    dataset = read_dataset(files["csv"], group_col="patient")
    recipe = Recipe(
        strategy=Strategy(method="undersample", target="ratio:1.5"), seed=11, split="auto",
        stratify="site", label_mapping={"Cat ": "cat"}, reader=dataset.roles.as_dict(),
    )  # fmt: skip
    expected = _pandas_rows(run(recipe, dataset).resampled)
    recipe_path = tmp_path / "recipe.json"
    recipe_path.write_bytes(recipe.to_json())
    out = tmp_path / "manifest.parquet"
    code = main(["apply", str(recipe_path), str(files["csv"]), "-o", str(out),
                 "--engine", "spark", "--master", "local[2]"])  # fmt: skip
    assert code == 0, capsys.readouterr().err
    got = spark.read.parquet(str(out))
    assert _spark_rows(got) == expected


def test_cli_csv_output_and_failed_run_leaves_nothing(spark, files, tmp_path, capsys):
    out = tmp_path / "balanced.csv"
    args = ["oversample", str(files["csv"]), "--engine", "spark", "--master", "local[2]",
            "--group-col", "patient", "--seed", "2", "-o", str(out)]  # fmt: skip
    assert main(args) == 0
    with out.open() as handle:
        written = list(csv.DictReader(handle))
    dataset = read_dataset(files["csv"], group_col="patient")
    expected = resample(dataset, plan_oversample(counts_for(dataset, split="train")), seed=2,
                        split="train", key_version=2)  # fmt: skip
    assert len(written) == expected.manifest.num_rows
    bad = tmp_path / "bad.csv"
    assert main([*args[:-1], str(bad), "--stratify", "nope"]) == 2
    err = capsys.readouterr().err
    assert "There is no column 'nope' to stratify by" in err and "Traceback" not in err
    assert not bad.exists() and sorted(p.name for p in tmp_path.iterdir()) == ["balanced.csv"]


@pytest.mark.parametrize(
    "extra",
    [["--split", "holdout"], ["--map", "cat="], ["--to", "cap:0"]],
)
def test_hostile_options_give_the_pandas_sentence(spark, files, tmp_path, capsys, extra):
    base = ["undersample", str(files["csv"]), "--group-col", "patient", *extra]
    assert main([*base, "-o", str(tmp_path / "p.csv")]) == 2
    pandas_err = capsys.readouterr().err
    spark_args = [*base, "-o", str(tmp_path / "s.csv"), "--engine", "spark", "--master", "local[2]"]
    assert main(spark_args) == 2
    spark_err = capsys.readouterr().err
    assert spark_err == pandas_err and spark_err.startswith("error: ")
    assert not list(tmp_path.iterdir())


def test_missing_input_is_one_sentence(spark, tmp_path):
    with pytest.raises(DatasetError, match="does not exist"):
        read_spark(spark, str(tmp_path / "none.parquet"))


def test_missing_java_is_one_sentence_exit_2(files, tmp_path):
    import os
    import subprocess
    import sys

    # A PATH without java and no JAVA_HOME: the CLI says what to install, no traceback.
    env = {k: v for k, v in os.environ.items() if k != "JAVA_HOME"}
    env["PATH"] = str(tmp_path)
    done = subprocess.run(
        [sys.executable, "-m", "balance_core", "analyze", str(files["csv"]), "--engine", "spark"],
        capture_output=True, text=True, env=env, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 2
    assert done.stderr == (
        "error: The Spark engine needs Java 17 or newer: apt-get install openjdk-17-jre-headless.\n"
    )
