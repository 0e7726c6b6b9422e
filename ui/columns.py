"""The columns panel at the top of every page: which column is the label, the split,
the group and the path (and which sheet of a workbook), why each was picked, and a
selectbox to change it."""

from __future__ import annotations

import streamlit as st

import balance_core as bc

from . import state
from .frame import md

NONE = "(none)"
ROLES = ("label", "split", "group", "path")
HELP = {
    "label": "The class of each row: what is counted and balanced.",
    "split": "train / val / test: only the split you pick on the Balance page changes.",
    "group": "Rows of one patient, subject or video: kept apart when balancing.",
    "path": "The image or file each row describes.",
}


def _reason(role: str, value: str | None, current: state.Current) -> str:
    guess = current.as_read.roles
    if value != getattr(guess, role):
        return "Chosen by you."
    if role in guess.guessed and guess.reasons.get(role):
        return f"Guessed: {guess.reasons[role]}."
    if guess.reasons.get(role) and value is None:
        return f"None: {guess.reasons[role]}."
    if current.dataset.source.format == "zip":
        return "From the zip's folder layout or its metadata file."
    if value is None:
        return f"No column looks like a {role} column."
    reason = guess.reasons.get(role, "Given when the data was read.").rstrip(".")
    return reason[:1].upper() + reason[1:] + "."


KEEP_OPEN = "seesaw.columns_keep_open"


def panel(current: state.Current) -> state.Current:
    """Draw the panel; a change re-analyses the data and reruns the page."""
    dataset = current.dataset
    roles = dataset.roles
    source = dataset.source
    summary = " · ".join(
        f"{role} **{md(getattr(roles, role))}**" if getattr(roles, role) else f"{role} none"
        for role in ROLES[:3]
    )
    if source.sheet is not None:
        summary += f" · sheet **{md(source.sheet)}**"
    sheet_key = source.sheet or ""
    with st.expander(
        f"Columns: {summary}",
        icon=":material/view_column:",
        # Open the first time a dataset is seen, and again right after a pick here: the
        # summary in the title changes, so Streamlit draws a new, closed expander.
        expanded=st.session_state.get(state.COLUMNS_SEEN) != (current.sha256, sheet_key)
        or st.session_state.pop(KEEP_OPEN, False),
    ):
        st.session_state[state.COLUMNS_SEEN] = (current.sha256, sheet_key)
        columns = dataset.raw.column_names
        cells = st.columns(len(ROLES) + (source.sheet is not None))
        chosen: dict[str, str | None] = {}
        key_base = f"{current.sha256[:12]}.{sheet_key}"
        for cell, role in zip(cells, ROLES, strict=False):
            options = columns if role == "label" else [NONE, *columns]
            value = getattr(roles, role) or NONE
            with cell:
                picked = st.selectbox(
                    role.capitalize(),
                    options,
                    index=options.index(value) if value in options else 0,
                    key=f"role.{role}.{key_base}",
                    help=HELP[role],
                )
                chosen[role] = None if picked == NONE else picked
                st.caption(md(_reason(role, getattr(roles, role), current)))
        if source.sheet is not None:
            sheets = [source.sheet, *source.other_sheets]
            with cells[-1]:
                sheet = st.selectbox(
                    "Sheet", sheets, index=0, key=f"sheet.{current.sha256[:12]}.{sheet_key}"
                )
                st.caption(
                    md(f"{len(source.other_sheets)} other sheet(s) in the workbook.")
                    if source.other_sheets
                    else "The workbook's only sheet."
                )
            if sheet != source.sheet:
                try:
                    state.set_sheet(sheet)
                    st.session_state[KEEP_OPEN] = True
                    st.rerun()
                except bc.DatasetError as error:
                    st.error(md(f"Sheet {sheet!r}: {error}"), icon=":material/error:")
        if dataset.kind == "single" and source.format != "zip":
            _several_labels(current)
        if chosen != roles.as_dict():
            try:
                current = state.set_roles(chosen)
                st.session_state[KEEP_OPEN] = True
                st.rerun()
            except bc.DatasetError as error:
                st.error(md(str(error)), icon=":material/error:")
    return current


SEPARATOR_AUTO = "find it"


def _several_labels(current: state.Current) -> None:
    """The way to a multi-label reading when the reader took one label per row (its
    guess is cautious: a comma in a label may be text)."""
    left, right = st.columns([1, 3], vertical_alignment="bottom")
    with left:
        separator = st.text_input(
            "Separator of several labels",
            value="",
            placeholder=SEPARATOR_AUTO,
            max_chars=8,
            key=f"reader.sep.{current.sha256[:12]}",
            help="Blank: look for |, ; or , in the label column.",
            on_change=_keep_open,
        )
    with right:
        clicked = st.button(
            "Read several labels per row", key=f"reader.multi.{current.sha256[:12]}"
        )
    if clicked:
        options: dict = {"multilabel": "on", "label_col": current.dataset.roles.label}
        if separator:
            options["labels_sep"] = separator
        try:
            state.set_reader(options)
            st.session_state[KEEP_OPEN] = True
            st.rerun()
        except bc.DatasetError as error:
            st.error(md(str(error)), icon=":material/error:")


def _keep_open() -> None:
    st.session_state[KEEP_OPEN] = True
