"""Detection readers: box and image counts per class equal pycocotools' and
supervision's on the same files; hostile input gets one clear sentence."""

from __future__ import annotations

import io
import json
import random
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pytest

from balance_core.dataset import FindingKind
from balance_core.detection import counts_in, detection_findings, summarize_detection
from balance_core.detection_examples import ROAD_CLASSES, road_objects
from balance_core.errors import DatasetError
from balance_core.readers.detection import read_detection, sniff_detection

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # supervision warns that OpenCV is not installed
    import supervision as sv
from pycocotools.coco import COCO


def _write(zip_bytes: bytes, root: Path) -> Path:
    """Write the example's files to a folder for the reference libraries (the
    readers under test never extract)."""
    with zipfile.ZipFile(io.BytesIO(zip_bytes)) as archive:
        for info in archive.infolist():
            target = root / info.filename
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(archive.read(info))
    return root


def _sv_counts(datasets) -> tuple[dict[int, int], dict[int, int]]:
    boxes: dict[int, int] = {}
    images: dict[int, int] = {}
    for dataset in datasets:
        for _, _, detections in dataset:
            ids = detections.class_id.tolist()
            for c in ids:
                boxes[c] = boxes.get(c, 0) + 1
            for c in set(ids):
                images[c] = images.get(c, 0) + 1
    return boxes, images


def _by_name(counts: dict[int, int], names) -> dict[str, int]:
    return {names[k]: n for k, n in counts.items()}


def _random_coco(seed: int, n_images: int = 300, n_boxes: int = 2500) -> dict:
    rng = random.Random(seed)
    category_ids = [1, 2, 5, 7, 11, 12, 40, 90]  # gaps, as in COCO itself
    images = [
        {"id": 1000 + 3 * k, "file_name": f"im{k}.jpg", "width": 640, "height": 480}
        for k in range(n_images)
    ]
    rng.shuffle(images)
    annotations = []
    for a in range(n_boxes):
        image = images[int(rng.random() ** 2 * n_images * 0.9)]  # skewed; some have no box
        w, h = rng.uniform(2, 200), rng.uniform(2, 150)
        annotations.append(
            {
                "id": a + 1,
                "image_id": image["id"],
                "category_id": category_ids[int(rng.random() ** 3 * len(category_ids))],
                "bbox": [rng.uniform(0, 400), rng.uniform(0, 300), w, h],
                "area": w * h,
                "iscrowd": int(rng.random() < 0.05),
                "segmentation": [[0, 0, 1, 1, 1, 0]],
            }
        )
    categories = [{"id": c, "name": f"class_{c}", "supercategory": "s"} for c in category_ids]
    return {"images": images, "annotations": annotations, "categories": categories}


@pytest.mark.parametrize("seed", [1, 2])
def test_coco_counts_equal_pycocotools(tmp_path, seed):
    document = _random_coco(seed)
    path = tmp_path / "instances.json"
    path.write_text(json.dumps(document))
    reference = COCO(str(path))
    dataset = read_detection(path)
    summary = summarize_detection(dataset)
    for category in reference.loadCats(reference.getCatIds()):
        name = category["name"]
        assert summary.boxes[name] == len(reference.getAnnIds(catIds=[category["id"]]))
        assert summary.images[name] == len(reference.getImgIds(catIds=[category["id"]]))
    assert dataset.n_rows == len(reference.getImgIds())
    # Classes are in category id order, as the file numbers them.
    assert dataset.annotations.class_ids == tuple(sorted(reference.getCatIds()))
    assert summary.background_images == sum(
        1 for i in reference.getImgIds() if not reference.getAnnIds(imgIds=[i])
    )


def test_coco_zip_with_images_equals_pycocotools_and_supervision(tmp_path):
    data = road_objects(format="coco")
    root = _write(data, tmp_path)
    dataset = read_detection(data, name="road.zip")
    assert sniff_detection(data) == "coco"
    for split in ("train", "valid"):
        summary = summarize_detection(dataset, split=split)
        reference = COCO(str(root / split / "_annotations.coco.json"))
        for category in reference.loadCats(reference.getCatIds()):
            assert summary.boxes[category["name"]] == len(
                reference.getAnnIds(catIds=[category["id"]])
            )
            assert summary.images[category["name"]] == len(
                reference.getImgIds(catIds=[category["id"]])
            )
        ref = sv.DetectionDataset.from_coco(
            images_directory_path=str(root / split),
            annotations_path=str(root / split / "_annotations.coco.json"),
        )
        boxes, images = _sv_counts([ref])
        assert {c: n for c, n in summary.boxes.items() if n} == _by_name(boxes, ref.classes)
        assert {c: n for c, n in summary.images.items() if n} == _by_name(images, ref.classes)


