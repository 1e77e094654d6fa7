#!/usr/bin/env bash
# Create (or refresh) the project's virtualenv in .venv with a Python >= 3.12 and install the
# project. Idempotent: reinstalls only when pyproject.toml changed. Usage: tools/bootstrap.sh [test]
set -euo pipefail
cd "$(dirname "$0")/.."
extra="${1:-}"
venv=.venv
stamp="$venv/.installed-$(sha256sum pyproject.toml | cut -c1-16)${extra:+-$extra}"

ok_python() { "$1" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' >/dev/null 2>&1; }

find_python() {
  local c
  for c in "${PYTHON:-}" python3.13 python3.12 python3; do
    [ -n "$c" ] && command -v "$c" >/dev/null 2>&1 && ok_python "$(command -v "$c")" && { command -v "$c"; return; }
  done
  local roots=()
  command -v pyenv >/dev/null 2>&1 && roots+=("$(pyenv root)/versions")
  roots+=("$HOME/.pyenv/versions" /root/.pyenv/versions /usr/local/bin /usr/bin /opt/python*/bin)
  for r in "${roots[@]}"; do
    for c in "$r"/3.1[2-9]*/bin/python3 "$r"/python3.1[2-9]; do
      [ -x "$c" ] && ok_python "$c" && { echo "$c"; return; }
    done
  done
  return 1
}

if [ -x "$venv/bin/python" ] && ! ok_python "$venv/bin/python"; then rm -rf "$venv"; fi
if [ ! -x "$venv/bin/python" ]; then
  py=$(find_python) || {
    echo "forecast: error: no Python >= 3.12 found (PyMC 6 and ArviZ 1.x need it); install one (e.g. 'pyenv install 3.12') or set PYTHON=/path/to/python3.12" >&2
    exit 2
  }
  echo "forecast: creating .venv with $py" >&2
  "$py" -m venv "$venv"
fi
if [ ! -f "$stamp" ]; then
  echo "forecast: installing the project into .venv (a few minutes the first time)" >&2
  "$venv/bin/python" -m pip install -q --upgrade pip >&2
  "$venv/bin/python" -m pip install -q -e ".${extra:+[$extra]}" >&2
  rm -f "$venv"/.installed-*
  touch "$stamp"
fi
