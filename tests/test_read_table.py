"""read_table on real files in every supported format: text kept exactly as written, no
row lost, roles guessed and reported, and one clear DatasetError for each kind of bad input."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import string

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from table_factory import (
    PNG_1X1,
    csv_bytes,
    csv_text,
    json_bytes,
    jsonl_bytes,
    parquet_bytes,
    xlsx_bytes,
    zip_bytes,
)

from balance_core import read_table
from balance_core.dataset import FindingKind, Severity
from balance_core.errors import DatasetError
from balance_core.limits import Limits
from balance_core.readers import read_dataset
from balance_core.readers.tables import detect_format

# pandas' default NA strings (pandas._libs.parsers.STR_NA_VALUES) minus the empty string:
# every one of them is a label when it is written.
PANDAS_NA_STRINGS = (
    "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN",
    "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null",
)  # fmt: skip


def labels(ds) -> list[str | None]:
    return ds.labels.to_pylist()


def rows(ds) -> list[dict]:
    return ds.raw.to_pylist()


def raises(kind: str, data, **options) -> DatasetError:
    with pytest.raises(DatasetError) as info:
        read_table(data, **options)
    assert info.value.kind == kind, str(info.value)
    message = str(info.value)
    assert message.strip() and "\n" not in message and "Traceback" not in message
    return info.value


def fallback_findings(ds) -> list:
    return [f for f in ds.findings if f.kind == FindingKind.ENCODING_FALLBACK]


# --------------------------------------------------------------------------- encodings


def test_plain_utf8_reads_labels_exactly():
    ds = read_table("label,path\ncat,a.png\nchat noir,b.png\n猫,c.png\n".encode())
    assert labels(ds) == ["cat", "chat noir", "猫"]
    assert ds.source.encoding == "UTF-8"
    assert ds.source.delimiter == ","
    assert ds.findings == ()


def test_utf8_bom_is_not_part_of_the_first_column_name():
    data = b"\xef\xbb\xbf" + "label,path\nCafé,a.png\nthé,b.png\n".encode()
    ds = read_table(data)
    assert ds.raw.column_names == ["label", "path"]
    assert labels(ds) == ["Café", "thé"]
    assert ds.roles.label == "label"
    assert fallback_findings(ds) == []


@pytest.mark.parametrize("encoding", ["utf-16-le-bom", "utf-16-be-bom"])
def test_utf16_with_bom(encoding):
    data = csv_bytes(["label", "path"], [["Café", "a.png"], ["日本", "b.png"]], encoding=encoding)
    ds = read_table(data, name="labels.csv")
    assert ds.raw.column_names == ["label", "path"]
    assert labels(ds) == ["Café", "日本"]
    assert ds.source.encoding.startswith("UTF-16")
    assert fallback_findings(ds) == []


@pytest.mark.parametrize("codec", ["utf-32", "utf-32-be"])
def test_utf32_with_bom_is_not_mistaken_for_utf16(codec):
    text = "label,path\nCafé,a.png\n"
    data = text.encode(codec) if codec == "utf-32" else b"\x00\x00\xfe\xff" + text.encode(codec)
    ds = read_table(data)
    assert rows(ds) == [{"label": "Café", "path": "a.png"}]
    assert ds.source.encoding == "UTF-32"


def test_utf16_without_bom_is_recognised():
    data = "label,path\nCafé,a.png\n".encode("utf-16-le")
    ds = read_table(data)
    assert labels(ds) == ["Café"]
    assert ds.source.encoding == "UTF-16-LE"


def test_utf16_tab_separated_with_crlf():
    data = csv_bytes(
        ["path", "class"],
        [["a.png", "ok"], ["b.png", "défaut"]],
        encoding="utf-16-le-bom",
        delimiter="\t",
        lineterminator="\r\n",
    )
    ds = read_table(data)
    assert ds.source.delimiter == "\t"
    assert rows(ds) == [{"path": "a.png", "class": "ok"}, {"path": "b.png", "class": "défaut"}]


def test_cp1252_falls_back_and_says_so():
    data = "label,path\nCafé,a.png\nnaïve,b.png\n€uro,c.png\n".encode("cp1252")
    assert b"\xe9" in data
    ds = read_table(data, name="labels.csv")
    assert labels(ds) == ["Café", "naïve", "€uro"]
    assert ds.source.encoding == "cp1252"
    [finding] = fallback_findings(ds)
    assert finding.severity == Severity.WARNING
    assert "labels.csv" in finding.message and "Windows-1252" in finding.message


def test_cp1252_only_in_the_header_still_falls_back():
    # The data rows are ASCII, so only the header (parsed from the sample) is not UTF-8.
    data = "Catégorie,path\nchat,a.png\nchien,b.png\n".encode("cp1252")
    ds = read_table(data)
    assert ds.raw.column_names == ["Catégorie", "path"]
    assert ds.source.encoding == "cp1252"
    assert len(fallback_findings(ds)) == 1


def test_cp1252_byte_beyond_the_sniffed_sample_falls_back():
    body = "".join(f"ok,{i}.png\n" for i in range(10_000))  # > 64 KiB of ASCII
    data = ("label,path\n" + body + "Café,last.png\n").encode("cp1252")
    ds = read_table(data)
    assert ds.n_rows == 10_001
    assert labels(ds)[-1] == "Café"
    assert len(fallback_findings(ds)) == 1


def test_utf8_character_cut_by_the_sample_boundary_is_still_utf8():
    prefix = "label\n" + "a\n" * 32_763  # the 4-byte emoji straddles byte 65 536
    text = prefix + "x🐱\n" + "b\n"
    data = text.encode()
    assert data.index("🐱".encode()) == 65_533
    ds = read_table(data)
    assert labels(ds)[-2:] == ["x🐱", "b"]
    assert ds.source.encoding == "UTF-8"
    assert fallback_findings(ds) == []


def test_utf8_bom_with_invalid_bytes_falls_back_without_mangling_the_header():
    data = b"\xef\xbb\xbflabel\nCaf\xe9\nok\n"
    ds = read_table(data)
    assert ds.raw.column_names == ["label"]
    assert labels(ds) == ["Café", "ok"]
    assert len(fallback_findings(ds)) == 1


def test_truncated_utf16_is_unreadable():
    data = csv_bytes(["label"], [["a"], ["b"]], encoding="utf-16-le-bom") + b"\x00"
    raises("unreadable_bytes", data)


def test_byte_invalid_in_utf8_and_cp1252_is_unreadable():
    error = raises("unreadable_bytes", b"label\nab\x81c\nd\n", name="bad.csv")
    assert "UTF-8" in str(error)


def test_unreadable_byte_after_the_sample_is_unreadable():
    data = b"label\n" + b"ok\n" * 30_000 + b"ab\x81c\n"
    error = raises("unreadable_bytes", data)
    assert "offset" in str(error)


def test_non_utf8_byte_in_a_ragged_row_reports_the_ragged_row():
    error = raises("ragged_rows", b"label,path\ncat,a.png\nCaf\xe9,b.png,extra\n")
    assert "line 3" in str(error) or "lines 3" in str(error)


# --------------------------------------------------------------------------- delimiters


def test_semicolon_with_decimal_commas():
    data = b"image;label;score\na.png;cat;0,95\nb.png;dog;1,5\n"
    ds = read_table(data)
    assert ds.source.delimiter == ";"
    assert rows(ds) == [
        {"image": "a.png", "label": "cat", "score": "0,95"},
        {"image": "b.png", "label": "dog", "score": "1,5"},
    ]


def test_one_column_file():
    ds = read_table(b"label\ncat\ndog\ncat\n")
    assert ds.raw.column_names == ["label"]
    assert labels(ds) == ["cat", "dog", "cat"]


def test_one_column_tsv_keeps_commas_in_values():
    ds = read_table(b"label\ncat, black\ndog\n", name="x.tsv")
    assert ds.raw.column_names == ["label"]
    assert labels(ds) == ["cat, black", "dog"]


def test_pipe_separated():
    ds = read_table(b"path|label|split\na.png|cat|train\nb.png|dog, big|test\n")
    assert ds.source.delimiter == "|"
    assert labels(ds) == ["cat", "dog, big"]
    assert ds.roles.split == "split"


def test_tab_separated_tsv():
    ds = read_table(b"path\tlabel\na.png\tcat\nb.png\tdog;big\n", name="labels.tsv")
    assert ds.source.format == "tsv"
    assert ds.source.delimiter == "\t"
    assert labels(ds) == ["cat", "dog;big"]


def test_txt_that_is_tab_separated():
    ds = read_table(b"path\tlabel\na.png\tcat\nb.png\tdog\n", name="labels.txt")
    assert ds.source.format == "txt"
    assert ds.source.delimiter == "\t"
    assert ds.raw.column_names == ["path", "label"]


def test_quoted_delimiters_newlines_and_doubled_quotes():
    data = b'path,label,note\na.png,"cat, black","line one\nline two"\nb.png,"say ""hi""",""\n'
    ds = read_table(data)
    assert rows(ds) == [
        {"path": "a.png", "label": "cat, black", "note": "line one\nline two"},
        {"path": "b.png", "label": 'say "hi"', "note": None},
    ]