def test_yolo_zip_equals_supervision(tmp_path):
    data = road_objects(format="yolo")
    root = _write(data, tmp_path)
    dataset = read_detection(data, name="road.zip")
    assert sniff_detection(data) == "yolo"
    assert dataset.annotations.classes == ROAD_CLASSES
    references = [
        sv.DetectionDataset.from_yolo(
            images_directory_path=str(root / split / "images"),
            annotations_directory_path=str(root / split / "labels"),
            data_yaml_path=str(root / "data.yaml"),
        )
        for split in ("train", "valid")
    ]
    boxes, images = _sv_counts(references)
    summary = summarize_detection(dataset)
    assert {c: n for c, n in summary.boxes.items() if n} == _by_name(boxes, ROAD_CLASSES)
    assert {c: n for c, n in summary.images.items() if n} == _by_name(images, ROAD_CLASSES)
    # Pixel boxes from the probed image sizes equal supervision's (xyxy -> xywh).
    ours = dataset.annotations.table
    image_path, _, detections = next(iter(references[0]))
    relative = Path(image_path).relative_to(root).as_posix()
    row = dataset.column("path").to_pylist().index(relative)
    first = ours.filter(ours.column("sample").to_numpy() == row)
    xyxy = detections.xyxy
    assert np.allclose(
        sorted(first.column("w").to_pylist()), sorted(xyxy[:, 2] - xyxy[:, 0]), atol=0.01
    )


def test_voc_zip_equals_supervision(tmp_path):
    data = road_objects(format="voc")
    root = _write(data, tmp_path)
    dataset = read_detection(data, name="road.zip")
    assert sniff_detection(data) == "voc"
    reference = sv.DetectionDataset.from_pascal_voc(
        images_directory_path=str(root / "VOC" / "JPEGImages"),
        annotations_directory_path=str(root / "VOC" / "Annotations"),
    )
    boxes, images = _sv_counts([reference])
    summary = summarize_detection(dataset)
    assert {c: n for c, n in summary.boxes.items() if n} == _by_name(boxes, reference.classes)
    assert {c: n for c, n in summary.images.items() if n} == _by_name(images, reference.classes)
    assert set(dataset.column("split").to_pylist()) == {"train", "val"}


def test_the_three_formats_give_the_same_counts():
    summaries = [
        summarize_detection(read_detection(road_objects(format=f))) for f in ("yolo", "coco", "voc")
    ]
    for unit in ("boxes", "images"):
        assert summaries[0].counts(unit) == summaries[1].counts(unit) == summaries[2].counts(unit)
    assert summaries[0].background_images == summaries[1].background_images > 0
    dataset = read_detection(road_objects(format="yolo"))
    background = next(
        f for f in detection_findings(dataset) if f.kind == FindingKind.UNANNOTATED_IMAGE
    )
    assert background.count == summaries[0].background_images
    table = dataset.annotations.table.column("sample").to_pylist()
    assert not set(background.rows.tolist()) & set(table)


def test_folder_reads_like_its_zip(tmp_path):
    data = road_objects(format="yolo")
    root = _write(data, tmp_path / "road")
    from_folder = summarize_detection(read_detection(root))
    from_zip = summarize_detection(read_detection(data))
    assert from_folder.boxes == from_zip.boxes and from_folder.images == from_zip.images


def test_counts_in_units():
    dataset = read_detection(road_objects(format="coco"))
    summary = summarize_detection(dataset)
    assert counts_in(dataset, "boxes") == summary.boxes
    assert counts_in(dataset, "images") == counts_in(dataset, "samples") == summary.images
    assert sum(summary.area_share.values()) == pytest.approx(1.0)
    # Box area in pixels: the COCO areas given in the file.
    table = dataset.annotations.table
    assert sum(summary.area.values()) == pytest.approx(sum(table.column("area").to_pylist()))


# --------------------------------------------------------------------------- hostile


