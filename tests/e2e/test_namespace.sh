#!/usr/bin/env bash
# Every namespace operation reaches the server, in order, while the
# application sees local speed: rename and delete of pending and in-flight
# uploads, a directory renamed with pending files in it, the editor
# pattern and sed -i repeated quickly, a file created and deleted at once
# (its upload stops, nothing of it reaches the server), symlinks, chmod,
# utimens, truncate.
. "$(dirname "$0")/lib.sh"
e2e_init namespace
start_sshd
start_proxy
NB_DELAY=1 mount_nbfs "$PROXY_PORT"

# --- created and deleted at once: the upload stops, nothing reaches the
# server. A file made by one writer goes as soon as it is closed (no
# quiet time), so the first chunks (256 KiB each) may be on the wire
# before the rm is queued; the upload stops at its next step after it.
# (Under 8 MiB, so it never streams while written, however slow the
# machine; a stream stopped by a removal is test_stream's.)
random_file "$WORK/tmp.bin" $((6 * 1024 * 1024))
before=$(proxy_stat_settled up)
cp "$WORK/tmp.bin" "$MNT/scratch.bin"
rm "$MNT/scratch.bin"
sleep 2.5
nbfs_wait 30 "$MNT"
after=$(proxy_stat_settled up)
[ ! -e "$REMOTE/scratch.bin" ] || fail "a deleted file reached the server"
[ $((after - before)) -lt $((4 * 1024 * 1024)) ] || fail "a created-and-deleted 6 MiB file cost $((after - before)) bytes"

# --- rename of a pending file, and of a whole directory with pending files
mkdir -p "$MNT/proj/src"
for i in 1 2 3; do echo "file $i" >"$MNT/proj/src/f$i.c"; done
mv "$MNT/proj/src/f1.c" "$MNT/proj/src/main.c"
mv "$MNT/proj" "$MNT/project"
nbfs_wait 30 "$MNT"
[ -f "$REMOTE/project/src/main.c" ] && [ -f "$REMOTE/project/src/f2.c" ] || fail "renamed tree not on the server: $(find "$REMOTE" -path '*/.nbfs' -prune -o -print)"
[ ! -e "$REMOTE/proj" ] || fail "old directory name left on the server"
[ "$(cat "$REMOTE/project/src/main.c")" = "file 1" ] || fail "main.c content"

# --- rename a synced directory (server-side rename), then files in it
mv "$MNT/project" "$MNT/proj2"
echo "new" >"$MNT/proj2/src/new.c"
[ -f "$MNT/proj2/src/f3.c" ] || fail "renamed directory lost its listing"
nbfs_wait 30 "$MNT"
[ -f "$REMOTE/proj2/src/f3.c" ] && [ -f "$REMOTE/proj2/src/new.c" ] && [ ! -e "$REMOTE/project" ] ||
  fail "server-side directory rename: $(ls -R "$REMOTE" | head -20)"

# --- rename and delete while an upload is in flight
random_file "$WORK/big.bin" $((200 * 1024 * 1024))
cp "$WORK/big.bin" "$MNT/inflight.bin"
wait_until 60 bash -c "[ \"\$(getfattr --only-values -n user.nbfs.state '$MNT/inflight.bin' 2>/dev/null)\" = uploading ]" ||
  fail "upload never started"
mv "$MNT/inflight.bin" "$MNT/moved.bin"
nbfs_wait 120 "$MNT"
cmp "$WORK/big.bin" "$REMOTE/moved.bin" || fail "moved.bin differs on the server"
[ ! -e "$REMOTE/inflight.bin" ] || fail "old name of a file renamed in flight is on the server"
no_partials
up=$(proxy_stat_settled up)
log "rename in flight: $((up - after)) bytes up for a 200 MiB file (incl. small files)"
[ $((up - after)) -lt $((200 * 1024 * 1024 * 13 / 10)) ] || fail "renaming in flight restarted the upload"

cp "$WORK/big.bin" "$MNT/doomed.bin"
wait_until 60 bash -c "[ \"\$(getfattr --only-values -n user.nbfs.state '$MNT/doomed.bin' 2>/dev/null)\" = uploading ]" ||
  fail "upload never started"
rm "$MNT/doomed.bin"
nbfs_wait 60 "$MNT"
[ ! -e "$REMOTE/doomed.bin" ] || fail "a file deleted in flight is on the server"

# --- the editor pattern and sed -i, repeated quickly
echo "version 0" >"$MNT/notes.txt"
for i in $(seq 1 20); do
  echo "version $i" >"$MNT/.notes.txt.swp"
  sync "$MNT/.notes.txt.swp" 2>/dev/null || true
  mv "$MNT/.notes.txt.swp" "$MNT/notes.txt"
done
for i in $(seq 1 10); do sed -i "s/version .*/version s$i/" "$MNT/notes.txt"; done
nbfs_wait 60 "$MNT"
[ "$(cat "$REMOTE/notes.txt")" = "version s10" ] || fail "notes.txt on the server: $(cat "$REMOTE/notes.txt")"
leftovers=$(find "$REMOTE" -maxdepth 1 -name '.notes*' -o -maxdepth 1 -name 'sed*' | wc -l)
[ "$leftovers" -eq 0 ] || fail "temporary files left on the server: $(ls -a "$REMOTE")"

# --- symlinks, chmod, utimens, truncate, rmdir
ln -s proj2/src/main.c "$MNT/link-to-main"
chmod 600 "$MNT/notes.txt"
touch -d "2020-01-02 03:04:05" "$MNT/notes.txt"
truncate -s 3 "$MNT/proj2/src/f2.c"
mkdir "$MNT/empty"
rmdir "$MNT/empty"
rm "$MNT/proj2/src/f3.c"
nbfs_wait 60 "$MNT"
[ "$(readlink "$REMOTE/link-to-main")" = proj2/src/main.c ] || fail "symlink"
[ "$(stat -c %a "$REMOTE/notes.txt")" = 600 ] || fail "chmod"
[ "$(stat -c %Y "$REMOTE/notes.txt")" = "$(date -d '2020-01-02 03:04:05' +%s)" ] || fail "utimens"
[ "$(stat -c %s "$REMOTE/proj2/src/f2.c")" = 3 ] || fail "truncate"
[ ! -e "$REMOTE/empty" ] || fail "rmdir"
[ ! -e "$REMOTE/proj2/src/f3.c" ] || fail "unlink"

# --- after all that, the mount and the server agree
diff -r --no-dereference "$MNT" "$REMOTE" -x .nbfs || fail "mount and server differ"
umount_nbfs
pass "namespace operations reach the server in order"
