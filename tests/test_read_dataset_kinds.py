"""read_dataset sends detection and multi-label data to their readers, from content,
and leaves every single-label table and zip exactly as read_table / read_zip read it."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
from app_session import start, upload
from pycocotools.coco import COCO
from sklearn.preprocessing import MultiLabelBinarizer

import balance_core as bc
from balance_core.detection import summarize_detection
from balance_core.detection_examples import (
    CHEST_FINDINGS,
    ROAD_CLASSES,
    chest_xray_table,
    road_objects,
)
from balance_core.readers.detection import read_detection
from balance_core.readers.multilabel import read_multilabel_table
from ui import state


def _coco_file(zip_bytes: bytes) -> bytes:
    with zipfile.ZipFile(io.BytesIO(zip_bytes)) as archive:
        name = next(n for n in archive.namelist() if n.endswith(".json"))
        return archive.read(name)


def _same_dataset(a: bc.Dataset, b: bc.Dataset) -> None:
    assert a.kind == b.kind
    assert a.raw.equals(b.raw)
    assert a.roles == b.roles
    assert a.source.format == b.source.format
    assert [f.message for f in a.findings] == [f.message for f in b.findings]
    if a.annotations is not None:
        assert a.annotations.table.equals(b.annotations.table)
        assert a.annotations.classes == b.annotations.classes


# --------------------------------------------------------------------------- detection


@pytest.mark.parametrize("fmt", ["coco", "yolo", "voc"])
def test_a_detection_zip_is_read_as_detection(fmt):
    data = road_objects(format=fmt)
    dataset = bc.read_dataset(data, name=f"road_{fmt}.zip")
    assert dataset.kind == "detection"
    assert dataset.source.format == fmt
    assert dataset.classes == ROAD_CLASSES
    _same_dataset(dataset, read_detection(data, name=f"road_{fmt}.zip"))


def test_a_coco_json_file_is_read_as_detection_with_pycocotools_counts(tmp_path):
    raw = _coco_file(road_objects(format="coco"))
    path = tmp_path / "instances.json"
    path.write_bytes(raw)
    dataset = bc.read_dataset(path)
    assert dataset.kind == "detection"
    summary = summarize_detection(dataset)
    coco = COCO(str(path))
    for category in coco.loadCats(coco.getCatIds()):
        name = category["name"]
        assert summary.boxes[name] == len(coco.getAnnIds(catIds=[category["id"]]))
        assert summary.images[name] == len(coco.getImgIds(catIds=[category["id"]]))
    assert dataset.n_rows == len(coco.getImgIds())


def test_a_folder_is_read_as_detection(tmp_path):
    data = road_objects(format="yolo")
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for info in archive.infolist():
            if not info.is_dir():
                target = tmp_path / "road" / info.filename
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(archive.read(info))
    folder = bc.read_dataset(tmp_path / "road")
    zipped = bc.read_dataset(data)
    assert folder.kind == "detection"
    assert summarize_detection(folder).boxes == summarize_detection(zipped).boxes
    assert summarize_detection(folder).images == summarize_detection(zipped).images


def test_format_forces_the_reader():
    data = road_objects(format="yolo")
    # As before phase 2: a zip of folders, "images" taken for a class.
    as_zip = bc.read_dataset(data, format="zip")
    _same_dataset(as_zip, bc.read_zip(data))
    assert as_zip.kind == "single"
    raw = _coco_file(road_objects(format="coco"))
    as_table = bc.read_dataset(raw, name="instances.json", format="table")
    _same_dataset(as_table, bc.read_table(raw, name="instances.json"))
    assert bc.read_dataset(raw, format="coco").kind == "detection"
    with pytest.raises(bc.DatasetError, match="cannot be read as coco"):
        bc.read_dataset(road_objects(format="voc"), format="coco")


def test_a_class_folder_zip_with_a_data_yaml_stays_a_class_folder_zip():
    buffer = io.BytesIO()
    png = road_objects(format="yolo")
    with zipfile.ZipFile(io.BytesIO(png)) as source:
        image = source.read(next(n for n in source.namelist() if n.endswith(".png")))
    with zipfile.ZipFile(buffer, "w") as archive:
        for label in ("cat", "dog"):
            for i in range(3):
                archive.writestr(f"{label}/{i}.png", image)
        archive.writestr("data.yaml", "names: [cat, dog]\n")
    data = buffer.getvalue()
    dataset = bc.read_dataset(data, name="pets.zip")
    assert dataset.kind == "single"
    _same_dataset(dataset, bc.read_zip(data, name="pets.zip"))


def test_a_zip_with_a_metadata_file_stays_a_metadata_zip():
    data = road_objects(format="yolo")
    buffer = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(buffer, "w") as archive:
        images = [n for n in source.namelist() if n.endswith(".png")]
        for info in source.infolist():
            archive.writestr(info, source.read(info))
        rows = ["file_name,label"] + [f"{n},{'a' if i % 2 else 'b'}" for i, n in enumerate(images)]
        archive.writestr("metadata.csv", "\n".join(rows) + "\n")
    dataset = bc.read_dataset(buffer.getvalue(), name="listed.zip")
    assert dataset.kind == "single"
    assert dataset.classes == ("a", "b")


def test_detection_refuses_column_options_in_one_sentence():
    with pytest.raises(bc.DatasetError, match="no label column to choose") as error:
        bc.read_dataset(road_objects(format="coco"), label_col="label")
    assert error.value.kind == "usage"
    with pytest.raises(bc.DatasetError, match="are for tables"):
        bc.read_dataset(road_objects(format="coco"), format="coco", labels_sep="|")


# --------------------------------------------------------------------------- multi-label


def test_nih_table_is_multilabel_with_multilabelbinarizer_counts():
    data = chest_xray_table(style="nih")
    dataset = bc.read_dataset(data, name="nih.csv")
    assert dataset.kind == "multilabel"
    _same_dataset(dataset, read_multilabel_table(bc.read_table(data, name="nih.csv"), sep="|"))
    cells = bc.read_table(data).raw.column("Finding Labels").to_pylist()
    sets = [[t for t in c.split("|") if t != "No Finding"] for c in cells]
    binarizer = MultiLabelBinarizer()
    matrix = binarizer.fit_transform(sets)
    table = dataset.label_table()
    counts = np.bincount(table.column("class_index").to_numpy(), minlength=len(dataset.classes))
    assert dataset.classes == tuple(binarizer.classes_)
    assert counts.tolist() == matrix.sum(axis=0).tolist()


def test_chexpert_table_is_read_from_its_indicator_columns():
    data = chest_xray_table(style="chexpert")
    dataset = bc.read_dataset(data, name="chexpert.csv", uncertain="zeros")
    assert dataset.kind == "multilabel"
    assert dataset.classes == CHEST_FINDINGS
    assert dataset.annotations.uncertain == "zeros"
    expected = read_multilabel_table(
        bc.read_table(data, name="chexpert.csv"), label_cols=CHEST_FINDINGS, uncertain="zeros"
    )
    _same_dataset(dataset, expected)


@pytest.mark.parametrize("style", ["nih", "chexpert"])
def test_multilabel_off_reads_the_table_as_before(style):
    data = chest_xray_table(style=style)
    _same_dataset(bc.read_dataset(data, multilabel="off"), bc.read_table(data))


def _table(header: str, rows: list[str]) -> bytes:
    return ("\n".join([header, *rows]) + "\n").encode()


# Authorship attribution: 3 surnames x 4 initials = 12 authors, 7 distinct tokens,
# so the separator sniffer alone would take the comma for a label separator.
AUTHORS = _table(
    "title,author,year",
    [
        f'"Paper {i}","{("Smith", "Jones", "Garcia")[i % 3]}, {"JKAM"[(i // 3) % 4]}",'
        f"{2000 + i % 20}"
        for i in range(120)
    ],
)
TEAMS = _table(
    "ticket,text,label",
    [
        f'{i},issue {i},"{team}, {region}"'
        for i, (team, region) in enumerate(
            (t, r)
            for t in ("Sales", "Support", "Billing")
            for r in ("EMEA", "APAC", "AMER")
            for _ in range(4)
        )
    ],
)
HEART = _table(
    "age,sex,cp,trestbps,chol,fbs,restecg,thalach,exang,oldpeak,target",
    [
        f"{40 + i % 30},{i % 2},{i % 4},{120 + i % 40},{200 + i % 90},{(i // 3) % 2},"
        f"{i % 3},{150 + i % 30},{(i // 5) % 2},{(i % 7) / 2},{(i // 2) % 2}"
        for i in range(120)
    ],
)
SURVEY = _table(
    "respondent,q1,q2,q3,q4,q5,outcome",
    [
        f"r{i},{'yes' if i % 2 else 'no'},{'yes' if i % 3 else 'no'},{'no' if i % 5 else 'yes'},"
        f"{'yes' if i % 7 else 'no'},{'no' if i % 4 else 'yes'},{'churn' if i % 6 == 0 else 'stay'}"
        for i in range(90)
    ],
)


@pytest.mark.parametrize(
    "data", [AUTHORS, TEAMS, HEART, SURVEY], ids=["authors", "teams", "heart", "survey"]
)
def test_single_label_tables_do_not_flip_to_multilabel(data):
    """Commas inside labels ("Smith, J", "Sales, EMEA") and 1/0 or yes/no feature
    columns beside a label column are still one label per row, read as before."""
    dataset = bc.read_dataset(data, name="table.csv")
    assert dataset.kind == "single"
    _same_dataset(dataset, bc.read_table(data, name="table.csv"))


def test_authors_table_reads_the_comma_labels_as_written():
    dataset = bc.read_dataset(AUTHORS, label_col="author")
    assert dataset.kind == "single"
    assert "Smith, J" in dataset.classes
    # Asked for, the same column is split.
    split = bc.read_dataset(AUTHORS, label_col="author", labels_sep=",")
    assert split.kind == "multilabel"
    assert "Smith" in split.classes and "J" in split.classes


def test_multilabel_on_says_when_a_table_has_one_label_per_row():
    with pytest.raises(bc.DatasetError, match="one label per row") as error:
        bc.read_dataset(
            _table("path,label", [f"{i}.png,{'cat' if i % 3 else 'dog'}" for i in range(30)]),
            multilabel="on",
        )
    assert str(error.value).count(".") <= 3


@pytest.mark.parametrize(
    "options, words",
    [
        ({"multilabel": "maybe"}, "multilabel must be one of"),
        ({"format": "xml"}, "format must be one of"),
        ({"multilabel": "off", "labels_sep": "|"}, "turns off"),
        ({"labels_sep": "|", "label_cols": ["a"]}, "not both"),
        ({"label_cols": ["nope", "Edema", "Mass"]}, "nope"),
        ({"uncertain": "maybe", "label_cols": list(CHEST_FINDINGS)}, "uncertain must be"),
    ],
)
def test_bad_options_get_one_sentence(options, words):
    with pytest.raises(bc.DatasetError, match=words):
        bc.read_dataset(chest_xray_table(style="chexpert"), **options)


def test_zip_metadata_with_several_labels_per_file_is_multilabel():
    data = road_objects(format="yolo")
    buffer = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(buffer, "w") as archive:
        images = sorted(n for n in source.namelist() if n.endswith(".png"))
        for name in images:
            archive.writestr(name.replace("train/images/", "").replace("valid/images/", "v_"),
                             source.read(name))  # fmt: skip
        sets = ["cat|dog", "cat", "dog", "bird|cat", "bird"]
        rows = ["file_name,tags"] + [
            f"{n.replace('train/images/', '').replace('valid/images/', 'v_')},{sets[i % 5]}"
            for i, n in enumerate(images)
        ]
        archive.writestr("metadata.csv", "\n".join(rows) + "\n")
    dataset = bc.read_dataset(buffer.getvalue(), name="tags.zip", label_col="tags")
    assert dataset.kind == "multilabel"
    assert dataset.classes == ("bird", "cat", "dog")
    assert dataset.source.format == "zip"


# --------------------------------------------------------------------------- the app


def test_the_app_draws_a_detection_zip():
    at = start()
    upload(at, "road.zip", road_objects(format="yolo"))
    assert not at.exception and not at.error
    current = at.session_state[state.DATASET]
    assert current.dataset.kind == "detection"
    assert current.example is None


def test_the_app_reads_a_multilabel_table_as_multilabel():
    at = start()
    data = chest_xray_table(style="nih")
    upload(at, "nih.csv", data)
    assert not at.exception and not at.error
    current = at.session_state[state.DATASET]
    assert current.dataset.kind == "multilabel"
    assert current.dataset.kind != bc.read_table(data).kind


def test_recipe_json_of_one_label_per_row_keeps_its_keys():
    from balance_core.recipe import Recipe, Strategy

    payload = json.loads(Recipe(strategy=Strategy(method="undersample")).to_json())
    assert "sample_plan" not in payload["strategy"]


def test_paths_are_never_taken_for_folders_that_do_not_exist(tmp_path: Path):
    with pytest.raises(bc.DatasetError, match="no file"):
        bc.read_dataset(tmp_path / "missing")
