"""Item 3 of issue 10: the Export page's downloads equal what its shown command writes,
from every path through the app, for tables, workbooks and zips.

Each test walks the app under AppTest, takes the bytes the download buttons would serve
(the very callables or bytes the page hands to st.download_button), writes the recipe and
the input to a folder, runs the command the page shows in a real CLI subprocess, and
compares bytes.
"""

from __future__ import annotations

import csv
import io
import shlex
import subprocess
import sys

import openpyxl
import pytest
from app_session import start, upload
from streamlit.runtime.media_file_manager import MediaFileManager

from balance_core.examples import defect_photos_zip
from ui import state


@pytest.fixture
def served(monkeypatch):
    """file id / URL -> the callable or bytes behind each download button."""
    seen: dict[str, object] = {}
    add, add_deferred = MediaFileManager.add, MediaFileManager.add_deferred

    def spy_add(
        self, path_or_data, mimetype, coordinates, file_name=None, is_for_static_download=False
    ):
        url = add(self, path_or_data, mimetype, coordinates, file_name, is_for_static_download)
        seen[url] = path_or_data
        return url

    def spy_deferred(self, data_callable, mimetype, coordinates, file_name=None, **kwargs):
        file_id = add_deferred(self, data_callable, mimetype, coordinates, file_name, **kwargs)
        seen[file_id] = data_callable
        return file_id

    monkeypatch.setattr(MediaFileManager, "add", spy_add)
    monkeypatch.setattr(MediaFileManager, "add_deferred", spy_deferred)
    return seen


def download(at, served, label: str) -> bytes:
    button = next(b for b in at.get("download_button") if b.proto.label == label)
    proto = button.proto
    source = served[proto.deferred_file_id] if proto.deferred_file_id else served[proto.url]
    data = source() if callable(source) else source
    return data.encode() if isinstance(data, str) else bytes(data)


def shown_command(at) -> list[str]:
    code = next(c.value for c in at.code if c.value.startswith("python -m balance_core apply"))
    return shlex.split(code)


def replay(at, served, tmp_path, data: bytes, download_label: str) -> None:
    """Write the recipe and the input as the user would, run the shown command, and
    compare its output with the download."""
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    command = shown_command(at)
    recipe_name, input_name, output_name = command[4], command[5], command[7]
    (tmp_path / recipe_name).write_bytes(download(at, served, "Recipe (JSON)"))
    (tmp_path / input_name).write_bytes(data)
    result = subprocess.run(
        [sys.executable, *command[1:]], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / output_name).read_bytes() == download(at, served, download_label)


def manifest_labels(data: bytes, name: str) -> list[str]:
    """The label of each manifest row, whether the manifest keeps the user's column
    name or calls it ``label``."""
    rows = list(csv.DictReader(io.StringIO(data.decode())))
    column = name if name in rows[0] else "label"
    return [row[column] for row in rows]


def export(at):
    return at.switch_page("pages/3_Export.py").run()


ROLES_CSV = b"file,kind,site\n" + b"".join(
    f"img{i}.png,{'a' if i % 4 else 'b'},{'x' if i % 3 else 'y'}\n".encode() for i in range(60)
)


def test_label_set_in_the_columns_panel_then_straight_to_export(served, tmp_path):
    at = start()
    upload(at, "roles.csv", ROLES_CSV)
    assert at.session_state[state.DATASET].dataset.roles.label == "kind"
    next(s for s in at.selectbox if s.label == "Label").set_value("site").run()
    export(at)
    recipe = at.session_state[state.DATASET].dataset.roles
    assert recipe.label == "site"
    replay(at, served, tmp_path, ROLES_CSV, "Balanced manifest (CSV)")
    sites = manifest_labels(download(at, served, "Balanced manifest (CSV)"), "site")
    assert sites.count("x") == sites.count("y") == 20  # balanced on the column picked


