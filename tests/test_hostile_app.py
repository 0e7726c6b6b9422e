"""Hostile text reaching the app's pages: labels and file names carrying Markdown,
HTML and Plotly markup must show as text, never as links, bold or colour."""

from __future__ import annotations

import json
from collections.abc import Iterator

from app_session import start, unescaped, upload
from hostile_corpus import BY_ID, HOSTILE_LABELS
from streamlit.testing.v1 import AppTest

from ui import state

PAGES = ("app.py", "pages/1_Overview.py", "pages/2_Balance.py", "pages/3_Export.py")

# Element types whose text Streamlit renders as Markdown (widget, expander and
# status labels too: they are collected from every node's ``label``).
MARKDOWN_TYPES = {
    "markdown", "caption", "title", "header", "subheader", "error", "warning", "info",
    "success", "toast",
}  # fmt: skip
# What must never reach a Markdown element unescaped.
RAW_MARKUP = ("<a href", "](javascript:", "](https:", "<b>", ":red[", "$x^2$")
# What must never reach a Plotly figure unescaped (Plotly renders a little HTML).
RAW_HTML = ("<a ", "<b>bold", "</a>")


def rendered_markdown(at: AppTest) -> Iterator[str]:
    """Every string on the page that Streamlit renders as Markdown."""

    def walk(node) -> Iterator[str]:
        for child in getattr(node, "children", {}).values():
            yield from walk(child)
        if getattr(node, "type", None) in MARKDOWN_TYPES:
            yield str(node.value)
        label = getattr(node, "label", None)
        if isinstance(label, str):
            yield label

    yield from walk(at.main)
    yield from walk(at.sidebar)
    yield from (str(toast.value) for toast in at.toast)


def figure_strings(at: AppTest) -> list[str]:
    """Every string inside every Plotly figure of the page."""
    found: list[str] = []

    def walk(value) -> None:
        if isinstance(value, str):
            found.append(value)
        elif isinstance(value, dict):
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    for chart in at.get("plotly_chart"):
        walk(json.loads(chart.proto.spec))
    return found


def assert_inert(at: AppTest, page: str) -> None:
    assert not at.exception, (page, at.exception)
    for text in rendered_markdown(at):
        for raw in RAW_MARKUP:
            assert raw not in text, (page, raw, text)
    for text in figure_strings(at):
        for raw in RAW_HTML:
            assert raw not in text, (page, raw, text)


def test_markup_labels_stay_text_on_every_page_and_in_every_figure():
    case = BY_ID["out_markup_labels"]
    at = start()
    upload(at, case.filename, case.data)
    assert at.session_state[state.DATASET].distribution.counts == case.counts
    charts = 0
    for page in PAGES:
        at.switch_page(page).run()
        assert_inert(at, page)
        strings = figure_strings(at)
        if strings:
            charts += 1
            # The labels are in the figure, escaped: shown, not run.
            assert "&lt;b&gt;bold&lt;/b&gt;" in strings, page
            assert any(s.startswith("&lt;a href=&quot;javascript") for s in strings), page
    assert charts >= 3  # home, overview, balance preview
    # The class-weights preview draws another figure from the labels.
    at.switch_page("pages/2_Balance.py").run()
    at.segmented_control[0].set_value("weights").run()
    assert_inert(at, "weights")
    assert "&lt;b&gt;bold&lt;/b&gt;" in figure_strings(at)


def test_markup_in_a_file_name_stays_text_in_the_page_body():
    at = start()
    name = "[x](https://evil.example) <b>bold</b> :red[alarm].csv"
    upload(at, name, b"label\na\na\nb\nb\n")
    assert at.session_state[state.DATASET].name == name
    for page in PAGES:
        at.switch_page(page).run()
        assert not at.exception
        body = [t for t in rendered_markdown(at) if t not in status_labels(at)]
        assert any("evil" in t for t in body), page  # the name is shown...
        for text in body:
            for raw in RAW_MARKUP:
                assert raw not in text, (page, raw, text)  # ...as text


def status_labels(at: AppTest) -> list[str]:
    return [s.label for s in at.sidebar.children.values() if type(s).__name__ == "Status"]


def test_markup_in_a_file_name_stays_text_in_the_status_and_the_error():
    at = start()
    name = "[x](https://evil.example).csv"
    upload(at, name, b"label\na\na\nb\nb\n")
    # The note that the file was read names it, as text.
    assert [unescaped(t.value) for t in at.toast] == [f"Read {name}: 4 rows"]
    assert all("](https:" not in t.value for t in at.toast)
    upload(at, name, b"")  # an empty file: the error quotes the name
    assert len(at.error) == 1 and "evil" in at.error[0].value
    for text in [*status_labels(at), at.error[0].value]:
        assert "](https:" not in text, text


def test_dropping_every_class_in_the_mapping_gets_a_sentence_not_a_crash():
    at = start()
    upload(at, "two.csv", b"label\na\na\nb\nb\n")
    at.session_state[state.MAPPING] = {"a": None, "b": None}
    at.switch_page("pages/2_Balance.py").run()
    assert not at.exception
    assert not any("went wrong" in e.value for e in at.error), [e.value for e in at.error]


def test_hostile_labels_are_the_ones_the_brief_names():
    assert any(label.startswith("<a href=") for label in HOSTILE_LABELS)
    assert any("](javascript:" in label for label in HOSTILE_LABELS)
    assert "<b>bold</b>" in HOSTILE_LABELS
