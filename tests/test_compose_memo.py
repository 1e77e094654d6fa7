"""The composed config kept under a key of conf/'s files and the overrides (``forecast.inputs.compose_memo``): a hit is
the config Hydra composes (in a copied home, in a new process, at another time); a changed file (through a symbolic
link too) is a new key; what Hydra's compose reads besides the key's parts is never kept; a damaged, foreign or
planted entry is a miss and runs nothing. Each test checks that its hits are hits (Hydra's compose made to fail), so
none passes by composing again."""

from __future__ import annotations

import hashlib
import os
import pickle
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from forecast.errors import ConfigError
from forecast.inputs import compose_memo
from forecast.inputs import config as C
from forecast.inputs.config import compose

ARGS = ["scenario=repeated_raids", "sampler.draws=300"]


def _home(tmp_path: Path, name: str, src: Path, cache: bool = True) -> Path:
    """A project home (``conf/``, ``data/``); with ``cache`` its ``.cache/`` too, as a home where a command has run."""
    home = tmp_path / name
    for sub in ("conf", "data"):
        shutil.copytree(src / sub, home / sub)
    if cache:
        (home / ".cache").mkdir()
    return home


def _kept(home: Path) -> list[Path]:
    return sorted((home / ".cache" / "derived" / "compose").glob("*.bin"))


def _composed(home: Path, monkeypatch, args=ARGS, **kw):
    monkeypatch.setenv("FORECAST_HOME", str(home))
    monkeypatch.chdir(home)
    return compose(args, **kw)


def _no_compose(monkeypatch) -> None:
    """From here on Hydra's compose fails: what a test gets next is a hit, or the test fails."""
    def fail(*a, **k):
        raise AssertionError("composed again: the kept config was not used")

    monkeypatch.setattr(C, "_hydra_compose", fail)


def _set(path: Path, key: str, value: str) -> None:
    lines = path.read_text().splitlines()
    assert any(ln.startswith(f"{key}:") for ln in lines), (path, key)
    path.write_text("\n".join(f"{key}: {value}" if ln.startswith(f"{key}:") else ln for ln in lines) + "\n")


def test_a_hit_is_the_config_hydra_composes_in_a_moved_home(tmp_path, project_home, monkeypatch):
    a = _home(tmp_path, "a", project_home)
    first = _composed(a, monkeypatch, hydra_dirs=True, keep_hydra=True)
    assert len(_kept(a)) == 1
    b = tmp_path / "b"
    shutil.copytree(a, b)  # the project home moved: its kept config serves it
    with monkeypatch.context() as m:
        _no_compose(m)
        hit = _composed(b, m, hydra_dirs=True, keep_hydra=True)
    for p in _kept(b):
        p.unlink()
    fresh = _composed(b, monkeypatch, hydra_dirs=True, keep_hydra=True)
    assert len(_kept(b)) == 1 and _kept(b)[0].name == _kept(a)[0].name  # the same key: the folders are not in it
    assert OmegaConf.to_yaml(hit) == OmegaConf.to_yaml(fresh)
    assert hit.hydra.runtime.cwd == str(b) and any(s.path == str(b / "conf") for s in hit.hydra.runtime.config_sources)
    assert first.hydra.runtime.cwd == str(a)
    # the schema's types and flags are kept: a wrong type is still refused, a new key still unknown
    assert OmegaConf.get_type(hit, "sampler") is OmegaConf.get_type(fresh, "sampler")
    assert OmegaConf.is_struct(hit) and OmegaConf.is_struct(fresh)


def test_a_changed_file_or_override_is_a_new_key(tmp_path, project_home, monkeypatch):
    home = _home(tmp_path, "h", project_home)
    assert _composed(home, monkeypatch).sampler.draws == 300
    assert _composed(home, monkeypatch, ["scenario=repeated_raids"]).sampler.draws != 300
    _set(home / "conf" / "sampler" / "nutpie.yaml", "draws", "777")
    assert _composed(home, monkeypatch, ["scenario=repeated_raids"]).sampler.draws == 777
    assert len(_kept(home)) == 3


