"""The frame every page shares: page config, the sidebar, error handling, escaping."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import streamlit as st

import balance_core as bc
from balance_core.examples import EXAMPLES

from . import state, style
from .limits import LimitsConfigError

UPLOAD_TYPES = ["csv", "tsv", "txt", "json", "jsonl", "parquet", "xlsx", "zip", "gz"]
NONE = "(none)"
log = logging.getLogger("seesaw")

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:=&\"'^])")
# GitHub-flavoured Markdown turns bare URLs ("https://...", "www.x") and e-mail
# addresses into links after escapes are resolved, so a backslash cannot stop it: an
# invisible word joiner (U+2060) breaks the pattern and leaves the text as it reads.
WORD_JOINER = "\u2060"
_AUTOLINK = re.compile(r"(?i)(?<=[a-z]:)(?=//)|(?<=\bwww)(?=\.)|(?=@)")


def md(text: str) -> str:
    """User text made inert for Streamlit Markdown: every ASCII punctuation mark that
    Markdown, Streamlit's ``:color[...]``/``:emoji:`` directives, LaTeX or HTML could
    read is backslash-escaped, bare URLs and e-mail addresses get a word joiner that
    stops GitHub's autolinks, and line breaks become spaces."""
    flat = _AUTOLINK.sub(WORD_JOINER, " ".join(str(text).split()))
    return _MARKDOWN_SPECIAL.sub(r"\\\1", flat)


# A local SVG file is inlined by Streamlit as a data: URL. A ":material/...:" page icon
# would make the browser fetch the favicon from fonts.gstatic.com on every page (issue 10,
# item 14): no request may leave the machine.
PAGE_ICON = Path(__file__).resolve().parents[1] / "static" / "seesaw.svg"


def page(title: str) -> state.Current:
    """Set up a page: config, sidebar; returns the current dataset."""
    st.set_page_config(page_title=f"{title} · Seesaw", page_icon=PAGE_ICON, layout="wide")
    style.apply()
    with st.sidebar:
        return _sidebar()


@contextmanager
def guard() -> Iterator[None]:
    """Bad input ends in one st.error sentence, never a traceback."""
    try:
        yield
    except bc.DatasetError as error:
        st.error(md(str(error)), icon=":material/error:")
        st.stop()
    except Exception:
        log.exception("Unexpected error in a Seesaw page")
        st.error(
            "Something went wrong on our side while handling this data; the details are "
            "in the server log. Try another file, or reload the page.",
            icon=":material/error:",
        )
        st.stop()


PAGES = (
    ("app.py", "Home", ":material/home:"),
    ("pages/1_Overview.py", "Overview", ":material/bar_chart:"),
    ("pages/2_Balance.py", "Balance", ":material/balance:"),
    ("pages/3_Export.py", "Export", ":material/download:"),
    ("pages/4_Splits.py", "Splits", ":material/call_split:"),
)


def _sidebar() -> state.Current:
    st.markdown("### :material/balance: Seesaw")
    for path, label, icon in PAGES:
        st.page_link(path, label=label, icon=icon)
    st.divider()
    # Streamlit deep-copies a widget's value on every rerun, and an uploaded file's
    # copy is the whole file: once handled, the uploader is replaced by an empty one
    # (a new key), so a 2 GB upload is not copied again on every click.
    generation = st.session_state.get(state.UPLOADER_GENERATION, 0)
    upload = st.file_uploader(
        "Labels file or zip of image folders",
        type=UPLOAD_TYPES,
        help="CSV, TSV, TXT, JSON, JSON Lines, Parquet, Excel, or a zip of class folders.",
        key=f"upload.{generation}",
    )
    if upload is not None:
        try:
            with st.status(f"Reading {md(upload.name)}…", expanded=False) as status:
                current = state.load_upload(upload)
                status.update(label=f"Read {md(upload.name)}", state="complete")
            st.session_state[state.UPLOAD_READ] = (
                f"Read {md(upload.name)}: {current.distribution.n_rows:,} "
                + {"detection": "images", "multilabel": "samples"}.get(current.dataset.kind, "rows")
            )
        except (bc.DatasetError, LimitsConfigError) as error:
            st.session_state[state.UPLOAD_ERROR] = md(str(error))
        except Exception:
            log.exception("Unexpected error reading an upload")
            st.session_state[state.UPLOAD_ERROR] = (
                "This file could not be read; the details are in the server log. "
                "Try saving it again as CSV."
            )
        st.session_state[state.UPLOADER_GENERATION] = generation + 1
        st.rerun()
    if (message := st.session_state.pop(state.UPLOAD_ERROR, None)) is not None:
        st.error(message, icon=":material/error:")
    if (message := st.session_state.pop(state.UPLOAD_READ, None)) is not None:
        st.toast(message, icon=":material/check_circle:")
    with st.expander("Try an example", expanded=False):
        for key, example in EXAMPLES.items():
            if st.button(example.title, key=f"example.{key}", help=example.description):
                state.load_example(key)
    current = state.get_current()
    dist = current.distribution
    dataset = current.dataset
    # Detection and multi-label rows are images or samples; their classes are the
    # labels, not the label sets a row carries.
    rows = {"detection": "images", "multilabel": "samples"}.get(dataset.kind, "rows")
    classes = len(dataset.annotations.classes) if dataset.kind != "single" else dist.n_classes
    st.caption(
        f"**{md(current.name)}** · {_size(current.size)} · "
        f"{dist.n_rows:,} {rows} · {classes:,} classes" + (" · example" if current.example else "")
    )
    return current


def _size(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:,.0f} {unit}" if unit == "B" else f"{n:,.1f} {unit}"
        n /= 1000
    return f"{n} B"
