"""Layer 3, analysis: what the fitted model says about itself and about change: attribution of what
moved between reports (``changes``) and the replay of the evidence log date by date (``replay``).
Imports ``forecast.model``, ``forecast.inputs`` and the base modules only.
"""
