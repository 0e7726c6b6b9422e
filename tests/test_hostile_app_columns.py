"""Parquet columns of unusual Arrow types, uploaded to the app (issue 14): view-typed
strings balance like any other text, and nested columns are never offered for a role
that cannot hold them, nor crash a page that shows them."""

from __future__ import annotations

import io

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from app_session import start, unescaped, upload
from streamlit.testing.v1 import AppTest

from ui import state

PAGES = ("pages/1_Overview.py", "pages/2_Balance.py", "pages/3_Export.py")
LABELS = ["a"] * 40 + ["b"] * 120


def parquet_bytes(table: pa.Table) -> bytes:
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    return buffer.getvalue()


def metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def undersampling(at: AppTest) -> AppTest:
    at.switch_page("pages/2_Balance.py").run()
    assert not at.exception, at.exception
    at.segmented_control[0].set_value("undersample").run()
    assert not at.exception, at.exception
    return at


@pytest.mark.parametrize("kind", [pa.string_view(), pa.large_string()], ids=str)
def test_view_typed_columns_read_balance_and_export_in_the_app(kind):
    table = pa.table(
        {
            "path": pa.array([f"{i}.png" for i in range(len(LABELS))], kind),
            "label": pa.array(LABELS, kind),
            "site": pa.array(["s1", "s2"] * (len(LABELS) // 2), kind),
        }
    )
    at = start()
    upload(at, "views.parquet", parquet_bytes(table))
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    assert at.session_state[state.DATASET].distribution.counts == {"a": 40, "b": 120}
    undersampling(at)
    mix = next(s for s in at.selectbox if s.label == "Keep the mix of")
    assert "site" in mix.options
    mix.set_value("site").run()
    assert not at.exception, at.exception
    assert metric(at, "Rows") == "80"
    for page in PAGES:
        at.switch_page(page).run()
        assert not at.exception, (page, at.exception)
        assert not at.error, (page, [e.value for e in at.error])


def test_nested_columns_are_not_offered_to_stratify_and_no_page_crashes():
    rows = len(LABELS)
    table = pa.table(
        {
            "path": [f"{i}.png" for i in range(rows)],
            "label": LABELS,
            "tags": [["x"], ["y", "z"]] * (rows // 2),
            "box": [{"w": i, "h": i + 1} for i in range(rows)],
            "site": ["s1", "s2"] * (rows // 2),
        }
    )
    at = start()
    upload(at, "nested.parquet", parquet_bytes(table))
    assert not at.exception, at.exception
    assert at.session_state[state.DATASET].distribution.counts == {"a": 40, "b": 120}
    undersampling(at)
    mix = next(s for s in at.selectbox if s.label == "Keep the mix of")
    assert "tags" not in mix.options and "box" not in mix.options
    assert "site" in mix.options
    for page in PAGES:
        at.switch_page(page).run()
        assert not at.exception, (page, at.exception)


def test_a_nested_label_column_is_refused_in_one_sentence():
    rows = len(LABELS)
    table = pa.table({"path": [f"{i}.png" for i in range(rows)], "label": [[x] for x in LABELS]})
    at = start()
    upload(at, "nested_label.parquet", parquet_bytes(table))
    assert not at.exception, at.exception
    errors = [unescaped(e.value) for e in at.error]
    assert errors == [
        "Column 'label' holds nested values (list<element: string>), so it cannot be "
        "the label; pick a column of plain values."
    ]
