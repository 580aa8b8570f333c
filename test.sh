#!/usr/bin/env bash
# Installs liftsafe with its test tools and runs the whole test suite on
# SQLite and, when LIFTSAFE_TEST_DATABASE_URL points at PostgreSQL, again on
# PostgreSQL. Browser tests use Debian's chromium (installed here if missing
# and we are root). Extra arguments go to pytest.
set -euo pipefail
case "${1:-}" in
  -h|--help)
    cat <<'USAGE'
Usage: ./test.sh [pytest arguments]      e.g. ./test.sh -x liftsafe/registry

Creates .venv/ and installs liftsafe with its test tools (scripts/bootstrap.sh, once), installs Debian's
chromium and fonts-noto-cjk when missing and run as root, then runs the test suite with pytest on SQLite
and, when LIFTSAFE_TEST_DATABASE_URL is set, again on PostgreSQL. Arguments go to pytest on both runs
(pytest's own help: .venv/bin/python -m pytest --help). Exit status: non-zero if either run failed.

Environment:
  LIFTSAFE_TEST_DATABASE_URL   a PostgreSQL server for the second run, e.g.
                               postgresql://postgres@127.0.0.1:5432/postgres (unset: SQLite only)
  LIFTSAFE_TEST_DATABASE_NAME  the test database created there (default test_liftsafe); give each
                               concurrent run its own name
  LIFTSAFE_TEST_SQLITE_PATH    the SQLite run's database file (default var/test_liftsafe_<pid>.sqlite3,
                               removed at the end; a file, not memory, so threads queue on its lock)
  CI                           set (e.g. CI=true): a test whose service is missing (the MQTT broker
                               mosquitto; PostgreSQL when LIFTSAFE_TEST_DATABASE_URL is set) fails
                               instead of being skipped, and a missing CJK font (fonts-noto-cjk) stops
                               the run before the tests (.ci/run sets it)
  LIFTSAFE_APT_LOCK_TIMEOUT    seconds to wait for another apt/dpkg run before installing (default 120)
  PYTHON                       the Python (>= 3.11) that creates .venv/ (default python3)
USAGE
    exit 0 ;;
esac
cd "$(dirname "$0")"
scripts/bootstrap.sh
# Debian packages the tests use: chromium (browser tests), Noto CJK fonts
# (Chinese text in screenshots and PDFs). Installed when missing and root.
need=""
[ -x /usr/bin/chromium ] || need="$need chromium"
dpkg -s fonts-noto-cjk >/dev/null 2>&1 || need="$need fonts-noto-cjk"
if [ -n "$need" ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "installing Debian packages:$need"
  # waits (bounded, LIFTSAFE_APT_LOCK_TIMEOUT, default 120 s) for a concurrent apt/dpkg run, then installs
  # shellcheck disable=SC2086
  scripts/apt-install.sh $need || echo "apt-get install$need failed"
fi
# Under CI the report tests must not pass or fail by luck: without the CJK font, stop here with the reason.
if [ -n "${CI:-}" ] && ! .venv/bin/python -c "from liftsafe.reports.fonts import cjk_font; cjk_font()" 2>/dev/null; then
  echo "CI: no CJK font for the report tests (Debian package fonts-noto-cjk is not installed and could not be" >&2
  echo "installed: run as root, or wait for the other package install holding the apt lock). Not running the tests." >&2
  exit 1
fi
status=0
echo "== tests on SQLite =="
env -u LIFTSAFE_TEST_DATABASE_URL .venv/bin/python -m pytest -q "$@" || status=$?
if [ -n "${LIFTSAFE_TEST_DATABASE_URL:-}" ]; then
  echo "== tests on PostgreSQL ($LIFTSAFE_TEST_DATABASE_URL) =="
  .venv/bin/python -m pytest -q "$@" || status=$?
fi
exit $status
