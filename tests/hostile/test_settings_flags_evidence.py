"""Hostile corpus, issue #9 items 1, 3, 4 and issue #15 items 4, 5, 6: dates before the data, Hydra's own flags,
typed settings, and the evidence log validated the same way on the way in and on the way out.

Every bad case ends in exit 2 and exactly one ``forecast: error:`` line naming the key (or flag, file, field), the
value and what is allowed; every good case does what a Hydra user expects. Nothing here fits a model: the fit guard
of tests/hostile/conftest.py raises ``WouldFit`` (a case that reaches it passed every check, as some must).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

import forecast
from forecast.cli.main import main
from forecast.errors import InputError
from forecast.inputs import readers
from forecast.inputs.data import load_ontology, load_polls
from forecast.inputs.evidence import add_entry, load_evidence, read_entry_file

from ..conftest import TODAY
from .corpus import EV_POLL, POLL_FLAGS, WouldFit, assert_cli_error, entry, one_line, poll_flags, run_cli


@pytest.fixture(autouse=True)
def _restore_logging():
    """Hydra's --info/--hydra-help configure logging with handlers on the captured streams of this test: remove
    them afterwards (a later test would log into a closed stream)."""
    import logging

    loggers = [logging.getLogger(), *(logging.getLogger(n) for n in ("hydra", "forecast"))]
    saved = [(lg, list(lg.handlers), lg.level, lg.propagate) for lg in loggers]
    yield
    for lg, handlers, level, propagate in saved:
        for h in list(lg.handlers):
            if h not in handlers:
                lg.removeHandler(h)
        lg.setLevel(level)
        lg.propagate = propagate


def run_full(argv: list[str], capsys) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    cap = capsys.readouterr()
    return exc.value.code, cap.out, cap.err


# ====================================================================== typed settings (issue #15 item 4)
SETTINGS_CASES = [
    pytest.param(["all_scenarios=maybe"], r"all_scenarios: 'maybe' is not true or false", id="bool-maybe"),
    pytest.param(["evidence=no"], r"evidence: 'no' is not true or false", id="bool-no"),
    pytest.param(["evidence=yes"], r"evidence: 'yes' is not true or false", id="bool-yes"),
    pytest.param(["report.figures=1"], r"report.figures: 1 is not true or false", id="bool-1"),
    pytest.param(["-m", "evidence=true,no"], r"evidence: 'no' is not true or false", id="bool-in-sweep"),
    pytest.param(["model.sigma_cell=nan"], r"model.sigma_cell: nan is not a finite number in \(0, 100\]",
                 id="model-nan"),
    pytest.param(["model.sigma_cell=0"], r"model.sigma_cell: 0.0 is not in \(0, 100\]", id="model-zero"),
    pytest.param(["model.sigma_house=-1"], r"model.sigma_house: -1.0 is not in \(0, 100\]", id="model-negative"),
    pytest.param(["model.mu_alpha_sd=inf"], r"model.mu_alpha_sd: inf is not a finite number", id="model-inf"),
    pytest.param(["model.quadrature_nodes=0"], r"model.quadrature_nodes: 0 is not a whole number in \[1, 64\]",
                 id="model-nodes-zero"),
    pytest.param(["model.opinion_reference=1"], r"model.opinion_reference: 1.0 is not in \(0, 1\)",
                 id="model-reference-1"),
    pytest.param(["model.poll_window_days=-5"], r"model.poll_window_days: -5 is not a whole number",
                 id="model-window-negative"),
    pytest.param(["model.sigma_cell=abc"], r"model.sigma_cell: 'abc' is not a finite number", id="model-text"),
    pytest.param(["+model.extra=1"], r"model.extra: unknown key; use only: .*model_version", id="model-extra-key"),
    pytest.param(["model.extra=1"], r"model.extra: unknown key", id="model-extra-key-no-plus"),
    pytest.param(["seed=18446744073709551616"], r"seed: 18446744073709551616 is not a whole number in "
                 r"\[0, 4294967295\]", id="seed-2-64"),
    pytest.param(["seed=-1"], r"seed: -1 is not a whole number", id="seed-negative"),
    pytest.param(["seed=1.5"], r"seed: 1.5 is not a whole number", id="seed-fraction"),
    pytest.param(["sampler.chains=0"], r"sampler.chains: 0 is not a whole number in \[1, 64\]", id="chains-zero"),
    pytest.param(["sampler.nuts_sampler=stan"], r"sampler.nuts_sampler: 'stan' is not one of nutpie, pymc",
                 id="sampler-unknown"),
    pytest.param(["report.top_n=-1"], r"report.top_n: -1 is not a whole number in \[0, 1000\]", id="top-n-negative"),
    pytest.param(["report.max_rhat=0.5"], r"report.max_rhat: 0.5 is not in \[1, 10\]", id="max-rhat"),
    pytest.param(["paths.reports=/"], r"paths.reports: '/' is the filesystem root", id="reports-root"),
    pytest.param(["paths.reports=/etc/../"], r"paths.reports: '/etc/\.\./' is the filesystem root",
                 id="reports-root-dotdot"),
    pytest.param(["paths.cache=/etc/forecast"], r"paths.cache: '/etc/forecast' is a system folder",
                 id="cache-in-etc"),
    pytest.param(["paths.data=/usr"], r"paths.data: '/usr' is a system folder", id="data-usr"),
    pytest.param(["paths.reports=/tmp"], r"paths.reports: '/tmp' is a shared system folder",  # noqa: S108
                 id="reports-tmp"),
    pytest.param(["hydra.run.dir=/"], r"hydra.run.dir: '/' is the filesystem root", id="hydra-run-root"),
    pytest.param(["hydra.run.dir=/proc/x"], r"hydra.run.dir: '/proc/x' is a system folder", id="hydra-run-proc"),
    pytest.param(["-m", "hydra.sweep.dir=/sys/x", "scenario=one_time_raid,air_strikes"],
                 r"hydra.sweep.dir: '/sys/x' is a system folder", id="hydra-sweep-sys"),
    pytest.param(["as_of=2026-13-01"], r"as_of: '2026-13-01' is not a date", id="as-of-month-13"),
    pytest.param(["-m", "sampler.draws=100,abc"], r"sampler.draws: 'abc' is not a whole number", id="sweep-bad-value"),
    pytest.param(["as_of=1900-01-01"], r"as_of: 1900-01-01 is before any data \(the first precedent is dated "
                 r"1914-04-21\); use a date from 1914-04-21 on", id="as-of-before-data"),
    pytest.param(["as_of=1914-04-20"], r"as_of: 1914-04-20 is before any data", id="as-of-day-before-data"),
]


@pytest.mark.parametrize(("argv", "pattern"), SETTINGS_CASES)
def test_bad_setting_is_exit_2_and_one_line(home, capsys, argv, pattern):
    code, err = run_cli(argv, capsys)
    line = assert_cli_error(code, err, pattern)
    assert not (home / ".cache" / "posteriors").exists(), line


@pytest.mark.parametrize("override", ["as_of=2026-01-02", "as_of=1914-04-21", "evidence=false", "seed=4294967295"])
def test_good_setting_reaches_the_fit(home, capsys, override):
    """The issue's `forecast as_of=2026-01-02` (no poll known yet) passes every check and reaches the sampler."""
    with pytest.raises(WouldFit):
        main([override, f"paths.cache={home / '.cache'}"])
    assert "internal error" not in capsys.readouterr().err


