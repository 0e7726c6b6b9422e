"""Hostile text in a real browser (issue 14, "The browser").

A real ``streamlit run`` server and Debian's Chromium. The uploaded file's name, its
column names and its labels carry Markdown links, HTML, ``:color[]`` directives,
``$math$``, ``**bold**``, a leading ``#`` and ``|`` table pipes. On every page the DOM
must hold no link to evil.example, no image from user text, no colour span, no KaTeX,
no heading, bold or table made of user text, and the literal text must show.
Screenshots land in ``test-artifacts/screenshots/hostile_*.png``.
"""

from __future__ import annotations

import csv
import io

import pytest
from browser_harness import (
    ChromiumMissing,
    chromium,
    go,
    new_page,
    shot,
    streamlit_server,
    wait_idle,
)

pytestmark = pytest.mark.browser

FILE_NAME = "<img src=x onerror=alert(1)>[x](https://evil.example) :red[alarm] $x$.csv"
LABEL_COLUMN = "label [c](https://evil.example) :red[colour] $y$"
OTHER_COLUMN = "**boldcol** <img src=x> | pipe"
LABELS = {
    "<img src=x onerror=alert(2)>": 30,
    "[x](https://evil.example)": 20,
    ":red[alarm] $x$": 12,
    "**bold**": 8,
    "# heading": 6,
    "a | b | c": 5,
}
PAGES = ("Home", "Overview", "Balance", "Export", "Splits")

# Evaluated on the page: what user text would have produced had it been rendered.
PROBE = """() => {
  const main = document.querySelector("[data-testid='stApp']");
  const exact = (selector, text) => [...main.querySelectorAll(selector)]
      .filter(e => e.textContent.trim() === text).length;
  return {
    evil_links: [...document.querySelectorAll("a[href]")]
        .filter(a => a.getAttribute("href").includes("evil.example"))
        .map(a => (a.closest("[data-testid]") || a).outerHTML.slice(0, 300)),
    user_images: [...document.querySelectorAll("img")]
        .filter(i => i.getAttribute("src") === "x" || i.src.endsWith("/x")).length,
    onerror: document.querySelectorAll("[onerror]").length,
    katex: document.querySelectorAll(".katex, .katex-display, math").length,
    red_spans: [...main.querySelectorAll("span")].filter(s =>
        ["alarm", "colour"].includes(s.textContent.trim())).length,
    bold: exact("strong, b", "bold") + exact("strong, b", "boldcol"),
    headings: exact("h1, h2, h3, h4, h5, h6", "heading"),
    tables: main.querySelectorAll("[data-testid='stMarkdownContainer'] table").length,
    // The word joiner that breaks autolinks is invisible: the text reads without it.
    text: (main.innerText + " " + [...main.querySelectorAll("svg text")]
        .map(t => t.textContent).join(" ")).replace(/\u2060/g, ""),
  };
}"""


def hostile_csv() -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([LABEL_COLUMN, OTHER_COLUMN])
    i = 0
    for label, count in LABELS.items():
        for _ in range(count):
            writer.writerow([label, f"v{i}"])
            i += 1
    return out.getvalue().encode()


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


def assert_inert(page, name: str) -> str:
    found = page.evaluate(PROBE)
    text = found.pop("text")
    assert found == {
        "evil_links": [],
        "user_images": 0,
        "onerror": 0,
        "katex": 0,
        "red_spans": 0,
        "bold": 0,
        "headings": 0,
        "tables": 0,
    }, name
    return text


def test_hostile_name_columns_and_labels_stay_text_on_every_page(server, browser):
    page = new_page(browser)
    page.goto(server)
    wait_idle(page)
    # "/" cannot be in a file name on disk: the browser is handed the bytes and the name.
    sidebar = page.get_by_test_id("stSidebar")
    sidebar.locator("input[type='file']").set_input_files(
        {"name": FILE_NAME, "mimeType": "text/csv", "buffer": hostile_csv()}
    )
    sidebar.get_by_test_id("stCaptionContainer").filter(has_text="evil.example").wait_for()
    wait_idle(page)
    seen: dict[str, str] = {}
    for name in PAGES:
        go(page, server, name)
        page.get_by_test_id("stMain").wait_for()
        if name in ("Home", "Overview", "Balance"):
            page.locator(".js-plotly-plot").first.wait_for()
        page.wait_for_timeout(500)  # Plotly and Markdown finish drawing after the run
        shot(page, f"hostile_{name.lower()}")
        seen[name] = assert_inert(page, name)
        assert "went wrong" not in seen[name], name
    # The literal text shows: the file name in the sidebar, the labels and the label
    # column in the pages' bodies and charts.
    sidebar = page.get_by_test_id("stSidebar").inner_text().replace("\u2060", "")
    assert FILE_NAME in sidebar
    for name in ("Home", "Overview", "Balance"):
        assert "[x](https://evil.example)" in seen[name], name
        assert ":red[alarm] $x$" in seen[name], name
    assert any(LABEL_COLUMN in text for text in seen.values())
    # The class-weights preview draws another figure from the labels.
    go(page, server, "Balance")
    page.get_by_text("Class weights", exact=True).click()
    wait_idle(page)
    page.wait_for_timeout(500)
    shot(page, "hostile_balance_weights")
    assert_inert(page, "Balance (class weights)")
    page.close()
    page.context.close()