def test_a_file_behind_a_linked_folder_is_in_the_key(tmp_path, project_home, monkeypatch):
    """Hydra reads a group whose folder is a symbolic link; so does the key (``Path.rglob`` does not follow it: a
    changed file there served the old config)."""
    home = _home(tmp_path, "h", project_home)
    outside = tmp_path / "sampler-elsewhere"
    shutil.move(home / "conf" / "sampler", outside)
    (home / "conf" / "sampler").symlink_to(outside, target_is_directory=True)
    assert _composed(home, monkeypatch, ["scenario=repeated_raids"]).sampler.draws != 4321
    _set(outside / "nutpie.yaml", "draws", "4321")
    assert _composed(home, monkeypatch, ["scenario=repeated_raids"]).sampler.draws == 4321


@pytest.mark.parametrize("how", ["override", "defaults", "env_copy"])
def test_what_compose_reads_besides_the_key_is_never_kept(tmp_path, project_home, monkeypatch, how):
    """An interpolated group choice (Hydra resolves it while composing, from the environment), copied environment
    variables: each composed every time. Kept, the first run's choice served every later one."""
    home = _home(tmp_path, "h", project_home)
    monkeypatch.setenv("SCEN", "repeated_raids")
    if how == "override":  # (an interpolated group choice is refused before composing: check_override)
        args = ["scenario.title=${oc.env:SCEN}"]
    elif how == "defaults":
        f = home / "conf" / "config.yaml"
        text = f.read_text()
        assert "  - scenario: one_time_raid" in text
        f.write_text(text.replace("  - scenario: one_time_raid", "  - scenario: ${oc.env:SCEN,one_time_raid}"))
        args = []
    else:
        args = ["hydra.job.env_copy=[SCEN]"]
    cfg = _composed(home, monkeypatch, args, hydra_dirs=True, keep_hydra=True)
    assert _kept(home) == []
    read = {"override": "title", "defaults": "name"}.get(how)
    if read:
        assert cfg.scenario[read] == "repeated_raids"
        monkeypatch.setenv("SCEN", "one_time_raid")
        assert _composed(home, monkeypatch, args).scenario[read] == "one_time_raid"


def test_a_damaged_foreign_or_planted_entry_is_a_miss_and_runs_nothing(tmp_path, project_home, monkeypatch):
    home = _home(tmp_path, "h", project_home)
    _composed(home, monkeypatch)
    (kept,) = _kept(home)
    k, cache, conf = kept.stem, home / ".cache", home / "conf"
    assert compose_memo.get(cache, k, conf) is not None
    data = kept.read_bytes()
    kept.write_bytes(data[:-40])  # cut, as a crash would leave it
    assert compose_memo.get(cache, k, conf) is None
    assert _composed(home, monkeypatch).sampler.draws == 300  # composed again, and kept again
    assert compose_memo.get(cache, k, conf) is not None
    os.chmod(kept, 0o666)  # noqa: S103 - writable by anyone: not read
    assert compose_memo.get(cache, k, conf) is None
    # a home from someone else (an archive, a clone) with an entry under the right key that would run a command
    marker = tmp_path / "ran"

    class Planted:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    body = pickle.dumps(Planted())
    kept.write_bytes(compose_memo.MAGIC + hashlib.sha256(body).digest() + body)
    os.chmod(kept, 0o644)
    assert compose_memo.get(cache, k, conf) is None and not marker.exists()
    assert _composed(home, monkeypatch).sampler.draws == 300 and not marker.exists()
    link = kept.with_name("link.bin")
    link.symlink_to(kept)
    assert compose_memo.get(cache, "link", conf) is None  # a symbolic link is not followed


def test_kept_only_in_the_configs_own_cache(tmp_path, project_home, monkeypatch):
    home = _home(tmp_path, "h", project_home)
    elsewhere = tmp_path / "elsewhere"
    cfg = _composed(home, monkeypatch, [*ARGS, f"paths.cache={elsewhere}"])
    assert cfg.paths.cache == str(elsewhere)
    assert _kept(home) == [] and not list(elsewhere.rglob("*.bin"))


