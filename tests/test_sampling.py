"""The posterior and the article-only prior sampled side by side (``forecast.model.sampling``) are the draws of each
sampled alone: a chain's draws follow from its seed, not from the thread or the number of cores that run it. Synthetic
world (tests/synthetic.py), 2 chains x 100 draws."""

from __future__ import annotations

import numpy as np
import pytest

from forecast.model.build import build_model
from forecast.model.sampling import sample

from .synthetic import simulate_inputs

SAMPLER = {"name": "nutpie", "nuts_sampler": "nutpie", "draws": 100, "tune": 100, "chains": 2, "cores": 2,
           "target_accept": 0.9}


def _draws(tree) -> dict[str, np.ndarray]:
    ds = tree["posterior"].to_dataset()
    return {v: ds[v].values for v in ds.data_vars}


@pytest.mark.slow
def test_side_by_side_sampling_gives_the_draws_of_each_sampled_alone():
    model = build_model(simulate_inputs(n_episodes=60, seed=3))
    said: list[str] = []
    both, _ = sample(model, SAMPLER, 5, False, said.append, prior_seed=11)  # side by side: one core each
    assert any("side by side" in s for s in said), said
    alone, _ = sample(model, SAMPLER, 5, False, None)  # the posterior alone, on both cores
    one_core, _ = sample(model, {**SAMPLER, "cores": 1}, 5, False, said.append, prior_seed=11)  # one after the other
    assert not any("side by side" in s for s in said[-1:]), said
    for got, want in ((both["posterior"], alone["posterior"]), (both["posterior"], one_core["posterior"]),
                      (both["prior"], one_core["prior"])):
        g, w = _draws(got), _draws(want)
        assert g.keys() == w.keys() and g
        for v in g:
            np.testing.assert_array_equal(g[v], w[v], err_msg=v)
    # the two samplings are not the same draws (the switch and the seed differ): the comparison can fail
    assert not np.array_equal(_draws(both["posterior"])["p"], _draws(both["prior"])["p"])
