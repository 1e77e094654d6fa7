"""The document model every page is built from: sections of blocks, blocks of cells, cells of typed spans.

A section function turns report data into blocks; the HTML and Markdown writers turn blocks into text. Nothing
here escapes or formats for an output: a span's text is plain text from data, and each writer escapes it in one
place. Links are spans of kind ``link`` whose target is kept only if it is an absolute http(s) URL (``safe_url``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, NamedTuple
from urllib.parse import urlsplit

from forecast.outputs.render.format import fmt, num, s

_URL_RE = re.compile(r"https?://[^\s|<>\"'()\[\]{}]+[^\s|<>\"'()\[\]{}.,;:!?]", re.IGNORECASE)
BADGES = frozenset({"threat", "executed", "ok", "fail", "muted"})  # the CSS classes a badge may carry


class Span(NamedTuple):
    """A piece of inline text. ``kind``: text, strong, code, muted, quote, link, local, term, br, bar, shift, heat,
    range, badge, ids; ``arg``: a link's URL, a local link's relative target (``local_href``), a term's definition
    (HTML: opens on a tap or a click; Markdown: the glossary holds it), a bar's fraction, a shift's signed fraction of
    its table's largest (HTML: a bar left or right of a centre line; Markdown: nothing, the number beside it says it), a
    heat cell's fraction (HTML: the cell is shaded by it, darker for more; Markdown: the text alone), a range's
    ``range_arg`` (HTML: a probability's interval, middle half and dot on a 0-100% bar; Markdown: nothing, the numbers
    beside it say it), a badge's class (one of ``BADGES``), ``muted`` for muted ids."""

    kind: str
    text: str = ""
    arg: str = ""


Cell = list[Span]
RANGE_TONES = ("post", "prior")  # a range's colour: the forecast's (blue) or the article-only prior's (grey)


def range_arg(tone: str, lo: Any, hi: Any, dot: Any, q1: Any = None, q3: Any = None) -> str:
    """A ``range`` span's argument: its tone (one of ``RANGE_TONES``), the interval ``lo``-``hi``, the dot and the
    optional middle part ``q1``-``q3``, as fractions (a missing or non-finite one: ``-``, not drawn)."""
    parts = ("-" if (v := num(x)) is None else f"{v:.4f}" for x in (lo, hi, q1, q3, dot))
    return " ".join([tone if tone in RANGE_TONES else RANGE_TONES[0], *parts])


class Heading(NamedTuple):
    level: int  # 1: the page's title, 2: a section's
    cell: Cell


class Para(NamedTuple):
    cell: Cell


class Warn(NamedTuple):
    """A banner the reader must not miss: ``alert`` (failed diagnostics, claims applied before their date) or
    ``caution`` (stale evidence: the numbers stand, their news is old)."""

    cell: Cell
    level: str = "alert"


class Items(NamedTuple):
    """A bulleted list, one cell per item."""

    items: list[Cell]


class Table(NamedTuple):
    """``align``: a letter per column (l text, n text without wrapping, w wide text, r number); a trailing
    ``*`` makes the table only as wide as its content. ``mark``: a column set apart (outlined in HTML, its values in
    bold), -1 for none. A table of heat cells is a grid: it keeps its columns on a narrow screen (a table of more
    columns is otherwise stacked into a card per row)."""

    headers: list[str]
    rows: list[list[Cell]]
    align: str
    mark: int = -1


class Figure(NamedTuple):
    """A figure by its file stem (the writers look it up among the report's figures) and its caption."""

    name: str
    caption: str


class Fields(NamedTuple):
    """Labelled values under a title, set apart at the foot of the page (the provenance)."""

    title: str
    items: list[tuple[str, Cell]]


class Box(NamedTuple):
    """A set-apart box of blocks under a title (the bottom line): ``kind`` is its CSS hook (``box-<kind>``)."""

    kind: str
    title: str
    blocks: list


class Fold(NamedTuple):
    """Detail a reader may open (HTML: collapsed under its summary line; Markdown: shown whole after it)."""

    summary: str
    blocks: list


class Nav(NamedTuple):
    """Navigation: labelled groups of links (the contents, the other scenarios, the files)."""

    groups: list[tuple[str, list[Cell]]]


