"""Blocks to one self-contained HTML page.

Escaping happens in one place: ``esc`` (``html.escape`` with quotes) on every text from data; links only for http(s)
URLs. The page shell (``templates/page.html``), its stylesheet (``templates/report.css``) and the What if panel's
frame (``templates/whatif.html``) are Jinja templates with autoescape on: a user restyles a report by editing them
(or, with ``templates=``, a folder of files that replace them by name) without touching Python. Values reach a
template escaped; only the stylesheet, the panel's JSON data and its script go in as checked markup.

No external URL except the links to sources the reader may click. The one script is the "What if ...?"
panel's (``whatif_core.js`` then ``whatif.js``, inlined as one and allowed by its hash in the page's
Content-Security-Policy, which forbids every fetch); its data is a JSON block (``<`` ``>`` ``&`` escaped) and
every text it shows goes in as ``textContent``.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
from collections.abc import Iterable, Mapping
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import Any, NamedTuple

from markupsafe import Markup

from forecast.outputs.render import document as doc
from forecast.outputs.render.document import BADGES, Block, Section, Span, local_href, safe_url
from forecast.outputs.render.format import DASH, num, s

_WRAP = {"strong": "<strong>{}</strong>", "code": "<code>{}</code>", "muted": '<span class="muted">{}</span>',
         "quote": "<q>{}</q>"}
_TD_CLASS = {"r": ' class="num"', "n": ' class="nw"', "w": ' class="wide"'}


def esc(x: Any) -> str:
    """Text from data, escaped for HTML text and attributes (the one escaping function of the page)."""
    return html.escape(s(x), quote=True)


def _safe(text: str) -> Markup:
    """Markup a template inserts as is: only text built by this module from escaped parts, or checked files."""
    return Markup(text)  # noqa: S704 - every caller passes escaped or checked text


# ---------------------------------------------------------------------- spans and blocks
def span(sp: Span) -> str:
    e = esc(sp.text)
    if sp.kind in _WRAP:
        return _WRAP[sp.kind].format(e)
    if sp.kind == "ids":  # snake_case identifiers: allow line breaks after underscores
        e = e.replace("_", "_<wbr>")
        return _WRAP["muted"].format(e) if sp.arg == "muted" else e
    if sp.kind == "br":
        return "<br>"
    if sp.kind == "link":
        url = safe_url(sp.arg)
        if url is None:
            return e
        href = esc(url)
        return f'<a href="{href}" title="{href}" rel="noopener noreferrer">{e}</a>'
    if sp.kind == "local":
        href = local_href(sp.arg)
        return e if href is None else f'<a href="{esc(href)}">{e}</a>'
    if sp.kind == "term":  # a label whose definition opens on a tap or click (no script)
        if not sp.arg:
            return e
        return f'<details class="term"><summary>{e}</summary><span class="def">{esc(sp.arg)}</span></details>'
    if sp.kind == "bar":
        frac = min(1.0, max(0.0, num(sp.arg) or 0.0))
        return (f'<span class="bar"><b>{e}</b><span class="track" aria-hidden="true">'
                f'<span class="fill" style="width:{frac * 100:.1f}%"></span></span></span>')
    if sp.kind == "shift":  # a signed part of the table's largest: a bar from the centre line, left for a fall
        frac = min(1.0, max(-1.0, num(sp.arg) or 0.0))
        way = "up" if frac >= 0 else "down"
        return (f'<span class="shift" aria-hidden="true"><span class="fill {way}" '
                f'style="width:{abs(frac) * 50:.1f}%"></span></span>')
    if sp.kind == "range":
        return _range(sp.arg)
    if sp.kind == "badge":
        return f'<span class="badge {sp.arg if sp.arg in BADGES else "muted"}">{e}</span>'
    return e


def _range(arg: str) -> str:
    """A ``range`` span (``document.range_arg``): the interval (thin), the middle part (thick) and the dot on a 0-100%
    bar, positioned in percent of its width; a part that is missing is not drawn (an interval without both ends:
    nothing)."""
    tone, *rest = (arg.split() + ["-"] * 6)[:6]
    lo, hi, q1, q3, dot = ((min(1.0, max(0.0, v)) if (v := num(x)) is not None else None) for x in rest)
    if lo is None or hi is None:
        return ""
    tone = tone if tone in doc.RANGE_TONES else doc.RANGE_TONES[0]

    def piece(kind: str, a: float, b: float) -> str:
        return f'<span class="{kind}" style="left:{a * 100:.1f}%;width:{max(b - a, 0.0) * 100:.1f}%"></span>'

    parts = [piece("hdi", lo, hi)]
    if q1 is not None and q3 is not None:
        parts.append(piece("mid", q1, q3))
    if dot is not None:
        parts.append(f'<span class="dot" style="left:{dot * 100:.1f}%"></span>')
    return f'<span class="range {tone}" aria-hidden="true">{"".join(parts)}</span>'


def cell(c: Iterable[Span]) -> str:
    return "".join(span(x) for x in c)


STACK_COLUMNS = 4  # a table of more columns than this (or of ranges) is stacked into one card per row on a phone
# ColorBrewer's sequential "Blues" (9 classes), the colour map of the report's figures: a heat cell's background is
# interpolated along it, white for 0 and darkest blue for 1
HEAT = ("#f7fbff", "#deebf7", "#c6dbef", "#9ecae1", "#6baed6", "#4292c6", "#2171b5", "#08519c", "#08306b")
INK = ("#000000", "#ffffff")  # a heat cell's text: whichever contrasts more with its background


def _luminance(rgb: tuple[float, float, float]) -> float:
    """WCAG 2's relative luminance of an sRGB colour (channels 0-255)."""
    lin = [c / 255 / 12.92 if c / 255 <= 0.04045 else ((c / 255 + 0.055) / 1.055) ** 2.4 for c in rgb]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def _rgb(hex_colour: str) -> tuple[int, int, int]:
    return int(hex_colour[1:3], 16), int(hex_colour[3:5], 16), int(hex_colour[5:7], 16)


