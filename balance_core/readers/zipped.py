"""Zips of image folders -> :class:`~balance_core.dataset.Dataset`.

The archive is read only through its central directory (the index at its end):
entry names are data, never paths on this machine, and nothing is extracted.
Every size and safety check runs on the central directory before a byte is
decompressed; image headers are then probed without decoding pixels.
"""

from __future__ import annotations

import hashlib
import itertools
import mmap
import os
import struct
import zlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..dataset import ColumnRoles, Dataset, Finding, FindingKind, Severity, Source
from ..errors import DatasetError
from ..limits import DEFAULT_LIMITS, Limits, limit_error
from .imageprobe import (
    PROBE_CORRUPT,
    PROBE_TOO_LARGE,
    SUPPORTED_METHODS,
    EntryError,
    EntryUnits,
    data_start,
    inspect_entries,
    read_entry,
)
from .sources import Input, InputLike, open_input
from .tables import check_classes, check_input_size, read_table

__all__ = ["IMAGE_EXTENSIONS", "METADATA_FILES", "SPLIT_FOLDERS", "read_zip"]

IMAGE_EXTENSIONS = frozenset(
    {"jpg", "jpeg", "png", "bmp", "gif", "tif", "tiff", "webp", "ppm", "pgm"}
)
"""File extensions (any case) taken as images."""

SPLIT_FOLDERS = frozenset(
    {"train", "training", "val", "valid", "validation", "test", "testing", "dev", "eval", "holdout"}
)
"""Folder names (any case) taken as splits in a ``split/class/image`` layout."""

METADATA_FILES = ("metadata.csv", "labels.csv", "metadata.jsonl")
"""Labels files (any case) that take precedence over folder names, in this order."""

# A metadata file may declare this much plus this much per image of the zip.
METADATA_BASE_BYTES = 1 << 20
METADATA_BYTES_PER_IMAGE = 16 * 1024

ARCHIVE_EXTENSIONS = ("zip", "tar", "gz", "tgz", "7z", "rar", "bz2", "xz")
JUNK_FILES = ("thumbs.db", "desktop.ini")
# A high compression ratio alone is harmless in a small file (a blank mask BMP
# deflates 500:1); the ratio limit applies to entries declaring more than this.
RATIO_FLOOR = 1 << 20
PROBES = ("all", "sample", "none")
# Columns the reader itself writes; metadata columns of these names get a suffix.
OWN_COLUMNS = (
    "path", "label", "split", "compressed_size", "size", "crc32", "format", "width", "height",
    "mode",
)  # fmt: skip

_EOCD = struct.Struct("<4s4H2LH")
_EOCD64_LOCATOR = struct.Struct("<4sLQL")
_EOCD64 = struct.Struct("<4sQ2H2L4Q")
_MAX32 = 0xFFFFFFFF
_S_IFMT, _S_IFLNK = 0o170000, 0o120000

# Entry categories, decided from the central directory alone.
_DIR, _UNSAFE, _JUNK, _TOO_BIG, _IMAGE, _METADATA, _OTHER = range(7)

# Unsafe reasons, checked in this order: (singular, plural) completing "N entries ...".
_UNSAFE_REASONS = {
    "control": ("has control characters in its name", "have control characters in their names"),
    "absolute": ("has an absolute name", "have absolute names"),
    "drive": ("has a drive letter in its name", "have a drive letter in their names"),
    "backslash": ("has a backslash in its name", "have backslashes in their names"),
    "dotdot": ("has a '..' folder in its name", "have '..' folders in their names"),
    "odd": ("has an empty or '.' folder in its name", "have empty or '.' folders in their names"),
    "symlink": ("is a symbolic link", "are symbolic links"),
    "encrypted": ("is encrypted", "are encrypted"),
    "method": (
        "uses a compression method other than stored, deflate, bzip2 or LZMA",
        "use a compression method other than stored, deflate, bzip2 or LZMA",
    ),
    "archive": ("is an archive inside the zip", "are archives inside the zip"),
}
_NAME_PATTERNS = {
    "control": r"[\x00-\x1f\x7f]",
    "absolute": r"^/",
    "drive": r"^[A-Za-z]:",
    "backslash": r"\\",
    "dotdot": r"(^|/)\.\.(/|$)",
    # An empty or "." folder; a folder entry's own trailing "/" is fine.
    "odd": r"//|(^|/)\.(/|$)|^$",
}
_ANY_NAME_PATTERN = "|".join(f"({pattern})" for pattern in _NAME_PATTERNS.values())
_IMAGE_PATTERN = r"\.(" + "|".join(sorted(IMAGE_EXTENSIONS)) + r")$"
_ARCHIVE_PATTERN = r"\.(" + "|".join(ARCHIVE_EXTENSIONS) + r")$"
_METADATA_PATTERN = r"(^|/)(" + "|".join(n.replace(".", r"\.") for n in METADATA_FILES) + r")$"
_JUNK_PATTERN = (
    r"(^|/)(__MACOSX/|\.|(" + "|".join(n.replace(".", r"\.") for n in JUNK_FILES) + r")$)"
)


# --------------------------------------------------------------------------- public API


