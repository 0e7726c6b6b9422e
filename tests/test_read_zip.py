"""The zip reader: layouts, metadata, junk, unsafe entries, limits, bombs, corrupt
images, identical files, the header probe. Every zip is built in memory."""

from __future__ import annotations

import hashlib
import importlib.util
import io
import stat
import struct
import warnings
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image, ImageFile
from zip_factory import (
    DATE,
    duplicate_record,
    forge_crc,
    image_bytes,
    image_zip,
    make_zip,
    patch_entry,
    png,
    png_header_bomb,
    rename_everywhere,
    tar_bytes,
    with_zip64_records,
)

from balance_core.dataset import FindingKind, Severity
from balance_core.errors import DatasetError
from balance_core.limits import Limits
from balance_core.readers import imageprobe, read_dataset
from balance_core.readers.zipped import _confirm_identical, read_zip


def findings_of(dataset, kind):
    return [f for f in dataset.findings if f.kind == kind]


def only_finding(dataset, kind):
    found = findings_of(dataset, kind)
    assert len(found) == 1, [f.message for f in dataset.findings]
    return found[0]


def column(dataset, name):
    return dataset.raw.column(name).to_pylist()


# --------------------------------------------------------------------------- layouts


def test_class_folders_give_labels_and_rows_carry_entry_facts():
    data = make_zip(
        [
            ("dogs/b.jpg", image_bytes("JPEG", size=(5, 7))),
            ("cats/1.png", png(1)),
            ("cats/2.png", png(2)),
        ]
    )
    dataset = read_zip(data, name="pets.zip")
    assert column(dataset, "path") == ["cats/1.png", "cats/2.png", "dogs/b.jpg"]
    assert column(dataset, "label") == ["cats", "cats", "dogs"]
    assert "split" not in dataset.raw.column_names
    assert dataset.roles.label == "label" and dataset.roles.path == "path"
    assert dataset.roles.split is None and dataset.roles.group is None
    assert column(dataset, "format") == ["PNG", "PNG", "JPEG"]
    assert column(dataset, "width") == [4, 4, 5]
    assert column(dataset, "height") == [3, 3, 7]
    assert column(dataset, "mode") == ["RGB", "RGB", "RGB"]
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        infos = {i.filename: i for i in archive.infolist()}
    assert column(dataset, "size") == [infos[p].file_size for p in column(dataset, "path")]
    assert column(dataset, "crc32") == [infos[p].CRC for p in column(dataset, "path")]
    assert column(dataset, "compressed_size") == [
        infos[p].compress_size for p in column(dataset, "path")
    ]
    for name in ("compressed_size", "size", "crc32", "width", "height"):
        assert dataset.raw.schema.field(name).type == pa.int64()
    assert dataset.findings == ()
    assert dataset.source.name == "pets.zip"
    assert dataset.source.format == "zip"
    assert dataset.source.size_bytes == len(data)
    assert dataset.source.sha256 == hashlib.sha256(data).hexdigest()


def test_split_folders_any_case_give_a_split_column():
    dataset = read_zip(
        image_zip(
            ["train/cats/1.png", "train/dogs/2.png", "Validation/cats/3.png", "TEST/dogs/4.png"]
        )
    )
    assert column(dataset, "path") == [
        "TEST/dogs/4.png",
        "Validation/cats/3.png",
        "train/cats/1.png",
        "train/dogs/2.png",
    ]
    assert column(dataset, "label") == ["dogs", "cats", "cats", "dogs"]
    assert column(dataset, "split") == ["TEST", "Validation", "train", "train"]
    assert dataset.roles.split == "split"
    assert dataset.findings == ()


@pytest.mark.parametrize("split", ["training", "val", "valid", "testing", "dev", "eval", "holdout"])
def test_every_split_name_is_recognised(split):
    dataset = read_zip(image_zip([f"{split}/a/1.png", "train/b/2.png"]))
    assert sorted(column(dataset, "split")) == sorted([split, "train"])
    assert sorted(column(dataset, "label")) == ["a", "b"]


def test_one_wrapper_folder_is_looked_through():
    dataset = read_zip(image_zip(["mydata/cats/1.png", "mydata/dogs/2.png", "mydata/dogs/3.png"]))
    assert column(dataset, "label") == ["cats", "dogs", "dogs"]
    assert "mydata" in dataset.roles.reasons["label"]
    assert dataset.findings == ()


def test_wrapper_folder_with_splits():
    dataset = read_zip(image_zip(["data/train/cats/1.png", "data/val/dogs/2.png"]))
    assert column(dataset, "label") == ["cats", "dogs"]
    assert column(dataset, "split") == ["train", "val"]


def test_a_single_class_folder_is_a_class_not_a_wrapper():
    dataset = read_zip(image_zip(["cats/1.png", "cats/2.png"]))
    assert column(dataset, "label") == ["cats", "cats"]


def test_a_split_folder_is_never_a_wrapper():
    dataset = read_zip(image_zip(["train/cats/1.png", "train/dogs/2.png"]))
    assert column(dataset, "split") == ["train", "train"]
    assert column(dataset, "label") == ["cats", "dogs"]


def test_images_at_the_top_have_no_label_and_are_reported():
    dataset = read_zip(image_zip(["cats/1.png", "photo.png", "dogs/2.png"]))
    assert column(dataset, "path") == ["cats/1.png", "dogs/2.png", "photo.png"]
    assert column(dataset, "label") == ["cats", "dogs", None]
    finding = only_finding(dataset, FindingKind.MISSING_LABEL)
    assert finding.rows.tolist() == [2]
    assert finding.count == 1
    assert finding.severity == Severity.WARNING
    assert finding.message == (
        "1 image is not inside a class folder ('photo.png'); it has no label."
    )


