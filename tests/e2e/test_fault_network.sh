#!/usr/bin/env bash
# Network faults at random points of a 60 MiB upload, three ways: a clean
# close, a reset, and a silent stall where packets just stop. nbfs must
# notice (a stall within its timeout), reconnect, resume, and re-send no
# more than what was missing plus a margin; and the mount must keep
# answering an application that only reads and writes it meanwhile.
. "$(dirname "$0")/lib.sh"
e2e_init fault_network
start_sshd
size=$((60 * 1024 * 1024))
random_file "$WORK/src.bin" $size
echo "staged earlier" >"$WORK/small.txt"
# Margin: the data in flight when the link dies (SSH window, socket
# buffers) is sent again; 16 MiB bounds it on loopback.
margin=$((16 * 1024 * 1024))

for mode in close reset stall; do
  cut=$((size / 10 + (RANDOM * 32768 + RANDOM) % (size * 8 / 10)))
  start_proxy --cut-after "$cut" --cut-mode "$mode" --stall-seconds 600
  cache=$WORK/cache-$mode
  mount_nbfs "$PROXY_PORT" "$cache" "timeout=5"
  cp "$WORK/small.txt" "$MNT/small-$mode.txt"
  nbfs_wait 30 "$MNT/small-$mode.txt"
  cp "$WORK/src.bin" "$MNT/big-$mode.bin"
  wait_until 60 bash -c "[ \$(awk '\$1==\"cuts\"{print \$2}' '$PROXY_STATS') -ge 1 ]" || fail "$mode: no cut"
  # The link is dead or dying: the mount still answers at once.
  t0=$(date +%s%N)
  ls "$MNT" >/dev/null || fail "$mode: ls failed"
  cat "$MNT/small-$mode.txt" >/dev/null || fail "$mode: read failed"
  echo "written during the fault" >"$MNT/during-$mode.txt" || fail "$mode: write failed"
  ms=$((($(date +%s%N) - t0) / 1000000))
  [ $ms -lt 3000 ] || fail "$mode: the mount took $ms ms to answer during the fault"
  nbfs_wait 180 "$MNT/big-$mode.bin" "$MNT/during-$mode.txt"
  cmp "$WORK/src.bin" "$REMOTE/big-$mode.bin" || fail "$mode: server copy differs"
  up=$(proxy_stat_settled up)
  log "$mode: cut after $cut bytes; $up bytes up in all for $size (+ small files), mount answered in $ms ms"
  [ "$up" -lt $((size + margin)) ] || fail "$mode: re-sent too much ($up bytes)"
  umount_nbfs
  kill "$PROXY_PID"
  wait "$PROXY_PID" 2>/dev/null
done
no_partials
pass "close, reset and stall survived; re-sent at most the in-flight data"
