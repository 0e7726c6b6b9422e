"""The pages for samples with several labels or boxes (detection, multi-label).

Each page of the app calls one function here when the current dataset is not one
label per row; the numbers all come from balance_core (the summaries, the plans,
the exports), cached per content by :mod:`ui.state`.
"""

from __future__ import annotations

import io
import shlex
from dataclasses import replace

import numpy as np
import pandas as pd
import streamlit as st

import balance_core as bc
from balance_core.charts import (
    before_after_chart,
    box_sizes_chart,
    boxes_per_image_chart,
    cooccurrence_chart,
    seesaw_chart,
)
from balance_core.export import write_table_csv
from balance_core.sample_export import (
    coco_json,
    copies_manifest,
    label_weights_json,
    sample_snippets,
    yolo_image_list,
)
from balance_core.sample_recipe import (
    label_weights_for,
    sample_recipe,
    sample_record,
    sample_weights_table,
)

from . import frame, state

UNITS = ("boxes", "images", "area")
DETECTION_METHODS = {
    "repeat_factor": "Repeat-factor sampling (LVIS)",
    "image_undersample": "Image-level undersampling",
    "image_oversample": "Image-level oversampling",
    "label_weights:pos_weight": "Per-class pos_weight (no resampling)",
    "sample_weights:max": "Per-image sampler weights (WeightedRandomSampler)",
}
MULTILABEL_METHODS = {
    "ml_ros": "ML-ROS: clone samples of rare labels",
    "ml_rus": "ML-RUS: delete samples of frequent labels",
    "label_weights:pos_weight": "Per-label pos_weight for BCEWithLogitsLoss",
    "label_weights:effective_number": "Per-label effective-number weights",
    "sample_weights:max": "Per-sample sampler weights (WeightedRandomSampler)",
}
KIND_WORD = {"detection": "images", "multilabel": "samples"}


def _unit_words(current: state.Current) -> str:
    return KIND_WORD[current.dataset.kind]


def seesaw(current: state.Current, *, key: str) -> None:
    """The seesaw chart: for detection with a count toggle (boxes, images, area),
    for multi-label the positives per label."""
    summary, _ = state.summary(current)
    if current.dataset.kind == "detection":
        unit = st.segmented_control(
            "Count", UNITS, default="boxes", key=f"{key}.unit", help="what a class is counted in"
        )
        unit = unit or "boxes"
        label = "box area" if unit == "area" else unit
        if unit == "area" and summary.area_unit != "pixels":
            label = "box area (millionths of an image)"
        st.plotly_chart(seesaw_chart(summary.distribution(unit), unit=label), key=f"{key}.chart")
    else:
        st.plotly_chart(seesaw_chart(summary.distribution(), unit="positives"), key=f"{key}.chart")


def metrics(current: state.Current) -> None:
    summary, findings = state.summary(current)
    cards = st.columns(5)
    if current.dataset.kind == "detection":
        cards[0].metric("Images", f"{summary.n_images:,}")
        cards[1].metric("Boxes", f"{summary.n_boxes:,}")
        cards[2].metric("Classes", f"{len(summary.classes):,}")
        cards[3].metric("Background images", f"{summary.background_images:,}")
        cards[4].metric("Boxes per image", f"{summary.mean_boxes_per_image:.2f}")
    else:
        cards[0].metric("Samples", f"{summary.n_samples:,}")
        cards[1].metric("Labels", f"{len(summary.classes):,}")
        cards[2].metric("MeanIR", _number(summary.mean_ir), help="mean imbalance ratio per label")
        cards[3].metric("Empty label sets", f"{summary.empty_sets:,}")
        cards[4].metric("Findings", f"{len(findings):,}")


TABLE_ROWS = 20  # rows a table shows before it scrolls


def _height(rows: int) -> int:
    """A table's height showing all its rows up to TABLE_ROWS (Streamlit's own
    default shows about ten, and the rest of a per-class table hides below)."""
    return 35 * (min(rows, TABLE_ROWS) + 1) + 3


