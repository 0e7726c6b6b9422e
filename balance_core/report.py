"""Two views of a gate result: plain text for a terminal or a CI log, and one
self-contained HTML file (Plotly's JavaScript inlined: the charts stay interactive
with no network at all).

Both show the same things in the same order: the verdict of the checks, the class
distribution, the splits and their mixes, the findings, and the chosen strategy (a
balancing recipe's plan or weights, or a split).
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass

import plotly.graph_objects as go
import plotly.io as pio

from ._version import __version__
from .charts import (
    SPLIT_COLORS,
    _unique_names,
    before_after_chart,
    seesaw_chart,
    split_chart,
    weights_chart,
)
from .gate import GateResult
from .recipe import Outcome
from .splits import SplitResult

__all__ = ["Strategy", "html_report", "split_share_chart", "text_report"]

BAR_WIDTH = 40
MAX_BARS = 25
MAX_ROWS_SHOWN = 20
# Nothing may load from anywhere: scripts and styles are inline, images data: URLs.
CSP = "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:"


@dataclass(frozen=True, kw_only=True)
class Strategy:
    """The strategy a report describes: a balancing recipe's outcome (its plan or
    weights, from :func:`balance_core.recipe.run_counts`) and/or a split."""

    outcome: Outcome | None = None
    split: SplitResult | None = None


def _printable(text: str) -> str:
    """User text made safe for a terminal: control characters escaped."""
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode() for ch in text)


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


# --------------------------------------------------------------------------- charts


def split_share_chart(split: SplitResult) -> go.Figure:
    """Each class's share of each split against the share asked for (dotted lines)."""
    labels = list(split.classes)
    names = _unique_names(labels)
    achieved = split.achieved
    figure = go.Figure()
    for s, name in enumerate(split.names):
        color = SPLIT_COLORS[s % len(SPLIT_COLORS)]
        figure.add_bar(
            name=_unique_names([name])[0],
            x=names,
            y=achieved[s].tolist(),
            marker_color=color,
            customdata=[[int(n)] for n in split.counts[s]],
            hovertemplate="%{x}<br>%{fullData.name}: %{y:.1%} of the class "
            "(%{customdata[0]:,} rows)<extra></extra>",
        )
        figure.add_hline(y=float(split.asked[s]), line_dash="dot", line_color=color)
    figure.update_layout(
        barmode="group",
        yaxis_tickformat=".0%",
        yaxis_title="share of the class's rows",
        legend={"orientation": "h", "y": 1.1, "title": "split"},
        margin={"t": 40, "b": 40, "l": 40, "r": 20},
    )
    return figure


# --------------------------------------------------------------------------- text


def _bars(counts: dict[str, int], minority: str | None, majority: str | None) -> list[str]:
    ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    hidden = 0
    if len(ordered) > MAX_BARS:
        hidden = len(ordered) - MAX_BARS
        ordered = ordered[: MAX_BARS - 5] + ordered[-5:]
    largest = max((n for _, n in ordered), default=0) or 1
    total = sum(counts.values()) or 1
    width = min(max((len(_printable(k)) for k, _ in ordered), default=5), 30)
    lines = []
    for position, (label, n) in enumerate(ordered):
        if hidden and position == MAX_BARS - 5:
            lines.append(f"  {'…':<{width}}  ({hidden:,} more classes)")
        name = _printable(label)
        name = name if len(name) <= width else name[: width - 1] + "…"
        bar = "█" * max(1 if n else 0, round(BAR_WIDTH * n / largest))
        tag = "  ← majority" if label == majority else "  ← minority" if label == minority else ""
        lines.append(f"  {name:<{width}}  {bar:<{BAR_WIDTH}} {n:>12,} {n / total:6.1%}{tag}")
    return lines


def _check_line(check) -> str:
    status = "pass" if check.passed else "FAIL"
    detail = []
    if check.threshold is not None:
        detail.append(f"threshold {check.threshold:g}")
    if check.value is not None:
        value = check.value
        detail.append(f"value {value:.4g}" if isinstance(value, float) else f"value {value:,}")
    return f"  {status} {check.name}" + (f" ({', '.join(detail)})" if detail else "")