def read_zip(
    source: InputLike,
    *,
    name: str | None = None,
    probe: str = "all",
    sample_size: int = 200,
    limits: Limits | None = None,
    label_col: str | None = None,
    path_col: str | None = None,
    split_col: str | None = None,
    group_col: str | None = None,
    progress: Callable[[int, int], None] | None = None,
    n_jobs: int | None = None,
) -> Dataset:
    """Read a zip of image folders (or of images listed in a metadata file).

    Layouts, under at most one wrapper folder (``mydata/cats/1.jpg``):

    - ``class/image``: the folder name is the label.
    - ``split/class/image``: split folders are named train, training, val, valid,
      validation, test, testing, dev, eval or holdout (any case).
    - A ``metadata.csv``, ``labels.csv`` or ``metadata.jsonl`` at the top (or in
      the wrapper folder) takes precedence over folder names. It is read with
      :func:`~balance_core.readers.tables.read_table`; its file names are matched
      relative to its own folder, then as they are, then by base name (or base
      name without extension) when that is unique among the zip's images.

    A wrapper folder is assumed when, with it, more images fit a layout exactly
    (on a tie: when it gives more classes); a split folder is never a wrapper.

    Parameters
    ----------
    source : bytes, path or binary file
        The zip archive. A path is memory-mapped, not read into memory.
    name : str, optional
        File name to report (defaults to the path's name, or ``"upload"``).
    probe : {"all", "sample", "none"}, default "all"
        Read the header of every image (format, width, height, mode), of
        ``sample_size`` images per class, or of none.
    sample_size : int, default 200
        Images probed per class with ``probe="sample"``, evenly spaced in path
        order (deterministic).
    limits : Limits, optional
        Bounds checked on the central directory before anything is decompressed
        (default :data:`~balance_core.limits.DEFAULT_LIMITS`).
    label_col, path_col, split_col, group_col : str, optional
        Columns of the metadata file playing each role (guessed when not given).
        Only valid when the zip holds a metadata file.
    progress : callable, optional
        ``progress(done, total)``, called now and then while images are probed
        and compared, for a progress bar.
    n_jobs : int, optional
        Processes that probe headers and compare bytes: ``None`` uses every
        available core, ``1`` works in this process.

    Returns
    -------
    Dataset
        ``raw`` has one row per image, sorted by path, with the columns ``path``
        (the name inside the zip), ``label``, ``split`` (when the layout or the
        metadata has splits), the metadata's other columns (suffixed
        ``_metadata`` when a name is taken), ``compressed_size``, ``size``,
        ``crc32`` and, from the probe, ``format``, ``width``, ``height`` and
        ``mode`` (null when not probed or unreadable). ``content_key`` gives rows
        whose files have identical bytes one id (candidates share size and
        CRC-32, then their bytes are compared), and every other row its own.

    Raises
    ------
    DatasetError
        ``kind`` is ``"not_a_zip"`` (also for tar, RAR, 7z or gzip files named
        .zip), ``"corrupt_zip"`` (cut short, damaged central directory, split
        archive), ``"zip_bomb"`` (entries that share bytes), ``"limit_hit"`` (a file
        too large, too many entries, too many bytes in total, folders too deep, too
        many classes), ``"no_images"`` (an empty zip, or no image that can be read),
        ``"no_label_column"`` (no image inside a class folder: the labels, which
        come from the folder names, are missing in every row),
        ``"missing_files"`` (the metadata file lists no image of the zip),
        ``"no_path_column"``, ``"usage"`` for bad options, or a kind of
        :func:`~balance_core.readers.tables.read_table` for a bad metadata file.

    Notes
    -----
    No entry is dropped silently; each one left out is counted in a finding:

    - Unsafe entries (``..`` folders, absolute names, drive letters, backslashes,
      control characters, symbolic links, encrypted entries, nested archives,
      unsupported compression) are never read: ``UNSAFE_ENTRY``, one finding
      per reason.
    - macOS, Windows and hidden files (``__MACOSX/``, ``._*``, ``.DS_Store``,
      ``Thumbs.db``, ``desktop.ini``, any name starting with a dot) are skipped:
      one ``SKIPPED_JUNK`` finding. Other files that are not images:
      ``NON_IMAGE``. Folder entries are ignored.
    - An image declaring more than ``max_entry_uncompressed`` bytes, or (above
      1 MiB) a compression ratio above ``max_compression_ratio``, is skipped:
      ``LIMIT_HIT``.
    - Images outside any class folder (at the top, directly in a split folder,
      or outside the wrapper folder) are rows with a null label, reported as
      ``MISSING_LABEL``, and so are images that the metadata file does not list.
      A class is never named after a file.
    - Images in sub-folders of a class folder count in that class, as in
      torchvision's ``ImageFolder`` and Keras' ``image_dataset_from_directory``;
      an informational ``LIMIT_HIT`` finding lists them.
    - Files the metadata lists but the zip lacks: ``MISSING_FILE`` (their
      metadata rows are left out).
    - Unreadable images stay rows, with their label: ``CORRUPT_IMAGE``. Images
      declaring more than ``max_image_pixels``: ``LIMIT_HIT``. Pillow's global
      settings are never changed.
    - Names not marked as UTF-8 are decoded as UTF-8 when valid, otherwise as
      cp437 (the zip standard's default): ``ENCODING_FALLBACK``.

    References
    ----------
    .. [1] PKWARE, "APPNOTE.TXT - .ZIP File Format Specification", version 6.3.10
       (central directory, zip64, general purpose flags).
    .. [2] D. Fifield, "A better zip bomb", USENIX WOOT 2019 (overlapping entries,
       which Python 3.11's ``zipfile`` does not detect).
    """
    limits = _check_options(probe, sample_size, limits, progress, n_jobs)
    roles_given = {
        "label_col": label_col,
        "path_col": path_col,
        "split_col": split_col,
        "group_col": group_col,
    }
    item = open_input(source, name=name)
    check_input_size(item, limits)
    with _archive_bytes(item) as buffer:
        directory = _read_directory(buffer, item.name, limits)
        entries = _classify(directory, limits)
        findings = _entry_findings(directory, entries, limits)
        images = np.flatnonzero(entries.category == _IMAGE)
        if len(images) == 0:
            raise _no_images(directory, entries)
        image_names = directory.names.take(pa.array(images))
        layout = _folder_layout(image_names)
        findings += _case_collisions(image_names)
        metadata = _pick_metadata(directory, entries, layout.top)
        findings += _non_image_finding(directory, entries, metadata)
        if metadata is None:
            rows = _rows_from_folders(images, image_names, layout, findings)
            # A recipe replays with the roles it was made with: the folder layout's
            # own columns are accepted, any other column is a mistake.
            if any(
                value is not None and value != getattr(rows.roles, key.removesuffix("_col"))
                for key, value in roles_given.items()
            ):
                raise DatasetError(
                    "label_col, path_col, split_col and group_col name columns of a "
                    f"{'/'.join(METADATA_FILES)} file inside the zip, and {item.name!r} has "
                    "none; its labels come from the folder names.",
                    kind="usage",
                )
        else:
            meta_table = _read_metadata(
                buffer, directory, metadata, limits, roles_given, n_images=len(images)
            )
            rows = _rows_from_metadata(
                images, image_names, layout, directory.name(metadata), meta_table, findings
            )
        _check_rows_have_labels(directory, rows)
        check_classes(rows.columns["label"], item.name, limits)
        unique, row_unique = np.unique(rows.entry, return_inverse=True)
        to_probe = _probe_selection(rows, row_unique, probe, sample_size)
        candidates = _candidate_groups(directory, unique)
        stand_ins = _raw_stand_ins(buffer, directory, candidates)
        probed, digests, unreadable = _inspect(
            buffer, directory, unique, to_probe, stand_ins.groups, limits, n_jobs, progress
        )
        stand_ins.share(digests, unreadable)
        content_key = _content_keys(unique, row_unique, _confirm_identical(candidates, digests))
        findings += _probe_findings(directory, rows, unique, row_unique, probed, unreadable, limits)
        raw = _assemble(directory, rows, row_unique, probed)
        size = len(buffer)
    return Dataset(
        raw=raw,
        roles=rows.roles,
        source=Source(name=item.name, format="zip", size_bytes=size, content=item.content),
        findings=tuple(findings),
        content_key=content_key,
    )


def _check_options(
    probe: str,
    sample_size: int,
    limits: Limits | None,
    progress: Callable[[int, int], None] | None,
    n_jobs: int | None,
) -> Limits:
    if probe not in PROBES:
        raise DatasetError(
            f"probe must be one of {', '.join(map(repr, PROBES))}, not {probe!r}.", kind="usage"
        )
    if isinstance(sample_size, bool) or not isinstance(sample_size, int) or sample_size < 1:
        raise DatasetError(
            f"sample_size must be a whole number of at least 1, not {sample_size!r}.",
            kind="usage",
        )
    if limits is not None and not isinstance(limits, Limits):
        raise DatasetError(
            f"limits must be a Limits object, not a {type(limits).__name__}.", kind="usage"
        )
    if progress is not None and not callable(progress):
        raise DatasetError("progress must be a function progress(done, total).", kind="usage")
    if n_jobs is not None and (isinstance(n_jobs, bool) or not isinstance(n_jobs, int)):
        raise DatasetError(f"n_jobs must be a whole number or None, not {n_jobs!r}.", kind="usage")
    return limits if limits is not None else DEFAULT_LIMITS


@contextmanager
def _archive_bytes(item: Input) -> Iterator[Any]:
    """The archive as one bytes-like object: the bytes given, or the file mapped."""
    if item.data is not None:
        yield item.data
        return
    with item.path.open("rb") as handle:
        if os.fstat(handle.fileno()).st_size == 0:
            yield b""
            return
        mapped = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
        try:
            yield mapped
        finally:
            # A view still referenced (say, by a traceback) closes it when freed.
            with suppress(BufferError):
                mapped.close()


def _say(template: str, count: int, noun: str, first: str, **values: Any) -> str:
    """Fill a message template with a count of ``noun`` and words that agree with it.

    ``{n}`` is "1 image" / "3 images", ``{first}`` the quoted first example
    ("('a.jpg')" for one, "(first: 'a.jpg')" for more); ``{is}``, ``{was}``,
    ``{has}``, ``{it}``, ``{its}`` and ``{s}`` (a verb's s) agree with the count.
    User data goes in through ``first`` and ``values``, never into the template.
    """
    one = count == 1
    plural = noun[:-1] + "ies" if noun.endswith("y") else noun + "s"
    return template.format(
        n=f"{count:,} {noun if one else plural}",
        first=f"({first!r})" if one else f"(first: {first!r})",
        s="s" if one else "",
        **{
            "is": "is" if one else "are",
            "was": "was" if one else "were",
            "has": "has" if one else "have",
            "it": "it" if one else "they",
            "its": "its" if one else "their",
        },
        **values,
    )


def _entry_names(directory: _Directory, indices: np.ndarray) -> tuple[str, ...]:
    return tuple(directory.names.take(pa.array(indices, pa.int64())).to_pylist())


# --------------------------------------------------------------------------- central directory


