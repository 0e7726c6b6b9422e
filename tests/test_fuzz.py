"""Property-based fuzzing of every reader: random bytes, and random well-formed but
odd tables and zips. The only outcomes allowed are a dataset (that the rest of
the engine can analyse and export) or a DatasetError with one sentence.

Bounded for CI: a fixed number of examples per test, no deadline, derandomized
(the same examples on every run, no example database). For a longer run::

    SEESAW_FUZZ_EXAMPLES=5000 pytest tests/test_fuzz.py -p no:cacheprovider
"""

from __future__ import annotations

import io
import json
import os
import zipfile

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from zip_factory import DATE, png, png_header_bomb

import balance_core as bc
from balance_core.export import table_csv
from balance_core.images import gallery_sample, thumbnails
from balance_core.readers.zipped import read_zip

EXAMPLES = int(os.environ.get("SEESAW_FUZZ_EXAMPLES", "120"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
NAMES = ["data.csv", "data.tsv", "data.txt", "data.json", "data.jsonl", "data.parquet",
         "data.xlsx", "data.zip", "data"]  # fmt: skip


def outcome(read, *args, **kwargs) -> bc.Dataset | bc.DatasetError:
    """The reader's result, or its DatasetError; anything else fails the test."""
    try:
        dataset = read(*args, **kwargs)
    except bc.DatasetError as error:
        message = str(error)
        assert message and "\n" not in message and message.endswith("."), message
        assert error.kind and error.kind.replace("_", "").isalpha(), error.kind
        return error
    check_dataset(dataset)
    return dataset


def check_dataset(dataset: bc.Dataset) -> None:
    """What every dataset must allow: counting, the quality checks, the CSV export."""
    analysis = bc.analyze(dataset)
    dist = analysis.distribution
    assert dist.n_labelled + dist.missing_labels == dataset.n_rows
    assert all(n > 0 for n in dist.counts.values())
    assert len(dist.counts) <= bc.DEFAULT_LIMITS.max_classes
    table_csv(dataset.raw)


# --------------------------------------------------------------------------- random bytes

MAGIC = [b"", b"PK\x03\x04", b"PK\x05\x06", b"PAR1", b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff",
         b"[", b"{", b'{"label":', b"label,path\n", b"GIF89a", b"\x89PNG\r\n\x1a\n",
         b"\x1f\x8b", b"Rar!\x1a\x07"]  # fmt: skip


@FUZZ
@given(st.sampled_from(MAGIC), st.binary(max_size=3000), st.sampled_from(NAMES))
def test_random_bytes_give_a_dataset_or_a_dataset_error(magic: bytes, tail: bytes, name: str):
    data = magic + tail
    outcome(bc.read_dataset, data, name=name)
    outcome(bc.read_table, data, name=name)
    outcome(read_zip, data, name=name, n_jobs=1)


# --------------------------------------------------------------------------- odd tables

NA = ["", "NA", "N/A", "nan", "NaN", "None", "null", "NULL", "#N/A", "<NA>", "-nan", "1.#IND"]
CELL = st.one_of(
    st.sampled_from([*NA, "01", "1", "True", "false", " cat", "Cat", "=1+1", "-1", "@x"]),
    st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12),
    st.text(alphabet="ab,;\t|\"'\r\n \\{}[]", max_size=8),
)
HEADER = st.one_of(
    st.sampled_from(["label", "path", "class", "split", "group", "file", "y", ""]), CELL
)


@st.composite
def delimited_tables(draw) -> bytes:
    delimiter = draw(st.sampled_from([",", ";", "\t", "|"]))
    width = draw(st.integers(1, 6))
    header = draw(st.lists(HEADER, min_size=width, max_size=width))
    rows = draw(
        st.lists(
            st.lists(CELL, min_size=draw(st.integers(1, width)), max_size=width + 1),
            max_size=25,
        )
    )

    def quote(cell: str) -> str:
        if draw(st.booleans()) or any(ch in cell for ch in f'{delimiter}"\r\n'):
            return '"' + cell.replace('"', '""') + '"'
        return cell

    newline = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    lines = [delimiter.join(quote(c) for c in row) for row in [header, *rows]]
    text = newline.join(lines) + draw(st.sampled_from(["", newline, newline * 3]))
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "cp1252"]))
    return text.encode(encoding, errors="replace")


@FUZZ
@given(delimited_tables(), st.sampled_from(["t.csv", "t.tsv", "t.txt", "t"]))
def test_odd_delimited_tables_give_a_dataset_or_a_dataset_error(data: bytes, name: str):
    result = outcome(bc.read_table, data, name=name)
    if isinstance(result, bc.Dataset):
        # Labels are text exactly as written: never a float, never NaN.
        labels = result.labels.to_pylist()
        assert all(label is None or isinstance(label, str) for label in labels)


