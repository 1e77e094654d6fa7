"""What if ...? Hypothetical evidence answered by reweighting a report's own posterior draws.

A hypothetical piece of evidence only reweights the posterior: p(params | data, e) ∝ p(params | data) p(e | params),
so each stored draw gets the weight p(e | params), Pareto-smoothed (PSIS, as new evidence updates a cached posterior).
Three kinds:

- a **poll**: share opposed and sample size, by a pollster the posterior knows (its stored wording effect) or by a
  new pollster (its wording effect integrated out): ``forecast.model.update.poll_loglik``;
- an **episode** of an action type with some coded responses (an executed response coded 1 implies its threat,
  as the evidence loader has it): ``forecast.model.likelihood.episode_loglik_eta``, its episode factor integrated
  out, at the current opinion (a new episode lies inside the poll window);
- an analyst's **judgement** about one cell, P(response | action) with a plausible range: the maximum-entropy Beta
  with ``mass`` in [lower, upper] (the encoding of analysts' judgements and of the evidence log's signals),
  entered as a signal at the current opinion: ``forecast.model.update.cell_claim_loglik``.

The report's page (``report.html``'s "What if ...?" panel, ``forecast/outputs/whatif.js``) embeds exactly the
arrays these functions compute from: ``Draws``, thinned to ``report.whatif_draws`` draws and stored as float32.
This module computes in float64 from those float32 arrays, so the page and ``forecast whatif`` agree to
rounding (the browser test checks 1e-6). When the report's posterior is itself a PSIS update, the stored draws
are the cached base posterior's and ``base_log_ratio`` is the update's own log ratio: the what-if adds to it
and one PSIS smooths the sum.

The elicitation of a judgement is the one place that does not call PreliZ: the page cannot, and PreliZ's
optimiser (SLSQP, default tolerances) stops 1e-6 to 1e-3 (relative) short of the optimum, which no other
implementation reproduces. ``maxent_beta`` solves the same problem to machine precision by a deterministic
search the page repeats step by step; ``forecast evidence add signal`` (the refit) encodes with PreliZ, whose
parameters differ by that optimiser tolerance (far below the Monte Carlo error of the answer).
"""

from __future__ import annotations

import base64
import datetime as dt
import math
import shlex
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr
from numpy.polynomial.hermite_e import hermegauss

from forecast.errors import InputError
from forecast.inputs.data import Inputs, episode_from_record
from forecast.inputs.priors import Claim, parse_claim
from forecast.model import update as U
from forecast.model.build import LOADING, THETA, chain_index, quadrature
from forecast.model.likelihood import N_NODES, episode_loglik_eta

DEFAULT_DRAWS = 2000  # conf/report: report.whatif_draws
PAYLOAD_VERSION = 1
KINDS = ("poll", "episode", "judgement")
# (categories are data: the examples name no action or response of the shipped ontology)
EXAMPLES = {"poll": "share=0.85,n=1000", "episode": "action=ACTION,RESPONSE=1,OTHER_RESPONSE=0",
            "judgement": "action=ACTION,response=RESPONSE,lower=0.1,upper=0.3,mass=0.8"}
NEW_POLLSTER = "Hypothetical pollster {i}"  # the name a new pollster gets in the refit command
MASS_RANGE = (0.5, 0.99)  # as the claims' and signals' elicitation (forecast.inputs.priors._dist)
HYPOTHETICAL_SOURCE = "hypothetical: what-if (forecast whatif / the What if panel of report.html)"


# ---------------------------------------------------------------------- the items
@dataclass(frozen=True)
class Poll:
    share: float  # share opposed, 0-1
    n: int
    pollster: str | None = None  # a pollster of the posterior, or None: a new one (its own wording effect)
    kind: str = "poll"

    def spec(self) -> str:
        return f"share={self.share:g},n={self.n}" + (f",pollster={self.pollster}" if self.pollster else "")


