"""Detection and multi-label datasets on the command line.

- Reader options for ``analyze`` and the commands below: ``--format``,
  ``--multilabel``, ``--labels-sep``, ``--label-cols``, ``--uncertain``,
  ``--empty-label``; ``analyze --unit boxes|images|area`` for the distribution.
- ``sample``: copies per image or sample (repeat-factor sampling, image-level
  under/oversampling, ML-ROS, ML-RUS), written as the copies manifest, a YOLO
  image list, a COCO JSON and snippets, with a recipe.
- ``label-weights``: per-label ``pos_weight`` or effective-number weights (JSON
  and a PyTorch snippet), or per-sample sampler weights (a table).
- ``apply`` of a recipe written by these commands (:func:`apply_recipe`).

Every command reads through :func:`balance_core.readers.read_dataset`, writes all
its files atomically and together, and exits 2 with one sentence on bad input.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any, TextIO

from .dataset import Dataset
from .detection import detection_findings, summarize_detection
from .errors import DatasetError
from .export import table_parquet, write_atomic_many, write_table_csv
from .multilabel import multilabel_findings, summarize_multilabel
from .readers import FORMATS, MULTILABEL_MODES, read_dataset
from .readers.multilabel import UNCERTAIN_POLICIES
from .recipe import SAMPLE_PLAN, Recipe
from .sample_export import (
    coco_json,
    copies_manifest,
    label_weights_json,
    sample_snippets,
    yolo_image_list,
)
from .sample_recipe import (
    LABEL_WEIGHT_METHODS,
    SAMPLER_METHODS,
    SampleOutcome,
    run_samples,
    sample_recipe,
    sample_record,
    sample_weights_table,
)

__all__ = [
    "COMMANDS",
    "add_analyze_options",
    "add_apply_options",
    "add_commands",
    "analyze_command",
    "apply_recipe",
    "reader_options",
    "recorded_reader",
    "require_single",
    "run_command",
]

COMMANDS = ("sample", "label-weights")
SAMPLE_METHODS = {
    "repeat-factor": "repeat_factor",
    "image-undersample": "image_undersample",
    "image-oversample": "image_oversample",
    "ml-ros": "ml_ros",
    "ml-rus": "ml_rus",
}
UNITS = ("boxes", "images", "area", "samples")
TOP_PAIRS = 10
MAX_TABLE_ROWS = 40
READER_KEYS = ("format", "multilabel", "labels_sep", "label_cols", "uncertain", "empty_label")


# --------------------------------------------------------------------------- options


def _add_reader_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--format",
        dest="data_format",
        choices=FORMATS,
        metavar="FORMAT",
        help="skip detection: table (or csv, tsv, json, jsonl, parquet, xlsx), zip "
        "(class folders), coco, yolo or voc",
    )
    parser.add_argument(
        "--multilabel",
        choices=MULTILABEL_MODES,
        default="auto",
        help="several labels per row: auto (when clear), on, or off (each combination a class)",
    )
    parser.add_argument(
        "--labels-sep", metavar="SEP", help="the label column joins several labels with SEP"
    )
    parser.add_argument(
        "--label-cols",
        metavar="A,B,...",
        action="append",
        help="indicator columns, one per label (1/0, true/false, CheXpert's 1/0/-1/blank)",
    )
    parser.add_argument(
        "--uncertain",
        choices=UNCERTAIN_POLICIES,
        default="ignore",
        help="how -1 (uncertain) cells count: ignore (neither), zeros or ones",
    )
    parser.add_argument(
        "--empty-label", metavar="LABEL", help="the label meaning none (default: No Finding)"
    )


def add_analyze_options(parser: argparse.ArgumentParser) -> None:
    """The reader options and ``--unit`` on the ``analyze`` command."""
    _add_reader_options(parser)
    parser.add_argument(
        "--unit",
        choices=UNITS,
        help="count detection classes in boxes (default), images or area",
    )


def add_apply_options(parser: argparse.ArgumentParser) -> None:
    """Extra outputs of ``apply`` for a sample-plan recipe (as ``sample`` wrote them)."""
    parser.add_argument("--yolo-list", metavar="OUT.txt", help="sample plans: the image list")
    parser.add_argument("--coco", metavar="OUT.json", help="sample plans: the COCO file")


def reader_options(args: argparse.Namespace) -> dict[str, Any]:
    """``read_dataset`` options from the parsed arguments. Commands without these
    options read one label per row, as they always have (detection input is still
    recognised, and refused by the commands that cannot balance it)."""
    if not hasattr(args, "multilabel"):
        return {"multilabel": "off"}
    label_cols = None
    if args.label_cols:
        label_cols = [c.strip() for item in args.label_cols for c in item.split(",") if c.strip()]
        if not label_cols:
            raise DatasetError("--label-cols needs column names, e.g. A,B,C.", kind="usage")
    return {
        "format": args.data_format,
        "multilabel": args.multilabel,
        "labels_sep": args.labels_sep,
        "label_cols": label_cols,
        "uncertain": args.uncertain,
        "empty_label": args.empty_label,
    }


def add_commands(commands: argparse._SubParsersAction) -> None:
    """Add ``sample`` and ``label-weights`` to the CLI's subparsers."""
    from .cli import _add_reader_options as add_table_options

    sample = commands.add_parser(
        "sample",
        help="balance images with boxes or samples with several labels (repeat factor, "
        "image-level sampling, ML-ROS, ML-RUS)",
        description=(
            "Copy or drop whole images (or samples), and show what that does to every "
            "class, including those that ride along; write the copies manifest, and for "
            "detection a YOLO image list and a COCO file."
        ),
    )
    sample.add_argument("input", metavar="INPUT")
    add_table_options(sample)
    _add_reader_options(sample)
    sample.add_argument("--method", required=True, choices=tuple(SAMPLE_METHODS))
    sample.add_argument(
        "--threshold",
        type=float,
        default=0.001,
        metavar="T",
        help="repeat-factor: classes in fewer than this share of images repeat (LVIS 0.001)",
    )
    sample.add_argument(
        "--to",
        default="equal",
        metavar="TARGET",
        help="image-level sampling of the images grouped by rarest class: equal, ratio:R, "
        "cap:N (under), minority (over), counts:A=N,...",
    )
    sample.add_argument(
        "--percentage",
        type=float,
        default=25.0,
        metavar="P",
        help="ml-ros / ml-rus: share of the samples to clone or delete (default 25)",
    )
    sample.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    sample.add_argument(
        "--split", default="auto", help="split to balance: a name, all, or auto (= train)"
    )
    sample.add_argument("-o", "--output", required=True, metavar="OUT", help="copies manifest")
    sample.add_argument(
        "--manifest-format",
        dest="manifest_format",
        choices=("csv", "parquet"),
        help="manifest format (default: from the -o suffix, else csv)",
    )
    sample.add_argument(
        "--raw-csv", action="store_true", help="do not neutralise cells a spreadsheet would run"
    )
    add_apply_options(sample)
    sample.add_argument("--snippets", metavar="DIR", help="write code snippets into DIR")
    sample.add_argument("--recipe", metavar="OUT", help="also write the recipe (JSON)")

    weights = commands.add_parser(
        "label-weights",
        help="per-label loss weights (pos_weight) or per-sample sampler weights",
        description=(
            "Per-label pos_weight (negatives / positives) or effective-number weights for "
            "BCEWithLogitsLoss, as JSON with a snippet; or one sampler weight per sample."
        ),
    )
    weights.add_argument("input", metavar="INPUT")
    add_table_options(weights)
    _add_reader_options(weights)
    weights.add_argument(
        "--method",
        default="pos_weight",
        choices=(*LABEL_WEIGHT_METHODS, "sampler"),
        help="pos_weight, effective_number, or sampler (per-sample weights, a table)",
    )
    weights.add_argument("--beta", type=float, default=0.999, help="for effective_number")
    weights.add_argument("--max-weight", type=float, metavar="W", help="clip every weight to W")
    weights.add_argument(
        "--aggregate",
        choices=SAMPLER_METHODS,
        default="max",
        help="sampler: a sample's weight from its labels' 1/n (max, mean or sum)",
    )
    weights.add_argument(
        "--split", default="auto", help="split to weigh: a name, all, or auto (= train)"
    )
    weights.add_argument(
        "-o", "--output", required=True, metavar="OUT", help="weights JSON (sampler: CSV/Parquet)"
    )
    weights.add_argument("--snippets", metavar="DIR", help="write code snippets into DIR")
    weights.add_argument("--recipe", metavar="OUT", help="also write the recipe (JSON)")


