#!/usr/bin/env bash
# The core promise: files and trees copied into the mount with ordinary
# tools reach the server byte-identical, with names, sizes and modes, and
# the state xattr goes from pending/uploading to synced.
. "$(dirname "$0")/lib.sh"
e2e_init copy
start_sshd
NB_DELAY=1 mount_nbfs "$SSHD_PORT"

SRC=$WORK/src
mkdir -p "$SRC/tree"
random_file "$SRC/big.bin" $((100 * 1024 * 1024))
for i in $(seq 1 200); do
  d=$SRC/tree/d$((i % 7))
  mkdir -p "$d"
  head -c $((RANDOM % 5000 + i)) /dev/urandom >"$d/file $i.dat"
done
chmod 600 "$SRC/tree/d1/file 1.dat"
chmod 755 "$SRC/tree/d2/file 2.dat"
mkdir -p "$SRC/tree/empty/deeper"
chmod 700 "$SRC/tree/d3"

start=$(date +%s.%N)
cp "$SRC/big.bin" "$MNT/" || fail "cp big file"
end=$(date +%s.%N)
log "cp of 100 MiB returned in $(echo "$end - $start" | bc) s"
# A new file copied in goes at once (no quiet time for a file made by
# one writer): right after cp it is pending (being hashed) or uploading,
# never synced already (100 MiB take longer than that).
st=$(state_of "$MNT/big.bin")
[ "$st" = pending ] || [ "$st" = uploading ] || fail "state right after cp is '$st', expected pending or uploading"

cp -r "$SRC/tree" "$MNT/" || fail "cp -r"
mkdir -p "$MNT/made/by/mkdir" || fail "mkdir -p"
echo "hello from a redirection" >"$MNT/made/by/mkdir/hello.txt" || fail "redirection"
printf 'appended\n' >>"$MNT/made/by/mkdir/hello.txt" || fail "append"

# Watch the big file: it must be seen uploading before it is synced.
seen_uploading=0
deadline=$((SECONDS + 120))
while [ $SECONDS -lt $deadline ]; do
  st=$(state_of "$MNT/big.bin")
  [ "$st" = uploading ] && seen_uploading=1
  [ "$st" = synced ] && break
  [ "$st" = error ] && fail "big.bin went to error: $(getfattr --only-values -n user.nbfs.error "$MNT/big.bin")"
  sleep 0.02
done
[ "$st" = synced ] || fail "big.bin not synced in time (state $st)"
[ $seen_uploading = 1 ] || fail "never observed state 'uploading'"

nbfs_wait 120 "$MNT"
[ "$(state_of "$MNT")" = synced ] || fail "root not synced after wait"
[ "$(state_of "$MNT/tree")" = synced ] || fail "tree not synced after wait"

cmp "$SRC/big.bin" "$REMOTE/big.bin" || fail "big.bin differs on the server"
# Written in order by cp: hashed as it was written (sync/follow.c), not
# read a second time after it was closed.
grep -q "big.bin: MD5 computed as it was written" "$CACHE/nbfs.log" ||
  fail "big.bin was not hashed on write"
# Small files travel whole and are hashed as they are sent: following
# them would cost every create a reader, a thread hand-off and locks.
! grep -q "\.dat: MD5 computed as it was written" "$CACHE/nbfs.log" ||
  fail "small files were followed: $(grep -c '\.dat: MD5 computed as it was written' "$CACHE/nbfs.log")"
diff -r "$SRC/tree" "$REMOTE/tree" || fail "tree differs on the server"
[ "$(cat "$REMOTE/made/by/mkdir/hello.txt")" = "hello from a redirection
appended" ] || fail "redirected file content"
[ -d "$REMOTE/tree/empty/deeper" ] || fail "empty directory missing on the server"
# modes
(cd "$SRC/tree" && find . -printf '%m %p\n' | sort) >"$WORK/modes.src"
(cd "$REMOTE/tree" && find . -printf '%m %p\n' | sort) >"$WORK/modes.dst"
diff "$WORK/modes.src" "$WORK/modes.dst" || fail "modes differ"
no_partials

# A large file of a size no block divides, its times kept by cp -p: the
# server writes it around the page cache and its last bytes through it
# (server/appender.c), and nothing may touch it after the mtime is set.
random_file "$SRC/odd.bin" $((9 * 1024 * 1024 + 4097))
touch -d '2021-03-04 05:06:07.123456789' "$SRC/odd.bin"
cp -p "$SRC/odd.bin" "$MNT/" || fail "cp -p odd.bin"
nbfs_wait 60 "$MNT/odd.bin"
cmp "$SRC/odd.bin" "$REMOTE/odd.bin" || fail "odd.bin differs on the server"
[ "$(stat -c %y "$REMOTE/odd.bin")" = "$(stat -c %y "$SRC/odd.bin")" ] ||
  fail "odd.bin's mtime on the server is $(stat -c %y "$REMOTE/odd.bin"), not $(stat -c %y "$SRC/odd.bin")"
no_partials

# The mount shows what the server has, and staged files read back.
cmp "$SRC/big.bin" "$MNT/big.bin" || fail "read back through the mount"
n=$(find "$MNT/tree" -type f | wc -l)
[ "$n" -eq 200 ] || fail "mount lists $n files under tree, expected 200"
md5=$(getfattr --only-values -n user.nbfs.md5 "$MNT/big.bin")
[ "$md5" = "$(md5sum <"$SRC/big.bin" | cut -d' ' -f1)" ] || fail "user.nbfs.md5 is '$md5'"
prog=$(getfattr --only-values -n user.nbfs.progress "$MNT/big.bin")
[ "$prog" = "104857600/104857600" ] || fail "progress '$prog'"
getfattr -d "$MNT/big.bin" | grep -q user.nbfs.state || fail "listxattr does not list the state"

# Files that exist on the server only are listed too.
echo "placed on the server" >"$REMOTE/server-only.txt"
wait_until 10 test -e "$MNT/server-only.txt" || { ls -la "$MNT" "$REMOTE"; fail "server-side file not listed"; }

"$NBFS" status "$MNT" | grep -q "everything is synced" || fail "status does not say synced"
umount_nbfs
pass "copy: 100 MiB + 200 files synced, modes kept, states observed, a large odd-sized file with its mtime"
