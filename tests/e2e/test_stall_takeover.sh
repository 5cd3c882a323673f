#!/usr/bin/env bash
# A silent stall must not block an upload for hours. A 100 MiB upload
# goes through the test proxy, which after ~30 MiB stops forwarding in
# both directions but keeps both sockets open (a dead NAT mapping). sshd
# runs with Debian's settings (ClientAliveInterval 0), so the old
# nbfs-server stays attached to the dead connection, holding the
# partial's lock; nbfs runs with its default timeout. nbfs must notice,
# reconnect, and its new session must take the partial over from the
# old one (same mount id) and finish within the timeout plus a few
# seconds after the stall, every byte verified, the old server gone.
# The old server writes the upload around the page cache and holds its
# last bytes in memory: stopped by the takeover (SIGTERM) it must write
# them before it goes, so the new session resumes where it stood.
. "$(dirname "$0")/lib.sh"
e2e_init stall_takeover
start_sshd # as every test: keepalives as Debian ships sshd
grep -q '^ClientAlive' "$WORK/sshd_config" && fail "sshd is not configured as shipped"
size=$((100 * 1024 * 1024))
timeout_s=30 # nbfs's default timeout
start_proxy --cut-after $((30 * 1024 * 1024)) --cut-mode stall --stall-seconds 600
mount_nbfs "$PROXY_PORT" "$CACHE" "server_args=--log $WORK/server.log -v"

random_file "$WORK/big.bin" $size
t0=$SECONDS
cp "$WORK/big.bin" "$MNT/" || fail "cp"
wait_until 60 bash -c "[ \$(awk '\$1==\"cuts\"{print \$2}' '$PROXY_STATS') -ge 1 ]" ||
  fail "the proxy never stalled the connection"
t_stall=$SECONDS
log "stalled after $((t_stall - t0)) s"
# What the old server has in the file while it waits on the dead link
# (what is in flight has landed a second later).
sleep 1
held=$(partial_size)
"$NBFS" wait --timeout $((timeout_s + 15)) "$MNT/big.bin" ||
  fail "not synced $((SECONDS - t_stall)) s after the stall: $(getfattr --only-values -n user.nbfs.error "$MNT/big.bin" 2>/dev/null)"
took=$((SECONDS - t_stall))
log "synced $took s after the stall (timeout ${timeout_s} s)"
cmp "$WORK/big.bin" "$REMOTE/big.bin" || fail "server copy differs"
no_partials
[ "$took" -le $((timeout_s + 10)) ] || fail "took $took s after the stall, more than timeout + 10 s"
conns=$(proxy_stat connections)
[ "$conns" -ge 2 ] || fail "nbfs did not reconnect (connections=$conns)"
grep -q "connection lost" "$CACHE/nbfs.log" || fail "the log shows no lost connection"
# The old session was taken over, not waited out: one nbfs-server for
# $REMOTE is left, the live one.
one_server() { [ "$(pgrep -f -c -x -- ".*nbfs-server --root $REMOTE.*")" -le 1 ]; }
wait_until 5 one_server || fail "the old nbfs-server is still running: $(pgrep -a -f -- "--root $REMOTE")"
# The old server was stopped, and its last bytes reached the partial:
# the new session resumed beyond what the file held during the stall.
grep -q "stopped by signal 15" "$WORK/server.log" ||
  fail "the old server was not stopped by the takeover: $(tail -5 "$WORK/server.log")"
# What it received is what it kept (its own count, logged as it
# closed the partial); the file alone held less during the stall
# (unless the cut fell on a 2 MiB boundary: not required).
# (an upload that began as the file was written says "stream")
resumed=$(sed -n "s/.*big.bin: \(stream\|$size bytes\), resuming at \([0-9]*\).*/\2/p" "$CACHE/nbfs.log" | tail -1)
kept=$(sed -n "s/.*partial [0-9a-f]*: keeping \([0-9]*\) bytes for a resume.*/\1/p" "$WORK/server.log" | head -1)
log "the old server's file held $held bytes during the stall, it kept ${kept:-?}; resumed at ${resumed:-?}"
[ -n "$kept" ] || fail "the old server did not say what it kept: $(tail -5 "$WORK/server.log")"
[ "$kept" -ge "$held" ] || fail "the old server kept $kept bytes, less than the $held its file held"
[ -n "$resumed" ] && [ "$resumed" -eq "$kept" ] ||
  fail "the new session resumed at ${resumed:-nothing}, not where the old server stood ($kept)"
umount_nbfs
pass "stall after $((t_stall - t0)) s; synced $took s later through a takeover"
