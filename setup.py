"""The one build step beyond pyproject.toml: ship the project's settings and reference data inside the package.

A wheel carries the repository's top-level ``conf/`` and ``data/`` as package data under ``forecast/_home/``, so
that an installed package can write a project home (``forecast init DIR``, forecast/home.py). Git keeps one copy,
at the top level (docs/design.md, "Layout"); an editable install reads it there and gets no copy.
"""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
SHIPPED = ("conf", "data")


class BuildWithHome(build_py):
    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return
        target = Path(self.build_lib) / "forecast" / "_home"
        for sub in SHIPPED:
            shutil.copytree(HERE / sub, target / sub, dirs_exist_ok=True,
                            ignore=shutil.ignore_patterns("__pycache__", "*.pyc", ".*.swp", "*~"))


setup(cmdclass={"build_py": BuildWithHome})
