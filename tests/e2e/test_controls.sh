#!/usr/bin/env bash
# The controls in extended attributes and their subcommands, and
# -o bwlimit: with a minute of quiet time, `nbfs sync` uploads at once;
# `nbfs pause` holds uploads and `nbfs resume` lets them go (status says
# PAUSED); `nbfs retry` retries a failed upload long before its backoff
# ends; bwlimit=2M makes a 4 MiB upload take about two seconds; a pinned
# directory survives eviction pressure, a file that appears under it on
# the server is fetched ahead and reads back with the link down, and the
# pin survives a remount.
. "$(dirname "$0")/lib.sh"
e2e_init controls
start_sshd
start_proxy
mb=$((1024 * 1024))
NB_DELAY=60 mount_nbfs "$PROXY_PORT" "$CACHE" "cache_max=4M,bwlimit=2M"

now_ms() { date +%s%3N; }
synced() { [ "$(state_of "$1")" = synced ]; }
pinned_of() { getfattr --only-values -n user.nbfs.pinned "$1" 2>/dev/null; }

# 1. Sync now: a changed file waits a minute, unless told to go.
echo one >"$MNT/now.txt" # created fresh: goes at once
nbfs_wait 10 "$MNT/now.txt"
echo two >"$MNT/now.txt" # a change: the quiet time applies
sleep 1.5
[ "$(state_of "$MNT/now.txt")" = pending ] || fail "changed file is $(state_of "$MNT/now.txt"), not pending"
grep -q one "$REMOTE/now.txt" || fail "the change went before its quiet time"
"$NBFS" sync "$MNT/now.txt" || fail "nbfs sync failed"
wait_until 10 synced "$MNT/now.txt" || fail "nbfs sync did not upload (state $(state_of "$MNT/now.txt"))"
grep -q two "$REMOTE/now.txt" || fail "the server does not have the new content"
log "sync now: uploaded at once despite delay=60"

# 2. Pause holds uploads; resume releases them.
"$NBFS" pause "$MNT" || fail "nbfs pause failed"
[ "$(getfattr --only-values -n user.nbfs.paused "$MNT" 2>/dev/null)" = 1 ] || fail "user.nbfs.paused is not 1"
"$NBFS" status "$MNT" | grep -q PAUSED || fail "status does not say paused: $("$NBFS" status "$MNT")"
echo held >"$MNT/held.txt"
sleep 2
[ ! -e "$REMOTE/held.txt" ] || fail "uploaded while paused"
[ "$(state_of "$MNT/held.txt")" = pending ] || fail "held.txt is $(state_of "$MNT/held.txt") while paused"
setfattr -n user.nbfs.paused -v 0 "$MNT" || fail "setfattr paused=0 failed"
nbfs_wait 10 "$MNT/held.txt"
grep -q held "$REMOTE/held.txt" || fail "held.txt did not reach the server after resume"
"$NBFS" status "$MNT" | grep -q PAUSED && fail "status still says paused"
log "pause held an upload for 2 s; resume released it"

# 3. Retry: the server refuses an upload (its directory became a file);
# once fixed, `nbfs retry` goes at once instead of after the 15 s wait.
mkdir "$MNT/r"
nbfs_wait 10 "$MNT/r"
rmdir "$REMOTE/r" && echo "not a dir" >"$REMOTE/r"
echo retry >"$MNT/r/x"
in_error() { [ "$(state_of "$MNT/r/x")" = error ]; }
wait_until 10 in_error || fail "r/x is $(state_of "$MNT/r/x"), not error"
rm "$REMOTE/r" && mkdir "$REMOTE/r"
t0=$(now_ms)
"$NBFS" retry "$MNT/r" || fail "nbfs retry failed"
wait_until 10 synced "$MNT/r/x" || fail "retry did not upload r/x ($(state_of "$MNT/r/x"))"
took=$(($(now_ms) - t0))
[ "$took" -lt 8000 ] || fail "retry took $took ms: it waited out the backoff"
grep -q retry "$REMOTE/r/x" || fail "r/x wrong on the server"
log "retry: uploaded $took ms after nbfs retry"