def test_scheduled_before_any_data_is_recorded_as_invalid_input(home, tmp_path, capsys, restore_forecast_logger):
    reports = tmp_path / "reports"
    code, err = run_cli(["scheduled", "as_of=1900-01-01", f"paths.reports={reports}"], capsys)
    assert_cli_error(code, err, r"as_of: 1900-01-01 is before any data", log_lines=True)
    runs = [json.loads(ln) for ln in (reports / "runs.jsonl").read_text().splitlines()]
    assert [r["status"] for r in runs] == ["invalid input"]


def test_compose_refuses_what_omegaconf_would_coerce():
    """The Python API holds the same line: `evidence: no` from an override is not silently false."""
    with pytest.raises(InputError, match=r"evidence: 'no' is not true or false"):
        forecast.compose(["evidence=no"])
    cfg = forecast.compose(["evidence=false", "model.sigma_cell=0.25", "seed=0"])
    assert cfg.evidence is False and cfg.model.sigma_cell == 0.25 and cfg.seed == 0


# ====================================================================== Hydra's own flags (issue #9 item 3)
FLAG_ERRORS = [
    pytest.param(["--cfg", "bogus"], r"argument --cfg/-c: invalid choice: 'bogus'", id="cfg-bogus"),
    pytest.param(["--resolve"], r"--resolve: only works with --cfg or --help", id="resolve-alone"),
    pytest.param(["--package", "sampler"], r"--package: only works with --cfg", id="package-alone"),
    pytest.param(["--cfg", "job", "--info"], r"--cfg and --info together", id="cfg-and-info"),
    pytest.param(["-m", "--cfg", "job"], r"--multirun and --cfg together", id="multirun-and-cfg"),
    pytest.param(["--info", "bogus"], r"argument --info/-i: invalid choice: 'bogus'", id="info-bogus"),
    pytest.param(["--config-dir", "/nonexistent"], r"--config-dir: not supported", id="config-dir"),
    pytest.param(["--config-path", "/nonexistent"], r"--config-path: not supported", id="config-path"),
    pytest.param(["--config-name", "x"], r"--config-name: not supported", id="config-name"),
    pytest.param(["--experimental-rerun", "/nonexistent/config.pickle"],
                 r"--experimental-rerun: not supported: it unpickles",
                 id="experimental-rerun"),
    pytest.param(["--bogus"], r"unrecognized arguments: --bogus", id="unknown-flag"),
    pytest.param(["--cfg", "job", "evidence=no"], r"evidence: 'no' is not true or false", id="cfg-bad-override"),
    pytest.param(["--cfg", "job", "sampler=bogus"], r"unknown sampler 'bogus'", id="cfg-bad-group"),
    pytest.param(["--help", "model.sigma_cell=-1"], r"model.sigma_cell: -1.0 is not in", id="help-bad-override"),
]


