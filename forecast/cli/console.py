"""Console input and output for people: argument parsing with one-line errors, progress on stderr."""

from __future__ import annotations

import argparse
import sys

from forecast.errors import InputError


def say(msg: str) -> None:
    """Progress for people: stderr, one line each."""
    try:
        print(f"forecast: {msg}", file=sys.stderr, flush=True)
    except (OSError, ValueError, AttributeError):  # a closed or broken stderr is no reason to stop the work
        pass


class ArgParser(argparse.ArgumentParser):
    """argparse with one-line errors (exit status 2 through InputError) instead of a usage dump."""

    def error(self, message: str):
        raise InputError(self.prog, message, f"see `{self.prog} --help`")
