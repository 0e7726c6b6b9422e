"""Seesaw on Apache Spark: the same counts and the same chosen rows as the pandas engine."""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..apply import LabelMapping, _check_mapping
from ..dataset import ColumnRoles, Finding, FindingKind, Severity, Source
from ..errors import DatasetError
from ..plan import SamplingPlan
from ..stats import Distribution

# pyspark warns about pandas 3 when it converts to Arrow; Seesaw's Spark path uses no pandas.
warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas")

try:  # optional: every entry point calls _require_spark first
    from pyspark.sql import functions as F
except ImportError:  # pragma: no cover - the message is _require_spark's
    F = None

__all__ = [
    "SparkDataset",
    "SparkInput",
    "read_spark",
    "spark_counts",
    "spark_distribution",
    "spark_findings",
    "spark_fingerprint",
    "spark_gate",
    "spark_resample",
    "spark_sample_weights",
    "spark_session",
    "spark_source",
    "spark_split_findings",
    "spark_split_names",
]


def _require_spark():
    try:
        import pyspark  # noqa: F401
    except ImportError:
        raise DatasetError(
            "The Spark engine needs pyspark: pip install -r requirements-spark.txt.",
            kind="missing_dependency",
        ) from None


def spark_session(*, master: str | None = None, conf: Mapping[str, str] | None = None):
    """A Spark session (``getOrCreate``) with Seesaw's settings and ``conf`` applied.

    ``master`` None leaves it to ``spark-submit --master`` (``local[*]`` when run
    with plain Python)."""
    _require_spark()
    import shutil

    if shutil.which("java") is None and not __import__("os").environ.get("JAVA_HOME"):
        raise DatasetError(
            "The Spark engine needs Java 17 or newer: apt-get install openjdk-17-jre-headless.",
            kind="missing_dependency",
        )
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.appName("seesaw")
    if master is not None:
        builder = builder.master(master)
    settings = {
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        "spark.sql.session.timeZone": "UTC",
    }
    settings.update(conf or {})
    for key, value in settings.items():
        builder = builder.config(key, value)
    try:
        session = builder.getOrCreate()
    except Exception as error:  # the JVM did not start (no Java, bad --conf)
        raise DatasetError(
            f"Spark did not start ({str(error).splitlines()[0][:200]}); check Java 17 and the "
            "--master/--conf options.",
            kind="missing_dependency",
        ) from None
    session.sparkContext.setLogLevel("ERROR")
    return session


# --------------------------------------------------------------------------- reading

FORMATS = ("parquet", "csv", "json")
_SUFFIXES = {".parquet": "parquet", ".csv": "csv", ".json": "json", ".jsonl": "json",
             ".ndjson": "json"}  # fmt: skip
ROLE_SAMPLE_ROWS = 2000
"""Rows the role guess looks at (the only rows that reach the driver)."""


@dataclass(frozen=True, kw_only=True)
class SparkDataset:
    """A table read by Spark, with its column roles and the row identity.

    Attributes
    ----------
    frame : pyspark.sql.DataFrame
        The user's columns as read, plus ``_seesaw_pos`` (a row's position in its
        single input file) when no key column identifies rows.
    roles : ColumnRoles
    key_col : str or None
        The column whose value is a row's identity (the path column by default);
        None: the position in the single input file.
    name : str
    format : str
        As the pandas readers name it: ``csv``, ``tsv``, ``jsonl``, ``json`` or
        ``parquet`` (empty when not known).
    files : tuple of str
        The files Spark read (URIs), sorted.
    delimiter : str or None
        The field delimiter of delimited text (sniffed from the first part of a
        local input, as the pandas reader sniffs it); None for other formats.
    """

    frame: Any
    roles: ColumnRoles
    key_col: str | None
    name: str
    format: str = ""
    files: tuple[str, ...] = ()
    delimiter: str | None = None

    @property
    def columns(self) -> list[str]:
        return [c for c in self.frame.columns if c != POSITION]


POSITION = "_seesaw_pos"


INPUT_FORMATS = {"table": None, "csv": "csv", "tsv": "csv", "json": "json", "jsonl": "json",
                 "parquet": "parquet"}  # fmt: skip
"""``--format`` values the Spark engine reads (``table``: from the file names)."""


def _format_of(path: str, spark) -> str:
    base = path.rstrip("/")
    suffix = Path(base.replace("*", "")).suffix.lower()
    if suffix in _SUFFIXES:
        return _SUFFIXES[suffix]
    folder = Path(base)
    if folder.is_dir():
        for child in sorted(folder.iterdir()):
            if child.suffix.lower() in _SUFFIXES and not child.name.startswith(("_", ".")):
                return _SUFFIXES[child.suffix.lower()]
    raise DatasetError(
        f"Cannot tell the format of {path!r}; give Parquet, CSV or JSON lines files "
        "(.parquet, .csv, .json, .jsonl), a folder of them, or a glob.",
        kind="unknown_format",
    )