def test_images_directly_in_a_split_folder_have_no_label():
    dataset = read_zip(image_zip(["train/cats/1.png", "train/2.png", "test/3.png"]))
    assert column(dataset, "path") == ["test/3.png", "train/2.png", "train/cats/1.png"]
    assert column(dataset, "label") == [None, None, "cats"]
    assert column(dataset, "split") == ["test", "train", "train"]
    assert only_finding(dataset, FindingKind.MISSING_LABEL).rows.tolist() == [0, 1]


def test_images_outside_the_wrapper_have_no_label():
    dataset = read_zip(
        image_zip(["data/cats/1.png", "data/dogs/2.png", "data/dogs/3.png", "x/4.png"])
    )
    assert column(dataset, "label") == ["cats", "dogs", "dogs", None]
    finding = only_finding(dataset, FindingKind.MISSING_LABEL)
    assert finding.rows.tolist() == [3]
    assert "outside the folder 'data'" in finding.message


def test_images_in_sub_folders_count_in_their_class_folder():
    dataset = read_zip(image_zip(["cats/1.png", "cats/kittens/2.png", "dogs/a/b/3.png"]))
    assert column(dataset, "label") == ["cats", "cats", "dogs"]
    finding = only_finding(dataset, FindingKind.LIMIT_HIT)
    assert finding.rows.tolist() == [1, 2]
    assert finding.severity == Severity.INFO
    assert finding.message.startswith("2 images sit in sub-folders of their class folder")


def test_no_class_is_ever_named_after_a_file():
    dataset = read_zip(image_zip(["a.png", "b.png", "c/d.png"]))
    assert set(column(dataset, "label")) == {None, "c"}


# --------------------------------------------------------------------------- junk and non-images


def test_junk_is_skipped_counted_and_never_a_class():
    data = make_zip(
        [
            ("cats/1.png", png(1)),
            ("dogs/2.png", png(2)),
            ("__MACOSX/cats/._1.png", b"\0\5\26\7"),
            ("cats/._1.png", b"\0\5\26\7"),
            ("cats/.DS_Store", b"junk"),
            ("Thumbs.db", b"junk"),
            ("dogs/Desktop.ini", b"junk"),
            (".hidden/3.png", png(3)),
            ("__MACOSX/", b""),
        ]
    )
    dataset = read_zip(data)
    assert column(dataset, "label") == ["cats", "dogs"]
    finding = only_finding(dataset, FindingKind.SKIPPED_JUNK)
    assert finding.count == 6
    assert finding.severity == Severity.INFO
    assert finding.entries == (
        "__MACOSX/cats/._1.png",
        "cats/._1.png",
        "cats/.DS_Store",
        "Thumbs.db",
        "dogs/Desktop.ini",
        ".hidden/3.png",
    )
    assert finding.message == (
        "6 macOS, Windows or hidden files were skipped (first: '__MACOSX/cats/._1.png'); "
        "they are not part of the dataset."
    )


def test_non_images_are_reported_with_their_names():
    data = make_zip(
        [
            ("cats/1.PNG", png(1)),
            ("notes.txt", b"x"),
            ("cats/scan.dcm", b"x"),
            ("dogs/2.JpEg", png(2)),
        ]
    )
    dataset = read_zip(data)
    assert column(dataset, "path") == ["cats/1.PNG", "dogs/2.JpEg"]
    finding = only_finding(dataset, FindingKind.NON_IMAGE)
    assert finding.count == 2
    assert finding.entries == ("notes.txt", "cats/scan.dcm")
    assert finding.message == (
        "2 files are not images (first: 'notes.txt'); they are left out of the counts."
    )


def test_every_image_extension_is_read():
    extensions = ["jpg", "jpeg", "png", "bmp", "gif", "tif", "tiff", "webp", "ppm", "pgm"]
    names = [f"c/{i}.{ext}" for i, ext in enumerate(extensions)]
    formats = ["JPEG", "JPEG", "PNG", "BMP", "GIF", "TIFF", "TIFF", "WEBP", "PPM", "PPM"]
    colors = [(9, 9, 9)] * 9 + [(9,)]
    data = make_zip(
        [(n, image_bytes(f, color=c)) for n, f, c in zip(names, formats, colors, strict=True)]
    )
    dataset = read_zip(data)
    by_path = dict(zip(column(dataset, "path"), column(dataset, "format"), strict=True))
    assert [by_path[n] for n in names] == formats
    assert column(dataset, "width") == [4] * 10
    assert dataset.findings == ()


def test_folder_entries_are_ignored():
    data = make_zip([("cats/", b""), ("cats/1.png", png(1)), ("empty/", b"")])
    dataset = read_zip(data)
    assert column(dataset, "path") == ["cats/1.png"]
    assert dataset.findings == ()


