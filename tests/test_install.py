"""A package that installs and runs outside a checkout: ``forecast init DIR`` writes a working project home, the tool
finds its home from ``$FORECAST_HOME``, the current folder upwards or the checkout, and says how to make one when
there is none; a wheel built from the repository carries ``conf/`` and ``data/`` and, installed into a fresh virtual
environment, writes a report from an empty folder after ``forecast init`` (the pattern of Hydra's
``examples/advanced/hydra_app_example`` and its installed-app test).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from forecast import paths
from forecast.cli.main import main
from forecast.errors import ConfigError, InputError
from forecast.home import init

ROOT = Path(__file__).resolve().parents[1]
BUILD_INPUTS = ("pyproject.toml", "setup.py", "MANIFEST.in", "README.md", "forecast", "conf", "data")


def tracked(sub: str) -> set[str]:
    out = subprocess.run(["git", "-C", str(ROOT), "ls-files", sub], capture_output=True, text=True, check=True).stdout
    return set(out.split())


def files_under(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()}


def run_cli(argv: list[str], capsys) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    cap = capsys.readouterr()
    return exc.value.code, cap.out, cap.err


# ---------------------------------------------------------------------- forecast init, in process
def test_init_writes_a_home_the_tool_runs_from(tmp_path, monkeypatch, capsys):
    code, out, err = run_cli(["init", str(tmp_path / "home")], capsys)
    assert code == 0, err
    home = tmp_path / "home"
    assert f"project home written: {home}" in out
    for sub in ("conf", "data"):  # the checkout's own folders, file for file (an editable install ships those)
        assert files_under(home / sub) == {p.split("/", 1)[1] for p in tracked(sub)}, sub
    assert (home / "conf" / "priors" / "article.yaml").read_bytes() == (ROOT / "conf/priors/article.yaml").read_bytes()
    assert (home / "reports").is_dir() and not any((home / "reports").iterdir())
    assert "forecast init" in (home / "README.md").read_text()
    # the tool runs there: found from a folder inside the home, with no $FORECAST_HOME
    monkeypatch.delenv("FORECAST_HOME")
    monkeypatch.chdir(home / "data" / "ontology")
    assert paths.project_root() == home
    code, out, err = run_cli(["scenarios"], capsys)
    assert code == 0 and "one_time_raid" in out, err


def test_init_refuses_a_folder_with_something_in_it_unless_told(tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("mine")
    code, out, err = run_cli(["init", str(tmp_path)], capsys)
    assert code == 2 and err.count("\n") == 1, err
    assert "is not empty" in err and "--force" in err and not (tmp_path / "conf").exists()
    code, out, err = run_cli(["init", str(tmp_path), "--force"], capsys)
    assert code == 0, err
    assert (tmp_path / "notes.txt").read_text() == "mine" and paths.is_home(tmp_path)
    # a home is never written twice, a conf/ or data/ in the way is never merged into, a file is no folder
    with pytest.raises(InputError, match="already a project home"):
        init(tmp_path, force=True)
    other = tmp_path / "other"
    (other / "data").mkdir(parents=True)
    with pytest.raises(InputError, match=r"other/data exists"):
        init(other, force=True)
    assert not (other / "conf").exists()
    with pytest.raises(InputError, match="is a file, not a folder"):
        init(tmp_path / "notes.txt")
    with pytest.raises(InputError, match="filesystem root"):
        init("/")


def test_without_a_home_the_error_says_how_to_make_one(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("FORECAST_HOME")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(paths, "PACKAGE_DIR", tmp_path / "site-packages" / "forecast")  # as a wheel: no checkout
    with pytest.raises(ConfigError) as exc:
        paths.project_root()
    msg = str(exc.value)
    assert f"no conf/config.yaml and data/ in {tmp_path} or its parents" in msg
    assert "forecast init DIR" in msg and "FORECAST_HOME" in msg
    code, out, err = run_cli(["scenario=one_time_raid"], capsys)
    assert code == 2 and err.startswith("forecast: error: project home: none found") and err.count("\n") == 1, err


def test_help_info_and_cfg_outside_a_home_describe_the_shipped_settings(tmp_path, monkeypatch, capsys):
    """An installed package run from an empty folder: ``--help``, ``--info`` and ``--cfg job`` describe the settings
    ``forecast init`` would write (and say so) instead of stopping at "no project home"; a run still stops there."""
    from forecast import home as home_module

    package = tmp_path / "site-packages" / "forecast"  # as a wheel: its conf/ and data/ in the package, under _home
    for sub in ("conf", "data"):
        shutil.copytree(ROOT / sub, package / "_home" / sub)
    monkeypatch.setattr(paths, "PACKAGE_DIR", package)
    monkeypatch.setattr(home_module, "PACKAGE_DIR", package)
    monkeypatch.delenv("FORECAST_HOME")
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.chdir(empty)
    before = files_under(package)
    code, out, err = run_cli(["--help"], capsys)
    assert code == 0 and "forecast init DIR" in out and "== Settings: type and allowed values ==" in out, err
    assert err.startswith("forecast: warning: no project home here: showing the shipped settings") and \
        str(package / "_home") in err, err
    code, out, err = run_cli(["--cfg", "job"], capsys)
    assert code == 0 and "scenario:" in out and "name: one_time_raid" in out, err
    monkeypatch.delenv("FORECAST_HOME")  # the help set it for its own process; a run still needs a home
    code, out, err = run_cli(["scenario=one_time_raid"], capsys)
    assert code == 2 and "project home: none found" in err, err
    assert files_under(package) == before and not any(empty.iterdir())  # describing wrote nothing anywhere


def test_the_home_is_env_then_the_current_folder_upwards_then_the_checkout(tmp_path, monkeypatch):
    a, b = init(tmp_path / "a"), init(tmp_path / "b")
    monkeypatch.setenv("FORECAST_HOME", str(b))
    monkeypatch.chdir(a / "data")
    assert paths.project_root() == b  # $FORECAST_HOME first
    monkeypatch.delenv("FORECAST_HOME")
    assert paths.project_root() == a  # then the home holding the current folder
    monkeypatch.chdir(tmp_path)
    assert paths.project_root() == ROOT  # then the checkout this package runs from
    (a / "conf" / "config.yaml").unlink()
    assert paths.find_home(a / "data") is None  # a home needs its settings


# ---------------------------------------------------------------------- the wheel, installed elsewhere
def build_wheel(tmp_path: Path) -> Path:
    """A wheel of the repository as it is, built offline in a copy (the build writes build/ and egg-info)."""
    src = tmp_path / "src"
    src.mkdir()
    for name in BUILD_INPUTS:
        (shutil.copytree if (ROOT / name).is_dir() else shutil.copy2)(
            ROOT / name, src / name, **({"ignore": shutil.ignore_patterns("__pycache__", "_home")}
                                        if (ROOT / name).is_dir() else {}))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-q",
                    "-w", str(tmp_path / "dist"), str(src)], check=True, capture_output=True, text=True)
    (wheel,) = (tmp_path / "dist").glob("forecast-*.whl")
    return wheel


@pytest.mark.slow
def test_an_installed_wheel_writes_a_report_from_an_empty_folder(tmp_path, default_fit, session_cache):
    """Built, installed alone into a fresh environment (the test environment's libraries made visible, offline), run
    from an empty folder: ``forecast init``, then a report. The home's inputs are the checkout's, so the installed
    package must find the session's default posterior under the same inputs hash (same code, data, settings and
    library versions): a cache hit, no fit; a miss would mean the wheel computes a different model or hash."""
    wheel = build_wheel(tmp_path)
    names = set(zipfile.ZipFile(wheel).namelist())
    for sub in ("conf", "data"):  # every file of the repository's conf/ and data/, and only those
        shipped = {n.split(f"forecast/_home/{sub}/", 1)[1] for n in names if n.startswith(f"forecast/_home/{sub}/")}
        assert shipped == {p.split("/", 1)[1] for p in tracked(sub)}, sub
    assert "forecast/outputs/whatif.js" in names

    # a fresh environment: the wheel installed alone, then the test environment's libraries made visible (offline)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    py = venv / "bin" / "python"
    subprocess.run([sys.executable, "-m", "pip", "--python", str(py), "install", "--no-deps", "--no-index", "-q",
                    str(wheel)], check=True, capture_output=True, text=True)
    site = Path(subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                               check=True, capture_output=True, text=True).stdout.strip())
    (site / "zz_test_env.pth").write_text(sysconfig.get_path("purelib") + "\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("FORECAST_") and k != "PYTHONPATH"}
    forecast = str(venv / "bin" / "forecast")
    work = tmp_path / "work"
    work.mkdir()

    def run(*argv, cwd=work):
        return subprocess.run([forecast, *argv], cwd=cwd, env=env, capture_output=True, text=True, timeout=1800)

    where = subprocess.run([str(py), "-c", "import forecast; print(forecast.__file__)"], env=env, cwd=work,
                           capture_output=True, text=True, check=True).stdout.strip()
    assert where.startswith(str(site)), f"the test imported {where}, not the installed wheel"
    r = run("scenarios")  # no home yet: one line saying how to make one
    assert r.returncode == 2 and "forecast init DIR" in r.stderr and r.stderr.count("\n") == 1, r.stderr
    r = run("init", "home")
    assert r.returncode == 0, r.stderr
    home = work / "home"
    r = run("scenario=one_time_raid", f"paths.cache={session_cache}", "report.figures=false", "report.whatif_draws=0",
            cwd=home)
    assert r.returncode in (0, 3), r.stderr[-3000:]  # 3: the default fit's diagnostics failed (test_default_posterior)
    assert f"posterior cache hit {default_fit.inputs_hash}" in r.stderr, r.stderr[-3000:]
    report = home / "reports" / "one_time_raid"
    assert {"forecast.json", "report.html", "report.md", "probabilities.csv"} <= {p.name for p in report.iterdir()}
    data = json.loads((report / "forecast.json").read_text())
    assert data["inputs_hash"] == default_fit.inputs_hash and len(data["responses"]) > 10
    assert not (ROOT / "reports" / "one_time_raid").exists()  # nothing written into the checkout