def read_spark(
    spark,
    path: str,
    *,
    label_col: str | None = None,
    path_col: str | None = None,
    split_col: str | None = None,
    group_col: str | None = None,
    key_col: str | None = None,
    format: str | None = None,
    identity: bool = True,
) -> SparkDataset:
    """Read Parquet, CSV (header row, cells as text) or JSON lines: a file, a folder
    of parts or a glob, from any URI the session reads.

    The row identity is ``key_col``, else the path column; without either the input
    must be one file, and a row's position in it is its identity (as on pandas).
    ``format`` (``csv``, ``tsv``, ``json``, ``jsonl``, ``parquet`` or ``table``)
    skips the guess from the file names; ``json`` is one JSON array of objects (or
    JSON lines), ``jsonl`` JSON lines. The formats Spark cannot read here (``xlsx``,
    zips, COCO, YOLO, VOC) are refused in one sentence.

    Delimited text is read as UTF-8. For a local input (a file, a folder of parts
    or a glob) the delimiter is sniffed from the first part's first 64 KiB with the
    pandas reader's :func:`~balance_core.readers.delimited.sniff_delimiter`, and a
    first part that is not UTF-8 is refused (convert it) rather than read as
    mojibake; other URIs get ``,`` (tab for ``format="tsv"``).

    ``identity=False`` (counts only, e.g. the check gate) needs no row identity:
    several files without a path or key column are fine and no position is added."""
    local = "://" not in path
    if local and not any(ch in path for ch in "*?[") and not Path(path).exists():
        raise DatasetError(
            f"The input {path!r} does not exist; check the path.", kind="file_not_found"
        )
    if format is not None and format not in INPUT_FORMATS:
        raise DatasetError(
            f"The Spark engine reads tables only (--format {', '.join(INPUT_FORMATS)}), not "
            f"{format!r}; drop --engine spark to read it with the pandas engine.",
            kind="usage",
        )
    fmt = INPUT_FORMATS.get(format) or _format_of(path, spark)
    reader = spark.read
    shown = {"csv": "csv", "json": "jsonl", "parquet": "parquet"}[fmt]
    sep = None
    if fmt == "csv":
        sep = _sniff_local(path, format) if local else ("\t" if format == "tsv" else ",")
    try:
        if fmt == "csv":
            shown = "tsv" if format == "tsv" else "csv"
            frame = (
                reader.option("header", True)
                .option("inferSchema", False)
                .option("sep", sep)
                # RFC 4180 as the pandas reader takes it: "" is a quote inside a quoted
                # cell (Spark's default escape is a backslash), and a quoted cell may hold
                # line breaks (multiLine: each file is then read by one task).
                .option("quote", '"')
                .option("escape", '"')
                .option("multiLine", True)
            ).csv(path)
        elif fmt == "json":
            frame = reader.option("primitivesAsString", True).json(path)
            if format != "jsonl" and (
                frame.columns == ["_corrupt_record"] or _starts_with_array(frame.inputFiles())
            ):
                # Not JSON lines: one JSON array of objects, as the pandas reader takes it.
                frame = (
                    reader.option("primitivesAsString", True).option("multiLine", True).json(path)
                )
                shown = "json"
        else:
            frame = reader.parquet(path)
        files = frame.inputFiles()
    except Exception as error:
        raise DatasetError(
            f"Spark cannot read {path!r} as {fmt} ({_first_line(error)}); check the files.",
            kind="unreadable",
        ) from None
    if not frame.columns or (fmt == "json" and frame.columns == ["_corrupt_record"]):
        raise DatasetError(f"{path!r} holds no columns Seesaw can read.", kind="empty")
    sample = frame.select([F.col(f"`{c}`").cast("string").alias(c) for c in frame.columns])
    table = sample.limit(ROLE_SAMPLE_ROWS).toArrow()
    if table.num_rows == 0:
        raise DatasetError(f"{path!r} has no rows.", kind="empty")
    from ..readers.roles import guess_roles

    roles = guess_roles(
        table, label_col=label_col, path_col=path_col, split_col=split_col, group_col=group_col
    )
    if key_col is not None and key_col not in frame.columns:
        raise DatasetError(
            f"There is no key column {key_col!r}; the columns are "
            f"{', '.join(map(repr, frame.columns))}.",
            kind="unknown_column",
        )
    key = key_col or roles.path
    if key is None and identity:
        if len(files) != 1:
            raise DatasetError(
                f"{path!r} has {len(files)} files and no path column, so rows have no stable "
                "identity; name a column that identifies each row with --key-col.",
                kind="bad_parameter",
            )
        frame = _with_position(frame)
    return SparkDataset(frame=frame, roles=roles, key_col=key, name=Path(path.rstrip("/")).name,
                        format=shown, files=tuple(sorted(files)),
                        delimiter=sep)  # fmt: skip


def _first_part(path: str) -> Path | None:
    """The first file (in name order) Spark reads for a local file, folder or glob:
    hidden names (``_``, ``.``) skipped as Spark skips them; None when none is found
    (Spark's own error then says so)."""
    import glob

    if any(ch in path for ch in "*?["):
        roots = [Path(p) for p in sorted(glob.glob(path))]
    else:
        roots = [Path(path)]
    for root in roots:
        if root.is_file():
            return root
        if root.is_dir():
            for folder, _, names in _sorted_walk(root):
                for name in names:
                    return Path(folder) / name
    return None


def _sorted_walk(root: Path):
    """``os.walk`` in name order, hidden files and folders left out."""
    import os

    for folder, dirs, names in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith(("_", ".")))
        yield folder, dirs, sorted(n for n in names if not n.startswith(("_", ".")))


def _sniff_local(path: str, format: str | None) -> str:
    """The delimiter of a local delimited input, from its first part's head (the
    pandas reader's sample and sniffer); a first part that is not UTF-8 is refused."""
    from ..readers.delimited import _head_through_header, sniff_delimiter
    from ..readers.sources import open_input
    from ..readers.text import decode_prefix, looks_utf16

    prefer = "\t" if format == "tsv" else None
    first = _first_part(path)
    if first is None:
        return prefer or ","
    head = _head_through_header(open_input(first))
    try:
        if looks_utf16(head) or b"\x00" in head:
            raise UnicodeDecodeError("utf-8", head, 0, 1, "NUL bytes")
        sample = decode_prefix(head, "utf-8-sig")
    except UnicodeDecodeError:
        raise DatasetError(
            f"{first.name!r} is not UTF-8 text, and the Spark engine reads delimited text "
            "as UTF-8 only; convert the file(s) to UTF-8 (or drop --engine spark to read "
            "it with the pandas engine).",
            kind="encoding",
        ) from None
    return sniff_delimiter(sample.removeprefix("\ufeff"), prefer=prefer)


def _starts_with_array(files: list[str]) -> bool:
    """Whether the first (local) file is one JSON array rather than JSON lines."""
    local = _local_path(sorted(files)[0]) if files else None
    if local is None:
        return False
    with local.open("rb") as handle:
        head = handle.read(4096).lstrip(b"\xef\xbb\xbf \t\r\n")
    return head.startswith(b"[")


def _local_path(uri: str) -> Path | None:
    from urllib.parse import unquote, urlparse

    parsed = urlparse(uri)
    if parsed.scheme in ("", "file"):
        return Path(unquote(parsed.path))
    return None


def _sizes(sd: SparkDataset) -> list[int]:
    """Each input file's size in bytes (local files: stat; other URIs: the
    session's Hadoop file system)."""
    sizes = []
    jvm = sd.frame.sparkSession._jvm
    conf = sd.frame.sparkSession._jsc.hadoopConfiguration()
    for uri in sd.files:
        local = _local_path(uri)
        if local is not None:
            sizes.append(local.stat().st_size)
        else:
            hpath = jvm.org.apache.hadoop.fs.Path(uri)
            sizes.append(int(hpath.getFileSystem(conf).getFileStatus(hpath).getLen()))
    return sizes


