"""Bytes of zip entries, and image headers read from them without decoding pixels.

The zip reader hands this module the archive's bytes (``bytes``, ``mmap`` or a
``memoryview``) and the positions that its central directory gives; nothing here
opens a file by an entry's name. :func:`probe_header` asks Pillow for the format,
size and mode of one image from the first bytes of its file only, and
:func:`inspect_entries` does that (and hashes whole files) for many entries, on
all cores for large batches.
"""

from __future__ import annotations

import bz2
import hashlib
import importlib
import io
import lzma
import multiprocessing
import os
import re
import struct
import sys
import warnings
import zlib
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image, UnidentifiedImageError

__all__ = [
    "ALLOWED_FORMATS",
    "PROBE_CORRUPT",
    "PROBE_OK",
    "PROBE_TOO_LARGE",
    "EntryError",
    "EntryUnits",
    "data_start",
    "inspect_entries",
    "inspect_entry",
    "iter_entry",
    "probe_header",
    "read_entry",
]

ALLOWED_FORMATS = ("JPEG", "PNG", "GIF", "BMP", "TIFF", "WEBP", "PPM")
"""Pillow formats tried when probing, in this order (PGM is Pillow's PPM plugin)."""

# Their plugins (and MPO, which Pillow may return for a JPEG) are imported now,
# which registers them, so that a forked worker never imports a module: an
# import lock held by another thread at fork time would hang it.
for _plugin in ("Bmp", "Gif", "Jpeg", "Mpo", "Png", "Ppm", "Tiff", "WebP"):
    importlib.import_module(f"PIL.{_plugin}ImagePlugin")

PROBE_OK = 0
PROBE_CORRUPT = 1
PROBE_TOO_LARGE = 2

# Most headers fit in 4 KiB; a JPEG with a big EXIF or ICC block or a TIFF whose
# directory sits at the end needs more, so the prefix grows 4x per retry.
FIRST_PREFIX = 4096
PREFIX_GROWTH = 4
# Input fed to a decompressor per call: small for a prefix, so that zlib does not
# copy the rest of a large entry into ``unconsumed_tail``.
INFLATE_STEP = 1 << 20
# Output taken from a decompressor per call: hashing a large entry holds at most
# this much of it at a time.
OUTPUT_STEP = 1 << 20
# Below this many entries a process pool costs more than it saves.
MIN_ENTRIES_FOR_POOL = 2000

SUPPORTED_METHODS = {0: "stored", 8: "deflated", 12: "bzip2", 14: "lzma"}

_PIXELS = re.compile(r"\((\d+) pixels\)")

_SIGNATURES = (
    b"\xff\xd8\xff",  # JPEG
    b"\x89PNG\r\n\x1a\n",
    b"GIF87a",
    b"GIF89a",
    b"BM",
    b"II*\x00",  # TIFF, little- and big-endian, classic and BigTIFF
    b"MM\x00*",
    b"II+\x00",
    b"MM\x00+",
)

ProbeResult = tuple[int, str | None, int | None, int | None, str | None, str | None]
"""(status, format, width, height, mode, reason); ``reason`` explains a failure."""


_LOCAL_HEADER = struct.Struct("<4s22xHH")  # signature, name length, extra length


class EntryError(Exception):
    """An entry whose bytes cannot be read; ``str(error)`` completes "It ..."."""


# --------------------------------------------------------------------------- entry bytes


def data_start(buffer: Any, offset: int, name_pos: int, name_len: int, end: int) -> int:
    """Position of an entry's data, after checking its local header.

    Parameters
    ----------
    buffer : bytes or mmap
        The whole archive.
    offset : int
        Position of the local header, from the central directory.
    name_pos, name_len : int
        Where the central directory stores the entry's name, to compare with the
        local header's copy (a mismatch is a sign of a crafted archive).
    end : int
        Where entry data must stop (the start of the central directory).
    """
    if offset < 0 or offset + 30 > end:
        raise EntryError("has a local header outside the archive")
    signature, local_len, extra_len = _LOCAL_HEADER.unpack_from(buffer, offset)
    if signature != b"PK\x03\x04":
        raise EntryError("has no local header where the central directory says")
    local_name = offset + 30
    if local_len != name_len or (
        buffer[local_name : local_name + name_len] != buffer[name_pos : name_pos + name_len]
    ):
        raise EntryError("has a local header that names a different file")
    return offset + 30 + local_len + extra_len


