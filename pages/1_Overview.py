"""Overview: the class distribution and what is wrong with the data."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from balance_core import Distribution, FindingKind
from balance_core.apply import map_counts
from balance_core.charts import LONG_TAIL_BARS, fold_classes, seesaw_chart, split_chart
from balance_core.classes import dataset_class_order
from balance_core.finding_view import class_rows, finding_rows
from balance_core.gate import run_gate
from balance_core.images import gallery_sample, image_properties
from balance_core.ordering import natural_sorted
from balance_core.report import html_report
from ui import columns, frame, multi, state

GALLERY_PER_CLASS = 6
GALLERY_CLASSES = 12
CLASS_ROWS = 200
FINDING_ROWS = 200
FINDING_SETS_SHOWN = 4


def image_row(paths: list[str], *, per_row: int, decoded: dict | None = None) -> None:
    """Thumbnails side by side (decoded in the budgeted worker, cached by content);
    ``decoded`` holds thumbnails already made for a whole gallery in one job."""
    paths = paths[:per_row]
    if not paths:
        return
    if decoded is None:
        decoded = dict(zip(paths, state.thumbnails(current, tuple(paths)), strict=True))
    images = [decoded.get(path) for path in paths]
    for cell, path, image in zip(st.columns(per_row), paths, images, strict=False):
        if image is None:
            cell.caption("(cannot show)")
        else:
            cell.image(image, caption=frame.md(path.rsplit("/", 1)[-1][:24]), width=128)


def mapped_distribution(dist: Distribution, mapping: dict) -> Distribution:
    # O(classes): the counts are mapped, never the rows.
    if not mapping:
        return dist
    return Distribution.from_counts(
        map_counts(dist.counts, mapping),
        split_counts={s: map_counts(c, mapping) for s, c in dist.split_counts.items()},
        missing_labels=dist.missing_labels,
    )


current = frame.page("Overview")
st.title("Overview")
if current.dataset.kind != "single":
    # Several labels or boxes per sample: its own page (ui/multi.py).
    with frame.guard():
        multi.overview(current)
    st.stop()
current = columns.panel(current)

with frame.guard():
    dataset = current.dataset
    mapping = state.label_mapping()
    dist = mapped_distribution(current.distribution, mapping)
    if mapping:
        # Merging variants changes what every page counts: the Overview shows it too.
        st.info(
            "Counts after the label mapping: "
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

    cards = st.columns(5)
    cards[0].metric("Classes", f"{dist.n_classes:,}")
    cards[1].metric("Rows", f"{dist.n_rows:,}", help=f"{dist.missing_labels:,} without a label")
    cards[2].metric("Imbalance ratio", dist.ratio_text, help="largest class / smallest class")
    cards[3].metric(
        "Evenness",
        f"{dist.evenness:.2f}",
        help="normalised Shannon entropy: 1 = all classes equal, 0 = one class holds all",
    )
    cards[4].metric("Verdict", dist.verdict_label, help=frame.md(dist.verdict_reason))
    if dist.n_classes < 2:
        st.error(frame.md(dist.verdict_reason), icon=":material/error:")
    else:
        {"balanced": st.success, "mild": st.warning, "severe": st.error}[dist.verdict.value](
            frame.md(dist.verdict_reason)
        )

    log_scale = st.toggle("Log scale", key="overview.log", persist_state="session")
    # A click on a bar picks that class for the rows (or images) below.
    pick = {"on_select": "rerun", "selection_mode": "points"}
    if dist.split_counts:
        by_split, overall = st.tabs(["Per split", "All rows"])
        with by_split:
            clicked = st.plotly_chart(
                split_chart(dist, log_scale=log_scale), key="overview.splits", **pick
            )
            if dist.split_mix_warning:
                st.warning(frame.md(dist.split_mix_warning), icon=":material/warning:")
        with overall:
            clicked_all = st.plotly_chart(
                seesaw_chart(dist, log_scale=log_scale), key="overview.chart", **pick
            )
        points = [*clicked.selection.points, *clicked_all.selection.points]
    else:
        clicked = st.plotly_chart(
            seesaw_chart(dist, log_scale=log_scale), key="overview.chart", **pick
        )
        points = list(clicked.selection.points)
    shown_classes, _ = fold_classes(dist.counts)
    if points and points[0].get("point_index", len(shown_classes)) < len(shown_classes):
        st.session_state["overview.class"] = shown_classes[points[0]["point_index"]]

    st.subheader("Counts")
    order = dataset_class_order(dataset, dist.counts)
    labels = natural_sorted(dist.counts)
    shares = dist.shares  # a property computed on each access: once, not per class
    table = pd.DataFrame(
        {
            "class index": [order.index.get(label) for label in labels],
            "class": labels,
            "samples": [dist.counts[label] for label in labels],
            "share": [shares[label] for label in labels],
        }
    )
    counts_format = st.column_config.NumberColumn(format="localized")
    config = {
        "samples": counts_format,
        "share": st.column_config.ProgressColumn(format="percent", min_value=0, max_value=1),
    }
    for split, counts in dist.split_counts.items():
        table[f"in {split}"] = [counts.get(label, 0) for label in labels]
        config[f"in {split}"] = counts_format
    if len(table) > LONG_TAIL_BARS and not st.toggle(
        f"Show all {len(table):,} classes", key="overview.all"
    ):
        table = table.set_index("class").loc[shown_classes].reset_index()[table.columns]
        st.caption(f"The {len(shown_classes)} largest of {dist.n_classes:,} classes.")
    st.dataframe(table, hide_index=True, column_config=config)
    st.caption(
        f"Effective number of classes {dist.effective_classes:.2f} · Imbalance Degree "
        f"{dist.imbalance_degree:.3f} · Gini {dist.gini:.3f} · class index: "
        f"{frame.md(order.rule)}"
    )

    raw_labels = list(current.distribution.counts)
    if raw_labels:
        picked = st.selectbox(
            "Show the rows of class",
            natural_sorted(raw_labels),
            key="overview.class",
            help="Or click its bar in the chart.",
        )
        rows, total = class_rows(dataset, picked, max_rows=CLASS_ROWS)
        if dataset.source.format == "zip" and dataset.roles.path is not None:
            paths = rows.column(dataset.roles.path).to_pylist()[: GALLERY_PER_CLASS * 2]
            image_row(paths, per_row=GALLERY_PER_CLASS)
        st.dataframe(rows.to_pandas(), hide_index=True, height=min(38 + 35 * rows.num_rows, 300))
        if total > rows.num_rows:
            st.caption(f"First {rows.num_rows:,} of {total:,} rows of this class.")

    if dataset.source.format == "zip":
        st.subheader("Images")
        sample = gallery_sample(dataset, per_class=GALLERY_PER_CLASS)
        shown = list(sample.items())[:GALLERY_CLASSES]
        # One worker job decodes every thumbnail of the gallery.
        wanted = tuple(p for _, paths in shown for p in paths[:GALLERY_PER_CLASS])
        decoded = dict(zip(wanted, state.thumbnails(current, wanted), strict=True))
        for label, paths in shown:
            st.text(f"{label} · {current.distribution.counts.get(label, 0):,} images")
            image_row(paths, per_row=GALLERY_PER_CLASS, decoded=decoded)
        if len(sample) > GALLERY_CLASSES:
            st.caption(f"First {GALLERY_CLASSES} of {len(sample)} classes.")
        properties = image_properties(dataset)
        if properties:
            st.dataframe(properties, hide_index=True)

    st.subheader("Findings")
    st.download_button(
        "Report (HTML, opens offline)",
        data=lambda: html_report(run_gate(current.analysis)),
        file_name=f"{current.name.rsplit('.', 1)[0] or 'data'}_report.html",
        mime="text/html",
        on_click="ignore",
        icon=":material/summarize:",
        help="The distribution, the per-split view and every finding in one file; the "
        "command line's `report` writes the same.",
    )
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
                for index, group in enumerate(finding.groups):
                    target, variants = group[0], group[1:]
                    merged = all(mapping.get(v) == target for v in variants)
                    label = f"Merge {len(variants)} variant(s) into the most common spelling"
                    st.text(" / ".join(repr(v) for v in group))
                    if st.button(label, key=f"merge.{position}.{index}", disabled=merged):
                        state.set_label_mapping(mapping | dict.fromkeys(variants, target))
                        st.rerun()
                    if merged:
                        st.caption("Merged: the counts above include it.")
            if finding.rows.size:
                rows = finding_rows(dataset, finding, max_rows=FINDING_ROWS)
                if "set" in rows.column_names and dataset.source.format == "zip":
                    # Images of one set side by side, a few sets.
                    sets = rows.column("set").to_pylist()
                    paths = rows.column(dataset.roles.path).to_pylist()
                    for number in sorted(set(sets))[:FINDING_SETS_SHOWN]:
                        st.text(f"Set {number}")
                        image_row(
                            [p for p, s in zip(paths, sets, strict=True) if s == number],
                            per_row=GALLERY_PER_CLASS,
                        )
                st.dataframe(
                    rows.to_pandas(),
                    hide_index=True,
                    height=min(38 + 35 * rows.num_rows, 300),
                )
                if finding.rows.size > rows.num_rows:
                    st.caption(f"First {rows.num_rows:,} of {finding.rows.size:,} rows.")
            if finding.entries:
                st.dataframe(pd.DataFrame({"entry": list(finding.entries[:500])}), hide_index=True)