def _number(value: float) -> str:
    return f"{value:,.2f}" if value == value and value != float("inf") else "∞"


def _findings(findings) -> None:
    st.subheader("Findings")
    if not findings:
        st.success("No problems found in the labels.", icon=":material/check_circle:")
        return
    icons = {
        "error": ":material/error:",
        "warning": ":material/warning:",
        "info": ":material/info:",
    }
    for finding in findings:
        kind = finding.kind.value.replace("_", " ")
        title = f"{kind.capitalize()} · {finding.count:,} · {finding.severity.value}"
        with st.expander(title, icon=icons.get(finding.severity.value)):
            st.text(finding.message)


UNCERTAIN = {
    "ignore": "neither positive nor negative (U-Ignore)",
    "zeros": "negative (U-Zeros)",
    "ones": "positive (U-Ones)",
}
SEPARATORS = {"|": "| (bar)", ";": "; (semicolon)", ",": ", (comma)", "other": "another"}
SHAPES = {
    "joined": "one column, labels joined by a separator",
    "indicators": "one column per label (1/0 indicators)",
}
# Options of read_dataset that a new choice of shape keeps.
KEPT_OPTIONS = ("uncertain", "empty_label", "format")


def _from_indicators(dataset) -> bool:
    """Whether the labels were read from indicator columns (the label column is the
    ``label_set`` the reader joined)."""
    classes = dataset.annotations.classes
    return dataset.roles.label.startswith("label_set") and set(classes) <= set(
        dataset.raw.column_names
    )


def read_separator(current: state.Current) -> str | None:
    """The separator the current multi-label table was read with: the one asked
    for, or the one the reader sniffed (None for indicator columns)."""
    dataset = current.dataset
    if dataset.kind != "multilabel" or _from_indicators(dataset):
        return None
    given = dict(current.reader).get("labels_sep")
    if given:
        return given

    def sniff():
        from balance_core.readers.multilabel import sniff_multilabel

        guess = sniff_multilabel(replace(dataset, annotations=None))
        return guess.sep if guess is not None and guess.shape == "separator" else None

    return state.cached(("read_separator", current.key), sniff)


def _reread(options: dict, *keys: str) -> None:
    """Read the file again with ``options`` (a widget callback); when it cannot be
    read so, keep the current reading, say why, and put ``keys`` back."""
    try:
        state.set_reader(options)
    except bc.DatasetError as error:
        st.session_state["reader.error"] = str(error)
        for key in keys:
            st.session_state.pop(key, None)


def _kept(reader: dict) -> dict:
    return {k: reader[k] for k in KEPT_OPTIONS if k in reader}


def _read_joined(reader: dict, *keys: str) -> None:
    choice = st.session_state.get("reader.sep", "|")
    sep = st.session_state.get("reader.sep_other", "") if choice == "other" else choice
    if not sep:
        return  # "another" chosen, the text not yet typed
    column = st.session_state.get("reader.labels_col")
    options = {**_kept(reader), "labels_sep": sep}
    if column is not None:
        options["label_col"] = column
    _reread(options, *keys)


def _read_indicators(reader: dict) -> None:
    columns = st.session_state.get("reader.label_cols") or []
    if not columns:
        st.session_state["reader.error"] = "Choose at least one indicator column."
        return
    _reread({**_kept(reader), "label_cols": tuple(columns)}, "reader.label_cols")


