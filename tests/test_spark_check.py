"""``check --engine spark`` and the Spark CSV reader's delimiter and encoding (real
local[2], real files): the seesaw-check/1 JSON, text and exit code of pandas ``check``;
';' and tab delimiters sniffed as the pandas reader sniffs them; non-UTF-8 refused."""

from __future__ import annotations

import csv
import io
import json
import random
from pathlib import Path

import jsonschema
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from balance_core.cli import main

N = 900
SPARK = ["--engine", "spark", "--master", "local[2]"]
ROOT = Path(__file__).resolve().parents[1]
SCHEMA = json.loads((ROOT / "docs" / "check-schema-v1.json").read_text())


def _rows(seed: int = 7) -> list[dict]:
    r = random.Random(seed)
    rows = []
    for i in range(N):
        split = r.choice(["train", "train", "train", "val", "test"])
        # 'fox' never in test, 'owl' only in val; val leans to 'dog'.
        weights = [50, 30 if split != "val" else 60, 6 if split != "test" else 0]
        label = r.choices(["cat", "dog", "fox"], weights)[0]
        rows.append({"path": f"img/{i:05d}.jpg", "label": "" if i % 97 == 0 else label,
                     "split": split, "patient": f"p{r.randint(0, 30)}"})  # fmt: skip
    for i in (3, 4):
        rows[i] |= {"label": "owl", "split": "val"}
    rows[7]["label"] = "Dog"  # a variant
    rows[20] |= {k: rows[21][k] for k in ("path", "split")} | {"label": "cat"}  # a duplicate
    rows[21]["label"] = "cat"
    other = "test" if rows[31]["split"] != "test" else "val"  # a path in two splits
    rows[30] |= {"path": rows[31]["path"], "split": other, "label": rows[31]["label"] or "cat"}
    return rows


def _write_csv(path: Path, rows: list[dict], delimiter: str = ",", encoding="utf-8") -> Path:
    with path.open("w", newline="", encoding=encoding) as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]), delimiter=delimiter)
        writer.writeheader()
        writer.writerows(rows)
    return path


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("check")
    rows = _rows()
    table = pa.Table.from_pylist([{k: (v or None) for k, v in row.items()} for row in rows])
    parts = folder / "parts"
    parts.mkdir()
    for i, start in enumerate(range(0, N, 300)):
        pq.write_table(table.slice(start, 300), parts / f"part-{i:03d}.parquet")
    pq.write_table(table, folder / "labels.parquet")
    semi_parts = folder / "semi_parts"
    semi_parts.mkdir()
    for i, start in enumerate(range(0, N, 300)):
        _write_csv(semi_parts / f"part-{i:03d}.csv", rows[start : start + 300], ";")
    return {
        "csv": _write_csv(folder / "labels.csv", rows),
        "semicolon": _write_csv(folder / "semicolon.csv", rows, ";"),
        "tab": _write_csv(folder / "tab.csv", rows, "\t"),
        "parquet": folder / "labels.parquet",
        "parts": parts,
        "semi_parts": semi_parts,
    }


def _run(capsys, args: list[str]) -> tuple[int, str, str]:
    out = io.StringIO()
    code = main(args, stdout=out)
    return code, out.getvalue(), capsys.readouterr().err


def _strip_rows(report: dict) -> dict:
    """The report less the findings' row lists (the Spark driver holds no rows)."""
    return report | {"findings": [{k: v for k, v in f.items() if k != "rows"}
                                  for f in report["findings"]]}  # fmt: skip


OPTION_SETS = [
    [],
    ["--max-ratio", "2", "--min-class", "120", "--fail-on", "all"],
    ["--fail-on", "leakage,split-mix,missing-class", "--min-per-split", "30"],
    ["--fail-on", "missing-labels,label-variants", "--max-js", "0.5", "--alpha", "0.05"],
    ["--max-ratio", "1000", "--min-class", "1", "--fail-on", "corrupt,unsafe,missing-file"],
]


@pytest.mark.parametrize("kind", ["csv", "parts", "semicolon"])
@pytest.mark.parametrize("options", OPTION_SETS, ids=range(len(OPTION_SETS)))
def test_check_json_equals_pandas(spark, files, capsys, kind, options):
    source = files["parquet" if kind == "parts" else kind]
    base = ["check", "--json", "--group-col", "patient", *options]
    code, out, err = _run(capsys, [*base, str(source)])
    assert code in (0, 1), err
    expected = json.loads(out)
    spark_code, spark_out, spark_err = _run(capsys, [*base, str(files[kind]), *SPARK])
    assert spark_err == ""
    got = json.loads(spark_out)
    jsonschema.validate(got, SCHEMA)
    assert spark_code == code == expected["exit_code"] == got["exit_code"]
    if kind == "parts":  # a folder: its name and the bytes of every part
        size = sum(p.stat().st_size for p in files["parts"].glob("*.parquet"))
        assert got["input"] == expected["input"] | {"name": "parts", "size_bytes": size}
        got["input"] = expected["input"]
    assert _strip_rows(got) == _strip_rows(expected)
    # The pandas findings have rows to strip; the comparison is not of empty lists.
    assert any(f["rows"] for f in expected["findings"])
    assert all(f["rows"] == [] for f in got["findings"])