def spark_source(sd: SparkDataset) -> dict:
    """The ``source`` object of ``analyze --json``, as the pandas engine writes it:
    ``name``, ``format``, ``size_bytes`` (of every file read), ``encoding`` (Spark
    reads text as UTF-8), ``delimiter``, ``sheet``, ``other_sheets``."""
    text = sd.format in ("csv", "tsv", "json", "jsonl")
    return {
        "name": sd.name,
        "format": sd.format,
        "size_bytes": sum(_sizes(sd)),
        "encoding": "UTF-8" if text else None,
        "delimiter": sd.delimiter or {"csv": ",", "tsv": "\t"}.get(sd.format),
        "sheet": None,
        "other_sheets": [],
    }


PARTS_FINGERPRINT = "sha256 of the sorted lines 'relative path<TAB>size<TAB>sha256' of the parts"
"""How :func:`spark_fingerprint` fingerprints an input of several files."""


def spark_fingerprint(sd: SparkDataset) -> str | None:
    """The input's fingerprint for a recipe: for one file the SHA-256 of its bytes
    (what the pandas engine records); for several files (a folder of parts or a
    glob) the SHA-256 of the sorted lines ``relative path<TAB>size<TAB>sha256`` of the
    parts, paths relative to the parts' common folder (so a moved folder keeps its
    fingerprint). Reads every byte once on the driver; None when some file is not
    local (remote parts are not hashed)."""
    import hashlib
    import os

    paths = [_local_path(uri) for uri in sd.files]
    if not paths or any(p is None for p in paths):
        return None

    def digest(path: Path) -> str:
        with path.open("rb") as handle:
            return hashlib.file_digest(handle, "sha256").hexdigest()

    if len(paths) == 1:
        return digest(paths[0])
    root = Path(os.path.commonpath([str(p) for p in paths]))
    lines = sorted(
        f"{p.relative_to(root).as_posix()}\t{p.stat().st_size}\t{digest(p)}\n" for p in paths
    )
    return hashlib.sha256("".join(lines).encode("utf-8")).hexdigest()


def _with_position(frame):
    """Each row's 0-based position in the one input file: partition offsets (one
    small aggregate) plus the position inside the partition; a file scan's
    partitions are the file's byte ranges in order."""
    frame = frame.withColumn("_seesaw_mid", F.monotonically_increasing_id())
    frame = frame.withColumn("_seesaw_part", F.spark_partition_id())
    sizes = dict(frame.groupBy("_seesaw_part").count().collect())
    offsets, total = {}, 0
    for part in sorted(sizes):
        offsets[part] = total
        total += sizes[part]
    offset = (
        F.element_at(
            F.create_map(*[x for p, o in offsets.items() for x in (F.lit(p), F.lit(o))]),
            F.col("_seesaw_part"),
        )
        if offsets
        else F.lit(0)
    )
    local = F.col("_seesaw_mid") - F.shiftleft(F.col("_seesaw_part").cast("long"), 33)
    return frame.withColumn(POSITION, (offset + local).cast("long")).drop(
        "_seesaw_mid", "_seesaw_part"
    )


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return (text[0] if text else type(error).__name__)[:200]


def _col(name: str):
    return F.col(f"`{name}`")


# --------------------------------------------------------------------------- analysis


def _label_expr(sd: SparkDataset, mapping: LabelMapping | None = None):
    """The label as text, empty cells missing (as the pandas readers read them),
    after the label mapping (dropped classes become null)."""
    label = _col(sd.roles.label).cast("string")
    label = F.when(label == "", F.lit(None)).otherwise(label)
    if not mapping:
        return label
    _check_mapping(mapping)
    pairs = [x for old, new in mapping.items() for x in (F.lit(old), F.lit(new))]
    table = F.create_map(*pairs)
    return F.when(label.isin(list(mapping)), F.element_at(table, label)).otherwise(label)


def _text(sd: SparkDataset, role: str):
    name = getattr(sd.roles, role)
    if name is None:
        return None
    value = _col(name).cast("string")
    return F.when(value == "", F.lit(None)).otherwise(value)


def spark_distribution(sd: SparkDataset) -> Distribution:
    """Counts per class and per split from one ``groupBy(split, label).count()``."""
    split = _text(sd, "split")
    frame = sd.frame.select(
        _label_expr(sd).alias("label"), (split if split is not None else F.lit(None)).alias("split")
    )
    rows = frame.groupBy("split", "label").count().collect()
    counts: dict[str, int] = {}
    split_counts: dict[str, dict[str, int]] = {}
    missing = without_split = 0
    for row in rows:
        if row["label"] is None:
            missing += row["count"]
            continue
        counts[row["label"]] = counts.get(row["label"], 0) + row["count"]
        if split is None:
            continue
        if row["split"] is None:
            without_split += row["count"]
        else:
            split_counts.setdefault(row["split"], {})[row["label"]] = row["count"]
    return Distribution(
        counts={k: counts[k] for k in sorted(counts)},
        split_counts={s: {k: v[k] for k in sorted(v)} for s, v in sorted(split_counts.items())},
        missing_labels=missing,
        rows_without_split=without_split,
    )