@dataclass(frozen=True)
class Episode:
    action: str
    responses: tuple[tuple[str, int], ...]  # as coded; validation adds the threats an executed response implies
    kind: str = "episode"

    def spec(self) -> str:
        return ",".join([f"action={self.action}", *(f"{r}={v}" for r, v in self.responses)])


@dataclass(frozen=True)
class Judgement:
    action: str
    response: str
    lower: float
    upper: float
    mass: float = 0.8  # `forecast evidence add signal`'s default
    kind: str = "judgement"

    def spec(self) -> str:
        return (f"action={self.action},response={self.response},lower={self.lower:g},upper={self.upper:g},"
                f"mass={self.mass:g}")


Item = Poll | Episode | Judgement


def _pairs(kind: str, text: str) -> tuple[str, dict[str, str]]:
    where = f"forecast whatif --{kind} {text!r}"
    fix = f"write NAME=VALUE pairs separated by commas, e.g. --{kind} {EXAMPLES[kind]}"
    out: dict[str, str] = {}
    for part in str(text).split(","):
        k, sep, v = part.partition("=")
        k, v = k.strip(), v.strip()
        if not sep or not k or not v:
            raise InputError(where, f"{part.strip()!r} is not NAME=VALUE", fix)
        if k in out:
            raise InputError(where, f"{k!r} is given twice", "give each name once")
        out[k] = v
    return where, out


def _need(where: str, kv: dict[str, str], key: str, kind: str) -> str:
    if key not in kv:
        raise InputError(where, f"no {key}=", f"add it, e.g. --{kind} {EXAMPLES[kind]}")
    return kv.pop(key)


def _g(x: float) -> str:
    return str(int(x)) if x == int(x) else f"{x:g}"


def _number(value: str, where: str, lo: float, hi: float, fix: str, whole: bool = False) -> float:
    """A number in [lo, hi] or a one-line error naming the field and the fix (the page's ``num`` says the same)."""
    s = str(value).strip()
    try:
        x = float(s)
    except ValueError:
        raise InputError(where, f"{s!r} is not a number", fix) from None
    if not math.isfinite(x):
        raise InputError(where, f"{s} is not finite", fix)
    if x < lo or x > hi:
        raise InputError(where, f"{s} is outside [{_g(lo)}, {_g(hi)}]", fix)
    if whole and x != math.floor(x):
        raise InputError(where, f"{s} is not a whole number", fix)
    return x


SHARE_FIX = "give the share opposed as a fraction from 0 to 1 (0.85 for 85%)"
N_FIX = "give the number of respondents, a whole number from 1"
MASS_FIX = "a probability mass from 0.5 to 0.99 (0.8: the range holds 80%)"


def parse_item(kind: str, text: str) -> Item:
    """One item from the command line's ``--poll``/``--episode``/``--judgement`` text (names are checked
    against the posterior by ``check_items``)."""
    if kind not in KINDS:
        raise InputError("forecast whatif", f"unknown kind of evidence {kind!r}", f"use one of {', '.join(KINDS)}")
    where, kv = _pairs(kind, text)
    if kind == "poll":
        share = _number(_need(where, kv, "share", kind), f"{where}, share", 0.0, 1.0, SHARE_FIX)
        n = int(_number(_need(where, kv, "n", kind), f"{where}, n", 1, 10_000_000, N_FIX, whole=True))
        pollster = kv.pop("pollster", None)
        _no_rest(where, kv, "share, n, pollster")
        return Poll(share, n, pollster)
    if kind == "episode":
        action = _need(where, kv, "action", kind)
        coded = tuple((r, int(_number(v, f"{where}, {r}", 0, 1, "code 1 (happened) or 0 (did not)", whole=True)))
                      for r, v in kv.items())
        if not coded:
            raise InputError(where, "no response coded", "code at least one response 0 or 1, e.g. RESPONSE=1")
        return Episode(action, coded)
    action = _need(where, kv, "action", kind)
    response = _need(where, kv, "response", kind)
    lower = _number(_need(where, kv, "lower", kind), f"{where}, lower", 0.0, 1.0, "a probability from 0 to 1")
    upper = _number(_need(where, kv, "upper", kind), f"{where}, upper", 0.0, 1.0, "a probability from 0 to 1")
    mass = _number(kv.pop("mass", "0.8"), f"{where}, mass", *MASS_RANGE, MASS_FIX)
    _no_rest(where, kv, "action, response, lower, upper, mass")
    if not 0.0 < lower < upper < 1.0:
        raise InputError(f"{where}, lower/upper", f"[{lower:g}, {upper:g}] is not a range strictly inside (0, 1)",
                         "give 0 < lower < upper < 1, e.g. lower=0.45,upper=0.75")
    return Judgement(action, response, lower, upper, mass)


