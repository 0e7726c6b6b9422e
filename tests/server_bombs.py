"""Inputs that slip past the readers' limits and expand in memory, built on the spot.

Both pass every declared-size check (input bytes, entry sizes, compression ratio,
rows, columns, cell length): only the worker's memory budget stops them.
"""

from __future__ import annotations

import io
import zipfile

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq


def parquet_dictionary_bomb(rows: int = 4_000_000, width: int = 1000) -> bytes:
    """A ~0.5 MB Parquet file whose one-value dictionary column decodes to
    ``rows * width`` bytes (4 GB by default)."""
    note = pa.DictionaryArray.from_arrays(
        pa.array(np.zeros(rows, dtype=np.int32)), pa.array(["x" * width])
    )
    label = pa.DictionaryArray.from_arrays(
        pa.array((np.arange(rows) % 2).astype(np.int32)), pa.array(["a", "b"])
    )
    sink = io.BytesIO()
    pq.write_table(
        pa.table({"label": label, "note": note}), sink, use_dictionary=True, compression="zstd"
    )
    return sink.getvalue()


def metadata_flood_zip(total: int = 500 * 1024**2, pad: int = 300) -> bytes:
    """A ~7 MB zip of one image and a ``metadata.csv`` of ``total`` bytes (under the
    512 MiB entry limit) at about 75:1 (under the 200:1 ratio limit), whose rows
    flood the reader's memory when parsed."""
    sink = io.BytesIO()
    filler = "x" * pad
    # Past deflate's 32 KB window a repeated block compresses no better than one.
    block = "".join(f"cats/{filler}{k}.png,{'ab'[k % 2]}\n" for k in range(2000)).encode()
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        archive.writestr("cats/0.png", b"\x89PNG\r\n\x1a\n")
        with archive.open("metadata.csv", "w") as out:
            out.write(b"path,label\n")
            written = 0
            while written < total:
                out.write(block)
                written += len(block)
    return sink.getvalue()