@pytest.mark.parametrize(("argv", "pattern"), FLAG_ERRORS)
def test_hydra_flag_misuse_is_exit_2_and_one_line(home, capsys, argv, pattern):
    code, err = run_cli(argv, capsys)
    assert_cli_error(code, err, pattern)


def test_cfg_job_prints_the_config_and_its_types(home, capsys):
    """The issue's `forecast --cfg job` (it said "override 'job': not of the form key=value")."""
    code, out, err = run_full(["--cfg", "job", "sampler.draws=300"], capsys)
    assert code == 0 and err == ""
    cfg = yaml.safe_load(out)  # still YAML: the types are comments
    assert cfg["sampler"]["draws"] == 300 and cfg["scenario"]["name"] == "one_time_raid" and "hydra" not in cfg
    assert re.search(r"^# seed +int +a whole number in \[0, 4294967295\]$", out, re.M)
    assert re.search(r"^# evidence +bool +true or false$", out, re.M)
    assert re.search(r"^# model.sigma_cell +float +a finite number in \(0, 100\]$", out, re.M)


@pytest.mark.parametrize(("argv", "check"), [
    (["--cfg", "hydra"], lambda out: set(yaml.safe_load(out)) == {"hydra"} and "run:" in out and "sweep:" in out),
    (["--cfg", "all"], lambda out: "hydra:" in out and "scenario:" in out),
    (["--cfg", "job", "--resolve", "--package", "sampler"],
     lambda out: yaml.safe_load(out) == {"name": "nutpie", "nuts_sampler": "nutpie", "draws": 2000, "tune": 400,
                                         "chains": 4, "cores": 2, "target_accept": 0.9, "first_draws": 1000}),
    (["--cfg", "hydra", "--package", "hydra.job", "--resolve"], lambda out: "chdir: false" in out),
    (["--info", "defaults"], lambda out: "forecast_schema" in out and "scenario/one_time_raid" in out),
    (["--info", "searchpath"], lambda out: "conf" in out),
    (["--hydra-help"], lambda out: "--cfg" in out and "hydra/launcher" in out),
    (["--shell-completion", "install=bash"], lambda out: "hydra_bash_completion" in out),
], ids=["cfg-hydra", "cfg-all", "cfg-package-resolve", "cfg-hydra-package", "info-defaults", "info-searchpath",
        "hydra-help", "shell-completion-install"])