def reading(current: state.Current) -> None:
    """How a multi-label table was read, and the choice to read it otherwise: the
    separator of a joined column (sniffed, or given), which column, or which
    indicator columns; how uncertain cells count; or one label per row."""
    if current.dataset.kind != "multilabel":
        return
    dataset = current.dataset
    summary, _ = state.summary(current)
    reader = dict(current.reader)
    indicators = _from_indicators(dataset)
    sep = read_separator(current)
    with st.expander("How the labels were read", icon=":material/tune:"):
        error = st.session_state.pop("reader.error", None)
        if error:
            st.error(frame.md(error), icon=":material/error:")
        if indicators:
            how = f"{len(summary.classes):,} indicator columns"
        else:
            how = (
                f"column {frame.md(dataset.roles.label)}, labels joined by “{frame.md(sep or '?')}”"
            )
        st.caption(
            f"Several labels per sample: {len(summary.classes):,} labels, "
            f"{summary.label_sets:,} distinct label sets; read from {how}"
            + ("" if indicators or "labels_sep" in reader else " (separator sniffed)")
            + "."
        )
        shapes = list(SHAPES)
        shape = st.radio(
            "Labels are in",
            shapes,
            index=shapes.index("indicators" if indicators else "joined"),
            format_func=SHAPES.__getitem__,
            horizontal=True,
            key="reader.shape",
        )
        taken = {dataset.roles.path, dataset.roles.split, dataset.roles.group}
        columns = [
            n for n in dataset.raw.column_names if n not in taken and not n.startswith("label_set")
        ]
        if shape == "joined":
            joined = [c for c in columns if not (indicators and c in dataset.annotations.classes)]
            if not joined:
                st.caption("No other column could hold joined labels.")
            else:
                left, right = st.columns([2, 3])
                keys = ("reader.sep", "reader.sep_other", "reader.labels_col")
                start = dataset.roles.label if dataset.roles.label in joined else joined[0]
                left.selectbox(
                    "Column of joined labels",
                    joined,
                    index=joined.index(start),
                    key="reader.labels_col",
                    on_change=_read_joined,
                    args=(reader, *keys),
                )
                choices = list(SEPARATORS)
                preset = sep or "|"
                with right:
                    choice = st.radio(
                        "Separator",
                        choices,
                        index=choices.index(preset if preset in choices else "other"),
                        format_func=SEPARATORS.__getitem__,
                        horizontal=True,
                        key="reader.sep",
                        on_change=_read_joined,
                        args=(reader, *keys),
                        help="the text between two labels in a cell; "
                        + ("sniffed" if "labels_sep" not in reader else "as chosen"),
                    )
                    if choice == "other":
                        st.text_input(
                            "Another separator",
                            value="" if preset in choices else preset,
                            key="reader.sep_other",
                            on_change=_read_joined,
                            args=(reader, *keys),
                            placeholder="e.g. /",
                        )
                if indicators:
                    st.button(
                        "Read this column's joined labels",
                        key="reader.joined",
                        on_click=_read_joined,
                        args=(reader, *keys),
                    )
        else:
            default = list(dataset.annotations.classes) if indicators else []
            st.multiselect(
                "Indicator columns (1/0, true/false, CheXpert's -1 for uncertain)",
                columns,
                default=[c for c in default if c in columns],
                key="reader.label_cols",
            )
            st.button(
                "Read these columns as labels",
                key="reader.indicators",
                on_click=_read_indicators,
                args=(reader,),
            )
        if any(summary.uncertain.values()) or "uncertain" in reader:
            policies = list(UNCERTAIN)
            policy = st.radio(
                "Uncertain cells (-1) count as",
                policies,
                index=policies.index(reader.get("uncertain", "ignore")),
                format_func=UNCERTAIN.__getitem__,
                horizontal=True,
                key="reader.uncertain",
            )
            if policy != reader.get("uncertain", "ignore"):
                state.set_reader({**reader, "uncertain": policy})
                st.rerun()
        if st.button("Read as one label per row (each combination a class)", key="reader.single"):
            state.set_reader({"multilabel": "off"})
            st.rerun()