def _coco_bytes(**changes) -> bytes:
    document = _random_coco(3, n_images=5, n_boxes=10)
    for key, value in changes.items():
        document[key] = value(document) if callable(value) else value
    return json.dumps(document).encode()


def _first_annotation(change):
    def apply(document):
        annotations = document["annotations"]
        annotations[0] = change(dict(annotations[0]))
        return annotations

    return apply


@pytest.mark.parametrize(
    ("document", "words"),
    [
        (
            _coco_bytes(
                annotations=_first_annotation(lambda a: a | {"bbox": ["1", "2", "3", "4"]})
            ),
            "bbox as text",
        ),
        (
            _coco_bytes(annotations=_first_annotation(lambda a: a | {"bbox": "1,2,3,4"})),
            "bbox as text",
        ),
        (
            _coco_bytes(annotations=_first_annotation(lambda a: a | {"bbox": [1, 2, 3]})),
            "bbox of 3 values",
        ),
        (
            _coco_bytes(annotations=_first_annotation(lambda a: a | {"image_id": -4})),
            "whole numbers >= 0",
        ),
        (
            _coco_bytes(annotations=_first_annotation(lambda a: a | {"category_id": "cat"})),
            "category_id 'cat'",
        ),
        (
            _coco_bytes(annotations=_first_annotation(lambda a: a | {"image_id": 1.5})),
            "whole numbers",
        ),
        (
            _coco_bytes(images=lambda d: d["images"] + [dict(d["images"][0], file_name="x.jpg")]),
            "image id",
        ),
        (
            _coco_bytes(categories=lambda d: d["categories"] + [{"id": 1, "name": "other"}]),
            "category id 1",
        ),
        (b'{"images": [], "annotations": [', "not valid JSON"),
        (b"[1, 2, 3]", "not a JSON object"),
    ],
)
def test_hostile_coco_gets_one_sentence(document, words):
    with pytest.raises(DatasetError) as caught:
        read_detection(document, name="bad.json")
    message = caught.value.message
    assert words in message
    assert message.count("\n") == 0 and message.endswith(".")


def test_duplicate_annotation_ids_are_counted_and_reported():
    document = _random_coco(4, n_images=5, n_boxes=10)
    document["annotations"][1]["id"] = document["annotations"][0]["id"]
    dataset = read_detection(json.dumps(document).encode())
    assert dataset.annotations.n_annotations == 10
    assert any("used more than once" in f.message for f in dataset.findings)


def test_unknown_category_and_orphan_annotations_are_findings():
    document = _random_coco(5, n_images=5, n_boxes=10)
    document["annotations"][0]["category_id"] = 999
    document["annotations"][1]["image_id"] = 123456
    dataset = read_detection(json.dumps(document).encode())
    kinds = {f.kind: f for f in dataset.findings}
    assert "999" in kinds[FindingKind.UNKNOWN_CLASS_ID].message
    assert kinds[FindingKind.MISSING_IMAGE].count == 1
    # The unknown-class box stays in the table with no label, out of the counts.
    assert summarize_detection(dataset).unnamed_boxes == 1
    assert summarize_detection(dataset).n_boxes == 8


