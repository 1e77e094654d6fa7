"""What if ...? Hypothetical evidence answered by reweighting a report's own posterior draws.

A hypothetical piece of evidence only reweights the posterior: p(params | data, e) ∝ p(params | data) p(e | params),
so each stored draw gets the weight p(e | params), Pareto-smoothed (``forecast.model.psis``). Three kinds:

- a **poll**: share opposed and sample size, by a pollster the posterior knows (its stored wording effect) or by a
  new pollster (its wording effect integrated out): ``forecast.model.terms.poll_loglik``;
- an **episode** of an action type with some coded responses (an executed response coded 1 implies its threat,
  as the evidence loader has it): ``forecast.model.terms.episode_loglik_eta``, its episode factor integrated
  out, at the current opinion (a new episode lies inside the poll window);
- an analyst's **judgement** about one cell, P(response | action) with a plausible range: the maximum-entropy Beta
  with ``mass`` in [lower, upper] (the encoding of analysts' judgements and of the evidence log's signals),
  entered as a signal at the current opinion: ``forecast.model.terms.cell_claim_loglik``.

The report's page (``report.html``'s "What if ...?" panel: ``forecast/outputs/whatif_core.js`` and
``whatif.js``) embeds exactly the arrays these functions compute from: ``Draws``, thinned to
``report.whatif_draws`` draws and stored as float32. ``answer`` computes in float64 from those float32 arrays,
so the page and ``forecast whatif`` agree to rounding (the browser test checks 1e-6; the page's numeric core
is pinned to these terms without a browser by tests/test_whatif_core.py). When the report's posterior is
itself a PSIS update, the stored draws are the cached base posterior's and ``base_log_ratio`` is the update's
own log ratio: the what-if adds to it and one PSIS smooths the sum.

Modules by job: ``items`` (the three kinds, parsed from text and checked against the posterior's names),
``beta`` (the maximum-entropy Beta solver: the one elicitation that does not call PreliZ, see its docstring),
``draws`` (the embedded draws and the page's payload), ``answer`` (the reweighting and its summaries),
``commands`` (the exact answer: evidence entries and the refit), ``kept`` (the draws a report run keeps for
``forecast whatif``, read back without the inputs or the posterior).

Nothing is imported with the package itself: each name comes from its module when first asked for (``forecast
whatif`` answered from the draws a report kept imports ``items``, ``answer``, ``commands``, ``draws`` and ``kept``:
numpy, no pandas, xarray, scipy or PyMC; a judgement's Beta needs scipy.special).
"""

from __future__ import annotations

from typing import Any

_FROM = {
    "answer": ("Result", "item_loglik", "reweight"),
    "beta": ("maxent_beta",),
    "commands": ("HYPOTHETICAL_SOURCE", "refit_commands"),
    "draws": ("ARRAYS", "DEFAULT_DRAWS", "PAYLOAD_VERSION", "Draws", "base_log_ratio", "build_draws", "constants",
              "from_payload", "payload", "payload_bytes", "summary", "thin_index"),
    "items": ("EXAMPLES", "KINDS", "MASS_RANGE", "NEW_POLLSTER", "Episode", "Item", "Judgement", "Poll",
              "check_items", "judgement_claim", "parse_item"),
}
_MODULE = {name: mod for mod, names in _FROM.items() for name in names}

__all__ = sorted(_MODULE)


def __getattr__(name: str) -> Any:
    """A name of the package, imported from its module when first asked for (then kept here)."""
    mod = _MODULE.get(name)
    if mod is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f"{__name__}.{mod}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
