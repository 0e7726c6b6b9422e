"""One hostile session must not take the server down (issue 15), and a long-running
server gives its memory back (issue 16): a real ``streamlit run`` server with its
shipped settings, real Chromium, and a watchdog that samples the resident memory of
the server's whole process tree (worker processes included) every 50 ms.

Figures (peak memory, each ordinary page's time, memory after the uploads) are
printed and written to ``test-artifacts/server_watchdog.json``.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import psutil
import pytest
from server_bombs import metadata_flood_zip, parquet_dictionary_bomb
from test_browser import CHROMIUM_ARGS, chromium_path, free_port, open_page, wait_idle

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts"
pytestmark = pytest.mark.browser
PAGE_SECONDS = 5.0
PEAK_BYTES = 2 * 1024**3
ROWS = 100_000


class Watchdog:
    """Samples the summed RSS of a process and all its descendants."""

    def __init__(self, pid: int) -> None:
        self.root = psutil.Process(pid)
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def rss(self) -> int:
        total = 0
        for process in [self.root, *self.root.children(recursive=True)]:
            with contextlib.suppress(psutil.Error):
                total += process.memory_info().rss
        return total

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.peak = max(self.peak, self.rss())
            except psutil.Error:
                return
            self._stop.wait(0.05)

    def __enter__(self) -> Watchdog:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def start_server(env_extra: dict[str, str] | None = None):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("STREAMLIT_", "SEESAW_"))}
    env.update(env_extra or {})
    process = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true",
         "--browser.gatherUsageStats", "false"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    import urllib.request

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return process, url
        except OSError:
            time.sleep(0.3)
    process.kill()
    pytest.fail("Streamlit did not become healthy in 60 s")


def stop_server(process) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        yield instance
        instance.close()


def sidebar(page):
    return page.locator("[data-testid='stSidebar']")


def send_file(page, path: Path) -> None:
    """Drop a file on the sidebar's uploader without waiting for the server."""
    sidebar(page).locator("input[type='file']").set_input_files(str(path))


def wait_read(page, name: str, timeout_s: float = 120) -> None:
    """Wait until the upload was handled: the caption names it, or an error shows."""
    caption = sidebar(page).get_by_test_id("stCaptionContainer").filter(has_text=name)
    error = sidebar(page).get_by_test_id("stAlertContentError")
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if caption.count() or error.count():
            wait_idle(page)
            return
        page.wait_for_timeout(100)
    raise AssertionError(f"{name} was neither read nor refused in {timeout_s} s")


def errors(page) -> list[str]:
    """The error boxes' texts, without the icon's name ("error", "block") that leads
    each one."""
    texts = page.get_by_test_id("stAlertContentError").all_inner_texts()
    return [text.strip().split("\n\n")[-1].strip() for text in texts]


def timed_go(page, url: str, name: str, ready: str, server=None) -> dict:
    """Open a page from the sidebar: seconds until it has drawn ``ready`` and its
    script has finished (wall), and the CPU seconds the server process (not its
    workers) spent meanwhile."""
    cpu = sum(server.cpu_times()[:2]) if server else 0.0
    began = time.monotonic()
    sidebar(page).locator("a", has_text=name).first.click()
    page.wait_for_url(f"{url}/{name}")
    page.get_by_text(ready).first.wait_for(timeout=60_000)
    page.wait_for_selector(
        "[data-testid='stApp'][data-test-script-state='notRunning']", timeout=60_000
    )
    wall = time.monotonic() - began
    return {"page": name, "seconds": wall,
            "server_cpu_s": sum(server.cpu_times()[:2]) - cpu if server else None}  # fmt: skip


def ordinary_csv(rows: int = ROWS) -> bytes:
    lines = ["path,label,patient"]
    labels = ("cancer" if i % 7 == 0 else "normal" for i in range(rows))
    lines += [f"scan_{i}.png,{label},p{i % 900}" for i, label in enumerate(labels)]
    return ("\n".join(lines) + "\n").encode()


