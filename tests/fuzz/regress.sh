#!/usr/bin/env bash
# Replay every seed (tests/fuzz/corpus/<target>/) and every saved crash
# input (tests/fuzz/regressions/<target>/) through its fuzz target once,
# without fuzzing: a quick check for CI that no parser crashes, leaks or
# trips a sanitizer on inputs that once did. Builds build-fuzz as
# tests/fuzz/run.sh does. Exit status: non-zero if any input fails.
#
#   tests/fuzz/regress.sh
#   TARGETS="server_frames" tests/fuzz/regress.sh     only these targets
set -uo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
build=$repo/build-fuzz
read -r -a targets <<<"${TARGETS:-server_frames client_replies config}"
cd "$repo" || exit 1

mkdir -p "$build"
cmake -S . -B "$build" -DCMAKE_C_COMPILER=clang -DNBFS_FUZZ=ON -DNBFS_TESTS=OFF \
  -DNBFS_SANITIZE=ON >"$build/configure.log" 2>&1 || { cat "$build/configure.log"; exit 1; }
cmake --build "$build" -j"$(nproc)" --target "${targets[@]/#/fuzz_}" >"$build/build.log" 2>&1 ||
  { tail -n 50 "$build/build.log"; exit 1; }

export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}
# fuzz_server_frames keeps its scratch root here; a crashing target
# cannot remove it itself.
shm=/dev/shm
[ -d "$shm" ] && [ -w "$shm" ] || shm=${TMPDIR:-/tmp}
NBFS_FUZZ_TMPDIR=$(mktemp -d "$shm/nbfs-fuzz.XXXXXX") || exit 1
export NBFS_FUZZ_TMPDIR
trap 'rm -rf "$NBFS_FUZZ_TMPDIR"' EXIT
failed=()
for t in "${targets[@]}"; do
  inputs=()
  for d in "$repo/tests/fuzz/corpus/$t" "$repo/tests/fuzz/regressions/$t"; do
    [ -d "$d" ] || continue
    for f in "$d"/*; do
      [ -f "$f" ] && inputs+=("$f")
    done
  done
  if [ ${#inputs[@]} -eq 0 ]; then
    echo "fuzz_$t: no inputs"
    continue
  fi
  # Given files (not directories), libFuzzer runs each once and stops.
  log=$(mktemp)
  if "$build/fuzz_$t" -timeout=10 -rss_limit_mb=2048 "${inputs[@]}" >"$log" 2>&1; then
    echo "fuzz_$t: ${#inputs[@]} inputs ok"
  else
    echo "fuzz_$t: FAILED"
    grep -E '^Running: ' "$log" | tail -n 1
    tail -n 60 "$log"
    failed+=("$t")
  fi
  rm -f "$log"
done
[ ${#failed[@]} -eq 0 ] || { echo "failed: ${failed[*]}"; exit 1; }
