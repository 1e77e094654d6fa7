"""``forecast check``'s options are checked before any work (no fitting here).

On main before this change ``forecast check --sbc -1`` fitted and back-tested for minutes and then crashed with
exit 70 inside the SBC; ``--min-history 0`` or a value past the number of episodes likewise got as far as the
back-test. Each bad value is now one line on stderr and exit 2, and the fit is never started (the fit function
is replaced by one that fails the test). ``--only`` takes a comma-separated list of checks.

``carry_over``: a check not selected by ``--only`` keeps its numbers and figures from the previous checks report
of the same posterior, never from another posterior's.
"""

from __future__ import annotations

import json

import pytest

from forecast.cli.main import main


@pytest.fixture
def no_fit(monkeypatch):
    import forecast.model.fit
    import forecast.usecases.checks

    def refuse(*a, **k):
        raise AssertionError("forecast check started fitting before checking its options")

    # where the check's fits are called: the use case's own name and the model's (the back-test imports it when
    # it runs); forecast.api only re-exports the use cases and calls no fit of the check
    monkeypatch.setattr(forecast.usecases.checks, "fit_config", refuse)
    monkeypatch.setattr(forecast.model.fit, "fit_config", refuse)


@pytest.mark.parametrize("args, words", [
    (["--sbc", "-1"], "--sbc"), (["--sbc", "two"], "--sbc"), (["--min-history", "0"], "--min-history"),
    (["--min-history", "500"], "--min-history"), (["--only", "loo,nonsense"], "nonsense"),
    (["--only", "backtest,nonsense"], "prior,ppc,loo,sensitivity,track,claims,backtest,sbc"),  # the valid names
    (["--only", "sbc"], "--sbc"), (["--only", ""], "--only"), (["--only", "backtest", "--no-backtest"], "--only"),
])
def test_bad_options_are_refused_in_one_line_before_any_work(args, words, no_fit, tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        main(["check", *args, f"paths.reports={tmp_path}"])
    err = capsys.readouterr().err.strip()
    assert e.value.code == 2, err
    assert len(err.splitlines()) == 1 and words in err, err
    assert not (tmp_path / "checks").exists()


def test_selected_checks():
    from forecast.analysis.checks.run import CHECKS, selected
    from forecast.cli.check import CHECK_NAMES

    assert CHECK_NAMES == CHECKS  # the CLI's list is the analysis layer's (the CLI does not import it eagerly)
    assert selected(None) == [c for c in CHECKS if c != "sbc"]
    assert selected(None, sbc_simulations=3)[-1] == "sbc"
    assert selected(["backtest", "loo"]) == ["loo", "backtest"]
    assert selected(None, backtest=False) == [c for c in CHECKS if c not in ("sbc", "backtest")]


def test_carry_over_keeps_unselected_checks_of_the_same_posterior_only(tmp_path):
    from forecast.outputs.checks_report import CHECKS_DIR, carry_over

    d = tmp_path / CHECKS_DIR
    d.mkdir()
    old = {"inputs_hash": "abc", "checks_run": ["loo", "backtest"], "loo": {"elpd": -60.0},
           "backtest": {"ok": True, "n_cells": 9}}
    (d / "checks.json").write_text(json.dumps(old))
    (d / "reliability.png").write_bytes(b"png-backtest")
    (d / "loo_k.png").write_bytes(b"png-loo")
    new = {"inputs_hash": "abc", "checks_run": ["loo"], "loo": {"elpd": -61.0}}
    figs = {"loo_k": b"new"}
    carry_over(tmp_path, new, figs)
    assert new["backtest"] == old["backtest"] and new["loo"] == {"elpd": -61.0}
    assert new["carried_over"] == ["backtest"]
    assert figs == {"loo_k": b"new", "reliability": b"png-backtest"}
    other = {"inputs_hash": "xyz", "checks_run": ["loo"], "loo": {"elpd": -61.0}}
    figs2: dict = {}
    carry_over(tmp_path, other, figs2)
    assert "backtest" not in other and "carried_over" not in other and figs2 == {}
