"""Plotly figure builders: pure functions from results to ``go.Figure``.

Plotly renders a subset of HTML in every text it draws (``<b>``, ``<a href>``,
``<br>``), so each user-supplied string goes through :func:`plotly_text` first.
"""

from __future__ import annotations

import html

import plotly.graph_objects as go

from .stats import Distribution

__all__ = ["plotly_text", "seesaw_chart"]

MAJORITY_COLOR = "#E4572E"
MINORITY_COLOR = "#3E7CB1"
OTHER_COLOR = "#A5A5B8"
MAX_LABEL_CHARS = 40


def plotly_text(value: str, *, max_chars: int = MAX_LABEL_CHARS) -> str:
    """A user-supplied string made inert for Plotly: HTML-escaped and shortened."""
    short = value if len(value) <= max_chars else value[: max_chars - 1] + "…"
    return html.escape(short, quote=True)


def seesaw_chart(dist: Distribution, *, log_scale: bool = False) -> go.Figure:
    """The "seesaw": one bar per class, sorted by count, majority and minority picked
    out, a reference line at the minority count, the imbalance ratio in the title.

    Parameters
    ----------
    dist : Distribution
    log_scale : bool, default False
        Count axis on a log scale (for long tails).
    """
    ordered = sorted(dist.counts.items(), key=lambda item: (-item[1], item[0]))
    # Categories must be unique after escaping; index-prefixing keeps them apart.
    names = [plotly_text(label) for label, _ in ordered]
    seen: dict[str, int] = {}
    for position, name in enumerate(names):
        seen[name] = seen.get(name, 0) + 1
        if seen[name] > 1:
            names[position] = f"{name} ({seen[name]})"
    counts = [n for _, n in ordered]
    colors = [
        MAJORITY_COLOR if label == dist.majority else
        MINORITY_COLOR if label == dist.minority else OTHER_COLOR
        for label, _ in ordered
    ]  # fmt: skip
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
    figure.update_layout(
        title=f"Imbalance ratio {dist.ratio_text} · {dist.n_classes:,} classes",
        xaxis_title="class",
        yaxis_title="samples",
        yaxis_type="log" if log_scale else "linear",
        showlegend=False,
        margin={"t": 60, "b": 40, "l": 40, "r": 20},
        bargap=0.25,
    )
    return figure