@dataclass(frozen=True)
class _Directory:
    """The central directory as columns, one element per entry, in archive order."""

    archive: str
    names: pa.Array
    depth: np.ndarray  # folders in the name ("/" count)
    name_pos: np.ndarray  # absolute position of the name in the central directory
    name_len: np.ndarray
    flags: np.ndarray
    method: np.ndarray
    crc: np.ndarray
    compressed_size: np.ndarray
    size: np.ndarray
    offset: np.ndarray  # absolute position of the local header
    mode: np.ndarray  # Unix mode bits (high half of the external attributes)
    cd_start: int
    fallback: np.ndarray  # entries whose names were decoded as cp437

    def name(self, index: int) -> str:
        return self.names[int(index)].as_py()

    def units(self, entries: np.ndarray, probe: np.ndarray, digest: np.ndarray) -> EntryUnits:
        return EntryUnits(
            offset=self.offset[entries],
            name_pos=self.name_pos[entries],
            name_len=self.name_len[entries],
            compressed_size=self.compressed_size[entries],
            size=self.size[entries],
            method=self.method[entries],
            crc=self.crc[entries],
            probe=probe,
            digest=digest,
            end=self.cd_start,
        )


def _read_directory(buffer: Any, archive: str, limits: Limits) -> _Directory:
    cd_start, cd_size, n_declared, shift = _find_end(buffer, archive)
    if n_declared > limits.max_zip_entries:
        raise _too_many_entries(archive, n_declared, limits)
    if n_declared == 0 and cd_size == 0:
        raise DatasetError(f"{archive!r} is an empty zip; it holds no images.", kind="no_images")
    positions = _record_positions(buffer, cd_start, cd_size, archive, limits)
    if len(positions) > limits.max_zip_entries:
        raise _too_many_entries(archive, len(positions), limits)
    directory = _parse_records(buffer, cd_start, cd_size, positions, shift, archive)
    _check_overlaps(directory)
    total = sum(directory.size.tolist())
    if total > limits.max_total_uncompressed:
        raise limit_error(
            f"{archive!r} declares {total:,} bytes uncompressed in total",
            "max_total_uncompressed",
            limits.max_total_uncompressed,
        )
    deepest = int(np.argmax(directory.depth))
    if directory.depth[deepest] > limits.max_path_depth:
        raise limit_error(
            f"{archive!r} has an entry {directory.depth[deepest]} folders deep "
            f"({directory.name(deepest)!r})",
            "max_path_depth",
            limits.max_path_depth,
        )
    return directory


def _find_end(buffer: Any, archive: str) -> tuple[int, int, int, int]:
    """Locate the central directory: (start, size, entries declared, prefix shift)."""
    size = len(buffer)
    view = memoryview(buffer)
    tail_start = max(0, size - _EOCD.size - 0xFFFF)
    tail = bytes(view[tail_start:size])
    pos = tail.rfind(b"PK\x05\x06")
    while pos >= 0 and pos + _EOCD.size > len(tail):
        pos = tail.rfind(b"PK\x05\x06", 0, pos)
    if pos < 0:
        raise _not_a_zip(buffer, archive)
    eocd = tail_start + pos
    _, disk, cd_disk, n_disk, n_total, cd_size, cd_offset, _ = _EOCD.unpack_from(tail, pos)
    end = eocd
    locator = eocd - _EOCD64_LOCATOR.size
    if locator >= 0 and bytes(view[locator : locator + 4]) == b"PK\x06\x07":
        _, _, _, disks = _EOCD64_LOCATOR.unpack_from(buffer, locator)
        record = locator - _EOCD64.size
        if record < 0 or bytes(view[record : record + 4]) != b"PK\x06\x06":
            raise _corrupt(archive, "its zip64 end record is missing")
        (_, _, _, _, disk, cd_disk, n_disk, n_total, cd_size, cd_offset) = _EOCD64.unpack_from(
            buffer, record
        )
        disk = disk or int(disks > 1)
        end = record
    if disk != 0 or cd_disk != 0 or n_disk != n_total:
        raise DatasetError(
            f"{archive!r} is one part of a split (multi-part) zip; join the parts into one "
            "zip first.",
            kind="corrupt_zip",
        )
    # Bytes prepended to the archive (self-extracting zips) shift every offset.
    shift = end - cd_size - cd_offset
    if shift < 0:
        raise _corrupt(archive, "its central directory lies outside the file")
    return cd_offset + shift, cd_size, n_total, shift


def _not_a_zip(buffer: Any, archive: str) -> DatasetError:
    head = bytes(memoryview(buffer)[:512])
    if not head:
        return DatasetError(f"{archive!r} is empty (0 bytes); upload a zip.", kind="not_a_zip")
    kinds = (
        (head.startswith(b"Rar!\x1a\x07"), "a RAR archive"),
        (head.startswith(b"7z\xbc\xaf\x27\x1c"), "a 7-Zip archive"),
        (head.startswith(b"\x1f\x8b"), "a gzip file (.gz or .tar.gz)"),
        (head.startswith(b"BZh"), "a bzip2 file"),
        (head.startswith(b"\xfd7zXZ\x00"), "an xz file"),
        (head[257:262] == b"ustar", "a tar archive"),
    )
    for matched, what in kinds:
        if matched:
            return DatasetError(
                f"{archive!r} is {what}, not a zip; pack the image folders as a .zip "
                "(for example: zip -r data.zip data/).",
                kind="not_a_zip",
            )
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")):
        return _corrupt(
            archive, "it is cut short: its central directory, the index at its end, is missing"
        )
    return DatasetError(
        f"{archive!r} is not a zip archive (it starts with {head[:8]!r}); upload a .zip of "
        "image folders.",
        kind="not_a_zip",
    )


def _corrupt(archive: str, why: str) -> DatasetError:
    return DatasetError(
        f"{archive!r} is a damaged zip ({why}); download or copy it again.", kind="corrupt_zip"
    )


def _too_many_entries(archive: str, count: int, limits: Limits) -> DatasetError:
    return limit_error(
        f"{archive!r} lists {count:,} entries", "max_zip_entries", limits.max_zip_entries
    )


def _u16(cd: np.ndarray, at: np.ndarray, field: int) -> np.ndarray:
    return cd[at + field].astype(np.int64) | (cd[at + field + 1].astype(np.int64) << 8)


def _u32(cd: np.ndarray, at: np.ndarray, field: int) -> np.ndarray:
    return _u16(cd, at, field) | (_u16(cd, at, field + 2) << 16)


def _record_positions(
    buffer: Any, cd_start: int, cd_size: int, archive: str, limits: Limits
) -> np.ndarray:
    """Where each central-directory record starts, relative to the directory."""
    if cd_size < 46 or cd_start + cd_size > len(buffer):
        raise _corrupt(archive, "its central directory is cut short")
    cd = np.frombuffer(buffer, dtype=np.uint8, count=cd_size, offset=cd_start)
    # Fast path: record signatures found by a vectorised scan, accepted only if
    # the records chain exactly from the first byte to the last, so that no
    # signature found inside a name can slip in.
    found = np.flatnonzero(cd[: cd_size - 45] == 0x50)
    found = found[(cd[found + 1] == 0x4B) & (cd[found + 2] == 1) & (cd[found + 3] == 2)]
    if len(found) and found[0] == 0:
        following = found + 46 + _u16(cd, found, 28) + _u16(cd, found, 30) + _u16(cd, found, 32)
        if np.array_equal(following[:-1], found[1:]) and following[-1] == cd_size:
            return found
    positions = []
    position = 0
    view = memoryview(buffer)
    while position < cd_size:
        start = cd_start + position
        if position + 46 > cd_size or bytes(view[start : start + 4]) != b"PK\x01\x02":
            raise _corrupt(archive, "its central directory is damaged")
        positions.append(position)
        if len(positions) > limits.max_zip_entries:
            raise _too_many_entries(archive, len(positions), limits)
        name_len, extra_len, comment_len = struct.unpack_from("<3H", buffer, start + 28)
        position += 46 + name_len + extra_len + comment_len
    if position != cd_size:
        raise _corrupt(archive, "its central directory is damaged")
    return np.array(positions, dtype=np.int64)


