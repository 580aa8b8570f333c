#!/usr/bin/env bash
# Creates .venv (once) and installs liftsafe with its dependencies when
# pyproject.toml changed since the last install. Needs only python3 >= 3.11.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
stamp=.venv/.liftsafe-installed
want=$(cat pyproject.toml | sha256sum | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e ".[dev]"
  echo "$want" > "$stamp"
fi
# .po → .mo with polib (no GNU gettext needed)
.venv/bin/python -c "from liftsafe.core.i18n import compile_catalogs; compile_catalogs()"
