"""Validation of every data file: each kind of bad row gets a one-line error naming file, row, column."""

from __future__ import annotations

import math

import pytest

from forecast.errors import InputError
from forecast.inputs.data import load_ontology, load_polls, load_precedents
from forecast.inputs.evidence import load_evidence

from .conftest import TODAY


def _edit(path, old, new, count=1):
    text = path.read_text()
    assert old in text, f"fixture text {old!r} not found in {path}"
    path.write_text(text.replace(old, new, count))


def _load_all(d):
    ont = load_ontology(d)
    load_precedents(d / "precedents.csv", ont, TODAY)
    load_polls(d / "polls.csv", TODAY)
    load_evidence(d / "evidence", ont, TODAY)


def test_shipped_data_is_valid_and_complete(data_copy):
    ont = load_ontology(data_copy)
    assert len(ont.action_ids) >= 6 and len(ont.response_ids) >= 12
    ep = load_precedents(data_copy / "precedents.csv", ont, TODAY)
    assert len(ep.table) == 27
    assert set(ep.outcomes.columns) == set(ont.response_ids)
    # every precedent keeps its sources and verified flag
    assert ep.table["sources"].str.len().min() > 10
    assert set(ep.table["verified"]) <= {"yes", "partial"}
    # every executed response links to a threat that exists
    for _, row in ont.responses.iterrows():
        if row["requires"]:
            assert row["form"] == "executed" and row["requires"] in ont.response_ids


def test_blank_stays_missing_never_zero(data_copy):
    ont = load_ontology(data_copy)
    ep = load_precedents(data_copy / "precedents.csv", ont, TODAY)
    # P01 (Veracruz 1914): threats to suspend cooperation are blank in the research CSV
    assert math.isnan(ep.outcomes.at["P01", "threat_suspend_coop"])
    assert ep.outcomes.at["P01", "armed_resistance"] == 1.0
    assert ep.outcomes.at["P03", "armed_resistance"] == 0.0
    # the speculative response has no precedent column: all missing
    assert ep.outcomes["compromise_agent_security"].isna().all()


def test_executed_implies_its_threat(data_copy):
    ont = load_ontology(data_copy)
    csv = data_copy / "precedents.csv"
    lines = csv.read_text().splitlines()
    header = lines[0].split(",")
    i_thr, i_exe = header.index("threat_expel_agents"), header.index("expel_agents")
    # P10 row: set expel_agents=1 with a blank threat -> the threat is implied
    row = next(i for i, line in enumerate(lines) if line.startswith("P10,"))
    import csv as _csv
    import io

    rows = list(_csv.reader(io.StringIO(csv.read_text())))
    rows[row][i_exe], rows[row][i_thr] = "1", ""
    buf = io.StringIO()
    _csv.writer(buf).writerows(rows)
    csv.write_text(buf.getvalue())
    ep = load_precedents(csv, ont, TODAY)
    assert ep.outcomes.at["P10", "threat_expel_agents"] == 1.0
    rows[row][i_thr] = "0"
    buf = io.StringIO()
    _csv.writer(buf).writerows(rows)
    csv.write_text(buf.getvalue())
    with pytest.raises(InputError, match=r"row \d+ \(id P10\), column 'threat_expel_agents'.*requires it"):
        load_precedents(csv, ont, TODAY)


@pytest.mark.parametrize(
    ("file", "old", "new", "pattern"),
    [
        # unknown category
        ("precedents.csv", ",economic_coercion,2,none,", ",economic_blockade,2,none,",
         r"precedents.csv, row 4 \(id P03\), column 'action_type': unknown action type 'economic_blockade'; "
         r"did you mean 'economic_coercion'\? use one of"),
        ("ontology/actions.csv", "5,none,true,military,one_time,false,A1", "5,maybe,true,military,one_time,false,A1",
         r"actions.csv, row 2 \(id air_strikes\), column 'consent': unknown consent level 'maybe'; use one of"),
        # domains are data (any id), but a stance is one of the model's three signs
        ("ontology/responses.csv", "armed_resistance,Armed resistance by Mexican forces,military,retaliatory,",
         "armed_resistance,Armed resistance by Mexican forces,military,hostile,",
         r"responses.csv, row 13 \(id armed_resistance\), column 'stance': unknown stance 'hostile'"),
        # probability outside [0, 1]
        ("polls.csv", ",435,0.80,likelihood,", ",435,1.3,likelihood,",
         r"polls.csv, row 2 \(id ARTICLE-80\), column 'share_opposed': 1.3 is outside \[0, 1\]; write a probability"),
        # malformed date
        ("precedents.csv", "P05,1990-04-02,", "P05,02/04/1990,",
         r"precedents.csv, row 6 \(id P05\), column 'date': '02/04/1990' is not a date; write it as YYYY-MM-DD"),
        # a date in the future
        ("precedents.csv", "P05,1990-04-02,", "P05,2030-04-02,",
         r"precedents.csv, row 6 \(id P05\), column 'date': 2030-04-02 is in the future"),
        # duplicate id
        ("precedents.csv", "P06,1992-06-15,", "P05,1992-06-15,",
         r"precedents.csv, row 7, column 'id': duplicate id 'P05' \(also row 6\)"),
    ],
)
def test_bad_rows_are_refused_with_file_row_column(data_copy, file, old, new, pattern):
    _edit(data_copy / file, old, new)
    with pytest.raises(InputError, match=pattern) as exc:
        _load_all(data_copy)
    assert "\n" not in str(exc.value)


