"""Layer 2, model: the PyMC model (``build``) and its terms on stored draws in numpy (``terms``); the posterior for
a configuration (``fit``: a cache hit, a PSIS update or a fit), its key, files and their checks (``cache``: with
the PSIS updates it keeps), its arrays beside the NetCDF file for a fast read (``arrays``), the
sampling (``sampling``: nutpie or PyMC's NUTS, the first batch of draws) and its convergence diagnostics and the
gates they are held to, read from ``conf/report`` (``diagnostics``); predictions for any action profile
(``predict``), the history's likelihood per episode (``likelihood``), the one PSIS (``psis``) and summary of draws
(``summary``), and the PSIS update of a cached posterior (``reweight``, from the index of cached states
``posterior_index``). Imports ``forecast.inputs`` and the base modules only.
"""
