"""The analysts' evidence log: ``data/evidence/<id>.yaml``, one dated entry per file.

An entry is one of three kinds, each data the model understands::

    id: E-2026-02-ef-poll          # also the file name
    date_known: 2026-02-04         # when it became known (as_of filters on this)
    source: https://...            # URL or citation
    summary: one line
    kind: poll | episode | signal
    poll:    {pollster, date, n, share_opposed, wording}                      -> public-opinion measurement
    episode: {action_type, date, <attribute overrides>, responses: {id: 0/1}} -> likelihood, like a precedent
    signal:  {actions: [...], response, lower, upper, mass, strength}          -> graded likelihood term

Entries are validated like every input; ``add_entry`` writes a new file atomically and never
overwrites one.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from forecast.errors import InputError
from forecast.files import create_new_file, ensure_dir, folder_lock
from forecast.inputs.data import (
    Episodes,
    Ontology,
    episode_from_record,
    episodes_from_records,
    poll_from_record,
    polls_frame,
)
from forecast.inputs.priors import Claim, parse_claim
from forecast.inputs.readers import (
    check_keys,
    decode_text,
    display,
    parse_choice,
    parse_date,
    parse_id,
    parse_yaml,
    read_yaml,
)
from forecast.safe_text import bad_character

KINDS = ("poll", "episode", "signal")
ENTRY_KEYS = {"id", "date_known", "source", "summary", "kind", *KINDS}
# the keys of each kind's block (an episode's also every attribute of data/ontology/attributes.yaml)
BODY_KEYS = {"poll": {"pollster", "date", "n", "share_opposed", "wording"},
             "episode": {"action_type", "date", "responses"},
             "signal": {"actions", "action", "response", "lower", "upper", "mass", "strength"}}
# characters per text field (the file as a whole: readers.MAX_BYTES)
TEXT_LIMITS = {"summary": 500, "poll.pollster": 200}
TEXT_LIMIT = 2000


@dataclass(frozen=True)
class Entry:
    id: str
    date_known: dt.date
    source: str
    summary: str
    kind: str
    body: dict[str, Any]
    path: Path


@dataclass(frozen=True)
class EvidenceLog:
    entries: list[Entry]
    episodes: Episodes
    polls: Any  # DataFrame
    signals: list[Claim]


def parse_entry(raw: Any, ont: Ontology, today: dt.date, where: str, path: Path | None = None) -> tuple[Entry, Any]:
    """Validate one entry; returns the entry and what it adds to the model."""
    if not isinstance(raw, dict):
        raise InputError(where, "an evidence entry must be a mapping", "see data/evidence/README.md")
    check_keys(raw, ENTRY_KEYS, lambda k: f"{where}, key '{k}'")
    eid = parse_id(raw.get("id"), f"{where}, key 'id'")
    w = f"{where} (entry {eid}), key"
    known = parse_date(raw.get("date_known"), f"{w} 'date_known'", not_after=today)
    source = str(raw.get("source") or "").strip()
    if not source:
        raise InputError(f"{w} 'source'", "no source", "give a URL or a citation")
    summary = str(raw.get("summary") or "").strip()
    if not summary or any(unicodedata.category(c) in ("Cc", "Zl", "Zp") for c in summary):
        raise InputError(f"{w} 'summary'", "missing, more than one line, or has control characters",
                         "write a one-line summary of printable text")
    check_text(raw, w)
    kind = parse_choice(raw.get("kind"), f"{w} 'kind'", set(KINDS), "kind")
    body = raw.get(kind)
    if not isinstance(body, dict):
        raise InputError(f"{w} '{kind}'", f"missing the '{kind}:' block", f"add `{kind}:` with its fields")
    extra = [k for k in KINDS if k != kind and k in raw]
    if extra:
        raise InputError(f"{w} '{extra[0]}'", f"a {kind} entry cannot also have a '{extra[0]}' block", "remove it")
    entry = Entry(eid, known, source, summary, kind, body, path or Path(where))
    wb = f"{where} (entry {eid}), {kind}"
    allowed = BODY_KEYS[kind] | (set(ont.attributes) if kind == "episode" else set())
    check_keys(body, allowed, lambda k: f"{wb}.{k}")  # an unknown key would be dropped without a word
    if kind == "poll":
        rec = {**body, "id": eid, "source": source, "use": "likelihood"}
        poll = poll_from_record(rec, wb, today)
        if poll["date"] > known:
            raise InputError(f"{wb}.date", "the poll's date is after date_known", "fix either date")
        return entry, poll
    if kind == "episode":
        resp = body.get("responses")
        if not isinstance(resp, dict) or not resp:
            raise InputError(f"{wb}.responses", "missing", "map response ids to 1 (happened) or 0 (did not)")
        for r, v in resp.items():  # a blank or "unknown" carries no information: an entry codes what was observed
            coded = (isinstance(v, int | float) and not isinstance(v, bool) and v in (0, 1)) or \
                (isinstance(v, str) and v.strip() in ("0", "1"))
            if not coded:
                problem = "blank" if v is None or not str(v).strip() else f"{v!r} is not 0 or 1"
                raise InputError(f"{wb}.responses.{r}", problem, f"code 1 (happened) or 0 (did not), or leave {r} "
                                 "out when it is not known")
        for a in ont.attributes:
            if a in body and (body[a] is None or (isinstance(body[a], str) and not body[a].strip())):
                raise InputError(f"{wb}.{a}", "blank", f"give the episode's {a}, or leave it out to take the "
                                 "action type's")
        rec = {k: v for k, v in body.items() if k != "responses"}
        rec.update(id=eid, sources=source, title=summary, verified="evidence")
        table, coded = episode_from_record(ont, rec, {k: str(v) for k, v in resp.items()}, wb, today)
        if table["date"] > known:
            raise InputError(f"{wb}.date", "the episode's date is after date_known", "fix either date")
        table["origin"] = "evidence"
        return entry, (table, coded)
    sig = dict(body)
    strength = sig.pop("strength", 1.0)
    acts = sig.pop("actions", sig.pop("action", None))
    response = sig.pop("response", None)
    claim_raw = {"id": eid, "quote": summary, "location": known.isoformat(), "source": source,
                 "constrains": {"kind": "cell", "actions": acts, "response": response},
                 "elicit": {"family": "Beta", **sig}, "strength": strength}
    claim = parse_claim(eid.replace(".", "_"), claim_raw, ont, wb, origin="evidence")
    return entry, Claim(**{**claim.__dict__, "date_known": known.isoformat()})


def check_text(node: Any, w: str, path: str = "") -> None:
    """Every text in an entry (keys and values, at any depth): no control, bidirectional-control, zero-width or
    other invisible character (they reverse or hide text in the reports), and within its length limit."""
    if isinstance(node, dict):
        for k, v in node.items():
            key = f"{path}.{k}" if path else str(k)
            check_text(k, w, key)
            check_text(v, w, key)
    elif isinstance(node, list):
        for i, v in enumerate(node):
            check_text(v, w, f"{path}[{i}]")
    elif isinstance(node, str):
        bad = bad_character(node)
        if bad:
            raise InputError(f"{w} '{path}'", f"contains {bad}",
                             "remove it: control and invisible characters can hide or reverse text in the reports")
        limit = TEXT_LIMITS.get(path, TEXT_LIMIT)
        if len(node) > limit:
            raise InputError(f"{w} '{path}'", f"is {len(node)} characters, over the {limit}-character limit",
                             "shorten it (cite the source for the rest)")


def poll_key(poll: dict[str, Any]) -> tuple:
    """What makes two poll records the same poll: pollster, date, sample size and share."""
    return (str(poll.get("pollster") or "").strip().casefold(), str(poll.get("date")), poll.get("n"),
            round(float(poll.get("share_opposed")), 6))


def check_duplicate_polls(polls, where: str) -> None:
    """A poll entered twice (under two ids, or in data/polls.csv and the log) would count twice in the model."""
    seen: dict[tuple, str] = {}
    for pid, row in polls.iterrows():
        key = poll_key({**row.to_dict(), "n": None if row["n"] != row["n"] else row["n"]})
        if key in seen:
            raise InputError(f"{where}, poll {pid}", f"repeats poll {seen[key]} (same pollster, date, n and "
                             "share_opposed): it would count twice", "remove one, or correct its figures")
        seen[key] = str(pid)


def load_evidence(evidence_dir: Path, ont: Ontology, today: dt.date, as_of: dt.date | None = None,
                  only: set[str] | None = None) -> EvidenceLog:
    """Every valid entry known by ``as_of`` (all of them when None; just ``only``'s ids when given).
    Any invalid entry stops the load."""
    entries, tables, coded, polls, signals = [], [], [], [], []
    seen: dict[str, Path] = {}
    seen_polls: dict[tuple, str] = {}
    for path in evidence_files(evidence_dir):
        where = display(path)
        entry, payload = parse_entry(read_yaml(path), ont, today, where, path)
        if entry.id.casefold() in seen:  # unique regardless of case (E-x.yaml and e-X.yaml are one file on macOS)
            other = seen[entry.id.casefold()]
            raise InputError(f"{where}, key 'id'", f"duplicate id {entry.id!r} (also {display(other)})",
                             "give each entry its own id (ids are compared regardless of case)")
        if path.stem != entry.id:
            raise InputError(f"{where}, key 'id'", f"id {entry.id!r} does not match the file name",
                             f"rename the file to {entry.id}.yaml")
        seen[entry.id.casefold()] = path
        if entry.kind == "poll":
            key = poll_key(payload)
            if key in seen_polls:
                raise InputError(f"{where} (entry {entry.id}), poll", f"repeats the poll of entry {seen_polls[key]} "
                                 "(same pollster, date, n and share_opposed): it would count twice",
                                 "remove one entry, or correct its figures")
            seen_polls[key] = entry.id
        if (as_of is not None and entry.date_known > as_of) or (only is not None and entry.id not in only):
            continue
        entries.append(entry)
        if entry.kind == "poll":
            polls.append(payload)
        elif entry.kind == "episode":
            tables.append(payload[0])
            coded.append({"id": entry.id, **payload[1]})
        else:
            signals.append(payload)
    return EvidenceLog(entries, episodes_from_records(tables, coded, ont), polls_frame(polls), signals)


def add_entry(evidence_dir: Path, raw: dict[str, Any], ont: Ontology, today: dt.date, polls=None) -> Path:
    """Validate and write a new entry; refuses an existing id and never touches other files.

    One validator both ways: the bytes about to be written are read back through the loader's own functions
    (size, encoding, YAML, ``parse_entry``) and checked against the log as ``load_evidence`` checks it, plus
    ``polls`` (data/polls.csv) for a repeated poll. What this writes, the loader reads."""
    evidence_dir = Path(evidence_dir)
    entry, _ = parse_entry(raw, ont, today, "new evidence entry")
    target = evidence_dir / f"{entry.id}.yaml"
    where = display(target)
    text = yaml.safe_dump(_plain(raw), sort_keys=False, allow_unicode=True)
    back = parse_yaml(decode_text(text.encode("utf-8"), where), where)
    entry, payload = parse_entry(back, ont, today, where, target)
    ensure_dir(evidence_dir, evidence_dir)
    # the checks and the new file under the folder's lock: two adds of one id at once meet here, and the second
    # is refused like a sequential duplicate (regardless of case, which the file system may not see)
    with folder_lock(evidence_dir):
        existing = load_evidence(evidence_dir, ont, today)  # the log must be valid before it grows
        same = [e for e in existing.entries if e.id.casefold() == entry.id.casefold()]
        if same or target.exists():
            where = display(same[0].path) if same else display(target)
            raise InputError(f"new evidence entry (entry {entry.id}), key 'id'", f"an entry with this id "
                             f"exists ({where}; ids are compared regardless of case)", "choose a new id")
        if entry.kind == "poll":
            for name, frame in (("data/evidence", existing.polls), ("data/polls.csv", polls)):
                for pid, row in (frame.iterrows() if frame is not None else ()):
                    if poll_key({**row.to_dict(), "n": None if row["n"] != row["n"] else row["n"]}) == \
                            poll_key(payload):
                        raise InputError(f"new evidence entry (entry {entry.id}), poll",
                                         f"repeats poll {pid} in {name} (same pollster, date, n and share_opposed):"
                                         " it would count twice", "do not add it, or correct its figures")
        try:
            create_new_file(target, text, evidence_dir)  # complete, fsynced, linked into place: never overwrites
        except FileExistsError:
            raise InputError(f"new evidence entry (entry {entry.id}), key 'id'", f"an entry with this id "
                             f"exists ({display(target)})", "choose a new id") from None
    return target


# files in the evidence folder that are not entries and are read by people, not by the tool
EVIDENCE_DOCS = {"README.md", "README", ".gitkeep"}
_BACKUP_SUFFIXES = ("~", ".swp", ".swo", ".swx", ".bak", ".orig", ".tmp", ".kate-swp")


def evidence_files(evidence_dir: Path) -> list[Path]:
    """Every entry file in the evidence folder, in name order. Every other file is refused by name (a wrong
    extension, an editor's lock or backup file, a folder), never skipped silently; only the folder's
    README and the tool's own in-flight ``.new-*.tmp`` files (``add_entry``) are not entries."""
    folder = Path(evidence_dir)
    if not folder.is_dir():
        return []
    out = []
    for path in sorted(folder.iterdir()):
        name = path.name
        where = display(path)
        if name in EVIDENCE_DOCS or (name.startswith(".new-") and name.endswith(".tmp")):
            continue
        if name.startswith((".#", "#", "~$")) or name.endswith(_BACKUP_SUFFIXES) or \
                (name.startswith(".") and name.endswith(".yaml")):  # Emacs's lock file is a dangling link
            raise InputError(where, "an editor's lock, swap or backup file, not an entry",
                             "close the editor or delete the file (the entry itself is the .yaml file)")
        if path.is_symlink() or not path.is_file():
            raise InputError(where, "not a regular file (a folder or a link) in the evidence folder",
                             "keep only <id>.yaml entry files there; move it away")
        if name.startswith("."):
            raise InputError(where, "a hidden file in the evidence folder, not an entry", "move it away")
        if path.suffix == ".yaml":
            out.append(path)
            continue
        stem = path.name.rsplit(".", 1)[0] if "." in name else name
        fix = (f"rename it to {stem}.yaml" if path.suffix.lower() in (".yml", ".yaml") else
               f"evidence entries are YAML files named <id>.yaml: convert it to {stem}.yaml or move it away")
        raise InputError(where, f"not an evidence entry (extension {path.suffix or 'none'!r}; only .yaml is read)",
                         fix)
    return out


def _plain(x: Any) -> Any:
    if isinstance(x, dict):
        return {str(k): _plain(v) for k, v in x.items()}
    if isinstance(x, list):
        return [_plain(v) for v in x]
    if isinstance(x, dt.date):
        return x.isoformat()
    return x


def read_entry_file(path: Path) -> dict[str, Any]:
    return read_yaml(Path(path))
