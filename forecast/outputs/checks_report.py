"""The checks report ``reports/checks/`` (checks.json, checks.html, checks.md, figures) and the short
"How good are these probabilities?" section every scenario report shows (``checks_section``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from forecast.files import atomic_write_dir
from forecast.outputs.figures import figure_files, write_figures
from forecast.outputs.render import render_html, render_markdown
from forecast.outputs.render.sections.checks import checks_page

CHECKS_DIR = "checks"


def carry_over(reports: Path, checks: dict[str, Any], figures: dict[str, bytes]) -> None:
    """Keep the checks this run did not select (``forecast check --only``) from the previous checks report when it
    was made for the same posterior (inputs hash): their numbers and figure files stay, and the page says so. A
    previous report of another posterior is not mixed in."""
    from forecast.analysis.checks.run import CHECK_EXTRA_KEYS, CHECK_FIGURES, CHECK_KEYS, CHECKS
    from forecast.outputs.figures import file_name
    from forecast.outputs.figures.write import SVG_EXT

    run = set(checks.get("checks_run") or CHECKS)
    if run >= set(CHECKS):
        return
    d = Path(reports) / CHECKS_DIR
    try:
        old = json.loads((d / "checks.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return
    if not isinstance(old, dict) or old.get("inputs_hash") != checks.get("inputs_hash"):
        return
    kept = []
    for name in CHECKS:
        key = CHECK_KEYS[name]
        if name in run or key not in old:
            continue
        checks[key] = old[key]
        for extra in CHECK_EXTRA_KEYS.get(name, ()):
            if extra in old:
                checks[extra] = old[extra]
        kept.append(name)
        for stem in CHECK_FIGURES[name]:
            for k in (stem, stem + SVG_EXT):
                f = d / file_name(k)
                if k not in figures and f.is_file():
                    figures[k] = f.read_bytes()
    if kept:
        checks["carried_over"] = kept


def write_checks(reports: Path, checks: dict[str, Any], fig_data: dict[str, tuple]) -> Path:
    """reports/checks/: checks.json, checks.html, checks.md and the figures drawn from ``fig_data`` (the numbers
    ``run_checks`` left to draw), written together or not at all. Checks not run this time (``--only``) are kept
    from the previous report of the same posterior; the headline and scorecard are computed on the result."""
    from forecast.analysis.checks.run import headline, scorecard
    from forecast.outputs.figures.checks import checks_figures

    figures = checks_figures(fig_data)
    carry_over(reports, checks, figures)
    checks["headline"], checks["scorecard"] = headline(checks), scorecard(checks)

    def fill(tmp: Path) -> None:
        write_figures(tmp, figures)
        (tmp / "checks.json").write_text(json.dumps(checks, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        blocks = checks_page(checks)
        meta = {"title": "Model checks", "scenario": "checks"}
        (tmp / "checks.html").write_text(render_html(meta, figures, blocks=blocks), encoding="utf-8")
        (tmp / "checks.md").write_text(render_markdown(meta, figure_files(figures), blocks=blocks),
                                       encoding="utf-8")

    return atomic_write_dir(Path(reports) / CHECKS_DIR, fill)


def checks_section(reports: Path, scenario: str) -> tuple[dict[str, Any] | None, bytes | None]:
    """This scenario's headline figures from the last ``forecast check`` (None when never run)."""
    path = Path(reports) / CHECKS_DIR / "checks.json"
    try:
        c = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None, None
    sens = (c.get("sensitivity") or {}).get(scenario) or {}
    section = {"as_of": c.get("as_of"), "inputs_hash": c.get("inputs_hash"), "headline": c.get("headline") or {},
               "flags": {r: v.get("diagnosis") for r, v in (sens.get("summary") or {}).items()},
               "top_claims": sens.get("top_claims") or {},
               "track_record": ((c.get("track_record") or {}).get(scenario) or {}).get("summary"),
               # have the article's claims improved the forecasts since its date? one sentence and its figures
               "article": (c.get("headline") or {}).get("article"),
               "link": f"{CHECKS_DIR}/checks.html"}
    png = Path(reports) / CHECKS_DIR / "reliability.png"
    return section, (png.read_bytes() if png.is_file() else None)
