"""Class order: which index each class gets, as the training code will see it.

Labels are strings exactly as written (``"01"`` is not ``"1"``), and plans, counts and
the preview use them in sorted text order. Training code numbers classes its own way,
and every file and snippet handed to it must follow that way:

- **Class folders** (a zip of ``class/image`` folders): sorted text order, as
  torchvision's ``ImageFolder`` and Keras's ``image_dataset_from_directory`` sort the
  folder names (``"1" < "10" < "2"``); keys are the folder names.
- **Tables whose labels are all whole numbers** (``0``/``1``, ``1..10``, ``-1``/``+1``,
  ``01``): numeric order with integer keys, as scikit-learn's ``LabelEncoder``,
  XGBoost, LightGBM and pandas see a column read as numbers (``"+1"`` is 1, ``"-1"`` is
  -1, ``"01"`` is 1). If two labels are the same number (``"1"`` and ``"01"``), the
  labels are text after all.
- **Any other table**: sorted text order with string keys.

:func:`class_order` is the one place this rule lives.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property

from .dataset import Dataset

__all__ = ["ClassOrder", "class_order", "dataset_class_order", "is_folder_dataset"]

# A whole number as a CSV reader (pandas, pyarrow) reads it: optional sign, digits.
_INTEGER = re.compile(r"[+-]?[0-9]+")
# Integers beyond this are not exact in a float64 column, and JSON readers may round them.
_MAX_EXACT = 2**53

FOLDERS_RULE = (
    "Class index order is sorted text order of the class folder names, as torchvision "
    "ImageFolder and Keras image_dataset_from_directory number them."
)
NUMERIC_RULE = (
    "The labels are all whole numbers, so classes are numbered in numeric order and keyed "
    "by integers, as scikit-learn's LabelEncoder, XGBoost and LightGBM see a label column "
    "read as numbers."
)
TEXT_RULE = (
    "Class index order is sorted text order of the labels, as scikit-learn's LabelEncoder "
    "numbers text labels."
)
CLASH_RULE = (
    "The labels look like whole numbers but two of them are the same number ({a!r} and "
    "{b!r}), so they are text: class index order is sorted text order, keys are strings."
)


@dataclass(frozen=True, kw_only=True)
class ClassOrder:
    """The class index order and keys training code uses.

    Attributes
    ----------
    labels : tuple of str
        The labels as written, in class index order (``labels[i]`` has index ``i``).
    keys : tuple of int or tuple of str
        What training code sees as each class's value: ``int(label)`` when
        ``numeric``, else the label itself. Same order as ``labels``.
    numeric : bool
        Whether the keys are integers.
    rule : str
        One sentence stating the rule that gave this order; every weights file and
        snippet repeats it.
    """

    labels: tuple[str, ...]
    keys: tuple[int, ...] | tuple[str, ...]
    numeric: bool
    rule: str

    @cached_property
    def index(self) -> dict[str, int]:
        """Label (as written) -> class index."""
        return {label: i for i, label in enumerate(self.labels)}

    def ordered(self, values: dict[str, float]) -> list[float]:
        """``values`` keyed by label, as a list in class index order."""
        return [values[label] for label in self.labels]


def class_order(labels: Iterable[str], *, folders: bool = False) -> ClassOrder:
    """The class order training code uses for these labels (see the module's rule).

    Parameters
    ----------
    labels : iterable of str
        The distinct labels, as written.
    folders : bool, default False
        The labels are class folder names (a zip read by its folders): always text order.

    Returns
    -------
    ClassOrder

    Examples
    --------
    >>> class_order(["1", "10", "2"]).labels
    ('1', '2', '10')
    >>> class_order(["1", "10", "2"], folders=True).labels
    ('1', '10', '2')
    >>> class_order(["+1", "-1"]).keys
    (-1, 1)
    """
    text = tuple(sorted(set(labels)))
    if folders or not text:
        return ClassOrder(
            labels=text, keys=text, numeric=False, rule=FOLDERS_RULE if folders else TEXT_RULE
        )
    if not all(_INTEGER.fullmatch(label) for label in text):
        return ClassOrder(labels=text, keys=text, numeric=False, rule=TEXT_RULE)
    numbers = {label: int(label) for label in text}
    if any(abs(n) > _MAX_EXACT for n in numbers.values()):
        return ClassOrder(labels=text, keys=text, numeric=False, rule=TEXT_RULE)
    by_number = sorted(text, key=lambda label: (numbers[label], label))
    for a, b in itertools.pairwise(by_number):
        if numbers[a] == numbers[b]:
            return ClassOrder(
                labels=text, keys=text, numeric=False, rule=CLASH_RULE.format(a=a, b=b)
            )
    return ClassOrder(
        labels=tuple(by_number),
        keys=tuple(numbers[label] for label in by_number),
        numeric=True,
        rule=NUMERIC_RULE,
    )


def is_folder_dataset(dataset: Dataset) -> bool:
    """Whether the labels of ``dataset`` are class folder names (a zip without a
    labels file inside it)."""
    # The zip reader names the label role after the folders only when no
    # metadata.csv/labels.csv inside the zip gave the labels.
    reason = dataset.roles.reasons.get("label", "")
    return dataset.source.format == "zip" and "class folder" in reason


def dataset_class_order(dataset: Dataset, labels: Iterable[str] | None = None) -> ClassOrder:
    """:func:`class_order` for a dataset's classes (or for ``labels``, e.g. after a
    label mapping), with ``folders`` decided by how the dataset was read."""
    return class_order(
        dataset.classes if labels is None else labels, folders=is_folder_dataset(dataset)
    )
