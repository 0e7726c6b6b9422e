"""Balance: choose a strategy and see what it does, live; compare them all."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from balance_core import Distribution
from balance_core.advice import recommend
from balance_core.apply import map_counts, mapping_from_table
from balance_core.charts import before_after_chart, fold_classes, weights_chart
from balance_core.ordering import natural_key
from balance_core.plan import WEIGHT_METHODS, compare_strategies, ratio_choices
from balance_core.recipe import Recipe, Strategy, run_counts
from balance_core.stats import format_ratio, format_times
from balance_core.stratify import stratify_options
from ui import columns, frame, multi, state
from ui.strategies import NAMES as STRATEGIES

HINTS = {
    "undersample": "Drop rows of the larger classes. Cheap when the majority is redundant "
    "(near-duplicates, like many CT slices of one patient).",
    "oversample": "Repeat rows of the smaller classes. Nothing is lost, but the copies can "
    "be overfitted.",
    "resample": "Every class to one count: larger classes lose rows, smaller ones are repeated.",
    "weights": "Keep every row and weigh the loss instead, when every sample carries "
    "something worth learning.",
    "sampler": "Keep every row and draw them with per-sample weights "
    "(PyTorch WeightedRandomSampler).",
}
ALL_ROWS = "(all rows)"
NONE = "(none)"
TABLE_ROWS = 30


@st.cache_resource(show_spinner=False, max_entries=16)
def cached_stratify_options(sha256: str, roles: tuple, sheet: str | None, _dataset):
    # One pass over every column: once per dataset and roles, not on every rerun.
    return stratify_options(_dataset)


def folded(rows: list[dict], key: str, name: str) -> list[dict]:
    """The table's rows for the classes the chart draws (largest first, ties in natural
    order), unless the user asked for all of them."""
    if len(rows) <= TABLE_ROWS or st.toggle(
        f"Show all {len(rows):,} classes", key=f"balance.all.{name}"
    ):
        return sorted(rows, key=lambda row: natural_key(row["class"]))
    shown, _ = fold_classes({row["class"]: row[key] for row in rows}, max_bars=TABLE_ROWS)
    by_class = {row["class"]: row for row in rows}
    st.caption(f"The {len(shown)} largest of {len(rows):,} classes.")
    return [by_class[label] for label in shown]


current = frame.page("Balance")
st.title("Balance")
if current.dataset.kind != "single":
    # Several labels or boxes per sample: its own page (ui/multi.py).
    with frame.guard():
        multi.balance(current)
    st.stop()
current = columns.panel(current)

with frame.guard():
    dist = current.distribution
    dataset = current.dataset
    mapping = state.label_mapping()
    sha = current.sha256[:12]

    def widget(name: str) -> dict:
        # Keys carry the dataset's fingerprint so a new dataset starts from defaults.
        return {"key": f"balance.{name}.{sha}", "persist_state": "session"}

    train = next((s for s in dist.split_counts if s.lower() in ("train", "training")), None)
    # The advice is for the classes as they will be balanced: after the label mapping.
    mapped = Distribution.from_counts(
        map_counts(dist.counts, mapping),
        split_counts={s: map_counts(c, mapping) for s, c in dist.split_counts.items()},
    )
    every_sample_counts = st.toggle(
        "Every sample carries something worth learning",
        help="The counts cannot tell: when no row may be lost (every spoof attack, every "
        "rare defect), the advice is class weights even for a large minority.",
        **widget("every_sample_counts"),
    )
    advice = recommend(mapped, split=train, every_sample_counts=every_sample_counts)
    with st.container(border=True):
        st.markdown(f"**{frame.md(advice.headline)}.** {frame.md(advice.reason)}")
    method = st.segmented_control(
        "Strategy",
        list(STRATEGIES),
        format_func=STRATEGIES.__getitem__,
        # With tiny classes, undersampling to equal would gut the data: start from weights.
        default=advice.strategy
        or ("weights" if advice.action == "merge_or_drop" else "undersample"),
        required=True,
        **widget("method"),
    )
    st.caption(HINTS[method])
    with st.expander(
        "Label mapping" + (f" · {len(mapping)} change(s)" if mapping else ""),
        icon=":material/merge:",
    ):
        st.caption(
            "Merge classes by giving them the same new name, rename, or drop a class. "
            "Applied before any strategy and recorded in the recipe."
        )
        edited = st.data_editor(
            pd.DataFrame(
                {
                    "class": list(dist.counts),
                    "samples": list(dist.counts.values()),
                    "new name": [mapping.get(label) or label for label in dist.counts],
                    "drop": [label in mapping and mapping[label] is None for label in dist.counts],
                }
            ),
            disabled=["class", "samples"],
            hide_index=True,
            # A mapping changed elsewhere (the Overview's merge) starts a fresh editor.
            key=f"balance.mapping.{sha}.{abs(hash(tuple(sorted(mapping.items(), key=str))))}",
        )
        wanted = mapping_from_table(edited.to_dict("records"))
        if wanted != mapping:
            state.set_label_mapping(wanted)
            st.rerun()
    controls, preview = st.columns([1, 2], gap="large")
    with controls:
        split = None
        if dist.split_counts:
            names = list(dist.split_counts)
            default = next((s for s in names if s.lower() in ("train", "training")), names[0])
            split = st.selectbox(
                "Split to balance",
                [*names, ALL_ROWS],
                index=names.index(default),
                help="Only this split changes; the others pass through untouched.",
                **widget("split"),
            )
            split = None if split == ALL_ROWS else split
            if split is None:
                st.warning(
                    "Balancing all rows also resamples the validation and test rows, so "
                    "evaluation no longer sees the real mix of classes. Pick the training "
                    "split unless that is what you want.",
                    icon=":material/warning:",
                )
        raw_counts = dist.split_counts[split] if split else dist.counts
        counts = map_counts(raw_counts, mapping)
        if len(counts) < 2 <= len(raw_counts):
            # One class from the start is the engine's error below; this one is ours.
            st.info(
                f"The label mapping leaves {len(counts)} class{'' if len(counts) == 1 else 'es'}"
                " to balance; keep at least two.",
                icon=":material/info:",
            )
            st.stop()
        smallest, largest = min(counts.values()), max(counts.values())
        ratio_now = largest / max(smallest, 1)
        if split is not None:
            st.caption(
                f"Imbalance of {frame.md(repr(split))}: {format_ratio(ratio_now)} · "
                f"all rows: {dist.ratio_text}"
            )
        strategy_options: dict = {"method": method}
        seed, use_groups, stratify = 0, True, None
        if method in ("undersample", "oversample", "resample"):
            if method == "resample":
                how = st.radio(
                    "Every class to", ["median", "mean", "a count"], horizontal=True, **widget("to")
                )
                target = how
                if how == "a count":
                    target = str(
                        st.number_input(
                            "Count per class", min_value=1, value=smallest, **widget("count")
                        )
                    )
            else:
                modes = ["equal", "ratio"] + (["cap"] if method == "undersample" else [])
                how = st.radio("Target", modes, horizontal=True, **widget(f"{method}.mode"))
                target = "equal"
                if how == "ratio":
                    # Steps that grow with the value: usable from 1 : 1.1 to 1 : 10,000.
                    choices = ratio_choices(ratio_now)
                    ratio = st.select_slider(
                        "Largest / smallest class at most"
                        if method == "undersample"
                        else "Smallest class at least majority /",
                        options=choices,
                        value=min(choices, key=lambda c: abs(c - 2.0)),
                        format_func=lambda r: f"1 : {r:g}",
                        **widget(f"{method}.ratio"),
                    )
                    target = f"ratio:{ratio:g}"
                elif how == "cap":
                    cap = st.number_input(
                        "No class above",
                        min_value=1,
                        value=max(smallest, 1),
                        step=1,
                        **widget("cap"),
                    )
                    target = f"cap:{int(cap)}"
            strategy_options["target"] = target
            seed = int(st.number_input("Seed", min_value=0, value=0, step=1, **widget("seed")))
            if dataset.roles.group is not None:
                use_groups = st.toggle(
                    f"Spread over groups ({frame.md(dataset.roles.group)})",
                    value=True,
                    help="Keep rows spread across patients/subjects instead of piling on a few.",
                    **widget("groups"),
                )
            options = cached_stratify_options(
                current.sha256,
                tuple(sorted(dataset.roles.as_dict().items())),
                dataset.source.sheet,
                dataset,
            )
            usable = [o.column for o in options if o.usable]
            if usable:
                left_out = [o for o in options if not o.usable]
                picked = st.selectbox(
                    "Keep the mix of",
                    [NONE, *usable],
                    help="Keep each class's mix of this column (e.g. attack type) as it is."
                    + (
                        " Not offered: " + "; ".join(frame.md(o.reason) for o in left_out[:5])
                        if left_out
                        else ""
                    ),
                    **widget("stratify"),
                )
                stratify = None if picked == NONE else picked
        else:
            default_method = "inverse" if method == "sampler" else "balanced"
            weighting = st.selectbox(
                "Weights",
                WEIGHT_METHODS[:-1],
                index=WEIGHT_METHODS.index(default_method),
                **widget(f"{method}.weighting"),
            )
            strategy_options["weighting"] = weighting
            if weighting == "effective_number":
                strategy_options["beta"] = st.select_slider(
                    "β", [0.9, 0.99, 0.999, 0.9999], value=0.999, **widget("beta")
                )
            strategy_options["normalize"] = st.radio(
                "Scale",
                ["source", "mean", "min"],
                format_func={"source": "as the method defines",
                             "mean": "mean sample weight 1",
                             "min": "smallest weight 1"}.__getitem__,
                **widget("normalize"),
            )  # fmt: skip
            if st.toggle("Clip the spread", **widget("clip")):
                strategy_options["max_ratio"] = st.slider(
                    "Largest / smallest weight at most",
                    1.0,
                    100.0,
                    10.0,
                    0.5,
                    **widget("max_ratio"),
                )
        recipe = Recipe(
            strategy=Strategy(**strategy_options),
            seed=seed,
            split=split,
            use_groups=use_groups,
            stratify=stratify,
            label_mapping=mapping,
            reader={**dataset.roles.as_dict(), "sheet": dataset.source.sheet},
            input={
                "name": current.name,
                "format": dataset.source.format,
                "size_bytes": current.size,
                "sha256": current.sha256,
            },
        )
        state.set_recipe(recipe)

    with preview:
        outcome = run_counts(recipe, counts)
        if outcome.plan is not None:
            plan = outcome.plan
            # Refused here, from the counts, before any page builds a row or a byte.
            for kind in ("manifest", "zip") if dataset.source.format == "zip" else ("manifest",):
                if (refusal := state.output_refusal(current, plan, kind=kind)) is not None:
                    st.error(frame.md(refusal), icon=":material/block:")
                    break
            cards = st.columns(4)
            cards[0].metric(
                "Rows", f"{plan.rows_after:,}", delta=f"{plan.rows_after - plan.rows_before:+,}"
            )
            cards[1].metric("Dropped", f"{plan.rows_dropped:,}")
            cards[2].metric("Duplicates", f"{plan.rows_added:,}")
            cards[3].metric("Imbalance after", format_ratio(plan.ratio_after))
            st.plotly_chart(before_after_chart(plan.before, plan.after), key="balance.preview")
            for warning in plan.warnings:
                st.warning(frame.md(warning), icon=":material/warning:")
            counts_format = st.column_config.NumberColumn(format="localized")
            st.dataframe(
                pd.DataFrame(folded(plan.cost_rows(), "before", "plan")),
                hide_index=True,
                column_config={
                    "before": counts_format,
                    "after": counts_format,
                    "dropped": counts_format,
                    "duplicates added": counts_format,
                    "dropped share": st.column_config.NumberColumn(format="percent"),
                },
            )
        else:
            weights = outcome.weights
            cards = st.columns(3)
            cards[0].metric("Largest weight", f"{max(weights.weights.values()):.3g}")
            cards[1].metric("Weight spread", format_times(weights.spread))
            cards[2].metric("Rows dropped", "0")
            st.plotly_chart(
                weights_chart(weights.weights, weights.loss_share_before, weights.loss_share_after),
                key="balance.weights",
            )
            # The sampler repeats its class weights' warnings (the clip one): show each once.
            extra = outcome.sampler.warnings if outcome.sampler else ()
            for warning in dict.fromkeys(weights.warnings + extra):
                st.warning(frame.md(warning), icon=":material/warning:")
            st.dataframe(
                pd.DataFrame(folded(weights.cost_rows(), "samples", "weights")),
                hide_index=True,
                column_config={
                    "samples": st.column_config.NumberColumn(format="localized"),
                    "loss share unweighted": st.column_config.NumberColumn(format="percent"),
                    "loss share weighted": st.column_config.NumberColumn(format="percent"),
                },
            )
            if outcome.sampler is not None:
                st.caption(
                    f"An epoch of {outcome.sampler.num_samples:,} draws sees about "
                    f"{outcome.sampler.expected_distinct_total:,.0f} distinct samples."
                )
    st.subheader("Compare all strategies")
    counts_format = st.column_config.NumberColumn(format="localized")
    st.dataframe(
        pd.DataFrame([s.to_dict() for s in compare_strategies(counts)]),
        hide_index=True,
        column_config={
            "rows after": counts_format,
            "rows dropped": counts_format,
            "duplicates added": counts_format,
            "imbalance after": st.column_config.NumberColumn(format="1 : %.1f"),
            "largest weight": st.column_config.NumberColumn(format="%.2f"),
            "weight spread": st.column_config.NumberColumn(format="%.1f×"),
        },
    )
    st.caption(
        "Undersampling throws rows away (cheap when the majority is redundant, as CT "
        "slices of one patient are); oversampling repeats rows (risk: overfitting the "
        "copies); class weights keep every row but multiply the rare class's errors (risk: "
        "unstable training when the spread is large)."
    )

st.page_link("pages/3_Export.py", label="Download the result", icon=":material/download:")