def _zip(files: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return out.getvalue()


def _yolo_zip(label: bytes, yaml: bytes = b"names: [cat, dog]\n") -> bytes:
    return _zip({"data.yaml": yaml, "images/a.jpg": b"not really", "labels/a.txt": label})


@pytest.mark.parametrize(
    ("line", "words"),
    [
        (b"0 0.5 0.5 0.2", "has 4 numbers"),
        (b"0 0.5 0.5 0.2 0.2 0.9", "has 6 numbers"),
        (b"cat 0.5 0.5 0.2 0.2", "starts with 'cat', not a class number"),
        (b"1 0.5 abc 0.2 0.2", "not a number"),
    ],
)
def test_bad_yolo_lines_are_reported_with_file_and_line(line, words):
    dataset = read_detection(_yolo_zip(b"0 0.5 0.5 0.1 0.1\n" + line + b"\n"), probe="none")
    bad = [f for f in dataset.findings if f.kind == FindingKind.BAD_ANNOTATION]
    assert len(bad) == 1 and words in bad[0].message and "labels/a.txt:2" in bad[0].message
    assert dataset.annotations.n_annotations == 1


def test_yolo_class_past_the_names_is_a_finding():
    dataset = read_detection(_yolo_zip(b"0 0.5 0.5 0.1 0.1\n7 0.5 0.5 0.1 0.1\n"), probe="none")
    finding = next(f for f in dataset.findings if f.kind == FindingKind.UNKNOWN_CLASS_ID)
    assert "7" in finding.message and "data.yaml" in finding.message


@pytest.mark.parametrize(
    ("yaml", "words"),
    [
        (b"names: [cat, dog\n", "not valid YAML"),
        (b"names: !!python/object/apply:os.system ['echo hi']\n", "safe_load only"),
        (b"!!python/object/new:os.system [echo]\n", "safe_load only"),
        (b"train: x\n", "no 'names:'"),
        (b"nc: 3\nnames: [a, b]\n", "nc: 3"),
    ],
)
def test_hostile_data_yaml_gets_one_sentence(yaml, words):
    with pytest.raises(DatasetError) as caught:
        read_detection(_yolo_zip(b"0 0.5 0.5 0.1 0.1\n", yaml), probe="none")
    assert words in caught.value.message


_BOMB = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>
<annotation><filename>a.jpg</filename><object><name>&lol2;</name>
<bndbox><xmin>1</xmin><ymin>1</ymin><xmax>5</xmax><ymax>5</ymax></bndbox></object></annotation>"""
_EXTERNAL = b"""<?xml version="1.0"?>
<!DOCTYPE a [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<annotation><filename>&xxe;</filename></annotation>"""


@pytest.mark.parametrize("xml", [_BOMB, _EXTERNAL])
def test_xml_with_entities_is_refused(xml):
    archive = _zip({"Annotations/a.xml": xml, "JPEGImages/a.jpg": b"x"})
    with pytest.raises(DatasetError) as caught:
        read_detection(archive, format="voc")
    assert caught.value.kind == "unsafe_xml" and "entities" in caught.value.message


def test_malformed_voc_file_is_a_finding_not_a_crash():
    good = (
        b"<annotation><filename>b.jpg</filename><object><name>cat</name><bndbox>"
        b"<xmin>1</xmin><ymin>1</ymin><xmax>9</xmax><ymax>9</ymax></bndbox></object></annotation>"
    )
    archive = _zip({"Annotations/a.xml": b"<annotation><unclosed>", "Annotations/b.xml": good})
    dataset = read_detection(archive, format="voc")
    assert dataset.annotations.n_annotations == 1
    assert any("not well-formed" in f.message for f in dataset.findings)


def test_not_a_detection_zip_says_so():
    with pytest.raises(DatasetError) as caught:
        read_detection(_zip({"cats/1.jpg": b"x"}))
    assert caught.value.kind == "not_detection"
    assert sniff_detection(_zip({"cats/1.jpg": b"x"})) is None


def test_degenerate_and_duplicate_boxes_are_found():
    document = _random_coco(6, n_images=5, n_boxes=10)
    document["annotations"][0]["bbox"] = [10, 10, 0, 5]
    document["annotations"][1]["bbox"] = [600, 10, 100, 5]  # past the 640-pixel edge
    document["annotations"].append(dict(document["annotations"][2], id=99))
    dataset = read_detection(json.dumps(document).encode())
    found = {(f.kind, f.count) for f in detection_findings(dataset)}
    assert (FindingKind.DUPLICATE_BOX, 1) in found
    assert (FindingKind.DEGENERATE_BOX, 1) in {
        (k, c) for k, c in found if k == FindingKind.DEGENERATE_BOX
    }
    messages = " ".join(f.message for f in detection_findings(dataset))
    assert "outside their image" in messages and "zero, negative" in messages


def test_rare_small_class_gets_a_finding():
    dataset = read_detection(road_objects(format="coco", n_images=200))
    small = [f for f in detection_findings(dataset) if f.kind == FindingKind.SMALL_OBJECTS]
    flagged = {c for c in ROAD_CLASSES for f in small if f"Class {c!r}" in f.message}
    assert "bicycle" in flagged
    # Cars are common and large, persons common: never flagged.
    assert not flagged & {"car", "person"}
    summary = summarize_detection(dataset)
    for c in flagged:
        assert summary.boxes[c] * 9 <= summary.boxes["car"]
        assert summary.sizes[c]["small"] * 2 > summary.boxes[c]
