"""``--engine spark``: the CLI's analyze, sampling, weights and apply commands on Spark.

The same recipes, plans and messages as the pandas path (balance_core.cli); only
counting and choosing rows run on Spark. Outputs are a Parquet folder (optionally
partitioned by split) or one CSV file, written into a temporary folder beside the
target and renamed into place: a failed run leaves nothing behind.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import uuid
from dataclasses import replace
from pathlib import Path
from typing import TextIO

from .errors import DatasetError
from .recipe import Recipe, Strategy, make_plan, run_counts

__all__ = ["add_options", "check_result", "run_command"]


def add_options(
    parser: argparse.ArgumentParser, *, reader: bool = True, outputs: bool = True
) -> None:
    """``--engine``, ``--master``, ``--conf`` (and ``--key-col`` with ``reader``,
    ``--partition-by-split`` with ``outputs``)."""
    parser.add_argument(
        "--engine", choices=("pandas", "spark"), default="pandas", help="where rows are counted"
    )
    parser.add_argument("--master", help="Spark master (default: spark-submit's, else local[*])")
    parser.add_argument(
        "--conf", action="append", default=[], metavar="KEY=VALUE", help="a Spark setting"
    )
    if reader:
        parser.add_argument(
            "--key-col", metavar="C", help="column identifying a row (default: the path column)"
        )
    if parser.prog.endswith(" weights"):
        parser.add_argument(
            "--row-weights",
            metavar="OUT",
            help="also write one weight per row (row, path, label, class_index, weight): "
            "Parquet, or CSV for a .csv name (Spark: a Parquet folder unless .csv)",
        )
    if outputs:
        parser.add_argument(
            "--partition-by-split", action="store_true", help="Parquet output: a folder per split"
        )


def _conf(items: list[str]) -> dict[str, str]:
    conf = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise DatasetError(f"--conf needs KEY=VALUE, got {item!r}.", kind="usage")
        conf[key.strip()] = value
    return conf


def run_command(args: argparse.Namespace, stdout: TextIO, *, mapping: dict, reader: dict) -> int:
    """Run ``args.command`` on Spark; returns the exit status."""
    from .engines import spark as engine

    session = engine.spark_session(master=args.master, conf=_conf(args.conf))
    if args.command == "apply":
        try:
            recipe = Recipe.from_json(Path(args.recipe).read_bytes())
        except OSError as error:
            raise DatasetError(
                f"Cannot read the recipe {args.recipe!r} ({error.strerror}); check the path.",
                kind="file_not_found",
            ) from None
        reader = {f"{r}_col": recipe.reader.get(r) for r in ("label", "path", "split", "group")}
        if recipe.key_version != 2:
            raise DatasetError(
                "This recipe was made before rows had engine-independent keys (no key_version "
                "2); replay it with the pandas engine (drop --engine spark).",
                kind="bad_recipe",
            )
        key_col = recipe.key_col
    else:
        key_col = getattr(args, "key_col", None)
    _refuse_pandas_only(args)
    data = engine.read_spark(
        session, args.input, key_col=key_col, format=getattr(args, "data_format", None), **reader
    )
    if args.command == "analyze":
        dist = engine.spark_distribution(data)
        findings = () if args.no_findings else engine.spark_findings(data, dist)
        if args.json:
            json.dump(analysis_json(engine, data, dist, findings), stdout, ensure_ascii=False,
                      allow_nan=False)  # fmt: skip
            stdout.write("\n")
        else:
            stdout.write(_text_report(data, dist, findings))
        return 0
    if args.command != "apply":
        recipe = _recipe(args, mapping, key_col)
        recipe = replace(recipe, reader=data.roles.as_dict() | {"sheet": None},
                         input=_input(engine, data, fingerprint=bool(args.recipe)))  # fmt: skip
    else:
        _check_fingerprint(engine, data, recipe, strict=args.strict)
    output = args.output
    _check_output(output, args.input)
    files = []
    if getattr(args, "recipe", None) and args.command != "apply":
        _check_output(args.recipe, args.input)
        files.append((args.recipe, recipe.to_json()))
    split = _split(engine, data, recipe.split)
    mapping = recipe.label_mapping or None
    counts = engine.spark_counts(data, split=split, mapping=mapping)
    outcome = replace(run_counts(recipe, counts), split=split)
    from .cli import _printable

    if outcome.plan is None:
        from .classes import class_order
        from .export import snippets, weights_json

        files.append((output, weights_json(outcome.weights, sampler=outcome.sampler)))
        frames = []
        row_weights = getattr(args, "row_weights", None)
        if row_weights:
            _check_output(row_weights, args.input)
            frames.append((row_weights, _row_weights(engine, data, outcome.weights, mapping)))
        warnings = outcome.weights.warnings + (outcome.sampler.warnings if outcome.sampler else ())
        report = (
            f"{outcome.weights.method} weights for {len(outcome.weights.counts)} classes "
            f"(spread {outcome.weights.spread:.2f}); wrote {output}\n"
            + "".join(f"warning: {_printable(w)}\n" for w in warnings)
        )
        folder = getattr(args, "snippets", None)
        if folder:
            from .cli import _snippet_paths

            _snippet_paths(folder)  # the folder must exist
            code = snippets(outcome.weights, sampler=outcome.sampler,
                            order=class_order(outcome.weights.labels))  # fmt: skip
            files += [(path, code[key].encode("utf-8"))
                      for key, path in _snippet_paths(folder, code)]  # fmt: skip
            report += f"wrote {len(code)} snippets into {folder}\n"
        if row_weights:
            report += f"wrote one weight per row into {row_weights}\n"
        _distinct([*(p for p, _ in files), *(p for p, _ in frames)])
        write_frames(frames, files=files, neutralize=True)
        stdout.write(report)
        return 0
    plan = make_plan(counts, recipe.strategy)
    chosen = engine.spark_resample(
        data, plan, seed=recipe.seed, split=split, use_groups=recipe.use_groups,
        stratify=recipe.stratify, mapping=mapping,
    )  # fmt: skip
    by_split = data.roles.split if getattr(args, "partition_by_split", False) else None
    as_csv = _as_csv(output, recipe, getattr(args, "format", None))
    if getattr(args, "partition_by_split", False) and (by_split is None or as_csv):
        raise DatasetError(
            "--partition-by-split writes a Parquet folder per split: "
            + ("the data has no split column" if by_split is None else "the output is CSV")
            + "; drop the option.",
            kind="usage",
        )
    targets = [(output, chosen.manifest, as_csv)]
    if getattr(args, "dropped", None):
        _check_output(args.dropped, args.input)
        targets.append((args.dropped, chosen.dropped,
                        _as_csv(args.dropped, recipe, getattr(args, "format", None))))  # fmt: skip
    _distinct([*(p for p, _ in files), *(t[0] for t in targets)])
    write_frames(
        targets,
        partition_by=by_split,
        files=files,
        neutralize=recipe.output.get("neutralize_formulas", True),
    )
    where = f" in split {split!r}" if split is not None else ""
    stdout.write(
        f"{plan.method}{where}: {plan.rows_before:,} -> {plan.rows_after:,} rows; "
        f"{chosen.passthrough_rows:,} rows of other splits unchanged; wrote {output}\n"
        + "".join(f"warning: {_printable(warning)}\n" for warning in plan.warnings)
    )
    return 0


def check_result(args: argparse.Namespace, thresholds):
    """``check --engine spark``: the gate's result from Spark aggregates (the same
    checks, findings and exit code as pandas ``check``; no row lists)."""
    from .engines import spark as engine

    _refuse_pandas_only(args)
    session = engine.spark_session(master=args.master, conf=_conf(args.conf))
    roles = {
        f"{r}_col": getattr(args, f"{r}_col", None) for r in ("label", "path", "split", "group")
    }
    data = engine.read_spark(session, args.input, identity=False, **roles)
    return engine.spark_gate(data, thresholds)


def analysis_json(engine, data, dist, findings) -> dict:
    """The ``analyze --json`` object with the pandas engine's keys, in its order."""
    report = dist.to_dict()
    report["source"] = engine.spark_source(data)
    roles = data.roles.as_dict()
    report["columns"] = {
        name: next((role for role, col in roles.items() if col == name), None)
        for name in data.columns
    }
    report["roles"] = roles
    report["guessed_roles"] = {role: data.roles.reasons.get(role) for role in data.roles.guessed}
    report["findings"] = [f.to_dict(max_items=20) for f in findings]
    return report


