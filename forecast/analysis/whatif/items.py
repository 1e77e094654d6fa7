"""What-if items: the three kinds of hypothetical evidence, parsed from the command line's text and
checked against a posterior's names (the page's panel, ``outputs/whatif.js``, says the same messages)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from forecast.errors import InputError, suggest
from forecast.inputs.data import Inputs, imply_threats
from forecast.inputs.priors import Claim, parse_claim

KINDS = ("poll", "episode", "judgement")
# (categories are data: the examples name no action or response of the shipped ontology)
EXAMPLES = {"poll": "share=0.85,n=1000", "episode": "action=ACTION,RESPONSE=1,OTHER_RESPONSE=0",
            "judgement": "action=ACTION,response=RESPONSE,lower=0.1,upper=0.3,mass=0.8"}
NEW_POLLSTER = "Hypothetical pollster {i}"  # the name a new pollster gets in the refit command
MASS_RANGE = (0.5, 0.99)  # as the claims' and signals' elicitation (forecast.inputs.priors._dist)


@dataclass(frozen=True)
class Poll:
    share: float  # share opposed, 0-1
    n: int
    pollster: str | None = None  # a pollster of the posterior, or None: a new one (its own wording effect)
    kind: str = "poll"

    def spec(self) -> str:
        return f"share={self.share:g},n={self.n}" + (f",pollster={self.pollster}" if self.pollster else "")


@dataclass(frozen=True)
class Episode:
    action: str
    responses: tuple[tuple[str, int], ...]  # as coded; validation adds the threats an executed response implies
    kind: str = "episode"

    def spec(self) -> str:
        return ",".join([f"action={self.action}", *(f"{r}={v}" for r, v in self.responses)])


@dataclass(frozen=True)
class Judgement:
    action: str
    response: str
    lower: float
    upper: float
    mass: float = 0.8  # `forecast evidence add signal`'s default
    kind: str = "judgement"

    def spec(self) -> str:
        return (f"action={self.action},response={self.response},lower={self.lower:g},upper={self.upper:g},"
                f"mass={self.mass:g}")


Item = Poll | Episode | Judgement


def _pairs(kind: str, text: str) -> tuple[str, dict[str, str]]:
    where = f"forecast whatif --{kind} {text!r}"
    fix = f"write NAME=VALUE pairs separated by commas, e.g. --{kind} {EXAMPLES[kind]}"
    out: dict[str, str] = {}
    for part in str(text).split(","):
        k, sep, v = part.partition("=")
        k, v = k.strip(), v.strip()
        if not sep or not k or not v:
            raise InputError(where, f"{part.strip()!r} is not NAME=VALUE", fix)
        if k in out:
            raise InputError(where, f"{k!r} is given twice", "give each name once")
        out[k] = v
    return where, out


def _need(where: str, kv: dict[str, str], key: str, kind: str) -> str:
    if key not in kv:
        raise InputError(where, f"no {key}=", f"add it, e.g. --{kind} {EXAMPLES[kind]}")
    return kv.pop(key)


def _g(x: float) -> str:
    return str(int(x)) if x == int(x) else f"{x:g}"


def _number(value: str, where: str, lo: float, hi: float, fix: str, whole: bool = False) -> float:
    """A number in [lo, hi] or a one-line error naming the field and the fix (the page's ``num`` says the same)."""
    s = str(value).strip()
    try:
        x = float(s)
    except ValueError:
        pct = s[:-1].strip() if s.endswith("%") else None
        try:
            p = float(pct) if pct else None
        except ValueError:
            p = None
        if p is not None and hi <= 1 and 0 <= p <= 100:  # a share written as a percentage
            raise InputError(where, f"{s!r} is a percentage", f"write it as a probability: {p / 100:g}") from None
        raise InputError(where, f"{s!r} is not a number", fix) from None
    if not math.isfinite(x):
        raise InputError(where, f"{s} is not finite", fix)
    if x < lo or x > hi:
        raise InputError(where, f"{s} is outside [{_g(lo)}, {_g(hi)}]", fix)
    if whole and x != math.floor(x):
        raise InputError(where, f"{s} is not a whole number", fix)
    return x


SHARE_FIX = "give the share opposed as a fraction from 0 to 1 (0.85 for 85%)"
N_FIX = "give the number of respondents, a whole number from 1"
MASS_FIX = "a probability mass from 0.5 to 0.99 (0.8: the range holds 80%)"


def parse_item(kind: str, text: str) -> Item:
    """One item from the command line's ``--poll``/``--episode``/``--judgement`` text (names are checked
    against the posterior by ``check_items``)."""
    if kind not in KINDS:
        raise InputError("forecast whatif", f"unknown kind of evidence {kind!r}", f"use one of {', '.join(KINDS)}")
    where, kv = _pairs(kind, text)
    if kind == "poll":
        share = _number(_need(where, kv, "share", kind), f"{where}, share", 0.0, 1.0, SHARE_FIX)
        n = int(_number(_need(where, kv, "n", kind), f"{where}, n", 1, 10_000_000, N_FIX, whole=True))
        pollster = kv.pop("pollster", None)
        _no_rest(where, kv, "share, n, pollster")
        return Poll(share, n, pollster)
    if kind == "episode":
        action = _need(where, kv, "action", kind)
        coded = tuple((r, int(_number(v, f"{where}, {r}", 0, 1, "code 1 (happened) or 0 (did not)", whole=True)))
                      for r, v in kv.items())
        if not coded:
            raise InputError(where, "no response coded", "code at least one response 0 or 1, e.g. RESPONSE=1")
        return Episode(action, coded)
    action = _need(where, kv, "action", kind)
    response = _need(where, kv, "response", kind)
    lower = _number(_need(where, kv, "lower", kind), f"{where}, lower", 0.0, 1.0, "a probability from 0 to 1")
    upper = _number(_need(where, kv, "upper", kind), f"{where}, upper", 0.0, 1.0, "a probability from 0 to 1")
    mass = _number(kv.pop("mass", "0.8"), f"{where}, mass", *MASS_RANGE, MASS_FIX)
    _no_rest(where, kv, "action, response, lower, upper, mass")
    if not 0.0 < lower < upper < 1.0:
        raise InputError(f"{where}, lower/upper", f"[{lower:g}, {upper:g}] is not a range strictly inside (0, 1)",
                         "give 0 < lower < upper < 1, e.g. lower=0.45,upper=0.75")
    return Judgement(action, response, lower, upper, mass)


def _no_rest(where: str, kv: dict[str, str], allowed: str) -> None:
    if kv:
        raise InputError(where, f"unknown name {next(iter(kv))!r}", f"use only {allowed}")


def check_items(items: list[Item], draws: Any, inputs: Inputs) -> list[Item]:
    """Names checked against the posterior's ontology and pollsters (``draws``: the report's ``Draws``); an
    episode's implied threats added."""
    out: list[Item] = []
    for it in items:
        where = f"forecast whatif --{it.kind} {it.spec()!r}"
        if it.kind == "poll":
            if it.pollster is not None and it.pollster not in draws.pollsters:
                known = ", ".join(draws.pollsters) or "none"
                raise InputError(f"{where}, pollster", f"{it.pollster!r} is not a pollster of this posterior "
                                 f"(known: {known})", "name one of them, or leave pollster out for a new pollster")
            out.append(it)
            continue
        if it.action not in draws.actions:
            raise InputError(f"{where}, action", f"{it.action!r} is not an action type",
                             suggest(it.action, draws.actions, "the action types (forecast actions lists them)"))
        if it.kind == "episode":
            for r, _ in it.responses:
                if r not in draws.responses:
                    raise InputError(f"{where}, {r}", f"{r!r} is not a response",
                                     suggest(r, draws.responses, "the responses (forecast responses lists them)"))
            given = dict(it.responses)
            for r, v in it.responses:
                for anc in inputs.ontology.ancestors(r) if v == 1 else ():
                    if given.get(anc) == 0:
                        raise InputError(f"{where}, {anc}", f"coded 0 but {r} (which requires it) is coded 1",
                                         f"code {anc}=1 or leave it out, or {r}=0")
            coded = imply_threats({r: float(v) for r, v in it.responses}, inputs.ontology.ancestors, where)
            # in the ontology's order (the page's too), the threats an executed response implies included
            out.append(Episode(it.action, tuple((r, int(coded[r])) for r in draws.responses if r in coded)))
            continue
        if it.response not in draws.responses:
            raise InputError(f"{where}, response", f"{it.response!r} is not a response",
                             suggest(it.response, draws.responses, "the responses (forecast responses lists them)"))
        out.append(it)
    return out



def judgement_claim(item: Judgement, inputs: Inputs) -> Claim:
    """The judgement as the model's signal: a cell pseudo-observation (``Claim.logit_normal`` of the Beta)."""
    from forecast.analysis.whatif.beta import maxent_beta

    a, b = maxent_beta(item.lower, item.upper, item.mass)
    raw = {"quote": "hypothetical judgement", "constrains": {"kind": "cell", "actions": [item.action],
                                                              "response": item.response},
           "elicit": {"family": "Beta", "alpha": a, "beta": b}, "strength": 1.0}
    return parse_claim("whatif", raw, inputs.ontology, f"forecast whatif --judgement {item.spec()!r}",
                       origin="evidence")