def test_zip_straight_to_export(served, tmp_path):
    at = start()
    upload(at, "defects.zip", defect_photos_zip())
    export(at)
    replay(at, served, tmp_path, defect_photos_zip(), "Balanced manifest (CSV)")


def test_zip_through_the_balance_page_with_a_seed(served, tmp_path):
    at = start()
    upload(at, "defects.zip", defect_photos_zip())
    at.switch_page("pages/2_Balance.py").run()
    at.segmented_control[0].set_value("oversample").run()
    seed = next(n for n in at.number_input if n.label == "Seed")
    seed.set_value(5).run()
    export(at)
    assert at.session_state[state.RECIPE].seed == 5
    replay(at, served, tmp_path, defect_photos_zip(), "Balanced manifest (CSV)")


def test_variants_merged_on_the_overview_then_export(served, tmp_path):
    rows = ["cat"] * 30 + ["Cat"] * 5 + ["dog"] * 20
    data = ("label\n" + "\n".join(rows) + "\n").encode()
    at = start()
    upload(at, "pets.csv", data)
    at.switch_page("pages/1_Overview.py").run()
    next(b for b in at.button if b.label.startswith("Merge")).click().run()
    export(at)
    replay(at, served, tmp_path, data, "Balanced manifest (CSV)")
    manifest = download(at, served, "Balanced manifest (CSV)").decode().splitlines()[1:]
    assert len(manifest) == 40  # cat and Cat together: 35 -> 20, dog 20


def test_weights_chosen_on_the_balance_page(served, tmp_path):
    at = start()
    upload(at, "roles.csv", ROLES_CSV)
    at.switch_page("pages/2_Balance.py").run()
    at.segmented_control[0].set_value("weights").run()
    export(at)
    replay(at, served, tmp_path, ROLES_CSV, "Class weights (JSON)")
    header = next(m.value for m in at.markdown if m.value.startswith("**"))
    assert header.startswith("**Class weights** · ") and "seed" not in header


def test_an_unusable_mapping_is_not_replaced_by_the_previous_recipe(served):
    at = start()
    upload(at, "two.csv", b"label\n" + b"a\n" * 6 + b"b\n" * 2 + b"c\n" * 3)
    at.switch_page("pages/2_Balance.py").run()
    at.segmented_control[0].set_value("oversample").run()
    at.session_state[state.MAPPING] = {"b": "a", "c": "a"}  # one class left
    at.run()
    export(at)
    assert not at.exception
    assert len(at.error) == 1 and "one class" in at.error[0].value
    assert not at.get("download_button")  # nothing offered from the earlier choice


def workbook_bytes() -> bytes:
    workbook = openpyxl.Workbook()
    readme = workbook.active
    readme.title = "README"
    readme.append(["About this workbook"])
    for title, label in (("scans", "finding"), ("other", "tissue")):
        sheet = workbook.create_sheet(title)
        sheet.append(["path", label])
        for index in range(40):
            sheet.append([f"{title}/{index}.png", "rare" if index % 5 == 0 else "common"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def test_a_workbook_with_a_readme_sheet_and_another_sheet_picked(served, tmp_path):
    data = workbook_bytes()
    at = start()
    upload(at, "scans.xlsx", data)
    current = at.session_state[state.DATASET]
    assert current.dataset.source.sheet == "scans"  # the README sheet skipped
    next(s for s in at.selectbox if s.label == "Sheet").set_value("other").run()
    assert not at.exception, at.exception
    current = at.session_state[state.DATASET]
    assert current.dataset.source.sheet == "other"
    assert current.dataset.roles.label == "tissue"
    export(at)
    assert at.session_state[state.DATASET].dataset.source.sheet == "other"
    replay(at, served, tmp_path, data, "Balanced manifest (CSV)")
    tissue = manifest_labels(download(at, served, "Balanced manifest (CSV)"), "tissue")
    assert tissue.count("rare") == tissue.count("common") == 8  # the other sheet's rows
