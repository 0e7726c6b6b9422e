"""Plans for samples with several labels or boxes: repeat factors against the LVIS
formula on hand-computed cases, ML-ROS / ML-RUS, label weights, exact seeded
copies, and round trips through the exports (YOLO list, COCO JSON)."""

from __future__ import annotations

import ast
import io
import json
import math
import zipfile

import numpy as np
import pytest
from pycocotools.coco import COCO

from balance_core import read_table
from balance_core.detection import summarize_detection
from balance_core.detection_examples import chest_xray_table, road_objects
from balance_core.errors import DatasetError
from balance_core.multilabel import summarize_multilabel
from balance_core.readers.detection import read_detection
from balance_core.readers.multilabel import read_multilabel_table
from balance_core.readers.yolo import image_key
from balance_core.sample_export import (
    coco_json,
    copies_manifest,
    label_weights_json,
    sample_snippets,
    strategy_record,
    yolo_image_list,
)
from balance_core.sample_plans import (
    image_factors,
    label_weights,
    plan_image_sampling,
    plan_ml_ros,
    plan_ml_rus,
    plan_repeat_factor,
    repeat_factors,
    sample_label_weights,
    sample_labels,
)

# Ten images: a in 8, b in 2, c in 1, one background image.
#   0 {a, c}  1 {a, b}  2 {b}  3-8 {a}  9 {}
HAND = b"file,labels\n0,a|c\n1,a|b\n2,b\n3,a\n4,a\n5,a\n6,a\n7,a\n8,a\n9,No Finding\n"


def _hand_labels():
    return sample_labels(read_multilabel_table(read_table(HAND, label_col="labels")))


def test_repeat_factors_equal_the_lvis_formula_by_hand():
    labels = _hand_labels()
    t = 0.5
    # r_c = max(1, sqrt(t / f_c)), f_a = 0.8, f_b = 0.2, f_c = 0.1.
    expected = [1.0, math.sqrt(0.5 / 0.2), math.sqrt(0.5 / 0.1)]
    assert repeat_factors(labels.samples, labels.n_samples, t) == pytest.approx(expected)
    # An image repeats max over its classes: 0 -> r_c, 1 and 2 -> r_b, others 1.
    assert image_factors(labels, t) == pytest.approx(
        [expected[2], expected[1], expected[1]] + [1.0] * 7
    )
    plan = plan_repeat_factor(labels, threshold=t, seed=3)
    # Exact totals: round(1 x 2.236) = 2 copies of image 0, round(2 x 1.581) = 3 of
    # images 1 and 2 together, one of each other image.
    assert plan.copies[0] == 2 and plan.copies[1] + plan.copies[2] == 3
    assert plan.copies[3:].tolist() == [1] * 7
    assert plan.samples_after["c"] == 2 and plan.samples_after["b"] == 3
    assert plan.samples_after["a"] == 8 + 1 + (plan.copies[1] - 1)
    assert plan.class_factors["b"] == pytest.approx(expected[1])


def test_repeat_factor_threshold_below_every_frequency_changes_nothing():
    labels = _hand_labels()
    plan = plan_repeat_factor(labels, threshold=0.05)
    assert plan.copies.tolist() == [1] * 10
    assert plan.samples_after == plan.samples_before


@pytest.mark.parametrize("bad", [0, -0.1, 1.5, float("nan"), "0.1"])
def test_repeat_threshold_is_checked(bad):
    with pytest.raises(DatasetError) as caught:
        plan_repeat_factor(_hand_labels(), threshold=bad)
    assert "threshold" in caught.value.message


def test_repeat_factor_expected_copies_match_fractional_factors():
    """Over the whole dataset, exact seeded copies stay within one copy per group of
    the fractional repeat factors' sum (the paper's expectation)."""
    dataset = read_detection(road_objects(format="coco", n_images=300))
    labels = sample_labels(dataset)
    for t in (0.05, 0.2, 0.5):
        plan = plan_repeat_factor(labels, threshold=t)
        expected = image_factors(labels, t).sum()
        groups = int((labels.group_counts() > 0).sum())
        assert abs(plan.rows_after - expected) <= groups / 2 + 1e-9


def test_seeded_copies_are_reproducible_and_seed_dependent():
    labels = sample_labels(read_detection(road_objects(format="coco", n_images=300)))
    a = plan_repeat_factor(labels, threshold=0.3, seed=1).copies
    b = plan_repeat_factor(labels, threshold=0.3, seed=1).copies
    c = plan_repeat_factor(labels, threshold=0.3, seed=2).copies
    assert np.array_equal(a, b) and not np.array_equal(a, c) and a.sum() == c.sum()


