#!/usr/bin/env bash
# The first minute: --help and --version answer on stdout, the top-level
# scripts run as root or through sudo, and every mistake a first mount
# runs into is refused with a message that says what to do next (the
# text is checked): unknown host key, key refused, nbfs-server missing
# on the server, remote directory missing, FUSE missing (/dev/fuse or
# fusermount3), and a mount point that is missing, not a directory, not
# empty, busy, or a dead FUSE mount.
# e2e: no-tsan: refusals and help texts before any thread starts
. "$(dirname "$0")/lib.sh"
e2e_init first_minute

# expect_refused NAME TEXT... -- NBFS ARGS: the mount fails, mounts nothing,
# and its stderr holds every TEXT.
expect_refused() {
  local name=$1 texts=() t
  shift
  while [ "$1" != -- ]; do texts+=("$1"); shift; done
  shift
  local before=0
  mountpoint -q "$MNT" 2>/dev/null && before=1
  if "$@" 2>"$WORK/err.$name" >/dev/null; then
    E2E_MOUNTS+=("$MNT")
    fail "$name: mounted"
  fi
  for t in "${texts[@]}"; do
    grep -qF -- "$t" "$WORK/err.$name" || fail "$name: no '$t' in: $(cat "$WORK/err.$name")"
  done
  [ $before = 1 ] || ! mountpoint -q "$MNT" || { E2E_MOUNTS+=("$MNT"); fail "$name: $MNT is mounted anyway"; }
  log "$name: $(tail -n 1 "$WORK/err.$name")"
}

# ---- help and version
for cmd in "--help" "--version" "status --help" "wait --help"; do
  # shellcheck disable=SC2086
  out=$("$NBFS" $cmd 2>"$WORK/stderr") || fail "nbfs $cmd exited $?"
  [ -n "$out" ] && [ ! -s "$WORK/stderr" ] || fail "nbfs $cmd: stdout '$out', stderr '$(cat "$WORK/stderr")'"
done
"$NBFS" --help | grep -q "compress" || fail "nbfs --help does not list -o compress"
for cmd in "--help" "--version"; do
  out=$("$NBFS_SERVER" $cmd 2>"$WORK/stderr") || fail "nbfs-server $cmd exited $?"
  [ -n "$out" ] && [ ! -s "$WORK/stderr" ] || fail "nbfs-server $cmd: '$out' '$(cat "$WORK/stderr")'"
done
"$NBFS" --version | grep -qx "nbfs [0-9.]*" || fail "nbfs --version: $("$NBFS" --version)"

# ---- the README's two commands, as a user who is not root. Copies, in
# the same layout, since nobody may not be able to read the checkout.
nobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups env HOME=/nonexistent "$@"; }
COPY=$WORK/repo
mkdir -p "$COPY/contrib" "$COPY/tests" "$WORK/fakesudo"
cp "$REPO/contrib/demo.sh" "$REPO/contrib/as-root.sh" "$COPY/contrib/"
cp "$REPO/tests/run.sh" "$COPY/tests/"
chmod -R a+rX "$COPY"
printf '#!/bin/sh\necho "fake sudo: $*"\n' >"$WORK/fakesudo/sudo"
chmod 755 "$WORK/fakesudo/sudo"
for script in contrib/demo.sh tests/run.sh; do
  if nobody PATH=/usr/bin:/bin bash "$COPY/$script" >"$WORK/out" 2>&1; then
    fail "$script ran as nobody without sudo: $(cat "$WORK/out")"
  fi
  grep -q "needs root" "$WORK/out" && grep -q "log in as root" "$WORK/out" ||
    fail "$script without sudo: $(cat "$WORK/out")"
  nobody PATH="$WORK/fakesudo:/usr/bin:/bin" NBFS_DEMO_PORT=2999 \
    bash "$COPY/$script" arg1 >"$WORK/out" 2>&1 || fail "$script with sudo: $(cat "$WORK/out")"
  # The variables that choose what to run go along; the rest is sudo's business.
  grep -qx "fake sudo: -- env .*NBFS_DEMO_PORT=2999 .*$COPY/$script arg1" "$WORK/out" ||
    fail "$script did not run itself through sudo: $(cat "$WORK/out")"
done

