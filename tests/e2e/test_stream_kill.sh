#!/usr/bin/env bash
# SIGKILL of nbfs while a large file is streamed as it is written, its
# writer still open: the writer sees the mount die, and a new mount on
# the same cache shows the file as far as its writes reached the staging
# area (every write that returned, a prefix of what was written). Its
# stream resumes under the key on record at what the server's partial
# holds, the server ends with exactly the bytes the mount shows, no
# partial is left, and what crosses the proxy after the remount is
# about what the partial lacked, not the whole file again.
. "$(dirname "$0")/lib.sh"
e2e_init stream_kill
start_sshd
mib=$((1024 * 1024))
# A link slower than the writer (3 MiB/s against 5): the stream falls
# behind it, so the staging area holds more than the partial when nbfs
# dies. A stream that kept up would leave nothing to resume.
start_proxy --rate $((3 * mib))
mount_nbfs "$PROXY_PORT"

size=$((48 * mib))
want=$((12 * mib)) # the partial's size at which nbfs is killed
random_file "$WORK/slow.bin" $size

# writer.py SRC DST PROGRESS: write SRC to DST a MiB at a time, 0.2 s
# apart (48 MiB in about 10 s, so the stream begins while it writes), then
# keep DST open (at most 180 s) until the mount dies. After each write
# that returned, PROGRESS holds the bytes written so far. An error from
# the dead mount ends it quietly: that is what the test expects.
cat >"$WORK/writer.py" <<'PY'
import os, sys, time
src, dst, progress = sys.argv[1:4]
def note(s):
    with open(progress + ".tmp", "w") as p:
        p.write(s)
    os.replace(progress + ".tmp", progress)
done = 0
try:
    with open(src, "rb") as s:
        fd = os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        while True:
            chunk = s.read(1 << 20)
            if not chunk:
                break
            while chunk:
                n = os.write(fd, chunk)
                done += n
                chunk = chunk[n:]
                note("%d writing" % done)
            time.sleep(0.2)
        note("%d holding" % done)
        deadline = time.time() + 180
        while time.time() < deadline:
            os.fstat(fd)  # ENOTCONN once the mount is gone
            time.sleep(0.1)
        os.close(fd)
except OSError as e:
    print("writer: %s after %d bytes" % (e, done))
