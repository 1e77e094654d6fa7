"""One exception family. Every message names the file, the row or key, and the fix."""

from __future__ import annotations

# Exit statuses, defined once (sysexits.h where one fits).
EXIT_OK = 0
EXIT_INPUT = 2  # invalid input: a one-line reason naming the file, row or key and the fix
EXIT_DIAGNOSTICS = 3  # diagnostics failed: reports written, marked untrustworthy
EXIT_INTERNAL = 70  # EX_SOFTWARE
EXIT_LOCKED = 75  # EX_TEMPFAIL: another run holds the lock
EXIT_UNAVAILABLE = 69  # EX_UNAVAILABLE: a notification channel failed (`forecast alerts test`)
EXIT_INTERRUPTED = 130  # SIGINT


class ForecastError(Exception):
    """Base class of every error the tool raises on purpose."""

    exit_code = EXIT_INTERNAL


class InputError(ForecastError, ValueError):
    """Invalid input: a data file, a config value, an evidence entry, a CLI argument."""

    exit_code = EXIT_INPUT

    def __init__(self, where: str, problem: str, fix: str | None = None):
        self.where = where
        self.problem = problem
        self.fix = fix
        msg = f"{where}: {problem}"
        if fix:
            msg += f"; {fix}"
        super().__init__(printable(msg))


def printable(text: str) -> str:
    """One line of printable text: control characters, line breaks and escapes shown escaped."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in str(text))


class ConfigError(InputError):
    """An unknown scenario, prior or key, or a config value out of range."""


class DiagnosticsError(ForecastError):
    """The sampler's diagnostics failed: reports are written but marked untrustworthy."""

    exit_code = EXIT_DIAGNOSTICS


class LockedError(ForecastError):
    """Another run holds the reports lock."""

    exit_code = EXIT_LOCKED