def _parse_records(
    buffer: Any, cd_start: int, cd_size: int, at: np.ndarray, shift: int, archive: str
) -> _Directory:
    cd = np.frombuffer(buffer, dtype=np.uint8, count=cd_size, offset=cd_start)
    name_len = _u16(cd, at, 28)
    extra_len = _u16(cd, at, 30)
    compressed = _u32(cd, at, 20)
    size = _u32(cd, at, 24)
    offset = _u32(cd, at, 42)
    for index in np.flatnonzero((compressed == _MAX32) | (size == _MAX32) | (offset == _MAX32)):
        start = int(at[index] + 46 + name_len[index])
        extra = cd[start : start + int(extra_len[index])].tobytes()
        _apply_zip64(extra, int(index), (size, compressed, offset), archive)
    # Name bytes, gathered through a running mask (names never overlap).
    delta = np.zeros(cd_size + 1, dtype=np.int8)
    delta[at + 46] += 1
    delta[at + 46 + name_len] -= 1
    data = cd[np.cumsum(delta[:-1], dtype=np.int8).astype(bool)]
    bounds = np.zeros(len(at) + 1, dtype=np.int64)
    np.cumsum(name_len, out=bounds[1:])
    if bounds[-1] >= 2**31:
        raise _corrupt(archive, "its entry names take more than 2 GiB")
    fallback: list[int] = []
    if len(data) == 0 or int(data.max()) < 0x80:
        names = pa.StringArray.from_buffers(
            len(at), pa.py_buffer(bounds.astype(np.int32)), pa.py_buffer(data)
        )
    else:
        raw = data.tobytes()
        decoded = []
        for index in range(len(at)):
            piece = raw[bounds[index] : bounds[index + 1]]
            try:
                decoded.append(piece.decode("utf-8"))
            except UnicodeDecodeError:
                decoded.append(piece.decode("cp437"))
                fallback.append(index)
        names = pa.array(decoded, pa.string())
    names = _windows_separators(names, _u16(cd, at, 4) >> 8)
    return _Directory(
        archive=archive,
        names=names,
        depth=pc.count_substring(names, "/").to_numpy(),
        name_pos=cd_start + at + 46,
        name_len=name_len,
        flags=_u16(cd, at, 8),
        method=_u16(cd, at, 10),
        crc=_u32(cd, at, 16),
        compressed_size=compressed,
        size=size,
        offset=offset + shift,
        mode=_u16(cd, at, 40),
        cd_start=cd_start,
        fallback=np.array(fallback, dtype=np.int64),
    )


# "Version made by" hosts (APPNOTE 4.4.2): MS-DOS/FAT, Windows NTFS, VFAT.
WINDOWS_HOSTS = (0, 10, 14)


def _windows_separators(names: pa.Array, hosts: np.ndarray) -> pa.Array:
    """Names of a zip made on Windows with ``\\`` as the folder separator
    (PowerShell's Compress-Archive writes ``cats\\0.png``), with ``/`` instead.

    Only when every entry says it was made on Windows and no name uses ``/``: then
    ``\\`` can only be a separator. The names then go through the same safety
    checks as any other (``..\\x`` becomes ``../x`` and is refused)."""
    if len(names) == 0 or not np.isin(hosts, WINDOWS_HOSTS).all():
        return names
    if pc.any(pc.match_substring(names, "/")).as_py():
        return names
    if not pc.any(pc.match_substring(names, "\\")).as_py():
        return names
    return pc.replace_substring(names, "\\", "/")


def _apply_zip64(extra: bytes, index: int, fields: Sequence[np.ndarray], archive: str) -> None:
    """Fill in the 64-bit sizes and offset of one entry from its zip64 extra field."""
    position = 0
    while position + 4 <= len(extra):
        tag, length = struct.unpack_from("<HH", extra, position)
        if tag == 1:
            body = extra[position + 4 : position + 4 + length]
            read = 0
            for field in fields:  # the order the format defines
                if field[index] == _MAX32:
                    if read + 8 > len(body):
                        break
                    (value,) = struct.unpack_from("<Q", body, read)
                    if value >= 2**62:
                        raise _corrupt(archive, "an entry declares an impossible size")
                    field[index] = value
                    read += 8
            else:
                return
            break
        position += 4 + length
    raise _corrupt(archive, "an entry's zip64 sizes are missing")


def _check_overlaps(directory: _Directory) -> None:
    """Entries must not share bytes: the "overlapping" zip bomb points many
    central-directory records at the same (or nested) local data."""
    start = directory.offset
    end = start + 30 + directory.name_len + directory.compressed_size
    order = np.argsort(start, kind="stable")
    overlapping = np.flatnonzero(start[order][1:] < end[order][:-1])
    if len(overlapping):
        first, second = order[overlapping[0]], order[overlapping[0] + 1]
        raise DatasetError(
            f"{directory.archive!r} has entries that share bytes "
            f"({directory.name(first)!r} and {directory.name(second)!r}), the trick of "
            "overlapping zip bombs; it was not read.",
            kind="zip_bomb",
        )
    last = int(np.argmax(end))
    if end[last] > directory.cd_start:
        raise _corrupt(
            directory.archive,
            f"entry {directory.name(last)!r} runs into the central directory",
        )


# --------------------------------------------------------------------------- entries


@dataclass(frozen=True)
class _Entries:
    """What each entry is, from its name and central-directory record."""

    category: np.ndarray  # _DIR, _UNSAFE, ...
    unsafe: np.ndarray  # index into _UNSAFE_REASONS, or -1
    too_big: np.ndarray  # 0 = declared size, 1 = compression ratio, or -1
    image_name: np.ndarray  # the name has an image extension


def _matches(names: pa.Array, pattern: str, *, ignore_case: bool = False) -> np.ndarray:
    found = pc.match_substring_regex(names, pattern, ignore_case=ignore_case)
    return found.to_numpy(zero_copy_only=False)


def _classify(directory: _Directory, limits: Limits) -> _Entries:
    names = directory.names
    count = len(names)
    is_dir = pc.ends_with(names, "/").to_numpy(zero_copy_only=False)
    image_name = _matches(names, _IMAGE_PATTERN, ignore_case=True)
    # One pass for all name checks; the reasons are told apart only if one matched.
    suspicious = np.flatnonzero(_matches(names, _ANY_NAME_PATTERN))
    checks = {}
    for key, pattern in _NAME_PATTERNS.items():
        checks[key] = np.zeros(count, dtype=bool)
        if len(suspicious):
            checks[key][suspicious] = _matches(names.take(pa.array(suspicious)), pattern)
    checks["symlink"] = (directory.mode & _S_IFMT) == _S_IFLNK
    checks["encrypted"] = ((directory.flags & 1) == 1) & ~is_dir
    checks["method"] = ~np.isin(directory.method, list(SUPPORTED_METHODS)) & ~is_dir
    # Archive and metadata names are looked for among the few non-images only.
    others = np.flatnonzero(~image_name & ~is_dir)
    other_names = names.take(pa.array(others, pa.int64()))
    checks["archive"] = np.zeros(count, dtype=bool)
    checks["archive"][others] = _matches(other_names, _ARCHIVE_PATTERN, ignore_case=True)
    metadata = np.zeros(count, dtype=bool)
    metadata[others] = _matches(other_names, _METADATA_PATTERN, ignore_case=True)
    metadata &= directory.depth <= 1
    unsafe = np.full(count, -1, dtype=np.int64)
    for code, key in enumerate(_UNSAFE_REASONS):
        unsafe[(unsafe < 0) & checks[key]] = code
    category = np.full(count, _OTHER, dtype=np.int8)
    category[is_dir] = _DIR
    category[unsafe >= 0] = _UNSAFE
    rest = category == _OTHER
    junk = _matches(names, _JUNK_PATTERN, ignore_case=True)
    category[rest & junk] = _JUNK
    readable = rest & ~junk & (image_name | metadata)
    size, compressed = directory.size, directory.compressed_size
    ratio = (size > RATIO_FLOOR) & (size > compressed * limits.max_compression_ratio)
    too_big = np.where(size > limits.max_entry_uncompressed, 0, np.where(ratio, 1, -1))
    too_big[~readable] = -1
    category[too_big >= 0] = _TOO_BIG
    category[readable & (too_big < 0) & image_name] = _IMAGE
    category[readable & (too_big < 0) & ~image_name] = _METADATA
    return _Entries(category=category, unsafe=unsafe, too_big=too_big, image_name=image_name)


