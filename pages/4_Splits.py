"""Splits: check the current train/val/test splits, or make fair new ones."""

from __future__ import annotations

import shlex

import pandas as pd
import streamlit as st

from balance_core.charts import split_chart
from balance_core.export import table_csv
from balance_core.report import split_share_chart
from balance_core.split_checks import check_splits, split_mix
from balance_core.splits import (
    SplitParams,
    moved_table,
    parse_proportions,
    split_dataset,
    split_record,
    with_split_column,
)
from ui import columns, frame, multi

RESULT = "splits.result"

current = frame.page("Splits")
st.title("Splits")
if current.dataset.kind != "single":
    # Several labels or boxes per sample: its own page (ui/multi.py).
    with frame.guard():
        multi.splits(current)
    st.stop()
current = columns.panel(current)

with frame.guard():
    dataset = current.dataset
    dist = current.distribution
    has_splits = dataset.roles.split is not None

    st.subheader("The current splits")
    if not has_splits:
        st.info(
            "This data has no split column: every row is one pool. Make splits below, "
            "or pick the split column at the top of the page.",
            icon=":material/info:",
        )
    else:
        findings = check_splits(dataset, dist, findings=current.analysis.findings)
        mix = split_mix(dist)
        if mix is not None:
            a, b, distance = mix.worst_pair
            test = mix.homogeneity
            cards = st.columns(3)
            cards[0].metric(
                "Largest mix distance",
                f"{distance:.3f}",
                help=f"Jensen-Shannon distance (base 2) between {a!r} and {b!r}: "
                "0 = the same class mix, 1 = no class in common.",
            )
            cards[1].metric(
                "Chi-square p-value",
                f"{test.p_value:.3g}",
                help="Test of homogeneity: a small p-value says the splits do not share one "
                "class mix.",
            )
            cards[2].metric("Cramér's V", f"{test.cramers_v:.3f}", help="0 = same mix, 1 = apart")
        st.plotly_chart(split_chart(dist), key="splits.current")
        if not findings:
            st.success("The splits share their classes and no group or file is in two splits.")
        for finding in findings:
            show = {"error": st.error, "warning": st.warning}.get(finding.severity.value, st.info)
            show(frame.md(finding.message), icon=":material/call_split:")

    st.subheader("Make splits" if not has_splits else "Make new splits or re-split")
    with st.form("splits.form", border=True):
        modes = ["Re-split (move as few rows as it takes)", "Fresh split"] if has_splits else []
        mode = st.radio("How", modes, horizontal=True) if modes else "Fresh split"
        resplit = mode.startswith("Re-split")
        proportions_text = st.text_input(
            "Splits and their shares",
            value="train=0.8,val=0.1,test=0.1",
            help="Names and shares, e.g. train=0.7,test=0.3. A re-split keeps the current "
            "names and sizes when left empty.",
        )
        cells = st.columns(3)
        seed = cells[0].number_input("Seed", min_value=0, value=0, step=1)
        min_per_class = cells[1].number_input(
            "Minimum rows of each class in each split", min_value=0, value=1, step=1
        )
        use_groups = cells[2].toggle(
            "Keep each group in one split",
            value=dataset.roles.group is not None,
            disabled=dataset.roles.group is None,
            help="No patient (or other group) on both sides of a split.",
        )
        submitted = st.form_submit_button("Make the splits", type="primary")
    if submitted:
        proportions = (
            parse_proportions(proportions_text) if proportions_text.strip() or not resplit else None
        )
        params = SplitParams(
            proportions=proportions,
            seed=int(seed),
            use_groups=bool(use_groups),
            min_per_class=int(min_per_class),
            mode="resplit" if resplit else "split",
        )
        st.session_state[RESULT] = (current.key, split_dataset(dataset, params))

    stored = st.session_state.get(RESULT)
    if stored is not None and stored[0] == current.key:
        result = stored[1]
        for line in result.summary():
            st.markdown(f"- {frame.md(line)}")
        worst = result.largest_deviation
        if worst is not None:
            st.caption(frame.md(worst.sentence))
        st.plotly_chart(split_share_chart(result), key="splits.result")
        achieved = result.achieved
        table = pd.DataFrame(
            {"class": list(result.classes)}
            | {
                f"{name} (asked {result.asked[s]:.0%})": [
                    f"{achieved[s, c]:.1%} ({int(result.counts[s, c]):,})"
                    for c in range(len(result.classes))
                ]
                for s, name in enumerate(result.names)
            }
        )
        st.dataframe(table, hide_index=True)
        stem = current.name.rsplit(".", 1)[0] or "data"
        downloads = st.columns(3)
        downloads[0].download_button(
            "Manifest with splits (CSV)",
            data=lambda: table_csv(with_split_column(dataset, result)),
            file_name=f"{stem}_split.csv",
            mime="text/csv",
            on_click="ignore",
            icon=":material/table:",
        )
        downloads[1].download_button(
            "Split record (JSON)",
            data=split_record(dataset, result),
            file_name=f"{stem}_split.json",
            mime="application/json",
            on_click="ignore",
            icon=":material/receipt_long:",
        )
        if result.params.mode == "resplit":
            downloads[2].download_button(
                "Moved rows (CSV)",
                data=lambda: table_csv(moved_table(dataset, result)),
                file_name=f"{stem}_moved.csv",
                mime="text/csv",
                on_click="ignore",
                icon=":material/move_down:",
            )
        st.caption("Replay the same split on the full data from the command line:")
        st.code(
            f"python -m balance_core split {shlex.quote(current.name)} "
            f"--from {shlex.quote(stem + '_split.json')} -o {shlex.quote(stem + '_split.csv')}",
            language="bash",
        )