def test_preview_counts_equal_the_rows_of_the_manifest():
    dataset = read_detection(road_objects(format="yolo", n_images=200))
    plan = plan_repeat_factor(sample_labels(dataset), threshold=0.3)
    manifest = copies_manifest(dataset, plan)
    assert manifest.num_rows == plan.rows_after
    table = dataset.annotations.table
    boxes = np.bincount(table.column("sample").to_numpy(), minlength=dataset.n_rows)
    rows = manifest.column("row").to_numpy()
    assert sum(plan.boxes_after.values()) == int(boxes[rows].sum())


def test_image_level_undersampling_shows_the_classes_that_ride_along():
    dataset = read_detection(road_objects(format="coco", n_images=300))
    labels = sample_labels(dataset)
    plan = plan_image_sampling(labels, method="undersample", seed=0)
    sizes = labels.group_counts()
    smallest = int(sizes[sizes > 0].min())
    # Every group (images by rarest class, and background) is cut to the smallest.
    kept = np.bincount(labels.group_of(), weights=plan.copies, minlength=len(sizes))
    assert kept[sizes > 0].tolist() == [smallest] * int((sizes > 0).sum())
    # Cars ride along in the kept images of the rare groups: more cars than car images.
    assert plan.samples_after["car"] > kept[labels.classes.index("car")]


def test_image_level_oversampling_targets_the_groups():
    labels = _hand_labels()
    plan = plan_image_sampling(labels, method="oversample", seed=0)
    # Groups: a (6 images: 3-8), b (2: images 1, 2), c (1: image 0), no label (1).
    kept = np.bincount(labels.group_of(), weights=plan.copies, minlength=4)
    assert kept.tolist() == [6, 6, 6, 6]
    assert plan.samples_after["a"] == 6 + 6 + 3  # a rides along in images 0 and 1


def test_ml_ros_clones_minority_label_samples():
    labels = _hand_labels()
    plan = plan_ml_ros(labels, percentage=30, seed=0)
    # MeanIR = (1 + 4 + 8) / 3; minority labels: IRLbl > MeanIR -> c only (IRLbl 8).
    # 3 clones, all of image 0 (c's only sample); the loop stops when c's IRLbl
    # (recomputed: 9 / 2 = 4.5, then 10 / 3) falls to MeanIR = 13 / 3 = 4.33.
    assert plan.copies.sum() == 10 + 2
    assert plan.copies[0] == 3
    assert plan.samples_after["c"] == 3


def test_ml_rus_deletes_majority_label_samples():
    labels = _hand_labels()
    plan = plan_ml_rus(labels, percentage=20, seed=0)
    # Majority labels: IRLbl < MeanIR -> a (IRLbl 1) and b (IRLbl 4): 2 deletions,
    # taken in turn from a's bag and b's bag.
    assert plan.rows_after == 8
    assert plan.samples_after["a"] <= 7 and plan.samples_after["b"] <= 1


def test_label_weights_pos_weight_is_negatives_over_positives():
    summary = summarize_multilabel(read_multilabel_table(read_table(HAND, label_col="labels")))
    weights = label_weights(summary.positives, summary.negatives)
    assert weights.as_list == pytest.approx([2 / 8, 8 / 2, 9 / 1])
    clipped = label_weights(summary.positives, summary.negatives, max_weight=5)
    assert clipped.as_list == pytest.approx([0.25, 4.0, 5.0]) and clipped.clipped == ("c",)
    effective = label_weights(
        summary.positives, summary.negatives, method="effective_number", beta=0.9
    )
    raw = [(1 - 0.9) / (1 - 0.9**n) for n in (8, 2, 1)]
    assert effective.as_list == pytest.approx([3 * r / sum(raw) for r in raw])
    document = json.loads(label_weights_json(weights))
    assert document["pos_weight"] == pytest.approx(weights.as_list)
    assert document["classes"] == ["a", "b", "c"]


def test_uncertain_labels_are_not_negatives_in_pos_weight():
    dataset = read_multilabel_table(read_table(chest_xray_table(n_rows=600)), uncertain="ignore")
    summary = summarize_multilabel(dataset)
    weights = label_weights(summary.positives, summary.negatives)
    name = "Effusion"
    n = summary.n_samples
    assert weights.weights[name] == pytest.approx(
        (n - summary.positives[name] - summary.uncertain[name]) / summary.positives[name]
    )


def test_sample_label_weights_favour_rare_labels():
    labels = _hand_labels()
    plan = sample_label_weights(labels)
    # max over labels of 1 / n_l: image 0 has c (1 / 1), images 1-2 b (1 / 2).
    assert plan.weights[:3].tolist() == pytest.approx([1.0, 0.5, 0.5])
    assert plan.weights[3] == pytest.approx(1 / 8) and plan.weights[9] == 1.0
    assert plan.label_draw_share["c"] > plan.label_share_before["c"]


