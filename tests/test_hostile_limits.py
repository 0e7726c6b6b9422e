"""Safety limits: documented defaults in one place, every limit enforced before the
work it protects, named with the way to raise it, settable from the CLI and from
the app's ``.streamlit/seesaw.toml``; and Pillow's process-wide settings are never
touched, whatever the corpus throws at the readers."""

from __future__ import annotations

import dataclasses
import json
import re
import time
import warnings
from pathlib import Path

import pytest
from hostile_corpus import (
    BASE,
    CASES,
    class_zip,
    make_zip,
    png_header_bomb,
    with_base,
    xlsx_of,
)
from PIL import Image, ImageFile, PngImagePlugin
from streamlit.testing.v1 import AppTest

import balance_core as bc
import balance_core.limits
import ui.limits
from balance_core.cli import main, parse_limits
from balance_core.images import gallery_sample, thumbnails
from balance_core.readers import delimited, imageprobe
from ui import state
from ui.limits import LimitsConfigError, app_limits, upload_cap_bytes

ROOT = Path(__file__).resolve().parents[1]

DOCUMENTED_DEFAULTS = {
    "max_input_bytes": 64 * 1024**3,
    "max_zip_entries": 1_000_000,
    "max_total_uncompressed": 64 * 1024**3,
    "max_entry_uncompressed": 512 * 1024**2,
    "max_compression_ratio": 200.0,
    "max_path_depth": 12,
    "max_image_pixels": 89_478_485,
    "max_table_rows": 200_000_000,
    "max_table_columns": 2_000,
    "max_cell_bytes": 1024**2,
    "max_sheet_cells": 1_000_000,
    "max_classes": 100_000,
    "max_output_rows": 200_000_000,
    "max_output_bytes": 64 * 1024**3,
}
FIELDS = [field.name for field in dataclasses.fields(bc.Limits)]
OUTPUT_LIMITS = ["max_output_rows", "max_output_bytes"]
INPUT_LIMITS = [name for name in FIELDS if name not in OUTPUT_LIMITS]


def test_the_defaults_are_the_documented_ones_in_one_place():
    assert dataclasses.asdict(bc.Limits()) == DOCUMENTED_DEFAULTS
    assert bc.Limits() == bc.DEFAULT_LIMITS
    for name in FIELDS:
        assert f"``{name}``" in balance_core.limits.__doc__  # where it is enforced
        assert f"{name} :" in bc.Limits.__doc__  # what it bounds, and its default


# --------------------------------------------------------------------------- enforcement


def csv_rows(n: int, classes: int = 2) -> bytes:
    return ("path,label\n" + "".join(f"{i}.png,c{i % classes}\n" for i in range(n))).encode()


# name -> (input, lowered value, error expected (True) or a finding of this count)
TRIPS = {
    "max_input_bytes": (csv_rows(10), 50, True),
    "max_zip_entries": (with_base(), 9, True),
    "max_total_uncompressed": (with_base(), 100, True),
    "max_entry_uncompressed": (with_base(("cats/big.png", bytes(300))), 200, 1),
    "max_compression_ratio": (with_base(("cats/z.png", bytes(2 << 20))), 50, 1),
    "max_path_depth": (with_base(("cats/indoor/1.png", BASE[0][1])), 1, True),
    "max_image_pixels": (with_base(), 5, 10),
    "max_table_rows": (csv_rows(10), 9, True),
    "max_table_columns": (b"label,b,c\nx,2,3\ny,2,3\n", 2, True),
    "max_cell_bytes": (b"label,note\na,12345\nb,1\n", 4, True),
    "max_sheet_cells": (xlsx_of({"Data": [["label"], ["a"], ["b"]]}), 2, True),
    "max_classes": (csv_rows(10, classes=3), 2, True),
}


def test_every_limit_has_a_trip_case():
    assert sorted(TRIPS) == sorted(INPUT_LIMITS)
    assert sorted(OUTPUT_TRIPS) == sorted(OUTPUT_LIMITS)


# name -> (command line after INPUT, lowered value, phrase of the estimate)
OUTPUT_TRIPS = {
    "max_output_rows": (["oversample", "--to", "equal"], 13, "would have 14 rows"),
    "max_output_bytes": (["resample", "--to", "1000"], 20_000, "would take about"),
}


