"""A publication is one transaction (``forecast.publication.Publication``), tested the way SQLite tests its
atomic commit.

A publication like a scheduled run's (two report folders replaced, a new dated folder, rows appended to the
history and to the runs log, a page rewritten, ``latest`` swapped, the landing page derived from the result) is
committed while every system call that changes the disk (each rename, each write of an append, each fsync, each
link) fails in turn:

- an error (EIO) at call k, once, or from call k on (a disk that went away): afterwards either the old state or
  the new one is fully visible, never a mix, and nothing staged is left behind;
- a crash at call k (the process ends there, ``os._exit``: no cleanup, no rollback): the state may be torn, and
  the next run's ``recover`` completes the publication when its journal was on disk and leaves the old state
  otherwise.

A plausible bug fails this: appending the history rows after the renames without a journal (the issue's torn
state: folders new, rows missing) is a mix after a crash between them; a rollback that forgets the appends
leaves the old folders with new rows.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

import forecast.publication as publication
from forecast.errors import InputError, WriteError
from forecast.publication import JOURNAL, Publication, clean_stale, recover

HEADER = "published_at,scenario,value\n"
FAULTY = ("replace", "rename", "write", "fsync", "link", "symlink", "unlink", "ftruncate")


def old_state(root: Path) -> None:
    """What the reports folder holds before the publication."""
    for name, text in (("one_time_raid", "old raid"), ("air_strikes", "old strikes")):
        (root / name).mkdir(parents=True)
        (root / name / "forecast.json").write_text(text)
    day = root / "2026-11-01"
    day.mkdir()
    (day / "run.json").write_text("{}")
    (root / "history.csv").write_text(HEADER + "2026-11-01,one_time_raid,0.1\n")
    (root / "runs.jsonl").write_text('{"folder": "2026-11-01"}\n')
    (root / "feed.xml").write_text("<old/>")
    (root / "index.html").write_text("old index")
    (root / "latest").symlink_to("2026-11-01")


def landing(root: Path) -> str:
    """A derived page: rendered from what is visible at commit time (the new folders and rows)."""
    names = ", ".join(sorted(p.name for p in root.iterdir() if not p.name.startswith(".")))
    rows = (root / "history.csv").read_text().count("\n")
    return f"index of {names} / {(root / 'one_time_raid' / 'forecast.json').read_text()} / {rows}"


def stage(root: Path) -> Publication:
    pub = Publication(root, "the test reports")
    for name, text in (("one_time_raid", "new raid"), ("air_strikes", "new strikes")):
        pub.folder(root / name, lambda d, t=text: (d / "forecast.json").write_text(t), owned=("forecast.json",))

    def day(d: Path) -> None:
        (d / "one_time_raid").mkdir()
        (d / "one_time_raid" / "forecast.json").write_text("scheduled")
        (d / "run.json").write_text("{}")

    pub.folder(root / "2026-11-02", day, owned=("run.json",))
    pub.append(root / "history.csv", "2026-11-02,one_time_raid,0.2\n2026-11-02,air_strikes,0.3\n", header=HEADER)
    pub.append(root / "runs.jsonl", '{"folder": "2026-11-02"}\n')
    pub.file(root / "feed.xml", "<new/>")
    pub.link(root / "latest", "2026-11-02")
    pub.derive(root / "index.html", lambda: landing(root))
    return pub


def snapshot(root: Path) -> dict[str, str]:
    """Everything a reader sees (hidden entries are not seen): each file's text, each link's target."""
    out = {}
    for p in sorted(root.rglob("*")):
        rel = p.relative_to(root)
        if any(part.startswith(".") for part in rel.parts):
            continue
        if p.is_symlink():
            out[str(rel)] = "-> " + os.readlink(p)
        elif p.is_file():
            out[str(rel)] = p.read_text()
        elif p.is_dir() and (root / rel.parts[0]).is_symlink():
            continue
    return out


def hidden(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob(".*"))


@pytest.fixture(scope="module")
def states(tmp_path_factory) -> tuple[dict[str, str], dict[str, str]]:
    """The old state and the new one a clean commit leaves."""
    root = tmp_path_factory.mktemp("clean") / "reports"
    old_state(root)
    old = snapshot(root)
    with stage(root) as pub:
        pub.commit("test")
    new = snapshot(root)
    assert hidden(root) == [], "a clean commit left staged files behind"
    assert new != old and new["latest"] == "-> 2026-11-02" and new["index.html"].startswith("index of 2026-11-01")
    assert "new raid" in new["index.html"] and new["history.csv"].count("\n") == 4
    return old, new


class Faults:
    """Counts the system calls that change the disk; makes call ``at`` fail (once, or from then on) or crash."""

    def __init__(self, monkeypatch, at: int | None = None, mode: str = "once"):
        self.n, self.at, self.mode, self.armed = 0, at, mode, False
        for name in FAULTY:
            real = getattr(os, name)
            monkeypatch.setattr(os, name, self._wrap(real))

    def _wrap(self, real):
        def call(*a, **k):
            if self.armed:
                self.n += 1
                if self.at is not None and (self.n == self.at or (self.mode == "persistent" and self.n > self.at)):
                    if self.mode == "crash":
                        os._exit(0)
                    raise OSError(errno.EIO, "injected I/O error")
            return real(*a, **k)
        return call


def next_run(root: Path, monkeypatch) -> None:
    """What the next run does first: ``recover`` under the lock, in a new process (this one has ended by then, so
    what it left staged is a dead run's)."""
    monkeypatch.setattr(publication, "_pid_alive", lambda pid: False)
    recover(root, {"index.html": lambda: landing(root)})
    monkeypatch.undo()


def count_calls(tmp_path, monkeypatch) -> int:
    root = tmp_path / "count" / "reports"
    old_state(root)
    faults = Faults(monkeypatch)
    pub = stage(root)
    faults.armed = True
    pub.commit()
    faults.armed = False
    monkeypatch.undo()
    return faults.n


def test_a_clean_commit_counts_its_steps(tmp_path, monkeypatch, states):
    n = count_calls(tmp_path, monkeypatch)
    assert n >= 20, n  # 3 folders x 2 renames, 2 appends (write + fsync), 2 files, 1 link, journal, fsyncs


@pytest.mark.parametrize("mode", ["once", "persistent"])
def test_an_error_at_any_step_of_the_commit_leaves_the_old_state_or_the_new(tmp_path, monkeypatch, states, mode):
    """An I/O error at each call of the commit in turn (rename, write of an append, fsync, link): the old state
    fully (and a one-line error) or the new state fully; with a disk that fails from then on, a publication that
    could not be rolled back is completed by the next run."""
    old, new = states
    n = count_calls(tmp_path, monkeypatch)
    outcomes = set()
    for k in range(1, n + 1):
        root = tmp_path / f"{mode}{k}" / "reports"
        old_state(root)
        faults = Faults(monkeypatch, k, mode)
        pub = stage(root)
        faults.armed = True
        try:
            with pub:
                pub.commit()
            error = None
        except WriteError as e:
            error = e
        faults.armed = False
        monkeypatch.undo()
        state = snapshot(root)
        if error is None:
            assert state == new, (k, "no error but not the new state")
            outcomes.add("new")
        elif "could not be rolled back" in str(error):
            assert mode == "persistent" and (root / JOURNAL).is_file(), k
            assert "the next run completes it" in str(error) and "\n" not in str(error)
            assert state in (old, new) or mode == "persistent", k
            next_run(root, monkeypatch)
            assert snapshot(root) == new, (k, "the next run did not complete the publication")
            outcomes.add("completed by the next run")
        else:
            assert state == old, (k, str(error))
            assert "nothing was published" in str(error) and "\n" not in str(error), str(error)
            outcomes.add("old")
        next_run(root, monkeypatch)
        assert snapshot(root) in (old, new), k
        assert hidden(root) == [], (k, hidden(root))
    print(f"{n} error points ({mode}): {sorted(outcomes)}")
    assert "old" in outcomes, outcomes


@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")
def test_a_crash_at_any_step_is_healed_by_the_next_run(tmp_path, monkeypatch, states):
    """The process ends at each call of the commit in turn, as a kill -9 or a power cut would end it: no rollback,
    no cleanup. The next run's recovery leaves the old state (the journal was not yet on disk) or completes the
    new one, never a mix, and removes what the dead run staged."""
    old, new = states
    n = count_calls(tmp_path, monkeypatch)
    seen = {"old": 0, "new": 0, "torn before recovery": 0}
    for k in range(1, n + 1):
        root = tmp_path / f"crash{k}" / "reports"
        old_state(root)
        pid = os.fork()
        if pid == 0:  # the run that crashes
            try:
                faults = Faults(monkeypatch, k, "crash")
                pub = stage(root)
                faults.armed = True
                pub.commit()
            finally:
                os._exit(3)  # the commit ended without reaching call k
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0, (k, "the crash point was not reached")
        monkeypatch.undo()
        before = snapshot(root)
        if before not in (old, new):
            seen["torn before recovery"] += 1
        journal = (root / JOURNAL).is_file()
        next_run(root, monkeypatch)
        after = snapshot(root)
        if journal:  # decided: the next run completes it
            assert after == new, k
        else:  # not yet decided (the old state), or complete (the new one): nothing torn, nothing to do
            assert before in (old, new) and after == before, k
        seen["old" if after == old else "new"] += 1
        assert hidden(root) == [], (k, hidden(root))
    print(f"{n} crash points: {seen}")
    assert seen["torn before recovery"] > 0 and seen["old"] > 0 and seen["new"] > 0, seen


def test_a_refused_target_publishes_nothing(tmp_path):
    """Every target is checked before the first rename: a history that is a link, a folder where the history or a
    page belongs, a real folder where ``latest`` belongs, a folder the tool did not write. One line, old state."""
    cases = {
        "history a link": lambda r: ((r / "history.csv").unlink(), (r / "history.csv").symlink_to(r.parent / "x")),
        "history a folder": lambda r: ((r / "history.csv").unlink(), (r / "history.csv").mkdir()),
        "latest a real folder": lambda r: ((r / "latest").unlink(), (r / "latest").mkdir()),
        "index a folder": lambda r: ((r / "index.html").unlink(), (r / "index.html").mkdir()),
        "a folder not written by the tool": lambda r: (r / "one_time_raid" / "forecast.json").rename(
            r / "one_time_raid" / "notes.txt"),
    }
    for what, damage in cases.items():
        root = tmp_path / what.replace(" ", "_") / "reports"
        old_state(root)
        (root.parent / "x").write_text("someone else's\n")
        pub = stage(root)
        damage(root)
        before = snapshot(root)
        with pytest.raises((InputError, WriteError)) as e, pub:
            pub.commit()
        assert snapshot(root) == before, what
        assert "nothing was published" in str(e.value) and "\n" not in str(e.value), (what, str(e.value))
        assert hidden(root) == [], (what, hidden(root))
        assert (root.parent / "x").read_text() == "someone else's\n"


def test_a_full_disk_or_a_size_limit_is_found_before_the_first_rename(tmp_path, monkeypatch):
    """Free space and ``ulimit -f`` for what the commit writes are checked before anything is renamed."""
    import resource

    for what in ("space", "size"):
        root = tmp_path / what / "reports"
        old_state(root)
        pub = stage(root)
        before = snapshot(root)
        if what == "space":
            real = os.statvfs

            class Full:
                def __init__(self, st):
                    self.f_bavail, self.f_frsize = 1, st.f_frsize

            monkeypatch.setattr(os, "statvfs", lambda p, real=real: Full(real(p)))
        else:
            size = (root / "history.csv").stat().st_size
            monkeypatch.setattr(resource, "getrlimit", lambda r, size=size: (size + 10, resource.RLIM_INFINITY))
        with pytest.raises(WriteError) as e, pub:
            pub.commit()
        monkeypatch.undo()
        assert snapshot(root) == before and hidden(root) == []
        assert ("ENOSPC" if what == "space" else "EFBIG") in str(e.value) and "nothing was published" in str(e.value)


def test_an_append_that_finds_its_file_changed_is_not_healed_blindly(tmp_path):
    """A journal whose history grew by other rows since it was written (a person edited it before the next run):
    the recovery refuses in one line instead of appending after someone else's rows or cutting them."""
    root = tmp_path / "reports"
    old_state(root)
    pub = stage(root)
    pub._bytes_to_append()
    publication._write_journal(root, json.dumps({"version": 1, "id": pub.id, "what": "x", "steps": pub.steps}))
    with (root / "history.csv").open("a") as fh:
        fh.write("someone,else,1\nand,more,2\n")
    with pytest.raises(InputError, match="changed since the publication"):
        recover(root)


def test_a_dead_runs_staging_is_removed_and_a_live_ones_kept(tmp_path):
    """Leftovers of a run killed while staging (no journal) are removed; a run still staging is left alone."""
    root = tmp_path / "reports"
    root.mkdir()
    live = root / f".one_time_raid.tmp-{os.getpid()}-abcd0123"
    live.mkdir()
    gone = subprocess.run(["/bin/sh", "-c", "echo $$"], capture_output=True, text=True, check=True)
    pid = int(gone.stdout)  # a process that has ended
    dead = root / f".air_strikes.tmp-{pid}-abcd0123"
    dead.mkdir()
    (root / "2026-11-01").mkdir()
    dead_deeper = root / "2026-11-01" / f".x.old-{pid}-00ff00ff"
    dead_deeper.write_text("x")
    clean_stale(root)
    assert live.is_dir() and not dead.exists() and not dead_deeper.exists()
    shutil.rmtree(live)
