"""Session state: the current dataset and the balancing choice, under a few named keys.

Every page sees the same dataset. Parsing happens once per distinct upload: the
result is cached by the content's SHA-256 (shared read-only between sessions, never
keyed by file name), and a rerun after a control moves touches no rows.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from dataclasses import astuple, dataclass, field, replace

import streamlit as st

import balance_core as bc
from balance_core.examples import EXAMPLES
from balance_core.recipe import Recipe, Strategy

from .limits import app_limits

DATASET = "seesaw.dataset"
UPLOADER_GENERATION = "seesaw.uploader_generation"
UPLOAD_ERROR = "seesaw.upload_error"
UPLOAD_READ = "seesaw.upload_read"
RECIPE = "seesaw.recipe"
MAPPING = "seesaw.label_mapping"
DEFAULT_EXAMPLE = "lung_ct"


@dataclass(frozen=True, eq=False)
class Current:
    """The dataset every page works on."""

    name: str
    data: bytes = field(repr=False)
    sha256: str
    analysis: bc.Analysis
    limits: bc.Limits
    # The reader's dataset, roles as guessed: other roles start from it, never from
    # a re-read of ``data`` (the shared cache may have let it go).
    as_read: bc.Dataset = field(repr=False)
    example: str | None = None

    @property
    def dataset(self) -> bc.Dataset:
        return self.analysis.dataset

    @property
    def distribution(self) -> bc.Distribution:
        return self.analysis.distribution


_DATASETS: OrderedDict[tuple[str, str, bc.Limits], bc.Dataset] = OrderedDict()
_DATASETS_LOCK = threading.Lock()
CACHED_DATASETS = 8


def _read(sha256: str, name: str, data: bytes, limits: bc.Limits, progress=None) -> bc.Dataset:
    """Parse once per distinct content, shared by every session of this server.

    Keyed by the SHA-256 of the bytes together with the file name (the name picks the
    reader and appears in findings, so nobody sees another uploader's file name) and
    the limits read under. Not st.cache_resource: its element replay refuses the
    progress bar a big zip needs."""
    key = (sha256, name, limits)
    with _DATASETS_LOCK:
        if key in _DATASETS:
            _DATASETS.move_to_end(key)
            return _DATASETS[key]
    # The pages draw one label per row (several labels or boxes come in phase 3):
    # a multi-label table is shown as before, one class per combination.
    dataset = bc.read_dataset(data, name=name, progress=progress, limits=limits, multilabel="off")
    with _DATASETS_LOCK:
        _DATASETS[key] = dataset
        while len(_DATASETS) > CACHED_DATASETS:
            _DATASETS.popitem(last=False)
    return dataset


def _read_with_progress(sha256: str, name: str, data: bytes, limits: bc.Limits) -> bc.Dataset:
    """Read (or fetch from the cache), with a progress bar while a zip's image headers
    are probed, so a big zip never looks like a frozen page."""
    bar = st.empty()

    def progress(done: int, total: int) -> None:
        if total:
            bar.progress(
                min(done / total, 1.0), text=f"Reading image headers… {done:,} of {total:,}"
            )

    try:
        return _read(sha256, name, data, limits, progress)
    finally:
        bar.empty()


@st.cache_resource(show_spinner=False, max_entries=32)
def _analyze(
    sha256: str,
    name: str,
    limits: tuple,
    roles: tuple[tuple[str, str | None], ...],
    _ds: bc.Dataset,
):
    # ``limits`` is only part of the key: the same bytes read under other limits
    # may hold other findings.
    dataset = _ds.with_roles(**dict(roles)) if roles else _ds
    return bc.analyze(dataset)


def load_bytes(data: bytes, name: str, *, example: str | None = None) -> Current:
    """Parse and analyse ``data`` and make it the current dataset.

    Raises DatasetError for bad input; the previous dataset then stays current.
    """
    sha256 = hashlib.sha256(data).hexdigest()
    # Uploads are read under the app's configured limits; the bundled examples are
    # ours, so a tight operator setting never breaks the first page view.
    limits = bc.DEFAULT_LIMITS if example else app_limits()
    dataset = _read_with_progress(sha256, name, data, limits)
    if dataset.kind == "detection":
        raise bc.DatasetError(not_drawn_yet(dataset), kind="wrong_kind")
    analysis = _analyze(sha256, name, astuple(limits), (), dataset)
    current = Current(
        name=name,
        data=data,
        sha256=sha256,
        analysis=analysis,
        limits=limits,
        as_read=dataset,
        example=example,
    )
    st.session_state[DATASET] = current
    st.session_state.pop(RECIPE, None)
    st.session_state[MAPPING] = {}
    return current


def not_drawn_yet(dataset: bc.Dataset) -> str:
    """The sentence for a detection dataset, which the pages cannot draw yet."""
    boxes = dataset.annotations.n_annotations
    return (
        f"This is a {dataset.source.format.upper()} object detection dataset "
        f"({dataset.n_rows:,} images, {boxes:,} boxes); the dashboard does not draw boxes "
        "yet, so analyse and balance it from the command line: python -m balance_core "
        "analyze FILE (then sample --method repeat-factor)."
    )


def load_example(key: str) -> Current:
    example = EXAMPLES[key]
    return load_bytes(example.data(), example.filename, example=key)


def get_current() -> Current:
    """The current dataset; the default example on a session's first page view."""
    current = st.session_state.get(DATASET)
    if current is None:
        current = load_example(DEFAULT_EXAMPLE)
    return current


def set_roles(roles: dict[str, str | None]) -> Current:
    """Re-analyse the current dataset with other column roles."""
    current = get_current()
    analysis = _analyze(
        current.sha256,
        current.name,
        astuple(current.limits),
        tuple(sorted(roles.items())),
        current.as_read,
    )
    updated = replace(current, analysis=analysis)
    st.session_state[DATASET] = updated
    st.session_state.pop(RECIPE, None)
    st.session_state[MAPPING] = {}
    return updated


def label_mapping() -> dict[str, str | None]:
    return dict(st.session_state.get(MAPPING, {}))


def set_label_mapping(mapping: dict[str, str | None]) -> None:
    st.session_state[MAPPING] = dict(mapping)


def get_recipe() -> Recipe:
    """The balancing choice made on the Balance page (a default until then)."""
    recipe = st.session_state.get(RECIPE)
    if recipe is None:
        recipe = Recipe(strategy=Strategy(method="undersample"))
    return recipe


def set_recipe(recipe: Recipe) -> None:
    st.session_state[RECIPE] = recipe
