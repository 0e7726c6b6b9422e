"""Session state: the current dataset and the balancing choice, under a few named keys.

Every page sees the same dataset. An upload is copied to a private spool file
(hashing as it goes) and dropped from Streamlit's upload store at once; a worker
process (:mod:`ui.worker`) reads and analyses the spooled copy within the server
budget. The parsed table and counts live in one cache shared by all sessions,
bounded by bytes and keyed by the content's SHA-256 (never by file name alone):
the session keeps only a small handle, so a closed session's data goes when
Streamlit ends the session. The spool file stays on disk while anything refers to
it (thumbnails and the balanced zip read a zip's entries; a table is read again
with several labels per row, another sheet or another reading of uncertain cells)
and is deleted with its last reference.
"""

from __future__ import annotations

import atexit
import hashlib
import json
import logging
import shutil
import tempfile
import uuid
import weakref
from dataclasses import astuple, dataclass, field, replace
from pathlib import Path
from typing import BinaryIO

import streamlit as st

import balance_core as bc
from balance_core.budget import check_output, entry_sizes, estimate_output
from balance_core.examples import EXAMPLES
from balance_core.plan import SamplingPlan
from balance_core.recipe import Outcome, Recipe, Strategy, run

from . import jobs
from .cache import ByteCache, give_back, nbytes
from .limits import app_limits, server_budget
from .worker import Budget, run_job, warm_up

DATASET = "seesaw.dataset"
UPLOADER_GENERATION = "seesaw.uploader_generation"
UPLOAD_ERROR = "seesaw.upload_error"
UPLOAD_READ = "seesaw.upload_read"
RECIPE = "seesaw.recipe"
SAMPLE_RECIPE = "seesaw.sample_recipe"
MAPPING = "seesaw.label_mapping"
COLUMNS_SEEN = "seesaw.columns_seen"
DEFAULT_EXAMPLE = "lung_ct"
CHUNK = 8 * 1024 * 1024
log = logging.getLogger("seesaw")


class Released(bc.DatasetError):
    """The session's data is no longer held (the session was closed and reopened)."""


# --- spool files -----------------------------------------------------------------

_SPOOL_DIR = Path(tempfile.mkdtemp(prefix="seesaw-uploads-"))
atexit.register(shutil.rmtree, _SPOOL_DIR, ignore_errors=True)


class Spool:
    """A private copy of an upload on disk; the file goes with the last reference."""

    def __init__(self, path: Path) -> None:
        self.path = path
        weakref.finalize(self, path.unlink, missing_ok=True)


def _spool(stream: BinaryIO) -> tuple[Spool, str, int]:
    """Copy ``stream`` to a new spool file in chunks: (spool, SHA-256, size)."""
    digest = hashlib.sha256()
    path = _SPOOL_DIR / uuid.uuid4().hex
    size = 0
    with path.open("xb") as out:
        while chunk := stream.read(CHUNK):
            digest.update(chunk)
            out.write(chunk)
            size += len(chunk)
    return Spool(path), digest.hexdigest(), size


# --- the shared cache and sessions' pins -------------------------------------------

CACHE = ByteCache(server_budget().cache_mb * 1024**2)
warm_up()


@dataclass(frozen=True)
class Lease:
    """One per Streamlit session; its release (the session's end) drops its pins."""

    id: str


def _release(lease: Lease) -> None:
    CACHE.unpin(lease.id)
    give_back()


@st.cache_resource(scope="session", on_release=_release, show_spinner=False)
def lease() -> Lease:
    """This session's lease on the shared cache (Streamlit drops session-scoped
    resources when the session disconnects, and calls ``on_release``)."""
    return Lease(uuid.uuid4().hex)


def _owner() -> str | None:
    """The pin owner of the running script's session (None outside a script run,
    e.g. a test reading a session's state afterwards)."""
    from streamlit.runtime.scriptrunner_utils.script_run_context import get_script_run_ctx

    return lease().id if get_script_run_ctx() is not None else None