PY
python3 "$WORK/writer.py" "$WORK/slow.bin" "$MNT/slow.bin" "$WORK/progress" &
writer=$!
E2E_PIDS+=("$writer")
writer_at=$((${#E2E_PIDS[@]} - 1))

# The stream's partial on the server is named by its key (32 hex digits).
stream_partial() { find "$REMOTE/.nbfs/partial" -maxdepth 1 -type f -regextype egrep -regex '.*/[0-9a-f]{32}' 2>/dev/null; }
stream_held() {
  local f
  f=$(stream_partial | head -1)
  if [ -n "$f" ] && [ -f "$f" ]; then stat -c %s "$f" 2>/dev/null || echo 0; else echo 0; fi
}
held_enough() { [ "$(stream_held)" -ge $want ]; }
started=$SECONDS
wait_until 180 held_enough ||
  fail "the server's partial never held $want bytes while the file was written (it holds $(stream_held))"
[ -f "$REMOTE/slow.bin" ] && fail "published while its writer was open"
kill -0 "$writer" 2>/dev/null || fail "the writer ended before the kill"
at_kill=$(cat "$WORK/progress")
kill_nbfs
held_kill=$(stream_held)
key=$(basename "$(stream_partial | head -1)")
log "killed nbfs $((SECONDS - started)) s after the writer began: the writer at ${at_kill% *} bytes (${at_kill#* }), the partial $held_kill bytes (key $key)"

writer_gone() { ! kill -0 "$writer" 2>/dev/null || [ "$(awk '{print $3}' "/proc/$writer/stat" 2>/dev/null)" = Z ]; }
wait_until 30 writer_gone || fail "the writer lived on after the mount died"
wait "$writer"
unset "E2E_PIDS[$writer_at]" # reaped: its pid is no longer ours to kill
written=$(cut -d' ' -f1 "$WORK/progress")
log "writes that returned: $written bytes"

# The old server session drains what was on its way, then ends: the
# partial holds what the next session will be offered.
held=$held_kill
settled() {
  local now
  now=$(stream_held)
  [ "$now" = "$held" ] && [ "$(stream_partial | wc -l)" -eq 1 ] && sleep 1 && [ "$(stream_held)" = "$now" ] && return 0
  held=$now
  return 1
}
wait_until 30 settled || fail "the server's partial did not settle (it holds $(stream_held) bytes)"
[ -f "$REMOTE/slow.bin" ] && fail "a file was published although its writer never closed"
[ "$held" -ge "$held_kill" ] || fail "the partial shrank after the kill: $held_kill -> $held"
cmp -n "$held" "$REMOTE/.nbfs/partial/$key" "$WORK/slow.bin" || fail "the partial is not a prefix of what was written"
up_before=$(proxy_stat_settled up)
log_lines=$(wc -l <"$CACHE/nbfs.log")

remounted=$SECONDS
mount_nbfs "$PROXY_PORT"
len=$(stat -c %s "$MNT/slow.bin") || fail "slow.bin is gone from the mount after the remount"
log "the mount shows $len bytes of slow.bin; the partial holds $held"
[ "$len" -ge "$written" ] || fail "the mount shows $len bytes, but $written bytes of writes had returned"
[ "$len" -le $size ] || fail "the mount shows $len bytes, more than was written"
[ "$held" -lt "$len" ] || fail "the partial already held all $len bytes at the kill: nothing to resume"
start=$(date +%s.%N)
nbfs_wait 180 "$MNT/slow.bin"
log "nbfs wait after the remount: $(echo "$(date +%s.%N) - $start" | bc) s ($((SECONDS - remounted)) s from the remount)"

[ "$(stat -c %s "$MNT/slow.bin")" = "$len" ] || fail "slow.bin changed its size in the mount"
mine=$(md5sum <"$MNT/slow.bin" | cut -d' ' -f1)
[ "$(head -c "$len" "$WORK/slow.bin" | md5sum | cut -d' ' -f1)" = "$mine" ] ||
  fail "the mount's slow.bin is not the first $len bytes of what was written"
[ -f "$REMOTE/slow.bin" ] || fail "slow.bin was not published"
theirs=$(md5sum <"$REMOTE/slow.bin" | cut -d' ' -f1)
[ "$theirs" = "$mine" ] ||
  fail "the server's slow.bin ($(stat -c %s "$REMOTE/slow.bin") bytes, MD5 $theirs) is not the mount's ($len bytes, MD5 $mine)"
no_partials

# The stream went on under its key from what the partial held.
after=$(tail -n +"$((log_lines + 1))" "$CACHE/nbfs.log")
resumed=$(printf '%s\n' "$after" | sed -n 's/.*slow\.bin: stream, resuming at \([0-9]*\).*/\1/p' | head -1)
if [ -z "$resumed" ] || [ "$resumed" -eq 0 ]; then
  printf '%s\n' "$after" | grep -E 'slow\.bin|partial|stream' | head -20
  fail "the stream did not resume after the remount (resuming at '${resumed}', the partial held $held bytes)"
fi
printf '%s\n' "$after" | grep -q "slow.bin: server's partial .* does not match" &&
  fail "the partial was refused as not matching the file"
[ "$resumed" -ge "$held_kill" ] || fail "resumed at $resumed, less than the $held_kill bytes the partial held at the kill"
printf '%s\n' "$after" | grep -q "slow.bin: published .* as it was written" ||
  fail "slow.bin was not published as a stream"

up=$(($(proxy_stat_settled up) - up_before))
limit=$(((len - held) * 105 / 100 + mib))
log "bytes up through the proxy after the remount: $up for the $((len - held)) bytes the partial lacked (limit $limit; resumed at $resumed of $len)"
[ "$up" -le "$limit" ] || fail "sent $up bytes after the remount for $((len - held)) missing: the stream started over"
umount_nbfs
pass "a stream killed at $held_kill of $len bytes resumed at $resumed; $up bytes after the remount"
