#!/usr/bin/env bash
# The server is unreachable when nbfs mounts, and stays so for a while:
# the mount works offline (writes staged, state pending with the reason
# in user.nbfs.error), and everything syncs by itself once it is back.
. "$(dirname "$0")/lib.sh"
e2e_init fault_offline
start_sshd
port=$SSHD_PORT
# Take the server away before mounting.
kill "$(cat "$WORK/sshd.pid")"
wait_until 10 bash -c "! (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null" || fail "sshd still listening"

"$NBFS" -o "identity=$WORK/client_key,known_hosts=$KNOWN_HOSTS,cache=$CACHE,server=$NBFS_SERVER,delay=0.3,debug,timeout=5" \
  "$(id -un)@127.0.0.1:$port:$REMOTE" "$MNT" 2>"$WORK/mount.err" || fail "mounting offline failed: $(cat "$WORK/mount.err")"
E2E_MOUNTS+=("$MNT")
NBFS_PID=$(cat "$CACHE/lock")
grep -q "not reachable" "$WORK/mount.err" || fail "no warning about the unreachable server: $(cat "$WORK/mount.err")"

mkdir -p "$MNT/offline/dir"
for i in $(seq 1 20); do echo "written offline $i" >"$MNT/offline/dir/f$i.txt"; done
random_file "$WORK/big.bin" $((20 * 1024 * 1024))
cp "$WORK/big.bin" "$MNT/offline/big.bin"
cat "$MNT/offline/dir/f7.txt" | grep -q "written offline 7" || fail "staged files do not read back offline"
sleep 2
[ "$(state_of "$MNT/offline/big.bin")" = pending ] || fail "state offline: $(state_of "$MNT/offline/big.bin")"
why=$(getfattr --only-values -n user.nbfs.error "$MNT/offline/big.bin" 2>/dev/null)
log "reason shown offline: $why"
echo "$why" | grep -q "waiting for the server" || fail "no reason in user.nbfs.error: '$why'"
"$NBFS" status "$MNT" | grep -q OFFLINE || fail "nbfs status does not say offline"
if "$NBFS" wait --timeout 3 "$MNT/offline" 2>/dev/null; then fail "nbfs wait returned 0 while offline"; fi

# Unmounting drops nothing: the next mount (still offline) shows the
# same queue, and says so.
umount_nbfs
"$NBFS" -o "identity=$WORK/client_key,known_hosts=$KNOWN_HOSTS,cache=$CACHE,server=$NBFS_SERVER,delay=0.3,debug,timeout=5" \
  "$(id -un)@127.0.0.1:$port:$REMOTE" "$MNT" 2>"$WORK/mount2.err" || fail "remounting offline failed"
NBFS_PID=$(cat "$CACHE/lock")
grep -q "waiting to sync" "$WORK/mount2.err" || fail "the remount did not report the pending work: $(cat "$WORK/mount2.err")"
cmp "$WORK/big.bin" "$MNT/offline/big.bin" || fail "staged data changed across the remount"
n=$("$NBFS" status "$MNT" | grep -c pending)
[ "$n" -ge 21 ] || fail "status after the remount lists $n pending entries"
# Still away for a while...
sleep 12
[ -z "$(ls -A "$REMOTE")" ] || fail "something reached the server while it was away"
# Reconnection attempts back off instead of spinning.
tries=$(grep -c "offline: .*retrying in" "$CACHE/nbfs.log")
log "$tries connection attempts while offline"
[ "$tries" -le 15 ] || fail "$tries connection attempts in half a minute: spinning"
# ...then back.
/usr/sbin/sshd -f "$WORK/sshd_config" -E "$WORK/sshd.log" || fail "sshd did not restart"
E2E_PIDS+=("$(cat "$WORK/sshd.pid")")
nbfs_wait 90 "$MNT/offline"
cmp "$WORK/big.bin" "$REMOTE/offline/big.bin" || fail "big.bin differs"
[ "$(ls "$REMOTE/offline/dir" | wc -l)" -eq 20 ] || fail "not all small files arrived"
"$NBFS" status "$MNT" | grep -q "server: connected" || fail "status does not say connected"
umount_nbfs
pass "offline at mount and for 20 s: everything staged, then synced by itself"