def read_entry(
    buffer: Any, start: int, compressed_size: int, method: int, limit: int, end: int
) -> bytes:
    """Up to ``limit`` bytes of an entry's uncompressed data.

    Only as much input is decompressed as ``limit`` needs, so a prefix of a large
    entry is cheap and a lying size field cannot make the output grow past
    ``limit``.
    """
    return b"".join(iter_entry(buffer, start, compressed_size, method, limit, end))


def iter_entry(
    buffer: Any, start: int, compressed_size: int, method: int, limit: int, end: int
) -> Iterator[bytes]:
    """Up to ``limit`` bytes of an entry's uncompressed data, in pieces of at most
    :data:`OUTPUT_STEP` bytes, so that a large entry is hashed in constant memory.

    Raises :class:`EntryError` (while iterating) for data that cannot be read."""
    stop = start + compressed_size
    if stop > end:
        raise EntryError("has data that runs past the end of the archive")
    view = memoryview(buffer)
    if method == 0:
        last = start + min(compressed_size, limit)
        for position in range(start, last, OUTPUT_STEP):
            yield bytes(view[position : min(position + OUTPUT_STEP, last)])
    elif method == 8:
        yield from _inflate_zlib(view, start, stop, limit)
    elif method == 12:
        yield from _inflate_stream(bz2.BZ2Decompressor(), view, start, stop, limit)
    elif method == 14:
        decompressor, start = _lzma_decompressor(view, start, stop)
        yield from _inflate_stream(decompressor, view, start, stop, limit)
    else:
        raise EntryError(f"uses compression method {method}, which cannot be read")


def _inflate_zlib(view: memoryview, start: int, stop: int, limit: int) -> Iterator[bytes]:
    decompressor = zlib.decompressobj(-15)
    got = 0
    position = start
    pending: bytes | memoryview = b""
    try:
        while got < limit and not decompressor.eof:
            if not pending:
                if position >= stop:
                    break
                step = min(stop - position, max(limit - got, 1024), INFLATE_STEP)
                pending = view[position : position + step]
                position += step
            piece = decompressor.decompress(pending, min(limit - got, OUTPUT_STEP))
            pending = decompressor.unconsumed_tail
            got += len(piece)
            yield piece
    except zlib.error as error:
        raise EntryError(f"has damaged compressed data ({error})") from None


def _inflate_stream(
    decompressor: Any, view: memoryview, start: int, stop: int, limit: int
) -> Iterator[bytes]:
    got = 0
    position = start
    try:
        while got < limit and not decompressor.eof:
            if decompressor.needs_input:
                if position >= stop:
                    break
                step = min(stop - position, max(limit - got, 1024), INFLATE_STEP)
                chunk: bytes | memoryview = view[position : position + step]
                position += step
            else:
                chunk = b""
            piece = decompressor.decompress(chunk, min(limit - got, OUTPUT_STEP))
            got += len(piece)
            yield piece
    except (OSError, EOFError, lzma.LZMAError) as error:
        raise EntryError(f"has damaged compressed data ({error})") from None


def _lzma_decompressor(view: memoryview, start: int, stop: int) -> tuple[Any, int]:
    # Zip's LZMA header: version (2 bytes), properties size (2), properties (5).
    if stop - start < 9:
        raise EntryError("has a damaged LZMA header")
    (props_size,) = struct.unpack_from("<H", view, start + 2)
    props = bytes(view[start + 4 : start + 4 + props_size])
    if props_size != 5 or props[0] >= 9 * 5 * 5:
        raise EntryError("has a damaged LZMA header")
    lc, rest = props[0] % 9, props[0] // 9
    lp, pb = rest % 5, rest // 5
    (dict_size,) = struct.unpack_from("<I", props, 1)
    lzma_filter = {"id": lzma.FILTER_LZMA1, "dict_size": dict_size, "lc": lc, "lp": lp, "pb": pb}
    try:
        decompressor = lzma.LZMADecompressor(lzma.FORMAT_RAW, filters=[lzma_filter])
    except (lzma.LZMAError, ValueError):
        raise EntryError("has a damaged LZMA header") from None
    return decompressor, start + 4 + props_size