def test_hydra_flag_works(home, capsys, argv, check):
    code, out, err = run_full(argv, capsys)
    assert code == 0 and "error" not in err, err
    assert check(out), out[:2000]


def test_help_lists_commands_groups_options_and_types(home, capsys):
    code, out, _ = run_full(["--help"], capsys)
    assert code == 0
    assert "forecast evidence add|check|list" in out and "Exit status:" in out
    groups = dict(re.findall(r"^(\w+): (.+)$", out.split("== Configuration groups ==")[1].split("== Config ==")[0],
                             re.M))
    assert set(groups) == {"scenario", "priors", "sampler", "model", "report", "alerts", "sweep", "words"}
    assert groups["sampler"] == "nutpie, pymc" and "repeated_raids" in groups["scenario"]
    assert re.search(r"^  sampler.draws +int +a whole number in \[10, 100000\]$", out, re.M)
    assert "all_scenarios: false" in out  # the composed config


def test_shell_completion_query_completes_groups_and_keys(home, capsys, monkeypatch):
    monkeypatch.setenv("COMP_LINE", "forecast scenario=")
    code, out, _ = run_full(["--shell-completion", "query=bash"], capsys)
    assert code == 0 and "scenario=repeated_raids" in out.split()
    monkeypatch.setenv("COMP_LINE", "forecast model.sigma_c")
    code, out, _ = run_full(["-sc", "query=bash"], capsys)
    assert code == 0 and out.split() == ["model.sigma_cell="]


def test_subcommands_keep_working(home, capsys):
    code, out, err = run_full(["scenarios"], capsys)
    assert code == 0 and out.splitlines()[0].startswith("air_strikes")
    code, out, err = run_full(["evidence", "check"], capsys)
    assert code == 0 and "evidence log valid" in err


# ====================================================================== the evidence log (issue #15 item 5)
RLO, ZWSP, LRI = "\u202e", "\u200b", "\u2066"

EVIDENCE_CLI_CASES = [
    pytest.param(poll_flags(id="E-a") + ["--id", "E-b"], r"argument --id: given more than once", id="repeated-id-flag"),
    pytest.param(poll_flags() + ["--share-opposed", "0.9"], r"argument --share-opposed: given more than once",
                 id="repeated-share-flag"),
    pytest.param(poll_flags() + ["--wording", "a", "--wording", "b"], r"argument --wording: given more than once",
                 id="repeated-optional-flag"),
    pytest.param(poll_flags(summary=f"poll {RLO}lanigiro"), r"'summary': contains U\+202E RIGHT-TO-LEFT OVERRIDE",
                 id="summary-rlo"),
    pytest.param(poll_flags(source=f"https://ex{ZWSP}ample.org"), r"'source': contains U\+200B ZERO WIDTH SPACE",
                 id="source-zwsp"),
    pytest.param(poll_flags(pollster=f"{LRI}P"), r"'poll.pollster': contains U\+2066 LEFT-TO-RIGHT ISOLATE",
                 id="pollster-lri"),
    pytest.param(poll_flags() + ["--wording", "a\tb"], r"'poll.wording': contains U\+0009", id="wording-tab"),
    pytest.param(poll_flags() + ["--wording", "a\x1b[31mred"], r"'poll.wording': contains U\+001B",
                 id="wording-escape"),
    pytest.param(poll_flags(summary="x" * 501), r"'summary': is 501 characters, over the 500-character limit",
                 id="summary-too-long"),
    pytest.param(poll_flags(pollster="p" * 201), r"'poll.pollster': is 201 characters", id="pollster-too-long"),
]