# --------------------------------------------------------------------------- running


def _read(args: argparse.Namespace) -> Dataset:
    from .cli import _reader, parse_limits

    return read_dataset(args.input, limits=parse_limits(args.limit), **_reader(args))


def run_command(args: argparse.Namespace, stdout: TextIO) -> int:
    """Run ``sample`` or ``label-weights``; returns the exit status."""
    from .cli import _check_outputs

    snippet_paths = _snippet_dir(args.snippets)
    outputs = [args.output, args.recipe, getattr(args, "yolo_list", None)]
    outputs.append(getattr(args, "coco", None))
    _check_outputs([args.input], outputs)
    dataset = _read(args)
    _require_kind(dataset, args.command)
    if args.command == "sample":
        record = _sample_record(args)
        manifest_format = args.manifest_format or _format_of(args.output)
        output = {"format": manifest_format, "neutralize_formulas": not args.raw_csv}
    else:
        record = _weights_record(args)
        output = {"format": _format_of(args.output), "neutralize_formulas": True}
    recipe = sample_recipe(
        record,
        split=args.split,
        reader=_recorded_reader(args, dataset),
        input={
            "name": dataset.source.name,
            "format": dataset.source.format,
            "size_bytes": dataset.source.size_bytes,
            "sha256": dataset.source.sha256 if args.recipe else None,
        },
        output=output,
    )
    outcome = run_samples(recipe, dataset)
    if args.command == "sample":
        # The user's target as written (ratios unrounded); the plan's own record for
        # everything else.
        record = sample_record(plan=outcome.plan, target=args.to)
        recipe = replace(recipe, strategy=replace(recipe.strategy, sample_plan=record))
    files, report = _outcome_files(outcome, dataset, args, snippet_paths)
    if args.recipe:
        files.append((args.recipe, recipe.to_json()))
    write_atomic_many(files)
    stdout.write(report)
    return 0


