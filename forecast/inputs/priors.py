"""The article's claims as priors with provenance, elicited into distributions with PreliZ.

A claim is an entry of ``conf/priors/*.yaml``: an id, the verbatim quote, where it stands in the
article, what it constrains and how strongly. Verbal statements ("low probability, between 5% and
15%") become distributions by PreliZ's maximum-entropy elicitation (``pz.maxent``), never by
hand-tuned numbers. Elicited parameters are cached on disk (PreliZ costs seconds to import); the shipped claims'
come with the package (``elicited.json``, written by ``python -m forecast.inputs.priors`` with the PreliZ version it
names, and used only with that version), so a fresh project home does not import PreliZ to elicit them again.

What a claim can constrain (``constrains.kind``):

- ``cell``     P(response | action) for one or more action types: one pseudo-observation of the mean
               of the named cells' logits, ``Normal(mean_a logit p_a, sd) = mu`` with ``(mu, sd)`` the
               logit-scale moments of the elicited Beta (a claim counts once, however many actions it
               names). It is a likelihood term, so prior predictive checks and sensitivity
               analyses see it (unlike ``pm.Potential``).
- ``ordering`` a chain of cells expected in ascending order: ``Bernoulli(sigmoid(k * diff)) = 1`` per step.
- ``effect``   the global (stance-signed) slope of one covariate, e.g. ``consent=coerced``.
- ``latent``   a latent driver: ``public_opposition`` (Beta prior of the share opposed) or
               ``opinion_effect`` (HalfNormal scale of its effect on responses).

``strength`` multiplies the pseudo-sample size: 2 halves the variance, 0.5 doubles it. ``date`` is
the source's date (an ``as_of`` before it does not use the claim unless ``priors_before_article=apply``);
``restates: {items, keep, reason}`` names the precedent cells (``P15:response``), evidence entries or
polls the claim restates and which of the two is counted (``forecast.inputs.load``).
"""

from __future__ import annotations

import functools
import json
import math
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from forecast.errors import ConfigError, InputError
from forecast.files import atomic_write_file, ensure_dir, move_aside
from forecast.inputs.readers import check_keys, parse_choice, parse_date, parse_float, parse_id

KINDS = {"cell", "ordering", "effect", "latent"}
LATENT_TARGETS = {"public_opposition": "Beta", "opinion_effect": "HalfNormal"}
FAMILIES = {"Beta", "Normal", "HalfNormal"}
ORDERING_SHARPNESS = 2.0
CLAIM_KEYS = {"id", "quote", "location", "source", "constrains", "elicit", "strength", "note", "date", "restates"}
KEEP = {"claim", "source"}