def test_out_of_range_severity(data_copy):
    _edit(data_copy / "precedents.csv", "P04,1985-02-16,Camarena kidnapping/murder -> US border slowdown ('Operation "
          "Camarena') and DEA accusations,economic_coercion,2,", "P04,1985-02-16,Camarena kidnapping/murder -> US "
          "border slowdown ('Operation Camarena') and DEA accusations,economic_coercion,7,")
    with pytest.raises(InputError, match=r"row 5 \(id P04\), column 'severity': 7 is outside \[1, 5\]"):
        _load_all(data_copy)


def test_response_the_ontology_lacks(data_copy):
    text = (data_copy / "precedents.csv").read_text()
    (data_copy / "precedents.csv").write_text(text.replace("diplomatic_protest,", "diplomatic_shrug,", 1))
    with pytest.raises(InputError, match=r"column 'diplomatic_shrug': coded on response 'diplomatic_shrug', which "
                                         r"the ontology lacks; add it to data/ontology/responses.csv"):
        _load_all(data_copy)


def test_broken_csv_row(data_copy):
    path = data_copy / "precedents.csv"
    path.write_text(path.read_text() + "P99,2020-01-01,too few fields\n")
    with pytest.raises(InputError, match=r"precedents.csv, row 29: has 3 fields but the header has \d+"):
        _load_all(data_copy)


def test_malformed_yaml(data_copy):
    (data_copy / "ontology" / "composites.yaml").write_text("any:\n  label: [unclosed\n")
    with pytest.raises(InputError, match=r"composites.yaml, line \d+: malformed YAML"):
        _load_all(data_copy)


def test_empty_and_non_utf8_files(data_copy):
    (data_copy / "polls.csv").write_text("")
    with pytest.raises(InputError, match=r"polls.csv: file is empty"):
        _load_all(data_copy)
    (data_copy / "polls.csv").write_bytes(b"id,pollster\n\xff\xfe,1\n")
    with pytest.raises(InputError, match=r"polls.csv: not UTF-8 text"):
        _load_all(data_copy)


def test_evidence_entry_errors_name_entry_and_field(data_copy):
    p = data_copy / "evidence" / "E-2026-01-cripeso-poll.yaml"
    _edit(p, "share_opposed: 0.39", "share_opposed: 1.39")
    with pytest.raises(InputError, match=r"E-2026-01-cripeso-poll.yaml \(entry E-2026-01-cripeso-poll\), poll "
                                         r"\(id E-2026-01-cripeso-poll\), column 'share_opposed': 1.39 is outside"):
        _load_all(data_copy)


def test_libyaml_reads_what_the_checked_loader_reads_and_never_an_alias():
    """Text that cannot hold an alias is read by libyaml (``readers._fast``): the same values as the checked loader
    for every YAML file the project ships (the fast path is taken for most of them: not a vacuous comparison), and
    every text that may hold an alias, or that libyaml refuses, goes to the checked loader, which refuses aliases
    with its own message."""
    import yaml

    from forecast.inputs import readers
    from forecast.paths import project_root

    root = project_root()
    texts = [p.read_text(encoding="utf-8") for d in ("data", "conf") for p in sorted((root / d).rglob("*.yaml"))]
    fast = [t for t in texts if readers._fast(t) is not readers._REFUSED]
    assert len(fast) >= len(texts) * 3 // 4, (len(fast), len(texts))
    for t in texts:
        got = readers._fast(t)
        if got is not readers._REFUSED:
            assert got == yaml.load(t, Loader=readers._SafeLoader)  # noqa: S506 - the checked loader
    assert readers._fast("when: 2026-01-05\nshare: 0.8\nok: yes\n") == {"when": "2026-01-05", "share": 0.8, "ok": True}
    for alias in ("a: &x 1\nb: *x\n", "{a: &x 1, b:*x}", "[&x 1,*x]", "- &x 1\n-  *x\n", "*x", "{? *x : 1}",
                  "a: !!python/object/apply:os.system ['true']\n"):
        assert readers._fast(alias) is readers._REFUSED, alias
    with pytest.raises(InputError, match="aliases"):
        readers.parse_yaml("a: &x [1, 2]\nb: *x\n", "x.yaml")
