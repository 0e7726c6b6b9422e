"""Hostile archives and fuzzed bytes through the detection and multi-label readers:
either a Dataset or one DatasetError sentence, never another exception; unsafe zip
entries are reported and never read."""

from __future__ import annotations

import io
import json
import os
import zipfile

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from balance_core import read_table
from balance_core.dataset import FindingKind
from balance_core.errors import DatasetError
from balance_core.limits import Limits
from balance_core.readers.detection import read_detection
from balance_core.readers.multilabel import read_multilabel_table
from balance_core.readers.yolo import parse_lines

EXAMPLES = int(os.environ.get("SEESAW_FUZZ_EXAMPLES", "120"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _zip(files: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return out.getvalue()


def _one_sentence(error: DatasetError) -> None:
    assert error.message and "\n" not in error.message and "Traceback" not in error.message


def test_unsafe_entries_are_reported_and_never_read():
    archive = _zip(
        {
            "data.yaml": b"names: [cat]\n",
            "images/a.jpg": b"x",
            "labels/a.txt": b"0 0.5 0.5 0.1 0.1\n",
            "../labels/evil.txt": b"0 0.5 0.5 0.1 0.1\n",
            "/abs/labels/b.txt": b"0 0.5 0.5 0.1 0.1\n",
            "__MACOSX/labels/._a.txt": b"junk",
        }
    )
    dataset = read_detection(archive, probe="none")
    assert dataset.annotations.n_annotations == 1
    kinds = [f.kind for f in dataset.findings]
    assert kinds.count(FindingKind.UNSAFE_ENTRY) == 2
    assert FindingKind.SKIPPED_JUNK in kinds


def test_an_oversized_label_file_hits_the_limit_with_one_sentence():
    archive = _zip({"images/a.jpg": b"x", "labels/a.txt": b"0 0.5 0.5 0.1 0.1\n" * 1000})
    try:
        read_detection(archive, probe="none", limits=Limits(max_entry_uncompressed=1000))
    except DatasetError as error:
        assert error.kind == "limit_hit" and "max_entry_uncompressed" in error.message
    else:
        raise AssertionError("the limit was not applied")


def test_overlapping_entries_zip_bomb_is_refused():
    data = bytearray(_zip({"labels/a.txt": b"0 0.5 0.5 0.1 0.1\n", "labels/b.txt": b"1 1 1 1 1"}))
    # Point the second central-directory record at the first entry's bytes.
    first = data.find(b"PK\x01\x02")
    second = data.find(b"PK\x01\x02", first + 4)
    data[second + 42 : second + 46] = data[first + 42 : first + 46]
    try:
        read_detection(bytes(data))
    except DatasetError as error:
        _one_sentence(error)
    else:
        raise AssertionError("an overlapping zip was read")


@FUZZ
@given(st.binary(max_size=400))
def test_fuzzed_coco_bytes(data):
    try:
        read_detection(b'{"images": [' + data, name="fuzz.json")
    except DatasetError as error:
        _one_sentence(error)


_value = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-5, 5)
    | st.floats(allow_nan=False)
    | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=8), inner, max_size=5)
    ),
    max_leaves=20,
)


@FUZZ
@given(
    st.lists(
        st.dictionaries(
            st.sampled_from(["id", "image_id", "category_id", "bbox", "area", "iscrowd"]), _value
        ),
        max_size=6,
    ),
    st.lists(
        st.dictionaries(st.sampled_from(["id", "file_name", "width", "height"]), _value), max_size=4
    ),
)
def test_fuzzed_coco_structures(annotations, images):
    document = {
        "images": images,
        "annotations": annotations,
        "categories": [{"id": 1, "name": "a"}],
    }
    try:
        read_detection(json.dumps(document).encode(), name="fuzz.json")
    except DatasetError as error:
        _one_sentence(error)


@FUZZ
@given(st.lists(st.binary(max_size=80), min_size=1, max_size=5))
def test_fuzzed_yolo_lines(texts):
    try:
        result = parse_lines(texts, [f"labels/{k}.txt" for k in range(len(texts))])
    except DatasetError as error:
        _one_sentence(error)
        return
    assert len(result.class_id) == len(result.cx) == len(result.file)


@FUZZ
@given(st.binary(max_size=300))
def test_fuzzed_xml_and_yaml_in_zips(data):
    for files in (
        {"Annotations/a.xml": b"<annotation>" + data, "JPEGImages/a.jpg": b"x"},
        {"data.yaml": data, "images/a.jpg": b"x", "labels/a.txt": b"0 0.5 0.5 0.1 0.1"},
    ):
        try:
            read_detection(_zip(files), probe="none")
        except DatasetError as error:
            _one_sentence(error)


@FUZZ
@given(st.lists(st.text(alphabet="ab|;, 1-0", max_size=8), min_size=1, max_size=8))
def test_fuzzed_multilabel_cells(cells):
    body = "\n".join(f'{k},"{c}"' for k, c in enumerate(cells)).encode()
    try:
        table = read_table(b"id,labels\n" + body + b"\n", label_col="labels")
        read_multilabel_table(table, sep="|")
    except DatasetError as error:
        _one_sentence(error)