@pytest.mark.parametrize("name", OUTPUT_LIMITS)
def test_every_output_limit_is_enforced_before_writing(name: str, tmp_path: Path, capsys):
    args, value, phrase = OUTPUT_TRIPS[name]
    source = tmp_path / "in.csv"
    source.write_bytes(csv_rows(12, classes=2)[: -len(b"11.png,c1\n")] + b"11.png,c0\n")
    out = tmp_path / "out.csv"
    status = main([args[0], str(source), *args[1:], "-o", str(out), "--limit", f"{name}={value}"])
    _, err = capsys.readouterr()
    assert status == 2 and phrase in err and f"--limit {name}=N" in err, err
    assert not out.exists() and sorted(p.name for p in tmp_path.iterdir()) == ["in.csv"]
    # At the default, the same run writes its output.
    assert main([args[0], str(source), *args[1:], "-o", str(out)]) == 0
    capsys.readouterr()
    assert out.is_file()


@pytest.mark.parametrize("name", INPUT_LIMITS)
def test_every_limit_is_enforced_and_says_how_to_raise_it(name: str, tmp_path: Path, capsys):
    data, value, outcome = TRIPS[name]
    limits = dataclasses.replace(bc.DEFAULT_LIMITS, **{name: value})
    how = (f"Limits({name}=...)", f"--limit {name}=N")
    suffix = "xlsx" if name == "max_sheet_cells" else "zip" if data.startswith(b"PK") else "csv"
    path = tmp_path / f"in.{suffix}"
    path.write_bytes(data)
    status = main(["analyze", str(path), "--json", "--limit", f"{name}={value}"])
    out, err = capsys.readouterr()
    if outcome is True:
        with pytest.raises(bc.DatasetError) as caught:
            bc.read_dataset(data, name=path.name, limits=limits)
        assert caught.value.kind == "limit_hit"
        assert all(part in str(caught.value) for part in how), str(caught.value)
        assert status == 2 and err == f"error: {caught.value}\n"
    else:
        dataset = bc.read_dataset(data, name=path.name, limits=limits)
        hits = [f for f in dataset.findings if f.kind == "limit_hit"]
        assert [f.count for f in hits] == [outcome]
        assert all(part in hits[0].message for part in how), hits[0].message
        assert status == 0 and '"kind": "limit_hit"' in out
    # At the default, the same input is fine.
    bc.read_dataset(data, name=path.name)


def test_the_cli_takes_every_limit():
    for name in FIELDS:
        assert getattr(parse_limits([f"{name}=7"]), name) == 7
    assert parse_limits(["max_table_rows=1e9"]).max_table_rows == 10**9
    assert parse_limits(["max_table_rows=1_000"]).max_table_rows == 1000


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "0", "-3", "1e400", "2.5", "", "ten"])
@pytest.mark.parametrize("name", ["max_compression_ratio", "max_zip_entries", "max_output_bytes"])
def test_a_limit_must_be_a_finite_number_above_0(name: str, value: str, capsys):
    if value == "2.5" and name == "max_compression_ratio":
        assert parse_limits([f"{name}={value}"]).max_compression_ratio == 2.5
        return
    status = main(["analyze", "x.csv", "--limit", f"{name}={value}"])
    _, err = capsys.readouterr()
    assert status == 2 and err.count("\n") == 1 and f"The limit {name}" in err, err
    assert "Traceback" not in err


@pytest.mark.parametrize("value", [float("nan"), float("inf"), 0, -1, True, "7", 2.5])
def test_limits_refuse_values_that_are_not_finite_positive_numbers(value):
    with pytest.raises(bc.DatasetError) as caught:
        bc.Limits(max_zip_entries=value)
    assert caught.value.kind == "usage" and "max_zip_entries" in str(caught.value)
    with pytest.raises(bc.DatasetError):
        bc.Limits(max_compression_ratio=float("nan"))
    assert bc.Limits(max_compression_ratio=2.5).max_compression_ratio == 2.5


def test_an_oversized_file_is_refused_without_being_read(tmp_path: Path):
    path = tmp_path / "huge.csv"
    with path.open("wb") as handle:  # 100 GiB, sparse: reading it would take minutes
        handle.write(b"label\na\nb\n")
        handle.truncate(100 * 1024**3)
    started = time.perf_counter()
    with pytest.raises(bc.DatasetError) as caught:
        bc.read_dataset(path)
    assert time.perf_counter() - started < 2
    assert caught.value.kind == "limit_hit" and "max_input_bytes" in str(caught.value)


def refuse(*_args, **_kwargs):
    raise AssertionError("expensive work started before the limit was checked")


