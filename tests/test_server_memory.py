"""A long-running server gives its memory back (issue 16): several large uploads in a
row through a real browser against one ``streamlit run`` server, every page visited
after each; the server's resident memory after the last is within two uploads'
working sets of idle and stops growing from the second upload on, and closing the
browser adds nothing (Streamlit ends the session; its cache pins go).

The server runs with ``cache_mb = 16`` (``SEESAW_CONFIG``), below one upload's
parsed table, so what the test sees is what a session holds, not what the cache may
keep for reuse. Figures go to ``test-artifacts/server_memory.json``.
"""

from __future__ import annotations

import json
import time

import pytest
from test_browser import open_page, wait_idle
from test_server_watchdog import (
    ARTIFACTS,
    Watchdog,
    browser,  # noqa: F401 - the fixture
    errors,
    send_file,
    start_server,
    stop_server,
    timed_go,
    wait_read,
)

pytestmark = pytest.mark.browser
UPLOADS = 4
ROWS = 400_000


def large_csv(k: int, rows: int = ROWS) -> bytes:
    lines = ["path,label,site,note"]
    lines += [f"u{k}/img_{i:07d}.png,class_{(i * 7 + k) % 5},site{i % 40},n{(i * 31) % 9973}"
              for i in range(rows)]  # fmt: skip
    return ("\n".join(lines) + "\n").encode()


def settled_rss(watchdog: Watchdog, seconds: float = 2.0) -> int:
    """The server's RSS after a moment (the smallest of a few samples, so a
    collection in progress is not counted)."""
    samples = []
    for _ in range(5):
        time.sleep(seconds / 5)
        samples.append(watchdog.server_rss())
    return min(samples)


def test_memory_after_several_large_uploads_stays_near_one_uploads_working_set(
    browser,  # noqa: F811
    tmp_path,
):
    config = tmp_path / "seesaw.toml"
    config.write_text("[server_budget]\ncache_mb = 16\n")
    process, url = start_server({"SEESAW_CONFIG": str(config)})
    figures: dict = {"rows_per_upload": ROWS, "after_upload_mb": []}
    try:
        with Watchdog(process.pid) as watchdog:
            page = open_page(browser, url)
            idle = settled_rss(watchdog)
            figures["idle_mb"] = idle / 1e6
            for k in range(UPLOADS):
                name = f"large_{k}.csv"
                data = large_csv(k)
                figures.setdefault("upload_mb", len(data) / 1e6)
                (tmp_path / name).write_bytes(data)
                send_file(page, tmp_path / name)
                wait_read(page, name)
                assert not errors(page), errors(page)
                for target, ready in (("Overview", "Counts"), ("Balance", "Compare all strategies"),
                                      ("Export", "Downloads")):  # fmt: skip
                    timed_go(page, url, target, ready)
                    assert not errors(page), (target, errors(page))
                page.locator("[data-testid='stSidebar'] a", has_text="Home").first.click()
                wait_idle(page)
                figures["after_upload_mb"].append(settled_rss(watchdog) / 1e6)
            page.context.close()
            time.sleep(3)
            figures["after_close_mb"] = settled_rss(watchdog) / 1e6
            figures["peak_tree_mb"] = watchdog.peak / 1e6
    finally:
        stop_server(process)
        ARTIFACTS.mkdir(exist_ok=True)
        (ARTIFACTS / "server_memory.json").write_text(json.dumps(figures, indent=2))
        print(json.dumps(figures, indent=2))
    after = figures["after_upload_mb"]
    working_set = after[0] - figures["idle_mb"]
    figures["working_set_mb"] = working_set
    # Stated bound: after four uploads the server holds at most two working sets above
    # idle (the current upload, and the previous one until Streamlit lets go of the
    # last run's references), and grows by less than one more from the second on (issue
    # 16 saw +1.3 GB per 300 MB upload, never given back).
    assert after[-1] - figures["idle_mb"] <= 2 * working_set, figures
    # Growth from the second upload to the last stays within one working set (runs
    # here: +0 to +33 MB over two 16 MB uploads; the allocator's reuse varies).
    assert after[-1] <= after[1] + working_set, figures
    # A closed session adds nothing (its pins are dropped; what the allocator keeps
    # for reuse is not handed back to the system in this window).
    assert figures["after_close_mb"] <= after[-1] + 8, figures
