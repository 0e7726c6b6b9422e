"""The current dataset, kept in st.session_state so every page sees the same one."""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

import balance_core as bc
from balance_core.examples import EXAMPLES

CURRENT = "seesaw.current"
DEFAULT_EXAMPLE = "lung_ct"


@dataclass(frozen=True)
class Loaded:
    """What the pages need: the input's name and bytes, and its analysis."""

    name: str
    data: bytes
    analysis: bc.Analysis
    is_example: bool


@st.cache_data(show_spinner=False, max_entries=8)
def read_and_analyze(data: bytes, name: str, roles: tuple[tuple[str, str | None], ...]):
    """Parse and analyse once per distinct content (the cache key hashes the bytes)."""
    dataset = bc.read_dataset(data, name=name, **{f"{role}_col": col for role, col in roles})
    return bc.analyze(dataset)


def load(data: bytes, name: str, *, is_example: bool, roles: dict | None = None) -> Loaded:
    roles_key = tuple(sorted((roles or {}).items()))
    analysis = read_and_analyze(data, name, roles_key)
    loaded = Loaded(name=name, data=data, analysis=analysis, is_example=is_example)
    st.session_state[CURRENT] = loaded
    return loaded


def current() -> Loaded | None:
    return st.session_state.get(CURRENT)


def load_example(key: str) -> Loaded:
    example = EXAMPLES[key]
    return load(example.data(), example.filename, is_example=True)
