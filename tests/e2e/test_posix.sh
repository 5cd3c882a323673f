#!/usr/bin/env bash
# POSIX conformance on a real mount: nbfs-posixcheck runs its cases on the
# mount over SSH, then, once everything is synced, the server must hold
# exactly what the mount shows (every file the cases left behind). The
# test fails if the trees differ or if any case failed. Mounted with
# allow_other and the root opened to all, as a mount shared by several
# local users is: the cases that switch users need it.
# NBFS_RECORD=1 also copies the results to docs/posixcheck-results.txt,
# the committed record of what nbfs passes.
. "$(dirname "$0")/lib.sh"
e2e_init posix
POSIXCHECK=$BUILD/nbfs-posixcheck
[ -x "$POSIXCHECK" ] || fail "build first: $POSIXCHECK missing"
start_sshd
mount_nbfs "$SSHD_PORT" "$CACHE" allow_other
chmod 755 "$MNT" || fail "chmod of the mount root"

rc=0
"$POSIXCHECK" "$MNT" >"$WORK/posix.out" 2>&1 || rc=$?
cat "$WORK/posix.out"
summary=$(tail -n 1 "$WORK/posix.out")
summary=${summary#posixcheck: }
# Recorded whatever the outcome: the record documents what fails, too.
if [ "${NBFS_RECORD:-0}" = 1 ]; then
  cp "$WORK/posix.out" "$REPO/docs/posixcheck-results.txt" || fail "could not record the results"
  log "results recorded in docs/posixcheck-results.txt"
fi

nbfs_wait 180 "$MNT"
if ! diff -r --no-dereference "$MNT" "$REMOTE" -x .nbfs >"$WORK/posix.diff" 2>&1; then
  head -n 50 "$WORK/posix.diff"
  fail "mount and server differ after posixcheck ($(wc -l <"$WORK/posix.diff") lines of diff)"
fi
[ "$rc" -eq 0 ] || fail "posixcheck (exit $rc): $summary"
umount_nbfs
pass "posixcheck: $summary"
