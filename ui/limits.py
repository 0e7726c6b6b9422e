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
no effect unless ``server.maxUploadSize`` is raised too.

The file is read on every call, so a change applies to the next upload of new
content (content already read stays cached until the server restarts). A file
Seesaw cannot use raises :class:`LimitsConfigError`, which names the file, the key
and what is wrong.
"""

from __future__ import annotations

import dataclasses
import math
import os
import tomllib
from pathlib import Path

from balance_core import DEFAULT_LIMITS, Limits
from balance_core.limits import FLOAT_LIMITS

__all__ = [
    "APP_MAX_OUTPUT_BYTES",
    "CONFIG_FILE",
    "DEFAULT_SERVER_BUDGET",
    "LimitsConfigError",
    "ServerBudget",
    "app_limits",
    "config_file",
    "server_budget",
    "upload_cap_bytes",
]

APP_MAX_OUTPUT_BYTES = 4 * 1024**3
"""The app's default ``max_output_bytes``: downloads are built in the server's memory,
so a plan asking for a larger manifest or balanced zip is refused with a sentence
(the CLI streams to disk and keeps the library's 64 GiB)."""

CONFIG_FILE = Path(__file__).resolve().parents[1] / ".streamlit" / "seesaw.toml"
"""Where the app looks for ``[limits]``: beside ``.streamlit/config.toml``."""

CONFIG_ENV = "SEESAW_CONFIG"
"""An environment variable naming another file to use instead of :data:`CONFIG_FILE`."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class ServerBudget:
    """What the server spends on behalf of its sessions (``[server_budget]``).

    Attributes
    ----------
    worker_memory_mb : int
        Memory one heavy job (reading an upload, probing its images, thumbnails,
        a balanced zip) may use in its worker process (default 1024). The server's
        peak is about its own memory plus ``max_workers`` times this.
    worker_timeout_s : int
        Seconds one heavy job may take (default 300).
    max_workers : int
        Heavy jobs running at once across all sessions (default 2); more wait.
    cache_mb : int
        Total size of the parsed tables, analyses and chosen rows kept for reuse
        across sessions (default 1024). A session's current dataset stays while the
        session is open even past this total; closed sessions' entries go first.
    """

    worker_memory_mb: int = 1024
    worker_timeout_s: int = 300
    max_workers: int = 2
    cache_mb: int = 1024


DEFAULT_SERVER_BUDGET = ServerBudget()
_BUDGET_FIELDS = {field.name for field in dataclasses.fields(ServerBudget)}


def config_file() -> Path:
    """The settings file: ``$SEESAW_CONFIG`` when set, else :data:`CONFIG_FILE`."""
    named = os.environ.get(CONFIG_ENV)
    return Path(named) if named else CONFIG_FILE


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
    path = config_file() if path is None else Path(path)
    limits = dataclasses.replace(
        DEFAULT_LIMITS, max_input_bytes=upload_cap_bytes(), max_output_bytes=APP_MAX_OUTPUT_BYTES
    )
    table = _table(path, "limits")
    changes: dict[str, int | float] = {}
    for name, value in table.items():
        if name not in _FIELDS:
            raise LimitsConfigError(
                f"In {str(path)!r}, [limits] names {name!r}, which is not a limit; the "
                f"limits are {', '.join(_FIELDS)}."
            )
        changes[name] = _number(path, name, value)
    return dataclasses.replace(limits, **changes)


def server_budget(path: Path | None = None) -> ServerBudget:
    """The ``[server_budget]`` table of the settings file over :class:`ServerBudget`'s
    defaults.

    Parameters
    ----------
    path : pathlib.Path, optional
        The TOML file (default :func:`config_file`); a missing file means defaults.

    Raises
    ------
    LimitsConfigError
        Invalid TOML, an unknown key, or a value that is not a whole number above 0.
    """
    path = config_file() if path is None else Path(path)
    table = _table(path, "server_budget")
    changes: dict[str, int | float] = {}
    for name, value in table.items():
        if name not in _BUDGET_FIELDS:
            raise LimitsConfigError(
                f"In {str(path)!r}, [server_budget] names {name!r}, which is not a setting; "
                f"the settings are {', '.join(sorted(_BUDGET_FIELDS))}."
            )
        changes[name] = _number(path, name, value, section="server_budget")
    return dataclasses.replace(DEFAULT_SERVER_BUDGET, **changes)


def _table(path: Path, section: str) -> dict:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError) as error:
        raise LimitsConfigError(f"Cannot read {str(path)!r}: {error}.") from None
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise LimitsConfigError(f"{str(path)!r} is not valid TOML ({error}).") from None
    table = document.get(section, {})
    if not isinstance(table, dict):
        raise LimitsConfigError(
            f"In {str(path)!r}, {section!r} must be a table ([{section}]), not a "
            f"{type(table).__name__}."
        )
    return table


def _number(path: Path, name: str, value: object, section: str = "limits") -> int | float:
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
            f"In {str(path)!r}, [{section}] {name} must be {wanted}, not {value!r}."
        )
    return int(value) if whole else float(value)
