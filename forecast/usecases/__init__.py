"""Layer 5 (with ``forecast.api``), the use cases: one module per thing a user does, each a function the CLI
and a notebook call alike (``forecast.api`` re-exports them). A use case loads what it needs, fits or reads
the posterior, computes, and hands the results to the writers: it goes down the layers once.

- ``reports``: ``forecast [overrides]``, one scenario's report or every scenario's (``run``, ``write_report``),
  a sweep job's record and a sweep's summary;
- ``scheduled``: ``forecast scheduled``, every scenario into a dated folder under a lock, then the alerts;
- ``checks``: ``forecast check``, the model checks;
- ``whatif``: ``forecast whatif``, hypothetical evidence;
- ``evidence``: ``forecast evidence`` and ``forecast judgement``, the analysts' dated inputs (an entry added,
  withdrawn or restored);
- ``ontology``: ``forecast responses`` and ``forecast actions``, the ids commands take and what each means;
- ``history``: ``forecast history [--replay]``;
- ``alerts``: ``forecast alerts [test]``.
"""
