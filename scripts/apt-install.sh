#!/usr/bin/env bash
# Installs Debian packages with apt-get after waiting, at most LIFTSAFE_APT_LOCK_TIMEOUT seconds (default 120),
# for another apt/dpkg run (unattended upgrades, a concurrent bootstrap) to release the package locks; without
# the wait a concurrent install made `apt-get install fonts-noto-cjk` fail and report tests pass or fail by luck.
#   scripts/apt-install.sh PACKAGE...     wait, apt-get update, apt-get install (exit 1 if still locked)
#   scripts/apt-install.sh --wait-only    only wait for the locks (exit 0 when free, 1 on timeout)
# LIFTSAFE_APT_LOCKS (space-separated files) replaces the default lock files (for tests).
set -euo pipefail
timeout=${LIFTSAFE_APT_LOCK_TIMEOUT:-120}
locks=${LIFTSAFE_APT_LOCKS:-/var/lib/dpkg/lock-frontend /var/lib/dpkg/lock /var/lib/apt/lists/lock /var/cache/apt/archives/lock}

wait_for_locks() {
  # apt and dpkg hold fcntl (POSIX) locks on these files: probe each with a non-blocking lockf
  # shellcheck disable=SC2086
  "${PYTHON:-python3}" - "$timeout" $locks <<'PY'
import fcntl, os, sys, time

timeout, paths = float(sys.argv[1]), sys.argv[2:]
deadline, said = time.monotonic() + timeout, False
while True:
    busy = []
    for path in paths:
        try:
            fd = os.open(path, os.O_RDWR)
        except OSError:  # absent or not ours to open: not a lock we wait for
            continue
        try:
            fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            fcntl.lockf(fd, fcntl.LOCK_UN)
        except OSError:
            busy.append(path)
        finally:
            os.close(fd)
    if not busy:
        if said:
            print("package locks free: continuing", file=sys.stderr)
        sys.exit(0)
    if time.monotonic() >= deadline:
        print(f"apt/dpkg still locked after {timeout:g} s ({', '.join(busy)}): another package install is running; "
              "run this again when it has finished (or raise LIFTSAFE_APT_LOCK_TIMEOUT)", file=sys.stderr)
        sys.exit(1)
    if not said:
        print(f"waiting up to {timeout:g} s for another package install to finish ({', '.join(busy)} locked) …",
              file=sys.stderr)
        said = True
    time.sleep(1)
PY
}

if [ "${1:-}" = "--wait-only" ]; then
  wait_for_locks
  exit $?
fi
[ $# -gt 0 ] || { echo "usage: scripts/apt-install.sh PACKAGE... | --wait-only" >&2; exit 2; }
for attempt in 1 2 3; do  # a lock taken between our wait and apt-get's own start: wait again
  wait_for_locks || exit 1
  if apt-get -o DPkg::Lock::Timeout="$timeout" update -qq \
     && DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout="$timeout" install -y -qq "$@" >/dev/null; then
    exit 0
  fi
  echo "apt-get install $* failed (attempt $attempt of 3)" >&2
  sleep 2
done
exit 1
