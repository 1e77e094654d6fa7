"""Compose and validate the Hydra config, and load the inputs it names."""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import re
from pathlib import Path
from typing import Any

import yaml
from omegaconf import DictConfig, OmegaConf, open_dict

import forecast.paths as project_paths
from forecast.errors import ConfigError, InputError, suggest
from forecast.files import check_folder, ensure_dir
from forecast.inputs import schema
from forecast.inputs.readers import check_keys
from forecast.paths import conf_dir, resolve

_OVERRIDE = re.compile(r"^[+~]{0,2}[A-Za-z_][\w.\-/@]*=")
SCENARIO_KEYS = {"name", "title", "action", "profile", "description"}
TOP_KEYS = {"scenario", "priors", "sampler", "model", "report", "as_of", "seed", "evidence", "paths",
            "all_scenarios", "alerts", "analysts", "pool", "pool_weights", "priors_before_article",
            "update", "words", "publish", "force"}


def _project_path(path: str, sub: str = "") -> str:
    """OmegaConf resolver: a configured path resolved from the project root, created if missing."""
    base = check_folder(resolve(path, ".cache"), "paths.cache")
    # a regular file where the cache folder belongs is moved aside (kept) and the folder rebuilt
    return str(ensure_dir(base / sub if sub else base, base, heal=True))


if not OmegaConf.has_resolver("project_path"):
    OmegaConf.register_new_resolver("project_path", _project_path)
schema.register()  # conf/config.yaml's defaults list starts with it


def list_scenarios() -> list[str]:
    return sorted(p.stem for p in (conf_dir() / "scenario").glob("*.yaml"))


def report_names(cfg: DictConfig) -> list[str]:
    """The scenarios a run reports: every one with ``all_scenarios=true``, else the configured one."""
    return list_scenarios() if cfg.get("all_scenarios") else [cfg.scenario.name]


GROUPS = ("scenario", "priors", "sampler", "model", "report", "alerts", "words")


def group_options(group: str) -> list[str]:
    return sorted(p.stem for p in (conf_dir() / group).glob("*.yaml"))


def check_override(o: str) -> None:
    """Refuse what Hydra would accept but the tool must not: unknown or traversing config-group
    choices (``priors=../../x``), ``_target_`` keys. Sweep lists and functions are checked token by token."""
    import fnmatch

    if not isinstance(o, str) or not _OVERRIDE.match(o):
        raise ConfigError(f"override {o!r}", "not of the form key=value", "write e.g. scenario=repeated_raids")
    key, _, value = o.partition("=")
    key = key.lstrip("+~")
    if key in ("hydra.run.dir", "hydra.sweep.dir") and "${" not in value:
        check_folder(value, key)  # Hydra's own folders, too, may be anywhere but the root or a system folder
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
                raise ConfigError(f"override {o!r}", f"unknown {group} {t!r}", suggest(t, options))
    _check_bool_override(o)


def _check_bool_override(o: str) -> None:
    """A boolean setting takes only true or false. OmegaConf would read ``evidence=no`` (or yes, on, off, 1, 0)
    as a boolean: Hydra's own override parser tells the typed value the user wrote."""
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.core.override_parser.types import ChoiceSweep
    from hydra.errors import HydraException

    try:
        ov = OverridesParser.create().parse_override(o)
    except HydraException:
        return  # not parseable: composing it gives Hydra's own message, in one line
    leaf = schema.leaves().get(ov.key_or_group)
    if leaf is None or leaf.metadata["kind"] != "bool" or ov.is_delete():
        return
    value = ov.value()
    for v in value.list if isinstance(value, ChoiceSweep) else [value]:
        if not isinstance(v, bool):
            raise ConfigError(ov.key_or_group, f"{v!r} is not true or false", "write true or false")