def _no_rest(where: str, kv: dict[str, str], allowed: str) -> None:
    if kv:
        raise InputError(where, f"unknown name {next(iter(kv))!r}", f"use only {allowed}")


def check_items(items: list[Item], draws: Draws, inputs: Inputs) -> list[Item]:
    """Names checked against the posterior's ontology and pollsters; an episode's implied threats added."""
    out: list[Item] = []
    for it in items:
        where = f"forecast whatif --{it.kind} {it.spec()!r}"
        if it.kind == "poll":
            if it.pollster is not None and it.pollster not in draws.pollsters:
                known = ", ".join(draws.pollsters) or "none"
                raise InputError(f"{where}, pollster", f"{it.pollster!r} is not a pollster of this posterior "
                                 f"(known: {known})", "name one of them, or leave pollster out for a new pollster")
            out.append(it)
            continue
        if it.action not in draws.actions:
            raise InputError(f"{where}, action", f"{it.action!r} is not an action type",
                             f"use one of {', '.join(draws.actions)}")
        if it.kind == "episode":
            for r, _ in it.responses:
                if r not in draws.responses:
                    raise InputError(f"{where}, {r}", f"{r!r} is not a response",
                                     "use the response ids of data/ontology/responses.csv")
            given = dict(it.responses)
            for r, v in it.responses:
                for anc in inputs.ontology.ancestors(r) if v == 1 else ():
                    if given.get(anc) == 0:
                        raise InputError(f"{where}, {anc}", f"coded 0 but {r} (which requires it) is coded 1",
                                         f"code {anc}=1 or leave it out, or {r}=0")
            _, coded = episode_from_record(inputs.ontology, {"id": "whatif", "date": draws.as_of,
                                                            "action_type": it.action}, dict(it.responses),
                                           where, dt.date.max)
            # in the ontology's order (the page's too), the threats an executed response implies included
            out.append(Episode(it.action, tuple((r, int(coded[r])) for r in draws.responses if r in coded)))
            continue
        if it.response not in draws.responses:
            raise InputError(f"{where}, response", f"{it.response!r} is not a response",
                             "use the response ids of data/ontology/responses.csv")
        out.append(it)
    return out


# ---------------------------------------------------------------------- the maximum-entropy Beta
_GOLD = (math.sqrt(5.0) - 1.0) / 2.0
_LOG_CONC = (-4.0, 18.0)  # log(alpha + beta) searched in [-4, 18]
MAX_CONCENTRATION = 1e6  # alpha + beta: a claim's Beta parameters are at most 1e6 (forecast.inputs.priors._dist)


def _beta_mass(mu: float, s: float, lower: float, upper: float) -> float:
    from scipy.special import betainc

    k = math.exp(s)
    a, b = mu * k, (1.0 - mu) * k
    return float(betainc(a, b, upper)) - float(betainc(a, b, lower))


def _beta_entropy(a: float, b: float) -> float:
    from scipy.special import betaln, digamma

    return (float(betaln(a, b)) - (a - 1.0) * float(digamma(a)) - (b - 1.0) * float(digamma(b))
            + (a + b - 2.0) * float(digamma(a + b)))


def _concentration(mu: float, lower: float, upper: float, mass: float) -> float | None:
    """The smallest log concentration with ``mass`` in [lower, upper] at mean ``mu`` (bisection to the last bit)."""
    lo, hi = _LOG_CONC
    if _beta_mass(mu, hi, lower, upper) < mass:
        return None
    if _beta_mass(mu, lo, lower, upper) >= mass:
        return lo
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if mid <= lo or mid >= hi:
            break
        if _beta_mass(mu, mid, lower, upper) < mass:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


