"""Command line: ``python -m balance_core analyze INPUT ...``.

Exit status 0 on success and 2 on bad input or usage, with one sentence on stderr
and no traceback.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from collections.abc import Sequence
from typing import NoReturn, TextIO

from ._version import __version__
from .analysis import Analysis, analyze
from .errors import DatasetError
from .limits import DEFAULT_LIMITS, Limits
from .readers import read_dataset

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
    analyze_cmd.add_argument("input", metavar="INPUT", help="CSV/TSV/JSON/Parquet/XLSX or zip")
    _add_reader_options(analyze_cmd)
    analyze_cmd.add_argument("--json", action="store_true", help="print one JSON object")
    analyze_cmd.add_argument(
        "--no-findings",
        action="store_true",
        help="counts and metrics only (skips the duplicate and leakage checks)",
    )
    return parser


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
    """``["max_zip_entries=10", ...]`` -> :class:`Limits`."""
    fields = {f.name: f.type for f in dataclasses.fields(Limits)}
    changes: dict[str, int | float] = {}
    for item in items:
        name, _, value = item.partition("=")
        name = name.strip().replace("-", "_")
        if name not in fields:
            raise DatasetError(
                f"Unknown limit {name!r}; the limits are {', '.join(fields)}.", kind="usage"
            )
        try:
            number = float(value) if fields[name] in (float, "float") else int(value)
        except ValueError:
            raise DatasetError(
                f"The limit {name} needs a number, got {value!r}.", kind="usage"
            ) from None
        if number <= 0:
            raise DatasetError(f"The limit {name} must be above 0, got {value}.", kind="usage")
        changes[name] = number
    return dataclasses.replace(DEFAULT_LIMITS, **changes)


def main(argv: Sequence[str] | None = None, *, stdout: TextIO | None = None) -> int:
    """Run the CLI; returns the exit status."""
    stdout = stdout or sys.stdout
    try:
        args = build_parser().parse_args(argv)
        limits = parse_limits(args.limit)
        dataset = read_dataset(
            args.input,
            label_col=args.label_col,
            path_col=args.path_col,
            split_col=args.split_col,
            group_col=args.group_col,
            sheet=args.sheet,
            probe=args.probe,
            limits=limits,
        )
        result = analyze(dataset, findings=not args.no_findings)
        if args.json:
            json.dump(result.to_dict(), stdout, ensure_ascii=False, allow_nan=False)
            stdout.write("\n")
        else:
            stdout.write(render_report(result))
        return 0
    except DatasetError as error:
        print(f"error: {_one_line(str(error))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("error: interrupted.", file=sys.stderr)
        return 130


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
