"""What moved between two reports, and why: the attribution of a change to its causes.

- ``shapley``: order-free Shapley values of the changes by PSIS weights of one set of stored draws;
- ``refit``: the exact path, each step from the previous report's state to the current inputs refitted;
- ``previous``: the report's "What moved since the last report" table (``previous_reports``),
  and the state a report records for the next one (``report_state``).
"""

from forecast.analysis.attribution.previous import RESIDUAL, previous_reports, report_state

__all__ = ["RESIDUAL", "previous_reports", "report_state"]
