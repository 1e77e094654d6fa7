"""Hostile corpus, the command line: bad input is exit 2 and one line; a corrupted evidence log never tracebacks.

Part of the corpus of bad and hostile inputs (tests/hostile/corpus.py); nothing here fits a model.
"""

from __future__ import annotations

import json

import pytest
import yaml

import forecast

from .corpus import (
    EV_POLL,
    MARKER,
    POLL_FLAGS,
    ancestors,
    assert_cli_error,
    assert_inert_html,
    listings,
    merged,
    no_marker_anywhere,
    poll_flags,
    run_cli,
    sub,
    tree,
)

CLI_CASES = [
    # traversing scenario names
    pytest.param(["scenario=../../x"], r"override 'scenario=\.\./\.\./x': unknown scenario", id="scenario-traversal"),
    pytest.param(["scenario=..%2f..%2fetc%2fpasswd"], r"unknown scenario", id="scenario-encoded"),
    pytest.param(["scenario=/etc/passwd"], r"unknown scenario '/etc/passwd'", id="scenario-absolute"),
    # `_target_` through an override
    pytest.param(["+scenario._target_=os.system"], r"`_target_` is not allowed", id="target-override"),
    # not a key=value override
    pytest.param(["no_equals_sign"], r"unknown command 'no_equals_sign'; use one of the commands: .*; or give "
                 r"settings as key=value", id="not-an-override"),
    # wrong type for a sampler setting
    pytest.param(["sampler.draws=abc"], r"sampler.draws: 'abc' is not a whole number", id="draws-abc"),
    pytest.param(["sampler.target_accept=1.3"], r"sampler.target_accept: 1.3 is not in", id="target-accept"),
    # dates: future, words, impossible, short
    pytest.param(["as_of=2999-01-01"], r"as_of: 2999-01-01 is in the future", id="as-of-future"),
    pytest.param(["as_of=yesterday"], r"as_of: 'yesterday' is not a date", id="as-of-word"),
    pytest.param(["as_of=2026-02-30"], r"as_of: '2026-02-30' is not a date", id="as-of-feb-30"),
    # `forecast evidence` with bad flags
    pytest.param(["evidence", "add", "--bogus"], r"unrecognized arguments: --bogus", id="evidence-unknown-flag"),
    pytest.param(["evidence", "add"], r"give an entry kind", id="evidence-no-kind"),
    pytest.param(["evidence", "frobnicate"], r"invalid choice: 'frobnicate'", id="evidence-unknown-command"),
    pytest.param(["evidence", "add", "poll", "--id", "E-x"], r"required", id="evidence-missing-flags"),
    # probability 1.3
    pytest.param(["evidence", "add", "poll", *poll_flags(share_opposed="1.3")], r"'share_opposed': 1.3 is outside",
                 id="evidence-share-1.3"),
    # negative n
    pytest.param(["evidence", "add", "poll", *poll_flags(n="-5")], r"'n': -5 is outside", id="evidence-n-negative"),
    pytest.param(["evidence", "add", "poll", *poll_flags(date_known="2999-01-01")], r"2999-01-01 is in the future",
                 id="evidence-future"),
    pytest.param(["evidence", "add", "poll", *poll_flags(date="2026-02-30")], r"'2026-02-30' is not a date",
                 id="evidence-feb-30"),
    pytest.param(["evidence", "add", "poll", *poll_flags(id="../../" + MARKER)], r"key 'id': .* is not a valid id",
                 id="evidence-traversing-id"),
    # a summary of two lines
    pytest.param(["evidence", "add", "poll", *poll_flags(summary="a\nb")], r"'summary': missing, more than one line",
                 id="evidence-multiline-summary"),
    pytest.param(["evidence", "add", "episode", "--id", "E-z", "--date-known", "2026-01-01", "--source", "s",
                  "--summary", "x", "--action-type", "one_time_raid", "--date", "2026-01-01", "--response", "noequals"],
                 r"--response 'noequals': expected NAME=VALUE", id="evidence-response-no-equals"),
    # an unknown action type
    pytest.param(["evidence", "add", "episode", "--id", "E-z", "--date-known", "2026-01-01", "--source", "s",
                  "--summary", "x", "--action-type", "invasion", "--date", "2026-01-01", "--response", "x=1"],
                 r"unknown action type 'invasion'", id="evidence-unknown-action"),
    pytest.param(["evidence", "list", "--as-of", "2999-01-01"], r"--as-of: 2999-01-01 is in the future",
                 id="evidence-list-future"),
    pytest.param(["evidence", "check", "--as-of", "26-1-1"], r"--as-of: '26-1-1' is not a date",
                 id="evidence-check-short-date"),
    pytest.param(["evidence", "check", "--data-dir", "/nonexistent/" + MARKER], r"attributes.yaml: file not found",
                 id="evidence-missing-data-dir"),
    # `forecast scheduled` / `history` argument errors
    pytest.param(["scheduled", "--wait", "abc"], r"argument --wait: invalid float value: 'abc'", id="scheduled-wait"),
    pytest.param(["history", "--start"], r"argument --start: expected one argument", id="history-start-missing"),
    pytest.param(["history", "--replay", "--scenario", "../../x"], r"scenario '\.\./\.\./x': unknown scenario",
                 id="history-traversing-scenario"),
    pytest.param(["scenarios", "scenario=../../x"], r".", id="scenarios-extra-args"),
    # Hydra's own errors: multi-line, not `forecast: error:`
    pytest.param(["priors=../../x"], r"priors", id="hydra-priors-traversal"),
    pytest.param(["scenario@scenario=../../x"], r"scenario", id="hydra-package-override"),
    # argparse's usage dump and a useless message ("forecast history: 2")
    pytest.param(["history", "--bogus"], r"unrecognized arguments: --bogus", id="history-unknown-flag"),
    pytest.param(["scheduled", "--bogus"], r"unrecognized arguments: --bogus", id="scheduled-unknown-flag"),
    # a raw exception escapes main(): no `except Exception` for subcommands
    pytest.param(["history", "--replay", "--start", "yesterday"], r"--start", id="history-start-word"),
    pytest.param(["history", "--replay", "--start", "2999-01-01"], r"--start", id="history-start-future"),
    # would reach the sampler: validation lets a traversing scenario.name through
    pytest.param(["scenario.name=../../" + MARKER], r"scenario.name", id="scenario-name-traversal"),
]


