"""An app session under Streamlit's AppTest, shared by the app's tests."""

from __future__ import annotations

import re
from pathlib import Path

from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[1]


def start() -> AppTest:
    """A new session on the home page, run once (the default example loaded)."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.run()
    assert not at.exception, at.exception
    return at


def upload(at: AppTest, name: str, data: bytes) -> AppTest:
    """Drop ``data`` named ``name`` on the sidebar's uploader and rerun."""
    at.file_uploader[0].set_value((name, data, "application/octet-stream"))
    return at.run()


def unescaped(text: str) -> str:
    """Markdown backslash escapes removed, so a message reads the same whether or
    not the page escaped it."""
    return re.sub(r"\\(.)", r"\1", text).replace("\u2060", "")