@pytest.mark.parametrize(
    ("data", "limits", "phrase"),
    [
        (b"a,b,c\n" + b"1,2,3\n" * 1000, {"max_table_columns": 2}, "max_table_columns"),
        (b"label," + b"n" * 100 + b"\na,b\n", {"max_cell_bytes": 50}, "max_cell_bytes"),
    ],
)
def test_table_header_limits_are_checked_before_the_rows_are_parsed(
    data: bytes, limits: dict, phrase: str, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(delimited.pacsv, "read_csv", refuse)
    with pytest.raises(bc.DatasetError) as caught:
        bc.read_dataset(data, name="t.csv", limits=bc.Limits(**limits))
    assert phrase in str(caught.value)


@pytest.mark.parametrize(
    ("limits", "phrase"),
    [
        ({"max_zip_entries": 9}, "max_zip_entries"),
        ({"max_total_uncompressed": 100}, "max_total_uncompressed"),
        ({"max_path_depth": 0}, "max_path_depth"),
    ],
)
def test_zip_limits_are_checked_before_anything_is_decompressed(
    limits: dict, phrase: str, monkeypatch: pytest.MonkeyPatch
):
    from balance_core.readers import zipped

    monkeypatch.setattr(zipped, "inspect_entries", refuse)
    monkeypatch.setattr(zipped, "read_entry", refuse)
    with pytest.raises(bc.DatasetError) as caught:
        bc.read_dataset(with_base(), name="z.zip", limits=bc.Limits(**limits))
    assert phrase in str(caught.value)


def test_pixel_bombs_are_refused_from_the_header_without_decoding(
    monkeypatch: pytest.MonkeyPatch,
):
    monkeypatch.setattr(ImageFile.ImageFile, "load", refuse)
    data = class_zip(("cats/bomb.png", png_header_bomb(100_000, 100_000)))
    dataset = bc.read_dataset(data, name="bomb.zip", probe="all")
    assert [f.count for f in dataset.findings if f.kind == "limit_hit"] == [1]
    assert thumbnails(data, ["cats/bomb.png"]) == [None]


def test_json_is_read_in_linear_time():
    # Each row used to copy a list as long as the rows before it: 100,000 rows
    # took minutes, two million hours, inside every limit.
    rows = [{"path": f"{i}.png", "label": f"c{i % 3}"} for i in range(100_000)]
    data = json.dumps(rows).encode()
    started = time.perf_counter()
    dataset = bc.read_dataset(data, name="rows.json")
    assert time.perf_counter() - started < 4
    assert dataset.n_rows == 100_000


# --------------------------------------------------------------------------- the app's config


def test_app_limits_without_a_file_are_the_defaults_with_streamlits_upload_cap(tmp_path: Path):
    from streamlit import config

    limits = app_limits(tmp_path / "absent.toml")
    assert upload_cap_bytes() == config.get_option("server.maxUploadSize") * 1024 * 1024
    assert limits == dataclasses.replace(
        bc.DEFAULT_LIMITS,
        max_input_bytes=upload_cap_bytes(),
        max_output_bytes=ui.limits.APP_MAX_OUTPUT_BYTES,
    )
    assert ui.limits.CONFIG_FILE == ROOT / ".streamlit" / "seesaw.toml"
    assert (ROOT / ".streamlit" / "config.toml").is_file()  # the file it sits beside


def test_the_shipped_config_lists_every_limit_with_its_default_commented_out():
    text = ui.limits.CONFIG_FILE.read_text()
    assert app_limits() == app_limits(Path("/nonexistent/seesaw.toml"))
    for field in dataclasses.fields(bc.Limits):
        line = next(x for x in text.splitlines() if x.startswith(f"# {field.name} = "))
        if field.name in ("max_input_bytes", "max_output_bytes"):
            continue  # the app's own defaults, stated beside them
        value = line.split("=", 1)[1].split("#")[0].strip().replace("_", "")
        assert float(value) == field.default, field.name
        # Uncommented, the line gives exactly that default.
        uncommented = "[limits]\n" + line.removeprefix("# ")
        assert getattr(_limits_from(uncommented), field.name) == field.default


def _limits_from(text: str) -> bc.Limits:
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "seesaw.toml"
        path.write_text(text)
        return app_limits(path)


def test_app_limits_read_the_limits_table(tmp_path: Path):
    path = tmp_path / "seesaw.toml"
    path.write_text(
        "[limits]\nmax_input_bytes = 1_000_000\nmax_compression_ratio = 50\n"
        "max_image_pixels = 1e6\n\n[other]\nignored = true\n"
    )
    limits = app_limits(path)
    assert limits.max_input_bytes == 1_000_000 and isinstance(limits.max_input_bytes, int)
    assert limits.max_compression_ratio == 50.0
    assert limits.max_image_pixels == 1_000_000 and isinstance(limits.max_image_pixels, int)
    assert limits.max_zip_entries == bc.DEFAULT_LIMITS.max_zip_entries


@pytest.mark.parametrize(
    ("text", "phrase"),
    [
        ("[limits]\nmax_bogus = 3\n", "'max_bogus', which is not a limit"),
        ("[limits]\nmax_zip_entries = 0\n", "max_zip_entries must be a whole number above 0"),
        ("[limits]\nmax_zip_entries = 2.5\n", "not 2.5"),
        ("[limits]\nmax_zip_entries = true\n", "not True"),
        ('[limits]\nmax_zip_entries = "10"\n', "not '10'"),
        ("[limits]\nmax_compression_ratio = nan\n", "must be a number above 0"),
        ("limits = 3\n", "must be a table"),
        ("[limits\n", "is not valid TOML"),
    ],
)
def test_a_bad_config_file_says_where_and_why(text: str, phrase: str, tmp_path: Path):
    path = tmp_path / "seesaw.toml"
    path.write_text(text)
    with pytest.raises(LimitsConfigError) as caught:
        app_limits(path)
    assert phrase in str(caught.value) and str(path) in str(caught.value)


def test_the_app_reads_uploads_with_the_limits_of_its_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    # A limit the bundled examples stay within (the default example loads first).
    config = tmp_path / "seesaw.toml"
    config.write_text("[limits]\nmax_cell_bytes = 200\n")
    monkeypatch.setattr(ui.limits, "CONFIG_FILE", config)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.run()
    assert not at.exception
    data = b"label,note\na," + b"n" * 300 + b"\nb,short\n"
    at.file_uploader[0].set_value(("cells.csv", data, "text/csv"))
    at.run()
    assert not at.exception
    errors = [re.sub(r"\\(.)", r"\1", e.value) for e in at.error]
    assert len(errors) == 1 and "--limit max_cell_bytes=N" in errors[0], errors
    assert at.session_state[state.DATASET].name != "cells.csv"


# --------------------------------------------------------------------------- Pillow's globals


def pillow_settings() -> dict:
    return {
        "MAX_IMAGE_PIXELS": Image.MAX_IMAGE_PIXELS,
        "LOAD_TRUNCATED_IMAGES": ImageFile.LOAD_TRUNCATED_IMAGES,
        "MAXBLOCK": ImageFile.MAXBLOCK,
        "SAFEBLOCK": ImageFile.SAFEBLOCK,
        "WARN_POSSIBLE_FORMATS": Image.WARN_POSSIBLE_FORMATS,
        "MAX_TEXT_CHUNK": PngImagePlugin.MAX_TEXT_CHUNK,
        "MAX_TEXT_MEMORY": PngImagePlugin.MAX_TEXT_MEMORY,
        "plugins": sorted(Image.OPEN),
        "warnings": list(warnings.filters),
    }


def test_pillow_globals_are_unchanged_after_reading_the_whole_corpus():
    before = pillow_settings()
    for case in CASES:
        try:
            dataset = bc.read_dataset(
                case.data, name=case.filename, limits=bc.Limits(**case.limits)
            )
        except bc.DatasetError:
            continue
        if dataset.source.format == "zip":
            paths = [p for ps in gallery_sample(dataset).values() for p in ps]
            thumbnails(case.data, [*paths, "cats/bomb.png", "dogs/bomb.png"])
    # A zip large enough for the worker processes, which silence warnings in
    # themselves only.
    many = make_zip([(f"c{i % 2}/{i}.png", BASE[i % 10][1]) for i in range(2100)])
    pooled = bc.read_zip(many, name="many.zip", n_jobs=2)
    assert pooled.n_rows == 2100
    assert pillow_settings() == before
    assert Image.MAX_IMAGE_PIXELS == 89_478_485 and ImageFile.LOAD_TRUNCATED_IMAGES is False


def test_imageprobe_keeps_its_own_copy_of_the_pixel_check():
    # The probe opens headers above Pillow's global limit through the plugin, with
    # our limit applied, instead of raising Pillow's.
    data = png_header_bomb(20_000, 10_000)
    result = imageprobe.probe_header(lambda n: data[:n], len(data), max_pixels=10**9)
    assert result == (imageprobe.PROBE_OK, "PNG", 20_000, 10_000, "RGB", None)
    result = imageprobe.probe_header(lambda n: data[:n], len(data), max_pixels=10**8)
    assert result[0] == imageprobe.PROBE_TOO_LARGE and result[-1] == "declares 200,000,000 pixels"
