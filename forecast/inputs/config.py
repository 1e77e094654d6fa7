"""Compose and validate the Hydra config, and load the inputs it names."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import yaml
from omegaconf import DictConfig, OmegaConf

from forecast.errors import ConfigError, InputError
from forecast.paths import conf_dir, resolve

_OVERRIDE = re.compile(r"^[+~]{0,2}[A-Za-z_][\w.\-/@]*=")
SCENARIO_KEYS = {"name", "title", "action", "profile", "description"}
SAMPLER_KEYS = {"name", "nuts_sampler", "draws", "tune", "chains", "cores", "target_accept", "first_draws"}
TOP_KEYS = {"scenario", "priors", "sampler", "model", "report", "as_of", "seed", "evidence", "paths",
            "all_scenarios", "update"}


def _project_path(path: str, sub: str = "") -> str:
    """OmegaConf resolver: a configured path resolved from the project root, created if missing."""
    p = resolve(path, ".cache") / sub if sub else resolve(path, ".cache")
    p.mkdir(parents=True, exist_ok=True)
    return str(p)


if not OmegaConf.has_resolver("project_path"):
    OmegaConf.register_new_resolver("project_path", _project_path)


def list_scenarios() -> list[str]:
    return sorted(p.stem for p in (conf_dir() / "scenario").glob("*.yaml"))


GROUPS = ("scenario", "priors", "sampler", "model", "report")


def group_options(group: str) -> list[str]:
    return sorted(p.stem for p in (conf_dir() / group).glob("*.yaml"))


def _check_override(o: str) -> None:
    """Refuse what Hydra would accept but the tool must not: unknown or traversing config-group
    choices (``priors=../../x``), ``_target_`` keys. Sweep lists and functions are checked token by token."""
    import fnmatch

    if not isinstance(o, str) or not _OVERRIDE.match(o):
        raise ConfigError(f"override {o!r}", "not of the form key=value", "write e.g. scenario=repeated_raids")
    key, _, value = o.partition("=")
    key = key.lstrip("+~")
    if "_target_" in key or "_target_" in value:
        raise ConfigError(f"override {o!r}", "`_target_` is not allowed: this tool instantiates nothing from config",
                          "remove it")
    group = key.split("@", 1)[0]
    if group in GROUPS:
        options = group_options(group)
        inner = re.fullmatch(r"\s*(\w+)\((.*)\)\s*", value)
        tokens = re.split(r"\s*,\s*", inner.group(2) if inner else value)
        for t in tokens:
            t = t.strip().strip("'\"")
            if "=" in t:  # keyword arguments of sweep functions, e.g. glob(*, exclude=x)
                t = t.split("=", 1)[1].strip().strip("'\"")
            ok = t in options or (any(c in t for c in "*?[") and "/" not in t and ".." not in t
                                  and fnmatch.filter(options, t))
            if not ok:
                raise ConfigError(f"override {o!r}", f"unknown {group} {t!r}", f"available: {', '.join(options)}")
    if "_target_" in key:
        raise ConfigError(f"override {o!r}", "`_target_` is not allowed: this tool instantiates nothing from config",
                          "remove it")


def compose(overrides: list[str] | tuple[str, ...] = ()) -> DictConfig:
    """The config for these Hydra overrides (no app launch, works from a notebook)."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    overrides = list(overrides)
    for o in overrides:
        _check_override(o)
    gh = GlobalHydra.instance()
    was_initialized = gh.is_initialized()
    try:
        if was_initialized:
            cfg = hydra_compose(config_name="config", overrides=overrides)
        else:
            with initialize_config_dir(config_dir=str(conf_dir()), version_base=None):
                cfg = hydra_compose(config_name="config", overrides=overrides)
    except (HydraException, OmegaConfBaseException, yaml.YAMLError, RecursionError) as e:
        text = " ".join(line.strip() for line in str(e).splitlines() if line.strip())[:400] or type(e).__name__
        raise ConfigError("config", text, "check the override's key and value (see conf/)") from None
    validate(cfg)
    return cfg


