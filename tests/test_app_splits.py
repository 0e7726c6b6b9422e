"""Issue 13 in the dashboard: the Splits page checks the current splits and makes new
ones whose download equals what the shown command writes; the Overview offers the
same HTML report as the CLI's ``report``."""

from __future__ import annotations

import csv
import io
import shlex
import subprocess
import sys

from app_session import start, unescaped, upload
from test_app_replay import download, served  # noqa: F401  (fixture)

# 8 patients; patient p0 has scans in train and test (leakage), and the test split
# has no "rare" scan at all.
LEAKY = b"path,finding,patient,split\n" + b"".join(
    f"s{i}.png,{'rare' if i % 6 == 0 else 'common'},p{i % 8},"
    f"{'test' if i % 8 in (0, 7) and i % 6 else 'train'}\n".encode()
    for i in range(96)
)


def splits_page(at):
    return at.switch_page("pages/4_Splits.py").run()


def run_shown_command(at, tmp_path, data: bytes) -> bytes:
    code = next(c.value for c in at.code if c.value.startswith("python -m balance_core split"))
    command = shlex.split(code)
    input_name, record_name, output_name = command[4], command[6], command[8]
    (tmp_path / input_name).write_bytes(data)
    (tmp_path / record_name).write_bytes(download(at, at._served, "Split record (JSON)"))
    result = subprocess.run(
        [sys.executable, *command[1:]], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    return (tmp_path / output_name).read_bytes()


def test_current_splits_are_checked(served):  # noqa: F811
    at = start()
    upload(at, "scans.csv", LEAKY)
    splits_page(at)
    assert not at.exception, at.exception
    messages = [unescaped(m.value) for m in (*at.error, *at.warning, *at.info)]
    assert any("rare" in m and "test" in m for m in messages), messages  # missing class
    assert any("p0" in m for m in messages), messages  # the leaking patient
    assert {m.label for m in at.metric} >= {"Largest mix distance", "Chi-square p-value"}


def test_a_resplit_download_equals_the_replayed_command(served, tmp_path):  # noqa: F811
    at = start()
    upload(at, "scans.csv", LEAKY)
    splits_page(at)
    at._served = served
    at.text_input[0].set_value("train=0.75,test=0.25")
    next(b for b in at.button if b.label == "Make the splits").click().run()
    assert not at.exception, at.exception
    assert not [e for e in at.error if e.icon == ":material/error:"], at.error
    manifest = download(at, served, "Manifest with splits (CSV)")
    rows = list(csv.DictReader(io.StringIO(manifest.decode())))
    assert len(rows) == 96  # every row kept, under the user's column names
    split_of_patient: dict[str, set[str]] = {}
    for row in rows:
        split_of_patient.setdefault(row["patient"], set()).add(row["split"])
    assert all(len(s) == 1 for s in split_of_patient.values())  # no patient in two splits
    assert {row["finding"] for row in rows if row["split"] == "test"} == {"rare", "common"}
    assert run_shown_command(at, tmp_path, LEAKY) == manifest


def test_label_picked_in_the_app_replays(served, tmp_path):  # noqa: F811
    data = b"file,kind,site\n" + b"".join(
        f"img{i}.png,{'a' if i % 4 else 'b'},{'x' if i % 3 else 'y'}\n".encode() for i in range(60)
    )
    at = start()
    upload(at, "roles.csv", data)
    splits_page(at)
    next(s for s in at.selectbox if s.label == "Label").set_value("site").run()
    at._served = served
    next(b for b in at.button if b.label == "Make the splits").click().run()
    assert not at.error, [e.value for e in at.error]
    manifest = download(at, served, "Manifest with splits (CSV)")
    assert run_shown_command(at, tmp_path, data) == manifest
    rows = list(csv.DictReader(io.StringIO(manifest.decode())))
    # Stratified by the column picked: each split holds y at its overall share (1/3).
    for name in ("train", "val", "test"):
        sites = [r["site"] for r in rows if r["split"] == name]
        assert abs(sites.count("y") / len(sites) - 1 / 3) < 0.1, (name, sites)


def test_overview_report_equals_the_cli_report(served, tmp_path):  # noqa: F811
    at = start()
    upload(at, "scans.csv", LEAKY)
    at.switch_page("pages/1_Overview.py").run()
    assert not at.exception, at.exception
    html = download(at, served, "Report (HTML, opens offline)")
    (tmp_path / "scans.csv").write_bytes(LEAKY)
    result = subprocess.run(
        [sys.executable, "-m", "balance_core", "report", "scans.csv", "-o", "r.html"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode in (0, 1), result.stderr
    assert (tmp_path / "r.html").read_bytes() == html
    assert b"p0" in html  # the leaking patient named in the report
