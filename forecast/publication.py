"""A publication: everything one run publishes under the reports folder, made visible together or not at all.

``Publication`` stages a run's parts (report folders, pages, log appends, the ``latest`` link, derived pages)
and commits them under the reports folder's lock with SIGINT/SIGTERM held back, through a journal
(``.publication-journal.json``) that the next run completes or rolls back after a crash (``recover``);
``clean_stale`` removes what runs that died before their commit left staged. Every write goes through the
primitives of ``forecast.files`` (the one door for writes). Base layer: the standard library, ``forecast.errors``
and ``forecast.files``.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
from pathlib import Path
from typing import Any

from forecast.errors import ForecastError, InputError, WriteError, raise_if_interrupted
from forecast.files import (
    UNCHANGED,
    check_folder,
    deferred_signals,
    ensure_dir,
    folder_lock,
    fsync_dir,
    fsync_file,
    guard,
    io_errors,
    refuse_foreign,
    warn,
    write_all,
    write_error,
)

JOURNAL = ".publication-journal.json"
_PUBLISHED: list[str] = []  # what this process has published (for the stop message)


def published_so_far() -> list[str]:
    """What this process has published so far, one phrase per publication (the stop message names it)."""
    return list(_PUBLISHED)


def clear_published() -> None:
    _PUBLISHED.clear()


def _rel(root: Path, path: Path) -> str:
    return str(Path(path).relative_to(root))


def _fsync_dir_strict(folder: Path) -> None:
    """fsync a folder's entries; a file system that cannot (EINVAL, ENOTSUP) is not an error, anything else is."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    except OSError as e:
        if e.errno not in (errno.EINVAL, errno.ENOTSUP, errno.EBADF):
            raise
    finally:
        os.close(fd)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # EPERM: it exists
        return True
    return True


def _file_bytes(path: Path) -> bytes:
    try:
        with open(path, "rb") as fh:
            return fh.read()
    except FileNotFoundError:
        return b""


def _probe_append(path: Path) -> None:
    """Open an append target for writing and close it again (nothing written): a folder in its place, a
    read-only file system, an immutable file or a missing permission shows here, before anything is published."""
    if path.is_symlink():
        raise InputError(f"symbolic link {path}", f"-> {os.readlink(path)}: the tool does not write through a "
                         "link it did not make", "remove the link (or replace it by a real file)")
    if path.exists() and not path.is_file():
        raise WriteError(f"cannot write {path}: it is not a regular file ({'a folder' if path.is_dir() else 'a '
                         'special file'}); move it away and rerun")
    if path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | getattr(os, "O_NOFOLLOW", 0))
        os.close(fd)
    elif not os.access(path.parent, os.W_OK | os.X_OK):
        raise OSError(errno.EACCES, os.strerror(errno.EACCES), str(path.parent))


