"""Hostile corpus, yAML structure attacks: object tags, aliases (billion laughs), deep nesting, odd keys.

Part of the corpus of bad and hostile inputs (tests/hostile/corpus.py); nothing here fits a model.
"""

from __future__ import annotations

import inspect
import re
import sys

import pytest
import yaml

from forecast.errors import InputError
from forecast.inputs.data import load_ontology
from forecast.inputs.evidence import load_evidence
from forecast.inputs.readers import MAX_BYTES

from ..conftest import TODAY
from .corpus import ATTR, EV_POLL, MARKER, append_text, entry, load_all, merged, one_line


def test_python_object_tag_is_refused_not_constructed(data_copy, tmp_path):
    """``!!python/object/apply:os.system`` is refused by the safe loader: nothing runs, one-line error."""
    flag = tmp_path / f"{MARKER}.flag"
    entry(f"id: !!python/object/apply:os.system ['touch {flag}']\n", "E-bad.yaml")(data_copy)
    with pytest.raises(InputError) as exc:
        load_all(data_copy)
    assert re.search(r"E-bad.yaml, line 1: malformed YAML \(could not determine a constructor", one_line(exc.value))
    assert not flag.exists()


def test_explicit_timestamp_tag_is_still_validated(data_copy):
    """``!!timestamp`` builds a date object behind the string-only resolver: it is still checked for the future."""
    text = yaml.safe_dump(merged(EV_POLL, {"date_known": "X"}))
    text = text.replace("date_known: X", "date_known: !!timestamp 2999-01-01")
    entry(text, "E-2026-10-h-poll.yaml")(data_copy)
    with pytest.raises(InputError) as exc:
        load_all(data_copy)
    assert "2999-01-01 is in the future" in one_line(exc.value)


def _laughs(depth: int) -> str:
    items = ["&l0 [" + ",".join(["lol"] * 9) + "]"]
    items += [f"&l{i} [" + ",".join([f"*l{i - 1}"] * 9) + "]" for i in range(1, depth)]
    return "[" + ", ".join(items) + "]"


def test_billion_laughs_is_refused(data_copy):
    text = yaml.safe_dump(merged(EV_POLL, {"source": "X"})).replace("source: X", f"source: {_laughs(7)}")
    entry(text, "E-2026-10-h-poll.yaml")(data_copy)
    assert len(text) < 1000
    try:
        log = load_evidence(data_copy / "evidence", load_ontology(data_copy), TODAY)
    except InputError as e:
        one_line(e, "E-2026-10-h-poll.yaml")
        return
    loaded = next(e for e in log.entries if e.id == EV_POLL["id"])
    assert len(loaded.source) <= MAX_BYTES, f"{len(text)} bytes of YAML became a {len(loaded.source)}-char source"


def test_deeply_nested_yaml_is_one_line_error(data_copy):
    """5000 levels of '[' (a 10 kB file) exhaust the default recursion limit in PyYAML's composer but take 7 s to
    parse; the limit is lowered here so that 1000 levels show the same failure in a fraction of a second."""
    entry("id: E-bad\nsummary: " + "[" * 1000 + "]" * 1000 + "\n", "E-bad.yaml")(data_copy)
    o = load_ontology(data_copy)
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(len(inspect.stack()) + 300)
    try:
        with pytest.raises(InputError) as exc:
            load_evidence(data_copy / "evidence", o, TODAY)
    finally:
        sys.setrecursionlimit(old)
    one_line(exc.value, "E-bad.yaml")


def test_mixed_type_unknown_keys_are_one_line_error(data_copy):
    entry("id: E-bad\n1: a\nfoo: b\n", "E-bad.yaml")(data_copy)
    with pytest.raises(InputError) as exc:
        load_all(data_copy)
    one_line(exc.value, "E-bad.yaml")


@pytest.mark.parametrize("where", ["evidence-key", "attribute-key", "evidence-file-name"])
def test_newline_in_key_or_file_name_keeps_error_one_line(data_copy, where):
    if where == "evidence-key":
        entry('id: E-bad\n"a\\nforecast: error: forged": 1\n', "E-bad.yaml")(data_copy)
    elif where == "attribute-key":
        append_text(ATTR, '\n"x\\nforecast: error: forged": {type: boolean}\n')(data_copy)
    else:
        entry("id: E-bad\n", "E-bad\nforecast: error: forged.yaml")(data_copy)
    with pytest.raises(InputError) as exc:
        load_all(data_copy)
    one_line(exc.value)


@pytest.mark.parametrize("summary", ["visible\rHIDDEN", "one\u2028two", "\x1b[2J\x1b[31mred"],
                         ids=["cr", "u2028", "ansi"])
def test_control_characters_in_summary_are_refused(data_copy, summary):
    entry(EV_POLL, summary=summary)(data_copy)
    with pytest.raises(InputError) as exc:
        load_all(data_copy)
    one_line(exc.value, "summary")