def spark_findings(sd: SparkDataset, dist: Distribution) -> tuple[Finding, ...]:
    """The findings aggregates can give, with the pandas engine's kinds, counts and
    messages: missing labels, label variants, single and tiny classes, duplicate
    paths, conflicting labels, a path or a group in two splits. No row lists."""
    from ..quality import TINY_CLASS_SIZE, _quote_list, label_key

    findings: list[Finding] = []
    if dist.missing_labels:
        findings.append(Finding(
            kind=FindingKind.MISSING_LABEL, severity=Severity.WARNING, count=dist.missing_labels,
            message=(f"{dist.missing_labels:,} row(s) have no label; they are left out of the "
                     "counts and of any balanced output until you label them."),
        ))  # fmt: skip
    by_key: dict[str, list[str]] = {}
    for label in dist.counts:
        by_key.setdefault(label_key(label), []).append(label)
    groups = sorted(
        (
            tuple(sorted(g, key=lambda v: (-dist.counts[v], v)))
            for g in by_key.values()
            if len(g) > 1
        ),
        key=lambda g: g[0],
    )
    if groups:
        count = sum(dist.counts[v] for g in groups for v in g[1:])
        findings.append(Finding(
            kind=FindingKind.LABEL_VARIANTS, severity=Severity.WARNING, count=count,
            message=(f"{len(groups)} label(s) are written in several ways that differ only in "
                     f"case, spaces or Unicode form (e.g. {_quote_list(groups[0])}); merge them "
                     "in the label mapping if they mean the same class."),
            groups=tuple(groups),
        ))  # fmt: skip
    if dist.n_classes == 1:
        findings.append(Finding(
            kind=FindingKind.SINGLE_CLASS, severity=Severity.ERROR, count=dist.n_labelled,
            message=(f"Every labelled row has the same label, {dist.labels[0]!r}: there is "
                     "nothing to balance and nothing a classifier can learn; check the label "
                     "column."),
        ))  # fmt: skip
    tiny = [label for label, n in dist.counts.items() if 0 < n < TINY_CLASS_SIZE]
    if tiny and dist.n_classes > 1:
        findings.append(Finding(
            kind=FindingKind.TINY_CLASS, severity=Severity.WARNING,
            count=sum(dist.counts[t] for t in tiny),
            message=(f"{len(tiny)} class(es) have fewer than {TINY_CLASS_SIZE} samples "
                     f"({_quote_list(tiny)}): too few to learn from or to evaluate; collect "
                     "more, or merge or drop them."),
            groups=(tuple(tiny),),
        ))  # fmt: skip
    path, split, label = _text(sd, "path"), _text(sd, "split"), _label_expr(sd)
    if path is not None:
        findings += _duplicate_paths(sd, path, label, split)
    group = _text(sd, "group")
    if group is not None and split is not None:
        findings += _group_leakage(sd, group, split, _quote_list)
    return tuple(sorted(findings, key=lambda f: f.sort_key))


def _duplicate_paths(sd, path, label, split) -> list[Finding]:
    per_path = (
        sd.frame.select(path.alias("p"), label.alias("l"),
                        (split if split is not None else F.lit(None).cast("string")).alias("s"))
        .where(F.col("p").isNotNull())
        .groupBy("p")
        .agg(F.count(F.lit(1)).alias("n"), F.countDistinct("l").alias("labels"),
             F.countDistinct("s").alias("splits"))
        .where(F.col("n") > 1)
    )  # fmt: skip
    summary = per_path.agg(
        F.sum(F.when((F.col("labels") <= 1) & (F.col("splits") <= 1), F.col("n"))).alias("same"),
        F.min(F.when((F.col("labels") <= 1) & (F.col("splits") <= 1), F.col("p"))).alias("eg"),
        F.sum(F.when(F.col("labels") > 1, 1)).alias("conflicting"),
        F.sum(F.when(F.col("labels") > 1, F.col("n"))).alias("conflict_rows"),
        F.sum(F.when(F.col("splits") > 1, 1)).alias("leaking"),
        F.sum(F.when(F.col("splits") > 1, F.col("n"))).alias("leak_rows"),
    ).collect()[0]
    findings = []
    if summary["same"]:
        findings.append(Finding(
            kind=FindingKind.DUPLICATE_PATH, severity=Severity.WARNING, count=summary["same"],
            message=(f"{summary['same']:,} rows share a path with another row of the same "
                     f"class (e.g. {summary['eg']!r}); duplicates count twice in training and "
                     "inflate that class: drop the extra copies."),
        ))  # fmt: skip
    if summary["conflicting"]:
        findings.append(Finding(
            kind=FindingKind.CONFLICTING_LABELS, severity=Severity.ERROR,
            count=summary["conflict_rows"],
            message=(f"{summary['conflicting']:,} path(s) carry different labels in different "
                     f"rows ({summary['conflict_rows']:,} rows); a sample cannot be two classes: "
                     "fix the labels or drop those rows."),
        ))  # fmt: skip
    if summary["leaking"]:
        findings.append(Finding(
            kind=FindingKind.SPLIT_LEAKAGE, severity=Severity.ERROR, count=summary["leak_rows"],
            message=(f"{summary['leaking']:,} path(s) appear in more than one split "
                     f"({summary['leak_rows']:,} rows): test scores will be too optimistic; keep "
                     "each sample in one split."),
        ))  # fmt: skip
    return findings


def _group_leakage(sd, group, split, quote) -> list[Finding]:
    per_group = (
        sd.frame.select(group.alias("g"), split.alias("s"))
        .where(F.col("g").isNotNull())
        .groupBy("g")
        .agg(F.count(F.lit(1)).alias("n"), F.countDistinct("s").alias("splits"))
        .where(F.col("splits") > 1)
    )
    summary = per_group.agg(
        F.count(F.lit(1)).alias("groups"), F.sum("n").alias("rows"),
        F.sort_array(F.collect_list("g")).alias("names"),
    ).collect()[0]  # fmt: skip
    if not summary["groups"]:
        return []
    names = summary["names"]
    return [Finding(
        kind=FindingKind.SPLIT_LEAKAGE, severity=Severity.ERROR, count=summary["rows"],
        message=(f"{len(names):,} group(s) have rows in more than one split (e.g. "
                 f"{quote(names, 2)}): near-duplicate samples of one patient or subject leak "
                 "between training and test; keep each group in one split."),
        groups=(tuple(names),),
    )]  # fmt: skip


