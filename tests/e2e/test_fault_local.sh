#!/usr/bin/env bash
# Local trouble: the staging disk fills up (the application gets ENOSPC,
# nothing already staged is damaged), and two mounts race each other on
# one server: the same content to the same path, and different files to
# the same name. The server publishes whole files, never a mix, and both
# clients end in a true state.
. "$(dirname "$0")/lib.sh"
e2e_init fault_local
start_sshd
mb=$((1024 * 1024))

# --- the staging disk is full
SMALL=$WORK/small-cache
mkdir -p "$SMALL"
mount -t tmpfs -o size=32m tmpfs "$SMALL" || fail "cannot mount a tmpfs"
E2E_MOUNTS+=("$SMALL")
mount_nbfs "$SSHD_PORT" "$SMALL/cache" "delay=30,cache_max=1T"
random_file "$WORK/keep.bin" $((10 * mb))
cp "$WORK/keep.bin" "$MNT/keep.bin"
random_file "$WORK/huge.bin" $((40 * mb))
if cp "$WORK/huge.bin" "$MNT/huge.bin" 2>"$WORK/cp.err"; then fail "40 MiB fit in a 32 MiB staging disk"; fi
grep -q "No space left" "$WORK/cp.err" || fail "cp failed otherwise: $(cat "$WORK/cp.err")"
cmp "$WORK/keep.bin" "$MNT/keep.bin" || fail "a staged file was damaged by the full disk"
# The budget (1T) is far away: status must say that the disk is what
# refuses writes (FULL, or the little the database's reserve gave back).
"$NBFS" status "$MNT" >"$WORK/status.txt" 2>&1
grep -Eq "its disk is FULL|MiB free on its disk" "$WORK/status.txt" ||
  fail "nbfs status does not show the full disk: $(cat "$WORK/status.txt")"
"$NBFS" status --json "$MNT" |
  python3 -c 'import json, sys; sys.exit(json.load(sys.stdin)["cache"]["disk_free"] >= 8 << 20)' ||
  fail "nbfs status --json has no small cache.disk_free"
# Removing a file must work on a full disk (its removal is recorded in
# the state database, which has no room left but its reserve), and must
# give the space back.
rm -f "$MNT/huge.bin" 2>"$WORK/rm.err" ||
  fail "rm on a full staging disk failed: $(cat "$WORK/rm.err")"
[ ! -e "$MNT/huge.bin" ] || fail "huge.bin is still in the mount after rm"
free_mb() { echo $(($(stat -f -c '%a * %S' "$SMALL") / mb)); }
room_back() { [ "$(free_mb)" -ge 12 ]; }
wait_until 10 room_back ||
  fail "rm gave no space back: $(free_mb) MiB free on the staging disk"
random_file "$WORK/after.bin" $((4 * mb))
cp "$WORK/after.bin" "$MNT/after.bin" || fail "no room for a new file after rm"
umount_nbfs
mount_nbfs "$SSHD_PORT" "$SMALL/cache" "delay=0"
nbfs_wait 60 "$MNT/keep.bin" "$MNT/after.bin"
cmp "$WORK/keep.bin" "$REMOTE/keep.bin" || fail "keep.bin differs on the server"
cmp "$WORK/after.bin" "$REMOTE/after.bin" || fail "after.bin differs on the server"
[ ! -e "$REMOTE/huge.bin" ] || fail "the refused file reached the server"
# keep.bin may have been published in the first mount with the record of
# it lost to the full disk: sent again, it meets itself, not a conflict.
! ls "$REMOTE" | grep -q '^keep\.conflict-' || fail "a conflict copy of keep.bin: $(ls "$REMOTE")"
no_partials
umount_nbfs
log "staging disk full: ENOSPC to the application, rm works and frees the space, earlier files intact and synced"

# --- two mounts, one server
MNT2=$WORK/mnt2
mkdir -p "$MNT2"
random_file "$WORK/same.bin" $((30 * mb))
random_file "$WORK/one.bin" $((8 * mb))
random_file "$WORK/two.bin" $((8 * mb))
mount_nbfs "$SSHD_PORT" "$WORK/cacheA" "delay=0"
pidA=$NBFS_PID
MNT_A=$MNT
MNT=$MNT2
mount_nbfs "$SSHD_PORT" "$WORK/cacheB" "delay=0"
MNT=$MNT_A
# A true race: each mount makes its files before it can see the other's.
# Without the pause, a mount slow to connect lists the root after the
# other one published race.bin, and its cp then knowingly replaces that
# file (no conflict, and rightly so).
ls "$MNT_A" "$MNT2" >/dev/null || fail "cannot list the mounts"
"$NBFS" pause "$MNT_A" && "$NBFS" pause "$MNT2" || fail "nbfs pause failed"
cp "$WORK/same.bin" "$MNT_A/same.bin" & cp "$WORK/same.bin" "$MNT2/same.bin" &
cp "$WORK/one.bin" "$MNT_A/race.bin" & cp "$WORK/two.bin" "$MNT2/race.bin" &
wait
"$NBFS" resume "$MNT_A" && "$NBFS" resume "$MNT2" || fail "nbfs resume failed"
settled() {
  for m in "$MNT_A" "$MNT2"; do
    for f in same.bin race.bin; do
      case "$(state_of "$m/$f")" in synced | conflict | remote) ;; *) return 1 ;; esac
    done
  done
  ls "$REMOTE" | grep -q '^race\.conflict-'
}
wait_until 120 settled || fail "the two mounts did not settle: $(ls "$REMOTE")"
cmp "$WORK/same.bin" "$REMOTE/same.bin" || fail "same.bin is not whole"
copy=$(ls "$REMOTE" | grep '^race\.conflict-')
winner=$(md5sum <"$REMOTE/race.bin" | cut -d' ' -f1)
loser=$(md5sum <"$REMOTE/$copy" | cut -d' ' -f1)
one=$(md5sum <"$WORK/one.bin" | cut -d' ' -f1)
two=$(md5sum <"$WORK/two.bin" | cut -d' ' -f1)
{ [ "$winner" = "$one" ] && [ "$loser" = "$two" ]; } || { [ "$winner" = "$two" ] && [ "$loser" = "$one" ]; } ||
  fail "race.bin is a mix or lost a version"
log "two mounts: same content published once, whole; the name race kept both versions ($copy)"
MNT=$MNT2
umount_nbfs
MNT=$MNT_A
NBFS_PID=$pidA
umount_nbfs
no_partials
pass "full staging disk and two racing mounts"