@pytest.mark.parametrize(("argv", "pattern"), CLI_CASES)
def test_cli_bad_input_is_exit_2_and_one_line(home, tmp_path, tmp_path_factory, capsys, argv, pattern):
    watch = ancestors(home / "data" / "evidence", tmp_path_factory.getbasetemp())
    before = listings(*watch, home / "data" / "evidence", home / "conf")
    code, err = run_cli(argv, capsys)
    assert_cli_error(code, err, pattern)
    assert listings(*watch, home / "data" / "evidence", home / "conf") == before
    no_marker_anywhere(tmp_path)


CORRUPTIONS = [
    # malformed YAML in one entry
    pytest.param("E-bad.yaml", b"id: E-bad\nsummary: [unclosed\n", r"E-bad.yaml, line \d+: malformed YAML", id="yaml"),
    # NUL bytes
    pytest.param("E-bad.yaml", b"id: E-bad\x00\n", r"E-bad.yaml: contains NUL bytes", id="nul"),
    # not UTF-8
    pytest.param("E-bad.yaml", b"id: E-caf\xe9\n", r"E-bad.yaml: not UTF-8 text", id="latin1"),
    # empty
    pytest.param("E-bad.yaml", b"", r"E-bad.yaml: file is empty", id="empty"),
    # a list, not an entry
    pytest.param("E-bad.yaml", b"- 1\n- 2\n", r"E-bad.yaml: expected a mapping", id="list"),
    # a shipped entry whose share was corrupted
    pytest.param("E-2026-01-cripeso-poll.yaml", None, r"'share_opposed': 3.9 is outside", id="value"),
    # an entry whose id does not match its file
    pytest.param("E-renamed.yaml", None, r"does not match the file name", id="renamed"),
]


