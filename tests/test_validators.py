"""Every field validated in one place, before anything is written or run: each case below was let through (or
misnamed) before, and is now refused in one line naming the field and the fix, with nothing written.

Evidence entries (blank or unknown response codes and attributes, ``--file`` with the fields' flags, a concurrent
duplicate id), editor lock files named by their own path, judgement ids regardless of case and a judgement that
repeats one of the same analyst, a sampler that is not installed, standard output on a full disk, and a webhook
URL with a stray space (said without quoting the URL, which carries the token).
"""

from __future__ import annotations

import copy
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import yaml

import forecast.inputs.evidence as evidence_mod
from forecast.cli.main import main
from forecast.errors import InputError
from forecast.inputs.data import load_ontology
from forecast.inputs.evidence import add_entry

from .conftest import ROOT, TODAY

EPISODE_FLAGS = ["--id", "E-2026-11-v-raid", "--date-known", "2026-11-01", "--source", "https://example.org/r",
                 "--summary", "a raid", "--action-type", "one_time_raid", "--date", "2026-10-30"]
POLL_FLAGS = ["--id", "E-2026-11-v-poll", "--date-known", "2026-11-01", "--source", "https://example.org/p",
              "--summary", "a poll", "--pollster", "P", "--date", "2026-10-30", "--n", "900", "--share-opposed", "0.8"]


def run(argv: list[str], capsys) -> tuple[int, str]:
    with pytest.raises(SystemExit) as e:
        main(argv)
    err = capsys.readouterr().err
    return e.value.code, err


def one_line(err: str) -> str:
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert "Traceback" not in err and len(lines) == 1 and lines[0].startswith("forecast: error:"), err
    return lines[0]


def files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.parametrize(("flags", "pattern"), [
    (["--response", "diplomatic_protest="], r"episode.responses.diplomatic_protest: blank; code 1 \(happened\)"),
    (["--response", "diplomatic_protest=1", "--attribute", "colour=red"],
     r"episode.colour: unknown key; use only: action_type, consent, .*severity"),
    (["--response", "diplomatic_protest=1", "--attribute", "severity="], r"episode.severity: blank"),
])
def test_an_episode_that_carries_no_information_or_an_unknown_attribute_is_refused(data_copy, capsys, flags,
                                                                                     pattern):
    """Before: a blank response code was written (an entry that says nothing) and an unknown attribute was written
    and then ignored by every run."""
    before = files(data_copy)
    code, err = run(["evidence", "add", "--data-dir", str(data_copy), "episode", *EPISODE_FLAGS, *flags], capsys)
    assert code == 2 and __import__("re").search(pattern, one_line(err)), err
    assert files(data_copy) == before


def test_a_file_with_the_fields_flags_is_refused(data_copy, capsys, tmp_path):
    """Before: the file's entry was written and the flags dropped without a word."""
    entry = tmp_path / "e.yaml"
    entry.write_text(yaml.safe_dump({"id": "E-2026-11-v-file", "date_known": "2026-11-01", "source": "s",
                                     "summary": "from a file", "kind": "poll",
                                     "poll": {"pollster": "Q", "date": "2026-10-30", "n": 500,
                                              "share_opposed": 0.6}}))
    before = files(data_copy)
    code, err = run(["evidence", "add", "--data-dir", str(data_copy), "--file", str(entry), "poll", *POLL_FLAGS],
                    capsys)
    assert code == 2 and "--file given with a poll entry's flags" in one_line(err)
    assert files(data_copy) == before
    code, err = run(["evidence", "add", "--data-dir", str(data_copy), "--file", str(entry)], capsys)
    assert code == 0 and (data_copy / "evidence" / "E-2026-11-v-file.yaml").is_file()