@dataclass(frozen=True)
class Claim:
    name: str
    id: str
    quote: str
    location: str
    source: str
    kind: str
    strength: float
    dist: dict[str, float]  # the elicited (unscaled) distribution: {"family": ..., params}
    elicit: dict[str, Any] | None = None
    actions: tuple[str, ...] = ()
    response: str | None = None
    cells: tuple[tuple[str, str], ...] = ()
    covariate: str | None = None
    target: str | None = None
    note: str = ""
    origin: str = "article"  # "article" | "evidence" | "default"
    date_known: str | None = None  # the source's date (ISO): before it, the claim is not known
    # items this claim restates ("P15:threat_expel_agents" = one coded cell of an episode, "E-..." =
    # an evidence entry or a poll id) and which of the two is counted ("claim" or "source")
    restates: tuple[str, ...] = ()
    keep: str = "claim"
    restates_reason: str = ""
    unused: str = ""  # why the claim does not enter the model ("" = it does)

    # ------------------------------------------------------------------ encodings
    def logit_normal(self) -> tuple[float, float]:
        """(mu, sd) of logit p under the elicited Beta, sd scaled by strength."""
        a, b = self.dist["alpha"], self.dist["beta"]
        from scipy.special import digamma, polygamma  # here: the cached path never needs scipy

        mu = float(digamma(a) - digamma(b))
        sd = float(math.sqrt(polygamma(1, a) + polygamma(1, b)))
        return mu, sd / math.sqrt(self.strength)

    def scaled(self) -> dict[str, float]:
        """The distribution actually used, after strength."""
        d, s = self.dist, self.strength
        if d["family"] == "Beta" and self.kind == "latent":
            return {"family": "Beta", "alpha": d["alpha"] * s, "beta": d["beta"] * s}
        if d["family"] == "Beta":
            mu, sd = self.logit_normal()
            return {"family": "LogitNormal", "mu": mu, "sigma": sd}
        if d["family"] == "Normal":
            return {"family": "Normal", "mu": d["mu"], "sigma": d["sigma"] / math.sqrt(s)}
        if d["family"] == "HalfNormal":
            return {"family": "HalfNormal", "sigma": d["sigma"] / math.sqrt(s)}
        return {"family": "Ordering", "sharpness": ORDERING_SHARPNESS * s}

    def describe(self) -> str:
        """The encoded distribution as one line, for reports and notes."""
        d = self.dist
        if d["family"] == "Beta":
            mean = d["alpha"] / (d["alpha"] + d["beta"])
            base = f"Beta({d['alpha']:.2f}, {d['beta']:.2f}), mean {mean:.3f}"
        elif d["family"] == "Normal":
            base = f"Normal({d['mu']:.2f}, {d['sigma']:.2f})"
        elif d["family"] == "HalfNormal":
            base = f"HalfNormal({d['sigma']:.2f})"
        else:
            base = f"ascending order, sharpness {ORDERING_SHARPNESS * self.strength:.1f} per logit"
        if self.elicit:
            e = self.elicit
            base += f" (PreliZ maxent: {e['mass']:.0%} in [{e['lower']:g}, {e['upper']:g}])"
        if self.strength != 1 and d["family"] != "Ordering":
            base += f", strength x{self.strength:g}"
        return base

    def fingerprint(self) -> dict[str, Any]:
        d = asdict(self)
        for k in ("quote", "location", "note", "source", "restates_reason"):
            d.pop(k)
        return d


# ---------------------------------------------------------------------- elicitation
def _cache_file() -> Path:
    from forecast.paths import resolve

    return resolve(os.environ.get("FORECAST_CACHE_DIR"), ".cache") / "elicit.json"


SHIPPED = Path(__file__).with_name("elicited.json")  # the shipped claims' elicitations (``write_shipped``)


