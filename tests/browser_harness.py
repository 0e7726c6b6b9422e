"""A real Streamlit server and Debian's Chromium, kept off the internet.

Shared by the browser tests that must see every request (offline, phone width) and by
``benchmarks/bench_browser.py``. Every request a page makes is routed through
:class:`Offline`: one for a host other than this machine is aborted and recorded, so a
test can fail on it, and nothing reaches the outside server.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
SHOTS = ROOT / "test-artifacts" / "screenshots"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
    "--disable-dev-shm-usage",
]
LOCAL_HOSTS = {"127.0.0.1", "localhost", "[::1]", "::1"}
# Schemes that never touch a network: inline data and the page's own objects.
LOCAL_SCHEMES = {"data", "blob", "about"}
PAGES = ("Home", "Overview", "Balance", "Export")


class ChromiumMissing(RuntimeError):
    """Debian's Chromium is not installed."""


def chromium_path() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:
        raise ChromiumMissing(
            "Chromium is not installed: run `apt-get install chromium` (scripts/test.sh does)."
        )
    return found


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def streamlit_server(script: str | Path = "app.py", *, cwd: Path = ROOT) -> Iterator[str]:
    """``streamlit run script`` on a free local port; yields its base URL."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("STREAMLIT_")}
    # The server's log goes to a file: an unread pipe fills at 64 KB and then blocks
    # the server in the middle of a page.
    log = tempfile.TemporaryFile()  # noqa: SIM115 (open for the server's lifetime)
    process = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(script), "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true",
         "--browser.gatherUsageStats", "false"],
        cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                time.sleep(0.2)
        else:
            process.kill()
            log.seek(0)
            output = log.read().decode(errors="replace")
            raise RuntimeError(f"Streamlit did not become healthy in 60 s:\n{output[-3000:]}")
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


@dataclass
class Offline:
    """Aborts and records every request that would leave this machine."""

    blocked: list[str] = field(default_factory=list)
    local: int = 0

    def install(self, context) -> None:
        context.route("**/*", self._route)

    def _route(self, route) -> None:
        url = route.request.url
        parts = urlsplit(url)
        if parts.scheme in LOCAL_SCHEMES or parts.hostname in LOCAL_HOSTS:
            self.local += 1
            route.continue_()
        else:
            self.blocked.append(url)
            route.abort("internetdisconnected")


@contextmanager
def chromium() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def new_page(browser, *, width: int = 1400, height: int = 1000, offline: Offline | None = None):
    context = browser.new_context(
        viewport={"width": width, "height": height}, accept_downloads=True
    )
    if offline is not None:
        offline.install(context)
    page = context.new_page()
    page.set_default_timeout(30_000)
    return page


def wait_idle(page) -> None:
    """Wait until the script run triggered by the last action has finished."""
    page.wait_for_timeout(250)
    page.wait_for_selector(
        "[data-testid='stApp'][data-test-script-state='notRunning']", timeout=60_000
    )
    page.wait_for_timeout(250)


def go(page, url: str, name: str) -> None:
    """Navigate inside the app through the sidebar (a fresh load would start a new session)."""
    sidebar = page.get_by_test_id("stSidebar")
    if not sidebar.is_visible() or sidebar.get_attribute("aria-expanded") == "false":
        page.get_by_test_id("stExpandSidebarButton").click()
    sidebar.locator("a", has_text=name).first.click()
    page.wait_for_url(url if name == "Home" else f"{url}/{name}")
    wait_idle(page)


def upload(page, tmp_path: Path, name: str, data: bytes) -> None:
    """Upload a file through the sidebar and wait until the sidebar names it."""
    file = tmp_path / name
    file.write_bytes(data)
    sidebar = page.get_by_test_id("stSidebar")
    if sidebar.get_attribute("aria-expanded") == "false":
        page.get_by_test_id("stExpandSidebarButton").click()
    sidebar.locator("input[type='file']").set_input_files(str(file))
    sidebar.get_by_test_id("stCaptionContainer").filter(has_text=name).wait_for()
    wait_idle(page)


def shot(page, name: str, *, full_page: bool = True) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path