@pytest.mark.parametrize(("name", "data", "pattern"), CORRUPTIONS)
def test_cli_evidence_check_on_a_corrupted_log(home, capsys, name, data, pattern):
    ev = home / "data" / "evidence"
    if name == "E-renamed.yaml":
        (ev / "E-2026-01-cripeso-poll.yaml").rename(ev / name)
    elif data is None:
        sub("evidence/" + name, "share_opposed: 0.39", "share_opposed: 3.9")(home / "data")
    else:
        (ev / name).write_bytes(data)
    before = tree(ev)
    code, err = run_cli(["evidence", "check"], capsys)
    assert_cli_error(code, err, pattern)
    code, err = run_cli(["evidence", "add", "poll", *POLL_FLAGS], capsys)  # the log must be valid before it grows
    assert_cli_error(code, err, pattern)
    assert tree(ev) == before


def test_cli_evidence_check_never_tracebacks(home, capsys):
    (home / "data" / "evidence" / "E-bad.yaml").write_text("id: E-bad\n1: a\nfoo: b\n", encoding="utf-8")
    code, err = run_cli(["evidence", "check"], capsys)
    assert code in (2, 70) and "Traceback" not in err and len(err.splitlines()) == 1


def test_cli_evidence_add_file_with_traversing_id(home, tmp_path, tmp_path_factory, capsys):
    src = tmp_path / "entry.yaml"
    src.write_text(yaml.safe_dump(merged(EV_POLL, {"id": f"../../../{MARKER}"})), encoding="utf-8")
    watch = ancestors(home / "data" / "evidence", tmp_path_factory.getbasetemp())
    # the settings composed once before, as by any earlier command (kept in .cache/derived/compose/): the refused
    # command below then writes nothing at all under tmp_path
    forecast.compose([])
    before_tree, before_dirs = tree(tmp_path), listings(*watch)
    code, err = run_cli(["evidence", "add", "--file", str(src)], capsys)
    assert_cli_error(code, err, r"new evidence entry, key 'id': '(\.\./){3}pwned-by-hostile-test' is not a valid id")
    assert tree(tmp_path) == before_tree and listings(*watch) == before_dirs
    no_marker_anywhere(tmp_path)


@pytest.mark.parametrize("content", [b"- not: a mapping\n", b"id: [unclosed\n", b"\xff\xfe", b""],
                         ids=["list", "malformed", "utf16", "empty"])
def test_cli_evidence_add_file_that_is_not_an_entry(home, tmp_path, capsys, content):
    src = tmp_path / "entry.yaml"
    src.write_bytes(content)
    before = tree(home / "data" / "evidence")
    code, err = run_cli(["evidence", "add", "--file", str(src)], capsys)
    assert_cli_error(code, err, r"entry.yaml")
    assert tree(home / "data" / "evidence") == before


def test_cli_scheduled_with_future_as_of(home, tmp_path, tmp_path_factory, capsys, restore_forecast_logger):
    """Refused before any fit; the run is recorded as invalid input in the target reports dir and nowhere else."""
    reports = tmp_path / "reports"
    watch = ancestors(tmp_path, tmp_path_factory.getbasetemp())
    before = listings(*watch, home)
    code, err = run_cli(["scheduled", "as_of=2999-01-01", f"paths.reports={reports}"], capsys)
    # the scheduled log's stream handler repeats the error with a timestamp (see the report)
    assert_cli_error(code, err, r"as_of: 2999-01-01 is in the future", log_lines=True)
    runs = [json.loads(ln) for ln in (reports / "runs.jsonl").read_text().splitlines()]
    assert [r["status"] for r in runs] == ["invalid input"]
    assert "\n" not in runs[0]["reason"]
    assert_inert_html((reports / "runs.html").read_text(encoding="utf-8"))
    assert_inert_html((reports / "index.html").read_text(encoding="utf-8"))
    # the failed run raised its alert: the log, the feed and the digest (issue 17)
    assert_inert_html((reports / "digest.html").read_text(encoding="utf-8"))
    assert sorted(p.name for p in reports.iterdir()) == ["alerts.jsonl", "digest.html", "digest.md", "feed.xml",
                                                        "index.html", "logs", "runs.html", "runs.jsonl"]
    assert listings(*watch, home) == {**before, str(tmp_path): sorted([*before[str(tmp_path)], "reports"])}
