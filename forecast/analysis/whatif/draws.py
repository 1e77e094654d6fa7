"""The draws a report embeds for its What if panel (and ``forecast whatif`` computes from), and the page's
JSON payload: what the reweighting needs per draw and only that, thinned, float32, base64."""

from __future__ import annotations

import base64
import datetime as dt
import math
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from forecast.analysis.whatif.items import EXAMPLES, MASS_RANGE
from forecast.inputs.data import Inputs
from forecast.inputs.schema import switch
from forecast.model import terms as T
from forecast.model.build import LOADING, THETA, chain_index, quadrature
from forecast.model.psis import K_MAX, psis_weights

if TYPE_CHECKING:
    import xarray as xr

DEFAULT_DRAWS = 2000  # conf/report: report.whatif_draws
PAYLOAD_VERSION = 1


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
    # (S, A, R) at the reference opinion: an episode's under the ablation model.episode_opinion=reference
    eta_reference: np.ndarray | None = None
    update: dict[str, Any] = field(default_factory=dict)
    consts: dict[str, Any] = field(default_factory=dict)

    @property
    def size(self) -> int:
        return int(self.theta.shape[0])


ARRAYS = ("p", "pc", "theta", "house", "eta", "loading", "base_log_ratio", "eta_reference")


def thin_index(total: int, n: int) -> np.ndarray:
    """Every (total / n)-th draw, chains one after another: the same draws in the page and in Python."""
    if n <= 0 or total <= n:
        return np.arange(total)
    return (np.arange(n, dtype=np.int64) * total) // n


def constants(inputs: Inputs) -> dict[str, Any]:
    """The model's constants the page needs (quadrature rules, response chains, the settings the terms
    follow): computed here, never in JS."""
    ont, h = inputs.ontology, inputs.hyper
    qx, qw = quadrature(int(h["quadrature_nodes"]))
    ex, elw = T.episode_nodes()
    left = T.left_out_responses(ont, h)
    return {
        "sigma_house": float(h["sigma_house"]),
        "poll_grid": int(T.POLL_GRID), "poll_grid_sds": float(T.POLL_GRID_SDS),
        "claim_eps": T.CLIP, "k_max": K_MAX,
        "quad_nodes": qx.tolist(), "quad_weights": qw.tolist(),
        "episode_nodes": ex.tolist(), "episode_log_weights": elw.tolist(),
        "chain": [{"idx": idx.tolist(), "mask": mask.tolist()} for idx, mask in chain_index(ont)],
        "ancestors": [ont.ancestors(r) for r in ont.response_ids],
        "mass_range": list(MASS_RANGE), "opinion_id": THETA,
        # the ablation switches' settings the terms follow (the shipped model: false, false, [])
        "house_zero_sum": switch(h, "poll_effects") == "sum_to_zero",
        "episode_reference": switch(h, "episode_opinion") == "reference",
        "left_out": [ont.response_ids.index(r) for r in left],
    }


