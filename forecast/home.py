"""A new project home: ``forecast init DIR`` (``forecast.init``).

The settings (``conf/``) and the reference data set (``data/``) ship inside the package: a wheel carries them
in ``_home/`` beside this module (``setup.py`` copies the repository's top-level folders there when it builds; git holds
one copy), and a checkout, where the package runs in place, has them beside it. ``init`` copies them into the new
home, each folder complete or not at all, with an empty ``reports/`` and a README that says what the folder is.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
from pathlib import Path

from forecast.errors import ConfigError, InputError
from forecast.files import atomic_write_dir, check_folder, create_new_file, ensure_dir
from forecast.paths import HOME_ENV, PACKAGE_DIR, is_home
from forecast.version import __version__

SHIPPED = ("conf", "data")
README = """# A forecast project home

Created by `forecast init` (forecast {version}) on {day}. `conf/` holds the settings, `data/` the inputs (the
ontology, the precedents, the polls, the evidence log and analysts' judgements) and `reports/` the reports.
Run `forecast` inside this folder (or set {env}={home}); `forecast --help` lists the commands.
"""


def template() -> Path:
    """The folder whose ``conf/`` and ``data/`` a new home starts from: the package's own (a wheel), else the
    checkout the package runs from."""
    for base in (PACKAGE_DIR / "_home", PACKAGE_DIR.parent):
        if is_home(base):
            return base
    raise ConfigError("forecast init", f"this installation carries no conf/ and data/ (looked in "
                      f"{PACKAGE_DIR / '_home'} and {PACKAGE_DIR.parent})",
                      "reinstall the package from a wheel or a checkout of the project")


def init(folder: str | os.PathLike, *, force: bool = False) -> Path:
    """Write a working project home into ``folder`` (created if missing) and return it. A folder with anything
    in it is refused unless ``force``; then what is there stays (nothing is overwritten), but a folder that is
    already a project home, or holds a ``conf/`` or ``data/``, is refused either way."""
    home = Path(os.path.abspath(Path(folder).expanduser()))
    where = f"forecast init {folder}"
    check_folder(home, where)  # never the filesystem root, a system folder or a shared top folder
    if home.exists() and not home.is_dir():
        raise InputError(where, f"{home} is a file, not a folder", "name a new or empty folder")
    if is_home(home):
        raise InputError(where, f"{home} is already a project home (it has conf/config.yaml and data/)",
                         "run forecast there, or name a new folder")
    if home.is_dir() and any(home.iterdir()) and not force:
        raise InputError(where, f"{home} is not empty", "name a new or empty folder, or pass --force to add a "
                         "project home beside what is there (nothing in it is overwritten)")
    taken = [sub for sub in SHIPPED if (home / sub).exists()]
    if taken:
        raise InputError(where, f"{home / taken[0]} exists", "move it away or name another folder: a home's "
                         f"{' and '.join(SHIPPED)} come from the package, complete")
    src = template()
    ensure_dir(home)
    for sub in SHIPPED:
        atomic_write_dir(home / sub, lambda tmp, sub=sub: shutil.copytree(
            src / sub, tmp, dirs_exist_ok=True, ignore=shutil.ignore_patterns("__pycache__", "*.pyc")), home,
            owned=())  # never replaces a folder that appeared meanwhile
    ensure_dir(home / "reports", home)
    readme = README.format(version=__version__, day=dt.date.today().isoformat(), env=HOME_ENV, home=home)
    try:
        create_new_file(home / "README.md", readme, home)
    except FileExistsError:
        pass  # the folder's own README stays (force)
    return home
