"""The dashboard for detection and multi-label datasets (issue 12, its dashboard part).

Each page runs under AppTest on a detection set (the built-in YOLO example, and
uploads of COCO and Pascal VOC zips) and on a multi-label table (the built-in
CheXpert-like example, and an upload in NIH's joined style); the numbers shown are
checked against balance_core's own summaries and plans on the same bytes, and the
Export page's downloads against what its shown command writes in a real CLI run.
"""

from __future__ import annotations

import json
import shlex
import subprocess
import sys

import pytest
from app_session import start, upload
from test_app_replay import download, served  # noqa: F401 - the fixture

import balance_core as bc
from balance_core.detection import summarize_detection
from balance_core.detection_examples import chest_xray_table, road_objects
from balance_core.examples import EXAMPLES
from balance_core.multilabel import summarize_multilabel
from balance_core.sample_plans import plan_ml_ros, plan_repeat_factor, sample_labels

PAGES = ("pages/1_Overview.py", "pages/2_Balance.py", "pages/3_Export.py", "pages/4_Splits.py")


def metric(at, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def chart(at, key: str) -> dict:
    element = next(c for c in at.get("plotly_chart") if c.proto.id and key in c.proto.id)
    return json.loads(element.proto.spec)


def load(key: str):
    at = start()
    at.button(key=f"home.example.{key}").click().run()
    assert not at.exception, at.exception
    return at


def clean(at) -> None:
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]


def test_detection_example_every_page_shows_the_library_counts():
    at = load("road_objects")
    dataset = bc.read_dataset(EXAMPLES["road_objects"].data(), name="road_objects_yolo.zip")
    summary = summarize_detection(dataset)
    assert metric(at, "Boxes") == f"{summary.n_boxes:,}"
    assert metric(at, "Background images") == f"{summary.background_images:,}"
    at.switch_page("pages/1_Overview.py").run()
    clean(at)
    assert metric(at, "Images") == f"{summary.n_images:,}"
    table = at.dataframe[0].value
    assert dict(zip(table["class"], table["boxes"], strict=True)) == summary.boxes
    assert dict(zip(table["class"], table["images"], strict=True)) == summary.images
    assert dict(zip(table["class"], table["small"], strict=True)) == {
        c: v["small"] for c, v in summary.sizes.items()
    }
    for page in PAGES[1:]:
        at.switch_page(page).run()
        clean(at)


@pytest.mark.parametrize("unit", ["boxes", "images", "area"])
def test_the_count_toggle_draws_boxes_images_or_area(unit):
    at = load("road_objects")
    at.switch_page("pages/1_Overview.py").run()
    at.segmented_control(key="overview.unit").set_value(unit).run()
    clean(at)
    dataset = bc.read_dataset(EXAMPLES["road_objects"].data(), name="road_objects_yolo.zip")
    expected = summarize_detection(dataset).counts(unit)
    bars = chart(at, "overview.chart")["data"][0]
    assert dict(zip(bars["x"], bars["y"], strict=True)) == expected
    assert bars["y"] == sorted(bars["y"], reverse=True)


def test_repeat_factor_slider_previews_the_library_plan_with_riders():
    at = load("road_objects")
    at.switch_page("pages/2_Balance.py").run()
    at.slider(key="balance.threshold").set_value(0.5).run()
    clean(at)
    dataset = bc.read_dataset(EXAMPLES["road_objects"].data(), name="road_objects_yolo.zip")
    plan = plan_repeat_factor(sample_labels(dataset, split="train"), threshold=0.5)
    assert plan.rows_after > plan.rows_before  # the threshold repeats something
    assert metric(at, "Images after") == f"{plan.rows_after:,}"
    boxes = chart(at, "balance.boxes")["data"][1]
    # Every class's boxes after, the frequent ones that ride along included.
    assert sum(boxes["y"]) == sum(plan.boxes_after.values())
    assert at.session_state["seesaw.sample_recipe"].strategy.sample_plan["threshold"] == 0.5


