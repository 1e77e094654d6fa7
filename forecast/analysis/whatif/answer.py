"""The answer to a what-if: each item's log-likelihood per embedded draw by the model's own terms, one PSIS
of their sum (with the report's own update's log ratio, if any), and every summary before and after. numpy only
(the table as a pandas DataFrame on request, ``Result.table``): ``forecast whatif`` from a report's kept draws
(``forecast.analysis.whatif.kept``) imports this module and no numerical library but numpy."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from forecast.analysis.whatif.commands import refit_commands
from forecast.analysis.whatif.items import NEW_POLLSTER, Item, check_items, judgement_claim
from forecast.errors import InputError
from forecast.model import terms as T
from forecast.model.build import THETA
from forecast.model.psis import K_MAX, psis_weights, weighted_hdi

if TYPE_CHECKING:
    import pandas as pd

    from forecast.analysis.whatif.draws import Draws
    from forecast.inputs.data import Inputs


def item_loglik(d: Draws, item: Item, inputs: Inputs, new_index: int = 1) -> np.ndarray:
    """log p(item | draw) for every embedded draw (float64 from the float32 arrays), by the model's own terms.
    ``inputs``: the report's inputs, or what the kept draws hold of them (``kept.KeptInputs``: the ontology's
    names and chains, the model's settings); the responses left out as observations are the draws' own
    (``d.consts["left_out"]``, ``terms.left_out_responses`` when they were built)."""
    ont, h = inputs.ontology, inputs.hyper
    if item.kind == "poll":
        name = item.pollster if item.pollster is not None else NEW_POLLSTER.format(i=new_index)
        polls = [{"pollster": name, "n": item.n, "share_opposed": item.share}]
        try:
            return T.poll_loglik(d.theta.astype(np.float64), d.house.astype(np.float64), list(d.pollsters), polls, h)
        except T.Unsupported as e:
            raise InputError(f"forecast whatif --poll {item.spec()!r}", str(e),
                             "name a pollster of this posterior") from None
    a = d.actions.index(item.action)
    loading = d.loading.astype(np.float64)[None]  # (1, S, R)
    if item.kind == "episode":
        eta = d.eta_reference if d.consts.get("episode_reference") and d.eta_reference is not None else d.eta
        coded = dict(item.responses)
        left = {d.responses[j] for j in d.consts.get("left_out", [])}  # no observation (attribute_cells=leave_out)
        row = np.array([[float(coded[r]) if r in coded and r not in left else np.nan for r in d.responses]])
        return T.episode_loglik_eta(eta.astype(np.float64)[None][:, :, [a], :], loading, ont, row)[0, :, 0]
    # the judgement's one action: P(r | a) of the other actions does not enter its term
    lp = T.logit_p(d.eta.astype(np.float64)[None][:, :, [a], :], loading, ont, h)  # (1, S, 1, R)
    return T.cell_claim_loglik(lp, _OneAction(ont, item.action), h, judgement_claim(item, inputs))[0]


class _OneAction:
    """The ontology's names as ``cell_claim_loglik`` sees them for a ``logit_p`` of one action."""

    def __init__(self, ont, action: str):
        self.action_ids, self.response_ids = [action], list(ont.response_ids)


@dataclass
class Result:
    """Before -> after for every response, composite and the public opinion, with the PSIS diagnostics."""

    rows: list[dict[str, Any]]  # id, label, kind, before_mean/low/high, after_mean/low/high
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
    kept: str = ""  # whose kept draws answered (``kept.Kept.said``); "" when computed from the posterior

    @property
    def table(self) -> pd.DataFrame:
        """The rows as a pandas DataFrame (imported here: the command line's path never asks for it)."""
        import pandas as pd

        return pd.DataFrame(self.rows)

    def to_json(self) -> dict[str, Any]:
        def num(x: float | None) -> float | str | None:
            if x is None:
                return None
            return float(x) if math.isfinite(x) else ("inf" if x > 0 else "-inf")

        return {"hypothetical": True, "scenario": self.scenario, "title": self.title, "as_of": self.as_of,
                "inputs_hash": self.inputs_hash, "hdi_prob": self.hdi_prob, "pareto_k": num(self.pareto_k),
                "ess": num(self.ess), "draws": self.draws,
                "total_draws": self.total_draws, "reliable": self.reliable, "k_max": K_MAX,
                "items": [{"kind": i.kind, "spec": i.spec()} for i in self.items], "commands": self.commands,
                "base_update": self.base, "before_pareto_k": num(self.before_pareto_k),
                "answered_from": self.kept or "the posterior",
                "rows": [dict(r) for r in self.rows]}


def _summary(x: np.ndarray, w: np.ndarray, prob: float) -> tuple[float, float, float]:
    lo, hi = weighted_hdi(x, w, prob)
    return float(np.dot(w, x)), lo, hi


def reweight(d: Draws, items: list[Item], inputs: Inputs) -> Result:
    """Every response's (and composite's, and the opinion's) mean and HDI before and after the hypothetical
    ``items``: one PSIS of the summed log ratio (with the report's own update's, if any)."""
    items = check_items(list(items), d, inputs)
    S = d.size
    base = None if d.base_log_ratio is None else d.base_log_ratio.astype(np.float64)
    if base is not None:
        w0, k0, _ = psis_weights(base)
    else:
        w0, k0 = np.full(S, 1.0 / S), None
    total = np.zeros(S) if base is None else base.copy()
    new = 0
    for it in items:
        if it.kind == "poll" and it.pollster is None:
            new += 1
        total = total + item_loglik(d, it, inputs, new)
    if items:
        w, k, ess = psis_weights(total)
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
    reliable = bool(k <= K_MAX)
    return Result(rows, float(k), float(ess), S, d.total_draws, reliable, items,
                  refit_commands(d, items), {k_: v for k_, v in d.update.items() if k_ != "changes"}
                  if d.update.get("method") == "psis" else {}, k0, d.scenario, d.title, d.as_of.isoformat(),
                  d.inputs_hash, d.hdi_prob)

