"""Layer 2, model: the PyMC model and what is computed from its stored draws.

``build`` (the pure ``build_model`` and its numeric design), ``fit`` (sampling, diagnostics, the posterior and
article-only prior caches), ``predict`` (any action profile from the stored draws), ``likelihood`` (the record's
log-likelihood per episode from stored draws, for checks and updates), ``update`` (PSIS reweighting of a cached
posterior by new evidence or claims). Imports ``forecast.inputs`` and the base modules only.
"""
