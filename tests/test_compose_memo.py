"""The composed config kept under a key of conf/'s files and the overrides (``forecast.inputs.compose_memo``): a hit is
the config Hydra composes, in a copied home too; a changed file is a new key; a damaged or untrusted entry is a
miss. Without the memo's own checks each of these tests fails: a key without the files' contents serves the old
``draws`` below, a hit without the folders reset records the first home's folders, a damaged entry read as it is
raises instead of composing."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from omegaconf import OmegaConf

from forecast.inputs import compose_memo
from forecast.inputs.config import compose

ARGS = ["scenario=repeated_raids", "sampler.draws=300"]


def _home(tmp_path: Path, name: str, src: Path) -> Path:
    home = tmp_path / name
    for sub in ("conf", "data"):
        shutil.copytree(src / sub, home / sub)
    return home


def _kept(home: Path) -> list[Path]:
    return sorted((home / ".cache" / "derived" / "compose").glob("*.bin"))


def _composed(home: Path, monkeypatch, args=ARGS, **kw):
    monkeypatch.setenv("FORECAST_HOME", str(home))
    monkeypatch.chdir(home)
    return compose(args, **kw)


def test_a_hit_is_the_config_hydra_composes_in_a_moved_home(tmp_path, project_home, monkeypatch):
    a = _home(tmp_path, "a", project_home)
    first = _composed(a, monkeypatch, hydra_dirs=True, keep_hydra=True)
    assert len(_kept(a)) == 1
    b = tmp_path / "b"
    shutil.copytree(a, b)  # the project home moved: its kept config serves it
    hit = _composed(b, monkeypatch, hydra_dirs=True, keep_hydra=True)
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
    f = home / "conf" / "sampler" / "nutpie.yaml"
    text = f.read_text()
    assert "draws:" in text
    f.write_text("\n".join("draws: 777" if ln.startswith("draws:") else ln for ln in text.splitlines()) + "\n")
    assert _composed(home, monkeypatch, ["scenario=repeated_raids"]).sampler.draws == 777
    assert len(_kept(home)) == 3


def test_a_damaged_or_untrusted_entry_is_a_miss(tmp_path, project_home, monkeypatch):
    home = _home(tmp_path, "h", project_home)
    _composed(home, monkeypatch)
    (kept,) = _kept(home)
    k = kept.stem
    assert compose_memo.get(home / ".cache", k, home / "conf") is not None
    data = kept.read_bytes()
    kept.write_bytes(data[:-40])  # cut, as a crash would leave it
    assert compose_memo.get(home / ".cache", k, home / "conf") is None
    assert _composed(home, monkeypatch).sampler.draws == 300  # composed again, and kept again
    assert compose_memo.get(home / ".cache", k, home / "conf") is not None
    os.chmod(kept, 0o666)  # noqa: S103 - writable by anyone: not read
    assert compose_memo.get(home / ".cache", k, home / "conf") is None


def test_kept_only_in_the_configs_own_cache(tmp_path, project_home, monkeypatch):
    home = _home(tmp_path, "h", project_home)
    elsewhere = tmp_path / "elsewhere"
    cfg = _composed(home, monkeypatch, [*ARGS, f"paths.cache={elsewhere}"])
    assert cfg.paths.cache == str(elsewhere)
    assert _kept(home) == [] and not list(elsewhere.rglob("*.bin"))


def test_a_hit_in_a_new_process_resolves_hydras_own_interpolations(tmp_path, project_home):
    """A hit skips Hydra's compose, which registers Hydra's resolvers (``${now:...}`` in ``hydra.run.dir``): each
    command is a new process, so the second command's kept config must still resolve them. Without registering
    them on a hit, the second process fails with "Unsupported interpolation type now" (every command after the
    first did, before this test)."""
    import subprocess
    import sys

    home = _home(tmp_path, "h", project_home)
    code = ("from omegaconf import OmegaConf\nfrom forecast.inputs.config import compose\n"
            "cfg = compose(['scenario=repeated_raids'], hydra_dirs=True, keep_hydra=True)\n"
            "print(OmegaConf.select(cfg, 'hydra.run.dir'))\n")
    env = {**os.environ, "FORECAST_HOME": str(home)}
    out = [subprocess.run([sys.executable, "-c", code], env=env, cwd=home, capture_output=True, text=True,
                          timeout=120) for _ in range(2)]
    assert [p.returncode for p in out] == [0, 0], out[1].stderr[-500:]
    assert len(_kept(home)) == 1  # the second process read the first one's kept config
    assert all(str(home / ".cache" / "hydra") in p.stdout for p in out), [p.stdout for p in out]


def test_the_least_recently_used_configs_beyond_the_limit_are_removed(tmp_path, project_home, monkeypatch):
    """A dated override run every day is a new key every day: the folder keeps the most recently used configs (a hit
    counts as a use), not every one ever composed. Without the pruning the folder holds all four below."""
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
    _composed(home, monkeypatch, [f"as_of={days[0]}"])  # a hit: used now
    _composed(home, monkeypatch, [f"as_of={days[2]}"])  # a third: the least recently used (the second) goes
    kept = {p.name for p in _kept(home)}
    assert len(kept) == 2 and names[0] in kept and names[1] not in kept  # without the touch on a hit: the reverse
    assert _composed(home, monkeypatch, [f"as_of={days[0]}"]).as_of == days[0]
