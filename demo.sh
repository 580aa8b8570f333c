#!/usr/bin/env bash
# Installs liftsafe and runs the platform on its embedded default (SQLite):
# the real NYC registry loaded, demo accounts for every role (printed),
# simulated live traffic, served on http://127.0.0.1:8000/ .
# Extra arguments go to `liftsafe demo` (e.g. ./demo.sh --port 8080).
set -euo pipefail
cd "$(dirname "$0")"
scripts/bootstrap.sh
exec .venv/bin/liftsafe demo "$@"
