#!/usr/bin/env bash
# Runs every test. Installs or starts what the tests need first, idempotently,
# so it works the same on a fresh machine, a developer's and CI.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '==> %s\n' "$*"; }

# Redis on 127.0.0.1:6379 for the Redis-backed tests; the Cluster and
# Sentinel tests start their own redis-server processes and join the Cluster
# with redis-cli (Debian's redis-tools, a dependency of redis-server).
if ! command -v redis-server >/dev/null; then
  log "installing redis-server"
  apt-get update -qq && apt-get install -y -qq redis-server >/dev/null
fi
if ! command -v redis-cli >/dev/null; then
  log "installing redis-tools (redis-cli)"
  apt-get update -qq && apt-get install -y -qq redis-tools >/dev/null
fi
if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  log "starting redis-server on 127.0.0.1:6379"
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log
  for _ in $(seq 50); do redis-cli ping >/dev/null 2>&1 && break; sleep 0.1; done
fi

# nginx (with auth_request) for the forward-auth test; it starts its own.
if ! command -v nginx >/dev/null && [ ! -x /usr/sbin/nginx ]; then
  log "installing nginx"
  apt-get update -qq && apt-get install -y -qq nginx >/dev/null
fi

# Debian's Chromium and ChromeDriver for the browser tests (tests/it/browser_*).
# Without them those tests fail, unless SKIP_BROWSER_TESTS=1.
if [ "${SKIP_BROWSER_TESTS:-}" != 1 ] && { [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; }; then
  log "installing chromium and chromium-driver"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
fi

log "cargo test"
cargo test --all-targets --no-fail-fast
