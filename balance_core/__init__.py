"""Seesaw's engine: read a labelled dataset, measure its balance, and fix it.

No Streamlit here: the same functions serve the app, the CLI and user code.
"""

from ._version import __version__
from .analysis import Analysis, analyze
from .dataset import ColumnRoles, Dataset, Finding, FindingKind, Severity, Source
from .errors import DatasetError
from .limits import DEFAULT_LIMITS, Limits
from .quality import check_quality
from .readers import read_dataset, read_table, read_zip
from .stats import Distribution, Verdict, distribution

__all__ = [
    "DEFAULT_LIMITS",
    "Analysis",
    "ColumnRoles",
    "Dataset",
    "DatasetError",
    "Distribution",
    "Finding",
    "FindingKind",
    "Limits",
    "Severity",
    "Source",
    "Verdict",
    "__version__",
    "analyze",
    "check_quality",
    "distribution",
    "read_dataset",
    "read_table",
    "read_zip",
]
