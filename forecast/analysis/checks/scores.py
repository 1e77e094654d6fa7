"""Proper scores for binary forecasts: log and Brier (scoringrules), the CORP reliability diagram's
bins and the Murphy decomposition of the Brier score (Dimitriadis, Gneiting & Jordan, PNAS 2021;
scoringrules' PAV implementation)."""

from __future__ import annotations

import numpy as np
import scoringrules as sr
from scoringrules.visualization.reliability import corp_reliability, corp_score_decomposition

EPS = 1e-6


def scores(y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    """Mean log score (negative log predictive probability, nats; lower is better) and mean Brier score."""
    y = np.asarray(y, dtype=float)
    p = np.clip(np.asarray(p, dtype=float), EPS, 1 - EPS)
    return {"log_score": float(np.mean(sr.log_score(y, p))), "brier": float(np.mean(sr.brier_score(y, p))),
            "n": int(len(y))}


def murphy(y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    """CORP decomposition of the mean Brier score: BS = MCB - DSC + UNC (miscalibration, discrimination
    (resolution), uncertainty), with the PAV-recalibrated probabilities as the reference."""
    x, yy, cep = corp_reliability(np.asarray(y, dtype=float), np.asarray(p, dtype=float))
    sc, sx, s_ref = corp_score_decomposition(x, yy, cep)
    return {"brier": float(sx), "miscalibration": float(sx - sc), "discrimination": float(s_ref - sc),
            "uncertainty": float(s_ref)}


def reliability_bins(y: np.ndarray, p: np.ndarray) -> list[dict[str, float]]:
    """The PAV blocks: forecasts sorted and pooled where the isotonic fit is flat. Per bin: the forecast
    range, the mean forecast, the observed frequency (conditional event probability) and the count."""
    x, yy, cep = corp_reliability(np.asarray(y, dtype=float), np.asarray(p, dtype=float))
    bins = []
    start = 0
    for i in range(1, len(x) + 1):
        if i == len(x) or not np.isclose(cep[i], cep[start]):
            sl = slice(start, i)
            bins.append({"p_low": float(x[sl].min()), "p_high": float(x[sl].max()),
                         "mean_forecast": float(x[sl].mean()),
                         "observed": float(cep[start]), "n": int(i - start)})
            start = i
    return bins


def spiegelhalter(y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    """Spiegelhalter's (1986) calibration test for binary forecasts: under calibration
    Z = sum (y - p)(1 - 2p) / sqrt(sum (1 - 2p)^2 p (1 - p)) is standard normal. Flagged at |Z| > 2.58."""
    from scipy.stats import norm

    y = np.asarray(y, dtype=float)
    p = np.clip(np.asarray(p, dtype=float), EPS, 1 - EPS)
    num = np.sum((y - p) * (1 - 2 * p))
    den = np.sqrt(np.sum((1 - 2 * p) ** 2 * p * (1 - p)))
    z = float(num / den) if den > 0 else 0.0
    return {"z": z, "p_value": float(2 * norm.sf(abs(z))), "calibrated": bool(abs(z) <= 2.58)}
