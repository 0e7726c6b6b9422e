"""Export: the bytes a user downloads, and a safe way to write them to disk.

- :func:`table_csv` and :func:`table_parquet` turn a manifest (or the dropped rows)
  into a file; the CSV is neutralised against spreadsheet formula injection.
- :func:`weights_json` and :func:`snippets` hand class weights to training code.
- :func:`balanced_zip` repacks a zip of image folders with exactly the manifest's
  files, copying the compressed bytes as they are.
- :func:`write_atomic` writes a file so that it is either complete or untouched, and
  :func:`write_atomic_many` several, none of which changes unless all can be written.

Every function returns the same bytes for the same input.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import os
import posixpath
import secrets
import stat
import struct
import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from ._version import __version__
from .errors import DatasetError
from .plan import ClassWeights, SamplerWeights

__all__ = [
    "FORMULA_PREFIXES",
    "balanced_zip",
    "snippets",
    "table_csv",
    "table_parquet",
    "weights_json",
    "write_atomic",
    "write_atomic_many",
    "write_table_csv",
]

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
) -> None:
    """:func:`table_csv` written straight into ``sink`` (a path or a binary file), so a
    manifest of millions of rows is never held in memory twice."""
    table = _check_table(table, "The table to write as CSV")
    columns = [_csv_column(column, neutralize_formulas) for column in table.columns]
    names = [_neutralise_name(n) if neutralize_formulas else n for n in table.column_names]
    pacsv.write_csv(
        pa.Table.from_arrays(columns, names=names),
        sink,
        write_options=pacsv.WriteOptions(
            include_header=True, delimiter=",", eol="\r\n", quoting_style="needed"
        ),
    )


def table_csv(table: pa.Table, *, neutralize_formulas: bool = True) -> bytes:
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
    write_table_csv(table, sink, neutralize_formulas=neutralize_formulas)
    return sink.getvalue().to_pybytes()


def table_parquet(table: pa.Table) -> bytes:
    """A table as Parquet with the values exactly as they are (no neutralisation).

    Parameters
    ----------
    table : pyarrow.Table

    Returns
    -------
    bytes
        The same bytes for the same table and pyarrow version (snappy compression,
        statistics, the Arrow schema stored so types come back exactly).
    """
    table = _check_table(table, "The table to write as Parquet")
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, compression="snappy", store_schema=True)
    return sink.getvalue().to_pybytes()


# --------------------------------------------------------------------------- weights


def _finite(value: float, what: str) -> float:
    number = float(value)
    if not math.isfinite(number):
        raise _bad(f"{what} must be a finite number, got {number!r}.")
    return number


def _weights_section(weights: ClassWeights) -> dict[str, Any]:
    classes = list(weights.labels)
    return {
        "method": weights.method,
        "params": dict(weights.params),
        "classes": classes,
        "class_to_index": {label: index for index, label in enumerate(classes)},
        "counts": {label: int(n) for label, n in weights.counts.items()},
        "weights": {k: _finite(w, f"The weight of {k!r}") for k, w in weights.weights.items()},
        "weights_by_index": [_finite(w, "A class weight") for w in weights.as_list],
        "loss_share_before": dict(weights.loss_share_before),
        "loss_share_after": dict(weights.loss_share_after),
        "spread": _finite(weights.spread, "The weight spread"),
        "clipped": list(weights.clipped),
        "warnings": list(weights.warnings),
    }


def weights_json(weights: ClassWeights, *, sampler: SamplerWeights | None = None) -> bytes:
    """Class weights as a JSON file that training code can load.

    Keys: ``method``, ``params``, ``classes`` (class index order = sorted labels,
    as torchvision's ``ImageFolder``, Keras and scikit-learn's ``LabelEncoder``
    number them), ``class_to_index``, ``counts``, ``weights`` (by label),
    ``weights_by_index``, ``loss_share_before`` (n_c / N), ``loss_share_after``
    (n_c w_c / sum_j n_j w_j), ``spread`` (max / min weight), ``clipped``,
    ``warnings``, ``seesaw_version``, and with ``sampler`` a ``sampler`` object:
    ``method``, ``sample_weight`` (the weight of one sample of each class),
    ``sample_weight_by_index``, ``num_samples``, ``replacement``, ``draw_share``,
    ``expected_distinct`` (per class, n_c (1 - (1 - p_c)^M)),
    ``expected_distinct_total`` and ``warnings``.

    Parameters
    ----------
    weights : ClassWeights
    sampler : SamplerWeights, optional
        Per-sample weights for ``WeightedRandomSampler`` on the same classes and
        counts.

    Returns
    -------
    bytes
        UTF-8 JSON, keys sorted, floats written with full precision (``repr``),
        never NaN or Infinity; the same bytes for the same input.
    """
    if not isinstance(weights, ClassWeights):
        raise _bad(f"weights must be ClassWeights, got {type(weights).__name__}.")
    document = _weights_section(weights)
    document["seesaw_version"] = __version__
    if sampler is not None:
        if not isinstance(sampler, SamplerWeights):
            raise _bad(f"sampler must be SamplerWeights, got {type(sampler).__name__}.")
        own = sampler.class_weights
        if own.counts != weights.counts:
            raise _bad(
                "The sampler weights were made for other class counts than the class "
                "weights; make both from the same counts."
            )
        document["sampler"] = {
            "method": own.method,
            "sample_weight": {k: _finite(w, f"The sample weight of {k!r}") for k, w in
                              own.weights.items()},
            "sample_weight_by_index": [_finite(w, "A sample weight") for w in own.as_list],
            "num_samples": int(sampler.num_samples),
            "replacement": True,
            "draw_share": dict(sampler.draw_share),
            "expected_distinct": dict(sampler.expected_distinct),
            "expected_distinct_total": float(sampler.expected_distinct_total),
            "warnings": list(sampler.warnings),
        }  # fmt: skip
    try:
        text = json.dumps(document, allow_nan=False, sort_keys=True, indent=2, ensure_ascii=False)
    except ValueError as error:  # NaN or Infinity somewhere
        raise _bad(f"The weights hold a value that is not a finite number ({error}).") from error
    return (text + "\n").encode("utf-8")


# --------------------------------------------------------------------------- snippets


def _number(value: float) -> str:
    """A float literal that reads back to the same float."""
    return repr(_finite(value, "A weight"))


def _index_comment(labels: tuple[str, ...], indent: str = "#   ") -> str:
    # repr() escapes newlines and quotes: a label cannot end the comment line.
    return "\n".join(f"{indent}{index}: {label!r}" for index, label in enumerate(labels))


def _scale_pos_weight(weights: ClassWeights) -> tuple[float, str]:
    """XGBoost/LightGBM's ``scale_pos_weight`` for two classes, and how it was made."""
    negative, positive = weights.labels
    n_neg, n_pos = weights.counts[negative], weights.counts[positive]
    from_counts = n_neg / n_pos
    ratio = weights.weights[positive] / weights.weights[negative]
    if math.isclose(ratio, from_counts, rel_tol=1e-12):
        return from_counts, f"n_negative / n_positive = {n_neg} / {n_pos}"
    return ratio, (
        f"weight of {positive!r} / weight of {negative!r} as chosen ({weights.method!r}"
        f"{', clipped' if weights.clipped else ''}); n_negative / n_positive would be "
        f"{n_neg} / {n_pos} = {from_counts!r}"
    )


