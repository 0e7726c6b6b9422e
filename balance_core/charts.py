"""Plotly figure builders: pure functions from results to ``go.Figure``.

Plotly renders a subset of HTML in every text it draws (``<b>``, ``<a href>``,
``<br>``), so each user-supplied string goes through :func:`plotly_text` first.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping

import plotly.graph_objects as go

from .ordering import natural_key
from .stats import Distribution

__all__ = [
    "before_after_chart",
    "box_sizes_chart",
    "boxes_per_image_chart",
    "cooccurrence_chart",
    "fold_classes",
    "plotly_text",
    "seesaw_chart",
    "split_chart",
    "weights_chart",
]

MAJORITY_COLOR = "#E4572E"
MINORITY_COLOR = "#3E7CB1"
OTHER_COLOR = "#A5A5B8"
MAX_LABEL_CHARS = 40
BEFORE_COLOR = "#C9C9D6"
AFTER_COLOR = "#6C4CE0"
SPLIT_COLORS = ("#6C4CE0", "#E4572E", "#29BF12", "#FFC914", "#3E7CB1", "#A5A5B8")
LONG_TAIL_BARS = 30


def plotly_text(value: str, *, max_chars: int = MAX_LABEL_CHARS) -> str:
    """A user-supplied string made inert for Plotly: HTML-escaped and shortened."""
    short = value if len(value) <= max_chars else value[: max_chars - 1] + "…"
    return html.escape(short, quote=True)


def _unique_names(labels: list[str]) -> list[str]:
    """Escaped, shortened category names, kept apart when two shorten alike."""
    names = [plotly_text(label) for label in labels]
    seen: dict[str, int] = {}
    for position, name in enumerate(names):
        seen[name] = seen.get(name, 0) + 1
        if seen[name] > 1:
            names[position] = f"{name} ({seen[name]})"
    return names


def fold_classes(
    counts: Mapping[str, int], *, max_bars: int = LONG_TAIL_BARS
) -> tuple[list[str], list[str]]:
    """The classes drawn one bar each and the long tail folded into one bar.

    Classes are ordered by count, largest first, ties in natural order (``cls_2``
    before ``cls_10``); with more than ``max_bars`` classes the largest
    ``max_bars - 1`` are kept and the rest returned as the tail.
    """
    ordered = sorted(counts, key=lambda label: (-counts[label], natural_key(label)))
    if len(ordered) <= max_bars:
        return ordered, []
    return ordered[: max_bars - 1], ordered[max_bars - 1 :]


def _tail_name(tail: list[str]) -> str:
    return f"{len(tail):,} smaller classes"


def _class_axis(names: list[str]) -> dict:
    # Labels that look like numbers ("0", "10") would otherwise get a numeric axis:
    # bars placed at their value, ticks at -0.5, and our order (by count) lost.
    return {"type": "category", "categoryorder": "array", "categoryarray": names}


def _count_axis(values: list[int], *, log_scale: bool) -> dict:
    """A count axis; on a log scale its range is in log10 units, from below the
    smallest non-zero bar to above the largest, so no bar shrinks to a sliver."""
    if not log_scale:
        return {"type": "linear", "rangemode": "tozero"}
    positive = [v for v in values if v > 0] or [1]
    low, high = math.log10(min(positive)), math.log10(max(positive))
    # Room under the smallest bar and above the largest for its text.
    return {"type": "log", "range": [max(low - 0.5, -0.3), high + 0.4]}


def seesaw_chart(
    dist: Distribution,
    *,
    log_scale: bool = False,
    max_bars: int = LONG_TAIL_BARS,
    unit: str = "samples",
) -> go.Figure:
    """The "seesaw": one bar per class, sorted by count, majority and minority picked
    out, a reference line at the minority count, the imbalance ratio in the title.

    Parameters
    ----------
    dist : Distribution
    log_scale : bool, default False
        Count axis on a log scale (for long tails).
    unit : str, default "samples"
        What is counted (boxes, images, area, positives): the axis title and hover.
    max_bars : int, default 30
        With more classes, the largest ``max_bars - 1`` are drawn and the rest summed
        into one bar (minority still picked out in the title).
    """
    shown, rest = fold_classes(dist.counts, max_bars=max_bars)
    names = _unique_names(shown)
    counts = [dist.counts[label] for label in shown]
    if rest:
        names.append(_tail_name(rest))
        counts.append(sum(dist.counts[label] for label in rest))
    colors = [
        MAJORITY_COLOR if label == dist.majority else
        MINORITY_COLOR if label == dist.minority else OTHER_COLOR
        for label in shown
    ] + ([OTHER_COLOR] if rest else [])  # fmt: skip
    total = dist.n_labelled or 1
    figure = go.Figure(
        go.Bar(
            x=names,
            y=counts,
            marker_color=colors,
            text=[f"{n:,}" for n in counts],
            textposition="outside",
            cliponaxis=False,
            customdata=[[n / total] for n in counts],
            hovertemplate=(
                f"%{{x}}<br>%{{y:,}} {plotly_text(unit)} (%{{customdata[0]:.1%}})<extra></extra>"
            ),
        )
    )
    if dist.n_classes > 1 and dist.minority is not None:
        minority_count = dist.counts[dist.minority]
        # Shapes on a log axis are placed in log10 units, not in counts.
        line_y = math.log10(max(minority_count, 1)) if log_scale else minority_count
        figure.add_hline(
            y=line_y,
            line_dash="dot",
            line_color=MINORITY_COLOR,
            annotation_text=f"minority: {minority_count:,}",
            # Bars are sorted by count, so the minority's own label sits at the right end
            # of the line: name the line at the left, over the majority bar, on a backing.
            annotation_position="top left",
            annotation_bgcolor="rgba(255, 255, 255, 0.85)",
        )
    minority = "" if dist.minority is None else f" · minority {plotly_text(dist.minority)}"
    figure.update_layout(
        title=f"Imbalance ratio {dist.ratio_text} · {dist.n_classes:,} classes{minority}",
        xaxis={"title": "class", **_class_axis(names)},
        yaxis={"title": plotly_text(unit), **_count_axis(counts, log_scale=log_scale)},
        showlegend=False,
        margin={"t": 60, "b": 40, "l": 40, "r": 20},
        bargap=0.25,
    )
    return figure


def before_after_chart(
    before: dict[str, int],
    after: dict[str, int],
    *,
    log_scale: bool = False,
    max_bars: int = LONG_TAIL_BARS,
    unit: str = "samples",
) -> go.Figure:
    """Counts per class before and after a sampling plan, side by side; past
    ``max_bars`` classes the smaller ones are summed into one pair of bars
    (``unit`` names the count axis: samples, images, boxes)."""
    shown, rest = fold_classes(before, max_bars=max_bars)
    names = _unique_names(shown) + ([_tail_name(rest)] if rest else [])
    figure = go.Figure()
    values_drawn: list[int] = []
    for title, counts, color in (("before", before, BEFORE_COLOR), ("after", after, AFTER_COLOR)):
        values = [counts.get(label, 0) for label in shown]
        if rest:
            values.append(sum(counts.get(label, 0) for label in rest))
        values_drawn += values
        figure.add_bar(
            name=title,
            x=names,
            y=values,
            marker_color=color,
            text=[f"{v:,}" for v in values],
            textposition="outside",
            cliponaxis=False,
            hovertemplate=f"%{{x}}<br>{title}: %{{y:,}}<extra></extra>",
        )
    figure.update_layout(
        barmode="group",
        xaxis=_class_axis(names),
        yaxis={"title": plotly_text(unit), **_count_axis(values_drawn, log_scale=log_scale)},
        legend={"orientation": "h", "y": 1.1},
        margin={"t": 40, "b": 40, "l": 40, "r": 20},
    )
    return figure


def weights_chart(
    weights: dict[str, float],
    share_before: dict[str, float],
    share_after: dict[str, float],
    *,
    max_bars: int = LONG_TAIL_BARS,
) -> go.Figure:
    """Each class's share of the total loss weight without and with class weights, with
    the weight itself in the hover; past ``max_bars`` classes the ones with the largest
    unweighted share are drawn and the rest summed into one pair of bars."""
    shown, rest = fold_classes(share_before, max_bars=max_bars)
    names = _unique_names(shown) + ([_tail_name(rest)] if rest else [])
    figure = go.Figure()
    for title, shares, color in (
        ("share of the loss, unweighted", share_before, BEFORE_COLOR),
        ("share of the loss, weighted", share_after, AFTER_COLOR),
    ):
        values = [shares[label] for label in shown]
        custom = [[f"{weights[label]:.3g}"] for label in shown]
        if rest:
            values.append(sum(shares[label] for label in rest))
            tail = [weights[label] for label in rest]
            custom.append([f"{min(tail):.3g} to {max(tail):.3g}"])
        figure.add_bar(
            name=title,
            x=names,
            y=values,
            marker_color=color,
            customdata=custom,
            hovertemplate="%{x}<br>%{y:.1%} of the loss · weight %{customdata[0]}<extra></extra>",
        )
    figure.update_layout(
        barmode="group",
        xaxis=_class_axis(names),
        yaxis_tickformat=".0%",
        yaxis_title="share of total loss weight",
        legend={"orientation": "h", "y": 1.1},
        margin={"t": 40, "b": 40, "l": 40, "r": 20},
    )
    return figure


def split_chart(
    dist: Distribution, *, log_scale: bool = False, max_bars: int = LONG_TAIL_BARS
) -> go.Figure:
    """Counts per class in each split, side by side; past ``max_bars`` classes the
    smaller ones are summed into one group of bars."""
    shown, rest = fold_classes(dist.counts, max_bars=max_bars)
    names = _unique_names(shown) + ([_tail_name(rest)] if rest else [])
    figure = go.Figure()
    values_drawn: list[int] = []
    for position, (split, counts) in enumerate(dist.split_counts.items()):
        values = [counts.get(label, 0) for label in shown]
        if rest:
            values.append(sum(counts.get(label, 0) for label in rest))
        values_drawn += values
        figure.add_bar(
            name=plotly_text(split),
            x=names,
            y=values,
            marker_color=SPLIT_COLORS[position % len(SPLIT_COLORS)],
            hovertemplate="%{x}<br>%{fullData.name}: %{y:,}<extra></extra>",
        )
    figure.update_layout(
        barmode="group",
        xaxis=_class_axis(names),
        yaxis={"title": "samples", **_count_axis(values_drawn, log_scale=log_scale)},
        legend={"orientation": "h", "y": 1.1, "title": "split"},
        margin={"t": 40, "b": 40, "l": 40, "r": 20},
    )
    return figure


SIZE_COLORS = {"small": "#E4572E", "medium": "#FFC914", "large": "#29BF12", "unknown": "#A5A5B8"}


def box_sizes_chart(
    sizes: Mapping[str, Mapping[str, int]], *, max_bars: int = LONG_TAIL_BARS
) -> go.Figure:
    """Boxes per class in COCO's size buckets (small: area below 32², medium: below
    96², large), stacked; classes ordered by boxes, the tail summed."""
    totals = {label: sum(buckets.values()) for label, buckets in sizes.items()}
    shown, rest = fold_classes(totals, max_bars=max_bars)
    names = _unique_names(shown) + ([_tail_name(rest)] if rest else [])
    figure = go.Figure()
    for bucket, color in SIZE_COLORS.items():
        values = [sizes[label].get(bucket, 0) for label in shown]
        if rest:
            values.append(sum(sizes[label].get(bucket, 0) for label in rest))
        if bucket == "unknown" and not any(values):
            continue
        figure.add_bar(
            name=bucket,
            x=names,
            y=values,
            marker_color=color,
            hovertemplate=f"%{{x}}<br>{bucket}: %{{y:,}} boxes<extra></extra>",
        )
    figure.update_layout(
        barmode="stack",
        xaxis=_class_axis(names),
        yaxis_title="boxes",
        legend={"orientation": "h", "y": 1.1, "title": "size"},
        margin={"t": 40, "b": 40, "l": 40, "r": 20},
    )
    return figure


def boxes_per_image_chart(histogram) -> go.Figure:
    """Images with 0, 1, ... boxes (the last bin: that many or more)."""
    bins = len(histogram)
    names = [str(k) for k in range(bins - 1)] + [f"{bins - 1}+"]
    figure = go.Figure(
        go.Bar(
            x=names,
            y=[int(v) for v in histogram],
            marker_color=AFTER_COLOR,
            hovertemplate="%{x} boxes: %{y:,} images<extra></extra>",
        )
    )
    figure.update_layout(
        xaxis={"title": "boxes in the image", "type": "category"},
        yaxis_title="images",
        margin={"t": 30, "b": 40, "l": 40, "r": 20},
    )
    return figure


def cooccurrence_chart(classes, matrix, *, max_labels: int = 60) -> go.Figure:
    """The label co-occurrence matrix as a heatmap: cell (i, j) counts the samples
    with both labels, the diagonal each label's positives."""
    shown = list(classes)[:max_labels]
    names = _unique_names(shown)
    k = len(shown)
    values = [[int(matrix[i][j]) for j in range(k)] for i in range(k)]
    figure = go.Figure(
        go.Heatmap(
            z=values,
            x=names,
            y=names,
            colorscale="Purples",
            hovertemplate="%{y} and %{x}: %{z:,} samples<extra></extra>",
        )
    )
    figure.update_layout(
        xaxis=_class_axis(names),
        yaxis={**_class_axis(names), "autorange": "reversed"},
        margin={"t": 30, "b": 40, "l": 40, "r": 20},
        height=max(360, 22 * k + 120),
    )
    return figure
