"""Where the project's files live. Never resolved from the current directory.

The project root is the checkout this package sits in (``forecast/..``), or ``$FORECAST_HOME``.
``data/``, ``conf/``, ``reports/`` and the cache are resolved from it unless a config names them.
"""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent


def project_root() -> Path:
    env = os.environ.get("FORECAST_HOME")
    root = Path(env).expanduser().resolve() if env else PACKAGE_DIR.parent
    return root


def conf_dir() -> Path:
    return project_root() / "conf"


def resolve(path: str | os.PathLike | None, default: str) -> Path:
    """Resolve a configured path: absolute stays, relative is taken from the project root."""
    p = Path(path if path not in (None, "") else default).expanduser()
    return p if p.is_absolute() else (project_root() / p).resolve()