class Panel(NamedTuple):
    """The "What if ...?" panel: interactive in HTML, a pointer to the command in Markdown."""

    summary: Mapping[str, Any]


Block = Heading | Para | Warn | Items | Table | Figure | Fields | Panel | Box | Nav | Fold


class Section(NamedTuple):
    """A named run of blocks: the unit a page is assembled, navigated and folded by. ``id`` is stable (an anchor,
    a CSS hook); ``fold``: the HTML page shows the section collapsed until the reader opens it."""

    id: str
    blocks: list[Block]
    fold: bool = False


def T(x: Any) -> Span:  # noqa: N802 - tiny constructors read better capitalised
    return Span("text", s(x))


def H1(text: Any) -> Heading:  # noqa: N802
    return Heading(1, [T(text)])


def H2(text: Any) -> Heading:  # noqa: N802
    return Heading(2, [T(text)])


def P(*spans: Span) -> Para:  # noqa: N802
    return Para(list(spans))


def flatten(sections: list[Section]) -> list[Block]:
    return [b for sec in sections for b in sec.blocks]


def safe_url(url: Any) -> str | None:
    """The URL itself if it is an absolute http(s) URL with a host, else None."""
    if not isinstance(url, str):
        return None
    u = url.strip()
    if not u or any(ord(c) < 33 or c in "<>\"'`\\" for c in u):
        return None
    try:
        parts = urlsplit(u)
    except ValueError:
        return None
    return u if parts.scheme.lower() in ("http", "https") and parts.netloc else None


_LOCAL_RE = re.compile(r"(#[A-Za-z][A-Za-z0-9_-]*|(\.\./)*[A-Za-z0-9_][A-Za-z0-9_.-]*(/[A-Za-z0-9_][A-Za-z0-9_.-]*)*/?"
                       r"(#[A-Za-z][A-Za-z0-9_-]*)?)")


def local_href(target: Any) -> str | None:
    """A link inside the reports folder: ``#anchor`` or a relative path of plain names (``../checks/checks.html``),
    never a scheme, an absolute path or a name starting with a dot; None otherwise."""
    if not isinstance(target, str) or not _LOCAL_RE.fullmatch(target):
        return None
    parts = target.split("#", 1)[0].split("/")
    if any(p.startswith(".") and p != ".." for p in parts if p):
        return None
    return target


def _link_text(url: str) -> str:
    """A short readable name for a link: its host without ``www.`` (the full URL is the href and title)."""
    host = urlsplit(url).hostname or url
    return host.removeprefix("www.")


def linkify(text: Any) -> Cell:
    """Plain text with every http(s) URL in it turned into a link; everything else stays text."""
    txt = s(text)
    out: Cell = []
    pos = 0
    for m in _URL_RE.finditer(txt):
        if m.start() > pos:
            out.append(Span("text", txt[pos:m.start()]))
        url = m.group(0)
        out.append(Span("link", _link_text(url), url) if safe_url(url) else Span("text", url))
        pos = m.end()
    if pos < len(txt):
        out.append(Span("text", txt[pos:]))
    return out or [T("—")]


def sources_cell(sources: Any) -> Cell:
    """A list of sources (or one string of them separated by `` | ``), one per line, URLs as links."""
    parts = sources if isinstance(sources, list | tuple) else str(sources or "").split(" | ")
    cell: Cell = []
    for i, part in enumerate(p for p in parts if str(p).strip()):
        if i:
            cell.append(Span("br"))
        cell.extend(linkify(str(part).strip()))
    return cell or [T("—")]


def key_value_table(rows: Any, *, numeric_align: bool = False) -> Table | None:
    """A table of a list of flat mappings, one column per key in order of appearance (the changes tables).
    ``numeric_align``: a column is right-aligned when the first row's value is a number."""
    rows = [{str(k): v for k, v in r.items()} for r in rows or [] if isinstance(r, Mapping)]
    keys = list(dict.fromkeys(k for r in rows for k in r))
    if not rows:
        return None
    body = [[[T(fmt(r.get(k)))] for k in keys] for r in rows]
    if numeric_align:
        align = "".join("r" if isinstance(rows[0].get(k), int | float) and not isinstance(rows[0].get(k), bool)
                        else "l" for k in keys)
    else:
        align = "l" + "r" * (len(keys) - 1)
    return Table(keys, body, align + "*")