class Publication:
    """Everything one run publishes under ``root`` (the reports folder), made visible together or not at all.

    Stage the parts first (the slow work, nothing visible yet): ``folder`` (a report folder, built in a hidden
    sibling), ``file`` (a page or log rewritten whole), ``append`` (records added to a log: the history rows,
    the run's record), ``link`` (``latest``), ``derive`` (a page rendered from the published state, e.g. the
    landing page, at commit time). ``commit()`` then, under the reports folder's lock and with SIGINT/SIGTERM
    held back:

    1. completes or rolls back a publication a crash left half done (``recover``);
    2. checks every target again (type, link, permission, the caller's check of an append target such as the
       history's, free space and the file-size limit for what is still to be written): a refusal here leaves
       everything as it was;
    3. writes the journal ``<root>/.publication-journal.json`` (every step and the exact bytes of every
       append): once it is on disk the publication is decided, and a crash from here on is completed by the
       next run's ``recover``;
    4. applies the steps (appends, renames of folders and files, the link, then the derived pages), each
       fsync'ed; an error rolls the applied steps back (appends cut back to their length, folders and files
       renamed back) and nothing is published;
    5. removes the journal (the publication is complete) and the previous versions it kept for a rollback.

    Use it as a context manager: leaving the block without ``commit`` removes everything staged."""

    def __init__(self, root: Path | str, what: str = "the reports"):
        self.root = check_folder(root)
        self.what = what
        self.id = f"{os.getpid()}-{os.urandom(4).hex()}"
        self.steps: list[dict[str, Any]] = []
        self._calls: dict[int, Any] = {}  # step index -> the append's check or the derived page's renderer
        self.committed = False
        self._pending = False  # a failed commit that could not be rolled back: its journal and files stay

    # ------------------------------------------------------------------ staging
    def __enter__(self) -> Publication:
        return self

    def __exit__(self, kind, exc, tb) -> bool:
        if not self.committed:
            self.abort()
            if isinstance(exc, InputError | WriteError) and not self._pending and "nothing was published" not in \
                    str(exc):  # refused while staging: the message says that nothing was published
                raise _nothing_published(exc, self._nothing()) from None
        return False

    def _nothing(self) -> str:
        return f"nothing was published ({self.what}, the history and the pages stay as they were)"

    def _tmp(self, final: Path, kind: str = "tmp") -> Path:
        return final.parent / f".{final.name}.{kind}-{self.id}"

    def _target(self, final: Path | str) -> Path:
        final = guard(final, self.root)
        ensure_dir(final.parent, self.root)
        return final

    def folder(self, final: Path | str, fill, owned: tuple[str, ...] | None = None) -> Path:
        """Stage a folder: ``fill(tmp)`` writes it into a hidden sibling of ``final``. An existing ``final`` is
        replaced only when the tool wrote it (it holds one of the ``owned`` marker files, or nothing)."""
        final = self._target(final)
        refuse_foreign(final, owned)  # fail before the work
        tmp = self._tmp(final)
        step = {"kind": "folder", "final": _rel(self.root, final), "tmp": _rel(self.root, tmp),
                "old": _rel(self.root, self._tmp(final, "old")), "owned": list(owned) if owned else None}
        self.steps.append(step)  # before anything exists: abort removes what a failed fill left
        with io_errors(final):
            tmp.mkdir()
            fill(tmp)
            os.chmod(tmp, 0o755)  # noqa: S103 - reports are for reading
            for f in tmp.rglob("*"):
                if f.is_file() and not f.is_symlink():
                    os.chmod(f, 0o644)
                    fsync_file(f)
            for d in [tmp, *(p for p in tmp.rglob("*") if p.is_dir() and not p.is_symlink())]:
                fsync_dir(d)
        raise_if_interrupted()
        return final

    def file(self, final: Path | str, content: str | bytes) -> Path:
        """Stage a file that replaces ``final`` whole (or creates it)."""
        final = self._target(final)
        tmp = self._tmp(final)
        self.steps.append({"kind": "file", "final": _rel(self.root, final), "tmp": _rel(self.root, tmp),
                           "old": _rel(self.root, self._tmp(final, "old"))})
        with io_errors(final):
            _write_new(tmp, content.encode("utf-8") if isinstance(content, str) else content)
        return final

    def append(self, final: Path | str, text: str, check=None, header: str = "") -> Path:
        """Stage records appended to ``final``: ``check(path)`` judges the existing file at commit time (raise to
        refuse, or return text to write first); ``header`` starts a new or empty file."""
        final = self._target(final)
        if text:
            self._calls[len(self.steps)] = check
            self.steps.append({"kind": "append", "final": _rel(self.root, final), "text": text, "header": header})
        return final

    def link(self, final: Path | str, target_name: str) -> Path:
        """Stage the symbolic link ``final`` (directly inside the root) pointing at ``target_name``."""
        final = Path(os.path.abspath(final))
        if final.parent != self.root or "/" in target_name or target_name in ("", ".", ".."):
            raise InputError(str(final), "not a link directly inside the reports folder", "use a folder name")
        tmp = self._tmp(final)
        self.steps.append({"kind": "link", "final": _rel(self.root, final), "tmp": _rel(self.root, tmp),
                           "target": target_name})
        with io_errors(final):
            os.symlink(target_name, tmp)
        return final

    def derive(self, final: Path | str, render) -> Path:
        """A page rendered from the published state (``render() -> str``), written after the other steps."""
        final = self._target(final)
        self._calls[len(self.steps)] = render
        self.steps.append({"kind": "derive", "final": _rel(self.root, final),
                           "tmp": _rel(self.root, self._tmp(final)), "old": _rel(self.root, self._tmp(final, "old"))})
        return final

    def abort(self) -> None:
        """Remove everything staged (nothing of it was visible)."""
        if self._pending:  # the journal names these files: the next run completes the publication with them
            return
        _cleanup(self.root, self.steps)  # after a rollback an "old" entry is a second name of what is in place

    # ------------------------------------------------------------------ checking
    def check(self) -> None:
        """Every target as it stands now: a link where a file or folder belongs, a folder the tool did not write,
        a real file or folder where the link goes, a folder or special file where a page or log goes, an append
        target that cannot be opened for writing. Raises one line; nothing is changed."""
        for i, s in enumerate(self.steps):
            final = self.root / s["final"]
            if s["kind"] == "link":
                if final.exists() and not final.is_symlink():
                    raise InputError(str(final), "is a real file or folder, not the link the tool maintains",
                                     "move it away; the tool never replaces what it did not write")
                continue
            guard(final, self.root)
            if s["kind"] == "folder":
                refuse_foreign(final, tuple(s["owned"]) if s["owned"] else None)
            elif s["kind"] in ("file", "derive"):
                if final.exists() and not final.is_file():
                    raise WriteError(f"cannot write {final}: a folder or special file stands where a file belongs; "
                                     "move it away and rerun")
                if not os.access(final.parent, os.W_OK | os.X_OK):
                    raise write_error(final, OSError(errno.EACCES, os.strerror(errno.EACCES)))
            elif s["kind"] == "append":
                with io_errors(final):
                    _probe_append(final)
                    check = self._calls.get(i)
                    if check is not None and final.is_file() and final.stat().st_size:
                        check(final)

    def _bytes_to_append(self) -> None:
        """Each append's exact bytes and the length it starts from (under the lock, just before the journal)."""
        for i, s in enumerate(self.steps):
            if s["kind"] != "append":
                continue
            final = self.root / s["final"]
            size = final.stat().st_size if final.is_file() else 0
            check = self._calls.get(i)
            prefix = (check(final) or "") if check is not None and size else ""
            s["size"] = size
            s["data"] = (s["header"] if size == 0 else prefix) + s["text"]

    def _check_room(self, journal_bytes: int) -> None:
        """Free space and the file-size limit (``ulimit -f``) for what the commit still writes: the journal,
        the appends, the derived pages (estimated at their current size, at least 64 KiB)."""
        import resource

        need = journal_bytes + sum(len(s["data"].encode()) for s in self.steps if s["kind"] == "append")
        for s in self.steps:
            if s["kind"] == "derive":
                f = self.root / s["final"]
                need += max(65536, 2 * f.stat().st_size if f.is_file() else 0)
        st = os.statvfs(self.root)
        free = st.f_bavail * st.f_frsize
        if free < need + 65536:
            raise write_error(self.root, OSError(errno.ENOSPC, f"{free} bytes free, {need} needed to publish"))
        soft, _ = resource.getrlimit(resource.RLIMIT_FSIZE)
        if soft != resource.RLIM_INFINITY:
            for s in self.steps:
                if s["kind"] == "append" and s["size"] + len(s["data"].encode()) > soft:
                    raise write_error(self.root / s["final"], OSError(errno.EFBIG, "the file would exceed the "
                                                                      f"file-size limit of {soft} bytes"))
            if journal_bytes > soft:
                raise write_error(self.root / JOURNAL, OSError(errno.EFBIG, "the journal would exceed the "
                                                               f"file-size limit of {soft} bytes"))

    # ------------------------------------------------------------------ committing
    def commit(self, summary: str | None = None) -> None:
        """Make everything staged visible together (the steps above). ``summary``: what is published, in words
        (the stop message of a run interrupted after this names it). Raises, with everything as it was, when a
        target is refused or a step fails."""
        raise_if_interrupted()  # a signal recorded while staging: publish nothing
        nothing = self._nothing()
        with folder_lock(self.root):
            with deferred_signals():
                try:
                    recover(self.root, {s["final"]: self._calls[i] for i, s in enumerate(self.steps)
                                        if s["kind"] == "derive"})
                    raise_if_interrupted()
                    self.check()
                    with io_errors(self.root):
                        self._bytes_to_append()
                    journal = {"version": 1, "id": self.id, "what": self.what, "steps": self.steps}
                    text = json.dumps(journal, ensure_ascii=False)
                    self._check_room(len(text.encode()))
                    try:
                        with io_errors(self.root / JOURNAL):
                            _write_journal(self.root, text)
                    except BaseException as e:
                        _remove(self.root / JOURNAL)
                        if (self.root / JOURNAL).exists():  # decided after all: the next run completes it
                            self._pending = True
                            raise self._incomplete(self.root / JOURNAL, e) from None
                        raise
                except (InputError, WriteError) as e:
                    if self._pending:
                        raise
                    raise _nothing_published(e, nothing) from None
                self._apply_all(nothing)
                self.committed = True
                _PUBLISHED.append(summary or self.what)  # before a signal held back is let through
                with contextlib.suppress(OSError):
                    _cleanup(self.root, self.steps)

    def _apply_all(self, nothing: str) -> None:
        """The steps of the decided publication; on an error, rolled back (or left to the next run)."""
        done: list[dict[str, Any]] = []
        where = self.root / JOURNAL
        try:
            for i, s in enumerate(self.steps):
                where = self.root / s["final"]
                if s["kind"] == "derive":
                    self._render(i, s)
                _apply(self.root, s, done)
            where = self.root
            _sync(self.root, self.steps)
            where = self.root / JOURNAL
            (self.root / JOURNAL).unlink()
        except BaseException as e:
            if _rollback(self.root, done):
                _remove(self.root / JOURNAL)
            if (self.root / JOURNAL).exists():
                self._pending = True
                raise self._incomplete(where, e) from None
            if isinstance(e, OSError):
                raise write_error(where, e, nothing) from None
            if isinstance(e, InputError | WriteError):
                raise _nothing_published(e, nothing) from None
            raise
        with contextlib.suppress(OSError):  # the journal is gone: published, whatever the folder's fsync says
            _fsync_dir_strict(self.root)

    def _incomplete(self, where: Path, e: BaseException) -> WriteError:
        return WriteError(f"cannot write {where}: {getattr(e, 'strerror', None) or e}; the publication of "
                          f"{self.what} is incomplete and could not be rolled back: the next run completes it "
                          f"(journal {self.root / JOURNAL})")

    def _render(self, i: int, s: dict[str, Any]) -> None:
        _place_rendered(self.root / s["tmp"], self._calls[i]())


