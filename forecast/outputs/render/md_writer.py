"""Blocks to Markdown (pipe tables, figures as relative paths) for pasting into briefs.

Escaping happens in one place: ``md_escape`` (``&``/``<``/``>``/``|``/``[``/``]`` and emphasis neutralised, and no
block structure smuggled in from data) on every text from data.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from urllib.parse import quote

from forecast.outputs.render import document as doc
from forecast.outputs.render.document import Block, Section, Span, local_href, safe_url
from forecast.outputs.render.format import s


def md_escape(text: str) -> str:
    """Inert Markdown text: no raw HTML, no links, emphasis or table breaks smuggled in from data, and no block
    structure: text that begins with ``# ``, ``> ``, ``- ``, ``+ ``, ``* ``, ``1. ``, ``~~~`` or ``___`` stays text
    (it may open a line: a paragraph, a list item or the first span of a heading)."""
    t = text.replace("\\", "\\\\").replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    t = t.replace("|", "\\|").replace("[", "\\[").replace("]", "\\]").replace("`", "\\`")
    t = t.replace("*", "\\*").replace("~", "\\~")
    t = re.sub(r"(?<![0-9A-Za-z])_|_(?![0-9A-Za-z])", r"\\_", t)  # emphasis, not snake_case ids
    t = re.sub(r"\s+", " ", t)
    # block markers where the text may start a line: headings, list items, ordered items, breaks, setext
    t = re.sub(r"^(\s?)([#=]|[-+](?=\s|$|[-+]))", r"\1\\\2", t)
    return re.sub(r"^(\s?\d{1,9})([.)])(?=\s|$)", r"\1\\\2", t)


def _wrap(text: str, mark: str) -> str:
    """``mark``-delimited emphasis with edge spaces kept outside (``** x**`` is not emphasis in Markdown)."""
    core = text.strip()
    if not core:
        return text
    lead, trail = text[: len(text) - len(text.lstrip())], text[len(text.rstrip()):]
    return f"{lead}{mark}{core}{mark}{trail}"


def _url(url: str) -> str:
    return quote(url, safe="/:?#=&%+,;@!$*~.-_")


def span(sp: Span) -> str:
    e = md_escape(sp.text)
    if sp.kind in ("strong", "term"):  # a term's definition is in the definitions section
        return _wrap(e, "**")
    if sp.kind == "muted" or (sp.kind == "ids" and sp.arg == "muted"):
        return _wrap(e, "*")
    if sp.kind == "link" and (url := safe_url(sp.arg)):
        return f"[{e}]({_url(url)})"
    if sp.kind == "local" and (href := local_href(sp.arg)) and not href.startswith("#"):
        return f"[{e}]({_url(href)})"  # a file beside the report; anchors of the HTML page read as text
    if sp.kind in ("shift", "range"):  # drawn in HTML only: the numbers beside it say it
        return ""
    return {"quote": f"“{e}”", "br": "<br>", "badge": f"_{e}_"}.get(sp.kind, e)


def cell(c: Iterable[Span], *, inline: bool = False) -> str:
    out = "".join(span(x) for x in c)
    return out.replace("<br>", " · ") if inline else out


def block(b: Block, figure_files: Mapping[str, str]) -> str:
    if isinstance(b, doc.Heading):
        return "#" * b.level + " " + cell(b.cell, inline=True)
    if isinstance(b, doc.Para):
        return cell(b.cell, inline=True)
    if isinstance(b, doc.Warn):
        return "> ⚠️ " + cell(b.cell, inline=True)
    if isinstance(b, doc.Items):
        return "\n".join(f"- {cell(i, inline=True)}" for i in b.items)
    if isinstance(b, doc.Table):
        lines = ["| " + " | ".join(md_escape(h) for h in b.headers) + " |",
                 "|" + "|".join("---:" if b.align[j:j + 1] == "r" else "---" for j in range(len(b.headers))) + "|"]
        lines += ["| " + " | ".join((_wrap(cell(c), "**") if j == b.mark else cell(c)) or " "
                                    for j, c in enumerate(r)) + " |" for r in b.rows]
        return "\n".join(lines)
    if isinstance(b, doc.Figure):
        path = figure_files.get(b.name)
        return f"![{md_escape(b.caption)}]({_url(str(path))})\n\n*{md_escape(b.caption)}*" if path else ""
    if isinstance(b, doc.Panel):
        w = b.summary
        return (md_escape(f"Hypothetical evidence (a new poll, an episode, a judgement about one cell) can be "
                          f"tried in report.html's interactive panel, which reweights {s(w.get('draws'))} of "
                          f"the {s(w.get('of_draws'))} posterior draws and saves nothing; the same numbers "
                          "from the command line:") + f" `{s(w.get('command')).replace('`', "'")}`")
    if isinstance(b, doc.Box):  # a box's parts (boxes inside it) each under a bold title
        parts = []
        for y in b.blocks:
            if isinstance(y, doc.Box):
                inner = "\n\n".join(x for x in (block(z, figure_files) for z in y.blocks) if x)
                parts.append(f"**{md_escape(y.title)}**\n\n{inner}")
            else:
                parts.append(block(y, figure_files))
        body = "\n\n".join(x for x in parts if x)
        return f"## {md_escape(b.title)}\n\n{body}" if b.title else body
    if isinstance(b, doc.Fold):
        inner = "\n\n".join(x for x in (block(y, figure_files) for y in b.blocks) if x)
        return f"**{md_escape(b.summary)}**\n\n{inner}"
    if isinstance(b, doc.Nav):
        lines = []
        for title, items in b.groups:
            shown = [c for c in (cell(i, inline=True) for i in items) if c and "](" in c]
            if shown:
                lines.append(f"**{md_escape(title)}** " + " · ".join(shown))
        return "\n\n".join(lines)
    if isinstance(b, doc.Fields):
        head = f"## {md_escape(b.title)}\n\n" if b.title else ""
        return head + "\n".join(f"- **{md_escape(k)}**: {cell(v, inline=True)}" for k, v in b.items)
    raise TypeError(f"not a block: {b!r}")


def render_md(sections: list[Section], figure_files: Mapping[str, str]) -> str:
    """The page as Markdown: blocks separated by a blank line (a folded section is shown whole)."""
    out = (block(b, figure_files) for sec in sections for b in sec.blocks)
    return "\n\n".join(x for x in out if x) + "\n"