def test_an_unreadable_path_is_the_schemas_one_line(tmp_path, project_home, monkeypatch):
    """Keeping a config asks where its cache is: only after the schema's checks, whose error names the key (asking
    first raised OmegaConf's own error: an internal error, exit 70, instead of exit 2)."""
    home = _home(tmp_path, "h", project_home)
    monkeypatch.delenv("NOPE_UNSET", raising=False)
    with pytest.raises(ConfigError, match="paths.reports"):
        _composed(home, monkeypatch, ["paths.reports=${oc.env:NOPE_UNSET}"])


def test_a_hit_in_a_new_process_resolves_values_at_its_own_time(tmp_path, project_home):
    """Each command is a new process. The second one's config is the first one's kept config (Hydra's compose made to
    fail there), and it resolves ``${now:...}`` (in Hydra's run folder and in a setting) at its own time: a hit
    registers Hydra's resolvers (without them: "Unsupported interpolation type now"), and the resolvers' cache is not
    kept (kept, the first run's time was every later run's)."""
    home = _home(tmp_path, "h", project_home)
    _set(home / "conf" / "config.yaml", "  reports", "reports/${now:%H-%M-%S-%f}")
    code = ("import sys\nfrom omegaconf import OmegaConf\nfrom forecast.inputs import config as C\n"
            "if sys.argv[1] == 'hit':\n"
            "    C._hydra_compose = lambda *a, **k: sys.exit('composed again')\n"
            "for dirs in (False, True):\n"
            "    cfg = C.compose(['scenario=repeated_raids'], hydra_dirs=dirs, keep_hydra=dirs)\n"
            "    print(cfg.paths.reports)\n"
            "    if dirs:\n"
            "        print(OmegaConf.select(cfg, 'hydra.run.dir'))\n")
    env = {**os.environ, "FORECAST_HOME": str(home)}
    out = [subprocess.run([sys.executable, "-c", code, arg], env=env, cwd=home, capture_output=True, text=True,
                          timeout=120) for arg in ("first", "hit")]
    assert [p.returncode for p in out] == [0, 0], out[1].stderr[-800:]
    assert len(_kept(home)) == 2  # hydra_dirs true and false
    first, hit = (p.stdout.split() for p in out)
    assert str(home / ".cache" / "hydra") in hit[2]
    assert first[0] != hit[0] and first[1] != hit[1]  # this run's time, not the first run's


def test_the_least_recently_used_configs_beyond_the_limit_are_removed(tmp_path, project_home, monkeypatch):
    """A dated override run every day is a new key every day: the folder keeps the most recently used configs (a hit
    counts as a use), not every one ever composed."""
    home = _home(tmp_path, "h", project_home)
    monkeypatch.setattr(compose_memo, "KEEP", 2)
    days = ["2026-11-01", "2026-11-02", "2026-11-03"]
    names = []
    for d in days[:2]:
        before = {p.name for p in _kept(home)}
        _composed(home, monkeypatch, [f"as_of={d}"])
        (new,) = {p.name for p in _kept(home)} - before
        names.append(new)
    first = home / ".cache" / "derived" / "compose" / names[0]
    os.utime(first, ns=(1, 1))  # the first is the older of the two by far
    with monkeypatch.context() as m:
        _no_compose(m)
        _composed(home, m, [f"as_of={days[0]}"])  # a hit: used now
    _composed(home, monkeypatch, [f"as_of={days[2]}"])  # a third: the least recently used (the second) goes
    kept = {p.name for p in _kept(home)}
    assert len(kept) == 2 and names[0] in kept and names[1] not in kept  # without the touch on a hit: the reverse


def test_nothing_is_kept_where_no_run_made_a_cache(tmp_path, project_home, monkeypatch):
    """The settings a package ships are described outside any project (``forecast --help`` in an empty folder) and
    a new project's first command composes before anything made its cache: neither writes a kept config (the first
    wrote into the installed package's own folder)."""
    home = _home(tmp_path, "h", project_home, cache=False)
    _composed(home, monkeypatch)
    assert not (home / ".cache").exists()