JSON_VALUES = st.recursive(
    st.one_of(
        st.none(), st.booleans(), st.integers(-(10**20), 10**20),
        st.floats(allow_nan=False), st.text(max_size=8), st.sampled_from(NA),
    ),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.sampled_from(["label", "path", "split", "x", ""]), children, max_size=4),
    max_leaves=20,
)  # fmt: skip


@FUZZ
@given(
    st.one_of(
        JSON_VALUES,
        st.lists(st.dictionaries(st.sampled_from(["label", "path", "x"]), JSON_VALUES), max_size=8),
    ),
    st.booleans(),
)
def test_odd_json_gives_a_dataset_or_a_dataset_error(document, as_lines: bool):
    if as_lines and isinstance(document, list):
        data = "\n".join(json.dumps(item) for item in document).encode()
        name = "t.jsonl"
    else:
        data, name = json.dumps(document).encode(), "t.json"
    outcome(bc.read_table, data, name=name)


PARQUET_COLUMNS = st.sampled_from(
    [
        pa.array(["a", None, "b", "a"]),
        pa.array([1, 2, None, 1]),
        pa.array([1.5, float("nan"), None, 0.0]),
        pa.array([True, False, None, True]),
        pa.array([["x"], [], None, ["y", "z"]]),
        pa.array(["a", "b", "a", None]).dictionary_encode(),
        pa.array([b"\xff", b"a", None, b""]),
        pa.array([{"k": 1}, None, {"k": 2}, {"k": 3}]),
        pa.array([None, None, None, None], pa.string()),
    ]
)


@FUZZ
@given(
    st.lists(st.tuples(st.sampled_from(["label", "path", "x", "y", "label"]), PARQUET_COLUMNS),
             min_size=1, max_size=5)
)  # fmt: skip
def test_odd_parquet_gives_a_dataset_or_a_dataset_error(columns):
    table = pa.Table.from_arrays([c for _, c in columns], names=[n for n, _ in columns])
    sink = io.BytesIO()
    pq.write_table(table, sink)
    outcome(bc.read_table, sink.getvalue(), name="t.parquet")


# --------------------------------------------------------------------------- odd zips

SEGMENTS = ["cats", "dogs", "Cats", "train", "test", "..", ".", "", "__MACOSX", "a\\b",
            "C:", "caf\u00e9", "cafe\u0301", "x" * 60, "sp ace", "ctl\x07", "nul\x00",
            ".hidden"]  # fmt: skip
EXTENSIONS = [".png", ".jpg", ".gif", ".txt", ".zip", "", "/", ".PNG", ".csv"]
CONTENT = st.one_of(
    st.integers(0, 50).map(png),
    st.binary(max_size=64),
    st.just(b""),
    st.just(png_header_bomb(100_000, 100_000)),
    st.just(b"path,label\n0.png,a\n"),
)


@st.composite
def odd_zips(draw) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for _ in range(draw(st.integers(0, 10))):
            parts = draw(st.lists(st.sampled_from(SEGMENTS), min_size=0, max_size=3))
            name = "/".join(parts) + "/" * bool(parts) + draw(st.text("ab1", max_size=3))
            name += draw(st.sampled_from(EXTENSIONS))
            info = zipfile.ZipInfo(name or "x.png", date_time=DATE)
            info.compress_type = draw(
                st.sampled_from([zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2,
                                 zipfile.ZIP_LZMA])
            )  # fmt: skip
            if draw(st.integers(0, 9)) == 0:
                info.external_attr = 0o120777 << 16  # a symbolic link
            archive.writestr(info, draw(CONTENT))
    data = bytearray(buffer.getvalue())
    for _ in range(draw(st.integers(0, 2))):  # damage: a flipped byte, or a cut
        if data and draw(st.booleans()):
            data[draw(st.integers(0, len(data) - 1))] ^= draw(st.integers(1, 255))
        elif data:
            del data[draw(st.integers(0, len(data) - 1)) :]
    return bytes(data)


@pytest.mark.filterwarnings("ignore:Duplicate name")
@FUZZ
@given(odd_zips(), st.sampled_from(["all", "sample", "none"]))
def test_odd_zips_give_a_dataset_or_a_dataset_error(data: bytes, probe: str):
    result = outcome(read_zip, data, name="odd.zip", probe=probe, n_jobs=1)
    if isinstance(result, bc.Dataset):
        assert result.n_rows == len(result.content_key)
        paths = [p for ps in gallery_sample(result).values() for p in ps]
        shown = thumbnails(data, paths)
        assert len(shown) == len(paths)
    again = outcome(bc.read_dataset, data, name="odd.zip")
    assert type(again) is type(result)
