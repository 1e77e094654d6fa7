"""The last published brief (``forecast.outputs.published``): found by the history's rows, read back from a dated
folder, the scenario's folder or the archive, never a preview; any earlier one by a date; the rows alone when the
report is gone."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from forecast.errors import InputError
from forecast.outputs.contract import WrittenReport
from forecast.outputs.history import append_history
from forecast.outputs.published import archive_path, last_published, published_briefs


def brief(when: str, mean: float, scenario: str = "one_time_raid") -> dict:
    return {"schema_version": 1, "generated_at": when, "scenario": scenario, "as_of": when[:10],
            "inputs_hash": f"h{mean}", "responses": [{"response": "r", "mean": mean, "hdi_low": round(mean - 0.1, 4),
                                                      "hdi_high": round(mean + 0.1, 4), "hdi_prob": 0.9}],
            "composites": [{"composite": "c", "mean": mean / 2, "hdi_low": 0.0, "hdi_high": 1.0, "hdi_prob": 0.9}]}


def put(path: Path, data: dict) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))
    return path


def publish(reports: Path, data: dict, folder: Path) -> None:
    """What a publication leaves: the report where it is kept, and its rows in the history."""
    append_history(reports, reports.parent / "cache", [WrittenReport(folder, data)])


def test_nothing_published_is_none_and_previews_never_count(tmp_path):
    reports = tmp_path / "reports"
    put(reports / "one_time_raid" / "forecast.json", brief("2026-11-02T10:00:00+00:00", 0.4))  # a preview
    assert last_published(reports, "one_time_raid") is None
    assert published_briefs(reports, "one_time_raid").empty


def test_the_newest_publication_is_read_back_from_where_it_is_kept(tmp_path):
    """A scheduled brief from its dated folder; an ad-hoc one from the archive once a preview replaced its folder
    (the preview, newer and in the scenario's folder, is never taken for it)."""
    reports = tmp_path / "reports"
    first = brief("2026-11-01T02:15:00+00:00", 0.3)
    publish(reports, first, put(reports / "2026-11-01" / "one_time_raid" / "forecast.json", first).parent)
    got = last_published(reports, "one_time_raid")
    assert got["generated_at"] == first["generated_at"] and got["published_folder"] == "2026-11-01/one_time_raid"

    second = brief("2026-11-03T09:00:00+00:00", 0.5)
    put(archive_path(reports, "one_time_raid", second["generated_at"]), second)
    publish(reports, second, reports / "one_time_raid")
    put(reports / "one_time_raid" / "forecast.json", second)
    # found where no later run replaces it: a report naming its compared brief's folder stays true after a preview
    assert last_published(reports, "one_time_raid")["published_folder"] == \
        "published/one_time_raid/20261103T090000Z.json"
    put(reports / "one_time_raid" / "forecast.json", brief("2026-11-04T09:00:00+00:00", 0.9))  # a later preview
    got = last_published(reports, "one_time_raid")
    assert got["responses"][0]["mean"] == 0.5
    assert got["published_folder"] == "published/one_time_raid/20261103T090000Z.json"
    assert list(published_briefs(reports, "one_time_raid")["published_at"]) == [second["generated_at"],
                                                                               first["generated_at"]]
    # any earlier one, by the day it was published
    assert last_published(reports, "one_time_raid", on_or_before="2026-11-02")["responses"][0]["mean"] == 0.3
    assert last_published(reports, "one_time_raid", on_or_before="2026-10-31") is None
    assert last_published(reports, "air_strikes") is None


def test_a_brief_whose_report_is_gone_stands_in_by_its_rows(tmp_path):
    reports = tmp_path / "reports"
    data = brief("2026-11-01T02:15:00+00:00", 0.3)
    publish(reports, data, reports / "one_time_raid")  # the folder was never kept (or deleted by hand)
    got = last_published(reports, "one_time_raid")
    assert "published_folder" not in got and "state" not in got
    assert got["responses"] == [{"response": "r", "mean": 0.3, "hdi_low": 0.2, "hdi_high": 0.4, "hdi_prob": 0.9}]
    assert got["composites"][0]["composite"] == "c" and got["inputs_hash"] == "h0.3"


def test_a_damaged_history_refuses_in_one_line(tmp_path):
    reports = tmp_path / "reports"
    reports.mkdir()
    (reports / "history.csv").write_text("published_at,scenario\n1,2")
    with pytest.raises(InputError, match=r"history.csv, line 1"):
        last_published(reports, "one_time_raid")
