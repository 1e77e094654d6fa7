"""``forecast whatif``: hypothetical evidence, answered by reweighting the posterior's draws (the numbers of
report.html's "What if ...?" panel). Nothing is saved.

Answered from the draws the scenario's last report kept (``forecast.analysis.whatif.kept``) when they are those the
full path would compute (numpy only: no pandas, xarray, scipy or PyMC is imported), else from the posterior as the
report does (inputs, the fit or its cache, predictions): the same answer."""

from __future__ import annotations

from types import SimpleNamespace
from typing import TYPE_CHECKING

from forecast.analysis.whatif.commands import command_line
from forecast.analysis.whatif.items import EXAMPLES, parse_item

if TYPE_CHECKING:
    from forecast.analysis.whatif.answer import Result
    from forecast.analysis.whatif.kept import Kept
    from forecast.inputs.data import Inputs
    from forecast.model.fit import Fit

# EXAMPLES: one example of each kind of item, as the command takes them
__all__ = ["EXAMPLES", "find_kept", "parse_items", "whatif"]


def parse_items(items: list) -> list:
    """``Poll``, ``Episode`` and ``Judgement`` items as given, and ``(kind, "name=value,...")`` pairs parsed (a
    bad one raises one line naming it)."""
    return [parse_item(*it) if isinstance(it, tuple) else it for it in items]


def whatif(cfg, items: list, *, inputs: Inputs | None = None, fitted: Fit | None = None,
           overrides: list[str] | None = None, say=None) -> Result:
    """Hypothetical evidence (``Poll``, ``Episode``, ``Judgement``, or ``(kind, "name=value,...")`` pairs as
    ``forecast whatif`` takes them): every response's mean and HDI before and after, from the same thinned draws
    as report.html's "What if ...?" panel (``report.whatif_draws``), the Pareto k and the effective sample size of
    the weights, and the commands that give the exact answer by a refit. Nothing is saved.

    Without ``inputs`` and ``fitted``, the draws the scenario's report kept answer when they are valid for ``cfg``
    (``Result.kept`` says whose); otherwise (``say`` hears why, in one line) the posterior does."""
    from forecast.analysis.whatif.answer import reweight

    parsed = parse_items(items)
    why = ""
    if inputs is None and fitted is None:
        found, why = find_kept(cfg, str(cfg.scenario.name))
        if found is not None:
            found.draws.command = command_line(overrides)
            res = reweight(found.draws, parsed, found.inputs)
            res.kept = found.said
            return res
    return reweight(*_from_posterior(cfg, parsed, inputs, fitted, overrides, say, why))


def find_kept(cfg, name: str) -> tuple[Kept | None, str]:
    """Scenario ``name``'s kept draws when they are those the full path would compute for ``cfg`` (the report's key
    without its published part and with its settings but ``publish``: a published run's draws answer a plain
    command; the same posterior files), else (None, why not)."""
    from forecast.analysis.whatif import kept
    from forecast.outputs.uptodate import ANSWER_PARTS, Keys, key_changes, posterior_moved

    keys = Keys(cfg, [name])
    if not keys.servable:
        return None, "the settings use interpolations (their value may change between runs)"
    cache = keys.paths["cache"]
    path = kept.kept_path(cache, name)
    if not path.is_file():
        return None, f"no draws kept by a report of {name} (make its report first)"
    try:
        meta, found = kept.load(path)
    except Exception as e:  # noqa: BLE001 - a damaged file (cut, bad zip, bad CRC, bad header, bad arrays) is a miss
        return None, f"{path} is damaged ({type(e).__name__}): it is made again with the report"
    why = key_changes(meta.get("key") or {}, keys.key(name, published=False), ANSWER_PARTS)
    if why is None:
        why = posterior_moved(meta.get("posterior") or {}, cache)
    if why is not None:
        return None, f"the draws kept by {name}'s report are stale: {why}"
    return found, ""


def _from_posterior(cfg, parsed: list, inputs, fitted, overrides, say, why: str = ""):
    """The full path: the inputs, the posterior (fitted or cached) and the scenario's predictions, thinned as the
    report's panel (``build_draws``): (Draws, items, inputs). ``why``: why no kept draws answered, said once the
    items passed the checks (a bad item is one line, with nothing before it)."""
    from forecast.analysis import whatif as _whatif
    from forecast.inputs import config as _config
    from forecast.inputs.load import load_inputs
    from forecast.model.fit import fit_config
    from forecast.model.predict import predict

    inputs = inputs if inputs is not None else load_inputs(cfg)
    # action and response ids checked against the ontology before any fit (a typo costs no sampling); the
    # pollsters: those of the inputs, the posterior's own (checked again on the draws)
    ont = inputs.ontology
    pollsters = sorted({str(p) for p in inputs.polls["pollster"]}) if "pollster" in inputs.polls else []
    _whatif.check_items(parsed, SimpleNamespace(actions=list(ont.action_ids), responses=list(ont.response_ids),
                                                pollsters=pollsters, as_of=inputs.as_of), inputs)
    if why and say is not None:
        say(f"{why}: answering from the posterior (the same answer, slower)")
    fitted = fitted if fitted is not None else fit_config(cfg, inputs, notify=say)
    name = cfg.scenario.name
    sc = _config.scenario_profiles(cfg, inputs.ontology)
    pred = predict(fitted.idata, inputs.ontology, inputs.hyper, sc)
    n = int(cfg.report.get("whatif_draws") or _whatif.DEFAULT_DRAWS)
    draws = _whatif.build_draws(cfg, inputs, fitted, sc[name], pred, n_draws=n, command=command_line(overrides))
    return draws, parsed, inputs
