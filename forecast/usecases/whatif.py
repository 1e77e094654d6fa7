"""``forecast whatif``: hypothetical evidence, answered by reweighting the posterior's draws (the numbers of
report.html's "What if ...?" panel). Nothing is saved."""

from __future__ import annotations

from types import SimpleNamespace

from forecast.analysis import whatif as _whatif
from forecast.analysis.report_draws import command_line
from forecast.inputs import config as _config
from forecast.inputs.data import Inputs
from forecast.inputs.load import load_inputs
from forecast.model.fit import Fit, fit_config
from forecast.model.predict import predict

EXAMPLES = _whatif.EXAMPLES  # one example of each kind of item, as ``forecast whatif`` takes them


def parse_items(items: list) -> list:
    """``Poll``, ``Episode`` and ``Judgement`` items as given, and ``(kind, "name=value,...")`` pairs parsed (a
    bad one raises one line naming it)."""
    return [_whatif.parse_item(*it) if isinstance(it, tuple) else it for it in items]


def whatif(cfg, items: list, *, inputs: Inputs | None = None, fitted: Fit | None = None,
           overrides: list[str] | None = None, say=None) -> _whatif.Result:
    """Hypothetical evidence (``Poll``, ``Episode``, ``Judgement``, or ``(kind, "name=value,...")`` pairs as
    ``forecast whatif`` takes them): every response's mean and HDI before and after, from the same thinned draws
    as report.html's "What if ...?" panel (``report.whatif_draws``), the Pareto k and the effective sample size of
    the weights, and the commands that give the exact answer by a refit. Nothing is saved."""
    parsed = parse_items(items)
    inputs = inputs if inputs is not None else load_inputs(cfg)
    # action and response ids checked against the ontology before any fit (a typo costs no sampling); the
    # pollsters: those of the inputs, the posterior's own (checked again on the draws)
    ont = inputs.ontology
    pollsters = sorted({str(p) for p in inputs.polls["pollster"]}) if "pollster" in inputs.polls else []
    _whatif.check_items(parsed, SimpleNamespace(actions=list(ont.action_ids), responses=list(ont.response_ids),
                                                pollsters=pollsters, as_of=inputs.as_of), inputs)
    fitted = fitted if fitted is not None else fit_config(cfg, inputs, notify=say)
    name = cfg.scenario.name
    sc = _config.scenario_profiles(cfg, inputs.ontology)
    pred = predict(fitted.idata, inputs.ontology, inputs.hyper, sc)
    n = int(cfg.report.get("whatif_draws") or _whatif.DEFAULT_DRAWS)
    draws = _whatif.build_draws(cfg, inputs, fitted, sc[name], pred, n_draws=n, command=command_line(overrides))
    return _whatif.reweight(draws, parsed, inputs)
