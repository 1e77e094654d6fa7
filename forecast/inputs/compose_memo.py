"""The composed Hydra config, kept: every command composes the same settings again from the same files.

Hydra's compose reads and merges every file of the defaults list, checks them against the schema and builds the
config node by node: about a third of a second on a 2-core machine, paid by every command before it does anything
(a cached report takes half a second in all). Its result is a function of the files under ``conf/`` (symbolic links
followed, as Hydra reads them), the overrides, and the code that composes (this package's schema and config modules,
the versions of Hydra, OmegaConf and the installed Hydra plugins, whose config nodes a group may select). The config
is kept under a key of all of these (``forecast.memo.digest``), in ``<cache>/derived/compose/``; a changed file,
override or version is a new key, never a stale config. Where the folders are enters only Hydra's own record of them
(``hydra.runtime.cwd``, the config source's path), set to this run's folders on a hit, so a copied or moved project
home keeps its kept configs.

What Hydra's compose reads besides those is never kept: a config whose defaults list or overrides interpolate
(``${...}`` in a choice of a group: Hydra resolves it while composing, from the environment or the clock), that names
other config folders (``searchpath``) or copies environment variables (``hydra.job.env_copy``) is composed every time.
Interpolations in values stay as they are (``${...}`` is resolved when read, by each run: the resolvers' cache is
cleared before a config is kept and after it is read, so ``${now:...}`` is this run's time), and a hit registers the
resolvers Hydra's compose registers (``setup_globals``). Hydra's warnings about a config (a defaults list without
``_self_``) are printed by the compose that keeps it, not by the hits after it.

The kept config is pickled (OmegaConf's own format for a node with its schema, flags and Hydra's node: rebuilt from
plain data it loses its types), behind a header with the pickle's sha256: a cut or damaged file is a miss. A project
home can come from someone else (an archive, a clone), so reading it never runs code: the unpickler builds only the
classes a config is made of (OmegaConf's nodes, the schema's and Hydra's config dataclasses and enums, plain
containers and scalars) and refuses anything else (a function to call, a class of another module): such a file is
a miss. A symbolic link, a file of another owner or one writable by others is not read either. The folder keeps
the ``KEEP`` most recently used configs (a hit touches its file; a new one removes the oldest beyond them), so dated
overrides run every day do not pile up.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import logging
import os
import pickle
import stat
from pathlib import Path
from typing import Any

log = logging.getLogger("forecast")

KIND = "compose"
FORMAT = 2  # bump when what a kept config holds changes
MAGIC = b"forecast-compose\n"
KEEP = 64  # kept configs (about 60 KB each): the least recently used beyond these are removed
_HERE = Path(__file__).resolve().parent
PLUGINS = ("hydra-joblib-launcher", "hydra-ray-launcher", "hydra-submitit-launcher")  # config nodes a group selects

# what a pickled config is made of: the classes of these modules (prefixes), and these few of the standard library
_MODULES = ("omegaconf", "forecast.inputs.schema", "hydra.conf", "hydra.types", "hydra._internal.core_plugins",
            "hydra_plugins")
_PLAIN = {("builtins", n) for n in ("dict", "list", "tuple", "set", "frozenset", "int", "float", "str", "bool",
                                    "bytes", "complex")}
_PLAIN |= {("typing", n) for n in ("Any", "Dict", "List", "Optional", "Tuple", "Union")}
_PLAIN |= {("collections", "defaultdict"), ("collections", "OrderedDict")}


def _conf_files(conf: Path) -> list[tuple[str, bytes]]:
    """Every file under ``conf`` (relative name, bytes), symbolic links to folders followed as Hydra follows them
    (a folder reached twice is read once); raises OSError."""
    out, seen = [], set()
    for root, dirs, names in os.walk(conf, followlinks=True):
        real = os.path.realpath(root)
        if real in seen:
            dirs[:] = []
            continue
        seen.add(real)
        dirs.sort()
        for n in sorted(names):
            p = Path(root) / n
            out.append((str(p.relative_to(conf)), p.read_bytes()))
    return out


def _reads_more(files: list[tuple[str, bytes]], overrides: list[str]) -> bool:
    """Whether composing reads anything the key does not hold: an interpolated choice in a defaults list or an
    override, another config folder (``searchpath``), environment variables copied (``env_copy``)."""
    import yaml

    if any(w in o for o in overrides for w in ("${", "searchpath", "env_copy")):
        return True
    for name, data in files:
        if b"searchpath" in data or b"env_copy" in data:
            return True
        if not name.endswith((".yaml", ".yml")) or b"defaults" not in data or b"${" not in data:
            continue
        try:
            doc = yaml.load(data, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # noqa: S506 - a safe loader
        except yaml.YAMLError:
            return True  # Hydra says what is wrong with it
        if isinstance(doc, dict) and "${" in repr(doc.get("defaults")):
            return True
    return False


def key(conf: Path, overrides: list[str], hydra_dirs: bool) -> str | None:
    """The memo key of composing ``overrides`` from the folder ``conf``, or None: a file of it cannot be read (then
    Hydra composes, and says what is wrong), or composing reads more than the key holds (``_reads_more``)."""
    from forecast import memo

    try:
        files = _conf_files(conf)
    except OSError:
        return None
    if _reads_more(files, overrides):
        return None
    parts: list[Any] = [KIND, FORMAT, list(overrides), bool(hydra_dirs),
                        *(memo.source(_HERE / f) for f in ("config.py", "schema.py", "compose_memo.py")),
                        *(memo.version(d) for d in ("hydra-core", "omegaconf", *PLUGINS))]
    for name, data in files:
        parts += [name, data]
    return memo.digest(*parts)


def _file(cache: Path, k: str) -> Path:
    return cache / "derived" / KIND / f"{k}.bin"


class _ConfigUnpickler(pickle.Unpickler):
    """Builds the classes a config is made of and nothing else (``_MODULES``' classes, ``_PLAIN``)."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _PLAIN:
            return super().find_class(module, name)
        if any(module == m or module.startswith(m + ".") for m in _MODULES):
            obj = super().find_class(module, name)
            if isinstance(obj, type):
                return obj
        raise pickle.UnpicklingError(f"{module}.{name} is not part of a config")


def get(cache: Path, k: str | None, conf: Path):
    """The config kept under ``k``, with Hydra's record of the folders set to this run's (the current folder,
    ``conf``), or None (missing, damaged, or a file this user should not trust)."""
    if k is None:
        return None
    p = _file(cache, k)
    try:
        st = os.lstat(p)
        if not stat.S_ISREG(st.st_mode) or st.st_uid != os.getuid() or st.st_mode & 0o022:
            log.info("kept config %s is not this user's own file: composing", p)
            return None
        fd = os.open(p, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        with os.fdopen(fd, "rb") as fh:
            data = fh.read()
    except OSError:
        return None
    with contextlib.suppress(OSError):
        os.utime(p)  # used now: the last to be removed
    head = len(MAGIC) + 32
    if not data.startswith(MAGIC) or hashlib.sha256(data[head:]).digest() != data[len(MAGIC):head]:
        log.info("kept config %s damaged: composing", p)
        return None
    try:
        from hydra.core.utils import setup_globals
        from omegaconf import OmegaConf

        cfg = _ConfigUnpickler(io.BytesIO(data[head:])).load()
        OmegaConf.clear_cache(cfg)
        setup_globals()  # the resolvers Hydra's compose registers (``${now:...}``, ``${hydra:...}``)
        if "hydra" in cfg:
            cfg.hydra.runtime.cwd = os.getcwd()
            for source in cfg.hydra.runtime.config_sources:
                if source.provider == "main" and source.schema == "file":
                    source.path = str(conf)
        return cfg
    except Exception as e:  # noqa: BLE001 - an unreadable entry (another OmegaConf, a cut file, no cwd) is a miss
        log.info("kept config %s unreadable (%s): composing", p, e)
        return None


def put(cache: Path, k: str | None, cfg) -> None:
    """Keep ``cfg`` (as Hydra composed it: nothing resolved is kept) under ``k`` (a full or read-only cache costs
    speed, never the run)."""
    if k is None:
        return
    from omegaconf import OmegaConf

    from forecast.errors import ForecastError
    from forecast.files import atomic_write_file

    OmegaConf.clear_cache(cfg)  # Hydra's compose resolves ${now:...} once: kept, every later run would get its time
    body = pickle.dumps(cfg, protocol=pickle.HIGHEST_PROTOCOL)
    try:
        atomic_write_file(_file(cache, k), MAGIC + hashlib.sha256(body).digest() + body, root=cache)
    except (OSError, ForecastError) as e:  # a full disk, a file-size limit: the command says so where it writes
        log.info("could not keep the composed config under %s: %s", cache, e)
        return
    from forecast import memo

    memo.prune_kind(_file(cache, k).parent, budget=0, keep_at_least=KEEP)  # the most recently used (a hit touches)
