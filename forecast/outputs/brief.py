"""The brief a decision maker reads first: the question and its terms, the bottom line, how fresh the evidence is.

Computed from a report's data (``forecast.outputs.report.build_report_data``) and the project's files, as plain
JSON-able data under ``data["brief"]`` (the sections in ``render/sections/brief.py`` draw it):

- ``question``: the question in the case's words (``data/question.yaml``) for this scenario, its horizon, the
  statement that every number is conditional on the US action, each response's and combined outcome's
  definition, the article's full citation;
- ``scale``: the estimative words' scale (``conf/words/``) and each outcome's word on it;
- ``bottom_line``: the most likely responses, the most dangerous outcomes the question file names (with their
  probabilities whatever they are), what changed since the last published brief (points, noise band, causes),
  the evidence's age against ``report.stale_days``, the article's track record in one sentence when
  ``forecast check`` has scored it;
- ``publication``: published or preview, and what the brief is compared with.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from forecast.inputs import config as _config
from forecast.inputs.data import Inputs
from forecast.inputs.evidence import load_evidence
from forecast.inputs.question import Question, question_for
from forecast.inputs.withdraw import withdrawn_since  # noqa: F401 - question_for: the writer's
from forecast.inputs.words import Scale, parse_scale
from forecast.outputs.render.format import num

CONDITIONAL = "Every number assumes the action happens; none says how likely the action is."
INTERVAL = ("The range is where the probability lies with {hdi} credibility given the model and the evidence: the "
            "narrower it is, the more the evidence pins the number down.")


def scale_of(cfg: DictConfig) -> Scale:
    return parse_scale(OmegaConf.to_container(cfg.words, resolve=False), "words")


def definitions(inputs: Inputs) -> dict[str, dict[str, str]]:
    """Every response's and combined outcome's label and definition (the ontology's description; a combined
    outcome's members by label)."""
    ont = inputs.ontology
    out: dict[str, dict[str, str]] = {}
    for rid, row in ont.responses.iterrows():
        desc = str(row.get("description") or "").strip()
        out[str(rid)] = {"label": str(row["label"]), "definition": desc or str(row["label"])}
    for cid, spec in ont.composites.items():
        labels = [str(ont.responses.at[m, "label"]) for m in spec["members"]]
        joint = "at least one of" if spec["kind"] == "any_of" else "all of"
        out[str(cid)] = {"label": str(spec["label"]), "definition": f"{joint}: " + "; ".join(labels)}
    return out


def _estimates(data: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    out = {}
    for r in data.get("responses") or []:
        out[str(r["response"])] = {"kind": "response", **r}
    for c in data.get("composites") or []:
        out[str(c["composite"])] = {"kind": "composite", **c}
    return out


def _item(ident: str, est: Mapping[str, Any], scale: Scale, defs: Mapping[str, Mapping[str, str]]) -> dict[str, Any]:
    return {"id": ident, "label": defs.get(ident, {}).get("label") or est.get("label") or ident,
            "kind": est.get("kind"), "mean": est.get("mean"), "hdi_low": est.get("hdi_low"),
            "hdi_high": est.get("hdi_high"), "word": scale.word(num(est.get("mean")))}


def freshness(cfg: DictConfig, inputs: Inputs, data: Mapping[str, Any]) -> dict[str, Any]:
    """The newest evidence known by the forecast's date and its age; stale past ``report.stale_days``."""
    as_of = inputs.as_of
    stale_days = int(cfg.report.get("stale_days") or 90)
    newest: dict[str, Any] | None = None
    if cfg.get("evidence", True):
        ev = load_evidence(_config.paths(cfg)["data"] / "evidence", inputs.ontology, dt.date.today(), as_of)
        if ev.entries:
            e = max(ev.entries, key=lambda x: (x.date_known, x.id))
            newest = {"id": e.id, "date": e.date_known.isoformat(), "summary": e.summary, "kind": e.kind,
                      "source": e.source, "what": "evidence entry"}
    if newest is None:  # no evidence log: the newest precedent or poll the model knows
        dates = [(str(p.get("date")), str(p.get("id")), str(p.get("title") or ""), "precedent")
                 for p in data.get("precedents") or []]
        dates += [(str(p.get("date")), str(p.get("id")), str(p.get("pollster") or ""), "poll")
                  for p in data.get("polls") or []]
        if dates:
            d, i, s, what = max(dates)
            newest = {"id": i, "date": d, "summary": s, "kind": what, "source": "", "what": what}
    if newest is None:
        return {"newest": None, "as_of": as_of.isoformat(), "stale_days": stale_days, "stale": True, "days": None}
    days = (as_of - dt.date.fromisoformat(newest["date"][:10])).days
    return {"newest": newest, "as_of": as_of.isoformat(), "days": days, "stale_days": stale_days,
            "stale": days > stale_days}


def _cause_label(part: str, summaries: Mapping[str, str]) -> str:
    return f"{part} ({summaries[part]})" if part in summaries else part


def what_changed(data: Mapping[str, Any], sigmas: float, summaries: Mapping[str, str],
                 min_points: float = 1.0) -> dict[str, Any]:
    """The change since the compared brief, per response in points with its noise band (``sigmas`` Monte Carlo
    standard errors of the difference of the two means), the material moves (beyond their band and at least
    ``min_points``) largest first, each with the causes that moved it most."""
    ch = data.get("changes")
    if not isinstance(ch, Mapping) or not ch:
        return {"compared": None, "moves": [], "material": [], "status": "first"}
    prev = ch.get("previous") or {}
    prev_se = prev.get("mcse") or {}
    cur_se = {str(r["response"]): r.get("mcse_mean") for r in data.get("responses") or []}
    parts = [p for p in (ch.get("parts") or []) if p]
    moves = []
    for row in ch.get("rows") or []:
        rid = str(row.get("id") or "")
        change = num(row.get("change"))
        if change is None:
            continue
        a, b = num(prev_se.get(rid)), num(cur_se.get(rid))
        se = math.sqrt(a * a + b * b) if a is not None and b is not None else None
        band = sigmas * se if se is not None else None
        material = (abs(change) > band if band is not None else True) and abs(change) >= min_points / 100 - 1e-12
        causes = sorted(((p, num(row.get(p))) for p in parts if num(row.get(p)) is not None),
                        key=lambda pv: -abs(pv[1]))
        moves.append({"id": rid, "label": row.get("response"), "previous": num(row.get("previous")),
                      "current": num(row.get("current")), "points": round(100 * change, 1),
                      "band_points": None if band is None else round(100 * band, 1), "material": bool(material),
                      "causes": [{"cause": p, "label": _cause_label(p, summaries), "points": round(100 * v, 1)}
                                 for p, v in causes[:3] if abs(v) >= 0.0005]})
    moves.sort(key=lambda m: -abs(m["points"]))
    return {"compared": {k: prev.get(k) for k in ("generated_at", "as_of", "inputs_hash", "published_folder",
                                                   "method")},
            "moves": moves, "material": [m for m in moves if m["material"]],
            "status": "moved" if any(m["material"] for m in moves) else "no material change",
            "noise_sigmas": sigmas, "material_points": min_points, "note": ch.get("note")}


def track_record(data: Mapping[str, Any]) -> str | None:
    """The one sentence ``forecast check`` wrote on whether the article's claims improved the forecasts since their
    date (None until a check has scored them)."""
    c = data.get("checks")
    if not isinstance(c, Mapping):
        return None
    art = c.get("article")
    if isinstance(art, Mapping) and isinstance(art.get("sentence"), str) and art["sentence"].strip():
        return art["sentence"].strip()
    for holder in (c, c.get("headline") or {}):
        for key in ("claims_sentence", "since_claims"):
            v = holder.get(key) if isinstance(holder, Mapping) else None
            if isinstance(v, Mapping):
                v = v.get("sentence")
            if isinstance(v, str) and v.strip():
                return v.strip()
    return None


def brief_data(cfg: DictConfig, inputs: Inputs, data: Mapping[str, Any], *, question: Question | None = None,
               published: bool = True) -> dict[str, Any]:
    """``data["brief"]``: the question and its terms, the bottom line, the scale, publication."""
    q = question or question_for(_config.paths(cfg)["data"], inputs.ontology)
    scale = scale_of(cfg)
    defs = definitions(inputs)
    est = _estimates(data)
    responses = sorted((r for r in data.get("responses") or [] if num(r.get("mean")) is not None),
                       key=lambda r: -float(r["mean"]))
    most_likely = [_item(str(r["response"]), est[str(r["response"])], scale, defs) for r in responses[:q.most_likely]]
    dangerous = []
    for w in q.most_dangerous:
        if w.id in est:
            dangerous.append({**_item(w.id, est[w.id], scale, defs), "why": w.why})
    fresh = freshness(cfg, inputs, data)
    summaries = {}
    if cfg.get("evidence", True):
        ev = load_evidence(_config.paths(cfg)["data"] / "evidence", inputs.ontology, dt.date.today())
        summaries = {e.id: e.summary for e in ev.entries}
    changed = what_changed(data, float(cfg.report.get("noise_sigmas") or 3.0), summaries,
                           float(cfg.report.get("material_points", 1.0)))
    before = ((data.get("changes") or {}).get("previous") or {}).get("evidence_ids")
    if isinstance(before, list):  # what left the evidence log since the compared brief, and why
        changed["withdrawn"] = withdrawn_since(_config.paths(cfg)["data"], [str(e) for e in before],
                                               [str(e) for e in data.get("evidence_ids") or []])
    hdi = num(data.get("hdi_prob")) or 0.9
    art = q.article
    return {
        "title": q.title,
        "question": q.text(str(data.get("title") or data.get("scenario"))),
        "conditional": CONDITIONAL,
        "interval": INTERVAL.format(hdi=f"{hdi:.0%}"),
        "horizon": {"text": q.horizon, "days": q.horizon_days, "source": q.horizon_source},
        "article": {"title": art.title, "author": art.author, "author_basis": art.author_basis,
                    "outlet": art.outlet, "date": art.date, "date_note": art.date_note, "url": art.url,
                    "citation": art.citation()},
        "definitions": defs,
        "actions": {str(a): str(inputs.ontology.actions.at[a, "label"]) for a in inputs.ontology.action_ids},
        "scale": scale.as_dict(),
        "words": {k: scale.word(num(v.get("mean"))) for k, v in est.items()},
        "bottom_line": {"most_likely": most_likely, "most_dangerous": dangerous, "changed": changed,
                        "freshness": fresh, "track_record": track_record(data)},
        "publication": {"status": "published" if published else "preview",
                        "compared_with": str(cfg.report.get("compare_with") or "published")},
    }


def landing_entry(data: Mapping[str, Any], folder: Path | str) -> dict[str, Any]:
    """What the landing page shows of one report: its question, bottom line and folder."""
    b = data.get("brief") or {}
    bl = b.get("bottom_line") or {}
    return {"scenario": data.get("scenario"), "title": data.get("title"), "folder": str(folder),
            "as_of": data.get("as_of"), "generated_at": data.get("generated_at"),
            "ok": bool((data.get("diagnostics") or {}).get("ok")), "question": b.get("question"),
            "most_likely": bl.get("most_likely") or [], "most_dangerous": bl.get("most_dangerous") or [],
            "changed": bl.get("changed") or {}, "freshness": bl.get("freshness") or {},
            "publication": b.get("publication") or {}}


def report_links(reports: Path, base: Path, name: str, written: list[str], titles: Mapping[str, str]) -> dict:
    """The report's links, relative to its folder ``base/name``: the other scenarios' reports (written now or
    already in ``base``), the landing page and the checks page of ``reports`` when they exist (or are written by
    this run), the report's own files."""
    reports, base = Path(reports).resolve(), Path(base).resolve()
    try:
        up = "../" * (len(base.relative_to(reports).parts) + 1)
    except ValueError:  # a folder outside the reports tree (a sweep's job folder): no links up
        up = None
    others = []
    found = {p.parent.name for p in base.glob("*/forecast.json")}
    for other in sorted(set(written) | found):
        if other != name and not other.startswith("."):  # a hidden folder is a publication's staging or old copy
            others.append((str(titles.get(other) or other), f"../{other}/report.html"))
    files = [("report.md", "report.md"), ("probabilities.csv", "probabilities.csv"), ("forecast.json", "forecast.json")]
    if up is not None:
        files = [("all scenarios", f"{up}index.html"), *files]
        if (reports / "checks" / "checks.html").is_file():
            files.append(("model checks", f"{up}checks/checks.html"))
    return {"scenarios": others, "files": files}


def history_extent(replay: Any, published: Any, data: Mapping[str, Any], scenario: str) -> dict[str, Any]:
    """How far the forecast history reaches: the replay's last date and the evidence it knew, the latest published
    brief, and what this report knows that the replay does not (then the replay is older than the inputs)."""
    sub = replay[replay["scenario"] == scenario]
    last = str(sub["as_of"].max())
    known: set[str] = set()
    if "evidence_ids" in sub.columns:
        ids = sub[sub["as_of"].astype(str) == last]["evidence_ids"].dropna().astype(str)
        known = {e for v in ids for e in v.split(";") if e}
    missing = sorted(set(data.get("evidence_ids") or []) - known) if "evidence_ids" in sub.columns else []
    out: dict[str, Any] = {"replay_until": last, "missing_evidence": missing,
                           "published_until": None if published is None or not len(published)
                           else str(published["as_of"].max())}
    hashes = set(sub[sub["as_of"].astype(str) == last]["inputs_hash"].astype(str)) if "inputs_hash" in sub else set()
    out["same_inputs"] = not hashes or str(data.get("inputs_hash")) in hashes
    out["older_than_inputs"] = bool(missing) or not out["same_inputs"]
    return out


def what_moved_lines(data: Mapping[str, Any], most: int = 5) -> list[str]:
    """What moved since the compared brief, one plain line per material move (largest first, at most ``most``), or
    one line saying there is nothing to compare with or no material change: what a run prints on stdout."""
    from forecast.outputs.render.format import pct, points
    from forecast.outputs.render.sections.brief import FIRST_HINT

    ch = ((data.get("brief") or {}).get("bottom_line") or {}).get("changed") or {}
    name = data.get("scenario")
    if not ch or ch.get("status") == "first":
        return [f"{name}: first brief, nothing to compare with; {FIRST_HINT[0].lower()}{FIRST_HINT[1:-1]}"]
    when = str((ch.get("compared") or {}).get("generated_at") or "")[:10]
    material = ch.get("material") or []
    if not material:
        return [f"{name}: no material change since the brief published {when}"]
    out = []
    for m in material[:most]:
        band = m.get("band_points")
        cause = (m.get("causes") or [{}])[0]
        out.append(f"{name}: {m.get('label')} {pct(m.get('previous'))} -> {pct(m.get('current'))} "
                   f"({points((m.get('points') or 0) / 100)}" + (f", noise ±{band:.1f}" if band is not None else "")
                   + ")" + (f", chiefly {cause.get('label')} {points((cause.get('points') or 0) / 100)}"
                            if cause else ""))
    return out
