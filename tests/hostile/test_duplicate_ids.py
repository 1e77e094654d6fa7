"""Hostile corpus, duplicate ids across files: an evidence entry reusing another entry's, a precedent's or a poll's id.

Part of the corpus of bad and hostile inputs (tests/hostile/corpus.py); nothing here fits a model.
"""

from __future__ import annotations

import pytest

import forecast
from forecast.errors import InputError

from ..conftest import TODAY
from .corpus import EV_EPISODE, EV_POLL, entry, load_all, one_line


def test_duplicate_evidence_id_across_files(data_copy):
    entry(EV_POLL, name="E-2026-10-h-poll.yaml")(data_copy)
    entry(EV_POLL, name="E-2026-10-h-poll2.yaml")(data_copy)
    with pytest.raises(InputError) as exc:
        load_all(data_copy)
    msg = one_line(exc.value, "E-2026-10-h-poll2.yaml")
    assert "duplicate id 'E-2026-10-h-poll' (also " in msg and "E-2026-10-h-poll.yaml)" in msg


def test_evidence_episode_reusing_a_precedent_id(home):
    entry(EV_EPISODE, name="P01.yaml", id="P01")(home / "data")
    with pytest.raises(InputError) as exc:
        forecast.load_inputs(forecast.compose([]), TODAY)
    assert "episode id(s) ['P01'] are used twice" in one_line(exc.value, "data/evidence")


def test_evidence_poll_reusing_a_polls_csv_id(home):
    entry(EV_POLL, name="ARTICLE-80.yaml", id="ARTICLE-80")(home / "data")
    with pytest.raises(InputError) as exc:
        forecast.load_inputs(forecast.compose([]), TODAY)
    one_line(exc.value, "ARTICLE-80")
