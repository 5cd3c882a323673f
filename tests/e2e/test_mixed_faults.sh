#!/usr/bin/env bash
# Many small files and one large file copied together, with two
# connection cuts and one SIGKILL of nbfs at random points of the upload:
# every file ends byte-identical on the server, no partial is left, and
# the bytes that crossed the proxy stay within 1.10 times the payload
# (each fault costs at most what was in flight, never a restart).
# MIXED_SEED=N replays one run.
. "$(dirname "$0")/lib.sh"
e2e_init mixed_faults
seed=${MIXED_SEED:-$((RANDOM * 32768 + RANDOM))}
RANDOM=$seed
log "seed $seed"
start_sshd
# A paced link, so that the upload lasts long enough for three faults
# (about 5 s at 45 MB/s for the whole payload).
start_proxy --rate 45000000
mount_nbfs "$PROXY_PORT"

nsmall=2000 big=$((200 * 1024 * 1024))
src=$WORK/src
mkdir -p "$src"
for d in $(seq -w 0 19); do
  mkdir "$src/d$d"
  random_file "$WORK/smalls" $((nsmall / 20 * 4096))
  (cd "$src/d$d" && split -a 3 -d -b 4096 "$WORK/smalls" f) || fail "split"
done
rm -f "$WORK/smalls"
random_file "$src/big.bin" $big
payload=$((nsmall * 4096 + big))

# The sync waits while cp runs, so that the faults fall inside the
# upload however fast cp is against the link: with cp into the mount
# fast and the small files slow under a sanitizer, the 200 MiB could
# otherwise be nearly up before cp returned (it was once, under ASan).
# Everything is queued together and goes together at the resume.
"$NBFS" pause "$MNT" || fail "nbfs pause"
start=$SECONDS
cp -r "$src/." "$MNT/" || fail "cp -r into the mount"
log "cp -r of $nsmall small files and a 200 MiB file returned in $((SECONDS - start)) s"
"$NBFS" resume "$MNT" || fail "nbfs resume"

# Three faults at random points of what is left to send: cut, cut, kill.
sent_from=$(proxy_stat up)
left=$((payload - sent_from))
[ "$left" -gt $((payload / 4)) ] || fail "the upload was nearly done before the faults ($sent_from bytes up)"
points=()
at=$sent_from
for _ in 1 2 3; do
  at=$((at + left * (5 + RANDOM % 20) / 100))
  points+=("$at")
done
reached() { [ "$(proxy_stat up)" -ge "$1" ]; }
for n in 0 1; do
  wait_until 120 reached "${points[$n]}" || fail "the upload stalled before $((points[n])) bytes"
  kill -USR1 "$PROXY_PID"
  log "cut $((n + 1)) at $(proxy_stat up) bytes up"
done
wait_until 120 reached "${points[2]}" || fail "the upload stalled before $((points[2])) bytes"
kill_nbfs
log "killed nbfs at $(proxy_stat up) bytes up"
[ -f "$REMOTE/big.bin" ] && cmp -s "$src/big.bin" "$REMOTE/big.bin" && [ -z "$(ls "$REMOTE"/.nbfs/partial 2>/dev/null)" ] &&
  log "note: everything had arrived before the kill"

mount_nbfs "$PROXY_PORT"
"$NBFS" wait --timeout 240 "$MNT" || fail "nbfs wait did not finish"
diff -r --exclude=.nbfs "$src" "$REMOTE" || fail "the server's tree differs from what was copied"
n=$(find "$REMOTE" -path "$REMOTE/.nbfs" -prune -o -type f -print | wc -l)
[ "$n" -eq $((nsmall + 1)) ] || fail "the server holds $n files, not $((nsmall + 1))"
no_partials
cuts=$(proxy_stat cuts)
[ "$cuts" -ge 2 ] || fail "the proxy cut $cuts times, not 2"
up=$(proxy_stat_settled up)
ratio=$(echo "scale=3; $up / $payload" | bc)
log "bytes up through the proxy: $up for $payload bytes of files (ratio $ratio), $cuts cuts, $(proxy_stat connections) connections"
[ "$up" -le $((payload * 110 / 100)) ] || fail "sent $up bytes (ratio $ratio > 1.10): more re-sent than the faults explain"
umount_nbfs
pass "$nsmall small files and 200 MiB through 2 cuts and a SIGKILL: identical, no partial, ratio $ratio (seed $seed)"