def _entry_findings(directory: _Directory, entries: _Entries, limits: Limits) -> list[Finding]:
    findings = []
    for code, (singular, plural) in enumerate(_UNSAFE_REASONS.values()):
        chosen = np.flatnonzero(entries.unsafe == code)
        if len(chosen):
            names = _entry_names(directory, chosen)
            findings.append(
                Finding(
                    kind=FindingKind.UNSAFE_ENTRY,
                    severity=Severity.WARNING,
                    count=len(names),
                    message=_say(
                        "{n} {reason} {first}; unsafe entries are never read.",
                        len(names),
                        "entry",
                        names[0],
                        reason=singular if len(names) == 1 else plural,
                    ),
                    entries=names,
                )
            )
    for code, (what, limit, value) in enumerate(
        (
            ("bytes uncompressed", "max_entry_uncompressed", limits.max_entry_uncompressed),
            ("as compression ratio", "max_compression_ratio", limits.max_compression_ratio),
        )
    ):
        chosen = np.flatnonzero(entries.too_big == code)
        if len(chosen):
            names = _entry_names(directory, chosen)
            findings.append(
                Finding(
                    kind=FindingKind.LIMIT_HIT,
                    severity=Severity.WARNING,
                    count=len(names),
                    message=_say(
                        "{n} declare{s} more than {value:,} {what} {first} and {was} skipped; "
                        "if you trust the file, raise Limits({limit}=...) or --limit {limit}=N.",
                        len(names),
                        "file",
                        names[0],
                        value=value,
                        what=what,
                        limit=limit,
                    ),
                    entries=names,
                )
            )
    junk = np.flatnonzero(entries.category == _JUNK)
    if len(junk):
        names = _entry_names(directory, junk)
        findings.append(
            Finding(
                kind=FindingKind.SKIPPED_JUNK,
                severity=Severity.INFO,
                count=len(names),
                message=_say(
                    "{n} {was} skipped {first}; {it} {is} not part of the dataset.",
                    len(names),
                    "macOS, Windows or hidden file",
                    names[0],
                ),
                entries=names,
            )
        )
    if len(directory.fallback):
        names = _entry_names(directory, directory.fallback)
        findings.append(
            Finding(
                kind=FindingKind.ENCODING_FALLBACK,
                severity=Severity.INFO,
                count=len(names),
                message=_say(
                    "{n} {is} not valid UTF-8 and {was} read as cp437 {first}; check that "
                    "the labels look right.",
                    len(names),
                    "entry name",
                    names[0],
                ),
                entries=names,
            )
        )
    return findings


def _no_images(directory: _Directory, entries: _Entries) -> DatasetError:
    archive = directory.archive
    skipped = np.flatnonzero(entries.image_name & np.isin(entries.category, (_UNSAFE, _TOO_BIG)))
    if len(skipped):
        first = int(skipped[0])
        if entries.category[first] == _UNSAFE:
            why = list(_UNSAFE_REASONS.values())[entries.unsafe[first]][0]
        else:
            why = "is too large to read safely"
        return DatasetError(
            f"{archive!r} has no image that can be read: "
            + _say("{n} {was} skipped {first}, ", len(skipped), "image", directory.name(first))
            + f"which {why}.",
            kind="no_images",
        )
    others = np.flatnonzero(np.isin(entries.category, (_OTHER, _METADATA)))
    if len(others):
        return DatasetError(
            f"{archive!r} holds no images ({', '.join(sorted(IMAGE_EXTENSIONS))}); it has "
            + _say("{n} {first}.", len(others), "other file", directory.name(others[0])),
            kind="no_images",
        )
    archive_code = list(_UNSAFE_REASONS).index("archive")
    nested = np.flatnonzero(entries.unsafe == archive_code)
    if len(nested):
        return DatasetError(
            f"{archive!r} holds no images, only "
            + _say("{n} {first}", len(nested), "archive", directory.name(nested[0]))
            + ", which Seesaw does not open; unpack them and zip the image folders "
            "themselves.",
            kind="no_images",
        )
    unsafe = np.flatnonzero(entries.unsafe >= 0)
    if len(unsafe):
        first = int(unsafe[0])
        why = list(_UNSAFE_REASONS.values())[entries.unsafe[first]][0]
        return DatasetError(
            f"{archive!r} has no file that can be read: "
            + _say("{n} {was} skipped {first}, ", len(unsafe), "entry", directory.name(first))
            + f"which {why}.",
            kind="no_images",
        )
    return DatasetError(
        f"{archive!r} holds no images, only folders and macOS, Windows or hidden files.",
        kind="no_images",
    )


def _case_collisions(image_names: pa.Array) -> list[Finding]:
    """Images whose paths differ only in case (``Cats/1.png``, ``cats/1.png``): two
    files here, one file once unpacked on Windows or macOS (case-insensitive)."""
    distinct = pc.unique(image_names)
    folded = pc.utf8_lower(distinct)
    if len(pc.unique(folded)) == len(distinct):
        return []
    table = pa.table({"name": distinct, "folded": folded})
    counts = table.group_by("folded").aggregate([("name", "count")])
    clashing = counts.filter(pc.greater(counts.column("name_count"), 1)).column("folded")
    names = table.filter(pc.is_in(table.column("folded"), clashing)).sort_by(
        [("folded", "ascending"), ("name", "ascending")]
    )
    listed = tuple(names.column("name").to_pylist())
    return [
        Finding(
            kind=FindingKind.DUPLICATE_PATH,
            severity=Severity.WARNING,
            count=len(listed),
            message=_say(
                "{n} {has} a path that differs from another only in case {first}; "
                "unpacked on Windows or macOS they overwrite each other, so rename them.",
                len(listed),
                "image",
                listed[0],
            ),
            entries=listed,
        )
    ]


def _non_image_finding(
    directory: _Directory, entries: _Entries, metadata: int | None
) -> list[Finding]:
    others = np.isin(entries.category, (_OTHER, _METADATA))
    if metadata is not None:
        others[metadata] = False
    chosen = np.flatnonzero(others)
    if not len(chosen):
        return []
    names = _entry_names(directory, chosen)
    return [
        Finding(
            kind=FindingKind.NON_IMAGE,
            severity=Severity.INFO,
            count=len(names),
            message=_say(
                "{n} {is} not {image} {first}; {it} {is} left out of the counts.",
                len(names),
                "file",
                names[0],
                image="an image" if len(names) == 1 else "images",
            ),
            entries=names,
        )
    ]


# --------------------------------------------------------------------------- layout


@dataclass(frozen=True)
class _Layout:
    """Labels and splits that the folders give, one element per image."""

    top: str | None  # the most common first folder of the images
    wrapper: str | None  # the folder holding the layout, if any
    has_splits: bool
    label: pa.Array
    split: pa.Array | None
    status: np.ndarray  # _FITS, _DEEPER, _NO_CLASS, _OUTSIDE


_FITS, _DEEPER, _NO_CLASS, _OUTSIDE = range(4)
_NULL = pa.scalar(None, pa.string())


def _folder_layout(names: pa.Array) -> _Layout:
    folders = pc.count_substring(names, "/").to_numpy()
    # Padding gives every name at least four parts, so that list_element never fails.
    parts = pc.split_pattern(pc.binary_join_element_wise(names, "///", ""), "/", max_splits=3)
    component = [pc.list_element(parts, k) for k in range(3)]
    splits = pa.array(sorted(SPLIT_FOLDERS))
    is_split = [
        pc.is_in(pc.utf8_lower(component[k]), value_set=splits).to_numpy(zero_copy_only=False)
        for k in range(2)
    ]
    top = None
    nested = pa.array(folders >= 1)
    if pc.any(nested).as_py():
        counts = pc.value_counts(component[0].filter(nested)).to_pylist()
        top = min(counts, key=lambda c: (-c["counts"], c["values"]))["values"]
    options = [_fit(component, is_split, folders, 0, None)]
    if top is not None and top.lower() not in SPLIT_FOLDERS:
        under = (folders >= 1) & pc.equal(component[0], top).to_numpy(zero_copy_only=False)
        options.append(_fit(component, is_split, folders, 1, under))
    best = max(options, key=lambda option: option[0])
    wrapper = top if best is not options[0] else None
    _, has_splits, label, split, status = best
    return _Layout(
        top=top, wrapper=wrapper, has_splits=has_splits, label=label, split=split, status=status
    )