def _entropy_at(mu: float, lower: float, upper: float, mass: float) -> float:
    s = _concentration(mu, lower, upper, mass)
    if s is None:
        return -math.inf
    k = math.exp(s)
    return _beta_entropy(mu * k, (1.0 - mu) * k)


def maxent_beta(lower: float, upper: float, mass: float) -> tuple[float, float]:
    """The maximum-entropy Beta(alpha, beta) with ``mass`` in [lower, upper]: PreliZ's ``maxent`` problem solved
    to machine precision (golden-section search over the mean, bisection of the concentration that meets the
    mass exactly). forecast/outputs/whatif.js runs the same steps."""
    x0, x3 = lower, upper
    x1, x2 = x3 - _GOLD * (x3 - x0), x0 + _GOLD * (x3 - x0)
    f1, f2 = _entropy_at(x1, lower, upper, mass), _entropy_at(x2, lower, upper, mass)
    for _ in range(200):
        if x3 - x0 < 1e-12:
            break
        if f1 >= f2:
            x3, x2, f2 = x2, x1, f1
            x1 = x3 - _GOLD * (x3 - x0)
            f1 = _entropy_at(x1, lower, upper, mass)
        else:
            x0, x1, f1 = x1, x2, f2
            x2 = x0 + _GOLD * (x3 - x0)
            f2 = _entropy_at(x2, lower, upper, mass)
    mu = 0.5 * (x0 + x3)
    s = _concentration(mu, lower, upper, mass)
    if s is None:
        raise InputError(f"judgement range [{lower:g}, {upper:g}] with mass {mass:g}", "no Beta distribution "
                         "meets it", "widen the range or lower the mass")
    k = math.exp(s)
    if k > MAX_CONCENTRATION:
        raise InputError(f"judgement range [{lower:g}, {upper:g}] with mass {mass:g}", "too narrow (a Beta "
                         f"concentration above {MAX_CONCENTRATION:g})", "widen the range or lower the mass")
    return mu * k, (1.0 - mu) * k


def judgement_claim(item: Judgement, inputs: Inputs) -> Claim:
    """The judgement as the model's signal: a cell pseudo-observation (``Claim.logit_normal`` of the Beta)."""
    a, b = maxent_beta(item.lower, item.upper, item.mass)
    raw = {"quote": "hypothetical judgement", "constrains": {"kind": "cell", "actions": [item.action],
                                                              "response": item.response},
           "elicit": {"family": "Beta", "alpha": a, "beta": b}, "strength": 1.0}
    return parse_claim("whatif", raw, inputs.ontology, f"forecast whatif --judgement {item.spec()!r}",
                       origin="evidence")


# ---------------------------------------------------------------------- the draws the page embeds
@dataclass
class Draws:
    """What the reweighting needs per draw, and only that (float32, draw-major), with the names and constants."""

    scenario: str
    title: str
    as_of: dt.date
    inputs_hash: str
    command: str  # the report's command line (its overrides)
    hdi_prob: float
    responses: list[str]
    labels: list[str]
    composites: list[str]
    composite_labels: list[str]
    actions: list[str]
    action_labels: list[str]
    pollsters: list[str]  # the pollsters whose wording effect the draws hold
    total_draws: int  # draws of the posterior (the embedded ones are a thinned subset)
    p: np.ndarray  # (S, R) P(response | the scenario's action profile)
    pc: np.ndarray  # (S, C) composites
    theta: np.ndarray  # (S,) public opposition
    house: np.ndarray  # (S, P) wording effects
    eta: np.ndarray  # (S, A, R) linear predictor of each action type at the current opinion, f = 0
    loading: np.ndarray  # (S, R) signed episode-factor loadings
    base_log_ratio: np.ndarray | None = None  # (S,) the report's own PSIS update, if it is one
    update: dict[str, Any] = field(default_factory=dict)
    consts: dict[str, Any] = field(default_factory=dict)

    @property
    def size(self) -> int:
        return int(self.theta.shape[0])