# The reader options of the pandas engine that mean nothing to Spark's table reader.
_PANDAS_ONLY = (
    ("labels_sep", None, "--labels-sep"), ("label_cols", None, "--label-cols"),
    ("multilabel", ("auto", "off"), "--multilabel on"), ("uncertain", ("ignore",), "--uncertain"),
    ("empty_label", None, "--empty-label"), ("unit", None, "--unit"), ("sheet", None, "--sheet"),
    ("limit", ([],), "--limit"), ("probe", ("all",), "--probe"),
)  # fmt: skip


def _refuse_pandas_only(args: argparse.Namespace) -> None:
    for name, allowed, option in _PANDAS_ONLY:
        value = getattr(args, name, None)
        if value is not None and value not in (allowed or ()):
            raise DatasetError(
                f"{option} applies to the pandas engine's readers only (the Spark engine reads "
                "one label per row from a table); drop it or drop --engine spark.",
                kind="usage",
            )


def _as_csv(output: str, recipe: Recipe, given: str | None) -> bool:
    """One CSV file or a Parquet folder: ``--format``, else a ``.csv`` or ``.parquet``
    name, else the recipe's output format (apply), else Parquet."""
    if given is not None:
        return given == "csv"
    suffix = Path(output).suffix.lower()
    if suffix in (".csv", ".parquet"):
        return suffix == ".csv"
    return recipe.output.get("format") == "csv"


