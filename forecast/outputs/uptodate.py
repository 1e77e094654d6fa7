"""A preview whose reports are already on disk is not made again: each report folder records what it was made
from, and a run asking for the same report finds that out cheaply and says so.

What a report's content depends on, as one digest per part (the folder's KEY):

- ``settings``: the composed config (as written, no interpolation resolved; its folders as configured, so a
  copied or moved project home keeps its records), without ``all_scenarios`` and ``force`` (they choose which
  reports are made, not what one holds) and with the configured scenario only when an override changed it from
  its file (a report of ``one_time_raid`` made by ``forecast all_scenarios=true`` is the one
  ``forecast scenario=one_time_raid`` makes; its ``command`` field says which command made it);
- ``inputs``: the bytes of every file of ``paths.data`` (precedents, polls, evidence, judgements, the question,
  the ontology), of ``conf/`` and of ``report.templates`` when set;
- ``code``: the package's version and the bytes of every file of the package (its modules, templates, scripts),
  and the names of the installed distributions with their versions;
- ``day``: today's date (the forecast's date, the evidence's age, the horizon);
- ``published``: what the report is compared with and links to, as it stands in ``paths.reports``: its top-level
  files (the history, the replay), ``checks/``, the archive of the scenario's published briefs, the dated folders
  holding the scenario, which scenario folders exist, and whether the scenario's own folder is a published brief.

Each folder a run writes holds ``.run.json``: the key, a manifest of every other file (size and SHA-256), how its
posterior was obtained (the cache files it came from: a kept PSIS update, its base, or the exact posterior; a PSIS
update also records that no exact posterior of its inputs existed) and what the run said about it. The landing
page's record, ``reports/.landing.json``, holds the page's SHA-256 and the state of the report files it lists.

``up_to_date`` serves a preview (not ``publish=true``, no ``analysts``, not ``force=true``) when, for every report
asked for, the folder's record has today's key, every file matches its manifest (a folder damaged by a crash or by
hand is rebuilt, never served), the posterior files are as recorded, the diagnostics passed, no publication is
half done and the landing page is the one the last run wrote from these reports. It reads files and hashes bytes:
no numerical library is imported. Anything else is the full run, unchanged.

The posterior cache enters the decision through the files the report came from, and only through them: they must
still be there as they were (a cleared or damaged cache makes the report's provenance untrue, so the report is made
again, from whatever the cache then holds), and a report made from a PSIS update is made again once an exact fit of
the same inputs is cached (the full run would use it). The folder itself holds its numbers and its posterior file,
so while those files stand it is a true report of its inputs; new cache entries of other inputs change nothing the
full run would choose for these.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from forecast.outputs.contract import DATED_FOLDER, REPORT_FILE
from forecast.publication import JOURNAL

FORMAT = 1
RECORD = ".run.json"  # in each report folder
LANDING = "index.html"  # forecast.outputs.landing.LANDING (not imported here: it loads the renderer)
LANDING_RECORD = ".landing.json"  # beside the landing page
PARTS = ("settings", "inputs", "code", "day", "published")
# what ``forecast whatif`` compares of the key its report kept draws under (``forecast.usecases.whatif.find_kept``): the
# settings without ``publish`` ("answer": whether a run publishes changes no number it answers from), and the rest
# but the published part
ANSWER_PARTS = ("answer", "inputs", "code", "day")
NOT_ANSWERING = ("publish",)  # settings that decide what a run does with its report, not what the report says
WHY = {"settings": "the settings changed", "answer": "the settings changed",
       "inputs": "an input file changed (data, conf or templates)",
       "code": "the code or an installed package changed", "day": "it was made on another day",
       "published": "the published briefs, the history, the replay or the checks changed"}
_BIG = 64 << 20  # files larger than this enter a digest by size and modification time (none of the inputs is)
_CHUNK = 1 << 20


def _today() -> dt.date:
    return dt.date.today()


def _file(h, path: Path, rel: str) -> None:
    """A file into digest ``h``: its path, then its bytes (its size and time when it is very large)."""
    h.update(rel.encode("utf-8", "surrogateescape") + b"\0")
    try:
        st = path.stat()
        if st.st_size > _BIG:
            h.update(f"{st.st_size}:{st.st_mtime_ns}".encode())
        else:
            h.update(path.read_bytes())
    except OSError as e:
        h.update(f"unreadable:{e.errno}".encode())
    h.update(b"\0")


def _tree(h, folder: Path, label: str) -> None:
    """Every file under ``folder`` (sorted; Python's byte-code caches left out) into digest ``h``."""
    h.update(f"[{label}]".encode())
    if not folder.is_dir():
        h.update(b"absent")
        return
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for name in sorted(files):
            if name.endswith((".pyc", ".pyo")):
                continue
            p = Path(root) / name
            _file(h, p, str(p.relative_to(folder)))


@functools.cache
def code_digest() -> str:
    """The package's version, every file of the package and the installed distributions' names and versions (those
    of the interpreter's package folders: not of ``sys.path`` as a whole, whose ``""`` is the current folder, so a
    checkout's ``forecast.egg-info`` or a run from another folder made the same code two digests)."""
    import site
    import sysconfig

    from forecast.paths import PACKAGE_DIR
    from forecast.version import __version__

    h = hashlib.sha256(__version__.encode())
    _tree(h, PACKAGE_DIR, "package")
    folders = {sysconfig.get_paths()[k] for k in ("purelib", "platlib")}
    if site.ENABLE_USER_SITE:
        folders.add(site.getusersitepackages())
    dists = set()
    for folder in folders:
        try:
            names = os.listdir(folder)
        except OSError:
            continue
        dists.update(n for n in names if n.endswith((".dist-info", ".egg-info")))
    h.update("\n".join(sorted(dists)).encode())
    return h.hexdigest()


def _scenario_changed(cfg, name: str) -> dict[str, Any] | None:
    """The configured scenario as composed when an override changed it from its file, else None."""
    from omegaconf import OmegaConf

    from forecast.inputs.readers import read_yaml
    from forecast.paths import conf_dir

    composed = OmegaConf.to_container(cfg.scenario, resolve=False)
    try:
        written = read_yaml(conf_dir() / "scenario" / f"{name}.yaml")
    except Exception:  # noqa: BLE001 - unreadable: count it as changed (the run reports the file)
        return composed
    written = {"title": "", "action": None, "profile": None, "description": "", **written}
    return None if written == composed else composed


class Keys:
    """The key of each scenario's report under one composed config, on one day: the parts every report of the
    run shares are computed once."""

    def __init__(self, cfg, names: list[str], today: dt.date | None = None):
        from omegaconf import OmegaConf

        from forecast.inputs import config as _config
        from forecast.paths import conf_dir, resolve

        self.paths = _config.paths(cfg)
        self.names = list(names)
        raw = OmegaConf.to_container(cfg, resolve=False)
        for k in ("hydra", "all_scenarios", "force", "scenario"):
            raw.pop(k, None)
        text = json.dumps(raw, sort_keys=True, default=str)
        # an interpolation may read the environment or the clock: such a config is always run in full
        self.servable = "${" not in text and "${" not in json.dumps(
            OmegaConf.to_container(cfg.scenario, resolve=False), default=str)
        self.configured = str(cfg.scenario.name)
        changed = _scenario_changed(cfg, self.configured)
        # the folders as configured (relative ones from the project home, wherever it is): a copied or moved home
        # is the same project, and what its folders hold is in the other parts of the key
        scenario = {self.configured: changed} if changed is not None else {}
        self._settings = {"config": text, "scenario": scenario}
        answer = json.dumps({k: v for k, v in raw.items() if k not in NOT_ANSWERING}, sort_keys=True, default=str)
        self._answer = {"config": answer, "scenario": scenario}
        h = hashlib.sha256()
        _tree(h, self.paths["data"], "data")
        _tree(h, conf_dir(), "conf")
        templates = str(cfg.report.get("templates") or "").strip()
        if templates:
            _tree(h, resolve(templates, ""), "templates")
        self._inputs = h.hexdigest()
        self._day = (today or _today()).isoformat()

    def key(self, name: str, published: bool = True) -> dict[str, str]:
        """Scenario ``name``'s key; without its ``published`` part when ``published`` is false (what the draws
        the report keeps for ``forecast whatif`` depend on: ``forecast.analysis.whatif.kept``)."""
        settings, answer = (hashlib.sha256(json.dumps({**s, "report": name}, sort_keys=True).encode()).hexdigest()
                            for s in (self._settings, self._answer))
        key = {"format": str(FORMAT), "settings": settings, "answer": answer, "inputs": self._inputs,
               "code": code_digest(), "day": self._day}
        if published:
            key["published"] = published_state(self.paths["reports"], name, self.names)
        return key


def published_state(reports: Path, name: str, names: list[str]) -> str:
    """A digest of what scenario ``name``'s report reads from the reports folder besides its own folder, when a run
    makes the reports of ``names``."""
    reports = Path(reports)
    h = hashlib.sha256()
    entries = sorted(reports.iterdir()) if reports.is_dir() else []
    for p in entries:  # the history, the replay and its figures, the runs' pages (not the landing page)
        if p.is_file() and not p.name.startswith(".") and p.name != LANDING:
            _file(h, p, p.name)
    _tree(h, reports / "checks", "checks")
    archive = reports / "published" / name
    h.update(b"[archive]")
    if archive.is_dir():
        for p in sorted(archive.iterdir()):
            h.update(f"{p.name}:{p.stat().st_size}\n".encode())
    h.update(b"[dated]")
    for p in entries:
        f = p / name / REPORT_FILE
        if DATED_FOLDER.fullmatch(p.name) and f.is_file():
            st = f.stat()
            h.update(f"{p.name}:{st.st_size}:{st.st_mtime_ns}\n".encode())
    h.update(b"[folders]")  # the report links to the other scenarios' reports: those there and those made with it
    folders = {p.name for p in entries if not p.name.startswith(".") and (p / REPORT_FILE).is_file()}
    h.update("\n".join(sorted(folders | set(names))).encode())
    h.update(f"[own published]{_own_published(reports, name)}".encode())
    return h.hexdigest()


def _own_published(reports: Path, name: str) -> bool:
    """Whether the scenario's folder holds a published brief (its time is in the history): the next report is then
    compared with that folder, later with the archive's copy."""
    try:
        data = json.loads((reports / name / REPORT_FILE).read_text(encoding="utf-8"))
        history = (reports / "history.csv").read_text(encoding="utf-8")
    except (OSError, ValueError):
        return False
    when = str(data.get("generated_at") or "") if isinstance(data, dict) else ""
    return bool(when) and when in history


# ---------------------------------------------------------------------- records
def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def manifest(folder: Path) -> dict[str, list]:
    """Every file of a report folder but its record: relative path -> [size, SHA-256]."""
    out = {}
    for p in sorted(Path(folder).rglob("*")):
        if p.is_file() and p.name != RECORD:
            out[str(p.relative_to(folder))] = [p.stat().st_size, sha256(p)]
    return out


def file_state(path: Path) -> list[int] | None:
    try:
        st = Path(path).stat()
    except OSError:
        return None
    return [st.st_size, st.st_mtime_ns]


def write_record(folder: Path, key: dict[str, str], data: dict[str, Any], *, preview: bool, posterior: dict[str, Any],
                 said: list[str], moved: list[str]) -> None:
    """``.run.json`` in a report folder being staged (call it last: the manifest covers every other file)."""
    record = {"format": FORMAT, "key": key, "scenario": data.get("scenario"), "generated_at": data.get("generated_at"),
              "command": data.get("command"), "ok": bool((data.get("diagnostics") or {}).get("ok")),
              "preview": preview,
              "posterior": posterior, "said": said, "moved": moved, "files": manifest(folder)}
    (Path(folder) / RECORD).write_text(json.dumps(record, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def landing_inputs(reports: Path) -> str:
    """The state of what the landing page is made from: the report files it lists and the pages it links to."""
    reports = Path(reports)
    h = hashlib.sha256()
    found = [*reports.glob(f"*/{REPORT_FILE}"), *reports.glob(f"*/*/{REPORT_FILE}")]
    for p in sorted(f for f in found if not any(x.startswith(".") for x in f.relative_to(reports).parts)):
        st = p.stat()
        h.update(f"{p.relative_to(reports)}:{st.st_size}:{st.st_mtime_ns}\n".encode())
    h.update("\n".join(sorted(p.name for p in reports.iterdir() if p.is_file() and not p.name.startswith(".")))
             .encode())
    return h.hexdigest()


def landing_record(reports: Path) -> str:
    """``reports/.landing.json``'s text, rendered once the landing page is in place: its digest, and the state of
    the reports it was made from."""
    page = Path(reports) / LANDING
    return json.dumps({"format": FORMAT, "sha256": sha256(page) if page.is_file() else None,
                       "inputs": landing_inputs(reports)}) + "\n"


# ---------------------------------------------------------------------- the check
@dataclass
class Served:
    """Reports found up to date: what to say (stderr) and print (stdout), as the run that made them did."""

    said: list[str] = field(default_factory=list)
    moved: list[str] = field(default_factory=list)


def _read_json(path: Path) -> Any:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _stale(folder: Path, key: dict[str, str], cache: Path) -> str | None:
    """Why the report in ``folder`` cannot be served for ``key`` (None: it can); ``cache``: the posterior cache's
    folder (the record names its files relative to it)."""
    rec = _read_json(folder / RECORD)
    if not isinstance(rec, dict) or rec.get("format") != FORMAT or not isinstance(rec.get("key"), dict):
        return "it has no record of what it was made from"
    changed = key_changes(rec["key"], key)
    if changed:
        return changed
    if not rec.get("ok"):
        return "its diagnostics failed"
    if not rec.get("preview"):
        return "it is a published brief (a preview replaces it)"
    files = rec.get("files")
    if not isinstance(files, dict) or not files:
        return "its record lists no files"
    present = {str(p.relative_to(folder)): p for p in folder.rglob("*") if p.is_file() and p.name != RECORD}
    if set(present) != set(files):
        return "its files are not those recorded"
    for rel, p in present.items():
        size, digest = files[rel]
        if p.stat().st_size != size or sha256(p) != digest:
            return f"{rel} is damaged"
    return posterior_moved(rec.get("posterior") or {}, cache)


def key_changes(old: dict[str, str], key: dict[str, str], parts: tuple[str, ...] = PARTS) -> str | None:
    """Why a recorded key ``old`` is not ``key`` (the ``parts`` compared, and the format), or None."""
    changed = [WHY[p] for p in parts if old.get(p) != key.get(p)]
    if old.get("format") != key.get("format"):
        changed.append("its record is of another format")
    return "; ".join(changed) or None


def posterior_moved(post: dict[str, Any], cache: Path) -> str | None:
    """Why the posterior a run recorded (``{"files": {path: state}, "absent": [path]}``, paths relative to the cache
    folder ``cache``) is not the one the full run would use now, or None: a file it came from is gone or changed, or
    an exact posterior of its inputs is cached now."""
    for path, state in (post.get("files") or {}).items():
        if file_state(cache / path) != state:
            return "the cached posterior it came from is gone or changed"
    for path in post.get("absent") or []:
        if (cache / path).exists():
            return "an exact posterior of its inputs is cached now"
    return None


def _landing_ok(reports: Path) -> bool:
    rec = _read_json(reports / LANDING_RECORD)
    page = reports / LANDING
    return (isinstance(rec, dict) and rec.get("format") == FORMAT and page.is_file()
            and rec.get("sha256") == sha256(page) and rec.get("inputs") == landing_inputs(reports))


def up_to_date(cfg, names: list[str], *, today: dt.date | None = None, say=None) -> Served | None:
    """The reports of ``names`` as their folders hold them, when every one is up to date (see the module), else
    None (``say`` hears why, for folders that have a record). Writes nothing."""
    if cfg.get("publish") or cfg.get("analysts") or cfg.get("force"):
        return None
    keys = Keys(cfg, names, today)
    if not keys.servable:
        return None
    reports = keys.paths["reports"]
    if (reports / JOURNAL).exists():  # a publication a crash left half done: the run completes it
        return None
    out = Served()
    for name in names:
        folder = reports / name
        why = "it is not there"
        if folder.is_dir() and not folder.is_symlink():
            why = _stale(folder, keys.key(name), keys.paths["cache"])
        if why is not None:
            if say is not None and (folder / RECORD).is_file():
                say(f"making {name}'s report again: {why}")
            return None
        rec = _read_json(folder / RECORD)
        when = str(rec.get("generated_at") or "").replace("T", " ").replace("+00:00", " UTC")
        out.said.append(f"up to date: {folder} (made {when} from the same inputs, settings, code, day and published "
                        "briefs; nothing was written); force=true makes it again")
        out.said += [str(x) for x in rec.get("said") or []] + [f"report: {folder / 'report.html'}"]
        out.moved += [str(x) for x in rec.get("moved") or []]
    if not _landing_ok(reports):  # the landing page is not the one the last run wrote from these reports
        return None
    out.said.append(f"landing page: {reports / LANDING}")
    return out