@dataclass(frozen=True, eq=False)
class Current:
    """The dataset every page works on: a handle into the shared cache."""

    name: str
    sha256: str
    size: int
    limits: bc.Limits
    roles: tuple[tuple[str, str | None], ...] = ()
    example: str | None = None
    # The worksheet asked for (None: the reader's pick).
    sheet: str | None = None
    # read_dataset options chosen in the app, as sorted pairs (none: multilabel="auto").
    reader: tuple[tuple[str, object], ...] = ()
    # Zips and workbooks of several sheets only: what thumbnails, the balanced zip and
    # another sheet read.
    spool: Spool | None = field(default=None, repr=False)

    @property
    def read_key(self) -> tuple:
        return _key(self.sha256, self.name, self.limits, self.sheet, self.reader)

    @property
    def key(self) -> tuple:
        return (*self.read_key, self.roles)

    @property
    def analysis(self) -> bc.Analysis:
        found = CACHE.get(self.key, pin=_owner())
        if found is None:
            found = _reanalyze(self)
        return found

    @property
    def as_read(self) -> bc.Dataset:
        """The reader's dataset, roles as guessed: other roles start from it."""
        found = CACHE.get(self.read_key, pin=_owner())
        if found is None:
            raise Released(
                "This session's data was released while the page was closed; upload the "
                "file again.",
                kind="released",
            )
        return found.dataset

    @property
    def dataset(self) -> bc.Dataset:
        return self.analysis.dataset

    @property
    def distribution(self) -> bc.Distribution:
        return self.analysis.distribution

    @property
    def source_path(self) -> Path | None:
        return None if self.spool is None else self.spool.path


def _key(sha256: str, name: str, limits: bc.Limits, sheet: str | None, reader: tuple = ()) -> tuple:
    # Two sheets of one workbook share the bytes' SHA-256 but not their analyses.
    return ("analysis", sha256, name, astuple(limits), sheet, *((reader,) if reader else ()))


def _reanalyze(current: Current) -> bc.Analysis:
    as_read = current.as_read
    dataset = as_read.with_roles(**dict(current.roles))
    # The same columns as the reader's dataset: only the findings and counts are new.
    return CACHE.get_or_build(
        current.key,
        lambda: bc.analyze(dataset),
        pin=_owner(),
        size=lambda value: nbytes(value, {id(as_read.raw)}),
    )


def _budget() -> Budget:
    settings = server_budget()
    CACHE.resize(settings.cache_mb * 1024**2)
    return Budget(
        memory_bytes=settings.worker_memory_mb * 1024**2,
        timeout_s=settings.worker_timeout_s,
        max_jobs=settings.max_workers,
    )


def _progress_bar():
    bar = st.empty()

    def progress(done: int, total: int) -> None:
        if total:
            bar.progress(
                min(done / total, 1.0), text=f"Reading image headers… {done:,} of {total:,}"
            )

    return bar, progress


def _make_current(
    spool: Spool,
    sha256: str,
    size: int,
    name: str,
    limits: bc.Limits,
    analysis,
    example,
    sheet: str | None = None,
) -> Current:
    source = analysis.dataset.source
    # The fingerprint recipes and split records need is the one taken while spooling.
    source.__dict__.setdefault("sha256", sha256)
    current = Current(
        name=name,
        sha256=sha256,
        size=size,
        limits=limits,
        example=example,
        sheet=sheet,
        # Kept on disk (never in memory) while the session refers to it: thumbnails and
        # the balanced zip read a zip's entries, and another reading of a table (a
        # sheet, several labels per row, uncertain cells) reads its bytes again.
        spool=spool,
    )
    _set_current(current)
    return current


def _set_current(current: Current) -> None:
    owner = _owner()
    if owner is None:
        st.session_state[DATASET] = current
        return
    CACHE.get(current.read_key, pin=owner)
    CACHE.get(current.key, pin=owner)
    CACHE.unpin(owner, keep=frozenset({current.read_key, current.key}))
    st.session_state[DATASET] = current