def base_log_ratio(cfg, inputs: Inputs, fitted) -> np.ndarray | None:
    """The log importance ratio of the report's own PSIS update, per stored draw (chain, draw); None for an
    exact fit. The update keeps it (``Fit.log_ratio``); a Fit made without it has it recomputed from the
    update's changes as ``forecast.analysis.attribution.shapley.base_of`` finds them."""
    if (fitted.update or {}).get("method") != "psis":
        return None
    if getattr(fitted, "log_ratio", None) is not None:  # kept by the update itself (``forecast.model.fit``)
        return np.asarray(fitted.log_ratio, dtype=float)
    from forecast.analysis.attribution.shapley import base_of
    from forecast.inputs.config import paths
    from forecast.model.fit import posterior_family
    from forecast.model.reweight import LogRatios

    fam = posterior_family(cfg)
    changes, pollsters = base_of(fitted, inputs, fam, paths(cfg)["cache"])
    lr = LogRatios(fitted.idata, inputs, pollsters).total(changes)
    w = psis_weights(lr).w
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
    lr = base_log_ratio(cfg, inputs, fitted) if log_ratio is _UNSET else log_ratio
    idx = thin_index(p.shape[0], n_draws)

    def f32(a: np.ndarray | None) -> np.ndarray | None:
        return None if a is None else np.ascontiguousarray(np.asarray(a)[idx], dtype=np.float32)

    post = posterior_arrays(ds, inputs, idx, _cache_dir(cfg))

    return Draws(
        scenario=name, title=str(scenario.get("title") or name), as_of=inputs.as_of,
        inputs_hash=str(fitted.inputs_hash), command=command, hdi_prob=float(cfg.report.hdi_prob),
        responses=list(ont.response_ids), labels=[str(ont.responses.at[r, "label"]) for r in ont.response_ids],
        composites=[str(c) for c in comps], composite_labels=[str(ont.composites[c]["label"]) for c in comps],
        actions=list(ont.action_ids), action_labels=[str(ont.actions.at[a, "label"]) for a in ont.action_ids],
        pollsters=pollsters, total_draws=int(p.shape[0]),
        p=f32(p), pc=f32(pc), theta=post["theta"], house=post["house"], eta=post["eta"], loading=post["loading"],
        base_log_ratio=None if lr is None else f32(flat(lr)), eta_reference=post.get("eta_reference"),
        update=dict(fitted.update or {}), consts=constants(inputs))


def _cache_dir(cfg):
    from forecast.inputs.config import paths

    try:
        return paths(cfg)["cache"]
    except (AttributeError, KeyError, TypeError):  # a bare settings object (tests): nothing is kept
        return None


def posterior_arrays(ds: xr.Dataset, inputs: Inputs, idx: np.ndarray, cache=None) -> dict[str, np.ndarray]:
    """The panel's arrays that depend on the posterior alone, not on the scenario (the opinion, the wording effects,
    every action's linear predictor, the loadings), at the thinned draws ``idx``, float32: computed once per
    posterior and kept under a key of its draws (``forecast.memo``), then shared by every scenario's panel."""
    from forecast import memo

    ont, hyper = inputs.ontology, inputs.hyper
    key = None
    if cache is not None:
        here = Path(__file__).resolve()
        key = memo.digest("whatif-posterior", memo.source(here), memo.source(here.parents[2] / "model" / "terms.py"),
                          memo.source(here.parents[2] / "model" / "build.py"), hyper, idx,
                          ont.attributes, ont.actions.to_csv(), ont.responses.to_csv(),
                          *[x for v in sorted(map(str, ds.variables)) for x in (v, list(ds[v].dims), ds[v].values)])
        hit = memo.get_arrays(cache, "whatif-posterior", key)
        if hit is not None and {"theta", "house", "eta", "loading"} <= set(hit):
            return hit

    def flat(a: np.ndarray) -> np.ndarray:  # (chain, draw, ...) -> (chain * draw, ...), thinned
        a = np.asarray(a)
        return np.ascontiguousarray(a.reshape((a.shape[0] * a.shape[1],) + a.shape[2:])[idx], dtype=np.float32)

    has_house = "house" in ds and "pollster" in ds.coords and ds.sizes.get("pollster", 0) > 0
    out = {"theta": flat(ds[THETA].values), "loading": flat(ds[LOADING].values),
           "house": flat(ds["house"].transpose("chain", "draw", "pollster").values) if has_house
           else np.zeros((len(idx), 0), dtype=np.float32),
           "eta": flat(T.eta_actions(ds, ont, hyper, current_opinion=True))}
    if switch(hyper, "episode_opinion") == "reference":
        out["eta_reference"] = flat(T.eta_actions(ds, ont, hyper, current_opinion=False))
    if key is not None:
        memo.put_arrays(cache, "whatif-posterior", key, out)
    return out


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

