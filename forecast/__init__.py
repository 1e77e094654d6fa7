"""forecast: Bayesian scenario forecasts of the Mexican government's responses to US actions.

The public API (everything the CLI does)::

    import forecast
    cfg = forecast.compose(["scenario=repeated_raids"])
    inputs = forecast.load_inputs(cfg)
    model = forecast.build_model(inputs)          # a pm.Model, pure
    fit = forecast.fit(cfg, inputs)               # cached by the inputs hash
    pred = forecast.predict_scenarios(cfg, inputs, fit)   # xarray, per scenario x response
    forecast.write_report(cfg, inputs, fit)       # reports/<...>/
    forecast.whatif(cfg, [forecast.Poll(share=0.85, n=1000)])   # hypothetical evidence: before -> after
    forecast.init("my-home")                      # a new project home (conf/, data/, reports/)
"""

from forecast.api import (  # noqa: E402
    Episode,
    Judgement,
    Poll,
    build_model,
    check,
    compose,
    fit,
    init,
    load_inputs,
    predict_scenarios,
    summarize,
    whatif,
    write_report,
)
from forecast.errors import ConfigError, DiagnosticsError, ForecastError, InputError  # noqa: E402
from forecast.version import __version__  # noqa: E402

__all__ = ["ConfigError", "DiagnosticsError", "Episode", "ForecastError", "InputError", "Judgement", "Poll",
           "__version__", "build_model", "check", "compose", "fit", "init", "load_inputs", "predict_scenarios",
           "summarize", "whatif", "write_report"]