def spark_split_findings(
    sd: SparkDataset,
    dist: Distribution,
    *,
    findings: tuple[Finding, ...] | None = None,
    min_per_split: int = 1,
    max_js_distance: float | None = None,
    alpha: float | None = None,
) -> tuple[Finding, ...]:
    """:func:`balance_core.split_checks.check_splits` on Spark, from the per-class,
    per-split counts: a class seen only outside training, a class absent from (or
    short in) a split, a group or path in two splits, splits whose class mixes
    differ. Kinds, severities, counts and messages are the pandas engine's; no row
    lists.

    Parameters
    ----------
    sd : SparkDataset
    dist : Distribution
        From :func:`spark_distribution`.
    findings : tuple of Finding, optional
        From :func:`spark_findings`: its leakage findings are reused (else computed).
    min_per_split, max_js_distance, alpha
        As in :func:`~balance_core.split_checks.check_splits`.
    """
    from .. import split_checks as sc

    max_js_distance = sc.DEFAULT_MAX_JS_DISTANCE if max_js_distance is None else max_js_distance
    alpha = sc.DEFAULT_ALPHA if alpha is None else alpha
    if sd.roles.split is None:
        return ()
    quote = sc._quote
    splits = list(dist.split_counts)
    result: list[Finding] = []
    train = sc._train_split(splits)
    eval_only: list[str] = []
    if train is not None and len(splits) > 1:
        in_train = dist.split_counts[train]
        eval_only = [c for c in dist.labels if in_train.get(c, 0) == 0 and dist.counts[c] > 0]
        if eval_only:
            where = sorted({s for s in splits for c in eval_only if dist.split_counts[s].get(c)})
            result.append(Finding(
                kind=FindingKind.EVAL_ONLY_CLASS, severity=Severity.ERROR,
                count=sum(dist.counts[c] for c in eval_only),
                message=(f"{len(eval_only)} class(es) appear only outside the training split "
                         f"{train!r}, in {quote(where)} ({quote(eval_only)}): a model trained "
                         "on it never sees them; re-split (seesaw split --resplit) or move "
                         "rows of those classes into training."),
                groups=(tuple(eval_only),),
            ))  # fmt: skip
    short: list[tuple[str, ...]] = []
    empty = False
    for name in splits:
        counts = dist.split_counts[name]
        missing = [c for c in dist.labels
                   if counts.get(c, 0) < min_per_split and dist.counts[c] > 0
                   and not (name == train and c in eval_only)]  # fmt: skip
        if missing:
            short.append((name, *missing))
            empty = empty or any(counts.get(c, 0) == 0 for c in missing)
    if short and len(splits) > 1:
        labels_short = sorted({c for _, *missing in short for c in missing})
        parts = "; ".join(f"{name!r}: {quote(missing)}" for name, *missing in short[: sc.EXAMPLES])
        more = (f"; and {len(short) - sc.EXAMPLES} more split(s)"
                if len(short) > sc.EXAMPLES else "")  # fmt: skip
        what = "no rows" if min_per_split <= 1 else f"fewer than {min_per_split} rows"
        result.append(Finding(
            kind=FindingKind.SPLIT_MISSING_CLASS,
            severity=Severity.ERROR if empty else Severity.WARNING,
            count=sum(dist.counts[c] for c in labels_short),
            message=(f"{len(short)} split(s) have {what} of some class (threshold: at least "
                     f"{min_per_split} per class and split) — {parts}{more}: scores on such a "
                     "split say nothing about those classes; re-split with a minimum per class "
                     "(seesaw split --min-per-class)."),
            groups=tuple(short),
        ))  # fmt: skip
    if findings is None:
        findings = spark_findings(sd, dist)
    result += [f for f in findings if f.kind == FindingKind.SPLIT_LEAKAGE]
    mix = sc.split_mix(dist)
    if mix is not None:
        a, b, distance = mix.worst_pair
        test = mix.homogeneity
        if distance > max_js_distance and test.p_value < alpha:
            worst = mix.splits[int(np.argmax(mix.to_rest))]
            # Every row of that split, labelled or not (one filtered count).
            rows = sd.frame.where(_text(sd, "split") == F.lit(worst)).count()
            result.append(Finding(
                kind=FindingKind.SPLIT_MIX, severity=Severity.WARNING, count=rows,
                message=(f"The class mixes of splits {a!r} and {b!r} differ: Jensen-Shannon "
                         f"distance {distance:.3f} (threshold {max_js_distance:g}), and the "
                         f"chi-square test of homogeneity rejects one shared mix (chi2 = "
                         f"{test.statistic:,.1f}, {test.dof} dof, p = {test.p_value:.2g} < "
                         f"{alpha:g}); split {worst!r} is furthest from the others: re-split "
                         "stratified by class (seesaw split --resplit)."),
                groups=((a, b),),
            ))  # fmt: skip
    return tuple(sorted(result, key=lambda f: f.sort_key))


@dataclass(frozen=True, kw_only=True)
class SparkInput:
    """What the check gate's report says about a Spark input: its :class:`Source`
    (the ``source`` attribute a :class:`~balance_core.dataset.Dataset` has); no rows."""

    source: Source


def spark_gate(sd: SparkDataset, thresholds=None, *, dist: Distribution | None = None):
    """:func:`balance_core.gate.run_gate` on Spark, from aggregates: the findings of
    :func:`spark_findings` and :func:`spark_split_findings`, the ``max-ratio`` and
    ``min-class`` thresholds (counts from the class counts), and every ``fail_on``
    check. Kinds, counts, messages, checks and exit code are the pandas engine's;
    findings carry no row lists (no row reaches the driver).

    Parameters
    ----------
    sd : SparkDataset
    thresholds : Thresholds, optional
        Default: fail on every error-severity finding.
    dist : Distribution, optional
        From :func:`spark_distribution`, if already computed.

    Returns
    -------
    GateResult
        Its ``analysis.dataset`` is a :class:`SparkInput` (the source only).
    """
    from ..analysis import Analysis
    from ..gate import (
        _SEVERITY_NAMES,
        THRESHOLD_KINDS,
        CheckOutcome,
        GateResult,
        Thresholds,
        _kinds_of,
    )
    from ..split_checks import split_mix
    from ..stats import format_ratio

    thresholds = thresholds or Thresholds()
    dist = dist or spark_distribution(sd)
    quality = spark_findings(sd, dist)
    split_found = spark_split_findings(
        sd, dist, findings=quality, min_per_split=thresholds.min_per_split,
        max_js_distance=thresholds.max_js_distance, alpha=thresholds.alpha,
    )  # fmt: skip
    own: list[Finding] = []
    ratio = dist.imbalance_ratio
    if thresholds.max_ratio is not None and dist.n_classes > 1 and ratio > thresholds.max_ratio:
        majority = dist.counts[dist.majority]
        below = [c for c, n in dist.counts.items() if n * thresholds.max_ratio < majority]
        own.append(Finding(
            kind=FindingKind.IMBALANCE_RATIO, severity=Severity.ERROR,
            count=sum(dist.counts[c] for c in below),
            message=(f"The imbalance ratio {dist.ratio_text} is above the limit "
                     f"{format_ratio(thresholds.max_ratio)} (max-ratio): {len(below)} class(es) "
                     f"have fewer than 1/{thresholds.max_ratio:g} of the rows of the majority "
                     f"class {dist.majority!r} ({majority:,}); the smallest, "
                     f"{dist.minority!r}, has {dist.counts[dist.minority]:,}: balance them "
                     "(seesaw undersample, oversample or weights) or collect more."),
            groups=(tuple(below),),
        ))  # fmt: skip
    if thresholds.min_class is not None:
        small = [c for c, n in dist.counts.items() if n < thresholds.min_class]
        if small:
            own.append(Finding(
                kind=FindingKind.SMALL_CLASS, severity=Severity.ERROR,
                count=sum(dist.counts[c] for c in small),
                message=(f"{len(small)} class(es) have fewer than {thresholds.min_class:,} rows "
                         f"(min-class), e.g. {', '.join(repr(c) for c in small[:3])}"
                         f"{' and more' if len(small) > 3 else ''}; the smallest has "
                         f"{min(dist.counts[c] for c in small):,}: collect more, or merge "
                         "or drop them."),
                groups=(tuple(small),),
            ))  # fmt: skip
    known = {id(f) for f in quality}
    findings = tuple(sorted([*quality, *(f for f in split_found if id(f) not in known), *own],
                            key=lambda f: f.sort_key))  # fmt: skip
    mix = split_mix(dist)
    checks: list = []
    if thresholds.max_ratio is not None:
        failing = tuple(f for f in own if f.kind == FindingKind.IMBALANCE_RATIO)
        checks.append(CheckOutcome(name="max-ratio", passed=not failing,
                                   threshold=thresholds.max_ratio, value=dist.imbalance_ratio,
                                   findings=failing))  # fmt: skip
    if thresholds.min_class is not None:
        failing = tuple(f for f in own if f.kind == FindingKind.SMALL_CLASS)
        checks.append(CheckOutcome(name="min-class", passed=not failing,
                                   threshold=thresholds.min_class,
                                   value=min(dist.counts.values()) if dist.counts else 0,
                                   findings=failing))  # fmt: skip
    for name in thresholds.fail_on:
        if name in _SEVERITY_NAMES:
            severities = _SEVERITY_NAMES[name]
            # The thresholds' own findings belong to their checks, not to these.
            failing = tuple(
                f for f in findings if f.severity in severities and f.kind not in THRESHOLD_KINDS
            )
        else:
            kinds = _kinds_of(name)
            failing = tuple(f for f in findings if f.kind in kinds)
        threshold: float | int | None = None
        value: float | int | None = sum(f.count for f in failing)
        if name == "split-mix":
            threshold = thresholds.max_js_distance
            value = mix.worst_pair[2] if mix is not None else 0.0
        elif name == "missing-class":
            threshold = thresholds.min_per_split
        checks.append(CheckOutcome(name=name, passed=not failing, threshold=threshold,
                                   value=value, findings=failing))  # fmt: skip
    source = spark_source(sd)
    data = SparkInput(source=Source(
        name=source["name"], format=source["format"], size_bytes=source["size_bytes"],
        encoding=source["encoding"], delimiter=source["delimiter"],
    ))  # fmt: skip
    analysis = Analysis(dataset=data, distribution=dist, findings=quality)
    return GateResult(analysis=analysis, thresholds=thresholds, findings=findings,
                      checks=tuple(checks), mix=mix)  # fmt: skip


