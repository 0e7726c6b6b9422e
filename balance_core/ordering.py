"""Natural order of class names, the order a person reads them in: cls_2 before cls_10."""

from __future__ import annotations

import re

__all__ = ["natural_key", "natural_sorted"]

_DIGITS = re.compile(r"(\d+)")


def natural_key(text: str) -> tuple:
    """Sort key that compares runs of digits as numbers and the rest as text.

    ``"cls_2" < "cls_10"``, ``"2" < "10"``; ties between spellings of the same number
    (``"01"`` and ``"1"``) are broken by the text itself, so the order is total.

    Examples
    --------
    >>> natural_sorted(["cls_10", "cls_2", "cls_1"])
    ['cls_1', 'cls_2', 'cls_10']
    """
    parts = _DIGITS.split(str(text))
    key = tuple(
        (0, int(part), "") if index % 2 else (1, 0, part) for index, part in enumerate(parts)
    )
    return (key, str(text))


def natural_sorted(labels) -> list[str]:
    """``labels`` in natural order (see :func:`natural_key`)."""
    return sorted(labels, key=natural_key)
