"""Nothing lost: every input row and zip entry is accounted for, the uploaded bytes
are never modified, and a failed CLI run leaves existing outputs as they were."""

from __future__ import annotations

import csv
import hashlib
import io
import os
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hostile_corpus import BY_ID, Case

import balance_core as bc
from balance_core.cli import main
from balance_core.export import balanced_zip, table_csv, table_parquet, write_atomic_many
from balance_core.images import gallery_sample, thumbnails
from balance_core.recipe import Recipe, Strategy, run

# Findings that count zip entries which are not rows.
ENTRY_KINDS = {"unsafe_entry", "skipped_junk", "non_image", "limit_hit"}

ODD_ZIPS = [
    "zip_platform_junk", "zip_dotdot_names", "zip_absolute_name", "zip_drive_letter_names",
    "zip_backslash_name", "zip_control_characters", "zip_nul_in_name", "zip_symlink_entry",
    "zip_encrypted_entry", "zip_unsupported_compression", "zip_nested_zip",
    "zip_non_images_in_class_folders", "zip_image_at_root_beside_classes",
    "zip_duplicate_names", "zip_high_ratio_member", "zip_bomb_2gib_member",
    "zip_metadata_path_traversal", "zip_images_in_sub_folders", "zip_cp437_names",
    "img_format_outside_allow_list", "img_zero_bytes", "img_pixel_bomb_above_pillow_limit",
    "img_degenerate_sizes",
]  # fmt: skip
ODD_TABLES = [
    "tbl_pandas_na_strings_are_labels", "tbl_cp1252", "tbl_quoted_newlines",
    "tbl_whitespace_and_case_variants", "tbl_utf16_with_bom", "tbl_semicolons_with_decimal_commas",
    "tbl_json_array", "tbl_json_lines", "tbl_xlsx_multiple_sheets", "out_formula_labels",
]  # fmt: skip


def read(case: Case) -> bc.Dataset:
    return bc.read_dataset(case.data, name=case.filename)


def assert_every_row_is_in_the_manifest_or_dropped(dataset: bc.Dataset) -> None:
    """Undersampling keeps some rows and drops the rest: each row lands in exactly
    one of the two, and every unlabelled row is also explained by a finding."""
    analysis = bc.analyze(dataset)
    outcome = run(Recipe(strategy=Strategy(method="undersample"), split=None), dataset)
    manifest, dropped = outcome.resampled.manifest, outcome.resampled.dropped
    originals = manifest.filter(np.asarray(manifest["copy"]) == 0)["row"].to_pylist()
    gone = dropped["row"].to_pylist()
    assert sorted(originals + gone) == list(range(dataset.n_rows))
    unlabelled = set(np.flatnonzero(np.asarray(dataset.labels.is_null())).tolist())
    reasons = dict(zip(gone, dropped["reason"].to_pylist(), strict=True))
    assert {row for row, why in reasons.items() if why == "no label"} == unlabelled
    explained = {
        int(r) for f in analysis.findings if f.kind == "missing_label" for r in f.rows.tolist()
    }
    assert explained == unlabelled


@pytest.mark.parametrize("case_id", ODD_ZIPS)
def test_every_zip_entry_is_a_row_or_counted_in_a_finding(case_id: str):
    case = BY_ID[case_id]
    dataset = read(case)
    entries = [i for i in zipfile.ZipFile(io.BytesIO(case.data)).infolist() if not i.is_dir()]
    skipped = sum(f.count for f in dataset.findings if f.kind in ENTRY_KINDS and f.entries)
    metadata = int(case_id.startswith("zip_metadata"))
    assert len(entries) == dataset.n_rows + skipped + metadata
    assert_every_row_is_in_the_manifest_or_dropped(dataset)


def test_every_metadata_row_is_an_image_or_a_missing_file_finding():
    case = BY_ID["zip_metadata_path_traversal"]
    dataset = read(case)
    listed = len(zipfile.ZipFile(io.BytesIO(case.data)).read("metadata.csv").splitlines()) - 1
    missing = next(f for f in dataset.findings if f.kind == "missing_file")
    assert missing.entries == ("../../etc/passwd",)
    assert dataset.labels.null_count == 0
    assert listed == dataset.n_rows + missing.count


@pytest.mark.parametrize("case_id", ODD_TABLES)
def test_every_table_record_is_a_row(case_id: str):
    case = BY_ID[case_id]
    dataset = read(case)
    if dataset.source.format in ("csv", "tsv", "txt"):
        encoding = {"UTF-8": "utf-8-sig", "cp1252": "cp1252"}.get(
            dataset.source.encoding, dataset.source.encoding.lower()
        )
        text = case.data.decode(encoding).removeprefix("\ufeff")
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=dataset.source.delimiter)
        records = [record for record in reader if record]
        assert dataset.n_rows == len(records) - 1
    else:
        assert dataset.n_rows == 10
    assert_every_row_is_in_the_manifest_or_dropped(dataset)


