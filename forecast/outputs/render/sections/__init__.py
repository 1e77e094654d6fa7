"""The scenario report, section by section: ``SECTIONS`` lists them top to bottom.

A section is a function ``(data, ctx) -> list[Block]`` (an empty list: the section is left out of this report),
registered in ``SECTIONS`` under a stable id (the anchor and CSS hook of its ``<section>``). To add one, write the
function in the module of its group (``brief``: the title, the question, the bottom line, the contents and the
definitions; ``scenario``: the forecast itself; ``changes``: change over time; ``analysts``; ``checks``;
``reference``: claims, precedents, polls, diagnostics, provenance) and add a line here. ``FOLDED`` names the
sections the HTML page shows collapsed; ``context`` computes once per page what every section needs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from forecast.outputs.render.document import Block, Nav, Section, Span, flatten
from forecast.outputs.render.sections import analysts, brief, changes, checks, reference, scenario
from forecast.outputs.render.sections.context import Ctx, context

SectionFn = Callable[[Mapping[str, Any], Ctx], list[Block]]

SECTIONS: tuple[tuple[str, SectionFn], ...] = (
    ("title", brief.title),
    ("bottom-line", brief.bottom_line),
    ("contents", brief.contents),
    ("headline", scenario.headline),
    ("composites", scenario.composites),
    ("plain-words", scenario.plain_words),
    ("figures", scenario.ranges),
    ("changes", changes.changes),
    ("whatif", changes.whatif),
    ("analysts", analysts.analysts),
    ("history", changes.history),
    ("checks", checks.summary),
    ("glossary", brief.glossary),
    ("priors", reference.priors),
    ("precedents", reference.precedents),
    ("polls", reference.polls),
    ("model-notes", reference.model_notes),
    ("diagnostics", reference.diagnostics),
    ("provenance", reference.provenance),
)
# reference material a decision maker does not need on the way: shown collapsed in HTML (whole in Markdown)
FOLDED: frozenset[str] = frozenset({"glossary", "priors", "precedents", "polls", "model-notes", "diagnostics",
                                     "provenance"})


# the contents' names of the sections a reader jumps to (in page order; a section the report lacks is left out)
CONTENTS: dict[str, str] = {
    "headline": "each response", "composites": "combined outcomes", "plain-words": "in plain words",
    "figures": "uncertainty", "changes": "what moved", "whatif": "what if…?", "analysts": "analysts",
    "history": "history", "checks": "how good?", "glossary": "definitions", "priors": "the article's claims",
    "precedents": "precedents", "polls": "polls", "model-notes": "the model's assumptions",
    "diagnostics": "diagnostics", "provenance": "provenance",
}


def build_sections(data: Mapping[str, Any]) -> list[Section]:
    """The report as sections of blocks, shared by the HTML and Markdown writers; the contents list the sections
    this report has."""
    ctx = context(data)
    sections = [Section(sid, blocks, sid in FOLDED) for sid, fn in SECTIONS if (blocks := fn(data, ctx))]
    present = [(s.id, CONTENTS[s.id]) for s in sections if s.id in CONTENTS]
    return [Section(s.id, [_with_toc(b, present) for b in s.blocks], s.fold) if s.id == "contents" else s
            for s in sections]


def _with_toc(block: Block, present: list[tuple[str, str]]) -> Block:
    if not isinstance(block, Nav):
        return block
    toc = [[Span("local", label, f"#{sid}")] for sid, label in present]
    return Nav([("On this page:", toc), *[g for g in block.groups if g[0] != "On this page:"]])


def build_document(data: Mapping[str, Any]) -> list[Block]:
    """The report's blocks, top to bottom."""
    return flatten(build_sections(data))


__all__ = ["SECTIONS", "FOLDED", "build_sections", "build_document", "Ctx", "context"]
