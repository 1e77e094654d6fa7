"""Issue 16's figures from the default fit: the opinion, the opinion effect, cell calibration and
executed retaliation, and the cells behind each multi-action claim.

    PYTHONPATH=. FORECAST_HOME=. python bench/studies/model-changes-ablation/figures.py [overrides...] [--json out.json]

Calibration uses the fitted probability of every coded likelihood cell (the model's own cell
definition: conditional on a coded threat; marginal over an uncoded one), with the episode factor
integrated out (it is not stored), at each posterior draw, then averaged over draws. Nothing here
is fitted to the back-test: it only reads a posterior.
"""

from __future__ import annotations

import json
import sys

import numpy as np

import forecast
from forecast.model.build import KAPPA, LOADING, THETA, design, log_sigmoid, quadrature
from forecast.model.fit import fit_config

THETA_PAST = "public_opposition_past"


def episode_eta(post, d, inputs) -> np.ndarray:
    """(S, E, R) linear predictor of every coded episode at its own opinion."""
    alpha = post["alpha"].values.reshape(-1, post["alpha"].shape[-1])
    S = alpha.shape[0]
    beta = post["beta"].values.reshape(S, *post["beta"].shape[-2:])
    delta = post["delta"].values.reshape(S, *post["delta"].shape[-2:])
    eta = alpha[:, None, :] + np.einsum("ek,skr->ser", d.X_ep, beta) + delta[:, d.ep_act, :]
    ep_shift = getattr(d, "ep_recent", None)
    if ep_shift is not None and THETA_PAST in post:
        ref = inputs.hyper["opinion_reference"]
        kappa = post[KAPPA].values.reshape(S)
        lt = np.log(post[THETA].values / (1 - post[THETA].values)).reshape(S)
        lp = np.log(post[THETA_PAST].values / (1 - post[THETA_PAST].values)).reshape(S)
        le = np.where(d.ep_recent[None, :], lt[:, None], lp[:, None])  # (S, E)
        eta = eta + d.opinion_sign * (kappa[:, None] * (le - np.log(ref / (1 - ref))))[:, :, None]
    return eta


def cell_probabilities(post, d, inputs) -> np.ndarray:
    """(S, n_obs) fitted P(y = 1) of each likelihood cell, the episode factor integrated out."""
    eta = episode_eta(post, d, inputs)
    S = eta.shape[0]
    lam = post[LOADING].values.reshape(S, -1)
    nodes, w = quadrature(int(inputs.hyper["quadrature_nodes"]))
    ls = log_sigmoid(eta[:, :, None, :] + lam[:, None, None, :] * nodes[None, None, :, None], np)  # (S,E,Q,R)
    e, r = d.obs_ep, d.obs_resp
    lq = np.take_along_axis(ls[:, e], r[None, :, None, None], axis=-1)[..., 0]  # (S, n, Q)
    lanc = np.zeros_like(lq)
    for k, (idx, _) in enumerate(d.chain):
        a = np.take_along_axis(ls[:, e], idx[r][None, :, None, None], axis=-1)[..., 0]
        lanc = lanc + a * d.obs_mask[:, k][None, :, None]
    # conditional on coded threats: numerator over the unobserved chain, denominator over the observed one
    cond = np.zeros_like(lq)
    for k, (idx, m) in enumerate(d.chain):
        a = np.take_along_axis(ls[:, e], idx[r][None, :, None, None], axis=-1)[..., 0]
        cond = cond + a * (m[r] * (1 - d.obs_mask[:, k]))[None, :, None]
    num = (np.exp(lq + lanc + cond) * w).sum(-1)
    den = (np.exp(cond) * w).sum(-1)
    return num / den