# --------------------------------------------------------------------------- headers


def _looks_like_image(head: bytes) -> bool:
    """Whether the first bytes match one of the allowed formats' signatures."""
    return (
        head.startswith(_SIGNATURES)
        or (head.startswith(b"RIFF") and head[8:12] == b"WEBP")
        or (len(head) >= 2 and head[:1] == b"P" and head[1:2] in b"0123456fy")
    )


def probe_header(read: Callable[[int], bytes], size: int, *, max_pixels: int) -> ProbeResult:
    """Format, width, height and mode of one image, from the first bytes of its file.

    Pillow parses only the header (no pixel is decoded). ``read(n)`` returns the
    first ``n`` bytes of the file; it is called again with a longer prefix when the
    header does not fit, up to the whole file.

    Parameters
    ----------
    read : callable
        ``read(n) -> bytes``, the first ``n`` bytes of the file (fewer if shorter).
    size : int
        The file's (declared) size.
    max_pixels : int
        Width x height above which the image is reported as too large.

    Returns
    -------
    tuple
        ``(status, format, width, height, mode, reason)`` with status
        :data:`PROBE_OK`, :data:`PROBE_CORRUPT` or :data:`PROBE_TOO_LARGE`;
        ``reason`` completes the sentence "It ..." for a failure.

    Notes
    -----
    Pillow's decompression-bomb check raises for images above twice its global
    ``MAX_IMAGE_PIXELS``; that error is caught here and reported as too large.
    Pillow's globals are never changed; callers silence its
    ``DecompressionBombWarning`` locally (see :func:`inspect_entries`).
    """
    if size <= 0:
        return (PROBE_CORRUPT, None, None, None, None, "is empty (0 bytes)")
    want = min(size, FIRST_PREFIX)
    data = read(want)
    if not data:
        return (PROBE_CORRUPT, None, None, None, None, "is empty")
    if not _looks_like_image(data[:16]):
        return (PROBE_CORRUPT, None, None, None, None, f"is not an image (starts {data[:8]!r})")
    if data.startswith(b"RIFF") and want < size:
        # Pillow's WebP plugin hands the whole file to libwebp's demuxer.
        want = size
        data = read(want)
    while True:
        complete = want >= size or len(data) < want
        try:
            with Image.open(io.BytesIO(data), formats=ALLOWED_FORMATS) as image:
                fmt, (width, height), mode = image.format, image.size, image.mode
        except Image.DecompressionBombError as error:
            found = _PIXELS.search(str(error))
            if found and int(found.group(1)) <= max_pixels:
                # Above Pillow's global bomb limit but allowed by ours: read the
                # header with the plugin itself, leaving Pillow's globals alone.
                unchecked = _open_unchecked(data)
                if unchecked is not None:
                    return unchecked
            pixels = f"{int(found.group(1)):,} pixels" if found else "too many pixels"
            return (PROBE_TOO_LARGE, None, None, None, None, f"declares {pixels}")
        except UnidentifiedImageError:
            if complete:
                return (PROBE_CORRUPT, None, None, None, None, "has a header Pillow cannot read")
        # Pillow signals a broken header with many exception types (OSError,
        # SyntaxError, ValueError, struct.error, ...); each means "unreadable" here.
        except Exception as error:
            if complete:
                return (PROBE_CORRUPT, None, None, None, None, _describe(error))
        else:
            if width * height > max_pixels:
                return (
                    PROBE_TOO_LARGE,
                    fmt,
                    None,
                    None,
                    mode,
                    f"declares {width:,} x {height:,} = {width * height:,} pixels",
                )
            return (PROBE_OK, fmt, width, height, mode, None)
        want = min(size, want * PREFIX_GROWTH)
        data = read(want)