def _place_rendered(tmp: Path, text: str | bytes) -> None:
    """A derived page's staged file, complete or absent: written under a part name, then renamed to ``tmp``
    (the recovery takes an existing ``tmp`` for a whole page)."""
    part = tmp.with_name(tmp.name.replace(".tmp-", ".part-", 1))
    _remove(part)
    try:
        _write_new(part, text.encode("utf-8") if isinstance(text, str) else text)
        os.replace(part, tmp)
    finally:
        _remove(part)


def _write_new(path: Path, data: bytes) -> None:
    """A new file written whole and fsync'ed (it must not exist)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o644)
    try:
        write_all(fd, data)
    finally:
        os.close(fd)




def _nothing_published(e: InputError | WriteError, nothing: str) -> ForecastError:
    """The same one-line refusal, saying that nothing was published."""
    if isinstance(e, InputError):
        return InputError(e.where, e.problem, f"{e.fix}; {nothing}" if e.fix else nothing)
    text = str(e)
    return WriteError(text.replace(UNCHANGED, nothing) if UNCHANGED in text else f"{text}; {nothing}")


def _write_journal(root: Path, text: str) -> None:
    tmp = root / f"{JOURNAL}.tmp-{os.getpid()}"
    _remove(tmp)
    try:
        _write_new(tmp, text.encode("utf-8"))
        os.replace(tmp, root / JOURNAL)
    finally:
        _remove(tmp)
    _fsync_dir_strict(root)


def _remove(path: Path) -> None:
    with contextlib.suppress(OSError):
        if path.is_symlink() or path.is_file():
            path.unlink()
        elif path.is_dir():
            shutil.rmtree(path)


def _apply(root: Path, s: dict[str, Any], done: list[dict[str, Any]]) -> None:
    """One step of a decided publication, in a way that can be repeated (``recover`` calls it again after a
    crash: a step already applied is recognised and left as it is)."""
    final = root / s["final"]
    kind = s["kind"]
    if kind == "append":
        data = s["data"].encode("utf-8")
        have = _file_bytes(final)
        size = s["size"]
        if len(have) >= size + len(data) and have[size:size + len(data)] == data:
            return  # applied before a crash
        if len(have) < size or (len(have) > size and not data.startswith(have[size:])):
            raise InputError(str(final), f"changed since the publication in {root / JOURNAL} began (expected "
                             f"{size} bytes before its records, found {len(have)})",
                             "restore the file, or remove the journal to give up that publication")
        fd = os.open(final, os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o644)
        try:
            done.append(s)
            write_all(fd, memoryview(data)[len(have) - size:])
        finally:
            os.close(fd)
    elif kind == "folder":
        tmp, old = root / s["tmp"], root / s["old"]
        if not tmp.exists():
            if final.exists():
                return  # renamed into place before a crash
            raise InputError(str(final), f"its new version {tmp.name} is missing", "rerun the command")
        if final.exists():
            os.replace(final, old)
            done.append({**s, "moved_old": True})
        else:
            done.append({**s, "moved_old": old.exists()})
        os.replace(tmp, final)
        done[-1]["placed"] = True
    elif kind in ("file", "derive"):
        tmp, old = root / s["tmp"], root / s["old"]
        if not tmp.exists():
            return  # in place before a crash (or a derived page the crash never rendered: rebuilt by the caller)
        if final.is_file() and not old.exists():
            os.link(final, old)  # the previous version, kept for a rollback (a second name, no copy)
        done.append(dict(s))
        os.replace(tmp, final)
        done[-1]["placed"] = True
    elif kind == "link":
        tmp = root / s["tmp"]
        if not tmp.is_symlink():
            return
        s.setdefault("old_target", os.readlink(final) if final.is_symlink() else None)
        done.append(dict(s))
        os.replace(tmp, final)
        done[-1]["placed"] = True


def _sync(root: Path, steps: list[dict[str, Any]]) -> None:
    """The renames on disk: fsync every folder a step renamed in (appends were fsync'ed as written)."""
    for d in dict.fromkeys((root / s["final"]).parent for s in steps):
        _fsync_dir_strict(d)


def _rollback(root: Path, done: list[dict[str, Any]]) -> bool:
    """Undo the applied steps, newest first; True when everything was put back."""
    ok = True
    for s in reversed(done):
        final = root / s["final"]
        try:
            if s["kind"] == "append":
                fd = os.open(final, os.O_WRONLY | getattr(os, "O_NOFOLLOW", 0))
                try:
                    os.ftruncate(fd, s["size"])
                    os.fsync(fd)
                finally:
                    os.close(fd)
            elif s["kind"] == "folder":
                if s.get("placed"):
                    os.replace(final, root / s["tmp"])
                if s.get("moved_old") and (root / s["old"]).exists():
                    os.replace(root / s["old"], final)
            elif s["kind"] in ("file", "derive"):
                if s.get("placed"):
                    old = root / s["old"]
                    if old.exists():
                        os.replace(old, final)
                    else:
                        os.replace(final, root / s["tmp"])
            elif s["kind"] == "link" and s.get("placed"):
                if s.get("old_target"):
                    tmp = root / s["tmp"]
                    _remove(tmp)
                    os.symlink(s["old_target"], tmp)
                    os.replace(tmp, final)
                else:
                    final.unlink()
        except OSError:
            ok = False
    with contextlib.suppress(OSError):
        _sync(root, done)
    return ok


def _cleanup(root: Path, steps: list[dict[str, Any]]) -> None:
    """After a complete publication: the previous versions kept for a rollback, and temporary leftovers."""
    for s in steps:
        for key in ("old", "tmp"):
            if key in s:
                _remove(root / s[key])


def recover(root: Path | str, rebuild: dict[str, Any] | None = None) -> list[str]:
    """Complete a publication a crash left half done under ``root`` (its journal is on disk: it was decided),
    then remove what dead runs left staged. Call under the root's lock (``Publication.commit`` does). A derived
    page the crash left unrendered is rendered again by ``rebuild[<its path under root>]()`` when given; returns
    those it could not render (their owner rebuilds them)."""
    root = Path(root)
    rebuild = rebuild or {}
    path = root / JOURNAL
    stale: list[str] = []
    if path.is_file():
        try:
            journal = json.loads(path.read_text(encoding="utf-8"))
            steps = journal["steps"]
        except (OSError, ValueError, KeyError, TypeError):
            journal, steps = None, None
        if steps is None:  # a journal is written whole (renamed into place): unreadable means damaged by hand
            raise InputError(str(path), "is not a publication journal the tool can read",
                             "move it away (the publication it described is then left as it is) and rerun")
        with io_errors(root):
            for s in steps:
                if s["kind"] == "derive" and not (root / s["tmp"]).exists():
                    if s["final"] in rebuild:
                        _place_rendered(root / s["tmp"], rebuild[s["final"]]())
                    else:
                        stale.append(s["final"])
                _apply(root, s, [])
            _sync(root, steps)
            path.unlink()
            _fsync_dir_strict(root)
        _cleanup(root, steps)
        warn(f"completed the publication of {journal.get('what', 'reports')} that an interrupted run had begun "
             f"({len(steps)} step(s); journal {path.name} removed)")
    clean_stale(root)
    return stale


def clean_stale(root: Path | str) -> None:
    """Remove what runs that died before their commit left staged beside its targets (hidden ``.<name>.tmp-<pid>-``
    and ``.<name>.old-<pid>-`` entries of a process that no longer exists); a live run's are left alone."""
    import re

    root = Path(root)
    pattern = re.compile(r"^\..+\.(tmp|old|part)-(\d+)(-[0-9a-f]+)?$")
    folders, level = [root], [root]
    for _ in range(2):  # staged entries sit beside their targets: the root, a dated folder, published/<scenario>/
        level = [q for p in level if p.is_dir() for q in sorted(p.iterdir())
                 if q.is_dir() and not q.is_symlink() and not q.name.startswith(".")]
        folders += level
    for folder in folders:
        with contextlib.suppress(OSError):
            for p in folder.iterdir():
                m = pattern.match(p.name)
                if m and not _pid_alive(int(m.group(2))):
                    _remove(p)