def overview(current: state.Current) -> None:
    dataset = current.dataset
    summary, findings = state.summary(current)
    reading(current)
    metrics(current)
    seesaw(current, key="overview")
    if dataset.kind == "detection":
        st.subheader("Per class: boxes, images, box area")
        st.dataframe(
            pd.DataFrame(summary.rows()),
            hide_index=True,
            height=_height(len(summary.classes)),
            column_config={
                "share of images": st.column_config.NumberColumn(format="percent"),
                "share of box area": st.column_config.NumberColumn(format="percent"),
            },
        )
        left, right = st.columns(2)
        with left:
            st.subheader("Box sizes")
            st.caption("COCO's sizes: small below 32² pixels of area, medium below 96², large.")
            st.plotly_chart(box_sizes_chart(summary.sizes), key="overview.sizes")
        with right:
            st.subheader("Boxes per image")
            st.caption("Images by how many boxes they hold (0: background).")
            st.plotly_chart(
                boxes_per_image_chart(summary.boxes_per_image), key="overview.per_image"
            )
        if summary.unnamed_boxes:
            st.warning(f"{summary.unnamed_boxes:,} boxes have a class id without a name.")
    else:
        cards = st.columns(4)
        cards[0].metric("Cardinality", f"{summary.cardinality:.3f}", help="labels per sample")
        cards[1].metric("Density", f"{summary.density:.4f}", help="cardinality / labels")
        cards[2].metric("MaxIR", _number(summary.max_ir))
        cards[3].metric(
            "SCUMBLE", f"{summary.scumble:.3f}", help="how much rare labels co-occur with "
            "frequent ones (Charte et al. 2014): 0 none, towards 1 more"
        )  # fmt: skip
        st.subheader("Per label: positives, IRLbl, SCUMBLE")
        st.dataframe(
            pd.DataFrame(summary.rows()),
            hide_index=True,
            height=_height(len(summary.classes)),
            column_config={"prevalence": st.column_config.NumberColumn(format="percent")},
        )
        st.subheader("Co-occurrence")
        figure = cooccurrence_chart(summary.classes, summary.cooccurrence)
        pairs = np.asarray(summary.cooccurrence, dtype=np.int64).copy()
        np.fill_diagonal(pairs, 0)
        if pairs.max() > 0:
            # The diagonal (each label's positives) would take the whole colour scale
            # and leave the pairs pale: the scale ends at the largest pair.
            figure.update_traces(zmin=0, zmax=int(pairs.max()))
            st.caption(
                "Samples holding both labels; the colours end at the most frequent pair, "
                "so the diagonal (each label's positives) is off the scale: hover for counts."
            )
        st.plotly_chart(figure, key="overview.cooc")
    _findings(findings)


# --- Balance --------------------------------------------------------------------------


def _record(current: state.Current) -> dict:
    """The Balance page's widgets, as a sample-plan record."""
    kind = current.dataset.kind
    methods = DETECTION_METHODS if kind == "detection" else MULTILABEL_METHODS
    previous = state.get_sample_recipe(current).strategy.sample_plan
    options = list(methods)
    index = options.index(previous["method"]) if previous["method"] in options else 0
    method = st.radio(
        "Method", options, index=index, format_func=methods.__getitem__, key="balance.method"
    )
    seed = previous.get("seed", 0)
    if method == "repeat_factor":
        threshold = st.slider(
            "Threshold t (classes in fewer than this share of images repeat)",
            min_value=0.001,
            max_value=1.0,
            value=float(previous.get("threshold", 0.3)),
            step=0.001,
            format="%.3f",
            key="balance.threshold",
            help="r_c = max(1, sqrt(t / f_c)); an image repeats max over its classes "
            "(Gupta et al., LVIS, 2019). LVIS used 0.001.",
        )
        return {"method": method, "threshold": threshold, "seed": seed}
    if method.startswith("image_"):
        target = st.text_input(
            "Target",
            value=str(previous.get("target", "equal")),
            key="balance.target",
            help="images grouped by their rarest class: equal, ratio:R, cap:N, counts:A=N,...",
        )
        return {"method": method, "target": target.strip() or "equal", "seed": seed}
    if method in ("ml_ros", "ml_rus"):
        percentage = st.slider(
            "Share of the samples to clone or delete (%)",
            min_value=1.0,
            max_value=100.0,
            value=float(previous.get("percentage", 25.0)),
            step=1.0,
            key="balance.percentage",
        )
        return {"method": method, "percentage": percentage, "seed": seed}
    if method.startswith("sample_weights:"):
        return {"method": method}
    return {"method": method, "max_weight": None}


