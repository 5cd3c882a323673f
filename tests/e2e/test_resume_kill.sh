#!/usr/bin/env bash
# SIGKILL of nbfs halfway through a 100 MiB upload, then a new mount on
# the same cache: the pending upload continues by itself and resumes at
# the offset the server holds (total bytes through the proxy < 1.2x).
. "$(dirname "$0")/lib.sh"
e2e_init resume_kill
start_sshd
size=$((100 * 1024 * 1024))
start_proxy
mount_nbfs "$PROXY_PORT"

random_file "$WORK/big.bin" $size
cp "$WORK/big.bin" "$MNT/" || fail "cp"
# Wait until about half has reached the server's partial file.
half_there() { [ "$(partial_size)" -ge $((size / 2)) ]; }
wait_until 120 half_there || fail "upload never reached half (partial $(partial_size) bytes)"
kill_nbfs
held=$(partial_size)
log "killed nbfs with $held bytes in the server's partial"
[ "$held" -lt "$size" ] || fail "upload already complete before the kill; cannot test resume"
[ -f "$REMOTE/big.bin" ] && fail "a file was published although its upload was killed"

mount_nbfs "$PROXY_PORT"
nbfs_wait 180 "$MNT/big.bin"
cmp "$WORK/big.bin" "$REMOTE/big.bin" || fail "server copy differs"
no_partials
up=$(proxy_stat_settled up)
ratio=$(echo "scale=3; $up / $size" | bc)
log "bytes up through the proxy: $up for a $size-byte file (ratio $ratio)"
[ "$up" -lt $((size * 12 / 10)) ] || fail "sent $up bytes (ratio $ratio >= 1.2): restarted instead of resuming"
umount_nbfs
pass "resumed after SIGKILL: ratio $ratio"
