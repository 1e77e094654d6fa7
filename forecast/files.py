"""The one door for every write the tool makes, and safe reads of its logs.

Every file the tool creates, replaces or appends goes through here:

- ``atomic_write_file`` / ``atomic_write_with`` / ``atomic_write_dir``: written to a hidden temporary
  sibling, flushed to disk (fsync) and renamed into place, so a reader never sees half a file or half a
  report folder, and a failed or interrupted write leaves the previous version as it was;
- ``append_text``: appends under a lock, after the caller's check of the existing file (a torn last
  record is never written after), as one write that is cut back if the disk fills mid-way;
- ``create_new_file``: a file that must not exist yet (an evidence entry), never overwritten;
- ``replace_link``: ``reports/latest``, the one symbolic link the tool maintains.
- the primitives ``forecast.publication`` builds its one-transaction publication of a run on.

Each of them checks the target first (``guard``): it lies inside the folder the tool owns for it, that
folder is not the filesystem root or a system folder, and no part of the way below that folder is a
symbolic link (a link the tool did not make could send the write anywhere). An ``OSError`` during a
write (disk full, file-size limit, read-only folder, no permission) becomes a one-line ``WriteError``
(exit 74). Derived folders that are in the way (``.cache`` being a regular file) are moved aside, kept,
never deleted (``ensure_dir(..., heal=True)``, ``move_aside``).
Base layer: imports only the standard library, ``forecast.errors`` and (for locks) ``filelock``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import json
import logging
import os
import shutil
import signal
import sys
import tempfile
from pathlib import Path
from typing import Any

from forecast.errors import (
    InputError,
    WriteError,
    hold_signals,
    printable,
    raise_if_interrupted,
    signals_held,
    signals_received,
)

log = logging.getLogger("forecast.files")

# folders a configured path may never be (the root, the system's own folders, a home folder itself) ...
SYSTEM_DIRS = {"/", "/bin", "/boot", "/dev", "/etc", "/home", "/lib", "/lib32", "/lib64", "/libx32", "/media",
               "/mnt", "/opt", "/proc", "/root", "/run", "/sbin", "/srv", "/sys", "/tmp", "/usr", "/var"}  # noqa: S108
# ... nor lie inside
SYSTEM_TREES = ("/bin", "/boot", "/dev", "/etc", "/lib", "/lib32", "/lib64", "/libx32", "/proc", "/run", "/sbin",
                "/sys", "/usr")

_FIXES = {
    errno.ENOSPC: "free disk space and rerun",
    errno.EDQUOT: "free space within your disk quota and rerun",
    errno.EFBIG: "a file-size limit was hit: raise it (ulimit -f) and rerun",
    errno.EROFS: "the file system is read-only: point paths.reports / paths.cache at a writable folder",
    errno.EACCES: "make the folder writable for this user or point paths.* at another folder",
    errno.EPERM: "make the folder writable for this user or point paths.* at another folder",
    errno.ENOTDIR: "a file stands where a folder belongs: move it away",
    errno.EEXIST: "a file stands where a folder belongs: move it away",
    errno.EISDIR: "a folder stands where a file belongs: move it away",
}


def warn(msg: str) -> None:
    """A one-line warning for people (stderr) and the log: a derived file was healed, a link refused."""
    if log.hasHandlers():  # the run's log file; file_only: a scheduled run's console handler skips it
        log.warning("%s", msg, extra={"file_only": True})
    with contextlib.suppress(OSError, ValueError, AttributeError):
        print(f"forecast: warning: {printable(msg)}", file=sys.stderr, flush=True)


UNCHANGED = "earlier outputs are unchanged"


def write_error(path: Path | str, e: OSError, outcome: str = UNCHANGED) -> WriteError:
    """The one-line error for a failed write: the file, the system's reason, the fix, what stands."""
    name = errno.errorcode.get(e.errno or 0, "EIO")
    fix = _FIXES.get(e.errno or 0, "check the disk and the folder's permissions and rerun")
    return WriteError(f"cannot write {path}: {e.strerror or e} ({name}); {fix}; {outcome}")


@contextlib.contextmanager
def io_errors(path: Path | str):
    """Turn an ``OSError`` raised while writing ``path`` into a one-line ``WriteError`` (exit 74)."""
    try:
        yield
    except WriteError:
        raise
    except OSError as e:
        raise write_error(path, e) from None