# 4. bwlimit=2M: 4 MiB take about 2 s (the bucket's burst is 256 KiB).
random_file "$WORK/big" $((4 * mb))
t0=$(now_ms)
cp "$WORK/big" "$MNT/big"
nbfs_wait 30 "$MNT/big"
took=$(($(now_ms) - t0))
cmp "$WORK/big" "$REMOTE/big" || fail "big differs on the server"
rate=$((4 * mb * 1000 / took))
log "bwlimit: 4 MiB in $took ms ($rate bytes/s, limit $((2 * mb)))"
[ "$took" -ge 1500 ] || fail "4 MiB took only $took ms at bwlimit=2M"
[ "$rate" -le $((3 * mb)) ] || fail "$rate bytes/s at bwlimit=2M"

# 5. Pins: a pinned directory is never evicted, though 5 MiB pass
# through a 4M cache, while unpinned copies are.
mkdir "$MNT/keep"
"$NBFS" pin "$MNT/keep" || fail "nbfs pin failed"
[ "$(pinned_of "$MNT/keep")" = 1 ] || fail "keep is not pinned"
random_file "$WORK/p1" $mb
cp "$WORK/p1" "$MNT/keep/p1"
[ "$(pinned_of "$MNT/keep/p1")" = 1 ] || fail "keep/p1 is not covered by the pin"
for i in 1 2 3; do
  random_file "$WORK/f$i" $mb
  cp "$WORK/f$i" "$MNT/f$i"
done
nbfs_wait 20 "$MNT"
evicted() { [ "$(state_of "$MNT/big")" = remote ] && [ "$(state_of "$MNT/f1")" = remote ]; }
wait_until 15 evicted || fail "nothing evicted (big: $(state_of "$MNT/big"), f1: $(state_of "$MNT/f1"))"
[ -f "$CACHE/stage/keep/p1" ] || fail "the pinned keep/p1 was evicted"
[ "$(state_of "$MNT/keep/p1")" = synced ] || fail "keep/p1 is $(state_of "$MNT/keep/p1")"
"$NBFS" unpin "$MNT/keep/p1" 2>"$WORK/unpin.err" && fail "unpinned a file pinned through its directory"
grep -q "directory above it is pinned" "$WORK/unpin.err" || fail "unclear message: $(cat "$WORK/unpin.err")"
log "pin: keep/p1 stayed while big and f1 were evicted"

# A file that appears on the server under the pinned directory is
# fetched ahead (the pinner looks every 10 s, and at once on a pin).
random_file "$REMOTE/keep/ahead" $mb
fetched() { [ -f "$CACHE/stage/keep/ahead" ] && [ "$(state_of "$MNT/keep/ahead")" = synced ]; }
deadline=$((SECONDS + 20))
until fetched; do
  [ $SECONDS -lt $deadline ] || fail "keep/ahead was not fetched ahead ($(state_of "$MNT/keep/ahead"))"
  sleep 1
  "$NBFS" pin "$MNT/keep"
done
kill -USR2 "$PROXY_PID" # offline
wait_until 10 bash -c "[ \"\$(awk '\$1==\"offline\"{print \$2}' '$PROXY_STATS')\" = 1 ]" || fail "proxy not offline"
cmp "$REMOTE/keep/ahead" "$MNT/keep/ahead" || fail "the pinned file does not read back offline"
cmp "$WORK/p1" "$MNT/keep/p1" || fail "keep/p1 does not read back offline"
log "pin: a server-side file was fetched ahead and reads offline"
kill -USR2 "$PROXY_PID" # online

# The pin is durable: after a remount it is still there.
umount_nbfs
NB_DELAY=60 mount_nbfs "$PROXY_PORT" "$CACHE" "cache_max=4M,bwlimit=2M"
[ "$(pinned_of "$MNT/keep")" = 1 ] || fail "the pin did not survive a remount"
"$NBFS" unpin "$MNT/keep" || fail "nbfs unpin failed"
[ "$(pinned_of "$MNT/keep/p1")" = 0 ] || fail "still pinned after unpin"
umount_nbfs
pass "sync now, pause/resume, retry, bwlimit ($rate B/s at 2M), pins (eviction, fetch ahead, offline, remount)"
