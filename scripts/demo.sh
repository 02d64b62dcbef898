#!/usr/bin/env bash
# The main job on embedded defaults: synthetic leak → import → server. Re-runnable.
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS=${1:-3000}; PORT=${2:-8000}
PY=.venv/bin/python
# Letters, emails and the sample code point at this server.
export PUBLIC_BASE_URL="${PUBLIC_BASE_URL:-http://127.0.0.1:$PORT}"
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
cat <<EOF

Pages (server on http://127.0.0.1:$PORT, Ctrl-C to stop):
  admin (DPO, opérateur)        http://127.0.0.1:$PORT/admin/
  tableau de bord DPO           http://127.0.0.1:$PORT/tableau-de-bord/
  tableau de bord liaison CNIL  http://127.0.0.1:$PORT/cnil/
  page de statut (patients)     http://127.0.0.1:$PORT/verifier/   (English: /check/)
EOF
exec $PY manage.py runserver "127.0.0.1:$PORT"
