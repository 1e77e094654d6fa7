"""Model checks: is each probability any good? One module per check.

``scores`` (log/Brier scores, CORP reliability and Murphy decomposition), ``backtest`` (PSIS
leave-future-out over coded episodes against base rates, the article-only prior and 0.5), ``ppc``
(posterior predictive counts per response, LOO-PIT), ``loo`` (PSIS-LOO over episodes),
``prior_check`` (the article-only prior against each claim's elicited range), ``sensitivity``
(power-scaling of the article's claims and the history), ``sbc`` (simulation-based calibration with
simuk), ``track`` (earlier forecasts scored against resolved branches), ``figures`` (the checks' figures) and
``run`` (all of them).
"""