def test_multilabel_example_every_page_shows_the_library_measures():
    at = load("chest_xray")
    dataset = bc.read_dataset(EXAMPLES["chest_xray"].data(), name="chest_xray_findings.csv")
    summary = summarize_multilabel(dataset)
    assert metric(at, "Empty label sets") == f"{summary.empty_sets:,}"
    at.switch_page("pages/1_Overview.py").run()
    clean(at)
    assert metric(at, "MeanIR") == f"{summary.mean_ir:,.2f}"
    assert metric(at, "SCUMBLE") == f"{summary.scumble:.3f}"
    assert metric(at, "Cardinality") == f"{summary.cardinality:.3f}"
    heat = chart(at, "overview.cooc")["data"][0]
    assert heat["z"] == summary.cooccurrence.tolist()
    at.switch_page("pages/2_Balance.py").run()
    clean(at)
    plan = plan_ml_ros(sample_labels(dataset), percentage=25.0)
    assert metric(at, "Samples after") == f"{plan.rows_after:,}"
    at.radio(key="balance.method").set_value("label_weights:pos_weight").run()
    clean(at)
    table = at.dataframe[0].value
    negatives = summary.negatives
    for label, weight in zip(table["label"], table["weight"], strict=True):
        assert weight == pytest.approx(negatives[label] / summary.positives[label])
    for page in PAGES[2:]:
        at.switch_page(page).run()
        clean(at)


