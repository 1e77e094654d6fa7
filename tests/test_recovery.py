"""Parameter recovery on data simulated from known parameters (seeded, decisive).

800 synthetic episodes over 4 action types and 8 responses in two domains (one threat -> executed pair,
true cell deviations, one response never observed). Measured when this test was written: the correct
model's cell errors are 0.020 on average (worst 0.069); swapping two response columns gives 0.145 (worst
0.69), swapping action indices 0.069 (worst 0.33); misaligning the domain index leaves the unobserved
response at 0.40 instead of 0.64 (its domain-mates ~0.7, the other domain ~0.2).
"""

from __future__ import annotations

import numpy as np
import pytest

from forecast.model.build import BETA, P
from forecast.model.cache import posterior_path
from forecast.model.fit import fit, inputs_hash

from .synthetic import OBSERVED, TRUE_BETA, simulate_inputs, true_p_monte_carlo

SAMPLER = {"name": "nutpie", "nuts_sampler": "nutpie", "draws": 500, "tune": 500, "chains": 2, "cores": 2,
           "target_accept": 0.9}


@pytest.fixture(scope="module")
def recovered(tmp_path_factory):
    inputs = simulate_inputs(n_episodes=800, seed=7)
    fitted = fit(inputs, SAMPLER, seed=5, cache_dir=tmp_path_factory.mktemp("recovery"))
    return inputs, fitted


@pytest.mark.slow
def test_cell_probabilities_are_recovered(recovered):
    inputs, fitted = recovered
    truth = true_p_monte_carlo()
    post = fitted.idata["posterior"][P].mean(("chain", "draw")).to_pandas()
    err = (post[OBSERVED] - truth[OBSERVED]).abs()
    assert float(err.to_numpy().mean()) < 0.04, f"mean abs error {err.to_numpy().mean():.3f}: index swapped?\n{err}"
    assert float(err.to_numpy().max()) < 0.15, f"worst cell off by {err.to_numpy().max():.3f}\n{post}\n{truth}"
    # the executed response stays below its threat, as simulated
    assert (post["r2"] <= post["r1"] + 1e-9).all()


@pytest.mark.slow
def test_slopes_are_recovered(recovered):
    _, fitted = recovered
    beta = fitted.idata["posterior"][BETA]
    mean, sd = beta.mean(("chain", "draw")).to_numpy(), beta.std(("chain", "draw")).to_numpy()
    cols = [int(r[1:]) for r in OBSERVED]
    z = (mean[:, cols] - TRUE_BETA[:, cols]) / sd[:, cols]
    assert np.all(np.abs(z) < 3.5), f"slope z-scores {np.round(z, 2)}"
    # severity raises, voluntary consent lowers every observed response
    assert np.all(mean[0, cols] > 0) and np.all(mean[1, cols] < 0)


@pytest.mark.slow
def test_unobserved_response_borrows_from_its_domain(recovered):
    """r4 has no data; its domain-mates r0, r1, r5 are frequent, the other domain's r3, r6, r7 rare."""
    _, fitted = recovered
    p = fitted.idata["posterior"][P].mean(("chain", "draw")).to_pandas()
    truth = true_p_monte_carlo()
    hi = float(p[["r0", "r1", "r5"]].to_numpy().mean())
    lo = float(p[["r3", "r6", "r7"]].to_numpy().mean())
    r4 = float(p["r4"].mean())
    assert r4 > (hi + lo) / 2 + 0.1, f"r4 {r4:.2f} not pulled to its domain ({hi:.2f}) away from the other ({lo:.2f})"
    assert abs(r4 - float(truth["r4"].mean())) < 0.15


@pytest.mark.slow
def test_fit_is_cached_and_a_corrupt_cache_is_refitted(recovered, tmp_path):
    inputs, fitted = recovered
    assert not fitted.from_cache and fitted.path.is_file()
    again = fit(inputs, SAMPLER, seed=5, cache_dir=fitted.path.parents[1])
    assert again.from_cache and again.inputs_hash == fitted.inputs_hash
    # the cache stores draws as float32: equal to the fit's own draws at that precision
    np.testing.assert_allclose(again.idata["posterior"][P].to_numpy(), fitted.idata["posterior"][P].to_numpy(),
                               rtol=1e-6, atol=1e-7)
    # other sampler settings are another posterior (another file); a short run stands in for the long one below
    # (the cache's handling of a file does not depend on how many draws it holds: one 800-episode fit, not two)
    short = {**SAMPLER, "draws": 100, "tune": 100}
    assert inputs_hash(inputs, short, 5) != fitted.inputs_hash
    # a truncated posterior under the short run's hash (the start of the real fit's file, its HDF5 header intact):
    # the next fit must refit, not crash, and leave a whole file under the hash's name
    cache_dir = tmp_path / "c"
    target = posterior_path(cache_dir, inputs_hash(inputs, short, 5))
    target.parent.mkdir(parents=True)
    target.write_bytes(fitted.path.read_bytes()[:1000])
    refit = fit(inputs, short, seed=5, cache_dir=cache_dir)
    assert not refit.from_cache and refit.path == target
    assert target.is_file() and target.stat().st_size > 1000
    assert fit(inputs, short, seed=5, cache_dir=cache_dir).from_cache  # and the refitted file is read again
