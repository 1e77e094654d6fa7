"""The answer to a what-if: each item's log-likelihood per embedded draw by the model's own terms, one PSIS
of their sum (with the report's own update's log ratio, if any), and every summary before and after."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from forecast.analysis.whatif.commands import refit_commands
from forecast.analysis.whatif.draws import Draws
from forecast.analysis.whatif.items import NEW_POLLSTER, Item, check_items, judgement_claim
from forecast.errors import InputError
from forecast.inputs.data import Inputs
from forecast.model import summary
from forecast.model import terms as T
from forecast.model.build import THETA
from forecast.model.psis import K_MAX, psis_weights


def item_loglik(d: Draws, item: Item, inputs: Inputs, new_index: int = 1) -> np.ndarray:
    """log p(item | draw) for every embedded draw (float64 from the float32 arrays), by the model's own terms."""
    ont, h = inputs.ontology, inputs.hyper
    if item.kind == "poll":
        name = item.pollster if item.pollster is not None else NEW_POLLSTER.format(i=new_index)
        polls = pd.DataFrame([{"pollster": name, "n": item.n, "share_opposed": item.share}])
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
        left = set(T.left_out_responses(ont, h))  # no observation under model.attribute_cells=leave_out
        row = pd.DataFrame([[float(coded[r]) if r in coded and r not in left else np.nan for r in d.responses]],
                           columns=d.responses, index=["whatif"])
        return T.episode_loglik_eta(eta.astype(np.float64)[None][:, :, [a], :], loading, ont, row)[0, :, 0]
    lp = T.logit_p(d.eta.astype(np.float64)[None], loading, ont, h)  # (1, S, A, R)
    return T.cell_claim_loglik(lp, ont, h, judgement_claim(item, inputs))[0]


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
                "total_draws": self.total_draws, "reliable": self.reliable, "k_max": K_MAX,
                "items": [{"kind": i.kind, "spec": i.spec()} for i in self.items], "commands": self.commands,
                "base_update": self.base, "before_pareto_k": num(self.before_pareto_k),
                "rows": self.table.to_dict(orient="records")}


def _summary(x: np.ndarray, w: np.ndarray, prob: float) -> tuple[float, float, float]:
    lo, hi = summary.weighted_hdi(x, w, prob)
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
    return Result(pd.DataFrame(rows), float(k), float(ess), S, d.total_draws, reliable, items,
                  refit_commands(d, items), {k_: v for k_, v in d.update.items() if k_ != "changes"}
                  if d.update.get("method") == "psis" else {}, k0, d.scenario, d.title, d.as_of.isoformat(),
                  d.inputs_hash, d.hdi_prob)

