"""Seesaw home page: pick a dataset, see its class balance at a glance."""

from __future__ import annotations

import pandas as pd
import streamlit as st

import balance_core as bc
from balance_core.charts import seesaw_chart
from balance_core.examples import EXAMPLES
from ui import state

st.set_page_config(page_title="Seesaw", page_icon="⚖️", layout="wide")

with st.sidebar:
    st.header("Dataset")
    upload = st.file_uploader(
        "Labels file or zip of image folders",
        type=["csv", "tsv", "txt", "json", "jsonl", "parquet", "xlsx", "zip"],
    )
    example_key = st.selectbox(
        "…or try an example",
        options=list(EXAMPLES),
        format_func=lambda key: EXAMPLES[key].title,
    )

st.title("⚖️ Seesaw")
st.caption("Is your dataset balanced? See the class counts and the data's problems.")

try:
    if upload is not None:
        loaded = state.load(upload.getvalue(), upload.name, is_example=False)
    else:
        loaded = state.load_example(example_key)
except bc.DatasetError as error:
    st.error(str(error))
    st.stop()

analysis = loaded.analysis
dist = analysis.distribution
st.text(f"{loaded.name} · {dist.n_rows:,} rows · {analysis.dataset.source.format.upper()}")

cards = st.columns(4)
cards[0].metric("Classes", f"{dist.n_classes:,}")
cards[1].metric("Rows", f"{dist.n_rows:,}")
cards[2].metric("Imbalance ratio", dist.ratio_text)
cards[3].metric("Evenness", f"{dist.evenness:.2f}")
st.info(dist.verdict_reason)

st.plotly_chart(seesaw_chart(dist), width="stretch")

st.subheader("Counts")
st.dataframe(
    pd.DataFrame(
        {"class": list(dist.counts), "samples": list(dist.counts.values()),
         "share": list(dist.shares.values())}
    ),
    hide_index=True,
    column_config={"share": st.column_config.NumberColumn(format="percent")},
)  # fmt: skip

st.subheader("Findings")
if not analysis.findings:
    st.success("No problems found in the data.")
for finding in analysis.findings:
    st.text(f"[{finding.severity}] {finding.message}")
