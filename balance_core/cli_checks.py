"""The ``check``, ``report`` and ``split`` commands of ``python -m balance_core``.

:func:`add_commands` adds them to the CLI's subparsers and :func:`run_command` runs
one, returning the exit status: ``check`` exits 0 when the data passes and 1 when a
check fails (each failure one line); bad input raises DatasetError, which the CLI
turns into exit 2 with one sentence.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import replace
from pathlib import Path
from typing import Any, TextIO

import pyarrow as pa

from .analysis import analyze
from .errors import DatasetError
from .export import table_parquet, write_atomic_many, write_table_csv
from .gate import FAIL_ON, GateResult, Thresholds, parse_fail_on, run_gate
from .readers import read_dataset
from .splits import (
    SPLIT_RECORD_FORMAT,
    SplitParams,
    SplitResult,
    moved_table,
    parse_proportions,
    split_dataset,
    split_record,
    with_split_column,
)

__all__ = ["COMMANDS", "SPLIT_RECORD_FORMAT", "add_commands", "run_command"]

COMMANDS = ("check", "report", "split")


def add_commands(commands: argparse._SubParsersAction) -> None:
    """Add ``check``, ``report`` and ``split`` to the CLI's subparsers."""
    from . import cli_spark
    from .cli import _add_reader_options

    check = commands.add_parser(
        "check",
        help="gate a pipeline: exit 1 when the data fails a check",
        description=(
            "Analyse the data, apply the thresholds and exit 0 when it passes, 1 when a "
            "check fails (one line per failure), 2 on bad input."
        ),
    )
    check.add_argument("input", metavar="INPUT")
    _add_reader_options(check)
    _add_threshold_options(check)
    check.add_argument("--json", action="store_true", help="print the seesaw-check/1 JSON")
    check.add_argument(
        "--quiet", action="store_true", help="print only the failures (no summary line)"
    )
    cli_spark.add_options(check, reader=False, outputs=False)

    report = commands.add_parser(
        "report",
        help="a self-contained HTML report (and the same as text on stdout)",
        description=(
            "Write one HTML file with the distribution, the splits, the findings and the "
            "chosen strategy (charts work offline), and print the report as text."
        ),
    )
    report.add_argument("input", metavar="INPUT")
    _add_reader_options(report)
    report.add_argument("-o", "--output", metavar="OUT.html", help="write the HTML report")
    report.add_argument("--recipe", metavar="RECIPE", help="a balancing recipe to describe")
    report.add_argument(
        "--split-record", metavar="RECORD", help="a split record (from split --record)"
    )
    _add_threshold_options(report)

    split = commands.add_parser(
        "split",
        help="make train/val/test splits: stratified, group-aware, seeded",
        description=(
            "Split the rows into named parts with the given shares, stratified by class, "
            "each group in one split, and write the manifest with the new split column."
        ),
    )
    split.add_argument("input", metavar="INPUT")
    _add_reader_options(split)
    split.add_argument(
        "--splits",
        metavar="NAME=SHARE,...",
        help="e.g. train=0.8,val=0.1,test=0.1 (or 80/10/10); a re-split defaults to the "
        "current splits' sizes",
    )
    split.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    split.add_argument(
        "--no-groups", action="store_true", help="let a group's rows go to different splits"
    )
    split.add_argument(
        "--min-per-class",
        type=int,
        default=1,
        metavar="N",
        help="at least N rows of every class in every split (default 1; 0 allows none)",
    )
    split.add_argument(
        "--resplit",
        action="store_true",
        help="repair the current splits: reunite groups and fix the mix, moving few rows",
    )
    split.add_argument("--from", dest="from_record", metavar="RECORD", help="replay a split record")
    split.add_argument("-o", "--output", required=True, metavar="OUT")
    split.add_argument(
        "--format", choices=("csv", "parquet"), help="manifest format (default: from -o)"
    )
    split.add_argument(
        "--column", metavar="NAME", help="name of the split column (default: the current one, "
        "else 'split')"
    )  # fmt: skip
    split.add_argument("--record", metavar="OUT.json", help="also write the split record")
    split.add_argument("--moved", metavar="OUT", help="also write the rows whose split changed")
    split.add_argument(
        "--raw-csv",
        action="store_true",
        help="do not neutralise cells a spreadsheet would run as formulas",
    )
    split.add_argument("--json", action="store_true", help="print the split as JSON")