ARRAYS = ("p", "pc", "theta", "house", "eta", "loading", "base_log_ratio")


def thin_index(total: int, n: int) -> np.ndarray:
    """Every (total / n)-th draw, chains one after another: the same draws in the page and in Python."""
    if n <= 0 or total <= n:
        return np.arange(total)
    return (np.arange(n, dtype=np.int64) * total) // n


def constants(inputs: Inputs) -> dict[str, Any]:
    """The model's constants the page needs (quadrature rules, response chains): computed here, never in JS."""
    ont = inputs.ontology
    qx, qw = quadrature(int(inputs.hyper["quadrature_nodes"]))
    ex, ew = hermegauss(N_NODES)
    return {
        "sigma_house": float(inputs.hyper["sigma_house"]),
        "poll_grid": int(U.POLL_GRID), "poll_grid_sds": float(U.POLL_GRID_SDS),
        "claim_eps": U.CLAIM_EPS, "k_max": U.K_MAX,
        "quad_nodes": qx.tolist(), "quad_weights": qw.tolist(),
        "episode_nodes": ex.tolist(), "episode_log_weights": np.log(ew / ew.sum()).tolist(),
        "chain": [{"idx": idx.tolist(), "mask": mask.tolist()} for idx, mask in chain_index(ont)],
        "ancestors": [ont.ancestors(r) for r in ont.response_ids],
        "mass_range": list(MASS_RANGE), "opinion_id": THETA,
    }


def base_log_ratio(cfg, inputs: Inputs, fitted) -> np.ndarray | None:
    """The log importance ratio of the report's own PSIS update, per stored draw (chain, draw); None for an
    exact fit. Recomputed from the update's changes as ``forecast.analysis.update.base_of`` finds them."""
    if (fitted.update or {}).get("method") != "psis":
        return None
    from forecast.analysis import update as A
    from forecast.inputs.config import paths
    from forecast.model.fit import posterior_family, sampler_settings

    fam = posterior_family(sampler_settings(cfg), int(cfg.seed))
    changes, pollsters = A.base_of(fitted, inputs, fam, paths(cfg)["cache"])
    lr = U.Terms(fitted.idata, inputs, pollsters).total(changes)
    w, _, _ = U.psis_weights(lr)
    if fitted.weights is not None and not np.allclose(w, fitted.weights, rtol=1e-6, atol=1e-12):
        raise RuntimeError("the PSIS update's log ratio does not reproduce its weights")
    return lr


_UNSET: Any = object()


