#!/usr/bin/env bash
# Server-side faults: a crash between receiving the last byte and
# renaming into place; a link that dies after publishing, before the
# answer; a full disk (the root on a small tmpfs); a partial
# file corrupted or truncated behind nbfs's back; stale partials swept
# after their age, never while in use.
. "$(dirname "$0")/lib.sh"
e2e_init fault_server
start_sshd
mb=$((1024 * 1024))

# --- 1. crash before the rename: the file is resumable, never half there
random_file "$WORK/a.bin" $((20 * mb))
touch "$WORK/crash-once"
mount_nbfs "$SSHD_PORT" "$CACHE" "timeout=5,server_args=--fault-file $WORK/crash-once"
cp "$WORK/a.bin" "$MNT/a.bin"
crashed() { [ ! -e "$WORK/crash-once" ]; }
wait_until 60 crashed || fail "the server never reached the crash point"
[ ! -e "$REMOTE/a.bin" ] || cmp -s "$WORK/a.bin" "$REMOTE/a.bin" || fail "half-published after the crash"
nbfs_wait 60 "$MNT/a.bin"
cmp "$WORK/a.bin" "$REMOTE/a.bin" || fail "a.bin differs"
grep -q "resuming at $((20 * mb))" "$CACHE/nbfs.log" || fail "the verified partial was not reused after the crash"
no_partials
umount_nbfs
log "1. crash before rename: resumed from the complete partial, published whole"

# --- 1b. the link dies after the server published, before its answer, and
# the file changes meanwhile: the next upload must see that the server
# holds our own version, not somebody else's (no false conflict).
mount_nbfs "$SSHD_PORT" "$WORK/cache1b" "timeout=5,delay=0,server_args=--fault-file $WORK/stall-once"
echo "version 1" >"$MNT/doc.txt"
nbfs_wait 30 "$MNT/doc.txt"
echo after-publish >"$WORK/stall-once"
echo "version 2, longer" >"$MNT/doc.txt"
stalled() { [ ! -e "$WORK/stall-once" ]; }
wait_until 30 stalled || fail "the server never reached the stall after publishing"
grep -q "version 2" "$REMOTE/doc.txt" || fail "version 2 was not published before the stall"
echo "version 3, the last one" >"$MNT/doc.txt"
nbfs_wait 60 "$MNT/doc.txt"
[ "$(cat "$REMOTE/doc.txt")" = "version 3, the last one" ] || fail "the server holds: $(cat "$REMOTE/doc.txt")"
conflicts=$(find "$REMOTE" "$MNT" -name '*conflict*' | wc -l)
[ "$conflicts" -eq 0 ] || fail "a false conflict: $(find "$REMOTE" "$MNT" -name '*conflict*')"
grep -q "doc.txt: the upload cut off before its answer had been published" "$WORK/cache1b/nbfs.log" ||
  fail "the in-doubt upload was not settled by asking the server"
umount_nbfs
log "1b. answer lost after publishing, file changed meanwhile: no false conflict, last version published"

# --- 2. partials damaged behind nbfs's back
mkdir -p "$REMOTE/.nbfs/partial"
# Corrupted: the partial for b.bin's content holds wrong bytes.
random_file "$WORK/b.bin" $((30 * mb))
md5b=$(md5sum <"$WORK/b.bin" | cut -d' ' -f1)
head -c $((10 * mb)) /dev/zero >"$REMOTE/.nbfs/partial/$md5b"
# Truncated: the partial for c.bin's content is a true but short prefix.
random_file "$WORK/c.bin" $((30 * mb))
md5c=$(md5sum <"$WORK/c.bin" | cut -d' ' -f1)
head -c $((3 * mb + 123)) "$WORK/c.bin" >"$REMOTE/.nbfs/partial/$md5c"
# Too long: more bytes than the file has.
random_file "$WORK/e.bin" $((2 * mb))
md5e=$(md5sum <"$WORK/e.bin" | cut -d' ' -f1)
head -c $((3 * mb)) /dev/urandom >"$REMOTE/.nbfs/partial/$md5e"
mount_nbfs "$SSHD_PORT" "$WORK/cache2" "timeout=5"
# Paused while they are copied, resumed once their MD5s are known: the
# uploads are offered by their MD5 (PUT_OPEN) and meet the partials
# above, instead of streaming under a key of their own as they are
# written (e.bin, under 8 MiB, never streams).
"$NBFS" pause "$MNT" || fail "nbfs pause"
cp "$WORK/b.bin" "$WORK/c.bin" "$WORK/e.bin" "$MNT/"
wait_hashed "$WORK/cache2" b.bin c.bin
"$NBFS" resume "$MNT" || fail "nbfs resume"
nbfs_wait 90 "$MNT"
for f in b c e; do cmp "$WORK/$f.bin" "$REMOTE/$f.bin" || fail "$f.bin differs on the server"; done
grep -q "b.bin: server's partial .* does not match our content" "$WORK/cache2/nbfs.log" ||
  fail "the corrupted prefix was not noticed"
