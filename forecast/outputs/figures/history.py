"""The forecast history: a scenario's top responses as of each replay date, with evidence arrivals marked."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure


def numbered_arrivals(arrivals: Mapping[str, tuple[str, str] | list[str]]) -> list[tuple[int, str, str, str]]:
    """The evidence arrivals numbered as the history figure marks them and the report's table lists them: by the date
    each became known, then by id. (number, id, date known, summary)."""
    rows = sorted((str(v[0]), str(k), str(v[1]) if len(v) > 1 else "") for k, v in arrivals.items())
    return [(i, eid, date, summary) for i, (date, eid, summary) in enumerate(rows, start=1)]


def _numbers(ns: list[int]) -> str:
    """``[2, 3, 4]`` -> ``"2-4"``, ``[1, 3]`` -> ``"1,3"``: the numbers of one date's entries."""
    return f"{ns[0]}\u2013{ns[-1]}" if len(ns) > 2 and ns[-1] - ns[0] == len(ns) - 1 else ",".join(map(str, ns))


def history(replay_df: pd.DataFrame, arrivals: Mapping[str, tuple[str, str]], scenario: str,
            top_n: int = 4, published: pd.DataFrame | None = None,
            labels: Mapping[str, str] | None = None, title: str | None = None) -> Figure:
    """``replay_df``: the replay table (as_of, scenario, response, mean); ``arrivals``: evidence id -> (date known,
    summary); ``published``: the published briefs of the scenario (as_of, response, mean: forecast history rows),
    drawn as diamonds, so the history runs to the latest published brief; ``labels``: response labels; ``title``: the
    scenario's title (its name without one). Matplotlib
    is imported here, when a figure is drawn: ``history_png`` serves a kept one without it."""
    import pandas as pd

    from forecast.outputs.figures.style import stamp, style, subplots

    with style():
        df = replay_df[replay_df["scenario"] == scenario].copy()
        df["as_of"] = pd.to_datetime(df["as_of"])
        last = df[df["as_of"] == df["as_of"].max()].sort_values("mean", ascending=False)
        top = list(last["response"].head(top_n))
        fig, ax = subplots(figsize=(8, 3.6))
        pub = None
        if published is not None and len(published):
            pub = published.copy()
            pub["as_of"] = pd.to_datetime(pub["as_of"])
        for r in top:
            s = df[df["response"] == r].sort_values("as_of")
            name = (labels or {}).get(r) or r.replace("_", " ")
            line = ax.plot(s["as_of"], s["mean"], marker="o", label=name)[0]
            if pub is not None:
                p = pub[pub["response"] == r].sort_values("as_of")
                if len(p):
                    xs = [s["as_of"].iloc[-1], *p["as_of"]]
                    ys = [s["mean"].iloc[-1], *p["mean"]]
                    ax.plot(xs, ys, ls=":", color=line.get_color(), marker="D", markevery=list(range(1, len(xs))))
        # each date an entry became known: a dashed line, numbered above the plot as the report's table numbers the
        # entries (ids written on the plot overprinted each other at nearby dates and crossed the lines); labels
        # of dates close together are staggered in rows
        lo, hi = df["as_of"].min(), df["as_of"].max()
        by_date: dict[pd.Timestamp, list[int]] = {}
        for n, _, date, _ in numbered_arrivals(arrivals):
            x = pd.Timestamp(date)
            if lo <= x <= hi:
                by_date.setdefault(x, []).append(n)
        from matplotlib.dates import date2num

        for x in by_date:
            ax.axvline(x, color="0.6", lw=0.8, ls="--")
        left, right = ax.get_xlim()  # the axis as drawn (the published briefs may run it on for months)
        last_in_row: list[float] = []
        for x, ns in sorted(by_date.items()):
            at = (date2num(x) - left) / max(right - left, 1e-9)  # where the label sits, as a fraction of the width
            row = next((i for i, prev in enumerate(last_in_row) if at - prev >= 0.03), len(last_in_row))
            last_in_row[row:row + 1] = [at]
            ax.annotate(_numbers(ns), (x, 1.0), xycoords=("data", "axes fraction"), fontsize=7, va="bottom",
                        ha="center", color="0.3", xytext=(0, 2 + 9 * row), textcoords="offset points")
        ax.set_ylim(0, 1)
        ax.set_ylabel("P(response)")
        ax.set_title(f"{title or scenario}\nits top responses as each piece of evidence arrived", fontsize=10,
                     pad=8 + 9 * max(len(last_in_row), 1))
        ax.legend(fontsize=7, loc="lower left")
        fig.autofmt_xdate()
        stamp(fig, "forecast history --replay (posterior means; dashed, numbered: evidence; diamonds: "
                   "published briefs, reports/history.csv)", __name__)
    return fig


def history_key(replay_df: pd.DataFrame, scenario: str, published: pd.DataFrame | None = None,
                labels: Mapping[str, str] | None = None, title: str | None = None) -> str:
    """The memo key of the history figure (``forecast.memo``): the replay's rows, its evidence arrivals, the
    published briefs (their dates and means), the scenario and its title, the labels, the figure code and
    matplotlib's version."""
    from forecast import memo
    from forecast.outputs.figures import code_key

    arrivals = replay_df.attrs.get("arrivals", {})
    # what the figure draws of the published briefs: not when each was published (a report with nothing new
    # publishes the same numbers again, and its figure must not be redrawn for a new time stamp)
    pub = None if published is None else published[["as_of", "response", "mean"]].to_csv(index=False)
    return memo.digest("history", *code_key(__name__), scenario, replay_df.to_csv(index=False), arrivals, pub,
                       dict(labels or {}), title)


def files(replay_df: pd.DataFrame, scenario: str, published: pd.DataFrame | None = None,
          labels: Mapping[str, str] | None = None, title: str | None = None) -> dict[str, bytes]:
    """The history figure drawn: ``{"history": PNG bytes}``."""
    from forecast.outputs.figures import write

    arrivals = replay_df.attrs.get("arrivals", {})
    return {"history": write.png(history(replay_df, arrivals, scenario, published=published, labels=labels,
                                         title=title))}


def history_png(replay_df: pd.DataFrame, scenario: str, cache: Path | None = None,
                published: pd.DataFrame | None = None, labels: Mapping[str, str] | None = None,
                title: str | None = None) -> bytes:
    """The history figure of ``scenario`` as PNG bytes, kept under ``history_key`` (``forecast.memo``)."""
    from forecast import memo

    key = history_key(replay_df, scenario, published, labels, title)
    hit = memo.get_pngs(cache, "history", key)
    if hit is not None and "history" in hit:
        return hit["history"]
    out = files(replay_df, scenario, published, labels, title)
    memo.put_pngs(cache, "history", key, out)
    return out["history"]
