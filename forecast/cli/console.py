"""Console input and output for people: argument parsing with one-line errors, progress on stderr."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from forecast.errors import InputError, printable


def say(msg: str) -> None:
    """Progress for people: stderr, one line each."""
    try:
        print(f"forecast: {msg}", file=sys.stderr, flush=True)
    except (OSError, ValueError, AttributeError):  # a closed or broken stderr is no reason to stop the work
        pass


def warn(msg: str) -> None:
    """A one-line warning for people (stderr)."""
    try:
        print(f"forecast: warning: {printable(msg)}", file=sys.stderr, flush=True)
    except (OSError, ValueError, AttributeError):
        pass


def yaml_scalar(v: Any) -> Any:
    """A flag's text as the YAML scalar it spells (800 -> int, 0.9 -> float), so entries stay typed."""
    import yaml

    if not isinstance(v, str):
        return v
    try:
        out = yaml.safe_load(v)
    except (yaml.YAMLError, ValueError):  # e.g. 2026-02-30 parses as an impossible timestamp
        return v
    return out if isinstance(out, int | float) and not isinstance(out, bool) else v


class ArgParser(argparse.ArgumentParser):
    """argparse with one-line errors (exit status 2 through InputError) instead of a usage dump."""

    def error(self, message: str):
        raise InputError(self.prog, message, f"see `{self.prog} --help`")