def test_an_editors_lock_file_is_named_by_its_own_path(data_copy, capsys):
    """Before: Emacs's lock file (a dangling link) was refused naming the link's target, not the file in the
    folder."""
    lock = data_copy / "evidence" / ".#E-2026-02-elfinanciero-poll.yaml"
    lock.symlink_to("someone@host.4242:1700000000")
    code, err = run(["evidence", "check", "--data-dir", str(data_copy)], capsys)
    line = one_line(err)
    assert code == 2 and ".#E-2026-02-elfinanciero-poll.yaml: an editor's lock" in line
    assert "someone@host" not in line


POLL = {"id": "E-2026-11-race", "date_known": "2026-11-01", "source": "s", "summary": "a poll", "kind": "poll",
        "poll": {"pollster": "R", "date": "2026-10-30", "n": 700, "share_opposed": 0.7}}


@pytest.mark.parametrize("second_id", ["E-2026-11-race", "e-2026-11-RACE"])
def test_two_adds_of_one_id_at_the_same_moment_are_refused_like_one_after_the_other(data_copy, monkeypatch,
                                                                                      second_id):
    """Before: both passed the check for an existing id and the loser ended with exit 74 "File exists (EEXIST); a
    file stands where a folder belongs" (or, with ids differing only in case, both were written). The check is
    held open for 0.3 s so that the two adds overlap every time."""
    ont = load_ontology(data_copy)
    real = evidence_mod.load_evidence

    def slow(*a, **k):
        out = real(*a, **k)
        time.sleep(0.3)
        return out

    monkeypatch.setattr(evidence_mod, "load_evidence", slow)
    outcomes: list[object] = []

    def add(eid: str) -> None:
        try:
            outcomes.append(add_entry(data_copy / "evidence", {**copy.deepcopy(POLL), "id": eid,
                                                               "poll": {**POLL["poll"], "n": len(outcomes) + 700}},
                                      ont, TODAY))
        except Exception as e:  # noqa: BLE001 - the outcome is what is tested
            outcomes.append(e)

    threads = [threading.Thread(target=add, args=(eid,)) for eid in ("E-2026-11-race", second_id)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    errors = [o for o in outcomes if isinstance(o, Exception)]
    assert len(outcomes) == 2 and len(errors) == 1, outcomes
    assert isinstance(errors[0], InputError) and "an entry with this id exists" in str(errors[0]), errors[0]
    assert errors[0].exit_code == 2
    assert len(list((data_copy / "evidence").glob("*race*"))) + len(list((data_copy / "evidence").glob("*RACE*"))) \
        == 1


def test_an_editors_lock_file_among_judgements_is_named_as_one(tmp_path, capsys):
    """Before: `judgement check` with Emacs's lock file `.#J-x.yaml` (a dangling link) beside an analyst's
    judgements said "file not found; create it or point the config at the right file"."""
    data = tmp_path / "data"
    shutil.copytree(ROOT / "data", data)
    (data / "judgements" / "example-hawk" / ".#J-lock.yaml").symlink_to("someone@host.4242:1700000000")
    code, err = run(["judgement", "check", "--data-dir", str(data)], capsys)
    line = one_line(err)
    assert code == 2 and ".#J-lock.yaml: an editor's lock" in line and "create it" not in line, line


JUDGEMENT = ["--author", "V. Analyst", "--date-made", "2026-03-02", "--rationale", "why", "--source",
             "https://example.org", "--kind", "cell", "--actions", "one_time_raid", "--response",
             "expel_agents", "--lower", "0.1", "--upper", "0.3"]


def test_judgement_ids_regardless_of_case_and_a_repeated_judgement(tmp_path, capsys):
    """Before: an id differing only in case from an existing one was accepted (the same file on a case-insensitive
    file system), and a judgement identical to the analyst's existing one under a new id was accepted (that
    belief then counted twice in the analyst's forecast and in the pool). Restating it with `revises:` is fine."""
    data = tmp_path / "data"
    shutil.copytree(ROOT / "data", data)
    add = ["judgement", "add", "--data-dir", str(data), "--analyst", "v-ana"]
    assert run([*add, "--id", "J-v-one", *JUDGEMENT], capsys)[0] == 0
    before = files(data)
    code, err = run([*add, "--id", "j-V-ONE", *JUDGEMENT[:-4], "--lower", "0.2", "--upper", "0.4"], capsys)
    assert code == 2 and "a judgement with this id exists" in one_line(err) and "regardless of case" in err
    code, err = run([*add, "--id", "J-v-two", *JUDGEMENT], capsys)
    line = one_line(err)
    assert code == 2 and "repeats J-v-one of the same analyst" in line and "revises: J-v-one" in line
    assert files(data) == before
    assert run([*add, "--id", "J-v-two", "--revises", "J-v-one", *JUDGEMENT], capsys)[0] == 0
    # a judgement with --file and flags: the flags would be dropped
    jfile = tmp_path / "j.yaml"
    jfile.write_text((data / "judgements" / "v-ana" / "J-v-one.yaml").read_text().replace("J-v-one", "J-v-3"))
    code, err = run([*add, "--file", str(jfile), "--lower", "0.5"], capsys)
    assert code == 2 and "--file given with the judgement's flags (--lower)" in one_line(err)


def test_a_sampler_that_is_not_installed_is_refused_before_any_work(capsys):
    """Before: `sampler.nuts_sampler=blackjax` compiled the model and ended with exit 70 "ModuleNotFoundError: No
    module named 'jax'"."""
    import importlib.util

    if importlib.util.find_spec("jax") is not None:
        pytest.skip("jax is installed here")
    t0 = time.perf_counter()
    code, err = run(["sampler.nuts_sampler=blackjax"], capsys)
    line = one_line(err)
    assert code == 2 and "sampler.nuts_sampler: 'blackjax' is not installed here" in line and "nutpie" in line
    assert "compiling" not in err and time.perf_counter() - t0 < 60


def _sub(args: list[str], stdout=subprocess.PIPE, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "forecast", *args], env={**os.environ, "PYTHONPATH": str(ROOT), **env},
                          stdout=stdout, stderr=subprocess.PIPE, text=True, timeout=120)