def _fit(
    component: list[pa.Array],
    is_split: list[np.ndarray],
    folders: np.ndarray,
    root: int,
    under: np.ndarray | None,
) -> tuple[tuple[int, int], bool, pa.Array, pa.Array | None, np.ndarray]:
    """Labels if the layout starts ``root`` folders down; scored by (images that fit
    exactly, number of classes)."""
    depth = folders - root
    inside = np.ones(len(folders), dtype=bool) if under is None else under
    split_first = is_split[root] & inside & (depth >= 1)
    has_splits = bool(np.any(split_first & (depth >= 2)))
    if not has_splits:
        split_first = np.zeros(len(folders), dtype=bool)
    in_class = inside & (depth >= 1) & ~split_first
    in_split_class = split_first & (depth >= 2)
    status = np.full(len(folders), _FITS, dtype=np.int8)
    status[(in_class & (depth > 1)) | (in_split_class & (depth > 2))] = _DEEPER
    status[inside & ~in_class & ~in_split_class] = _NO_CLASS
    status[~inside] = _OUTSIDE
    label = pc.if_else(
        pa.array(in_class),
        component[root],
        pc.if_else(pa.array(in_split_class), component[root + 1], _NULL),
    )
    split = pc.if_else(pa.array(split_first), component[root], _NULL) if has_splits else None
    fits = int(np.count_nonzero(status == _FITS))
    score = (fits, pc.count_distinct(label).as_py())
    return score, has_splits, label, split, status


def _pick_metadata(directory: _Directory, entries: _Entries, top: str | None) -> int | None:
    """The metadata file to use: at the top, or in the folder holding the images."""
    best: tuple[int, int, str, int] | None = None
    for index in np.flatnonzero(entries.category == _METADATA).tolist():
        name = directory.name(index)
        folder, _, base = name.rpartition("/")
        if folder and folder != top:
            continue
        key = (int(bool(folder)), METADATA_FILES.index(base.lower()), name, index)
        best = key if best is None or key < best else best
    return None if best is None else best[3]


# --------------------------------------------------------------------------- rows


@dataclass(frozen=True)
class _Rows:
    """The rows of the result, sorted by path: which entry each row is, and the
    columns that do not come from the central directory or the probe."""

    entry: np.ndarray
    columns: dict[str, pa.Array]
    roles: ColumnRoles


def _row_finding(
    kind: FindingKind,
    severity: Severity,
    rows: np.ndarray,
    paths: pa.Array,
    template: str,
    **values: Any,
) -> Finding:
    """A finding about ``rows`` (positions in ``paths``), worded by :func:`_say`."""
    count = len(rows)
    first = paths[int(rows[0])].as_py()
    return Finding(
        kind=kind,
        severity=severity,
        count=count,
        message=_say(template, count, "image", first, **values),
        rows=rows.astype(np.int64),
    )


def _layout_findings(status: np.ndarray, paths: pa.Array, wrapper: str | None) -> list[Finding]:
    texts = {
        _NO_CLASS: (
            FindingKind.MISSING_LABEL,
            Severity.WARNING,
            "{n} {is} not inside a class folder {first}; {it} {has} no label.",
        ),
        _OUTSIDE: (
            FindingKind.MISSING_LABEL,
            Severity.WARNING,
            "{n} {is} outside the folder {wrapper!r} that holds the class folders {first}; "
            "{it} {has} no label.",
        ),
        _DEEPER: (
            FindingKind.LIMIT_HIT,
            Severity.INFO,
            "{n} sit{s} in sub-folders of {its} class folder {first}; {it} count{s} in that "
            "class, as torchvision's ImageFolder counts {them}.",
        ),
    }
    findings = []
    for code, (kind, severity, template) in texts.items():
        chosen = np.flatnonzero(status == code)
        if len(chosen):
            them = "it" if len(chosen) == 1 else "them"
            findings.append(
                _row_finding(kind, severity, chosen, paths, template, wrapper=wrapper, them=them)
            )
    return findings


def _check_rows_have_labels(directory: _Directory, rows: _Rows) -> None:
    """Refuse a zip none of whose images has a label: there is nothing to count."""
    labels = rows.columns["label"]
    if labels.null_count < len(labels):
        return
    first = directory.name(int(rows.entry[0]))
    raise DatasetError(
        f"{directory.archive!r} has "
        + _say("{n} but none in a class folder {first}; ", len(labels), "image", first)
        + "put each class's images in a folder named after the class (cats/1.jpg, "
        "dogs/2.jpg).",
        kind="no_label_column",
    )


def _rows_from_folders(
    images: np.ndarray, image_names: pa.Array, layout: _Layout, findings: list[Finding]
) -> _Rows:
    order = pc.sort_indices(image_names).to_numpy()
    taken = pa.array(order)
    paths = image_names.take(taken)
    columns = {"label": layout.label.take(taken)}
    where = f" inside the wrapper folder {layout.wrapper!r}" if layout.wrapper else ""
    reasons = {
        "label": f"the name of each image's class folder{where}",
        "path": "the name of each image inside the zip",
    }
    if layout.has_splits:
        columns["split"] = layout.split.take(taken)
        reasons["split"] = "the split folder (train, val, test, ...) above each class folder"
    findings += _layout_findings(layout.status[order], paths, layout.wrapper)
    roles = ColumnRoles(
        label="label",
        path="path",
        split="split" if layout.has_splits else None,
        reasons=reasons,
    )
    return _Rows(entry=images[order], columns=columns, roles=roles)


def _read_whole(buffer: Any, directory: _Directory, entry: int) -> bytes:
    """An entry's bytes, checked against its declared size and CRC-32."""
    start = data_start(
        buffer,
        int(directory.offset[entry]),
        int(directory.name_pos[entry]),
        int(directory.name_len[entry]),
        directory.cd_start,
    )
    size = int(directory.size[entry])
    data = read_entry(
        buffer,
        start,
        int(directory.compressed_size[entry]),
        int(directory.method[entry]),
        size + 1,
        directory.cd_start,
    )
    if len(data) != size:
        raise EntryError(f"holds {len(data):,} bytes, not the {size:,} its header declares")
    if zlib.crc32(data) != int(directory.crc[entry]):
        raise EntryError("fails its CRC-32 check (the bytes are damaged)")
    return data


def _read_metadata(
    buffer: Any,
    directory: _Directory,
    entry: int,
    limits: Limits,
    roles_given: dict[str, str | None],
    *,
    n_images: int,
) -> Dataset:
    name = directory.name(entry)
    declared = int(directory.size[entry])
    allowed = METADATA_BASE_BYTES + METADATA_BYTES_PER_IMAGE * n_images
    if declared > allowed:
        # A labels file describes the zip's images: millions of rows for a handful
        # of images is a bomb, refused before a byte of it is decompressed.
        raise DatasetError(
            f"{name!r} inside {directory.archive!r} declares {declared:,} bytes, far more "
            f"than a labels file for {n_images:,} image{'s' * (n_images != 1)} needs "
            f"(at most {allowed:,}); upload the labels file on its own, or zip it with "
            "the images it lists.",
            kind="metadata_too_large",
        )
    try:
        data = _read_whole(buffer, directory, entry)
    except EntryError as error:
        raise DatasetError(
            f"{name!r} inside {directory.archive!r} cannot be read: it {error}.",
            kind="corrupt_zip",
        ) from None
    try:
        table = read_table(data, name=name.rpartition("/")[2], limits=limits, **roles_given)
    except DatasetError as error:
        raise DatasetError(f"In {name!r} inside the zip: {error}", kind=error.kind) from error
    if table.roles.path is None:
        raise DatasetError(
            f"{name!r} inside the zip has no column of file names (its columns: "
            f"{', '.join(map(repr, table.raw.column_names))}); name it with path_col=... "
            "or --path-col.",
            kind="no_path_column",
        )
    return table