# --------------------------------------------------------------------------- resampling

_FLIP = -(2**63)  # key XOR this: signed order of the result = unsigned order of the key


def _key_expr(sd: SparkDataset, seed: int):
    """``xxhash64(seed, identity)`` with its bits flipped so that Spark's signed
    order is the pandas engine's unsigned order (:func:`balance_core.rowkey.row_keys`)."""
    identity = F.col(POSITION) if sd.key_col is None else _col(sd.key_col).cast("string")
    return F.xxhash64(F.lit(seed).cast("long"), identity).bitwiseXOR(F.lit(_FLIP))


def _dense_codes(frame, column: str) -> dict[str | None, int]:
    """Code per value in sorted text order, null last: what the pandas engine's
    ``_group_codes`` gives (distinct values only reach the driver)."""
    values = [r[0] for r in frame.select(_col(column).cast("string")).distinct().collect()]
    named = sorted(v for v in values if v is not None)
    codes: dict[str | None, int] = {v: i for i, v in enumerate(named)}
    codes[None] = len(named)
    return codes


def _cell_copies(
    sizes: dict[tuple, int],
    quota: int,
    class_index: int,
    seed: int,
    n_strata: int,
    stratified: bool,
    grouped: bool,
) -> dict[tuple, tuple[int, int]]:
    """(full copies, rows that get one more) per cell (stratum, group) of one class:
    the pandas engine's quotas, computed from the cell counts alone."""
    from ..apply import _largest_remainder, _splitmix, _water_fill

    def allocate(cells: dict[tuple, int], total: int, stream: int) -> dict[tuple, tuple[int, int]]:
        size = sum(cells.values())
        groups = sorted({cell[1] for cell in cells})
        if not grouped or len(groups) <= 1:
            full, extra = divmod(total, size) if size else (0, 0)
            return dict.fromkeys(cells, (full, extra))  # one ranking cell
        ids = np.array(groups, dtype=np.int64)
        per = np.array([sum(n for c, n in cells.items() if c[1] == g) for g in groups])
        keys = _splitmix(ids, seed, stream + 13)
        if total <= size:
            fill = _water_fill(per, total, keys, up=False)
            return {c: (0, int(fill[groups.index(c[1])])) for c in cells}
        fill = _water_fill(per, total, keys, up=True)
        return {c: tuple(int(x) for x in divmod(int(fill[groups.index(c[1])]), n))
                for c, n in cells.items()}  # fmt: skip

    if not stratified:
        return allocate(sizes, quota, class_index)
    per_stratum = np.zeros(n_strata, dtype=np.int64)
    for (stratum, _), n in sizes.items():
        per_stratum[stratum] += n
    shares = _largest_remainder(per_stratum, quota, seed, stream=class_index)
    result: dict[tuple, tuple[int, int]] = {}
    for stratum in np.flatnonzero(per_stratum):
        cells = {c: n for c, n in sizes.items() if c[0] == stratum}
        stream = (class_index + 1) * 1_000_003 + int(stratum)
        result |= allocate(cells, int(shares[stratum]), stream)
    return result


@dataclass(frozen=True, eq=False, kw_only=True)
class SparkResampled:
    """Rows chosen on Spark: lazy DataFrames, written by the caller.

    Attributes
    ----------
    manifest : pyspark.sql.DataFrame
        The user's columns (the label mapped), ``class_index``, ``original_label``
        (with a mapping), ``copy``; ``row`` (the position) when rows are keyed by
        position. Unordered.
    dropped : pyspark.sql.DataFrame
        The rows left out, with ``reason``.
    plan : SamplingPlan
    passthrough_rows : int
    """

    manifest: Any
    dropped: Any
    plan: SamplingPlan
    passthrough_rows: int
    split: str | None


