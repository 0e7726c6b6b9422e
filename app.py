"""Seesaw home page: pick a dataset (upload or example) and see its balance at a glance."""

from __future__ import annotations

import streamlit as st

from balance_core.charts import seesaw_chart
from balance_core.examples import EXAMPLES
from ui import columns, frame, multi, state

current = frame.page("Home")

st.title(":material/balance: Seesaw")
current = columns.panel(current)
st.markdown(
    "**Is your dataset balanced?** Drop a labels file or a zip of image folders in the "
    "sidebar, see the class counts and the data's problems, try the fixes with a live "
    "preview, and download what your training code needs."
)

st.subheader("Examples")
cards = st.columns(len(EXAMPLES))
for column, (key, example) in zip(cards, EXAMPLES.items(), strict=True):
    with column.container(border=True):
        st.markdown(f"**{example.title}**")
        st.caption(example.description)
        if st.button("Load", key=f"home.example.{key}", disabled=current.example == key):
            current = state.load_example(key)
            st.rerun()

with frame.guard():
    dist = current.distribution
    st.subheader(f"Current dataset: {frame.md(current.name)}")
    if current.dataset.kind != "single":
        multi.metrics(current)
        multi.seesaw(current, key="home")
        findings = state.summary(current)[1]
        if findings:
            st.warning(
                f"{len(findings)} finding(s) about the data: see the Overview page.",
                icon=":material/search:",
            )
        st.stop()
    metrics = st.columns(4)
    metrics[0].metric("Rows", f"{dist.n_rows:,}")
    metrics[1].metric("Classes", f"{dist.n_classes:,}")
    metrics[2].metric("Imbalance ratio", dist.ratio_text)
    metrics[3].metric("Verdict", dist.verdict.value.capitalize())
    st.plotly_chart(seesaw_chart(dist), key="home.chart")
    findings = current.analysis.findings
    if findings:
        st.warning(
            f"{len(findings)} finding(s) about the data: see the Overview page.",
            icon=":material/search:",
        )

links = st.columns(3)
links[0].page_link(
    "pages/1_Overview.py",
    label="Overview: distribution and data quality",
    icon=":material/bar_chart:",
)
links[1].page_link("pages/2_Balance.py", label="Balance: try the fixes", icon=":material/balance:")
links[2].page_link(
    "pages/3_Export.py", label="Export: downloads and code", icon=":material/download:"
)