def test_quoted_newline_inside_the_header():
    ds = read_table(b'"file\npath",label\na.png,cat\nb.png,dog\n')
    assert ds.raw.column_names == ["file\npath", "label"]
    assert labels(ds) == ["cat", "dog"]


def test_blank_lines_before_the_header_are_not_rows():
    ds = read_table(b"\n\r\nlabel,path\ncat,a.png\n")
    assert ds.raw.column_names == ["label", "path"]
    assert rows(ds) == [{"label": "cat", "path": "a.png"}]


def test_delimiter_is_sniffed_from_a_bounded_sample():
    body = "".join(f"{i}.png;{'ab'[i % 2]}\n" for i in range(200_000))
    data = ("path;label\n" + body).encode()
    ds = read_table(data)
    assert ds.n_rows == 200_000
    assert ds.source.delimiter == ";"
    assert labels(ds)[:3] == ["a", "b", "a"]


def test_old_mac_line_endings():
    ds = read_table(b"label,path\rcat,a.png\rdog,b.png\r")
    assert rows(ds) == [{"label": "cat", "path": "a.png"}, {"label": "dog", "path": "b.png"}]


# --------------------------------------------------------------------------- text as written


def test_pandas_na_strings_are_labels_in_csv():
    data = csv_bytes(["label"], [[s] for s in PANDAS_NA_STRINGS])
    ds = read_table(data)
    assert labels(ds) == list(PANDAS_NA_STRINGS)
    assert ds.labels.null_count == 0


def test_pandas_na_strings_are_labels_in_json_and_xlsx_and_table():
    records = [{"label": s} for s in PANDAS_NA_STRINGS]
    assert labels(read_table(json_bytes(records))) == list(PANDAS_NA_STRINGS)
    workbook = xlsx_bytes({"S": [["label"], *[[s] for s in PANDAS_NA_STRINGS]]})
    assert labels(read_table(workbook)) == list(PANDAS_NA_STRINGS)
    frame = read_table(csv_bytes(["label"], [[s] for s in PANDAS_NA_STRINGS])).table
    assert frame["label"].tolist() == list(PANDAS_NA_STRINGS)
    assert frame["label"].notna().all()


