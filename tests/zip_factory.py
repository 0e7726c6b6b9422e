"""Build real zip archives in memory for the zip reader's tests, including broken and
hostile ones (patched headers, overlapping entries, forged CRC-32s)."""

from __future__ import annotations

import io
import struct
import tarfile
import zipfile
import zlib
from collections.abc import Iterable

from PIL import Image

DATE = (2024, 1, 2, 3, 4, 6)


def image_bytes(
    fmt: str = "PNG", *, size: tuple[int, int] = (4, 3), color: tuple[int, ...] = (200, 30, 30)
) -> bytes:
    """A tiny real image made by Pillow."""
    mode = "L" if len(color) == 1 else "RGB"
    buffer = io.BytesIO()
    Image.new(mode, size, color if mode == "RGB" else color[0]).save(buffer, fmt)
    return buffer.getvalue()


def png(seed: int = 0, *, size: tuple[int, int] = (4, 3)) -> bytes:
    """A distinct PNG per seed."""
    return image_bytes("PNG", size=size, color=(seed % 256, (seed // 256) % 256, 7))


def make_zip(
    entries: Iterable[tuple[str, bytes] | zipfile.ZipInfo | tuple[zipfile.ZipInfo, bytes]],
    *,
    compression: int = zipfile.ZIP_DEFLATED,
) -> bytes:
    """A zip holding ``entries`` in the given order: ``(name, data)`` pairs, or
    ``(ZipInfo, data)`` for custom attributes. Names ending in "/" are folders."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=compression) as archive:
        for entry in entries:
            info, data = entry if isinstance(entry, tuple) else (entry, b"")
            if isinstance(info, str):
                info = zipfile.ZipInfo(info, date_time=DATE)
                info.compress_type = compression
            archive.writestr(info, data)
    return buffer.getvalue()


def image_zip(names: Iterable[str], **options) -> bytes:
    """A zip of distinct tiny PNGs under ``names``."""
    return make_zip([(name, png(i)) for i, name in enumerate(names)], **options)


# --------------------------------------------------------------------------- patching


def _end_record(data: bytes) -> tuple[int, int, int, int]:
    """(position of the end record, entries, central directory size, its offset)."""
    position = data.rfind(b"PK\x05\x06")
    _, _, _, _, count, size, offset, _ = struct.unpack_from("<4s4H2LH", data, position)
    return position, count, size, offset


def central_records(data: bytes) -> list[tuple[int, int, str]]:
    """(position of the central record, its length, name) for every entry."""
    _, count, _, offset = _end_record(data)
    records = []
    position = offset
    for _ in range(count):
        name_len, extra_len, comment_len = struct.unpack_from("<3H", data, position + 28)
        length = 46 + name_len + extra_len + comment_len
        name = data[position + 46 : position + 46 + name_len].decode("utf-8", "replace")
        records.append((position, length, name))
        position += length
    return records


def patch_entry(
    data: bytes,
    name: str,
    *,
    set_flags: int = 0,
    method: int | None = None,
    local_name: bytes | None = None,
) -> bytes:
    """Change an entry's flags or compression method in both its local and central
    headers, or only the name in its local header."""
    out = bytearray(data)
    for position, _, entry_name in central_records(data):
        if entry_name != name:
            continue
        (local,) = struct.unpack_from("<L", out, position + 42)
        flags = struct.unpack_from("<H", out, position + 8)[0] | set_flags
        struct.pack_into("<H", out, position + 8, flags)
        struct.pack_into("<H", out, local + 6, flags)
        if method is not None:
            struct.pack_into("<H", out, position + 10, method)
            struct.pack_into("<H", out, local + 8, method)
        if local_name is not None:
            (name_len,) = struct.unpack_from("<H", out, local + 26)
            assert len(local_name) == name_len
            out[local + 30 : local + 30 + name_len] = local_name
        return bytes(out)
    raise KeyError(name)


def rename_everywhere(data: bytes, old: bytes, new: bytes) -> bytes:
    """Replace a name by another of the same length in every header (for names that
    zipfile refuses to write, like ones holding NUL)."""
    assert len(old) == len(new)
    return data.replace(old, new)


def duplicate_record(data: bytes, name: str, new_name: str) -> bytes:
    """Append a second central-directory record pointing at ``name``'s local header:
    the overlapping-entries zip bomb in its smallest form."""
    assert len(new_name.encode()) == len(name.encode())
    end, count, size, offset = _end_record(data)
    position, length, _ = next(r for r in central_records(data) if r[2] == name)
    record = bytearray(data[position : position + length])
    record[46 : 46 + len(new_name.encode())] = new_name.encode()
    central = data[offset : offset + size] + bytes(record)
    tail = bytearray(data[end:])
    struct.pack_into("<2HL", tail, 8, count + 1, count + 1, len(central))
    return data[:offset] + central + bytes(tail)


def with_zip64_records(data: bytes) -> bytes:
    """Rewrite every central-directory record the way archives above 4 GiB need:
    sizes and offset set to 0xFFFFFFFF, the real values in a zip64 extra field."""
    end, _, _, offset = _end_record(data)
    central = b""
    for position, length, _ in central_records(data):
        record = bytearray(data[position : position + length])
        name_len, extra_len, _ = struct.unpack_from("<3H", record, 28)
        compressed, uncompressed = struct.unpack_from("<2L", record, 20)
        (local,) = struct.unpack_from("<L", record, 42)
        struct.pack_into("<2L", record, 20, 0xFFFFFFFF, 0xFFFFFFFF)
        struct.pack_into("<L", record, 42, 0xFFFFFFFF)
        extra = struct.pack("<2H3Q", 1, 24, uncompressed, compressed, local)
        struct.pack_into("<H", record, 30, extra_len + len(extra))
        cut = 46 + name_len + extra_len
        central += bytes(record[:cut]) + extra + bytes(record[cut:])
    tail = bytearray(data[end:])
    struct.pack_into("<L", tail, 12, len(central))
    return data[:offset] + central + bytes(tail)


def forge_crc(prefix: bytes, target: int) -> bytes:
    """Four bytes that, appended to ``prefix``, give the CRC-32 ``target``.

    CRC-32 is affine over GF(2), so the effect of each of the 32 free bits is a
    fixed vector; Gaussian elimination finds the bits that reach ``target``.
    """
    base = zlib.crc32(prefix + b"\0\0\0\0")
    columns = [zlib.crc32(prefix + (1 << bit).to_bytes(4, "little")) ^ base for bit in range(32)]
    rows = [(columns[bit], 1 << bit) for bit in range(32)]  # (effect, bits chosen)
    want = target ^ base
    basis: dict[int, tuple[int, int]] = {}
    for effect, chosen in rows:
        for pivot in sorted(basis, reverse=True):
            if effect >> pivot & 1:
                effect ^= basis[pivot][0]
                chosen ^= basis[pivot][1]
        if effect:
            basis[effect.bit_length() - 1] = (effect, chosen)
    chosen = 0
    for pivot in sorted(basis, reverse=True):
        if want >> pivot & 1:
            want ^= basis[pivot][0]
            chosen ^= basis[pivot][1]
    assert want == 0
    suffix = chosen.to_bytes(4, "little")
    assert zlib.crc32(prefix + suffix) == target
    return suffix


# --------------------------------------------------------------------------- other formats


def tar_bytes() -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        payload = png(1)
        info = tarfile.TarInfo("cats/1.png")
        info.size = len(payload)
        archive.addfile(info, io.BytesIO(payload))
    return buffer.getvalue()


def png_header_bomb(width: int = 100_000, height: int = 100_000) -> bytes:
    """A valid PNG header declaring a huge image, with a tiny (bogus) IDAT."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\0" * 64))
        + chunk(b"IEND", b"")
    )
