#!/usr/bin/env bash
# Run every test nbfs has: install what is missing, build with -Werror,
# then
#   1. lint (banned functions),
#   2. the cmocka unit tests,
#   3. the end-to-end tests (real sshd on loopback, real FUSE mounts),
#   4. all of that again under ASan + LSan + UBSan (tests/run-sanitizers.sh),
#   5. and again under ThreadSanitizer (SAN=thread tests/run-sanitizers.sh),
#   6. the fuzz targets: every seed and saved crash input replayed, then
#      each target fuzzed for NBFS_FUZZ_SECONDS (default 60).
# Run as root on Debian 12 (as another user it runs itself again through
# sudo, where there is sudo). Takes about 25 minutes on 2 cores.
#
#   NBFS_SKIP_DEPS=1        do not call apt-get
#   E2E="test_copy.sh ..."  only these end-to-end tests (also under the sanitizers)
#   NBFS_QUICK=1            stop after step 3
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
. "$repo/contrib/as-root.sh"
as_root "$0" "$@"
cd "$repo"
start=$SECONDS

[ "${NBFS_SKIP_DEPS:-0}" = 1 ] || contrib/install-deps.sh

echo "== build (RelWithDebInfo, -Werror)"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DNBFS_WERROR=ON >/dev/null
cmake --build build -j"$(nproc)"

echo "== lint"
tests/lint.sh

echo "== unit tests"
(cd build && ctest --output-on-failure --timeout 120)

echo "== end-to-end tests"
# shellcheck disable=SC2086
BUILD=$repo/build tests/e2e/run.sh ${E2E:-}

if [ -z "${E2E:-}" ]; then
  echo "== end-to-end tests again through libssh2 (ssh=libssh2): cuts, stalls, kills"
  NB_E2E_SSH=libssh2 BUILD=$repo/build tests/e2e/run.sh test_copy.sh test_fault_network.sh \
    test_stall_takeover.sh test_doubt_kill.sh test_mixed_faults.sh
fi

if [ "${NBFS_QUICK:-0}" = 1 ]; then
  echo "== quick run: done in $((SECONDS - start)) s"
  exit 0
fi

echo "== sanitizers: unit and end-to-end tests under ASan, LSan and UBSan"
tests/run-sanitizers.sh

echo "== sanitizers: unit and end-to-end tests under ThreadSanitizer"
SAN=thread tests/run-sanitizers.sh

echo "== fuzzing: saved inputs, then ${NBFS_FUZZ_SECONDS:-60} s per target"
tests/fuzz/regress.sh
tests/fuzz/run.sh "${NBFS_FUZZ_SECONDS:-60}"

echo "== all tests passed in $((SECONDS - start)) s"
