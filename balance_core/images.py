"""Images inside an uploaded zip: safe thumbnails and per-class properties.

Thumbnails decode untrusted bytes, so every step is bounded: the entry's declared
size, Pillow's format allow-list, the pixel count read from the header before any
pixel is decoded, and the first frame only of animations.
"""

from __future__ import annotations

import io
import lzma
import warnings
import zipfile
import zlib
from collections.abc import Sequence
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
from PIL import Image, ImageOps, UnidentifiedImageError

from .dataset import Dataset
from .limits import DEFAULT_LIMITS, Limits

__all__ = ["ALLOWED_FORMATS", "gallery_sample", "image_properties", "thumbnails"]

ALLOWED_FORMATS = ("JPEG", "PNG", "BMP", "GIF", "TIFF", "WEBP", "PPM")
THUMBNAIL_ENTRY_LIMIT = 64 * 1024**2
# Pixels decoded for one thumbnail, after JPEG's reduced-scale decoding: a 24 MP
# RGBA frame takes 96 MB. A PNG of 89 M pixels compresses to a few hundred KB yet
# decodes to 360 MB, so a gallery of them would exhaust the server's memory.
THUMBNAIL_MAX_PIXELS = 24_000_000


def gallery_sample(dataset: Dataset, *, per_class: int = 4) -> dict[str, list[str]]:
    """A few image paths per class (sorted label order), the first ``per_class``
    in path order, skipping rows the header probe found unreadable."""
    if dataset.roles.path is None:
        return {}
    table = pa.table({"label": dataset.labels, "path": dataset.column("path")})
    if "width" in dataset.raw.column_names and "format" in dataset.raw.column_names:
        readable = pc.is_valid(dataset.raw.column("format"))
        probed_any = pc.any(readable).as_py()
        if probed_any:
            table = table.filter(readable)
    table = table.filter(pc.is_valid(table["label"])).sort_by(
        [("label", "ascending"), ("path", "ascending")]
    )
    sample: dict[str, list[str]] = {}
    for label, path in zip(table["label"].to_pylist(), table["path"].to_pylist(), strict=True):
        chosen = sample.setdefault(label, [])
        if len(chosen) < per_class:
            chosen.append(path)
    return sample


def thumbnails(
    source: bytes | str | Path,
    paths: Sequence[str],
    *,
    size: int = 128,
    limits: Limits | None = None,
) -> list[bytes | None]:
    """PNG thumbnails (at most ``size`` x ``size``) of images inside a zip.

    Entries are looked up in the central directory by the exact names the reader
    listed; nothing is extracted to disk. EXIF orientation is applied; an animation
    or a multi-page file shows its first frame. An entry that is missing, too large,
    not an allowed format, above the pixel limit (or above
    :data:`THUMBNAIL_MAX_PIXELS` after JPEG's reduced-scale decoding) or broken gives
    None instead of an image.
    """
    limits = limits or DEFAULT_LIMITS
    handle = io.BytesIO(source) if isinstance(source, bytes) else open(source, "rb")  # noqa: SIM115
    results: list[bytes | None] = []
    with handle:
        try:
            archive = zipfile.ZipFile(handle)
        except Exception:
            # zipfile refuses, with many exception types, what Seesaw's reader accepts
            # (a name flagged UTF-8 that is not, a "version needed" it does not know):
            # then no thumbnail can be shown, and none is.
            return [None] * len(paths)
        with archive:
            for path in paths:
                results.append(_thumbnail(archive, path, size, limits))
    return results


def _thumbnail(archive: zipfile.ZipFile, path: str, size: int, limits: Limits) -> bytes | None:
    try:
        info = archive.getinfo(path)
    except KeyError:
        return None
    if info.file_size > min(limits.max_entry_uncompressed, THUMBNAIL_ENTRY_LIMIT):
        return None
    if info.flag_bits & 0x1:  # encrypted
        return None
    try:
        with archive.open(info) as entry:
            data = entry.read(info.file_size + 1)
        if len(data) > info.file_size:
            return None
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=list(ALLOWED_FORMATS)) as image:
                width, height = image.size
                if width * height > limits.max_image_pixels or not width or not height:
                    return None
                image.seek(0)
                image.draft("RGB", (size * 2, size * 2))  # JPEG: decode at reduced scale
                if image.size[0] * image.size[1] > THUMBNAIL_MAX_PIXELS:
                    return None
                # Shrink first, then turn: one full-size frame in memory, not two.
                image.thumbnail((size, size))
                frame = ImageOps.exif_transpose(image)
                if frame.mode not in ("RGB", "RGBA", "L", "LA"):
                    frame = frame.convert("RGBA" if "A" in frame.getbands() else "RGB")
                out = io.BytesIO()
                frame.save(out, format="PNG")
                return out.getvalue()
    except (
        OSError,
        ValueError,
        SyntaxError,
        EOFError,
        UnidentifiedImageError,
        Image.DecompressionBombError,
        Image.DecompressionBombWarning,
        zipfile.BadZipFile,
        zlib.error,  # damaged compressed data, which zipfile does not wrap
        lzma.LZMAError,
        NotImplementedError,
        RuntimeError,
    ):
        return None


def image_properties(dataset: Dataset) -> list[dict]:
    """Per class: images, probed images, formats and modes with their counts, and
    width/height as min - median - max, from the header probe's columns."""
    columns = dataset.raw.column_names
    if not {"format", "width", "height", "mode"} <= set(columns):
        return []
    table = pa.table(
        {
            "label": dataset.labels,
            "format": dataset.raw.column("format"),
            "mode": dataset.raw.column("mode"),
            "width": dataset.raw.column("width").cast(pa.float64()),
            "height": dataset.raw.column("height").cast(pa.float64()),
        }
    ).filter(pc.is_valid(dataset.labels))
    sizes = table.group_by("label", use_threads=False).aggregate(
        [
            ([], "count_all"),
            ("format", "count"),
            ("width", "min"), ("width", "approximate_median"), ("width", "max"),
            ("height", "min"), ("height", "approximate_median"), ("height", "max"),
        ]
    ).sort_by("label")  # fmt: skip
    tallies: dict[str, dict[str, dict[str, int]]] = {}
    for column in ("format", "mode"):
        grouped = table.group_by(["label", column], use_threads=False).aggregate(
            [([], "count_all")]
        )
        for label, value, n in zip(
            grouped["label"].to_pylist(),
            grouped[column].to_pylist(),
            grouped["count_all"].to_pylist(),
            strict=True,
        ):
            if value is not None:
                tallies.setdefault(label, {}).setdefault(column, {})[value] = n
    rows = []
    for record in sizes.to_pylist():
        label = record["label"]
        rows.append(
            {
                "class": label,
                "images": record["count_all"],
                "probed": record["format_count"],
                "formats": _tally(tallies.get(label, {}).get("format", {})),
                "modes": _tally(tallies.get(label, {}).get("mode", {})),
                "width": _range(record, "width"),
                "height": _range(record, "height"),
            }
        )
    return rows


def _tally(counts: dict[str, int]) -> str:
    ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return ", ".join(f"{value} {n:,}" for value, n in ordered)


def _range(record: dict, column: str) -> str:
    low, mid, high = (record[f"{column}_{f}"] for f in ("min", "approximate_median", "max"))
    if low is None:
        return ""
    if low == high:
        return f"{low:.0f}"
    return f"{low:.0f} – {mid:.0f} – {high:.0f}"
