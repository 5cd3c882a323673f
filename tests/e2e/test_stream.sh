#!/usr/bin/env bash
# A large file written slowly into the mount (a download saved there, a
# camera import) starts its upload while it is written: the server holds
# most of it before the writer closes, and `nbfs wait` after the close
# has little left to wait for. A file rewritten in place after the
# stream began reaches the server as it was closed, never a mix.
. "$(dirname "$0")/lib.sh"
e2e_init stream
start_sshd
mount_nbfs "$SSHD_PORT"

size=$((48 * 1024 * 1024))
random_file "$WORK/slow.bin" $size
# writer.py SRC DST FIRST_MIB HELD_MIB PARTIALS [header|remove]: write
# SRC's first FIRST_MIB MiB to DST a MiB at a time, wait (at most 60 s)
# until the server's partial holds HELD_MIB MiB while DST is still open,
# write the rest; with header, write over DST's first 6,000 bytes before
# the close; with remove, remove DST (still open) before the rest.
cat >"$WORK/writer.py" <<'PY'
import os, sys, time
src, dst, first, want = sys.argv[1], sys.argv[2], int(sys.argv[3]) << 20, int(sys.argv[4]) << 20
pdir = sys.argv[5]
mode = sys.argv[6] if len(sys.argv) > 6 else ""
def held():
    try:
        return max([os.path.getsize(os.path.join(pdir, n)) for n in os.listdir(pdir)] or [0])
    except OSError:
        return 0
with open(src, "rb") as s, open(dst, "wb") as d:
    for _ in range(first >> 20):
        d.write(s.read(1 << 20))
        d.flush()
        time.sleep(0.01)
    deadline = time.time() + 60
    while held() < want and time.time() < deadline:
        time.sleep(0.05)
    if held() < want:
        sys.exit("the server's partial holds %d bytes while the file is open" % held())
    print("server held %d bytes before the close" % held())
    if mode == "remove":
        os.unlink(dst)
    d.write(s.read())
    if mode == "header":
        d.flush()
        d.seek(0)
        d.write(b"HEADER" * 1000)
PY
python3 "$WORK/writer.py" "$WORK/slow.bin" "$MNT/slow.bin" 32 16 "$REMOTE/.nbfs/partial" ||
  fail "slow writer"
[ -f "$REMOTE/slow.bin" ] && fail "published before it was whole"
start=$(date +%s.%N)
nbfs_wait 120 "$MNT/slow.bin"
log "nbfs wait after the close: $(echo "$(date +%s.%N) - $start" | bc) s"
cmp "$WORK/slow.bin" "$REMOTE/slow.bin" || fail "slow.bin differs on the server"
grep -q "slow.bin: published .* as it was written" "$CACHE/nbfs.log" ||
  fail "slow.bin was not uploaded as it was written"
no_partials

# The stream of a file rewritten at its start (a header filled in at the
# end, as some formats do) stops, and the server gets the file as closed.
python3 "$WORK/writer.py" "$WORK/slow.bin" "$MNT/hdr.bin" 24 10 "$REMOTE/.nbfs/partial" header ||
  fail "rewriter"
python3 -c '
import sys
data = bytearray(open(sys.argv[1], "rb").read())
data[0:6000] = b"HEADER" * 1000
open(sys.argv[2], "wb").write(data)' "$WORK/slow.bin" "$WORK/hdr.bin"
nbfs_wait 120 "$MNT/hdr.bin"
cmp "$WORK/hdr.bin" "$REMOTE/hdr.bin" || fail "hdr.bin differs on the server"
grep -q "hdr.bin: changed or removed during its upload" "$CACHE/nbfs.log" ||
  fail "the rewrite did not stop the stream"
no_partials

# Removed while written, once its stream had begun (a scratch file): the
# stream stops, its partial is discarded, nothing is published.
python3 "$WORK/writer.py" "$WORK/slow.bin" "$MNT/gone.bin" 24 10 "$REMOTE/.nbfs/partial" remove ||
  fail "writer of gone.bin"
nbfs_wait 60 "$MNT"
[ -e "$REMOTE/gone.bin" ] && fail "a removed file reached the server"
grep -q "gone.bin: changed or removed during its upload" "$CACHE/nbfs.log" ||
  fail "the removal did not stop the stream"
no_partials
umount_nbfs
pass "streamed while written; a rewrite and a removal stopped the stream; files as closed"