def compose(overrides: list[str] | tuple[str, ...] = (), *, hydra_dirs: bool = False,
            keep_hydra: bool = False) -> DictConfig:
    """The config for these Hydra overrides (no app launch, works from a notebook). ``hydra_dirs``: also
    check Hydra's run and sweep folders (the CLI does, before Hydra creates them), and with ``keep_hydra`` keep
    Hydra's own node (``cfg.hydra``: its logging settings, for a run the CLI starts without Hydra's launcher)."""
    from hydra.core.global_hydra import GlobalHydra

    overrides = list(overrides)
    for o in overrides:
        check_override(o)
    k, default_cache = None, resolve(None, ".cache")
    if GlobalHydra.instance().is_initialized():  # inside a Hydra app or a caller's initialize: its config folder
        cfg = _hydra_compose(overrides, hydra_dirs, initialized=True)
    else:  # the project's conf/: composed once per content of its files (forecast.inputs.compose_memo)
        from forecast.inputs import compose_memo

        conf = conf_dir()
        k = compose_memo.key(conf, overrides, hydra_dirs)
        cfg = compose_memo.get(default_cache, k, conf)
        if cfg is not None:
            k = None  # a hit: nothing to keep
        else:
            cfg = _hydra_compose(overrides, hydra_dirs, initialized=False)
    validate(cfg)
    # refuses the filesystem root or a system folder as a configured folder (validated first: an unreadable path is
    # the schema's one line); a new config is kept only in its own cache, the project's, once a run has made it (the
    # settings an installed package ships, described outside any project, are never written to)
    cache = paths(cfg)["cache"]
    if (k is not None and cache == default_cache and cache.is_dir()
            and not project_paths.project_root().is_relative_to(project_paths.PACKAGE_DIR)):
        compose_memo.put(cache, k, cfg)
    if hydra_dirs:
        check_hydra_dirs(cfg)
        if not keep_hydra:
            with open_dict(cfg):
                del cfg["hydra"]
    return cfg


