"""Layer 1, inputs: parse and validate everything under ``data/`` and ``conf/`` into an ``Inputs``.

``readers`` (safe file readers and field parsers), ``schema`` (the typed settings: Hydra structured configs),
``config`` (composition, validation, scenario profiles), ``compose_memo`` (the composed config kept under a key of
``conf/``'s files and the overrides), ``data`` (ontology, precedents, polls), ``priors`` (the
article's claims, dated, PreliZ elicitation), ``evidence`` (the analysts' dated log), ``judgements`` (analysts'
dated judgements and their pooling rules), ``load`` (``load_inputs``: all of it filtered to ``as_of``, each source
counted once), ``question`` (the question the reports answer, its horizon, the article's citation, the outcomes the
bottom line watches: presentation, never the model's input), ``words`` (the estimative words' scale), ``withdraw``
(an evidence entry moved out of the log, recorded and reversible). Imports only the base modules from outside this
package.
"""