def _read(
    spool: Spool,
    sha256: str,
    name: str,
    limits: bc.Limits,
    *,
    trusted: bool,
    sheet: str | None = None,
    reader: tuple = (),
):
    """Read and analyse once per distinct content: in a worker for uploads, here for
    the bundled examples. Keyed by the SHA-256 with the file name (it picks the reader
    and appears in findings, so nobody sees another uploader's file name), the limits
    read under and the sheet."""
    key = _key(sha256, name, limits, sheet, reader)

    def build() -> bc.Analysis:
        if trusted:
            options = {"multilabel": "auto", **dict(reader)}
            dataset = bc.read_dataset(spool.path, name=name, limits=limits, sheet=sheet, **options)
            return bc.analyze(dataset)
        bar, progress = _progress_bar()
        try:
            return run_job(
                jobs.read_and_analyze,
                spool.path,
                name,
                limits,
                sheet,
                reader,
                budget=_budget(),
                what=f"Reading {name!r}",
                progress=progress,
            )
        finally:
            bar.empty()

    return CACHE.get_or_build(key, build, pin=_owner())


def load_upload(upload) -> Current:
    """Make a Streamlit ``UploadedFile`` the current dataset, then drop its bytes.

    Raises DatasetError for bad input; the previous dataset then stays current.
    """
    try:
        upload.seek(0)
        spool, sha256, size = _spool(upload)
    finally:
        _forget_upload(upload)
    try:
        return _load(spool, sha256, size, upload.name, example=None)
    finally:
        give_back()  # the upload's buffers, freed above, leave the heap


def load_bytes(data: bytes, name: str, *, example: str | None = None) -> Current:
    """Parse and analyse ``data`` and make it the current dataset.

    Raises DatasetError for bad input; the previous dataset then stays current.
    """
    import io

    spool, sha256, size = _spool(io.BytesIO(data))
    return _load(spool, sha256, size, name, example=example)


def _load(spool: Spool, sha256: str, size: int, name: str, *, example: str | None) -> Current:
    # Uploads are read under the app's configured limits; the bundled examples are
    # ours, so a tight operator setting never breaks the first page view.
    limits = bc.DEFAULT_LIMITS if example else app_limits()
    analysis = _read(spool, sha256, name, limits, trusted=example is not None)
    current = _make_current(spool, sha256, size, name, limits, analysis, example)
    st.session_state.pop(RECIPE, None)
    st.session_state.pop(SAMPLE_RECIPE, None)
    st.session_state[MAPPING] = {}
    return current


def _forget_upload(upload) -> None:
    """Drop the upload's bytes from Streamlit's upload store (they are spooled)."""
    try:
        from streamlit.runtime.scriptrunner_utils.script_run_context import get_script_run_ctx

        ctx = get_script_run_ctx()
        if ctx is not None and getattr(upload, "file_id", None):
            ctx.uploaded_file_mgr.remove_file(ctx.session_id, upload.file_id)
    except Exception:  # an internal API: at worst the bytes stay until the session ends
        log.warning("Could not drop an upload from Streamlit's store", exc_info=True)
    upload.close()


def load_example(key: str) -> Current:
    example = EXAMPLES[key]
    return load_bytes(example.data(), example.filename, example=key)


def get_current() -> Current:
    """The current dataset; the default example on a session's first page view (or
    when a reopened session's data has been released)."""
    current = st.session_state.get(DATASET)
    if current is not None:
        try:
            current.analysis  # noqa: B018 - pins it for this session
            return current
        except Released:
            pass
    return load_example(DEFAULT_EXAMPLE)


def set_sheet(sheet: str) -> Current:
    """Read another worksheet of the current workbook (roles guessed anew).

    Raises DatasetError when that sheet cannot be used; the current sheet then stays."""
    current = get_current()
    if current.spool is None:
        raise bc.DatasetError("This file has one sheet; there is no other to read.", kind="usage")
    _read(
        current.spool,
        current.sha256,
        current.name,
        current.limits,
        trusted=current.example is not None,
        sheet=sheet,
    )
    updated = replace(current, sheet=sheet, roles=(), reader=())
    _set_current(updated)
    st.session_state.pop(RECIPE, None)
    st.session_state[MAPPING] = {}
    return updated


