#!/usr/bin/env bash
# No shell injection: a remote directory and a server command with
# spaces, quotes, ';', '$(...)' and backquotes are passed safely: the
# mount works on exactly that directory and nothing else runs.
# e2e: no-tsan: quoting of the server command line
. "$(dirname "$0")/lib.sh"
e2e_init hostile_remote
start_sshd
evil="$WORK/dir with spaces 'quotes' \"dq\"; touch $WORK/PWNED1; \$(touch $WORK/PWNED2) \`touch $WORK/PWNED3\`"
mkdir -p "$evil"
REMOTE=$evil
# The server binary reached through a path with the same characters.
bindir="$WORK/bin dir; touch $WORK/PWNED4"
mkdir -p "$bindir"
cp "$NBFS_SERVER" "$bindir/nbfs-server"
# FUSE's -o takes a backslash as an escape; commas must be escaped.
server_opt=$(printf '%s' "$bindir/nbfs-server" | sed 's/\\/\\\\/g; s/,/\\,/g')
"$NBFS" -o "identity=$WORK/client_key,known_hosts=$KNOWN_HOSTS,cache=$CACHE,delay=0.2" \
  -o "server=$server_opt" -o "server_args=--log $WORK/server;touch-PWNED5" \
  "$(id -un)@127.0.0.1:$SSHD_PORT:$evil" "$MNT" || fail "mount failed"
E2E_MOUNTS+=("$MNT")
NBFS_PID=$(cat "$CACHE/lock")
echo "hello" >"$MNT/file.txt"
nbfs_wait 30 "$MNT/file.txt"
[ "$(cat "$evil/file.txt")" = hello ] || fail "the file did not land in the odd directory"
for i in 1 2 3 4; do [ ! -e "$WORK/PWNED$i" ] || fail "injected command $i ran"; done
[ -e "$WORK/server;touch-PWNED5" ] || fail "the server argument with ';' did not arrive as one word"
umount_nbfs
# Hostile names inside the mount are refused before they are queued.
mount_nbfs "$SSHD_PORT" "$WORK/cache2"
if mkdir "$MNT/.nbfs" 2>/dev/null; then fail "the reserved name was accepted"; fi
long=$(printf 'x%.0s' $(seq 1 256))
if touch "$MNT/$long" 2>/dev/null; then fail "a 256-byte name was accepted"; fi
printf 'ok' >"$MNT/$(printf 'ctl\001\002name')" || fail "control bytes in a name refused"
nbfs_wait 30 "$MNT"
[ -e "$evil/$(printf 'ctl\001\002name')" ] || fail "a name with control bytes did not arrive intact"
umount_nbfs
pass "odd directory and server paths passed safely; hostile names refused"
