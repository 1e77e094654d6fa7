"""Render a report's data as one self-contained HTML page and as Markdown, from one document model.

The renderer is split by job:

- ``document``: the model (sections of blocks, blocks of cells, cells of typed spans) and link handling;
- ``format``: how values read (percentages, intervals, plain values, estimative words);
- ``sections/``: one function per report section, grouped by module, in the order of ``sections.SECTIONS``;
  the checks page's sections (``sections.checks.checks_page``);
- ``html_writer``: blocks to HTML, the page shell and stylesheet as Jinja templates (``templates/page.html``,
  ``templates/report.css``, ``templates/whatif.html``; autoescape on), the Content-Security-Policy;
- ``md_writer``: blocks to Markdown.

Both formats come from the same blocks, so the content is identical, and escaping happens in exactly two places
(``html_writer.esc``, ``md_writer.md_escape``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from forecast.outputs.render.document import Block, Section, Span, T
from forecast.outputs.render.format import interval, pct, s
from forecast.outputs.render.html_writer import Page, json_for_script, render_page, stylesheet, whatif_script
from forecast.outputs.render.md_writer import md_escape, render_md
from forecast.outputs.render.sections import SECTIONS, build_document, build_sections
from forecast.outputs.render.sections.scenario import TOP_N

__all__ = ["render_html", "render_markdown", "build_sections", "build_document", "SECTIONS", "TOP_N", "Section",
           "Block", "Span", "T", "pct", "interval", "md_escape", "json_for_script", "whatif_script", "stylesheet"]


def _sections(data: Mapping[str, Any], blocks: Sequence[Section | Block] | None) -> list[Section]:
    if blocks is None:
        return build_sections(data)
    if all(isinstance(b, Section) for b in blocks):
        return list(blocks)  # type: ignore[arg-type]
    return [Section("body", list(blocks))]  # type: ignore[arg-type]


def render_html(data: Mapping[str, Any], figures: Mapping[str, bytes],
                blocks: Sequence[Section | Block] | None = None, whatif: Mapping[str, Any] | None = None,
                templates: Path | None = None) -> str:
    """One self-contained HTML page: inline CSS, figures (PNG bytes by file stem) as data: URIs, no external
    resources; the only script is the "What if ...?" panel's, with ``whatif`` (forecast.analysis.whatif.payload)
    as its data. ``blocks``: another document (the checks page's sections) rendered the same way; ``templates``:
    a folder whose ``page.html``, ``report.css`` or ``whatif.html`` replace the shipped ones."""
    title = f"Forecast: {s(data.get('title') or data.get('scenario'))}"
    return render_page(title, _sections(data, blocks), Page(figures, whatif, templates))


def render_markdown(data: Mapping[str, Any], figure_files: Mapping[str, str],
                    blocks: Sequence[Section | Block] | None = None) -> str:
    """The same report as Markdown (pipe tables, figures as relative paths) for pasting into briefs."""
    return render_md(_sections(data, blocks), figure_files)
