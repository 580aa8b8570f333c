#!/usr/bin/env bash
# Installs liftsafe with its test tools and runs the whole test suite on
# SQLite and, when LIFTSAFE_TEST_DATABASE_URL points at PostgreSQL, again on
# PostgreSQL. Browser tests use Debian's chromium (installed here if missing
# and we are root). Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")"
scripts/bootstrap.sh
# Debian packages the tests use: chromium (browser tests), Noto CJK fonts
# (Chinese text in screenshots and PDFs). Installed when missing and root.
need=""
[ -x /usr/bin/chromium ] || need="$need chromium"
dpkg -s fonts-noto-cjk >/dev/null 2>&1 || need="$need fonts-noto-cjk"
if [ -n "$need" ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "installing Debian packages:$need"
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $need >/dev/null) || echo "apt-get install$need failed"
fi
status=0
echo "== tests on SQLite =="
env -u LIFTSAFE_TEST_DATABASE_URL .venv/bin/python -m pytest -q "$@" || status=$?
if [ -n "${LIFTSAFE_TEST_DATABASE_URL:-}" ]; then
  echo "== tests on PostgreSQL ($LIFTSAFE_TEST_DATABASE_URL) =="
  .venv/bin/python -m pytest -q "$@" || status=$?
fi
exit $status
