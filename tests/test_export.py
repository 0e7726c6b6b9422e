"""Export: CSV read back by Python's csv module, Parquet, balanced zips copied without
recompressing, and atomic writes that never clobber a file. (Weights and snippets:
tests/test_weights_export.py.)"""

from __future__ import annotations

import csv
import io
import os
import stat
import struct
import zipfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from PIL import Image

from balance_core import DatasetError, zip_export
from balance_core.apply import counts_for, resample
from balance_core.export import (
    balanced_zip,
    table_csv,
    table_parquet,
    write_atomic,
    write_atomic_many,
    write_table_csv,
)
from balance_core.plan import plan_oversample
from balance_core.readers import read_zip

DATE = (2023, 5, 6, 7, 8, 10)


def parse_csv(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))


# --------------------------------------------------------------------------- CSV


def test_csv_round_trips_through_python_csv() -> None:
    text = ["plain", "a,b", 'say "hi"', "two\nlines", "crlf\r\ninside", "ünï ☃ 猫", None, ""]
    table = pa.table(
        {
            "text": text,
            "n": pa.array([1, -2, None, 4, 5, 6, 7, 8], pa.int64()),
            "x": [0.1, -1.5, 2.0, None, 1e-300, 0.30000000000000004, -0.0, 3.25],
        }
    )
    rows = parse_csv(table_csv(table))
    assert rows[0] == ["text", "n", "x"]
    assert [r[0] for r in rows[1:]] == [t if t is not None else "" for t in text]
    assert [r[1] for r in rows[1:]] == ["1", "-2", "", "4", "5", "6", "7", "8"]
    floats = [float(r[2]) if r[2] else None for r in rows[1:]]
    assert floats == table["x"].to_pylist()  # every float reads back exactly
    assert len(rows) == 9


def test_csv_keeps_null_apart_from_empty_string() -> None:
    data = table_csv(pa.table({"a": [None, ""], "b": [1, 2]}))
    assert data == b'"a","b"\r\n,1\r\n"",2\r\n'


def test_csv_lines_end_with_crlf() -> None:
    data = table_csv(pa.table({"a": ["x", "y", "z"], "b": [1, 2, 3]}))
    assert data.endswith(b"\r\n")
    assert data.count(b"\r\n") == 4
    assert data.count(b"\n") == 4  # no bare LF
    assert data.split(b"\r\n")[:-1] == [b'"a","b"', b'"x",1', b'"y",2', b'"z",3']


@pytest.mark.parametrize("first", ["=", "+", "-", "@", "\t", "\r"])
def test_csv_neutralises_each_formula_prefix(first: str) -> None:
    value = first + 'HYPERLINK("http://evil","x")'
    rows = parse_csv(table_csv(pa.table({"v": [value, "safe"]})))
    assert rows[1] == ["'" + value]
    assert rows[2] == ["safe"]


def test_csv_leaves_numbers_and_safe_strings_alone() -> None:
    safe = ["a=b", " =1", "'quoted", "1+1", "", "é=", "x-1"]
    table = pa.table(
        {
            "s": safe,
            "i": pa.array([-1, -2, 3, 4, 5, 6, -7], pa.int32()),
            "f": [-1.5, -0.25, 1.0, 2.0, 3.0, 4.0, -5.0],
        }
    )
    rows = parse_csv(table_csv(table))
    assert [r[0] for r in rows[1:]] == safe
    assert [r[1] for r in rows[1:]] == ["-1", "-2", "3", "4", "5", "6", "-7"]
    assert [r[2] for r in rows[1:]] == ["-1.5", "-0.25", "1", "2", "3", "4", "-5"]


def test_csv_neutralize_off_keeps_raw_values() -> None:
    values = ["=1+1", "-2x", "@SUM(A1)", "+x", "\tt"]
    table = pa.table({"=col": values})
    rows = parse_csv(table_csv(table, neutralize_formulas=False))
    assert rows == [["=col"], *[[v] for v in values]]
    rows = parse_csv(table_csv(table))
    assert rows == [["'=col"], *[["'" + v] for v in values]]


