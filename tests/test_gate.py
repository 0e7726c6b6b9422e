"""The check gate and the check/split commands: exit codes, one line per failure, the
seesaw-check/1 JSON validated against docs/check-schema-v1.json, and split outputs."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from balance_core import FindingKind, analyze, read_dataset
from balance_core.cli import main
from balance_core.errors import DatasetError
from balance_core.gate import CHECK_SCHEMA, Thresholds, parse_fail_on, run_gate

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = json.loads((ROOT / "docs" / "check-schema-v1.json").read_text())


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "balance_core", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )


def in_process(*args: str) -> tuple[int, str]:
    out = io.StringIO()
    return main(list(args), stdout=out), out.getvalue()


def write_csv(path: Path, rows: list[dict]) -> Path:
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


@pytest.fixture
def clean_csv(tmp_path: Path) -> Path:
    """Stratified, patient-clean splits, 1 : 4, every class at least 50 rows."""
    rows = []
    for i in range(1000):
        patient = i // 10
        label = "cancer" if patient % 5 == 0 else "normal"
        split = "test" if (patient // 5) % 5 == 0 else "train"  # same mix in both
        rows.append({"path": f"scan_{i:04d}.png", "diagnosis": label,
                     "patient_id": f"p{patient:03d}", "split": split})  # fmt: skip
    return write_csv(tmp_path / "clean.csv", rows)


@pytest.fixture
def leaky_csv(tmp_path: Path) -> Path:
    """Patients in both splits, a class only in test, a rare class, ratio 1 : 60."""
    rows = []
    for i in range(600):
        split = "train" if i % 3 else "test"
        rows.append({"path": f"scan_{i:04d}.png", "diagnosis": "normal",
                     "patient_id": f"p{i % 40:03d}", "split": split})  # fmt: skip
    for i in range(10):
        rows.append({"path": f"rare_{i}.png", "diagnosis": "nodule",
                     "patient_id": f"q{i}", "split": "test"})  # fmt: skip
    return write_csv(tmp_path / "leaky.csv", rows)


# --------------------------------------------------------------------------- library


def test_clean_data_passes_every_check(clean_csv: Path):
    result = run_gate(
        analyze(read_dataset(clean_csv)),
        Thresholds(max_ratio=10, min_class=50, fail_on=("leakage", "missing-class",
                                                        "duplicates", "corrupt", "split-mix")),
    )  # fmt: skip
    assert result.passed and result.exit_code == 0
    assert [c.name for c in result.checks] == ["max-ratio", "min-class", "leakage",
                                               "missing-class", "duplicates", "corrupt",
                                               "split-mix"]  # fmt: skip
    ratio = next(c for c in result.checks if c.name == "max-ratio")
    assert ratio.value == pytest.approx(4.0) and ratio.threshold == 10


def test_each_threshold_fails_with_its_finding(leaky_csv: Path):
    analysis = analyze(read_dataset(leaky_csv))
    result = run_gate(analysis, Thresholds(max_ratio=10, min_class=50,
                                           fail_on=("leakage", "missing-class")))  # fmt: skip
    failed = {c.name: c for c in result.checks if not c.passed}
    assert set(failed) == {"max-ratio", "min-class", "leakage", "missing-class"}
    assert [f.kind for f in failed["max-ratio"].findings] == [FindingKind.IMBALANCE_RATIO]
    assert [f.kind for f in failed["min-class"].findings] == [FindingKind.SMALL_CLASS]
    assert {f.kind for f in failed["missing-class"].findings} == {FindingKind.EVAL_ONLY_CLASS}
    assert failed["max-ratio"].value == pytest.approx(60.0)
    # The rare class's rows are the rows of the ratio and min-class findings.
    nodule_rows = list(range(600, 610))
    assert failed["min-class"].findings[0].rows.tolist() == nodule_rows
    assert failed["max-ratio"].findings[0].rows.tolist() == nodule_rows
    # Every failing finding once, even when two checks name it.
    ids = [id(f) for _, f in result.failures]
    assert len(ids) == len(set(ids))


def test_fail_on_only_what_is_named(leaky_csv: Path):
    analysis = analyze(read_dataset(leaky_csv))
    assert run_gate(analysis, Thresholds(fail_on=("duplicates",))).passed
    assert not run_gate(analysis, Thresholds(fail_on=("split-leakage",))).passed
    assert not run_gate(analysis, Thresholds()).passed  # default: every error


def test_fail_on_names_are_checked():
    assert parse_fail_on("Leakage, missing-class,,leakage") == ("leakage", "missing-class")
    assert parse_fail_on("split_leakage,tiny-class") == ("split_leakage", "tiny-class")
    with pytest.raises(DatasetError, match="Unknown check 'bogus'"):
        parse_fail_on("leakage,bogus")
    with pytest.raises(DatasetError, match=">= 1"):
        Thresholds(max_ratio=0.5)


def test_schema_names_every_finding_kind():
    assert set(SCHEMA["$defs"]["kind"]["enum"]) == {str(k) for k in FindingKind}
    assert SCHEMA["properties"]["schema"]["const"] == CHECK_SCHEMA


# --------------------------------------------------------------------------- CLI


def test_check_exit_0_and_schema_on_passing_data(clean_csv: Path):
    result = run("check", str(clean_csv), "--max-ratio", "10", "--min-class", "50",
                 "--fail-on", "leakage,missing-class,duplicates,corrupt")  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert result.stdout.startswith("seesaw check: passed")
    assert not any(line.startswith("FAIL") for line in result.stdout.splitlines())
    as_json = run("check", str(clean_csv), "--json", "--max-ratio", "10")
    assert as_json.returncode == 0
    report = json.loads(as_json.stdout)
    jsonschema.validate(report, SCHEMA)
    assert report["passed"] is True and report["exit_code"] == 0
    assert report["failures"] == []


def test_check_exit_1_one_line_per_failure_and_schema(leaky_csv: Path):
    args = ("check", str(leaky_csv), "--max-ratio", "10", "--min-class", "50",
            "--fail-on", "leakage,missing-class,duplicates,corrupt")  # fmt: skip
    result = run(*args)
    assert result.returncode == 1, result.stderr
    assert result.stderr == ""
    lines = result.stdout.splitlines()
    failures = [line for line in lines if line.startswith("FAIL ")]
    assert len(failures) == 4
    assert {line.split(":")[0] for line in failures} == {
        "FAIL max-ratio (imbalance_ratio)",
        "FAIL min-class (small_class)",
        "FAIL leakage (split_leakage)",
        "FAIL missing-class (eval_only_class)",
    }
    assert lines[-1].startswith("seesaw check: FAILED (4 of 6 checks failed")
    as_json = run(*args, "--json")
    assert as_json.returncode == 1
    report = json.loads(as_json.stdout)
    jsonschema.validate(report, SCHEMA)
    assert report["passed"] is False and report["exit_code"] == 1
    assert len(report["failures"]) == 4
    for check in report["checks"]:
        for position in check["findings"]:
            assert report["findings"][position]["fails"] is True
    assert sum(f["fails"] for f in report["findings"]) == 4
    assert report["split_mix"]["worst_pair"]["splits"] == ["test", "train"]


def test_check_json_schema_rejects_a_broken_report(clean_csv: Path):
    code, out = in_process("check", str(clean_csv), "--json")
    assert code == 0
    report = json.loads(out)
    jsonschema.validate(report, SCHEMA)
    report["exit_code"] = 3
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(report, SCHEMA)


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("check", "missing.csv"), "missing.csv"),
        (("check", "{clean}", "--fail-on", "nonsense"), "Unknown check 'nonsense'"),
        (("check", "{clean}", "--max-ratio", "0"), "ratio must be a number >= 1"),
        (("check", "{clean}", "--max-js", "2"), "Jensen-Shannon"),
        (("split", "{clean}", "-o", "{out}", "--splits", "train=0.9,test=0.2"), "add up to 1"),
    ],
)
def test_bad_input_exits_2_with_one_sentence(clean_csv: Path, tmp_path: Path, args, words):
    filled = [a.format(clean=clean_csv, out=tmp_path / "out.csv") for a in args]
    result = run(*filled)
    assert result.returncode == 2
    assert result.stdout == ""
    assert words in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_split_writes_the_manifest_record_and_replays(clean_csv: Path, tmp_path: Path):
    out, record = tmp_path / "split.csv", tmp_path / "split.json"
    code, text = in_process("split", str(clean_csv), "--splits", "train=0.7,val=0.15,test=0.15",
                            "--seed", "4", "-o", str(out), "--record", str(record))  # fmt: skip
    assert code == 0
    assert "Largest deviation: class" in text
    with out.open() as handle:
        rows = list(csv.DictReader(handle))
    with clean_csv.open() as handle:
        original = list(csv.DictReader(handle))
    assert len(rows) == len(original)
    assert list(rows[0]) == list(original[0])  # the split column replaced where it was
    assert {r["split"] for r in rows} == {"train", "val", "test"}
    by_patient: dict[str, set] = {}
    for r in rows:
        by_patient.setdefault(r["patient_id"], set()).add(r["split"])
    assert all(len(s) == 1 for s in by_patient.values())
    assert [r["path"] for r in rows] == [r["path"] for r in original]
    saved = json.loads(record.read_text())
    assert saved["format"] == "seesaw-split-record/1"
    assert [p["split"] for p in saved["split"]["proportions"]] == ["train", "val", "test"]
    again = tmp_path / "again.csv"
    assert in_process("split", str(clean_csv), "--from", str(record), "-o", str(again))[0] == 0
    assert again.read_bytes() == out.read_bytes()
    # And the split it wrote passes the gate.
    assert in_process("check", str(out), "--fail-on", "leakage,missing-class,split-mix")[0] == 0


def test_resplit_writes_what_moved(leaky_csv: Path, tmp_path: Path):
    out, moved = tmp_path / "fixed.csv", tmp_path / "moved.csv"
    code, text = in_process("split", str(leaky_csv), "--resplit", "--min-per-class", "1",
                            "-o", str(out), "--moved", str(moved))  # fmt: skip
    assert code == 0
    assert "Moved " in text and "now whole" in text
    with moved.open() as handle:
        moved_rows = list(csv.DictReader(handle))
    assert moved_rows and all(r["before"] != r["after"] for r in moved_rows)
    assert list(moved_rows[0]) == ["row", "path", "label", "group", "before", "after"]
    fixed = run("check", str(out), "--fail-on", "leakage,missing-class")
    assert fixed.returncode == 0, fixed.stdout


def test_failed_split_leaves_existing_outputs_alone(tmp_path: Path):
    data = write_csv(tmp_path / "tiny.csv", [{"label": "a"}] * 30 + [{"label": "rare"}] * 2)
    out = tmp_path / "out.csv"
    out.write_text("keep me\n")
    result = run("split", str(data), "--splits", "80/10/10", "-o", str(out))
    assert result.returncode == 2
    assert "'rare' has 2 row(s)" in result.stderr
    assert out.read_text() == "keep me\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.csv", "tiny.csv"]