def _open_unchecked(data: bytes) -> ProbeResult | None:
    """Format, size and mode from the allowed plugin that accepts ``data``, opened
    directly: :func:`PIL.Image.open` would apply Pillow's process-wide bomb limit,
    which only callers who raised :attr:`Limits.max_image_pixels` above it get past."""
    for name in ALLOWED_FORMATS:
        factory, accept = Image.OPEN[name]
        accepted = accept(data[:16]) if accept is not None else True
        if not accepted or isinstance(accepted, str):  # a str is a warning, not a yes
            continue
        try:
            with factory(io.BytesIO(data), "") as image:
                width, height = image.size
                return (PROBE_OK, image.format, width, height, image.mode, None)
        except Exception:  # a broken header, as in probe_header
            return None
    return None


def _describe(error: Exception) -> str:
    text = str(error).strip() or type(error).__name__
    if "truncated" in text.lower():
        return "is truncated"
    return f"cannot be read ({text[:120]})"


# --------------------------------------------------------------------------- many entries


@dataclass(frozen=True)
class EntryUnits:
    """The entries to inspect and where they lie in the archive, one array element
    per entry (sorted by offset, so that a mapped file is read front to back).

    Attributes
    ----------
    offset : numpy.ndarray
        Local header positions.
    name_pos, name_len : numpy.ndarray
        Position and length of each name in the central directory.
    compressed_size, size, method, crc : numpy.ndarray
        From the central directory.
    probe : numpy.ndarray of bool
        Read the image header.
    digest : numpy.ndarray of bool
        Read the whole file, check its CRC-32 and hash it (SHA-256).
    end : int
        Start of the central directory: no entry data may reach past it.
    """

    offset: np.ndarray
    name_pos: np.ndarray
    name_len: np.ndarray
    compressed_size: np.ndarray
    size: np.ndarray
    method: np.ndarray
    crc: np.ndarray
    probe: np.ndarray
    digest: np.ndarray
    end: int

    def __len__(self) -> int:
        return len(self.offset)


Inspection = tuple[ProbeResult | None, bytes | None, str | None]
"""(probe result or None, SHA-256 digest or None, why the digest failed or None)."""


def inspect_entry(
    buffer: Any,
    offset: int,
    name_pos: int,
    name_len: int,
    compressed_size: int,
    size: int,
    method: int,
    crc: int,
    end: int,
    *,
    probe: bool,
    digest: bool,
    max_pixels: int,
) -> Inspection:
    """Probe the header of one entry and/or hash its bytes, reading each byte once
    where possible (a small file's header prefix is the whole file)."""
    try:
        start = data_start(buffer, offset, name_pos, name_len, end)
    except EntryError as error:
        failed = (PROBE_CORRUPT, None, None, None, None, str(error))
        return (failed if probe else None, None, str(error) if digest else None)
    longest = b""

    def read(n: int) -> bytes:
        nonlocal longest
        data = read_entry(buffer, start, compressed_size, method, n, end)
        if len(data) > len(longest):
            longest = data
        return data

    result = None
    if probe:
        try:
            result = probe_header(read, size, max_pixels=max_pixels)
        except EntryError as error:
            result = (PROBE_CORRUPT, None, None, None, None, str(error))
    if not digest:
        return (result, None, None)
    # Hashed piece by piece: an entry of hundreds of megabytes never sits in memory.
    pieces = (
        [longest]
        if len(longest) == size
        else iter_entry(buffer, start, compressed_size, method, size + 1, end)
    )
    sha = hashlib.sha256()
    got = check = 0
    try:
        for piece in pieces:
            sha.update(piece)
            check = zlib.crc32(piece, check)
            got += len(piece)
        if got != size:
            raise EntryError(f"holds {got:,} bytes, not the {size:,} its header declares")
        if check != crc:
            raise EntryError("fails its CRC-32 check (its bytes are damaged)")
    except EntryError as error:
        return (result, None, str(error))
    return (result, sha.digest(), None)


def _inspect_range(
    buffer: Any, units: EntryUnits, first: int, stop: int, max_pixels: int
) -> list[Inspection]:
    columns = (
        units.offset, units.name_pos, units.name_len, units.compressed_size, units.size,
        units.method, units.crc, units.probe, units.digest,
    )  # fmt: skip
    rows = zip(*(column[first:stop].tolist() for column in columns), strict=True)
    return [
        inspect_entry(
            buffer,
            offset,
            npos,
            nlen,
            csize,
            size,
            method,
            crc,
            units.end,
            probe=probe,
            digest=digest,
            max_pixels=max_pixels,
        )
        for offset, npos, nlen, csize, size, method, crc, probe, digest in rows
    ]


