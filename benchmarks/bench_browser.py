"""Benchmark what a person sees in a real browser: the first load, and a change of strategy.

Run as ``python benchmarks/bench_browser.py [--loads 7] [--changes 12]``.

A real ``streamlit run`` server and Debian's Chromium (Playwright with
``executable_path``, every non-local request aborted), as in the browser tests. Two
figures, one Markdown table:

16a. **First load**: from navigation start (``performance.timeOrigin``) until the first
     chart's bars are drawn (a ``path`` with geometry in a Plotly ``.barlayer``), each
     load in a new browser context (cold browser cache, a new Streamlit session), on
     Seesaw's home page with its built-in example, against a bare Streamlit page holding
     one Plotly bar chart, served by a second ``streamlit run`` with the same settings
     (same working directory, so the same ``.streamlit/config.toml``). The two servers
     are loaded in turns (Seesaw, bare, Seesaw, ...), so both see the same machine
     load. The first load of each server (imports of the script's modules) is reported
     apart; the figure is the median of the ``--loads`` loads after it. Target: <= 1.5x.
16b. **Strategy change**: on the Balance page, from the click on another strategy (the
     segmented control cycles Undersample, Oversample, Hybrid, Class weights) until the
     preview chart's drawing has changed, timed inside the page (``performance.now()`` at
     the click and at the first animation frame that shows the new chart). Median of
     ``--changes`` changes. Target: <= 0.3 s.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from _common import load_average, machine_info, markdown_table
from browser_harness import (
    Offline,
    chromium,
    go,
    new_page,
    streamlit_server,
    wait_idle,
)

BARE_PAGE = '''"""A bare Streamlit page with one Plotly bar chart: the first-load baseline."""
import plotly.graph_objects as go
import streamlit as st

st.title("Bare page")
st.plotly_chart(go.Figure(go.Bar(x=["normal", "cancer"], y=[600, 100])))
'''
# The moment the first chart has bars with geometry (Plotly draws empty paths first).
BARS_DRAWN = """() => {
  for (const path of document.querySelectorAll('.js-plotly-plot .barlayer path')) {
    const d = path.getAttribute('d');
    if (d && d.length > 4) return performance.now();
  }
  return false;
}"""
# The drawing of the charts in the main area: bar geometry, trace names and titles.
CHART_SIGNATURE = """() => {
  const plots = document.querySelectorAll('[data-testid=stMain] .js-plotly-plot');
  if (!plots.length) return '';
  const drawn = '.barlayer path, .legendtext, .gtitle';
  const parts = [...plots].flatMap(p => [...p.querySelectorAll(drawn)]);
  return parts.map(p => p.getAttribute('d') || p.textContent).join('|');
}"""
STRATEGY_CYCLE = ("Oversample", "Hybrid", "Class weights", "Undersample")


def first_load(browser, url: str) -> float:
    """Milliseconds from navigation start until the first chart's bars are drawn."""
    offline = Offline()
    page = new_page(browser, offline=offline)
    try:
        page.goto(url, wait_until="commit")
        drawn = page.wait_for_function(BARS_DRAWN, polling="raf", timeout=60_000)
        if offline.blocked:
            raise RuntimeError(f"the page asked for outside hosts: {offline.blocked}")
        return float(drawn.json_value())
    finally:
        page.context.close()


def strategy_changes(browser, url: str, changes: int) -> list[float]:
    """Milliseconds from a click on another strategy until the preview chart changed."""
    page = new_page(browser, offline=Offline())
    try:
        page.goto(url)
        page.wait_for_function(BARS_DRAWN, polling="raf", timeout=60_000)
        wait_idle(page)
        go(page, url, "Balance")
        page.wait_for_function(BARS_DRAWN, polling="raf", timeout=60_000)
        control = page.get_by_test_id("stMain")
        timings = []
        for i in range(changes):
            before = page.evaluate(CHART_SIGNATURE)
            button = control.get_by_role("radio", name=STRATEGY_CYCLE[i % len(STRATEGY_CYCLE)])
            button.evaluate("b => { window.__clicked = performance.now(); b.click(); }")
            changed = page.wait_for_function(
                f"""(before) => {{
                  const now = ({CHART_SIGNATURE})();
                  return now && now !== before ? performance.now() : false;
                }}""",
                arg=before,
                polling="raf",
                timeout=30_000,
            )
            timings.append(float(changed.json_value()) - page.evaluate("window.__clicked"))
            wait_idle(page)
        return timings
    finally:
        page.context.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loads", type=int, default=7, help="timed first loads per page")
    parser.add_argument("--changes", type=int, default=12, help="timed strategy changes")
    args = parser.parse_args(argv)

    load_before = load_average()
    with tempfile.TemporaryDirectory() as tmp:
        bare = Path(tmp) / "bare_page.py"
        bare.write_text(BARE_PAGE)
        with (
            streamlit_server() as app_url,
            streamlit_server(bare) as bare_url,
            chromium() as browser,
        ):
            cold_app, cold_bare = first_load(browser, app_url), first_load(browser, bare_url)
            app_loads, bare_loads = [], []
            for _ in range(args.loads):
                app_loads.append(first_load(browser, app_url))
                bare_loads.append(first_load(browser, bare_url))
            started = time.monotonic()
            changes = strategy_changes(browser, app_url, args.changes)
            change_wall = time.monotonic() - started

    app_ms, bare_ms = statistics.median(app_loads), statistics.median(bare_loads)
    change_ms = statistics.median(changes)
    rows = [
        ["16a", "first load until the chart is drawn, s (median)", f"{app_ms / 1000:.2f}",
         f"{bare_ms / 1000:.2f} (bare page)", f"{app_ms / bare_ms:.2f}x", "<= 1.5x",
         "yes" if app_ms <= 1.5 * bare_ms else "no"],
        ["16a", "(info) first load after the server started, s", f"{cold_app / 1000:.2f}",
         f"{cold_bare / 1000:.2f} (bare page)", f"{cold_app / cold_bare:.2f}x", "none set", "–"],
        ["16b", "strategy change until the preview chart changed, s (median)",
         f"{change_ms / 1000:.3f}", "–", "–", "<= 0.3 s", "yes" if change_ms <= 300 else "no"],
    ]  # fmt: skip
    print(machine_info(("streamlit", "plotly", "playwright")))
    print(f"Load average {load_before} before, {load_average()} after.\n")
    print(markdown_table(["Fig.", "Measure", "Seesaw", "Baseline", "Ratio", "Target", "Met"], rows))
    print(
        f"\nFirst loads, s: Seesaw {', '.join(f'{t / 1000:.2f}' for t in app_loads)}; "
        f"bare {', '.join(f'{t / 1000:.2f}' for t in bare_loads)}."
    )
    print(
        f"Strategy changes, s: {', '.join(f'{t / 1000:.3f}' for t in changes)} "
        f"({change_wall:.1f} s in all, idle waits included)."
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