def snippets(weights: ClassWeights, *, sampler: SamplerWeights | None = None) -> dict[str, str]:
    """Code that puts the class weights into common training libraries.

    Class index order is sorted label order (torchvision ``ImageFolder``, Keras
    ``image_dataset_from_directory``, scikit-learn ``LabelEncoder``). Labels are
    written as Python string literals (``repr``), so no label can break out of
    its string or comment; floats are written with ``repr`` so they read back
    exactly.

    Parameters
    ----------
    weights : ClassWeights
    sampler : SamplerWeights, optional
        For ``pytorch_sampler``: its per-class sample weights and ``num_samples``.
        Without it, ``weights`` serve as the sample weights and an epoch draws as
        many samples as there are.

    Returns
    -------
    dict of str to str
        ``pytorch`` (``CrossEntropyLoss(weight=...)``), ``pytorch_sampler``
        (``WeightedRandomSampler``), ``keras`` (``class_weight`` by index),
        ``sklearn`` (``class_weight`` by label), and for exactly two classes
        ``xgboost`` and ``lightgbm`` (``scale_pos_weight``; the positive class is
        the second label in sorted order, class index 1).
    """
    if not isinstance(weights, ClassWeights):
        raise _bad(f"weights must be ClassWeights, got {type(weights).__name__}.")
    labels = weights.labels
    values = ", ".join(_number(w) for w in weights.as_list)
    comment = _index_comment(labels)
    result = {
        "pytorch": (
            "import torch\n\n"
            f"# Class weights ({weights.method!r}) in class index order (sorted labels, as\n"
            "# torchvision ImageFolder numbers the classes):\n"
            f"{comment}\n"
            f"criterion = torch.nn.CrossEntropyLoss(weight=torch.tensor([{values}]))\n"
        ),
    }
    source = sampler.class_weights if sampler is not None else weights
    if sampler is not None and source.labels != labels:
        raise _bad("The sampler weights are for other classes than the class weights.")
    draws = (
        f"num_samples={int(sampler.num_samples)}"
        if sampler is not None
        else "num_samples=len(sample_weights)"
    )
    sample_values = ", ".join(_number(w) for w in source.as_list)
    result["pytorch_sampler"] = (
        "import torch\n"
        "from torch.utils.data import DataLoader, WeightedRandomSampler\n\n"
        "# Weight of one sample of each class, in class index order:\n"
        f"{_index_comment(source.labels)}\n"
        f"class_sample_weight = torch.tensor([{sample_values}], dtype=torch.double)\n"
        "# labels: the class index of every training sample (a list or tensor of ints).\n"
        "sample_weights = class_sample_weight[torch.as_tensor(labels, dtype=torch.long)]\n"
        f"sampler = WeightedRandomSampler(sample_weights, {draws}, replacement=True)\n"
        "loader = DataLoader(train_dataset, batch_size=32, sampler=sampler)  # no shuffle=True\n"
    )
    by_index = ", ".join(f"{i}: {_number(w)}" for i, w in enumerate(weights.as_list))
    result["keras"] = (
        "# Keys are class indices (sorted labels, as image_dataset_from_directory):\n"
        f"{comment}\n"
        f"class_weight = {{{by_index}}}\n"
        "model.fit(train_ds, epochs=10, class_weight=class_weight)\n"
    )
    by_label = ", ".join(f"{label!r}: {_number(weights.weights[label])}" for label in labels)
    result["sklearn"] = (
        "from sklearn.linear_model import LogisticRegression\n\n"
        "# Keys are the labels exactly as they appear in y.\n"
        f"class_weight = {{{by_label}}}\n"
        "model = LogisticRegression(class_weight=class_weight)\n"
    )
    if len(labels) == 2:
        value, how = _scale_pos_weight(weights)
        header = (
            f"# Positive class: {labels[1]!r} (class index 1, the second label in sorted\n"
            f"# order, as LabelEncoder encodes it); negative: {labels[0]!r} (index 0).\n"
            f"# scale_pos_weight = {how}\n"
            f"scale_pos_weight = {_number(value)}\n"
        )
        result["xgboost"] = (
            "import xgboost as xgb\n\n"
            f"{header}"
            "model = xgb.XGBClassifier(scale_pos_weight=scale_pos_weight)\n"
        )
        result["lightgbm"] = (
            "import lightgbm as lgb\n\n"
            f"{header}"
            "model = lgb.LGBMClassifier(scale_pos_weight=scale_pos_weight)\n"
        )
    return result


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
_NEW_FILE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)


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