# --------------------------------------------------------------------------- untouched input


STRATEGIES = [("undersample", "equal"), ("oversample", "equal"), ("resample", "median"),
              ("weights", "equal")]  # fmt: skip


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize(
    "case_id", ["zip_duplicate_names", "zip_platform_junk", "img_odd_modes", "tbl_cp1252"]
)
def test_the_uploaded_bytes_are_never_modified(case_id: str, tmp_path: Path):
    case = BY_ID[case_id]
    path = tmp_path / case.filename
    path.write_bytes(case.data)
    before, stamp = digest(path), path.stat().st_mtime_ns
    buffer = bytearray(case.data)  # a mutable upload: any write would show
    for source in (path, buffer):
        dataset = bc.read_dataset(source, name=case.filename)
        assert dataset.source.sha256 == before
        bc.analyze(dataset)
        for method, target in STRATEGIES:
            outcome = run(Recipe(strategy=Strategy(method=method, target=target)), dataset)
            if outcome.resampled is None:
                continue
            table_csv(outcome.resampled.manifest)
            table_parquet(outcome.resampled.dropped)
            if dataset.source.format == "zip" and case_id != "zip_duplicate_names":
                balanced_zip(source if isinstance(source, Path) else bytes(source),
                             outcome.resampled.manifest)  # fmt: skip
        if dataset.source.format == "zip":
            paths = [p for ps in gallery_sample(dataset).values() for p in ps]
            thumbnails(source if isinstance(source, Path) else bytes(source), paths)
    assert digest(path) == before and path.stat().st_mtime_ns == stamp
    assert bytes(buffer) == case.data


# --------------------------------------------------------------------------- atomic outputs


@pytest.mark.parametrize(
    "case_id",
    ["zip_overlapping_entries", "zip_truncated", "tbl_huge_cell", "tbl_ragged_rows",
     "out_one_class", "zip_images_only_at_root"],
)  # fmt: skip
def test_a_failed_run_leaves_every_existing_output_as_it_was(case_id: str, tmp_path: Path, capsys):
    case = BY_ID[case_id]
    (tmp_path / case.filename).write_bytes(case.data)
    outputs = {name: f"precious {name}\n".encode() for name in ("o.csv", "d.csv", "r.json")}
    for name, data in outputs.items():
        (tmp_path / name).write_bytes(data)
    status = main(
        ["undersample", str(tmp_path / case.filename), "-o", str(tmp_path / "o.csv"),
         "--dropped", str(tmp_path / "d.csv"), "--recipe", str(tmp_path / "r.json")]
    )  # fmt: skip
    assert status == 2 and capsys.readouterr().err.startswith("error: ")
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.name in outputs} == outputs
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([*outputs, case.filename])


def test_an_output_that_cannot_be_written_leaves_the_others_untouched(tmp_path: Path, capsys):
    (tmp_path / "in.csv").write_bytes(b"label\na\na\nb\n")
    (tmp_path / "o.csv").write_bytes(b"precious")
    (tmp_path / "d.csv").mkdir()  # a folder where the dropped rows should go
    status = main(
        ["undersample", str(tmp_path / "in.csv"), "-o", str(tmp_path / "o.csv"),
         "--dropped", str(tmp_path / "d.csv")]
    )  # fmt: skip
    assert status == 2
    assert "is a folder" in capsys.readouterr().err
    assert (tmp_path / "o.csv").read_bytes() == b"precious"


def test_writing_several_files_changes_none_when_one_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    for name in ("a", "b", "c"):
        (tmp_path / name).write_bytes(b"old " + name.encode())
    real_fsync, calls = os.fsync, []

    def fsync_failing_on_the_second_file(fd: int) -> None:
        calls.append(fd)
        if len(calls) == 2:
            raise OSError(28, "No space left on device")
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync_failing_on_the_second_file)
    with pytest.raises(bc.DatasetError) as caught:
        write_atomic_many([(tmp_path / n, b"new") for n in ("a", "b", "c")])
    assert caught.value.kind == "write_failed" and "'" + str(tmp_path / "b") + "'" in str(
        caught.value
    )
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == {
        "a": b"old a", "b": b"old b", "c": b"old c",
    }  # fmt: skip
    monkeypatch.setattr(os, "fsync", real_fsync)
    write_atomic_many([(tmp_path / n, b"new " + n.encode()) for n in ("a", "b", "c")])
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == {
        "a": b"new a", "b": b"new b", "c": b"new c",
    }  # fmt: skip