# ---- the server side
start_sshd
user=$(id -un)
remote="$user@127.0.0.1:$SSHD_PORT:$REMOTE"
opts="identity=$WORK/client_key,known_hosts=$KNOWN_HOSTS,cache=$CACHE,server=$NBFS_SERVER"
: >"$WORK/empty_known_hosts"
expect_refused unknown_host "REFUSED" "is not in $WORK/empty_known_hosts" "accept_new_host" "SHA256:" -- \
  "$NBFS" -o "$opts,known_hosts=$WORK/empty_known_hosts" "$remote" "$MNT"
ssh-keygen -q -t ed25519 -N '' -f "$WORK/stranger_key"
expect_refused auth_refused "authentication as $user" "ssh-copy-id -p $SSHD_PORT $user@127.0.0.1" \
  "-o identity=FILE" -- "$NBFS" -o "$opts,identity=$WORK/stranger_key" "$remote" "$MNT"
expect_refused no_server "ended without answering" "-o server=PATH" \
  "ssh -p $SSHD_PORT $user@127.0.0.1 $WORK/nowhere/nbfs-server --version" -- \
  "$NBFS" -o "$opts,server=$WORK/nowhere/nbfs-server" "$remote" "$MNT"
expect_refused no_remote_dir "No such file or directory" \
  "ssh -p $SSHD_PORT $user@127.0.0.1 mkdir -p '$REMOTE/missing'" -- \
  "$NBFS" -o "$opts" "$user@127.0.0.1:$SSHD_PORT:$REMOTE/missing" "$MNT"

# ---- FUSE missing, each in a private mount namespace that hides it
mkdir -p "$WORK/olddev"
expect_refused no_dev_fuse "/dev/fuse does not exist" "modprobe fuse" "--device /dev/fuse" -- \
  unshare -m --propagation private bash -c '
    mount --bind /dev "$1" && mount -t tmpfs nodev /dev || exit 99
    for n in null zero urandom; do touch "/dev/$n"; mount --bind "$1/$n" "/dev/$n"; done
    shift; exec "$@"' sh "$WORK/olddev" "$NBFS" -o "$opts" "$remote" "$MNT"
mkdir -p "$WORK/nobody_mnt"
chmod 777 "$WORK/nobody_mnt"
cp "$NBFS" "$WORK/nbfs-copy"
chmod 755 "$WORK/nbfs-copy"
MNT_SAVED=$MNT
MNT=$WORK/nobody_mnt
expect_refused no_fusermount "fusermount3 is not installed" "apt-get install fuse3" -- \
  unshare -m --propagation private bash -c '
    mount --bind /dev/null /usr/bin/fusermount3 || exit 99
    exec setpriv --reuid=nobody --regid=nogroup --clear-groups env HOME=/nonexistent "$@"' \
  sh "$WORK/nbfs-copy" -o "cache=$WORK/nobody_cache" "local:$REMOTE" "$MNT"
MNT=$MNT_SAVED

# ---- the mount point
expect_refused mnt_missing "does not exist" "mkdir -p $WORK/nothere" -- \
  "$NBFS" -o "$opts" "$remote" "$WORK/nothere"
touch "$WORK/a_file"
expect_refused mnt_not_dir "is not a directory" "mkdir" -- "$NBFS" -o "$opts" "$remote" "$WORK/a_file"
touch "$MNT/left_over"
expect_refused mnt_not_empty "is not empty" "-o nonempty" -- "$NBFS" -o "$opts" "$remote" "$MNT"
rm "$MNT/left_over"

mount_nbfs "$SSHD_PORT"
expect_refused mnt_busy "is busy" "fuse.nbfs" "fusermount3 -u $MNT" -- \
  "$NBFS" -o "$opts,cache=$WORK/cache_other" "$remote" "$MNT"
# A dead mount: its process killed, the mount left behind.
kill -9 "$NBFS_PID"
wait_until 10 bash -c "! kill -0 $NBFS_PID 2>/dev/null" || fail "nbfs survived SIGKILL"
expect_refused mnt_dead "dead FUSE mount" "fusermount3 -u $MNT" -- \
  "$NBFS" -o "$opts,cache=$WORK/cache_other" "$remote" "$MNT"
fusermount3 -u -z "$MNT"

# After all that, the right command mounts (the mistakes left nothing behind).
mount_nbfs "$SSHD_PORT"
echo hello >"$MNT/hello.txt"
nbfs_wait 30 "$MNT/hello.txt"
[ "$(cat "$REMOTE/hello.txt")" = hello ] || fail "hello.txt did not reach the server"
umount_nbfs
pass "first minute: help, scripts, and nine refusals that say what to do"