def apply_recipe(args: argparse.Namespace, recipe: Recipe, stdout: TextIO) -> None:
    """``apply`` of a sample-plan recipe: read the input as the recipe says, make the
    same plan, write the same files (``-o``, and ``--yolo-list``/``--coco``)."""
    from .cli import _check_outputs, parse_limits

    _check_outputs(
        [args.input, args.recipe],
        [args.output, args.dropped, getattr(args, "yolo_list", None), getattr(args, "coco", None)],
    )
    if args.dropped:
        raise DatasetError(
            "--dropped is for recipes of one label per row; a sample plan keeps every "
            "row in the manifest (with 0 copies left out).",
            kind="usage",
        )
    reader = {
        f"{role}_col": recipe.reader.get(role) for role in ("label", "path", "split", "group")
    }
    for key in READER_KEYS:
        if key in recipe.reader:
            reader[key] = recipe.reader[key]
    reader.setdefault("multilabel", "auto")
    dataset = read_dataset(
        args.input, sheet=recipe.reader.get("sheet"), limits=parse_limits(args.limit), **reader
    )
    _check_fingerprint(args, recipe, dataset)
    outcome = run_samples(recipe, dataset)
    files, report = _outcome_files(outcome, dataset, args, None)
    write_atomic_many(files)
    stdout.write(report)


def _check_fingerprint(args: argparse.Namespace, recipe: Recipe, dataset: Dataset) -> None:
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


def _format_of(path: str) -> str:
    return "parquet" if path.lower().endswith(".parquet") else "csv"


def _snippet_dir(path: str | None) -> Path | None:
    if path is None:
        return None
    folder = Path(path)
    if not folder.is_dir():
        raise DatasetError(
            f"--snippets names {path!r}, which is not a folder; create it first.", kind="usage"
        )
    return folder


def require_single(dataset: Dataset, command: str) -> Dataset:
    """``dataset`` when it has one label per row; else the sentence saying which
    command reads it (``check``, ``report`` and ``split`` count rows by label)."""
    if dataset.kind == "detection":
        raise DatasetError(
            f"{command.capitalize()} works on one label per row, and "
            f"{dataset.source.name!r} is a {dataset.source.format.upper()} detection "
            "dataset; see its boxes, images and area per class with analyze, and balance it "
            "with sample or label-weights.",
            kind="wrong_kind",
        )
    return dataset


