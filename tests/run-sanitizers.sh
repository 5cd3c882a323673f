#!/usr/bin/env bash
# The whole test suite under AddressSanitizer, LeakSanitizer and
# UndefinedBehaviorSanitizer (SAN=address, the default: build build-asan
# with -DNBFS_SANITIZE=ON) or under ThreadSanitizer (SAN=thread: build
# build-tsan with -DNBFS_TSAN=ON), with -Werror; run the unit tests there,
# then the end-to-end tests (real sshd on loopback, real FUSE mounts)
# against that build. Run as root.
#
#   tests/run-sanitizers.sh              everything, ASan + UBSan
#   SAN=thread tests/run-sanitizers.sh   everything, TSan
#   E2E="test_copy.sh ..." ...           only these end-to-end tests
#   CC=gcc tests/run-sanitizers.sh       with gcc instead of clang
#
# clang by default: with gcc, ASan and UBSan are two runtimes and UBSan
# ignores log_path (its reports always go to stderr), so a UBSan finding
# in the backgrounded nbfs would only show as a dead mount.
#
# Every sanitizer report goes to a file in build-asan/sanitizer-logs/
# (asan.<pid>, ubsan.<pid>), not to stderr: nbfs goes to the background
# with its stderr on /dev/null, and nbfs-server's stderr is the SSH
# channel's, which nbfs ignores. The script fails if any report file
# appears, and prints them.
#
# sshd starts the server with a fresh environment, so the sanitizer
# options would not reach it. The end-to-end tests therefore run with
# BUILD=build-asan/e2e-bin: every program there is a symlink to the real
# one in build-asan, except nbfs-server, a wrapper that puts the options
# back and execs the real build-asan/nbfs-server. (A local mount runs the
# real server beside the real nbfs, with nbfs's environment.)
set -uo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
san=${SAN:-address}
case $san in
  address) build=$repo/build-asan what="ASan + UBSan" flag=-DNBFS_SANITIZE=ON ;;
  thread) build=$repo/build-tsan what="TSan" flag=-DNBFS_TSAN=ON ;;
  *) echo "SAN must be address or thread" >&2; exit 2 ;;
esac
logs=$build/sanitizer-logs
start=$SECONDS
cd "$repo" || exit 1

cc=${CC:-clang}
echo "== build ($build: $what, -Werror, $cc)"
# CMake keeps the compiler of the first configure: start over on a change.
if [ -f "$build/CMakeCache.txt" ] && [ "$(cat "$build/.nbfs-cc" 2>/dev/null)" != "$cc" ]; then
  rm -rf "$build"
fi
mkdir -p "$build"
echo "$cc" >"$build/.nbfs-cc"
cmake -S . -B "$build" -DCMAKE_C_COMPILER="$cc" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  "$flag" -DNBFS_WERROR=ON >/dev/null || exit 1
cmake --build "$build" -j"$(nproc)" || exit 1

rm -rf "$logs"
mkdir -p "$logs"
chmod 1777 "$logs" # the tests' mounts of nobody's own write here too
# Reports from third-party code that nbfs cannot fix, narrowed to the one
# function. libssh2 before 1.11 removes an unsupported name from a method
# preference list with an overlapping memcpy (libssh2 issue 611, fixed by
# its PR 1000). nbfs now passes only names the library supports
# (nb_ssh_prefer), so this should never fire; it stays as a guard.
cat >"$build/asan.supp" <<'SUPP'
interceptor_via_fun:libssh2_session_method_pref
SUPP
# abort_on_error: a report kills the process with SIGABRT, so a test sees
# a crash rather than an ordinary failure. detect_leaks: LSan at exit.
# (Not strict_string_checks: it makes strndup() of a length-delimited
# wire string at the end of a buffer look like an overflow.) With clang
# the one runtime takes the last log_path it parses, so ASan reports may
# land in ubsan.* files too.
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:log_path=$logs/asan:suppressions=$build/asan.supp:detect_stack_use_after_return=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:log_path=$logs/ubsan"
# TSan: every report to a file (the run fails if one appears), the whole
# history kept so both sides of a race show.
export TSAN_OPTIONS="log_path=$logs/tsan:second_deadlock_stack=1:history_size=4"
if [ "$san" = thread ]; then
  # clang 14's TSan cannot map its shadow memory with more than 28 bits
  # of mmap randomisation (newer kernels default to 32).
  bits=$(sysctl -n vm.mmap_rnd_bits 2>/dev/null || echo 28)
  if [ "$bits" -gt 28 ]; then
    sysctl -qw vm.mmap_rnd_bits=28 && trap 'sysctl -qw vm.mmap_rnd_bits='"$bits" EXIT
  fi
fi

bin=$build/e2e-bin
rm -rf "$bin"
mkdir -p "$bin"
for f in "$build"/*; do
  [ -f "$f" ] && [ -x "$f" ] && ln -s "../${f##*/}" "$bin/${f##*/}"
done
rm -f "$bin/nbfs-server"
cat >"$bin/nbfs-server" <<EOF
#!/bin/sh
# Written by tests/run-sanitizers.sh: sshd clears the environment, so put
# the sanitizer options back before running the real server.
ASAN_OPTIONS='$ASAN_OPTIONS' UBSAN_OPTIONS='$UBSAN_OPTIONS' TSAN_OPTIONS='$TSAN_OPTIONS' exec '$build/nbfs-server' "\$@"
EOF
chmod 755 "$bin/nbfs-server"

rc=0
echo "== unit tests"
(cd "$build" && ctest --output-on-failure --timeout 300) || rc=1
unit_time=$((SECONDS - start))

echo "== end-to-end tests"
# shellcheck disable=SC2086
E2E_SANITIZER=$what BUILD=$bin tests/e2e/run.sh ${E2E:-} || rc=1

reports=$(find "$logs" -type f \( -name 'asan.*' -o -name 'ubsan.*' -o -name 'tsan.*' \) | sort)
if [ -n "$reports" ]; then
  echo
  echo "== sanitizer reports"
  for f in $reports; do
    echo "---- $f"
    cat "$f"
  done
  rc=1
fi
echo
echo "sanitizers ($what): $(echo "$reports" | grep -c . || true) report(s); unit tests and build took ${unit_time}s; $((SECONDS - start))s in all"
[ $rc -eq 0 ] && echo "sanitizers ($what): all passed" || echo "sanitizers ($what): FAILED"
exit $rc
