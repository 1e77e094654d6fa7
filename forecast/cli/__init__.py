"""Layer 6, the command line: it parses arguments, calls ``forecast.api`` and prints.

``main`` (the Hydra app with Hydra's own flags, signals, exit statuses) dispatches through ``commands`` (the
subcommands' table, ``init`` and ``scenarios``) to one module per subcommand (``evidence``, ``judgement``,
``history``, ``scheduled``, ``alerts``, ``check``, ``whatif``); ``console`` (argument parsing, flag values,
progress lines); ``sweep`` (the Hydra callback that summarises a multirun).
"""

from forecast.cli.main import entry, main

__all__ = ["entry", "main"]
