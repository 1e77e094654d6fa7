"""Layer 6, the command line: a thin layer over ``forecast.api``. ``main`` dispatches; one module
per subcommand (``commands``, ``evidence``, ``history``, ``scheduled``); ``console`` prints.
"""

from forecast.cli.main import main

__all__ = ["main"]
