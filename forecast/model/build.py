"""The hierarchical model of P(Mexican response | US action profile).

For an action profile x (covariates from ``data/ontology/attributes.yaml``) of action type a, and
response r in domain d(r) with stance s(r) (+1 retaliatory, -1 accommodating, 0 neutral)::

    eta[x, r]   = alpha[r] + x . beta[:, r] + delta[a, r] + o(r) * m(x) * kappa * (logit theta_t - logit theta_ref)
    alpha[r]    = mu_alpha + rho * rank(r) + sd_ad * z[d(r)] + sd_ar * z[r]     (intercepts, pooled)
    beta[k, r]  = s(r) * (g[k] + tau_d * u[k, d(r)]) + tau_r * v[k, r]          (slopes, pooled)
    delta[a, r] = sd_cell * w[a, r]                                               (non-centred cells)
    q[x, r | f] = sigmoid(eta[x, r] + s(r) * lambda[r] * f),   f ~ Normal(0, 1)  (episode factor)
    P(r | x, f) = q[x, r | f] * prod_{r' required by r} q[x, r' | f]            (executed <= threat)
    P(r | x)    = E_f P(r | x, f)                                                (Gauss-Hermite)

``theta_t`` is the public's share opposed to US military action at the time t of the forecast or
episode: the polled opinion ``theta`` (measured by the polls, each pollster with a free wording
effect) for forecasts and for episodes inside the poll window, the article's reference opinion for
older episodes (no poll measures them); ``o(r)`` the response's opinion sign; ``m(x)`` is 1 when the
polls are about the action (its attributes' ``opinion_levels``: US military action), else 0. A cell
claim naming k actions is one pseudo-observation of the mean of ``logit P(r | a)`` over them, at the
article's reference opinion; every article claim is tempered by one learned weight a (a normalised power
prior, see ``build_model``); the precedents and evidence episodes are Bernoulli observations of their
coded responses with an episode factor each.

``build_model`` is pure: every name it uses comes from the inputs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from numpy.polynomial.hermite_e import hermegauss

from forecast.inputs.data import STANCES, Inputs, in_window
from forecast.inputs.schema import switch

if TYPE_CHECKING:
    import pymc as pm

# PyMC and PyTensor are imported where the model is built, not with this module: the names and numpy
# helpers here serve the cached path (a report from a cached posterior), which never builds the model.

# Reserved variable names (the posterior's contract with predict/report).
P = "p"  # P(response | ontology action), dims (action, response), at the current opinion
ALPHA, BETA, DELTA, LOADING = "alpha", "beta", "delta", "loading"
THETA, KAPPA = "public_opposition", "opinion_effect"
THETA_PAST = "public_opposition_past"  # the opinion of episodes before the poll window
EVIDENCE_SWITCH = "evidence_on"
CLAIM_WEIGHT = "article_weight"  # the learned weight (power) of the article's claims
OBS_HIST, OBS_CLAIM, OBS_ORDER, OBS_POLL, OBS_SIGNAL = "y_history", "claim_obs", "order_obs", "poll_obs", "signal_obs"


def log_sigmoid(x, xp):
    """log(sigmoid(x)) for numpy or pytensor."""
    if xp is np:
        return -np.logaddexp(0.0, -x)
    return -xp.softplus(-x)


def chain_index(ont) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per depth d: (index of each response's d-th required response, mask). P(r) multiplies q[r] by
    q at every response r requires, so ``log P = log q + sum_d log q[..., idx_d] * mask_d``."""
    ids = ont.response_ids
    chains = [ont.ancestors(r) for r in ids]
    depth = max((len(c) for c in chains), default=0)
    out = []
    for d in range(depth):
        idx = np.array([ids.index(c[d]) if len(c) > d else i for i, c in enumerate(chains)], dtype=int)
        mask = np.array([1.0 if len(c) > d else 0.0 for c in chains])
        out.append((idx, mask))
    return out


def quadrature(n: int) -> tuple[np.ndarray, np.ndarray]:
    x, w = hermegauss(n)
    return x, w / w.sum()


