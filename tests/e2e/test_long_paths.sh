#!/usr/bin/env bash
# Paths longer than PATH_MAX below the mount root (reached through a deep
# working directory, as on ext4): a tree 16.5 KiB deep written in the
# mount reaches the server byte-identical; renames and removal there
# follow; a file the server holds that deep is read back through the
# mount; and after a remount the staged tree is scanned without trouble.
. "$(dirname "$0")/lib.sh"
e2e_init long_paths
DEEP="python3 $E2E_DIR/deep_tree.py"
start_sshd
mount_nbfs "$SSHD_PORT"
top=$($DEEP top)

random_file "$WORK/big.bin" $((700 * 1024)) # past PUT_SMALL: a resumable upload
$DEEP make "$MNT/w" "$WORK/big.bin" || fail "writing the deep tree in the mount"
$DEEP check "$MNT/w" "$WORK/big.bin" || fail "the deep tree read back in the mount"
nbfs_wait 60 "$MNT"
$DEEP check "$REMOTE/w" "$WORK/big.bin" || fail "the server's copy of the deep tree"
log "16.5 KiB deep: written and on the server"

$DEEP move "$MNT/w" || fail "renames in the deep tree"
nbfs_wait 60 "$MNT"
$DEEP moved "$REMOTE/w" "$WORK/big.bin" || fail "the server after the renames"

# Written on the server that deep: listed and fetched through the mount.
random_file "$WORK/srv.bin" $((300 * 1024))
$DEEP make "$REMOTE/s" "$WORK/srv.bin" || fail "writing the deep tree on the server"
wait_until 20 test -d "$MNT/s/$top" || fail "the server's deep tree is not listed"
$DEEP check "$MNT/s" "$WORK/srv.bin" || fail "the server's deep tree read through the mount"

# The mount-time scan walks the staged deep tree.
umount_nbfs
mount_nbfs "$SSHD_PORT"
$DEEP moved "$MNT/w" "$WORK/big.bin" || fail "the deep tree after a remount"
grep -q "not known to be on the server" "$CACHE/nbfs.log" &&
  fail "the scan queued again what the server holds"

if ! rm -rf "${MNT:?}/w" "${MNT:?}/s"; then
  # What nbfs found in the directory it refused to remove (runs of a
  # letter shortened, so the path fits a line).
  grep -a "not empty" "$CACHE/nbfs.log" | sed -E 's/(.)\1{9,}/\1~/g' | tail -5
  fail "rm -rf of the deep trees in the mount"
fi
nbfs_wait 60 "$MNT"
[ -z "$(ls -A "$REMOTE")" ] || [ "$(ls -A "$REMOTE")" = .nbfs ] ||
  fail "left on the server after rm -rf: $(ls -A "$REMOTE")"
umount_nbfs
pass "a 16.5 KiB deep tree: written, renamed, read from the server, removed"