# Set only inside worker processes, by _init_worker: the archive and the units,
# inherited through fork() rather than pickled.
_WORKER_STATE: tuple[Any, EntryUnits, int] | None = None


def _init_worker(buffer: Any, units: EntryUnits, max_pixels: int) -> None:
    global _WORKER_STATE
    _WORKER_STATE = (buffer, units, max_pixels)
    # This process is ours alone: Pillow's bomb warnings become findings instead.
    warnings.simplefilter("ignore")


def _inspect_range_in_worker(first: int, stop: int) -> list[Inspection]:
    assert _WORKER_STATE is not None
    buffer, units, max_pixels = _WORKER_STATE
    return _inspect_range(buffer, units, first, stop, max_pixels)


def _resolve_jobs(n_jobs: int | None) -> int:
    if n_jobs is None or n_jobs < 0:
        try:
            available = len(os.sched_getaffinity(0))
        except AttributeError:  # not on Linux
            available = os.cpu_count() or 1
        return max(1, available if n_jobs is None else available + 1 + n_jobs)
    return max(1, n_jobs)


def inspect_entries(
    buffer: Any,
    units: EntryUnits,
    *,
    max_pixels: int,
    n_jobs: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> list[Inspection]:
    """Probe and/or hash every entry of ``units``: one result per entry, in order.

    Parameters
    ----------
    buffer : bytes-like
        The whole archive (``bytes``, ``mmap`` or ``memoryview``).
    units : EntryUnits
        The entries, and what to do with each.
    max_pixels : int
        See :func:`probe_header`.
    n_jobs : int, optional
        Worker processes; ``None`` uses every core available, ``1`` works in this
        process, negative values count back from all cores (``-1`` = all).
    progress : callable, optional
        Called as ``progress(done, total)`` after each batch of entries.

    Returns
    -------
    list of tuple
        ``(probe result or None, SHA-256 or None, why the file could not be
        hashed or None)`` per entry.

    Notes
    -----
    Pillow's header parsers are Python code holding the GIL, so threads do not
    help; large batches are split across worker processes started with
    ``fork()`` (Linux only), which inherit the archive's bytes instead of
    receiving copies, and send back only small tuples. Pillow's plugins are
    imported before forking, so a worker never imports anything. Elsewhere, and
    for small batches, the work runs in this process.
    """
    total = len(units)
    if total == 0:
        return []
    jobs = _resolve_jobs(n_jobs)
    can_fork = (
        sys.platform.startswith("linux")
        and "fork" in multiprocessing.get_all_start_methods()
        # A daemonic process (say, a multiprocessing.Pool worker) may not have children.
        and not multiprocessing.current_process().daemon
    )
    results: list[Inspection | None] = [None] * total
    batch = int(min(5000, max(500, total // (jobs * 8) + 1)))
    ranges = [(first, min(first + batch, total)) for first in range(0, total, batch)]
    done = 0
    pending = ranges
    if jobs > 1 and can_fork and total >= MIN_ENTRIES_FOR_POOL:
        pending = []
        try:
            with ProcessPoolExecutor(
                max_workers=min(jobs, len(ranges)),
                mp_context=multiprocessing.get_context("fork"),
                initializer=_init_worker,
                initargs=(buffer, units, max_pixels),
            ) as pool:
                futures = [(r, pool.submit(_inspect_range_in_worker, *r)) for r in ranges]
                for (first, stop), future in futures:
                    try:
                        results[first:stop] = future.result()
                    except BrokenProcessPool:
                        pending.append((first, stop))
                        continue
                    done += stop - first
                    if progress is not None:
                        progress(done, total)
        except (BrokenProcessPool, OSError):  # a worker died, or fork() failed
            pending = [r for r in ranges if results[r[0]] is None]
    if pending:
        # No fork, a small batch, or a worker that died: finish here, silencing
        # Pillow's bomb warning only while this runs.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            for first, stop in pending:
                results[first:stop] = _inspect_range(buffer, units, first, stop, max_pixels)
                done += stop - first
                if progress is not None:
                    progress(done, total)
    return results  # type: ignore[return-value]
