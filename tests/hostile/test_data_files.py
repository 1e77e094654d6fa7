"""Hostile corpus, every data file's reader refuses every mistake with one line naming the file, the row and the fix.

Part of the corpus of bad and hostile inputs (tests/hostile/corpus.py); nothing here fits a model.
"""

from __future__ import annotations

import re

import pytest

from forecast.errors import InputError

from .corpus import (
    ACTIONS,
    ATTR,
    COMP,
    DELETE,
    EV_EPISODE,
    EV_POLL,
    EV_SIGNAL,
    POLLS,
    PREC,
    RESPONSES,
    add_row,
    append_text,
    cell,
    entry,
    load_all,
    one_line,
    put_text,
    sub,
    yaml_edit,
)

DATA_CASES = [
    # --- attributes.yaml
    # malformed YAML: the parser's problem and the line, not a PyYAML traceback
    pytest.param(put_text(ATTR, "severity:\n  type: numeric\n  min: [1\n"),
                 r"attributes.yaml, line \d+: malformed YAML", id="attributes-malformed-yaml"),
    # a list where the top-level mapping is expected
    pytest.param(put_text(ATTR, "- severity\n- consent\n"), r"attributes.yaml: expected a mapping .* got list",
                 id="attributes-top-level-list"),
    # a list where an attribute's mapping is expected
    pytest.param(yaml_edit(ATTR, lambda y: y.update(on_soil=["boolean"])), r"key 'on_soil': expected a mapping",
                 id="attributes-spec-is-list"),
    # "five" as a numeric bound
    pytest.param(yaml_edit(ATTR, lambda y: y["severity"].update(min="five")),
                 r"key 'severity'.min: 'five' is not a number", id="attributes-bound-five"),
    # an unknown category of attribute type
    pytest.param(yaml_edit(ATTR, lambda y: y["on_soil"].update(type="tristate")),
                 r"key 'on_soil'.type: unknown attribute type 'tristate'; use one of", id="attributes-unknown-type"),
    # a mapping where the list of levels is expected
    pytest.param(yaml_edit(ATTR, lambda y: y["consent"].update(levels={"none": 1, "coerced": 2})),
                 r"key 'consent'.levels: needs a list of at least two levels", id="attributes-levels-mapping"),
    # a baseline that is not one of the levels
    pytest.param(yaml_edit(ATTR, lambda y: y["consent"].update(baseline="maybe")),
                 r"key 'consent'.baseline: unknown baseline level 'maybe'", id="attributes-bad-baseline"),
    # an empty numeric range
    pytest.param(yaml_edit(ATTR, lambda y: y["severity"].update(min=5, max=1)), r"key 'severity': needs min < max",
                 id="attributes-min-above-max"),
    # an attribute name that traverses
    pytest.param(yaml_edit(ATTR, lambda y: y.update({"../evil": {"type": "boolean"}})),
                 r"'\.\./evil' is not a valid id", id="attributes-traversing-name"),
    # --- composites.yaml
    pytest.param(put_text(COMP, "any:\n  label: [unclosed\n"), r"composites.yaml, line \d+: malformed YAML",
                 id="composites-malformed-yaml"),
    # a scalar where the list of members is expected
    pytest.param(yaml_edit(COMP, lambda y: y["any_threat"].update(any_of="threat_expel_agents")),
                 r"key 'any_threat'.any_of: needs a non-empty list", id="composites-scalar-members"),
    # an unknown response as a member
    pytest.param(yaml_edit(COMP, lambda y: y["any_threat"].update(any_of=["shrug"])),
                 r"key 'any_threat'.any_of: unknown response 'shrug'", id="composites-unknown-member"),
    # both kinds at once
    pytest.param(yaml_edit(COMP, lambda y: y["any_threat"].update(all_of=["expel_agents"])),
                 r"key 'any_threat': needs exactly one of any_of / all_of", id="composites-any-and-all"),
    # --- actions.csv
    # unbalanced quotes: the row where the CSV broke
    pytest.param(append_text(ACTIONS, 'bogus,"Unclosed label,1,none,true,military,one_time,false,A0,d\n'),
                 r"actions.csv, row \d+: broken CSV \(unexpected end of data\); check the quotes",
                 id="actions-unbalanced-quote"),
    # wrong field count
    pytest.param(append_text(ACTIONS, "bogus,label\n"), r"actions.csv, row 13: has 2 fields but the header has 10",
                 id="actions-wrong-field-count"),
    # severity out of range
    pytest.param(cell(ACTIONS, "air_strikes", "severity", "7"),
                 r"actions.csv, row 2 \(id air_strikes\), column 'severity': 7 is outside \[1, 5\]",
                 id="actions-severity-7"),
    # a boolean that is not
    pytest.param(cell(ACTIONS, "air_strikes", "on_soil", "maybe"), r"column 'on_soil': 'maybe' is not true/false",
                 id="actions-bool-maybe"),
    # duplicate id
    pytest.param(cell(ACTIONS, "one_time_raid", "id", "air_strikes"),
                 r"actions.csv, row 3, column 'id': duplicate id 'air_strikes' \(also row 2\)", id="actions-dup-id"),
    # --- responses.csv
    pytest.param(cell(RESPONSES, "armed_resistance", "escalation_rank", "high"),
                 r"responses.csv, row \d+ \(id armed_resistance\), column 'escalation_rank': 'high' is not a whole",
                 id="responses-rank-text"),
    # an opinion sign outside {-1, 0, 1}
    pytest.param(cell(RESPONSES, "armed_resistance", "opinion_sign", "2"), r"'opinion_sign': 2 is outside \[-1, 1\]",
                 id="responses-sign-2"),
    # an unknown category of stance
    pytest.param(cell(RESPONSES, "armed_resistance", "stance", "hostile"), r"'stance': unknown stance 'hostile'",
                 id="responses-unknown-stance"),
    # a `requires` link to a response that does not exist
    pytest.param(cell(RESPONSES, "expel_agents", "requires", "ghost"), r"'requires': unknown response 'ghost'",
                 id="responses-requires-unknown"),
    # expel_agents <-> compromise_agent_security require each other
    pytest.param(cell(RESPONSES, "expel_agents", "requires", "compromise_agent_security"),
                 r"'requires': the 'requires' links form a cycle", id="responses-requires-cycle"),
    # --- precedents.csv
    pytest.param(cell(PREC, "P05", "severity", "five"),
                 r"precedents.csv, row 6 \(id P05\), column 'severity': 'five' is not a severity value",
                 id="precedents-severity-five"),
    # severity out of range
    pytest.param(cell(PREC, "P05", "severity", "7"), r"row 6 \(id P05\), column 'severity': 7 is outside \[1, 5\]",
                 id="precedents-severity-7"),
    # NaN is not a number the model can use
    pytest.param(cell(PREC, "P05", "severity", "nan"), r"column 'severity': 'nan' is not finite",
                 id="precedents-severity-nan"),
    # a number that overflows to inf
    pytest.param(cell(PREC, "P05", "severity", "1e309"), r"column 'severity': '1e309' is not finite",
                 id="precedents-severity-huge"),
    # a list (as CSV text) where a number is expected
    pytest.param(cell(PREC, "P05", "severity", "[1, 2]"), r"column 'severity': '\[1, 2\]' is not a severity value",
                 id="precedents-severity-list"),
    # an impossible calendar date
    pytest.param(cell(PREC, "P05", "date", "2026-02-30"),
                 r"row 6 \(id P05\), column 'date': '2026-02-30' is not a date", id="precedents-date-feb-30"),
    # a date not in YYYY-MM-DD
    pytest.param(cell(PREC, "P05", "date", "26-1-1"), r"column 'date': '26-1-1' is not a date; write it as YYYY-MM-DD",
                 id="precedents-date-short"),
    # a date in the future
    pytest.param(cell(PREC, "P05", "date", "2999-01-01"), r"column 'date': 2999-01-01 is in the future",
                 id="precedents-date-future"),
    # the day after "today" is already the future
    pytest.param(cell(PREC, "P05", "date", "2026-11-24"), r"2026-11-24 is in the future \(after 2026-11-23\)",
                 id="precedents-date-tomorrow"),
    # an unknown category of action type
    pytest.param(cell(PREC, "P05", "action_type", "invasion"), r"column 'action_type': unknown action type 'invasion'",
                 id="precedents-unknown-action"),
    # an unknown categorical level in an attribute override
    pytest.param(cell(PREC, "P05", "consent", "maybe"), r"column 'consent': unknown consent level 'maybe'",
                 id="precedents-unknown-consent"),
    # a response coded other than 0/1/blank
    pytest.param(cell(PREC, "P05", "armed_resistance", "2"), r"column 'armed_resistance': '2' is not 0, 1 or blank",
                 id="precedents-coded-2"),
    # a precedent without a source
    pytest.param(cell(PREC, "P05", "sources", ""), r"row 6 \(id P05\), column 'sources': no source",
                 id="precedents-no-source"),
    # an id that traverses
    pytest.param(cell(PREC, "P05", "id", "../../etc/passwd"),
                 r"row 6, column 'id': '\.\./\.\./etc/passwd' is not a valid id", id="precedents-traversing-id"),
    # duplicate precedent ids
    pytest.param(cell(PREC, "P06", "id", "P05"), r"row 7, column 'id': duplicate id 'P05' \(also row 6\)",
                 id="precedents-dup-id"),
    # unbalanced quotes at the end of the file
    pytest.param(append_text(PREC, 'P99,2020-01-01,"unclosed title,political_pressure\n'),
                 r"precedents.csv, row \d+: broken CSV", id="precedents-unbalanced-quote"),
    # wrong field count
    pytest.param(append_text(PREC, "P99,2020-01-01,too few\n"), r"precedents.csv, row 29: has 3 fields but the header",
                 id="precedents-wrong-field-count"),
    # a duplicated header column
    pytest.param(sub(PREC, "id,date,title,", "id,date,date,"),
                 r"precedents.csv, header: duplicate column\(s\) \['date'\]", id="precedents-dup-column"),
    # a required column missing from the header
    pytest.param(sub(PREC, ",sources,verified,", ",urls,verified,"), r"missing column\(s\) \['sources'\]",
                 id="precedents-missing-column"),
    # --- polls.csv
    pytest.param(cell(POLLS, "ARTICLE-80", "share_opposed", "1.3"), r"'share_opposed': 1.3 is outside \[0, 1\]",
                 id="polls-share-1.3"),
    # a negative probability
    pytest.param(cell(POLLS, "ARTICLE-80", "share_opposed", "-0.1"), r"'share_opposed': -0.1 is outside \[0, 1\]",
                 id="polls-share-negative"),
    # a percentage instead of a probability: refused with the number to write
    pytest.param(cell(POLLS, "ARTICLE-80", "share_opposed", "80%"),
                 r"'share_opposed': '80%' is a percentage; write it as a probability: 0.8$",
                 id="polls-share-percent"),
    # an infinite probability
    pytest.param(cell(POLLS, "ARTICLE-80", "share_opposed", "inf"), r"'share_opposed': 'inf' is not finite",
                 id="polls-share-inf"),
    # negative n
    pytest.param(cell(POLLS, "ARTICLE-80", "n", "-5"), r"polls.csv, row 2 \(id ARTICLE-80\), column 'n': -5 is outside",
                 id="polls-n-negative"),
    # text as a sample size
    pytest.param(cell(POLLS, "ARTICLE-80", "n", "abc"), r"column 'n': 'abc' is not a whole number", id="polls-n-text"),
    # a fractional sample size
    pytest.param(cell(POLLS, "ARTICLE-80", "n", "2.5"), r"column 'n': '2.5' is not a whole number", id="polls-n-frac"),
    # an absurd sample size
    pytest.param(cell(POLLS, "ARTICLE-80", "n", "1e12"), r"column 'n': 1e\+12 is outside", id="polls-n-huge"),
    # a poll from the future
    pytest.param(cell(POLLS, "ARTICLE-80", "date", "2999-01-01"), r"column 'date': 2999-01-01 is in the future",
                 id="polls-date-future"),
    # an impossible poll date
    pytest.param(cell(POLLS, "ARTICLE-80", "date", "2026-02-30"), r"column 'date': '2026-02-30' is not a date",
                 id="polls-date-feb-30"),
    # an unknown category of use
    pytest.param(cell(POLLS, "ARTICLE-80", "use", "whatever"), r"column 'use': unknown use 'whatever'",
                 id="polls-unknown-use"),
    # a likelihood poll without its sample size
    pytest.param(cell(POLLS, "ARTICLE-80", "n", ""), r"column 'n': a poll used in the likelihood needs",
                 id="polls-likelihood-without-n"),
    # a poll without a source
    pytest.param(cell(POLLS, "ARTICLE-80", "source", ""), r"column 'source': no source", id="polls-no-source"),
    # duplicate poll ids
    pytest.param(add_row(POLLS, id="ARTICLE-80", pollster="x", date="2026-01-01", n="5", share_opposed="0.5",
                         use="likelihood", source="s"),
                 r"polls.csv, row 3, column 'id': duplicate id 'ARTICLE-80' \(also row 2\)", id="polls-dup-id"),
    # unbalanced quotes
    pytest.param(append_text(POLLS, 'X1,"unclosed,2026-01-01,5,0.5,likelihood,w,p,s,n\n'),
                 r"polls.csv, row 3: broken CSV", id="polls-unbalanced-quote"),
    # --- an evidence entry
    pytest.param(entry("id: E-bad\nsummary: [unclosed\n", "E-bad.yaml"), r"E-bad.yaml, line \d+: malformed YAML",
                 id="evidence-malformed-yaml"),
    # a list where the entry mapping is expected
    pytest.param(entry("- id: E-bad\n", "E-bad.yaml"), r"E-bad.yaml: expected a mapping .* got list",
                 id="evidence-top-level-list"),
    # a sentence where the entry mapping is expected
    pytest.param(entry("just a sentence\n", "E-bad.yaml"), r"E-bad.yaml: expected a mapping .* got str",
                 id="evidence-top-level-scalar"),
    # an unknown key (typo or injected field)
    pytest.param(entry(EV_POLL, colour="red"), r"key 'colour': unknown key; use only:", id="evidence-unknown-key"),
    # an unknown category of entry
    pytest.param(entry(EV_POLL, kind="rumour"), r"key 'kind': unknown kind 'rumour'", id="evidence-unknown-kind"),
    # probability 1.3
    pytest.param(entry(EV_POLL, poll={"share_opposed": 1.3}), r"column 'share_opposed': 1.3 is outside \[0, 1\]",
                 id="evidence-share-1.3"),
    # negative n
    pytest.param(entry(EV_POLL, poll={"n": -5}), r"column 'n': -5 is outside", id="evidence-n-negative"),
    # a list where a scalar is expected
    pytest.param(entry(EV_POLL, poll={"n": [1000]}), r"column 'n': \[1000\] is not a whole number",
                 id="evidence-n-list"),
    # a mapping where a scalar is expected
    pytest.param(entry(EV_POLL, poll={"share_opposed": {"a": 1}}), r"'share_opposed': \{'a': 1\} is not a probability",
                 id="evidence-share-mapping"),
    # "five" as a probability
    pytest.param(entry(EV_POLL, poll={"share_opposed": "five"}), r"'share_opposed': 'five' is not a probability",
                 id="evidence-share-five"),
    # known in the future
    pytest.param(entry(EV_POLL, date_known="2999-01-01"), r"key 'date_known': 2999-01-01 is in the future",
                 id="evidence-date-known-future"),
    # an impossible date
    pytest.param(entry(EV_POLL, date_known="2026-02-30"), r"key 'date_known': '2026-02-30' is not a date",
                 id="evidence-date-known-feb-30"),
    # a date not in YYYY-MM-DD
    pytest.param(entry(EV_POLL, date_known="26-1-1"), r"key 'date_known': '26-1-1' is not a date",
                 id="evidence-date-known-short"),
    # a poll fielded after it became known
    pytest.param(entry(EV_POLL, poll={"date": "2026-10-25"}), r"poll.date: the poll's date is after date_known",
                 id="evidence-poll-after-known"),
    # a summary of two lines
    pytest.param(entry(EV_POLL, summary="line one\nline two"), r"key 'summary': missing, more than one line",
                 id="evidence-multiline-summary"),
    # an entry without a source
    pytest.param(entry(EV_POLL, source=DELETE), r"key 'source': no source", id="evidence-no-source"),
    # a list where the kind's mapping is expected
    pytest.param(entry(EV_EPISODE, episode=["one_time_raid"]), r"key 'episode': missing the 'episode:' block",
                 id="evidence-body-list"),
    # a list where the responses mapping is expected
    pytest.param(entry(EV_EPISODE, episode={"responses": ["diplomatic_protest"]}), r"episode.responses: missing",
                 id="evidence-responses-list"),
    # a response coded 2
    pytest.param(entry(EV_EPISODE, episode={"responses": {"diplomatic_protest": 2}}),
                 r"episode.responses.diplomatic_protest: 2 is not 0 or 1", id="evidence-coded-2"),
    # a blank code (an entry that carries no information about that response)
    pytest.param(entry(EV_EPISODE, episode={"responses": {"diplomatic_protest": ""}}),
                 r"episode.responses.diplomatic_protest: blank; code 1 \(happened\) or 0", id="evidence-coded-blank"),
    # an attribute the ontology lacks (it would be dropped without a word), an unknown key inside a poll
    pytest.param(entry(EV_EPISODE, episode={"colour": "red"}), r"episode.colour: unknown key; use only: action_type",
                 id="evidence-unknown-attribute"),
    pytest.param(entry(EV_EPISODE, episode={"severity": ""}), r"episode.severity: blank",
                 id="evidence-blank-attribute"),
    pytest.param(entry(EV_POLL, poll={"margin_of_error": 3}), r"poll.margin_of_error: unknown key; use only: date, n",
                 id="evidence-poll-unknown-key"),
    pytest.param(entry(EV_SIGNAL, signal={"weight": 2}), r"signal.weight: unknown key; use only: action, actions",
                 id="evidence-signal-unknown-key"),
    # a response the ontology lacks
    pytest.param(entry(EV_EPISODE, episode={"responses": {"shrug": 1}}), r"coded on response 'shrug', which the",
                 id="evidence-unknown-response"),
    # "five" as severity
    pytest.param(entry(EV_EPISODE, episode={"severity": "five"}), r"column 'severity': 'five' is not a severity value",
                 id="evidence-severity-five"),
    # severity 7
    pytest.param(entry(EV_EPISODE, episode={"severity": 7}), r"column 'severity': 7 is outside \[1, 5\]",
                 id="evidence-severity-7"),
    # an unknown action type
    pytest.param(entry(EV_EPISODE, episode={"action_type": "invasion"}), r"unknown action type 'invasion'",
                 id="evidence-unknown-action"),
    # a probability bound of 1.3
    pytest.param(entry(EV_SIGNAL, signal={"lower": 1.3}), r"elicit.lower: 1.3 is outside \[0, 1\]",
                 id="evidence-signal-lower-1.3"),
    # lower above upper
    pytest.param(entry(EV_SIGNAL, signal={"lower": 0.3, "upper": 0.1}), r"lower 0.3 is not below upper 0.1",
                 id="evidence-signal-swapped"),
    # a mapping where the list of actions is expected
    pytest.param(entry(EV_SIGNAL, signal={"actions": {"one_time_raid": 1}}), r"constrains.actions: missing",
                 id="evidence-signal-actions-mapping"),
    # text as a strength
    pytest.param(entry(EV_SIGNAL, signal={"strength": "strong"}), r"strength: 'strong' is not a strength",
                 id="evidence-signal-strength-text"),
    # two kinds in one entry
    pytest.param(entry(EV_POLL, episode=EV_EPISODE["episode"]), r"a poll entry cannot also have a 'episode' block",
                 id="evidence-two-blocks"),
    # an id that does not match its file name
    pytest.param(entry(EV_POLL, name="E-other-name.yaml"), r"E-other-name.yaml, key 'id': id 'E-2026-10-h-poll' does "
                 r"not match the file name; rename the file to E-2026-10-h-poll.yaml", id="evidence-id-not-file-name"),
    # an id that traverses
    pytest.param(entry(EV_POLL, name="E-x.yaml", id="../../x"), r"key 'id': '\.\./\.\./x' is not a valid id",
                 id="evidence-traversing-id"),
]


@pytest.mark.parametrize(("mutate", "pattern"), DATA_CASES)
def test_bad_data_file_is_one_line_error(data_copy, mutate, pattern):
    mutate(data_copy)
    with pytest.raises(InputError) as exc:
        load_all(data_copy)
    msg = one_line(exc.value)
    assert re.search(pattern, msg), msg
    assert re.search(r"[\w.-]+\.(csv|yaml)\b", msg), f"no file named in {msg!r}"
