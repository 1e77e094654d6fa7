"""Layer 6, the command line: a thin layer over ``forecast.api``.

``main`` (dispatch, the Hydra app with Hydra's own flags, signals, exit statuses), ``console`` (argument parsing,
flag values, progress lines), one module per subcommand (``commands``: ``init`` and ``scenarios``; ``evidence``,
``judgement``, ``history``, ``scheduled``, ``alerts``, ``check``, ``whatif``), ``sweep`` (a multirun's jobs and
their summary).
"""

from forecast.cli.main import main

__all__ = ["main"]
