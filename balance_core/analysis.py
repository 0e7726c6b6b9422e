"""One call from input to everything the Overview shows: dataset, distribution, findings."""

from __future__ import annotations

from dataclasses import dataclass

from .dataset import Dataset, Finding
from .quality import check_quality
from .stats import Distribution, distribution

__all__ = ["Analysis", "analyze"]


@dataclass(frozen=True, eq=False, kw_only=True)
class Analysis:
    """A dataset with its distribution and findings.

    Attributes
    ----------
    dataset : Dataset
    distribution : Distribution
    findings : tuple of Finding
        Most serious first.
    """

    dataset: Dataset
    distribution: Distribution
    findings: tuple[Finding, ...]

    def to_dict(self) -> dict:
        """The JSON report of ``python -m balance_core analyze --json``."""
        ds, dist = self.dataset, self.distribution
        report = dist.to_dict()
        report["source"] = {
            "name": ds.source.name,
            "format": ds.source.format,
            "size_bytes": ds.source.size_bytes,
            "encoding": ds.source.encoding,
            "delimiter": ds.source.delimiter,
            "sheet": ds.source.sheet,
            "other_sheets": list(ds.source.other_sheets),
        }
        report["columns"] = {
            name: next((role for role, col in ds.roles.as_dict().items() if col == name), None)
            for name in ds.raw.column_names
        }
        report["roles"] = ds.roles.as_dict()
        report["guessed_roles"] = {role: ds.roles.reasons.get(role) for role in ds.roles.guessed}
        report["findings"] = [f.to_dict(max_items=20) for f in self.findings]
        return report


def analyze(dataset: Dataset, *, findings: bool = True) -> Analysis:
    """Count the classes of ``dataset`` and, unless ``findings=False``, check its quality.

    Parameters
    ----------
    dataset : Dataset
        From :func:`balance_core.read_dataset` or another reader.
    findings : bool, default True
        Skip the data-quality checks (the slow part on millions of rows) when False;
        the reader's own findings are still reported.
    """
    dist = distribution(dataset)
    found = check_quality(dataset, dist) if findings else tuple(dataset.findings)
    return Analysis(dataset=dataset, distribution=dist, findings=found)
