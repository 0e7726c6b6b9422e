"""The check gate: thresholds applied to the findings, pass or fail, for CI.

:func:`run_gate` gathers every finding about a dataset (the quality checks, the split
checks and the thresholds' own findings), names the checks that fail, and gives the
exit status ``python -m balance_core check`` returns: 0 when the data passes, 1 when
a check fails. :meth:`GateResult.to_dict` is the versioned JSON report
(:data:`CHECK_SCHEMA`, documented by ``docs/check-schema-v1.json``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ._version import __version__
from .analysis import Analysis
from .dataset import Finding, FindingKind, Severity
from .errors import DatasetError
from .split_checks import (
    DEFAULT_ALPHA,
    DEFAULT_MAX_JS_DISTANCE,
    DEFAULT_MIN_PER_SPLIT,
    SplitMix,
    check_splits,
    split_mix,
)
from .stats import format_ratio

__all__ = [
    "CHECK_SCHEMA",
    "FAIL_ON",
    "CheckOutcome",
    "GateResult",
    "Thresholds",
    "parse_fail_on",
    "run_gate",
]

CHECK_SCHEMA = "seesaw-check/1"

#: ``--fail-on`` names and the finding kinds each one fails on. Every finding kind is
#: a name of its own too (``split_leakage`` or ``split-leakage``); ``errors``,
#: ``warnings`` and ``all`` go by severity.
FAIL_ON: dict[str, frozenset[FindingKind]] = {
    "leakage": frozenset({FindingKind.SPLIT_LEAKAGE}),
    "missing-class": frozenset({FindingKind.SPLIT_MISSING_CLASS, FindingKind.EVAL_ONLY_CLASS}),
    "duplicates": frozenset({FindingKind.DUPLICATE_PATH, FindingKind.DUPLICATE_CONTENT}),
    "corrupt": frozenset({FindingKind.CORRUPT_IMAGE, FindingKind.NON_IMAGE}),
    "conflicting-labels": frozenset({FindingKind.CONFLICTING_LABELS}),
    "missing-labels": frozenset({FindingKind.MISSING_LABEL}),
    "label-variants": frozenset({FindingKind.LABEL_VARIANTS}),
    "split-mix": frozenset({FindingKind.SPLIT_MIX}),
    "tiny-class": frozenset({FindingKind.TINY_CLASS}),
    "single-class": frozenset({FindingKind.SINGLE_CLASS}),
    "unsafe": frozenset({FindingKind.UNSAFE_ENTRY}),
    "missing-file": frozenset({FindingKind.MISSING_FILE}),
    "limit": frozenset({FindingKind.LIMIT_HIT}),
}
_SEVERITY_NAMES = {
    "errors": (Severity.ERROR,),
    "warnings": (Severity.ERROR, Severity.WARNING),
    "all": (Severity.ERROR, Severity.WARNING, Severity.INFO),
}
DEFAULT_FAIL_ON = ("errors",)
THRESHOLD_KINDS = frozenset({FindingKind.IMBALANCE_RATIO, FindingKind.SMALL_CLASS})


def _kinds_of(name: str) -> frozenset[FindingKind] | None:
    if name in FAIL_ON:
        return FAIL_ON[name]
    try:
        return frozenset({FindingKind(name.replace("-", "_"))})
    except ValueError:
        return None


def parse_fail_on(text: str | Iterable[str]) -> tuple[str, ...]:
    """``"leakage,missing-class"`` (or a list) -> the checked names, in order; unknown
    names raise DatasetError listing the known ones."""
    items = text.split(",") if isinstance(text, str) else list(text)
    names = []
    for raw in items:
        name = raw.strip().lower()
        if not name:
            continue
        if name not in _SEVERITY_NAMES and _kinds_of(name) is None:
            known = sorted(set(FAIL_ON) | set(_SEVERITY_NAMES))
            raise DatasetError(
                f"Unknown check {name!r} for --fail-on; use {', '.join(known)} or a finding "
                "kind (e.g. split-leakage).",
                kind="usage",
            )
        if name not in names:
            names.append(name)
    return tuple(names)


@dataclass(frozen=True, kw_only=True)
class Thresholds:
    """What the gate fails on.

    Attributes
    ----------
    max_ratio : float, optional
        Fail when the imbalance ratio (max / min class count) is above this.
    min_class : int, optional
        Fail when a class has fewer rows than this.
    min_per_split : int, default 1
        A class with fewer rows than this in a split is a ``split_missing_class``
        finding.
    max_js_distance, alpha : float
        The split-mix finding's thresholds (see
        :func:`balance_core.split_checks.check_splits`).
    fail_on : tuple of str, default ("errors",)
        Names from :data:`FAIL_ON`, finding kinds, or ``errors`` / ``warnings`` /
        ``all``; a finding of a named kind (or severity) fails the gate.
    """

    max_ratio: float | None = None
    min_class: int | None = None
    min_per_split: int = DEFAULT_MIN_PER_SPLIT
    max_js_distance: float = DEFAULT_MAX_JS_DISTANCE
    alpha: float = DEFAULT_ALPHA
    fail_on: tuple[str, ...] = DEFAULT_FAIL_ON

    def __post_init__(self) -> None:
        if self.max_ratio is not None and not (
            isinstance(self.max_ratio, int | float) and self.max_ratio >= 1
        ):
            raise DatasetError(
                f"The maximum imbalance ratio must be a number >= 1 (1 : R), got "
                f"{self.max_ratio!r}.",
                kind="usage",
            )
        for name in ("min_class", "min_per_split"):
            value = getattr(self, name)
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int) or value < 0
            ):
                raise DatasetError(
                    f"{name.replace('_', '-')} must be a whole number >= 0, got {value!r}.",
                    kind="usage",
                )
        if not 0 <= self.max_js_distance <= 1:
            raise DatasetError(
                f"The Jensen-Shannon distance threshold lies in [0, 1], got "
                f"{self.max_js_distance!r}.",
                kind="usage",
            )
        if not 0 < self.alpha < 1:
            raise DatasetError(
                f"The significance level alpha lies in (0, 1), got {self.alpha!r}.", kind="usage"
            )
        object.__setattr__(self, "fail_on", parse_fail_on(self.fail_on))

    def to_dict(self) -> dict:
        return {
            "max_ratio": self.max_ratio,
            "min_class": self.min_class,
            "min_per_split": self.min_per_split,
            "max_js_distance": self.max_js_distance,
            "alpha": self.alpha,
            "fail_on": list(self.fail_on),
        }


@dataclass(frozen=True, eq=False, kw_only=True)
class CheckOutcome:
    """One named check of the gate.

    Attributes
    ----------
    name : str
        ``max-ratio``, ``min-class`` or a ``fail_on`` name.
    passed : bool
    threshold : float or int or None
        The limit the check applies, where it has one.
    value : float or int or None
        What the data has: the imbalance ratio, the smallest class, the largest
        Jensen-Shannon distance, or the rows affected.
    findings : tuple of Finding
        The findings that make it fail (empty when it passes).
    """

    name: str
    passed: bool
    threshold: float | int | None
    value: float | int | None
    findings: tuple[Finding, ...] = ()


@dataclass(frozen=True, eq=False, kw_only=True)
class GateResult:
    """Every finding about a dataset and the checks that pass or fail on them.

    Attributes
    ----------
    analysis : Analysis
    thresholds : Thresholds
    findings : tuple of Finding
        Quality, split and threshold findings together, most serious first.
    checks : tuple of CheckOutcome
    mix : SplitMix or None
        The distances between the splits' class mixes.
    """

    analysis: Analysis
    thresholds: Thresholds
    findings: tuple[Finding, ...]
    checks: tuple[CheckOutcome, ...]
    mix: SplitMix | None = field(default=None)

    @property
    def passed(self) -> bool:
        return all(check.passed for check in self.checks)

    @property
    def exit_code(self) -> int:
        """0 when every check passes, 1 when one fails."""
        return 0 if self.passed else 1

    @property
    def failures(self) -> tuple[tuple[str, Finding], ...]:
        """(check name, finding) for each failing finding, each once, most serious first."""
        seen: dict[int, tuple[str, Finding]] = {}
        for check in self.checks:
            for finding in check.findings:
                seen.setdefault(id(finding), (check.name, finding))
        return tuple(sorted(seen.values(), key=lambda pair: pair[1].sort_key))

    def failing(self, finding: Finding) -> bool:
        return any(finding is f for _, f in self.failures)

    def to_dict(self, *, max_items: int = 20) -> dict:
        """The JSON report of ``check --json`` (schema :data:`CHECK_SCHEMA`)."""
        ds, dist = self.analysis.dataset, self.analysis.distribution
        index = {id(f): i for i, f in enumerate(self.findings)}
        ratio = dist.imbalance_ratio
        return {
            "schema": CHECK_SCHEMA,
            "seesaw_version": __version__,
            "passed": self.passed,
            "exit_code": self.exit_code,
            "input": {
                "name": ds.source.name,
                "format": ds.source.format,
                "size_bytes": ds.source.size_bytes,
                "rows": dist.n_rows,
            },
            "thresholds": self.thresholds.to_dict(),
            "checks": [
                {
                    "name": check.name,
                    "passed": check.passed,
                    "threshold": _number(check.threshold),
                    "value": _number(check.value),
                    "findings": [index[id(f)] for f in check.findings],
                }
                for check in self.checks
            ],
            "failures": [
                {
                    "check": name,
                    "kind": str(finding.kind),
                    "severity": str(finding.severity),
                    "count": int(finding.count),
                    "message": finding.message,
                }
                for name, finding in self.failures
            ],
            "findings": [
                finding.to_dict(max_items=max_items) | {"fails": self.failing(finding)}
                for finding in self.findings
            ],
            "summary": {
                "rows": dist.n_rows,
                "labelled_rows": dist.n_labelled,
                "classes": dist.n_classes,
                "counts": dict(dist.counts),
                "minority": dist.minority,
                "majority": dist.majority,
                "imbalance_ratio": ratio if math.isfinite(ratio) else None,
                "imbalance_ratio_text": dist.ratio_text,
                "verdict": str(dist.verdict),
                "splits": {s: dict(c) for s, c in dist.split_counts.items()},
            },
            "split_mix": None if self.mix is None else self.mix.to_dict(),
        }


def _number(value: float | int | None) -> float | int | None:
    if value is None:
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _rows_of(labels: pa.ChunkedArray, values: Sequence[str]) -> np.ndarray:
    mask = pc.is_in(labels, value_set=pa.array(list(values), type=pa.string()))
    return np.asarray(pc.indices_nonzero(pc.fill_null(mask, False)), dtype=np.int64)


def _threshold_findings(analysis: Analysis, thresholds: Thresholds) -> list[Finding]:
    dist = analysis.distribution
    labels = analysis.dataset.labels
    found = []
    ratio = dist.imbalance_ratio
    if thresholds.max_ratio is not None and dist.n_classes > 1 and ratio > thresholds.max_ratio:
        majority = dist.counts[dist.majority]
        below = [c for c, n in dist.counts.items() if n * thresholds.max_ratio < majority]
        rows = _rows_of(labels, below)
        found.append(
            Finding(
                kind=FindingKind.IMBALANCE_RATIO,
                severity=Severity.ERROR,
                count=int(rows.size),
                message=(
                    f"The imbalance ratio {dist.ratio_text} is above the limit "
                    f"{format_ratio(thresholds.max_ratio)} (max-ratio): {len(below)} class(es) "
                    f"have fewer than 1/{thresholds.max_ratio:g} of the rows of the majority "
                    f"class {dist.majority!r} ({majority:,}); the smallest, "
                    f"{dist.minority!r}, has {dist.counts[dist.minority]:,}: balance them "
                    "(seesaw undersample, oversample or weights) or collect more."
                ),
                rows=rows,
                groups=(tuple(below),),
            )
        )
    if thresholds.min_class is not None:
        small = [c for c, n in dist.counts.items() if n < thresholds.min_class]
        if small:
            rows = _rows_of(labels, small)
            found.append(
                Finding(
                    kind=FindingKind.SMALL_CLASS,
                    severity=Severity.ERROR,
                    count=int(rows.size),
                    message=(
                        f"{len(small)} class(es) have fewer than {thresholds.min_class:,} rows "
                        f"(min-class), e.g. {', '.join(repr(c) for c in small[:3])}"
                        f"{' and more' if len(small) > 3 else ''}; the smallest has "
                        f"{min(dist.counts[c] for c in small):,}: collect more, or merge "
                        "or drop them."
                    ),
                    rows=rows,
                    groups=(tuple(small),),
                )
            )
    return found


def run_gate(analysis: Analysis, thresholds: Thresholds | None = None) -> GateResult:
    """Apply ``thresholds`` to everything known about ``analysis``'s dataset.

    Parameters
    ----------
    analysis : Analysis
        From :func:`balance_core.analyze` (with its findings).
    thresholds : Thresholds, optional
        Default: fail on every error-severity finding.

    Returns
    -------
    GateResult
        ``exit_code`` 0 when every check passes, 1 when one fails.
    """
    thresholds = thresholds or Thresholds()
    dataset, dist = analysis.dataset, analysis.distribution
    split_findings = check_splits(
        dataset,
        dist,
        findings=analysis.findings,
        min_per_split=thresholds.min_per_split,
        max_js_distance=thresholds.max_js_distance,
        alpha=thresholds.alpha,
    )
    known = {id(f) for f in analysis.findings}
    own = _threshold_findings(analysis, thresholds)
    findings = tuple(
        sorted(
            [*analysis.findings, *(f for f in split_findings if id(f) not in known), *own],
            key=lambda f: f.sort_key,
        )
    )
    mix = split_mix(dist)
    checks: list[CheckOutcome] = []
    if thresholds.max_ratio is not None:
        failing = tuple(f for f in own if f.kind == FindingKind.IMBALANCE_RATIO)
        checks.append(
            CheckOutcome(
                name="max-ratio",
                passed=not failing,
                threshold=thresholds.max_ratio,
                value=dist.imbalance_ratio,
                findings=failing,
            )
        )
    if thresholds.min_class is not None:
        failing = tuple(f for f in own if f.kind == FindingKind.SMALL_CLASS)
        checks.append(
            CheckOutcome(
                name="min-class",
                passed=not failing,
                threshold=thresholds.min_class,
                value=min(dist.counts.values()) if dist.counts else 0,
                findings=failing,
            )
        )
    for name in thresholds.fail_on:
        if name in _SEVERITY_NAMES:
            # The thresholds' own findings belong to their checks, not to these.
            severities = _SEVERITY_NAMES[name]
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
        checks.append(
            CheckOutcome(
                name=name,
                passed=not failing,
                threshold=threshold,
                value=value,
                findings=failing,
            )
        )
    return GateResult(
        analysis=analysis, thresholds=thresholds, findings=findings, checks=tuple(checks), mix=mix
    )
