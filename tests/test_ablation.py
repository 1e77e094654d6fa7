"""The ablation switches (conf/model/default.yaml; bench/studies/model-changes-ablation/): each turns one of issue #16's
model changes, or issue #10's rank effect, off, and changes the model in that way only. No fitting: each
test builds the model (or its inputs) and reads the graph or the design.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pymc as pm
import pytest

import forecast
from forecast.errors import ConfigError
from forecast.inputs.priors import parse_claim
from forecast.inputs.schema import ABLATION_SWITCHES
from forecast.model.build import KAPPA, OBS_CLAIM, OBS_HIST, THETA_PAST, design
from tests.conftest import MODEL_DAY, inputs_on
from tests.synthetic import ontology, simulate_inputs

TODAY = MODEL_DAY


def _inputs(*overrides: str):
    return inputs_on(TODAY, *overrides)


def test_switches_at_their_defaults_leave_the_hyperparameters_as_they_were(default_inputs):
    """The default configuration records no switch (so its fingerprint and inputs hash are those of the model
    before the switches existed); a switch off its default is recorded, and a wrong value is refused."""
    assert not set(ABLATION_SWITCHES) & set(default_inputs.hyper)
    assert _inputs("model.claims_per_action=each").hyper["claims_per_action"] == "each"
    with pytest.raises(ConfigError, match="model.poll_effects: 'zero' is not one of free, sum_to_zero"):
        forecast.compose(["model.poll_effects=zero"])
    with pytest.raises(ConfigError, match="model.sigma_rank"):
        forecast.compose(["model.sigma_rank=-1"])


def test_sum_to_zero_poll_effects_sum_to_zero_in_the_graph(default_inputs):
    """poll_effects=sum_to_zero: the house effects' prior draws sum to 0 over the pollsters (the model
    before issue #16); free (the default): they do not."""
    free = forecast.build_model(default_inputs)
    zero = forecast.build_model(_inputs("model.poll_effects=sum_to_zero"))
    h_free = pm.draw(free["house"], draws=200, random_seed=1)
    h_zero = pm.draw(zero["house"], draws=200, random_seed=1)
    assert h_zero.shape == h_free.shape == (200, 3)
    assert np.abs(h_zero.sum(axis=1)).max() < 1e-9
    assert np.abs(h_free.sum(axis=1)).mean() > 0.3
    assert "pollster_logit" in free.named_vars and "pollster_logit" not in zero.named_vars


def test_reference_episode_opinion_takes_the_opinion_out_of_the_record(default_inputs):
    """episode_opinion=reference: the history's log density does not move with the opinion effect and there
    is no era opinion (the old model); own_time (the default): it moves when kappa doubles."""
    def history_change(inputs, past: bool) -> float:
        model = forecast.build_model(inputs)
        assert (THETA_PAST in model.named_vars) == past
        logp = model.compile_logp(vars=[model[OBS_HIST]])
        point = model.initial_point()
        if past:
            point["z_opinion_past"] = np.asarray(1.0)
        lo = float(logp(point))
        point[f"{KAPPA}_log__"] = point[f"{KAPPA}_log__"] + np.log(2.0)
        return abs(float(logp(point)) - lo)

    assert history_change(_inputs("model.era_opinion=free"), past=True) > 1e-3
    assert history_change(default_inputs, past=False) > 1e-3  # the episodes inside the poll window
    assert history_change(_inputs("model.episode_opinion=reference"), past=False) == 0.0


def test_each_claim_per_action_enters_one_pseudo_observation_per_named_action():
    """claims_per_action=each: a claim naming 3 actions is 3 pseudo-observations, each with the claim's
    precision, so its curvature along the cells' common logit is 3 times that of once (the default)."""
    base = simulate_inputs(n_episodes=20, seed=3)
    ont = ontology()
    claim = parse_claim("c", {"quote": "synthetic", "constrains": {"kind": "cell", "actions": ["a1", "a2", "a3"],
                                                                   "response": "r3"},
                              "elicit": {"family": "Beta", "alpha": 4, "beta": 6}}, ont, "synthetic")

    def curvature(how: str) -> tuple[int, float]:
        inputs = dataclasses.replace(base, claims=[*base.claims, claim], hyper={**base.hyper, "claims_per_action": how})
        model = forecast.build_model(inputs)
        logp = model.compile_logp(vars=[model[OBS_CLAIM]])
        point = model.initial_point()
        point["loading_abs_log__"] = np.full_like(point["loading_abs_log__"], -8.0)  # logit P = eta
        sd_cell = float(np.exp(point["sd_cell_log__"]))

        def at(t: float) -> float:
            p = {k: v.copy() for k, v in point.items()}
            p["w_cell"][[1, 2, 3], ont.response_ids.index("r3")] += t / sd_cell
            return float(logp(p))

        h = 0.05
        return len(design(inputs).claim_mu), -(at(h) - 2 * at(0.0) + at(-h)) / h**2

    n_once, c_once = curvature("once")
    n_each, c_each = curvature("each")
    assert (n_once, n_each) == (1, 3)
    assert c_each / c_once == pytest.approx(3.0, abs=0.05)


