"""No request leaves the machine (issue 10, item 14).

A real ``streamlit run`` server and Debian's Chromium; every request the pages make is
routed, and one for a host other than this machine is aborted and fails the test. Every
page is visited with the example dataset, after a CSV upload and after a zip upload
(whose thumbnails and gallery are further requests).
"""

from __future__ import annotations

import pytest
from browser_harness import (
    PAGES,
    ChromiumMissing,
    Offline,
    chromium,
    go,
    new_page,
    streamlit_server,
    upload,
    wait_idle,
)

from balance_core.examples import defect_photos_zip, lung_ct_csv

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server():
    with streamlit_server() as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    try:
        with chromium() as instance:
            yield instance
    except ChromiumMissing as error:
        pytest.fail(str(error))


def visit_every_page(page, url: str) -> None:
    for name in PAGES:
        go(page, url, name)
        page.get_by_test_id("stMain").wait_for()
        if name != "Export":
            page.locator(".js-plotly-plot").first.wait_for()
        # Lazy chunks, fonts and the favicon arrive after the script run ends.
        page.wait_for_load_state("networkidle")
        favicon = page.locator("link[rel='shortcut icon']").get_attribute("href") or ""
        assert not favicon.startswith("http"), f"{name}: favicon {favicon[:80]}"


@pytest.mark.parametrize(
    "source",
    ["example", "csv", "zip"],
)
def test_no_request_leaves_the_machine(server, browser, tmp_path, source):
    offline = Offline()
    page = new_page(browser, offline=offline)
    page.goto(server)
    wait_idle(page)
    if source == "csv":
        upload(page, tmp_path, "uploaded_lung.csv", lung_ct_csv())
    elif source == "zip":
        upload(page, tmp_path, "defects.zip", defect_photos_zip())
    visit_every_page(page, server)
    if source == "zip":
        go(page, server, "Overview")
        page.locator("[data-testid='stImage'] img").first.wait_for()
        page.wait_for_load_state("networkidle")
    # The Balance page's strategies redraw the chart: still nothing from outside.
    go(page, server, "Balance")
    page.get_by_text("Class weights", exact=True).click()
    wait_idle(page)
    page.close()
    page.context.close()
    assert offline.local > 20, "the route saw too few requests to have seen the pages"
    assert offline.blocked == [], "requests left the machine: " + ", ".join(
        sorted(set(offline.blocked))
    )