def _hydra_compose(overrides: list[str], hydra_dirs: bool, *, initialized: bool) -> DictConfig:
    """Hydra's compose of ``overrides`` (from the project's ``conf/``, unless Hydra is initialized already), its
    errors as one-line ``ConfigError``s."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    try:
        if initialized:
            return hydra_compose(config_name="config", overrides=overrides, return_hydra_config=hydra_dirs)
        with initialize_config_dir(config_dir=str(conf_dir()), version_base=None):
            return hydra_compose(config_name="config", overrides=overrides, return_hydra_config=hydra_dirs)
    except (HydraException, OmegaConfBaseException, yaml.YAMLError, RecursionError) as e:
        err = _schema_error(e) or ConfigError("config", _one_line(e), "check the override's key and value (see conf/)")
        raise err from None


def _one_line(e: BaseException) -> str:
    return " ".join(line.strip() for line in str(e).splitlines() if line.strip())[:400] or type(e).__name__


def _schema_error(e: BaseException) -> ConfigError | None:
    """A type error OmegaConf raised while merging into the schema, as the schema's one line (key, value, what
    is allowed); None when the error is not about a typed setting."""
    from omegaconf.errors import ConfigAttributeError, ConfigKeyError, OmegaConfBaseException

    c: BaseException | None = e
    while c is not None and not (isinstance(c, OmegaConfBaseException) and getattr(c, "full_key", None)):
        c = c.__cause__ or c.__context__
    if c is None:  # a group file that does not fit the schema at all (a list where a mapping belongs)
        m = re.search(r"In '(\w+)/([^']+)'", str(e))
        if m and m.group(1) in SECTIONS and re.search(r"not a subclass of|Cannot merge|[Tt]ype", str(e)):
            detail = _one_line(e).split(": ", 1)[-1].split(" full_key:")[0]
            return ConfigError(f"conf/{m.group(1)}/{m.group(2)}.yaml", f"expected a mapping of the "
                               f"{m.group(1)} schema's keys to values ({detail})", f"see conf/{m.group(1)}/")
        return None
    key = str(c.full_key)
    if "_target_" in key:
        return ConfigError(key, "`_target_` is not allowed: this tool instantiates nothing from config", "remove it")
    leaf = schema.leaves().get(key)
    section = key.split(".", 1)[0]
    if leaf is None and section not in SECTIONS:
        return None  # e.g. priors.*: Hydra's own words, in one line
    if isinstance(c, ConfigKeyError | ConfigAttributeError) and leaf is None:
        keys = sorted(f.name for f in dataclasses.fields(SECTIONS[section]))
        return ConfigError(key, "unknown key", f"use only: {', '.join(keys)}")
    if leaf is not None and getattr(c, "value", None) is not None:
        return ConfigError(key, f"{c.value!r} is not {schema.allowed(leaf)}", "fix the value")
    return ConfigError(key, _one_line(c).split(" full_key:")[0], f"see conf/{section}/")


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
    check_keys(raw, TOP_KEYS, lambda k: f"config key {k!r}", ConfigError)
    sc = raw.get("scenario") or {}
    if not isinstance(sc, dict):
        raise ConfigError("scenario", "expected a mapping of keys to values in the scenario file",
                          "see conf/scenario/one_time_raid.yaml")
    if sc.get("name") not in list_scenarios():
        raise ConfigError("scenario.name", f"{sc.get('name')!r} is not a scenario file in conf/scenario/",
                          f"use one of: {', '.join(list_scenarios())}")
    check_keys(sc, SCENARIO_KEYS, lambda k: f"scenario.{k}", ConfigError)
    _validate_pool(raw)
    for section in SECTIONS:
        node = raw.get(section)
        if not isinstance(node, dict):
            raise ConfigError(section, f"expected a mapping, got {node!r}", f"see conf/{section}/")
        keys = {f.name for f in dataclasses.fields(SECTIONS[section])}
        check_keys(node, keys, lambda k, section=section: f"{section}.{k}", ConfigError)
    for key, f in schema.leaves().items():
        _check_leaf(cfg, key, f)
    from forecast.inputs.words import parse_scale

    parse_scale(raw.get("words"), "words")
    compare_with(cfg)
    check_sampler(cfg)


# what each NUTS sampler needs installed besides PyMC (PyMC imports them only when it samples)
SAMPLER_PACKAGES = {"nutpie": ("nutpie",), "pymc": (), "numpyro": ("numpyro", "jax"), "blackjax": ("blackjax", "jax")}


def check_sampler(cfg: DictConfig) -> None:
    """``sampler.nuts_sampler`` names a sampler whose packages are installed (else the run would fail only when it
    samples, with a ModuleNotFoundError)."""
    import importlib.util

    name = str(OmegaConf.select(cfg, "sampler.nuts_sampler", default="") or "")
    missing = [p for p in SAMPLER_PACKAGES.get(name, ()) if importlib.util.find_spec(p) is None]
    if missing:
        usable = [s for s, pkgs in SAMPLER_PACKAGES.items() if all(importlib.util.find_spec(p) for p in pkgs)]
        raise ConfigError("sampler.nuts_sampler", f"{name!r} is not installed here (it needs the "
                          f"{' and '.join(missing)} package{'s' if len(missing) > 1 else ''})",
                          f"use one of the installed ones: {', '.join(usable)} (sampler=pymc, or "
                          f"sampler.nuts_sampler=...), or install {' '.join(missing)}")


def compare_with(cfg: DictConfig) -> str | None:
    """``report.compare_with``: None for the last published brief, else the date (ISO) on or before which it was
    published."""
    value = str(cfg.report.get("compare_with") or "published").strip()
    if value == "published":
        return None
    from forecast.inputs.readers import parse_date

    try:
        return parse_date(value, "report.compare_with").isoformat()
    except InputError:
        raise ConfigError("report.compare_with", f"{value!r} is neither 'published' nor a date",
                          "write published (the last published brief) or a date YYYY-MM-DD") from None


SECTIONS = {"scenario": schema.ScenarioSchema, "sampler": schema.SamplerSchema, "model": schema.ModelSchema,
            "report": schema.ReportSchema, "paths": schema.PathsSchema, "words": schema.WordsSchema}


def _check_leaf(cfg: DictConfig, key: str, f) -> None:
    """One typed setting against its schema leaf: type, range, a real date, a safe folder."""
    from omegaconf.errors import OmegaConfBaseException

    kind = f.metadata["kind"]
    if kind in ("str", "any"):
        return  # typed by OmegaConf on merge; free text is never resolved (`${...}` stays literal)
    try:
        value = OmegaConf.select(cfg, key, throw_on_missing=True)
    except OmegaConfBaseException as e:
        text = " ".join(str(e).split("\n")[0].split())
        raise ConfigError(key, f"cannot be read ({text})", f"give {schema.allowed(f)}") from None
    if kind == "date":  # a real date here; one after today is refused where the date is used (and recorded)
        if value not in (None, ""):
            from forecast.inputs.readers import parse_date

            parse_date(str(value), key)
        return
    why = schema.problem(f, value)
    if why:
        allowed = schema.allowed(f)
        if kind == "float" and isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
            allowed = allowed.replace("a finite number in", "in")
        raise ConfigError(key, f"{value!r} is not {allowed}", "fix the value")
    if kind == "path":
        where = resolve(value, ".cache").resolve()
        unsafe = schema.unsafe_folder(where)
        if unsafe:
            raise ConfigError(key, f"{value!r} {unsafe} ({where})", "name a folder of this project or your own")


def check_hydra_dirs(cfg: DictConfig) -> None:
    """Hydra's run and sweep folders (where it writes logs) are held to the rule of ``paths.*``."""
    from omegaconf.errors import OmegaConfBaseException

    for key in ("hydra.run.dir", "hydra.sweep.dir"):
        try:
            value = OmegaConf.select(cfg, key, throw_on_missing=True)
        except OmegaConfBaseException as e:
            raise ConfigError(key, f"cannot be resolved ({' '.join(str(e).split())[:200]})",
                              "give a folder path") from None
        if value is None:
            continue
        if not isinstance(value, str) or not value.strip():
            raise ConfigError(key, f"{value!r} is not a folder path", "give a folder path")
        where = resolve(value, ".cache").resolve()
        unsafe = schema.unsafe_folder(where)
        if unsafe:
            raise ConfigError(key, f"{value!r} {unsafe} ({where})", "name a folder of this project or your own")


