"""Layer 1, inputs: parse and validate everything under ``data/`` and ``conf/`` into an ``Inputs``.

``readers`` (safe file readers and field parsers), ``config`` (Hydra composition and validation),
``data`` (ontology, precedents, polls), ``priors`` (the article's claims), ``evidence`` (the
analysts' dated log), ``load`` (all of it, filtered to ``as_of``). Imports only ``forecast.errors``,
``forecast.paths`` and ``forecast.files`` from outside this package.
"""