def node_logp(eta, signed_loading, chain, nodes, xp):
    """log P(r | x, f = node) for every node: eta (..., R) -> (..., Q, R)."""
    ls = log_sigmoid(eta[..., None, :] + signed_loading * nodes[:, None], xp)
    out = ls
    for idx, mask in chain:
        out = out + ls[..., idx] * mask
    return out


def marginal_p(eta, signed_loading, chain, nodes, weights, xp):
    """P(r | x) with the episode factor integrated out: (..., R)."""
    return (xp.exp(node_logp(eta, signed_loading, chain, nodes, xp)) * weights[:, None]).sum(axis=-2)


@dataclass(frozen=True)
class Design:
    """Numeric arrays built from the inputs (no names beyond coords)."""

    coords: dict
    X_act: np.ndarray  # (A, K)
    X_ep: np.ndarray  # (E, K)
    ep_act: np.ndarray  # (E,)
    ep_recent: np.ndarray  # (E,) bool: inside the poll window, so at the opinion the polls measure
    scope_act: np.ndarray  # (A,) 1 where the polled opinion is about the action (attributes.yaml opinion_levels)
    scope_ep: np.ndarray  # (E,) the same for each episode's own attributes
    stance: np.ndarray  # (R,)
    domain_idx: np.ndarray  # (R,)
    rank_z: np.ndarray  # (R,) the ontology's escalation rank, standardised (0 when all ranks are equal)
    opinion_sign: np.ndarray  # (R,)
    chain: list  # chain_index(ontology)
    obs_ep: np.ndarray
    obs_resp: np.ndarray
    obs_mask: np.ndarray  # (n_obs, depth): which required responses are unobserved (marginalised)
    obs_y: np.ndarray
    ref_rows: np.ndarray  # actions whose probabilities the claims and orderings need
    sig_rows: np.ndarray
    g_mu: np.ndarray  # (K,)
    g_sd: np.ndarray
    theta_ab: tuple[float, float]
    kappa_sigma: float
    claim_act: np.ndarray  # (n_cells,) the cells the claims name, flattened
    claim_resp: np.ndarray
    claim_avg: np.ndarray  # (n_claims, n_cells): 1/k on the k cells of each claim
    claim_mu: np.ndarray
    claim_sd: np.ndarray
    claim_article: np.ndarray  # (n_claims,) bool: the pseudo-observation is the article's (learned weight)
    order_article: np.ndarray  # (n_pairs,) bool: the ordering step is the article's
    g_claimed: np.ndarray  # (K,) bool: the global slope's prior is an article (effect) claim
    kappa_claimed: bool  # the opinion effect's prior is an article claim (C13)
    theta_claimed: bool  # the opinion's prior is an article claim (C15)
    order_lo: np.ndarray  # (n_pairs, 2) [action, response]
    order_hi: np.ndarray
    order_k: np.ndarray
    sig_act: np.ndarray
    sig_resp: np.ndarray
    sig_avg: np.ndarray
    sig_mu: np.ndarray
    sig_sd: np.ndarray
    poll_n: np.ndarray
    poll_y: np.ndarray
    poll_house: np.ndarray
    nodes: np.ndarray
    weights: np.ndarray