def balance(current: state.Current) -> None:
    record = _record(current)
    recipe = sample_recipe(record, split="auto")
    state.set_sample_recipe(recipe)
    outcome = state.sample_outcome(current, recipe)
    words = _unit_words(current)
    if outcome.plan is not None:
        plan = outcome.plan
        # The plan's own record (ratios as the library keeps them), with the target
        # as written: what the recipe and the CLI replay.
        state.set_sample_recipe(
            sample_recipe(sample_record(plan=plan, target=record.get("target")), split="auto")
        )
        where = f" of split {frame.md(outcome.split)}" if outcome.split is not None else ""
        cards = st.columns(3)
        cards[0].metric(f"{words.capitalize()}{where}", f"{plan.rows_before:,}")
        cards[1].metric(
            f"{words.capitalize()} after", f"{plan.rows_after:,}",
            delta=f"{plan.rows_after - plan.rows_before:+,}",
        )  # fmt: skip
        unit = "samples" if not plan.labels.has_boxes else "images"
        cards[2].metric(f"Ratio after ({unit})", f"1 : {plan.ratio_after():.2f}")
        st.subheader(f"{words.capitalize()} per class, before and after")
        st.plotly_chart(
            before_after_chart(plan.samples_before, plan.samples_after, unit=words),
            key="balance.samples",
        )
        if plan.labels.has_boxes:
            st.subheader("Boxes per class, before and after (frequent classes ride along)")
            st.plotly_chart(
                before_after_chart(plan.boxes_before, plan.boxes_after, unit="boxes"),
                key="balance.boxes",
            )
        costs = pd.DataFrame(plan.cost_rows())
        if not plan.labels.has_boxes:
            costs = costs.drop(columns=["boxes before", "boxes after"], errors="ignore")
        costs = costs.dropna(axis="columns", how="all").rename(
            columns=lambda c: c.replace("samples", words)
        )
        st.dataframe(costs, hide_index=True, height=_height(len(costs)))
        for warning in plan.warnings:
            st.warning(frame.md(warning))
    elif outcome.sampler is not None:
        sampler = outcome.sampler
        st.subheader("Share of draws per label, before and after")
        st.caption(
            "Each sample is drawn with weight max over its labels of 1 / (samples with "
            "the label); samples with no label count as one more label of their own."
        )
        st.dataframe(
            pd.DataFrame(
                {
                    "label": list(sampler.labels.classes),
                    "share before": [sampler.label_share_before[c] for c in sampler.labels.classes],
                    "share of draws": [sampler.label_draw_share[c] for c in sampler.labels.classes],
                }
            ),
            hide_index=True,
            height=_height(len(sampler.labels.classes)),
            column_config={
                "share before": st.column_config.NumberColumn(format="percent"),
                "share of draws": st.column_config.NumberColumn(format="percent"),
            },
        )
    else:
        weights = outcome.weights
        st.subheader("Weight per label")
        st.dataframe(
            pd.DataFrame(
                {
                    "label": list(weights.classes),
                    "positives": [weights.positives[c] for c in weights.classes],
                    "negatives": [weights.negatives[c] for c in weights.classes],
                    "weight": weights.as_list,
                }
            ),
            hide_index=True,
            height=_height(len(weights.classes)),
        )
        for warning in weights.warnings:
            st.warning(frame.md(warning))
    compare(current, record)
    st.page_link("pages/3_Export.py", label="Export this choice", icon=":material/download:")


