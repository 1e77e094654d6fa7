"""The scenario report, section by section: ``SECTIONS`` lists them top to bottom.

A section is a function ``(data, ctx) -> list[Block]`` (an empty list: the section is left out of this report),
registered in ``SECTIONS`` under a stable id (the anchor and CSS hook of its ``<section>``). To add one, write the
function in the module of its group (``scenario``: the forecast itself; ``changes``: change over time; ``analysts``;
``checks``; ``reference``: claims, precedents, polls, diagnostics, provenance) and add a line here. ``FOLDED`` names
the sections the HTML page shows collapsed; ``context`` computes once per page what every section needs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from forecast.outputs.render.document import Block, Section, flatten
from forecast.outputs.render.sections import analysts, changes, checks, reference, scenario
from forecast.outputs.render.sections.context import Ctx, context

SectionFn = Callable[[Mapping[str, Any], Ctx], list[Block]]

SECTIONS: tuple[tuple[str, SectionFn], ...] = (
    ("header", scenario.header),
    ("headline", scenario.headline),
    ("composites", scenario.composites),
    ("plain-words", scenario.plain_words),
    ("figures", scenario.figures),
    ("changes", changes.changes),
    ("whatif", changes.whatif),
    ("analysts", analysts.analysts),
    ("history", changes.history),
    ("checks", checks.summary),
    ("priors", reference.priors),
    ("precedents", reference.precedents),
    ("polls", reference.polls),
    ("model-notes", reference.model_notes),
    ("diagnostics", reference.diagnostics),
    ("provenance", reference.provenance),
)
FOLDED: frozenset[str] = frozenset()


def build_sections(data: Mapping[str, Any]) -> list[Section]:
    """The report as sections of blocks, shared by the HTML and Markdown writers."""
    ctx = context(data)
    return [Section(sid, blocks, sid in FOLDED) for sid, fn in SECTIONS if (blocks := fn(data, ctx))]


def build_document(data: Mapping[str, Any]) -> list[Block]:
    """The report's blocks, top to bottom."""
    return flatten(build_sections(data))


__all__ = ["SECTIONS", "FOLDED", "build_sections", "build_document", "Ctx", "context"]