def text_report(result: GateResult, *, strategy: Strategy | None = None) -> str:
    """The report as plain text: readable in a terminal and in a CI log."""
    ds, dist = result.analysis.dataset, result.analysis.distribution
    verdict = "PASSED" if result.passed else "FAILED"
    failed = sum(not c.passed for c in result.checks)
    lines = [
        f"Seesaw report for {_printable(ds.source.name)}: checks {verdict} "
        f"({failed} of {len(result.checks)} failed)",
        f"{dist.n_rows:,} rows, {dist.n_classes:,} classes, {dist.missing_labels:,} without "
        f"a label; imbalance ratio {dist.ratio_text} ({dist.verdict})",
        "",
        "Checks:",
        *(_check_line(check) for check in result.checks),
        "",
        "Distribution:",
        *_bars(dist.counts, dist.minority, dist.majority),
    ]
    if dist.split_counts:
        lines += ["", "Splits:"]
        for split, counts in dist.split_counts.items():
            size = sum(counts.values())
            mix = ", ".join(
                f"{_printable(k)} {v:,} ({v / max(size, 1):.1%})" for k, v in counts.items()
            )
            lines.append(f"  {_printable(split)}: {size:,} rows ({mix})")
    if result.mix is not None:
        a, b, distance = result.mix.worst_pair
        test = result.mix.homogeneity
        lines.append(
            f"  Most different mixes: {_printable(a)} vs {_printable(b)}, Jensen-Shannon "
            f"distance {distance:.3f}; chi-square test of homogeneity chi2 = "
            f"{test.statistic:,.2f}, {test.dof} dof, p = {test.p_value:.3g}, "
            f"Cramér's V {test.cramers_v:.3f}"
        )
    lines += ["", f"Findings ({len(result.findings)}):" if result.findings else "Findings: none."]
    for finding in result.findings:
        mark = "FAIL" if result.failing(finding) else str(finding.severity)
        lines.append(f"  [{mark}] {finding.kind}: {_printable(finding.message)}")
    lines += ["", *_strategy_text(strategy)]
    return "\n".join(lines).rstrip("\n") + "\n"


def _strategy_text(strategy: Strategy | None) -> list[str]:
    if strategy is None or (strategy.outcome is None and strategy.split is None):
        return ["Strategy: none chosen (pass --recipe to describe one)."]
    lines = []
    outcome = strategy.outcome
    if outcome is not None:
        recipe = outcome.recipe
        where = f" on split {outcome.split!r}" if outcome.split else ""
        if outcome.plan is not None:
            plan = outcome.plan
            lines.append(
                f"Strategy: {plan.method} to {recipe.strategy.target}{where}, seed "
                f"{recipe.seed}: {plan.rows_before:,} -> {plan.rows_after:,} rows"
            )
            for label, before in plan.before.items():
                lines.append(f"  {_printable(label)}: {before:,} -> {plan.after[label]:,}")
            lines += [f"  warning: {_printable(w)}" for w in plan.warnings]
        elif outcome.weights is not None:
            weights = outcome.weights
            lines.append(
                f"Strategy: {weights.method} class weights{where} (spread {weights.spread:.2f})"
            )
            for label, weight in weights.weights.items():
                lines.append(f"  {_printable(label)}: {weight:.4g}")
            lines += [f"  warning: {_printable(w)}" for w in weights.warnings]
    if strategy.split is not None:
        lines.append("Split: " + " ".join(_printable(s) for s in strategy.split.summary()))
    return lines


# --------------------------------------------------------------------------- HTML

_STYLE = """
body{font:15px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#1d1d27;
background:#fafafc}
main{max-width:1100px;margin:0 auto;padding:24px}
h1{font-size:24px;margin:0 0 4px}h2{font-size:19px;margin:32px 0 8px}
.cards{display:flex;flex-wrap:wrap;gap:12px;margin:16px 0}
.card{background:#fff;border:1px solid #e3e3ec;border-radius:8px;padding:10px 14px;min-width:130px}
.card b{display:block;font-size:20px}
.pass{color:#1b7f3b}.fail{color:#b3261e}
table{border-collapse:collapse;width:100%;background:#fff}
th,td{border:1px solid #e3e3ec;padding:5px 8px;text-align:left;vertical-align:top}
th{background:#f1f1f6}td.n{text-align:right;font-variant-numeric:tabular-nums}
.chart{background:#fff;border:1px solid #e3e3ec;border-radius:8px;margin:8px 0;height:440px}
pre{background:#fff;border:1px solid #e3e3ec;padding:12px;overflow:auto;font-size:13px}
.muted{color:#676779}
@media (prefers-color-scheme: dark){body{background:#15151c;color:#e7e7ef}
.card,table,.chart,pre{background:#1e1e28;border-color:#33334a}th{background:#26263a}
td,th{border-color:#33334a}.muted{color:#a0a0b4}}
"""


