"""Model checks: is each probability any good? One module per check.

``scores`` (log/Brier scores, CORP reliability and Murphy decomposition), ``backtest`` (PSIS
leave-future-out of the model as published the day before each coded episode, of the same without the
article's claims and of the record alone, against base rates, the article-only prior and 0.5), ``ppc``
(posterior predictive counts per response, LOO-PIT), ``loo`` (PSIS-LOO over episodes, the same-action base
rate left out the same way, the leave-one-episode-out calibration), ``claims`` (the article's claims with
and without: the back-test's cells since their date and LOO, and the sentence every report shows),
``prior_check`` (the article-only prior against each claim's elicited range), ``sensitivity``
(power-scaling of the article's claims and the history), ``era_opinion`` (the published probabilities with
the episodes before the poll window at another opinion than the assumed one), ``sbc`` (simulation-based calibration with
simuk), ``track`` (earlier forecasts scored against resolved branches), ``run`` (all of them, or those
``forecast check --only`` selects) and ``ahead`` (the back-test's walks and the fits ahead of them in two forked
workers beside the posterior's fit).
"""
