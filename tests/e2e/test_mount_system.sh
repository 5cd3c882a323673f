#!/usr/bin/env bash
# nbfs as the system mounts it: `mount -t fuse.nbfs REMOTE DIR -o ...`
# and fstab lines (through a scratch fstab: mount -T FILE DIR), both in
# the legacy `nbfs#REMOTE ... fuse` form and as `fuse.nbfs`, with the
# options that belong to mount(8) and systemd (_netdev, nofail, noauto,
# x-systemd.automount, ...), which nbfs must not hand to FUSE; also the
# helper's own calling convention (mount.fuse.nbfs SOURCE DIR -o ... -n
# -t fuse.nbfs, -f for a fake mount).
#
# mount(8) runs helpers with no PATH, so mount.fuse3 finds `nbfs` only in
# the standard directories: the test runs in a private mount namespace
# with a tmpfs on /usr/local/sbin that holds a link to the built nbfs.
# Nothing outside the namespace changes, and its mounts end with it.
# e2e: no-tsan: mount(8), fstab and helper arguments; the mount itself is covered elsewhere
if [ -z "${NB_IN_NAMESPACE:-}" ]; then
  exec unshare -m --propagation private env NB_IN_NAMESPACE=1 bash "$0" "$@"
fi
. "$(dirname "$0")/lib.sh"
e2e_init mount_system
mount -t tmpfs nbfs-test /usr/local/sbin || fail "no tmpfs on /usr/local/sbin"
ln -s "$NBFS" /usr/local/sbin/nbfs
start_sshd
user=$(id -un)
remote="$user@127.0.0.1:$SSHD_PORT:$REMOTE"
ours="identity=$WORK/client_key,known_hosts=$KNOWN_HOSTS,server=$NBFS_SERVER,delay=0.3"
systemish="_netdev,nofail,noauto,auto,user,defaults,x-systemd.automount,x-systemd.mount-timeout=30,comment=nbfs"

# mounted_ok NAME CACHE: the mount on $MNT is nbfs and syncs; then
# unmount it with umount(8), as the system would, and see nbfs exit.
mounted_ok() {
  local name=$1 cache=$2
  E2E_MOUNTS+=("$MNT")
  mountpoint -q "$MNT" || fail "$name: $MNT is not mounted"
  findmnt -n -o FSTYPE "$MNT" | grep -qx "fuse.nbfs" || fail "$name: type $(findmnt -n -o FSTYPE "$MNT")"
  NBFS_PID=$(cat "$cache/lock")
  echo "$name" >"$MNT/$name.txt" || fail "$name: cannot write"
  nbfs_wait 30 "$MNT/$name.txt"
  [ "$(cat "$REMOTE/$name.txt")" = "$name" ] || fail "$name: not on the server"
  umount "$MNT" || fail "$name: umount failed"
  wait_until 30 bash -c "! kill -0 $NBFS_PID 2>/dev/null" || fail "$name: nbfs did not exit after umount"
  log "$name: mounted, synced, unmounted"
}

# 1. nbfs itself ignores the system's options (FUSE would refuse them).
"$NBFS" -o "$ours,cache=$WORK/c1,$systemish" "$remote" "$MNT" || fail "nbfs refused fstab options"
mounted_ok direct "$WORK/c1"

# 2. As the helper mount(8) would run if /sbin/mount.fuse.nbfs links to nbfs.
mkdir -p "$WORK/sbin"
ln -s "$NBFS" "$WORK/sbin/mount.fuse.nbfs"
"$WORK/sbin/mount.fuse.nbfs" "nbfs#$remote" "$MNT" -f -o "rw,$ours,cache=$WORK/c2" -t fuse.nbfs ||
  fail "mount -f (fake) failed"
mountpoint -q "$MNT" && fail "mount -f mounted for real"
"$WORK/sbin/mount.fuse.nbfs" "$remote" "$MNT" -n -o "rw,nodev,nosuid,$ours,cache=$WORK/c2,$systemish" \
  -t fuse.nbfs || fail "the helper form failed"
mounted_ok helper "$WORK/c2"

# 3. mount -t fuse.nbfs (through mount.fuse3).
mount -t fuse.nbfs -o "$ours,cache=$WORK/c3,_netdev,nofail,x-systemd.automount" "$remote" "$MNT" ||
  fail "mount -t fuse.nbfs failed"
mounted_ok mount_t "$WORK/c3"

# 4. fstab lines, both forms.
mkdir -p "$WORK/mnt2"
cat >"$WORK/fstab" <<FSTAB
# scratch fstab for test_mount_system
nbfs#$remote $MNT fuse $ours,cache=$WORK/c4,_netdev,noauto,nofail 0 0
$remote $WORK/mnt2 fuse.nbfs $ours,cache=$WORK/c5,_netdev,nofail,x-systemd.automount,noauto 0 0
FSTAB
mount -T "$WORK/fstab" "$MNT" || fail "mount of the nbfs#REMOTE fstab line failed"
mounted_ok fstab_legacy "$WORK/c4"
MNT=$WORK/mnt2
mount -T "$WORK/fstab" "$MNT" || fail "mount of the fuse.nbfs fstab line failed"
mounted_ok fstab "$WORK/c5"
pass "mount -t fuse.nbfs, fstab lines and the helper form mount, sync and unmount"
