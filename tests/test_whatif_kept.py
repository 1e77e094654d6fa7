"""``forecast whatif`` from the draws a report kept (``forecast.analysis.whatif.kept``): the same answer as the full
path, found only when valid, a damaged or stale file a miss (the command falls back), and numpy only.

No MCMC: the draws are seeded random parameters turned into the report's ``Draws`` by the code the report uses
(tests/whatif_draws.py). The end-to-end run on a fitted posterior (a report run keeps them, the command answers
from them, a damaged file falls back to the same answer) is in tests/test_imports.py (slow tier)."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import forecast
from forecast.analysis import whatif as W
from forecast.analysis.whatif import kept
from forecast.model import fit
from forecast.outputs.uptodate import Keys, file_state
from forecast.usecases.whatif import find_kept

from .synthetic import simulate_inputs
from .test_imports import NUMERICAL, heavy, loaded_by
from .whatif_draws import draws_from_fit, fake_fit, with_opinion_signs

FORMS = {  # every form `forecast whatif --help` lists, alone and together
    "poll, new pollster": [W.Poll(0.85, 1000)],
    "poll, known pollster": [W.Poll(0.7, 900, "B")],
    "episode (an executed response implies its threat)": [W.Episode("a2", (("r0", 1), ("r2", 1), ("r5", 0)))],
    "judgement": [W.Judgement("a3", "r0", 0.3, 0.6, 0.8)],
    "all together": [W.Poll(0.6, 400), W.Episode("a1", (("r3", 1),)), W.Judgement("a0", "r5", 0.1, 0.3, 0.9),
                     W.Poll(0.75, 500, "A")],
}
SETTINGS = {"shipped": {}, "ablations": {"episode_opinion": "reference", "claims_per_action": "each"}}


@pytest.fixture(scope="module")
def posterior():
    """Synthetic inputs (opinion signs set, so current and reference opinion differ) and a fake posterior."""
    inputs = with_opinion_signs(simulate_inputs(n_episodes=12, seed=3), {"r0": 1, "r3": -1, "r5": 1})
    return inputs, fake_fit(inputs, chains=2, draws=400, seed=4, pollsters=["A", "B"], kappa=1.5)


def _draws(posterior, settings: dict, base_update: bool):
    inputs, fitted = posterior
    inputs = dataclasses.replace(inputs, hyper={**inputs.hyper, **settings})
    cfg = forecast.compose(["report.whatif_draws=600"])
    d = draws_from_fit(cfg, inputs, fitted, "a2", n_draws=600, command="forecast seed=3")
    if base_update:  # the report's posterior is itself a PSIS update: its log ratio goes with the draws
        d = dataclasses.replace(d, base_log_ratio=(2.0 * (d.theta - 0.7)).astype(np.float32))
    return inputs, d


def _answer_json(res: W.Result) -> dict:
    out = res.to_json()
    out.pop("answered_from")
    return out


@pytest.mark.parametrize("base_update", [False, True], ids=["exact fit", "PSIS update"])
@pytest.mark.parametrize("settings", list(SETTINGS))
def test_the_kept_draws_answer_as_the_full_path(posterior, settings, base_update, tmp_path):
    """Written by ``kept.keep`` and read back by ``kept.load``, the draws (with the names, chains and settings the
    file holds instead of the inputs) give every form's answer equal to the full path's on the same draws: every
    mean and HDI bound to 1e-12, the Pareto k, ESS and refit commands identical. Decisive: each form moves some
    response's mean by more than 1e-3 (so equal answers are not two unchanged tables), and the same draws read with
    one setting lost (the episode at the current opinion instead of the reference one, claims counted once) or a
    chain wrong (r2 requiring r4, not r1) move the answer by far more than 1e-12. (With one action, a judgement's
    term is the same whether claims count once or per action: nothing to lose there.)"""
    inputs, d = _draws(posterior, SETTINGS[settings], base_update)
    path = kept.keep(tmp_path, "a2", {"format": "1", "settings": "s", "published": "p"}, {"files": {}}, d, inputs)
    meta, k = kept.load(path)
    assert "published" not in meta["key"] and meta["hyper"] == inputs.hyper
    for form, items in FORMS.items():
        full = W.reweight(d, items, inputs)
        got = W.reweight(k.draws, items, k.inputs)
        a, b = _answer_json(got), _answer_json(full)
        rows_a, rows_b = a.pop("rows"), b.pop("rows")
        assert a == b, form
        assert [r["id"] for r in rows_a] == [r["id"] for r in rows_b]
        diff = max(abs(x[c] - y[c]) for x, y in zip(rows_a, rows_b, strict=True) for c in x if c.endswith(
            ("_mean", "_low", "_high")))
        assert diff <= 1e-12, (form, diff)
        moved = max(abs(r["after_mean"] - r["before_mean"]) for r in rows_b)
        assert moved > 1e-3, (form, moved)

    def off(res_a: W.Result, res_b: W.Result) -> float:
        return max(abs(x["after_mean"] - y["after_mean"]) for x, y in zip(res_a.rows, res_b.rows, strict=True))

    ep = FORMS["episode (an executed response implies its threat)"]
    if settings == "ablations":
        shipped = dataclasses.replace(k.draws, consts={**k.draws.consts, "episode_reference": False})
        assert off(W.reweight(shipped, ep, k.inputs), W.reweight(d, ep, inputs)) > 1e-4
    chains = kept.KeptOntology(k.draws.actions, k.draws.responses, {r: [] for r in k.draws.responses} | {"r2": ["r4"]})
    broken = dataclasses.replace(k.inputs, ontology=chains)
    assert off(W.reweight(k.draws, ep, broken), W.reweight(d, ep, inputs)) > 1e-4


def _keep_for(cfg, name: str, d, inputs, posterior_file: Path) -> Path:
    """Draws kept as a report run of ``cfg`` keeps them for scenario ``name`` (its key, its posterior file)."""
    cache = Path(cfg.paths.cache)
    post = {"files": {str(posterior_file.relative_to(cache)): file_state(posterior_file)}, "absent": []}
    return kept.keep(cache, name, Keys(cfg, [name]).key(name), post, d, inputs)


@pytest.fixture
def home_cfg(tmp_path):
    """A config whose cache and reports are in ``tmp_path`` (what a kept file is checked against), and a stand-in
    posterior file there."""
    cache = tmp_path / "cache"
    post = cache / "posterior" / "x.nc"
    post.parent.mkdir(parents=True)
    post.write_bytes(b"a posterior")
    overrides = [f"paths.cache={cache}", f"paths.reports={tmp_path / 'reports'}", "scenario=one_time_raid"]
    return forecast.compose(overrides), overrides, post


def test_only_valid_kept_draws_are_found_and_a_damaged_file_is_a_miss(posterior, home_cfg):
    """``find_kept`` serves the file only under the key it was kept with and while the posterior files are as
    recorded; another setting, a changed posterior file, a missing file, a flipped byte or a cut file are each a
    miss with its reason (the command then answers from the posterior), and finding never changes the file."""
    cfg, overrides, post = home_cfg
    inputs, d = _draws(posterior, {}, False)
    path = _keep_for(cfg, "one_time_raid", d, inputs, post)
    found, why = find_kept(cfg, "one_time_raid")
    assert found is not None and why == "" and str(path) in found.said
    np.testing.assert_array_equal(found.draws.eta, d.eta)

    other = forecast.compose([*overrides, "seed=7"])
    assert find_kept(other, "one_time_raid") == (None, "the draws kept by one_time_raid's report are stale: "
                                                       "the settings changed")
    assert find_kept(cfg, "air_strikes")[1].startswith("no draws kept by a report of air_strikes")
    # whether a run publishes changes no number: the draws a published run kept (the scheduled run's) answer a plain
    # command and the reverse (they were "stale: the settings changed", and the command took the full path)
    published = forecast.compose([*overrides, "publish=true"])
    assert _keep_for(published, "one_time_raid", d, inputs, post) == path
    assert find_kept(cfg, "one_time_raid")[1] == "" and find_kept(published, "one_time_raid")[1] == ""
    assert find_kept(forecast.compose([*overrides, "publish=true", "seed=7"]), "one_time_raid")[1].endswith(
        "the settings changed")
    _keep_for(cfg, "one_time_raid", d, inputs, post)

    good = path.read_bytes()
    for damage in ("flip", "cut"):
        bad = bytearray(good)
        if damage == "flip":
            bad[len(bad) // 2] ^= 0xFF
        else:
            bad = bad[: len(bad) - 1000]
        path.write_bytes(bytes(bad))
        found, why = find_kept(cfg, "one_time_raid")
        assert found is None and "is damaged" in why and "\n" not in why, damage
        assert path.read_bytes() == bytes(bad)
    path.write_bytes(good)
    assert find_kept(cfg, "one_time_raid")[0] is not None

    post.write_bytes(b"another posterior, refitted")
    assert find_kept(cfg, "one_time_raid") == (None, "the draws kept by one_time_raid's report are stale: the cached "
                                                     "posterior it came from is gone or changed")


def test_the_kept_path_imports_numpy_and_no_numerical_library(posterior, home_cfg, tmp_path, monkeypatch):
    """``forecast whatif --poll`` and ``--episode`` answered from kept draws, through the command line in a fresh
    process: it says whose draws answered, and loads none of pandas, xarray, scipy, PyMC, PyTensor, matplotlib,
    ArviZ, HDF5 (the audit sees them: tests/test_imports.py). With the file damaged, the what-if says why in one line
    and goes on to the posterior (stopped there: the slow test below answers from a fitted one)."""
    cfg, overrides, post = home_cfg
    inputs, d = _draws(posterior, {}, False)
    path = _keep_for(cfg, "one_time_raid", d, inputs, post)
    out = tmp_path / "answer.json"
    for items in (["--poll", "share=0.85,n=1000"], ["--episode", "action=a2,r2=1,r5=0", "--poll", "share=0.6,n=50"]):
        code = (f"import contextlib, sys\nfrom forecast.cli.main import main\n"
                f"with open({str(out)!r}, 'w') as fh, contextlib.redirect_stdout(fh):\n"
                f"    main({['whatif', '--json', *items, *overrides]!r})")
        status, mods, err = loaded_by(code, tmp_path)
        assert status == 0, err
        assert heavy(mods, NUMERICAL) == [], err
        assert json.loads(out.read_text())["answered_from"] == f"the draws kept by the report run of " \
            f"{kept.load(path)[0]['kept_at']} ({path})"
    path.write_bytes(path.read_bytes()[:-1000])
    said = []
    monkeypatch.setattr(fit, "fit_config", lambda *a, **k: pytest.fail("stop: the full path reached the posterior"))
    with pytest.raises(pytest.fail.Exception, match="the full path reached the posterior"):
        forecast.whatif(cfg, [("poll", "share=0.85,n=1000")], say=said.append)
    assert len(said) == 1 and "is damaged" in said[0] and "answering from the posterior" in said[0], said


CLI_FORMS = {
    "poll, new pollster": ["--poll", "share=0.85,n=1000"],
    "poll, known pollster": ["--poll", "share=0.7,n=900,pollster=El Financiero"],
    "episode and judgement": ["--episode", "action=repeated_raids,expel_agents=1,diplomatic_protest=0",
                              "--judgement", "action=air_strikes,response=diplomatic_protest,lower=0.2,upper=0.5"],
}


def _whatif(args: list[str]) -> tuple[dict, str]:
    proc = subprocess.run([sys.executable, "-m", "forecast", "whatif", "--json", *args], capture_output=True,
                          text=True, env=os.environ.copy(), timeout=1200)
    assert proc.returncode in (0, 3), proc.stderr
    return json.loads(proc.stdout), proc.stderr


@pytest.mark.slow
def test_a_report_run_keeps_the_draws_and_the_command_answers_from_them_as_from_the_posterior(default_fit,
                                                                                              session_cache, tmp_path):
    """On a fitted posterior: a report run keeps the scenario's draws; ``forecast whatif`` answers every form from
    them, and, the file damaged (cut), says so in one line and answers from the posterior: every mean and HDI bound
    equal to 1e-12, every other field equal. The what-if writes nothing: the reports and the (damaged) kept file are
    unchanged until a report run writes the file again."""
    reports, cache = tmp_path / "reports", tmp_path / "cache"
    # the session's fitted posterior in a cache of this test's own: the kept draws live in the cache folder, and a
    # report run of another test (the other worker, other settings) would overwrite the session cache's file between
    # this run and its what-ifs
    shutil.copytree(session_cache, cache, ignore=shutil.ignore_patterns("whatif", "derived", "logs", "hydra*"))
    base = [f"paths.cache={cache}", f"paths.reports={reports}", "scenario=one_time_raid", "force=true"]
    proc = subprocess.run([sys.executable, "-m", "forecast", *base], capture_output=True, text=True,
                          env=os.environ.copy(), timeout=1200)
    assert proc.returncode == 0, proc.stderr
    path = kept.kept_path(cache, "one_time_raid")
    assert path.is_file()
    base = base[:-1]
    answers = {}
    for form, items in CLI_FORMS.items():
        answers[form], err = _whatif([*items, *base])
        assert answers[form]["answered_from"].startswith("the draws kept by the report run of"), err
    cut = path.read_bytes()[:-5000]
    path.write_bytes(cut)
    state = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in reports.rglob("*") if p.is_file()}
    for form, items in CLI_FORMS.items():
        full, err = _whatif([*items, *base])
        said = [ln for ln in err.splitlines() if "is damaged" in ln]
        assert len(said) == 1 and "answering from the posterior" in said[0], err
        assert full.pop("answered_from") == "the posterior"
        got = dict(answers[form])
        got.pop("answered_from")
        rows_got, rows_full = got.pop("rows"), full.pop("rows")
        assert got == full, form
        assert max(abs(x[c] - y[c]) for x, y in zip(rows_got, rows_full, strict=True) for c in x
                   if c.endswith(("_mean", "_low", "_high"))) <= 1e-12, form
    assert path.read_bytes() == cut
    assert {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in reports.rglob("*") if p.is_file()} == state