def test_the_option_sets_cover_pass_fail_and_every_split_finding(files, capsys):
    """A test that cannot fail is no test: the options above pass and fail, and the
    data has every finding the aggregates can give."""
    codes, kinds = set(), set()
    for options in OPTION_SETS:
        code, out, _ = _run(capsys, ["check", "--json", "--group-col", "patient", *options,
                                     str(files["csv"])])  # fmt: skip
        codes.add(code)
        kinds |= {f["kind"] for f in json.loads(out)["findings"]}
    assert codes == {0, 1}
    assert {"missing_label", "label_variants", "duplicate_path", "split_leakage",
            "split_missing_class", "eval_only_class", "split_mix", "imbalance_ratio",
            "small_class", "tiny_class"} <= kinds  # fmt: skip


@pytest.mark.parametrize("quiet", [[], ["--quiet"]])
def test_check_text_equals_pandas(spark, files, capsys, quiet):
    base = ["check", str(files["csv"]), "--group-col", "patient", "--max-ratio", "3", *quiet]
    code, out, _ = _run(capsys, base)
    spark_code, spark_out, err = _run(capsys, [*base, *SPARK])
    assert err == "" and spark_code == code == 1
    assert spark_out == out
    assert out.count("FAIL ") >= 3


@pytest.mark.parametrize(
    "extra", [["--limit", "max_rows=10"], ["--sheet", "one"], ["--probe", "sample"]]
)
def test_check_refuses_pandas_reader_options(spark, files, capsys, extra):
    code, out, err = _run(capsys, ["check", str(files["csv"]), *extra, *SPARK])
    assert code == 2 and out == ""
    assert err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err
    assert "--engine spark" in err


def _analysis(capsys, args):
    code, out, err = _run(capsys, ["analyze", "--json", "--group-col", "patient", *args])
    assert code == 0, err
    return json.loads(out)


@pytest.mark.parametrize("kind", ["semicolon", "tab"])
def test_sniffed_delimiter_counts_and_manifests_equal_pandas(spark, files, tmp_path, capsys, kind):
    expected = _analysis(capsys, [str(files[kind])])
    got = _analysis(capsys, [str(files[kind]), *SPARK])
    assert got["source"] == expected["source"]
    assert got["source"]["delimiter"] == {"semicolon": ";", "tab": "\t"}[kind]
    assert list(got) == list(expected)
    for key in expected:
        if key != "findings":
            assert got[key] == expected[key], key
    assert _strip_rows(got)["findings"] == _strip_rows(expected)["findings"]
    assert expected["labelled_rows"] > N * 0.9  # read as one column, nothing would count
    outputs = []
    for engine, name in (([], "pandas.csv"), (SPARK, "spark.csv")):
        args = ["undersample", str(files[kind]), "--group-col", "patient", "--seed", "4",
                "-o", str(tmp_path / name), *engine]  # fmt: skip
        code, _, err = _run(capsys, args)
        assert code == 0, err
        with (tmp_path / name).open(newline="") as handle:
            # Rows keyed by path: pandas adds their position ('row'), Spark does not.
            outputs.append(sorted(tuple((k, v) for k, v in row.items() if k != "row")
                                  for row in csv.DictReader(handle)))  # fmt: skip
    assert outputs[0] == outputs[1] and 0 < len(outputs[0]) < N


def test_folder_and_glob_of_semicolon_parts(spark, files, capsys):
    expected = _analysis(capsys, [str(files["semicolon"])])
    for source in (files["semi_parts"], f"{files['semi_parts']}/part-*.csv"):
        got = _analysis(capsys, [str(source), *SPARK])
        assert got["source"]["delimiter"] == ";"
        assert got["counts"] == expected["counts"] and got["splits"] == expected["splits"]
    code, out, _ = _run(capsys, ["check", "--json", str(files["semicolon"])])
    spark_code, spark_out, err = _run(capsys, ["check", "--json", str(files["semi_parts"]), *SPARK])
    assert spark_code == code and err == ""
    got, want = json.loads(spark_out), json.loads(out)
    assert _strip_rows(got)["findings"] == _strip_rows(want)["findings"]


@pytest.mark.parametrize("encoding", ["cp1252", "utf-16"])
def test_non_utf8_csv_is_refused_in_one_sentence(spark, files, tmp_path, capsys, encoding):
    rows = [dict(r) for r in _rows()[:50]]
    for row in rows[::3]:
        row["label"] = "café"
    path = _write_csv(tmp_path / "latin.csv", rows, encoding=encoding)
    assert _run(capsys, ["analyze", str(path)])[0] == 0  # pandas reads it (and says how)
    for command in (["analyze"], ["check"], ["undersample", "-o", str(tmp_path / "o.csv")]):
        code, out, err = _run(capsys, [*command, str(path), *SPARK])
        assert code == 2 and out == ""
        assert err.startswith("error: 'latin.csv' is not UTF-8") and err.count("\n") == 1
        assert "convert" in err and "Traceback" not in err
    assert not (tmp_path / "o.csv").exists()


def test_quoted_cells_with_doubled_quotes_and_line_breaks_read_as_on_pandas(
    spark, tmp_path, capsys
):
    # RFC 4180: "" inside a quoted cell is one quote, a quoted cell may span lines.
    rows = [(f"{i}.png", ("a", 'b "x"', "c\nd")[i % 3 if i < 60 else 0], f"p{i % 9}")
            for i in range(90)]  # fmt: skip
    source = tmp_path / "quoted.csv"
    with source.open("w", newline="") as handle:
        writer = csv.writer(handle, quoting=csv.QUOTE_MINIMAL)
        writer.writerow(["path", "label", "patient"])
        writer.writerows(rows)
    expected = _analysis(capsys, [str(source)])
    got = _analysis(capsys, [str(source), *SPARK])
    assert expected["counts"] == {"a": 50, 'b "x"': 20, "c\nd": 20}
    assert got["counts"] == expected["counts"]
    assert got["labelled_rows"] == expected["labelled_rows"] == 90
