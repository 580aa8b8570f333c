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
  echo "installing liftsafe and its dependencies into .venv/ (once; again only when pyproject.toml changes) …"
  # -qq: errors only (a machine's pip configuration can add harmless warnings, e.g. about index folders it lacks);
  # PYTHONWARNINGS: the build backend's notes (setuptools' "Editable installation" banner) are not errors
  .venv/bin/python -m pip install -qq --upgrade pip
  PYTHONWARNINGS=ignore .venv/bin/python -m pip install -qq -e ".[dev]"
  echo "$want" > "$stamp"
fi
# Report PDFs and charts embed a CJK font (liftsafe/reports/fonts.py): Debian's fonts-noto-cjk.
# Installed when missing and we are root with apt; otherwise a note (reports then say which package is missing).
if command -v dpkg >/dev/null && ! dpkg -s fonts-noto-cjk >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing Debian package fonts-noto-cjk (Chinese text in report PDFs and charts)"
    # waits (bounded) for a concurrent apt/dpkg run to release the package locks, then installs
    scripts/apt-install.sh fonts-noto-cjk \
      || echo "apt-get install fonts-noto-cjk failed: report PDFs need a CJK font (see liftsafe/reports/fonts.py)"
  else
    echo "note: Debian package fonts-noto-cjk is not installed; report PDFs and charts need it (apt-get install fonts-noto-cjk)"
  fi
fi
# .po → .mo with polib (no GNU gettext needed)
.venv/bin/python -c "from liftsafe.core.i18n import compile_catalogs; compile_catalogs()"