# --------------------------------------------------------------------------- unsafe entries


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("../evil.png", "has a '..' folder in its name"),
        ("cats/../../evil.png", "has a '..' folder in its name"),
        ("/etc/evil.png", "has an absolute name"),
        ("C:/evil.png", "has a drive letter in its name"),
        ("cats\\evil.png", "has a backslash in its name"),
        ("cats/ev\x01l.png", "has control characters in its name"),
        ("cats/./evil.png", "has an empty or '.' folder in its name"),
        ("cats//evil.png", "has an empty or '.' folder in its name"),
        ("cats/inner.zip", "is an archive inside the zip"),
        ("cats/inner.tar.gz", "is an archive inside the zip"),
        ("cats/inner.7z", "is an archive inside the zip"),
        ("inner.RAR", "is an archive inside the zip"),
    ],
)
def test_unsafe_names_are_reported_and_never_rows(name, reason):
    data = make_zip([("cats/1.png", png(1)), (name, png(2))])
    dataset = read_zip(data)
    assert column(dataset, "path") == ["cats/1.png"]
    finding = only_finding(dataset, FindingKind.UNSAFE_ENTRY)
    assert finding.entries == (name,)
    assert finding.count == 1
    assert finding.severity == Severity.WARNING
    assert finding.message == f"1 entry {reason} ({name!r}); unsafe entries are never read."


def test_nul_in_a_name_is_unsafe():
    data = make_zip([("cats/1.png", png(1)), ("cats/evXl.png", png(2))])
    data = rename_everywhere(data, b"cats/evXl.png", b"cats/ev\x00l.png")
    dataset = read_zip(data)
    assert column(dataset, "path") == ["cats/1.png"]
    assert only_finding(dataset, FindingKind.UNSAFE_ENTRY).entries == ("cats/ev\x00l.png",)


def test_symlink_entry_is_unsafe_and_not_followed():
    link = zipfile.ZipInfo("cats/link.png", date_time=DATE)
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    data = make_zip([("cats/1.png", png(1)), (link, b"../../../etc/passwd")])
    dataset = read_zip(data)
    assert column(dataset, "path") == ["cats/1.png"]
    finding = only_finding(dataset, FindingKind.UNSAFE_ENTRY)
    assert finding.entries == ("cats/link.png",)
    assert "is a symbolic link" in finding.message


def test_encrypted_entry_is_unsafe():
    data = patch_entry(
        make_zip([("cats/1.png", png(1)), ("cats/2.png", png(2))]), "cats/2.png", set_flags=1
    )
    dataset = read_zip(data)
    assert column(dataset, "path") == ["cats/1.png"]
    finding = only_finding(dataset, FindingKind.UNSAFE_ENTRY)
    assert finding.entries == ("cats/2.png",)
    assert "is encrypted" in finding.message


def test_unsupported_compression_method_is_unsafe():
    data = patch_entry(
        make_zip([("cats/1.png", png(1)), ("cats/2.png", png(2))]), "cats/2.png", method=9
    )
    dataset = read_zip(data)
    assert column(dataset, "path") == ["cats/1.png"]
    assert "compression method" in only_finding(dataset, FindingKind.UNSAFE_ENTRY).message


def test_several_reasons_give_one_finding_each():
    data = make_zip(
        [("cats/1.png", png(1)), ("../a.png", b"x"), ("../b.png", b"x"), ("x.zip", b"x")]
    )
    dataset = read_zip(data)
    found = findings_of(dataset, FindingKind.UNSAFE_ENTRY)
    assert [(f.count, f.entries) for f in found] == [(2, ("../a.png", "../b.png")), (1, ("x.zip",))]
    assert found[0].message == (
        "2 entries have '..' folders in their names (first: '../a.png'); "
        "unsafe entries are never read."
    )


@pytest.mark.parametrize("compression", [zipfile.ZIP_STORED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA])
def test_stored_bzip2_and_lzma_entries_are_read(compression):
    data = make_zip(
        [("cats/1.png", png(1)), ("dogs/2.jpg", image_bytes("JPEG"))], compression=compression
    )
    dataset = read_zip(data)
    assert column(dataset, "format") == ["PNG", "JPEG"]
    assert dataset.findings == ()


def test_local_header_that_disagrees_with_the_directory_makes_a_corrupt_image():
    data = make_zip([("cats/1.png", png(1)), ("cats/2.png", png(2))])
    data = patch_entry(data, "cats/2.png", local_name=b"cats/9.png")
    dataset = read_zip(data)
    finding = only_finding(dataset, FindingKind.CORRUPT_IMAGE)
    assert finding.rows.tolist() == [1]
    assert "names a different file" in finding.message


# --------------------------------------------------------------------------- limits


def test_too_many_entries_is_refused_before_reading():
    data = image_zip(["a/1.png", "a/2.png", "a/3.png"])
    with pytest.raises(DatasetError) as error:
        read_zip(data, name="big.zip", limits=Limits(max_zip_entries=2))
    assert error.value.kind == "limit_hit"
    assert str(error.value) == (
        "'big.zip' lists 3 entries, above the limit of 2; if you trust the file, raise it "
        "with Limits(max_zip_entries=...) or --limit max_zip_entries=N."
    )


def test_too_many_bytes_in_total_is_refused():
    data = make_zip([("a/1.png", png(1)), ("a/2.bmp", b"\0" * 5000)])
    with pytest.raises(DatasetError) as error:
        read_zip(data, limits=Limits(max_total_uncompressed=4000))
    assert error.value.kind == "limit_hit"
    assert "max_total_uncompressed" in str(error.value)


def test_too_deep_names_are_refused():
    data = image_zip(["a/b/c/d/1.png", "a/2.png"])
    with pytest.raises(DatasetError) as error:
        read_zip(data, limits=Limits(max_path_depth=3))
    assert error.value.kind == "limit_hit"
    assert "4 folders deep ('a/b/c/d/1.png')" in str(error.value)
    assert "max_path_depth" in str(error.value)
    assert read_zip(data, limits=Limits(max_path_depth=4)).n_rows == 2