def observed_cells(ont, outcomes) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, list[str]]:
    """Likelihood cells of coded episodes, each conditional on its nearest observed ancestor.

    An executed response whose threat is coded 1 contributes Bernoulli(q); one whose threat is
    coded 0 contributes nothing (it cannot have happened); one whose threat is blank contributes
    the marginal over the unobserved chain. Returns (episode, response, ancestor mask per depth, y, names).
    """
    ids = ont.response_ids
    depth = max((len(ont.ancestors(r)) for r in ids), default=0)
    table = hasattr(outcomes, "to_numpy")  # a table (names from its index) or its array (episode x response)
    vals = outcomes.to_numpy() if table else np.asarray(outcomes, dtype=float)
    ep, resp, masks, y, names = [], [], [], [], []
    for e in range(vals.shape[0]):
        for j, r in enumerate(ids):
            v = vals[e, j]
            if np.isnan(v):
                continue
            mask = np.zeros(depth)
            skip = False
            for d, anc in enumerate(ont.ancestors(r)):
                va = vals[e, ids.index(anc)]
                if va == 1.0:
                    break
                if va == 0.0:
                    skip = True
                    break
                mask[d] = 1.0
            if skip:
                continue
            ep.append(e)
            resp.append(j)
            masks.append(mask)
            y.append(int(v))
            names.append(f"{outcomes.index[e] if table else e}:{r}")
    return (np.asarray(ep, dtype=int), np.asarray(resp, dtype=int), np.asarray(masks).reshape(-1, depth),
            np.asarray(y, dtype=int), names)


def _cell_terms(claims: list, acts: list[str], resps: list[str],
                once: bool = True) -> tuple[list, list, np.ndarray, list, list, list, list]:
    """One pseudo-observation per cell claim or signal: of the mean of logit P(response | action) over
    the k actions it names, with the claim's own precision (a claim is one piece of evidence, however
    many action types it lists). Returns the flattened cells, the (claims x cells) averaging matrix,
    and each claim's (mu, sd, name, from the article). ``once=False`` (ablation ``model.claims_per_action=each``, as
    the model once counted claims): one pseudo-observation per named action, each with the claim's full precision."""
    act, resp, mu, sd, names, rows, article = [], [], [], [], [], [], []
    for c in claims:
        m, s = c.logit_normal()
        groups = [list(c.actions)] if once else [[a] for a in c.actions]
        for g in groups:
            rows.append(list(range(len(act), len(act) + len(g))))
            for a in g:
                act.append(acts.index(a))
                resp.append(resps.index(c.response))
            mu.append(m)
            sd.append(s)
            names.append(f"{c.id}:{c.response}|{','.join(g)}")
            article.append(is_article(c))
    avg = np.zeros((len(rows), len(act)))
    for i, cells in enumerate(rows):
        avg[i, cells] = 1.0 / len(cells)
    return act, resp, avg, mu, sd, names, article