@contextlib.contextmanager
def deferred_signals():
    """Hold SIGINT/SIGTERM/SIGHUP back for system calls that must not be separated (two renames, a commit)."""
    sigs = {signal.SIGINT, signal.SIGTERM, *([signal.SIGHUP] if hasattr(signal, "SIGHUP") else [])}
    before = len(signals_received())
    hold_signals(True)  # the handler records, not raises (another thread may take a signal the main one blocks)
    try:
        old = signal.pthread_sigmask(signal.SIG_BLOCK, sigs)
    except (AttributeError, OSError, ValueError):  # pragma: no cover - not on Linux
        old = None
    try:
        yield
    finally:
        if old is not None:
            signal.pthread_sigmask(signal.SIG_SETMASK, old)  # a blocked signal's handler runs here: it records
        hold_signals(False)
    if not signals_held() and len(signals_received()) > before:  # a signal arrived while held: it stops now
        raise_if_interrupted()


# ---------------------------------------------------------------------- where a write may go
def unsafe_folder(path: Path | str) -> str | None:
    """Why ``path`` (absolute) must not be a folder the tool writes into, or None: the filesystem root, a
    system folder (or inside one), or a shared top folder itself (``/tmp``, ``/home``, a home folder, ...)."""
    p = Path(path)
    s = str(p)
    if p == Path(p.anchor):
        return "is the filesystem root"
    if any(s == d or s.startswith(d + "/") for d in SYSTEM_TREES):
        return "is a system folder"
    if s in SYSTEM_DIRS or p == Path.home():
        return "is a shared system folder (name a folder inside it)"
    return None


def check_folder(folder: Path | str, what: str = "a configured folder") -> Path:
    """``folder`` (absolute) unless it, or where its links lead, is a folder the tool must not write into
    (``unsafe_folder``): one rule for ``paths.*``, Hydra's run and sweep folders and every write."""
    p = Path(os.path.abspath(folder))
    for q in dict.fromkeys((p, Path(os.path.realpath(p)))):
        why = unsafe_folder(q)
        if why:
            raise InputError(what, f"{str(folder)!r} {why} ({q}), where the tool must not write",
                             "name a folder of this project or your own")
    return p


def guard(path: Path | str, root: Path | str | None = None) -> Path:
    """``path`` as an absolute path, after checking that it lies inside ``root`` (default: its own folder),
    that ``root`` is an acceptable folder, and that neither ``path`` nor any folder between ``root`` and it
    is a symbolic link (the tool's own ``latest`` link is never written through)."""
    path = Path(os.path.abspath(path))
    root = Path(os.path.abspath(root)) if root is not None else path.parent
    check_folder(root)
    try:
        rel = path.relative_to(root)
    except ValueError:
        raise InputError(str(path), f"is outside {root}, the folder the tool writes", "use a name inside it") \
            from None
    if not rel.parts or ".." in rel.parts:
        raise InputError(str(path), f"is not a file inside {root}", "use a name inside it")
    cur = root
    for part in rel.parts:
        cur = cur / part
        if cur.is_symlink():
            raise InputError(f"symbolic link {cur}", f"-> {os.readlink(cur)}: the tool does not write through a "
                             "link it did not make", "remove the link (or replace it by a real file or folder)")
    return path


def ensure_dir(path: Path | str, root: Path | str | None = None, heal: bool = False) -> Path:
    """Create the folder ``path`` (inside ``root``) if missing. A regular file in the way at or below
    ``root`` is moved aside (kept) when ``heal`` (derived folders: the cache), else a one-line error."""
    path = Path(os.path.abspath(path))
    root = Path(os.path.abspath(root)) if root is not None else path
    if path != root:
        guard(path, root)
    else:
        check_folder(root)
    for _ in range(len(path.parts) + 1):
        try:
            path.mkdir(parents=True, exist_ok=True)
            return path
        except (FileExistsError, NotADirectoryError) as e:
            blocker = next((p for p in [*reversed(path.parents), path] if p.exists() and not p.is_dir()), None)
            if blocker is None:
                raise write_error(path, e) from None
            inside = blocker == root or root in blocker.parents
            if not (heal and inside) or blocker.is_symlink():
                raise WriteError(f"cannot create folder {path}: {blocker} is a file, not a folder; move it away "
                                 "(or point paths.* elsewhere) and rerun") from None
            move_aside(blocker, "is a file where the tool keeps a folder")
        except OSError as e:
            raise write_error(path, e) from None
    raise WriteError(f"cannot create folder {path}")  # pragma: no cover


