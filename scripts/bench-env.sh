# Sourced by the benchmark scripts (scripts/bench-vs-fedify.sh,
# scripts/bench-scale.sh): what they share.
#
# Sets:
#   n, pg, my, redis  operations per phase and the servers' URLs (BENCH_N,
#                     BENCH_POSTGRES_URL, BENCH_MYSQL_URL, BENCH_REDIS_URL;
#                     defaults: scripts/services.sh's servers on 127.0.0.1)
#   fedikv            the release CLI, built first
# Defines:
#   sep URL           the separator before one more query parameter (? or &)
#   bench_header      the first lines of commands.txt: when, where, the load
#                     and the commit
#   mask_passwords    a filter hiding the passwords of URLs in its input
n="${BENCH_N:-20000}"
pg="${BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}"
my="${BENCH_MYSQL_URL:-mysql://root@127.0.0.1:3306/test}"
redis="${BENCH_REDIS_URL:-redis://127.0.0.1:6379/15}"

cargo build --release -p fedikv-cli
fedikv=target/release/fedikv

sep() { case "$1" in *\?*) echo "&" ;; *) echo "?" ;; esac; }

bench_header() {
  echo "# $(date -u +%FT%TZ) on $(hostname), $(nproc) CPUs, load: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "# git $(git rev-parse --short HEAD)$(git diff --quiet HEAD || echo ' (with uncommitted changes)')"
}

mask_passwords() { sed -E 's#://([^:@/]+):[^@/]*@#://\1:***@#g'; }