grep -q "b.bin: $((30 * mb)) bytes, resuming at 0" "$WORK/cache2/nbfs.log" || fail "b.bin did not restart from zero"
grep -q "c.bin: $((30 * mb)) bytes, resuming at $((3 * mb + 123))" "$WORK/cache2/nbfs.log" ||
  fail "c.bin did not resume at the truncated partial's length"
grep -q "e.bin: $((2 * mb)) bytes, resuming at 0" "$WORK/cache2/nbfs.log" || fail "e.bin did not restart"
no_partials
umount_nbfs
log "2. corrupted partial restarted from zero, truncated one resumed at its length, overlong one reset"

# --- 3. stale partials: swept after their age, never while in use
mkdir -p "$REMOTE/.nbfs/partial"
echo old >"$REMOTE/.nbfs/partial/0123456789abcdef0123456789abcdef"
touch -d "10 days ago" "$REMOTE/.nbfs/partial/0123456789abcdef0123456789abcdef"
echo young >"$REMOTE/.nbfs/partial/fedcba9876543210fedcba9876543210"
echo "in use" >"$REMOTE/.nbfs/partial/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
touch -d "10 days ago" "$REMOTE/.nbfs/partial/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
# Hold the lock an uploading session would hold.
flock -x "$REMOTE/.nbfs/partial/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" sleep 30 &
holder=$!
E2E_PIDS+=("$holder")
sleep 0.3
mount_nbfs "$SSHD_PORT" "$WORK/cache3" "server_args=--stale-after 86400"
[ ! -e "$REMOTE/.nbfs/partial/0123456789abcdef0123456789abcdef" ] || fail "a stale partial was kept"
[ -e "$REMOTE/.nbfs/partial/fedcba9876543210fedcba9876543210" ] || fail "a young partial was removed"
[ -e "$REMOTE/.nbfs/partial/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" ] || fail "a partial in use was removed"
kill "$holder"
umount_nbfs
log "3. stale partial swept; young one and one in use kept"

# --- 4. the server's disk fills up
FULL=$WORK/small-root
mkdir -p "$FULL"
mount -t tmpfs -o size=24m tmpfs "$FULL" || fail "cannot mount a tmpfs"
E2E_MOUNTS+=("$FULL")
head -c $((12 * mb)) /dev/zero >"$FULL/filler"
random_file "$WORK/d.bin" $((16 * mb))
remote_save=$REMOTE
REMOTE=$FULL
mount_nbfs "$SSHD_PORT" "$WORK/cache4" "timeout=5,delay=0"
cp "$WORK/d.bin" "$MNT/d.bin"
in_error() { [ "$(state_of "$MNT/d.bin")" = error ]; }
wait_until 60 in_error || fail "a full disk did not show as error (state $(state_of "$MNT/d.bin"))"
err=$(getfattr --only-values -n user.nbfs.error "$MNT/d.bin")
log "error shown: $err"
echo "$err" | grep -qi "space" || fail "the error does not say the disk is full: $err"
# Retries are spaced out, not a spin.
sleep 6
attempts=$(grep -c "d.bin: resuming at\|d.bin: .*space" "$WORK/cache4/nbfs.log")
[ "$attempts" -le 4 ] || fail "$attempts attempts in a few seconds: spinning"
rm "$FULL/filler"
# The next retry (they are 15 s apart) finds room and resumes.
synced() { [ "$(state_of "$MNT/d.bin")" = synced ]; }
wait_until 60 synced || fail "d.bin not synced after space was freed (state $(state_of "$MNT/d.bin"))"
cmp "$WORK/d.bin" "$FULL/d.bin" || fail "d.bin differs after space was freed"
umount_nbfs
fusermount3 -u "$FULL" 2>/dev/null || umount "$FULL"
REMOTE=$remote_save
log "4. full server disk: error with a clear text, spaced retries, completed after space was freed"
pass "server crash, corrupted/truncated partials, stale sweep, full disk"
