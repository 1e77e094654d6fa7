"""Analysts' judgements: dated, attributed priors beside the article's claims, and how they pool.

A judgement is ``data/judgements/<analyst>/<id>.yaml``::

    id: J-2026-02-opinion-firm          # also the file name; unique within the analyst's folder
    author: "Example analyst (hawkish)" # who made it
    date_made: 2026-02-05               # as_of keeps only judgements made by then
    rationale: "in the analyst's words" # why
    sources: [https://..., data/evidence/E-2026-02-elfinanciero-poll.yaml]   # what it leans on
    revises: C15                        # optional: an article claim id (or an earlier judgement of this analyst)
    constrains: {kind: latent, target: public_opposition}   # the article's vocabulary (forecast/inputs/priors.py)
    elicit: {family: Beta, lower: 0.75, upper: 0.92, mass: 0.9}             # PreliZ maxent, like the claims
    strength: 1.0                       # optional

A revision never silently replaces the article's claim: the analyst's own forecast uses the revision
instead, and the report shows both. An analyst's *set* is the article's claims minus the ones the
analyst revises, plus the analyst's judgements.

Pooling several analysts (weights w_i, summing to 1):

- ``log``: the normalised weighted geometric mean of the analysts' priors (Genest & Zidek 1986). It
  is externally Bayesian: pooling then updating on the data equals updating each prior then
  pooling, so the pooled forecast is one posterior. With priors made of independent terms, the
  log pool raises each term to the summed weight of the analysts holding it: a cell claim (a Normal
  pseudo-observation) keeps its shape with strength x W; priors on one parameter (an effect's
  Normal, the opinion's Beta, the opinion effect's HalfNormal) combine in closed form
  (``log_pool``). Orderings are pooled by scaling their sharpness by W: the same in the tails of the
  logistic, an approximation near equality (the one approximation here).
- ``linear``: the weighted mixture of the analysts' forecasts (Stone 1961; O'Hagan et al. 2006,
  ch. 9), the opinion pool of forecasting teams. PreliZ's ``combine`` fits one distribution to such
  a mixture; the report uses the mixture itself.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from forecast.errors import InputError
from forecast.files import create_new_file, ensure_dir, folder_lock
from forecast.inputs.priors import Claim, parse_claim
from forecast.inputs.readers import display, parse_date, parse_float, parse_id, read_yaml

JUDGEMENT_KEYS = {"id", "author", "date_made", "rationale", "sources", "revises", "constrains", "elicit",
                  "strength", "note"}
POOLS = ("log", "linear")


@dataclass(frozen=True)
class Judgement:
    analyst: str
    id: str
    author: str
    date_made: dt.date
    rationale: str
    sources: tuple[str, ...]
    revises: str | None
    claim: Claim
    raw: dict[str, Any]
    path: Path
    article_claim: str | None = None  # the article claim this replaces (through revisions of revisions)

    @property
    def key(self) -> str:
        return f"{self.analyst}/{self.id}"


def _slot(c: Claim) -> str | None:
    """What a one-per-model claim occupies (an effect's covariate, a latent target); None for cells and orderings."""
    if c.kind == "effect":
        return f"effect:{c.covariate}"
    if c.kind == "latent":
        return f"latent:{c.target}"
    return None


def _about(c: Claim) -> str:
    """What a claim is about, in the words a refusal uses: P(response | actions), an ordering's cells, a slot."""
    if c.kind == "cell":
        return f"P({c.response} | {', '.join(sorted(c.actions))})"
    if c.kind == "ordering":
        return "the ordering of " + ", ".join(f"P({r} | {a})" for a, r in sorted(c.cells))
    return _slot(c) or c.kind


def _same_target(old: Claim, new: Claim) -> bool:
    """A revision replaces the claim it names for everything that claim covered: the same kind, and the same
    response and actions (a cell), the same cells (an ordering) or the same slot (an effect, a latent driver)."""
    if old.kind != new.kind:
        return False
    if old.kind == "cell":
        return old.response == new.response and set(old.actions) == set(new.actions)
    if old.kind == "ordering":
        return set(old.cells) == set(new.cells)
    return _slot(old) == _slot(new)


def _one_line(value: Any, where: str, what: str, fix: str) -> str:
    s = str(value).strip() if value is not None else ""
    if not s or any(unicodedata.category(c) in ("Cc", "Zl", "Zp") for c in s):
        raise InputError(where, f"{what} missing, more than one line, or has control characters", fix)
    return s


def parse_judgement(raw: Any, analyst: str, ont, article: list[Claim], today: dt.date, where: str,
                    path: Path | None = None) -> Judgement:
    """Validate one judgement against the ontology and the article's claims; one-line errors."""
    parse_id(analyst, f"{where}: analyst folder")
    if not isinstance(raw, dict):
        raise InputError(where, "a judgement must be a mapping", "see data/judgements/README.md")
    unknown = set(raw) - JUDGEMENT_KEYS
    if unknown:
        raise InputError(f"{where}, key '{sorted(unknown, key=str)[0]}'", "unknown key",
                         f"use only: {', '.join(sorted(JUDGEMENT_KEYS))}")
    jid = parse_id(raw.get("id"), f"{where}, key 'id'")
    w = f"{where} (judgement {jid}), key"
    author = _one_line(raw.get("author"), f"{w} 'author'", "author", "name who made the judgement")
    made = parse_date(raw.get("date_made"), f"{w} 'date_made'", not_after=today)
    rationale = str(raw.get("rationale") or "").strip()
    if not rationale or any(unicodedata.category(c) == "Cc" and c not in "\n\t" for c in rationale):
        raise InputError(f"{w} 'rationale'", "missing or has control characters",
                         "say why, in the analyst's words")
    rationale = " ".join(rationale.split())
    src = raw.get("sources")
    src = [src] if isinstance(src, str) else src
    if not isinstance(src, list) or not src:
        raise InputError(f"{w} 'sources'", "missing", "list the URLs, citations or evidence ids it leans on")
    sources = tuple(_one_line(s, f"{w} 'sources'[{i}]", "a source", "give a URL or a citation per item")
                    for i, s in enumerate(src))
    revises = raw.get("revises")
    if revises is not None:
        revises = parse_id(revises, f"{w} 'revises'")
    claim_raw = {"id": f"{analyst}/{jid}", "quote": rationale, "location": f"{author}, {made.isoformat()}",
                 "source": "; ".join(sources), "constrains": raw.get("constrains"),
                 "strength": raw.get("strength", 1.0),
                 "note": str(raw.get("note") or (f"revises {revises}" if revises else ""))}
    if raw.get("elicit") is not None:
        claim_raw["elicit"] = raw["elicit"]
    elif isinstance(raw.get("constrains"), dict) and raw["constrains"].get("kind") != "ordering":
        raise InputError(f"{w} 'elicit'", "missing", "give family, lower, upper, mass (PreliZ maxent)")
    claim = parse_claim(f"{analyst}.{jid}", claim_raw, ont, f"{w} ", origin="judgement")
    claim = dataclasses.replace(claim, date_known=made.isoformat())
    by_id = {c.id: c for c in article}
    if revises in by_id:
        old = by_id[revises]
        if not _same_target(old, claim):
            same = [c.id for c in article if _same_target(c, claim)]
            fix = (f"revise {', '.join(same)} (about the same), or leave out revises to add this beside the article's "
                   "claims" if same else "leave out revises to add this beside the article's claims (no claim of "
                   "the article is about the same response and actions)")
            raise InputError(f"{w} 'revises'", f"{revises} is about {_about(old)}, this judgement about "
                             f"{_about(claim)}: revising it would drop the article's claim where this says nothing",
                             fix)
    elif revises is None and _slot(claim) and any(_slot(c) == _slot(claim) for c in article):
        other = next(c.id for c in article if _slot(c) == _slot(claim))
        raise InputError(f"{w} 'revises'", f"the article already sets {_slot(claim)} ({other})",
                         f"add `revises: {other}` (the report shows both)")
    return Judgement(analyst, jid, author, made, rationale, sources, revises, claim, raw, path or Path(where),
                     revises if revises in by_id else None)


def analyst_dir(judgements_dir: Path, analyst: str) -> Path:
    parse_id(analyst, "analysts")
    return Path(judgements_dir) / analyst


def load_analyst(judgements_dir: Path, analyst: str, ont, article: list[Claim], today: dt.date,
                 as_of: dt.date | None = None) -> list[Judgement]:
    """The analyst's active judgements made by ``as_of``: every file is validated; a judgement revised
    by a later one of the same analyst (known by ``as_of``) drops out."""
    folder = analyst_dir(judgements_dir, analyst)
    if not folder.is_dir():
        raise InputError(display(folder), "no such analyst folder",
                         f"create it with `forecast judgement add --analyst {analyst} ...` or fix `analysts=`")
    return active_set(_parse_folder(folder, analyst, ont, article, today), analyst, article, as_of)


def known_raw(judgements_dir: Path, analyst: str, ont, article: list[Claim], today: dt.date,
              as_of: dt.date | None = None) -> dict[str, dict[str, Any]]:
    """Every judgement of the analyst made by ``as_of`` (revised ones too), as written: a report's record
    from which the set can be rebuilt later."""
    folder = analyst_dir(judgements_dir, analyst)
    return {j.id: j.raw for j in _parse_folder(folder, analyst, ont, article, today)
            if as_of is None or j.date_made <= as_of}


def _parse_folder(folder: Path, analyst: str, ont, article: list[Claim], today: dt.date) -> list[Judgement]:
    out: list[Judgement] = []
    seen: dict[str, Path] = {}
    for path in sorted(folder.glob("*.yaml")):
        if path.name.startswith("."):  # Emacs's lock file (a dangling link) or another hidden copy: named, not read
            raise InputError(display(path), "an editor's lock, swap or hidden copy, not a judgement",
                             "close the editor or delete the file (the judgement itself is <id>.yaml)")
        j = parse_judgement(read_yaml(path), analyst, ont, article, today, display(path), path)
        if path.stem != j.id:
            raise InputError(f"{display(path)}, key 'id'", f"id {j.id!r} does not match the file name",
                             f"rename the file to {j.id}.yaml")
        if j.id.casefold() in seen:  # one file on a case-insensitive file system (macOS, Windows)
            raise InputError(f"{display(path)}, key 'id'", f"duplicate id {j.id!r} (also "
                             f"{display(seen[j.id.casefold()])})", "give each judgement its own id (ids are "
                             "compared regardless of case)")
        seen[j.id.casefold()] = path
        out.append(j)
    return out


def content_key(c: Claim) -> tuple:
    """What a judgement says to the model: what it constrains, its elicited range and its strength (not its id,
    date, author or rationale). Two with the same key from one analyst count the same belief twice."""
    elicit = tuple(sorted((str(k), str(v)) for k, v in (c.elicit or {}).items()))
    return (c.kind, tuple(sorted(c.actions)), c.response, tuple(sorted(c.cells)), c.covariate, c.target, elicit,
            float(c.strength))


def active_set(out: list[Judgement], analyst: str, article: list[Claim], as_of: dt.date | None) -> list[Judgement]:
    """Which of an analyst's (validated) judgements count by ``as_of``: revised ones drop out, revisions
    of revisions resolve to the article claim they replace, and no claim or slot is set twice."""
    ids = {j.id for j in out}
    article_ids = {c.id for c in article}
    for j in out:
        if j.revises and j.revises not in article_ids and j.revises not in ids:
            raise InputError(f"{display(j.path)}, key 'revises'", f"{j.revises!r} is neither an article claim "
                             f"nor a judgement of {analyst}", "name a claim id of conf/priors/ or an earlier judgement")
        if j.revises in ids and next(k for k in out if k.id == j.revises).date_made > j.date_made:
            raise InputError(f"{display(j.path)}, key 'revises'", f"revises {j.revises}, made later",
                             "a judgement can only revise an earlier one")
    by_id = {j.id: j for j in out}

    def article_claim(j: Judgement) -> str | None:  # follow revisions of revisions to the article's claim
        seen_ids = set()
        while j.revises in by_id and j.id not in seen_ids:
            seen_ids.add(j.id)
            j = by_id[j.revises]
        return j.revises if j.revises in article_ids else None

    out = [dataclasses.replace(j, article_claim=article_claim(j)) for j in out]
    known = [j for j in out if as_of is None or j.date_made <= as_of]
    revised = {j.revises for j in known if j.revises in ids}
    active = sorted((j for j in known if j.id not in revised), key=lambda j: (j.date_made, j.id))
    same: dict[tuple, str] = {}
    for j in active:
        first = same.setdefault(content_key(j.claim), j.id)
        if first != j.id:
            raise InputError(f"{display(j.path)}, key 'constrains'", f"repeats {first} of the same analyst (the same "
                             "constraint, range and strength): that belief would count twice in the analyst's "
                             "forecast and in the pool", f"to restate it (a new date or rationale), add "
                             f"`revises: {first}`; otherwise leave it out")
    seen: dict[str, str] = {}
    for j in active:
        for k in (f"a revision of {j.article_claim}" if j.article_claim else None, _slot(j.claim)):
            if k and k in seen:
                raise InputError(f"{display(j.path)}, key 'revises'", f"{seen[k]} of the same analyst is already {k}"
                                 if k.startswith("a revision") else f"{seen[k]} of the same analyst already sets {k}",
                                 f"make this one revise it: `revises: {seen[k]}`")
            if k:
                seen[k] = j.id
    return active


def load_judgements(judgements_dir: Path, analysts: list[str], ont, article: list[Claim], today: dt.date,
                    as_of: dt.date | None = None) -> dict[str, list[Judgement]]:
    return {a: load_analyst(judgements_dir, a, ont, article, today, as_of) for a in analysts}


def list_analysts(judgements_dir: Path) -> list[str]:
    d = Path(judgements_dir)
    return sorted(p.name for p in d.iterdir() if p.is_dir() and not p.name.startswith(".")) if d.is_dir() else []


def add_judgement(judgements_dir: Path, analyst: str, raw: dict[str, Any], ont, article: list[Claim],
                  today: dt.date) -> Path:
    """Validate and write a new judgement; refuses an existing id and never touches other files."""
    folder = analyst_dir(judgements_dir, analyst)
    target = folder / f"{raw.get('id') if isinstance(raw, dict) else ''}.yaml"
    j = parse_judgement(raw, analyst, ont, article, today, f"new judgement of {analyst}", target)
    where = f"new judgement of {analyst} (judgement {j.id}), key 'id'"
    ensure_dir(folder, Path(judgements_dir).parent)
    text = yaml.safe_dump(_plain(raw), sort_keys=False, allow_unicode=True, width=100)
    # the checks and the new file under the folder's lock: two adds of one id at once are refused alike
    with folder_lock(folder):
        existing = _parse_folder(folder, analyst, ont, article, today)
        same = [e for e in existing if e.id.casefold() == j.id.casefold()]
        if same or target.exists():
            other = display(same[0].path if same else target)
            raise InputError(where, f"a judgement with this id exists ({other}; ids are compared regardless "
                             "of case)", "choose a new id")
        active_set([*existing, j], analyst, article, None)  # the set with it must be valid before it is written
        try:
            create_new_file(target, text, folder)  # complete, fsynced, linked into place: never overwrites
        except FileExistsError:
            raise InputError(where, f"a judgement with this id exists ({display(target)})",
                             "choose a new id") from None
    return target


def _plain(x: Any) -> Any:
    if isinstance(x, dict):
        return {str(k): _plain(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_plain(v) for v in x]
    if isinstance(x, dt.date):
        return x.isoformat()
    return x


# ---------------------------------------------------------------------- sets and pools
def analyst_claims(article: list[Claim], judgements: list[Judgement]) -> list[Claim]:
    """An analyst's prior: the article's claims minus those the analyst revises, plus the judgements."""
    revised = {j.article_claim for j in judgements if j.article_claim}
    return [c for c in article if c.id not in revised] + [j.claim for j in judgements]


def parse_weights(analysts: list[str], weights: Any, where: str = "pool_weights") -> dict[str, float]:
    """Weights per analyst, normalised to sum to 1 (equal when none are given)."""
    if not analysts:
        return {}
    weights = dict(weights or {})
    unknown = set(weights) - set(analysts)
    if unknown:
        raise InputError(f"{where}.{sorted(unknown)[0]}", "not one of the selected analysts",
                         f"weigh only: {', '.join(analysts)}")
    raw = {a: parse_float(weights.get(a, 1.0), f"{where}.{a}", 1e-6, 1e6, "a positive weight") for a in analysts}
    total = sum(raw.values())
    return {a: v / total for a, v in raw.items()}


def log_pool(dists: list[dict[str, float]], weights: list[float]) -> dict[str, float]:
    """Normalised weighted geometric mean of one-parameter-family densities, in closed form.

    Beta(a_i, b_i): prod p_i^w_i is proportional to Beta(sum w_i (a_i - 1) + 1, sum w_i (b_i - 1) + 1);
    Normal: precisions add with weights, the mean is precision-weighted; HalfNormal: likewise (mean 0).
    Weights are normalised to sum to 1.
    """
    fams = {d["family"] for d in dists}
    if len(fams) != 1:
        raise InputError("log pool", f"cannot pool different families {sorted(fams)} in closed form",
                         "use log_pool_grid")
    fam = fams.pop()
    tot = float(sum(weights))
    w = [x / tot for x in weights]
    if fam == "Beta":
        return {"family": "Beta", "alpha": sum(wi * (d["alpha"] - 1) for wi, d in zip(w, dists, strict=True)) + 1,
                "beta": sum(wi * (d["beta"] - 1) for wi, d in zip(w, dists, strict=True)) + 1}
    prec = sum(wi / d["sigma"] ** 2 for wi, d in zip(w, dists, strict=True))
    if fam == "HalfNormal":
        return {"family": "HalfNormal", "sigma": 1 / math.sqrt(prec)}
    mu = sum(wi * d["mu"] / d["sigma"] ** 2 for wi, d in zip(w, dists, strict=True)) / prec
    return {"family": "Normal", "mu": mu, "sigma": 1 / math.sqrt(prec)}


def log_pool_grid(logpdfs: list, weights: list[float], grid):
    """Log pool of any densities on a grid: returns the normalised pooled density at the grid points.
    ``logpdfs`` are callables (e.g. a PreliZ distribution's ``logpdf``)."""
    import numpy as np

    grid = np.asarray(grid, dtype=float)
    w = np.asarray(weights, dtype=float) / float(np.sum(weights))
    lp = sum(wi * np.asarray(f(grid), dtype=float) for wi, f in zip(w, logpdfs, strict=True))
    dens = np.exp(lp - lp.max())
    return dens / np.trapezoid(dens, grid)


def _effective(c: Claim) -> dict[str, float]:
    """The distribution a one-per-model claim actually puts on its parameter (after strength)."""
    s = c.scaled()
    if s["family"] == "Beta":
        return {"family": "Beta", "alpha": s["alpha"], "beta": s["beta"]}
    return s


def log_pool_claims(article: list[Claim], sets: dict[str, list[Judgement]], weights: dict[str, float],
                    hyper: dict[str, float]) -> list[Claim]:
    """The claims of the log pool: one model whose posterior is the log-pooled prior updated on the data."""
    members: dict[str, list[Claim]] = {a: analyst_claims(article, sets[a]) for a in sets}
    held: dict[str, tuple[Claim, float]] = {}
    slots: dict[str, dict[str, Claim | None]] = {}
    for a, claims in members.items():
        for c in claims:
            s = _slot(c)
            if s:
                slots.setdefault(s, {})[a] = c
            else:
                prev = held.get(c.name, (c, 0.0))
                held[c.name] = (c, prev[1] + weights[a])
    out = []
    for c, wsum in held.values():
        if wsum > 1e-12:
            out.append(c if abs(wsum - 1) < 1e-12 else dataclasses.replace(c, strength=c.strength * wsum))
    for s, by_analyst in slots.items():
        chosen = {a: by_analyst.get(a) for a in sets}
        distinct = {id(c) for c in chosen.values()}
        first = next(c for c in chosen.values() if c is not None)
        if len(distinct) == 1:
            out.append(first)
            continue
        dists = []
        for a in sets:
            c = chosen[a]
            if c is not None:
                dists.append(_effective(c))
            elif s.startswith("effect:"):  # the analyst keeps the model's default prior on this slope
                dists.append({"family": "Normal", "mu": 0.0, "sigma": float(hyper["slope_sd"])})
            else:
                raise InputError(f"analyst {a}", f"no prior for {s}", "the article sets every latent driver")
        pooled = log_pool(dists, [weights[a] for a in sets])
        names = ", ".join(sorted({c.id for c in chosen.values() if c is not None}))
        out.append(dataclasses.replace(first, name=f"logpool_{s.replace(':', '_')}", id=f"log pool of {names}",
                                       quote=f"log pool of {names}", strength=1.0, dist=pooled, elicit=None,
                                       origin="pool", note=""))
    return out