def test_a_hostile_session_leaves_the_server_and_other_sessions_running(browser, tmp_path):
    files = {
        "bomb.parquet": parquet_dictionary_bomb(),  # 4 GB once decoded
        "flood.zip": metadata_flood_zip(),  # a 500 MB metadata table
        "scans.csv": ordinary_csv(),
    }
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    process, url = start_server()
    figures: dict = {"pages": []}
    try:
        with Watchdog(process.pid) as watchdog:
            hostile = open_page(browser, url)
            ordinary = open_page(browser, url)
            figures["idle_rss_mb"] = watchdog.rss() / 1e6
            figures["load_per_cpu"] = os.getloadavg()[0] / (os.cpu_count() or 1)

            for bomb in ("bomb.parquet", "flood.zip"):
                send_file(hostile, tmp_path / bomb)
                # While the bomb is read, the other session uploads and works.
                if bomb == "bomb.parquet":
                    began = time.monotonic()
                    send_file(ordinary, tmp_path / "scans.csv")
                    wait_read(ordinary, "scans.csv")
                    figures["ordinary_upload_s"] = time.monotonic() - began
                for name, ready in (("Overview", "Counts"), ("Balance", "Compare all strategies"),
                                    ("Export", "Downloads")):  # fmt: skip
                    timing = timed_go(ordinary, url, name, ready, watchdog.root)
                    figures["pages"].append({**timing, "while": bomb})
                    assert not errors(ordinary), (name, errors(ordinary))
                wait_read(hostile, bomb)
                said = errors(hostile)
                assert len(said) == 1, (bomb, said)  # one sentence per attempt
                # Stopped by the worker's budget (or by a reader's limit, if one sees it).
                assert "worker_memory_mb" in said[0] or "above the limit" in said[0], said
                assert "\n" not in said[0].strip(), said
                figures[f"{bomb}_error"] = said[0]

            # A hybrid target of 2,000,000,000: refused in the preview, then on Export.
            hostile.locator("[data-testid='stSidebar'] a", has_text="Balance").first.click()
            wait_idle(hostile)
            hostile.get_by_text("Hybrid", exact=True).click()
            wait_idle(hostile)
            hostile.get_by_text("a count", exact=True).click()
            wait_idle(hostile)
            count = hostile.get_by_label("Count per class")
            count.fill("2000000000")
            count.press("Enter")
            wait_idle(hostile)
            said = errors(hostile)
            assert len(said) == 1 and "max_output_rows" in said[0], said
            figures["huge_target_preview"] = said[0]
            timing = timed_go(ordinary, url, "Balance", "Compare all strategies", watchdog.root)
            figures["pages"].append({**timing, "while": "huge target"})
            hostile.locator("[data-testid='stSidebar'] a", has_text="Export").first.click()
            wait_idle(hostile)
            said = errors(hostile)
            assert len(said) == 1 and "max_output_rows" in said[0], said
            figures["huge_target_export"] = said[0]

            # The ordinary session's download still works.
            timing = timed_go(ordinary, url, "Export", "Downloads", watchdog.root)
            figures["pages"].append({**timing, "while": "huge target"})
            with ordinary.expect_download() as info:
                ordinary.get_by_role("button", name="Balanced manifest (CSV)").click()
            rows = list(csv.DictReader(io.StringIO(Path(info.value.path()).read_text())))
            cancer = sum(1 for i in range(ROWS) if i % 7 == 0)
            assert Counter(row["label"] for row in rows) == {"cancer": cancer, "normal": cancer}
            assert process.poll() is None  # the server is up
            figures["peak_rss_mb"] = watchdog.peak / 1e6
    finally:
        stop_server(process)
        ARTIFACTS.mkdir(exist_ok=True)
        (ARTIFACTS / "server_watchdog.json").write_text(json.dumps(figures, indent=2))
        print(json.dumps(figures, indent=2))
    assert watchdog.peak < PEAK_BYTES, figures
    # What the server spends on each page is bounded on any machine; the wall time
    # also holds the machine's other load (recorded), so it is asserted only when
    # the machine is not oversubscribed.
    assert max(p["server_cpu_s"] for p in figures["pages"]) < PAGE_SECONDS, figures["pages"]
    if figures["load_per_cpu"] < 1.5:
        assert max(p["seconds"] for p in figures["pages"]) < PAGE_SECONDS, figures["pages"]
