#!/usr/bin/env bash
# A remote shell that prints on every login: sshd runs nbfs-server
# through the user's shell, and Debian's bash reads ~/.bashrc for a
# command run by sshd, so a ~/.bashrc that greets (or conda's or nvm's
# start-up lines) puts text on the session's stdout ahead of the
# server's HELLO. Read as a frame header, "Welc" is a length of 1.4 GB:
# nbfs stayed offline with "length exceeds limit" (scp and sftp fail the
# same way). Now the text is skipped and named in the log; text that
# never ends is a clear error, and nothing written is lost meanwhile.
#
# The test's sshd sets SHLVL=1 so that bash skips ~/.bashrc (lib.sh);
# BASH_ENV, which a non-interactive bash reads as well, plays the
# greeting ~/.bashrc here without touching a real home directory.
. "$(dirname "$0")/lib.sh"
e2e_init login_noise
rc=$WORK/login_rc
printf 'echo "Welcome to the test server!"\nprintf "Last login: \\033[1mnever\\033[0m\\n"\n' >"$rc"
SSHD_SETENV="BASH_ENV=$rc" start_sshd
ssh_cmd() {
  ssh -i "$WORK/client_key" -o UserKnownHostsFile="$KNOWN_HOSTS" -o BatchMode=yes \
    -p "$SSHD_PORT" "$(id -un)@127.0.0.1" "$@"
}
# The environment reproduces the problem, or the test proves nothing.
ssh_cmd true | grep -q "Welcome to the test server" || fail "the login prints nothing: the test's premise does not hold"

# 1. A short greeting: skipped, named in the log once, everything syncs.
mount_nbfs "$SSHD_PORT"
random_file "$WORK/big.bin" $((3 * 1024 * 1024 + 17))
cp "$WORK/big.bin" "$MNT/big.bin"
echo small >"$MNT/small.txt"
nbfs_wait 60 "$MNT"
cmp "$WORK/big.bin" "$REMOTE/big.bin" || fail "big.bin differs on the server"
[ "$(cat "$REMOTE/small.txt")" = small ] || fail "small.txt differs on the server"
grep -q 'skipped [0-9]* bytes that the remote login printed before nbfs-server answered ("Welcome to the test server!' \
  "$CACHE/nbfs.log" || fail "no warning naming the login's text in the log"
umount_nbfs
log "greeting skipped; files synced"

# 2. A login that prints without end (more than nbfs waits for): the
# mount says why it is offline, keeps what is written, and syncs it once
# the login is quiet.
printf 'head -c 100000 /dev/zero | tr "\\0" "x"\n' >"$rc"
err=$("$NBFS" -o "identity=$WORK/client_key,known_hosts=$KNOWN_HOSTS,cache=$WORK/cache2,server=$NBFS_SERVER,delay=0.3,debug" \
  "$(id -un)@127.0.0.1:$SSHD_PORT:$REMOTE" "$MNT" 2>&1) || fail "nbfs did not mount while offline: $err"
E2E_MOUNTS+=("$MNT")
NBFS_PID=$(cat "$WORK/cache2/lock")
echo "$err" | grep -q "remote login printed more than 64 KiB.*xxxx" ||
  fail "the mount did not say why the server is unreachable: $err"
echo kept >"$MNT/while-noisy.txt"
sleep 1
"$NBFS" status "$MNT" | grep -q "printed more than 64 KiB" || fail "nbfs status does not name the cause: $("$NBFS" status "$MNT")"
[ ! -e "$REMOTE/while-noisy.txt" ] || fail "a file reached the server through the noise"
[ "$(cat "$MNT/while-noisy.txt")" = kept ] || fail "the file written offline is not readable"
: >"$rc"
nbfs_wait 90 "$MNT/while-noisy.txt"
[ "$(cat "$REMOTE/while-noisy.txt")" = kept ] || fail "the file written offline did not arrive whole"
umount_nbfs
log "endless output: clear error, nothing lost"

# 3. A greeting and then no server: the message names both.
printf 'echo "Welcome again"\n' >"$rc"
err=$("$NBFS" -o "identity=$WORK/client_key,known_hosts=$KNOWN_HOSTS,cache=$WORK/cache3,server=$WORK/no-such-server" \
  "$(id -un)@127.0.0.1:$SSHD_PORT:$REMOTE" "$MNT" 2>&1)
E2E_MOUNTS+=("$MNT")
fusermount3 -u "$MNT" 2>/dev/null
echo "$err" | grep -q "ended without answering (the remote login printed \"Welcome again" ||
  fail "the missing server's message does not show the login's text: $err"
pass "a login's greeting is skipped and named; endless output is a clear error and loses nothing"
