#!/usr/bin/env bash
# Resume, not restart: the test proxy cuts the connection when about half
# of a 100 MiB upload has crossed it. nbfs must reconnect by itself and
# finish, and the bytes that crossed the proxy in total must stay under
# 1.2 times the file size.
. "$(dirname "$0")/lib.sh"
e2e_init resume_cut
start_sshd
size=$((100 * 1024 * 1024))
start_proxy --cut-after $((size / 2)) --cut-mode "${CUT_MODE:-close}"
mount_nbfs "$PROXY_PORT"

random_file "$WORK/big.bin" $size
cp "$WORK/big.bin" "$MNT/" || fail "cp"
nbfs_wait 180 "$MNT/big.bin"

cmp "$WORK/big.bin" "$REMOTE/big.bin" || fail "server copy differs"
no_partials
cuts=$(proxy_stat cuts)
conns=$(proxy_stat connections)
up=$(proxy_stat_settled up)
[ "$cuts" -ge 1 ] || fail "the proxy never cut the connection (cuts=$cuts)"
[ "$conns" -ge 2 ] || fail "nbfs did not reconnect (connections=$conns)"
ratio=$(echo "scale=3; $up / $size" | bc)
log "bytes up through the proxy: $up for a $size-byte file (ratio $ratio), $conns connections"
[ "$up" -lt $((size * 12 / 10)) ] || fail "sent $up bytes (ratio $ratio >= 1.2): the upload restarted instead of resuming"
grep -q "resuming at [1-9]" "$CACHE/nbfs.log" || fail "log shows no resumed upload"
umount_nbfs
pass "resumed after a cut: ratio $ratio"
