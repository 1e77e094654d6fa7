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


def write_checks(reports: Path, checks: dict[str, Any], fig_data: dict[str, tuple]) -> Path:
    """reports/checks/: checks.json, checks.html, checks.md and the figures drawn from ``fig_data`` (the numbers
    ``run_checks`` left to draw), written together or not at all."""
    from forecast.outputs.figures.checks import checks_figures

    figures = checks_figures(fig_data)

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
               "link": f"{CHECKS_DIR}/checks.html"}
    png = Path(reports) / CHECKS_DIR / "reliability.png"
    return section, (png.read_bytes() if png.is_file() else None)