def _distinct(paths) -> None:
    resolved = [Path(p).resolve() for p in paths]
    if len(resolved) != len(set(resolved)):
        raise DatasetError("Two outputs name the same file; give each its own path.", kind="usage")


def _input(engine, data, *, fingerprint: bool) -> dict:
    """The recipe's ``input``: the pandas engine's keys; the SHA-256 only when the
    recipe is written (hashing reads every byte). Several files: ``parts`` and the
    rule of the parts fingerprint as well."""
    source = engine.spark_source(data)
    entry = {"name": source["name"], "format": source["format"],
             "size_bytes": source["size_bytes"],
             "sha256": engine.spark_fingerprint(data) if fingerprint else None}  # fmt: skip
    if len(data.files) > 1:
        entry |= {"parts": len(data.files), "fingerprint": engine.PARTS_FINGERPRINT}
    return entry


def _check_fingerprint(engine, data, recipe: Recipe, *, strict: bool) -> None:
    """What pandas ``apply`` does with the recipe's fingerprint: --strict refuses
    another input; without it a note, and the same choice is applied."""
    import sys

    expected = recipe.input.get("sha256")
    if not expected or expected == engine.spark_fingerprint(data):
        return
    if strict:
        raise DatasetError(
            "The input is not the file the recipe was made on (its SHA-256 differs); "
            "drop --strict to apply the same choice to it anyway.",
            kind="fingerprint_mismatch",
        )
    print(
        "note: the input differs from the one the recipe was made on; applying the same "
        "choice to it.",
        file=sys.stderr,
    )


def _recipe(args: argparse.Namespace, mapping: dict, key_col: str | None) -> Recipe:
    neutralize = not getattr(args, "raw_csv", False)
    if args.command == "weights":
        from .cli import _custom_weights

        strategy = Strategy(
            method="sampler" if args.sampler else "weights", weighting=args.method,
            beta=args.beta, normalize=args.normalize, max_ratio=args.max_ratio,
            custom=_custom_weights(args.custom), num_samples=args.num_samples,
        )  # fmt: skip
        return Recipe(strategy=strategy, split=args.split, label_mapping=mapping, key_col=key_col)
    return Recipe(
        strategy=Strategy(method=args.command, target=args.to), seed=args.seed,
        split=args.split, use_groups=not args.no_groups, stratify=args.stratify,
        label_mapping=mapping, key_col=key_col,
        output={"format": _output_format(args), "neutralize_formulas": neutralize},
    )  # fmt: skip


def _output_format(args: argparse.Namespace) -> str:
    if args.format is not None:
        return args.format
    return "csv" if args.output.lower().endswith(".csv") else "parquet"


def _split(engine, data, split: str | None) -> str | None:
    if split in (None, "all"):
        return None
    names = engine.spark_split_names(data)
    if split != "auto":
        return split
    if names is None:
        return None
    from .apply import TRAIN_NAMES

    for value in sorted(names):
        if value.strip().lower() in TRAIN_NAMES:
            return value
    raise DatasetError(
        f"None of the splits ({', '.join(map(repr, sorted(names)))}) is called 'train'; "
        "choose the split to balance (split=... or --split).",
        kind="bad_parameter",
    )


