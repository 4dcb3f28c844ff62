#!/usr/bin/env bash
# Runs fedikv's fuzz targets (fuzz/fuzz_targets/, cargo fuzz with libFuzzer)
# for a bounded time each, starting from the committed seed corpus
# (fuzz/seeds/TARGET/), copied to a scratch directory so that a run never
# changes the repository. Fails when a target finds a failing input; the
# input is kept in fuzz/artifacts/TARGET/ (gitignored), and
#   RUSTC_BOOTSTRAP=1 cargo fuzz run --fuzz-dir fuzz TARGET FILE
# replays it.
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]   # default: 30 s each, every target
#
# Installs cargo-fuzz into the user's cargo bin when it is missing. Only the
# stable toolchain is needed: RUSTC_BOOTSTRAP=1 lets it take the nightly
# flags cargo fuzz passes (sanitizer, coverage instrumentation). The build
# has its own target directory (fuzz/target), as its flags differ from every
# other build's.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

seconds="${1:-30}"
shift || true
CARGO_FUZZ_VERSION=0.13.2

if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "fuzz.sh: installing cargo-fuzz $CARGO_FUZZ_VERSION" >&2
  cargo install cargo-fuzz --version "$CARGO_FUZZ_VERSION" --locked
fi
export RUSTC_BOOTSTRAP=1
export CARGO_TARGET_DIR="$PWD/fuzz/target"

targets=("$@")
if [ "${#targets[@]}" -eq 0 ]; then
  mapfile -t targets < <(cargo fuzz list --fuzz-dir fuzz)
fi

echo "fuzz.sh: building ${targets[*]}" >&2
cargo fuzz build --fuzz-dir fuzz

scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
failed=()
for target in "${targets[@]}"; do
  mkdir -p "$scratch/$target"
  cp fuzz/seeds/"$target"/* "$scratch/$target/"
  echo "fuzz.sh: $target for ${seconds}s" >&2
  options=()
  asan_options="${ASAN_OPTIONS:-}"
  if [ "$target" = denokv_value ]; then
    # v8_valueserializer 0.1.2 leaks the allocation of every empty
    # ArrayBuffer it reads (a zero-size alloc_zeroed), which fedikv then
    # refuses as binary data: leaks are not failures of this target.
    options+=(-detect_leaks=0)
    asan_options="detect_leaks=0${asan_options:+:$asan_options}"
  fi
  # -timeout: one input taking longer is a failure (a hang);
  # -rss_limit_mb: so is using more memory.
  if ! ASAN_OPTIONS="$asan_options" cargo fuzz run --fuzz-dir fuzz "$target" "$scratch/$target" -- \
      -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
      -print_final_stats=1 "${options[@]}" 2> "$scratch/$target.log"; then
    tail -n 60 "$scratch/$target.log" >&2
    failed+=("$target")
  else
    grep -E '^stat::(number_of_executed_units|new_units_added)' "$scratch/$target.log" \
      | sed "s/^/fuzz.sh: $target: /" >&2 || true
  fi
done

if [ "${#failed[@]}" -gt 0 ]; then
  echo "fuzz.sh: failing inputs found by ${failed[*]} (see fuzz/artifacts/)" >&2
  exit 1
fi
echo "fuzz.sh: ${targets[*]}: no failing input in ${seconds}s each" >&2
