"""Hostile corpus, bytes: empty files, NUL, encodings and sizes, through every reader.

Part of the corpus of bad and hostile inputs (tests/hostile/corpus.py); nothing here fits a model.
"""

from __future__ import annotations

import re

import pytest

from forecast.errors import InputError
from forecast.inputs.data import load_polls
from forecast.inputs.readers import MAX_BYTES

from ..conftest import TODAY
from .corpus import ACTIONS, ATTR, POLLS, PREC, load_all, one_line

READERS = {  # a file per reader kind, and what a loader that reads it looks like in the message
    "attributes.yaml": ATTR, "actions.csv": ACTIONS, "precedents.csv": PREC, "polls.csv": POLLS,
    "evidence.yaml": "evidence/E-2026-01-cripeso-poll.yaml",
}
BYTE_CASES = [
    # an empty file
    pytest.param(b"", r"file is empty", id="empty"),
    # whitespace only
    pytest.param(b" \n\t\n", r"file is empty", id="whitespace"),
    # NUL bytes (binary junk, a truncated copy)
    pytest.param(b"id,date\nP1\x00,2020-01-01\n", r"contains NUL bytes", id="nul"),
    # Latin-1 bytes: not UTF-8
    pytest.param("id: caf\xe9\n".encode("latin-1"), r"not UTF-8 text \(byte \d+\); save the file as UTF-8",
                 id="latin1"),
    # UTF-16 as some spreadsheets save it
    pytest.param("id,date\n".encode("utf-16"), r"not UTF-8 text \(byte 0\)", id="utf16"),
    # over the size limit: refused before it is read
    pytest.param(None, r"file is \d+ bytes, over the 5242880-byte limit", id="huge"),
]


@pytest.mark.parametrize("reader", list(READERS))
@pytest.mark.parametrize(("data", "pattern"), BYTE_CASES)
def test_hostile_bytes_are_refused_by_every_reader(data_copy, reader, data, pattern):
    path = data_copy / READERS[reader]
    if data is None:
        with open(path, "ab") as fh:
            fh.write(b"#" * (MAX_BYTES + 1))
    else:
        path.write_bytes(data)
    with pytest.raises(InputError) as exc:
        load_all(data_copy)
    msg = one_line(exc.value, path.name)
    assert re.search(pattern, msg), msg


def test_utf8_bom_is_neutralised(data_copy):
    """A UTF-8 BOM (Excel's CSV export) is stripped, not taken as part of the first column name."""
    p = data_copy / POLLS
    p.write_bytes(b"\xef\xbb\xbf" + p.read_bytes())
    assert list(load_polls(p, TODAY).index) == ["ARTICLE-80"]
