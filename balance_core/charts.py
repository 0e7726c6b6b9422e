"""Plotly figure builders: pure functions from results to ``go.Figure``.

Plotly renders a subset of HTML in every text it draws (``<b>``, ``<a href>``,
``<br>``), so each user-supplied string goes through :func:`plotly_text` first.
"""

from __future__ import annotations

import html

import plotly.graph_objects as go

from .stats import Distribution

__all__ = [
    "before_after_chart",
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


def seesaw_chart(
    dist: Distribution, *, log_scale: bool = False, max_bars: int = LONG_TAIL_BARS
) -> go.Figure:
    """The "seesaw": one bar per class, sorted by count, majority and minority picked
    out, a reference line at the minority count, the imbalance ratio in the title.

    Parameters
    ----------
    dist : Distribution
    log_scale : bool, default False
        Count axis on a log scale (for long tails).
    max_bars : int, default 30
        With more classes, the largest ``max_bars - 1`` are drawn and the rest summed
        into one bar (minority still picked out in the title).
    """
    ordered = sorted(dist.counts.items(), key=lambda item: (-item[1], item[0]))
    rest = []
    if len(ordered) > max_bars:
        ordered, rest = ordered[: max_bars - 1], ordered[max_bars - 1 :]
    names = _unique_names([label for label, _ in ordered])
    counts = [n for _, n in ordered]
    if rest:
        names.append(f"{len(rest):,} smaller classes")
        counts.append(sum(n for _, n in rest))
    colors = [
        MAJORITY_COLOR if label == dist.majority else
        MINORITY_COLOR if label == dist.minority else OTHER_COLOR
        for label, _ in ordered
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
            hovertemplate="%{x}<br>%{y:,} samples (%{customdata[0]:.1%})<extra></extra>",
        )
    )
    if dist.n_classes > 1 and dist.minority is not None:
        figure.add_hline(
            y=max(dist.counts[dist.minority], 1 if log_scale else 0),
            line_dash="dot",
            line_color=MINORITY_COLOR,
            annotation_text=f"minority: {dist.counts[dist.minority]:,}",
            annotation_position="top right",
        )
    minority = "" if dist.minority is None else f" · minority {plotly_text(dist.minority)}"
    figure.update_layout(
        title=f"Imbalance ratio {dist.ratio_text} · {dist.n_classes:,} classes{minority}",
        xaxis_title="class",
        yaxis_title="samples",
        yaxis_type="log" if log_scale else "linear",
        showlegend=False,
        margin={"t": 60, "b": 40, "l": 40, "r": 20},
        bargap=0.25,
    )
    return figure


def before_after_chart(
    before: dict[str, int], after: dict[str, int], *, log_scale: bool = False
) -> go.Figure:
    """Counts per class before and after a sampling plan, side by side."""
    labels = sorted(before, key=lambda label: (-before[label], label))
    names = _unique_names(labels)
    figure = go.Figure()
    for title, counts, color in (("before", before, BEFORE_COLOR), ("after", after, AFTER_COLOR)):
        values = [counts.get(label, 0) for label in labels]
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
        yaxis_title="samples",
        yaxis_type="log" if log_scale else "linear",
        legend={"orientation": "h", "y": 1.1},
        margin={"t": 40, "b": 40, "l": 40, "r": 20},
    )
    return figure


def weights_chart(
    weights: dict[str, float], share_before: dict[str, float], share_after: dict[str, float]
) -> go.Figure:
    """Each class's share of the total loss weight without and with class weights, with
    the weight itself in the hover."""
    labels = sorted(weights, key=lambda label: (share_before[label], label))
    names = _unique_names(labels)
    figure = go.Figure()
    for title, shares, color in (
        ("share of the loss, unweighted", share_before, BEFORE_COLOR),
        ("share of the loss, weighted", share_after, AFTER_COLOR),
    ):
        figure.add_bar(
            name=title,
            x=names,
            y=[shares[label] for label in labels],
            marker_color=color,
            customdata=[[weights[label]] for label in labels],
            hovertemplate="%{x}<br>%{y:.1%} of the loss · weight %{customdata[0]:.3g}"
            "<extra></extra>",
        )
    figure.update_layout(
        barmode="group",
        yaxis_tickformat=".0%",
        yaxis_title="share of total loss weight",
        legend={"orientation": "h", "y": 1.1},
        margin={"t": 40, "b": 40, "l": 40, "r": 20},
    )
    return figure


def split_chart(dist: Distribution, *, log_scale: bool = False) -> go.Figure:
    """Counts per class in each split, side by side."""
    labels = sorted(dist.counts, key=lambda label: (-dist.counts[label], label))
    names = _unique_names(labels)
    figure = go.Figure()
    for position, (split, counts) in enumerate(dist.split_counts.items()):
        figure.add_bar(
            name=plotly_text(split),
            x=names,
            y=[counts.get(label, 0) for label in labels],
            marker_color=SPLIT_COLORS[position % len(SPLIT_COLORS)],
            hovertemplate="%{x}<br>%{fullData.name}: %{y:,}<extra></extra>",
        )
    figure.update_layout(
        barmode="group",
        yaxis_title="samples",
        yaxis_type="log" if log_scale else "linear",
        legend={"orientation": "h", "y": 1.1, "title": "split"},
        margin={"t": 40, "b": 40, "l": 40, "r": 20},
    )
    return figure
