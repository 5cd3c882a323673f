#!/usr/bin/env bash
# No head-of-line blocking: while a large upload crawls over a slow link,
# small files, a new directory and a rename queued after it reach the
# server long before the large file does, and the large file's upload
# keeps going meanwhile.
. "$(dirname "$0")/lib.sh"
e2e_init no_hol
start_sshd
# 8 MB/s up: the 256 MiB file needs about half a minute.
start_proxy --rate 8000000
mount_nbfs "$PROXY_PORT"

big=$((256 * 1024 * 1024))
random_file "$WORK/big.bin" $big
cp "$WORK/big.bin" "$MNT/" || fail "cp of the large file"
started() { [ "$(partial_size)" -gt 0 ]; }
wait_until 30 started || fail "the large upload never started"
log "the large upload is under way ($(partial_size) bytes on the server)"

# Work queued behind it.
mkdir "$MNT/later" || fail "mkdir"
for i in $(seq 1 50); do
  head -c 4096 /dev/urandom >"$MNT/later/small$i" || fail "write small$i"
done
echo "renamed" >"$MNT/before-rename" || fail "write"
mv "$MNT/before-rename" "$MNT/after-rename" || fail "rename"
t0=$(date +%s%N)
"$NBFS" wait --timeout 20 "$MNT/later" "$MNT/after-rename" ||
  fail "the small work queued behind the large upload did not sync within 20 s"
took=$(echo "scale=2; ($(date +%s%N) - $t0) / 1000000000" | bc)
for i in $(seq 1 50); do
  cmp -s "$MNT/later/small$i" "$REMOTE/later/small$i" || fail "small$i differs on the server"
done
[ "$(cat "$REMOTE/after-rename")" = renamed ] || fail "the renamed file is not on the server"
[ ! -e "$REMOTE/before-rename" ] || fail "the old name is still on the server"
held=$(partial_size)
[ ! -e "$REMOTE/big.bin" ] && [ "$held" -lt "$big" ] ||
  fail "the large file was already complete: the test proves nothing (raise its size)"
# The large upload was not stopped to let them pass: it kept moving.
moved() { [ "$(partial_size)" -gt "$held" ]; }
wait_until 10 moved ||
  fail "the large upload stopped moving"
log "51 small files, a mkdir and a rename synced in ${took} s, the large file at $held of $big bytes"
umount_nbfs
pass "no head-of-line blocking: small work synced in ${took} s behind a large upload in progress"
