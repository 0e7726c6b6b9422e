"""Phone-width fixes the page scripts share (issue 10, item 15).

At 390 px Streamlit's defaults put toolbars over content: Plotly's modebar over the
chart's title and legend, the table toolbar over the heading above the table, and the
sidebar, once opened to change page, stays over the new page. The CSS reserves a strip
for each toolbar; a few lines of JavaScript close the sidebar after a page link is
followed where the sidebar overlays the page (at most 768 px wide, Streamlit's own
breakpoint), as Streamlit's built-in page navigation does. Nothing here is user input.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

__all__ = ["apply"]

CSS = Path(__file__).resolve().parents[1] / "static" / "phone.css"
# Runs once per browser tab: the listener outlives reruns and page changes.
_CLOSE_SIDEBAR_AFTER_NAVIGATION = """
<span class="seesaw-phone-nav"></span>
<script>
if (!window.seesawPhoneNav) {
  window.seesawPhoneNav = true;
  document.addEventListener("click", (event) => {
    const link = event.target.closest("[data-testid='stSidebar'] a");
    if (!link || window.innerWidth > 768) return;
    setTimeout(() => {
      const close = document.querySelector("[data-testid='stSidebarCollapseButton'] button");
      if (close) close.click();
    }, 0);
  });
}
</script>
"""


def apply() -> None:
    """Add the phone-width CSS and the sidebar script to the page being run."""
    st.html(CSS)
    with st.sidebar:
        st.html(_CLOSE_SIDEBAR_AFTER_NAVIGATION, unsafe_allow_javascript=True)