def _add_threshold_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--max-ratio", type=float, metavar="R", help="fail above an imbalance ratio of 1 : R"
    )
    parser.add_argument(
        "--min-class", type=int, metavar="N", help="fail when a class has fewer than N rows"
    )
    parser.add_argument(
        "--min-per-split",
        type=int,
        default=1,
        metavar="N",
        help="a class with fewer than N rows in a split is missing from it (default 1)",
    )
    parser.add_argument(
        "--max-js",
        type=float,
        default=0.05,
        metavar="D",
        help="splits' class mixes further apart than this Jensen-Shannon distance differ "
        "(default 0.05)",
    )
    parser.add_argument(
        "--alpha", type=float, default=0.01, help="significance of the mix test (default 0.01)"
    )
    parser.add_argument(
        "--fail-on",
        default="errors",
        metavar="CHECKS",
        help="comma-separated: errors (default), warnings, all, "
        + ", ".join(sorted(FAIL_ON))
        + ", or a finding kind",
    )


def run_command(args: argparse.Namespace, stdout: TextIO) -> int:
    """Run ``check``, ``report`` or ``split``; returns the exit status (0, or 1 for a
    failed check). Bad input raises DatasetError."""
    if args.command == "check":
        return _check(args, stdout)
    if args.command == "report":
        return _report(args, stdout)
    if args.command == "split":
        return _split(args, stdout)
    raise DatasetError(f"Unknown command {args.command!r}.", kind="usage")


def _read(args: argparse.Namespace):
    from .cli import _reader, parse_limits
    from .cli_detect import require_single

    dataset = read_dataset(args.input, limits=parse_limits(args.limit), **_reader(args))
    return require_single(dataset, args.command)


def _thresholds(args: argparse.Namespace) -> Thresholds:
    return Thresholds(
        max_ratio=args.max_ratio,
        min_class=args.min_class,
        min_per_split=args.min_per_split,
        max_js_distance=args.max_js,
        alpha=args.alpha,
        fail_on=parse_fail_on(args.fail_on),
    )


def _printable(text: str) -> str:
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode() for ch in text)


def failure_lines(result: GateResult) -> list[str]:
    """One line per failing finding: ``FAIL <check> (<kind>): <message>`` (the kind
    left out when the check is named after it)."""
    lines = []
    for name, finding in result.failures:
        kind = str(finding.kind)
        label = name if name.replace("-", "_") == kind else f"{name} ({kind})"
        lines.append(f"FAIL {label}: {_printable(' '.join(finding.message.split()))}")
    return lines


def _check(args: argparse.Namespace, stdout: TextIO) -> int:
    thresholds = _thresholds(args)
    if getattr(args, "engine", "pandas") == "spark":
        from .cli_spark import check_result

        result = check_result(args, thresholds)  # counts on Spark, no rows on the driver
    else:
        result = run_gate(analyze(_read(args)), thresholds)
    if args.json:
        json.dump(result.to_dict(), stdout, ensure_ascii=False, allow_nan=False)
        stdout.write("\n")
        return result.exit_code
    for line in failure_lines(result):
        stdout.write(line + "\n")
    if not args.quiet:
        dist = result.analysis.distribution
        failed = sum(not c.passed for c in result.checks)
        others = len(result.findings) - len(result.failures)
        status = "passed" if result.passed else "FAILED"
        stdout.write(
            f"seesaw check: {status} ({failed} of {len(result.checks)} checks failed: "
            f"{', '.join(c.name for c in result.checks if not c.passed) or 'none'}; "
            f"{dist.n_rows:,} rows, ratio {dist.ratio_text}; {others} other finding(s) "
            "not failing)\n"
        )
    return result.exit_code


def _read_json_file(path: str, what: str) -> Any:
    try:
        return json.loads(Path(path).read_bytes())
    except OSError as error:
        raise DatasetError(
            f"Cannot read the {what} {path!r} ({error.strerror}); check the path.",
            kind="file_not_found",
        ) from None
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise DatasetError(
            f"The {what} {path!r} is not valid JSON ({error}); use the file Seesaw wrote.",
            kind="bad_recipe",
        ) from None


def _split_params_from_record(path: str) -> SplitParams:
    return _split_record_file(path)[0]


def _split_record_file(path: str) -> tuple[SplitParams, dict]:
    """The split parameters of a record and the reader settings it was made with."""
    record = _read_json_file(path, "split record")
    if not isinstance(record, dict) or record.get("format") != SPLIT_RECORD_FORMAT:
        raise DatasetError(
            f"{path!r} is not a Seesaw split record (expected format {SPLIT_RECORD_FORMAT!r}).",
            kind="bad_recipe",
        )
    reader = record.get("reader") or {}
    if not isinstance(reader, dict) or not all(
        value is None or isinstance(value, str) for value in reader.values()
    ):
        raise DatasetError(
            f"The split record {path!r} has a reader that is not an object of column names; "
            "use the file Seesaw wrote.",
            kind="bad_recipe",
        )
    return SplitParams.from_dict(record.get("split") or {}), reader