def test_numbers_and_spaces_stay_as_written():
    data = b"label,score\n01,1.50\n007,1e3\n1,-0\n  padded ,+5\n"
    ds = read_table(data, label_col="label")
    assert rows(ds) == [
        {"label": "01", "score": "1.50"},
        {"label": "007", "score": "1e3"},
        {"label": "1", "score": "-0"},
        {"label": "  padded ", "score": "+5"},
    ]
    assert ds.raw.schema.field("score").type == pa.string()


def test_only_empty_cells_are_missing():
    ds = read_table(b'label,path\n,a.png\n"",b.png\n" ",c.png\nNA,d.png\n')
    assert labels(ds) == [None, None, " ", "NA"]
    assert ds.n_rows == 4


# --------------------------------------------------------------------------- row counts


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        pytest.param(b"label,x\na,1\nb,2", 2, id="no-final-newline"),
        pytest.param(b"label,x\na,1\nb,2\n", 2, id="final-newline"),
        pytest.param(b"label,x\r\na,1\r\nb,2\r\n", 2, id="crlf"),
        pytest.param(b"label,x\na,1\nb,2\n\n\n\r\n", 2, id="blank-lines-at-end"),
        pytest.param(b"label,x\na,1\n\nb,2\n", 2, id="blank-line-in-middle-is-not-data"),
        pytest.param(b'label,x\n"a\nb",1\n"c\r\n\r\nd",2\n', 2, id="quoted-newlines"),
        pytest.param(b"label,x\na,1\n,\n,\nb,2\n", 4, id="delimiter-only-rows-kept"),
        pytest.param(b"label,x\na,1\n,", 2, id="delimiter-only-last-line"),
        pytest.param(b'label\na\n""\nb\n', 3, id="quoted-empty-one-column"),
        pytest.param(b"label,x\na,1\r\nb,2\rc,3\n", 3, id="mixed-line-endings"),
    ],
)
def test_every_data_row_becomes_one_row(data, expected):
    ds = read_table(data, label_col="label")
    assert ds.n_rows == expected


def test_delimiter_only_rows_are_kept_as_missing_values():
    ds = read_table(b"label,path,split\ncat,a.png,train\n,,\ndog,,\n")
    assert rows(ds) == [
        {"label": "cat", "path": "a.png", "split": "train"},
        {"label": None, "path": None, "split": None},
        {"label": "dog", "path": None, "split": None},
    ]


# --------------------------------------------------------------------------- errors


def test_empty_file():
    error = raises("empty_file", b"", name="labels.csv")
    assert "labels.csv" in str(error)


@pytest.mark.parametrize("data", [b"   \n\n\t\n", b"\r\n\r\n", b"\xef\xbb\xbf\n"])
def test_whitespace_only_file(data):
    raises("empty_file", data)


@pytest.mark.parametrize("data", [b"label,path", b"label,path\n", b"label,path\r\n\r\n\n"])
def test_header_only(data):
    error = raises("header_only", data, name="h.csv")
    assert "no rows" in str(error)


def test_no_usable_label_column():
    data = b"id,name\n1,x\n2,y\n3,z\n"
    error = raises("no_label_column", data)
    assert "'id'" in str(error) and "'name'" in str(error) and "label_col" in str(error)


def test_label_column_empty_in_every_row():
    error = raises("no_label_column", b"label,path\n,a.png\n,b.png\n")
    assert "'label'" in str(error)


def test_duplicate_column_names():
    error = raises("duplicate_columns", b"label,path,label\na,b,c\n")
    assert "'label'" in str(error)


def test_blank_header_names_get_unique_names():
    ds = read_table(b"label,,column_2\na,x,y\nb,z,w\n")
    assert ds.raw.column_names[0] == "label"
    assert len(set(ds.raw.column_names)) == 3
    assert "column_2" in ds.raw.column_names
    assert ds.raw.column("column_2").to_pylist() == ["y", "w"]
    assert sorted(ds.raw.to_pylist()[0].values()) == ["a", "x", "y"]


def test_ragged_rows_name_their_lines():
    data = b"label,path\ncat,a.png\ndog\nbird,c.png\nfish,d.png,extra\n"
    error = raises("ragged_rows", data, name="r.csv")
    message = str(error)
    assert "lines 3, 5" in message
    assert "'r.csv': 2 rows have" in message and "header's 2" in message


def test_ragged_line_numbers_count_physical_lines():
    data = b'label,path\n"multi\nline",a.png\nbad\n'
    error = raises("ragged_rows", data)
    assert "(line 4)" in str(error)


def test_many_ragged_rows_are_summarised():
    data = b"label,path\n" + b"x\n" * 12
    message = str(raises("ragged_rows", data))
    assert "lines 2, 3, 4, 5, 6 and 7 more" in message


def test_binary_file_named_csv():
    data = b"label\x00\x01\x02\x03" * 100
    error = raises("binary_file", data, name="labels.csv")
    assert "binary" in str(error)


@pytest.mark.parametrize(
    ("data", "what"),
    [
        (PNG_1X1, "PNG"),
        (b"\x28\xb5\x2f\xfd" + b"\x00" * 20, "zstd"),
        (b"%PDF-1.4\n", "PDF"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, ".xls"),
    ],
)
def test_known_binary_formats_named_csv(data, what):
    error = raises("unsupported_format", data, name="labels.csv")
    assert what in str(error)


def test_damaged_gzip_named_csv_is_one_sentence():
    error = raises("corrupt_gzip", b"\x1f\x8b\x08\x00" + b"\x00" * 20, name="labels.csv")
    assert "gzip" in str(error)


def test_zip_passed_to_read_table():
    data = zip_bytes({"cat/1.png": PNG_1X1, "dog/2.png": PNG_1X1})
    error = raises("wrong_format", data, name="images.zip")
    assert "read_zip" in str(error)


