"""A small synthetic world with known parameters, simulated independently of the model's code."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from forecast.inputs.data import Episodes, Inputs, Ontology, polls_frame
from forecast.inputs.priors import parse_claim

ATTRS = {
    "severity": {"type": "numeric", "min": 1.0, "max": 5.0, "center": 3.0, "scale": 2.0, "description": ""},
    "consent": {"type": "categorical", "levels": ["none", "voluntary"], "baseline": "none", "description": ""},
}
ACTIONS = pd.DataFrame({"id": ["a0", "a1", "a2", "a3"], "label": ["A0", "A1", "A2", "A3"],
                        "severity": [1.0, 2.0, 4.0, 5.0], "consent": ["voluntary", "none", "none", "none"],
                        "description": "", "research_code": ""}).set_index("id")
# Domain "hi" (r0, r1, r2, r4, r5) has high base rates, domain "lo" (r3, r6, r7) low ones; r2 requires
# r1 (threat -> executed); r4 is never observed, so only pooling within its domain can inform it.
R_IDS = ["r0", "r1", "r2", "r3", "r4", "r5", "r6", "r7"]
RESPONSES = pd.DataFrame({
    "id": R_IDS, "label": [r.upper() for r in R_IDS],
    "domain": ["hi", "hi", "hi", "lo", "hi", "hi", "lo", "lo"], "stance": ["retaliatory"] * 8,
    "form": ["executed", "threat", "executed", "executed", "executed", "executed", "executed", "executed"],
    "requires": ["", "", "r1", "", "", "", "", ""],
    "escalation_rank": 1, "opinion_sign": 0, "research_code": "", "description": "",
}).set_index("id")
OBSERVED = ["r0", "r1", "r2", "r3", "r5", "r6", "r7"]

TRUE_ALPHA = np.array([1.4, 1.6, 0.8, -1.8, 1.5, 1.3, -2.0, -1.6])
TRUE_BETA = np.array([  # covariates: severity, consent=voluntary
    [0.8, 0.6, 0.5, 0.7, 0.6, 0.7, 0.6, 0.8],
    [-1.5, -1.2, -1.0, -1.3, -1.2, -1.4, -1.1, -1.3],
])
TRUE_DELTA = np.zeros((4, 8))  # action x response cell deviations: a swapped action index misplaces them
TRUE_DELTA[1, 3], TRUE_DELTA[2, 0], TRUE_DELTA[3, 6], TRUE_DELTA[0, 5] = 1.5, -1.5, 1.2, -1.0
TRUE_LOADING = np.full(8, 0.5)


def ontology() -> Ontology:
    return Ontology(ATTRS, ACTIONS.copy(), RESPONSES.copy(), {})


def true_p_monte_carlo(n: int = 400_000, seed: int = 99) -> pd.DataFrame:
    """P(response | action) of the true world, by brute-force simulation of the generative story."""
    rng = np.random.default_rng(seed)
    ont = ontology()
    X = ont.covariates(ont.actions)
    out = {}
    for i, a in enumerate(ont.action_ids):
        f = rng.standard_normal(n)[:, None]
        q = 1 / (1 + np.exp(-(TRUE_ALPHA + X[i] @ TRUE_BETA + TRUE_DELTA[i] + TRUE_LOADING * f)))
        happened = rng.random(q.shape) < q
        happened[:, 2] &= happened[:, 1]  # r2 can only happen after its threat r1
        out[a] = happened.mean(axis=0)
    return pd.DataFrame(out, index=ont.response_ids).T


def simulate_inputs(n_episodes: int = 800, seed: int = 7, hyper: dict | None = None) -> Inputs:
    rng = np.random.default_rng(seed)
    ont = ontology()
    acts = rng.integers(0, 4, n_episodes)
    table = ont.actions.iloc[acts][list(ATTRS)].reset_index()
    table["id"] = [f"e{i}" for i in range(n_episodes)]
    table = table.rename(columns={"index": "action_type"}) if "index" in table else table
    table["action_type"] = [ont.action_ids[a] for a in acts]
    table["date"] = dt.date(2000, 1, 1)
    table[["title", "sources", "verified", "origin"]] = ["", "synthetic", "yes", "precedent"]
    X = ont.covariates(table)
    f = rng.standard_normal(n_episodes)[:, None]
    q = 1 / (1 + np.exp(-(TRUE_ALPHA + X @ TRUE_BETA + TRUE_DELTA[acts] + TRUE_LOADING * f)))
    y = (rng.random(q.shape) < q).astype(float)
    y[:, 2] *= y[:, 1]
    y[:, 4] = np.nan  # never observed
    y[rng.random(y.shape) < 0.1] = np.nan  # some blanks
    y[np.isnan(y[:, 1]), 2] = np.nan  # keep the synthetic log simple: no executed without a known threat
    outcomes = pd.DataFrame(y, columns=ont.response_ids, index=table["id"])
    table = table.set_index("id")[["date", "action_type", *ATTRS, "title", "sources", "verified", "origin"]]
    claims = [
        parse_claim("theta", {"quote": "synthetic", "constrains": {"kind": "latent", "target": "public_opposition"},
                              "elicit": {"family": "Beta", "alpha": 8, "beta": 2}}, ont, "synthetic"),
        parse_claim("kappa", {"quote": "synthetic", "constrains": {"kind": "latent", "target": "opinion_effect"},
                              "elicit": {"family": "HalfNormal", "sigma": 0.5}}, ont, "synthetic"),
    ]
    h = {"mu_alpha_mean": -1.0, "mu_alpha_sd": 1.5, "sigma_alpha_domain": 1.0, "sigma_alpha_response": 1.0,
         "slope_sd": 1.0, "sigma_slope_domain": 0.5, "sigma_slope_response": 0.5, "sigma_cell": 0.5,
         "sigma_loading": 0.8, "sigma_house": 0.75, "opinion_reference": 0.8, "quadrature_nodes": 7,
         "poll_window_days": 730, **(hyper or {})}
    return Inputs(ont, Episodes(table, outcomes), polls_frame([]), claims, [], h, dt.date(2026, 1, 1))