def _reject_targets(node: Any, where: str) -> None:
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "_target_":
                raise ConfigError(f"{where}.{k}", "`_target_` is not allowed: this tool instantiates nothing "
                                  "from config", "remove the key")
            _reject_targets(v, f"{where}.{k}")
    elif isinstance(node, list):
        for i, v in enumerate(node):
            _reject_targets(v, f"{where}[{i}]")


def validate(cfg: DictConfig) -> None:
    """Refuse unknown keys and out-of-range values before anything runs."""
    raw = OmegaConf.to_container(cfg, resolve=False)
    raw.pop("hydra", None)
    _reject_targets(raw, "config")
    unknown = set(raw) - TOP_KEYS
    if unknown:
        raise ConfigError(f"config key {sorted(unknown, key=str)[0]!r}", "unknown key",
                          f"use only: {', '.join(sorted(TOP_KEYS))}")
    sc = raw.get("scenario") or {}
    if not isinstance(sc, dict):
        raise ConfigError("scenario", "expected a mapping of keys to values in the scenario file",
                          "see conf/scenario/one_time_raid.yaml")
    if sc.get("name") not in list_scenarios():
        raise ConfigError("scenario.name", f"{sc.get('name')!r} is not a scenario file in conf/scenario/",
                          f"use one of: {', '.join(list_scenarios())}")
    bad = set(sc) - SCENARIO_KEYS
    if bad:
        raise ConfigError(f"scenario.{sorted(bad, key=str)[0]}", "unknown key",
                          f"use only: {', '.join(sorted(SCENARIO_KEYS))}")
    sm = raw.get("sampler") or {}
    bad = set(sm) - SAMPLER_KEYS
    if bad:
        raise ConfigError(f"sampler.{sorted(bad, key=str)[0]}", "unknown key",
                          f"use only: {', '.join(sorted(SAMPLER_KEYS))}")
    for k, lo, hi in (("draws", 10, 100_000), ("tune", 0, 100_000), ("chains", 1, 64), ("cores", 1, 64)):
        v = sm.get(k)
        if not isinstance(v, int) or isinstance(v, bool) or not lo <= v <= hi:
            raise ConfigError(f"sampler.{k}", f"{v!r} is not a whole number in [{lo}, {hi}]", "fix the value")
    fd = sm.get("first_draws")
    if fd is not None and (not isinstance(fd, int) or isinstance(fd, bool) or not 10 <= fd <= 100_000):
        raise ConfigError("sampler.first_draws", f"{fd!r} is not null or a whole number in [10, 100000]",
                          "use e.g. 1000, or null to always sample sampler.draws")
    ta = sm.get("target_accept")
    if not isinstance(ta, (int, float)) or not 0.5 <= ta < 1:
        raise ConfigError("sampler.target_accept", f"{ta!r} is not in [0.5, 1)", "use e.g. 0.9")
    if sm.get("nuts_sampler") not in ("nutpie", "pymc", "numpyro", "blackjax"):
        raise ConfigError("sampler.nuts_sampler", f"unknown sampler {sm.get('nuts_sampler')!r}",
                          "use nutpie or pymc")
    if raw.get("update", "auto") not in ("auto", "refit"):
        raise ConfigError("update", f"{raw.get('update')!r} is not auto or refit",
                          "use update=auto (PSIS update when Pareto k <= 0.7) or update=refit")
    seed = raw.get("seed")
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise ConfigError("seed", f"{seed!r} is not a non-negative whole number", "use e.g. seed=1")
    rep = raw.get("report") or {}
    hp = rep.get("hdi_prob")
    if not isinstance(hp, (int, float)) or not 0.5 <= hp < 1:
        raise ConfigError("report.hdi_prob", f"{hp!r} is not in [0.5, 1)", "use e.g. 0.9")