def _figure_html(figure: go.Figure, chart_id: str) -> str:
    # Fixed ids and no timestamps: the same data gives the same bytes.
    figure.update_layout(height=420, template="plotly_white")
    body = pio.to_html(
        figure,
        full_html=False,
        include_plotlyjs=False,
        div_id=chart_id,
        config={"displaylogo": False, "responsive": True},
    )
    return f'<div class="chart" data-chart="{_e(chart_id)}">{body}</div>'


def _table(header: list[str], rows: list[list[str]], numeric: set[int] | None = None) -> str:
    numeric = numeric or set()
    head = "".join(f"<th>{_e(h)}</th>" for h in header)
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="n">{cell}</td>' if i in numeric else f"<td>{cell}</td>"
            for i, cell in enumerate(row)
        )
        + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def html_report(result: GateResult, *, strategy: Strategy | None = None) -> str:
    """The report as one HTML document with everything inline (Plotly's JavaScript
    included, about 4.8 MB): it opens offline, and a Content-Security-Policy forbids
    it to load anything. Every user-supplied string is escaped."""
    ds, dist = result.analysis.dataset, result.analysis.distribution
    parts: list[str] = []
    verdict = "passed" if result.passed else "failed"
    failed = sum(not c.passed for c in result.checks)
    parts.append(f"<h1>Seesaw report: {_e(ds.source.name)}</h1>")
    parts.append(
        f'<p class="muted">{_e(ds.source.format.upper())}, {ds.source.size_bytes:,} bytes · '
        f"seesaw {_e(__version__)}</p>"
    )
    cards = [
        ("checks", f'<span class="{"pass" if result.passed else "fail"}">{verdict}</span>',
         f"{failed} of {len(result.checks)} failed"),
        ("rows", f"{dist.n_rows:,}", f"{dist.missing_labels:,} without a label"),
        ("classes", f"{dist.n_classes:,}", ""),
        ("imbalance ratio", _e(dist.ratio_text), _e(dist.verdict)),
        ("findings", f"{len(result.findings):,}", f"{len(result.failures):,} failing"),
    ]  # fmt: skip
    parts.append(
        '<div class="cards">'
        + "".join(
            f'<div class="card" data-card="{_e(title)}"><span class="muted">{_e(title)}</span>'
            f'<b>{value}</b><span class="muted">{note}</span></div>'
            for title, value, note in cards
        )
        + "</div>"
    )
    parts.append("<h2>Checks</h2>")
    parts.append(
        _table(
            ["check", "result", "threshold", "value"],
            [
                [
                    _e(c.name),
                    '<span class="pass">pass</span>'
                    if c.passed
                    else '<span class="fail">FAIL</span>',
                    "" if c.threshold is None else _e(f"{c.threshold:g}"),
                    "" if c.value is None else _e(f"{c.value:.4g}"),
                ]
                for c in result.checks
            ],
            numeric={2, 3},
        )
    )
    charts = 0

    def chart(figure: go.Figure) -> str:
        nonlocal charts
        charts += 1
        return _figure_html(figure, f"seesaw-chart-{charts}")

    parts.append("<h2>Distribution</h2>")
    parts.append(chart(seesaw_chart(dist)))
    parts.append(
        _table(
            ["class", "rows", "share"],
            [
                [_e(label), f"{n:,}", f"{n / max(dist.n_labelled, 1):.1%}"]
                for label, n in dist.counts.items()
            ],
            numeric={1, 2},
        )
    )
    if dist.split_counts:
        parts.append("<h2>Splits</h2>")
        parts.append(chart(split_chart(dist)))
        splits = list(dist.split_counts)
        parts.append(
            _table(
                ["class", *splits],
                [
                    [_e(label)]
                    + [
                        f"{dist.split_counts[s].get(label, 0):,} "
                        f"({dist.split_counts[s].get(label, 0) / max(sum(dist.split_counts[s].values()), 1):.1%})"  # noqa: E501
                        for s in splits
                    ]
                    for label in dist.labels
                ],
                numeric=set(range(1, len(splits) + 1)),
            )
        )
        if result.mix is not None:
            mix = result.mix
            a, b, distance = mix.worst_pair
            test = mix.homogeneity
            parts.append(
                f"<p>Most different mixes: <b>{_e(a)}</b> vs <b>{_e(b)}</b>, Jensen-Shannon "
                f"distance {distance:.3f} (threshold {result.thresholds.max_js_distance:g}). "
                f"Chi-square test of homogeneity: χ² = {test.statistic:,.2f}, {test.dof} dof, "
                f"p = {test.p_value:.3g}, Cramér's V {test.cramers_v:.3f}.</p>"
            )
            parts.append(
                _table(
                    ["Jensen-Shannon distance", *mix.splits],
                    [
                        [_e(x)] + [f"{mix.distances[i, j]:.3f}" for j in range(len(mix.splits))]
                        for i, x in enumerate(mix.splits)
                    ],
                    numeric=set(range(1, len(mix.splits) + 1)),
                )
            )
    parts.append(f"<h2>Findings ({len(result.findings)})</h2>")
    if result.findings:
        parts.append(
            _table(
                ["", "severity", "kind", "rows", "message", "first rows"],
                [
                    [
                        '<span class="fail">FAIL</span>' if result.failing(f) else "",
                        _e(f.severity),
                        _e(f.kind),
                        f"{f.count:,}",
                        _e(f.message),
                        _e(", ".join(str(int(r)) for r in f.rows[:MAX_ROWS_SHOWN]))
                        + (" …" if f.rows.size > MAX_ROWS_SHOWN else ""),
                    ]
                    for f in result.findings
                ],
                numeric={3},
            )
        )
    else:
        parts.append("<p>None.</p>")
    parts.append("<h2>Strategy</h2>")
    parts.append(_strategy_html(strategy, chart))
    parts.append("<h2>As text</h2>")
    parts.append(f"<pre>{_e(text_report(result, strategy=strategy))}</pre>")
    from plotly.offline import get_plotlyjs

    script = get_plotlyjs().replace("</script", "<\\/script")
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>Seesaw report: {_e(ds.source.name)}</title>"
        f"<style>{_STYLE}</style>"
        f"<script>{script}</script></head>"
        f"<body><main>{''.join(parts)}</main></body></html>\n"
    )


