#!/usr/bin/env bash
# The KV Connect server the Deno KV tests use (called by scripts/services.sh;
# Deno itself comes from interop/package-lock.json, scripts/interop-setup.sh):
#   - the `denokv` self-hosted KV Connect server (crates.io, built once with
#     `cargo install --locked` into $FEDIKV_CACHE, default ~/.cache/fedikv,
#     and reused while present);
#   - that server on 127.0.0.1:$FEDIKV_DENOKV_PORT (default 4512) with the
#     access token $FEDIKV_DENOKV_TOKEN, its database in $FEDIKV_CACHE.
# Idempotent: when all is installed and the port answers it only checks.
# It never stops or restarts anything.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

log() { echo "denokv: $*" >&2; }
die() { log "$*"; exit 1; }
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

DENOKV_VERSION=0.14.0
cache=${FEDIKV_CACHE:-$HOME/.cache/fedikv}
port=${FEDIKV_DENOKV_PORT:-4512}
token=${FEDIKV_DENOKV_TOKEN:-fedikv-test-token}
denokv="$cache/denokv-$DENOKV_VERSION/bin/denokv"

# ---------------------------------------------------------------- denokv server
if [ ! -x "$denokv" ]; then
  log "building denokv $DENOKV_VERSION into $cache (once; a few minutes)"
  cargo install "denokv@$DENOKV_VERSION" --locked --root "$cache/denokv-$DENOKV_VERSION" >&2
fi
if ! port_open "$port"; then
  mkdir -p "$cache"
  log "starting denokv on 127.0.0.1:$port (database $cache/denokv-server.sqlite3)"
  setsid "$denokv" --sqlite-path "$cache/denokv-server.sqlite3" serve \
    --access-token "$token" --addr "127.0.0.1:$port" \
    >"$cache/denokv-server.log" 2>&1 </dev/null &
  for _ in $(seq 1 60); do
    port_open "$port" && break
    sleep 0.5
  done
  port_open "$port" || die "denokv did not listen on 127.0.0.1:$port; see $cache/denokv-server.log"
fi
log "denokv $DENOKV_VERSION is up on 127.0.0.1:$port"