def test_an_entry_too_large_is_skipped_and_the_rest_is_used():
    big = image_bytes("BMP", size=(40, 40))
    data = make_zip([("cats/1.png", png(1)), ("cats/big.bmp", big), ("dogs/2.png", png(2))])
    dataset = read_zip(data, limits=Limits(max_entry_uncompressed=1000))
    assert column(dataset, "path") == ["cats/1.png", "dogs/2.png"]
    finding = only_finding(dataset, FindingKind.LIMIT_HIT)
    assert finding.entries == ("cats/big.bmp",)
    assert finding.severity == Severity.WARNING
    assert finding.message == (
        "1 file declares more than 1,000 bytes uncompressed ('cats/big.bmp') and was "
        "skipped; if you trust the file, raise Limits(max_entry_uncompressed=...) or "
        "--limit max_entry_uncompressed=N."
    )


def test_a_compression_ratio_too_high_is_skipped_above_one_mebibyte():
    blank = b"BM" + b"\0" * (2 * 1024 * 1024)  # deflates about 1000:1
    small_blank = b"BM" + b"\0" * 100_000  # as high a ratio, but harmless
    data = make_zip([("a/blank.bmp", blank), ("a/small.bmp", small_blank), ("b/1.png", png(1))])
    dataset = read_zip(data, probe="none")
    assert column(dataset, "path") == ["a/small.bmp", "b/1.png"]
    finding = only_finding(dataset, FindingKind.LIMIT_HIT)
    assert finding.entries == ("a/blank.bmp",)
    assert "max_compression_ratio" in finding.message
    relaxed = read_zip(data, probe="none", limits=Limits(max_compression_ratio=5000))
    assert relaxed.n_rows == 3


def test_overlapping_entries_are_a_zip_bomb():
    data = duplicate_record(image_zip(["cats/1.png", "dogs/2.png"]), "cats/1.png", "cats/9.png")
    with zipfile.ZipFile(io.BytesIO(data)) as archive:  # Python's zipfile accepts it
        assert archive.namelist() == ["cats/1.png", "dogs/2.png", "cats/9.png"]
    with pytest.raises(DatasetError) as error:
        read_zip(data, name="bomb.zip")
    assert error.value.kind == "zip_bomb"
    assert str(error.value) == (
        "'bomb.zip' has entries that share bytes ('cats/1.png' and 'cats/9.png'), the trick "
        "of overlapping zip bombs; it was not read."
    )


# --------------------------------------------------------------------------- not a zip


@pytest.mark.parametrize(
    ("data", "kind", "text"),
    [
        (b"", "not_a_zip", "is empty"),
        (b"label,path\ncat,1.png\n", "not_a_zip", "is not a zip archive"),
        (b"Rar!\x1a\x07\x01\x00" + b"\0" * 100, "not_a_zip", "is a RAR archive, not a zip"),
        (b"7z\xbc\xaf\x27\x1c" + b"\0" * 100, "not_a_zip", "is a 7-Zip archive, not a zip"),
        (b"\x1f\x8b\x08" + b"\0" * 100, "not_a_zip", "is a gzip file"),
        (tar_bytes(), "not_a_zip", "is a tar archive, not a zip"),
    ],
)
def test_files_that_are_not_zips(data, kind, text):
    with pytest.raises(DatasetError) as error:
        read_zip(data, name="data.zip")
    assert error.value.kind == kind
    assert text in str(error.value)
    assert str(error.value).startswith("'data.zip' ")


