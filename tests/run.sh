#!/usr/bin/env bash
# Run every test nbfs has: install what is missing, build with -Werror,
# run the cmocka unit tests, then the end-to-end tests (real sshd on
# loopback, real FUSE mounts). Run as root on Debian 12.
#
#   tests/run.sh            everything
#   NBFS_SKIP_DEPS=1 ...    do not call apt-get
#   E2E="test_copy.sh ..."  only these end-to-end tests
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"

[ "${NBFS_SKIP_DEPS:-0}" = 1 ] || contrib/install-deps.sh

echo "== build (Release with -Werror)"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DNBFS_WERROR=ON >/dev/null
cmake --build build -j"$(nproc)"

echo "== lint"
tests/lint.sh

echo "== unit tests"
(cd build && ctest --output-on-failure --timeout 120)

echo "== end-to-end tests"
# shellcheck disable=SC2086
BUILD=$repo/build tests/e2e/run.sh ${E2E:-}
