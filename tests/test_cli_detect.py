"""Detection and multi-label datasets through the real CLI (a subprocess, real
files): analyze against pycocotools and scikit-learn, sample / label-weights and
their recipes replayed by apply to the same bytes, and one sentence on bad input."""

from __future__ import annotations

import io
import json
import math
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from pycocotools.coco import COCO
from sklearn.preprocessing import MultiLabelBinarizer

from balance_core.detection_examples import (
    CHEST_FINDINGS,
    ROAD_CLASSES,
    chest_xray_table,
    road_objects,
)

ROOT = Path(__file__).resolve().parents[1]


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "balance_core", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )


def ok(*args: str) -> subprocess.CompletedProcess:
    result = run(*args)
    assert result.returncode == 0, result.stderr
    return result


def one_sentence(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("data")
    files = {}
    for fmt in ("coco", "yolo", "voc"):
        files[fmt] = root / f"road_{fmt}.zip"
        files[fmt].write_bytes(road_objects(format=fmt))
    for style in ("nih", "chexpert"):
        files[style] = root / f"{style}.csv"
        files[style].write_bytes(chest_xray_table(style=style))
    with zipfile.ZipFile(files["coco"]) as archive:
        name = next(n for n in archive.namelist() if n.endswith(".json"))
        files["coco_json"] = root / "instances.json"
        files["coco_json"].write_bytes(archive.read(name))
    return files


def _reference_counts(files: list[bytes], tmp_path: Path) -> tuple[dict, dict]:
    """Boxes and images per class by pycocotools, summed over COCO files (splits)."""
    boxes: dict[str, int] = {}
    images: dict[str, int] = {}
    for k, data in enumerate(files):
        path = tmp_path / f"reference{k}.json"
        path.write_bytes(data)
        coco = COCO(str(path))
        for category in coco.loadCats(coco.getCatIds()):
            name = category["name"]
            boxes[name] = boxes.get(name, 0) + len(coco.getAnnIds(catIds=[category["id"]]))
            images[name] = images.get(name, 0) + len(coco.getImgIds(catIds=[category["id"]]))
    return boxes, images


def _coco_files(path: Path) -> list[bytes]:
    if path.suffix == ".json":
        return [path.read_bytes()]
    with zipfile.ZipFile(path) as archive:
        return [archive.read(n) for n in sorted(archive.namelist()) if n.endswith(".json")]


def _table_row(text: str, name: str) -> list[str]:
    """The numbers of a class's row in the table under the ``class`` header."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip().startswith("class "))
    row = next(x for x in lines[start + 1 :] if x.strip().startswith(name + " "))
    return row.split()[len(name.split()) :]


# --------------------------------------------------------------------------- analyze


@pytest.mark.parametrize("fmt", ["coco_json", "coco", "yolo", "voc"])
def test_analyze_json_counts_equal_pycocotools(fmt, data, tmp_path):
    report = json.loads(ok("analyze", data[fmt], "--json").stdout)
    assert report["kind"] == "detection"
    # The three formats hold the same scenes: the COCO zip's files are the reference.
    reference = data["coco_json"] if fmt == "coco_json" else data["coco"]
    boxes, images = _reference_counts(_coco_files(reference), tmp_path)
    counts = report["detection"]["unit_counts"]
    assert counts["boxes"] == boxes
    assert counts["images"] == images
    assert report["distribution"]["counts"] == boxes  # --unit defaults to boxes
    assert [row["class"] for row in report["classes"]] == list(ROAD_CLASSES)
    assert report["detection"]["images_total"] == (48 if fmt == "coco_json" else 60)
    background = report["detection"]["background_images"]
    assert background == report["detection"]["boxes_per_image_histogram"][0]
    kinds = {f["kind"] for f in report["findings"]}
    assert ("unannotated_image" in kinds) == (background > 0)


def _extract(path: Path, root: Path) -> Path:
    """The example's files in a folder, for supervision and for the folder input
    (the CLI itself never extracts a zip)."""
    with zipfile.ZipFile(path) as archive:
        for info in archive.infolist():
            if not info.is_dir():
                target = root / info.filename
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(archive.read(info))
    return root


def test_analyze_a_yolo_folder_equals_supervision(data, tmp_path):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # supervision warns that OpenCV is not installed
        import supervision as sv
    root = _extract(data["yolo"], tmp_path / "road")
    boxes: dict[str, int] = {}
    images: dict[str, int] = {}
    for split in ("train", "valid"):
        reference = sv.DetectionDataset.from_yolo(
            images_directory_path=str(root / split / "images"),
            annotations_directory_path=str(root / split / "labels"),
            data_yaml_path=str(root / "data.yaml"),
        )
        for _, _, detections in reference:
            ids = [reference.classes[c] for c in detections.class_id.tolist()]
            for name in ids:
                boxes[name] = boxes.get(name, 0) + 1
            for name in set(ids):
                images[name] = images.get(name, 0) + 1
    report = json.loads(ok("analyze", root, "--json").stdout)
    counts = report["detection"]["unit_counts"]
    assert {c: n for c, n in counts["boxes"].items() if n} == boxes
    assert {c: n for c, n in counts["images"].items() if n} == images
    # The folder and its zip give the same report, but for the name and size.
    zipped = json.loads(ok("analyze", data["yolo"], "--json").stdout)
    assert zipped["detection"] == report["detection"]


def test_analyze_unit_switches_the_distribution(data, tmp_path):
    _, images = _reference_counts(_coco_files(data["coco"]), tmp_path)
    by_images = json.loads(ok("analyze", data["yolo"], "--json", "--unit", "images").stdout)
    assert by_images["distribution"]["counts"] == images
    by_area = json.loads(ok("analyze", data["voc"], "--json", "--unit", "area").stdout)
    area = by_area["detection"]["unit_counts"]["area"]
    assert by_area["distribution"]["counts"] == area
    share = by_area["detection"]["area_share"]
    assert math.isclose(sum(share.values()), 1.0)
    assert max(area, key=area.get) == max(share, key=share.get)


def test_analyze_text_shows_the_three_counts_side_by_side(data, tmp_path):
    text = ok("analyze", data["coco"]).stdout
    boxes, images = _reference_counts(_coco_files(data["coco"]), tmp_path)
    assert "background images (no box)" in text
    assert "boxes per image" in text.lower()
    for name in ROAD_CLASSES:
        numbers = _table_row(text, name)
        assert int(numbers[0].replace(",", "")) == boxes[name]
        assert int(numbers[1].replace(",", "")) == images[name]
    assert "small_objects" in text and "Imbalance ratio" in text


def _nih_matrix(path: Path) -> tuple[np.ndarray, list[str]]:
    cells = pacsv.read_csv(path).column("Finding Labels").to_pylist()
    sets = [[t for t in c.split("|") if t != "No Finding"] for c in cells]
    binarizer = MultiLabelBinarizer()
    return binarizer.fit_transform(sets), list(binarizer.classes_)


@pytest.mark.parametrize("style", ["nih", "chexpert"])
def test_analyze_multilabel_against_multilabelbinarizer(style, data):
    report = json.loads(ok("analyze", data[style], "--json").stdout)
    assert report["kind"] == "multilabel"
    summary = report["multilabel"]
    matrix, classes = _nih_matrix(data["nih"])  # both styles come from the same labels
    if style == "chexpert":
        assert summary["labels"] == list(CHEST_FINDINGS)
        order = [classes.index(c) for c in CHEST_FINDINGS]
        matrix, classes = matrix[:, order], list(CHEST_FINDINGS)
    positives = matrix.sum(axis=0)
    assert summary["positives"] == dict(zip(classes, positives.tolist(), strict=True))
    assert summary["empty_label_sets"] == int((matrix.sum(axis=1) == 0).sum())
    assert math.isclose(summary["cardinality"], matrix.sum(axis=1).mean())
    assert math.isclose(summary["density"], matrix.sum(axis=1).mean() / len(classes))
    # IRLbl_l = max positives / positives_l; MeanIR their mean (Charte et al. 2015).
    irlbl = positives.max() / positives
    assert all(math.isclose(summary["irlbl"][c], v) for c, v in zip(classes, irlbl, strict=True))
    assert math.isclose(summary["mean_ir"], irlbl.mean())
    # Co-occurrence pairs from the binarized matrix.
    both = matrix.T @ matrix
    expected = sorted(
        ((int(both[i, j]), classes[i], classes[j]) for i in range(len(classes))
         for j in range(i + 1, len(classes)) if both[i, j]),
        key=lambda t: (-t[0], t[1], t[2]),
    )[:10]  # fmt: skip
    assert [(p["samples"], p["a"], p["b"]) for p in report["top_pairs"]] == expected
    assert 0.0 <= summary["scumble"] <= 1.0


def test_analyze_multilabel_text_and_options(data):
    text = ok("analyze", data["nih"]).stdout
    assert "MeanIR" in text and "SCUMBLE" in text and "Top co-occurring pairs" in text
    assert "Effusion + Infiltration" in text
    # --empty-label "" keeps "No Finding" as a label of its own.
    kept = json.loads(ok("analyze", data["nih"], "--json", "--empty-label", "").stdout)
    assert "No Finding" in kept["multilabel"]["labels"]
    # --multilabel off: one class per combination, the single-label report.
    single = json.loads(ok("analyze", data["nih"], "--json", "--multilabel", "off").stdout)
    assert "kind" not in single and "Effusion|Infiltration" in single["counts"]
    # --uncertain ones counts CheXpert's -1 as positives.
    ignore = json.loads(ok("analyze", data["chexpert"], "--json").stdout)["multilabel"]
    ones = json.loads(ok("analyze", data["chexpert"], "--json", "--uncertain", "ones").stdout)[
        "multilabel"
    ]
    for label in CHEST_FINDINGS:
        assert ones["positives"][label] == ignore["positives"][label] + ignore["uncertain"][label]


def test_label_cols_and_labels_sep_force_the_shape(data, tmp_path):
    cols = ",".join(CHEST_FINDINGS[:4])
    report = json.loads(ok("analyze", data["chexpert"], "--json", "--label-cols", cols).stdout)
    assert report["multilabel"]["labels"] == list(CHEST_FINDINGS[:4])
    table = tmp_path / "tags.csv"
    table.write_text(
        "id,tags\n" + "".join(f"{i},a;b\n" if i % 2 else f"{i},c\n" for i in range(20))
    )
    report = json.loads(ok("analyze", table, "--json", "--labels-sep", ";").stdout)
    assert report["multilabel"]["positives"] == {"a": 10, "b": 10, "c": 10}


# --------------------------------------------------------------------------- recipes replay


SAMPLE_CASES = [
    ("coco", ["--method", "repeat-factor", "--threshold", "0.3"], True),
    ("yolo", ["--method", "repeat-factor", "--threshold", "0.25", "--seed", "3"], True),
    ("voc", ["--method", "image-oversample", "--to", "minority"], True),
    ("coco", ["--method", "image-undersample", "--to", "ratio:1.5", "--split", "all"], True),
    ("nih", ["--method", "ml-ros", "--percentage", "30", "--seed", "7"], False),
    ("chexpert", ["--method", "ml-rus", "--percentage", "20"], False),
    ("nih", ["--method", "image-undersample", "--to", "cap:40"], False),
]


@pytest.mark.parametrize("name, options, boxes", SAMPLE_CASES)
def test_sample_then_apply_gives_the_same_bytes(name, options, boxes, data, tmp_path):
    suffix = ".parquet" if name == "chexpert" else ".csv"
    first = [tmp_path / f"manifest{suffix}", tmp_path / "train.txt", tmp_path / "out.json"]
    extra = ["--yolo-list", first[1], "--coco", first[2]] if boxes else []
    recipe = tmp_path / "recipe.json"
    ok("sample", data[name], *options, "-o", first[0], *extra, "--recipe", recipe)
    payload = json.loads(recipe.read_text())
    assert payload["strategy"]["method"] == "sample_plan"
    assert payload["strategy"]["sample_plan"]["method"] == options[1].replace("-", "_")
    second = [tmp_path / f"again{suffix}", tmp_path / "again.txt", tmp_path / "again.json"]
    extra = ["--yolo-list", second[1], "--coco", second[2]] if boxes else []
    ok("apply", recipe, data[name], "-o", second[0], *extra, "--strict")
    for a, b in zip(first, second, strict=True):
        if a.exists():
            assert a.read_bytes() == b.read_bytes(), a.name


def test_repeat_factor_outputs_agree_with_each_other_and_pycocotools(data, tmp_path):
    manifest, listing, coco = tmp_path / "m.csv", tmp_path / "train.txt", tmp_path / "c.json"
    result = ok(
        "sample", data["coco"], "--method", "repeat-factor", "--threshold", "0.3",
        "-o", manifest, "--yolo-list", listing, "--coco", coco,
    )  # fmt: skip
    rows = pacsv.read_csv(manifest)
    in_train = [s == "train" for s in rows.column("split").to_pylist()]
    paths = [p for p, keep in zip(rows.column("path").to_pylist(), in_train, strict=True) if keep]
    assert listing.read_text().splitlines() == ["./" + p for p in paths]
    boxes, images = _reference_counts([coco.read_bytes()], tmp_path)
    # The printed table: class, images before -> after, boxes before -> after, factor.
    for name in ROAD_CLASSES:
        numbers = _table_row(result.stdout, name)
        assert int(numbers[2].replace(",", "")) == images[name]
        assert int(numbers[5].replace(",", "")) == boxes[name]
    # r_c = max(1, sqrt(t / f_c)) with f_c the share of training images holding c
    # (Gupta et al. 2019), from the manifest's own label sets.
    first = [c == 0 for c in rows.column("copy").to_pylist()]
    sets = [
        (s or "").split("|")
        for s, keep, once in zip(rows.column("label_set").to_pylist(), in_train, first, strict=True)
        if keep and once
    ]
    for name in ROAD_CLASSES:
        share = sum(name in labels for labels in sets) / len(sets)
        line = next(x for x in result.stdout.splitlines() if x.strip().startswith(name + " "))
        assert math.isclose(
            float(line.split()[-1]), max(1.0, math.sqrt(0.3 / share)), abs_tol=0.005
        )


def test_label_weights_pos_weight_is_negatives_over_positives(data, tmp_path):
    out, snippets, recipe = tmp_path / "w.json", tmp_path / "snippets", tmp_path / "r.json"
    snippets.mkdir()
    ok("label-weights", data["nih"], "-o", out, "--snippets", snippets, "--recipe", recipe)
    weights = json.loads(out.read_text())
    matrix, classes = _nih_matrix(data["nih"])
    positives = matrix.sum(axis=0)
    expected = (len(matrix) - positives) / positives
    assert weights["classes"] == classes
    assert np.allclose(weights["pos_weight"], expected)
    code = (snippets / "pytorch_bce.py").read_text()
    assert "BCEWithLogitsLoss(pos_weight=pos_weight)" in code
    again = tmp_path / "again.json"
    ok("apply", recipe, data["nih"], "-o", again)
    assert again.read_bytes() == out.read_bytes()


def test_effective_number_and_sampler_weights_replay(data, tmp_path):
    out, recipe = tmp_path / "w.json", tmp_path / "r.json"
    ok("label-weights", data["chexpert"], "--method", "effective_number", "--beta", "0.99",
       "--max-weight", "5", "-o", out, "--recipe", recipe)  # fmt: skip
    weights = json.loads(out.read_text())
    assert max(weights["pos_weight"]) <= 5
    again = tmp_path / "again.json"
    ok("apply", recipe, data["chexpert"], "-o", again)
    assert again.read_bytes() == out.read_bytes()
    table, recipe = tmp_path / "s.parquet", tmp_path / "rs.json"
    ok("label-weights", data["yolo"], "--method", "sampler", "--split", "all", "-o", table,
       "--recipe", recipe)  # fmt: skip
    weights = pq.read_table(table)
    assert weights.num_rows == 60
    assert (np.asarray(weights.column("sample_weight")) > 0).all()
    again = tmp_path / "again.parquet"
    ok("apply", recipe, data["yolo"], "-o", again)
    assert again.read_bytes() == table.read_bytes()


def test_apply_a_detection_recipe_to_other_data_notes_it_and_strict_refuses(data, tmp_path):
    recipe = tmp_path / "r.json"
    ok("sample", data["coco"], "--method", "repeat-factor", "-o", tmp_path / "m.csv",
       "--recipe", recipe)  # fmt: skip
    result = run("apply", recipe, data["coco_json"], "-o", tmp_path / "x.csv", "--strict")
    assert "SHA-256" in one_sentence(result)
    assert not (tmp_path / "x.csv").exists()


# --------------------------------------------------------------------------- bad input


def _hostile_coco(tmp_path: Path) -> Path:
    document = {
        "images": [{"id": 1, "file_name": "a.jpg", "width": 10, "height": 10}],
        "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": ["1", "2", "3", "4"]}],
        "categories": [{"id": 1, "name": "cat"}],
    }
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(document))
    return path


@pytest.mark.parametrize(
    "args, words",
    [
        (["sample", "{coco}", "--method", "repeat-factor", "--threshold", "0", "-o", "{out}"],
         "threshold"),
        (["sample", "{coco}", "--method", "ml-ros", "--percentage", "150", "-o", "{out}"],
         "percentage"),
        (["sample", "{coco}", "--method", "image-undersample", "--to", "median", "-o", "{out}"],
         "Image-level sampling takes"),
        (["sample", "{plain}", "--method", "ml-ros", "-o", "{out}"], "one label per row"),
        (["sample", "{nih}", "--method", "ml-ros", "-o", "{out}", "--coco", "{out2}"],
         "needs boxes"),
        (["label-weights", "{nih}", "-o", "{out}", "--yolo-list", "{out2}"],
         "unrecognized arguments"),
        (["undersample", "{coco}", "-o", "{out}"], "sample or label-weights command"),
        (["check", "{coco}"], "is a COCO detection dataset"),
        (["report", "{yolo}", "-o", "{out}"], "is a YOLO detection dataset"),
        (["split", "{voc}", "--splits", "train=0.8,val=0.2", "-o", "{out}"],
         "is a VOC detection dataset"),
        (["analyze", "{nih}", "--unit", "boxes"], "counted in samples"),
        (["analyze", "{nih}", "--labels-sep", "|", "--multilabel", "off"], "turns off"),
        (["analyze", "{chexpert}", "--label-cols", "Nope,Edema,Mass"], "Nope"),
        (["analyze", "{coco}", "--format", "voc"], "cannot be read as voc"),
        (["analyze", "{coco}", "--label-col", "x"], "no label column to choose"),
        (["analyze", "{bad}"], "bbox"),
        (["sample", "{coco}", "--method", "repeat-factor", "-o", "{out}", "--snippets", "{nodir}"],
         "not a folder"),
        (["sample", "{coco}", "--method", "repeat-factor", "-o", "{coco}"], "overwrite the input"),
        (["sample", "{coco}", "--method", "bogus", "-o", "{out}"], "invalid choice"),
    ],
)  # fmt: skip
def test_bad_input_gets_one_sentence_and_writes_nothing(args, words, data, tmp_path):
    plain = tmp_path / "plain.csv"
    plain.write_text("path,label\n" + "".join(f"{i}.png,{'ab'[i % 2]}\n" for i in range(10)))
    out, out2 = tmp_path / "out.csv", tmp_path / "out2.json"
    names = {"out": out, "out2": out2, "plain": plain, "bad": _hostile_coco(tmp_path),
             "nodir": tmp_path / "missing"}  # fmt: skip
    names |= data
    before = {p: p.read_bytes() for p in data.values()}
    line = one_sentence(run(*[a.format(**names) for a in args]))
    assert words.lower() in line.lower(), line
    assert not out.exists() and not out2.exists()
    assert all(p.read_bytes() == b for p, b in before.items())


def test_a_failed_run_leaves_existing_outputs_as_they_were(data, tmp_path):
    manifest, listing = tmp_path / "m.csv", tmp_path / "train.txt"
    manifest.write_text("keep me\n")
    listing.write_text("keep me too\n")
    # The multi-label table has no boxes: the COCO output fails after the manifest is made.
    result = run("sample", data["nih"], "--method", "ml-ros", "-o", manifest,
                 "--coco", tmp_path / "c.json")  # fmt: skip
    one_sentence(result)
    assert manifest.read_text() == "keep me\n"
    assert listing.read_text() == "keep me too\n"


def test_a_tampered_recipe_gets_one_sentence(data, tmp_path):
    recipe = tmp_path / "r.json"
    ok("sample", data["yolo"], "--method", "repeat-factor", "-o", tmp_path / "m.csv",
       "--recipe", recipe)  # fmt: skip
    payload = json.loads(recipe.read_text())
    for change, words in (
        ({"method": "smote"}, "Unknown sample plan"),
        ({"method": "repeat_factor", "threshold": "high", "seed": 0}, "threshold"),
        ({"method": "ml_ros"}, "no 'percentage'"),
    ):
        payload["strategy"]["sample_plan"] = change
        recipe.write_text(json.dumps(payload))
        line = one_sentence(run("apply", recipe, data["yolo"], "-o", tmp_path / "x.csv"))
        assert words in line, line
    payload["strategy"]["sample_plan"] = None
    recipe.write_text(json.dumps(payload))
    assert "needs its plan" in one_sentence(
        run("apply", recipe, data["yolo"], "-o", tmp_path / "x.csv")
    )
    assert not (tmp_path / "x.csv").exists()


def test_a_zip_bomb_of_label_files_is_refused_in_one_sentence(tmp_path):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("data.yaml", "names: [cat]\n")
        archive.writestr("labels/a.txt", b"0 0.5 0.5 0.1 0.1\n" * 2_000_000)
    path = tmp_path / "bomb.zip"
    path.write_bytes(buffer.getvalue())
    line = one_sentence(run("analyze", path, "--limit", "max_entry_uncompressed=1000000"))
    assert "labels/a.txt" in line or "limit" in line.lower(), line


@pytest.mark.heavy
@pytest.mark.parametrize("style", ["nih", "chexpert"])
def test_the_bce_snippet_runs_with_pytorch_in_class_order(style, data, tmp_path):
    """The label-weights snippet, run for real: BCEWithLogitsLoss with pos_weight in
    the class order of the weights file, on a batch of logits (text labels)."""
    import torch  # heavy: pip install torch; pytest -m heavy

    out, snippets = tmp_path / "w.json", tmp_path / "snippets"
    snippets.mkdir()
    ok("label-weights", data[style], "-o", out, "--snippets", snippets)
    weights = json.loads(out.read_text())
    namespace: dict = {}
    exec((snippets / "pytorch_bce.py").read_text(), namespace)  # the real snippet
    assert namespace["pos_weight"].tolist() == pytest.approx(weights["pos_weight"])
    k = len(weights["classes"])
    logits, targets = torch.zeros(4, k), torch.ones(4, k)
    loss = namespace["criterion"](logits, targets)
    # All targets 1 and logits 0: the loss is mean_l(pos_weight_l) * log(2).
    expected = float(np.mean(weights["pos_weight"])) * math.log(2)
    assert float(loss) == pytest.approx(expected, rel=1e-5)


def test_a_recipe_keeps_the_separator_the_reader_sniffed_not_the_commonest(tmp_path):
    # ',' is in more cells (inside the label name "Effusion, left"), yet the reader
    # splits on ';', the first separator that reads as combinations of a vocabulary.
    cells = ["Effusion, left;Mass", "Mass", "Effusion, left", "Effusion, left",
             "Effusion, left", "Nodule;Mass", "Nodule", "No Finding"] * 20  # fmt: skip
    source = tmp_path / "findings.csv"
    source.write_text("path,labels\n" + "".join(f'{i}.png,"{c}"\n' for i, c in enumerate(cells)))
    first, again, recipe = tmp_path / "m.csv", tmp_path / "again.csv", tmp_path / "r.json"
    ok("sample", source, "--method", "ml-ros", "-o", first, "--recipe", recipe)
    assert json.loads(recipe.read_text())["reader"]["labels_sep"] == ";"
    ok("apply", recipe, source, "-o", again, "--strict")
    assert first.read_bytes() == again.read_bytes()
