"""Text decoding shared by the text-table readers: byte order marks, UTF-16
detection, the Windows-1252 fallback and its finding."""

from __future__ import annotations

import codecs

from ..dataset import Finding, FindingKind, Severity
from ..errors import DatasetError

__all__ = [
    "BOMS",
    "SNIFF_BYTES",
    "bom_encoding",
    "decode_prefix",
    "decode_sample",
    "decode_text",
    "fallback_finding",
    "first_line",
    "looks_utf16",
]

SNIFF_BYTES = 64 * 1024

BOMS = (
    (b"\xef\xbb\xbf", "utf-8-sig"),
    (b"\xff\xfe\x00\x00", "utf-32"),  # before UTF-16 LE, whose BOM it starts with
    (b"\x00\x00\xfe\xff", "utf-32"),
    (b"\xff\xfe", "utf-16"),
    (b"\xfe\xff", "utf-16"),
)


def decode_sample(head: bytes) -> str:
    encoding = bom_encoding(head)
    if encoding is None and looks_utf16(head):
        encoding = "utf-16-le" if head[1:2] == b"\x00" else "utf-16-be"
    if encoding is None and b"\x00" in head:
        raise DatasetError(
            "This file holds binary data, not text; upload a CSV, TSV, JSON, Parquet or "
            "Excel table.",
            kind="binary_file",
        )
    for candidate in (encoding or "utf-8", "cp1252"):
        try:
            return decode_prefix(head, candidate)
        except UnicodeDecodeError:
            continue
    raise DatasetError(
        "This file is neither UTF-8 nor Windows-1252 text; save it as UTF-8 and upload again.",
        kind="unreadable_bytes",
    )


def decode_prefix(head: bytes, encoding: str) -> str:
    # The sample may end in the middle of a character: ignore only the last few bytes.
    decoder = codecs.getincrementaldecoder(encoding)()
    return decoder.decode(head, final=False)


def bom_encoding(head: bytes) -> str | None:
    for bom, encoding in BOMS:
        if head.startswith(bom):
            return encoding
    return None


def looks_utf16(head: bytes) -> bool:
    sample = head[:4000]
    if len(sample) < 4:
        return False
    zeros_even = sample[0::2].count(0)
    zeros_odd = sample[1::2].count(0)
    half = len(sample) / 2
    return max(zeros_even, zeros_odd) > 0.3 * half and min(zeros_even, zeros_odd) < 0.05 * half


def fallback_finding(name: str) -> Finding:
    return Finding(
        kind=FindingKind.ENCODING_FALLBACK,
        severity=Severity.WARNING,
        count=1,
        message=(
            f"{name!r} is not valid UTF-8, so it was read as Windows-1252 "
            "(cp1252); check that accented labels look right, or save the file as UTF-8."
        ),
        entries=(name,),
    )


def decode_text(data: bytes, encoding: str, name: str) -> str:
    """The whole input as text, without a byte order mark; never drops bytes."""
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as error:
        raise DatasetError(
            f"{name!r} cannot be read as UTF-8 or {encoding} text (bad byte at offset "
            f"{error.start}); save it as UTF-8 and upload again.",
            kind="unreadable_bytes",
        ) from None
    return text.removeprefix("\ufeff")


def first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else "unknown error"
