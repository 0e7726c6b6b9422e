"""Export: the bytes a user downloads, and a safe way to write them to disk.

- :func:`table_csv` and :func:`table_parquet` turn a manifest (or the dropped rows)
  into a file; the CSV is neutralised against spreadsheet formula injection.
- :func:`weights_json` and :func:`snippets` (from :mod:`balance_core.weights_export`)
  hand class weights to training code.
- :func:`balanced_zip` (from :mod:`balance_core.zip_export`) repacks a zip of image
  folders with exactly the manifest's files, copying the compressed bytes as they are.
- :func:`write_atomic` writes a file so that it is either complete or untouched, and
  :func:`write_atomic_many` several, none of which changes unless all can be written.

Every function returns the same bytes for the same input.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import stat
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from .budget import check_output, estimate_table
from .errors import DatasetError
from .limits import Limits
from .weights_export import snippets, weights_json
from .zip_export import balanced_zip, write_balanced_zip

__all__ = [
    "FORMULA_PREFIXES",
    "balanced_zip",
    "snippets",
    "table_csv",
    "table_parquet",
    "weights_json",
    "write_atomic",
    "write_atomic_many",
    "write_balanced_zip",
    "write_table_csv",
]

_NEW_FILE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)

#: First characters that make a spreadsheet run a cell as a formula (OWASP).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
_FORMULA_PATTERN = r"^[=+\-@\t\r]"


def _bad(message: str, kind: str = "bad_parameter") -> DatasetError:
    return DatasetError(message, kind=kind)


def _check_table(table: Any, what: str) -> pa.Table:
    if not isinstance(table, pa.Table):
        raise _bad(f"{what} must be a pyarrow.Table, got {type(table).__name__}.")
    return table


# --------------------------------------------------------------------------- tables


_SIGNED_NUMBER = r"^[+-](\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$"


def _neutralise_chunk(chunk: pa.Array) -> pa.Array:
    """Prefix ``'`` to the cells of a string chunk that start like a formula.

    Only the matching cells are rebuilt (filter, join, replace_with_mask), so a
    column with few dangerous cells costs one regex pass."""
    if not _may_start_like_formula(chunk):
        return chunk
    mask = pc.match_substring_regex(chunk, _FORMULA_PATTERN).fill_null(False)
    if pc.any(mask).as_py():
        # A plain signed number ("-1", "+0.5") is a value, not a formula, in every
        # spreadsheet: leave it alone so binary labels like -1/+1 survive.
        plain = pc.match_substring_regex(chunk, _SIGNED_NUMBER).fill_null(False)
        mask = pc.and_(mask, pc.invert(plain))
    if not pc.any(mask).as_py():
        return chunk
    quote, nothing = pa.scalar("'", chunk.type), pa.scalar("", chunk.type)
    quoted = pc.binary_join_element_wise(quote, chunk.filter(mask), nothing)
    return pc.replace_with_mask(chunk, mask, quoted)


_PREFIX_BYTES = np.zeros(256, dtype=bool)
_PREFIX_BYTES[[ord(c) for c in FORMULA_PREFIXES]] = True


def _may_start_like_formula(chunk: pa.Array) -> bool:
    """Whether some cell's first byte is a formula prefix: a look at one byte per cell
    through the offsets buffer instead of a regex over every cell. Sliced or null cells
    only make it answer True more often (the regex then decides)."""
    if not (pa.types.is_string(chunk.type) or pa.types.is_large_string(chunk.type)):
        return True
    _, offsets_buffer, data_buffer = chunk.buffers()
    if data_buffer is None or len(chunk) == 0:
        return False
    kind = np.int32 if pa.types.is_string(chunk.type) else np.int64
    # count= bounds the view: a buffer may be padded past the last offset.
    offsets = np.frombuffer(offsets_buffer, dtype=kind, count=chunk.offset + len(chunk) + 1)[
        chunk.offset :
    ]
    data = np.frombuffer(data_buffer, dtype=np.uint8)
    starts = offsets[:-1][offsets[1:] > offsets[:-1]]  # non-empty cells
    return bool(_PREFIX_BYTES[data[starts]].any())


def _neutralise_name(name: str) -> str:
    return "'" + name if name.startswith(FORMULA_PREFIXES) else name


def _to_json_text(value: Any) -> str | None:
    if value is None:
        return None
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def _csv_column(column: pa.ChunkedArray, neutralise: bool) -> pa.ChunkedArray:
    """A column the CSV writer accepts, with text cells neutralised when asked."""
    kind = column.type
    if pa.types.is_dictionary(kind):
        column = column.cast(kind.value_type)
        kind = column.type
    if pa.types.is_string_view(kind):
        column = column.cast(pa.large_string())
    elif pa.types.is_binary_view(kind) or pa.types.is_fixed_size_binary(kind):
        column = column.cast(pa.large_binary())
    kind = column.type
    if pa.types.is_binary(kind) or pa.types.is_large_binary(kind):
        target = pa.string() if pa.types.is_binary(kind) else pa.large_string()
        try:
            column = column.cast(target)  # validates UTF-8
        except pa.ArrowInvalid:
            hexed = [None if v is None else "0x" + v.hex() for v in column.to_pylist()]
            column = pa.chunked_array([pa.array(hexed, pa.large_string())])
    elif pa.types.is_nested(kind) or pa.types.is_union(kind):
        text = [_to_json_text(v) for v in column.to_pylist()]
        column = pa.chunked_array([pa.array(text, pa.large_string())])
    if neutralise and (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
        column = pa.chunked_array(
            [_neutralise_chunk(chunk) for chunk in column.chunks], type=column.type
        )
    return column


def write_table_csv(
    table: pa.Table,
    sink: str | Path | BinaryIO | pa.NativeFile,
    *,
    neutralize_formulas: bool = True,
    limits: Limits | None = None,
) -> None:
    """:func:`table_csv` written straight into ``sink`` (a path or a binary file), so a
    manifest of millions of rows is never held in memory twice. ``limits`` bound its
    rows and estimated bytes (:func:`balance_core.budget.check_output`) before the
    first byte is written."""
    table = _check_table(table, "The table to write as CSV")
    check_output(estimate_table(table), limits=limits, what="The CSV file")
    columns = [_csv_column(column, neutralize_formulas) for column in table.columns]
    names = [_neutralise_name(n) if neutralize_formulas else n for n in table.column_names]
    pacsv.write_csv(
        pa.Table.from_arrays(columns, names=names),
        sink,
        write_options=pacsv.WriteOptions(
            include_header=True, delimiter=",", eol="\r\n", quoting_style="needed"
        ),
    )


def table_csv(
    table: pa.Table, *, neutralize_formulas: bool = True, limits: Limits | None = None
) -> bytes:
    """A table as UTF-8 CSV (RFC 4180), safe to open in a spreadsheet.

    The header row comes first; every line ends with CRLF; text fields are always
    enclosed in double quotes (which RFC 4180 allows, and which keeps an empty
    string ``""`` apart from a null, written as an empty unquoted field); quotes
    inside a field are doubled. Numbers, booleans and dates are written bare.
    Nested values (lists, structs) are written as JSON text; binary values as text
    when they are valid UTF-8, else as ``0x`` + hex.

    Parameters
    ----------
    table : pyarrow.Table
    neutralize_formulas : bool, default True
        Prefix a single quote ``'`` to every text cell (and column name) that starts
        with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return, so that
        Excel, LibreOffice and Google Sheets show it as text instead of running it
        as a formula (OWASP's advice against CSV injection). Numeric columns are
        never changed, but note that a text label such as ``"-1"`` becomes
        ``"'-1"``: turn this off for files that only programs will read.
    limits : Limits, optional
        ``max_output_rows`` and ``max_output_bytes`` (default
        :data:`~balance_core.DEFAULT_LIMITS`), checked before writing.

    Returns
    -------
    bytes
        The same bytes for the same table.

    References
    ----------
    Shafranovich, Y. (2005). RFC 4180: Common format and MIME type for
    comma-separated values (CSV) files.
    OWASP Foundation. CSV Injection. https://owasp.org/www-community/attacks/CSV_Injection
    """
    sink = pa.BufferOutputStream()
    write_table_csv(table, sink, neutralize_formulas=neutralize_formulas, limits=limits)
    return sink.getvalue().to_pybytes()


def table_parquet(table: pa.Table, *, limits: Limits | None = None) -> bytes:
    """A table as Parquet with the values exactly as they are (no neutralisation).

    Parameters
    ----------
    table : pyarrow.Table
    limits : Limits, optional
        ``max_output_rows`` and ``max_output_bytes``, checked before writing.

    Returns
    -------
    bytes
        The same bytes for the same table and pyarrow version (snappy compression,
        statistics, the Arrow schema stored so types come back exactly).
    """
    table = _check_table(table, "The table to write as Parquet")
    check_output(estimate_table(table), limits=limits, what="The Parquet file")
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, compression="snappy", store_schema=True)
    return sink.getvalue().to_pybytes()


# --------------------------------------------------------------------------- files


def write_atomic(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that the file is either complete or untouched.

    The bytes go to a new temporary file in the same folder, are flushed to disk
    (``fsync``) and then moved over ``path`` with ``os.replace``, which is atomic.
    On any failure the temporary file is removed and an existing ``path`` keeps
    its old content. A new file gets the usual permissions (0666 minus the
    umask); a replaced file keeps its permissions.

    Parameters
    ----------
    path : str or pathlib.Path
    data : bytes
        Also ``bytearray`` or ``memoryview``.

    Raises
    ------
    TypeError
        When ``data`` is not bytes-like (nothing is written).
    DatasetError
        ``kind="write_failed"`` when the file cannot be written (no such folder,
        no permission, disk full, ...), with the operating system's reason.
    """
    write_atomic_many([(path, data)])


def write_atomic_many(
    files: Sequence[tuple[str | Path, bytes | Callable[[BinaryIO], None]]],
) -> None:
    """Write several files so that a failure leaves every one of them untouched.

    Each file is written as :func:`write_atomic` writes one, but no file is moved
    into place before every temporary file is complete and flushed: a full disk,
    a missing permission or a folder where a file should go changes nothing.
    (Only a failure of ``os.replace`` itself between two renames, which the
    checks before it make unlikely, could leave the first files replaced.)
    A target that exists and is not a regular file (``/dev/null``, ``/dev/full``,
    a FIFO) is written into directly, after the regular files are staged: it is
    never replaced by a regular file, and a failure to write it (``/dev/full``)
    leaves the regular files untouched.

    Parameters
    ----------
    files : sequence of (path, data)
        ``data`` is bytes, or a function that writes the content into the open
        temporary file it is given (a large CSV streamed by
        :func:`write_table_csv`); whatever it raises leaves every output untouched.

    Raises
    ------
    TypeError
        When some data is neither bytes-like nor callable (nothing is written).
    DatasetError
        ``kind="write_failed"``, naming the file that could not be written.
    """
    for _, data in files:
        if not (isinstance(data, (bytes, bytearray, memoryview)) or callable(data)):
            raise TypeError(f"write_atomic writes bytes, got {type(data).__name__}.")
    staged: list[tuple[Path, Path]] = []  # (temporary file, target)
    devices: list[tuple[Path, Any]] = []  # written last, straight into the device
    target = Path()
    try:
        for path, data in files:
            target = Path(path)
            if target.is_dir():
                raise IsADirectoryError(21, "Is a directory")
            status = _status(target)
            if status is not None and not stat.S_ISREG(status.st_mode):
                # /dev/null, /dev/stdout, a FIFO: a rename would replace the node with
                # a regular file, so the bytes go into it as they are.
                devices.append((target, data))
                continue
            mode = stat.S_IMODE(status.st_mode) if status is not None else None
            temp, fd = _new_temp(target)
            staged.append((temp, target))
            with os.fdopen(fd, "wb") as handle:
                _write_into(handle, data)
                handle.flush()
                os.fsync(handle.fileno())
            if mode is not None:
                os.chmod(temp, mode)
        for device, data in devices:
            target = device
            with open(device, "wb", buffering=0) as handle:
                _write_into(handle, data)
        while staged:
            temp, target = staged[0]
            os.replace(temp, target)
            staged.pop(0)
            _sync_folder(target.parent)
    except OSError as error:
        reason = error.strerror or str(error)
        raise _bad(f"Cannot write {str(target)!r}: {reason}.", "write_failed") from error
    finally:
        for temp, _ in staged:
            with contextlib.suppress(OSError):
                temp.unlink(missing_ok=True)


def _status(target: Path) -> os.stat_result | None:
    try:
        return target.stat()
    except FileNotFoundError:
        return None


def _write_into(handle: BinaryIO, data: Any) -> None:
    if callable(data):
        data(handle)  # streams into the file (e.g. a big CSV)
    else:
        view = memoryview(data)
        while view:  # an unbuffered device may take fewer bytes than given
            written = handle.write(view)
            view = view[written or 0 :] if written is not None else view[:0]


def _new_temp(target: Path) -> tuple[Path, int]:
    """A new, empty temporary file beside ``target``, opened for writing."""
    while True:
        # A short prefix of the name: a target near the file-name limit still gets one.
        temp = target.parent / f".{target.name[:64]}.{secrets.token_hex(6)}.tmp"
        try:
            return temp, os.open(temp, _NEW_FILE, 0o666)
        except FileExistsError:
            continue


def _sync_folder(folder: Path) -> None:
    """Make the rename durable (POSIX); a no-op where folders cannot be opened."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        with contextlib.suppress(OSError):
            os.fsync(fd)
    finally:
        os.close(fd)
