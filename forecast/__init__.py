"""forecast: Bayesian scenario forecasts of the Mexican government's responses to US actions.

The public API (everything the CLI does)::

    import forecast
    cfg = forecast.compose(["scenario=repeated_raids"])
    inputs = forecast.load_inputs(cfg)
    model = forecast.build_model(inputs)          # a pm.Model, pure
    fit = forecast.fit(cfg, inputs)               # cached by the inputs hash
    pred = forecast.predict_scenarios(cfg, inputs, fit)   # xarray, per scenario x response
    forecast.write_report(cfg, inputs, fit)       # reports/<...>/
"""

from forecast.api import (  # noqa: E402
    build_model,
    check,
    compose,
    fit,
    load_inputs,
    predict_scenarios,
    summarize,
    write_report,
)
from forecast.errors import ConfigError, DiagnosticsError, ForecastError, InputError  # noqa: E402
from forecast.version import __version__  # noqa: E402

__all__ = ["ConfigError", "DiagnosticsError", "ForecastError", "InputError", "__version__", "build_model", "check",
           "compose", "fit", "load_inputs", "predict_scenarios", "summarize", "write_report"]
