"""A stop signal always stops: the handler never raises where Python would swallow the exception (a finaliser, a
weak-reference callback), the recorded signal is checked at the next check and before exit, and the exit status
is 128 + the signal's number.

Bug caught (the scheduled run that exited 0 after SIGTERM): the handler raised ``Interrupted`` inside WeakSet's
``_remove`` callback; Python printed "Exception ignored in: <function WeakSet.__init__.<locals>._remove ...>" and
the run went on, and nothing looked at the recorded signal again.
"""

from __future__ import annotations

import gc
import importlib
import os
import signal
import sys
import weakref

import pytest

from forecast.errors import Interrupted, clear_signals, raise_if_interrupted, signals_received

climain = importlib.import_module("forecast.cli.main")  # the package's ``main`` attribute is the function


@pytest.fixture
def handlers():
    """The CLI's handlers; yields the exceptions Python swallowed (each one reaches ``sys.unraisablehook``)."""
    hook = sys.unraisablehook
    old = climain._install_signals()
    swallowed = []
    quiet = sys.unraisablehook

    def record(u):
        swallowed.append(u.exc_value)
        quiet(u)

    sys.unraisablehook = record
    yield swallowed
    for s, h in old.items():
        signal.signal(s, h)
    sys.unraisablehook = hook
    clear_signals()


def _signal_here(sig: int = signal.SIGTERM) -> None:
    """Send ``sig`` to this process and run bytecode until Python has run its handler (here, in this frame's
    context)."""
    os.kill(os.getpid(), sig)
    for _ in range(1000):
        pass


class Finalised:
    def __del__(self):
        _signal_here()


def _in_finaliser() -> None:
    Finalised()  # dropped at once: __del__ runs here


def _in_finalize_callback() -> None:
    class Obj:
        pass

    o = Obj()
    weakref.finalize(o, _signal_here)
    del o


def _in_weakset_remove() -> None:
    """WeakSet's own ``_remove`` callback (the issue's case), with the signal arriving while it runs."""
    class Obj:
        pass

    ws = weakref.WeakSet()
    o = Obj()
    ws.add(o)
    real = ws.data.discard

    class Data(set):
        def discard(self, item):
            _signal_here()
            return real(item)

    ws.data = Data(ws.data)
    del o


def _in_bare_callback() -> None:
    """A library's own weak-reference callback: no frame says so, the handler raises, Python swallows it."""
    class Obj:
        pass

    o = Obj()
    ref = weakref.ref(o, lambda _r: _signal_here())
    del o
    assert ref() is None


@pytest.mark.parametrize("where", [_in_finaliser, _in_finalize_callback, _in_weakset_remove])
def test_the_handler_never_raises_where_python_would_swallow_it(handlers, where):
    """The signal arrives inside a finaliser or a standard weak-reference callback: the handler records it and
    does not raise (nothing is swallowed); the code after it runs on to the next check, which raises SIGTERM's
    Interrupted (143)."""
    where()
    gc.collect()
    assert handlers == [], handlers
    assert signals_received() == [signal.SIGTERM]
    with pytest.raises(Interrupted) as e:
        raise_if_interrupted()
    assert e.value.exit_code == 143


def test_a_signal_swallowed_in_a_librarys_callback_is_still_raised_at_the_next_check(handlers, capfd):
    """A weak-reference callback no frame marks: the handler raises and Python drops the exception; the CLI's
    unraisable hook keeps it off stderr (it is recorded), and the next check raises it."""
    _in_bare_callback()
    assert [type(e) for e in handlers] == [Interrupted]
    assert "Exception ignored" not in capfd.readouterr().err
    with pytest.raises(Interrupted) as e:
        raise_if_interrupted()
    assert e.value.exit_code == 143


def test_the_unraisable_hook_passes_other_errors_on():
    seen = []
    hook = climain._unraisable(seen.append)

    class U:
        def __init__(self, e):
            self.exc_value = e

    hook(U(Interrupted(signal.SIGTERM)))
    hook(U(ValueError("x")))
    assert [type(u.exc_value) for u in seen] == [ValueError]


def test_a_signal_in_ordinary_code_raises_at_once(handlers):
    with pytest.raises(Interrupted) as e:
        _signal_here(signal.SIGHUP)
    assert e.value.exit_code == 129 and signals_received() == [signal.SIGHUP]


def test_a_swallowed_signal_still_ends_the_command_with_its_status(monkeypatch, capsys):
    """A command that returns normally after a signal a callback swallowed exits with 143 and says so (the check
    before exit), instead of 0."""

    def command(name, args):
        _in_bare_callback()
        return 0

    monkeypatch.setattr(climain, "dispatch", command)
    monkeypatch.setattr(climain, "SUBCOMMANDS", {"scenarios"})
    with pytest.raises(SystemExit) as e:
        climain.main(["scenarios"])
    assert e.value.code == 143
    err = capsys.readouterr().err
    assert err.strip().splitlines()[-1].startswith("forecast: interrupted (SIGTERM): nothing was published"), err
    clear_signals()


def test_a_signal_while_a_commit_holds_signals_back_is_recorded_and_raised_when_the_commit_ends(handlers):
    """Another thread (a BLAS or I/O pool) may take a SIGTERM the main thread blocks during a commit, and Python
    then runs the handler in the main thread inside the commit: it raised there, between two renames (a scheduled
    run left `.index.html.old-*` behind). Now the handler only records while a commit holds signals back, and the
    commit raises it when it ends."""
    from forecast.files import deferred_signals

    steps = []
    with pytest.raises(Interrupted) as e:
        with deferred_signals():
            climain._on_signal(signal.SIGTERM, sys._getframe())  # what Python does when the signal comes
            steps.append("second rename")
    assert steps == ["second rename"] and e.value.exit_code == 143
    clear_signals()
