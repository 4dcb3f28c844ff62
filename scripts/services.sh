#!/usr/bin/env bash
# Makes sure PostgreSQL (5432), MariaDB (3306), Redis (6379) and the denokv
# KV Connect server (4512, scripts/denokv.sh) run on 127.0.0.1 the way the
# tests expect them:
#   postgres://postgres@127.0.0.1:5432/test   (trust auth for loopback TCP)
#   mysql://root@127.0.0.1:3306/test          (root without password)
#   redis://127.0.0.1:6379/
#   denokv+http://127.0.0.1:4512?token=fedikv-test-token
# Installs them with apt-get when missing (Debian), creates the PostgreSQL
# cluster and the `test` databases when absent, starts what is not running and
# waits until each one answers. Idempotent; when everything is up it only
# checks the ports and the databases. It never stops or restarts anything.
set -euo pipefail

log() { echo "services: $*" >&2; }
die() { log "$*"; exit 1; }

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Runs a command as root: directly, or through non-interactive sudo.
as_root() {
  if [ "$(id -u)" -eq 0 ]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo -n "$@"
  else
    die "need root to run: $* (run this script as root or install sudo)"
  fi
}

# Waits up to $2 seconds for command "$3..." to succeed; $1 names it.
wait_for() {
  local what=$1 seconds=$2
  shift 2
  local deadline=$((SECONDS + seconds))
  until "$@" >/dev/null 2>&1; do
    [ "$SECONDS" -lt "$deadline" ] || die "$what did not answer within ${seconds}s"
    sleep 0.5
  done
}

# The highest version-named entry of directory $1 (e.g. /etc/postgresql/15).
latest_version() {
  find "$1" -mindepth 1 -maxdepth 1 -printf '%f\n' 2>/dev/null | sort -V | tail -n 1
}

# ---------------------------------------------------------------- install
missing=()
command -v pg_ctlcluster >/dev/null 2>&1 && command -v psql >/dev/null 2>&1 || missing+=(postgresql)
[ -x /usr/sbin/mariadbd ] && command -v mariadb >/dev/null 2>&1 || missing+=(mariadb-server)
command -v redis-server >/dev/null 2>&1 && command -v redis-cli >/dev/null 2>&1 || missing+=(redis-server)
# The servers' own benchmark clients (scripts/bench_c_clients.py and its
# test); Debian's server packages bring them along.
command -v pgbench >/dev/null 2>&1 || missing+=(postgresql)
command -v mariadb-slap >/dev/null 2>&1 || command -v mysqlslap >/dev/null 2>&1 || missing+=(mariadb-client)
command -v redis-benchmark >/dev/null 2>&1 || missing+=(redis-tools)
if [ "${#missing[@]}" -gt 0 ]; then
  command -v apt-get >/dev/null 2>&1 || die "missing ${missing[*]} and no apt-get: install them yourself"
  log "installing ${missing[*]} with apt-get"
  # Keep package scripts from starting services (no init system here); this
  # script starts them itself below.
  policy_added=
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    as_root sh -c 'printf "#!/bin/sh\nexit 101\n" > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d'
    policy_added=1
  fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" \
    || { [ -z "$policy_added" ] || as_root rm -f /usr/sbin/policy-rc.d; die "apt-get install failed"; }
  [ -z "$policy_added" ] || as_root rm -f /usr/sbin/policy-rc.d
fi

# ---------------------------------------------------------------- PostgreSQL
pg_sql() { PGCONNECT_TIMEOUT=3 psql -w -X -q -h 127.0.0.1 -p 5432 -U postgres "$@"; }

if ! port_open 5432; then
  version=$(latest_version /etc/postgresql)
  if [ -z "$version" ] || [ ! -d "/etc/postgresql/$version/main" ]; then
    version=$(latest_version /usr/lib/postgresql)
    log "creating PostgreSQL $version cluster main"
    as_root pg_createcluster "$version" main
  fi
  log "starting PostgreSQL $version"
  as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start
  wait_for "PostgreSQL" 60 port_open 5432
fi
wait_for "PostgreSQL" 60 pg_isready -q -h 127.0.0.1 -p 5432
if ! pg_sql -d postgres -c 'select 1' >/dev/null 2>&1; then
  # Password auth on loopback: let local TCP clients in without a password.
  version=$(latest_version /etc/postgresql)
  hba="/etc/postgresql/$version/main/pg_hba.conf"
  log "enabling trust auth for 127.0.0.1 and ::1 in $hba"
  as_root sed -i '1i host all all 127.0.0.1/32 trust\nhost all all ::1/128 trust' "$hba"
  as_root pg_ctlcluster --skip-systemctl-redirect "$version" main reload
  wait_for "PostgreSQL (trust auth)" 30 pg_sql -d postgres -c 'select 1'
fi
if [ "$(pg_sql -d postgres -tAc "select 1 from pg_database where datname = 'test'")" != 1 ]; then
  log "creating PostgreSQL database test"
  pg_sql -d postgres -c 'create database test' >/dev/null
fi

# ---------------------------------------------------------------- MariaDB
my_tcp() { mariadb --connect-timeout=3 -h 127.0.0.1 -P 3306 -u root "$@"; }

if ! port_open 3306; then
  log "starting MariaDB"
  as_root install -d -o mysql -g mysql /run/mysqld
  as_root start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd
  wait_for "MariaDB" 60 port_open 3306
fi
if ! my_tcp -e 'select 1' >/dev/null 2>&1; then
  # Debian's root uses unix_socket auth only: allow it over loopback TCP
  # without a password too.
  log "allowing root without password over 127.0.0.1"
  wait_for "MariaDB socket" 30 as_root mariadb -u root -e 'select 1'
  as_root mariadb -u root -e "
    ALTER USER 'root'@'localhost' IDENTIFIED VIA unix_socket OR mysql_native_password USING PASSWORD('');
    CREATE USER IF NOT EXISTS 'root'@'127.0.0.1' IDENTIFIED BY '';
    GRANT ALL PRIVILEGES ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION;
    FLUSH PRIVILEGES;"
  wait_for "MariaDB (root over TCP)" 30 my_tcp -e 'select 1'
fi
my_tcp -e 'CREATE DATABASE IF NOT EXISTS test' 2>/dev/null \
  || die "cannot create the MariaDB database test as root@127.0.0.1"

# ---------------------------------------------------------------- Redis
if ! port_open 6379; then
  log "starting Redis"
  as_root install -d /var/lib/redis /var/log/redis
  as_root redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" \
    --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log
fi
redis_pong() { [ "$(redis-cli -h 127.0.0.1 -p 6379 ping)" = PONG ]; }
wait_for "Redis" 30 redis_pong

log "PostgreSQL, MariaDB and Redis are up on 127.0.0.1"

# ---------------------------------------------------------------- Deno KV
# The denokv KV Connect server (built once with cargo into ~/.cache/fedikv).
"$(dirname "${BASH_SOURCE[0]}")/denokv.sh"
