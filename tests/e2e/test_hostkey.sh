#!/usr/bin/env bash
# Host keys: an unknown host key is refused with a message that says what
# to do (unless accept_new_host), a changed one is always refused, and no
# user name or key is sent to a server that failed the check.
# e2e: no-tsan: host key checks before the mount
. "$(dirname "$0")/lib.sh"
e2e_init hostkey
start_sshd
opts="identity=$WORK/client_key,cache=$CACHE,server=$NBFS_SERVER"
remote="$(id -un)@127.0.0.1:$SSHD_PORT:$REMOTE"

# Unknown host.
: >"$WORK/empty_known_hosts"
if "$NBFS" -o "$opts,known_hosts=$WORK/empty_known_hosts" "$remote" "$MNT" 2>"$WORK/err1"; then
  E2E_MOUNTS+=("$MNT")
  fail "mounted although the host key is unknown"
fi
grep -q "REFUSED" "$WORK/err1" && grep -q "accept_new_host" "$WORK/err1" && grep -q "SHA256:" "$WORK/err1" ||
  fail "unhelpful message for an unknown host: $(cat "$WORK/err1")"
mountpoint -q "$MNT" && fail "mounted anyway"
grep -q "Accepted publickey\|Failed publickey\|userauth" "$WORK/sshd.log" && fail "credentials were sent to an unverified host"

# Changed host key: a known_hosts entry with another key for this host.
ssh-keygen -q -t ed25519 -N '' -f "$WORK/other_key"
echo "[127.0.0.1]:$SSHD_PORT $(cut -d' ' -f1-2 "$WORK/other_key.pub")" >"$WORK/wrong_known_hosts"
if "$NBFS" -o "$opts,known_hosts=$WORK/wrong_known_hosts,accept_new_host" "$remote" "$MNT" 2>"$WORK/err2"; then
  E2E_MOUNTS+=("$MNT")
  fail "mounted although the host key changed"
fi
grep -q "CHANGED" "$WORK/err2" && grep -q "ssh-keygen" "$WORK/err2" || fail "unhelpful message for a changed key: $(cat "$WORK/err2")"
grep -q "Accepted publickey" "$WORK/sshd.log" && fail "credentials were sent to a host with a changed key"

# accept_new_host records an unknown key and mounts.
"$NBFS" -o "$opts,known_hosts=$WORK/new_known_hosts,accept_new_host" "$remote" "$MNT" 2>"$WORK/err3" ||
  fail "accept_new_host did not mount: $(cat "$WORK/err3")"
E2E_MOUNTS+=("$MNT")
NBFS_PID=$(cat "$CACHE/lock")
grep -q "$(cut -d' ' -f2 "$WORK/host_key.pub")" "$WORK/new_known_hosts" || fail "the key was not recorded"
umount_nbfs
pass "unknown and changed host keys refused with clear messages"