def test_csv_neutralises_dictionary_and_large_string_columns() -> None:
    table = pa.table(
        {
            "d": pa.array(["=a", "b", "=a", None]).dictionary_encode(),
            "l": pa.array(["-x", "y", None, "@z"], pa.large_string()),
        }
    )
    rows = parse_csv(table_csv(table))
    assert rows[1:] == [["'=a", "'-x"], ["b", "y"], ["'=a", ""], ["", "'@z"]]


def test_csv_writes_nested_values_as_json_text() -> None:
    table = pa.table({"tags": pa.array([["a", "b"], None, []]), "n": [1, 2, 3]})
    rows = parse_csv(table_csv(table))
    assert rows[1:] == [['["a", "b"]', "1"], ["", "2"], ["[]", "3"]]


def test_csv_is_deterministic_and_independent_of_chunking() -> None:
    whole = pa.table({"a": ["=1", "b", "-c", "d"], "n": [1, 2, 3, 4]})
    chunked = pa.concat_tables([whole.slice(0, 1), whole.slice(1, 2), whole.slice(3)])
    assert chunked["a"].num_chunks == 3
    assert table_csv(whole) == table_csv(whole) == table_csv(chunked)


def test_csv_rejects_what_is_not_a_table() -> None:
    with pytest.raises(DatasetError) as caught:
        table_csv({"a": [1]})  # type: ignore[arg-type]
    assert caught.value.kind == "bad_parameter"


# --------------------------------------------------------------------------- Parquet


def test_parquet_round_trip_keeps_raw_values_and_types() -> None:
    table = pa.table(
        {
            "path": ["a/=1.png", "b/-2.png", None],
            "label": ["=cmd|' /C calc'!A0", "-1", "@x"],
            "class_index": pa.array([0, 1, 1], pa.int32()),
            "w": [0.1, -1.5, 1 / 3],
        }
    )
    data = table_parquet(table)
    assert data == table_parquet(table)
    back = pq.read_table(io.BytesIO(data))
    assert back.schema == table.schema
    assert back.to_pylist() == table.to_pylist()


# --------------------------------------------------------------------------- balanced zip


def png(seed: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (5, 4), (seed % 256, 40, 90)).save(buffer, "PNG")
    return buffer.getvalue()


def local_data(blob: bytes, info: zipfile.ZipInfo) -> bytes:
    """An entry's stored (compressed) bytes, found through its local header."""
    name_len, extra_len = struct.unpack_from("<2H", blob, info.header_offset + 26)
    start = info.header_offset + 30 + name_len + extra_len
    return blob[start : start + info.compress_size]