def test_a_truncated_zip_is_corrupt():
    data = image_zip([f"cats/{i}.png" for i in range(20)])
    with pytest.raises(DatasetError) as error:
        read_zip(data[: len(data) // 2], name="cut.zip")
    assert error.value.kind == "corrupt_zip"
    assert "cut short" in str(error.value)


def test_a_damaged_central_directory_is_corrupt():
    data = bytearray(image_zip(["cats/1.png", "cats/2.png"]))
    position = data.find(b"PK\x01\x02")
    data[position : position + 4] = b"XXXX"
    with pytest.raises(DatasetError) as error:
        read_zip(bytes(data))
    assert error.value.kind == "corrupt_zip"


def test_an_empty_zip_has_no_images():
    with pytest.raises(DatasetError) as error:
        read_zip(make_zip([]), name="e.zip")
    assert error.value.kind == "no_images"
    assert str(error.value) == "'e.zip' is an empty zip; it holds no images."


def test_a_zip_without_images():
    with pytest.raises(DatasetError) as error:
        read_zip(make_zip([("a.txt", b"x"), ("b/c.csv", b"x")]), name="t.zip")
    assert error.value.kind == "no_images"
    assert "2 other files (first: 'a.txt')" in str(error.value)


def test_a_zip_whose_only_images_are_unsafe():
    with pytest.raises(DatasetError) as error:
        read_zip(make_zip([("../a.png", png(1))]), name="t.zip")
    assert error.value.kind == "no_images"
    assert str(error.value) == (
        "'t.zip' has no image that can be read: 1 image was skipped ('../a.png'), which has "
        "a '..' folder in its name."
    )


def test_bytes_before_the_archive_are_allowed():
    data = image_zip(["cats/1.png", "dogs/2.png"])
    dataset = read_zip(b"#!/bin/sh\nexit 0\n" + data)  # a self-extracting zip
    assert column(dataset, "format") == ["PNG", "PNG"]
    assert dataset.findings == ()


def test_a_name_holding_a_record_signature_is_parsed():
    # The signature sits early in the central directory, with whole records after it.
    entries = [("cats/PKXY.png", png(0))] + [(f"cats/{i}.png", png(i)) for i in range(1, 4)]
    data = rename_everywhere(make_zip(entries), b"cats/PKXY.png", b"cats/PK\x01\x02.png")
    dataset = read_zip(data)
    assert column(dataset, "path") == ["cats/1.png", "cats/2.png", "cats/3.png"]
    assert only_finding(dataset, FindingKind.UNSAFE_ENTRY).entries == ("cats/PK\x01\x02.png",)
    assert len(dataset.findings) == 1


def test_names_not_marked_utf8_fall_back_to_cp437():
    data = make_zip([("cXf/1.png", png(1)), ("dogs/2.png", png(2))])
    data = rename_everywhere(data, b"cXf/", b"c\x82f/")  # cp437 0x82 is e-acute
    dataset = read_zip(data)
    assert column(dataset, "label") == ["c\u00e9f", "dogs"]
    finding = only_finding(dataset, FindingKind.ENCODING_FALLBACK)
    assert finding.entries == ("c\u00e9f/1.png",)


def test_zip64_sizes_and_offsets_in_extra_fields():
    data = make_zip([("cats/1.png", png(1)), ("dogs/2.jpg", image_bytes("JPEG"))])
    rewritten = with_zip64_records(data)
    with zipfile.ZipFile(io.BytesIO(rewritten)) as archive:
        assert archive.infolist()[1].file_size == len(image_bytes("JPEG"))
    dataset = read_zip(rewritten)
    assert dataset.raw.equals(read_zip(data).raw)
    assert dataset.findings == ()


@pytest.mark.slow
def test_zip64_archives_with_many_entries():
    entries = [(f"notes/{i}.txt", b"") for i in range(70_000)] + [("cats/1.png", png(1))]
    dataset = read_zip(make_zip(entries, compression=zipfile.ZIP_STORED))
    assert column(dataset, "path") == ["cats/1.png"]
    assert only_finding(dataset, FindingKind.NON_IMAGE).count == 70_000


# --------------------------------------------------------------------------- image probe


def test_corrupt_images_stay_rows_with_their_label():
    good = png(1)
    data = make_zip(
        [
            ("cats/1.png", good),
            ("cats/cut.png", good[: len(good) // 2]),
            ("cats/text.jpg", b"this is not a jpeg at all"),
            ("dogs/empty.png", b""),
            ("dogs/2.png", png(2)),
        ]
    )
    dataset = read_zip(data)
    assert column(dataset, "path") == [
        "cats/1.png",
        "cats/cut.png",
        "cats/text.jpg",
        "dogs/2.png",
        "dogs/empty.png",
    ]
    assert column(dataset, "label") == ["cats", "cats", "cats", "dogs", "dogs"]
    assert column(dataset, "width") == [4, None, None, 4, None]
    assert column(dataset, "format") == ["PNG", None, None, "PNG", None]
    finding = only_finding(dataset, FindingKind.CORRUPT_IMAGE)
    assert finding.rows.tolist() == [1, 2, 4]
    assert finding.count == 3
    assert finding.severity == Severity.WARNING
    assert finding.message.startswith("3 images cannot be read (first: 'cats/cut.png'), which ")
    assert finding.message.endswith("; they stay in the table with their label.")


def test_text_named_jpg_says_why():
    dataset = read_zip(make_zip([("a/x.jpg", b"hello, world"), ("a/y.png", png(1))]))
    assert only_finding(dataset, FindingKind.CORRUPT_IMAGE).message == (
        "1 image cannot be read ('a/x.jpg'), which is not an image (starts b'hello, w'); "
        "it stays in the table with its label."
    )


def test_png_named_jpg_is_fine():
    dataset = read_zip(make_zip([("a/x.jpg", png(1))]))
    assert column(dataset, "format") == ["PNG"]
    assert dataset.findings == ()


def test_header_beyond_the_first_prefix_is_read():
    # A JPEG whose header (with a 60 kB comment) is larger than the first prefix.
    buffer = io.BytesIO()
    Image.new("RGB", (6, 5), (1, 2, 3)).save(buffer, "JPEG", comment=b"x" * 60_000)
    dataset = read_zip(make_zip([("a/big_header.jpg", buffer.getvalue())]))
    assert column(dataset, "width") == [6]
    assert column(dataset, "height") == [5]
    assert dataset.findings == ()


def test_pixel_bomb_header_is_reported_not_decoded():
    before = (Image.MAX_IMAGE_PIXELS, ImageFile.LOAD_TRUNCATED_IMAGES)
    filters = list(warnings.filters)
    data = make_zip([("a/bomb.png", png_header_bomb()), ("a/ok.png", png(1))])
    dataset = read_zip(data, n_jobs=1)
    assert column(dataset, "width") == [None, 4]
    finding = only_finding(dataset, FindingKind.LIMIT_HIT)
    assert finding.rows.tolist() == [0]
    assert finding.severity == Severity.WARNING
    assert "10,000,000,000 pixels" in finding.message
    assert "max_image_pixels" in finding.message
    assert findings_of(dataset, FindingKind.CORRUPT_IMAGE) == []
    # Pillow's globals and the warning filters are as they were.
    assert before == (Image.MAX_IMAGE_PIXELS, ImageFile.LOAD_TRUNCATED_IMAGES)
    assert list(warnings.filters) == filters


def test_images_above_max_image_pixels():
    data = make_zip([("a/1.png", png(1, size=(10, 10))), ("a/2.png", png(2, size=(2, 2)))])
    dataset = read_zip(data, limits=Limits(max_image_pixels=50))
    finding = only_finding(dataset, FindingKind.LIMIT_HIT)
    assert finding.rows.tolist() == [0]
    assert "declares 10 x 10 = 100 pixels" in finding.message
    assert column(dataset, "width") == [None, 2]


def test_probe_none_reads_no_header():
    data = make_zip([("a/1.png", png(1)), ("a/bad.jpg", b"nope")])
    dataset = read_zip(data, probe="none")
    for name in ("format", "width", "height", "mode"):
        assert dataset.raw.column(name).null_count == 2
    assert dataset.findings == ()


def test_probe_sample_reads_evenly_spaced_images_per_class():
    data = image_zip([f"a/{i}.png" for i in range(5)] + ["b/0.png", "b/1.png"])
    dataset = read_zip(data, probe="sample", sample_size=2)
    probed = [
        p for p, w in zip(column(dataset, "path"), column(dataset, "width"), strict=True) if w
    ]
    assert probed == ["a/0.png", "a/4.png", "b/0.png", "b/1.png"]
    again = read_zip(data, probe="sample", sample_size=2)
    assert again.raw.equals(dataset.raw)


def test_the_worker_pool_gives_the_same_result_as_one_process():
    count = imageprobe.MIN_ENTRIES_FOR_POOL + 10
    names = [f"c{i % 3}/{i:05d}.png" for i in range(count)] + ["c0/bad.png"]
    data = make_zip([(name, png(i)) for i, name in enumerate(names[:-1])] + [(names[-1], b"x")])
    calls = []
    pooled = read_zip(data, n_jobs=2, progress=lambda done, total: calls.append((done, total)))
    single = read_zip(data, n_jobs=1)
    assert pooled.raw.equals(single.raw)
    assert pooled.content_key.equals(single.content_key)
    assert [f.to_dict() for f in pooled.findings] == [f.to_dict() for f in single.findings]
    assert pooled.raw.column("width").null_count == 1
    assert calls[-1] == (count + 1, count + 1)
    assert [done for done, _ in calls] == sorted(done for done, _ in calls)


def test_progress_reports_done_and_total():
    calls = []
    read_zip(image_zip(["a/1.png", "b/2.png"]), progress=lambda d, t: calls.append((d, t)))
    assert calls == [(2, 2)]


# --------------------------------------------------------------------------- identical files


def test_identical_files_share_a_content_key_within_and_across_classes():
    same = png(7)
    data = make_zip(
        [
            ("cats/a.png", same),
            ("cats/b.png", same),
            ("cats/c.png", png(8)),
            ("dogs/d.png", same),
            ("dogs/e.png", png(9)),
        ]
    )
    dataset = read_zip(data, probe="none")
    assert dataset.content_key.type == pa.int64()
    assert dataset.content_key.to_pylist() == [0, 0, 2, 0, 4]


def test_same_size_and_crc_but_different_bytes_is_not_identical():
    first = png(1) + b"tail"
    second = png(2)  # same length as png(1): force its CRC-32 to equal first's
    second += forge_crc(second, zlib.crc32(first))
    assert len(first) == len(second) and first != second
    assert zlib.crc32(first) == zlib.crc32(second)
    dataset = read_zip(make_zip([("cats/1.png", first), ("dogs/2.png", second)]))
    assert column(dataset, "crc32")[0] == column(dataset, "crc32")[1]
    assert dataset.content_key.to_pylist() == [0, 1]
    assert column(dataset, "format") == ["PNG", "PNG"]  # trailing bytes are harmless


def test_the_confirm_step_compares_digests_not_crcs():
    digests = {1: b"same", 2: b"same", 3: b"other", 4: b"other", 5: b"third"}
    groups = [[1, 2, 3], [4, 5], [6, 7]]  # 6 and 7 could not be read
    assert _confirm_identical(groups, digests) == [[1, 2]]
    assert _confirm_identical([[3, 4]], digests) == [[3, 4]]


def test_a_damaged_copy_is_not_identical_and_is_reported():
    same = png(3)
    data = bytearray(
        make_zip([("a/1.png", same), ("b/2.png", same)], compression=zipfile.ZIP_STORED)
    )
    position = data.rfind(same)
    data[position + len(same) - 1] ^= 0xFF  # last byte of the IEND CRC in the second copy
    dataset = read_zip(bytes(data))
    assert dataset.content_key.to_pylist() == [0, 1]
    finding = only_finding(dataset, FindingKind.CORRUPT_IMAGE)
    assert finding.rows.tolist() == [1]
    assert "fails its CRC-32 check" in finding.message


# --------------------------------------------------------------------------- metadata


def metadata_zip(metadata_name: str, metadata: bytes, images: list[str]) -> bytes:
    return make_zip([(metadata_name, metadata)] + [(n, png(i)) for i, n in enumerate(images)])


def test_metadata_takes_precedence_over_folders():
    metadata = (
        b"file,label,patient,size\n"
        b"cats/1.png,dog,p1,big\n"
        b"cats/2.png,cat,p2,small\n"
        b"gone.png,cat,p3,small\n"
    )
    data = metadata_zip("metadata.csv", metadata, ["cats/1.png", "cats/2.png", "cats/3.png"])
    dataset = read_zip(data)
    assert column(dataset, "path") == ["cats/1.png", "cats/2.png", "cats/3.png"]
    assert column(dataset, "label") == ["dog", "cat", None]
    assert column(dataset, "file") == ["cats/1.png", "cats/2.png", None]
    assert column(dataset, "patient") == ["p1", "p2", None]
    assert column(dataset, "size_metadata") == ["big", "small", None]
    assert column(dataset, "size") == [len(png(0)), len(png(1)), len(png(2))]
    assert dataset.roles.group == "patient"
    assert dataset.roles.split is None
    assert "'label' of 'metadata.csv'" in dataset.roles.reasons["label"]
    missing = only_finding(dataset, FindingKind.MISSING_FILE)
    assert missing.entries == ("gone.png",)
    assert missing.message == (
        "1 file listed in 'metadata.csv' is not an image in the zip ('gone.png'); its row is "
        "left out."
    )
    unlisted = only_finding(dataset, FindingKind.MISSING_LABEL)
    assert unlisted.rows.tolist() == [2]
    assert unlisted.message == (
        "1 image is not listed in 'metadata.csv' ('cats/3.png'); it has no label."
    )
    assert findings_of(dataset, FindingKind.NON_IMAGE) == []


def test_metadata_under_the_wrapper_matches_relative_and_base_names():
    metadata = b"image,class\nimgs/a.png,x\nb.png,y\nc,z\n"
    data = metadata_zip(
        "mydata/labels.csv",
        metadata,
        ["mydata/imgs/a.png", "mydata/imgs/b.png", "mydata/imgs/c.png"],
    )
    dataset = read_zip(data)
    assert column(dataset, "label") == ["x", "y", "z"]
    assert findings_of(dataset, FindingKind.MISSING_FILE) == []


def test_metadata_jsonl_with_a_split_column():
    metadata = (
        b'{"path": "1.png", "label": "a", "split": "train"}\n'
        b'{"path": "2.png", "label": "b", "split": "test"}\n'
    )
    dataset = read_zip(metadata_zip("metadata.jsonl", metadata, ["1.png", "2.png"]))
    assert column(dataset, "label") == ["a", "b"]
    assert column(dataset, "split") == ["train", "test"]
    assert column(dataset, "path_metadata") == ["1.png", "2.png"]
    assert dataset.roles.split == "split"


def test_metadata_roles_can_be_named():
    metadata = b"name,kind,who\n1.png,a,p\n2.png,b,q\n"
    dataset = read_zip(
        metadata_zip("labels.csv", metadata, ["1.png", "2.png"]),
        label_col="kind",
        path_col="name",
        group_col="who",
    )
    assert column(dataset, "label") == ["a", "b"]
    assert dataset.roles.group == "who"
    assert dataset.roles.guessed == ()


def test_metadata_that_matches_no_image_is_an_error():
    metadata = b"file,label\nx.png,a\ny.png,b\n"
    with pytest.raises(DatasetError) as error:
        read_zip(metadata_zip("metadata.csv", metadata, ["1.png"]))
    assert error.value.kind == "missing_files"


def test_role_options_need_a_metadata_file():
    with pytest.raises(DatasetError) as error:
        read_zip(image_zip(["a/1.png"]), label_col="x")
    assert error.value.kind == "usage"


def test_role_options_naming_the_folder_columns_are_accepted():
    # A recipe records the roles it was made with; for a folder zip those are the
    # reader's own columns, and replaying with them must read the same dataset.
    data = image_zip(["train/a/1.png", "train/b/2.png", "val/a/3.png"])
    plain = read_zip(data)
    again = read_zip(data, **{f"{k}_col": v for k, v in plain.roles.as_dict().items()})
    assert again.roles.as_dict() == plain.roles.as_dict() == {
        "label": "label", "path": "path", "split": "split", "group": None
    }  # fmt: skip
    assert again.raw.equals(plain.raw)
    with pytest.raises(DatasetError) as error:
        read_zip(data, split_col="label")
    assert error.value.kind == "usage"


def test_metadata_findings_pass_through():
    metadata = "file,label\n1.png,caf\u00e9\n2.png,b\n".encode("cp1252")
    dataset = read_zip(metadata_zip("metadata.csv", metadata, ["1.png", "2.png"]))
    assert column(dataset, "label") == ["caf\u00e9", "b"]
    assert only_finding(dataset, FindingKind.ENCODING_FALLBACK).entries == ("metadata.csv",)


def test_deeper_metadata_files_are_just_non_images():
    data = make_zip([("a/1.png", png(1)), ("a/sub/metadata.csv", b"file,label\n1.png,z\n")])
    dataset = read_zip(data)
    assert column(dataset, "label") == ["a"]
    assert only_finding(dataset, FindingKind.NON_IMAGE).entries == ("a/sub/metadata.csv",)


# --------------------------------------------------------------------------- inputs and output


def test_bytes_path_and_file_give_the_same_dataset(tmp_path):
    data = image_zip(["cats/1.png", "dogs/2.png"])
    path = tmp_path / "pets.zip"
    path.write_bytes(data)
    from_bytes = read_zip(data, name="pets.zip")
    from_path = read_zip(path)
    from_str = read_zip(str(path))
    from_file = read_zip(io.BytesIO(data), name="pets.zip")
    for other in (from_path, from_str, from_file):
        assert other.raw.equals(from_bytes.raw)
        assert other.source.name == "pets.zip"
        assert other.source.sha256 == hashlib.sha256(data).hexdigest()


@pytest.mark.filterwarnings("ignore:Duplicate name")
def test_rows_are_sorted_and_reading_is_deterministic():
    names = ["b/2.png", "a/9.png", "b/1.png", "a/10.png", "A/0.png", "b/1.png"]
    entries = [(name, png(len(name) + ord(name[-5]))) for name in names]
    first = read_zip(make_zip(entries))
    assert column(first, "path") == [
        "A/0.png",
        "a/10.png",
        "a/9.png",
        "b/1.png",
        "b/1.png",
        "b/2.png",
    ]
    second = read_zip(make_zip(list(reversed(entries))))
    assert second.raw.equals(first.raw)
    assert second.content_key.equals(first.content_key)
    assert read_zip(make_zip(entries)).raw.equals(first.raw)


def test_nothing_is_written_to_disk(tmp_path, monkeypatch):
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.setenv("TMPDIR", str(work))
    data = make_zip(
        [
            ("cats/1.png", png(1)),
            ("../escape.png", png(2)),
            ("/tmp/abs.png", png(3)),
            ("dogs/2.png", png(4)),
            ("metadata.csv", b"file,label\ncats/1.png,x\ndogs/2.png,y\n"),
        ]
    )
    source = tmp_path / "in.zip"
    source.write_bytes(data)
    before = sorted(p.name for p in tmp_path.iterdir())
    dataset = read_zip(source)
    read_zip(data, n_jobs=1)
    assert dataset.n_rows == 2
    assert list(work.iterdir()) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == before
    assert not Path("/tmp/abs.png").exists()


def test_read_dataset_sends_zips_here():
    data = image_zip(["cats/1.png", "dogs/2.png"])
    dataset = read_dataset(data, name="x.zip", probe="none")
    assert dataset.source.format == "zip"
    assert column(dataset, "label") == ["cats", "dogs"]


DAMAGEABLE = [
    make_zip(
        [
            ("a/1.png", png(1)),
            ("b/2.jpg", image_bytes("JPEG")),
            ("b/3.png", png(1)),
            ("metadata.csv", b"file,label\na/1.png,x\n"),
        ]
    ),
    make_zip([("a/1.png", png(1)), ("b/2.png", png(1))], compression=zipfile.ZIP_STORED),
    make_zip([("a/1.png", png(1)), ("b/2.png", png(2))], compression=zipfile.ZIP_BZIP2),
    make_zip([("a/1.png", png(1)), ("b/2.png", png(1))], compression=zipfile.ZIP_LZMA),
]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_damaged_archives_give_a_dataset_or_a_dataset_error(data):
    damaged = bytearray(data.draw(st.sampled_from(DAMAGEABLE)))
    for _ in range(data.draw(st.integers(1, 4))):
        position = data.draw(st.integers(0, len(damaged) - 1))
        if data.draw(st.booleans()):
            damaged[position] = data.draw(st.integers(0, 255))
        else:
            damaged[position : position + 4] = b"\xff\xff\xff\xff"
    try:
        dataset = read_zip(bytes(damaged), n_jobs=1)
    except DatasetError as error:
        assert error.kind in {
            "not_a_zip", "corrupt_zip", "zip_bomb", "no_images", "missing_files",
            "limit_hit", "no_label_column", "no_path_column",
        }  # fmt: skip
        assert str(error).endswith(".")
    else:
        assert dataset.n_rows == len(dataset.content_key)
        assert column(dataset, "path") == sorted(column(dataset, "path"))


@pytest.mark.parametrize(
    "options",
    [{"probe": "some"}, {"sample_size": 0}, {"limits": {"max_zip_entries": 1}}, {"n_jobs": "2"}],
)
def test_bad_options_are_refused(options):
    with pytest.raises(DatasetError) as error:
        read_zip(image_zip(["a/1.png"]), **options)
    assert error.value.kind == "usage"


def test_table_view_has_the_roles():
    dataset = read_zip(image_zip(["train/cats/1.png", "test/dogs/2.png"]))
    table = dataset.table
    assert table["label"].tolist() == ["dogs", "cats"]
    assert table["split"].tolist() == ["test", "train"]
    assert np.array_equal(table["width"].to_numpy(), [4, 4])


def test_struct_of_forged_zip_helpers_is_sound():
    # The factory's own check: a patched flag lands in both headers.
    data = patch_entry(image_zip(["a/1.png"]), "a/1.png", set_flags=1)
    central = data.rfind(b"PK\x01\x02")
    assert struct.unpack_from("<H", data, central + 8)[0] & 1
    assert struct.unpack_from("<H", data, 6)[0] & 1


def test_benchmark_script_runs_on_a_small_zip(tmp_path, capsys):
    script = Path(__file__).resolve().parent.parent / "benchmarks" / "bench_zip.py"
    spec = importlib.util.spec_from_file_location("bench_zip", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    report = module.main(["--entries", "120", "--repeat", "1", "--cache-dir", str(tmp_path)])
    table = [line for line in report.splitlines() if line.startswith("|")]
    assert table[0] == "| task | baseline (s) | Seesaw (s) | ratio | target | met |"
    assert [row.split("|")[1].strip()[:6] for row in table[2:]] == ["1. cla", "2. hea", "(info)"]
    assert [p.name for p in tmp_path.iterdir()] == ["zip_120_v2.zip"]