def _file_matcher(image_names: list[str], folder: str) -> Callable[[str | None], int]:
    """Find a metadata file name among the images: relative to the metadata's folder,
    as written, or by base name (with or without extension) when that is unique."""
    exact = {name: index for index, name in enumerate(image_names)}
    by_base: dict[str, int] = {}
    by_stem: dict[str, int] = {}
    for index, name in enumerate(image_names):
        base = name.rpartition("/")[2]
        stem = base.rpartition(".")[0] or base
        by_base[base] = -1 if base in by_base else index
        by_stem[stem] = -1 if stem in by_stem else index

    def match(value: str | None) -> int:
        if value is None:
            return -1
        value = value.strip().replace("\\", "/")
        while value.startswith("./"):
            value = value[2:]
        value = value.lstrip("/")
        for candidate in (folder + value, value):
            if candidate in exact:
                return exact[candidate]
        base = value.rpartition("/")[2]
        found = by_base.get(base, -1)
        if found < 0 and base.rpartition(".")[2].lower() not in IMAGE_EXTENSIONS:
            found = by_stem.get(base, -1)
        return found

    return match


def _rows_from_metadata(
    images: np.ndarray,
    image_names: pa.Array,
    layout: _Layout,
    meta_name: str,
    meta: Dataset,
    findings: list[Finding],
) -> _Rows:
    raw, roles = meta.raw, meta.roles
    folder = meta_name.rpartition("/")[0]
    folder = folder + "/" if folder else ""
    values = raw.column(roles.path).cast(pa.string()).to_pylist()
    match = _file_matcher(image_names.to_pylist(), folder)
    matched = np.fromiter((match(value) for value in values), dtype=np.int64, count=len(values))
    listed = np.flatnonzero(matched >= 0)
    missing = np.flatnonzero(matched < 0)
    base = meta_name.rpartition("/")[2]
    if not len(listed):
        first = next((v for v in values if v is not None), None)
        raise DatasetError(
            f"None of the {len(values):,} files that {meta_name!r} lists in column "
            f"{roles.path!r} is an image of the zip (first: {first!r}); pick the column of "
            "file names with path_col=... or --path-col.",
            kind="missing_files",
        )
    unlisted = np.setdiff1d(np.arange(len(images)), matched[listed])
    row_image = np.concatenate([matched[listed], unlisted])
    row_meta = np.concatenate([listed, np.full(len(unlisted), -1, dtype=np.int64)])
    order = pc.sort_indices(image_names.take(pa.array(row_image))).to_numpy()
    row_image, row_meta = row_image[order], row_meta[order]
    paths = image_names.take(pa.array(row_image))
    taken = raw.take(pa.array(row_meta, mask=row_meta < 0))
    columns: dict[str, pa.Array] = {"label": taken.column(roles.label).combine_chunks()}
    reasons = {
        "label": f"column {roles.label!r} of {base!r} inside the zip",
        "path": f"images matched to column {roles.path!r} of {base!r}",
    }
    split = None
    if roles.split is not None:
        columns["split"] = taken.column(roles.split).combine_chunks()
        split = "split"
        reasons["split"] = f"column {roles.split!r} of {base!r}"
    elif layout.has_splits:
        columns["split"] = layout.split.take(pa.array(row_image))
        split = "split"
        reasons["split"] = "the split folder (train, val, test, ...) of each image"
    renamed: dict[str, str] = {}
    for column in raw.column_names:
        if column in (roles.label, roles.split):
            continue
        out = column
        while out in OWN_COLUMNS or out in columns:
            out += "_metadata"
        renamed[column] = out
        columns[out] = taken.column(column).combine_chunks()
    for role in ("label", "path", "split"):
        if role in reasons and role in roles.guessed and roles.reasons.get(role):
            reasons[role] += f" ({roles.reasons[role]})"
    group = renamed.get(roles.group) if roles.group is not None else None
    if group is not None:
        reasons["group"] = f"column {roles.group!r} of {base!r}"
        if "group" in roles.guessed and roles.reasons.get("group"):
            reasons["group"] += f" ({roles.reasons['group']})"
    if len(missing):
        shown = tuple("" if values[i] is None else values[i] for i in missing.tolist())
        findings.append(
            Finding(
                kind=FindingKind.MISSING_FILE,
                severity=Severity.WARNING,
                count=len(shown),
                message=_say(
                    "{n} listed in {base!r} {is} not {image} in the zip {first}; {its} "
                    "{row} left out.",
                    len(shown),
                    "file",
                    shown[0],
                    base=base,
                    image="an image" if len(shown) == 1 else "images",
                    row="row is" if len(shown) == 1 else "rows are",
                ),
                entries=shown,
            )
        )
    not_listed = np.flatnonzero(row_meta < 0)
    if len(not_listed):
        findings.append(
            _row_finding(
                FindingKind.MISSING_LABEL,
                Severity.WARNING,
                not_listed,
                paths,
                "{n} {is} not listed in {base!r} {first}; {it} {has} no label.",
                base=base,
            )
        )
    # The metadata reader's own findings point at metadata rows: move them to ours.
    position = np.full(raw.num_rows, -1, dtype=np.int64)
    present = row_meta >= 0
    position[row_meta[present]] = np.flatnonzero(present)
    for finding in meta.findings:
        if len(finding.rows):
            moved = np.sort(position[finding.rows][position[finding.rows] >= 0])
            finding = replace(finding, rows=moved, count=len(moved))
        findings.append(finding)
    out_roles = ColumnRoles(
        label="label",
        path="path",
        split=split,
        group=group,
        guessed=tuple(role for role in roles.guessed if role in reasons),
        reasons=reasons,
    )
    return _Rows(entry=images[row_image], columns=columns, roles=out_roles)


# --------------------------------------------------------------------------- probe


def _probe_selection(
    rows: _Rows, row_unique: np.ndarray, probe: str, sample_size: int
) -> np.ndarray:
    """Positions among the unique entries of those whose headers to read."""
    if probe == "none":
        return np.empty(0, dtype=np.int64)
    if probe == "all":
        return np.arange(int(row_unique.max()) + 1 if len(row_unique) else 0)
    codes = pc.dictionary_encode(rows.columns["label"]).indices
    codes = pc.fill_null(codes, -1).to_numpy(zero_copy_only=False)
    chosen = []
    for code in np.unique(codes):
        members = np.flatnonzero(codes == code)  # in path order
        picks = np.linspace(0, len(members) - 1, min(sample_size, len(members))).round()
        chosen.append(row_unique[members[np.unique(picks.astype(np.int64))]])
    return np.unique(np.concatenate(chosen))


@dataclass(frozen=True)
class _Probed:
    """Header probe results per unique entry (None where not probed)."""

    status: np.ndarray  # -1 where not probed
    format: list[str | None]
    width: list[int | None]
    height: list[int | None]
    mode: list[str | None]
    reason: list[str | None]


def _inspect(
    buffer: Any,
    directory: _Directory,
    unique: np.ndarray,
    to_probe: np.ndarray,
    candidates: list[np.ndarray],
    limits: Limits,
    n_jobs: int | None,
    progress: Callable[[int, int], None] | None,
) -> tuple[_Probed, dict[int, bytes], dict[int, str]]:
    """Probe the chosen entries and hash the candidates for identical bytes, in one
    pass over the archive (in offset order)."""
    count = len(unique)
    probe = np.zeros(count, dtype=bool)
    probe[to_probe] = True
    digest = np.zeros(count, dtype=bool)
    if candidates:
        digest[np.searchsorted(unique, np.concatenate(candidates))] = True
    work = np.flatnonzero(probe | digest)
    work = work[np.argsort(directory.offset[unique[work]], kind="stable")]
    results = inspect_entries(
        buffer,
        directory.units(unique[work], probe[work], digest[work]),
        max_pixels=limits.max_image_pixels,
        n_jobs=n_jobs,
        progress=progress,
    )
    status = np.full(count, -1, dtype=np.int8)
    columns: list[list[Any]] = [[None] * count for _ in range(5)]
    digests: dict[int, bytes] = {}
    unreadable: dict[int, str] = {}
    for position, (result, sha, why) in zip(work.tolist(), results, strict=True):
        if result is not None:
            status[position] = result[0]
            for column, value in zip(columns, result[1:], strict=True):
                column[position] = value
        entry = int(unique[position])
        if sha is not None:
            digests[entry] = sha
        elif why is not None:
            unreadable[entry] = why
    return _Probed(status, *columns), digests, unreadable


# --------------------------------------------------------------------------- identical files