def _require_kind(dataset: Dataset, command: str) -> None:
    if dataset.kind == "single":
        raise DatasetError(
            f"{dataset.source.name!r} has one label per row, which {command} does not "
            "balance; use undersample, oversample or weights, or name the labels with "
            "--labels-sep or --label-cols if a row has several.",
            kind="wrong_kind",
        )


def _sample_record(args: argparse.Namespace) -> dict[str, Any]:
    method = SAMPLE_METHODS[args.method]
    if method == "repeat_factor":
        return {"method": method, "threshold": args.threshold, "seed": args.seed}
    if method.startswith("image_"):
        return {"method": method, "target": args.to, "seed": args.seed}
    return {"method": method, "percentage": args.percentage, "seed": args.seed}


def _weights_record(args: argparse.Namespace) -> dict[str, Any]:
    if args.method == "sampler":
        return {"method": f"sample_weights:{args.aggregate}"}
    record: dict[str, Any] = {"method": f"label_weights:{args.method}"}
    if args.method == "effective_number":
        record["beta"] = args.beta
    record["max_weight"] = args.max_weight
    return record


def _recorded_reader(args: argparse.Namespace, dataset: Dataset) -> dict[str, Any]:
    """How the input was read, as the recipe keeps it: what was found, not what was
    asked, so that ``auto`` replays as the same shape (the same separator, the same
    indicator columns) on the full data behind a sample."""
    return recorded_reader(dataset, options=reader_options(args), sheet=args.sheet)


def recorded_reader(
    dataset: Dataset, *, options: dict[str, Any] | None = None, sheet: str | None = None
) -> dict[str, Any]:
    """The ``reader`` a sample-plan recipe keeps for ``dataset``, read with
    ``read_dataset`` ``options`` (none: ``multilabel="auto"`` as the app reads), so
    that ``apply`` reads the same shape again."""
    options = options or {}
    reader: dict[str, Any] = {"sheet": sheet, "format": options.get("format")}
    reader |= dict.fromkeys(("label", "path", "split", "group"))
    if dataset.kind == "detection":
        reader["format"] = dataset.source.format
        return reader
    reader |= dataset.roles.as_dict()
    if _from_indicators(dataset):
        reader["label"] = None  # the joined column was made by the reader
        reader["label_cols"] = list(dataset.annotations.classes)
    else:
        reader["labels_sep"] = options.get("labels_sep") or _separator_of(dataset)
    reader["uncertain"] = options.get("uncertain", "ignore")
    reader["empty_label"] = options.get("empty_label")
    return reader


def _from_indicators(dataset: Dataset) -> bool:
    """Whether a multi-label dataset was read from indicator columns (its label
    column is the ``label_set`` the reader joined, its classes are columns)."""
    classes = dataset.annotations.classes
    return dataset.roles.label.startswith("label_set") and set(classes) <= set(
        dataset.raw.column_names
    )


def _separator_of(dataset: Dataset) -> str:
    """The separator the multi-label reader took when none was given: the one
    :func:`sniff_multilabel` finds in the table's first rows (the rule both
    ``multilabel="auto"`` and ``"on"`` follow), else the one in most cells."""
    import dataclasses

    import pyarrow as pa
    import pyarrow.compute as pc

    from .readers.multilabel import SEPARATORS, sniff_multilabel

    guess = sniff_multilabel(dataclasses.replace(dataset, annotations=None))
    if guess is not None and guess.shape == "separator" and guess.sep:
        return guess.sep
    cells = dataset.labels.combine_chunks()
    counts = {
        s: pc.sum(pc.cast(pc.match_substring(cells, s), pa.int64())).as_py() or 0
        for s in SEPARATORS
    }
    return max(SEPARATORS, key=lambda s: (counts[s], -SEPARATORS.index(s)))


# --------------------------------------------------------------------------- outputs


def _table_writer(table, fmt: str, neutralize: bool):
    if fmt == "parquet":
        return table_parquet(table)
    return lambda handle: write_table_csv(table, handle, neutralize_formulas=neutralize)