def _strategy_html(strategy: Strategy | None, chart) -> str:
    if strategy is None or (strategy.outcome is None and strategy.split is None):
        return "<p>None chosen (pass <code>--recipe</code> to describe one).</p>"
    parts = []
    outcome = strategy.outcome
    if outcome is not None:
        recipe = outcome.recipe
        where = f" on split {_e(outcome.split)}" if outcome.split else ""
        if outcome.plan is not None:
            plan = outcome.plan
            parts.append(
                f"<p><b>{_e(plan.method)}</b> to <code>{_e(recipe.strategy.target)}</code>"
                f"{where}, seed {recipe.seed}: {plan.rows_before:,} → {plan.rows_after:,} rows "
                f"({plan.rows_dropped:,} dropped, {plan.rows_added:,} duplicated).</p>"
            )
            parts.append(chart(before_after_chart(plan.before, plan.after)))
            warnings = plan.warnings
        else:
            weights = outcome.weights
            parts.append(
                f"<p><b>{_e(weights.method)}</b> class weights{where} "
                f"(spread {weights.spread:.2f}).</p>"
            )
            total = sum(weights.counts.values()) or 1
            before = {c: n / total for c, n in weights.counts.items()}
            weighted = {c: n * weights.weights[c] for c, n in weights.counts.items()}
            mass = sum(weighted.values()) or 1
            parts.append(
                chart(weights_chart(weights.weights, before, {c: w / mass for c, w in
                                                               weighted.items()}))
            )  # fmt: skip
            warnings = weights.warnings
        parts += [f"<p>Warning: {_e(w)}</p>" for w in warnings]
        parts.append(
            f"<details><summary>Recipe</summary><pre>{_e(recipe.to_json().decode())}</pre>"
            "</details>"
        )
    split = strategy.split
    if split is not None:
        parts.append("".join(f"<p>{_e(line)}</p>" for line in split.summary()))
        parts.append(chart(split_share_chart(split)))
        parts.append(
            f"<details><summary>Split parameters</summary>"
            f"<pre>{_e(json.dumps(split.params.to_dict(), indent=2))}</pre></details>"
        )
    return "".join(parts)
