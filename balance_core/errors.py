"""The one error type that balance_core raises for bad input."""

from __future__ import annotations

__all__ = ["DatasetError"]


class DatasetError(ValueError):
    """Input that Seesaw cannot use, with one sentence saying what is wrong and what to do.

    Parameters
    ----------
    message : str
        One plain sentence for the user: what is wrong, and what to do about it.
    kind : str
        A short machine-readable name of the problem (``"empty_file"``,
        ``"ragged_rows"``, ``"limit_hit"``, ...), stable for tests and callers.
    """

    def __init__(self, message: str, *, kind: str) -> None:
        super().__init__(message)
        self.kind = kind

    @property
    def message(self) -> str:
        return str(self)
