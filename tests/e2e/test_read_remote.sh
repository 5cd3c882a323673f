#!/usr/bin/env bash
# Reading: files placed on the server directly appear in the mount with
# their real size, mode and time (state "remote"), read back byte-
# identical (fetched on demand, MD5-checked), and a large one read through
# a connection cut in the middle continues rather than restarts.
. "$(dirname "$0")/lib.sh"
e2e_init read_remote
start_sshd
start_proxy
mount_nbfs "$PROXY_PORT"

# A small file placed on the server while mounted shows up within seconds.
mkdir -p "$REMOTE/docs"
echo "written on the server" >"$REMOTE/docs/readme.txt"
chmod 640 "$REMOTE/docs/readme.txt"
touch -d "2021-05-06 07:08:09" "$REMOTE/docs/readme.txt"
wait_until 15 test -e "$MNT/docs/readme.txt" || fail "a file placed on the server did not appear"
[ "$(stat -c '%s %a %Y' "$MNT/docs/readme.txt")" = "$(stat -c '%s %a %Y' "$REMOTE/docs/readme.txt")" ] ||
  fail "size/mode/mtime differ: $(stat -c '%s %a %Y' "$MNT/docs/readme.txt")"
[ "$(state_of "$MNT/docs/readme.txt")" = remote ] || fail "state before reading is '$(state_of "$MNT/docs/readme.txt")'"
[ "$(cat "$MNT/docs/readme.txt")" = "written on the server" ] || fail "content read back"
[ "$(state_of "$MNT/docs/readme.txt")" = synced ] || fail "state after reading is '$(state_of "$MNT/docs/readme.txt")'"

# Changes made on the server by others show up within a few seconds.
echo "changed on the server" >"$REMOTE/docs/other.txt"
rm "$REMOTE/docs/readme.txt"
wait_until 15 bash -c "[ -e '$MNT/docs/other.txt' ]" || fail "new server file not listed"

# rmdir does not go by a listing the server has outdated: emptied there
# a moment after the mount listed it, the directory is removed at once;
# one the server still fills is refused.
mkdir -p "$REMOTE/gone/sub" "$REMOTE/full"
touch "$REMOTE/gone/sub/f" "$REMOTE/full/f"
wait_until 15 test -e "$MNT/gone/sub/f" || fail "gone/sub/f not listed"
ls "$MNT/full" >/dev/null
rm "$REMOTE/gone/sub/f" # the mount's listing of gone/sub still has f
rmdir "$MNT/gone/sub" || fail "rmdir of a directory emptied on the server was refused"
rmdir "$MNT/full" 2>"$WORK/rmdir.err" && fail "rmdir of a directory the server fills succeeded"
grep -q "not empty" "$WORK/rmdir.err" || fail "rmdir of a full directory: $(cat "$WORK/rmdir.err")"
nbfs_wait 30 "$MNT"
[ ! -e "$REMOTE/gone/sub" ] || fail "gone/sub is still on the server"
[ -e "$REMOTE/full/f" ] || fail "full/f went from the server"

# A large file read through a connection cut midway.
size=$((100 * 1024 * 1024))
random_file "$REMOTE/big.bin" $size
wait_until 15 test -e "$MNT/big.bin" || fail "big.bin not listed"
down0=$(proxy_stat_settled down)
cat "$MNT/big.bin" >"$WORK/read.bin" &
reader=$!
half() { [ "$(stat -c %s "$CACHE"/fetch/path-* 2>/dev/null | sort -n | tail -1)" -ge $((size / 2)) ] 2>/dev/null; }
wait_until 60 half || fail "download never reached half"
kill -USR1 "$PROXY_PID" # cut every connection
wait "$reader" || fail "the reader failed after the cut"
cmp "$REMOTE/big.bin" "$WORK/read.bin" || fail "content read through the cut differs"
down=$(($(proxy_stat_settled down) - down0))
ratio=$(echo "scale=3; $down / $size" | bc)
log "bytes down through the proxy: $down for $size (ratio $ratio), cuts $(proxy_stat cuts)"
[ "$(proxy_stat cuts)" -ge 1 ] || fail "no cut happened"
[ "$down" -lt $((size * 12 / 10)) ] || fail "the download restarted instead of resuming (ratio $ratio)"
grep -q "fetched (resumed at [1-9]" "$CACHE/nbfs.log" || fail "log shows no resumed download"
# Read again: from the local copy, nothing crosses the wire.
d1=$(proxy_stat_settled down)
cmp "$REMOTE/big.bin" "$MNT/big.bin" || fail "second read differs"
sleep 0.3
[ $(($(proxy_stat_settled down) - d1)) -lt 1000000 ] || fail "a second read went to the server again"
umount_nbfs
pass "server files listed, fetched on demand, resumed through a cut (ratio $ratio)"