@functools.cache
def shipped() -> dict[str, Any]:
    """The elicitations of the shipped claims kept with the package (``SHIPPED``), by their cache key, when the
    installed PreliZ is the version that computed them (read from its package metadata: PreliZ is not imported); none
    otherwise (a missing or damaged file included: the claims are then elicited as any other)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        data = json.loads(SHIPPED.read_text(encoding="utf-8"))
        if not isinstance(data, dict) or data.get("preliz") != version("preliz"):
            return {}
    except (OSError, ValueError, PackageNotFoundError):
        return {}
    entries = data.get("entries")
    return {k: v for k, v in entries.items() if isinstance(v, dict) and "family" in v} \
        if isinstance(entries, dict) else {}


def elicit(family: str, lower: float, upper: float, mass: float) -> dict[str, float]:
    """Maximum-entropy distribution of ``family`` with ``mass`` in [lower, upper] (PreliZ): from the project's
    cache, the shipped elicitations (``shipped``), or PreliZ (then cached)."""
    key = json.dumps([family, lower, upper, mass])
    path = _cache_file()
    cache = _read_elicit_cache(path)
    if key in cache:
        return cache[key]
    if key in shipped():
        return dict(shipped()[key])
    out = _maxent((family, lower, upper, mass))
    cache[key] = out
    _write_elicit_cache(path, cache)
    return out


def _maxent(spec: tuple[str, float, float, float]) -> dict[str, Any]:
    import preliz as pz  # imported lazily: ~3 s

    family, lower, upper, mass = spec
    dist = getattr(pz, family)()
    pz.maxent(dist, lower, upper, mass, plot=False)
    if family == "Beta":
        out = {"family": "Beta", "alpha": float(dist.alpha), "beta": float(dist.beta)}
    elif family == "Normal":
        out = {"family": "Normal", "mu": float(dist.mu), "sigma": float(dist.sigma)}
    else:
        out = {"family": "HalfNormal", "sigma": float(dist.sigma)}
    out["preliz"] = pz.__version__
    return out


def _write_elicit_cache(path: Path, cache: dict[str, Any]) -> None:
    ensure_dir(path.parent, path.parent, heal=True)
    atomic_write_file(path, json.dumps(cache, indent=1, sort_keys=True), path.parent)


def _specs(priors_cfg: dict[str, Any]) -> list[tuple[str, float, float, float]]:
    """The (family, lower, upper, mass) of every elicitation the claims of ``priors_cfg`` ask for, as ``_dist`` reads
    them (a claim ``parse_claim`` refuses is left out: it says what is wrong)."""
    specs: list[tuple[str, float, float, float]] = []
    for raw in priors_cfg.values():
        try:
            con = raw.get("constrains") or {}
            kind = con.get("kind")
            need = {"cell": "Beta", "effect": "Normal"}.get(kind) or LATENT_TARGETS.get(con.get("target"))
            if kind == "ordering" or need is None:  # nothing elicited (or a claim ``parse_claim`` refuses)
                continue
            fam, rng = _family_and_range(raw.get("elicit"), need, "")  # what ``_dist`` accepts, checked as it checks
        except (AttributeError, TypeError, ValueError):  # InputError among them: ``parse_claim`` says what is wrong
            continue
        if rng is not None and (fam, *rng) not in specs:
            specs.append((fam, *rng))
    return specs


def _elicit_ahead(priors_cfg: dict[str, Any]) -> None:
    """The elicitations the claims will ask for that the cache and the shipped ones lack, computed side by side on the
    cores (``forecast.parallel``: each maximum-entropy fit is independent, ~0.1 s, and a project home whose claims
    changed may have several to do, on the path to the first fit) and cached at once; ``elicit`` then finds each one
    there. Only an optimisation: a spec read differently here than by ``_dist`` is a miss there, elicited one by one as
    before."""
    specs = _specs(priors_cfg)
    path = _cache_file()
    cache = _read_elicit_cache(path)
    missing = [s for s in specs if json.dumps(list(s)) not in cache and json.dumps(list(s)) not in shipped()]
    if len(missing) < 2:
        return
    from contextlib import closing

    import preliz  # noqa: F401 - once, here: the forked workers inherit it

    from forecast.parallel import fork_map

    try:
        with closing(fork_map(_maxent, missing)) as results:
            for spec, out in zip(missing, results, strict=True):
                cache[json.dumps(list(spec))] = out
    except Exception:  # noqa: BLE001 - one by one then, where a failure is reported as it always was
        return
    _write_elicit_cache(path, cache)


def _read_elicit_cache(path: Path) -> dict[str, Any]:
    """The elicitation cache (derived: rebuilt by PreliZ). Anything but a mapping of entries the code
    wrote (a damaged file, ``[]``, a folder) is moved aside, kept, and rebuilt, with a one-line warning."""
    if not path.exists() and not path.is_symlink():
        return {}
    try:
        cache = json.loads(path.read_text(encoding="utf-8")) if path.is_file() and not path.is_symlink() else None
    except (OSError, ValueError):
        cache = None
    ok = isinstance(cache, dict) and all(isinstance(v, dict) and "family" in v for v in cache.values())
    if not ok:
        move_aside(path, "(the elicitation cache) is damaged or not a mapping of elicited priors")
        return {}
    return cache


def _family_and_range(spec: dict[str, Any], family_needed: str | None,
                      where: str) -> tuple[str, tuple[float, float, float] | None]:
    """The family of an ``elicit:`` mapping and its range to elicit from (lower, upper, mass), checked (one line
    naming the key otherwise); the range is None when the mapping gives the distribution's parameters instead."""
    if not isinstance(spec, dict):
        raise ConfigError(where, "expected a mapping", "give family, lower, upper, mass")
    fam = parse_choice(spec.get("family", family_needed), f"{where}.family", FAMILIES, "family")
    if family_needed and fam != family_needed:
        raise ConfigError(f"{where}.family", f"{fam} does not fit this claim", f"use {family_needed}")
    if not {"lower", "upper"} <= spec.keys():
        return fam, None
    lo_ok, hi_ok = (0.0, 1.0) if fam == "Beta" else (-50.0, 50.0)
    lo = parse_float(spec["lower"], f"{where}.lower", lo_ok, hi_ok)
    hi = parse_float(spec["upper"], f"{where}.upper", lo_ok, hi_ok)
    mass = parse_float(spec.get("mass", 0.9), f"{where}.mass", 0.5, 0.99)
    if not lo < hi:
        raise ConfigError(where, f"lower {lo:g} is not below upper {hi:g}", "swap or fix the bounds")
    if fam == "Beta" and (lo <= 0 or hi >= 1):
        raise ConfigError(where, "a probability range must lie strictly inside (0, 1)",
                          "use bounds such as 0.01 and 0.99")
    return fam, (lo, hi, mass)