def _replay(at, served, tmp_path, data: bytes) -> list[str]:  # noqa: F811
    """Run the Export page's command on the recipe download and the input; every
    file it writes equals the download of that name. Returns the files compared."""
    clean(at)
    code = next(c.value for c in at.code if c.value.startswith("python -m balance_core apply"))
    command = shlex.split(code)
    (tmp_path / command[4]).write_bytes(download(at, served, "recipe.json"))
    (tmp_path / command[5]).write_bytes(data)
    result = subprocess.run(
        [sys.executable, *command[1:]], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    flags = ("-o", "--yolo-list", "--coco")
    outputs = [command[i + 1] for i, part in enumerate(command) if part in flags]
    for name in outputs:
        assert (tmp_path / name).read_bytes() == download(at, served, name), name
    return outputs


@pytest.mark.parametrize("fmt", ["coco", "voc"])
def test_detection_upload_export_replays_byte_for_byte(served, tmp_path, fmt):  # noqa: F811
    data = road_objects(format=fmt)
    at = start()
    upload(at, f"street {fmt}.zip", data)
    clean(at)
    assert metric(at, "Images") == "60"
    at.switch_page("pages/2_Balance.py").run()
    at.slider(key="balance.threshold").set_value(0.4).run()
    clean(at)
    at.switch_page("pages/3_Export.py").run()
    outputs = _replay(at, served, tmp_path, data)
    assert outputs == ["manifest.csv", "train.txt", "coco.json"]
    recipe = json.loads(download(at, served, "recipe.json"))
    assert recipe["strategy"]["sample_plan"]["threshold"] == 0.4
    coco = json.loads(download(at, served, "coco.json"))
    lines = download(at, served, "train.txt").decode().splitlines()
    assert len(coco["images"]) == len(lines) > 48  # train images, repeats included
    assert any("detectron2" in c.value or "REPEAT_THRESHOLD" in c.value for c in at.code)


@pytest.mark.parametrize("method", ["ml_rus", "label_weights:pos_weight"])
def test_multilabel_upload_export_replays_byte_for_byte(served, tmp_path, method):  # noqa: F811
    data = chest_xray_table(style="nih", n_rows=300)
    at = start()
    upload(at, "nih findings.csv", data)
    clean(at)
    at.switch_page("pages/2_Balance.py").run()
    at.radio(key="balance.method").set_value(method).run()
    clean(at)
    at.switch_page("pages/3_Export.py").run()
    outputs = _replay(at, served, tmp_path, data)
    expected = ["weights.json"] if method.startswith("label_weights") else ["manifest.csv"]
    assert outputs == expected
    if method.startswith("label_weights"):
        assert any("BCEWithLogitsLoss(pos_weight=" in c.value for c in at.code)


def test_hostile_class_names_are_escaped_on_every_page():
    names = ["**bold**", "<b>x</b>", ":red[r]"]
    rows = ["Image Index,Finding Labels"]
    for i in range(120):
        rows.append(f"{i}.png,{names[i % 3]}|{names[(i + 1) % 3] if i % 4 else names[i % 3]}")
    at = start()
    upload(at, "<i>odd</i> *name*.csv", ("\n".join(rows) + "\n").encode())
    clean(at)
    for page in PAGES:
        at.switch_page(page).run()
        clean(at)
        for element in at.markdown:
            assert "<b>x</b>" not in element.value
        for spec in at.get("plotly_chart"):
            assert "<b>x</b>" not in spec.proto.spec


def test_balance_compares_every_method_as_the_library_plans_them():
    from balance_core.sample_recipe import make_sample_plan

    at = load("road_objects")
    at.switch_page("pages/2_Balance.py").run()
    clean(at)
    table = next(d.value for d in at.dataframe if "method" in d.value.columns)
    dataset = bc.read_dataset(EXAMPLES["road_objects"].data(), name="road_objects_yolo.zip")
    labels = sample_labels(dataset, split="train")
    records = [
        {"method": "repeat_factor", "threshold": 0.3, "seed": 0},
        {"method": "image_undersample", "target": "equal", "seed": 0},
        {"method": "image_oversample", "target": "equal", "seed": 0},
    ]
    plans = [make_sample_plan(r, labels) for r in records]
    assert list(table["images after"]) == [p.rows_after for p in plans]
    assert list(table["boxes after"]) == [sum(p.boxes_after.values()) for p in plans]
    assert list(table["ratio after (boxes)"]) == pytest.approx(
        [p.ratio_after("boxes") for p in plans]
    )


def test_uncertain_cells_choice_rereads_and_replays(served, tmp_path):  # noqa: F811
    data = EXAMPLES["chest_xray"].data()
    at = start()
    upload(at, "chexpert.csv", data)
    at.switch_page("pages/1_Overview.py").run()
    clean(at)
    at.radio(key="reader.uncertain").set_value("ones").run()
    clean(at)
    ones = summarize_multilabel(bc.read_dataset(data, name="chexpert.csv", uncertain="ones"))
    ignore = summarize_multilabel(bc.read_dataset(data, name="chexpert.csv"))
    assert ones.positives != ignore.positives  # the choice matters on this table
    table = at.dataframe[0].value
    assert dict(zip(table["label"], table["positives"], strict=True)) == ones.positives
    at.switch_page("pages/2_Balance.py").run()
    at.radio(key="balance.method").set_value("label_weights:pos_weight").run()
    at.switch_page("pages/3_Export.py").run()
    _replay(at, served, tmp_path, data)
    recipe = json.loads(download(at, served, "recipe.json"))
    assert recipe["reader"]["uncertain"] == "ones"


def test_a_multilabel_table_can_be_read_as_one_label_per_row():
    data = chest_xray_table(style="nih", n_rows=200)
    at = start()
    upload(at, "nih.csv", data)
    at.switch_page("pages/1_Overview.py").run()
    at.button(key="reader.single").click().run()
    assert not at.exception, at.exception  # (the single-label verdict is an st.error)
    single = bc.analyze(bc.read_dataset(data, name="nih.csv", multilabel="off"))
    assert at.session_state["seesaw.dataset"].dataset.kind == "single"
    assert metric(at, "Classes") == f"{single.distribution.n_classes:,}"


@pytest.mark.parametrize("key", ["road_objects", "chest_xray"])
def test_sampler_weights_preview_and_replay(served, tmp_path, key):  # noqa: F811
    from balance_core.sample_plans import sample_label_weights

    example = EXAMPLES[key]
    data = example.data()
    at = start()
    upload(at, example.filename, data)
    at.switch_page("pages/2_Balance.py").run()
    at.radio(key="balance.method").set_value("sample_weights:max").run()
    clean(at)
    dataset = bc.read_dataset(data, name=example.filename)
    split = "train" if key == "road_objects" else None
    sampler = sample_label_weights(sample_labels(dataset, split=split))
    table = at.dataframe[0].value
    shares = dict(zip(table["label"], table["share of draws"], strict=True))
    assert shares == pytest.approx(sampler.label_draw_share)
    at.switch_page("pages/3_Export.py").run()
    assert _replay(at, served, tmp_path, data) == ["sampler_weights.csv"]


def _semicolon_table() -> bytes:
    """Labels joined by ';' whose names hold ',' too ("Effusion, left"): more cells
    hold a comma than a semicolon, so a separator picked by count reads it wrong."""
    cells = [
        "Effusion, left",
        "Effusion, left;Mass",
        "Mass",
        "Nodule, small;Mass",
        "No Finding",
        "Nodule, small",
        "Mass;Effusion, left;Nodule, small",
        "Effusion, right",
        "Effusion, right;Mass",
        "No Finding",
    ]
    rows = ["Image Index,Finding Labels"]
    rows += [f'{i:05d}.png,"{cells[i % len(cells)]}"' for i in range(120)]
    return ("\n".join(rows) + "\n").encode()


def _positives(at) -> dict:
    table = next(d.value for d in at.dataframe if "positives" in d.value.columns)
    return dict(zip(table["label"], table["positives"], strict=True))


def test_the_separator_of_a_joined_column_is_sniffed_settable_and_replayed(
    served,  # noqa: F811
    tmp_path,
):
    data = _semicolon_table()
    name = "findings.csv"
    at = start()
    upload(at, name, data)
    at.switch_page("pages/1_Overview.py").run()
    clean(at)
    semicolon = summarize_multilabel(bc.read_dataset(data, name=name, labels_sep=";"))
    comma = summarize_multilabel(bc.read_dataset(data, name=name, labels_sep=","))
    assert semicolon.positives != comma.positives  # the separator matters here
    assert at.radio(key="reader.sep").value == ";"  # as sniffed
    assert _positives(at) == semicolon.positives
    at.radio(key="reader.sep").set_value(",").run()
    clean(at)
    assert _positives(at) == comma.positives
    assert metric(at, "Labels") == f"{len(comma.classes):,}"
    at.radio(key="reader.sep").set_value("other").run()
    at.text_input(key="reader.sep_other").input(";").run()
    clean(at)
    assert _positives(at) == semicolon.positives
    assert dict(at.session_state["seesaw.dataset"].reader)["labels_sep"] == ";"
    at.switch_page("pages/2_Balance.py").run()
    at.radio(key="balance.method").set_value("ml_rus").run()
    clean(at)
    at.switch_page("pages/3_Export.py").run()
    assert _replay(at, served, tmp_path, data) == ["manifest.csv"]
    recipe = json.loads(download(at, served, "recipe.json"))
    assert recipe["reader"]["labels_sep"] == ";"


def test_a_sniffed_separator_is_the_one_the_recipe_replays(served, tmp_path):  # noqa: F811
    """Untouched, the sniffed ';' (not the ',' in more cells) goes into the recipe."""
    data = _semicolon_table()
    at = start()
    upload(at, "findings.csv", data)
    at.switch_page("pages/2_Balance.py").run()
    at.radio(key="balance.method").set_value("label_weights:pos_weight").run()
    clean(at)
    at.switch_page("pages/3_Export.py").run()
    assert _replay(at, served, tmp_path, data) == ["weights.json"]
    weights = json.loads(download(at, served, "weights.json"))
    expected = summarize_multilabel(bc.read_dataset(data, name="findings.csv", labels_sep=";"))
    assert weights["classes"] == list(expected.classes)
    assert json.loads(download(at, served, "recipe.json"))["reader"]["labels_sep"] == ";"


def test_indicator_columns_and_a_joined_column_can_be_chosen():
    data = EXAMPLES["chest_xray"].data()
    name = "chexpert.csv"
    dataset = bc.read_dataset(data, name=name)
    classes = list(dataset.annotations.classes)
    at = start()
    upload(at, name, data)
    at.switch_page("pages/1_Overview.py").run()
    clean(at)
    assert at.radio(key="reader.shape").value == "indicators"
    assert at.multiselect(key="reader.label_cols").value == classes
    chosen = classes[:3]
    at.multiselect(key="reader.label_cols").set_value(chosen).run()
    at.button(key="reader.indicators").click().run()
    clean(at)
    fewer = summarize_multilabel(bc.read_dataset(data, name=name, label_cols=chosen))
    assert _positives(at) == fewer.positives
    assert list(fewer.positives) == chosen
    # A column that is not 1/0: one sentence, and the reading stays.
    other = next(c for c in at.multiselect(key="reader.label_cols").options if c not in classes)
    at.multiselect(key="reader.label_cols").set_value([*chosen, other]).run()
    at.button(key="reader.indicators").click().run()
    assert not at.exception, at.exception
    assert any(repr(other) in e.value or other in e.value for e in at.error)
    assert _positives(at) == fewer.positives


@pytest.mark.parametrize("key", ["road_objects", "chest_xray"])
def test_splits_page_makes_iteratively_stratified_splits(served, key):  # noqa: F811
    import csv
    import io

    import numpy as np

    from balance_core.multilabel import label_matrix
    from balance_core.splits import iterative_stratification

    example = EXAMPLES[key]
    data = example.data()
    at = start()
    upload(at, example.filename, data)
    at.switch_page("pages/4_Splits.py").run()
    clean(at)
    dataset = bc.read_dataset(data, name=example.filename)
    matrix = label_matrix(dataset)
    if key == "road_objects":  # the YOLO example has split folders: counted per class
        shown = at.dataframe[0].value
        column = dataset.raw.column("split").to_pylist()
        for name in sorted(set(column)):
            in_split = {i for i, s in enumerate(column) if s == name}
            for label, cell in zip(shown["class"], shown[name], strict=True):
                c = matrix.classes.index(label)
                n = sum(
                    1
                    for r, k in zip(matrix.sample, matrix.label, strict=True)
                    if k == c and r in in_split
                )
                assert cell.endswith(f"({n:,})")
    at.text_input(key="splits.shares").input("train=0.6,val=0.2,test=0.2")
    at.number_input(key="splits.seed").set_value(3)
    at.radio(key="splits.order").set_value(1)
    at.button(key="FormSubmitter:splits.multi.form-Make the splits").click().run()
    clean(at)
    expected = iterative_stratification(matrix.dense(), [0.6, 0.2, 0.2], seed=3, order=1)
    names = np.array(["train", "val", "test"])[expected]
    rows = list(
        csv.DictReader(io.StringIO(download(at, served, "Table with splits (CSV)").decode()))
    )
    assert [r["split"] for r in rows] == names.tolist()
    table = next(d.value for d in at.dataframe if "train (asked 60%)" in d.value.columns)
    for label, cell in zip(table["class"], table["test (asked 20%)"], strict=True):
        c = matrix.classes.index(label)
        n = int(((expected[matrix.sample] == 2) & (matrix.label == c)).sum())
        assert cell.endswith(f"({n:,})")
    if key == "chest_xray":  # patients straddle splits: said, with the count
        assert any("Patient" in w.value and "more than one split" in w.value for w in at.warning)


def _slash_table() -> bytes:
    # '/' is not a separator the reader looks for, so the table reads one label per row.
    cells = ["cat", "dog", "cat/dog", "bird", "cat", "dog/bird", "cat", "dog"] * 30
    return ("path,tags\n" + "".join(f"{i}.png,{c}\n" for i, c in enumerate(cells))).encode()


def test_a_one_label_table_can_be_read_with_several_labels_and_replayed(
    served,  # noqa: F811
    tmp_path,
):
    data = _slash_table()
    at = start()
    upload(at, "pets.csv", data)
    clean(at)
    assert at.session_state["seesaw.dataset"].dataset.kind == "single"
    next(t for t in at.text_input if t.label == "Separator of several labels").set_value("/")
    next(b for b in at.button if b.label == "Read several labels per row").click().run()
    clean(at)
    dataset = at.session_state["seesaw.dataset"].dataset
    assert dataset.kind == "multilabel"
    expected = summarize_multilabel(bc.read_dataset(data, name="pets.csv", labels_sep="/"))
    assert summarize_multilabel(dataset).positives == expected.positives
    assert expected.positives == {"bird": 60, "cat": 120, "dog": 120}
    at.switch_page("pages/2_Balance.py").run()
    at.radio(key="balance.method").set_value("ml_ros").run()
    clean(at)
    at.switch_page("pages/3_Export.py").run()
    assert _replay(at, served, tmp_path, data) == ["manifest.csv"]
    assert json.loads(download(at, served, "recipe.json"))["reader"]["labels_sep"] == "/"


def test_asking_for_several_labels_where_there_are_none_is_one_sentence():
    data = b"path,label\n" + b"".join(
        b"%d.png,%s\n" % (i, b"ab"[i % 2 : i % 2 + 1]) for i in range(40)
    )
    at = start()
    upload(at, "plain.csv", data)
    next(b for b in at.button if b.label == "Read several labels per row").click().run()
    assert not at.exception, at.exception
    assert [e.value for e in at.error if "one label per row" in e.value]
    assert at.session_state["seesaw.dataset"].dataset.kind == "single"
