"""The composed Hydra config, kept: every command composes the same settings again from the same files.

Hydra's compose reads and merges every file of the defaults list, checks them against the schema and builds the
config node by node: about a third of a second on a 2-core machine, paid by every command before it does anything
(a cached report takes half a second in all). Its result is a pure function of the files under ``conf/``, the
overrides, and the code that composes (this package's schema and config modules, Hydra's and OmegaConf's
versions); where the folders are enters only Hydra's own record of them (``hydra.runtime.cwd``, the config source's
path), set to this run's folders on a hit, so a copied or moved project home keeps its kept configs. The config is
kept under a key of all of these (``forecast.memo.digest``), in ``<cache>/derived/compose/``; a changed file,
override or version is a new key, never a stale config. A ``conf/`` that names other config folders (Hydra's
``searchpath``, whose files the key would not hold) is composed every time. Interpolations stay as they are
composed (``${...}`` is resolved when read), so an environment variable a setting reads is read by each run.

The kept config is pickled (OmegaConf's own format for a node with its schema, flags and Hydra's node: rebuilt from
plain data it loses its types), behind a header with the pickle's sha256: a cut or damaged file is a miss, and
only a file of the cache folder the project uses by default, owned by this user and writable by no one else, is
read. Anything else composes as before. The folder keeps the ``KEEP`` most recently used configs (a hit touches its
file; a new one removes the oldest beyond them), so dated overrides run every day do not pile up.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import pickle
from pathlib import Path
from typing import Any

log = logging.getLogger("forecast")

KIND = "compose"
FORMAT = 1  # bump when what a kept config holds changes
MAGIC = b"forecast-compose\n"
KEEP = 64  # kept configs (about 60 KB each): the least recently used beyond these are removed
_HERE = Path(__file__).resolve().parent


def key(conf: Path, overrides: list[str], hydra_dirs: bool) -> str | None:
    """The memo key of composing ``overrides`` from the folder ``conf``, or None: a file of it cannot be read (then
    Hydra composes, and says what is wrong), or it names other config folders (``searchpath``)."""
    from forecast import memo

    try:
        files = sorted(p for p in conf.rglob("*") if p.is_file())
        contents = [[str(p.relative_to(conf)), p.read_bytes()] for p in files]
    except OSError:
        return None
    if any(b"searchpath" in data for _, data in contents) or any("searchpath" in o for o in overrides):
        return None
    parts: list[Any] = [KIND, FORMAT, list(overrides), bool(hydra_dirs),
                        *(memo.source(_HERE / f) for f in ("config.py", "schema.py", "compose_memo.py")),
                        memo.version("hydra-core"), memo.version("omegaconf")]
    for name, data in contents:
        parts += [name, data]
    return memo.digest(*parts)


def _file(cache: Path, k: str) -> Path:
    return cache / "derived" / KIND / f"{k}.bin"


def get(cache: Path, k: str | None, conf: Path):
    """The config kept under ``k``, with Hydra's record of the folders set to this run's (the current folder,
    ``conf``), or None (missing, damaged, or a file this user should not trust)."""
    if k is None:
        return None
    p = _file(cache, k)
    try:
        st = p.stat()
        if st.st_uid != os.getuid() or st.st_mode & 0o022:
            log.info("kept config %s is not this user's own file: composing", p)
            return None
        data = p.read_bytes()
    except OSError:
        return None
    with contextlib.suppress(OSError):
        os.utime(p)  # used now: the last to be removed
    head = len(MAGIC) + 32
    if not data.startswith(MAGIC) or hashlib.sha256(data[head:]).digest() != data[len(MAGIC):head]:
        log.info("kept config %s damaged: composing", p)
        return None
    try:
        cfg = pickle.loads(data[head:])  # noqa: S301 - this user's own file of the project's cache, checked above
        if "hydra" in cfg:
            # the resolvers Hydra registers when it composes (``${now:...}`` in hydra.run.dir, ``${hydra:...}``)
            from hydra.core.utils import setup_globals

            setup_globals()
            cfg.hydra.runtime.cwd = os.getcwd()
            for source in cfg.hydra.runtime.config_sources:
                if source.provider == "main" and source.schema == "file":
                    source.path = str(conf)
        return cfg
    except Exception as e:  # noqa: BLE001 - an unreadable entry (another OmegaConf, a cut file, no cwd) is a miss
        log.info("kept config %s unreadable (%s): composing", p, e)
        return None


def put(cache: Path, k: str | None, cfg) -> None:
    """Keep ``cfg`` under ``k`` (a full or read-only cache costs speed, never the run)."""
    if k is None:
        return
    from forecast.files import atomic_write_file

    body = pickle.dumps(cfg, protocol=pickle.HIGHEST_PROTOCOL)
    try:
        atomic_write_file(_file(cache, k), MAGIC + hashlib.sha256(body).digest() + body, root=cache)
    except OSError as e:
        log.warning("could not keep the composed config under %s: %s", cache, e)
        return
    _prune(_file(cache, k).parent, KEEP)


def _prune(folder: Path, keep: int) -> None:
    """Remove the least recently used kept configs beyond ``keep`` (another run removing one too is no error)."""
    try:
        files = sorted(((p.stat().st_mtime_ns, p) for p in folder.glob("*.bin")), reverse=True)
    except OSError:
        return
    for _, p in files[keep:]:
        with contextlib.suppress(OSError):
            p.unlink()