def source_zip(entries: list[tuple[str, bytes, int]]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data, method in entries:
            info = zipfile.ZipInfo(name, date_time=DATE)
            info.compress_type = method
            archive.writestr(info, data)
    return buffer.getvalue()


FILES = {
    "data/cat/1.jpg": b"cat one " * 50,
    "data/cat/2.jpg": b"cat two " * 40,
    "data/dog/1.jpg": b"\x00\x01dog" * 30,
    "data/dog/2.jpg": bytes(range(256)),
    "data/dog/3.tar.gz": b"not really gz",
}
METHODS = [zipfile.ZIP_DEFLATED, zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_STORED,
           zipfile.ZIP_DEFLATED]  # fmt: skip


@pytest.fixture
def source() -> bytes:
    return source_zip(
        [(name, data, method) for (name, data), method in zip(FILES.items(), METHODS, strict=True)]
    )


MANIFEST = pa.table(
    {
        "row": [0, 0, 0, 2, 3, 3, 4],
        "path": ["data/cat/1.jpg", "data/cat/1.jpg", "data/cat/1.jpg", "data/dog/1.jpg",
                 "data/dog/2.jpg", "data/dog/2.jpg", "data/dog/3.tar.gz"],
        "label": ["cat", "cat", "cat", "dog", "dog", "dog", "dog"],
        "copy": [0, 1, 2, 0, 0, 1, 0],
    }
)  # fmt: skip


def test_balanced_zip_holds_the_manifest_files_without_recompressing(source: bytes) -> None:
    out = balanced_zip(source, MANIFEST)
    original = zipfile.ZipFile(io.BytesIO(source))
    archive = zipfile.ZipFile(io.BytesIO(out))
    assert archive.testzip() is None
    assert archive.namelist() == [
        "data/cat/1.jpg",
        "data/cat/1__copy1.jpg",
        "data/cat/1__copy2.jpg",
        "data/dog/1.jpg",
        "data/dog/2.jpg",
        "data/dog/2__copy1.jpg",
        "data/dog/3.tar.gz",
    ]
    for info, path in zip(archive.infolist(), MANIFEST["path"].to_pylist(), strict=True):
        before = original.getinfo(path)
        assert archive.read(info) == FILES[path]
        assert info.compress_type == before.compress_type
        assert info.compress_size == before.compress_size
        assert info.CRC == before.CRC
        assert info.date_time == DATE
        # The very same compressed bytes, not a recompression that decodes alike.
        assert local_data(out, info) == local_data(source, before)
    assert out == balanced_zip(source, MANIFEST)


def test_balanced_zip_reads_a_path_like_bytes(source: bytes, tmp_path: Path) -> None:
    path = tmp_path / "source.zip"
    path.write_bytes(source)
    assert balanced_zip(path, MANIFEST) == balanced_zip(str(path), MANIFEST)
    assert balanced_zip(path, MANIFEST) == balanced_zip(source, MANIFEST)


def test_balanced_zip_missing_file(source: bytes) -> None:
    manifest = pa.table({"path": ["data/cat/1.jpg", "data/cat/9.jpg"], "copy": [0, 0]})
    with pytest.raises(DatasetError) as caught:
        balanced_zip(source, manifest)
    assert caught.value.kind == "missing_file"
    assert "'data/cat/9.jpg'" in str(caught.value)
    with pytest.raises(DatasetError) as caught:
        balanced_zip(source, pa.table({"path": ["data/cat/"], "copy": [0]}))
    assert caught.value.kind in ("missing_file", "unsafe_entry")


def test_balanced_zip_copy_names_never_collide() -> None:
    data = source_zip([("a/x.png", b"x", 0), ("a/x__copy1.png", b"y", 0), ("a/.hidden", b"h", 0)])
    manifest = pa.table(
        {
            "path": ["a/x.png", "a/x.png", "a/x__copy1.png", "a/x.png", "a/.hidden", "a/.hidden"],
            "copy": [0, 1, 0, 0, 0, 1],
        }
    )
    archive = zipfile.ZipFile(io.BytesIO(balanced_zip(data, manifest)))
    assert archive.namelist() == [
        "a/x.png",
        "a/x__copy2.png",
        "a/x__copy1.png",
        "a/x__copy3.png",
        "a/.hidden",
        "a/.hidden__copy1",
    ]
    assert [archive.read(n) for n in archive.namelist()] == [b"x", b"x", b"y", b"x", b"h", b"h"]


def test_balanced_zip_without_copy_column_and_empty_manifest(source: bytes) -> None:
    archive = zipfile.ZipFile(
        io.BytesIO(balanced_zip(source, pa.table({"path": ["data/dog/2.jpg"]})))
    )
    assert archive.namelist() == ["data/dog/2.jpg"]
    empty = balanced_zip(source, pa.table({"path": pa.array([], pa.string())}))
    assert zipfile.ZipFile(io.BytesIO(empty)).namelist() == []
    with pytest.raises(DatasetError) as caught:
        balanced_zip(source, pa.table({"file": ["data/dog/2.jpg"]}))
    assert caught.value.kind == "no_path_column"


def test_balanced_zip_writes_zip64_records_when_needed(
    source: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(zip_export, "_ZIP64_SIZE", 0)
    monkeypatch.setattr(zip_export, "_ZIP64_COUNT", 0)
    out = balanced_zip(source, MANIFEST)
    assert b"PK\x06\x06" in out and b"PK\x06\x07" in out
    archive = zipfile.ZipFile(io.BytesIO(out))
    assert archive.testzip() is None
    paths = MANIFEST["path"].to_pylist()
    assert [archive.read(i) for i in archive.infolist()] == [FILES[p] for p in paths]
    assert all(i.extract_version == 45 for i in archive.infolist())


def test_balanced_zip_from_streamed_zip_with_data_descriptors() -> None:
    class Unseekable(io.RawIOBase):
        def __init__(self) -> None:
            self.buffer = io.BytesIO()

        def writable(self) -> bool:
            return True

        def write(self, data) -> int:  # type: ignore[override]
            return self.buffer.write(data)

    stream = Unseekable()
    with zipfile.ZipFile(stream, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("k/a.bin", b"abc" * 100)
    data = stream.buffer.getvalue()
    assert zipfile.ZipFile(io.BytesIO(data)).getinfo("k/a.bin").flag_bits & 0x08
    out = balanced_zip(data, pa.table({"path": ["k/a.bin", "k/a.bin"], "copy": [0, 1]}))
    archive = zipfile.ZipFile(io.BytesIO(out))
    assert archive.testzip() is None
    assert [i.flag_bits & 0x08 for i in archive.infolist()] == [0, 0]
    assert [archive.read(n) for n in archive.namelist()] == [b"abc" * 100] * 2


def test_balanced_zip_matches_names_as_the_zip_reader_decodes_them() -> None:
    # Names without the UTF-8 flag: zipfile decodes them as cp437; Seesaw's reader
    # takes them as UTF-8 when they are valid UTF-8.
    data = source_zip([("c/AA.png", b"utf8 bytes", 0), ("c/BB.png", b"cp437 bytes", 0)])
    data = data.replace(b"c/AA.png", "c/é.png".encode())  # same length: 8 bytes
    data = data.replace(b"c/BB.png", b"c/\x82\x83.png")
    names = [i.orig_filename for i in zipfile.ZipFile(io.BytesIO(data)).infolist()]
    assert names == ["c/├⌐.png", "c/éâ.png"]
    out = balanced_zip(data, pa.table({"path": ["c/é.png", "c/éâ.png"], "copy": [0, 1]}))
    archive = zipfile.ZipFile(io.BytesIO(out))
    assert archive.namelist() == ["c/é.png", "c/éâ__copy1.png"]
    assert [archive.read(n) for n in archive.namelist()] == [b"utf8 bytes", b"cp437 bytes"]
    assert [i.flag_bits & 0x800 for i in archive.infolist()] == [0x800, 0x800]


def test_balanced_zip_refuses_unsafe_names_and_bad_sources() -> None:
    data = source_zip([("../evil.png", b"e", 0), ("ok/a.png", b"a", 0)])
    with pytest.raises(DatasetError) as caught:
        balanced_zip(data, pa.table({"path": ["../evil.png"]}))
    assert caught.value.kind == "unsafe_entry"
    with pytest.raises(DatasetError) as caught:
        balanced_zip(b"not a zip at all", pa.table({"path": ["ok/a.png"]}))
    assert caught.value.kind == "not_a_zip"
    with pytest.raises(DatasetError) as caught:
        balanced_zip(Path("/nonexistent/source.zip"), pa.table({"path": ["ok/a.png"]}))
    assert caught.value.kind == "file_not_found"


def test_balanced_zip_of_a_resampled_dataset_reads_back_balanced() -> None:
    names = [f"pets/cat/{i}.png" for i in range(2)] + [f"pets/dog/{i}.png" for i in range(5)]
    data = source_zip([(name, png(i), zipfile.ZIP_DEFLATED) for i, name in enumerate(names)])
    dataset = read_zip(data, name="pets.zip")
    plan = plan_oversample(counts_for(dataset))
    assert plan.after == {"cat": 5, "dog": 5}
    resampled = resample(dataset, plan, seed=3)
    out = balanced_zip(data, resampled.manifest)
    back = read_zip(out, name="balanced.zip")
    assert counts_for(back) == plan.after
    archive = zipfile.ZipFile(io.BytesIO(out))
    assert len(archive.namelist()) == 10
    assert sum("__copy" in n for n in archive.namelist()) == 3


# --------------------------------------------------------------------------- write_atomic


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_write_atomic_writes_and_replaces(tmp_path: Path) -> None:
    target = tmp_path / "out.csv"
    write_atomic(target, b"first")
    assert target.read_bytes() == b"first"
    write_atomic(str(target), bytearray(b"second"))
    assert target.read_bytes() == b"second"
    assert leftovers(tmp_path) == ["out.csv"]


def test_write_atomic_keeps_the_old_file_when_replace_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "weights.json"
    target.write_bytes(b"old")

    def failing_replace(src, dst) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(DatasetError) as caught:
        write_atomic(target, b"new content")
    assert caught.value.kind == "write_failed"
    assert "No space left on device" in str(caught.value)
    assert target.read_bytes() == b"old"
    assert leftovers(tmp_path) == ["weights.json"]


def test_write_atomic_keeps_the_old_file_when_fsync_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "manifest.csv"
    target.write_bytes(b"old")

    def failing_fsync(fd: int) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(os, "fsync", failing_fsync)
    with pytest.raises(DatasetError):
        write_atomic(target, b"new")
    assert target.read_bytes() == b"old"
    assert leftovers(tmp_path) == ["manifest.csv"]


def test_write_atomic_refuses_text_and_touches_nothing(tmp_path: Path) -> None:
    target = tmp_path / "a.txt"
    target.write_bytes(b"old")
    with pytest.raises(TypeError):
        write_atomic(target, "not bytes")  # type: ignore[arg-type]
    assert target.read_bytes() == b"old"
    assert leftovers(tmp_path) == ["a.txt"]


def test_write_atomic_into_a_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(DatasetError) as caught:
        write_atomic(tmp_path / "nope" / "x.bin", b"x")
    assert caught.value.kind == "write_failed"
    assert leftovers(tmp_path) == []


def test_write_atomic_keeps_the_permissions_of_a_replaced_file(tmp_path: Path) -> None:
    target = tmp_path / "secret.json"
    target.write_bytes(b"old")
    target.chmod(0o600)
    write_atomic(target, b"new")
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    fresh = tmp_path / "fresh.json"
    write_atomic(fresh, b"x")
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o666 & ~umask


def test_plain_signed_numbers_are_values_not_formulas():
    # Binary labels -1/+1 must survive the spreadsheet-safe CSV; "-2+3" must not.
    table = pa.table({"label": ["-1", "+1", "-0.5", "-1e-3", "-2+3", "+cmd|' /C calc'!A0"]})
    rows = list(csv.reader(io.StringIO(table_csv(table).decode("utf-8"), newline="")))
    assert [r[0] for r in rows[1:]] == ["-1", "+1", "-0.5", "-1e-3", "'-2+3", "'+cmd|' /C calc'!A0"]


def test_write_table_csv_streams_the_same_bytes_as_table_csv(tmp_path):
    table = pa.table({"label": ["=SUM(A1)", "b", None, "-1"], "n": [1, 2, 3, 4]})
    for neutralize in (True, False):
        path = tmp_path / f"out-{neutralize}.csv"
        write_table_csv(table, str(path), neutralize_formulas=neutralize)
        assert path.read_bytes() == table_csv(table, neutralize_formulas=neutralize)


@pytest.mark.parametrize("start", [0, 1, 2, 3])
def test_formula_cells_are_found_in_sliced_and_chunked_columns(start):
    # The first-byte pre-check reads the offsets buffer: slices and chunks must not
    # hide a dangerous cell from it.
    cells = ["safe", "=cmd|' /C calc'!A0", "ok", "@SUM(1)", "fine"]
    column = pa.chunked_array([pa.array(cells[:2]), pa.array(cells[2:])])
    table = pa.table({"label": column}).slice(start)
    rows = list(csv.reader(io.StringIO(table_csv(table).decode())))[1:]
    expected = [("'" + c if c[0] in "=@" else c) for c in cells[start:]]
    assert [r[0] for r in rows] == expected


def test_a_failing_streamed_output_leaves_every_file_untouched(tmp_path):
    first, second = tmp_path / "manifest.csv", tmp_path / "dropped.csv"
    first.write_bytes(b"old manifest")
    second.write_bytes(b"old dropped")

    def half_then_fail(handle):
        handle.write(b"half a file")
        raise DatasetError("stopped midway", kind="write_failed")

    with pytest.raises(DatasetError, match="stopped midway"):
        write_atomic_many([(first, b"new manifest"), (second, half_then_fail)])
    assert first.read_bytes() == b"old manifest"
    assert second.read_bytes() == b"old dropped"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dropped.csv", "manifest.csv"]
