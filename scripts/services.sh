#!/usr/bin/env bash
# Make sure PostgreSQL, Redis and RabbitMQ answer on 127.0.0.1, starting them (../shared/SERVICES.md) if not.
# Exit 0 when all answer, 1 otherwise.
set -uo pipefail
pg_up() { pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; }
redis_up() { [ "$(redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null)" = "PONG" ]; }
if ! pg_up && command -v pg_ctlcluster >/dev/null; then
  echo "services: starting PostgreSQL"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start || true
  for _ in $(seq 20); do pg_up && break; sleep 0.5; done
fi
if ! redis_up && command -v redis-server >/dev/null; then
  echo "services: starting Redis"
  mkdir -p /var/lib/redis /var/log/redis 2>/dev/null || true
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log || true
  for _ in $(seq 20); do redis_up && break; sleep 0.5; done
fi
# RabbitMQ: the exactly-once proofs run on it too (tests/notifier/test_integration.py).
rabbitmq_up() { (exec 3<>/dev/tcp/127.0.0.1/5672) 2>/dev/null; }
if ! rabbitmq_up && command -v rabbitmq-server >/dev/null; then
  echo "services: starting RabbitMQ"
  rabbitmq-server -detached || true
  for _ in $(seq 60); do rabbitmq_up && break; sleep 1; done
fi
ok=0
pg_up || { echo "services: PostgreSQL is not reachable on 127.0.0.1:5432" >&2; ok=1; }
redis_up || { echo "services: Redis is not reachable on 127.0.0.1:6379" >&2; ok=1; }
rabbitmq_up || { echo "services: RabbitMQ is not reachable on 127.0.0.1:5672" >&2; ok=1; }
exit $ok
