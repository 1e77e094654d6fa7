"""Every refusal says how to fix it: the command meant, the number to write, every valid id; the ids a command takes
are listed by a command; an evidence entry is withdrawn, not deleted.

Each message below was, before, a dead end (quoted in each case): "not of the form key=value" for a misspelt
command, "not a probability" for 72%, "use the response ids of data/ontology/responses.csv" with no id, "add it to
data/ontology/responses.csv" for a typo, "no alerts" without where alerts come from, no command that lists the ids,
no way to withdraw an entry but deleting its file.
"""

from __future__ import annotations

import pytest

from forecast.cli.main import main

from .conftest import ROOT


def _run(argv: list[str], capsys) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as e:
        main(argv)
    out = capsys.readouterr()
    return int(e.value.code), out.out, out.err


def _error(argv: list[str], capsys) -> str:
    code, _, err = _run(argv, capsys)
    assert code == 2 and err.count("\n") == 1 and err.startswith("forecast: error: "), err
    return err


@pytest.mark.parametrize(("argv", "says"), [
    # was: "override 'judgment': not of the form key=value; write e.g. scenario=repeated_raids"
    (["judgment", "add"], "unknown command 'judgment'; did you mean 'judgement'? use one of the commands: actions, "),
    (["scenraios"], "did you mean 'scenarios'?"),
    # was: "unknown scenario 'one_time_raidd'; available: ..."
    (["scenario=one_time_raidd"], "unknown scenario 'one_time_raidd'; did you mean 'one_time_raid'? use one of: "),
])
def test_a_misspelt_command_or_scenario_is_answered_with_the_one_meant(argv, says, capsys):
    assert says in _error(argv, capsys)


def test_a_percentage_is_refused_with_the_number_to_write(data_copy, capsys):
    """was: "'72%' is not a probability; write a probability" (and in forecast whatif: "is not a number")."""
    err = _error(["evidence", "add", "--data-dir", str(data_copy), "poll", "--id", "E-x", "--date-known",
                  "2026-11-01", "--source", "s", "--summary", "s", "--pollster", "P", "--date", "2026-10-30", "--n",
                  "1000", "--share-opposed", "72%"], capsys)
    assert "'72%' is a percentage; write it as a probability: 0.72" in err
    assert not (data_copy / "evidence" / "E-x.yaml").exists()
    err = _error(["whatif", "--poll", "share=72%,n=1000"], capsys)
    assert "share: '72%' is a percentage; write it as a probability: 0.72" in err


def test_an_unknown_response_lists_the_valid_ones_with_the_one_meant(data_copy, capsys, monkeypatch):
    """was (whatif): "'expel' is not a response; use the response ids of data/ontology/responses.csv", after fitting
    the posterior; was (evidence add): "coded on response 'expel', which the ontology lacks; add it to
    data/ontology/responses.csv"."""
    from forecast.model import fit  # the what-if's full path imports fit_config from there when it runs

    monkeypatch.setattr(fit, "fit_config", lambda *a, **k: pytest.fail("fitted before checking the ids"))
    err = _error(["whatif", "--episode", "action=one_time_raid,expel=1"], capsys)
    assert "did you mean 'expel_agents'? use one of the responses (forecast responses lists them): " in err
    assert "armed_resistance" in err and "compromise_agent_security" in err
    err = _error(["evidence", "add", "--data-dir", str(data_copy), "episode", "--id", "E-x", "--date-known",
                  "2026-11-01", "--source", "s", "--summary", "s", "--action-type", "one_time_raid", "--date",
                  "2026-10-30", "--response", "expel=1"], capsys)
    assert "response 'expel': not a response" in err and "did you mean 'expel_agents'?" in err
    assert "add it to data/ontology" not in err and not (data_copy / "evidence" / "E-x.yaml").exists()
    err = _error(["whatif", "--episode", "action=one_time_raids,expel_agents=1"], capsys)
    assert "did you mean 'one_time_raid'? use one of the action types (forecast actions lists them)" in err


def test_responses_and_actions_list_the_ids_with_their_definitions(capsys):
    import csv

    code, out, _ = _run(["responses"], capsys)
    assert code == 0
    rows = list(csv.DictReader((ROOT / "data" / "ontology" / "responses.csv").open(encoding="utf-8")))
    for r in rows:
        assert f"  {r['id']} " in out and r["label"] in out
    assert "the Mexican military starts shooting at U.S. troops" in out  # a definition
    assert "any_executed_retaliation" in out and "Combined outcomes" in out
    code, out, _ = _run(["actions"], capsys)
    assert code == 0
    for r in csv.DictReader((ROOT / "data" / "ontology" / "actions.csv").open(encoding="utf-8")):
        assert f"  {r['id']} " in out and r["label"] in out
    assert "ground troops yes" in out


def test_no_alerts_says_where_alerts_come_from(tmp_path, capsys):
    """was: "no alerts in .../alerts.jsonl"."""
    code, out, err = _run(["alerts", f"paths.reports={tmp_path / 'reports'}"], capsys)
    assert code == 0 and out == ""
    assert "alerts come from `forecast scheduled` runs" in err and "its report says what moved" in err


def test_an_entry_is_withdrawn_and_restored_from_the_command_line(data_copy, capsys):
    entry = data_copy / "evidence" / "E-2026-01-cripeso-poll.yaml"
    text = entry.read_bytes()
    code, _, err = _run(["evidence", "withdraw", "E-2026-01-cripeso-poll", "--reason", "wording misreported",
                         "--data-dir", str(data_copy)], capsys)
    assert code == 0 and "withdrew E-2026-01-cripeso-poll" in err and "forecast evidence restore" in err
    assert not entry.exists() and (data_copy / "withdrawn" / entry.name).read_bytes() == text
    code, out, _ = _run(["evidence", "list", "--data-dir", str(data_copy)], capsys)
    assert code == 0 and "E-2026-01-cripeso-poll" not in out
    err = _error(["evidence", "withdraw", "E-nope", "--reason", "x", "--data-dir", str(data_copy)], capsys)
    assert "no such entry" in err and "use one of: E-2026-01-command-centres-offer" in err
    code, _, err = _run(["evidence", "restore", "E-2026-01-cripeso-poll", "--data-dir", str(data_copy)], capsys)
    assert code == 0 and entry.read_bytes() == text