@pytest.mark.parametrize(("flags", "pattern"), EVIDENCE_CLI_CASES)
def test_evidence_add_refuses(home, capsys, flags, pattern):
    before = sorted(p.name for p in (home / "data" / "evidence").iterdir())
    code, err = run_cli(["evidence", "add", "poll", *flags], capsys)
    assert_cli_error(code, err, pattern)
    assert sorted(p.name for p in (home / "data" / "evidence").iterdir()) == before


EPISODE = ["evidence", "add", "episode", "--id", "E-ep", "--date-known", "2026-01-01", "--source", "s", "--summary",
           "x", "--action-type", "one_time_raid", "--date", "2026-01-01"]


@pytest.mark.parametrize(("extra", "pattern"), [
    (["--response", "diplomatic_protest=1", "--response", "diplomatic_protest=0"],
     r"--response 'diplomatic_protest=0': 'diplomatic_protest' is given more than once"),
    (["--response", "diplomatic_protest=1", "--attribute", "severity=5", "--attribute", "severity=1"],
     r"--attribute 'severity=1': 'severity' is given more than once"),
    (["--response", "diplomatic_protest=1", "--action-type", "air_strikes"],
     r"argument --action-type: given more than once"),
], ids=["repeated-response-name", "repeated-attribute-name", "repeated-action-type"])
def test_evidence_add_episode_repeats_are_errors(home, capsys, extra, pattern):
    code, err = run_cli([*EPISODE, *extra], capsys)
    assert_cli_error(code, err, pattern)


def test_ids_are_unique_regardless_of_case(home, capsys):
    code, err = run_cli(["evidence", "add", "poll", *poll_flags(id="E-Case")], capsys)
    assert code == 0, err
    code, err = run_cli(["evidence", "add", "poll", *poll_flags(id="e-case", n="901")], capsys)
    assert_cli_error(code, err, r"\(entry e-case\), key 'id': an entry with this id exists "
                                r"\(data/evidence/E-Case.yaml; ids are compared regardless of case\)")
    entry(EV_POLL, id="e-CASE", poll={"n": 555})(home / "data")  # written by hand
    code, err = run_cli(["evidence", "check"], capsys)
    assert_cli_error(code, err, r"duplicate id '(E-Case|e-CASE)' \(also data/evidence/(e-CASE|E-Case).yaml\)")


def test_the_same_poll_twice_is_refused_both_ways(home, capsys):
    code, err = run_cli(["evidence", "add", "poll", *poll_flags(id="E-p1")], capsys)
    assert code == 0, err
    code, err = run_cli(["evidence", "add", "poll", *poll_flags(id="E-p2", pollster=" P ")], capsys)
    assert_cli_error(code, err, r"\(entry E-p2\), poll: repeats poll E-p1 in data/evidence \(same pollster, date, "
                                r"n and share_opposed\): it would count twice")
    # the El Financiero poll of the shipped log, entered again under a new id
    code, err = run_cli(["evidence", "add", "poll", "--id", "E-ef-again", "--date-known", "2026-02-05", "--source",
                         "s", "--summary", "again", "--pollster", "El Financiero", "--date", "2026-01-31", "--n",
                         "1000", "--share-opposed", "0.788"], capsys)
    assert_cli_error(code, err, r"repeats poll E-2026-02-elfinanciero-poll in data/evidence")
    # by hand, past the CLI: the loader says the same
    doc = yaml.safe_load((home / "data" / "evidence" / "E-p1.yaml").read_text())
    doc["id"] = "E-p3"
    (home / "data" / "evidence" / "E-p3.yaml").write_text(yaml.safe_dump(doc), encoding="utf-8")
    code, err = run_cli(["evidence", "check"], capsys)
    assert_cli_error(code, err, r"E-p3.yaml \(entry E-p3\), poll: repeats the poll of entry E-p1")


