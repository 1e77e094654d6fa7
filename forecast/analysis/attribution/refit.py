"""What moved, by refitting: the path from the previous report's state to the current inputs.

Starting from the previous report's state under the current code and data, the changes are applied one at
a time (new evidence in the order it became known, removed evidence, then each changed prior), each
intermediate state fitted (and cached by its inputs hash). A change's part is the shift in the posterior
mean it causes at its step; the parts telescope, so with the residual they add up to the total change
exactly. Parts depend on the order (a path decomposition); the order is stated in every report. This is
the exact path: for a Pareto k above 0.7, removed evidence and ``update=refit``.
"""

from __future__ import annotations

from typing import Any

from omegaconf import OmegaConf

from forecast.inputs.config import paths
from forecast.inputs.data import Inputs
from forecast.inputs.evidence import load_evidence
from forecast.inputs.load import load_inputs
from forecast.model.fit import fit_config
from forecast.model.predict import predict


def attribution_path(cfg, inputs: Inputs, state: dict[str, Any]) -> list[tuple[str, str, Inputs]]:
    """The sequence of (label, kind, inputs) from the previous state to the current one."""
    import datetime as dt

    cur_ev = list(inputs.evidence_ids)
    prev_ev = [e for e in state.get("evidence_ids", []) if e]
    cur_priors = OmegaConf.to_container(cfg.priors, resolve=False)
    prev_priors = state.get("priors") or cur_priors
    today = dt.date.today()
    log_entries = {e.id: e for e in load_evidence(paths(cfg)["data"] / "evidence", inputs.ontology, today).entries}
    ev = {e for e in prev_ev if e in log_entries}
    priors = {k: v for k, v in prev_priors.items()}

    def step() -> Inputs:  # the current state is the run's own inputs (read once: not loaded again)
        if ev == set(cur_ev) and priors == cur_priors:
            return inputs
        return load_inputs(cfg, evidence_only=set(ev), priors=priors)

    seq = [("previous state, refitted now", "start", step())]
    added = sorted((e for e in cur_ev if e not in ev), key=lambda e: (log_entries[e].date_known, e))
    for e in added:
        ev.add(e)
        seq.append((e, "evidence added", step()))
    for e in sorted(ev - set(cur_ev)):
        ev.discard(e)
        seq.append((e, "evidence removed", step()))
    for name in sorted(set(prev_priors) | set(cur_priors)):
        if prev_priors.get(name) != cur_priors.get(name):
            if name in cur_priors:
                priors[name] = cur_priors[name]
            else:
                priors.pop(name, None)
            seq.append((f"prior {name}", "prior changed", step()))
    return seq


def refit_means(cfg, seq: list[tuple[str, str, Inputs]], sc: dict, say=None) -> list[tuple]:
    """Each step of ``seq`` refitted (cached by its inputs hash): (label, kind, inputs hash, mean per
    scenario and response)."""
    means = []
    for label, kind, inp in seq:
        f = fit_config(cfg, inp, update="refit")  # the exact path: each step refitted (cached by its hash)
        if say:
            say(f"attribution step '{label}': {'cache hit' if f.from_cache else 'fitted'} {f.inputs_hash}")
        pred = predict(f.idata, inp.ontology, inp.hyper, sc)
        means.append((label, kind, f.inputs_hash, pred["p"].mean(("chain", "draw")).to_pandas()))
    return means
