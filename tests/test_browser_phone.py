"""Phone width, 390 x 844 (issue 10, item 15), in a real Chromium against ``streamlit run``.

On every page: the Plotly toolbar (modebar), shown when the chart is hovered, does not
cover the chart's title or legend; a table's toolbar does not cover the element above
the table; and the sidebar, opened to follow a page link, is off the page once the new
page shows. Screenshots of each page (the whole scrolled length, and the hovered chart)
land in ``test-artifacts/screenshots/phone_*.png``.
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
    shot,
    streamlit_server,
    wait_idle,
)

pytestmark = pytest.mark.browser
WIDTH, HEIGHT = 390, 844

BOX = "e => { if (!e) return null; const b = e.getBoundingClientRect(); "
BOX += "return b.width && b.height ? [b.left, b.top, b.right, b.bottom] : null; }"
CHART_PARTS = f"""(plot) => {{
  const box = {BOX};
  const modebar = plot.querySelector('.modebar');
  const m = box(modebar);
  // Drawn, not clipped: the point at the modebar's centre belongs to the modebar.
  const hit = m && document.elementFromPoint((m[0] + m[2]) / 2, (m[1] + m[3]) / 2);
  return {{
    modebar: m,
    shown: Boolean(hit && modebar.contains(hit)),
    covered: [...plot.querySelectorAll('.gtitle, .legend')].map(box).filter(Boolean),
  }};
}}"""
TABLE_PARTS = f"""(table) => {{
  const box = {BOX};
  const holder = table.closest('[data-testid=stElementContainer]');
  let above = holder.previousElementSibling;
  while (above && !box(above)) above = above.previousElementSibling;
  return {{
    toolbar: box(holder.querySelector('[data-testid=stElementToolbar]')),
    above: box(above),
  }};
}}"""


def overlap(a, b) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


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


def whole_page_shot(page, name: str) -> None:
    """Streamlit scrolls inside its main element: grow the viewport to its length."""
    length = page.get_by_test_id("stMain").evaluate("e => e.scrollHeight")
    page.set_viewport_size({"width": WIDTH, "height": min(int(length), 8000)})
    page.wait_for_timeout(400)
    shot(page, f"phone_{name.lower()}", full_page=False)
    page.set_viewport_size({"width": WIDTH, "height": HEIGHT})
    page.wait_for_timeout(400)


def test_phone_width_toolbars_and_sidebar(server, browser):
    page = new_page(browser, width=WIDTH, height=HEIGHT, offline=Offline())
    page.goto(server)
    wait_idle(page)
    sidebar = page.get_by_test_id("stSidebar")
    checked = {"charts": 0, "tables": 0}
    for name in PAGES:
        go(page, server, name)  # opens the sidebar and follows the page link
        page.wait_for_timeout(600)  # the sidebar's slide-out transition
        box = sidebar.bounding_box()
        assert box is None or box["x"] + box["width"] <= 1, (
            f"{name}: the sidebar stays over the page after navigation ({box})"
        )
        if name != "Export":
            page.locator(".js-plotly-plot").first.wait_for()
        whole_page_shot(page, name)
        for i, plot in enumerate(page.locator(".js-plotly-plot").all()):
            if not plot.is_visible():
                continue
            plot.scroll_into_view_if_needed()
            plot.hover()
            page.wait_for_timeout(300)
            parts = plot.evaluate(CHART_PARTS)
            assert parts["modebar"], f"{name}: chart {i} shows no toolbar on hover"
            assert parts["shown"], f"{name}: chart {i}'s toolbar is hidden or clipped"
            shot(page, f"phone_{name.lower()}_chart{i}", full_page=False)
            for covered in parts["covered"]:
                assert not overlap(parts["modebar"], covered), (
                    f"{name}: chart {i}'s toolbar {parts['modebar']} covers {covered}"
                )
            checked["charts"] += 1
        for i, table in enumerate(page.get_by_test_id("stDataFrame").all()):
            if not table.is_visible():
                continue
            table.scroll_into_view_if_needed()
            table.hover()
            page.wait_for_timeout(300)
            parts = table.evaluate(TABLE_PARTS)
            assert parts["toolbar"], f"{name}: table {i} shows no toolbar on hover"
            if parts["above"]:
                assert not overlap(parts["toolbar"], parts["above"]), (
                    f"{name}: table {i}'s toolbar {parts['toolbar']} covers {parts['above']}"
                )
            checked["tables"] += 1
    # The pages hold charts and tables: a selector that found none would pass vacuously.
    assert checked["charts"] >= 3 and checked["tables"] >= 1, checked
    page.context.close()
