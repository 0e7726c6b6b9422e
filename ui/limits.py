"""The app's safety limits: the library's defaults, overridden in one documented place.

The one place is a ``[limits]`` table in ``.streamlit/seesaw.toml``, next to
Streamlit's own ``.streamlit/config.toml`` in the app's folder::

    # .streamlit/seesaw.toml
    [limits]
    max_input_bytes = 1_073_741_824     # 1 GiB per upload
    max_total_uncompressed = 8_589_934_592
    max_image_pixels = 50_000_000

Keys are the fields of :class:`balance_core.Limits` (see ``balance_core/limits.py``
for each default and where it is enforced); values are numbers above 0, whole
numbers except ``max_compression_ratio``. Without the file (or without a key) the
library's default applies, except ``max_input_bytes``, which defaults to
Streamlit's ``server.maxUploadSize`` (2048 MB in ``.streamlit/config.toml``):
Streamlit refuses larger uploads before Seesaw sees them, so a larger value has
no effect unless ``server.maxUploadSize`` is raised too, and ``max_output_bytes``,
which defaults to :data:`APP_MAX_OUTPUT_BYTES` (4 GiB: downloads are built in memory).

The file is read on every call, so a change applies to the next upload of new
content (content already read stays cached until the server restarts). A file
Seesaw cannot use raises :class:`LimitsConfigError`, which names the file, the key
and what is wrong.
"""

from __future__ import annotations

import dataclasses
import math
import tomllib
from pathlib import Path

from balance_core import DEFAULT_LIMITS, Limits
from balance_core.limits import FLOAT_LIMITS

__all__ = [
    "APP_MAX_OUTPUT_BYTES",
    "CONFIG_FILE",
    "LimitsConfigError",
    "app_limits",
    "upload_cap_bytes",
]

APP_MAX_OUTPUT_BYTES = 4 * 1024**3
"""The app's default ``max_output_bytes``: downloads are built in the server's memory,
so a plan asking for a larger manifest or balanced zip is refused with a sentence
(the CLI streams to disk and keeps the library's 64 GiB)."""

CONFIG_FILE = Path(__file__).resolve().parents[1] / ".streamlit" / "seesaw.toml"
"""Where the app looks for ``[limits]``: beside ``.streamlit/config.toml``."""

_FIELDS = {field.name: field for field in dataclasses.fields(Limits)}
_FLOAT_FIELDS = FLOAT_LIMITS


class LimitsConfigError(ValueError):
    """``.streamlit/seesaw.toml`` cannot be used; the message says where and why."""


def upload_cap_bytes() -> int:
    """Streamlit's ``server.maxUploadSize`` in bytes (the option is in megabytes)."""
    from streamlit import config

    return int(config.get_option("server.maxUploadSize")) * 1024 * 1024


def app_limits(path: Path | None = None) -> Limits:
    """The limits the app reads uploads with.

    Parameters
    ----------
    path : pathlib.Path, optional
        The TOML file to read (default :data:`CONFIG_FILE`); a missing file means
        no overrides.

    Returns
    -------
    Limits
        The library's defaults with ``max_input_bytes`` set to Streamlit's upload
        cap and ``max_output_bytes`` to :data:`APP_MAX_OUTPUT_BYTES`, then the
        ``[limits]`` table's values.

    Raises
    ------
    LimitsConfigError
        Invalid TOML, ``limits`` not a table, an unknown key, or a value that is
        not a number above 0 (or not whole where a whole number is needed).
    """
    path = CONFIG_FILE if path is None else Path(path)
    limits = dataclasses.replace(
        DEFAULT_LIMITS, max_input_bytes=upload_cap_bytes(), max_output_bytes=APP_MAX_OUTPUT_BYTES
    )
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return limits
    except (OSError, UnicodeDecodeError) as error:
        raise LimitsConfigError(f"Cannot read {str(path)!r}: {error}.") from None
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise LimitsConfigError(f"{str(path)!r} is not valid TOML ({error}).") from None
    table = document.get("limits", {})
    if not isinstance(table, dict):
        raise LimitsConfigError(
            f"In {str(path)!r}, 'limits' must be a table ([limits]), not a {type(table).__name__}."
        )
    changes: dict[str, int | float] = {}
    for name, value in table.items():
        if name not in _FIELDS:
            raise LimitsConfigError(
                f"In {str(path)!r}, [limits] names {name!r}, which is not a limit; the "
                f"limits are {', '.join(_FIELDS)}."
            )
        changes[name] = _number(path, name, value)
    return dataclasses.replace(limits, **changes)


def _number(path: Path, name: str, value: object) -> int | float:
    whole = name not in _FLOAT_FIELDS
    ok = (
        not isinstance(value, bool)
        and isinstance(value, (int, float))
        and math.isfinite(value)
        and value > 0
        and (not whole or float(value).is_integer())
    )
    if not ok:
        wanted = "a whole number above 0" if whole else "a number above 0"
        raise LimitsConfigError(
            f"In {str(path)!r}, [limits] {name} must be {wanted}, not {value!r}."
        )
    return int(value) if whole else float(value)