def spark_resample(
    sd: SparkDataset,
    plan: SamplingPlan,
    *,
    seed: int = 0,
    split: str | None = None,
    use_groups: bool = True,
    stratify: str | None = None,
    mapping: LabelMapping | None = None,
) -> SparkResampled:
    """The rows the pandas engine's :func:`balance_core.apply.resample` chooses with
    key version 2, chosen on Spark.

    Cell quotas (class x stratum x group) come from one count per cell and the same
    pure functions as the pandas engine. In each cell the rows with the ``e``
    smallest keys get one copy more; keys are uniform, so rows below the ``(e - 8
    sqrt(e) - 64) / n`` quantile are in for sure, rows above ``(e + 8 sqrt(e) + 64)
    / n`` out, and only the few between are ranked (one small window per cell).
    Nothing is ranked over a whole class, and no row reaches the driver.
    """
    from ..classes import class_order

    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise DatasetError(
            f"The seed must be a whole number >= 0, got {seed!r}.", kind="bad_parameter"
        )
    classes = tuple(plan.before)
    if stratify is not None and stratify not in sd.columns:
        raise DatasetError(
            f"There is no column {stratify!r} to stratify by; the columns are "
            f"{', '.join(map(repr, sd.columns))}.",
            kind="unknown_column",
        )
    split_value = _col(sd.roles.split).cast("string") if sd.roles.split else None
    if split is not None and split_value is None:
        raise DatasetError(
            f"The data has no split column, so it has no split {split!r}; leave the split "
            "unset to balance all rows.",
            kind="bad_parameter",
        )
    in_scope = (
        F.lit(True) if split is None else F.coalesce(split_value == F.lit(split), F.lit(False))
    )
    grouped = use_groups and sd.roles.group is not None
    frame = sd.frame.select(
        "*",
        _label_expr(sd, mapping).alias("_s_label"),
        in_scope.alias("_s_scope"),
        _key_expr(sd, seed).alias("_s_key"),
        (_col(stratify) if stratify else F.lit(None)).cast("string").alias("_s_strat"),
        (_col(sd.roles.group) if grouped else F.lit(None)).cast("string").alias("_s_grp"),
    )  # fmt: skip
    strat_codes = _dense_codes(sd.frame, stratify) if stratify else {None: 0}
    group_codes = _dense_codes(sd.frame, sd.roles.group) if grouped else {None: 0}
    active = frame.where(F.col("_s_scope") & F.col("_s_label").isNotNull())
    cell_rows = active.groupBy("_s_label", "_s_strat", "_s_grp").count().collect()
    found: dict[str, int] = {}
    for row in cell_rows:
        found[row["_s_label"]] = found.get(row["_s_label"], 0) + row["count"]
    if set(found) - set(classes) or [found.get(c, 0) for c in classes] != list(
        plan.before.values()
    ):
        raise DatasetError(
            "The plan was made for other class counts than this data has"
            + (f" in split {split!r}" if split is not None else "")
            + "; make the plan from counts_for(dataset, split=..., mapping=...).",
            kind="bad_parameter",
        )
    cells: list[tuple] = []  # (label, stratum value, group value, size, full, extra)
    for index, label in enumerate(classes):
        sizes = {}
        values = {}
        for row in cell_rows:
            if row["_s_label"] == label:
                code = (strat_codes[row["_s_strat"]], group_codes[row["_s_grp"]])
                sizes[code] = row["count"]
                values[code] = (row["_s_strat"], row["_s_grp"])
        quotas = _cell_copies(sizes, plan.after[label], index, seed, len(strat_codes),
                              stratify is not None, grouped)  # fmt: skip
        # Cells that rank together (one stratum without several groups) share a threshold.
        for code, (full, extra) in quotas.items():
            cells.append((label, *values[code], sizes[code], full, extra))
    # A cell whose every row gets one copy more has no ranking to do.
    cells = [(lb, st, gr, n, full + 1, 0) if extra >= n else (lb, st, gr, n, full, extra)
             for lb, st, gr, n, full, extra in cells]  # fmt: skip
    spark = sd.frame.sparkSession
    cell_table = spark.createDataFrame(
        [(label, st, gr, full, i) for i, (label, st, gr, _, full, _) in enumerate(cells)],
        "_c_label string, _c_strat string, _c_grp string, _c_full long, _c_rank int",
    )
    with_cell = active.join(
        F.broadcast(cell_table),
        (F.col("_s_label") == F.col("_c_label"))
        & F.col("_s_strat").eqNullSafe(F.col("_c_strat"))
        & F.col("_s_grp").eqNullSafe(F.col("_c_grp")),
    )
    bounds = _thresholds(spark, with_cell, {i: (c[3], c[5]) for i, c in enumerate(cells)})
    bound_table = spark.createDataFrame(
        [(i, lo, hi, need) for i, (lo, hi, need) in bounds.items()],
        "_b_rank int, _b_lo long, _b_hi long, _b_need long",
    )
    joined = with_cell.join(F.broadcast(bound_table), F.col("_c_rank") == F.col("_b_rank"))
    candidate = (F.col("_s_key") >= F.col("_b_lo")) & F.coalesce(
        F.col("_s_key") < F.col("_b_hi"), F.col("_b_need") > 0
    )
    tiebreak = F.col(POSITION) if sd.key_col is None else F.xxhash64(*[_col(c) for c in sd.columns])
    from pyspark.sql import Window

    window = Window.partitionBy("_c_rank").orderBy("_s_key", tiebreak)
    ranked = joined.where(candidate).withColumn(
        "_s_copies",
        F.col("_c_full") + (F.row_number().over(window) <= F.col("_b_need")).cast("long"),
    )
    sure = joined.where(~candidate).withColumn(
        "_s_copies", F.col("_c_full") + (F.col("_s_key") < F.col("_b_lo")).cast("long")
    )
    keep = [*sd.frame.columns, "_s_label"]
    chosen = ranked.select(*keep, "_s_copies").unionByName(sure.select(*keep, "_s_copies"))
    passthrough = frame.where(~F.col("_s_scope")).select(
        *keep, F.lit(1).cast("long").alias("_s_copies")
    )
    unplanned = frame.where(F.col("_s_scope") & F.col("_s_label").isNull()).select(
        *keep, F.lit(0).cast("long").alias("_s_copies")
    )
    every = chosen.unionByName(passthrough).unionByName(unplanned)
    order = class_order(classes)
    index_map = F.create_map(*[x for c in classes for x in (F.lit(c), F.lit(order.index[c]))])
    names = _added_names(sd.columns)
    label = sd.roles.label
    columns = []
    if sd.key_col is None:
        columns.append(F.col(POSITION).alias(names["row"]))
    for name in sd.columns:
        if name == label and mapping:
            columns.append(F.col("_s_label").alias(name))
        else:
            columns.append(_col(name))
    columns.append(
        F.element_at(index_map, F.col("_s_label")).cast("int").alias(names["class_index"])
    )
    if mapping:
        columns.append(_col(label).alias(names["original_label"]))
    exploded = every.where(F.col("_s_copies") > 0).select(
        *columns,
        F.explode(F.sequence(F.lit(0).cast("long"), F.col("_s_copies") - 1)).alias(names["copy"]),
    )
    raw_label = _label_expr(sd)
    reason = (
        F.when(F.col("_s_label").isNotNull(), F.lit("undersampled"))
        .when(raw_label.isNull(), F.lit("no label"))
        .otherwise(F.lit("class dropped by the label mapping"))
    )
    dropped = every.where(F.col("_s_copies") == 0).select(*columns, reason.alias(names["reason"]))
    passthrough_rows = passthrough.count() if split is not None else 0
    return SparkResampled(manifest=exploded, dropped=dropped, plan=plan,
                          passthrough_rows=passthrough_rows, split=split)  # fmt: skip


