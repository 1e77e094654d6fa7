"""Where the project's files live: the project home, and the folders configured inside it.

A project home is a folder holding ``conf/config.yaml`` and ``data/`` (``forecast init DIR`` writes one). It is,
in this order: ``$FORECAST_HOME``; the current folder or the nearest of its parents that is a home; the checkout
this package runs from (an editable install). ``data/``, ``conf/``, ``reports/`` and the cache are resolved from
it unless a config names them; a relative configured path is never taken from the current folder.
"""

from __future__ import annotations

import os
from pathlib import Path

from forecast.errors import ConfigError

PACKAGE_DIR = Path(__file__).resolve().parent
HOME_ENV = "FORECAST_HOME"


def is_home(folder: Path) -> bool:
    """A folder the tool can run from: its settings (``conf/config.yaml``) and its inputs (``data/``)."""
    return (folder / "conf" / "config.yaml").is_file() and (folder / "data").is_dir()


def find_home(start: Path | None = None) -> Path | None:
    """The project home that holds ``start`` (default: the current folder), ``start`` included, or None."""
    try:
        here = Path(start if start is not None else Path.cwd()).resolve()
    except OSError:  # the current folder was deleted under the process
        return None
    return next((p for p in (here, *here.parents) if is_home(p)), None)


def project_root() -> Path:
    env = os.environ.get(HOME_ENV)
    if env:
        return Path(env).expanduser().resolve()
    home = find_home()
    if home is not None:
        return home
    if is_home(PACKAGE_DIR.parent):  # a checkout (an editable install, or PYTHONPATH)
        return PACKAGE_DIR.parent
    try:
        here = str(Path.cwd())
    except OSError:
        here = "the current folder"
    raise ConfigError("project home", f"none found: no conf/config.yaml and data/ in {here} or its parents, "
                      f"and ${HOME_ENV} is not set",
                      f"create one with 'forecast init DIR' and run forecast inside DIR (or set {HOME_ENV}=DIR)")


def conf_dir() -> Path:
    return project_root() / "conf"


def resolve(path: str | os.PathLike | None, default: str) -> Path:
    """Resolve a configured path: absolute stays, relative is taken from the project root."""
    p = Path(path if path not in (None, "") else default).expanduser()
    return p if p.is_absolute() else (project_root() / p).resolve()
