#!/usr/bin/env bash
# POSIX conformance on a real mount: nbfs-posixcheck runs its cases on the
# mount over SSH, then, once everything is synced, the server must hold
# exactly what the mount shows (every file the cases left behind). The
# test fails if the trees differ or if any case failed. Twice, once for
# each way permissions are checked (fs/perm.h):
# - mounted with allow_other and the root opened to all, as a mount
#   shared by several local users is: the kernel checks permissions
#   (default_permissions), and the cases that switch users need it;
# - mounted as root without allow_other, as `nbfs /mnt/remote` run by
#   root is: only root may enter, the mount goes without
#   default_permissions, and nbfs answers access(2) itself (the cases
#   that switch users are skipped: nobody else may enter);
# - mounted by nobody (the local transport), as `nbfs ~/remote` run by a
#   user is: no default_permissions, and nbfs checks that user's every
#   access itself (fs/perm.h).
# NBFS_RECORD=1 also copies the results of the first to
# docs/posixcheck-results.txt, the committed record of what nbfs passes.
. "$(dirname "$0")/lib.sh"
e2e_init posix
POSIXCHECK=$BUILD/nbfs-posixcheck
[ -x "$POSIXCHECK" ] || fail "build first: $POSIXCHECK missing"
start_sshd

# posix_round NAME POSIXCHECK_ARGS...: run the cases on the mount, check
# the server against it; sets SUMMARY.
posix_round() {
  local name=$1 rc=0
  shift
  "$POSIXCHECK" "$@" "$MNT" >"$WORK/posix.$name.out" 2>&1 || rc=$?
  cat "$WORK/posix.$name.out"
  SUMMARY=$(tail -n 1 "$WORK/posix.$name.out")
  SUMMARY=${SUMMARY#posixcheck: }
  # Recorded whatever the outcome: the record documents what fails, too.
  if [ "$name" = shared ] && [ "${NBFS_RECORD:-0}" = 1 ]; then
    cp "$WORK/posix.$name.out" "$REPO/docs/posixcheck-results.txt" || fail "could not record the results"
    log "results recorded in docs/posixcheck-results.txt"
  fi
  nbfs_wait 180 "$MNT"
  if ! diff -r --no-dereference "$MNT" "$REMOTE" -x .nbfs >"$WORK/posix.diff" 2>&1; then
    head -n 50 "$WORK/posix.diff"
    fail "$name mount: mount and server differ after posixcheck ($(wc -l <"$WORK/posix.diff") lines of diff)"
  fi
  [ "$rc" -eq 0 ] || fail "$name mount: posixcheck (exit $rc): $SUMMARY"
}

mount_nbfs "$SSHD_PORT" "$CACHE" allow_other
grep -q "^nbfs $MNT .*default_permissions" /proc/mounts ||
  fail "a mount others may enter goes without default_permissions: $(grep " $MNT " /proc/mounts)"
chmod 755 "$MNT" || fail "chmod of the mount root"
posix_round shared
shared=$SUMMARY
umount_nbfs

mount_nbfs "$SSHD_PORT" "$CACHE"
grep -q "^nbfs $MNT .*default_permissions" /proc/mounts &&
  fail "a mount only its user may enter still has default_permissions: $(grep " $MNT " /proc/mounts)"
posix_round private -1
private=$SUMMARY
umount_nbfs

# A user's own mount (nbfs run by nobody, the local transport): no
# default_permissions either, and nbfs checks that user's every access
# itself, which the cases on modes (access_0000, ...) see, as root does not.
mount_nobody
U=$NB_U
grep -q "^nbfs $U/mnt .*default_permissions" /proc/mounts &&
  fail "a user's own mount still has default_permissions: $(grep " $U/mnt " /proc/mounts)"
rc=0
as_nobody "$U/bin/nbfs-posixcheck" -1 "$U/mnt" >"$WORK/posix.user.out" 2>&1 || rc=$?
cat "$WORK/posix.user.out"
user=$(tail -n 1 "$WORK/posix.user.out")
user=${user#posixcheck: }
as_nobody "$U/bin/nbfs" wait --timeout 180 "$U/mnt" >"$WORK/wait.out" 2>&1 ||
  fail "user mount: not synced within 180 s: $(cat "$WORK/wait.out"; as_nobody "$U/bin/nbfs" status "$U/mnt" 2>&1 | head -n 20)"
if ! as_nobody diff -r --no-dereference "$U/mnt" "$U/remote" -x .nbfs >"$WORK/posix.diff" 2>&1; then
  head -n 50 "$WORK/posix.diff"
  fail "user mount: mount and server differ after posixcheck ($(wc -l <"$WORK/posix.diff") lines of diff)"
fi
[ "$rc" -eq 0 ] || fail "user mount: posixcheck (exit $rc): $user"
fusermount3 -u "$U/mnt" || fail "unmount of the user mount"
pass "posixcheck, shared mount: $shared; root's own mount: $private; nobody's own mount: $user"
