"""The process's entry (``forecast.cli.main.entry``: ``python -m forecast`` and the ``forecast`` script) ends the
process without the interpreter's teardown, and loses nothing a normal exit gives: the exit status ``main`` chose,
what was printed on both streams (buffered, to a pipe), the exit handlers (``atexit``: the log file closed,
temporary folders removed) and the threads still running. A plain ``main()`` call in the same process is unchanged
(it raises ``SystemExit``).

Decisive: an entry that skipped the exit handlers leaves no "atexit ran" in the marker file (both tests fail), one that
did not wait for the threads no "thread finished", one that joined them without threading's exit callbacks hangs on a
pool left open (the timeout fails it), one that returned 0 or 70 instead of the status ``main`` chose
fails the status check.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from forecast.cli.main import entry, main
from forecast.errors import EXIT_INPUT

ROOT = Path(__file__).resolve().parents[1]

SCRIPT = """
import atexit, sys, threading, time
marker = sys.argv[1]
def handler():
    with open(marker, "a") as f:
        f.write("atexit ran\\n")
atexit.register(handler)
def late():
    time.sleep(0.3)
    with open(marker, "a") as f:
        f.write("thread finished\\n")
threading.Thread(target=late).start()
print("printed before the run", flush=False)
sys.argv = ["forecast", *sys.argv[2:]]
from forecast.cli.main import entry
entry()
print("never reached")
"""


def _run(tmp_path: Path, *args: str) -> tuple[subprocess.CompletedProcess, str]:
    marker = tmp_path / "marker.txt"
    p = subprocess.run([sys.executable, "-c", SCRIPT, str(marker), *args], capture_output=True, text=True, timeout=120,
                       cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(ROOT)})
    return p, marker.read_text() if marker.exists() else ""


def test_the_entry_keeps_the_status_output_exit_handlers_and_threads(tmp_path):
    p, marker = _run(tmp_path, "frobnicate")  # an unknown command: one line, exit 2
    assert p.returncode == EXIT_INPUT, p.stderr
    assert "frobnicate" in p.stderr and "Traceback" not in p.stderr
    assert p.stdout == "printed before the run\n"  # flushed, and nothing after entry() ran
    assert marker.splitlines() == ["thread finished", "atexit ran"]


def test_the_entry_exits_0_with_the_whole_output(tmp_path):
    p, marker = _run(tmp_path, "--help")
    assert p.returncode == 0, p.stderr
    assert p.stdout.startswith("printed before the run\n") and "forecast init DIR" in p.stdout
    assert p.stdout.rstrip().endswith("own flags and groups.")  # the help's last line: nothing cut off
    assert "atexit ran" in marker


def test_main_in_the_same_process_still_raises_system_exit(capsys):
    with pytest.raises(SystemExit) as e:
        main(["frobnicate"])
    assert e.value.code == EXIT_INPUT
    assert callable(entry)


def test_a_profiler_running_the_command_still_writes_its_file(tmp_path):
    """``python -m cProfile -o FILE -m forecast`` writes FILE after the command returns (bench/profiles.py reads it):
    an entry that ended the process there would leave no FILE."""
    out = tmp_path / "run.prof"
    p = subprocess.run([sys.executable, "-m", "cProfile", "-o", str(out), "-m", "forecast", "--help"],
                       capture_output=True, text=True, timeout=120, cwd=tmp_path,
                       env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert p.returncode == 0, p.stderr
    assert out.is_file() and out.stat().st_size > 0


POOL = """
import sys
from concurrent.futures import ThreadPoolExecutor
pool = ThreadPoolExecutor(2)  # left open, as joblib's loky executor is after a Hydra sweep
assert pool.submit(lambda: 41 + 1).result() == 42
sys.argv = ["forecast", "--help"]
from forecast.cli.main import entry
entry()
"""


def test_the_entry_ends_with_a_thread_pool_left_open():
    """A pool's worker threads are not daemons: they stop when threading's exit callbacks tell them to, which the
    interpreter runs before it joins the threads. Joining them without those callbacks waits forever (a
    ``forecast -m hydra/launcher=joblib`` sweep hung so in the test suite): here the timeout would fail it."""
    p = subprocess.run([sys.executable, "-c", POOL], capture_output=True, text=True, timeout=60,
                       env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert p.returncode == 0, p.stderr
    assert "forecast init DIR" in p.stdout
