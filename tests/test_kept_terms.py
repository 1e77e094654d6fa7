"""Each change's log ratio is computed once and kept (forecast/model/reweight.py ``LogRatios._kept``): the same
numbers to the last bit, and never served for other draws or another poll window.

On one synthetic posterior (3 draws of the model of tests/test_terms.py), the changes from a state without three
episodes inside the poll window, without pollster B's poll, the signal and a cell claim: the log ratio computed with
nothing kept equals, bit for bit, the one computed while keeping each term on disk, and the one read back from disk
by a new ``LogRatios`` with every term function made to fail (so nothing is recomputed). Decisive: the same read
with the draws moved by 1e-3 in one value, or with ``as_of`` moved so that the three episodes leave the poll window,
must compute again (the failing term functions raise): a key missing the draws or the window would serve the kept
terms instead.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import numpy as np
import pytest

from forecast.inputs.data import Episodes
from forecast.model import reweight as R
from forecast.model import terms as T
from forecast.model.build import build_model
from forecast.model.reweight import LogRatios, diff, state

from .test_terms import _draws, _inputs, _points

FAMILY = {"f": 1}
TERM_FUNCTIONS = ("episode_loglik_eta", "_new_pollster", "cell_claim_loglik", "claim_loglik", "binom_logpmf_logit")


class Recomputed(RuntimeError):
    pass


@pytest.fixture(scope="module")
def world():
    inputs = _inputs({})
    model = build_model(inputs)
    tree = _draws(model, _points(model, n=3))
    ep = inputs.episodes
    keep = ep.table.index[3:]  # the first four are inside the poll window: three of them are the new evidence
    base = dataclasses.replace(inputs, episodes=Episodes(ep.table.loc[keep], ep.outcomes.loc[keep]),
                               polls=inputs.polls[inputs.polls["pollster"] == "A"], signals=[],
                               claims=[c for c in inputs.claims if c.name != "c_cell"])
    changes = diff(state(base, FAMILY), inputs, FAMILY)
    assert sorted(c.kind for c in changes) == ["claim", "episode", "episode", "episode", "poll", "signal"]
    assert changes[0].kind == "episode" and T.in_window(changes[0].new[0]["date"], inputs.as_of, inputs.hyper).all()
    return inputs, tree, changes


def _fail(*_a, **_k):
    raise Recomputed("a kept term was computed again")


def test_kept_terms_are_the_computed_ones_to_the_last_bit(world, tmp_path, monkeypatch):
    inputs, tree, changes = world
    R._TERMS.clear()
    plain = LogRatios(tree, inputs, ["A"]).total(changes)
    assert not list(tmp_path.rglob("*.npz"))
    assert np.all(np.abs(plain) > 1e-3)  # the changes move every draw: a term of zeros would show
    R._TERMS.clear()
    kept = LogRatios(tree, inputs, ["A"], cache=tmp_path).total(changes)
    assert kept.dtype == plain.dtype and np.array_equal(kept, plain)
    # one file per term: three episodes, pollster B's poll, the signal, the claim
    assert len(list((tmp_path / "derived" / "logratio").glob("*.npz"))) == 6

    R._TERMS.clear()
    for name in TERM_FUNCTIONS:
        monkeypatch.setattr(T, name, _fail)
    again = LogRatios(tree, inputs, ["A"], cache=tmp_path).total(changes)  # from disk, nothing computed
    assert np.array_equal(again, plain)
    here = LogRatios(tree, inputs, ["A"]).total(changes)  # in this process, without the cache folder
    assert np.array_equal(here, plain)


def test_kept_terms_are_not_served_for_other_draws_or_another_window(world, tmp_path):
    inputs, tree, changes = world
    R._TERMS.clear()
    LogRatios(tree, inputs, ["A"], cache=tmp_path).total(changes)
    R._TERMS.clear()
    moved = tree.copy(deep=True)
    moved["posterior"]["alpha"].values[0, 0, 0] += 1e-3
    with pytest.MonkeyPatch.context() as mp:
        for name in TERM_FUNCTIONS:
            mp.setattr(T, name, _fail)
        with pytest.raises(Recomputed):
            LogRatios(moved, inputs, ["A"], cache=tmp_path).total(changes)
        later = dataclasses.replace(inputs, as_of=inputs.as_of + dt.timedelta(days=900))
        assert not T.in_window(changes[0].new[0]["date"], later.as_of, later.hyper).any()
        with pytest.raises(Recomputed):
            LogRatios(tree, later, ["A"], cache=tmp_path).one(changes[0])