def test_zip_whose_folder_name_ends_in_xl_is_not_a_workbook():
    data = zip_bytes({"pixl/cat/1.png": PNG_1X1, "pixl/dog/2.png": PNG_1X1})
    assert detect_format(data[:65536]) == "zip"
    raises("wrong_format", data, name="images.zip")


def test_missing_path():
    raises("file_not_found", "/nonexistent/dir/labels.csv")


def test_unknown_format_argument():
    raises("usage", b"label\na\n", format="xml")


def test_row_limit():
    error = raises("limit_hit", b"label\na\nb\nc\n", limits=Limits(max_table_rows=2))
    assert "max_table_rows" in str(error)


# --------------------------------------------------------------------------- format detection


def test_parquet_bytes_named_csv():
    ds = read_table(parquet_bytes({"label": ["a", "b"]}), name="labels.csv")
    assert ds.source.format == "parquet"
    assert labels(ds) == ["a", "b"]


def test_csv_named_json():
    ds = read_table(b"label,path\na,1.png\n", name="labels.json")
    assert ds.source.format == "csv"
    assert labels(ds) == ["a"]


def test_json_named_csv():
    ds = read_table(json_bytes([{"label": "a"}, {"label": "b"}]), name="labels.csv")
    assert ds.source.format == "json"
    assert labels(ds) == ["a", "b"]


def test_xlsx_named_csv():
    ds = read_table(xlsx_bytes({"S": [["label"], ["a"]]}), name="labels.csv")
    assert ds.source.format == "xlsx"
    assert labels(ds) == ["a"]


@pytest.mark.parametrize(
    ("data", "fmt"),
    [
        (b"label,path\na,b\n", "csv"),
        (json_bytes([{"label": "a"}]), "json"),
        (jsonl_bytes([{"label": "a"}, {"label": "b"}]), "jsonl"),
        (parquet_bytes({"label": ["a"]}), "parquet"),
        (xlsx_bytes({"S": [["label"], ["a"]]}), "xlsx"),
    ],
)
def test_files_without_extension(tmp_path, data, fmt):
    path = tmp_path / "labels"
    path.write_bytes(data)
    ds = read_table(path)
    assert ds.source.format == fmt
    assert ds.source.name == "labels"
    assert labels(ds)[0] == "a"


@pytest.mark.parametrize("name", ["s3:labels.parquet", "file:labels.parquet", "_labels.parquet"])
def test_parquet_path_that_looks_like_a_uri_is_a_local_file(tmp_path, monkeypatch, name):
    monkeypatch.chdir(tmp_path)
    (tmp_path / name).write_bytes(parquet_bytes({"label": ["a", "b"]}))
    assert labels(read_table(name)) == ["a", "b"]


@pytest.mark.parametrize("name", ["s3:labels.csv", "file:labels.csv"])
def test_csv_path_that_looks_like_a_uri_is_a_local_file(tmp_path, monkeypatch, name):
    monkeypatch.chdir(tmp_path)
    (tmp_path / name).write_bytes(b"label\na\nb\n")
    assert labels(read_table(name)) == ["a", "b"]


def test_csv_header_starting_with_a_bracket_is_not_json():
    ds = read_table(b"[x],label\n1,a\n2,b\n", name="labels.csv")
    assert ds.source.format == "csv"
    assert ds.raw.column_names == ["[x]", "label"]


@pytest.mark.parametrize("name", ["labels.csv", "labels"])
def test_csv_header_that_opens_like_json_is_read_as_csv(name):
    ds = read_table(b"[0],label\n1,a\n2,b\n", name=name)
    assert ds.source.format == "csv"
    assert rows(ds) == [{"[0]": "1", "label": "a"}, {"[0]": "2", "label": "b"}]


def test_broken_json_without_extension_reports_the_json_error():
    error = raises("parse_error", b'[{"label": "a"}, {"label": ]', name="labels")
    assert "JSON" in str(error)


def test_plain_csv_named_like_a_compressed_file(tmp_path):
    # pyarrow decompresses by extension when given a path; the content decides here.
    path = tmp_path / "labels.gz"
    path.write_bytes(b"label\na\nb\n")
    assert labels(read_table(path)) == ["a", "b"]


@pytest.mark.parametrize(
    ("head", "suffix", "fmt"),
    [
        (b"a\tb\n", "tsv", "tsv"),
        (b"a\tb\n", "txt", "txt"),
        (b"a,b\n", "", "csv"),
        (b"a,b\n", "xlsx", "csv"),
        (b'  [{"a": 1}]', "csv", "json"),
        (b'{"a": 1}\n{"a": 2}\n', "json", "jsonl"),
        (b'{"a": [1, 2]}', "", "json"),
        (b'{"a": 1}', "jsonl", "jsonl"),
        (b"PAR1\x15\x04", "csv", "parquet"),
        (b"[x],label\n1,a\n", "csv", "csv"),
        (b"{id},label\n1,a\n", "", "csv"),
        (b"[\n  null,\n", "", "json"),
        (b'{ "a": 1 }', "", "json"),
    ],
)
def test_detect_format(head, suffix, fmt):
    assert detect_format(head, suffix=suffix) == fmt


# --------------------------------------------------------------------------- JSON


def test_json_array_of_objects_with_different_keys():
    ds = read_table(json_bytes([{"path": "a.png", "label": "cat"}, {"label": "dog", "x": "1"}]))
    assert ds.raw.column_names == ["path", "label", "x"]
    assert rows(ds) == [
        {"path": "a.png", "label": "cat", "x": None},
        {"path": None, "label": "dog", "x": "1"},
    ]