def set_reader(options: dict) -> Current:
    """Read the current file again with other ``read_dataset`` options (how a
    multi-label table's uncertain cells count, or one label per row).

    Raises DatasetError when it cannot be read so; the current reading then stays."""
    current = get_current()
    if current.spool is None:
        raise bc.DatasetError(
            "This file's bytes are no longer held; upload it again to read it otherwise.",
            kind="usage",
        )
    reader = tuple(sorted(options.items()))
    _read(
        current.spool,
        current.sha256,
        current.name,
        current.limits,
        trusted=current.example is not None,
        sheet=current.sheet,
        reader=reader,
    )
    updated = replace(current, reader=reader, roles=())
    _set_current(updated)
    st.session_state.pop(RECIPE, None)
    st.session_state.pop(SAMPLE_RECIPE, None)
    st.session_state[MAPPING] = {}
    return updated


def set_roles(roles: dict[str, str | None]) -> Current:
    """Re-analyse the current dataset with other column roles."""
    current = get_current()
    updated = replace(current, roles=tuple(sorted(roles.items())))
    updated.analysis  # noqa: B018 - analyse (and pin) before it becomes current
    _set_current(updated)
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


def export_recipe(current: Current) -> Recipe:
    """The recipe to export: the Balance page's choice (a default until then) with the
    reader settings, input fingerprint and label mapping of the data as it is now, so
    a role picked in the sidebar or a mapping changed after the Balance page was last
    seen is what the download and the replay command both use."""
    dataset = current.dataset
    return replace(
        get_recipe(),
        label_mapping=label_mapping(),
        reader={**dataset.roles.as_dict(), "sheet": dataset.source.sheet},
        input={
            "name": current.name,
            "format": dataset.source.format,
            "size_bytes": current.size,
            "sha256": current.sha256,
        },
    )


# --- heavy outputs -----------------------------------------------------------------


def output_limits(current: Current) -> bc.Limits:
    """The limits outputs are checked against: the app's output limits (from
    ``.streamlit/seesaw.toml``) for every dataset, the bundled examples included."""
    configured = app_limits()
    return replace(
        current.limits,
        max_output_rows=configured.max_output_rows,
        max_output_bytes=configured.max_output_bytes,
    )


def output_refusal(current: Current, plan: SamplingPlan, *, kind: str = "manifest") -> str | None:
    """The sentence refusing ``plan``'s output (None when within the output limits),
    from counts and the zip's declared sizes only: no row is chosen."""
    dataset = current.dataset
    sizes = None
    if kind == "zip":
        sizes = CACHE.get_or_build(
            ("entry_sizes", current.key), lambda: entry_sizes(dataset), pin=_owner()
        )
    estimate = estimate_output(plan, dataset=dataset, kind=kind, sizes=sizes)
    what = "The balanced zip" if kind == "zip" else "The balanced manifest"
    try:
        check_output(estimate, limits=output_limits(current), what=what)
    except bc.DatasetError as error:
        return str(error)
    return None


def outcome(current: Current, recipe: Recipe) -> Outcome:
    """The recipe carried out on the current rows, shared by every download button
    and cached by the data's fingerprint, its roles and the recipe's bytes. A plan
    over the output limits raises DatasetError before any row is chosen."""
    dataset = current.dataset
    limits = output_limits(current)
    key = ("outcome", current.key, recipe.to_json(), limits.max_output_rows,
           limits.max_output_bytes)  # fmt: skip
    # The chosen rows refer to the dataset's columns; count only what is new.
    return CACHE.get_or_build(
        key,
        lambda: run(recipe, dataset, limits=limits),
        pin=_owner(),
        size=lambda value: nbytes(value, {id(dataset), id(dataset.raw)}),
    )