def _added_names(columns: list[str]) -> dict[str, str]:
    from ..apply import manifest_names

    return manifest_names(columns)


_MIN_KEY = -(2**63)


def _share_bound(share: float) -> int:
    """A threshold at ``share`` of the key range, as a flipped (signed) key."""
    share = min(max(share, 0.0), 1.0)
    return min(int(share * 2.0**64), 2**64 - 1) + _FLIP


def _thresholds(
    spark, frame, ranking: dict[int, tuple[int, int]]
) -> dict[int, tuple[int, int, int]]:
    """(low, high, rows in [low, high) to take) per cell, so that every row below
    ``low`` is among the cell's ``extra`` smallest keys and none at or above
    ``high``: bounds a few standard deviations either side of the ``extra / n``
    quantile, checked by one count per cell and widened in the rare case one missed."""
    lo_share: dict[int, float] = {}
    hi_share: dict[int, float] = {}
    for rank_id, (size, extra) in ranking.items():
        if extra > 0:
            spread = 8 * math.sqrt(extra) + 64
            lo_share[rank_id] = max(0.0, (extra - spread) / size)
            hi_share[rank_id] = min(1.0, (extra + spread) / size)
    result = dict.fromkeys(ranking, (_MIN_KEY, _MIN_KEY, 0))
    while lo_share:
        table = spark.createDataFrame(
            [(i, _share_bound(lo_share[i]) if lo_share[i] > 0 else _MIN_KEY,
              _share_bound(hi_share[i]) if hi_share[i] < 1 else None) for i in lo_share],
            "_t_rank int, _t_lo long, _t_hi long",
        )  # fmt: skip
        counted = (
            frame.join(F.broadcast(table), F.col("_c_rank") == F.col("_t_rank"))
            .groupBy("_t_rank", "_t_lo", "_t_hi")
            .agg(
                F.sum((F.col("_s_key") < F.col("_t_lo")).cast("long")).alias("below"),
                F.sum(F.coalesce(F.col("_s_key") < F.col("_t_hi"), F.lit(True)).cast("long"))
                .alias("upto"),
            )
            .collect()
        )  # fmt: skip
        for row in counted:
            i = row["_t_rank"]
            extra = ranking[i][1]
            if row["below"] > extra:
                lo_share[i] /= 4  # rare: too many below the low bound
            elif row["upto"] < extra:
                hi_share[i] = min(1.0, hi_share[i] * 4)
            else:
                hi = row["_t_hi"] if row["_t_hi"] is not None else 2**63 - 1
                # The largest key (2**63 - 1 flipped) is never below "high" = that
                # key; a cell that reaches it ranks every row above "low" instead.
                result[i] = (
                    row["_t_lo"],
                    hi if row["_t_hi"] is not None else None,
                    extra - row["below"],
                )
                del lo_share[i], hi_share[i]
    return result


def spark_split_names(sd: SparkDataset) -> list[str] | None:
    """The split values (distinct values only reach the driver); None without splits."""
    split = _text(sd, "split")
    if split is None:
        return None
    return sorted(r[0] for r in sd.frame.select(split).distinct().collect() if r[0] is not None)


def spark_counts(
    sd: SparkDataset, *, split: str | None = None, mapping: LabelMapping | None = None
) -> dict[str, int]:
    """Class counts of the rows a plan changes (one split or all, after the mapping):
    :func:`balance_core.apply.counts_for` on Spark, with its messages."""
    frame = sd.frame
    if split is not None:
        names = spark_split_names(sd)
        if names is None:
            raise DatasetError(
                f"The data has no split column, so it has no split {split!r}; leave the "
                "split unset to balance all rows.",
                kind="bad_parameter",
            )
        if split not in names:
            raise DatasetError(
                f"The data has no split {split!r}; its splits are {', '.join(map(repr, names))}.",
                kind="bad_parameter",
            )
        frame = frame.where(_col(sd.roles.split).cast("string") == F.lit(split))
    label = _label_expr(sd, mapping)
    rows = frame.select(label.alias("l")).where(F.col("l").isNotNull()).groupBy("l").count()
    pairs = {r["l"]: r["count"] for r in rows.collect()}
    return {k: pairs[k] for k in sorted(pairs)}


def spark_sample_weights(sd: SparkDataset, weights, *, mapping: LabelMapping | None = None):
    """One weight per row (its class's weight) as a lazy DataFrame: ``row`` (when
    rows carry their position in the one input file), ``path`` (if any), ``label``,
    ``class_index``, ``weight``; null without a (mapped) label: the columns and
    values of :func:`balance_core.apply.sample_weights`."""
    classes = weights.labels
    values = dict(zip(classes, weights.as_list, strict=True))
    label = _label_expr(sd, mapping)
    index = F.create_map(*[x for i, c in enumerate(classes) for x in (F.lit(c), F.lit(i))])
    weight = F.create_map(*[x for c, w in values.items() for x in (F.lit(c), F.lit(float(w)))])
    columns = [F.col(POSITION).alias("row")] if POSITION in sd.frame.columns else []
    columns += [_col(sd.roles.path).alias("path")] if sd.roles.path else []
    return sd.frame.select(
        *columns,
        label.alias("label"),
        F.element_at(index, label).cast("int").alias("class_index"),
        F.element_at(weight, label).cast("double").alias("weight"),
    )