def _dist(spec: dict[str, Any], family_needed: str | None, where: str) -> tuple[dict, dict | None]:
    """Parse ``elicit:`` (lower/upper/mass, elicited) or an explicit ``dist`` into params."""
    fam, rng = _family_and_range(spec, family_needed, where)
    if rng is not None:
        lo, hi, mass = rng
        return {k: v for k, v in elicit(fam, lo, hi, mass).items() if k != "preliz"}, \
            {"lower": lo, "upper": hi, "mass": mass}
    params = {"Beta": ("alpha", "beta"), "Normal": ("mu", "sigma"), "HalfNormal": ("sigma",)}[fam]
    out: dict[str, Any] = {"family": fam}
    for p in params:
        lo = None if p == "mu" else 1e-6
        out[p] = parse_float(spec.get(p), f"{where}.{p}", lo, None if lo is None else 1e6)
    return out, None


def parse_claim(name: str, raw: Any, ont, where: str, origin: str = "article") -> Claim:
    """Validate one prior entry against the ontology."""
    parse_id(name, where)
    if not isinstance(raw, dict):
        raise ConfigError(where, "expected a mapping", "give id, quote, location, constrains, elicit")
    check_keys(raw, CLAIM_KEYS, lambda k: f"{where}.{k}", ConfigError)
    con = raw.get("constrains")
    if not isinstance(con, dict):
        raise ConfigError(f"{where}.constrains", "missing or not a mapping", "say what the claim constrains")
    kind = parse_choice(con.get("kind"), f"{where}.constrains.kind", KINDS, "kind")
    strength = parse_float(raw.get("strength", 1.0), f"{where}.strength", 0.01, 100.0, "a strength")
    quote = str(raw.get("quote") or "").strip()
    source = str(raw.get("source") or ("Brookings commentary, Jan 2026" if origin == "article" else "")).strip()
    if not quote:
        raise ConfigError(f"{where}.quote", "no quote", "quote the sentence the claim encodes")
    kw: dict[str, Any] = {}
    actions = set(ont.action_ids)
    responses = set(ont.response_ids)
    if kind == "cell":
        acts = con.get("actions", con.get("action"))
        acts = [acts] if isinstance(acts, str) else acts
        if not isinstance(acts, list) or not acts:
            raise ConfigError(f"{where}.constrains.actions", "missing", "list one or more action ids")
        kw["actions"] = tuple(parse_choice(a, f"{where}.constrains.actions", actions, "action") for a in acts)
        kw["response"] = parse_choice(con.get("response"), f"{where}.constrains.response", responses, "response")
        dist, el = _dist(raw.get("elicit"), "Beta", f"{where}.elicit")
    elif kind == "ordering":
        cells = con.get("cells")
        if not isinstance(cells, list) or len(cells) < 2:
            raise ConfigError(f"{where}.constrains.cells", "needs at least two [action, response] cells",
                              "list them from lowest to highest probability")
        parsed = []
        for i, c in enumerate(cells):
            w = f"{where}.constrains.cells[{i}]"
            if not (isinstance(c, list) and len(c) == 2):
                raise ConfigError(w, "expected [action, response]", "write it as [action_id, response_id]")
            parsed.append((parse_choice(c[0], w, actions, "action"), parse_choice(c[1], w, responses, "response")))
        kw["cells"] = tuple(parsed)
        dist, el = {"family": "Ordering"}, None
    elif kind == "effect":
        kw["covariate"] = parse_choice(con.get("covariate"), f"{where}.constrains.covariate",
                                       set(ont.covariate_names), "covariate")
        dist, el = _dist(raw.get("elicit"), "Normal", f"{where}.elicit")
    else:
        target = parse_choice(con.get("target"), f"{where}.constrains.target", set(LATENT_TARGETS), "latent target")
        kw["target"] = target
        dist, el = _dist(raw.get("elicit"), LATENT_TARGETS[target], f"{where}.elicit")
    if raw.get("date") is not None:
        kw["date_known"] = parse_date(str(raw["date"]), f"{where}.date").isoformat()
    rs = raw.get("restates")
    if rs is not None:
        if not (isinstance(rs, dict) and isinstance(rs.get("items"), list) and rs["items"]
                and all(isinstance(i, str) and i.strip() for i in rs["items"])):
            raise ConfigError(f"{where}.restates", "expected {items: [ids], keep: claim|source, reason: text}",
                              "list the restated precedent cells (P15:response), evidence or poll ids")
        kw["restates"] = tuple(i.strip() for i in rs["items"])
        kw["keep"] = parse_choice(rs.get("keep", "claim"), f"{where}.restates.keep", KEEP, "keep")
        kw["restates_reason"] = str(rs.get("reason") or "").strip()
        if not kw["restates_reason"]:
            raise ConfigError(f"{where}.restates.reason", "no reason", "say why this one of the two is kept")
    return Claim(name=name, id=str(raw.get("id") or name), quote=quote, location=str(raw.get("location") or ""),
                 source=source, kind=kind, strength=strength, dist=dist, elicit=el, note=str(raw.get("note") or ""),
                 origin=origin, **kw)


