#!/usr/bin/env bash
# The in-doubt record survives a crash: nbfs is killed (SIGKILL) after
# the server has published an upload and before its answer arrives. The
# next mount on the same cache must know that the server may hold that
# version: when the file is changed again, its upload asks the server
# (STAT), finds our own version and replaces it. No conflict copy, and
# the server ends with the last version.
. "$(dirname "$0")/lib.sh"
e2e_init doubt_kill
start_sshd
# The proxy only to take the server away while nbfs mounts again, so
# that the file is changed before the first upload attempt.
start_proxy
opts="timeout=5,delay=0,server_args=--fault-file $WORK/stall-once"
mount_nbfs "$PROXY_PORT" "$CACHE" "$opts"
echo "version 1" >"$MNT/doc.txt"
nbfs_wait 30 "$MNT/doc.txt"

# The server publishes version 2, then stalls without answering: kill
# nbfs right then, with the upload's answer still outstanding.
echo after-publish >"$WORK/stall-once"
echo "version 2, longer" >"$MNT/doc.txt"
stalled() { [ ! -e "$WORK/stall-once" ]; }
wait_until 30 stalled || fail "the server never reached the stall after publishing"
[ "$(cat "$REMOTE/doc.txt")" = "version 2, longer" ] || fail "version 2 was not published before the stall"
kill_nbfs
log "killed nbfs while the server held version 2 unanswered"

# Offline, so the queue cannot move before the file changes again.
kill -USR2 "$PROXY_PID"
wait_until 10 bash -c "grep -q '^offline 1' '$PROXY_STATS'" || fail "the proxy did not go offline"
mount_nbfs "$PROXY_PORT" "$CACHE" "$opts"
[ "$(cat "$MNT/doc.txt")" = "version 2, longer" ] || fail "the staged version 2 is gone"
echo "version 3, the last one" >"$MNT/doc.txt"
kill -USR2 "$PROXY_PID"
log "mounted again offline, changed the file, back online"

"$NBFS" wait --timeout 60 "$MNT" || log "nbfs wait failed"
conflicts=$(find "$REMOTE" "$MNT" -name '*conflict*')
[ -z "$conflicts" ] || fail "a false conflict copy: $conflicts"
[ "$(cat "$REMOTE/doc.txt")" = "version 3, the last one" ] ||
  fail "the server holds: $(cat "$REMOTE/doc.txt")"
grep -q "doc.txt: the upload cut off before its answer had been published" "$CACHE/nbfs.log" ||
  fail "the doubt was not settled by asking the server after the restart"
umount_nbfs
pass "killed between publish and answer: the doubt survived, no conflict copy, last version on the server"
