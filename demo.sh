#!/usr/bin/env bash
# Installs liftsafe and runs the platform on its embedded default (SQLite):
# the real NYC registry loaded, demo accounts for every role (printed),
# simulated live traffic, served on http://127.0.0.1:8000/ .
# Extra arguments go to `liftsafe demo` (e.g. ./demo.sh --port 8080).
set -euo pipefail
case "${1:-}" in
  -h|--help)
    cat <<'USAGE'
Usage: ./demo.sh [--port 8000] [--host 127.0.0.1] [--workers 2] [--no-serve]

Runs the liftsafe demo: creates .venv/ and installs liftsafe (scripts/bootstrap.sh, once), then
`liftsafe demo`: migrates the database, loads the real NYC elevator registry, the MTA station units
(their 2023 outage tickets replayed as 96333 cases) and Ontario's incident reports as hazard leads,
generates the organisations, creates one account per role and prints them, then serves the platform
with its background worker (simulated live 96333 and IoT traffic) until Ctrl-C. The first start takes
1½ to 4 minutes (idle to busy 2-core machine) after a one-time install of 1-2 minutes, showing each step's
progress; later starts skip what is already loaded (15-30 s). Options go to `liftsafe demo`:
  --port N       port to serve on (default 8000)
  --host ADDR    address to bind (default 127.0.0.1)
  --workers N    web worker processes (default 2)
  --no-serve     only set up the data and the accounts, then exit

Log in at http://127.0.0.1:8000/login/ (or your --host/--port). Demo accounts, all with the password
liftsafe-demo: admin (superuser, /admin/), regulator, regulator_mn, operator, maintenance, useunit,
inspector, insurer, rescue. Never expose the demo on a public host.

Environment:
  LIFTSAFE_DATABASE_URL  database (default SQLite in $LIFTSAFE_DATA_DIR/liftsafe.sqlite3),
                         e.g. postgresql://user:pw@127.0.0.1:5432/liftsafe
  LIFTSAFE_DATA_DIR      SQLite database, static files, media (default ./var)
  LIFTSAFE_MQTT_URL      e.g. mqtt://127.0.0.1:1883: the demo's IoT traffic goes through that broker
                         (the worker publishes and runs an MQTT consumer); unset: fed in-process
  LIFTSAFE_LOG_LEVEL     log level (default INFO)
  PYTHON                 the Python (>= 3.11) that creates .venv/ (default python3)
More settings: README.md, "Configuration".
USAGE
    exit 0 ;;
esac
cd "$(dirname "$0")"
scripts/bootstrap.sh
exec .venv/bin/liftsafe demo "$@"
