#!/usr/bin/env bash
# Makes sure the local Redis Cluster of the tests runs on loopback:
#   redis+cluster://127.0.0.1:7000,127.0.0.1:7001,127.0.0.1:7002
# 6 nodes of `redis-server --cluster-enabled yes` on ports 7000-7005 (3
# primaries, 3 replicas, cluster bus on 17000-17005), nothing kept on disk but
# each node's nodes.conf, under $FEDIKV_REDIS_CLUSTER_DIR (default
# /tmp/fedikv-redis-cluster). A short cluster-node-timeout makes failovers
# quick.
#
# Idempotent: nodes that do not answer are started (a node that was stopped
# rejoins with its nodes.conf, as a replica if it was failed over); a cluster
# that was never created is created with `redis-cli --cluster create`; a
# cluster left broken (e.g. slots without a primary, or slots left open by a
# migration cut short) is reset and created anew, which drops its keys.
# Then it waits until the cluster reports cluster_state:ok. Needs
# redis-server and redis-cli (scripts/services.sh installs them). Stopping it: `scripts/redis-cluster.sh stop`.
set -euo pipefail

PORTS=(7000 7001 7002 7003 7004 7005)
DIR="${FEDIKV_REDIS_CLUSTER_DIR:-/tmp/fedikv-redis-cluster}"
NODE_TIMEOUT_MS=2000

log() { echo "redis-cluster: $*" >&2; }
die() { log "$*"; exit 1; }
cli() { local port=$1; shift; redis-cli -h 127.0.0.1 -p "$port" "$@"; }
pong() { [ "$(cli "$1" ping 2>/dev/null)" = PONG ]; }

# Waits up to $2 seconds for "$3..." to succeed; $1 names it.
wait_for() {
  local what=$1 seconds=$2
  shift 2
  local deadline=$((SECONDS + seconds))
  until "$@" >/dev/null 2>&1; do
    [ "$SECONDS" -lt "$deadline" ] || die "$what did not happen within ${seconds}s"
    sleep 0.2
  done
}

# The value of field $2 of `CLUSTER INFO` on port $1.
info_field() { cli "$1" cluster info | tr -d '\r' | sed -n "s/^$2://p"; }

cluster_ok() {
  local port
  for port in "${PORTS[@]}"; do
    [ "$(info_field "$port" cluster_state)" = ok ] || return 1
    [ "$(info_field "$port" cluster_known_nodes)" = "${#PORTS[@]}" ] || return 1
    [ "$(info_field "$port" cluster_slots_ok)" = 16384 ] || return 1
  done
}

start_node() {
  local port=$1
  mkdir -p "$DIR/$port"
  redis-server --port "$port" --bind 127.0.0.1 --daemonize yes \
    --cluster-enabled yes --cluster-config-file nodes.conf \
    --cluster-node-timeout "$NODE_TIMEOUT_MS" \
    --save "" --appendonly no --dir "$DIR/$port" \
    --logfile "$DIR/$port/redis.log" --pidfile "$DIR/$port/redis.pid"
}

stop_all() {
  local port
  for port in "${PORTS[@]}"; do
    if pong "$port"; then cli "$port" shutdown nosave >/dev/null 2>&1 || true; fi
  done
}

create() {
  local port addrs=()
  for port in "${PORTS[@]}"; do
    cli "$port" flushall >/dev/null 2>&1 || true
    cli "$port" cluster reset hard >/dev/null
    addrs+=("127.0.0.1:$port")
  done
  log "creating the cluster on ${addrs[*]}"
  redis-cli --cluster create "${addrs[@]}" --cluster-replicas 1 --cluster-yes >"$DIR/create.log" 2>&1 \
    || { cat "$DIR/create.log" >&2; die "redis-cli --cluster create failed"; }
}

command -v redis-server >/dev/null 2>&1 && command -v redis-cli >/dev/null 2>&1 \
  || die "redis-server and redis-cli are needed: run scripts/services.sh first"

if [ "${1:-}" = stop ]; then
  stop_all
  exit 0
fi

for port in "${PORTS[@]}"; do
  if ! pong "$port"; then
    log "starting the node on 127.0.0.1:$port"
    start_node "$port"
  fi
done
for port in "${PORTS[@]}"; do
  wait_for "node $port answering PING" 30 pong "$port"
done

if [ "$(info_field "${PORTS[0]}" cluster_known_nodes)" = 1 ]; then
  create
else
  # Nodes that just rejoined need a few node timeouts to agree again.
  if ! (wait_for "cluster_state:ok" 15 cluster_ok) 2>/dev/null; then
    log "the cluster is not healthy: resetting it (its keys are dropped)"
    create
  fi
fi
wait_for "cluster_state:ok on every node" 60 cluster_ok
# A kept cluster may have had slots moved: spread them evenly again, so every primary holds its share of keys
# (redis-cli moves nothing when the primaries are within 2% of each other).
# A migration cut short (a run stopped mid-reshard) leaves slots open, and
# redis-cli refuses to rebalance such a cluster: reset it instead (a new
# cluster spreads its slots evenly).
if ! redis-cli --cluster rebalance "127.0.0.1:${PORTS[0]}" --cluster-yes >"$DIR/rebalance.log" 2>&1; then
  log "the cluster cannot be rebalanced (see $DIR/rebalance.log): resetting it (its keys are dropped)"
  create
fi
wait_for "cluster_state:ok on every node" 60 cluster_ok
log "Redis Cluster is up on 127.0.0.1:${PORTS[0]}-${PORTS[-1]}"
