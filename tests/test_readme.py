"""The README's Python example runs as written (so it cannot drift from the code)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


@pytest.mark.slow
def test_readme_python_api_block_runs(default_fit, tmp_path, monkeypatch, session_cache):
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    assert blocks, "README has no python block"
    code = blocks[0]
    # keep the run inside tmp paths: same config, reports elsewhere, the session's cached posterior
    code = code.replace('forecast.compose(["scenario=repeated_raids", "priors.public_opposition.strength=2"])',
                        f'forecast.compose(["scenario=repeated_raids", "paths.cache={session_cache}", '
                        f'"paths.reports={tmp_path}"])')
    ns: dict = {}
    exec(compile(code, str(README), "exec"), ns)  # noqa: S102 - the README's own example
    assert ns["pred"]["p"].sizes["scenario"] == 2
    assert (tmp_path / "repeated_raids" / "report.html").is_file()
