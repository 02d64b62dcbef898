#!/usr/bin/env bash
# The main job on embedded defaults: synthetic leak → import → server. Re-runnable.
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS=${1:-3000}; PORT=${2:-8000}
PY=.venv/bin/python
# Letters, emails and the sample code point at this server.
export PUBLIC_BASE_URL="${PUBLIC_BASE_URL:-http://127.0.0.1:$PORT}"
# One cache for the server and the periodic tasks (two processes): the CNIL counts they refresh reach the page.
export CACHE_URL="${CACHE_URL:-filecache://$PWD/var/cache}"
mkdir -p var
$PY manage.py migrate --noinput -v 0
$PY manage.py generate_leak var/demo_leak.csv --rows "$ROWS" --labs 5 --seed 2021
$PY manage.py create_breach demo-2021 --title "Fuite de données d'un éditeur de logiciel de laboratoire" \
  --aware-at 2021-02-23T09:00+01:00
# The synthetic leak creates its laboratories (a real one is imported after its laboratories are listed).
$PY manage.py import_leak var/demo_leak.csv --breach demo-2021 --rejects var/demo_rejects.csv --allow-new-laboratories
$PY manage.py demo_laboratories
# Campaign: created, approved by a second person, launched on the first laboratory; prints where
# the emails (var/outbox/) and the letters (var/print/, merged PDF + manifest) went.
$PY manage.py campaign demo --breach demo-2021
$PY manage.py demo_users
$PY manage.py demo_patient
# Celery beat's work without a broker (deadline reminders T-24 h / T-6 h / overdue, stuck rows re-queued,
# CNIL counts): a second process running CELERY_BEAT_SCHEDULE at its intervals, stopped with the server.
$PY manage.py run_periodic &
PERIODIC_PID=$!
stop_periodic() { kill "$PERIODIC_PID" 2>/dev/null || true; wait "$PERIODIC_PID" 2>/dev/null || true; }
trap stop_periodic EXIT
trap 'exit 130' INT TERM
cat <<EOF

Pages (server on http://127.0.0.1:$PORT, Ctrl-C to stop the server and the periodic tasks):
  admin (DPO, opérateur)        http://127.0.0.1:$PORT/admin/
  tableau de bord DPO           http://127.0.0.1:$PORT/tableau-de-bord/
  tableau de bord liaison CNIL  http://127.0.0.1:$PORT/cnil/
  page de statut (patients)     http://127.0.0.1:$PORT/verifier/   (English: /check/)
  rappels d'échéance aux DPO    var/outbox/ (envoyés par les tâches périodiques : lignes « [périodique …] »)
EOF
# Not exec: the shell stays to stop the periodic tasks when the server ends (Ctrl-C included).
$PY manage.py runserver "127.0.0.1:$PORT"
