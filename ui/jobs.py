"""The heavy jobs :mod:`ui.worker` runs in a child process (no Streamlit import).

Each takes its input as a file path (the upload's spooled copy), never as bytes, so
nothing large is pickled into the child; results are the parsed table and counts,
or a small list of thumbnails, or a download's bytes.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa

import balance_core as bc
from balance_core.images import thumbnails
from balance_core.zip_export import balanced_zip


def read_and_analyze(
    path: Path,
    name: str,
    limits: bc.Limits,
    sheet: str | None = None,
    reader: tuple = (),
    *,
    progress=None,
) -> bc.Analysis:
    """Read the file at ``path`` as ``name`` under ``limits`` and analyse it
    (``reader``: ``read_dataset`` options as pairs, e.g. ``(("uncertain", "ones"),)``;
    several labels per row are taken when clear)."""
    options = {"multilabel": "auto", **dict(reader)}
    dataset = bc.read_dataset(
        path, name=name, progress=progress, limits=limits, sheet=sheet, **options
    )
    return bc.analyze(dataset)


def make_thumbnails(
    path: Path, paths: tuple[str, ...], size: int, limits: bc.Limits, *, progress=None
) -> list[bytes | None]:
    return thumbnails(path, list(paths), size=size, limits=limits)


def make_balanced_zip(path: Path, manifest: pa.Table, *, progress=None) -> bytes:
    return balanced_zip(path, manifest)