def _report(args: argparse.Namespace, stdout: TextIO) -> int:
    from .cli import _check_outputs

    _check_outputs([args.input, *(p for p in (args.recipe, args.split_record) if p)], [args.output])
    from .report import Strategy, html_report, text_report  # Plotly: only for reports

    thresholds = _thresholds(args)
    dataset = _read(args)
    outcome = None
    if args.recipe:
        from .apply import counts_for
        from .recipe import Recipe, resolve_split, run_counts

        try:
            recipe = Recipe.from_json(Path(args.recipe).read_bytes())
        except OSError as error:
            raise DatasetError(
                f"Cannot read the recipe {args.recipe!r} ({error.strerror}); check the path.",
                kind="file_not_found",
            ) from None
        split_name = resolve_split(dataset, recipe.split)
        counts = counts_for(dataset, split=split_name, mapping=recipe.label_mapping or None)
        outcome = replace(run_counts(recipe, counts), split=split_name)
    split = None
    if args.split_record:
        split = split_dataset(dataset, _split_params_from_record(args.split_record))
    result = run_gate(analyze(dataset), thresholds)
    strategy = Strategy(outcome=outcome, split=split)
    if args.output:
        write_atomic_many([(args.output, html_report(result, strategy=strategy).encode())])
    stdout.write(text_report(result, strategy=strategy))
    if args.output:
        stdout.write(f"wrote {args.output}\n")
    return 0


def _split(args: argparse.Namespace, stdout: TextIO) -> int:
    from .cli import _check_outputs

    inputs = [args.input, *([args.from_record] if args.from_record else [])]
    _check_outputs(inputs, [args.output, args.record, args.moved])
    if args.from_record:
        if args.splits or args.resplit:
            raise DatasetError(
                "--from replays a recorded split; leave out --splits and --resplit.",
                kind="usage",
            )
        params, reader = _split_record_file(args.from_record)
        # The record's columns, unless the command line names others: the app's
        # choice of label (or sheet) replays instead of being guessed again.
        for role in ("label", "path", "split", "group", "sheet"):
            option = role if role == "sheet" else f"{role}_col"
            if getattr(args, option, None) is None and reader.get(role) is not None:
                setattr(args, option, reader[role])
    else:
        params = SplitParams(
            proportions=parse_proportions(args.splits) if args.splits else None,
            seed=args.seed,
            use_groups=not args.no_groups,
            min_per_class=args.min_per_class,
            mode="resplit" if args.resplit else "split",
        )
    dataset = _read(args)
    result = split_dataset(dataset, params)
    manifest = with_split_column(dataset, result, column=args.column)
    as_parquet = (args.format or ("parquet" if args.output.lower().endswith(".parquet")
                                  else "csv")) == "parquet"  # fmt: skip

    def encode(table: pa.Table):
        if as_parquet:
            return table_parquet(table)
        return lambda handle: write_table_csv(table, handle, neutralize_formulas=not args.raw_csv)

    files: list[tuple[str, Any]] = [(args.output, encode(manifest))]
    if args.record:
        files.append((args.record, split_record(dataset, result, column=args.column)))
    if args.moved:
        files.append((args.moved, encode(moved_table(dataset, result))))
    write_atomic_many(files)
    if args.json:
        json.dump(result.to_dict(), stdout, ensure_ascii=False, allow_nan=False)
        stdout.write("\n")
        return 0
    for line in result.summary():
        stdout.write(_printable(line) + "\n")
    stdout.write(_deviation_table(result))
    stdout.write(f"wrote {args.output}\n")
    return 0


def _deviation_table(result: SplitResult) -> str:
    width = min(max((len(_printable(c)) for c in result.classes), default=5), 30)
    header = f"  {'class':<{width}}" + "".join(f"  {_printable(n)[:14]:>14}" for n in result.names)
    lines = [header, f"  {'asked':<{width}}" + "".join(f"  {a:>14.1%}" for a in result.asked)]
    achieved = result.achieved
    for c, label in enumerate(result.classes[:50]):
        name = _printable(label)
        name = name if len(name) <= width else name[: width - 1] + "…"
        cells = "".join(
            f"  {f'{achieved[s, c]:.1%} ({result.counts[s, c]:,})':>14}"
            for s in range(len(result.names))
        )
        lines.append(f"  {name:<{width}}{cells}")
    if len(result.classes) > 50:
        lines.append(f"  … and {len(result.classes) - 50:,} more classes")
    return "\n".join(lines) + "\n"
