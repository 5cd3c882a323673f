#!/usr/bin/env bash
# Protocol versions: nbfs speaks protocol 2. An old nbfs-server (protocol
# 1) is refused before anything is mounted, with a message that says to
# upgrade nbfs-server; an old client meeting this nbfs-server is refused
# with a message that says to upgrade nbfs on the client. Nothing is
# written on either side. The old peers are tests/tools/oldpeer.py, which
# says exactly what 0.1.0 said in its HELLO.
# e2e: no-tsan: the HELLO exchange with old peers
. "$(dirname "$0")/lib.sh"
e2e_init versions
command -v python3 >/dev/null || fail "python3 missing: run contrib/install-deps.sh"
OLDPEER=$E2E_DIR/../tools/oldpeer.py
start_sshd

# New client, old server.
opts="identity=$WORK/client_key,known_hosts=$KNOWN_HOSTS,cache=$CACHE,server=$OLDPEER,server_args=server"
if "$NBFS" -o "$opts" "$(id -un)@127.0.0.1:$SSHD_PORT:$REMOTE" "$MNT" 2>"$WORK/mount.err"; then
  E2E_MOUNTS+=("$MNT")
  fail "mounted over a server of protocol 1"
fi
cat "$WORK/mount.err"
grep -q "speaks protocol 1" "$WORK/mount.err" && grep -q "upgrade nbfs-server on the remote host" "$WORK/mount.err" ||
  fail "the refusal does not say to upgrade the server: $(cat "$WORK/mount.err")"
mountpoint -q "$MNT" && fail "something is mounted"
# (nbfs-server keeps its own state in .nbfs: that is all there may be)
[ -z "$(ls -A "$REMOTE" | grep -vx .nbfs)" ] || fail "the server's root was written to: $(ls -A "$REMOTE")"

# Old client, new server.
timeout 30 "$OLDPEER" client "$NBFS_SERVER" --root "$REMOTE" 2>"$WORK/client.err" ||
  fail "the old client was not refused: $(cat "$WORK/client.err")"
cat "$WORK/client.err"
grep -q "^ERROR: .*upgrade nbfs on the client" "$WORK/client.err" ||
  fail "the server's refusal does not say to upgrade the client: $(cat "$WORK/client.err")"
grep -q "nbfs 0.1.0" "$WORK/client.err" || fail "the refusal does not name the old client"
# (nbfs-server keeps its own state in .nbfs: that is all there may be)
[ -z "$(ls -A "$REMOTE" | grep -vx .nbfs)" ] || fail "the server's root was written to: $(ls -A "$REMOTE")"
pass "old server and old client are each refused with a message naming what to upgrade"
