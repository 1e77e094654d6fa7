"""Every figure the tool draws, with one look and one writer.

Statistics first, drawing second: the analysis layer and the report data hold the numbers; a module here draws
them and nothing else. ``style`` (matplotlib's settings, colours, the footer naming the module that drew a figure),
``write`` (the one PNG and SVG writer), and one module per page: ``report`` (forest, prior vs posterior, heatmap),
``changes`` (the waterfall of what moved), ``history`` (the replay's forecast history), ``analysts`` (the
analysts' spread), ``checks`` (the checks page), ``sweep`` (a sweep's summary).

Importing this package imports no matplotlib: a cached report, whose figures come from the derived-results memo,
never pays for it. ``code_key`` is the part of a memo key that changes when a figure's code does; ``kept`` keeps a
figure under a key of the numbers it draws.
"""

from __future__ import annotations

from pathlib import Path

_HERE = Path(__file__).resolve().parent
SHARED = ("style", "write")  # the modules every figure goes through


def code_key(module: str) -> list[bytes | str | None]:
    """A figure module's source, the shared modules' and matplotlib's version: what a memo key of that module's
    figures must hold besides their data (``module``: e.g. ``forecast.outputs.figures.report``)."""
    from forecast import memo

    names = [module.rsplit(".", 1)[-1], *SHARED]
    return [*(memo.source(_HERE / f"{n}.py") for n in names), memo.version("matplotlib")]


def kept(cache: Path | None, kind: str, module: str, data, draw) -> dict[str, bytes]:
    """The figure files ``draw()`` returns ({stem: bytes}), kept under a key of the numbers they draw (``data``,
    JSON-able), the drawing module's code and matplotlib's version (``forecast.memo``): a report whose numbers did
    not move does not import matplotlib to draw them again."""
    from forecast import memo

    key = memo.digest(kind, *code_key(module), data)
    hit = memo.get_pngs(cache, kind, key)
    if hit is not None:
        return hit
    out = draw()
    memo.put_pngs(cache, kind, key, out)
    return dict(out)


def file_name(key: str) -> str:
    """A figure's file in a report folder: ``forest`` -> ``forest.png``, ``forest.svg`` stays."""
    return key if key.endswith(".svg") else f"{key}.png"


def figure_files(figures: dict[str, bytes]) -> dict[str, str]:
    """The PNG file of each figure by stem, for the Markdown page's image links."""
    return {k: file_name(k) for k in figures if not k.endswith(".svg")}


def write_figures(folder: Path, figures: dict[str, bytes]) -> None:
    """Every figure's files into ``folder`` (the temporary folder of an atomic report write)."""
    for key, data in figures.items():
        (folder / file_name(key)).write_bytes(data)