def test_json_lines_with_blank_lines_and_crlf():
    data = b'{"label": "a"}\r\n\r\n{"label": "b"}\r\n{"label": null}\r\n\r\n'
    ds = read_table(data, name="x.jsonl")
    assert ds.source.format == "jsonl"
    assert labels(ds) == ["a", "b", None]


def test_json_lines_with_unicode_line_separators_inside_strings():
    records = [{"label": "a\u2028b"}, {"label": "c\x85d"}, {"label": "e\x1cf"}]
    ds = read_table(jsonl_bytes(records), name="x.jsonl")
    assert labels(ds) == ["a\u2028b", "c\x85d", "e\x1cf"]


def test_json_columns_orientation():
    data = json_bytes({"path": ["a.png", "b.png"], "label": ["cat", "dog"]})
    ds = read_table(data)
    assert rows(ds) == [{"path": "a.png", "label": "cat"}, {"path": "b.png", "label": "dog"}]


def test_json_pandas_default_orientation():
    # pandas.DataFrame.to_json() writes {column: {index: value}}.
    data = b'{"path":{"0":"a.png","1":"b.png"},"label":{"0":"cat","1":"01"}}'
    ds = read_table(data)
    assert rows(ds) == [{"path": "a.png", "label": "cat"}, {"path": "b.png", "label": "01"}]


def test_json_records_under_a_data_key():
    data = json_bytes({"data": [{"label": "a"}, {"label": "b"}]})
    ds = read_table(data)
    assert ds.raw.column_names == ["label"]
    assert labels(ds) == ["a", "b"]


def test_json_columns_of_different_lengths():
    raises("ragged_rows", json_bytes({"label": ["a", "b"], "path": ["x"]}))


def test_json_duplicate_keys():
    error = raises("duplicate_columns", b'[{"label": "a", "label": "b"}]')
    assert "'label'" in str(error)


def test_json_deep_nesting_is_a_clear_error():
    data = b"[" * 100_000 + b"]" * 100_000
    raises("nested_json", data)


def test_json_deep_nesting_inside_a_record_is_a_clear_error():
    depth = 5000
    data = b'[{"label": "a", "x": ' + b"[" * depth + b"]" * depth + b"}]"
    raises("nested_json", data)


@pytest.mark.parametrize("depth", [500, 900, 990])
def test_json_moderate_nesting_never_escapes_as_recursion_error(depth):
    data = b'[{"label": "a", "x": ' + b"[" * depth + b"]" * depth + b"}]"
    try:
        ds = read_table(data)
    except DatasetError as error:
        assert error.kind == "nested_json"
    else:
        assert ds.raw.column("x").to_pylist()[0] == "[" * depth + "]" * depth


def test_json_values_keep_their_written_text():
    data = (
        b'[{"label": 1.50, "a": "01", "b": 1e5, "c": true, "d": false, "e": null,'
        b' "f": "", "g": -0, "h": 12345678901234567890123}]'
    )
    ds = read_table(data, label_col="label")
    assert rows(ds) == [
        {
            "label": "1.50",
            "a": "01",
            "b": "1e5",
            "c": "true",
            "d": "false",
            "e": None,
            "f": None,
            "g": "-0",
            "h": "12345678901234567890123",
        }
    ]


def test_json_nested_values_become_json_text_with_numbers_as_written():
    data = b'[{"label": "a", "meta": {"w": 1.50, "ok": true, "l": [1, "x", null]}}]'
    ds = read_table(data)
    assert ds.raw.column("meta").to_pylist() == ['{"w":1.50,"ok":true,"l":[1,"x",null]}']


def test_json_utf16_with_bom():
    data = b"\xff\xfe" + json.dumps([{"label": "Café"}], ensure_ascii=False).encode("utf-16-le")
    assert labels(read_table(data)) == ["Café"]


def test_json_in_cp1252_falls_back_and_says_so():
    data = '[{"label": "Café"}, {"label": "thé"}]'.encode("cp1252")
    ds = read_table(data)
    assert labels(ds) == ["Café", "thé"]
    assert len(fallback_findings(ds)) == 1


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (b'  "just a string"', "bad_json_shape"),
        (b"42", "bad_json_shape"),
        (b'["cat", "dog"]', "bad_json_shape"),
        (b"[]", "header_only"),
        (b'[{"label": "a"},\n{"label": }]', "parse_error"),
    ],
)
def test_json_shapes_that_are_not_tables(data, kind):
    raises(kind, data, name="x.json", format="json")


def test_json_syntax_error_names_the_line():
    data = b'{"label": "a"}\n{"label": "b"}\n{"label": oops}\n'
    error = raises("parse_error", data, name="x.jsonl")
    assert "line 3" in str(error)


# --------------------------------------------------------------------------- Parquet


def _typed_parquet() -> bytes:
    table = pa.table(
        {
            "label": pa.array(["cat", "dog", "cat"]).dictionary_encode(),
            "n": pa.array([1, 2, None], pa.int64()),
            "score": pa.array([0.5, 1.0, 2.25]),
            "flag": pa.array([True, False, None]),
            "tags": pa.array([["a"], [], None], pa.list_(pa.string())),
            "y": pa.array([0, 1, 1], pa.int8()),
        }
    )
    return parquet_bytes(table)


def test_parquet_typed_columns():
    ds = read_table(_typed_parquet(), label_col="label")
    assert labels(ds) == ["cat", "dog", "cat"]
    assert ds.raw.schema.field("label").type == pa.string()  # dictionary decoded
    assert ds.raw.column("n").to_pylist() == [1, 2, None]
    assert ds.raw.column("tags").to_pylist() == [["a"], [], None]


