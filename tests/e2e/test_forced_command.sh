#!/usr/bin/env bash
# A key locked to nbfs alone (authorized_keys with command= and restrict,
# as in contrib/authorized_keys.example): the server serves the root fixed
# there, whatever directory the client asks for, and the key runs nothing
# else.
# e2e: no-tsan: the server command an authorized key forces
. "$(dirname "$0")/lib.sh"
e2e_init forced_command
start_sshd
FIXED=$WORK/fixed-root
ASKED=$WORK/asked-for
mkdir -p "$FIXED" "$ASKED"
echo "command=\"$NBFS_SERVER --root $FIXED\",restrict $(cat "$WORK/client_key.pub")" >"$WORK/authorized_keys"
REMOTE=$ASKED
mount_nbfs "$SSHD_PORT"
echo "where do I land?" >"$MNT/probe.txt"
nbfs_wait 30 "$MNT/probe.txt"
[ -f "$FIXED/probe.txt" ] || fail "the file did not land in the forced root"
[ ! -e "$ASKED/probe.txt" ] || fail "the client's choice of directory was honoured"
umount_nbfs
# The key cannot run anything else.
out=$(ssh -i "$WORK/client_key" -o "UserKnownHostsFile=$KNOWN_HOSTS" -o BatchMode=yes -p "$SSHD_PORT" \
  "$(id -un)@127.0.0.1" "touch $WORK/escaped" </dev/null 2>&1)
[ ! -e "$WORK/escaped" ] || fail "the locked key ran another command"
log "ssh with the locked key and another command: $(echo "$out" | head -c 120)"
pass "the forced root wins; the key runs nothing else"
