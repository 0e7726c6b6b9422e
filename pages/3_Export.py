"""Export: download exactly what the preview showed, plus code and the replay command."""

from __future__ import annotations

import shlex
from dataclasses import replace
from pathlib import PurePath

import streamlit as st

from balance_core.export import (
    snippets,
    table_csv,
    table_parquet,
    weights_json,
)
from ui import columns, frame, multi, state, strategies

current = frame.page("Export")
st.title("Export")
if current.dataset.kind != "single":
    # Several labels or boxes per sample: its own page (ui/multi.py).
    with frame.guard():
        multi.export(current)
    st.stop()
current = columns.panel(current)


with frame.guard():
    dataset = current.dataset
    recipe = state.export_recipe(current)
    with st.spinner("Choosing the rows…"):
        outcome = state.outcome(current, recipe)
    stem = PurePath(current.name).stem or "dataset"
    strategy = recipe.strategy
    parts = strategies.describe(recipe)
    if outcome.split:
        parts.append(f"split {outcome.split!r} only")
    elif dataset.roles.split is not None:
        parts.append("all rows, every split")
    if strategy.is_sampling:
        if dataset.roles.group is not None:
            parts.append(
                f"spread over groups {dataset.roles.group!r}"
                if recipe.use_groups
                else "groups ignored"
            )
        if recipe.stratify:
            parts.append(f"keeping the mix of {recipe.stratify!r}")
        parts.append(f"seed {recipe.seed}")
    if recipe.label_mapping:
        parts.append(f"{len(recipe.label_mapping)} label change(s)")
    # Each part is escaped on its own and joined outside, so no space is lost
    # (md() trims its text) and no user string is read as Markdown.
    st.markdown(
        f"**{strategies.NAMES[strategy.method]}** · "
        + " · ".join(frame.md(part) for part in parts)
        + f" · target column {frame.md(repr(dataset.roles.label))}"
    )
    st.caption(f"Data {frame.md(current.name)} · SHA-256 {current.sha256[:12]}…")

    if outcome.resampled is not None:
        resampled = outcome.resampled
        plan = outcome.plan
        cards = st.columns(4)
        cards[0].metric("Rows in the manifest", f"{resampled.manifest.num_rows:,}")
        cards[1].metric("Rows dropped", f"{resampled.dropped_rows.size:,}")
        cards[2].metric("Duplicates", f"{plan.rows_added:,}")
        cards[3].metric("Other splits, unchanged", f"{resampled.passthrough_rows:,}")
        st.dataframe(
            [{"class": k, "before": plan.before[k], "after": v} for k, v in plan.after.items()],
            hide_index=True,
            column_config={
                "before": st.column_config.NumberColumn(format="localized"),
                "after": st.column_config.NumberColumn(format="localized"),
            },
        )
        st.subheader("Downloads")
        neutralize = st.toggle(
            "Make CSV safe for spreadsheets",
            value=True,
            help="Cells starting with = + - @ (other than plain numbers) get a leading ' so "
            "Excel and Sheets do not run them as formulas. Parquet and JSON always keep the "
            "raw values. Turn off for files only programs read.",
            key="export.neutralize",
            persist_state="session",
        )
        recipe = replace(recipe, output={"format": "csv", "neutralize_formulas": neutralize})
        row1 = st.columns(4)
        row1[0].download_button(
            "Balanced manifest (CSV)",
            data=lambda: table_csv(resampled.manifest, neutralize_formulas=neutralize),
            file_name=f"{stem}_balanced.csv",
            mime="text/csv",
            on_click="ignore",
            icon=":material/table:",
        )
        row1[1].download_button(
            "Balanced manifest (Parquet)",
            data=lambda: table_parquet(resampled.manifest),
            file_name=f"{stem}_balanced.parquet",
            mime="application/vnd.apache.parquet",
            on_click="ignore",
            icon=":material/database:",
        )
        row1[2].download_button(
            "Dropped rows (CSV)",
            data=lambda: table_csv(resampled.dropped, neutralize_formulas=neutralize),
            file_name=f"{stem}_dropped.csv",
            mime="text/csv",
            on_click="ignore",
            icon=":material/delete:",
        )
        row1[3].download_button(
            "Recipe (JSON)",
            data=recipe.to_json(),
            file_name=f"{stem}_recipe.json",
            mime="application/json",
            on_click="ignore",
            icon=":material/receipt_long:",
        )
        zip_refusal = (
            state.output_refusal(current, plan, kind="zip")
            if dataset.source.format == "zip"
            else None
        )
        if zip_refusal is not None:
            st.error(frame.md(zip_refusal), icon=":material/block:")
        elif dataset.source.format == "zip":
            # Built in a worker, only when the button is pressed.
            st.download_button(
                "Balanced zip of images",
                data=lambda: state.balanced_zip_bytes(current, resampled.manifest),
                file_name=f"{stem}_balanced.zip",
                mime="application/zip",
                on_click="ignore",
                icon=":material/folder_zip:",
            )
        output_name = f"{stem}_balanced.csv"
    else:
        weights = outcome.weights
        share = st.column_config.NumberColumn(format="percent")
        st.dataframe(
            weights.cost_rows(),
            hide_index=True,
            column_config={"loss share unweighted": share, "loss share weighted": share},
        )
        st.subheader("Downloads")
        row1 = st.columns(4)
        row1[0].download_button(
            "Class weights (JSON)",
            data=lambda: weights_json(weights, sampler=outcome.sampler),
            file_name=f"{stem}_weights.json",
            mime="application/json",
            on_click="ignore",
            icon=":material/data_object:",
        )
        row1[1].download_button(
            "Recipe (JSON)",
            data=recipe.to_json(),
            file_name=f"{stem}_recipe.json",
            mime="application/json",
            on_click="ignore",
            icon=":material/receipt_long:",
        )
        st.subheader("Paste into your training code")
        code = snippets(weights)
        names = {
            "pytorch": "PyTorch loss",
            "pytorch_sampler": "PyTorch sampler",
            "keras": "Keras",
            "sklearn": "scikit-learn",
            "xgboost": "XGBoost",
            "lightgbm": "LightGBM",
        }
        shown = [key for key in names if key in code]
        for tab, key in zip(st.tabs([names[k] for k in shown]), shown, strict=True):
            tab.code(code[key], language="python")
        output_name = f"{stem}_weights.json"

    st.subheader("Replay on the full data")
    st.caption(
        "The recipe holds the reader settings (label, path, split and group columns"
        + (", sheet" if dataset.source.sheet else "")
        + "), the strategy, "
        + ("seed, " if strategy.is_sampling else "")
        + "split, groups and label mapping; replaying it on the same file gives the same "
        "bytes as these downloads."
    )
    st.code(
        "python -m balance_core apply "
        f"{shlex.quote(stem + '_recipe.json')} {shlex.quote(current.name)} "
        f"-o {shlex.quote(output_name)}",
        language="bash",
    )