def _outcome_files(
    outcome: SampleOutcome, dataset: Dataset, args: argparse.Namespace, snippets: Path | None
) -> tuple[list[tuple[str, Any]], str]:
    from .cli import _printable

    recipe = outcome.recipe
    fmt = recipe.output.get("format", "csv")
    neutralize = recipe.output.get("neutralize_formulas", True)
    files: list[tuple[str, Any]] = []
    where = f" in split {outcome.split!r}" if outcome.split is not None else ""
    yolo_list, coco = getattr(args, "yolo_list", None), getattr(args, "coco", None)
    if outcome.plan is None and (yolo_list or coco):
        raise DatasetError(
            "--yolo-list and --coco write sampled images; weights have none.", kind="usage"
        )
    if outcome.plan is not None:
        plan = outcome.plan
        files.append((args.output, _table_writer(copies_manifest(dataset, plan), fmt, neutralize)))
        if yolo_list:
            files.append((yolo_list, yolo_image_list(dataset, plan)))
        if coco:
            files.append((coco, coco_json(dataset, plan)))
        code = sample_snippets(plan=plan)
        others = dataset.n_rows - plan.rows_before
        unchanged = f"{others:,} of other splits unchanged; " if others else ""
        lines = [
            f"{plan.method}{where}: {plan.rows_before:,} -> {plan.rows_after:,} "
            f"{_unit_word(dataset)}; {unchanged}wrote {', '.join(f for f, _ in files)}",
            *_cost_table(plan),
        ]
        warnings = plan.warnings
    elif outcome.weights is not None:
        weights = outcome.weights
        files.append((args.output, label_weights_json(weights)))
        code = sample_snippets(weights=weights)
        spread = max(weights.as_list) / min(weights.as_list) if min(weights.as_list) else math.inf
        lines = [
            f"{weights.method} weights{where} for {len(weights.classes)} labels (spread "
            f"{spread:.2f}); wrote {args.output}"
        ]
        warnings = weights.warnings
    else:
        sampler = outcome.sampler
        files.append(
            (args.output, _table_writer(sample_weights_table(dataset, sampler), fmt, neutralize))
        )
        code = {}
        lines = [
            f"sampler weights ({sampler.method}){where} for {len(sampler.weights):,} "
            f"{_unit_word(dataset)}; wrote {args.output}",
            "  label: share of draws before -> after",
            *(
                f"  {_printable(c)}: {sampler.label_share_before[c]:.1%} -> "
                f"{sampler.label_draw_share[c]:.1%}"
                for c in sampler.labels.classes
            ),
        ]
        warnings = ()
    if snippets is not None:
        for name, text in sorted(code.items()):
            files.append((str(snippets / f"{name}.py"), text.encode("utf-8")))
        lines.append(f"snippets: {', '.join(sorted(code)) or 'none for this method'}")
    lines += [f"warning: {_printable(w)}" for w in warnings]
    return files, "\n".join(lines) + "\n"


def _unit_word(dataset: Dataset) -> str:
    return "images" if dataset.kind == "detection" else "samples"


def _cost_table(plan) -> list[str]:
    from .cli import _printable

    rows = plan.cost_rows()
    width = min(max((len(_printable(r["class"])) for r in rows), default=5), 30)
    boxes = plan.labels.has_boxes
    head = f"  {'class':<{width}}  {'images' if boxes else 'samples':>17}"
    head += f"  {'boxes':>17}" if boxes else ""
    lines = [head + "  factor"]
    for row in rows[:MAX_TABLE_ROWS]:
        name = _printable(row["class"])[:width]
        line = f"  {name:<{width}}  {row['samples before']:>7,} -> {row['samples after']:>6,}"
        if boxes:
            line += f"  {row['boxes before']:>7,} -> {row['boxes after']:>6,}"
        factor = row["factor"]
        line += f"  {factor:.2f}" if factor is not None else "  -"
        lines.append(line)
    if len(rows) > MAX_TABLE_ROWS:
        lines.append(f"  … ({len(rows) - MAX_TABLE_ROWS:,} more classes)")
    return lines


# --------------------------------------------------------------------------- analyze