def build_draws(cfg, inputs: Inputs, fitted, scenario: dict[str, Any], pred: xr.Dataset, *, n_draws: int,
                command: str, log_ratio: Any = _UNSET) -> Draws:
    """The arrays the report embeds (and ``forecast whatif`` computes from) for one scenario. ``log_ratio``: the
    report's own update's (``base_log_ratio``), when the caller has it already."""
    name = scenario["name"]
    ont = inputs.ontology
    ds = fitted.idata["posterior"].to_dataset()

    def flat(a: np.ndarray) -> np.ndarray:  # (chain, draw, ...) -> (chain * draw, ...)
        a = np.asarray(a)
        return a.reshape((a.shape[0] * a.shape[1],) + a.shape[2:])

    p = flat(pred["p"].sel(scenario=name).transpose("chain", "draw", "response").values)
    comps = list(pred["p_composite"].coords["composite"].values) if "p_composite" in pred else []
    pc = (flat(pred["p_composite"].sel(scenario=name).transpose("chain", "draw", "composite").values) if comps
          else np.zeros((p.shape[0], 0)))
    pollsters = [str(x) for x in ds["pollster"].values] if "house" in ds and "pollster" in ds.coords else []
    house = flat(ds["house"].transpose("chain", "draw", "pollster").values) if pollsters else np.zeros((p.shape[0], 0))
    eta = flat(U.eta_actions(ds, inputs, current_opinion=True))
    lr = base_log_ratio(cfg, inputs, fitted) if log_ratio is _UNSET else log_ratio
    idx = thin_index(p.shape[0], n_draws)

    def f32(a: np.ndarray | None) -> np.ndarray | None:
        return None if a is None else np.ascontiguousarray(np.asarray(a)[idx], dtype=np.float32)

    return Draws(
        scenario=name, title=str(scenario.get("title") or name), as_of=inputs.as_of,
        inputs_hash=str(fitted.inputs_hash), command=command, hdi_prob=float(cfg.report.hdi_prob),
        responses=list(ont.response_ids), labels=[str(ont.responses.at[r, "label"]) for r in ont.response_ids],
        composites=[str(c) for c in comps], composite_labels=[str(ont.composites[c]["label"]) for c in comps],
        actions=list(ont.action_ids), action_labels=[str(ont.actions.at[a, "label"]) for a in ont.action_ids],
        pollsters=pollsters, total_draws=int(p.shape[0]),
        p=f32(p), pc=f32(pc), theta=f32(flat(ds[THETA].values)), house=f32(house), eta=f32(eta),
        loading=f32(flat(ds[LOADING].values)), base_log_ratio=None if lr is None else f32(flat(lr)),
        update=dict(fitted.update or {}), consts=constants(inputs))


# ---------------------------------------------------------------------- the page's payload
def _b64(a: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(a, dtype="<f4").tobytes()).decode("ascii")


def payload(d: Draws) -> dict[str, Any]:
    """The JSON the page embeds: names and constants as JSON, the arrays as base64 little-endian float32."""
    arrays = {k: {"shape": list(getattr(d, k).shape), "b64": _b64(getattr(d, k))}
              for k in ARRAYS if getattr(d, k) is not None}
    meta = {k: getattr(d, k) for k in ("scenario", "title", "inputs_hash", "command", "hdi_prob", "responses",
                                       "labels", "composites", "composite_labels", "actions", "action_labels",
                                       "pollsters", "total_draws", "consts")}
    meta["update"] = _finite(d.update)
    return {"version": PAYLOAD_VERSION, **meta, "as_of": d.as_of.isoformat(), "draws": d.size,
            "command_tokens": shlex.split(d.command)[1:], "arrays": arrays}


