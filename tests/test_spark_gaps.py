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


def _cli_json(capsys, args) -> dict:
    from balance_core.cli import main

    assert main(args) == 0, capsys.readouterr().err
    return json.loads(capsys.readouterr().out)


@pytest.mark.parametrize("kind", ["csv", "parquet", "jsonl", "parts"])
def test_analyze_json_has_the_pandas_keys_and_values(spark, files, capsys, kind):
    source = files["parquet" if kind == "parts" else kind]
    pandas = _cli_json(capsys, ["analyze", str(source), "--json", "--group-col", "patient"])
    got = _cli_json(capsys, ["analyze", str(files[kind]), "--json", "--group-col", "patient",
                             *SPARK])  # fmt: skip
    assert list(got) == list(pandas)
    assert list(got["source"]) == list(pandas["source"])
    if kind == "parts":  # a folder: its name and the bytes of every part
        parts = sorted(files["parts"].glob("*.parquet"))
        assert got["source"] | {"name": "labels.parquet"} == pandas["source"] | {
            "size_bytes": sum(p.stat().st_size for p in parts)
        }
    else:
        assert got["source"] == pandas["source"]
    for key in pandas:
        if key not in ("source", "findings"):
            assert got[key] == pandas[key], key

    # Findings: the same, less the row lists (the Spark driver holds no rows).
    def strip(items):
        return [{k: v for k, v in f.items() if k != "rows"} for f in items]

    assert strip(got["findings"]) == strip(pandas["findings"])


def test_input_format_is_honoured_or_refused(spark, files, tmp_path, capsys):
    from balance_core.cli import main

    tsv = tmp_path / "labels.txt"  # a name that says nothing about the format
    with files["csv"].open() as handle, tsv.open("w") as out:
        out.writelines(line.replace(",", "\t") for line in handle)
    pandas = _cli_json(capsys, ["analyze", str(tsv), "--json", "--format", "tsv"])
    got = _cli_json(capsys, ["analyze", str(tsv), "--json", "--format", "tsv", *SPARK])
    assert got["counts"] == pandas["counts"] and got["splits"] == pandas["splits"]
    assert got["source"] == pandas["source"] and got["source"]["delimiter"] == "\t"
    # JSON lines under a name without a suffix, and a JSON array of objects.
    lines = tmp_path / "records"
    lines.write_bytes(files["jsonl"].read_bytes())
    array = tmp_path / "array.json"
    array.write_text(json.dumps([json.loads(x) for x in files["jsonl"].read_text().splitlines()]))
    for path, fmt in ((lines, "jsonl"), (array, "json")):
        expected = _cli_json(capsys, ["analyze", str(path), "--json", "--format", fmt])
        got = _cli_json(capsys, ["analyze", str(path), "--json", "--format", fmt, *SPARK])
        assert got["counts"] == expected["counts"] and got["source"] == expected["source"]
    for extra in (["--format", "xlsx"], ["--format", "coco"], ["--labels-sep", "|"],
                  ["--sheet", "one"]):  # fmt: skip
        assert main(["analyze", str(files["csv"]), *extra, *SPARK]) == 2
        err = capsys.readouterr().err
        assert err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err
        assert "--engine spark" in err


def test_output_format_is_honoured(spark, files, tmp_path, capsys):
    from balance_core.cli import main

    base = ["undersample", str(files["csv"]), "--group-col", "patient", "--seed", "5", *SPARK]
    as_csv = tmp_path / "manifest.out"
    assert main([*base, "-o", str(as_csv), "--format", "csv"]) == 0
    as_parquet = tmp_path / "manifest.csv"
    assert main([*base, "-o", str(as_parquet), "--format", "parquet"]) == 0
    assert as_csv.is_file() and as_parquet.is_dir()
    with as_csv.open() as handle:
        from_csv = sorted(r["path"] for r in csv.DictReader(handle))
    from_parquet = sorted(r["path"] for r in spark.read.parquet(str(as_parquet)).collect())
    assert from_csv == from_parquet and len(from_csv) > 0
    capsys.readouterr()
    assert main([*base, "-o", str(tmp_path / "m.csv"), "--partition-by-split"]) == 2
    assert "--partition-by-split writes a Parquet folder" in capsys.readouterr().err