def analyze_command(args: argparse.Namespace, dataset: Dataset, stdout: TextIO) -> None:
    """``analyze`` of a detection or multi-label dataset: text, or ``--json``."""
    unit = args.unit
    if dataset.kind == "detection":
        unit = unit or "boxes"
        if unit == "samples":
            unit = "images"
        summary = summarize_detection(dataset)
        findings = detection_findings(dataset, summary) if not args.no_findings else ()
        findings = findings or tuple(dataset.findings)
        report = _detection_dict(dataset, summary, unit, findings)
        text = _detection_text
    else:
        if unit not in (None, "samples"):
            raise DatasetError(
                f"A multi-label table has no boxes, so it is counted in samples, not {unit}.",
                kind="usage",
            )
        summary = summarize_multilabel(dataset)
        findings = multilabel_findings(dataset, summary) if not args.no_findings else ()
        findings = findings or tuple(dataset.findings)
        report = _multilabel_dict(dataset, summary, findings)
        text = _multilabel_text
    if args.json:
        json.dump(report, stdout, ensure_ascii=False, allow_nan=False)
        stdout.write("\n")
    else:
        stdout.write(text(dataset, summary, report))


def _source_dict(dataset: Dataset) -> dict[str, Any]:
    source = dataset.source
    return {
        "name": source.name,
        "format": source.format,
        "size_bytes": source.size_bytes,
        "encoding": source.encoding,
        "delimiter": source.delimiter,
        "sheet": source.sheet,
        "other_sheets": list(source.other_sheets),
    }


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def _detection_dict(dataset, summary, unit, findings) -> dict[str, Any]:
    distribution = summary.distribution(unit)
    per_class = summary.rows()
    return {
        "kind": "detection",
        "source": _source_dict(dataset),
        "unit": unit,
        "distribution": distribution.to_dict(),
        "imbalance_ratio": {
            u: _finite(summary.distribution(u).imbalance_ratio) for u in ("boxes", "images", "area")
        },
        "detection": summary.to_dict(),
        "classes": per_class,
        "findings": [f.to_dict(max_items=20) for f in findings],
    }


def top_pairs(summary, n: int = TOP_PAIRS) -> list[dict[str, Any]]:
    """The label pairs that occur together most (a, b, samples, share of the rarer)."""
    pairs = []
    k = len(summary.classes)
    for i in range(k):
        for j in range(i + 1, k):
            both = int(summary.cooccurrence[i, j])
            if both:
                rarer = min(
                    summary.positives[summary.classes[i]], summary.positives[summary.classes[j]]
                )
                pairs.append(
                    {
                        "a": summary.classes[i],
                        "b": summary.classes[j],
                        "samples": both,
                        "share_of_rarer": both / rarer if rarer else 0.0,
                    }
                )
    pairs.sort(key=lambda p: (-p["samples"], p["a"], p["b"]))
    return pairs[:n]


def _multilabel_dict(dataset, summary, findings) -> dict[str, Any]:
    return {
        "kind": "multilabel",
        "source": _source_dict(dataset),
        "unit": "samples",
        "distribution": summary.distribution().to_dict(),
        "multilabel": summary.to_dict(),
        "labels": [{k: (_finite(v) if isinstance(v, float) else v) for k, v in r.items()}
                   for r in summary.rows()],
        "top_pairs": top_pairs(summary),
        "findings": [f.to_dict(max_items=20) for f in findings],
    }  # fmt: skip


def _header(dataset: Dataset, what: str) -> list[str]:
    from .cli import _printable, _size

    source = dataset.source
    details = [source.format.upper(), what, _size(source.size_bytes)]
    return [f"Seesaw analysis of {_printable(source.name)} ({', '.join(details)})"]


def _findings_lines(report: dict) -> list[str]:
    from .cli import _printable

    findings = report["findings"]
    if not findings:
        return ["Findings: none."]
    lines = [f"Findings ({len(findings)}):"]
    lines += [f"  [{f['severity']}] {f['kind']}: {_printable(f['message'])}" for f in findings]
    return lines


def _ratio(value: float | None) -> str:
    if value is None:
        return "1 : ∞"
    return f"1 : {value:.1f}" if value < 10 else f"1 : {value:.0f}"


