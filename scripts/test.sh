#!/usr/bin/env bash
# The whole suite: unit tests on the embedded shape (SQLite, eager Celery), then integration tests on
# PostgreSQL + Redis (+ real workers). With CI set, unreachable servers fail the run instead of skipping.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python

run_pytest() {  # pytest's exit 5 ("no tests collected") is not a failure of the suite
  set +e; "$PY" -m pytest "$@"; rc=$?; set -e
  [ $rc -eq 5 ] && rc=0
  return $rc
}

# axe-core, injected into pages by the browser tests' accessibility checks (pinned by package-lock.json).
AXE_DIR=tests/browser/vendor
if [ ! -f "$AXE_DIR/node_modules/axe-core/axe.min.js" ]; then
  if command -v npm >/dev/null; then
    npm ci --prefix "$AXE_DIR" --no-audit --no-fund --loglevel=error
  else
    echo "npm missing: the browser tests' accessibility checks will fail (apt-get install npm)" >&2
  fi
fi

echo "== unit tests (SQLite, eager Celery) =="
env -u DATABASE_URL -u CELERY_BROKER_URL "$PY" -m pytest -m "not integration" -q -n 2 -p no:cacheprovider "$@"

echo "== integration tests (PostgreSQL + Redis) =="
if ! bash scripts/services.sh; then
  if [ -n "${CI:-}" ]; then echo "integration servers unreachable and CI is set: failing" >&2; exit 1; fi
  echo "WARNING: PostgreSQL/Redis unreachable: integration tests NOT run" >&2; exit 0
fi
export DATABASE_URL="${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/notifier}"
export CELERY_BROKER_URL="${TEST_CELERY_BROKER_URL:-redis://127.0.0.1:6379/14}"
run_pytest -m integration -q -p no:cacheprovider "$@"