def _finite(x: Any) -> Any:
    """JSON without NaN or infinities (the page's JSON.parse refuses them): such numbers become None."""
    if isinstance(x, dict):
        return {str(k): _finite(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_finite(v) for v in x]
    if isinstance(x, float | np.floating):
        return float(x) if math.isfinite(x) else None
    if isinstance(x, np.integer):
        return int(x)
    return x


def from_payload(obj: dict[str, Any]) -> Draws:
    """The Draws a page embeds (the inverse of ``payload``)."""
    arr = {k: np.frombuffer(base64.b64decode(v["b64"]), dtype="<f4").reshape(v["shape"]).astype(np.float32)
           for k, v in obj["arrays"].items()}
    keep = {k: obj[k] for k in ("scenario", "title", "inputs_hash", "command", "hdi_prob", "responses", "labels",
                                "composites", "composite_labels", "actions", "action_labels", "pollsters",
                                "total_draws", "update", "consts")}
    return Draws(**keep, as_of=dt.date.fromisoformat(obj["as_of"]), **{k: arr.get(k) for k in ARRAYS})


def payload_bytes(d: Draws) -> int:
    """Bytes of the arrays as embedded (base64)."""
    return sum(len(v["b64"]) for v in payload(d)["arrays"].values())


def summary(d: Draws) -> dict[str, Any]:
    """What forecast.json records about the panel's draws (the draws themselves are only in report.html)."""
    keep = [t for t in shlex.split(d.command)[1:] if not t.startswith(("scenario=", "all_scenarios=", "-"))]
    example = " ".join(["forecast whatif", *(shlex.quote(t) for t in keep), f"scenario={d.scenario}",
                        f"--poll {EXAMPLES['poll']}"])
    return {"draws": d.size, "of_draws": d.total_draws, "thinning": "every k-th draw, chains in order "
            "(forecast.analysis.whatif.thin_index)", "dtype": "float32", "embedded_bytes": payload_bytes(d),
            "arrays": {k: list(getattr(d, k).shape) for k in ARRAYS if getattr(d, k) is not None},
            "base_update": d.base_log_ratio is not None, "command": example,
            "note": "hypothetical evidence only reweights these draws; nothing in the panel is saved"}


# ---------------------------------------------------------------------- the terms and the reweighting
def item_loglik(d: Draws, item: Item, inputs: Inputs, new_index: int = 1) -> np.ndarray:
    """log p(item | draw) for every embedded draw (float64 from the float32 arrays), by the model's own terms."""
    S = d.size
    if item.kind == "poll":
        ds = xr.Dataset({THETA: (("chain", "draw"), d.theta.astype(np.float64)[None]),
                         "house": (("chain", "draw", "pollster"), d.house.astype(np.float64)[None])},
                        coords={"pollster": list(d.pollsters)})
        name = item.pollster if item.pollster is not None else NEW_POLLSTER.format(i=new_index)
        polls = pd.DataFrame([{"pollster": name, "n": item.n, "share_opposed": item.share}])
        return U.poll_loglik(ds, inputs, polls, list(d.pollsters))[0]
    a = d.actions.index(item.action)
    eta = d.eta.astype(np.float64)[None]  # (1, S, A, R)
    loading = d.loading.astype(np.float64)[None]  # (1, S, R)
    if item.kind == "episode":
        coded = dict(item.responses)
        row = pd.DataFrame([[float(coded[r]) if r in coded else np.nan for r in d.responses]], columns=d.responses,
                           index=["whatif"])
        return episode_loglik_eta(eta[:, :, [a], :], loading, inputs.ontology, row)[0, :, 0]
    lp = U.logit_p_from_eta(eta, loading, inputs)
    out = U.cell_claim_loglik(lp, inputs, judgement_claim(item, inputs))[0]
    assert out.shape == (S,)
    return out


@dataclass
class Result:
    """Before -> after for every response, composite and the public opinion, with the PSIS diagnostics."""

    table: pd.DataFrame  # id, label, kind, before_mean, before_low, before_high, after_mean, after_low, after_high
    pareto_k: float
    ess: float
    draws: int
    total_draws: int
    reliable: bool
    items: list[Item]
    commands: list[str]
    base: dict[str, Any]  # the report's own PSIS update (empty for an exact fit)
    before_pareto_k: float | None = None
    scenario: str = ""
    title: str = ""
    as_of: str = ""
    inputs_hash: str = ""
    hdi_prob: float = 0.9

    def to_json(self) -> dict[str, Any]:
        def num(x: float | None) -> float | str | None:
            if x is None:
                return None
            return float(x) if math.isfinite(x) else ("inf" if x > 0 else "-inf")

        return {"hypothetical": True, "scenario": self.scenario, "title": self.title, "as_of": self.as_of,
                "inputs_hash": self.inputs_hash, "hdi_prob": self.hdi_prob, "pareto_k": num(self.pareto_k),
                "ess": num(self.ess), "draws": self.draws,
                "total_draws": self.total_draws, "reliable": self.reliable, "k_max": U.K_MAX,
                "items": [{"kind": i.kind, "spec": i.spec()} for i in self.items], "commands": self.commands,
                "base_update": self.base, "before_pareto_k": num(self.before_pareto_k),
                "rows": self.table.to_dict(orient="records")}


def _summary(x: np.ndarray, w: np.ndarray, prob: float) -> tuple[float, float, float]:
    lo, hi = U.weighted_hdi(x, w, prob)
    return float(np.dot(w, x)), lo, hi


def reweight(d: Draws, items: list[Item], inputs: Inputs) -> Result:
    """Every response's (and composite's, and the opinion's) mean and HDI before and after the hypothetical
    ``items``: one PSIS of the summed log ratio (with the report's own update's, if any)."""
    items = check_items(list(items), d, inputs)
    S = d.size
    base = None if d.base_log_ratio is None else d.base_log_ratio.astype(np.float64)
    if base is not None:
        w0, k0, _ = U.psis_weights(base)
    else:
        w0, k0 = np.full(S, 1.0 / S), None
    total = np.zeros(S) if base is None else base.copy()
    new = 0
    for it in items:
        if it.kind == "poll" and it.pollster is None:
            new += 1
        total = total + item_loglik(d, it, inputs, new)
    if items:
        w, k, ess = U.psis_weights(total)
    else:
        w, k, ess = w0, (-math.inf if k0 is None else k0), 1.0 / float(np.square(w0).sum())
    rows = []
    cols = [("response", d.responses, d.labels, d.p), ("composite", d.composites, d.composite_labels, d.pc),
            ("opinion", [THETA], ["Public opposition to US military action (latent share)"], d.theta[:, None])]
    for kind, ids, labels, arr in cols:
        for j, (rid, label) in enumerate(zip(ids, labels, strict=True)):
            x = arr[:, j].astype(np.float64)
            b, a = _summary(x, w0, d.hdi_prob), _summary(x, w, d.hdi_prob)
            rows.append({"id": rid, "label": label, "kind": kind, "before_mean": b[0], "before_low": b[1],
                         "before_high": b[2], "after_mean": a[0], "after_low": a[1], "after_high": a[2]})
    reliable = bool(k <= U.K_MAX)
    return Result(pd.DataFrame(rows), float(k), float(ess), S, d.total_draws, reliable, items,
                  refit_commands(d, items), {k_: v for k_, v in d.update.items() if k_ != "changes"}
                  if d.update.get("method") == "psis" else {}, k0, d.scenario, d.title, d.as_of.isoformat(),
                  d.inputs_hash, d.hdi_prob)


# ---------------------------------------------------------------------- the exact answer
def refit_commands(d: Draws, items: list[Item]) -> list[str]:
    """The evidence log entries that would make the items real, and the exact refit of the report (the page
    prints the same lines). They write into data/evidence/: run them in a copy of the project."""
    q = shlex.quote
    day = d.as_of.isoformat()
    out, new = [], 0
    for i, it in enumerate(items, start=1):
        common = (f"--id E-WHATIF-{day}-{i} --date-known {day} --source {q(HYPOTHETICAL_SOURCE)} --summary "
                  f"{q(_summary_text(it, d))}")
        if it.kind == "poll":
            if it.pollster is None:
                new += 1
            name = it.pollster if it.pollster is not None else NEW_POLLSTER.format(i=new)
            out.append(f"forecast evidence add poll {common} --pollster {q(name)} --date {day} --n {it.n} "
                       f"--share-opposed {it.share:g}")
        elif it.kind == "episode":
            resp = " ".join(f"--response {r}={v}" for r, v in it.responses)
            out.append(f"forecast evidence add episode {common} --action-type {it.action} --date {day} {resp}")
        else:
            out.append(f"forecast evidence add signal {common} --actions {it.action} --response-id {it.response} "
                       f"--lower {it.lower:g} --upper {it.upper:g} --mass {it.mass:g}")
    keep = [t for t in shlex.split(d.command)[1:] if not t.startswith(("update=", "scenario=", "all_scenarios="))
            and not t.startswith("-")]
    out.append(" ".join(["forecast", *(q(t) for t in keep), f"scenario={d.scenario}", "update=refit"]))
    return out


def _summary_text(it: Item, d: Draws) -> str:
    if it.kind == "poll":
        who = it.pollster or "a new pollster"
        return f"Hypothetical poll by {who}: {it.share:.0%} opposed (n {it.n})"
    if it.kind == "episode":
        return f"Hypothetical episode of {it.action}, {len(it.responses)} response(s) coded"
    return f"Hypothetical judgement: P({it.response} | {it.action}) in [{it.lower:g}, {it.upper:g}]"
