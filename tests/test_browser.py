"""End to end in a real browser: a real Streamlit server and Debian's Chromium.

Screenshots of every page land in ``test-artifacts/screenshots`` (light and dark).
In CI a missing browser fails the run; it is never skipped.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from pathlib import Path

import pytest

from balance_core.examples import defect_photos_zip, lung_ct_csv

ROOT = Path(__file__).resolve().parents[1]
SHOTS = ROOT / "test-artifacts" / "screenshots"
pytestmark = pytest.mark.browser

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


def chromium_path() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:
        pytest.fail(
            "Chromium is not installed: run `apt-get install chromium` (scripts/test.sh does)."
        )
    return found


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def server():
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("STREAMLIT_")}
    # The log goes to a file: an unread pipe fills at 64 KB and then blocks the server.
    log = tempfile.TemporaryFile()  # noqa: SIM115 (open for the server's lifetime)
    process = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true",
         "--browser.gatherUsageStats", "false"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    break
        except OSError:
            time.sleep(0.3)
    else:
        process.kill()
        log.seek(0)
        output = log.read().decode(errors="replace")
        pytest.fail(f"Streamlit did not become healthy in 60 s:\n{output[-3000:]}")
    yield url
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
    log.close()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        yield instance
        instance.close()


def open_page(browser, url: str, *, dark: bool = False):
    context = browser.new_context(
        viewport={"width": 1400, "height": 1000},
        color_scheme="dark" if dark else "light",
        accept_downloads=True,
    )
    page = context.new_page()
    page.set_default_timeout(30_000)
    page.goto(url)
    wait_idle(page)
    return page


def wait_idle(page) -> None:
    """Wait until the script run triggered by the last action has finished."""
    page.wait_for_timeout(250)
    page.wait_for_selector(
        "[data-testid='stApp'][data-test-script-state='notRunning']", timeout=60_000
    )
    page.wait_for_timeout(250)


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def go(page, url: str, name: str) -> None:
    """Navigate inside the app (a fresh page load would start a new session)."""
    page.locator("[data-testid='stSidebar'] a", has_text=name).first.click()
    page.wait_for_url(f"{url}/{name}")
    wait_idle(page)


def upload(page, tmp_path: Path, name: str, data: bytes) -> None:
    file = tmp_path / name
    file.write_bytes(data)
    page.locator("[data-testid='stSidebar'] input[type='file']").set_input_files(str(file))
    # Once read, the uploader empties and the sidebar's caption names the file.
    sidebar = page.locator("[data-testid='stSidebar']")
    sidebar.get_by_test_id("stCaptionContainer").filter(has_text=name).wait_for()
    wait_idle(page)
    assert sidebar.get_by_test_id("stFileUploaderFile").count() == 0


def download(page, button: str) -> bytes:
    with page.expect_download() as info:
        page.get_by_role("button", name=button).click()
    return Path(info.value.path()).read_bytes()


def test_csv_upload_overview_balance_and_downloads(server, browser, tmp_path):
    page = open_page(browser, server)
    shot(page, "home")
    data = lung_ct_csv().replace(b"LIDC-0001,", b"LIDC-0001,")  # the lung example, uploaded
    upload(page, tmp_path, "uploaded_lung.csv", data)
    page.get_by_text("uploaded_lung.csv").first.wait_for()
    go(page, server, "Overview")
    page.locator(".js-plotly-plot").first.wait_for()
    shot(page, "overview")
    metrics = page.get_by_test_id("stMetricValue").all_inner_texts()
    assert "1 : 6" in metrics

    go(page, server, "Balance")
    page.locator(".js-plotly-plot").first.wait_for()
    shot(page, "balance_undersample")
    page.get_by_text("Class weights", exact=True).click()
    wait_idle(page)
    page.get_by_test_id("stMetricLabel").filter(has_text="Largest weight").wait_for()
    shot(page, "balance_weights")
    page.get_by_text("Compare all strategies").scroll_into_view_if_needed()
    shot(page, "balance_compare")

    go(page, server, "Export")
    payload = json.loads(download(page, "Class weights (JSON)"))
    n_cancer, n_normal = payload["counts"]["cancer"], payload["counts"]["normal"]
    total = n_cancer + n_normal
    assert payload["weights"]["cancer"] == pytest.approx(total / (2 * n_cancer))
    shot(page, "export_weights")

    go(page, server, "Balance")
    page.get_by_text("Undersample", exact=True).click()
    wait_idle(page)
    go(page, server, "Export")
    manifest = list(csv.DictReader(io.StringIO(download(page, "Balanced manifest (CSV)").decode())))
    counts = Counter(row["diagnosis"] for row in manifest)  # the user's column name
    assert counts["cancer"] == counts["normal"] == n_cancer
    shot(page, "export_manifest")
    page.context.close()


def test_zip_upload_shows_gallery(server, browser, tmp_path):
    page = open_page(browser, server)
    upload(page, tmp_path, "defects.zip", defect_photos_zip())
    go(page, server, "Overview")
    page.get_by_text("Images", exact=True).wait_for()
    page.locator("[data-testid='stImage'] img").first.wait_for()
    assert page.locator("[data-testid='stImage'] img").count() >= 3
    shot(page, "overview_zip")
    page.context.close()


def test_bad_upload_shows_one_sentence_and_app_stays_usable(server, browser, tmp_path):
    page = open_page(browser, server)
    file = tmp_path / "broken.csv"
    file.write_bytes(b"label,path\na,1\nb,2,3\n")
    page.locator("[data-testid='stSidebar'] input[type='file']").set_input_files(str(file))
    page.locator("[data-testid='stAlertContentError']").first.wait_for()
    text = page.locator("[data-testid='stAlertContentError']").first.inner_text()
    assert "line 3" in text and "Traceback" not in page.content()
    shot(page, "bad_upload")
    go(page, server, "Overview")
    page.locator(".js-plotly-plot").first.wait_for()
    page.context.close()


def test_changing_column_roles_keeps_the_columns_panel_open(server, browser):
    page = open_page(browser, server)  # the lung example, its roles guessed
    page.set_viewport_size({"width": 1400, "height": 1500})  # room for the dropdowns
    go(page, server, "Overview")
    sidebar = page.get_by_test_id("stSidebar")
    # The columns panel sits at the top of every page, open the first time it is seen.
    if not page.get_by_role("combobox", name="Label").is_visible():
        page.get_by_text("Columns:").first.click()
        wait_idle(page)

    def pick(role: str, option: str) -> None:
        page.get_by_role("combobox", name=role).click()
        page.get_by_role("option", name=option, exact=True).click()
        wait_idle(page)

    pick("Group", "(none)")
    # The panel stays open for the next pick...
    assert page.get_by_role("combobox", name="Label").is_visible()
    pick("Label", "scanner")
    # ...and every pick is analysed: three scanners, no group to spread over.
    sidebar.get_by_test_id("stCaptionContainer").filter(
        has_text="7,432 rows · 3 classes"
    ).wait_for()
    go(page, server, "Balance")
    page.locator(".js-plotly-plot").first.wait_for()
    assert page.get_by_text("Spread over groups").count() == 0
    assert page.get_by_test_id("stException").count() == 0
    shot(page, "balance_after_role_change")
    page.context.close()


def test_dark_theme_pages(server, browser):
    page = open_page(browser, server, dark=True)
    shot(page, "home_dark")
    for name in ("Overview", "Balance", "Export"):
        go(page, server, name)
        page.wait_for_timeout(500)
        shot(page, f"{name.lower()}_dark")
    page.context.close()


def test_detection_upload_overview_and_balance(server, browser, tmp_path):
    from balance_core.detection_examples import road_objects

    page = open_page(browser, server)
    upload(page, tmp_path, "street_coco.zip", road_objects(format="coco"))
    go(page, server, "Overview")
    page.locator(".js-plotly-plot").first.wait_for()
    metrics = dict(
        zip(
            page.get_by_test_id("stMetricLabel").all_inner_texts(),
            page.get_by_test_id("stMetricValue").all_inner_texts(),
            strict=True,
        )
    )
    assert metrics["Images"] == "60"
    assert page.locator(".js-plotly-plot").count() == 3  # seesaw, box sizes, boxes per image
    shot(page, "overview_detection")
    page.get_by_test_id("stButtonGroup").get_by_text("images", exact=True).click()
    wait_idle(page)
    shot(page, "overview_detection_images")
    page.get_by_text("Box sizes", exact=True).scroll_into_view_if_needed()
    shot(page, "overview_detection_sizes")

    go(page, server, "Balance")
    page.locator(".js-plotly-plot").nth(1).wait_for()  # images and boxes before / after
    labels = page.get_by_test_id("stMetricLabel").all_inner_texts()
    assert "Images after" in labels
    shot(page, "balance_detection")
    page.get_by_text("Boxes per class, before and after").scroll_into_view_if_needed()
    shot(page, "balance_detection_boxes")
    page.context.close()


def test_multilabel_overview_heatmap(server, browser, tmp_path):
    from balance_core.detection_examples import chest_xray_table

    page = open_page(browser, server)
    upload(page, tmp_path, "chexpert.csv", chest_xray_table())
    go(page, server, "Overview")
    page.locator(".js-plotly-plot").nth(1).wait_for()  # positives, co-occurrence
    assert page.locator(".js-plotly-plot .heatmaplayer").count() == 1
    shot(page, "overview_multilabel")
    page.get_by_text("Co-occurrence", exact=True).scroll_into_view_if_needed()
    shot(page, "overview_multilabel_cooccurrence")
    page.context.close()
