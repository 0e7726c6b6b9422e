"""A balanced zip: the manifest's files repacked from the source zip, copying the
compressed bytes as they are (nothing is decompressed or extracted)."""

from __future__ import annotations

import io
import os
import posixpath
import stat
import struct
import zipfile
from pathlib import Path
from typing import Any, BinaryIO

import pyarrow as pa

from .errors import DatasetError
from .limits import Limits
from .readers.zipped import WINDOWS_HOSTS

__all__ = ["balanced_zip", "write_balanced_zip"]


def _bad(message: str, kind: str = "bad_parameter") -> DatasetError:
    return DatasetError(message, kind=kind)


def _check_table(table: Any, what: str) -> pa.Table:
    if not isinstance(table, pa.Table):
        raise _bad(f"{what} must be a pyarrow.Table, got {type(table).__name__}.")
    return table


# --------------------------------------------------------------------------- zip

_LOCAL = struct.Struct("<4s5H3L2H")
_CENTRAL = struct.Struct("<4s6H3L5H2L")
_END = struct.Struct("<4s4H2LH")
_END64 = struct.Struct("<4sQ2H2L4Q")
_LOCATOR64 = struct.Struct("<4sLQL")
_MAX16, _MAX32 = 0xFFFF, 0xFFFFFFFF
# Sizes, offsets and counts from which the zip64 extensions are written. Module
# constants so tests can lower them to exercise the zip64 records on small files.
_ZIP64_SIZE = _MAX32
_ZIP64_COUNT = _MAX16
_UTF8_FLAG = 0x0800
_KEPT_FLAGS = 0x0006  # compression options (deflate level, LZMA end marker)
_FILE_MODE = (stat.S_IFREG | 0o644) << 16
_MADE_BY_UNIX = 3 << 8


def _source_name(info: zipfile.ZipInfo) -> str:
    """An entry's name as Seesaw's zip reader decodes it: UTF-8 when flagged or
    valid, else cp437 (zipfile decodes every unflagged name as cp437)."""
    if info.flag_bits & _UTF8_FLAG:
        return info.orig_filename
    raw = info.orig_filename.encode("cp437")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return info.orig_filename


def _dos_time(info: zipfile.ZipInfo) -> tuple[int, int]:
    year, month, day, hour, minute, second = info.date_time
    return hour << 11 | minute << 5 | second // 2, (year - 1980) << 9 | month << 5 | day


def _copy_name(path: str, k: int) -> str:
    folder, _, base = path.rpartition("/")
    stem, suffix = posixpath.splitext(base)
    return f"{folder}/" * bool(folder) + f"{stem}__copy{k}{suffix}"


def _unsafe(name: str) -> bool:
    parts = name.split("/")
    return (
        not name
        or name.startswith("/")
        or "\\" in name
        or "\x00" in name
        or ".." in parts
        or (len(name) > 1 and name[0].isalpha() and name[1] == ":")
        or name.endswith("/")
    )


def _output_names(paths: list[str], copies: list[int]) -> list[str]:
    """Distinct output names: an original keeps its path, a duplicate becomes
    ``<stem>__copy<k><suffix>`` with ``k`` its copy number (or the next free one)."""
    used: set[str] = set()
    first: dict[str, int] = {}
    for row, (path, copy) in enumerate(zip(paths, copies, strict=True)):
        if copy == 0 and path not in used:
            used.add(path)
            first[path] = row
    names = []
    for row, (path, copy) in enumerate(zip(paths, copies, strict=True)):
        if first.get(path) == row:
            names.append(path)
            continue
        k = max(copy, 1)
        while _copy_name(path, k) in used:
            k += 1
        name = _copy_name(path, k)
        used.add(name)
        names.append(name)
    return names


def _manifest_rows(manifest: pa.Table) -> tuple[list[str], list[int]]:
    manifest = _check_table(manifest, "The manifest")
    if "path" not in manifest.column_names:
        raise _bad(
            "The manifest has no 'path' column, so it names no files of the zip; the "
            f"columns are {', '.join(map(repr, manifest.column_names))}.",
            kind="no_path_column",
        )
    paths = manifest.column("path").cast(pa.string()).to_pylist()
    if "copy" in manifest.column_names:
        copies = [0 if c is None else int(c) for c in manifest.column("copy").to_pylist()]
    else:
        copies = [0] * len(paths)
    for row, path in enumerate(paths):
        if path is None:
            raise _bad(
                f"Row {row} of the manifest has no path, so it names no file of the zip.",
                kind="missing_file",
            )
    return paths, copies


def _open_zip(source: bytes | str | Path) -> BinaryIO:
    if isinstance(source, (bytes, bytearray, memoryview)):
        return io.BytesIO(bytes(source))
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if not path.is_file():
            raise _bad(f"There is no file at {str(path)!r}; check the path.", "file_not_found")
        return path.open("rb")
    raise _bad(
        f"The source zip must be bytes or a file path, got {type(source).__name__}.", "usage"
    )


_COPY_CHUNK = 1 << 20


