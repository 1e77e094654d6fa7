"""Layer 3, analysis: what the fitted model says about itself and about change: the model checks
(``checks/``), the attribution of what moved between reports (``attribution/``), the replay of the evidence
log date by date (``replay``), analysts' pooling (``pooling``) and the report's analysts section (``analysts``: the
pools, their refits, what moved them), what a run's reports show, computed before they are written
(``report_draws``), alerts (``alerts``), hypothetical evidence (``whatif/``) and what sets each interval's width
(``intervals``). Imports ``forecast.model``, ``forecast.inputs`` and the base modules only.
"""
