"""Withdrawing an evidence entry: out of the log and of the next forecast, never deleted, recorded, reversible; the
next brief says what was withdrawn and why."""

from __future__ import annotations

import pytest

from forecast.errors import InputError
from forecast.inputs.data import load_ontology
from forecast.inputs.evidence import load_evidence
from forecast.inputs.withdraw import restore, withdraw, withdrawals, withdrawn_since

from .conftest import TODAY

ENTRY = "E-2026-01-cripeso-poll"


def test_withdraw_moves_the_entry_unchanged_records_why_and_restore_undoes_it(data_copy):
    ont = load_ontology(data_copy)
    before = (data_copy / "evidence" / f"{ENTRY}.yaml").read_bytes()
    ids = [e.id for e in load_evidence(data_copy / "evidence", ont, TODAY).entries]
    moved = withdraw(data_copy, ENTRY, "the pollster's wording was misreported", TODAY)
    assert moved == data_copy / "withdrawn" / f"{ENTRY}.yaml" and moved.read_bytes() == before
    assert not (data_copy / "evidence" / f"{ENTRY}.yaml").exists()
    left = [e.id for e in load_evidence(data_copy / "evidence", ont, TODAY).entries]
    assert left == [i for i in ids if i != ENTRY]  # out of every forecast from now on
    assert withdrawals(data_copy) == [{"date": TODAY.isoformat(), "id": ENTRY, "action": "withdrawn",
                                       "reason": "the pollster's wording was misreported"}]
    assert withdrawn_since(data_copy, ids, left) == withdrawals(data_copy)
    back = restore(data_copy, ENTRY, TODAY)
    assert back.read_bytes() == before and not moved.exists()
    assert [e.id for e in load_evidence(data_copy / "evidence", ont, TODAY).entries] == ids
    assert [r["action"] for r in withdrawals(data_copy)] == ["withdrawn", "restored"]  # the record stays


def test_an_unknown_id_lists_the_valid_ones_and_a_reason_is_required(data_copy):
    with pytest.raises(InputError) as e:
        withdraw(data_copy, "E-nope", "x", TODAY)
    msg = str(e.value)
    assert "'E-nope'" in msg and ENTRY in msg and "E-2026-02-elfinanciero-poll" in msg and "\n" not in msg
    with pytest.raises(InputError, match="--reason: missing"):
        withdraw(data_copy, ENTRY, "  ", TODAY)
    with pytest.raises(InputError, match="use one of: none"):
        restore(data_copy, ENTRY, TODAY)  # nothing withdrawn yet
    assert (data_copy / "evidence" / f"{ENTRY}.yaml").is_file()
    assert not list((data_copy / "withdrawn").glob("*.yaml")) and withdrawals(data_copy) == []


def test_the_next_brief_says_what_was_withdrawn_and_why(data_copy, cfg, inputs):
    import json
    from pathlib import Path

    import forecast
    from forecast.outputs.brief import brief_data
    from forecast.outputs.render import render_html

    withdraw(data_copy, ENTRY, "duplicate of another poll", TODAY)
    c = forecast.compose([f"paths.data={data_copy}"])
    data = json.loads((Path(__file__).parent / "fixtures" / "forecast_example.json").read_text(encoding="utf-8"))
    prev_ids = list(data["evidence_ids"])
    data["evidence_ids"] = [e for e in prev_ids if e != ENTRY]
    data["changes"] = {"previous": {"generated_at": "2026-12-01T00:00:00+00:00", "as_of": "2026-12-01",
                                    "evidence_ids": prev_ids, "mcse": {}}, "rows": [], "parts": []}
    data["brief"] = brief_data(c, forecast.load_inputs(c), data)
    assert data["brief"]["bottom_line"]["changed"]["withdrawn"][0]["reason"] == "duplicate of another poll"
    page = render_html(data, {})
    box = page.split('class="box box-bottom-line"')[1].split("</section>")[0]
    assert f"Withdrawn: </strong>{ENTRY} on {TODAY.isoformat()}: duplicate of another poll" in box
