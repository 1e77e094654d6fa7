"""What moved since the last published brief, end to end: a brief, a new poll, the next brief attributes the change
to the poll in points with its noise band; the same inputs fitted exactly (no longer a PSIS update) is a brief whose
only cause is how the posterior was obtained, its own row; one more run on the same cached posterior: nothing moved.

Costs one exact fit (the poll's state; the first brief is the session's default posterior, cached)."""

from __future__ import annotations

import json

import pytest

from forecast.cli.main import main
from forecast.inputs.data import load_ontology
from forecast.inputs.evidence import add_entry

from .conftest import TODAY

# a poll of its own: no other test fits this state, so the first brief with it is a PSIS update, not a cache hit
POLL = {"id": "E-2026-11-brief-poll", "date_known": "2026-11-02", "source": "test corpus", "kind": "poll",
        "summary": "A large poll with near-unanimous opposition (brief test)",
        "poll": {"pollster": "Brief Test Pollster", "date": "2026-10-30", "n": 4000, "share_opposed": 0.96,
                 "wording": "test"}}
SWITCH = "posterior obtained by exact fit, was PSIS update"


def _run(over: list[str], capsys) -> tuple[dict, str]:
    with pytest.raises(SystemExit) as e:
        main(over)
    out = capsys.readouterr()
    assert e.value.code == 0, out.err
    reports = next(o.split("=", 1)[1] for o in over if o.startswith("paths.reports="))
    from pathlib import Path

    return json.loads((Path(reports) / "one_time_raid" / "forecast.json").read_text(encoding="utf-8")), out.out


@pytest.mark.slow
def test_a_poll_is_attributed_in_points_and_a_method_switch_is_its_own_row(default_fit, data_copy, session_cache,
                                                                          tmp_path, capsys):
    reports = tmp_path / "reports"
    over = [f"paths.data={data_copy}", f"paths.cache={session_cache}", f"paths.reports={reports}",
            "scenario=one_time_raid", "publish=true"]  # each brief published: a preview is never the last brief
    first, out = _run(over, capsys)
    assert first["brief"]["bottom_line"]["changed"]["status"] == "first" and "first brief" in out

    add_entry(data_copy / "evidence", POLL, load_ontology(data_copy), TODAY)
    second, out = _run(over, capsys)
    changed = second["brief"]["bottom_line"]["changed"]
    assert changed["compared"]["generated_at"] == first["generated_at"]
    top = changed["moves"][0]  # the largest move, in points, with its noise band and its causes
    assert isinstance(top["points"], float) and top["band_points"] > 0
    assert top["causes"][0]["cause"] == POLL["id"] and abs(top["causes"][0]["points"]) >= 0.5, top
    html = (reports / "one_time_raid" / "report.html").read_text(encoding="utf-8")
    assert "What moved since the last published brief" in html and "pts" in html and POLL["id"] in html
    assert POLL["id"] in out  # stdout names the move and its cause, or says no move is material
    if second["update"]["method"] != "psis":  # a Pareto k > 0.7: the exact path ran, no switch to show
        pytest.skip(f"the poll's brief was not a PSIS update ({second['update']}): no method switch to show")

    third, out = _run([*over, "update=refit"], capsys)  # the same inputs, fitted exactly
    assert third["inputs_hash"] == second["inputs_hash"] and third["update"]["method"] == "refit"
    ch = third["changes"]
    assert ch["parts"] == [SWITCH] and ch["previous"]["method"] == "PSIS update"
    for row in ch["rows"]:
        assert row[SWITCH] == row["change"]  # the whole change is the switch: its own row, not a residual
    moves = third["brief"]["bottom_line"]["changed"]["moves"]
    assert all(m["causes"] == [] or m["causes"][0]["cause"] == SWITCH for m in moves)
    html = (reports / "one_time_raid" / "report.html").read_text(encoding="utf-8")
    assert SWITCH in html

    fourth, out = _run(over, capsys)  # the same cached exact posterior again: nothing moved
    assert fourth["changes"]["note"].endswith("nothing moved")
    assert "no material change" in out