def test_recipe_carries_the_pandas_fingerprint_and_apply_checks_it(spark, files, tmp_path, capsys):
    import shutil

    from balance_core.cli import main

    base = ["undersample", str(files["csv"]), "--group-col", "patient", "--seed", "3"]
    assert main([*base, "-o", str(tmp_path / "p.csv"), "--recipe", str(tmp_path / "p.json")]) == 0
    spark_args = [*base, "-o", str(tmp_path / "s.csv"), "--recipe", str(tmp_path / "s.json")]
    assert main([*spark_args, *SPARK]) == 0
    pandas_recipe = json.loads((tmp_path / "p.json").read_text())
    spark_recipe = json.loads((tmp_path / "s.json").read_text())
    assert spark_recipe["input"] == pandas_recipe["input"]
    assert spark_recipe["input"]["sha256"]  # a real fingerprint, not an empty one
    assert spark_recipe == pandas_recipe
    # The same file elsewhere: no note; a changed file: pandas' note, or its refusal.
    changed = tmp_path / "changed.csv"
    changed.write_bytes(files["csv"].read_bytes())
    capsys.readouterr()
    for recipe in ("p.json", "s.json"):
        apply = ["apply", str(tmp_path / recipe), str(changed), "-o", str(tmp_path / "a.csv")]
        assert main([*apply, *SPARK]) == 0
        assert capsys.readouterr().err == ""
    lines = files["csv"].read_text().splitlines(keepends=True)
    changed.write_text("".join([*lines[:-1]]))  # one row fewer
    messages = []
    for engine in ([], SPARK):
        apply = ["apply", str(tmp_path / "s.json"), str(changed), "-o", str(tmp_path / "a.csv")]
        assert main([*apply, *engine]) == 0
        note = capsys.readouterr().err
        assert main([*apply, "--strict", *engine]) == 2
        messages.append((note, capsys.readouterr().err))
    assert messages[0] == messages[1]
    assert messages[0][0].startswith("note: the input differs")
    assert "SHA-256 differs" in messages[0][1]
    # A folder of parts: the fingerprint over the sorted parts, the same when moved.
    import hashlib

    parts = sorted(files["parts"].glob("*.parquet"))
    rule = "".join(
        sorted(
            f"{p.name}\t{p.stat().st_size}\t{hashlib.sha256(p.read_bytes()).hexdigest()}\n"
            for p in parts
        )
    )
    folder_recipe = tmp_path / "f.json"
    args = ["undersample", str(files["parts"]), "--group-col", "patient", "-o",
            str(tmp_path / "f.parquet"), "--recipe", str(folder_recipe), *SPARK]  # fmt: skip
    assert main(args) == 0
    entry = json.loads(folder_recipe.read_text())["input"]
    assert entry["sha256"] == hashlib.sha256(rule.encode()).hexdigest()
    assert entry["parts"] == len(parts) and entry["size_bytes"] == sum(
        p.stat().st_size for p in parts
    )
    moved = tmp_path / "moved"
    shutil.copytree(files["parts"], moved)
    apply = ["apply", str(folder_recipe), str(moved), "-o", str(tmp_path / "b.parquet"), *SPARK]
    capsys.readouterr()
    assert main([*apply, "--strict"]) == 0 and capsys.readouterr().err == ""
    table = pq.read_table(moved / parts[0].name)
    pq.write_table(table.slice(1), moved / parts[0].name)  # one row fewer in one part
    assert main([*apply, "--strict"]) == 2
    assert "SHA-256 differs" in capsys.readouterr().err