def _comparison_records(current: state.Current, record: dict) -> list[dict]:
    chosen = {record["method"]: record}
    if current.dataset.kind == "detection":
        defaults = [
            {"method": "repeat_factor", "threshold": 0.3, "seed": 0},
            {"method": "image_undersample", "target": "equal", "seed": 0},
            {"method": "image_oversample", "target": "equal", "seed": 0},
        ]
    else:
        defaults = [
            {"method": "ml_ros", "percentage": 25.0, "seed": 0},
            {"method": "ml_rus", "percentage": 25.0, "seed": 0},
        ]
    return [chosen.get(d["method"], d) for d in defaults]


def compare(current: state.Current, record: dict) -> None:
    """Every resampling method side by side on the same data (each plan cached)."""
    words = _unit_words(current)
    rows = []
    for candidate in _comparison_records(current, record):
        name = (DETECTION_METHODS | MULTILABEL_METHODS)[candidate["method"]]
        try:
            plan = state.sample_outcome(current, sample_recipe(candidate, split="auto")).plan
        except bc.DatasetError as error:
            rows.append({"method": name, "note": str(error)})
            continue
        row = {
            "method": name,
            f"{words} before": plan.rows_before,
            f"{words} after": plan.rows_after,
            f"ratio after ({words})": plan.ratio_after("samples"),
        }
        if plan.labels.has_boxes:
            row["boxes after"] = sum(plan.boxes_after.values())
            row["ratio after (boxes)"] = plan.ratio_after("boxes")
        rows.append(row)
    with st.expander("Compare the methods", icon=":material/compare_arrows:"):
        st.dataframe(pd.DataFrame(rows), hide_index=True)


# --- Export ---------------------------------------------------------------------------


def command(current: state.Current, recipe) -> str:
    """The shell command that replays ``recipe`` on the uploaded file and writes
    what the page offers for download."""
    outcome = state.sample_outcome(current, recipe)
    parts = ["python", "-m", "balance_core", "apply", "recipe.json", current.name]
    if outcome.plan is not None:
        parts += ["-o", "manifest.csv"]
        if outcome.plan.labels.has_boxes:
            parts += ["--yolo-list", "train.txt", "--coco", "coco.json"]
    elif outcome.sampler is not None:
        parts += ["-o", "sampler_weights.csv"]
    else:
        parts += ["-o", "weights.json"]
    return shlex.join(parts)


def downloads(current: state.Current, recipe) -> dict[str, bytes]:
    """The files the Export page offers, by file name (the names the command writes)."""
    dataset = current.dataset
    outcome = state.sample_outcome(current, recipe)
    files: dict[str, bytes] = {}
    if outcome.plan is not None:
        sink = io.BytesIO()
        write_table_csv(copies_manifest(dataset, outcome.plan), sink, neutralize_formulas=True)
        files["manifest.csv"] = sink.getvalue()
        if outcome.plan.labels.has_boxes:
            files["train.txt"] = yolo_image_list(dataset, outcome.plan)
            files["coco.json"] = coco_json(dataset, outcome.plan)
    elif outcome.sampler is not None:
        sink = io.BytesIO()
        table = sample_weights_table(dataset, outcome.sampler)
        write_table_csv(table, sink, neutralize_formulas=True)
        files["sampler_weights.csv"] = sink.getvalue()
    else:
        files["weights.json"] = label_weights_json(outcome.weights)
    return files


def export_recipe(current: state.Current):
    """The recipe the Export page offers: :func:`ui.state.export_sample_recipe` with
    the separator this table was read with, sniffed or chosen (the recorded reader
    otherwise takes the separator found in most cells, which for labels like
    ``Effusion, left;Mass`` is the ``,`` inside the names, not the ``;`` read)."""
    recipe = state.export_sample_recipe(current)
    sep = read_separator(current)
    if sep is not None and recipe.reader.get("labels_sep") != sep:
        recipe = replace(recipe, reader={**recipe.reader, "labels_sep": sep})
    return recipe