def node_cell_probabilities(post, d, inputs) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(S, n_obs, Q) P(y = 1 | f = node) of each likelihood cell, and the quadrature nodes/weights."""
    eta = episode_eta(post, d, inputs)
    S = eta.shape[0]
    lam = post[LOADING].values.reshape(S, -1)
    nodes, w = quadrature(int(inputs.hyper["quadrature_nodes"]))
    ls = log_sigmoid(eta[:, :, None, :] + lam[:, None, None, :] * nodes[None, None, :, None], np)
    e, r = d.obs_ep, d.obs_resp
    lq = np.take_along_axis(ls[:, e], r[None, :, None, None], axis=-1)[..., 0]
    for k, (idx, _) in enumerate(d.chain):
        a = np.take_along_axis(ls[:, e], idx[r][None, :, None, None], axis=-1)[..., 0]
        lq = lq + a * d.obs_mask[:, k][None, :, None]
    return np.exp(lq), nodes, w


def predictive_bins(post, d, inputs, pbar: np.ndarray, n_sims: int = 4000, seed: int = 16,
                    keep: np.ndarray | None = None) -> list[dict]:
    """Posterior predictive of the number of events per calibration bin, replicating the record with
    its episode structure: one factor draw per episode, shared by its cells (the model's own story),
    and, for contrast, independent cells. Returns the 5-95% range of each and the observed count's
    predictive tail probability. The factor is drawn at the quadrature nodes with their weights.
    ``keep`` (bool per likelihood cell): bin only those cells (the others are simulated but not counted)."""
    q, nodes, w = node_cell_probabilities(post, d, inputs)
    rng = np.random.default_rng(seed)
    S, n, Q = q.shape
    n_ep = int(d.obs_ep.max()) + 1
    edges = [0, 0.1, 0.3, 0.5, 0.7, 0.9, 1.0001]
    which = np.digitize(pbar, edges) - 1
    if keep is not None:
        which = np.where(keep, which, -1)
    y = d.obs_y
    sims_ep, sims_ind = np.zeros((n_sims, 6)), np.zeros((n_sims, 6))
    for i in range(n_sims):
        s = rng.integers(S)
        node_ep = rng.choice(Q, size=n_ep, p=w)
        pe = q[s, np.arange(n), node_ep[d.obs_ep]]
        node_c = rng.choice(Q, size=n, p=w)
        pi = q[s, np.arange(n), node_c]
        ye, yi = rng.random(n) < pe, rng.random(n) < pi
        for b in range(6):
            m = which == b
            sims_ep[i, b], sims_ind[i, b] = ye[m].sum(), yi[m].sum()
    out = []
    for b in range(6):
        m = which == b
        obs = int(y[m].sum())
        out.append({"bin": f"{edges[b]:.1f}-{min(edges[b + 1], 1):.1f}", "observed": obs,
                    "episode_factor_90": [float(np.quantile(sims_ep[:, b], 0.05)),
                                          float(np.quantile(sims_ep[:, b], 0.95))],
                    "p_le_observed_episode": float((sims_ep[:, b] <= obs).mean()),
                    "independent_90": [float(np.quantile(sims_ind[:, b], 0.05)),
                                       float(np.quantile(sims_ind[:, b], 0.95))],
                    "p_le_observed_independent": float((sims_ind[:, b] <= obs).mean())})
    return out


def executed_retaliation(inputs, d, pcell: np.ndarray) -> tuple[dict, dict]:
    """Executed retaliatory steps (the graver rungs): per response and in total, the coded cells' fitted
    probabilities summed (predicted count) against the observed count."""
    ont = inputs.ontology
    rs = ont.responses
    y = d.obs_y.astype(float)
    exec_ret = [i for i, rid in enumerate(ont.response_ids)
                if rs.loc[rid, "form"] == "executed" and rs.loc[rid, "stance"] == "retaliatory"
                and (rs.loc[rid, "requires"] or rid in ("legal_restrict_foreign_agents", "armed_resistance",
                                                         "sever_downgrade_relations", "engage_us_rivals"))]
    rows = {}
    for j in exec_ret:
        m = d.obs_resp == j
        if m.any():
            rows[ont.response_ids[j]] = {"n": int(m.sum()), "predicted": float(pcell[m].sum()),
                                         "observed": int(y[m].sum())}
    total = {"predicted": sum(v["predicted"] for v in rows.values()),
             "observed": sum(v["observed"] for v in rows.values())}
    return rows, total


def calibration(p: np.ndarray, y: np.ndarray) -> list[dict]:
    """Cells / expected / observed per probability bin. Binning fitted (in-sample) probabilities selects on
    the outcomes (an event lifts its own cell's fitted probability out of the low bins), so low bins look
    short of events and high bins rich in them; pass leave-one-episode-out probabilities for a fair check
    (ablation.py, this study's README section 3)."""
    edges = [0, 0.1, 0.3, 0.5, 0.7, 0.9, 1.0]
    out = []
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        m = (p >= lo) & (p < hi if hi < 1 else p <= hi)
        out.append({"bin": f"{lo:.1f}-{hi:.1f}", "n": int(m.sum()), "expected": float(p[m].sum()),
                    "observed": int(y[m].sum()), "mean_p": float(p[m].mean()) if m.any() else None,
                    "rate": float(y[m].mean()) if m.any() else None})
    return out


def main(argv: list[str]) -> dict:
    out_json = None
    if "--json" in argv:
        i = argv.index("--json")
        out_json = argv[i + 1]
        argv = argv[:i] + argv[i + 2:]
    cfg = forecast.compose(argv)
    inputs = forecast.load_inputs(cfg)
    fitted = fit_config(cfg, inputs)
    d = design(inputs)
    post = fitted.idata["posterior"].to_dataset()
    prior = fitted.idata["prior"].to_dataset()
    res: dict = {"inputs_hash": fitted.inputs_hash, "overrides": argv}

    def summ(x):
        x = np.asarray(x).ravel()
        return {"mean": float(x.mean()), "sd": float(x.std()), "q05": float(np.quantile(x, 0.05)),
                "q95": float(np.quantile(x, 0.95))}

    res["theta"] = summ(post[THETA].values)
    if THETA_PAST in post:
        res["theta_past"] = summ(post[THETA_PAST].values)
    res["kappa_prior"] = summ(prior[KAPPA].values)
    res["kappa_posterior"] = summ(post[KAPPA].values)
    if "house" in post:
        h = post["house"]
        res["poll_effects"] = {str(k): summ(h.sel({h.dims[-1]: k}).values) for k in h[h.dims[-1]].values}
    pcell = cell_probabilities(post, d, inputs).mean(axis=0)
    y = d.obs_y.astype(float)
    res["n_cells"] = int(len(y))
    res["calibration"] = calibration(pcell, y)
    res["calibration_predictive"] = predictive_bins(post, d, inputs, pcell)
    res["executed_retaliation"], res["executed_retaliation_total"] = executed_retaliation(inputs, d, pcell)
    # cells behind each multi-action claim: posterior mean P at the reference opinion of the named cells
    p = post["p"]
    multi = {}
    for c in inputs.claims:
        if c.kind == "cell" and len(c.actions) > 1:
            multi[c.id] = {a: float(p.sel(action=a, response=c.response).mean()) for a in c.actions}
    res["multi_action_claims"] = multi
    # share of each published probability's variance due to the opinion: Var(E[p | theta]) / Var(p),
    # E[p | theta] estimated within deciles of theta's draws
    scen = cfg.scenario.name
    pred = forecast.predict_scenarios(cfg, inputs, fitted, [scen])["p"].sel(scenario=scen)
    pv = pred.values.reshape(-1, pred.shape[-1])
    th = post[THETA].values.ravel()
    dec = np.digitize(th, np.quantile(th, np.linspace(0, 1, 11)[1:-1]))
    means = np.stack([pv[dec == k].mean(0) for k in range(10)])
    share = means.var(0) / pv.var(0)
    res["opinion_share_of_variance"] = {"scenario": scen, **{r: {"mean": float(pv[:, j].mean()),
                                                                   "share": float(share[j])}
                                                               for j, r in enumerate(pred["response"].values)}}
    print(json.dumps(res, indent=1))
    if out_json:
        with open(out_json, "w") as fh:
            json.dump(res, fh, indent=1)
    return res


if __name__ == "__main__":
    main(sys.argv[1:])