def _data_start(handle: BinaryIO, info: zipfile.ZipInfo, size: int, name: str) -> int:
    """Where the compressed bytes of one entry start, found through its local header."""
    handle.seek(info.header_offset)
    header = handle.read(_LOCAL.size)
    if len(header) != _LOCAL.size or header[:4] != b"PK\x03\x04":
        raise _bad(f"The zip is damaged: the entry {name!r} has no local header.", "corrupt_zip")
    name_len, extra_len = struct.unpack_from("<2H", header, 26)
    start = info.header_offset + _LOCAL.size + name_len + extra_len
    if start + info.compress_size > size:
        raise _bad(f"The zip is damaged: the entry {name!r} is cut short.", "corrupt_zip")
    return start


def _copy_data(handle: BinaryIO, start: int, length: int, sink: BinaryIO) -> None:
    """Copy ``length`` bytes from ``start`` in pieces, so a large entry copied many
    times costs one piece of memory, not the entry."""
    handle.seek(start)
    while length:
        piece = handle.read(min(length, _COPY_CHUNK))
        if not piece:
            raise _bad("The zip was cut short while it was being copied.", "corrupt_zip")
        sink.write(piece)
        length -= len(piece)


def _entry_records(info: zipfile.ZipInfo, name: str, offset: int) -> tuple[bytes, bytes]:
    """Local header and central directory record of one copied entry."""
    encoded = name.encode("utf-8")
    if len(encoded) > _MAX16:
        raise _bad(f"The entry name {name[:80]!r}... is too long for a zip.", "unsafe_entry")
    flags = (info.flag_bits & _KEPT_FLAGS) | (_UTF8_FLAG if not encoded.isascii() else 0)
    dos_time, dos_date = _dos_time(info)
    big_sizes = info.file_size >= _ZIP64_SIZE or info.compress_size >= _ZIP64_SIZE
    big_offset = offset >= _ZIP64_SIZE
    version = max(info.extract_version, 45 if big_sizes or big_offset else 20)
    if big_sizes:  # the local zip64 field must hold both sizes
        local_extra = struct.pack("<2H2Q", 1, 16, info.file_size, info.compress_size)
        local_sizes = (_MAX32, _MAX32)
    else:
        local_extra, local_sizes = b"", (info.compress_size, info.file_size)
    local = _LOCAL.pack(
        b"PK\x03\x04", version, flags, info.compress_type, dos_time, dos_date, info.CRC,
        *local_sizes, len(encoded), len(local_extra),
    ) + encoded + local_extra  # fmt: skip
    wide = [v for v in (info.file_size, info.compress_size, offset) if v >= _ZIP64_SIZE]
    fields = [
        _MAX32 if v >= _ZIP64_SIZE else v for v in (info.compress_size, info.file_size, offset)
    ]
    # The zip64 field lists, in this order, the uncompressed size, the compressed
    # size and the offset, each only when its 32-bit field holds 0xFFFFFFFF.
    central_extra = struct.pack(f"<2H{len(wide)}Q", 1, 8 * len(wide), *wide) if wide else b""
    central = _CENTRAL.pack(
        b"PK\x01\x02", _MADE_BY_UNIX | version, version, flags, info.compress_type, dos_time,
        dos_date, info.CRC, fields[0], fields[1], len(encoded), len(central_extra), 0, 0, 0,
        _FILE_MODE, fields[2],
    ) + encoded + central_extra  # fmt: skip
    return local, central


def _end_records(count: int, cd_offset: int, cd_size: int) -> bytes:
    if count < _ZIP64_COUNT and cd_offset < _ZIP64_SIZE and cd_size < _ZIP64_SIZE:
        return _END.pack(b"PK\x05\x06", 0, 0, count, count, cd_size, cd_offset, 0)
    end64_at = cd_offset + cd_size
    return (
        _END64.pack(b"PK\x06\x06", 44, _MADE_BY_UNIX | 45, 45, 0, 0, count, count, cd_size,
                    cd_offset)
        + _LOCATOR64.pack(b"PK\x06\x07", 0, end64_at, 1)
        + _END.pack(b"PK\x05\x06", 0, 0, min(count, _MAX16), min(count, _MAX16),
                    min(cd_size, _MAX32), min(cd_offset, _MAX32), 0)
    )  # fmt: skip


def balanced_zip(
    source: bytes | str | Path, manifest: pa.Table, *, limits: Limits | None = None
) -> bytes:
    """A zip holding exactly the manifest's files, copied without recompressing.

    The bytes :func:`write_balanced_zip` writes, returned in memory (what the app
    offers as a download). For large outputs write to a file instead.

    Parameters
    ----------
    source : bytes, str or pathlib.Path
    manifest : pyarrow.Table
    limits : Limits, optional
        ``max_output_rows`` and ``max_output_bytes`` bound the zip, checked on the
        exact size computed from the central directory before anything is copied.

    Returns
    -------
    bytes
        The new zip; the same bytes for the same source and manifest.
    """
    sink = io.BytesIO()
    write_balanced_zip(source, manifest, sink, limits=limits)
    return sink.getvalue()