def move_aside(path: Path | str, why: str, then: str = "rebuilt") -> Path:
    """Rename a damaged derived file to ``<name>.bad-<UTC time>`` beside it (kept, never deleted) and say so
    in one line: ``<path> <why>: moved aside to <name> (kept); <then>``."""
    path = Path(path)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%f")
    dest = path.with_name(f"{path.name}.bad-{stamp}")
    with io_errors(path):
        os.replace(path, dest)
    warn(f"{path} {why}: moved aside to {dest.name} (kept); {then}")
    return dest


# ---------------------------------------------------------------------- writes
def fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def folder_lock(folder: Path):
    """An exclusive lock on a folder itself (flock on its descriptor): no lock file is left in it."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        import fcntl

        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


folder_lock = folder_lock  # for a check and a write that must not be separated (a new id: its check and its file)


def atomic_write_with(path: Path | str, write, root: Path | str | None = None, check=None) -> Path:
    """Write ``path`` through ``write(tmp_path)`` into a hidden temporary sibling; ``check(tmp_path)`` (if
    given) must accept the written file before it is renamed into place."""
    path = guard(path, root)
    ensure_dir(path.parent, root if root is not None else path.parent)
    tmp = None
    try:
        with io_errors(path):
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
            os.close(fd)
            write(Path(tmp))
            fsync_file(Path(tmp))
            if check is not None:
                check(Path(tmp))
            os.chmod(tmp, 0o644)
            os.replace(tmp, path)
            tmp = None
            fsync_dir(path.parent)
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
    return path


def atomic_write_file(path: Path | str, content: str | bytes, root: Path | str | None = None) -> Path:
    """Write a file through a temporary sibling, fsync and an atomic rename."""
    data = content.encode("utf-8") if isinstance(content, str) else content

    def write(tmp: Path) -> None:
        with open(tmp, "wb") as fh:
            fh.write(data)

    return atomic_write_with(path, write, root)


def refuse_foreign(final: Path, owned: tuple[str, ...] | None) -> None:
    """Refuse to replace ``final`` unless it is a folder the tool wrote. Another run may rename it away
    while this looks at it (outside the lock): a folder that vanished is no folder to refuse."""
    try:
        foreign = final.exists() and (not final.is_dir() or (owned is not None and any(final.iterdir())
                                                             and not any((final / m).is_file() for m in owned)))
    except FileNotFoundError:
        return
    if foreign:
        raise InputError(str(final), f"exists and was not written by forecast (no {' or '.join(owned or ())} in it)",
                         "move it away or choose another folder; the tool never replaces what it did not write")


def atomic_write_dir(final: Path | str, fill, root: Path | str | None = None,
                     owned: tuple[str, ...] | None = None) -> Path:
    """Build a folder in a hidden temporary sibling with ``fill(tmp)``, then move it into place.

    An existing ``final`` is replaced only when it is a real folder the tool wrote: it holds one of the file
    names ``owned`` (what marks a folder as the caller's, e.g. a report's ``forecast.json``), or nothing; anything
    else is refused, never deleted. ``owned=None`` (the default) skips that check."""
    final = guard(final, root)
    ensure_dir(final.parent, root if root is not None else final.parent)
    with folder_lock(final.parent):
        refuse_foreign(final, owned)  # fail before the work (under the lock: another run may be mid-rename)
    tmp = None
    try:
        with io_errors(final):
            tmp = Path(tempfile.mkdtemp(dir=final.parent, prefix=f".{final.name}.tmp-"))
            fill(tmp)
            os.chmod(tmp, 0o755)  # noqa: S103 - mkdtemp makes it private; reports are for reading
            for f in tmp.iterdir():
                if f.is_file():
                    os.chmod(f, 0o644)
                    fsync_file(f)
            fsync_dir(tmp)
            # two runs publishing the same folder at once take turns for the two renames (else the second finds
            # the folder gone between its check and its rename); signals wait: never between the two renames
            with folder_lock(final.parent), deferred_signals():
                refuse_foreign(final, owned)
                if final.exists():
                    old = final.parent / f".{final.name}.old-{os.getpid()}"
                    os.replace(final, old)
                    os.replace(tmp, final)
                    tmp = None
                    shutil.rmtree(old, ignore_errors=True)  # the previous version of a folder the tool wrote
                else:
                    os.replace(tmp, final)
                    tmp = None
            fsync_dir(final.parent)
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)  # the temporary folder this call made
    return final


def create_new_file(path: Path | str, content: str | bytes, root: Path | str | None = None) -> Path:
    """Write a file that must not exist yet: complete (temporary + fsync) and linked into place, which
    fails if the name is taken, so it never overwrites. Raises FileExistsError then."""
    path = guard(path, root)
    ensure_dir(path.parent, root if root is not None else path.parent)
    data = content.encode("utf-8") if isinstance(content, str) else content
    tmp = None
    taken = False
    try:
        with io_errors(path):
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".new-", suffix=".tmp")
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.chmod(tmp, 0o644)
            try:
                os.link(tmp, path)
            except FileExistsError:  # the name is taken (by another process a moment ago): the caller says so
                taken = True
            else:
                fsync_dir(path.parent)
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
    if taken:
        raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), str(path))
    return path


def move_file(src: Path | str, dst: Path | str, root: Path | str) -> Path:
    """Move a file the tool may write (both paths inside ``root``) to a name that must not exist yet: the copy is
    written complete first (``create_new_file``), then the original is removed, so a crash leaves both, never
    neither. A ``dst`` already holding the same bytes (a move cut short) is kept and the original removed; a
    different ``dst`` raises FileExistsError."""
    src, dst = guard(src, root), guard(dst, root)
    data = src.read_bytes()
    try:
        create_new_file(dst, data, root)
    except FileExistsError:
        if dst.read_bytes() != data:
            raise
    with io_errors(src):
        os.unlink(src)
        fsync_dir(src.parent)
    return dst


def append_text(path: Path | str, text: str, root: Path | str | None = None, *, lock: Path | str | None = None,
                check=None, header: str = "") -> Path:
    """Append ``text`` (whole records, each ending in a newline) to ``path``.

    Under ``lock`` (a file lock; two processes may meet here), ``check(path)`` first judges the existing
    file (it raises to refuse appending after a damaged record, or returns text to write first, e.g. a
    newline that closes a torn last line of a log). ``header`` starts a new or empty file. The new text
    goes in one write; if the disk fills or a size limit is hit mid-way, the file is cut back to its
    previous length, so no half record is left behind."""
    path = guard(path, root)
    ensure_dir(path.parent, root if root is not None else path.parent)
    if not text:
        return path
    lock_cm = contextlib.nullcontext()
    if lock is not None:
        from filelock import FileLock

        ensure_dir(Path(lock).parent, Path(lock).parent)
        lock_cm = FileLock(str(lock))
    with io_errors(path), lock_cm:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o644)
        try:
            size = os.fstat(fd).st_size
            prefix = (check(path) or "") if check is not None and size else ""
            data = ((header if size == 0 else prefix) + text).encode("utf-8")
            try:
                write_all(fd, data)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.ftruncate(fd, size)  # no half record survives a failed or interrupted append
                raise
        finally:
            os.close(fd)
    return path


def replace_link(link: Path | str, target_name: str, root: Path | str) -> Path:
    """Point the symbolic link ``link`` (directly inside ``root``) at ``target_name`` atomically. Only a
    link (or nothing) is replaced: a real file or folder of that name is refused, never deleted."""
    link = Path(os.path.abspath(link))
    root = Path(os.path.abspath(root))
    check_folder(root)
    if link.parent != root or "/" in target_name or target_name in ("", ".", ".."):
        raise InputError(str(link), "not a link directly inside the reports folder", "use a folder name")
    if link.exists() and not link.is_symlink():
        raise InputError(str(link), "is a real file or folder, not the link the tool maintains",
                         "move it away; the tool never replaces what it did not write")
    tmp = root / f".{link.name}.tmp-{os.getpid()}"
    with io_errors(link):
        if tmp.is_symlink():
            tmp.unlink()
        os.symlink(target_name, tmp)
        os.replace(tmp, link)
    return link

def write_all(fd: int, data: bytes | memoryview) -> None:
    """Every byte of ``data`` written to ``fd`` (os.write may write fewer), then fsync'ed."""
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]
    os.fsync(fd)


# ---------------------------------------------------------------------- reading logs
def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """The JSON objects of a line-per-record log (``runs.jsonl``, ``alerts.jsonl``); a line cut by a crash or
    damaged by hand, or a line that is not an object, is skipped, never fatal."""
    path = Path(path)
    if not path.is_file():
        return []
    out = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            rec = json.loads(line)
        except ValueError:
            continue
        if isinstance(rec, dict):
            out.append(rec)
    return out