@pytest.mark.parametrize(
    ("column", "expected"),
    [
        ("n", ["1", "2", None]),
        ("score", ["0.5", "1", "2.25"]),
        ("flag", ["true", "false", None]),
        ("y", ["0", "1", "1"]),
    ],
)
def test_parquet_non_string_label_reads_as_text(column, expected):
    ds = read_table(_typed_parquet(), label_col=column)
    assert labels(ds) == expected
    assert ds.table["label"].tolist()[:2] == expected[:2]


def test_parquet_list_column_as_label_is_a_nested_column_error():
    error = raises("nested_column", _typed_parquet(), label_col="tags")
    assert "'tags'" in str(error)


def test_parquet_list_column_as_group_is_a_nested_column_error():
    raises("nested_column", _typed_parquet(), label_col="label", group_col="tags")


def test_parquet_nested_column_named_label_is_refused_not_replaced():
    table = pa.table(
        {
            "label": pa.array([["a"], ["b"], ["a"]], pa.list_(pa.string())),
            "kind": ["x", "y", "x"],
        }
    )
    error = raises("nested_column", parquet_bytes(table))
    assert "'label'" in str(error)
    assert labels(read_table(parquet_bytes(table), label_col="kind")) == ["x", "y", "x"]


def test_parquet_list_column_not_in_a_role_is_kept():
    ds = read_table(_typed_parquet())
    assert ds.roles.label == "label"
    assert "tags" in ds.table.columns
    assert list(ds.table["tags"][0]) == ["a"]


def test_parquet_duplicate_column_names():
    table = pa.Table.from_arrays([pa.array(["a"]), pa.array(["b"])], names=["label", "label"])
    error = raises("duplicate_columns", parquet_bytes(table))
    assert "'label'" in str(error)


def test_parquet_binary_label_column():
    utf8 = pa.array([text.encode() for text in ("cat", "chat noir", "猫")], pa.binary())
    ds = read_table(parquet_bytes(pa.table({"label": utf8})))
    assert labels(ds) == ["cat", "chat noir", "猫"]
    not_text = pa.array([b"\xff\xd8", b"\x00\x81"], pa.binary())
    error = raises("bad_column_type", parquet_bytes(pa.table({"label": not_text})))
    assert "'label'" in str(error)


def test_parquet_without_rows():
    table = pa.table({"label": pa.array([], pa.string())})
    raises("header_only", parquet_bytes(table))


def test_parquet_label_guessed_by_name_over_numbers():
    ds = read_table(parquet_bytes({"image": ["a", "b", "c"], "y": [0, 1, 0]}))
    assert ds.roles.label == "y"
    assert ds.roles.path == "image"
    assert labels(ds) == ["0", "1", "0"]