def export(current: state.Current) -> None:
    recipe = export_recipe(current)
    outcome = state.sample_outcome(current, recipe)
    files = state.cached(
        ("sample_downloads", current.key, recipe.to_json()), lambda: downloads(current, recipe)
    )
    method = recipe.strategy.sample_plan["method"]
    st.markdown(f"Choice from the Balance page: **{frame.md(method)}**")
    mimes = {".csv": "text/csv", ".txt": "text/plain", ".json": "application/json"}
    columns = st.columns(len(files) + 1)
    for column, (name, data) in zip(columns, files.items(), strict=False):
        column.download_button(
            name,
            data=data,
            file_name=name,
            mime=mimes[name[name.rindex(".") :]],
            key=f"export.{name}",
            icon=":material/download:",
        )
    columns[-1].download_button(
        "recipe.json",
        data=recipe.to_json(),
        file_name="recipe.json",
        mime="application/json",
        key="export.recipe",
        icon=":material/receipt_long:",
    )
    st.subheader("Replay from the command line")
    st.caption("The same files, byte for byte, from the recipe and the original file:")
    st.code(command(current, recipe), language="bash")
    code = sample_snippets(plan=outcome.plan, weights=outcome.weights)
    if outcome.plan is not None:
        # pos_weight for the loss goes with any plan (from the data before sampling).
        pos = state.cached(
            ("pos_weight", current.key, outcome.split),
            lambda: label_weights_for(current.dataset, split=outcome.split),
        )
        code |= sample_snippets(weights=pos)
        st.download_button(
            "weights.json (pos_weight)",
            data=label_weights_json(pos),
            file_name="weights.json",
            mime="application/json",
            key="export.pos_weight",
            icon=":material/download:",
        )
    st.subheader("Code")
    titles = {
        "pytorch_bce": "PyTorch BCEWithLogitsLoss(pos_weight=...)",
        "detectron2": "detectron2 RepeatFactorTrainingSampler",
        "mmdetection": "MMDetection ClassBalancedDataset",
        "ultralytics": "Ultralytics",
    }
    for name, text in code.items():
        st.markdown(f"**{frame.md(titles.get(name, name))}**")
        st.code(text, language="python")


MULTI_SPLIT = "splits.multi"
ORDERS = {
    2: "labels and label pairs (Szymański & Kajdanowicz 2017)",
    1: "labels only (Sechidis et al. 2011)",
}


def _split_table(report) -> pd.DataFrame:
    """Per class: its samples, and in each split how many of them and what share."""
    totals, shares = report.totals, report.shares
    table = {"class": list(report.classes), "samples": totals.tolist()}
    for s, name in enumerate(report.splits):
        title = name if report.asked is None else f"{name} (asked {report.asked[s]:.0%})"
        table[title] = [
            f"{shares[s, c]:.1%} ({int(report.counts[s, c]):,})" if totals[c] else "-"
            for c in range(len(report.classes))
        ]
    return pd.DataFrame(table)


def _current_splits(current: state.Current, matrix) -> None:
    from balance_core.label_splits import current_label_splits

    words = _unit_words(current)
    st.subheader("The current splits")
    report = current_label_splits(current.dataset, matrix)
    if report is None:
        st.info(
            f"This data has no split column: every one of its {words} is in one pool. "
            "Make splits below.",
            icon=":material/info:",
        )
        return
    cards = st.columns(min(len(report.splits), 4) or 1)
    for k, name in enumerate(report.splits[:4]):
        cards[k].metric(f"{words.capitalize()} in {frame.md(name)}", f"{report.sizes[k]:,}")
    if report.unsplit:
        st.warning(f"{report.unsplit:,} {words} have no split.", icon=":material/call_split:")
    st.caption(f"Per class: the share of its {words} in each split (and how many).")
    st.dataframe(_split_table(report), hide_index=True, height=_height(matrix.n_labels))
    missing = report.absent()
    if missing:
        shown = "; ".join(f"{frame.md(c)} not in {frame.md(n)}" for n, c in missing[:5])
        more = f" and {len(missing) - 5:,} more" if len(missing) > 5 else ""
        st.warning(f"Classes absent from a split: {shown}{more}.", icon=":material/call_split:")


