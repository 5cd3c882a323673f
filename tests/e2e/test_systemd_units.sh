#!/usr/bin/env bash
# The systemd units in contrib/systemd pass `systemd-analyze verify`: the
# user unit nbfs@.service (as CMake configures it, here pointing at the
# built nbfs, for one instance) and the example mount and automount
# units. A copy with a command that does not exist must fail, so the
# check can tell. Skipped (not passed) where systemd-analyze cannot run.
# e2e: no-sanitizer: it checks unit files with systemd-analyze, no nbfs code
. "$(dirname "$0")/lib.sh"
e2e_init systemd_units
command -v systemd-analyze >/dev/null || skip "systemd-analyze is not installed (apt-get install systemd)"
export XDG_RUNTIME_DIR=$WORK/run
mkdir -p "$XDG_RUNTIME_DIR" "$WORK/units" "$WORK/bad"
chmod 700 "$XDG_RUNTIME_DIR"
# Can it run here at all? A trivial unit must pass.
printf '[Unit]\nDescription=probe\n[Service]\nExecStart=/bin/true\n' >"$WORK/units/probe.service"
systemd-analyze verify --user "$WORK/units/probe.service" >"$WORK/probe.out" 2>&1 ||
  skip "systemd-analyze verify does not work here: $(head -n 3 "$WORK/probe.out")"

# verify_clean SCOPE UNIT...: exit 0 and nothing said.
verify_clean() {
  local scope=$1
  shift
  # --man=no: the man pages are checked by tests/lint.sh, and need not be installed.
  systemd-analyze verify --man=no "$scope" "$@" >"$WORK/verify.out" 2>&1 ||
    fail "systemd-analyze verify $*: $(cat "$WORK/verify.out")"
  [ ! -s "$WORK/verify.out" ] || fail "systemd-analyze verify $* warns: $(cat "$WORK/verify.out")"
  log "verified: $(basename -a "$@" | tr '\n' ' ')"
}

sed "s#@CMAKE_INSTALL_FULL_BINDIR@#$BUILD#" "$REPO/contrib/systemd/nbfs@.service.in" >"$WORK/units/nbfs@.service"
grep -q "^ExecStart=$BUILD/nbfs -f %f" "$WORK/units/nbfs@.service" || fail "ExecStart was not configured"
verify_clean --user "$WORK/units/nbfs@home-alice-remote.service"
# As the build configures it for installing.
[ -f "$BUILD/install/nbfs@.service" ] || fail "the build has no configured nbfs@.service"
cp "$REPO/contrib/systemd/mnt-backup.mount" "$REPO/contrib/systemd/mnt-backup.automount" "$WORK/units/"
verify_clean --system "$WORK/units/mnt-backup.mount" "$WORK/units/mnt-backup.automount"

# The check has teeth: a unit whose program is missing fails.
sed "s#@CMAKE_INSTALL_FULL_BINDIR@#$WORK/nowhere#" "$REPO/contrib/systemd/nbfs@.service.in" >"$WORK/bad/nbfs@.service"
if systemd-analyze verify --man=no --user "$WORK/bad/nbfs@x.service" >"$WORK/bad.out" 2>&1; then
  fail "systemd-analyze accepted a unit whose program is missing"
fi
grep -q "$WORK/nowhere/nbfs" "$WORK/bad.out" || fail "unexpected complaint: $(cat "$WORK/bad.out")"
pass "systemd units verified"