def _raw_data(handle: BinaryIO, info: zipfile.ZipInfo, size: int, name: str) -> bytes:
    """The compressed bytes of one entry, found through its local header."""
    handle.seek(info.header_offset)
    header = handle.read(_LOCAL.size)
    if len(header) != _LOCAL.size or header[:4] != b"PK\x03\x04":
        raise _bad(f"The zip is damaged: the entry {name!r} has no local header.", "corrupt_zip")
    name_len, extra_len = struct.unpack_from("<2H", header, 26)
    start = info.header_offset + _LOCAL.size + name_len + extra_len
    if start + info.compress_size > size:
        raise _bad(f"The zip is damaged: the entry {name!r} is cut short.", "corrupt_zip")
    handle.seek(start)
    return handle.read(info.compress_size)


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


def balanced_zip(source: bytes | str | Path, manifest: pa.Table) -> bytes:
    """A zip holding exactly the manifest's files, copied without recompressing.

    Each manifest row becomes one entry, in manifest order, under the same folder
    layout as in ``source``. Oversampled duplicates (``copy`` > 0) are named
    ``<stem>__copy<k><suffix>`` in the same folder (``k`` the copy number, or the
    next free number should that name be taken). The compressed bytes, CRC-32,
    sizes, compression method and modification time of every entry are taken from
    ``source`` unchanged; headers and the central directory are written anew
    (UTF-8 names, regular-file permissions 0644, no data descriptors, zip64 records
    only where sizes or counts need them). Nothing is decompressed or extracted.

    Parameters
    ----------
    source : bytes, str or pathlib.Path
        The zip the dataset was read from. Only its central directory and the
        data of the listed entries are read.
    manifest : pyarrow.Table
        With a ``path`` column (names inside ``source``, as Seesaw's zip reader
        reports them) and optionally ``copy`` (see
        :class:`balance_core.apply.Resampled`).

    Returns
    -------
    bytes
        The new zip; the same bytes for the same source and manifest.

    Raises
    ------
    DatasetError
        ``kind="missing_file"`` when a path is not a file of the zip;
        ``"duplicate_entry"`` when the zip holds several files under that path;
        ``"unsafe_entry"`` for a path that could escape the folder it is unpacked
        in; ``"encrypted"`` for an encrypted entry; ``"not_a_zip"`` or
        ``"corrupt_zip"`` when ``source`` cannot be read as a zip.
    """
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
        for info in archive.infolist():
            if not info.is_dir():
                name = _source_name(info)
                if name in entries:
                    repeated.add(name)
                entries.setdefault(name, info)
        parts: list[bytes] = []
        directory: list[bytes] = []
        offset = 0
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
            data = _raw_data(handle, info, size, path)
            local, central = _entry_records(info, name, offset)
            parts += (local, data)
            directory.append(central)
            offset += len(local) + len(data)
    central_bytes = b"".join(directory)
    parts += (central_bytes, _end_records(len(directory), offset, len(central_bytes)))
    return b"".join(parts)


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
    target = Path()
    try:
        for path, data in files:
            target = Path(path)
            if target.is_dir():
                raise IsADirectoryError(21, "Is a directory")
            mode = stat.S_IMODE(target.stat().st_mode) if target.is_file() else None
            temp, fd = _new_temp(target)
            staged.append((temp, target))
            with os.fdopen(fd, "wb") as handle:
                if callable(data):
                    data(handle)  # streams into the file (e.g. a big CSV)
                else:
                    handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            if mode is not None:
                os.chmod(temp, mode)
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


def _new_temp(target: Path) -> tuple[Path, int]:
    """A new, empty temporary file beside ``target``, opened for writing."""
    while True:
        temp = target.parent / f".{target.name}.{secrets.token_hex(6)}.tmp"
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
