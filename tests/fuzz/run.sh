#!/usr/bin/env bash
# Fuzz every parser that reads peer bytes: build the libFuzzer targets with
# clang, ASan and UBSan in build-fuzz, then run each for SECONDS (default
# 60) from a scratch copy of its seed corpus (tests/fuzz/corpus-work/,
# git-ignored). Prints executions and time per target. Crash inputs are
# left in build-fuzz/crashes/<target>/ and the fuzzer's output in
# build-fuzz/logs/<target>.log. Exit status: non-zero if a target crashed
# (or timed out, or ran out of memory), or the build failed.
#
#   tests/fuzz/run.sh [SECONDS_PER_TARGET]
#   TARGETS="config" tests/fuzz/run.sh 30     only these targets
#
# A crash input that should never come back goes to
# tests/fuzz/regressions/<target>/, which tests/fuzz/regress.sh replays.
set -uo pipefail
secs=${1:-60}
case $secs in '' | *[!0-9]*) echo "usage: $0 [SECONDS_PER_TARGET]" >&2; exit 2 ;; esac
repo=$(cd "$(dirname "$0")/../.." && pwd)
build=$repo/build-fuzz
read -r -a targets <<<"${TARGETS:-server_frames client_replies config}"
cd "$repo" || exit 1

echo "== build ($build: clang, libFuzzer, ASan + UBSan)"
mkdir -p "$build"
cmake -S . -B "$build" -DCMAKE_C_COMPILER=clang -DNBFS_FUZZ=ON -DNBFS_TESTS=OFF \
  -DNBFS_SANITIZE=ON >"$build/configure.log" 2>&1 || { cat "$build/configure.log"; exit 1; }
cmake --build "$build" -j"$(nproc)" --target "${targets[@]/#/fuzz_}" >"$build/build.log" 2>&1 ||
  { tail -n 50 "$build/build.log"; exit 1; }

# Longest input per target: the protocol streams have room for a whole
# 256 KiB PUT_DATA or GET_DATA frame and more; config files are capped at
# 64 KiB (a little more lets the fuzzer reach the "too large" branch).
max_len() {
  case $1 in
    config) echo 70000 ;;
    *) echo 300000 ;;
  esac
}

export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}
mkdir -p "$build/logs"
# fuzz_server_frames keeps its scratch root here (tmpfs: fsync is free);
# a crashing target cannot remove it itself.
shm=/dev/shm
[ -d "$shm" ] && [ -w "$shm" ] || shm=${TMPDIR:-/tmp}
NBFS_FUZZ_TMPDIR=$(mktemp -d "$shm/nbfs-fuzz.XXXXXX") || exit 1
export NBFS_FUZZ_TMPDIR
trap 'rm -rf "$NBFS_FUZZ_TMPDIR"' EXIT
failed=()
summary=()
for t in "${targets[@]}"; do
  bin=$build/fuzz_$t
  work=$repo/tests/fuzz/corpus-work/$t
  crashes=$build/crashes/$t
  log=$build/logs/$t.log
  rm -rf "$work" "$crashes"
  mkdir -p "$work" "$crashes"
  cp "$repo/tests/fuzz/corpus/$t/"* "$work/" 2>/dev/null
  echo "== fuzz_$t: ${secs}s, corpus $(find "$work" -type f | wc -l) files"
  start=$SECONDS
  "$bin" "$work" -max_total_time="$secs" -max_len="$(max_len "$t")" -timeout=10 \
    -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$crashes/" >"$log" 2>&1
  rc=$?
  took=$((SECONDS - start))
  execs=$(awk '/stat::number_of_executed_units:/ { print $2 }' "$log" | tail -n 1)
  rate=$(awk '/stat::average_exec_per_sec:/ { print $2 }' "$log" | tail -n 1)
  units=$(awk '/stat::new_units_added:/ { print $2 }' "$log" | tail -n 1)
  rss=$(awk '/stat::peak_rss_mb:/ { print $2 }' "$log" | tail -n 1)
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1 | cut -d' ' -f2)
  line=$(printf '%-16s %10s execs in %4ss (%s/s), cov %s, %s new units, peak rss %s MB' \
    "$t" "${execs:-?}" "$took" "${rate:-?}" "${cov:-?}" "${units:-?}" "${rss:-?}")
  if [ $rc -ne 0 ] || [ -n "$(ls -A "$crashes")" ]; then
    line+="  CRASHED (exit $rc)"
    failed+=("$t")
    echo "---- tail of $log"
    tail -n 60 "$log"
    echo "---- crash inputs:"
    ls -l "$crashes"
  fi
  echo "$line"
  summary+=("$line")
done

echo
echo "== summary"
printf '%s\n' "${summary[@]}"
if [ ${#failed[@]} -ne 0 ]; then
  echo "crashed: ${failed[*]} (inputs in $build/crashes/)"
  exit 1
fi
