"""Have the article's claims earned their place? The published model against the same model without the
article's claims (the same record, polls and evidence), measured two ways:

1. Forward (the back-test): on the cells predicted since the claims entered the model (the published model as
   of the day before each episode used at least one claim), the per-cell difference of log and Brier scores,
   published minus without claims (positive: the claims made the forecasts worse), its mean and standard error
   over the cells. The cells of one episode are not independent and a handful of episodes cannot say how much
   they co-vary: the standard error then understates the uncertainty, and a few episodes show a direction,
   not a verdict. The report says so.
2. Leave one episode out (PSIS-LOO over episodes): the elpd of the published fit minus that of the fit without
   the claims, paired per episode with its standard error (Vehtari, Gelman & Gabry 2017). The claims postdate
   almost every episode, so this says whether the record agrees with them, not whether they forecast.

``sentence`` writes the one plain sentence every report shows.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

VERDICT_EPISODES = 10  # fewer episodes than this: a direction, not a verdict


def claims_date(claims: list) -> str | None:
    """The earliest date of the article's claims (ISO), None when none is dated."""
    dates = sorted(c.date_known for c in claims if getattr(c, "origin", "article") == "article" and c.date_known)
    return dates[0] if dates else None


def since_claims(cells: pd.DataFrame, with_col: str = "model", without_col: str = "no_claims") -> dict[str, Any]:
    """The back-test's cells predicted with at least one claim: scores with and without the claims and their
    per-cell difference (mean, SE over cells), the cells and episodes counted."""
    from forecast.analysis.checks.scores import EPS

    if cells is None or without_col not in cells or "claims_used" not in cells:
        return {"n_cells": 0, "n_episodes": 0}
    c = cells[cells["claims_used"] > 0]
    out: dict[str, Any] = {"n_cells": int(len(c)), "n_episodes": int(c["episode"].nunique()),
                           "episodes": sorted(map(str, c["episode"].unique()))}
    if not len(c):
        return out
    y = c["y"].to_numpy(dtype=float)

    def per_cell(p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        p = np.clip(np.asarray(p, dtype=float), EPS, 1 - EPS)
        return -(y * np.log(p) + (1 - y) * np.log1p(-p)), (p - y) ** 2

    lw, bw = per_cell(c[with_col].to_numpy())
    lo, bo = per_cell(c[without_col].to_numpy())
    n = len(c)

    def se(d: np.ndarray) -> float | None:
        return float(np.std(d, ddof=1) / np.sqrt(n)) if n > 1 else None

    dl, db = lw - lo, bw - bo
    out.update({"with_claims": {"log_score": float(lw.mean()), "brier": float(bw.mean())},
                "without_claims": {"log_score": float(lo.mean()), "brier": float(bo.mean())},
                "log_score_diff": float(dl.mean()), "log_score_diff_se": se(dl),
                "brier_diff": float(db.mean()), "brier_diff_se": se(db),
                "cells_worse": int((dl > 0).sum()), "cells_better": int((dl < 0).sum()),
                "first_as_of": str(c["as_of"].min()) if "as_of" in c else None})
    return out


def sentence(s: dict[str, Any], date: str | None) -> str:
    """One plain sentence: have the article's claims improved or worsened the forecasts of what happened since?"""
    when = f" ({date})" if date else ""
    if not s or not s.get("n_cells") or "log_score_diff" not in s:
        return (f"No coded episode has happened since the article's claims{when} entered the model, so nothing yet "
                "says whether they improve or worsen the forecasts.")
    d, se, ne, nc = s["log_score_diff"], s.get("log_score_diff_se"), s["n_episodes"], s["n_cells"]
    verb, side = ("worsened", "worse") if d > 0 else ("improved", "better")
    if d == 0:
        verb, side = "left unchanged", "as good as"
    se_txt = f", SE {se:.3f}" if se is not None else ""
    eps = f"{ne} episode{'s' if ne != 1 else ''}"
    caveat = []
    if se is not None and abs(d) < 2 * se:
        caveat.append("the difference is within two standard errors")
    if ne < VERDICT_EPISODES:
        caveat.append(f"{eps} show{'s' if ne == 1 else ''} a direction, not a verdict")
    tail = f"; {' and '.join(caveat)}" if caveat else ""
    return (f"Since the article{when} its claims have {verb} the forecasts of what happened: on the {nc} coded "
            f"cell{'s' if nc != 1 else ''} of {eps} since, the published model scores {abs(d):.3f} nats per cell "
            f"{side} than the same model without the claims (log score difference {d:+.3f}{se_txt}; Brier "
            f"{s['brier_diff']:+.3f}){tail}.")


def loo_comparison(with_claims: dict[str, Any], without: dict[str, Any]) -> dict[str, Any]:
    """PSIS-LOO elpd with minus without the claims, paired per episode (the episodes both score)."""
    from forecast.analysis.checks.loo import paired

    a = {p["episode"]: p["elpd_i"] for p in with_claims["per_episode"]}
    b = {p["episode"]: p["elpd_i"] for p in without["per_episode"]}
    ids = [e for e in a if e in b]
    out = paired([a[e] for e in ids], [b[e] for e in ids])
    d = {e: a[e] - b[e] for e in ids}
    worst = sorted(d, key=d.get)[:3]
    return {**out, "elpd_with": float(sum(a[e] for e in ids)), "elpd_without": float(sum(b[e] for e in ids)),
            "max_k_with": with_claims.get("max_k"), "max_k_without": without.get("max_k"),
            "episodes_worse_with_claims": int(sum(v < 0 for v in d.values())),
            "largest_losses": [{"episode": e, "elpd_diff": float(d[e])} for e in worst if d[e] < 0]}
