"""The report: its text view, its HTML view (self-contained, escaped, the same bytes
for the same data), and the HTML opened in Debian's Chromium with every request
blocked, where its charts must still draw."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest
from hostile_corpus import HOSTILE_LABELS
from test_browser import CHROMIUM_ARGS, chromium_path

from balance_core import analyze, read_dataset
from balance_core.cli import main
from balance_core.gate import Thresholds, run_gate
from balance_core.recipe import Recipe, Strategy, run_counts
from balance_core.report import Strategy as ReportStrategy
from balance_core.report import html_report, text_report
from balance_core.splits import SplitParams, split_dataset

SCRIPT_XSS = "<script>alert('x')</script>"


def write_rows(path: Path, labels: list[str]) -> Path:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["path", "label", "patient", "split"])
        for i, label in enumerate(labels):
            split = "test" if i % 5 == 0 else "train"
            writer.writerow([f"img/{i:04d}.png", label, f"p{i // 4}", split])
    return path


@pytest.fixture
def hostile_csv(tmp_path: Path) -> Path:
    labels = []
    for position, label in enumerate([*HOSTILE_LABELS, SCRIPT_XSS, "normal"]):
        labels += [label] * (12 + 40 * (label == "normal") + position)
    return write_rows(tmp_path / "hostile.csv", labels)


def gate_for(path: Path, **thresholds):
    return run_gate(analyze(read_dataset(path)), Thresholds(**thresholds))


def test_text_report_has_every_section(hostile_csv: Path):
    result = gate_for(hostile_csv, max_ratio=2)
    recipe = Recipe(strategy=Strategy(method="undersample", target="equal"), split=None)
    counts = result.analysis.distribution.counts
    text = text_report(result, strategy=ReportStrategy(outcome=run_counts(recipe, counts)))
    # max-ratio fails, and so does "errors": patients straddle train and test.
    assert text.startswith("Seesaw report for hostile.csv: checks FAILED (2 of 2 failed)")
    assert "[FAIL] split_leakage:" in text
    for heading in ("Checks:", "Distribution:", "Splits:", "Most different mixes:", "Findings"):
        assert heading in text
    assert "  FAIL max-ratio (threshold 2" in text
    assert "[FAIL] imbalance_ratio:" in text
    assert "Strategy: undersample to equal" in text
    assert "\x1b" not in text


def test_html_escapes_user_text_and_loads_nothing(hostile_csv: Path):
    result = gate_for(hostile_csv)
    page = html_report(result)
    body = page.split("</head>", 1)[1]
    assert SCRIPT_XSS not in page
    for label in HOSTILE_LABELS:
        if "<" in label:
            assert label not in body
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in body
    # Self-contained: no external script, style, image or frame.
    assert not re.search(r"<(script|link|img|iframe)[^>]+(src|href)=", page, re.IGNORECASE)
    assert "default-src 'none'" in page
    assert page.count("<script") == 1 + 2  # Plotly, then one per chart (bars, splits)


def test_html_is_the_same_bytes_for_the_same_data(hostile_csv: Path):
    first = html_report(gate_for(hostile_csv))
    second = html_report(gate_for(hostile_csv))
    assert first == second


def test_report_command_writes_html_and_prints_text(hostile_csv: Path, tmp_path: Path):
    out = tmp_path / "report.html"
    printed = io.StringIO()
    assert main(["report", str(hostile_csv), "-o", str(out)], stdout=printed) == 0
    assert printed.getvalue().startswith("Seesaw report for hostile.csv")
    assert printed.getvalue().endswith(f"wrote {out}\n")
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


# --------------------------------------------------------------------------- browser


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@pytest.mark.browser
def test_report_charts_draw_in_chromium_with_the_network_off(hostile_csv: Path, browser):
    dataset = read_dataset(hostile_csv)
    split = split_dataset(dataset, SplitParams(proportions={"train": 0.8, "test": 0.2},
                                               min_per_class=1))  # fmt: skip
    recipe = Recipe(strategy=Strategy(method="weights", weighting="balanced"), split=None)
    analysis = analyze(dataset)
    outcome = run_counts(recipe, analysis.distribution.counts)
    page_html = html_report(run_gate(analysis), strategy=ReportStrategy(outcome=outcome,
                                                                        split=split))  # fmt: skip
    report = hostile_csv.with_suffix(".html")
    report.write_text(page_html, encoding="utf-8")

    context = browser.new_context(viewport={"width": 1300, "height": 900}, offline=True)
    requested: list[str] = []

    def refuse(route):
        requested.append(route.request.url)
        route.abort()

    context.route("**/*", refuse)
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("dialog", lambda dialog: (problems.append("dialog: " + dialog.message),
                                      dialog.dismiss()))  # fmt: skip
    page.set_content(page_html, wait_until="load")
    # Four charts: distribution, splits, weights, split shares.
    # (Waiting by selector: the page's CSP forbids the eval that wait_for_function uses.)
    page.locator(".js-plotly-plot").nth(3).locator(".main-svg").first.wait_for(state="attached")
    assert page.locator(".js-plotly-plot").count() == 4
    bars = page.locator(".js-plotly-plot g.point path")
    assert bars.count() >= 6 * 2  # six classes in each of the first two charts at least
    assert all(
        float(bars.nth(i).get_attribute("d").count("V")) > 0 for i in range(min(6, bars.count()))
    )
    # Interactive: hovering a bar of the first chart shows its tooltip.
    first_bar = page.locator("[data-chart='seesaw-chart-1'] g.point path").first
    first_bar.hover(force=True)  # Plotly listens on the drag layer above the bars
    page.wait_for_selector("[data-chart='seesaw-chart-1'] .hoverlayer .hovertext")
    # User text shows as text, never as markup.
    assert SCRIPT_XSS in page.locator("table").first.evaluate("t => document.body.innerText")
    assert requested == []
    assert problems == []
    shots = Path(__file__).resolve().parents[1] / "test-artifacts" / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(shots / "report_offline.png"), full_page=True)
    context.close()
