"""Hostile corpus, path traversal: no name or id reaches outside the folder the tool writes.

Part of the corpus of bad and hostile inputs (tests/hostile/corpus.py); nothing here fits a model.
"""

from __future__ import annotations

import shutil

import pytest

import forecast
from forecast.errors import ConfigError, InputError
from forecast.inputs import config
from forecast.inputs.evidence import add_entry

from ..conftest import TODAY
from .corpus import (
    EV_POLL,
    HOSTILE,
    MARKER,
    ancestors,
    listings,
    merged,
    no_marker_anywhere,
    one_line,
    put_scenario,
    scenario_text,
    tree,
)

TRAVERSING_NAMES = [
    "../../etc/passwd",            # classic relative traversal
    "..%2f..%2fetc%2fpasswd",      # URL-encoded slashes
    "/etc/passwd",                 # an absolute path
    "one_time_raid/../one_time_raid",  # a real name through a detour
    "scenario/one_time_raid",      # a name with a slash
    "one_time_raid.yaml",          # the file name instead of the name
    "..",                          # the parent itself
    "",                            # nothing
]


@pytest.mark.parametrize("name", TRAVERSING_NAMES)
def test_traversing_scenario_name_is_refused(home, name):
    with pytest.raises(ConfigError) as exc:
        config.load_scenario(name)
    assert "unknown scenario" in one_line(exc.value)
    with pytest.raises(ConfigError) as exc:
        forecast.compose([f"scenario={name}"])
    assert "unknown scenario" in one_line(exc.value)


@pytest.mark.parametrize(("group", "src"), [("priors", "conf/priors/article.yaml"),
                                            ("model", "conf/model/default.yaml"),
                                            ("sampler", "conf/sampler/pymc.yaml")])
def test_config_group_traversal_is_refused(home, group, src):
    shutil.copy(home / src, home / "outside.yaml")  # a valid file, but outside conf/
    with pytest.raises(ConfigError) as exc:
        forecast.compose([f"{group}=../../outside"])
    one_line(exc.value, group)


@pytest.mark.parametrize("how", ["override", "file"])
def test_scenario_name_cannot_escape_the_reports_dir(home, how):
    from forecast.outputs.contract import report_dir

    if how == "override":
        overrides = [f"scenario.name=../../{MARKER}"]
    else:
        put_scenario(home, scenario_text(name=f"../../{MARKER}"))
        overrides = ["scenario=bad"]
    try:
        cfg = forecast.compose(overrides)
    except ConfigError as e:
        one_line(e, "scenario")
        return
    reports = config.paths(cfg)["reports"]
    out = report_dir(config.paths(cfg)["reports"], cfg.scenario.name).resolve()
    assert out.is_relative_to(reports.resolve()), f"the report would be written to {out}"


EVIL_IDS = [
    "../x", "../../" + MARKER, "a/b", "..", ".", ".hidden", "E-1/../../" + MARKER, "E-1\\..\\" + MARKER,
    "/var/tmp/" + MARKER,  # noqa: S108 - an absolute path as an id; never opened
    "E-1\x00", "~/" + MARKER, "E 1", "", "x" * 81, "é-accent",
]


@pytest.mark.parametrize("eid", EVIL_IDS)
def test_traversing_evidence_id_is_refused_and_nothing_written(data_copy, tmp_path, tmp_path_factory, ont, eid):
    evidence = data_copy / "evidence"
    watch = ancestors(evidence, tmp_path_factory.getbasetemp())
    before_tree, before_dirs = tree(tmp_path), listings(*watch)
    with pytest.raises(InputError) as exc:
        add_entry(evidence, merged(EV_POLL, {"id": eid}), ont, TODAY)
    assert "is not a valid id" in one_line(exc.value, "key 'id'")
    assert tree(tmp_path) == before_tree
    assert listings(*watch) == before_dirs
    no_marker_anywhere(tmp_path)


def test_add_entry_writes_only_its_own_file(data_copy, tmp_path, ont):
    """The happy path writes exactly ``evidence/<id>.yaml`` and leaves no temporary file behind."""
    before = tree(tmp_path)
    path = add_entry(data_copy / "evidence", merged(EV_POLL, {"summary": HOSTILE}), ont, TODAY)
    after = tree(tmp_path)
    assert set(after) - set(before) == {str(path.relative_to(tmp_path))}
    assert all(after[k] == v for k, v in before.items())