def test_truncated_parquet_is_a_parse_error():
    data = parquet_bytes({"label": ["a", "b"]})
    raises("parse_error", data[: len(data) // 2])


# --------------------------------------------------------------------------- Excel


def test_xlsx_values_become_text():
    sheet = [
        ["label", "n", "x", "flag", "when", "code", "at"],
        ["cat", 1, 1.5, True, dt.datetime(2024, 1, 2, 3, 4, 5), "01", dt.time(13, 30)],
        ["dog", 2.0, 0.1, False, dt.date(2024, 3, 1), "NA", "#N/A"],
    ]
    ds = read_table(xlsx_bytes({"Labels": sheet}))
    assert ds.source.format == "xlsx"
    assert ds.source.sheet == "Labels"
    assert rows(ds) == [
        {
            "label": "cat",
            "n": "1",
            "x": "1.5",
            "flag": "TRUE",
            "when": "2024-01-02T03:04:05",
            "code": "01",
            "at": "13:30:00",
        },
        {
            "label": "dog",
            "n": "2",
            "x": "0.1",
            "flag": "FALSE",
            "when": "2024-03-01T00:00:00",
            "code": "NA",
            "at": "#N/A",
        },
    ]


def test_xlsx_formula_without_cached_value_in_a_role_column_is_an_error():
    # openpyxl stores formulas without their results; only a spreadsheet program computes them.
    data = xlsx_bytes({"S": [["label", "path"], ['=IF(1>0,"cat","dog")', "a.png"], ["dog", "b"]]})
    error = raises("uncached_formula", data, name="f.xlsx")
    assert "A2" in str(error) and "'label'" in str(error)


def test_xlsx_uncached_formula_names_the_right_cell_below_blank_rows():
    sheet = [[None], [None], ["path", "label", "site"], ["a", "x", "s1"], [None], ["b", "y", "=A4"]]
    data = xlsx_bytes({"Data": sheet})
    assert rows(read_table(data))[-1] == {"path": "b", "label": "y", "site": None}
    error = raises("uncached_formula", data, group_col="site")
    assert "C6" in str(error) and "'Data'" in str(error) and "group" in str(error)


def test_xlsx_formula_without_cached_value_elsewhere_reads_as_missing():
    data = xlsx_bytes({"S": [["label", "total"], ["cat", "=1+1"], ["dog", 3]]})
    ds = read_table(data)
    assert rows(ds) == [{"label": "cat", "total": None}, {"label": "dog", "total": "3"}]


def test_xlsx_multiple_sheets():
    data = xlsx_bytes(
        {
            "first": [["label"], ["a"], ["b"]],
            "second": [["class", "path"], ["x", "1.png"]],
            "third": [],
        }
    )
    ds = read_table(data)
    assert ds.source.sheet == "first"
    assert ds.source.other_sheets == ("second", "third")
    assert labels(ds) == ["a", "b"]
    ds = read_table(data, sheet="second")
    assert ds.source.sheet == "second"
    assert ds.roles.label == "class" and ds.roles.path == "path"
    assert labels(ds) == ["x"]
    error = raises("unknown_sheet", data, sheet="fourth")
    assert "'first', 'second', 'third'" in str(error)
    raises("empty_file", data, sheet="third")


def test_xlsx_header_only_and_duplicate_headers():
    raises("header_only", xlsx_bytes({"S": [["label", "path"]]}))
    error = raises("duplicate_columns", xlsx_bytes({"S": [["label", "label"], ["a", "b"]]}))
    assert "'label'" in str(error)


def test_xlsx_blank_rows_and_columns():
    sheet = [
        [None, None],
        ["label", "path", None],
        ["a", "1.png"],
        [None, None, None],
        ["b", None],
    ]
    ds = read_table(xlsx_bytes({"S": sheet}))
    assert ds.raw.column_names == ["label", "path"]
    assert rows(ds) == [{"label": "a", "path": "1.png"}, {"label": "b", "path": None}]


def test_xlsx_values_beyond_the_header_get_a_column():
    data = xlsx_bytes({"S": [["label", "path"], ["a", "1.png", "extra"], ["b", "2.png"]]})
    ds = read_table(data)
    assert ds.raw.column_names == ["label", "path", "column_3"]
    assert ds.raw.column("column_3").to_pylist() == ["extra", None]


def test_xlsx_column_limit_applies():
    data = xlsx_bytes({"S": [["label", "a", "b"], ["x", "y", "z"]]})
    raises("limit_hit", data, limits=Limits(max_table_columns=2))


# --------------------------------------------------------------------------- roles


def test_roles_guessed_by_name_and_reported():
    data = (
        b"Image Path,Class Name,Subset,Patient-ID,extra\n"
        b"a.png,cat,train,p1,1\nb.png,dog,test,p2,2\n"
    )
    ds = read_table(data)
    assert ds.roles.as_dict() == {
        "label": "Class Name",
        "path": "Image Path",
        "split": "Subset",
        "group": "Patient-ID",
    }
    assert set(ds.roles.guessed) == {"label", "path", "split", "group"}
    assert "'Class Name'" in ds.roles.reasons["label"]


def test_label_guessed_by_cardinality():
    body = "".join(f"img{i}.jpg,{i},{'yes' if i % 3 else 'no'}\n" for i in range(30))
    ds = read_table(("file_name,idx,verdict\n" + body).encode())
    assert ds.roles.label == "verdict"
    assert ds.roles.path == "file_name"
    assert "label" in ds.roles.guessed
    assert "few distinct values" in ds.roles.reasons["label"]


def test_explicit_roles_win_over_names():
    data = b"label,kind,file,grp\nx,cat,a.png,g1\ny,dog,b.png,g2\n"
    ds = read_table(data, label_col="kind", path_col="file", group_col="grp")
    assert ds.roles.as_dict() == {"label": "kind", "path": "file", "split": None, "group": "grp"}
    assert ds.roles.guessed == ()
    assert ds.roles.reasons["label"] == "chosen explicitly"


def test_explicit_unknown_column():
    error = raises("unknown_column", b"label,path\na,b\n", label_col="Label")
    assert "'Label'" in str(error) and "'label', 'path'" in str(error)


def test_one_column_for_two_roles():
    raises("role_conflict", b"label,path\na,b\n", label_col="label", path_col="label")


def test_table_renames_role_columns_and_keeps_the_rest():
    data = b"label,kind,file,fold,patient,w\nold,cat,a.png,0,p1,1.5\nold,dog,b.png,1,p2,2\n"
    ds = read_table(data, label_col="kind", path_col="file", split_col="fold")
    frame = ds.table
    assert list(frame.columns) == ["label_original", "label", "path", "split", "group", "w"]
    assert frame["label"].tolist() == ["cat", "dog"]
    assert frame["label_original"].tolist() == ["old", "old"]
    assert frame["group"].tolist() == ["p1", "p2"]
    assert frame["w"].tolist() == ["1.5", "2"]
    assert ds.raw.column_names == ["label", "kind", "file", "fold", "patient", "w"]


# --------------------------------------------------------------------------- input kinds


@pytest.mark.parametrize(
    ("suffix", "data"),
    [
        ("csv", "path,label\na.png,Café\nb.png,01\n".encode()),
        ("csv", "path,label\na.png,Café\n".encode("cp1252")),
        ("csv", csv_bytes(["path", "label"], [["a", "b"]], encoding="utf-16-le-bom")),
        ("json", json_bytes([{"path": "a.png", "label": 1.50}])),
        ("jsonl", jsonl_bytes([{"label": "a"}, {"label": "b"}])),
        ("parquet", _typed_parquet()),
        ("xlsx", xlsx_bytes({"S": [["label", "n"], ["a", 1]]})),
    ],
)
def test_bytes_path_and_file_object_read_the_same(tmp_path, suffix, data):
    path = tmp_path / f"labels.{suffix}"
    path.write_bytes(data)
    from_bytes = read_table(data, name=path.name)
    from_path = read_table(path)
    from_str_path = read_table(str(path))
    with path.open("rb") as handle:
        from_file = read_table(handle)
    from_buffer = read_table(io.BytesIO(data), name=path.name)
    from_views = [read_table(kind(data), name=path.name) for kind in (bytearray, memoryview)]
    for ds in (from_path, from_str_path, from_file, from_buffer, *from_views):
        assert ds.raw.equals(from_bytes.raw)
        assert ds.roles == from_bytes.roles
        assert ds.source.name == path.name
        assert ds.source.format == from_bytes.source.format
        assert ds.source.encoding == from_bytes.source.encoding
        assert ds.source.sha256 == from_bytes.source.sha256
        assert [f.kind for f in ds.findings] == [f.kind for f in from_bytes.findings]


class _BytearrayReader(io.RawIOBase):
    """A readable binary stream whose read() gives a bytearray, as some readers do."""

    def __init__(self, data: bytes) -> None:
        self._data = data

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytearray:
        data, self._data = self._data, b""
        return bytearray(data)


@pytest.mark.parametrize("data", [b"label,path\na,1.png\n", _typed_parquet()])
def test_file_object_returning_a_bytearray(data):
    assert read_table(_BytearrayReader(data)).raw.equals(read_table(data).raw)


def test_text_mode_file_is_a_usage_error(tmp_path):
    path = tmp_path / "labels.csv"
    path.write_text("label\na\n")
    with path.open() as handle:
        raises("usage", handle)


def test_read_dataset_routes_tables_and_zips():
    assert read_dataset(b"label\na\nb\n").source.format == "csv"
    workbook = xlsx_bytes({"S": [["label"], ["a"]]})
    assert read_dataset(workbook, name="book.xlsx").source.format == "xlsx"


# --------------------------------------------------------------------------- round trip

cell_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
    max_size=12,
)
DELIMITER_CHARS = ",;\t|"


@st.composite
def delimited_tables(draw):
    delimiter = draw(st.sampled_from(DELIMITER_CHARS))
    quoting = draw(st.sampled_from([csv.QUOTE_ALL, csv.QUOTE_MINIMAL]))
    n_extra = draw(st.integers(min_value=1, max_value=3))
    n_rows = draw(st.integers(min_value=1, max_value=8))
    header = ["id"] + [f"c{i}" for i in range(n_extra)]
    body = [
        [str(r), *draw(st.lists(cell_text, min_size=n_extra, max_size=n_extra))]
        for r in range(n_rows)
    ]
    return delimiter, quoting, header, body


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(delimited_tables(), st.sampled_from(["\n", "\r\n"]))
def test_random_unicode_tables_round_trip(table, lineterminator):
    delimiter, quoting, header, body = table
    if quoting == csv.QUOTE_MINIMAL:
        # Python's csv.writer quotes a field only for the characters of *its* line
        # terminator: with "\n" it writes a lone "\r" bare, which every CSV reader
        # (Python's csv included) takes as a line break. Such a file is ragged.
        lineterminator = "\r\n"
    text = csv_text(
        header, body, delimiter=delimiter, quoting=quoting, lineterminator=lineterminator
    )
    ds = read_table(text.encode(), label_col="id")
    assert ds.source.delimiter == delimiter
    assert ds.raw.column_names == header
    # An empty cell is missing; everything else comes back exactly as written.
    expected = [
        {h: (v if v != "" else None) for h, v in zip(header, row, strict=True)} for row in body
    ]
    assert rows(ds) == expected


header_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
    min_size=1,
    max_size=8,
).filter(lambda s: s.strip() != "")


