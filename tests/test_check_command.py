"""``forecast check`` on the shipped model (default fit, cached for the session; the back-test and the fit
without the claims are skipped here: tests/test_checks.py runs the back-test on a synthetic world,
tests/test_backtest_published.py checks what it fits at each date) and the report section it feeds.

Asserted: every artefact is written, the numbers come from the default posterior, the one-time
raid's armed resistance depends most on the claim about exactly that cell (C29), the leave-one-episode-out
calibration is reported on every coded cell (the consent cells left out by default, so with and without
them agree), a second run with ``--only track`` keeps the other checks (numbers and figures) of the same
posterior, and the scenario report written afterwards shows the section in HTML, Markdown and forecast.json.
"""

from __future__ import annotations

import json

import pytest

from forecast.cli.main import main

pytestmark = pytest.mark.slow


def run(args, capsys):
    with pytest.raises(SystemExit) as e:
        main(args)
    return e.value.code, capsys.readouterr().err


def test_check_writes_the_checks_report_and_every_report_shows_its_section(default_fit, tmp_path, session_cache,
                                                                             capsys):
    paths = [f"paths.reports={tmp_path / 'reports'}", f"paths.cache={session_cache}"]
    code, err = run(["check", "--only", "prior,ppc,loo,sensitivity,track", *paths], capsys)
    assert code == 0, err
    d = tmp_path / "reports" / "checks"
    for f in ("checks.json", "checks.html", "checks.md", "ppc_counts.png", "loo_pit.png", "loo_k.png",
              "loo_reliability.png", "prior_claims.png", "psense_claims.png"):
        assert (d / f).is_file(), f
    c = json.loads((d / "checks.json").read_text())
    cal = c["loo"]["calibration"]
    # the consent cells restate the consent attribute and are no observation by default (model.attribute_cells=
    # leave_out), so "every cell" and "without the restating cells" are the same cells and the same z
    assert cal["all"]["n_cells"] == cal["without_restating"]["n_cells"] > 100
    assert cal["all"]["spiegelhalter"]["z"] == cal["without_restating"]["spiegelhalter"]["z"]
    assert sum(b["n"] for b in cal["all"]["reliability_bins"]) == cal["all"]["n_cells"]
    assert c["scorecard"]["loo_z"] == cal["all"]["spiegelhalter"]["z"]
    assert c["loo"]["vs_base_rate_action"]["n_episodes"] == c["loo"]["n"]
    assert c["headline"]["psense"]["probabilities"] == sum(len(s["summary"]) for s in c["sensitivity"].values())
    assert "backtest" not in c and "claims_loo" not in c
    assert c["inputs_hash"] == default_fit.inputs_hash
    assert {r["response"] for r in c["ppc"]["counts"]} and isinstance(c["ppc"]["flags"], list)
    assert c["loo"]["n"] == len(c["loo"]["per_episode"]) > 20
    assert all(0 <= r["prior_mean"] <= 1 for r in c["prior_check"]["claims"])
    assert set(c["sensitivity"]) >= {"one_time_raid", "repeated_raids"}
    raid = c["sensitivity"]["one_time_raid"]
    assert len(raid["top_claims"]["armed_resistance"]) == 3
    # the one-time raid's armed resistance depends most on the claim about exactly that cell (C29)
    assert raid["top_claims"]["armed_resistance"][0][0] == "one_time_raid_no_military_response"
    assert "track_record" in c and "one_time_raid" in c["track_record"]
    html = (d / "checks.html").read_text()
    assert "Posterior predictive check per response" in html and "<script" not in html
    assert "Calibration out of sample" in html

    # --only track: the other checks of the same posterior are kept, numbers and figures
    code, err = run(["check", "--only", "track", *paths], capsys)
    assert code == 0, err
    c2 = json.loads((d / "checks.json").read_text())
    assert c2["checks_run"] == ["track"] and set(c2["carried_over"]) == {"prior", "ppc", "loo", "sensitivity"}
    assert c2["loo"] == c["loo"] and c2["headline"]["loo"] == c["headline"]["loo"]
    assert (d / "loo_reliability.png").is_file() and (d / "psense_claims.png").is_file()

    code, err = run([*paths], capsys)
    assert code == 0, err
    rep = (tmp_path / "reports" / "one_time_raid" / "report.html").read_text()
    assert "How good are these probabilities?" in rep
    data = json.loads((tmp_path / "reports" / "one_time_raid" / "forecast.json").read_text())
    assert data["checks"]["inputs_hash"] == default_fit.inputs_hash
    md = (tmp_path / "reports" / "one_time_raid" / "report.md").read_text()
    assert "How good are these probabilities?" in md
