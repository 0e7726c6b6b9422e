"""Overview: the class distribution and what is wrong with the data."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
import streamlit as st

from balance_core import FindingKind
from balance_core.charts import seesaw_chart, split_chart
from balance_core.images import gallery_sample, image_properties
from ui import columns, frame, state

GALLERY_PER_CLASS = 6
GALLERY_CLASSES = 12


current = frame.page("Overview")
st.title("Overview")
current = columns.panel(current)

with frame.guard():
    dist = current.distribution
    dataset = current.dataset

    cards = st.columns(5)
    cards[0].metric("Classes", f"{dist.n_classes:,}")
    cards[1].metric("Rows", f"{dist.n_rows:,}", help=f"{dist.missing_labels:,} without a label")
    cards[2].metric("Imbalance ratio", dist.ratio_text, help="largest class / smallest class")
    cards[3].metric(
        "Evenness",
        f"{dist.evenness:.2f}",
        help="normalised Shannon entropy: 1 = all classes equal, 0 = one class holds all",
    )
    cards[4].metric("Verdict", dist.verdict.value.capitalize(), help=dist.verdict_reason)
    {"balanced": st.success, "mild": st.warning, "severe": st.error}[dist.verdict.value](
        dist.verdict_reason
    )

    log_scale = st.toggle("Log scale", key="overview.log", persist_state="session")
    if dist.split_counts:
        by_split, overall = st.tabs(["Per split", "All rows"])
        with by_split:
            st.plotly_chart(split_chart(dist, log_scale=log_scale), key="overview.splits")
            if dist.split_mix_warning:
                st.warning(frame.md(dist.split_mix_warning), icon=":material/warning:")
        with overall:
            st.plotly_chart(seesaw_chart(dist, log_scale=log_scale), key="overview.chart")
    else:
        st.plotly_chart(seesaw_chart(dist, log_scale=log_scale), key="overview.chart")

    st.subheader("Counts")
    table = pd.DataFrame(
        {
            "class index": range(dist.n_classes),
            "class": list(dist.counts),
            "samples": list(dist.counts.values()),
            "share": list(dist.shares.values()),
        }
    )
    for split, counts in dist.split_counts.items():
        table[f"in {split}"] = [counts.get(label, 0) for label in dist.counts]
    st.dataframe(
        table,
        hide_index=True,
        column_config={
            "share": st.column_config.ProgressColumn(format="percent", min_value=0, max_value=1)
        },
    )
    st.caption(
        f"Effective number of classes {dist.effective_classes:.2f} · Imbalance Degree "
        f"{dist.imbalance_degree:.3f} · Gini {dist.gini:.3f} · class index = sorted label order"
    )

    if dataset.source.format == "zip":
        st.subheader("Images")
        sample = gallery_sample(dataset, per_class=GALLERY_PER_CLASS)
        shown = list(sample.items())[:GALLERY_CLASSES]
        # One worker job decodes every thumbnail shown (cached by the zip's content).
        decoded = iter(state.thumbnails(current, tuple(p for _, paths in shown for p in paths)))
        for label, paths in shown:
            st.text(f"{label} · {dist.counts.get(label, 0):,} images")
            images = [next(decoded) for _ in paths]
            cells = st.columns(GALLERY_PER_CLASS)
            for cell, path, image in zip(cells, paths, images, strict=False):
                if image is None:
                    cell.caption("(cannot show)")
                else:
                    cell.image(image, caption=frame.md(path.rsplit("/", 1)[-1][:24]), width=128)
        if len(sample) > GALLERY_CLASSES:
            st.caption(f"First {GALLERY_CLASSES} of {len(sample)} classes.")
        properties = image_properties(dataset)
        if properties:
            st.dataframe(properties, hide_index=True)

    st.subheader("Findings")
    findings = current.analysis.findings
    if not findings:
        st.success("No problems found in the data.", icon=":material/check_circle:")
    icons = {
        "error": ":material/error:",
        "warning": ":material/warning:",
        "info": ":material/info:",
    }
    for position, finding in enumerate(findings):
        kind = finding.kind.value.replace("_", " ")
        title = f"{kind.capitalize()} · {finding.count:,} · {finding.severity.value}"
        with st.expander(
            title, icon=icons[finding.severity.value], expanded=finding.severity.value == "error"
        ):
            st.text(finding.message)
            if finding.kind == FindingKind.LABEL_VARIANTS:
                mapping = state.label_mapping()
                for index, group in enumerate(finding.groups):
                    target, variants = group[0], group[1:]
                    merged = all(mapping.get(v) == target for v in variants)
                    label = f"Merge {len(variants)} variant(s) into the most common spelling"
                    st.text(" / ".join(repr(v) for v in group))
                    if st.button(label, key=f"merge.{position}.{index}", disabled=merged):
                        state.set_label_mapping(mapping | dict.fromkeys(variants, target))
                        st.rerun()
            if finding.rows.size:
                shown = finding.rows[:200]
                st.dataframe(
                    dataset.raw.take(pa.array(shown))
                    .to_pandas()
                    .set_index(pd.Index(shown, name="row")),
                    height=min(38 + 35 * len(shown), 300),
                )
                if finding.rows.size > len(shown):
                    st.caption(f"First {len(shown)} of {finding.rows.size:,} rows.")
            if finding.entries:
                st.dataframe(pd.DataFrame({"entry": list(finding.entries[:500])}), hide_index=True)

    mapping = state.label_mapping()
    if mapping:
        st.info(
            "Label mapping for balancing: "
            + frame.md(
                ", ".join(
                    f"{old!r} → {new!r}" if new is not None else f"{old!r} dropped"
                    for old, new in mapping.items()
                )
            ),
            icon=":material/merge:",
        )
        if st.button("Clear the label mapping"):
            state.set_label_mapping({})
            st.rerun()
