#!/usr/bin/env bash
# A bounded cache: with cache_max set, synced copies are evicted (least
# recently used first) and unsynced data never is; when unsynced data
# alone fills the cache, writers wait and then get ENOSPC, and
# `nbfs status` says why. Evicted files stay listed and read back.
. "$(dirname "$0")/lib.sh"
e2e_init cache
start_sshd
start_proxy
mb=$((1024 * 1024))
mount_nbfs "$PROXY_PORT" "$CACHE" "cache_max=40M"

used() { du -sb --apparent-size "$CACHE/stage" | cut -f1; }

# 1. Synced copies are evicted to stay under the limit.
for i in 1 2 3 4 5 6; do random_file "$WORK/f$i" $((10 * mb)); cp "$WORK/f$i" "$MNT/f$i"; done
nbfs_wait 120 "$MNT"
under() { [ "$(used)" -le $((40 * mb)) ]; }
wait_until 30 under || fail "cache holds $(used) bytes, limit 40M"
evicted=0
for i in 1 2 3 4 5 6; do
  cmp "$WORK/f$i" "$REMOTE/f$i" || fail "f$i differs on the server"
  [ "$(state_of "$MNT/f$i")" = remote ] && evicted=$((evicted + 1))
done
[ $evicted -ge 2 ] || fail "only $evicted files evicted"
log "$evicted of 6 synced files evicted; cache holds $(used) bytes"
# An evicted file reads back (fetched again).
for i in 1 2 3 4 5 6; do cmp "$WORK/f$i" "$MNT/f$i" || fail "f$i reads back wrong"; done

# 2. Offline, unsynced data fills the cache: the writer waits, then ENOSPC.
kill -USR2 "$PROXY_PID" # offline
wait_until 10 bash -c "[ \"\$(awk '\$1==\"offline\"{print \$2}' '$PROXY_STATS')\" = 1 ]" || fail "proxy not offline"
random_file "$WORK/big" $((60 * mb))
start=$SECONDS
if dd if="$WORK/big" of="$MNT/big" bs=1M status=none 2>"$WORK/dd.err"; then
  fail "60 MiB of unsynced data fit in a 40M cache"
fi
grep -q "No space left" "$WORK/dd.err" || fail "dd failed otherwise: $(cat "$WORK/dd.err")"
waited=$((SECONDS - start))
log "writer got ENOSPC after $waited s"
[ $waited -ge 5 ] || fail "the writer was not slowed down before ENOSPC"
"$NBFS" status "$MNT" >"$WORK/status.out"
grep -q "cache:" "$WORK/status.out" || fail "status says nothing about the cache: $(cat "$WORK/status.out")"
# Nothing unsynced was evicted: what dd wrote is all still there.
part=$(stat -c %s "$CACHE/stage/big")
[ "$part" -gt $((10 * mb)) ] || fail "the partial file is only $part bytes"
cmp -n "$part" "$WORK/big" "$CACHE/stage/big" || fail "unsynced data damaged"

# 3. Back online: the partial file syncs, and there is room again.
kill -USR2 "$PROXY_PID"
nbfs_wait 120 "$MNT/big"
cmp -n "$part" "$WORK/big" "$REMOTE/big" || fail "the partial write did not reach the server"
cp "$WORK/f1" "$MNT/after" || fail "writing after the cache drained"
nbfs_wait 60 "$MNT"
umount_nbfs
pass "cache bounded at 40M, unsynced data kept, ENOSPC after $waited s, evicted files read back"