def _validate_pool(raw: dict[str, Any]) -> None:
    """analysts=[...], pool=log|linear and pool_weights (data/judgements/; forecast/inputs/judgements.py)."""
    from forecast.inputs.judgements import POOLS, parse_weights
    from forecast.inputs.readers import parse_id

    analysts = raw.get("analysts") or []
    if not isinstance(analysts, list):
        raise ConfigError("analysts", f"{analysts!r} is not a list", "write analysts=[name,other]")
    for a in analysts:
        parse_id(a, "analysts")
    if len(set(analysts)) != len(analysts):
        raise ConfigError("analysts", "an analyst is listed twice", "list each once")
    if raw.get("pool", "log") not in POOLS:
        raise ConfigError("pool", f"unknown pool {raw.get('pool')!r}", f"use one of: {', '.join(POOLS)}")
    weights = raw.get("pool_weights") or {}
    if not isinstance(weights, dict):
        raise ConfigError("pool_weights", "expected a mapping analyst: weight", "write pool_weights.NAME=2")
    parse_weights([str(a) for a in analysts], weights)


def as_of_date(cfg: DictConfig, today: dt.date | None = None) -> dt.date:
    from forecast.inputs.readers import parse_date

    today = today or dt.date.today()
    if cfg.get("as_of") in (None, ""):
        return today
    return parse_date(str(cfg.as_of), "as_of", not_after=today)


def paths(cfg: DictConfig) -> dict[str, Path]:
    p = cfg.get("paths") or {}
    out = {
        "data": resolve(p.get("data"), "data"),
        "reports": resolve(p.get("reports"), "reports"),
        "cache": resolve(p.get("cache"), ".cache"),
    }
    for k, v in out.items():
        check_folder(v, f"paths.{k}")
    return out


def hyper(cfg: DictConfig) -> dict[str, Any]:
    """The model's hyperparameters: numbers, and the ablation switches that are off their default (as text)."""
    h = OmegaConf.to_container(cfg.model, resolve=True)
    out: dict[str, Any] = {}
    for k, v in h.items():
        if k in schema.ABLATION_SWITCHES:
            choices = schema.ABLATION_SWITCHES[k]
            if v not in choices:
                raise ConfigError(f"model.{k}", f"{v!r} is not one of {', '.join(choices)}", "fix the value")
            if v != choices[0]:  # at its default a switch is not recorded: the default inputs hash is unchanged
                out[k] = str(v)
            continue
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
        raise ConfigError(f"scenario {name!r}", "unknown scenario", suggest(name, list_scenarios()))
    sc = read_yaml(conf_dir() / "scenario" / f"{name}.yaml")
    check_keys(sc, SCENARIO_KEYS, lambda k: f"conf/scenario/{name}.yaml, key '{k}'", ConfigError)
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


def scenario_title(cfg: DictConfig, name: str) -> str:
    """The title of scenario ``name`` as a report of ``cfg`` shows it (the configured scenario's own settings, the
    others' files), its name when it has none."""
    sc = cfg.scenario if cfg.scenario.name == name else load_scenario(name)
    return str(sc.get("title") or name)


def scenario_profiles(cfg: DictConfig, ont, names: list[str] | None = None) -> dict[str, dict[str, Any]]:
    """Action profiles of the named scenarios (default: the configured one)."""
    if names is None:
        return {cfg.scenario.name: scenario_profile(cfg, ont)}
    current = cfg.scenario.name
    return {n: scenario_profile(cfg if n == current else load_scenario(n), ont) for n in names}
