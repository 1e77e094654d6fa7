"""The maximum-entropy Beta with a given mass in a range: a what-if judgement's encoding.

The elicitation of a judgement is the one place that does not call PreliZ: the page cannot, and PreliZ's
optimiser (SLSQP, default tolerances) stops 1e-6 to 1e-3 (relative) short of the optimum, which no other
implementation reproduces. ``maxent_beta`` solves the same problem to machine precision by a deterministic
search the page (``outputs/whatif_core.js``) repeats step by step; ``forecast evidence add signal`` (the
refit) encodes with PreliZ, whose parameters differ by that optimiser tolerance (far below the Monte Carlo
error of the answer).
"""

from __future__ import annotations

import math

from forecast.errors import InputError

_GOLD = (math.sqrt(5.0) - 1.0) / 2.0
_LOG_CONC = (-4.0, 18.0)  # log(alpha + beta) searched in [-4, 18]
MAX_CONCENTRATION = 1e6  # alpha + beta: a claim's Beta parameters are at most 1e6 (forecast.inputs.priors._dist)


def _beta_mass(mu: float, s: float, lower: float, upper: float) -> float:
    from scipy.special import betainc

    k = math.exp(s)
    a, b = mu * k, (1.0 - mu) * k
    return float(betainc(a, b, upper)) - float(betainc(a, b, lower))


def _beta_entropy(a: float, b: float) -> float:
    from scipy.special import betaln, digamma

    return (float(betaln(a, b)) - (a - 1.0) * float(digamma(a)) - (b - 1.0) * float(digamma(b))
            + (a + b - 2.0) * float(digamma(a + b)))


def _concentration(mu: float, lower: float, upper: float, mass: float) -> float | None:
    """The smallest log concentration with ``mass`` in [lower, upper] at mean ``mu`` (bisection to the last bit)."""
    lo, hi = _LOG_CONC
    if _beta_mass(mu, hi, lower, upper) < mass:
        return None
    if _beta_mass(mu, lo, lower, upper) >= mass:
        return lo
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if mid <= lo or mid >= hi:
            break
        if _beta_mass(mu, mid, lower, upper) < mass:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


def _entropy_at(mu: float, lower: float, upper: float, mass: float) -> float:
    s = _concentration(mu, lower, upper, mass)
    if s is None:
        return -math.inf
    k = math.exp(s)
    return _beta_entropy(mu * k, (1.0 - mu) * k)


def maxent_beta(lower: float, upper: float, mass: float) -> tuple[float, float]:
    """The maximum-entropy Beta(alpha, beta) with ``mass`` in [lower, upper]: PreliZ's ``maxent`` problem solved
    to machine precision (golden-section search over the mean, bisection of the concentration that meets the
    mass exactly). forecast/outputs/whatif.js runs the same steps."""
    x0, x3 = lower, upper
    x1, x2 = x3 - _GOLD * (x3 - x0), x0 + _GOLD * (x3 - x0)
    f1, f2 = _entropy_at(x1, lower, upper, mass), _entropy_at(x2, lower, upper, mass)
    for _ in range(200):
        if x3 - x0 < 1e-12:
            break
        if f1 >= f2:
            x3, x2, f2 = x2, x1, f1
            x1 = x3 - _GOLD * (x3 - x0)
            f1 = _entropy_at(x1, lower, upper, mass)
        else:
            x0, x1, f1 = x1, x2, f2
            x2 = x0 + _GOLD * (x3 - x0)
            f2 = _entropy_at(x2, lower, upper, mass)
    mu = 0.5 * (x0 + x3)
    s = _concentration(mu, lower, upper, mass)
    if s is None:
        raise InputError(f"judgement range [{lower:g}, {upper:g}] with mass {mass:g}", "no Beta distribution "
                         "meets it", "widen the range or lower the mass")
    k = math.exp(s)
    if k > MAX_CONCENTRATION:
        raise InputError(f"judgement range [{lower:g}, {upper:g}] with mass {mass:g}", "too narrow (a Beta "
                         f"concentration above {MAX_CONCENTRATION:g})", "widen the range or lower the mass")
    return mu * k, (1.0 - mu) * k

