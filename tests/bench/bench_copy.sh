#!/usr/bin/env bash
# Benchmark: copy one large file to a server over SSH on loopback, four
# ways, and print the times and their ratios to scp:
#   nbfs  - until cp into the mount returns (the user's wait), and until
#           `nbfs wait` says the file is verified on the server;
#   scp   - scp -q to the same sshd;
#   sshfs - cp into an sshfs mount of the same sshd;
#   rsync - rsync over ssh (whole file, no delta: the target is empty).
# Numbers, not a test: nothing here passes or fails. Run as root after a
# build:  tests/bench/bench_copy.sh [SIZE_MIB]   (default 1024)
. "$(dirname "$0")/../e2e/lib.sh"
size_mib=${1:-1024}
size=$((size_mib * 1024 * 1024))
e2e_init bench
start_sshd
SSH_OPTS=(-i "$WORK/client_key" -o "UserKnownHostsFile=$KNOWN_HOSTS" -o BatchMode=yes -p "$SSHD_PORT")
USER_AT=$(id -un)@127.0.0.1

random_file "$WORK/src.bin" "$size"
cat "$WORK/src.bin" >/dev/null # warm the page cache: we measure transfer, not the source disk

# Each method starts with no dirty pages left by the one before.
now() { date +%s.%N; }
settle() { sync; sleep 1; }
secs() { echo "scale=3; ($2 - $1) / 1" | bc; }
clear_remote() { rm -rf "${REMOTE:?}"/* "$REMOTE"/.nbfs; sync; }

# The local disk itself: what "returns at local-disk speed" means here.
settle
t0=$(now)
cp "$WORK/src.bin" "$WORK/local-copy.bin"
t1=$(now)
local_t=$(secs "$t0" "$t1")
rm -f "$WORK/local-copy.bin"

# nbfs
mount_nbfs "$SSHD_PORT" "$CACHE" "delay=0"
settle
t0=$(now)
cp "$WORK/src.bin" "$MNT/"
t1=$(now)
"$NBFS" wait --timeout 600 "$MNT/src.bin" || fail "nbfs wait"
t2=$(now)
cmp "$WORK/src.bin" "$REMOTE/src.bin" || fail "nbfs copy differs"
umount_nbfs
nbfs_cp=$(secs "$t0" "$t1")
nbfs_sync=$(secs "$t0" "$t2")
clear_remote

# scp
settle
t0=$(now)
scp -q "${SSH_OPTS[@]/-p/-P}" "$WORK/src.bin" "$USER_AT:$REMOTE/src.bin" || fail "scp"
t1=$(now)
scp_t=$(secs "$t0" "$t1")
cmp "$WORK/src.bin" "$REMOTE/src.bin" || fail "scp copy differs"
clear_remote

# sshfs
SSHFS_MNT=$WORK/sshfs
mkdir -p "$SSHFS_MNT"
sshfs -p "$SSHD_PORT" -o "IdentityFile=$WORK/client_key,UserKnownHostsFile=$KNOWN_HOSTS,BatchMode=yes" \
  "$USER_AT:$REMOTE" "$SSHFS_MNT" || fail "sshfs mount"
E2E_MOUNTS+=("$SSHFS_MNT")
settle
t0=$(now)
cp "$WORK/src.bin" "$SSHFS_MNT/"
t1=$(now)
fusermount3 -u "$SSHFS_MNT"
sshfs_t=$(secs "$t0" "$t1")
cmp "$WORK/src.bin" "$REMOTE/src.bin" || fail "sshfs copy differs"
clear_remote

# rsync
settle
t0=$(now)
rsync -a -e "ssh ${SSH_OPTS[*]}" "$WORK/src.bin" "$USER_AT:$REMOTE/src.bin" || fail "rsync"
t1=$(now)
rsync_t=$(secs "$t0" "$t1")
cmp "$WORK/src.bin" "$REMOTE/src.bin" || fail "rsync copy differs"

ratio() { echo "scale=2; $1 / $scp_t" | bc; }
echo
echo "copy of a ${size_mib} MiB file over SSH on loopback ($(nproc) cores)"
printf '%-34s %9s %12s\n' "method" "seconds" "ratio to scp"
printf '%-34s %9s %12s\n' "cp to the local disk (reference)" "$local_t" "$(ratio "$local_t")"
printf '%-34s %9s %12s\n' "nbfs: cp returns" "$nbfs_cp" "$(ratio "$nbfs_cp")"
printf '%-34s %9s %12s\n' "nbfs: cp + nbfs wait (on server)" "$nbfs_sync" "$(ratio "$nbfs_sync")"
printf '%-34s %9s %12s\n' "scp" "$scp_t" "1.00"
printf '%-34s %9s %12s\n' "sshfs: cp returns (on server)" "$sshfs_t" "$(ratio "$sshfs_t")"
printf '%-34s %9s %12s\n' "rsync -a over ssh" "$rsync_t" "$(ratio "$rsync_t")"
