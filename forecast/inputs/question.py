"""The question a report answers (``data/question.yaml``): its wording, the horizon, the article behind the
"Article" column and the outcomes the bottom line always names.

Presentation only: nothing here enters the model or its inputs hash. The file is validated like every data file
(one line naming the file, the key and the fix); the bottom line's outcomes are ids of the ontology, so Python
never spells one.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from forecast.errors import InputError
from forecast.inputs.readers import check_keys, display, parse_date, parse_int, read_yaml

QUESTION_FILE = "question.yaml"
PLACEHOLDERS = ("{action}", "{horizon}")
TOP_KEYS = {"title", "question", "horizon", "article", "bottom_line"}
HORIZON_KEYS = {"text", "days", "source"}
ARTICLE_KEYS = {"title", "author", "author_basis", "outlet", "date", "date_note", "url"}
BOTTOM_KEYS = {"most_likely", "most_dangerous"}
WATCH_KEYS = {"id", "why"}


@dataclass(frozen=True)
class Article:
    """The source of the article-only prior: a full citation."""

    title: str
    author: str
    author_basis: str  # why the author is named (an attribution, not a byline read)
    outlet: str
    date: str  # ISO
    date_note: str
    url: str

    def citation(self) -> str:
        """One line: author (attributed), title, outlet, date."""
        return f"{self.author} (attributed), “{self.title}”, {self.outlet}, {self.date}"


@dataclass(frozen=True)
class Watched:
    """An outcome the bottom line names whatever its probability: a response or composite id, and why."""

    id: str
    why: str


@dataclass(frozen=True)
class Question:
    title: str  # what every scenario asks together (the landing page's title)
    template: str  # with {action} and {horizon}
    horizon: str  # "12 months"
    horizon_days: int
    horizon_source: str
    article: Article
    most_likely: int
    most_dangerous: tuple[Watched, ...]

    def text(self, action: str) -> str:
        """The question for one scenario (``action``: its title)."""
        return self.template.replace("{action}", action).replace("{horizon}", self.horizon)


def _text(raw: dict, key: str, where: str, fix: str) -> str:
    v = raw.get(key)
    if not isinstance(v, str) or not v.strip():
        raise InputError(f"{where}.{key}", "missing or not text", fix)
    return " ".join(v.split())


def _mapping(raw: dict, key: str, where: str, allowed: set[str]) -> dict:
    v = raw.get(key)
    if not isinstance(v, dict):
        raise InputError(f"{where}, key '{key}'", "missing or not a mapping", f"give {', '.join(sorted(allowed))}")
    check_keys(v, allowed, lambda k: f"{where}, key '{key}.{k}'")
    return v


def load_question(data_dir: Path, response_ids: list[str], composite_ids: list[str]) -> Question:
    """``data/question.yaml``, validated: the template names both placeholders, the horizon is a whole number of
    days, the article has a date and an http(s) URL, every watched outcome is a response or composite id."""
    path = Path(data_dir) / QUESTION_FILE
    where = display(path)
    raw = read_yaml(path)
    check_keys(raw, TOP_KEYS, lambda k: f"{where}, key '{k}'")
    title = _text(raw, "title", where, "write the landing page's title: the question all scenarios ask")
    template = _text(raw, "question", where, "write the question with {action} and {horizon} in it")
    for ph in PLACEHOLDERS:
        if ph not in template:
            raise InputError(f"{where}, key 'question'", f"does not contain {ph}",
                             "write the question with {action} (the scenario's title) and {horizon} in it")
    hz = _mapping(raw, "horizon", where, HORIZON_KEYS)
    hw = f"{where}, key 'horizon"
    horizon = _text(hz, "text", hw, "write the horizon as the question says it, e.g. 12 months")
    days = parse_int(hz.get("days"), f"{hw}.days'", 1, 36_525)
    hsource = _text(hz, "source", hw, "say where the horizon comes from (how the record is coded)")
    art = _mapping(raw, "article", where, ARTICLE_KEYS)
    aw = f"{where}, key 'article"
    url = _text(art, "url", aw, "give the article's http(s) address")
    if not url.startswith(("https://", "http://")) or any(c in url for c in " <>\"'"):
        raise InputError(f"{aw}.url'", f"{url!r} is not an http(s) address", "give the article's https:// address")
    article = Article(
        title=_text(art, "title", aw, "give the article's title"),
        author=_text(art, "author", aw, "give the author's name"),
        author_basis=_text(art, "author_basis", aw, "say how the author is known (a byline, or an attribution)"),
        outlet=_text(art, "outlet", aw, "give the outlet"),
        date=parse_date(art.get("date"), f"{aw}.date'").isoformat(),
        date_note=str(art.get("date_note") or "").strip(),
        url=url)
    bl = _mapping(raw, "bottom_line", where, BOTTOM_KEYS)
    bw = f"{where}, key 'bottom_line"
    most_likely = parse_int(bl.get("most_likely"), f"{bw}.most_likely'", 1, 50)
    watch = bl.get("most_dangerous")
    if not isinstance(watch, list) or not watch:
        raise InputError(f"{bw}.most_dangerous'", "missing or empty", "list the outcomes as `- id: ...` with `why:`")
    valid = [*response_ids, *composite_ids]
    seen: set[str] = set()
    watched = []
    for i, item in enumerate(watch, start=1):
        w = f"{bw}.most_dangerous' item {i}"
        if not isinstance(item, dict):
            raise InputError(w, "not a mapping", "write `- id: <response or composite id>` and `why: ...`")
        check_keys(item, WATCH_KEYS, lambda k, w=w: f"{w}, key '{k}'")
        ident = str(item.get("id") or "").strip()
        if ident not in valid:
            raise InputError(f"{w}, key 'id'", f"{ident!r} is not a response or composite id",
                             f"use one of: {', '.join(valid)}")
        if ident in seen:
            raise InputError(f"{w}, key 'id'", f"{ident!r} is listed twice", "list each outcome once")
        seen.add(ident)
        watched.append(Watched(ident, _text(item, "why", w, "say in a few words why it is watched")))
    return Question(title, template, horizon, days, hsource, article, most_likely, tuple(watched))


def question_for(data_dir: Path, ontology: Any) -> Question:
    """The question file read against ``ontology`` (its responses and composites)."""
    return load_question(data_dir, list(ontology.response_ids), list(ontology.composites))


def days_between(earlier: str | dt.date, later: str | dt.date) -> int:
    a = earlier if isinstance(earlier, dt.date) else dt.date.fromisoformat(str(earlier))
    b = later if isinstance(later, dt.date) else dt.date.fromisoformat(str(later))
    return (b - a).days
