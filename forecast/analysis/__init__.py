"""Layer 3, analysis: what the fitted model says about itself and about change.

``checks/`` (one module per model check), ``update`` (what moved since the previous report: Shapley values of
the new entries by PSIS weights), ``changes`` (the same by refitting each step in order, and the previous reports),
``replay`` (the forecast as of each evidence date), ``pooling`` (analysts' judgements pooled), ``alerts`` (what
counts as news), ``whatif`` (hypothetical evidence: the draws a report embeds and their reweighting). Imports
``forecast.model``, ``forecast.inputs`` and the base modules only.
"""