def test_a_poll_repeating_polls_csv_is_refused(home, capsys):
    csv_path = home / "data" / "polls.csv"
    csv_path.write_text(csv_path.read_text() + "CSV-1,Pollster X,2026-10-30,900,0.8,likelihood,w,adults,src,\n",
                        encoding="utf-8")
    code, err = run_cli(["evidence", "add", "poll", *poll_flags(id="E-x", pollster="pollster x")], capsys)
    assert_cli_error(code, err, r"repeats poll CSV-1 in data/polls.csv")
    entry(EV_POLL, id="E-x", date_known="2026-11-01", poll={"pollster": "Pollster X", "date": "2026-10-30", "n": 900,
                                   "share_opposed": 0.8})(home / "data")
    with pytest.raises(InputError) as exc:
        forecast.load_inputs(forecast.compose([]), TODAY)
    assert "repeats poll CSV-1" in one_line(exc.value, "E-x")


@pytest.mark.parametrize("where", ["summary", "source", "poll.wording", "poll.pollster", "key"])
def test_invisible_characters_in_a_hand_written_entry(home, capsys, where):
    changes = {"summary": {"summary": f"a{RLO}b"}, "source": {"source": f"s{ZWSP}"},
               "poll.wording": {"poll": {"wording": f"{LRI}w"}}, "poll.pollster": {"poll": {"pollster": "P\u2029"}},
               "key": {"poll": {f"note{ZWSP}": "x"}}}[where]
    entry(EV_POLL, **changes)(home / "data")
    code, err = run_cli(["evidence", "check"], capsys)
    assert_cli_error(code, err, r"E-2026-10-h-poll.yaml \(entry E-2026-10-h-poll\), key '.*': contains U\+")


def test_add_never_writes_what_the_loader_refuses(home, tmp_path, monkeypatch):
    """An entry file under the size limit as given (JSON, which is YAML) but over it as it would be written (YAML
    doubles each quote) is refused before anything is written; with room for it, it is written and loads back."""
    ev = home / "data" / "evidence"
    ont, polls = load_ontology(home / "data"), load_polls(home / "data" / "polls.csv", TODAY)
    raw = {**EV_POLL, "id": "E-size", "summary": "'" * 480 + " (quoted)"}
    given = tmp_path / "entry.json"
    given.write_text(json.dumps(raw), encoding="utf-8")
    entry_as_given = read_entry_file(given)
    written = len(yaml.safe_dump(raw, sort_keys=False, allow_unicode=True).encode())
    limit = (given.stat().st_size + written) // 2
    assert given.stat().st_size < limit < written and max(p.stat().st_size for p in ev.glob("*.yaml")) < limit
    monkeypatch.setattr(readers, "MAX_BYTES", limit)
    before = sorted(p.name for p in ev.iterdir())
    assert read_entry_file(given) == entry_as_given  # the loader takes the file as given
    with pytest.raises(InputError) as exc:
        add_entry(ev, entry_as_given, ont, TODAY, polls)
    assert re.search(r"data/evidence/E-size.yaml: file is \d+ bytes, over the \d+-byte limit", one_line(exc.value))
    assert sorted(p.name for p in ev.iterdir()) == before
    monkeypatch.setattr(readers, "MAX_BYTES", written)
    path = add_entry(ev, entry_as_given, ont, TODAY, polls)
    assert path.stat().st_size == written
    assert raw["summary"] in [e.summary for e in load_evidence(ev, ont, TODAY).entries]


def test_add_file_with_hidden_characters_deep_inside(home, tmp_path, capsys):
    f = tmp_path / "entry.yaml"
    doc = {**EV_POLL, "id": "E-deep", "poll": {**EV_POLL["poll"], "wording": f"ok then {RLO}}} hidden"}}
    f.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    code, err = run_cli(["evidence", "add", "--file", str(f)], capsys)
    assert_cli_error(code, err, r"\(entry E-deep\), key 'poll.wording': contains U\+202E")
    assert not (home / "data" / "evidence" / "E-deep.yaml").exists()


def test_poll_flags_are_what_the_corpus_expects():
    assert POLL_FLAGS[POLL_FLAGS.index("--n") + 1] == "900" and Path  # poll_flags edits these