def splits(current: state.Current) -> None:
    """The Splits page for samples with several labels or boxes: the current splits
    per class, and new ones by iterative stratification
    (:func:`balance_core.splits.iterative_stratification`) on the sample x class
    matrix (an image holds a class when it has a box of it)."""
    from balance_core.export import table_csv
    from balance_core.label_splits import (
        groups_in_several_splits,
        label_split_counts,
        with_split_column,
    )
    from balance_core.multilabel import label_matrix
    from balance_core.splits import iterative_stratification, parse_proportions

    dataset = current.dataset
    words = _unit_words(current)
    matrix = state.cached(("label_matrix", current.key), lambda: label_matrix(dataset))
    _current_splits(current, matrix)
    st.subheader("Make splits by iterative stratification")
    st.caption(
        f"Each split gets its share of every class's {words}, the rarest classes placed "
        f"first; {words} without a label fill the splits' sizes."
    )
    with st.form("splits.multi.form", border=True):
        text = st.text_input(
            "Splits and their shares",
            value="train=0.8,val=0.1,test=0.1",
            help="Names and shares, e.g. train=0.7,test=0.3.",
            key="splits.shares",
        )
        cells = st.columns(2)
        seed = cells[0].number_input("Seed", min_value=0, value=0, step=1, key="splits.seed")
        order = cells[1].radio(
            "Stratify", list(ORDERS), format_func=ORDERS.__getitem__, key="splits.order"
        )
        submitted = st.form_submit_button("Make the splits", type="primary")
    if submitted:
        proportions = parse_proportions(text)
        names = [name for name, _ in proportions]
        shares = [share for _, share in proportions]
        assignment = state.cached(
            ("multi_split", current.key, tuple(proportions), int(seed), int(order)),
            lambda: iterative_stratification(
                matrix.dense(), shares, seed=int(seed), order=int(order)
            ),
        )
        st.session_state[MULTI_SPLIT] = (current.key, names, shares, assignment)
    stored = st.session_state.get(MULTI_SPLIT)
    if stored is None or stored[0] != current.key:
        return
    _, names, shares, assignment = stored
    report = label_split_counts(matrix, assignment, names, asked=shares)
    cards = st.columns(min(len(names), 4))
    for k, name in enumerate(names[:4]):
        cards[k].metric(
            f"{words.capitalize()} in {frame.md(name)}",
            f"{report.sizes[k]:,}",
            help=f"asked {shares[k]:.0%}",
        )
    gap = report.largest_gap()
    if gap is not None:
        label, split, achieved, asked = gap
        st.caption(
            f"Largest gap: {frame.md(label)} has {achieved:.1%} of its {words} in "
            f"{frame.md(split)}, asked {asked:.0%}."
        )
    st.dataframe(_split_table(report), hide_index=True, height=_height(matrix.n_labels))
    straddling = groups_in_several_splits(dataset, assignment)
    if straddling:
        st.warning(
            f"This split places {words}, not groups: {straddling:,} values of "
            f"{frame.md(dataset.roles.group)} are in more than one split. Iterative "
            "stratification here does not keep groups together.",
            icon=":material/group_off:",
        )
    table, column = with_split_column(dataset, names, assignment)
    stem = current.name.rsplit(".", 1)[0] or "data"
    st.download_button(
        "Table with splits (CSV)",
        data=lambda: table_csv(table),
        file_name=f"{stem}_split.csv",
        mime="text/csv",
        on_click="ignore",
        icon=":material/table:",
    )
    st.caption(
        f"One row per {words[:-1]} as read, with the new split in column "
        f"{frame.md(column)}. No command-line replay of this split yet: the same shares "
        "and seed make the same split here."
    )