def design(inputs: Inputs) -> Design:
    ont = inputs.ontology
    h = inputs.hyper
    acts, resps = ont.action_ids, ont.response_ids
    domains = sorted(set(ont.responses["domain"]))
    covs = ont.covariate_names
    ep = inputs.episodes
    obs_ep, obs_resp, obs_mask, obs_y, obs_names = observed_cells(ont, ep.outcomes)

    g_mu = np.zeros(len(covs))
    g_sd = np.full(len(covs), float(h["slope_sd"]))
    theta_ab, kappa_sigma = None, None
    g_claimed = np.zeros(len(covs), dtype=bool)
    theta_claimed = kappa_claimed = False
    lo, hi, ks, o_names, o_article = [], [], [], [], []
    used = [c for c in inputs.claims if not c.unused]
    for c in used:
        enc = c.scaled()
        if c.kind == "effect":
            k = covs.index(c.covariate)
            g_mu[k], g_sd[k] = enc["mu"], enc["sigma"]
            g_claimed[k] = is_article(c)
        elif c.kind == "latent" and c.target == THETA:
            theta_ab, theta_claimed = (enc["alpha"], enc["beta"]), is_article(c)
        elif c.kind == "latent" and c.target == KAPPA:
            kappa_sigma, kappa_claimed = enc["sigma"], is_article(c)
        elif c.kind == "ordering":
            for (a1, r1), (a2, r2) in zip(c.cells[:-1], c.cells[1:], strict=True):
                lo.append((acts.index(a1), resps.index(r1)))
                hi.append((acts.index(a2), resps.index(r2)))
                ks.append(enc["sharpness"])
                o_names.append(f"{c.id}:{a1}:{r1}<{a2}:{r2}")
                o_article.append(is_article(c))
    # without an article claim (before its date, or a restated claim whose source is kept): the
    # weakly-informative defaults of conf/model
    if theta_ab is None:
        theta_ab = (float(h.get("theta_prior_alpha", 2.0)), float(h.get("theta_prior_beta", 2.0)))
    if kappa_sigma is None:
        kappa_sigma = float(h.get("kappa_prior_sigma", 1.0))
    once = switch(h, "claims_per_action") == "once"
    c_act, c_resp, c_avg, c_mu, c_sd, c_names, c_article = _cell_terms([c for c in used if c.kind == "cell"], acts,
                                                                      resps, once)
    s_act, s_resp, s_avg, s_mu, s_sd, s_names, _ = _cell_terms(inputs.signals, acts, resps, once)

    ref_rows = sorted(set(c_act) | {a for a, _ in lo} | {a for a, _ in hi})
    c_act = [ref_rows.index(a) for a in c_act]
    lo = [(ref_rows.index(a), r) for a, r in lo]
    hi = [(ref_rows.index(a), r) for a, r in hi]
    sig_rows = sorted(set(s_act))
    s_act = [sig_rows.index(a) for a in s_act]

    polls = inputs.polls[inputs.polls["use"] == "likelihood"]
    pollsters = sorted(set(polls["pollster"]))
    n = polls["n"].to_numpy(dtype=float)
    nodes, weights = quadrature(int(h["quadrature_nodes"]))
    scoped = switch(h, "opinion_scope") == "scoped"
    coords = {
        "action": acts, "response": resps, "covariate": covs, "domain": domains,
        "episode": list(ep.table.index), "obs": obs_names, "claim_cell": c_names,
        "ordering": o_names, "signal_cell": s_names, "poll": list(polls.index), "pollster": pollsters,
    }
    return Design(
        coords=coords,
        X_act=ont.covariates(ont.actions),
        X_ep=ont.covariates(ep.table) if len(ep.table) else np.zeros((0, len(covs))),
        ep_act=np.array([acts.index(a) for a in ep.table["action_type"]], dtype=int),
        ep_recent=in_window(ep.table["date"], inputs.as_of, h),
        scope_act=ont.opinion_scope(ont.actions) if scoped else np.ones(len(acts)),
        scope_ep=(ont.opinion_scope(ep.table) if scoped else np.ones(len(ep.table))).reshape(-1),
        stance=np.array([STANCES[s] for s in ont.responses["stance"]], dtype=float),
        domain_idx=np.array([domains.index(d) for d in ont.responses["domain"]], dtype=int),
        rank_z=_standardised(ont.responses["escalation_rank"].to_numpy(dtype=float)),
        opinion_sign=ont.responses["opinion_sign"].to_numpy(dtype=float),
        chain=chain_index(ont),
        obs_ep=obs_ep, obs_resp=obs_resp, obs_mask=obs_mask, obs_y=obs_y,
        ref_rows=np.array(ref_rows, dtype=int), sig_rows=np.array(sig_rows, dtype=int),
        g_mu=g_mu, g_sd=g_sd, theta_ab=theta_ab, kappa_sigma=kappa_sigma,
        claim_act=np.array(c_act, dtype=int), claim_resp=np.array(c_resp, dtype=int), claim_avg=c_avg,
        claim_mu=np.array(c_mu), claim_sd=np.array(c_sd),
        claim_article=np.array(c_article, dtype=bool), order_article=np.array(o_article, dtype=bool),
        g_claimed=g_claimed, kappa_claimed=kappa_claimed, theta_claimed=theta_claimed,
        order_lo=np.array(lo, dtype=int).reshape(-1, 2), order_hi=np.array(hi, dtype=int).reshape(-1, 2),
        order_k=np.array(ks),
        sig_act=np.array(s_act, dtype=int), sig_resp=np.array(s_resp, dtype=int), sig_avg=s_avg,
        sig_mu=np.array(s_mu), sig_sd=np.array(s_sd),
        poll_n=n, poll_y=np.round(n * polls["share_opposed"].to_numpy(dtype=float)),
        poll_house=np.array([pollsters.index(p) for p in polls["pollster"]], dtype=int),
        nodes=nodes, weights=weights,
    )


