"""The derived-results memo of the cached report path (forecast/memo.py, issue 11).

A memo that served a stale result would publish wrong numbers silently, so the tests check the
key, not just the speed: the same draws give the identical statistics without recomputing; one
changed draw, a changed label or a changed setting recomputes; a damaged entry is recomputed and
rewritten, never read.
"""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from forecast import memo
from forecast.outputs import report


def _da(seed=0):
    rng = np.random.default_rng(seed)
    return xr.DataArray(rng.beta(2, 5, size=(2, 300, 4)), dims=("chain", "draw", "response"),
                        coords={"response": ["r0", "r1", "r2", "r3"]})


@pytest.fixture
def counted(monkeypatch):
    calls = []
    real = report._stats_now

    def spy(*a, **k):
        calls.append(1)
        return real(*a, **k)

    monkeypatch.setattr(report, "_stats_now", spy)
    return calls


def test_same_draws_are_served_identically_without_recomputing(tmp_path, counted):
    da = _da()
    first = report._stats(da, 0.9, "response", cache=tmp_path)
    again = report._stats(da, 0.9, "response", cache=tmp_path)
    assert len(counted) == 1  # the second call read the memo
    # bit for bit: json keeps float64 exactly (a rounding bug would show here)
    assert first.equals(again) and list(again.index) == ["r0", "r1", "r2", "r3"]
    assert np.array_equal(first.to_numpy(), report._stats_now(da, 0.9, "response", True, None).to_numpy(),
                          equal_nan=True)


def test_any_change_in_what_the_result_depends_on_recomputes(tmp_path, counted):
    da = _da()
    report._stats(da, 0.9, "response", cache=tmp_path)
    moved = da.copy()
    moved[0, 0, 2] += 1e-9  # one draw, a billionth: a key on names or shapes would miss it
    out = report._stats(moved, 0.9, "response", cache=tmp_path)
    assert len(counted) == 2
    assert out.at["r2", "mean"] != report._stats(da, 0.9, "response", cache=tmp_path).at["r2", "mean"]
    report._stats(da, 0.8, "response", cache=tmp_path)  # another interval
    report._stats(da.assign_coords(response=["a", "b", "c", "d"]), 0.9, "response", cache=tmp_path)  # labels
    w = np.full((2, 300), 1 / 600)
    report._stats(da, 0.9, "response", weights=w, cache=tmp_path)  # importance weights
    assert len(counted) == 5


def test_a_damaged_entry_is_recomputed_and_rewritten(tmp_path, counted):
    da = _da()
    good = report._stats(da, 0.9, "response", cache=tmp_path)
    (entry,) = (tmp_path / "derived" / "stats").glob("*.json")
    entry.write_text('{"index": ["r0"', encoding="utf-8")  # a crash mid-write elsewhere
    again = report._stats(da, 0.9, "response", cache=tmp_path)
    assert len(counted) == 2 and again.equals(good)
    assert report._stats(da, 0.9, "response", cache=tmp_path).equals(good) and len(counted) == 2  # rewritten


def test_figures_are_kept_as_a_set_and_a_damaged_png_is_redrawn(tmp_path):
    pngs = {"forest": memo.PNG_MAGIC + b"a", "heatmap": memo.PNG_MAGIC + b"b"}
    memo.put_pngs(tmp_path, "figures", "k1", pngs)
    assert memo.get_pngs(tmp_path, "figures", "k1") == pngs
    (tmp_path / "derived" / "figures" / "k1-heatmap.png").write_bytes(b"<html>not a png")
    assert memo.get_pngs(tmp_path, "figures", "k1") is None
    (tmp_path / "derived" / "figures" / "k1-forest.png").unlink()
    assert memo.get_pngs(tmp_path, "figures", "k1") is None
    assert memo.get_pngs(None, "figures", "k1") is None  # no cache folder: always compute


def test_digest_tells_arrays_by_value_dtype_and_shape():
    a = np.arange(6, dtype=float)
    assert memo.digest(a) == memo.digest(a.copy())
    assert memo.digest(a) != memo.digest(a.astype(np.float32))
    assert memo.digest(a) != memo.digest(a.reshape(2, 3))
    assert memo.digest("x", {"b": 1, "a": 2}) == memo.digest("x", {"a": 2, "b": 1})
    assert memo.digest(b"ab", b"c") != memo.digest(b"a", b"bc")



def test_prune_keeps_the_newest_entries_of_each_kind_within_the_budget(tmp_path):
    """Each kind keeps its newest entries up to the budget (a figure's PNG and SVG are one entry, removed together),
    never fewer than ``keep_at_least``; hidden files (a write in progress) and other kinds' entries are left alone.
    Decisive: keeping the oldest, splitting an entry's files, or counting files instead of entries fails here."""
    import os

    from forecast import memo

    figs, nc = tmp_path / "derived" / "figures", tmp_path / "derived" / "posterior-nc"
    figs.mkdir(parents=True)
    nc.mkdir()
    for i in range(10):  # entry i written at time i: 300 bytes each (PNG 100 + SVG 200)
        for name, size in ((f"k{i:02d}-forest.png", 100), (f"k{i:02d}-forest.svg", 200)):
            (figs / name).write_bytes(b"x" * size)
            os.utime(figs / name, ns=(i * 10**9, i * 10**9))
    (figs / ".tmp-write").write_bytes(b"x" * 5000)
    (nc / "big.bin").write_bytes(b"x" * 5000)  # over the budget alone: kept, the newest of its kind
    removed = memo.prune(tmp_path, budget=1000, keep_at_least=1)
    left = sorted(p.name for p in figs.iterdir())
    assert left == [".tmp-write", *[f"k{i:02d}-forest.{e}" for i in (7, 8, 9) for e in ("png", "svg")]]
    assert removed == 14 and (nc / "big.bin").is_file()
    assert memo.prune(tmp_path, budget=0, keep_at_least=2) == 2  # at least two kept, however small the budget
    assert sorted(p.name for p in figs.iterdir() if not p.name.startswith(".")) == [
        f"k{i:02d}-forest.{e}" for i in (8, 9) for e in ("png", "svg")]
    assert memo.prune(None) == 0 and memo.prune(tmp_path / "nowhere") == 0