def contrast(a: str, b: str) -> float:
    """WCAG 2's contrast ratio of two colours (1 to 21)."""
    hi, lo = sorted((_luminance(_rgb(a)), _luminance(_rgb(b))), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def heat_colours(frac: float) -> tuple[str, str]:
    """A heat cell's background for a fraction (clipped to 0-1: ``HEAT`` interpolated) and its text colour (the one of
    ``INK`` with the higher contrast against it)."""
    x = min(1.0, max(0.0, frac)) * (len(HEAT) - 1)
    i = min(int(x), len(HEAT) - 2)
    lo, hi = _rgb(HEAT[i]), _rgb(HEAT[i + 1])
    bg = "#" + "".join(f"{round(a + (b - a) * (x - i)):02x}" for a, b in zip(lo, hi, strict=True))
    return bg, max(INK, key=lambda ink: contrast(bg, ink))


def _holds(t: doc.Table, kind: str) -> bool:
    """Whether a cell of the table holds a span of ``kind``."""
    return any(sp.kind == kind for r in t.rows for c in r for sp in c)


def _table(t: doc.Table) -> str:
    def th(j: int, h: str) -> str:
        classes = [c for c, on in (("num", t.align[j:j + 1] == "r"), ("mark", j == t.mark)) if on]
        return f"<th{_classes(classes)}>{esc(h)}</th>"

    head = "".join(th(j, h) for j, h in enumerate(t.headers))
    labels = [esc(h) for h in t.headers]
    body = "".join("<tr>" + "".join(_td(t.align[j:j + 1], labels[j] if j < len(labels) else "", c, j == t.mark)
                                    for j, c in enumerate(r)) + "</tr>" for r in t.rows)
    grid = _holds(t, "heat")
    ranged = _holds(t, "range")  # a phone shows its ranges full width
    classes = [c for c, on in (("narrow", t.align.endswith("*")), ("heat", grid), ("ranges", ranged),
                               ("stack", (len(t.headers) > STACK_COLUMNS or ranged) and not grid)) if on]
    return (f'<div class="table-wrap"><table{_classes(classes)}><thead><tr>{head}</tr></thead>'
            f"<tbody>{body}</tbody></table></div>")


def _classes(classes: list[str]) -> str:
    return f' class="{" ".join(classes)}"' if classes else ""


def _td(align: str, label: str, c: doc.Cell, mark: bool = False) -> str:
    """A cell with its column's name (a stacked table shows it before the value); a cell that is only a dash is
    marked empty (a stacked table leaves it out); a heat cell is shaded by its fraction; ``mark``: in the column set
    apart."""
    classes = [x for x in (_TD_CLASS.get(align, "").split('"')[1:2] or [""]) if x]
    if all(sp.kind == "text" and sp.text.strip() in ("", DASH) for sp in c):
        classes.append("empty")
    if mark:
        classes.append("mark")
    style = ""
    heat = [sp for sp in c if sp.kind == "heat"]
    if heat:
        frac = num(heat[0].arg)
        if frac is not None:
            classes.append("heat")
            bg, ink = heat_colours(frac)
            style = f' style="background:{bg};color:{ink}"'
    return f'<td{_classes(classes)}{style} data-label="{label}">{cell(c)}</td>'


def _box(b: doc.Box, page: Page, nested: bool = False) -> str:
    """A box; the boxes inside it are its parts (a grid of columns on a wide screen, one column on a phone)."""
    kind = "".join(c for c in b.kind if c.isalnum() or c == "-")
    inner = "\n".join(x for x in (_box(y, page, True) if isinstance(y, doc.Box) else block(y, page)
                                  for y in b.blocks) if x)
    if nested:
        return f'<div class="part part-{kind}"><h3>{esc(b.title)}</h3>{inner}</div>'
    return f'<div class="box box-{kind}"><h2>{esc(b.title)}</h2><div class="parts">{inner}</div></div>'


def _nav(n: doc.Nav) -> str:
    groups = "".join(f'<p><strong>{esc(title)}</strong> ' + " · ".join(cell(c) for c in items) + "</p>"
                     for title, items in n.groups if items)
    return f'<nav class="toc" aria-label="Contents">{groups}</nav>' if groups else ""


def _figure(f: doc.Figure, figures: Mapping[str, bytes]) -> str:
    png = figures.get(f.name)
    if not isinstance(png, bytes | bytearray) or not png:
        return ""
    b64 = base64.b64encode(bytes(png)).decode("ascii")
    cap = esc(f.caption)
    return (f'<figure><img src="data:image/png;base64,{b64}" alt="{cap}" loading="eager">'
            f"<figcaption>{cap}</figcaption></figure>")


def _fields(f: doc.Fields) -> str:
    items = "".join(f"<dt>{esc(k)}</dt><dd>{cell(v)}</dd>" for k, v in f.items)
    head = f"<h2>{esc(f.title)}</h2>" if f.title else ""
    return f"<footer>{head}<dl>{items}</dl></footer>"


class Page(NamedTuple):
    """What the page needs besides the blocks: the figures by stem, the panel's data, the template folder."""

    figures: Mapping[str, bytes]
    whatif: Mapping[str, Any] | None = None
    templates: Path | None = None


def block(b: Block, page: Page) -> str:
    if isinstance(b, doc.Heading):
        return f"<h{b.level}>{cell(b.cell)}</h{b.level}>"
    if isinstance(b, doc.Para):
        return f"<p>{cell(b.cell)}</p>"
    if isinstance(b, doc.Warn):
        if b.level == "caution":
            return f'<div class="caution" role="note">{cell(b.cell)}</div>'
        return f'<div class="warn" role="alert">{cell(b.cell)}</div>'
    if isinstance(b, doc.Items):
        return '<ul class="plain">' + "".join(f"<li>{cell(i)}</li>" for i in b.items) + "</ul>"
    if isinstance(b, doc.Table):
        return _table(b)
    if isinstance(b, doc.Figure):
        return _figure(b, page.figures)
    if isinstance(b, doc.Fields):
        return _fields(b)
    if isinstance(b, doc.Panel):
        return _panel(b.summary, page)
    if isinstance(b, doc.Box):
        return _box(b, page)
    if isinstance(b, doc.Nav):
        return _nav(b)
    if isinstance(b, doc.Fold):
        inner = "\n".join(x for x in (block(y, page) for y in b.blocks) if x)
        return f'<details class="more"><summary>{esc(b.summary)}</summary>{inner}</details>'
    raise TypeError(f"not a block: {b!r}")


# ---------------------------------------------------------------------- the What if panel
WHATIF_JS = ("whatif_core.js", "whatif.js")  # the numeric core, then the panel (package data): one inline script


@cache
def whatif_script() -> str:
    """The panel's JavaScript: forecast/outputs/whatif_core.js (the numbers) then whatif.js (the DOM)."""
    parts = []
    for name in WHATIF_JS:
        js = files("forecast.outputs").joinpath(name).read_text(encoding="utf-8")
        if "</script" in js.lower() or "<!--" in js:
            raise ValueError(f"{name} must not contain '</script' or '<!--' (it is inlined into report.html)")
        parts.append(js)
    return "\n".join(parts)


def json_for_script(obj: Any) -> str:
    """JSON safe inside a ``<script type="application/json">`` block: ASCII only, ``<`` ``>`` ``&`` escaped, so
    no text from the data can end the block or open a comment."""
    text = json.dumps(obj, ensure_ascii=True, separators=(",", ":"), allow_nan=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _panel(summary: Mapping[str, Any], page: Page) -> str:
    """The panel: the labels and the explanation from the template (escaped), the controls built by whatif.js."""
    data = None if page.whatif is None else _safe(json_for_script(page.whatif))
    script = None if page.whatif is None else _safe(whatif_script())
    return _env(page.templates).get_template("whatif.html").render(
        draws=_safe(esc(summary.get("draws"))), of_draws=_safe(esc(summary.get("of_draws"))),
        command=_safe(esc(summary.get("command"))),
        payload=data, script=script).rstrip("\n")


def csp(script: bool) -> str:
    """The page's Content-Security-Policy: nothing fetched; the panel's inline script allowed by its hash only."""
    policy = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"
    if script:
        digest = base64.b64encode(hashlib.sha256(whatif_script().encode("utf-8")).digest()).decode("ascii")
        policy += f"; script-src 'sha256-{digest}'"
    return policy


# ---------------------------------------------------------------------- the page
@cache
def _env(templates: Path | None):
    import jinja2

    shipped = jinja2.PackageLoader("forecast.outputs.render", "templates")
    loader = shipped if templates is None else jinja2.ChoiceLoader([jinja2.FileSystemLoader(str(templates)), shipped])
    return jinja2.Environment(loader=loader, autoescape=True, keep_trailing_newline=True,
                              undefined=jinja2.StrictUndefined)


def stylesheet(templates: Path | None = None) -> str:
    """The report's CSS (``report.css`` from ``templates``, else the shipped one), checked to stay inside <style>."""
    env = _env(templates)
    css, _, _ = env.loader.get_source(env, "report.css")
    if "</style" in css.lower() or "<!--" in css:
        raise ValueError("report.css must not contain '</style' or '<!--' (it is inlined into the page)")
    return css


class _Rendered(NamedTuple):
    id: str
    fold: bool
    summary: Markup
    body: Markup


def _section(sec: Section, page: Page) -> _Rendered | None:
    blocks = list(sec.blocks)
    summary = ""
    if sec.fold and blocks and isinstance(blocks[0], doc.Heading):  # a folded section's heading is its summary line
        summary = cell(blocks.pop(0).cell)
    body = "\n".join(x for x in (block(b, page) for b in blocks) if x)
    if not body and not summary:
        return None
    return _Rendered(sec.id, sec.fold, _safe(summary), _safe(body))


def render_page(title: Any, sections: list[Section], page: Page) -> str:
    """One self-contained HTML page: inline CSS, figures as data: URIs, no external resources."""
    rendered = [r for r in (_section(x, page) for x in sections) if r is not None]
    script = page.whatif is not None and any(isinstance(b, doc.Panel) for x in sections for b in x.blocks)
    return _env(page.templates).get_template("page.html").render(
        csp=_safe(csp(script)), title=_safe(esc(title)), css=_safe(stylesheet(page.templates)), sections=rendered)