def as_of_date(cfg: DictConfig, today: dt.date | None = None) -> dt.date:
    from forecast.inputs.readers import parse_date

    today = today or dt.date.today()
    if cfg.get("as_of") in (None, ""):
        return today
    return parse_date(str(cfg.as_of), "as_of", not_after=today)


def paths(cfg: DictConfig) -> dict[str, Path]:
    p = cfg.get("paths") or {}
    return {
        "data": resolve(p.get("data"), "data"),
        "reports": resolve(p.get("reports"), "reports"),
        "cache": resolve(p.get("cache"), ".cache"),
    }


def hyper(cfg: DictConfig) -> dict[str, float]:
    h = OmegaConf.to_container(cfg.model, resolve=True)
    out = {}
    for k, v in h.items():
        if not isinstance(v, (int, float)) or isinstance(v, bool):
            raise ConfigError(f"model.{k}", f"{v!r} is not a number", "fix the value in conf/model/")
        out[k] = float(v)
    for k in ("sigma_alpha_domain", "sigma_alpha_response", "slope_sd", "sigma_slope_domain",
              "sigma_slope_response", "sigma_cell", "sigma_loading", "sigma_house", "mu_alpha_sd"):
        if out.get(k, 0) <= 0:
            raise ConfigError(f"model.{k}", f"{out.get(k)!r} must be a positive number", "fix the value")
    if not 0 < out.get("opinion_reference", 0) < 1:
        raise ConfigError("model.opinion_reference", "must be a probability strictly inside (0, 1)", "use e.g. 0.8")
    out["quadrature_nodes"] = int(out.get("quadrature_nodes", 9))
    return out


def load_scenario(name: str) -> dict[str, Any]:
    """A scenario file read directly (composing a whole config per scenario costs ~0.3 s)."""
    from forecast.inputs.readers import read_yaml

    if name not in list_scenarios():
        raise ConfigError(f"scenario {name!r}", "unknown scenario", f"available: {', '.join(list_scenarios())}")
    sc = read_yaml(conf_dir() / "scenario" / f"{name}.yaml")
    bad = set(sc) - SCENARIO_KEYS
    if bad:
        raise ConfigError(f"conf/scenario/{name}.yaml, key '{sorted(bad, key=str)[0]}'", "unknown key",
                          f"use only: {', '.join(sorted(SCENARIO_KEYS))}")
    _reject_targets(sc, f"conf/scenario/{name}.yaml")
    return sc


def scenario_profile(cfg: DictConfig | dict, ont) -> dict[str, Any]:
    sc = OmegaConf.to_container(cfg.scenario, resolve=False) if isinstance(cfg, DictConfig) else cfg
    name = sc.get("name")
    if not isinstance(sc.get("action"), str) or not sc.get("action"):
        raise InputError(f"conf/scenario/{name}.yaml, key 'action'", "missing or not a name",
                         "name an action type from data/ontology/actions.csv")
    if not isinstance(sc.get("profile") or {}, dict):
        raise InputError(f"conf/scenario/{name}.yaml, key 'profile'", "expected a mapping of attribute: value",
                         "write e.g. `profile: {consent: coerced}` or `profile: {}`")
    prof = ont.profile(sc["action"], sc.get("profile") or {}, where=f"conf/scenario/{name}.yaml: profile")
    return {"name": name, "title": sc.get("title") or name, "description": sc.get("description") or "",
            "action": sc["action"], "profile": prof}


def scenario_profiles(cfg: DictConfig, ont, names: list[str] | None = None) -> dict[str, dict[str, Any]]:
    """Action profiles of the named scenarios (default: the configured one)."""
    if names is None:
        return {cfg.scenario.name: scenario_profile(cfg, ont)}
    current = cfg.scenario.name
    return {n: scenario_profile(cfg if n == current else load_scenario(n), ont) for n in names}