def _candidate_groups(directory: _Directory, unique: np.ndarray) -> list[list[int]]:
    """Entries sharing (size, CRC-32) with another: the only ones worth comparing."""
    if len(unique) < 2:
        return []
    size, crc = directory.size[unique], directory.crc[unique]
    order = np.lexsort((unique, crc, size))
    size, crc, ordered = size[order], crc[order], unique[order]
    starts = np.concatenate([[True], (size[1:] != size[:-1]) | (crc[1:] != crc[:-1])])
    group = np.cumsum(starts) - 1
    counts = np.bincount(group)
    keep = counts[group] >= 2
    if not keep.any():
        return []
    kept_group, kept = group[keep], ordered[keep].tolist()
    bounds = np.flatnonzero(np.concatenate([[True], kept_group[1:] != kept_group[:-1]]))
    bounds = [*bounds.tolist(), len(kept)]
    return [kept[a:b] for a, b in itertools.pairwise(bounds)]


# Decompressed bytes hashed to confirm identical files, at most this many (or 8x
# the archive): entries whose compressed bytes are identical are hashed once, so
# only a crafted archive (one content, many encodings) reaches it.
DIGEST_BUDGET = 256 * 1024**2


@dataclass(frozen=True)
class _StandIns:
    """Candidates for identical bytes, grouped by identical compressed bytes: one
    entry per group (its stand-in) is decompressed and hashed for all of them."""

    groups: list[list[int]]  # the stand-ins to hash (each list a candidate group)
    members: dict[int, list[int]]  # stand-in -> entries with the same compressed bytes

    def share(self, digests: dict[int, bytes], unreadable: dict[int, str]) -> None:
        """Give every member its stand-in's digest (or reason it is unreadable)."""
        for stand_in, members in self.members.items():
            for member in members:
                if stand_in in digests:
                    digests[member] = digests[stand_in]
                elif stand_in in unreadable:
                    unreadable[member] = unreadable[stand_in]


def _raw_stand_ins(
    buffer: Any, directory: _Directory, candidates: Sequence[Sequence[int]]
) -> _StandIns:
    """Group each candidate group by the SHA-256 of its compressed bytes (same
    method): equal compressed bytes decompress to equal bytes, so a zip of 50,000
    copies of one entry is decompressed once instead of 50,000 times. Hashing the
    compressed bytes costs at most the archive's size; decompressing the stand-ins
    at most :data:`DIGEST_BUDGET` (or 8x the archive), beyond which candidates are
    left unconfirmed (never reported as duplicates)."""
    budget = max(DIGEST_BUDGET, 8 * len(buffer))
    view = memoryview(buffer)
    groups: list[list[int]] = []
    members: dict[int, list[int]] = {}
    for group in candidates:
        by_raw: dict[tuple[int, bytes], list[int]] = {}
        for entry in map(int, group):
            try:
                start = data_start(
                    buffer,
                    int(directory.offset[entry]),
                    int(directory.name_pos[entry]),
                    int(directory.name_len[entry]),
                    directory.cd_start,
                )
            except EntryError:
                by_raw[(-1, entry.to_bytes(8, "little"))] = [entry]  # hashed alone
                continue
            stop = start + int(directory.compressed_size[entry])
            if stop > directory.cd_start:
                by_raw[(-1, entry.to_bytes(8, "little"))] = [entry]
                continue
            key = (int(directory.method[entry]), hashlib.sha256(view[start:stop]).digest())
            by_raw.setdefault(key, []).append(entry)
        stand_ins = [same[0] for same in by_raw.values()]
        cost = int(directory.size[stand_ins].sum())
        if cost > budget:
            continue
        budget -= cost
        groups.append(stand_ins)
        for same in by_raw.values():
            members[same[0]] = same[1:]
    return _StandIns(groups=groups, members=members)


def _confirm_identical(
    groups: Sequence[Sequence[int]], digests: Mapping[int, bytes]
) -> list[list[int]]:
    """Split candidate groups into groups of entries whose bytes are identical.

    Parameters
    ----------
    groups : sequence of sequences of int
        Entries sharing size and CRC-32, which does not prove equal bytes: real
        PNG files of equal length often share their CRC-32.
    digests : mapping
        Entry -> SHA-256 of its bytes; entries missing here (unreadable) are left
        out of every group.

    Returns
    -------
    list of list of int
        Groups of two or more entries with identical bytes.
    """
    confirmed: list[list[int]] = []
    for group in groups:
        by_digest: dict[bytes, list[int]] = {}
        for entry in map(int, group):
            if entry in digests:
                by_digest.setdefault(digests[entry], []).append(entry)
        confirmed += [members for members in by_digest.values() if len(members) > 1]
    return confirmed


def _content_keys(
    unique: np.ndarray, row_unique: np.ndarray, confirmed: list[list[int]]
) -> pa.Array:
    """One id per row: the position of the first row holding the same bytes."""
    # Rows are in path order; the first row of each entry is its first occurrence.
    _, first_row = np.unique(row_unique, return_index=True)
    key = first_row.astype(np.int64)
    if confirmed:
        members = np.searchsorted(unique, np.concatenate(confirmed))
        sizes = [len(group) for group in confirmed]
        starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
        smallest = np.minimum.reduceat(key[members], starts)
        key[members] = np.repeat(smallest, sizes)
    return pa.array(key[row_unique], pa.int64())


# --------------------------------------------------------------------------- results


def _probe_findings(
    directory: _Directory,
    rows: _Rows,
    unique: np.ndarray,
    row_unique: np.ndarray,
    probed: _Probed,
    unreadable: dict[int, str],
    limits: Limits,
) -> list[Finding]:
    paths = directory.names.take(pa.array(rows.entry))
    reason = list(probed.reason)
    bad = probed.status == PROBE_CORRUPT
    if unreadable:
        where = np.searchsorted(unique, list(unreadable))
        for position, text in zip(where.tolist(), unreadable.values(), strict=True):
            if probed.status[position] != PROBE_TOO_LARGE and not bad[position]:
                bad[position] = True
                reason[position] = text
    findings = []
    corrupt_rows = np.flatnonzero(bad[row_unique])
    if len(corrupt_rows):
        why = reason[row_unique[corrupt_rows[0]]]
        findings.append(_corrupt_finding(corrupt_rows, paths, why))
    large_rows = np.flatnonzero((probed.status == PROBE_TOO_LARGE)[row_unique])
    if len(large_rows):
        why = reason[row_unique[large_rows[0]]]
        count = len(large_rows)
        findings.append(
            Finding(
                kind=FindingKind.LIMIT_HIT,
                severity=Severity.WARNING,
                count=count,
                message=_say(
                    "{n} declare{s} more than {limit:,} pixels {first}, which {why}, a sign of "
                    "a decompression bomb; if you trust the file, raise "
                    "Limits(max_image_pixels=...) or --limit max_image_pixels=N.",
                    count,
                    "image",
                    paths[int(large_rows[0])].as_py(),
                    limit=limits.max_image_pixels,
                    why=why,
                ),
                rows=large_rows.astype(np.int64),
            )
        )
    return findings


def _corrupt_finding(rows: np.ndarray, paths: pa.Array, why: str | None) -> Finding:
    return _row_finding(
        FindingKind.CORRUPT_IMAGE,
        Severity.WARNING,
        rows,
        paths,
        "{n} cannot be read {first}, which {why}; {it} stay{s} in the table with {its} label.",
        why=why,
    )


def _assemble(
    directory: _Directory, rows: _Rows, row_unique: np.ndarray, probed: _Probed
) -> pa.Table:
    entry = pa.array(rows.entry)
    per_row = pa.array(row_unique)
    columns: dict[str, pa.Array] = {"path": directory.names.take(entry)}
    columns.update(rows.columns)
    columns["compressed_size"] = pa.array(directory.compressed_size[rows.entry], pa.int64())
    columns["size"] = pa.array(directory.size[rows.entry], pa.int64())
    columns["crc32"] = pa.array(directory.crc[rows.entry], pa.int64())
    for name, values, kind in (
        ("format", probed.format, pa.string()),
        ("width", probed.width, pa.int64()),
        ("height", probed.height, pa.int64()),
        ("mode", probed.mode, pa.string()),
    ):
        columns[name] = pa.array(values, kind).take(per_row)
    return pa.table(columns)
