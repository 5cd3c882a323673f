#!/usr/bin/env bash
# A file changed while it is being uploaded is uploaded again with its new
# content, and the server never publishes a mix of two versions.
. "$(dirname "$0")/lib.sh"
e2e_init change
start_sshd
size=$((200 * 1024 * 1024))
# Paced, so the upload is still on its way when cp has returned and the
# test changes the file (unpaced, the GiB-a-second upload could end
# before the change, and on a slow machine a cp of over a second
# streams while it is written).
start_proxy --rate $((40 * 1024 * 1024))
mount_nbfs "$PROXY_PORT"

random_file "$WORK/v1" $size
cp "$WORK/v1" "$MNT/f.bin" || fail "cp"
uploading() { [ "$(state_of "$MNT/f.bin")" = uploading ] && [ "$(partial_size)" -gt $((size / 10)) ]; }
wait_until 60 uploading || fail "upload never started (state $(state_of "$MNT/f.bin"))"
# Rewrite the start and the end of the file in place while it travels.
head -c $((1024 * 1024)) /dev/zero | dd of="$MNT/f.bin" bs=1M conv=notrunc status=none || fail "dd start"
printf 'the new tail' | dd of="$MNT/f.bin" bs=1 seek=$((size - 12)) conv=notrunc status=none || fail "dd tail"
cp "$MNT/f.bin" "$WORK/v2"
cmp -s "$WORK/v1" "$WORK/v2" && fail "the local rewrite did not change the file"
# While the old version is abandoned, nothing may be published that is
# neither version; at the end only the new version may be there.
for _ in $(seq 1 20); do
  if [ -f "$REMOTE/f.bin" ]; then
    cmp -s "$REMOTE/f.bin" "$WORK/v2" || cmp -s "$REMOTE/f.bin" "$WORK/v1" ||
      fail "the server published a mix of two versions"
  fi
  sleep 0.1
done
nbfs_wait 180 "$MNT/f.bin"
cmp "$WORK/v2" "$REMOTE/f.bin" || fail "the server does not hold the new version"
no_partials
grep -q "changed or removed during its upload" "$CACHE/nbfs.log" || fail "the change did not reach the upload in flight"
umount_nbfs
pass "changed during upload: the server ends with the new version, never a mix"
