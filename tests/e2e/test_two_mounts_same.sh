#!/usr/bin/env bash
# Two mounts (two caches, so two mount ids) upload the same 100 MiB
# content to the same server path at once. Only one may write the
# partial; the other is told so, waits (saying in user.nbfs.error what
# for and since when) without retrying every 2 s, and then succeeds
# (the server already holds exactly that content) or conflicts
# cleanly. Both end synced, the server's file is the content, no
# partial is left, nothing is corrupt. Mount A goes through a proxy
# limited to 25 MB/s, so whichever writes first, the other has time to
# be seen waiting.
. "$(dirname "$0")/lib.sh"
e2e_init two_mounts_same
start_sshd
size=$((100 * 1024 * 1024))
start_proxy --rate $((25 * 1000 * 1000))
random_file "$WORK/big.bin" $size

MNT_A=$WORK/mnt-a MNT_B=$WORK/mnt-b
mkdir -p "$MNT_A" "$MNT_B"
MNT=$MNT_A mount_nbfs "$PROXY_PORT" "$WORK/cache-a"
MNT=$MNT_B mount_nbfs "$SSHD_PORT" "$WORK/cache-b"
E2E_MOUNTS+=("$MNT_A" "$MNT_B")
[ "$(cat "$WORK/cache-a/mount-id")" != "$(cat "$WORK/cache-b/mount-id")" ] ||
  fail "two caches share a mount id"

# Paused while copied, and resumed once each mount has the MD5: both
# uploads are offered by the content's MD5 (PUT_OPEN) and meet at its
# partial, as two copies made at leisure do (a copy slow enough to
# stream as it is written, or closed before its MD5 is known, has a
# partial of its own, under its own key).
"$NBFS" pause "$MNT_A" && "$NBFS" pause "$MNT_B" || fail "nbfs pause"
cp "$WORK/big.bin" "$MNT_A/same.bin" &
cp_a=$!
cp "$WORK/big.bin" "$MNT_B/same.bin" || fail "cp to B"
wait $cp_a || fail "cp to A"
wait_hashed "$WORK/cache-a" same.bin
wait_hashed "$WORK/cache-b" same.bin
"$NBFS" resume "$MNT_A" && "$NBFS" resume "$MNT_B" || fail "nbfs resume"

# One of them is seen waiting for the other, with the reason and a time.
waiting() {
  local m
  for m in "$MNT_A" "$MNT_B"; do
    note=$(getfattr --only-values -n user.nbfs.error "$m/same.bin" 2>/dev/null)
    case $note in *"waiting since "*"another upload of the same content"*) return 0 ;; esac
  done
  return 1
}
wait_until 20 waiting || fail "neither mount said it was waiting"
log "seen: $note"
status=$("$NBFS" status "$MNT_A" 2>&1; "$NBFS" status "$MNT_B" 2>&1)
nbfs_wait 40 "$MNT_A/same.bin" "$MNT_B/same.bin"
cmp "$WORK/big.bin" "$REMOTE/same.bin" || fail "server copy differs"
for m in "$MNT_A" "$MNT_B"; do
  cmp "$WORK/big.bin" "$m/same.bin" || fail "$m: local copy differs"
  [ "$(state_of "$m/same.bin")" = synced ] || fail "$m: state $(state_of "$m/same.bin")"
done
# Same content, so no conflict is needed; a conflict copy, if any, must
# be whole.
for f in "$REMOTE"/same.conflict-*; do
  [ -e "$f" ] || continue
  cmp "$WORK/big.bin" "$f" || fail "conflict copy $f differs"
  log "conflict copy: $f"
done
no_partials
# The waiting mount asked a few times, not every 2 s for the whole
# upload, and said so in the log.
tries=$(cat "$WORK"/cache-*/nbfs.log | grep -c "server error 16 (PUT_OPEN)")
log "busy answers seen: $tries"
[ "$tries" -ge 1 ] && [ "$tries" -le 4 ] || fail "$tries busy answers"
echo "$status" | grep -q "waiting since" || log "(the status snapshot came after the wait)"
MNT=$MNT_A NBFS_PID=$(cat "$WORK/cache-a/lock") umount_nbfs
MNT=$MNT_B NBFS_PID=$(cat "$WORK/cache-b/lock") umount_nbfs
pass "two mounts, same content: one waited (\"$note\"), both synced"
