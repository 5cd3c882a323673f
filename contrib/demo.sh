#!/usr/bin/env bash
# Set everything up and run nbfs for real on this machine: install the
# packages, build and install nbfs and nbfs-server, start an sshd on
# 127.0.0.1:2222 that accepts a key made for the demo, and mount
#   /mnt/nbfs  ->  root@127.0.0.1:2222:/srv/nbfs-demo
# Then copy a file in, wait for it to be synced, and show its state.
# Run as root on Debian 12 (as another user it runs itself again through
# sudo, where there is sudo). Safe to run again.
#
#   NBFS_DEMO_PORT=2222 NBFS_DEMO_MNT=/mnt/nbfs NBFS_DEMO_ROOT=/srv/nbfs-demo
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
port=${NBFS_DEMO_PORT:-2222}
mnt=${NBFS_DEMO_MNT:-/mnt/nbfs}
root=${NBFS_DEMO_ROOT:-/srv/nbfs-demo}
state=/var/lib/nbfs-demo

. "$repo/contrib/as-root.sh"
as_root "$0" "$@"
"$repo/contrib/install-deps.sh"

echo "== building and installing nbfs"
cmake -S "$repo" -B "$repo/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$repo/build" -j"$(nproc)" >/dev/null
cmake --install "$repo/build" --prefix /usr/local >/dev/null
echo "installed /usr/local/bin/nbfs and /usr/local/bin/nbfs-server"

echo "== sshd for the demo on 127.0.0.1:$port"
# A mount left by an nbfs that is gone (killed, or its machine's
# services restarted) answers "Transport endpoint is not connected" to
# everything, mkdir included: clear it first.
if grep -qs " $mnt fuse" /proc/mounts && ! stat "$mnt" >/dev/null 2>&1; then
  echo "== clearing a dead mount on $mnt"
  fusermount3 -u -z "$mnt" 2>/dev/null || umount -l "$mnt"
fi
mkdir -p "$state" /run/sshd "$HOME/.ssh" "$root" "$mnt"
chmod 700 "$state" "$HOME/.ssh"
[ -f "$state/host_key" ] || ssh-keygen -q -t ed25519 -N '' -f "$state/host_key" -C nbfs-demo-host
key=$HOME/.ssh/nbfs_demo_ed25519
[ -f "$key" ] || ssh-keygen -q -t ed25519 -N '' -f "$key" -C nbfs-demo
# The key may only run nbfs-server, confined to the demo root.
echo "command=\"/usr/local/bin/nbfs-server --root $root\",restrict $(cat "$key.pub")" >"$state/authorized_keys"
cat >"$state/sshd_config" <<CFG
ListenAddress 127.0.0.1
Port $port
HostKey $state/host_key
AuthorizedKeysFile $state/authorized_keys
PidFile $state/sshd.pid
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
UsePAM no
ClientAliveInterval 15
CFG
if [ -f "$state/sshd.pid" ] && kill -0 "$(cat "$state/sshd.pid")" 2>/dev/null; then
  kill "$(cat "$state/sshd.pid")"
  sleep 0.5
fi
if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
  echo "demo: port $port is taken by another program; set NBFS_DEMO_PORT" >&2
  exit 1
fi
rm -f "$state/sshd.pid"
/usr/sbin/sshd -f "$state/sshd_config" -E "$state/sshd.log"
for _ in $(seq 1 50); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
[ -s "$state/sshd.pid" ] || { echo "demo: sshd did not start, see $state/sshd.log" >&2; exit 1; }
kh=$HOME/.ssh/known_hosts
touch "$kh"
ssh-keygen -f "$kh" -R "[127.0.0.1]:$port" >/dev/null 2>&1 || true
echo "[127.0.0.1]:$port $(cut -d' ' -f1-2 "$state/host_key.pub")" >>"$kh"

echo "== config file ~/.config/nbfs/config (so 'nbfs $mnt' alone works)"
mkdir -p "$HOME/.config/nbfs"
cat >"$HOME/.config/nbfs/config" <<CFG
# written by contrib/demo.sh
remote = root@127.0.0.1:$port:$root
identity = $key
CFG

echo "== mounting $mnt"
# (nbfs waits for the one it replaces to finish with the cache)
if mountpoint -q "$mnt"; then fusermount3 -u "$mnt"; fi
nbfs "$mnt"

echo "== copying a file in"
sample=$mnt/hello-from-nbfs.txt
date >"$sample"
echo "nbfs demo file" >>"$sample"
getfattr -n user.nbfs.state "$sample"
nbfs wait --timeout 60 "$sample"
getfattr -d "$sample"
echo "on the server: $(ls -l "$root/hello-from-nbfs.txt")"
nbfs status "$mnt"
cat <<MSG

nbfs is mounted on $mnt and syncs to $root over SSH (127.0.0.1:$port).
  cp -r ~/some/dir $mnt/          copy with normal tools
  nbfs status -w $mnt             watch what is still travelling
  getfattr -d $mnt/FILE           user.nbfs.state, .progress, .md5
  nbfs wait $mnt                  block until everything is on the server
  fusermount3 -u $mnt             unmount (pending uploads continue at the next mount)
  nbfs $mnt                       mount again (settings in ~/.config/nbfs/config)
MSG
