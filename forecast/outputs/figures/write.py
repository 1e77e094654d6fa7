"""The one writer: a matplotlib figure to PNG bytes (for the page) and SVG bytes (vector, legible at any width).

Both are deterministic (no timestamps or software versions in the files, SVG ids salted by a constant) and both are
cut to the drawing: its tight bounding box, laid out once for both. The PNG is quantized to a 256-colour palette:
flat plots lose nothing and the files shrink about threefold; the quantizer reads the rendered pixels directly (no
full-colour PNG is encoded and decoded again on the way: the same file, in 60% of the time). The figure is closed
after writing.
"""

from __future__ import annotations

import io

import numpy as np
from matplotlib.figure import Figure

from forecast.outputs.figures.style import DPI, plt, style

PAD = 0.08  # inches around the drawing
SVG_EXT = ".svg"  # a figure's vector file is stored beside its PNG under "<stem>.svg"


def _tight(fig: Figure):
    """The figure's tight bounding box (inches) padded as ``bbox_inches="tight"`` pads it: one layout pass, shared by
    the PNG and the SVG (each save with ``"tight"`` lays the figure out again: a third of an SVG's time)."""
    with style():
        fig.draw_without_rendering()
        return fig.get_tightbbox().padded(PAD)


def _rgba(fig: Figure, bbox) -> tuple[bytes, tuple[int, int]] | None:
    """The RGBA pixels Agg renders of ``fig`` cut to ``bbox`` (what a PNG save would encode) and their size, or None
    when their size is not the one a canvas of the box has (then the PNG is saved and decoded instead)."""
    buf = io.BytesIO()
    with style():
        fig.savefig(buf, format="rgba", dpi=DPI, bbox_inches=bbox, pad_inches=PAD)
    # Agg's canvas is the box in pixels, each side truncated (backend_agg.RendererAgg)
    size = int(bbox.width * DPI), int(bbox.height * DPI)
    raw = buf.getvalue()
    return (raw, size) if len(raw) == 4 * size[0] * size[1] else None


def _save(fig: Figure, fmt: str, bbox=None) -> bytes:
    """``fmt`` bytes of ``fig`` cut to ``bbox`` (default: its tight box). The PNG goes to ``_quantize`` and only its
    pixels matter: it is written uncompressed (the same pixels, without zlib's time)."""
    buf = io.BytesIO()
    meta = {"Software": None} if fmt == "png" else {"Date": None, "Creator": None}
    extra = {"pil_kwargs": {"compress_level": 0}} if fmt == "png" else {}
    with style():
        fig.savefig(buf, format=fmt, dpi=DPI, bbox_inches=bbox if bbox is not None else _tight(fig),
                    pad_inches=PAD, metadata=meta, **extra)
    return buf.getvalue()


def _quantize(png: bytes | None = None, rgba: tuple[bytes, tuple[int, int]] | None = None) -> bytes:
    """The 256-colour PNG of a full-colour PNG, or of RGBA pixels and their size (the same pixels: the same file)."""
    from PIL import Image

    im = (Image.frombuffer("RGBA", rgba[1], rgba[0], "raw", "RGBA", 0, 1) if rgba is not None
          else Image.open(io.BytesIO(png))).convert("RGB")
    pal = im.quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    out = io.BytesIO()
    pal.save(out, format="PNG", compress_level=6)
    return out.getvalue()


def png(fig: Figure) -> bytes:
    """PNG bytes of ``fig`` (then closed)."""
    try:
        bbox = _tight(fig)
        rgba = _rgba(fig, bbox)
        return _quantize(rgba=rgba) if rgba is not None else _quantize(_save(fig, "png", bbox))
    finally:
        plt.close(fig)


def files(stem: str, fig: Figure, *, vector: bool = True) -> dict[str, bytes]:
    """``{stem: PNG}`` and, with ``vector``, ``{stem + ".svg": SVG}`` of one figure (then closed)."""
    try:
        bbox = _tight(fig)
        rgba = _rgba(fig, bbox)
        out = {stem: _quantize(rgba=rgba) if rgba is not None else _quantize(_save(fig, "png", bbox))}
        if vector:
            out[stem + SVG_EXT] = _save(fig, "svg", bbox)
        return out
    finally:
        plt.close(fig)


def collection_figure(pc) -> Figure:
    """The matplotlib figure of an arviz-plots PlotCollection (to stamp and write like any other)."""
    fig = pc.viz["figure"]
    fig = fig.item() if hasattr(fig, "item") else fig
    if not isinstance(fig, Figure):
        raise TypeError(f"not a matplotlib figure: {type(fig).__name__}")
    return fig


def pixels(data: bytes) -> np.ndarray:
    """A PNG's pixels (rows, columns, channels): for tests and benchmarks that look at a figure."""
    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
