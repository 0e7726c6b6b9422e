"""Command line: ``python -m balance_core analyze|undersample|oversample|resample|weights|apply``.

Exit status 0 on success and 2 on bad input or usage, with one sentence on stderr
and no traceback. Output files are written atomically (temp file + rename): a failed
run never leaves a partial file or clobbers an existing one.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import signal
import sys
import threading
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import NoReturn, TextIO

from . import cli_checks, cli_detect, cli_spark
from ._version import __version__
from .analysis import Analysis, analyze
from .classes import dataset_class_order
from .errors import DatasetError
from .export import snippets, table_parquet, weights_json, write_atomic_many, write_table_csv
from .limits import DEFAULT_LIMITS, FLOAT_LIMITS, Limits, check_limit_value
from .plan import WEIGHT_METHODS
from .readers import read_dataset
from .recipe import Recipe, Strategy, run

__all__ = ["main"]

BAR_WIDTH = 40
MAX_BARS = 25


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise DatasetError(f"{message[0].upper()}{message[1:]} (see --help).", kind="usage")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="python -m balance_core",
        description="Seesaw: see how imbalanced a labelled dataset is.",
    )
    parser.add_argument("--version", action="version", version=f"seesaw {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    commands.required = True
    analyze_cmd = commands.add_parser(
        "analyze",
        help="class counts, imbalance metrics and data-quality findings",
        description="Read a labels table or a zip of image folders and report its balance.",
    )
    analyze_cmd.add_argument(
        "input", metavar="INPUT", help="CSV/TSV/JSON/Parquet/XLSX, zip, COCO JSON or a folder"
    )
    _add_reader_options(analyze_cmd)
    cli_detect.add_analyze_options(analyze_cmd)
    analyze_cmd.add_argument("--json", action="store_true", help="print one JSON object")
    cli_spark.add_options(analyze_cmd)
    analyze_cmd.add_argument(
        "--no-findings",
        action="store_true",
        help="counts and metrics only (skips the duplicate and leakage checks)",
    )
    sampling = (
        ("undersample", "drop rows of the larger classes",
         "equal, majority, ratio:R, cap:N, counts:A=N,B=N"),
        ("oversample", "duplicate rows of the smaller classes",
         "equal, minority, ratio:R, counts:A=N,B=N"),
        ("resample", "every class to one count (hybrid)", "median, mean or a count N"),
    )  # fmt: skip
    for method, help_text, target_help in sampling:
        command = commands.add_parser(method, help=help_text, description=help_text + ".")
        command.add_argument("input", metavar="INPUT")
        _add_reader_options(command)
        command.add_argument(
            "--to", default="median" if method == "resample" else "equal", help=target_help
        )
        _add_row_options(command)
        _add_output_options(command, manifest=True)
        cli_spark.add_options(command)
    weights_cmd = commands.add_parser(
        "weights",
        help="class weights for a weighted loss (or a weighted sampler)",
        description="Compute class weights and write them as JSON; with --snippets DIR, "
        "also the code snippets that put them into PyTorch, Keras, scikit-learn, XGBoost "
        "and LightGBM.",
    )
    weights_cmd.add_argument("input", metavar="INPUT")
    _add_reader_options(weights_cmd)
    weights_cmd.add_argument("--method", default="balanced", choices=WEIGHT_METHODS)
    weights_cmd.add_argument("--beta", type=float, default=0.999, help="for effective_number")
    weights_cmd.add_argument(
        "--normalize", choices=("source", "mean", "min"), default="source", help="weight scale"
    )
    weights_cmd.add_argument("--max-ratio", type=float, help="clip: max weight / min weight")
    weights_cmd.add_argument(
        "--custom", metavar="A=W,B=W", help="weights per class for --method custom"
    )
    weights_cmd.add_argument(
        "--sampler", action="store_true", help="per-sample weights for WeightedRandomSampler"
    )
    weights_cmd.add_argument("--num-samples", type=int, help="sampler draws per epoch")
    weights_cmd.add_argument("--split", default="auto", help="split to weigh (default: train)")
    weights_cmd.add_argument(
        "--snippets",
        metavar="DIR",
        help="also write the code snippets (pytorch.py, keras.py, sklearn.py, ...) into DIR",
    )
    _add_mapping_options(weights_cmd)
    _add_output_options(weights_cmd, manifest=False)
    cli_spark.add_options(weights_cmd)
    apply_cmd = commands.add_parser(
        "apply",
        help="replay a recipe saved by the app or the CLI",
        description="Replay a recipe on an input (e.g. the full data behind a sample).",
    )
    apply_cmd.add_argument("recipe", metavar="RECIPE")
    apply_cmd.add_argument("input", metavar="INPUT")
    apply_cmd.add_argument("-o", "--output", required=True, metavar="OUT")
    apply_cmd.add_argument("--dropped", metavar="OUT", help="also write the dropped rows")
    apply_cmd.add_argument(
        "--strict", action="store_true", help="refuse an input other than the recipe's"
    )
    apply_cmd.add_argument("--limit", metavar="NAME=VALUE", action="append", default=[])
    cli_detect.add_apply_options(apply_cmd)
    cli_spark.add_options(apply_cmd, reader=False)
    cli_checks.add_commands(commands)
    cli_detect.add_commands(commands)
    return parser


def _add_row_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument(
        "--split", default="auto", help="split to resample: a name, all, or auto (= train)"
    )
    parser.add_argument(
        "--no-groups", action="store_true", help="ignore the group column when choosing rows"
    )
    parser.add_argument("--stratify", metavar="C", help="keep this column's mix in each class")
    _add_mapping_options(parser)


def _add_mapping_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--map", action="append", default=[], metavar="OLD=NEW", help="rename or merge a label"
    )
    parser.add_argument("--drop", action="append", default=[], metavar="LABEL", help="drop a class")


def _add_output_options(parser: argparse.ArgumentParser, *, manifest: bool) -> None:
    parser.add_argument("-o", "--output", required=True, metavar="OUT")
    parser.add_argument("--recipe", metavar="OUT", help="also write the recipe (JSON)")
    if manifest:
        parser.add_argument(
            "--format",
            choices=("csv", "parquet"),
            help="manifest format (default: from the -o suffix, else csv)",
        )
        parser.add_argument("--dropped", metavar="OUT", help="also write the dropped rows")
        parser.add_argument(
            "--raw-csv",
            action="store_true",
            help="do not neutralise cells a spreadsheet would run as formulas",
        )


def _add_reader_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--label-col", metavar="C", help="column holding the labels")
    parser.add_argument("--path-col", metavar="C", help="column holding file paths")
    parser.add_argument("--split-col", metavar="C", help="column holding train/val/test")
    parser.add_argument("--group-col", metavar="C", help="column holding patient/subject ids")
    parser.add_argument("--sheet", metavar="NAME", help="worksheet of an Excel workbook")
    parser.add_argument(
        "--probe",
        choices=("all", "sample", "none"),
        default="all",
        help="read image headers in a zip: all, a sample per class, or none",
    )
    parser.add_argument(
        "--limit",
        metavar="NAME=VALUE",
        action="append",
        default=[],
        help="raise or lower a safety limit, e.g. --limit max_zip_entries=2000000",
    )


def parse_limits(items: Sequence[str]) -> Limits:
    """``["max_zip_entries=10", ...]`` -> :class:`Limits`; every value a finite number
    above 0 (``nan``, ``inf``, ``0`` and negatives are refused in one sentence)."""
    fields = {f.name for f in dataclasses.fields(Limits)}
    changes: dict[str, int | float] = {}
    for item in items:
        name, _, value = item.partition("=")
        name = name.strip().replace("-", "_")
        if name not in fields:
            raise DatasetError(
                f"Unknown limit {name!r}; the limits are {', '.join(sorted(fields))}.",
                kind="usage",
            )
        text = value.strip().replace("_", "")
        try:
            number: int | float = int(text) if name not in FLOAT_LIMITS else float(text)
        except ValueError:
            try:
                number = float(text)  # "1e9" for a whole-number limit
            except ValueError:
                raise DatasetError(
                    f"The limit {name} needs a number, got {value!r}.", kind="usage"
                ) from None
            if math.isfinite(number) and number.is_integer() and name not in FLOAT_LIMITS:
                number = int(number)
        if isinstance(number, float) and not math.isfinite(number):
            raise DatasetError(
                f"The limit {name} must be a finite number above 0, got {value!r}.",
                kind="usage",
            )
        check_limit_value(name, number)
        changes[name] = number
    return dataclasses.replace(DEFAULT_LIMITS, **changes)


class _Terminated(Exception):
    """SIGTERM, raised where the program is, so temporary files are cleaned up."""


def _on_sigterm(signum: int, frame: object) -> NoReturn:
    raise _Terminated


def main(argv: Sequence[str] | None = None, *, stdout: TextIO | None = None) -> int:
    """Run the CLI; returns the exit status."""
    stdout = stdout or sys.stdout
    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        return _main(argv, stdout)
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _main(argv: Sequence[str] | None, stdout: TextIO) -> int:
    try:
        args = build_parser().parse_args(argv)
        if args.command in cli_checks.COMMANDS:
            return cli_checks.run_command(args, stdout)  # 1 when a check fails
        if args.command in cli_detect.COMMANDS:
            return cli_detect.run_command(args, stdout)
        if getattr(args, "engine", "pandas") == "spark":
            mapping = _mapping(args) if hasattr(args, "map") else {}
            roles = ("label", "path", "split", "group")
            reader = {f"{r}_col": getattr(args, f"{r}_col", None) for r in roles}
            return cli_spark.run_command(args, stdout, mapping=mapping, reader=reader)
        if args.command == "analyze":
            dataset = read_dataset(args.input, limits=parse_limits(args.limit), **_reader(args))
            if dataset.kind != "single":
                cli_detect.analyze_command(args, dataset, stdout)
                return 0
            result = analyze(dataset, findings=not args.no_findings)
            if args.json:
                json.dump(result.to_dict(), stdout, ensure_ascii=False, allow_nan=False)
                stdout.write("\n")
            else:
                stdout.write(render_report(result))
        elif args.command == "apply":
            _apply(args, stdout)
        else:
            _balance(args, stdout)
        return 0
    except DatasetError as error:
        print(f"error: {_one_line(str(error))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("error: interrupted.", file=sys.stderr)
        return 130
    except _Terminated:
        print("error: terminated.", file=sys.stderr)
        return 143
    except BrokenPipeError:
        # The reader went away (e.g. `| head`): not an error of ours, and no traceback.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except OSError as error:
        # An input that cannot be opened (permissions, a name too long, a folder in
        # the way) is the user's to fix: one sentence, not a traceback.
        where = f" {error.filename!r}" if error.filename else ""
        reason = error.strerror or str(error)
        print(f"error: Cannot use{where}: {reason}; check the path.", file=sys.stderr)
        return 2


def _reader(args: argparse.Namespace) -> dict:
    return {
        "label_col": args.label_col,
        "path_col": args.path_col,
        "split_col": args.split_col,
        "group_col": args.group_col,
        "sheet": args.sheet,
        "probe": args.probe,
        **cli_detect.reader_options(args),
    }


def _mapping(args: argparse.Namespace) -> dict[str, str | None]:
    mapping: dict[str, str | None] = {}
    for item in args.map:
        old, sep, new = item.rpartition("=")
        if not sep or not old:
            raise DatasetError(f"--map needs OLD=NEW, got {item!r}.", kind="usage")
        mapping[old] = new
    for label in args.drop:
        mapping[label] = None
    return mapping


def _custom_weights(text: str | None) -> dict[str, float] | None:
    if text is None:
        return None
    weights = {}
    for item in text.split(","):
        label, sep, value = item.rpartition("=")
        try:
            weights[label] = float(value)
        except ValueError:
            raise DatasetError(
                f"--custom needs LABEL=WEIGHT pairs, got {item!r}.", kind="usage"
            ) from None
        if not sep:
            raise DatasetError(f"--custom needs LABEL=WEIGHT pairs, got {item!r}.", kind="usage")
    return weights


def _check_outputs(inputs: Sequence[str], outputs: Sequence[str | None]) -> None:
    """Refuse to write over an input, or twice to the same file."""
    given = [Path(o).resolve() for o in outputs if o]
    if len(given) != len(set(given)):
        raise DatasetError("Two outputs name the same file; give each its own path.", kind="usage")
    for source in inputs:
        if Path(source).resolve() in given:
            raise DatasetError(
                f"An output would overwrite the input {source!r}; write somewhere else.",
                kind="usage",
            )
    for target in given:
        if not target.parent.is_dir():
            raise DatasetError(
                f"The folder {str(target.parent)!r} does not exist; create it first.",
                kind="usage",
            )
        if target.is_dir():
            raise DatasetError(
                f"The output {str(target)!r} is a folder; give a file name.", kind="usage"
            )


def _balance(args: argparse.Namespace, stdout: TextIO) -> None:
    manifest_format = getattr(args, "format", None) or (
        "parquet" if args.output.lower().endswith(".parquet") else "csv"
    )
    snippet_dir = getattr(args, "snippets", None)
    _check_outputs(
        [args.input],
        [args.output, getattr(args, "dropped", None), args.recipe, *_snippet_paths(snippet_dir),
         getattr(args, "row_weights", None)],
    )  # fmt: skip
    if args.command == "weights":
        strategy = Strategy(
            method="sampler" if args.sampler else "weights",
            weighting=args.method,
            beta=args.beta,
            normalize=args.normalize,
            max_ratio=args.max_ratio,
            custom=_custom_weights(args.custom),
            num_samples=args.num_samples,
        )
        recipe = Recipe(strategy=strategy, split=args.split, label_mapping=_mapping(args))
    else:
        recipe = Recipe(
            strategy=Strategy(method=args.command, target=args.to),
            seed=args.seed,
            split=args.split,
            use_groups=not args.no_groups,
            stratify=args.stratify,
            label_mapping=_mapping(args),
            output={"format": manifest_format, "neutralize_formulas": not args.raw_csv},
        )
    limits = parse_limits(args.limit)
    dataset = read_dataset(args.input, limits=limits, **_reader(args))
    recipe = replace(
        recipe,
        reader=dataset.roles.as_dict() | {"sheet": args.sheet},
        input={
            "name": dataset.source.name,
            "format": dataset.source.format,
            "size_bytes": dataset.source.size_bytes,
            # Hashing gigabytes costs seconds: only a written recipe needs the fingerprint.
            "sha256": dataset.source.sha256 if args.recipe else None,
        },
    )
    outcome = run(recipe, dataset, limits=limits)
    files, report = _outcome_files(
        outcome, args.output, getattr(args, "dropped", None), dataset=dataset
    )
    if snippet_dir:
        order = dataset_class_order(dataset, outcome.weights.labels)
        code = snippets(outcome.weights, sampler=outcome.sampler, order=order)
        files += [
            (path, code[key].encode("utf-8")) for key, path in _snippet_paths(snippet_dir, code)
        ]
        report += f"wrote {len(code)} snippets into {snippet_dir}\n"
    if getattr(args, "row_weights", None):  # added by cli_spark.add_options
        files.append((args.row_weights, _row_weights_file(outcome, dataset, args.row_weights)))
        report += f"wrote one weight per row into {args.row_weights}\n"
    if args.recipe:
        files.append((args.recipe, recipe.to_json()))
    # All or nothing: a failed run leaves every existing output as it was.
    write_atomic_many(files)
    stdout.write(report)


def _row_weights_file(outcome, dataset, path: str):
    from .recipe import per_sample_weights

    table = per_sample_weights(outcome, dataset)
    if path.lower().endswith(".csv"):
        return lambda handle: write_table_csv(table, handle)
    return table_parquet(table)


def _apply(args: argparse.Namespace, stdout: TextIO) -> None:
    _check_outputs([args.input, args.recipe], [args.output, args.dropped])
    try:
        recipe = Recipe.from_json(Path(args.recipe).read_bytes())
    except OSError as error:
        raise DatasetError(
            f"Cannot read the recipe {args.recipe!r} ({error.strerror}); check the path.",
            kind="file_not_found",
        ) from None
    if cli_detect.is_sample_recipe(recipe):
        cli_detect.apply_recipe(args, recipe, stdout)
        return
    if args.yolo_list or args.coco:
        raise DatasetError(
            "--yolo-list and --coco only apply to sample-plan recipes.", kind="usage"
        )
    reader = {
        f"{role}_col": recipe.reader.get(role) for role in ("label", "path", "split", "group")
    }
    limits = parse_limits(args.limit)
    dataset = read_dataset(
        args.input, sheet=recipe.reader.get("sheet"), limits=limits, multilabel="off", **reader
    )
    expected = recipe.input.get("sha256")
    if expected and expected != dataset.source.sha256:
        if args.strict:
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
    files, report = _outcome_files(
        run(recipe, dataset, limits=limits), args.output, args.dropped, dataset=dataset
    )
    write_atomic_many(files)
    stdout.write(report)


SNIPPET_FILES = {
    "pytorch": "pytorch.py", "pytorch_sampler": "pytorch_sampler.py", "keras": "keras.py",
    "sklearn": "sklearn.py", "xgboost": "xgboost.py", "lightgbm": "lightgbm.py",
}  # fmt: skip


def _snippet_paths(folder: str | None, code: dict | None = None) -> list:
    """The snippet files written into ``folder`` (every possible one without ``code``)."""
    if not folder:
        return []
    if not Path(folder).is_dir():
        raise DatasetError(
            f"The snippets folder {folder!r} does not exist; create it first.", kind="usage"
        )
    keys = [key for key in SNIPPET_FILES if code is None or key in code]
    paths = [str(Path(folder) / SNIPPET_FILES[key]) for key in keys]
    return paths if code is None else list(zip(keys, paths, strict=True))


def _outcome_files(
    outcome, output: str, dropped: str | None, *, dataset=None
) -> tuple[list[tuple[str, bytes]], str]:
    """The files a run writes (path, bytes) and the report printed once they are."""
    recipe = outcome.recipe
    if outcome.resampled is not None:
        as_parquet = recipe.output.get("format") == "parquet"
        neutralize = recipe.output.get("neutralize_formulas", True)

        def encode(table):
            if as_parquet:
                return table_parquet(table)
            return lambda handle: write_table_csv(table, handle, neutralize_formulas=neutralize)

        files = [(output, encode(outcome.resampled.manifest))]
        if dropped:
            files.append((dropped, encode(outcome.resampled.dropped)))
        plan = outcome.plan
        where = f" in split {outcome.split!r}" if outcome.split is not None else ""
        reasons = outcome.resampled.dropped_by_reason
        left_out = "".join(
            f", {n:,} {reason}" for reason, n in reasons.items() if reason != "undersampled"
        )
        report = (
            f"{plan.method}{where}: {plan.rows_before:,} -> {plan.rows_after:,} rows "
            f"({sum(reasons.values()):,} dropped: {reasons.get('undersampled', 0):,} "
            f"undersampled{left_out}; {plan.rows_added:,} duplicated); "
            f"{outcome.resampled.passthrough_rows:,} rows of other splits unchanged; "
            f"wrote {output}\n"
        )
        report += "".join(f"warning: {_printable(warning)}\n" for warning in plan.warnings)
        return files, report
    if dropped:
        raise DatasetError("--dropped only applies to sampling recipes.", kind="usage")
    order = dataset_class_order(dataset, outcome.weights.labels) if dataset is not None else None
    files = [(output, weights_json(outcome.weights, sampler=outcome.sampler, order=order))]
    weights = outcome.weights
    report = (
        f"{weights.method} weights for {len(weights.counts)} classes (spread "
        f"{weights.spread:.2f}); wrote {output}\n"
    )
    extra = weights.warnings + (outcome.sampler.warnings if outcome.sampler else ())
    report += "".join(f"warning: {_printable(warning)}\n" for warning in extra)
    return files, report


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _printable(text: str) -> str:
    """User data made safe for a terminal: control characters escaped."""
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode() for ch in text)


def render_report(result: Analysis) -> str:
    """The human-readable report, with a text bar chart."""
    ds, dist = result.dataset, result.distribution
    source = ds.source
    details = [source.format.upper(), _size(source.size_bytes)]
    if source.encoding:
        details.append(source.encoding)
    if source.delimiter:
        details.append(f"delimiter {source.delimiter!r}")
    if source.sheet:
        details.append(f"sheet {source.sheet!r}")
    lines = [f"Seesaw analysis of {_printable(source.name)} ({', '.join(details)})"]
    roles = []
    for role, column in ds.roles.as_dict().items():
        if column is not None:
            how = " (guessed)" if role in ds.roles.guessed else ""
            roles.append(f"{role}={_printable(repr(column))}{how}")
    lines.append("Columns: " + ", ".join(roles))
    lines.append(
        f"{dist.n_rows:,} rows, {dist.n_classes:,} classes, {dist.missing_labels:,} without a label"
    )
    lines.append("")
    lines += _bars(dist.counts, dist.minority, dist.majority)
    lines.append("")
    if dist.n_classes:
        lines.append(
            f"Imbalance ratio {dist.ratio_text} (minority {_printable(repr(dist.minority))}, "
            f"majority {_printable(repr(dist.majority))})"
        )
        lines.append(
            f"Evenness {dist.evenness:.3f} · effective classes {dist.effective_classes:.2f} · "
            f"imbalance degree {dist.imbalance_degree:.3f} · Gini {dist.gini:.3f}"
        )
        lines.append(f"Verdict: {dist.verdict_reason}")
    for split, counts in dist.split_counts.items():
        mix = ", ".join(f"{_printable(k)} {v:,}" for k, v in counts.items())
        lines.append(f"  split {_printable(split)}: {sum(counts.values()):,} rows ({mix})")
    lines.append("")
    if result.findings:
        lines.append(f"Findings ({len(result.findings)}):")
        for finding in result.findings:
            lines.append(f"  [{finding.severity}] {finding.kind}: {_printable(finding.message)}")
    else:
        lines.append("Findings: none.")
    return "\n".join(lines) + "\n"


def _bars(counts: dict[str, int], minority: str | None, majority: str | None) -> list[str]:
    ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    hidden = 0
    if len(ordered) > MAX_BARS:
        hidden = len(ordered) - MAX_BARS
        ordered = ordered[: MAX_BARS - 5] + ordered[-5:]
    largest = max((n for _, n in ordered), default=0) or 1
    total = sum(counts.values()) or 1
    width = min(max((len(_printable(k)) for k, _ in ordered), default=5), 30)
    lines = []
    for position, (label, n) in enumerate(ordered):
        if hidden and position == MAX_BARS - 5:
            lines.append(f"  {'…':<{width}}  ({hidden:,} more classes)")
        name = _printable(label)
        name = name if len(name) <= width else name[: width - 1] + "…"
        bar = "█" * max(1 if n else 0, round(BAR_WIDTH * n / largest))
        tag = "  ← majority" if label == majority else "  ← minority" if label == minority else ""
        lines.append(f"  {name:<{width}}  {bar:<{BAR_WIDTH}} {n:>12,} {n / total:6.1%}{tag}")
    return lines


def _size(n: int) -> str:
    size = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{n} B"


def main_exit() -> None:
    """Entry point of the ``seesaw`` console script."""
    sys.exit(main())