def parse_claims(priors_cfg: dict[str, Any], ont, where: str = "conf/priors") -> list[Claim]:
    if not isinstance(priors_cfg, dict) or not priors_cfg:
        raise ConfigError(where, "no priors configured", "select a priors file, e.g. priors=article")
    _elicit_ahead(priors_cfg)
    claims = [parse_claim(k, v, ont, f"{where}: {k}") for k, v in priors_cfg.items()]
    ids = [c.id for c in claims]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise InputError(where, f"duplicate claim id(s) {dupes}", "give each claim its own id")
    for t in LATENT_TARGETS:
        if sum(c.target == t for c in claims) > 1:
            raise ConfigError(where, f"more than one claim sets latent {t!r}", "keep one")
    return claims


def write_shipped(path: Path = SHIPPED) -> Path:
    """``elicited.json``: the elicitation of every claim of the shipped settings (``conf/priors``), computed by the
    installed PreliZ and named by its version. Run ``python -m forecast.inputs.priors`` after changing a shipped
    claim's range or upgrading PreliZ (``tests/test_config.py`` fails until then)."""
    import preliz as pz
    import yaml

    from forecast.paths import conf_dir

    entries: dict[str, Any] = {}
    for file in sorted((conf_dir() / "priors").glob("*.yaml")):  # each a mapping of claims (the settings' group)
        for spec in _specs(yaml.safe_load(file.read_text(encoding="utf-8")) or {}):
            entries[json.dumps(list(spec))] = {k: v for k, v in _maxent(spec).items() if k != "preliz"}
    text = json.dumps({"preliz": pz.__version__, "command": "python -m forecast.inputs.priors",
                       "entries": dict(sorted(entries.items()))}, indent=1, sort_keys=True)
    atomic_write_file(path, text + "\n", path.parent)
    return path


if __name__ == "__main__":
    print(f"wrote {write_shipped()}")