def thumbnails(current: Current, paths: tuple[str, ...], size: int = 128) -> list[bytes | None]:
    """Thumbnails of a zip's entries, decoded in a worker, cached by content."""
    if current.spool is None:
        return [None] * len(paths)
    key = ("thumbnails", current.sha256, paths, size)
    spool = current.spool
    return CACHE.get_or_build(
        key,
        lambda: run_job(
            jobs.make_thumbnails,
            spool.path,
            paths,
            size,
            current.limits,
            budget=_budget(),
            what="Making thumbnails",
        ),
        pin=_owner(),
    )


def balanced_zip_bytes(current: Current, manifest) -> bytes:
    """The balanced zip of the manifest's entries, written in a worker (check
    :func:`output_refusal` with ``kind="zip"`` first)."""
    if current.spool is None:
        raise bc.DatasetError("Only a zip of images has a balanced zip.", kind="usage")
    return run_job(
        jobs.make_balanced_zip,
        current.spool.path,
        manifest,
        budget=_budget(),
        what="Writing the balanced zip",
    )


# --- several labels or boxes per sample ----------------------------------------------


def summary(current: Current):
    """The detection or multi-label summary of the current dataset and its findings
    (the library's), built once per content and roles."""
    from balance_core.detection import detection_findings, summarize_detection
    from balance_core.multilabel import multilabel_findings, summarize_multilabel

    dataset = current.dataset

    def build():
        if dataset.kind == "detection":
            found = summarize_detection(dataset)
            return found, tuple(detection_findings(dataset, found))
        found = summarize_multilabel(dataset)
        return found, tuple(multilabel_findings(dataset, found))

    return CACHE.get_or_build(("summary", current.key), build, pin=_owner())


def cached(key: tuple, build):
    """A value built once per key in the shared cache, pinned for this session."""
    return CACHE.get_or_build(key, build, pin=_owner())


def get_sample_recipe(current: Current) -> Recipe:
    """The Balance page's choice for samples with several labels or boxes (repeat
    factor for detection, ML-ROS for multi-label until then)."""
    from balance_core.sample_recipe import sample_recipe

    recipe = st.session_state.get(SAMPLE_RECIPE)
    if recipe is None:
        if current.dataset.kind == "detection":
            record = {"method": "repeat_factor", "threshold": 0.3, "seed": 0}
        else:
            record = {"method": "ml_ros", "percentage": 25.0, "seed": 0}
        recipe = sample_recipe(record)
    return recipe


def set_sample_recipe(recipe: Recipe) -> None:
    st.session_state[SAMPLE_RECIPE] = recipe


def export_sample_recipe(current: Current, recipe: Recipe | None = None) -> Recipe:
    """The sample-plan recipe to export, with the reader settings ``apply`` needs to
    read the upload the same way (:func:`balance_core.cli_detect.recorded_reader`),
    the input's fingerprint and a CSV manifest."""
    from balance_core.cli_detect import recorded_reader

    dataset = current.dataset
    return replace(
        recipe or get_sample_recipe(current),
        reader=recorded_reader(dataset, options=dict(current.reader), sheet=current.sheet),
        input={
            "name": current.name,
            "format": dataset.source.format,
            "size_bytes": current.size,
            "sha256": current.sha256,
        },
        output={"format": "csv", "neutralize_formulas": True},
    )


def sample_outcome(current: Current, recipe: Recipe):
    """The sample-plan recipe carried out on the current dataset (the library's
    :func:`~balance_core.sample_recipe.run_samples`), cached by the recipe's bytes."""
    from balance_core.sample_recipe import run_samples

    dataset = current.dataset
    plan = json.dumps(recipe.strategy.sample_plan, sort_keys=True)
    key = ("sample_outcome", current.key, plan, recipe.split)
    return CACHE.get_or_build(
        key,
        lambda: run_samples(recipe, dataset),
        pin=_owner(),
        size=lambda value: nbytes(value, {id(dataset), id(dataset.raw)}),
    )