@st.composite
def fully_quoted_tables(draw):
    header = draw(st.lists(header_text, min_size=1, max_size=3, unique=True))
    n_rows = draw(st.integers(min_value=1, max_value=6))
    body = [
        [
            draw(cell_text.filter(lambda s: s != "")),
            *draw(st.lists(cell_text, min_size=len(header) - 1, max_size=len(header) - 1)),
        ]
        for _ in range(n_rows)
    ]
    return draw(st.sampled_from(DELIMITER_CHARS)), header, body


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(fully_quoted_tables())
def test_random_headers_and_cells_round_trip_when_fully_quoted(table):
    # Random column names too, quoted newlines and delimiters included.
    delimiter, header, body = table
    text = csv_text(header, body, delimiter=delimiter, quoting=csv.QUOTE_ALL)
    ds = read_table(text.encode(), label_col=header[0])
    assert ds.raw.column_names == header
    expected = [
        {h: (v if v != "" else None) for h, v in zip(header, row, strict=True)} for row in body
    ]
    assert rows(ds) == expected


@settings(max_examples=50, deadline=None)
@given(st.lists(cell_text.filter(lambda s: s != ""), min_size=1, max_size=10))
def test_random_labels_round_trip_through_json_lines(values):
    data = jsonl_bytes([{"label": v} for v in values])
    assert labels(read_table(data, name="x.jsonl", label_col="label")) == values


def test_printable_ascii_labels_round_trip_in_one_column():
    values = [c for c in string.printable if c not in "\r\n\x0b\x0c"] + ['""', "a,b", " "]
    data = csv_bytes(["label"], [[v] for v in values], quoting=csv.QUOTE_ALL)
    assert labels(read_table(data)) == values


@pytest.mark.parametrize(
    "text",
    ['"0"\n"\n"\n', '"label","note"\n"a","x\ny\n"\n', 'label,note\r\na,"two\r\nlines\r\n"\r\n'],
    ids=["cell-is-a-newline", "cell-ends-in-a-newline", "crlf"],
)
def test_a_closed_last_cell_ending_in_a_line_break_is_not_an_unclosed_quote(text):
    # Found by hypothesis in CI: the last cell's text equalled the file's last bytes.
    ds = read_table(text.encode(), label_col=csv_header(text)[0])
    assert ds.raw.num_rows == 1
    assert "\n" in rows(ds)[0][ds.raw.column_names[-1]]


@pytest.mark.parametrize(
    "text",
    ['label\na\n"b\nc\n', 'label,note\na,"x\ny\n', 'label,note\na,"x\ny\n""\n'],
    ids=["open-at-end", "open-in-last-cell", "doubled-quote-inside"],
)
def test_a_quote_left_open_is_still_refused_with_its_line(text):
    with pytest.raises(DatasetError, match=r"the quote opened on line (2|3) is never closed"):
        read_table(text.encode(), label_col="label")


def csv_header(text: str) -> list[str]:
    return next(csv.reader(io.StringIO(text, newline="")))
