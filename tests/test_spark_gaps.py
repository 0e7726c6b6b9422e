"""The Spark engine's remaining gaps against the pandas engine (real local[2], real files):
split findings, per-row sampler weights, the analyze JSON keys, --format, recipe fingerprints."""

from __future__ import annotations

import csv
import json
import random

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from balance_core.analysis import analyze
from balance_core.engines.spark import (
    read_spark,
    spark_distribution,
    spark_findings,
    spark_split_findings,
)
from balance_core.readers import read_dataset
from balance_core.split_checks import check_splits

N = 1200
SPARK = ["--engine", "spark", "--master", "local[2]"]


def _rows(seed: int = 1) -> list[dict]:
    r = random.Random(seed)
    rows = []
    for i in range(N):
        split = r.choice(["train", "train", "train", "val", "test"])
        # 'fox' never in test, 'owl' only in val, 'Dog' a variant; val leans to 'dog'.
        weights = [50, 30 if split != "val" else 60, 5 if split != "test" else 0]
        label = r.choices(["cat", "dog", "fox"], weights)[0]
        rows.append({"path": f"img/{i:05d}.jpg", "label": "" if i % 89 == 0 else label,
                     "split": split, "patient": f"p{r.randint(0, 40)}"})  # fmt: skip
    for i in (3, 4):
        rows[i] |= {"label": "owl", "split": "val"}
    rows[7]["label"] = "Dog"
    rows[20] |= {k: rows[21][k] for k in ("path", "split")} | {"label": "cat"}  # a duplicate
    rows[21]["label"] = "cat"
    other = "test" if rows[31]["split"] != "test" else "val"  # a path in two splits
    rows[30] |= {"path": rows[31]["path"], "split": other, "label": rows[31]["label"] or "cat"}
    return rows


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("gaps")
    rows = _rows()
    path = folder / "labels.csv"
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    table = pa.Table.from_pylist([{k: (v or None) for k, v in row.items()} for row in rows])
    parts = folder / "parts"
    parts.mkdir()
    for i, start in enumerate(range(0, N, 400)):
        pq.write_table(table.slice(start, 400), parts / f"part-{i:03d}.parquet")
    pq.write_table(table, folder / "labels.parquet")
    jsonl = folder / "labels.jsonl"
    jsonl.write_text("".join(json.dumps({k: v or None for k, v in r.items()}) + "\n" for r in rows))
    return {"csv": path, "parts": parts, "parquet": folder / "labels.parquet", "jsonl": jsonl}


def _summary(findings) -> list[tuple]:
    return sorted((str(f.kind), str(f.severity), f.count, f.message, f.groups) for f in findings)


@pytest.mark.parametrize("kind", ["csv", "parts", "jsonl"])
def test_findings_and_split_findings_equal_pandas(spark, files, kind):
    dataset = read_dataset(files["csv" if kind != "parts" else "parquet"], group_col="patient")
    pandas = analyze(dataset)
    data = read_spark(spark, str(files[kind]), group_col="patient")
    dist = spark_distribution(data)
    found = spark_findings(data, dist)
    ignore_groups = [(k, s, c, m) for k, s, c, m, _ in _summary(found)]
    assert ignore_groups == [(k, s, c, m) for k, s, c, m, _ in _summary(pandas.findings)]
    expected = check_splits(dataset, pandas.distribution, findings=pandas.findings)
    got = spark_split_findings(data, dist, findings=found)
    assert _summary(got) == _summary(expected)
    kinds = {str(f.kind) for f in (*pandas.findings, *expected)}
    # The file has each finding the aggregates can give; a test that cannot fail is no test.
    assert {"missing_label", "label_variants", "duplicate_path", "split_leakage",
            "split_missing_class", "eval_only_class", "split_mix"} <= kinds  # fmt: skip
    # Computed alone (no findings passed in), the leakage comes out the same.
    assert _summary(spark_split_findings(data, dist)) == _summary(expected)


def test_split_findings_thresholds_follow_pandas(spark, files):
    dataset = read_dataset(files["csv"], group_col="patient")
    data = read_spark(spark, str(files["csv"]), group_col="patient")
    dist = spark_distribution(data)
    for options in ({"min_per_split": 30}, {"max_js_distance": 0.5}, {"alpha": 1e-300}):
        expected = check_splits(dataset, **options)
        assert _summary(spark_split_findings(data, dist, **options)) == _summary(expected)


def _weights_rows(table) -> list[tuple]:
    names = [n for n in ("row", "path", "label", "class_index", "weight") if n in table]
    return sorted(zip(*(table[n] for n in names), strict=True), key=repr)


@pytest.mark.parametrize(
    ("kind", "suffix", "extra"),
    [("csv", ".csv", ["--sampler", "--map", "Dog=dog"]),
     ("parts", ".parquet", ["--method", "effective_number", "--beta", "0.99", "--drop", "owl"])],
)  # fmt: skip
def test_cli_row_weights_equal_pandas(spark, files, tmp_path, capsys, kind, suffix, extra):
    import pyarrow.csv as pacsv

    from balance_core.cli import main

    source = str(files["csv" if kind == "csv" else "parquet"])
    base = ["weights", "--group-col", "patient", *extra]
    pandas_out = tmp_path / f"pandas{suffix}"
    assert main([*base, source, "-o", str(tmp_path / "p.json"), "--row-weights",
                 str(pandas_out)]) == 0  # fmt: skip
    pandas_report = capsys.readouterr().out
    spark_out = tmp_path / f"spark{suffix}"
    args = [*base, str(files[kind]), "-o", str(tmp_path / "s.json"), "--row-weights",
            str(spark_out), *SPARK]  # fmt: skip
    assert main(args) == 0
    spark_report = capsys.readouterr().out
    assert spark_report.replace("spark", "pandas").replace("s.json", "p.json") == pandas_report
    assert json.loads((tmp_path / "s.json").read_text()) == json.loads(
        (tmp_path / "p.json").read_text()
    )
    if suffix == ".csv":
        options = pacsv.ConvertOptions(column_types={"label": pa.string()})
        expected = pacsv.read_csv(pandas_out, convert_options=options).to_pydict()
        got = pacsv.read_csv(spark_out, convert_options=options).to_pydict()
        assert list(got) == list(expected) == ["row", "path", "label", "class_index", "weight"]
    else:
        expected = pq.read_table(pandas_out).to_pydict()
        got = spark.read.parquet(str(spark_out)).toArrow().to_pydict()
        # A folder of parts has no row positions: rows are named by their path.
        assert list(got) == ["path", "label", "class_index", "weight"]
        expected.pop("row")
    assert _weights_rows(got) == _weights_rows(expected)
    assert len(got["weight"]) == N and None in got["weight"]  # unlabelled rows: no weight
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
