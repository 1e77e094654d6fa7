"""Every figure the tool draws, with one look and one writer.

Statistics first, drawing second: the analysis layer and the report data hold the numbers; a module here draws
them and nothing else. ``style`` (matplotlib's settings, colours, the footer naming the module that drew a figure),
``write`` (the one PNG and SVG writer), and one module per page: ``history`` (the replay's forecast history),
``analysts`` (the analysts' spread), ``checks`` (the checks page), ``sweep`` (a sweep's summary). A report's own
ranges, what moved and all scenarios side by side are drawn by its page (``forecast.outputs.render``).

Importing this package imports no matplotlib: a cached report, whose figures come from the derived-results memo,
never pays for it. ``code_key`` is the part of a memo key that changes when a figure's code does; ``kept`` keeps a
figure under a key of the numbers it draws. A figure to draw can be handed to drawing workers
(``forecast.parallel.Workers``, started with ``warm``): ``kept`` then returns a ``Later``, collected when the report's
folder is written, so the run goes on while the figures are drawn.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

_HERE = Path(__file__).resolve().parent
SHARED = ("style", "write")  # the modules every figure goes through


def code_key(module: str) -> list[bytes | str | None]:
    """A figure module's source, the shared modules' and matplotlib's version: what a memo key of that module's
    figures must hold besides their data (``module``: e.g. ``forecast.outputs.figures.history``)."""
    from forecast import memo

    names = [module.rsplit(".", 1)[-1], *SHARED]
    return [*(memo.source(_HERE / f"{n}.py") for n in names), memo.version("matplotlib")]


def kept(cache: Path | None, kind: str, module: str, data, *args: Any, workers=None) -> dict[str, bytes] | Later:
    """The figure files ``module.files(*args)`` draws ({stem: bytes}), kept under a key of the numbers they draw
    (``data``, JSON-able), the drawing module's code and matplotlib's version (``forecast.memo``): a report whose
    numbers did not move does not import matplotlib to draw them again. With ``workers``
    (``forecast.parallel.Workers``) a figure to draw is handed to them and a ``Later`` is returned."""
    from forecast import memo

    key = memo.digest(kind, *code_key(module), data)
    hit = memo.get_pngs(cache, kind, key)
    if hit is not None:
        return hit
    name = module.rsplit(".", 1)[-1]
    if workers is not None:
        return Later([workers.submit(f"drawing the {kind} figure", draw, name, *args)], cache, kind, key)
    out = draw(name, *args)
    memo.put_pngs(cache, kind, key, out)
    return dict(out)


def draw(module: str, *args: Any) -> dict[str, bytes]:
    """``forecast.outputs.figures.<module>.files(*args)``: a figure's files, drawn in the process that calls this (a
    drawing worker: matplotlib is imported there, not in the process that hands the figure over)."""
    import importlib

    return importlib.import_module(f"{__name__}.{module}").files(*args)


class Later:
    """Figure files being drawn by workers (``forecast.parallel.Pending`` results, merged in order), kept in the memo
    under ``key`` when collected (``get``)."""

    def __init__(self, pending: Sequence[Any], cache: Path | None, kind: str, key: str):
        self.pending, self.cache, self.kind, self.key = list(pending), cache, kind, key
        self._files: dict[str, bytes] | None = None

    def get(self) -> dict[str, bytes]:
        if self._files is None:
            from forecast import memo

            files: dict[str, bytes] = {}
            for p in self.pending:
                files |= p.get()  # a worker's error is raised here, naming the figure
            memo.put_pngs(self.cache, self.kind, self.key, files)
            self._files = files
        return dict(self._files)


def collect(parts: Sequence[dict[str, bytes] | Later]) -> dict[str, bytes]:
    """The figure files of ``parts`` (files, or figures being drawn: waited for), in order."""
    out: dict[str, bytes] = {}
    for part in parts:
        out |= part.get() if isinstance(part, Later) else part
    return out


def warm() -> None:
    """What a drawing worker loads before its first figure: matplotlib (Agg), Pillow's PNG writer, the figure modules,
    the font every figure uses, and pandas (the history figure's replay is a table): inherited when the worker is
    forked from a run that has loaded them, imported here when it is forked ahead of them (``drawing_workers``)."""
    import importlib

    import pandas  # noqa: F401

    for name in ("history", "analysts"):
        importlib.import_module(f"{__name__}.{name}")
    from matplotlib import font_manager
    from PIL import PngImagePlugin  # noqa: F401 - Pillow loads its formats on the first save otherwise

    font_manager.get_font(font_manager.findfont(font_manager.FontProperties()))


def drawing_workers():
    """Forked workers that draw figures (``forecast.parallel.Workers``, warmed by ``warm``): the pieces they are handed
    are module-level functions (``draw``) with arguments that pickle, so they can be forked before the run has read
    or imported anything (a plain run forks them first: ``forecast.api.draw_ahead``)."""
    from forecast.parallel import Workers

    return Workers(warm=warm)


def file_name(key: str) -> str:
    """A figure's file in a report folder: ``history`` -> ``history.png``, ``history.svg`` stays."""
    return key if key.endswith(".svg") else f"{key}.png"


def figure_files(figures: dict[str, bytes]) -> dict[str, str]:
    """The PNG file of each figure by stem, for the Markdown page's image links."""
    return {k: file_name(k) for k in figures if not k.endswith(".svg")}


def write_figures(folder: Path, figures: dict[str, bytes]) -> None:
    """Every figure's files into ``folder`` (the temporary folder of an atomic report write)."""
    for key, data in figures.items():
        (folder / file_name(key)).write_bytes(data)
