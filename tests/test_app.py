"""The app under Streamlit's AppTest: every page, every example, uploads, controls."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import zipfile

import pytest
from app_session import start, upload
from streamlit.testing.v1 import AppTest

import balance_core as bc
from balance_core.examples import EXAMPLES, defect_photos_zip, face_antispoofing_csv
from balance_core.export import table_csv
from balance_core.plan import class_weights, plan_undersample
from balance_core.recipe import run
from ui import state
from ui.frame import md

PAGES = ("pages/1_Overview.py", "pages/2_Balance.py", "pages/3_Export.py")


def metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


@pytest.mark.parametrize("key", list(EXAMPLES))
def test_every_page_runs_on_every_example(key):
    at = start()
    if key != state.DEFAULT_EXAMPLE:  # the default example is loaded already
        at.button(key=f"home.example.{key}").click().run()
    assert not at.exception
    current = at.session_state[state.DATASET]
    assert current.example == key
    expected = bc.analyze(bc.read_dataset(EXAMPLES[key].data(), name=EXAMPLES[key].filename))
    # Detection and multi-label examples count their rows as images or samples.
    rows = {"single": "Rows", "detection": "Images", "multilabel": "Samples"}
    assert metric(at, rows[current.dataset.kind]) == f"{expected.distribution.n_rows:,}"
    for page in PAGES:
        at.switch_page(page).run()
        assert not at.exception, (page, at.exception)
        assert not at.error, (page, [e.value for e in at.error])
    assert at.session_state[state.DATASET].example == key  # the dataset followed every page


def test_uploaded_csv_replaces_the_example_and_is_seen_by_every_page():
    at = start()
    data = b"file,diagnosis\n" + b"".join(
        f"{i}.png,{'rare' if i % 10 == 0 else 'common'}\n".encode() for i in range(200)
    )
    upload(at, "mine.csv", data)
    assert not at.exception
    assert metric(at, "Rows") == "200"
    assert metric(at, "Imbalance ratio") == "1 : 9"
    at.switch_page("pages/1_Overview.py").run()
    assert metric(at, "Classes") == "2"
    at.switch_page("pages/2_Balance.py").run()
    # 20 in the minority: the recommendation keeps every row and weighs the loss
    assert at.segmented_control[0].value == "weights"
    at.segmented_control[0].set_value("undersample").run()
    assert metric(at, "Rows") == "40"  # undersample to the minority: 20 + 20


def test_uploaded_zip_shows_thumbnails_and_properties():
    at = start()
    upload(at, "defects.zip", defect_photos_zip())
    at.switch_page("pages/1_Overview.py").run()
    assert not at.exception
    assert "Images" in [h.value for h in at.subheader]
    assert len(at.get("image")) >= 3
    frames = [df.value for df in at.dataframe]
    properties = next(f for f in frames if "formats" in f.columns)
    assert set(properties["class"]) == {"dent", "ok", "scratch"}
    assert set(properties["formats"]) == {"PNG 8", "PNG 60", "PNG 15"}


@pytest.mark.parametrize(
    ("name", "data", "needle"),
    [
        ("ragged.csv", b"label,path\na,1\nb,2,3\n", "line 3"),
        ("empty.csv", b"", "empty"),
        ("binary.csv", b"\x00\x01\x02\x03" * 100, "binary"),
        ("fake.zip", b"PK\x03\x04" + b"\x00" * 40, "zip"),
    ],
)
def test_bad_upload_shows_one_sentence_and_keeps_the_app_usable(name, data, needle):
    at = start()
    before = at.session_state[state.DATASET].name
    upload(at, name, data)
    assert not at.exception
    assert len(at.error) == 1
    message = at.error[0].value
    assert needle in message.lower() and "Traceback" not in message
    assert at.session_state[state.DATASET].name == before  # the previous data stays
    upload(at, "good.csv", b"label\na\nb\nb\n")
    assert not at.error and metric(at, "Rows") == "3"


def balance(at: AppTest) -> AppTest:
    at.switch_page("pages/2_Balance.py").run()
    assert not at.exception
    return at


def test_moving_controls_changes_the_preview_exactly():
    at = start()  # lung CT example
    counts = at.session_state[state.DATASET].distribution.counts
    balance(at)
    at.radio(key=next(r.key for r in at.radio if r.label == "Target")).set_value("ratio").run()
    slider = next(s for s in at.select_slider if s.label.startswith("Largest / smallest"))
    for ratio in (1.5, 2.0, 4.0):
        slider.set_value(ratio).run()
        expected = plan_undersample(counts, ratio=ratio)
        assert metric(at, "Rows") == f"{expected.rows_after:,}"
        assert metric(at, "Dropped") == f"{expected.rows_dropped:,}"
        recipe = at.session_state[state.RECIPE]
        assert recipe.strategy.target == f"ratio:{ratio:g}"
    at.segmented_control[0].set_value("weights").run()
    weights = class_weights(counts)
    assert metric(at, "Largest weight") == f"{max(weights.weights.values()):.3g}"
    assert metric(at, "Weight spread") == f"{weights.spread:.1f}×"


def test_split_and_stratify_controls_on_the_face_example():
    at = start()
    at.button(key="home.example.face_antispoofing").click().run()
    balance(at)
    split = next(s for s in at.selectbox if s.label == "Split to balance")
    assert split.value == "train"
    train = at.session_state[state.DATASET].distribution.split_counts["train"]
    assert metric(at, "Rows") == f"{2 * min(train.values()):,}"
    next(s for s in at.selectbox if s.label == "Keep the mix of").set_value("attack_type").run()
    assert at.session_state[state.RECIPE].stratify == "attack_type"
    split.set_value("(all rows)").run()
    everything = at.session_state[state.DATASET].distribution.counts
    assert metric(at, "Rows") == f"{2 * min(everything.values()):,}"


def test_export_equals_the_cli_replay_of_the_recipe(tmp_path):
    at = start()
    at.button(key="home.example.face_antispoofing").click().run()
    balance(at)
    at.segmented_control[0].set_value("oversample").run()
    at.number_input(key=next(n.key for n in at.number_input if n.label == "Seed")).set_value(
        11
    ).run()
    at.switch_page("pages/3_Export.py").run()
    assert not at.exception
    labels = [b.label for b in at.get("download_button")]
    assert "Balanced manifest (CSV)" in labels and "Recipe (JSON)" in labels
    current = at.session_state[state.DATASET]
    recipe = at.session_state[state.RECIPE]
    app_bytes = table_csv(run(recipe, current.dataset).resampled.manifest)
    (tmp_path / "recipe.json").write_bytes(recipe.to_json())
    (tmp_path / current.name).write_bytes(face_antispoofing_csv())
    result = subprocess.run(
        [sys.executable, "-m", "balance_core", "apply", "recipe.json", current.name,
         "-o", "out.csv"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "out.csv").read_bytes() == app_bytes
    assert json.loads(recipe.to_json())["seed"] == 11


def test_label_variant_merge_button_feeds_the_balance_page():
    rows = ["cat"] * 30 + ["Cat"] * 5 + ["dog"] * 20
    at = start()
    upload(at, "pets.csv", ("label\n" + "\n".join(rows) + "\n").encode())
    at.switch_page("pages/1_Overview.py").run()
    merge = next(b for b in at.button if b.label.startswith("Merge"))
    merge.click().run()
    assert at.session_state[state.MAPPING] == {"Cat": "cat"}
    balance(at)
    at.segmented_control[0].set_value("undersample").run()
    assert metric(at, "Rows") == "40"  # cat 35 -> 20, dog 20


def test_hostile_labels_are_escaped_and_many_classes_fold():
    labels = ["<b>bold</b>", "[x](javascript:alert(1))", ":red[alarm]", "=cmd|' /C calc'!A0"]
    labels += [f"class_{i:02d}" for i in range(40)]
    text = "label\n" + "".join(f'"{label}"\n' * (100 - i) for i, label in enumerate(labels))
    at = start()
    upload(at, "evil.csv", text.encode())
    for page in PAGES:
        at.switch_page(page).run()
        assert not at.exception, page
    at.switch_page("pages/1_Overview.py").run()
    for element in at.markdown:
        assert "<b>bold</b>" not in element.value
        assert "](javascript:" not in element.value
    chart = json.loads(at.get("plotly_chart")[0].proto.spec)
    names = chart["data"][0]["x"]
    assert "&lt;b&gt;bold&lt;/b&gt;" in names
    assert len(names) == 30 and names[-1].endswith("smaller classes")


def test_zip_with_the_export_page_offers_the_balanced_zip():
    at = start()
    at.button(key="home.example.defect_photos").click().run()
    balance(at)
    at.segmented_control[0].set_value("undersample").run()
    at.switch_page("pages/3_Export.py").run()
    assert not at.exception
    assert "Balanced zip of images" in [b.label for b in at.get("download_button")]
    recipe = at.session_state[state.RECIPE]
    outcome = run(recipe, at.session_state[state.DATASET].dataset)
    from balance_core.export import balanced_zip

    archive = zipfile.ZipFile(
        io.BytesIO(balanced_zip(defect_photos_zip(), outcome.resampled.manifest))
    )
    assert len(archive.namelist()) == outcome.resampled.manifest.num_rows


def test_the_uploader_is_emptied_once_a_file_is_handled():
    # Streamlit deep-copies a widget's value on every rerun; a file left in the
    # uploader would be copied whole on every click.
    at = start()
    upload(at, "mine.csv", b"label\na\nb\nb\n")
    assert at.file_uploader[0].value is None
    assert at.session_state[state.DATASET].name == "mine.csv"
    upload(at, "broken.csv", b"")
    assert at.file_uploader[0].value is None
    assert len(at.error) == 1 and "empty" in at.error[0].value
    at.run()  # the next click: the message has been read, the data is unchanged
    assert not at.error and at.session_state[state.DATASET].name == "mine.csv"
    upload(at, "mine.csv", b"label\na\nb\nb\n")  # the same file again is read again
    assert not at.error and metric(at, "Rows") == "3"


def test_changing_a_column_role_reanalyses_and_every_page_follows():
    at = start()
    csv = b"file,kind,site\n" + b"".join(
        f"img{i}.png,{'a' if i % 4 else 'b'},{'x' if i % 2 else 'y'}\n".encode() for i in range(40)
    )
    upload(at, "roles.csv", csv)
    assert at.session_state[state.DATASET].dataset.roles.label == "kind"
    assert metric(at, "Classes") == "2"
    label = next(s for s in at.selectbox if s.label == "Label")
    label.set_value("site").run()
    assert not at.exception, at.exception
    current = at.session_state[state.DATASET]
    assert current.dataset.roles.label == "site"
    expected = bc.analyze(bc.read_dataset(csv, name="roles.csv").with_roles(label="site"))
    assert current.distribution.counts == expected.distribution.counts == {"x": 20, "y": 20}
    group = next(s for s in at.selectbox if s.label == "Group")
    group.set_value("kind").run()
    assert not at.exception, at.exception
    assert at.session_state[state.DATASET].dataset.roles.group == "kind"
    assert at.session_state[state.DATASET].dataset.roles.label == "site"
    for page in PAGES:
        at.switch_page(page).run()
        assert not at.exception, (page, at.exception)
        assert not at.error, (page, [e.value for e in at.error])


def test_a_split_with_one_class_gets_one_sentence_and_another_split_works():
    at = start()
    csv = (
        b"label,split\n"
        + b"".join(f"{'a' if i % 3 else 'b'},train\n".encode() for i in range(30))
        + b"a,test\n" * 5
    )
    upload(at, "one_class_test.csv", csv)
    at.switch_page("pages/2_Balance.py").run()
    next(s for s in at.selectbox if s.label == "Split to balance").set_value("test").run()
    assert not at.exception, at.exception
    assert [e.value for e in at.error] == [
        md("There is only one class ('a'); balancing needs at least two.")
    ]
    next(s for s in at.selectbox if s.label == "Split to balance").set_value("train").run()
    assert not at.error and not at.exception


def test_a_mapping_that_merges_every_class_stops_the_balance_page_with_a_note():
    at = start()
    upload(at, "two.csv", b"label\n" + b"a\n" * 6 + b"b\n" * 2)
    at.session_state[state.MAPPING] = {"b": "a"}
    at.switch_page("pages/2_Balance.py").run()
    assert not at.exception and not at.error
    assert [i.value for i in at.info] == [
        "The label mapping leaves 1 class to balance; keep at least two."
    ]
    at.session_state[state.MAPPING] = {}
    at.run()
    assert not at.info and not at.exception and not at.error


def test_the_balance_page_says_what_to_do_and_starts_from_it():
    at = start()  # lung CT: plenty of cancer slices, undersampling is cheap
    balance(at)
    texts = [m.value for m in at.markdown]
    assert any(t.startswith("**Undersample the larger classes") for t in texts), texts
    assert at.segmented_control[0].value == "undersample"
    upload(at, "tiny.csv", b"label\n" + b"a\n" * 300 + b"b\n" * 200 + b"c\n" * 1)
    balance(at)
    texts = [m.value for m in at.markdown]
    assert any("tiny class" in t and "'c'" in frame_md_free(t) for t in texts), texts
    assert at.segmented_control[0].value == "weights"  # cannot gut the data


def frame_md_free(text: str) -> str:
    return text.replace("\\", "")


def test_all_rows_warns_that_validation_and_test_are_resampled_and_shows_both_ratios():
    at = start()
    at.button(key="home.example.face_antispoofing").click().run()
    balance(at)
    captions = [c.value for c in at.caption]
    assert any(c.startswith("Imbalance of") and "all rows" in c for c in captions), captions
    assert not [w for w in at.warning if "validation and test" in w.value]
    next(s for s in at.selectbox if s.label == "Split to balance").set_value("(all rows)").run()
    assert [w for w in at.warning if "validation and test" in w.value]


def test_keep_the_mix_of_offers_only_columns_that_can_stratify():
    rows = "".join(
        f"{i}.png,{'a' if i % 5 else 'b'},{i * 0.37:.3f},{('x', 'y')[i % 2]},id{i}\n"
        for i in range(400)
    )
    at = start()
    upload(at, "mix.csv", ("path,label,score,site,uid\n" + rows).encode())
    balance(at)
    at.segmented_control[0].set_value("undersample").run()
    box = next(s for s in at.selectbox if s.label == "Keep the mix of")
    assert box.options == ["(none)", "site"]


def test_many_classes_fold_the_tables_and_the_ratio_control_spans_any_range():
    rows = "".join(f"{i}.png,cls_{i % 1000 if i % 3 else 0}\n" for i in range(30000))
    at = start()
    upload(at, "many.csv", ("path,label\n" + rows).encode())
    balance(at)
    at.segmented_control[0].set_value("undersample").run()
    table = next(d.value for d in at.dataframe if "before" in d.value.columns)
    assert len(table) == 29  # the 29 largest, as the chart draws them
    at.toggle(key="balance.all.plan").set_value(True).run()
    table = next(d.value for d in at.dataframe if "before" in d.value.columns)
    assert len(table) == 1000
    assert list(table["class"][:3]) == ["cls_0", "cls_1", "cls_2"]  # natural order
    assert table["class"].iloc[10] == "cls_10"
    at.radio(key=next(r.key for r in at.radio if r.label == "Target")).set_value("ratio").run()
    slider = next(s for s in at.select_slider if s.label.startswith("Largest / smallest"))
    assert len(slider.options) < 60
    assert slider.options[0] == "1 : 1" and slider.options[-1].startswith("1 : ")


def test_every_sample_counts_turns_the_advice_to_class_weights():
    at = start()  # lung CT: undersampling advised from the counts alone
    balance(at)
    assert at.segmented_control[0].value == "undersample"
    next(t for t in at.toggle if t.label.startswith("Every sample")).set_value(True).run()
    texts = [m.value for m in at.markdown]
    assert any(t.startswith("**Use class weights") for t in texts), texts
