#!/usr/bin/env bash
# Crashes: SIGKILL of nbfs at random points of an upload, ten rounds in a
# row on the same cache; SIGKILL of nbfs-server mid-upload; sshd
# restarted mid-upload. Every time, the upload resumes (never restarts)
# and the server ends with the exact bytes; nothing half-published.
. "$(dirname "$0")/lib.sh"
e2e_init fault_kill
start_sshd
# 25 MB/s through the proxy: an 80 MiB upload lasts a few seconds, so ten
# kills land at random points of it.
start_proxy --rate $((25 * 1000 * 1000))
size=$((80 * 1024 * 1024))
random_file "$WORK/src.bin" $size
mount_nbfs "$PROXY_PORT" "$CACHE" "timeout=5"
cp "$WORK/src.bin" "$MNT/big.bin"
# Small files too, so the queue holds more than one thing at each kill.
mkdir -p "$WORK/small"
for i in $(seq 1 30); do echo "small $i" >"$WORK/small/s$i.txt"; done
cp -r "$WORK/small" "$MNT/"

rounds=0
for round in $(seq 1 10); do
  # Kill somewhere between 0.5 and 2 s into this round.
  sleep "$(awk -v r=$RANDOM 'BEGIN { printf "%.2f", 0.5 + r % 150 / 100 }')"
  held=$(partial_size)
  kill_nbfs
  rounds=$((rounds + 1))
  [ -e "$REMOTE/big.bin" ] && ! cmp -s "$WORK/src.bin" "$REMOTE/big.bin" && fail "a half file was published"
  log "round $round: killed with $held bytes in the partial"
  mount_nbfs "$PROXY_PORT" "$CACHE" "timeout=5"
done
[ $rounds -eq 10 ] || fail "only $rounds rounds"

# The server process, then sshd itself, dying mid-upload.
random_file "$WORK/src2.bin" $size
cp "$WORK/src2.bin" "$MNT/big2.bin"
wait_until 60 bash -c "[ \$(find '$REMOTE/.nbfs/partial' -type f -size +10M | wc -l) -ge 1 ]" || fail "upload 2 did not start"
pkill -9 -f "nbfs-server --root '$REMOTE'" || pkill -9 -f "nbfs-server --root $REMOTE" || fail "no server process to kill"
log "killed nbfs-server with $(partial_size) bytes in the partial"
wait_until 60 bash -c "[ \$(find '$REMOTE/.nbfs/partial' -type f -size +40M | wc -l) -ge 1 ]" || fail "upload 2 did not resume"
sshd_pid=$(cat "$WORK/sshd.pid")
# Its sessions too, and only its own: other tests and the benchmarks on this
# machine have sshd sessions of the same user (a pkill by name cut them).
descendants() { local c; for c in $(pgrep -P "$1"); do echo "$c"; descendants "$c"; done; }
sessions=()
for p in $(descendants "$sshd_pid"); do
  grep -q '^sshd: ' "/proc/$p/cmdline" 2>/dev/null && sessions+=("$p")
done
kill "$sshd_pid"
[ ${#sessions[@]} -eq 0 ] || kill "${sessions[@]}" 2>/dev/null
wait_until 10 bash -c "! kill -0 $sshd_pid 2>/dev/null" || fail "sshd did not stop"
log "sshd stopped with $(partial_size) bytes in the partial"
sleep 2
/usr/sbin/sshd -f "$WORK/sshd_config" -E "$WORK/sshd.log" || fail "sshd did not restart"
E2E_PIDS+=("$(cat "$WORK/sshd.pid")")

nbfs_wait 240 "$MNT"
cmp "$WORK/src.bin" "$REMOTE/big.bin" || fail "big.bin differs"
cmp "$WORK/src2.bin" "$REMOTE/big2.bin" || fail "big2.bin differs"
diff -r "$WORK/small" "$REMOTE/small" || fail "small files differ"
no_partials
up=$(proxy_stat_settled up)
total=$((2 * size))
ratio=$(echo "scale=3; $up / $total" | bc)
log "$rounds kills of nbfs, 1 of nbfs-server, 1 sshd restart: $up bytes up for $total (ratio $ratio)"
# Each crash may cost the data in flight (up to ~8 MiB on loopback).
[ "$up" -lt $((total + (rounds + 2) * 8 * 1024 * 1024)) ] || fail "re-sent too much: ratio $ratio"
umount_nbfs
pass "$rounds SIGKILLs, a server kill and an sshd restart: 0 bytes lost, ratio $ratio"
