"""The CLI as a user runs it: a real subprocess, real files, exit codes and stderr."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from balance_core.cli import main, parse_limits

ROOT = Path(__file__).resolve().parents[1]


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "balance_core", *args],
        capture_output=True,
        text=True,
        cwd=cwd or ROOT,
        timeout=120,
    )


@pytest.fixture
def lung_csv(tmp_path: Path) -> Path:
    rows = ["path,diagnosis,patient_id,split"]
    for i in range(70):
        label = "cancer" if i % 7 == 0 else "normal"
        rows.append(f"scan_{i:03d}.png,{label},p{i // 10},{'test' if i >= 60 else 'train'}")
    rows.append("scan_999.png,,p99,train")
    path = tmp_path / "lung.csv"
    path.write_text("\n".join(rows) + "\n")
    return path


def test_analyze_json_has_the_documented_keys(lung_csv: Path):
    result = run("analyze", str(lung_csv), "--json")
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    report = json.loads(result.stdout)
    for key in ("rows", "classes", "counts", "missing_labels", "imbalance_ratio", "minority",
                "majority", "splits", "columns", "findings"):  # fmt: skip
        assert key in report
    assert report["rows"] == 71
    assert report["classes"] == 2
    assert report["counts"] == {"cancer": 10, "normal": 60}
    assert report["missing_labels"] == 1
    assert report["imbalance_ratio"] == 6.0
    assert (report["minority"], report["majority"]) == ("cancer", "normal")
    assert report["splits"] == {
        "test": {"cancer": 1, "normal": 9},
        "train": {"cancer": 9, "normal": 51},
    }
    assert report["columns"] == {
        "path": "path",
        "diagnosis": "label",
        "patient_id": "group",
        "split": "split",
    }
    kinds = {f["kind"] for f in report["findings"]}
    assert kinds == {"missing_label"}
    assert all({"kind", "count", "message"} <= set(f) for f in report["findings"])


def test_analyze_text_report_has_a_bar_chart(lung_csv: Path):
    result = run("analyze", str(lung_csv))
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "1 : 6" in out
    assert "█" in out
    assert "normal" in out and "cancer" in out
    assert "Mildly imbalanced" in out


def test_explicit_columns_override_the_guess(tmp_path: Path):
    path = tmp_path / "t.tsv"
    path.write_text("file\tkind\tlabel\na\tx\t1\nb\ty\t1\nc\tx\t2\n")
    report = json.loads(run("analyze", str(path), "--json", "--label-col", "kind").stdout)
    assert report["counts"] == {"x": 2, "y": 1}
    assert report["columns"]["kind"] == "label"


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["analyze", "missing.csv"], "no file"),
        (["analyze"], "required"),
        (["frobnicate", "x.csv"], "invalid choice"),
        (["analyze", "{empty}"], "empty"),
        (["analyze", "{csv}", "--label-col", "nope"], "no column 'nope'"),
        (["analyze", "{csv}", "--limit", "max_bogus=3"], "Unknown limit"),
        (["analyze", "{csv}", "--limit", "max_table_rows=2"], "max_table_rows"),
    ],
)
def test_bad_input_exits_2_with_one_sentence(tmp_path: Path, args: list[str], needle: str):
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    csv = tmp_path / "ok.csv"
    csv.write_text("label\na\nb\nb\n")
    args = [a.format(empty=empty, csv=csv) for a in args]
    result = run(*args, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    assert needle.lower() in lines[0].lower()


def test_labels_with_control_characters_do_not_reach_the_terminal(tmp_path: Path):
    path = tmp_path / "t.csv"
    path.write_bytes(b'label\n"evil\x1b[31mred"\nok\n')
    result = run("analyze", str(path))
    assert result.returncode == 0
    assert "\x1b" not in result.stdout
    assert "\\x1b[31mred" in result.stdout


def test_parse_limits():
    limits = parse_limits(["max_zip_entries=10", "max_compression_ratio=50.5"])
    assert limits.max_zip_entries == 10 and limits.max_compression_ratio == 50.5


def test_main_in_process_returns_status(lung_csv: Path, capsys):
    assert main(["analyze", str(lung_csv), "--json", "--no-findings"]) == 0
    assert json.loads(capsys.readouterr().out)["findings"] == []