def is_article(claim) -> bool:
    """Whether a claim is the article's (tempered by the learned weight): not an analyst's judgement, a pooled
    judgement or an evidence signal, each of which speaks with its own stated strength."""
    return getattr(claim, "origin", "article") == "article"


def learned_weight(d: Design, hyper: dict) -> bool:
    """Whether the model has a learned weight on the article's claims: model.claim_weight=learned and at least
    one article term (a cell claim, an ordering, an effect or a latent-driver claim) is used."""
    return switch(hyper, "claim_weight") == "learned" and bool(
        d.claim_article.any() or d.order_article.any() or d.g_claimed.any() or d.kappa_claimed or d.theta_claimed)


def _standardised(x: np.ndarray) -> np.ndarray:
    sd = float(np.std(x)) if len(x) else 0.0
    return (x - x.mean()) / sd if sd > 0 else np.zeros_like(x)


def build_model(inputs: Inputs) -> pm.Model:
    """The PyMC model for these inputs. Pure: no sampling, no I/O."""
    import pymc as pm
    import pytensor.tensor as pt

    d = design(inputs)
    h = inputs.hyper
    logit = pm.math.logit
    with pm.Model(coords=d.coords) as model:
        # 1: fit to everything; 0: the article-only prior (history, polls and signals switched off,
        # each term then a constant). Data, so one compiled model serves both fits.
        on = pm.Data(EVIDENCE_SWITCH, 1.0)

        # intercepts: global -> domain -> response (non-centred)
        mu_alpha = pm.Normal("mu_alpha", h["mu_alpha_mean"], h["mu_alpha_sd"])
        sd_ad = pm.HalfNormal("sd_alpha_domain", h["sigma_alpha_domain"])
        sd_ar = pm.HalfNormal("sd_alpha_response", h["sigma_alpha_response"])
        z_ad = pm.Normal("z_alpha_domain", 0, 1, dims="domain")
        z_ar = pm.Normal("z_alpha_response", 0, 1, dims="response")
        # the ontology's escalation rank informs the intercepts (the prior predictive check found that without it
        # a grave step no claim speaks about, e.g. severing relations, borrowed its domain's mild protests' level
        # and was a priori likelier than the gravest lever the article names). The sign is not imposed: the
        # claims about mild and grave steps learn it.
        # model.sigma_rank=0: no rank effect (ablation: the model before that change)
        sigma_rank = float(h.get("sigma_rank", 1.0))
        rho = pm.Normal("rank_effect", 0.0, sigma_rank) if sigma_rank > 0 else 0.0
        alpha = pm.Deterministic(ALPHA, mu_alpha + rho * d.rank_z + sd_ad * z_ad[d.domain_idx] + sd_ar * z_ar,
                                 dims="response")

        # the article's claims carry one learned weight a in (0, 1]: a normalised power prior (Ibrahim & Chen 2000;
        # Duan, Ye & Smith 2006). Each claim's term is raised to the power a and normalised over its own quantity,
        # which has a closed form for every kind of claim: a Normal pseudo-observation or prior keeps its mean and
        # takes sd / sqrt(a), a HalfNormal its scale / sqrt(a), a Beta (alpha, beta) -> (a(alpha-1)+1, a(beta-1)+1),
        # an ordering Bernoulli(sigmoid(k x)) -> Bernoulli(sigmoid(a k x)). So the weight is learnt from how far the
        # claims sit from what the record and the hierarchy support (the sqrt(a) of each normalised term keeps it
        # from collapsing to 0), and claims the record contradicts are tempered by the data.
        # model.claim_weight=fixed: a = 1 (the model before issue #24). Evidence signals and analysts' judgements are
        # not tempered (is_article): each speaks with its own stated strength.
        if learned_weight(d, h):
            a = pm.Beta(CLAIM_WEIGHT, float(h.get("claim_weight_alpha", 1.0)), float(h.get("claim_weight_beta", 1.0)))
            root_a = pt.sqrt(a)
        else:
            a, root_a = 1.0, 1.0

        # slopes: stance-signed global effect (article claims) -> domain -> response
        g_sd = pt.where(d.g_claimed, d.g_sd / root_a, d.g_sd) if d.g_claimed.any() else d.g_sd
        g = pm.Normal("g", d.g_mu, g_sd, dims="covariate")
        tau_d = pm.HalfNormal("tau_slope_domain", h["sigma_slope_domain"])
        tau_r = pm.HalfNormal("tau_slope_response", h["sigma_slope_response"])
        u = pm.Normal("u_slope_domain", 0, 1, dims=("covariate", "domain"))
        v = pm.Normal("v_slope_response", 0, 1, dims=("covariate", "response"))
        beta = pm.Deterministic(
            BETA, d.stance * (g[:, None] + tau_d * u[:, d.domain_idx]) + tau_r * v, dims=("covariate", "response"))

        # action x response cells (non-centred)
        sd_cell = pm.HalfNormal("sd_cell", h["sigma_cell"])
        w = pm.Normal("w_cell", 0, 1, dims=("action", "response"))
        delta = pm.Deterministic(DELTA, sd_cell * w, dims=("action", "response"))

        # episode factor loadings, signed by stance so that responses co-move coherently
        lam = pm.HalfNormal("loading_abs", h["sigma_loading"], dims="response")
        loading = pm.Deterministic(LOADING, d.stance * lam, dims="response")

        # public opposition: the share opposed to US military action on a typical poll question. Each
        # pollster's question, mode and population add a free wording effect ~ Normal(0, sigma_house):
        # disagreeing polls are evidence about those effects, so their disagreement is uncertainty
        # about the opinion (with zero-sum effects two pollsters fixed it at their midpoint).
        if d.theta_claimed:
            theta = pm.Beta(THETA, a * (d.theta_ab[0] - 1) + 1, a * (d.theta_ab[1] - 1) + 1)
        else:
            theta = pm.Beta(THETA, *d.theta_ab)
        kappa = pm.HalfNormal(KAPPA, d.kappa_sigma / root_a if d.kappa_claimed else d.kappa_sigma)
        ref = h["opinion_reference"]
        logit_ref = float(np.log(ref / (1 - ref)))
        # the polled opinion moves the responses to the actions it is about (scope_act: 1 or 0)
        shift = d.opinion_sign * kappa * (logit(theta) - logit_ref) * d.scope_act[:, None]  # (A, R)
        if len(d.poll_n) and switch(h, "poll_effects") == "sum_to_zero":
            # ablation (as the model once was): house effects summing to zero over the pollsters, so
            # theta is the pollsters' average opinion
            house = pm.ZeroSumNormal("house", h["sigma_house"], dims="pollster")
            pm.Binomial(OBS_POLL, n=d.poll_n, logit_p=on * (logit(theta) + house[d.poll_house]),
                        observed=d.poll_y, dims="poll")
        elif len(d.poll_n):
            # centred: each pollster's logit ~ Normal(logit theta, sigma_house), house = its departure.
            # The same density as house ~ Normal(0, sigma_house) (unit Jacobian), but the polls pin the
            # pollster logits directly, so theta and the house effects no longer form a ridge (with the
            # non-centred form theta's bulk ESS fell to 300-500 and its R-hat to 1.009-1.012).
            poll_logit = pm.Normal("pollster_logit", logit(theta), h["sigma_house"], dims="pollster")
            pm.Deterministic("house", poll_logit - logit(theta), dims="pollster")
            pm.Binomial(OBS_POLL, n=d.poll_n, logit_p=on * poll_logit[d.poll_house],
                        observed=d.poll_y, dims="poll")

        eta_act = alpha + pt.dot(d.X_act, beta) + delta  # (A, R), at the reference opinion
        pm.Deterministic(P, marginal_p(eta_act + shift, loading, d.chain, d.nodes, d.weights, pt),
                         dims=("action", "response"))

        # the article's claims: pseudo-observations of cell logits at the reference opinion, and orderings
        eps = 1e-9
        if len(d.ref_rows):
            p_ref = marginal_p(eta_act[d.ref_rows], loading, d.chain, d.nodes, d.weights, pt)
            lp_ref = logit(pt.clip(p_ref, eps, 1 - eps))
            if len(d.claim_mu):
                pm.Normal(OBS_CLAIM, mu=pt.dot(d.claim_avg, lp_ref[d.claim_act, d.claim_resp]),
                          sigma=pt.where(d.claim_article, d.claim_sd / root_a, d.claim_sd), observed=d.claim_mu,
                          dims="claim_cell")
            if len(d.order_k):
                diff = lp_ref[d.order_hi[:, 0], d.order_hi[:, 1]] - lp_ref[d.order_lo[:, 0], d.order_lo[:, 1]]
                k_order = pt.where(d.order_article, a * d.order_k, d.order_k)
                pm.Bernoulli(OBS_ORDER, logit_p=k_order * diff, observed=np.ones(len(d.order_k), dtype=int),
                             dims="ordering")
        # graded signals from the evidence log: about the present, so at the current opinion
        if len(d.sig_mu):
            p_sig = marginal_p(eta_act[d.sig_rows] + shift[d.sig_rows], loading, d.chain, d.nodes, d.weights, pt)
            mu_sig = pt.dot(d.sig_avg, logit(pt.clip(p_sig[d.sig_act, d.sig_resp], eps, 1 - eps)))
            pm.Normal(OBS_SIGNAL, mu=on * mu_sig + (1 - on) * d.sig_mu, sigma=d.sig_sd,
                      observed=d.sig_mu, dims="signal_cell")

        # the historical record (and evidence episodes): Bernoulli on observed cells
        if len(d.obs_y):
            f = pm.Normal("episode_factor", 0, 1, dims="episode")
            # the same equation as the forecasts: each episode at the opinion of its time, the polled
            # opinion inside the poll window, an era opinion before it
            eta_ep = alpha + pt.dot(d.X_ep, beta) + delta[d.ep_act] + loading * f[:, None]
            if switch(h, "episode_opinion") == "own_time":
                if (~d.ep_recent).any() and switch(h, "era_opinion") == "free":
                    # model.era_opinion=free (before issue #24): an era opinion no poll measures, learnt only
                    # through kappa * (logit theta_past - logit ref): its posterior followed its prior
                    z_past = pm.Normal("z_opinion_past", 0, 1)
                    logit_past = logit_ref + float(h.get("sigma_opinion_past", 1.0)) * z_past
                    pm.Deterministic(THETA_PAST, pm.math.sigmoid(logit_past))
                    logit_ep = pt.where(d.ep_recent, logit(theta), logit_past)
                else:
                    # episodes before the poll window at the article's reference opinion (no poll covers them;
                    # the checks' era-opinion band shows what another value would change)
                    logit_ep = pt.where(d.ep_recent, logit(theta), logit_ref)
                eta_ep = eta_ep + d.opinion_sign * kappa * ((logit_ep - logit_ref) * d.scope_ep)[:, None]
            # else ablation model.episode_opinion=reference (as the model once was): every episode at the
            # reference opinion, no opinion term
            eta_obs = eta_ep[d.obs_ep, d.obs_resp]
            ch = np.flatnonzero(d.obs_mask.any(axis=1))
            if len(ch):  # cells whose required response is unobserved: marginal over the chain
                logp = log_sigmoid(eta_obs[ch], pt)
                for k, (idx, _) in enumerate(d.chain):
                    logp = logp + log_sigmoid(eta_ep[d.obs_ep[ch], idx[d.obs_resp[ch]]], pt) * d.obs_mask[ch, k]
                eta_obs = pt.set_subtensor(eta_obs[ch], logp - pt.log1mexp(pt.minimum(logp, -1e-12)))
            pm.Bernoulli(OBS_HIST, logit_p=on * eta_obs, observed=d.obs_y, dims="obs")
    return model