def test_keeping_restatements_counts_the_claim_and_its_source(default_inputs):
    """restatements=keep (the model before issue #16): P15's two cells, the refusals C05 summarises and the
    command-centres signal stay in, and C15 is the opinion's prior beside the El Financiero poll."""
    keep = _inputs("model.restatements=keep")
    out = keep.episodes.outcomes
    assert out.at["P15", "threat_expel_agents"] == 1.0 and out.at["P22", "diplomatic_protest"] == 1.0
    assert "E-2026-01-command-centres-offer" in {s.id for s in keep.signals}
    assert not any(c.unused for c in keep.claims) and "E-2026-02-elfinanciero-poll" in keep.polls.index
    assert keep.provenance["restated"] == [] and keep.provenance["restatements"].startswith("keep")
    assert design(keep).theta_ab != (2.0, 2.0) and design(default_inputs).theta_ab == (2.0, 2.0)
    assert len(design(keep).obs_y) == len(design(default_inputs).obs_y) + 7


def test_sigma_rank_zero_removes_the_rank_effect(default_inputs):
    """model.sigma_rank=0: no rank_effect variable, so the intercepts do not depend on the escalation rank."""
    assert "rank_effect" in forecast.build_model(default_inputs).named_vars
    model = forecast.build_model(_inputs("model.sigma_rank=0"))
    assert "rank_effect" not in model.named_vars
    assert {v.name for v in model.free_RVs} == {v.name for v in forecast.build_model(default_inputs).free_RVs} - {
        "rank_effect"}


def test_a_psis_update_follows_the_ablation_switches(default_inputs):
    """The model's terms on stored draws follow every ablation switch (tests/test_terms.py pins them to PyMC), so
    an ablated model's cached posterior is updated like the shipped model's; what no reweighting reproduces is
    refused with the terms' one message: under zero-sum wording effects, a new pollster beside the others
    (its effect changes theirs)."""
    import pandas as pd
    import xarray as xr

    from forecast.model.reweight import LogRatios, NotReweightable, diff, state

    inputs = _inputs("model.poll_effects=sum_to_zero")
    assert diff(state(inputs, {}), inputs, {}) == []
    polls = inputs.polls
    used = polls[polls["use"] == "likelihood"]
    assert used["pollster"].nunique() > 1
    extra = used.iloc[[0]].rename(index={used.index[0]: "P-new"}).assign(pollster="A new pollster")
    target = dataclasses.replace(inputs, polls=pd.concat([polls, extra]))
    changes = diff(state(inputs, {}), target, {})
    assert [c.kind for c in changes] == ["poll"]
    known = sorted(set(used["pollster"]))
    ds = xr.Dataset({"public_opposition": (("chain", "draw"), np.full((1, 4), 0.7)),
                     "house": (("chain", "draw", "pollster"), np.zeros((1, 4, len(known))))},
                    coords={"pollster": known})
    with pytest.raises(NotReweightable, match="new pollster 'A new pollster' under model.poll_effects=sum_to_zero"):
        LogRatios(xr.DataTree.from_dict({"posterior": ds}), target, known).total(changes)


def test_the_consent_cells_restate_the_consent_attribute(default_inputs):
    """The finding behind model.attribute_cells: in every coded episode the response marked coded_from (consent
    to the US action) is 1 exactly when the episode's consent attribute is not its baseline (none). With
    attribute_cells=leave_out (the default) those cells leave the record, and nothing else does."""
    observed = _inputs("model.attribute_cells=observe")
    ont = observed.ontology
    coded = {r: a for r, a in ont.responses["coded_from"].items() if a}
    assert coded
    out, table = observed.episodes.outcomes, observed.episodes.table
    for r, attr in coded.items():
        seen = out[r].dropna()
        assert len(seen) >= 20
        assert ((table.loc[seen.index, attr] != ont.attributes[attr]["baseline"]).astype(float) == seen).all()
    left = default_inputs  # model.attribute_cells=leave_out, the default
    assert left.episodes.outcomes[list(coded)].isna().all().all()
    assert len(left.provenance["attribute_cells_left_out"]) == sum(out[r].notna().sum() for r in coded)
    assert len(design(left).obs_y) == len(design(observed).obs_y) - len(left.provenance[
        "attribute_cells_left_out"])