def write_balanced_zip(
    source: bytes | str | Path,
    manifest: pa.Table,
    sink: BinaryIO,
    *,
    limits: Limits | None = None,
) -> int:
    """Write a zip holding exactly the manifest's files into ``sink``, streaming.

    Each manifest row becomes one entry, in manifest order, under the same folder
    layout as in ``source``. Oversampled duplicates (``copy`` > 0) are named
    ``<stem>__copy<k><suffix>`` in the same folder (``k`` the copy number, or the
    next free number should that name be taken). The compressed bytes, CRC-32,
    sizes, compression method and modification time of every entry are taken from
    ``source`` unchanged; headers and the central directory are written anew
    (UTF-8 names, regular-file permissions 0644, no data descriptors, zip64 records
    only where sizes or counts need them). Nothing is decompressed or extracted,
    and entry data is copied in 1 MiB pieces: memory stays flat however often a
    large entry is repeated.

    Parameters
    ----------
    source : bytes, str or pathlib.Path
        The zip the dataset was read from. Only its central directory and the
        data of the listed entries are read.
    manifest : pyarrow.Table
        With a ``path`` column (names inside ``source``, as Seesaw's zip reader
        reports them) and optionally ``copy`` (see
        :class:`balance_core.apply.Resampled`).
    sink : binary file
        Where the zip is written (a file opened ``"wb"``, or ``io.BytesIO``).
    limits : Limits, optional
        ``max_output_rows`` (entries) and ``max_output_bytes`` (the exact size,
        from the central directory), checked before the first byte is written.

    Returns
    -------
    int
        Bytes written.

    Raises
    ------
    DatasetError
        ``kind="limit_hit"`` when the zip would be above ``max_output_rows`` or
        ``max_output_bytes``; ``"missing_file"`` when a path is not a file of the
        zip; ``"duplicate_entry"`` when the zip holds several files under that path;
        ``"unsafe_entry"`` for a path that could escape the folder it is unpacked
        in; ``"encrypted"`` for an encrypted entry; ``"not_a_zip"`` or
        ``"corrupt_zip"`` when ``source`` cannot be read as a zip.
    """
    from .budget import OutputEstimate, check_output

    paths, copies = _manifest_rows(manifest)
    handle = _open_zip(source)
    with handle:
        size = handle.seek(0, io.SEEK_END)
        try:
            archive = zipfile.ZipFile(handle)
        except Exception as error:
            # Besides BadZipFile, zipfile fails with UnicodeDecodeError (a name flagged
            # UTF-8 that is not), NotImplementedError (an unknown "version needed"), ...
            raise _bad(f"The source is not a readable zip ({error}).", "not_a_zip") from error
        entries: dict[str, zipfile.ZipInfo] = {}
        repeated: set[str] = set()
        infos = archive.infolist()
        source_names = [_source_name(info) for info in infos]
        # As the zip reader does: a zip made on Windows whose names never use "/"
        # separates folders with "\\" (PowerShell's Compress-Archive).
        windows = (
            bool(infos)
            and all(info.create_system in WINDOWS_HOSTS for info in infos)
            and not any("/" in name for name in source_names)
        )
        for info, name in zip(infos, source_names, strict=True):
            if windows:
                name = name.replace("\\", "/")
            if not name.endswith("/"):
                if name in entries:
                    repeated.add(name)
                entries.setdefault(name, info)
        chosen: list[tuple[str, str, zipfile.ZipInfo]] = []
        total = 0
        for path, name in zip(paths, _output_names(paths, copies), strict=True):
            if _unsafe(path):
                raise _bad(
                    f"The entry name {path!r} could write outside the folder the zip is "
                    "unpacked in; leave it out of the manifest.",
                    kind="unsafe_entry",
                )
            if path in repeated:
                # Two entries share the name: copying either would lose the other.
                raise _bad(
                    f"The zip holds more than one file named {path!r}, so a balanced zip "
                    "cannot tell them apart; rename the copies and zip the folders again, "
                    "or download the manifest instead.",
                    kind="duplicate_entry",
                )
            info = entries.get(path)
            if info is None:
                raise _bad(
                    f"The manifest names {path!r}, which is not a file of the zip; make the "
                    "manifest from the same zip.",
                    kind="missing_file",
                )
            if info.flag_bits & 0x1:
                raise _bad(f"The entry {path!r} is encrypted; Seesaw cannot copy it.", "encrypted")
            chosen.append((path, name, info))
            total += info.compress_size + 2 * len(name.encode("utf-8")) + 132
        # Exact up to the zip64 fields: refuse before the first byte is written.
        check_output(
            OutputEstimate(rows=len(chosen), bytes=total + 98, copies=sum(c > 0 for c in copies)),
            limits=limits,
            what="The balanced zip",
        )
        directory: list[bytes] = []
        offset = 0
        for path, name, info in chosen:
            start = _data_start(handle, info, size, path)
            local, central = _entry_records(info, name, offset)
            sink.write(local)
            _copy_data(handle, start, info.compress_size, sink)
            directory.append(central)
            offset += len(local) + info.compress_size
    central_bytes = b"".join(directory)
    sink.write(central_bytes)
    end = _end_records(len(directory), offset, len(central_bytes))
    sink.write(end)
    return offset + len(central_bytes) + len(end)
