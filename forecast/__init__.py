"""forecast: Bayesian scenario forecasts of the Mexican government's responses to US actions.

The public API (everything the CLI does; ``forecast.api``, use cases in ``forecast.usecases``)::

    import forecast
    cfg = forecast.compose(["scenario=repeated_raids"])
    inputs = forecast.load_inputs(cfg)
    model = forecast.build_model(inputs)          # a pm.Model, pure
    fit = forecast.fit(cfg, inputs)               # cached by the inputs hash
    pred = forecast.predict_scenarios(cfg, inputs, fit)   # xarray, per scenario x response
    forecast.write_report(cfg, inputs, fit)       # reports/<...>/: what was written, diagnostics included
    forecast.run(cfg)                             # `forecast ...`: fit, what moved, reports, history
    forecast.whatif(cfg, [forecast.Poll(share=0.85, n=1000)])   # hypothetical evidence: before -> after
    forecast.init("my-home")                      # a new project home (conf/, data/, reports/)

``import forecast`` imports no numerical library: each name of the API is imported the first time it is used
(``forecast.api``'s module ``__getattr__``), so a command pays only for what it runs.
"""

from forecast import api as _api
from forecast.errors import ConfigError, DiagnosticsError, ForecastError, InputError
from forecast.version import __version__

__all__ = ["ConfigError", "DiagnosticsError", "ForecastError", "InputError", "__version__", *_api.__all__]


def __getattr__(name: str):
    """The API's names, imported on first use (``forecast.api``)."""
    if name in _api.__all__:
        value = getattr(_api, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'forecast' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