# --------------------------------------------------------------------------- round trips


def test_coco_round_trip_counts_as_previewed(tmp_path):
    dataset = read_detection(road_objects(format="coco", n_images=200))
    plan = plan_repeat_factor(sample_labels(dataset), threshold=0.3, seed=5)
    data = coco_json(dataset, plan)
    back = summarize_detection(read_detection(data, name="balanced.json"))
    assert back.boxes == plan.boxes_after and back.images == plan.samples_after
    path = tmp_path / "balanced.json"
    path.write_bytes(data)
    reference = COCO(str(path))
    for category in reference.loadCats(reference.getCatIds()):
        assert (
            len(reference.getAnnIds(catIds=[category["id"]])) == plan.boxes_after[category["name"]]
        )
        assert (
            len(reference.getImgIds(catIds=[category["id"]]))
            == plan.samples_after[category["name"]]
        )
    assert coco_json(dataset, plan) == data  # same bytes


def test_yolo_list_round_trip_counts_as_previewed():
    archive = road_objects(format="yolo", n_images=200)
    dataset = read_detection(archive)
    plan = plan_repeat_factor(sample_labels(dataset), threshold=0.3)
    lines = yolo_image_list(dataset, plan).decode().splitlines()
    assert len(lines) == plan.rows_after
    # Read it back as Ultralytics does: each image's label file, first tokens.
    boxes: dict[str, int] = {}
    images: dict[str, int] = {}
    with zipfile.ZipFile(io.BytesIO(archive)) as zf:
        names = dataset.classes
        for line in lines:
            label = image_key(line.removeprefix("./")) + ".txt"
            classes = [
                int(row.split()[0]) for row in zf.read(label).decode().splitlines() if row.strip()
            ]
            for c in classes:
                boxes[names[c]] = boxes.get(names[c], 0) + 1
            for c in set(classes):
                images[names[c]] = images.get(names[c], 0) + 1
    assert boxes == {c: n for c, n in plan.boxes_after.items() if n}
    assert images == {c: n for c, n in plan.samples_after.items() if n}


def test_split_plan_passes_other_splits_through():
    dataset = read_detection(road_objects(format="yolo", n_images=100))
    plan = plan_repeat_factor(sample_labels(dataset, split="train"), threshold=0.3)
    manifest = copies_manifest(dataset, plan)
    split = manifest.column("split").to_pylist()
    assert split.count("valid") == dataset.column("split").to_pylist().count("valid")
    assert split.count("train") == plan.rows_after


def test_snippets_parse_and_carry_the_numbers():
    dataset = read_detection(road_objects(format="coco"))
    plan = plan_repeat_factor(sample_labels(dataset), threshold=0.123)
    summary = summarize_multilabel(dataset)
    weights = label_weights(summary.positives, summary.negatives)
    code = sample_snippets(plan=plan, weights=weights)
    assert set(code) == {"pytorch_bce", "detectron2", "mmdetection", "ultralytics"}
    for text in code.values():
        ast.parse(text)
    assert "REPEAT_THRESHOLD = 0.123" in code["detectron2"]
    assert "oversample_thr=0.123" in code["mmdetection"]
    tree = ast.parse(code["pytorch_bce"])
    call = next(
        n
        for n in ast.walk(tree)
        if isinstance(n, ast.Call) and getattr(n.func, "attr", "") == "tensor"
    )
    assert [ast.literal_eval(e) for e in call.args[0].elts] == weights.as_list
    names = next(
        n
        for n in ast.walk(ast.parse(code["ultralytics"]))
        if isinstance(n, ast.Assign) and n.targets[0].id == "names"
    )
    assert ast.literal_eval(names.value) == dict(enumerate(dataset.classes))
    assert strategy_record(plan) == {"method": "repeat_factor", "threshold": 0.123, "seed": 0}


def test_hostile_label_cannot_break_out_of_a_snippet():
    data = b'file,labels\n1,"a""); x\nimport os\n#|b"\n2,b\n3,c\n'
    dataset = read_multilabel_table(read_table(data, label_col="labels"), sep="|")
    assert 'a"); x\nimport os\n#' in dataset.classes
    summary = summarize_multilabel(dataset)
    weights = label_weights(summary.positives, summary.negatives)
    tree = ast.parse(sample_snippets(weights=weights)["pytorch_bce"])
    assert not [n for n in ast.walk(tree) if isinstance(n, ast.Import) and n.names[0].name == "os"]
