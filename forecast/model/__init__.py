"""Layer 2, model: the PyMC model (``build``) and its terms on stored draws in numpy (``terms``), fitting and
the posterior cache (``fit``), predictions for any action profile (``predict``), the history's likelihood per
episode (``likelihood``), the one PSIS (``psis``) and summary of draws (``summary``), and the PSIS update of a
cached posterior (``reweight``, from the index of cached states ``posterior_index``). Imports
``forecast.inputs`` and the base modules only.
"""