def _detection_text(dataset, summary, report) -> str:
    from .cli import _bars, _printable

    unit = report["unit"]
    distribution = summary.distribution(unit)
    lines = _header(dataset, "detection")
    lines.append(
        f"{summary.n_images:,} images, {summary.n_boxes:,} boxes, {len(summary.classes):,} "
        f"classes; {summary.background_images:,} background images (no box); "
        f"{summary.mean_boxes_per_image:.2f} boxes per image"
    )
    if summary.unnamed_boxes:
        lines.append(f"{summary.unnamed_boxes:,} boxes have a class id without a name")
    lines += ["", f"Counted in {unit}" + (" (pixels)" if unit == "area" else "") + ":"]
    lines += _bars(distribution.counts, distribution.minority, distribution.majority)
    ratios = report["imbalance_ratio"]
    lines += [
        "",
        "Imbalance ratio: " + " · ".join(f"{_ratio(ratios[u])} by {u}" for u in ratios),
        f"Verdict ({unit}): {distribution.verdict_reason}",
        "",
    ]
    width = min(max((len(_printable(c)) for c in summary.classes), default=5), 24)
    lines.append(
        f"  {'class':<{width}}  {'boxes':>8}  {'images':>7}  {'of images':>9}  "
        f"{'box area':>8}  {'small':>6}  {'medium':>6}  {'large':>6}  {'crowd':>5}"
    )
    for row in report["classes"][:MAX_TABLE_ROWS]:
        lines.append(
            f"  {_printable(row['class'])[:width]:<{width}}  {row['boxes']:>8,}  "
            f"{row['images']:>7,}  {row['share of images']:>9.1%}  "
            f"{row['share of box area']:>8.1%}  {row['small']:>6,}  {row['medium']:>6,}  "
            f"{row['large']:>6,}  {row['crowd']:>5,}"
        )
    if len(report["classes"]) > MAX_TABLE_ROWS:
        lines.append(f"  … ({len(report['classes']) - MAX_TABLE_ROWS:,} more classes)")
    histogram = [int(n) for n in summary.boxes_per_image]
    shown = ", ".join(
        f"{i}{'+' if i == len(histogram) - 1 else ''}: {n:,}" for i, n in enumerate(histogram) if n
    )
    lines += ["", f"Boxes per image (images): {shown}", ""]
    lines += _findings_lines(report)
    return "\n".join(lines) + "\n"


def _multilabel_text(dataset, summary, report) -> str:
    from .cli import _bars, _printable

    distribution = summary.distribution()
    if _from_indicators(dataset):
        shape = f"multi-label, {len(summary.classes)} indicator columns"
    else:
        shape = f"multi-label, labels in column {dataset.roles.label!r}"
    lines = _header(dataset, _printable(shape))
    lines.append(
        f"{summary.n_samples:,} samples, {len(summary.classes):,} labels, "
        f"{summary.empty_sets:,} with no label (empty set), {summary.label_sets:,} label sets"
    )
    lines.append(
        f"Cardinality {summary.cardinality:.3f} · density {summary.density:.3f} · "
        f"MeanIR {summary.mean_ir:.2f} · MaxIR {summary.max_ir:.2f} · CVIR {summary.cvir:.3f} · "
        f"SCUMBLE {summary.scumble:.3f}"
    )
    lines += ["", "Positives per label:"]
    lines += _bars(distribution.counts, distribution.minority, distribution.majority)
    lines.append("")
    width = min(max((len(_printable(c)) for c in summary.classes), default=5), 24)
    lines.append(
        f"  {'label':<{width}}  {'positives':>9}  {'uncertain':>9}  {'negatives':>9}  "
        f"{'IRLbl':>7}  {'alone':>6}  {'SCUMBLE':>7}"
    )
    for row in summary.rows()[:MAX_TABLE_ROWS]:
        ir = row["IRLbl"]
        lines.append(
            f"  {_printable(row['label'])[:width]:<{width}}  {row['positives']:>9,}  "
            f"{row['uncertain']:>9,}  {row['negatives']:>9,}  "
            f"{(f'{ir:.2f}' if math.isfinite(ir) else '-'):>7}  {row['alone']:>6,}  "
            f"{row['SCUMBLE']:>7.3f}"
        )
    if len(summary.classes) > MAX_TABLE_ROWS:
        lines.append(f"  … ({len(summary.classes) - MAX_TABLE_ROWS:,} more labels)")
    pairs = report["top_pairs"]
    lines += ["", "Top co-occurring pairs:" if pairs else "No two labels occur together."]
    lines += [
        f"  {_printable(p['a'])} + {_printable(p['b'])}: {p['samples']:,} samples "
        f"({p['share_of_rarer']:.0%} of the rarer label's)"
        for p in pairs
    ]
    lines.append("")
    lines += _findings_lines(report)
    return "\n".join(lines) + "\n"


def is_sample_recipe(recipe: Recipe) -> bool:
    return recipe.strategy.method == SAMPLE_PLAN
