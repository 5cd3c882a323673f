#!/usr/bin/env bash
# Unmount and mount again at once (`fusermount3 -u` then `nbfs`, as a
# user or a script does): the new nbfs waits for the old one, still
# finishing after its mount went (stopping an upload, recording the
# queue, closing the connection), instead of refusing its cache as "in
# use". The uploads go through a slow link, so each unmount finds one
# in progress. A second nbfs
# on a cache whose nbfs is mounted is still refused, at once. Files
# written before each remount reach the server.
. "$(dirname "$0")/lib.sh"
e2e_init remount
start_sshd
start_proxy --rate $((2 * 1000 * 1000))
mount_nbfs "$PROXY_PORT"

# A second nbfs on the same cache while the first is mounted: refused.
MNT2=$WORK/mnt2
mkdir -p "$MNT2"
t0=$SECONDS
if "$NBFS" -o "identity=$WORK/client_key,known_hosts=$KNOWN_HOSTS,cache=$CACHE,server=$NBFS_SERVER" \
  "$(id -un)@127.0.0.1:$PROXY_PORT:$REMOTE" "$MNT2" 2>"$WORK/err.second"; then
  E2E_MOUNTS+=("$MNT2")
  fail "a second nbfs mounted the cache in use"
fi
grep -q "in use by another nbfs" "$WORK/err.second" || fail "second nbfs: $(cat "$WORK/err.second")"
[ $((SECONDS - t0)) -lt 10 ] || fail "the refusal took $((SECONDS - t0)) s"
log "a second nbfs on the cache in use: refused ($(cat "$WORK/err.second"))"

waited=0
for i in 1 2 3 4 5; do
  random_file "$WORK/f$i" $((8 * 1024 * 1024 + i))
  cp "$WORK/f$i" "$MNT/f$i"
  wait_until 20 bash -c "[ \"\$(getfattr --only-values -n user.nbfs.state '$MNT/f$i' 2>/dev/null)\" = uploading ]" ||
    fail "f$i: not uploading"
  old=$NBFS_PID
  fusermount3 -u "$MNT" || fail "unmount $i"
  # at once: the old nbfs is still stopping its upload
  mount_nbfs "$PROXY_PORT" 2>"$WORK/err.remount$i"
  [ "$NBFS_PID" != "$old" ] || fail "remount $i: the same nbfs"
  grep -q "waiting for the nbfs" "$WORK/err.remount$i" && { waited=$((waited + 1)); log "remount $i: waited for the old nbfs"; }
done
nbfs_wait 120 "$MNT"
for i in 1 2 3 4 5; do
  cmp -s "$WORK/f$i" "$REMOTE/f$i" || fail "f$i differs on the server"
done
pass "five remounts at once after unmounting an upload, none refused ($waited waited for the old nbfs); the files on the server"
