"""Hostile data on the way out: formula injection in CSV downloads, classes with no
samples, one-class data, weights that would overflow, and zips whose entries share
a name."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from pathlib import Path

import pytest
from hostile_corpus import (
    BASE,
    BY_ID,
    FORMULA_LABELS,
    animated_gif,
    class_zip,
    exif_rotated_jpeg,
    image,
    multipage_tiff,
    png,
    png_header_bomb,
    with_base,
    zero_png,
)
from PIL import Image

import balance_core as bc
from balance_core.apply import counts_for, resample
from balance_core.charts import seesaw_chart
from balance_core.cli import main
from balance_core.export import balanced_zip, table_csv
from balance_core.images import gallery_sample, thumbnails
from balance_core.plan import class_weights, plan_oversample, plan_undersample, sampler_weights
from balance_core.recipe import Recipe, Strategy, run


def read_case(case_id: str) -> bc.Dataset:
    case = BY_ID[case_id]
    return bc.read_dataset(case.data, name=case.filename)


def csv_rows(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))


# --------------------------------------------------------------------------- formulas


def test_formula_labels_are_neutralised_in_the_manifest_and_the_dropped_rows():
    dataset = read_case("out_formula_labels")
    plan = plan_undersample(counts_for(dataset), cap=3)
    result = resample(dataset, plan, seed=1)
    for table in (result.manifest, result.dropped):
        rows = csv_rows(table_csv(table))
        label = rows[0].index("label")
        written = {row[label] for row in rows[1:]}
        # Every cell a spreadsheet would run gets a leading quote; the plain
        # number -1 is a value, not a formula, and stays as it is.
        assert written == {
            "'=1+1", "'+cmd|' /C calc'!A0", "'-2+3", "'@SUM(A1:A9)", "'\tTAB", "-1",
        }  # fmt: skip
        raw = csv_rows(table_csv(table, neutralize_formulas=False))
        assert {row[label] for row in raw[1:]} == set(FORMULA_LABELS)


def test_formula_column_names_are_neutralised_too():
    dataset = bc.read_dataset(b"label,=cmd()\na,1\nb,2\n", name="t.csv")
    header = csv_rows(table_csv(dataset.raw))[0]
    assert header == ["label", "'=cmd()"]


def test_cli_downloads_are_neutralised_unless_raw(tmp_path: Path, capsys):
    case = BY_ID["out_formula_labels"]
    (tmp_path / "in.csv").write_bytes(case.data)
    out, raw = tmp_path / "out.csv", tmp_path / "raw.csv"
    assert main(["undersample", str(tmp_path / "in.csv"), "-o", str(out)]) == 0
    assert main(["undersample", str(tmp_path / "in.csv"), "-o", str(raw), "--raw-csv"]) == 0
    capsys.readouterr()
    safe_labels = {row[2] for row in csv_rows(out.read_bytes())[1:]}
    raw_labels = {row[2] for row in csv_rows(raw.read_bytes())[1:]}
    assert not any(label.startswith(("=", "+", "@", "\t")) for label in safe_labels)
    assert raw_labels == set(FORMULA_LABELS)


# --------------------------------------------------------------------------- zero and one class


def test_a_class_with_no_samples_is_drawn_and_refused_with_a_sentence():
    dist = bc.Distribution.from_counts({"a": 5, "b": 0})
    assert dist.ratio_text == "1 : ∞"
    for log_scale in (False, True):
        figure = seesaw_chart(dist, log_scale=log_scale)
        assert list(figure.data[0].y) == [5, 0]
    for make in (
        lambda: plan_undersample(dist.counts),
        lambda: plan_oversample(dist.counts),
        lambda: class_weights(dist.counts),
        lambda: sampler_weights(dist.counts),
    ):
        with pytest.raises(bc.DatasetError) as caught:
            make()
        assert caught.value.kind == "bad_parameter"
        assert str(caught.value) == (
            "Class 'b' has no samples; drop it from the label mapping first."
        )


def test_a_class_missing_from_the_training_split(tmp_path: Path, capsys):
    case = BY_ID["out_class_only_in_test_split"]
    dataset = read_case(case.id)
    assert dataset.roles.split == "split"
    with pytest.raises(bc.DatasetError) as caught:
        run(Recipe(strategy=Strategy(method="undersample"), split="train"), dataset)
    assert str(caught.value) == "There is only one class ('a'); balancing needs at least two."
    # Balancing every row instead works, and keeps every row accounted for.
    outcome = run(Recipe(strategy=Strategy(method="undersample"), split=None), dataset)
    assert outcome.resampled.counts() == {"a": 6, "b": 6}
    (tmp_path / "s.csv").write_bytes(case.data)
    assert main(["undersample", str(tmp_path / "s.csv"), "-o", str(tmp_path / "o.csv")]) == 2
    assert capsys.readouterr().err == (
        "error: There is only one class ('a'); balancing needs at least two.\n"
    )
    assert not (tmp_path / "o.csv").exists()


@pytest.mark.parametrize("command", ["undersample", "oversample", "resample", "weights"])
def test_one_class_data_exits_2_with_one_sentence(command: str, tmp_path: Path, capsys):
    (tmp_path / "one.csv").write_bytes(BY_ID["out_one_class"].data)
    out = tmp_path / "out.bin"
    assert main([command, str(tmp_path / "one.csv"), "-o", str(out)]) == 2
    assert capsys.readouterr().err == (
        "error: There is only one class ('only'); balancing needs at least two.\n"
    )
    assert not out.exists()


# --------------------------------------------------------------------------- overflowing weights


def test_counts_too_large_for_floats_are_refused_not_overflowed():
    for counts in ({"a": 10**400, "b": 1}, {"a": 2**53 + 1, "b": 1}):
        for make in (class_weights, plan_oversample, sampler_weights):
            with pytest.raises(bc.DatasetError) as caught:
                make(counts)
            assert caught.value.kind == "bad_parameter"
            assert "can weigh or sample exactly" in str(caught.value)
    # The largest count allowed still gives exact, finite weights and targets.
    weights = class_weights({"a": 2**53, "b": 1})
    assert weights.weights["b"] == 2**53 / 2
    assert plan_oversample({"a": 2**53, "b": 1}).after == {"a": 2**53, "b": 2**53}


def test_custom_weights_that_overflow_exit_2_and_keep_the_old_output(tmp_path: Path, capsys):
    (tmp_path / "in.csv").write_bytes(BY_ID["tbl_leading_zeros"].data)
    out = tmp_path / "w.json"
    out.write_bytes(b"precious")
    custom = "001=1e308,01=1e308,1=1e-308"
    for normalize in ("source", "mean", "min"):
        status = main(
            ["weights", str(tmp_path / "in.csv"), "--method", "custom", "--custom", custom,
             "--normalize", normalize, "-o", str(out)]
        )  # fmt: skip
        err = capsys.readouterr().err
        assert status == 2, err
        assert err.startswith("error: ") and err.count("\n") == 1 and "finite" in err
        assert out.read_bytes() == b"precious"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv", "w.json"]


def test_weights_json_never_holds_inf_or_nan():
    document = json.loads(main_weights({"a": 1, "b": 2**40}))
    assert document["spread"] == 2**40 and document["weights"]["b"] < 1


def main_weights(counts: dict[str, int]) -> bytes:
    from balance_core.export import weights_json

    return weights_json(class_weights(counts))


# --------------------------------------------------------------------------- duplicate names


def test_a_balanced_zip_refuses_entries_that_share_a_name():
    case = BY_ID["zip_duplicate_names"]
    dataset = bc.read_dataset(case.data, name=case.filename)
    outcome = run(Recipe(strategy=Strategy(method="oversample")), dataset)
    with pytest.raises(bc.DatasetError) as caught:
        balanced_zip(case.data, outcome.resampled.manifest)
    assert caught.value.kind == "duplicate_entry"
    assert "'cats/0.png'" in str(caught.value)
    # Without the shared name, every row's own bytes go into the balanced zip.
    clean = with_base()
    dataset = bc.read_dataset(clean, name="clean.zip")
    manifest = run(Recipe(strategy=Strategy(method="oversample")), dataset).resampled.manifest
    archive = zipfile.ZipFile(io.BytesIO(balanced_zip(clean, manifest)))
    assert {name: archive.read(name) for name in archive.namelist()} == dict(BASE)
    assert png(0) == dict(BASE)["cats/0.png"]


# --------------------------------------------------------------------------- thumbnails


def test_thumbnails_show_one_upright_first_frame():
    data = class_zip(
        ("cats/turned.jpg", exif_rotated_jpeg()),
        ("cats/anim.gif", animated_gif()),
        ("cats/pages.tif", multipage_tiff()),
        ("cats/line.png", image("PNG", size=(1, 3000))),
        ("cats/bomb.png", png_header_bomb(100_000, 100_000)),
        ("cats/dense.png", zero_png(10_000, 8_000)),
    )
    paths = ["cats/turned.jpg", "cats/anim.gif", "cats/pages.tif", "cats/line.png",
             "cats/bomb.png", "cats/dense.png", "cats/absent.png"]  # fmt: skip
    turned, anim, pages, line, bomb, dense, absent = thumbnails(data, paths, size=64)
    shown = {name: Image.open(io.BytesIO(png_bytes)) for name, png_bytes in
             (("turned", turned), ("anim", anim), ("pages", pages), ("line", line))}  # fmt: skip
    assert all(image.format == "PNG" for image in shown.values())
    assert shown["turned"].size == (32, 64)  # 80 x 40 stored, EXIF says: turn upright
    assert shown["anim"].convert("RGB").getpixel((1, 1)) == (255, 0, 0)  # the first frame
    first_page = shown["pages"].convert("RGB")  # 20 x 10 blue; the second page is 40 x 30 red
    assert first_page.size == (20, 10) and first_page.getpixel((1, 1)) == (0, 0, 255)
    assert shown["line"].size == (1, 64)
    assert (bomb, dense, absent) == (None, None, None)


def test_a_zip_pythons_zipfile_refuses_still_reads_and_degrades_gracefully():
    # Names flagged UTF-8 that are not: Seesaw's reader falls back to cp437, while
    # zipfile (behind thumbnails and the balanced zip) refuses the whole archive.
    case = BY_ID["zip_utf8_flag_on_invalid_names"]
    dataset = bc.read_dataset(case.data, name=case.filename)
    paths = dataset.raw.column("path").to_pylist()
    assert thumbnails(case.data, paths) == [None] * len(paths)
    manifest = run(Recipe(strategy=Strategy(method="undersample")), dataset).resampled.manifest
    with pytest.raises(bc.DatasetError) as caught:
        balanced_zip(case.data, manifest)
    assert caught.value.kind == "not_a_zip"


def test_a_thumbnail_of_damaged_compressed_data_is_none_not_an_error():
    case = BY_ID["img_damaged_compressed_tail"]
    dataset = bc.read_dataset(case.data, name=case.filename)
    assert gallery_sample(dataset)["cats"] == ["cats/noisy.png"]  # the probe read it
    assert thumbnails(case.data, ["cats/noisy.png"]) == [None]


@pytest.mark.parametrize(
    "compression", [zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA], ids=str
)
def test_a_thumbnail_of_undecompressable_data_is_none_not_an_error(compression: int):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=compression) as archive:
        archive.writestr("cats/1.png", png(1) * 20)
    data = bytearray(buffer.getvalue())
    start = 30 + len("cats/1.png")  # the entry's compressed data
    for position in range(start + 5, start + 25):
        data[position] ^= 0x5A
    assert thumbnails(bytes(data), ["cats/1.png"]) == [None]