def test_standard_output_on_a_full_disk_is_exit_74():
    """Before: `forecast scenarios > /dev/full` ended as an internal error (exit 70: OSError Errno 28); the README
    documents 74 for a full disk. A reader that went away stays 141, quietly."""
    with open("/dev/full", "w") as full:
        p = _sub(["scenarios"], stdout=full)
    assert p.returncode == 74, p.stderr
    assert "cannot write standard output" in one_line(p.stderr) and "ENOSPC" in p.stderr
    piped = subprocess.run(["/bin/bash", "-c", f"set -o pipefail; {sys.executable} -m forecast --help | true"],
                           env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True, timeout=120)
    assert piped.returncode == 141 and piped.stderr == ""


@pytest.mark.parametrize(("url", "where"), [("https://chat.example.org/hooks/T0KEN ", "a space at its end"),
                                            ("https://chat.example.org/hooks/T0 KEN", "a space at character 34"),
                                            (" https://chat.example.org/hooks/T0KEN", "a space at its start")])
def test_a_webhook_url_with_a_stray_space_says_what_is_wrong_and_never_the_secret(url, where):
    """Before: "internal error: InvalidURL" (exit 69): no leak, but the line said neither what was wrong nor
    where, and "internal error" is for bugs."""
    p = _sub(["alerts", "test", "alerts.webhook.enabled=true"], FORECAST_WEBHOOK_URL=url)
    assert p.returncode == 69, p.stderr
    line = next(ln for ln in p.stdout.splitlines() + p.stderr.splitlines() if ln.startswith("webhook:"))
    assert f"FORECAST_WEBHOOK_URL is not a usable webhook URL: it contains {where}" in line, line
    assert "T0KEN" not in p.stdout + p.stderr and "internal error" not in p.stdout + p.stderr
