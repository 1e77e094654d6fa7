"""Simulation-based calibration of the shipped model with simuk (Talts et al. 2018; Modrák et al. 2023).

simuk draws parameters and every observed variable from the model's prior predictive (the history,
the polls and the article's pseudo-observations ``claim_obs``/``order_obs`` alike: the claims are
likelihood terms, not ``pm.Potential``, so the prior predictive honours them), refits the model on
each simulated data set with PyMC's NUTS and records the rank of each reference value among the
posterior draws. If the sampler and model code are right, ranks are uniform. Checked here for the
hierarchy's top-level parameters and every response probability P(r | a), with a chi-square test of
the rank histogram (per quantity, Bonferroni over quantities) and arviz-plots' ECDF-PIT figure.
"""

from __future__ import annotations

import logging
import warnings
from typing import Any

import numpy as np

from forecast.model.build import P, build_model

TOP_LEVEL = ["mu_alpha", "sd_alpha_domain", "sd_alpha_response", "tau_slope_domain", "tau_slope_response", "sd_cell"]


def run_sbc(inputs, num_simulations: int = 100, draws: int = 300, tune: int = 300, seed: int = 1,
            var_names: list[str] | None = None):
    import simuk

    for name in ("pymc", "pytensor", "simuk"):
        logging.getLogger(name).setLevel(logging.ERROR)
    model = build_model(inputs)
    sbc = simuk.SBC(model, num_simulations=num_simulations, seed=seed, progress_bar=False,
                    sample_kwargs=dict(draws=draws, tune=tune, chains=2, cores=1, nuts_sampler="pymc",
                                       progressbar=False, compute_convergence_checks=False))
    sbc.var_names = [v for v in (var_names or [*TOP_LEVEL, P]) if v in model.named_vars]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sbc.run_simulations()
    return sbc


def rank_tests(simulations, n_draws: int, bins: int = 10) -> dict[str, Any]:
    """Chi-square test of each quantity's rank histogram against uniform (ranks 0..n_draws)."""
    from scipy.stats import chisquare

    ds = simulations["prior_sbc"].to_dataset()
    rows = []
    for v in ds.data_vars:
        da = ds[v]
        flat = da.values.reshape(da.shape[0] * da.shape[1], -1)  # (n_sim, elements)
        extra = [d for d in da.dims if d not in ("chain", "draw")]
        labels = [str(v)] if not extra else [f"{v}[{i}]" for i in range(flat.shape[1])]
        for j in range(flat.shape[1]):
            r = flat[:, j]
            counts, _ = np.histogram(r, bins=bins, range=(0, n_draws + 1))
            p = float(chisquare(counts).pvalue)
            rows.append({"quantity": labels[j], "p_value": p})
    m = len(rows)
    for r in rows:
        r["flag"] = bool(r["p_value"] < 0.01 / max(m, 1))
    return {"n_quantities": m, "tests": rows, "flags": [r["quantity"] for r in rows if r["flag"]],
            "min_p": min(r["p_value"] for r in rows) if rows else None}
