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
"""

from forecast.api import *  # noqa: E402, F403 - the API is the package's face
from forecast.api import __all__ as _api
from forecast.errors import ConfigError, DiagnosticsError, ForecastError, InputError  # noqa: E402
from forecast.version import __version__  # noqa: E402

__all__ = ["ConfigError", "DiagnosticsError", "ForecastError", "InputError", "__version__", *_api]