def _check_output(output: str, source: str) -> None:
    target = Path(output).resolve()
    if target == Path(source).resolve():
        raise DatasetError(
            f"An output would overwrite the input {source!r}; write somewhere else.", kind="usage"
        )
    if not target.parent.is_dir():
        raise DatasetError(
            f"The folder {str(target.parent)!r} does not exist; create it first.", kind="usage"
        )


def _row_weights(engine, data, weights, mapping):
    """The per-row weights as a lazy DataFrame; ``row`` (the position in the input
    file, as on pandas) when the input is one file, else rows are named by path."""
    if engine.POSITION not in data.frame.columns and len(data.frame.inputFiles()) == 1:
        data = replace(data, frame=engine._with_position(data.frame))
    return engine.spark_sample_weights(data, weights, mapping=mapping)


def _neutralised(frame):
    """Text cells (and names) that a spreadsheet would run as formulas, prefixed with
    ``'``: what :func:`balance_core.export.write_table_csv` does on pandas."""
    from pyspark.sql import functions as F

    from .export import _FORMULA_PATTERN, _neutralise_name

    columns = []
    for field in frame.schema.fields:
        col = F.col(f"`{field.name}`")
        if field.dataType.typeName() == "string":
            col = F.when(col.rlike(_FORMULA_PATTERN), F.concat(F.lit("'"), col)).otherwise(col)
        columns.append(col.alias(_neutralise_name(field.name)))
    return frame.select(*columns)


def write_frames(
    targets: list[tuple],
    *,
    partition_by: str | None = None,
    files: list[tuple[str, bytes]] = (),
    neutralize: bool = True,
) -> None:
    """Write each DataFrame to its target, ``(path, frame)`` or ``(path, frame,
    as_csv)`` (default: CSV for a ``.csv`` name) -- CSV: one file with a header, text
    cells that start like a formula neutralised unless ``neutralize`` is False;
    anything else: a Parquet folder), and each of ``files`` (small bytes), all or
    nothing: every frame goes into a temporary folder beside its target first, then
    the files are written atomically, and only when all are written are the frames
    renamed into place (an existing target is replaced only then)."""
    from .export import write_atomic_many

    staged = []
    try:
        for output, frame, *given in targets:
            target = Path(output).resolve()
            temp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
            as_csv = given[0] if given else target.suffix.lower() == ".csv"
            staged.append((target, temp, as_csv))
            try:
                if as_csv:
                    frame = _neutralised(frame) if neutralize else frame
                    frame.coalesce(1).write.mode("overwrite").option("header", True).csv(
                        str(temp / "out")
                    )
                else:
                    writer = frame.write.mode("overwrite")
                    if partition_by:
                        writer = writer.partitionBy(partition_by)
                    writer.parquet(str(temp / "out"))
            except Exception as error:
                from .engines.spark import _first_line

                raise DatasetError(
                    f"Spark could not write {output!r} ({_first_line(error)}); nothing was "
                    "written.",
                    kind="write_failed",
                ) from None
        if files:
            write_atomic_many(files)
        for target, temp, as_csv in staged:
            out = temp / "out"
            if as_csv:
                parts = sorted(out.glob("part-*.csv"))
                source = parts[0] if parts else None
                if source is None:  # no rows: Spark writes no part file
                    source = out / "empty.csv"
                    source.write_bytes(b"")
            else:
                source = out
            if target.is_dir():
                old = target.with_name(f".{target.name}.old-{uuid.uuid4().hex}")
                os.rename(target, old)
                os.rename(source, target)
                shutil.rmtree(old, ignore_errors=True)
            else:
                os.replace(source, target)
    finally:
        for _, temp, _ in staged:
            shutil.rmtree(temp, ignore_errors=True)


def _text_report(data, dist, findings) -> str:
    from .cli import _bars, _printable

    lines = [f"Seesaw analysis of {_printable(data.name)} (Spark)"]
    lines.append(
        f"{dist.n_rows:,} rows, {dist.n_classes:,} classes, {dist.missing_labels:,} without a label"
    )
    lines += ["", *_bars(dist.counts, dist.minority, dist.majority), ""]
    if dist.n_classes:
        lines.append(f"Imbalance ratio {dist.ratio_text}")
        lines.append(f"Verdict: {dist.verdict_reason}")
    for finding in findings:
        lines.append(f"  [{finding.severity}] {finding.kind}: {_printable(finding.message)}")
    return "\n".join(lines) + "\n"
