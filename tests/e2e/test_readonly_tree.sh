#!/usr/bin/env bash
# A tree with read-only directories reaches a server that runs as a user.
# `cp -a` of such a tree (and `rsync -a`, or `chmod -R a-w` after a copy)
# makes each directory, fills it, and only then takes its write bit away.
# nbfs-server runs as the SSH user, whom the bits bind: had a directory's
# mode gone first, nothing queued below it could go in (EACCES, the sync
# stuck). The mount here is nobody's own (nbfs and nbfs-server as nobody),
# as a user's mount and server are; the check: every file byte-identical
# on the server, every directory with its mode and time, nothing stuck;
# then again after files inside read-only directories changed.
. "$(dirname "$0")/lib.sh"
e2e_init readonly_tree
mount_nobody
SRC=$NB_U/src
mkdir -p "$SRC"
chown nobody:nogroup "$SRC"
as_nobody bash -c '
  set -e
  cd "$1"
  for d in ro ro/sub ro/sub/deep keep; do
    mkdir -p "$d"
    for i in 1 2 3; do head -c $((i * 1000)) /dev/urandom >"$d/f$i"; done
  done
  head -c 300000 /dev/urandom >ro/sub/large.bin
  chmod 555 ro/sub/deep
  chmod 500 ro/sub
  chmod 555 ro
  chmod 700 keep' sh "$SRC" || fail "making the source tree"

as_nobody cp -a "$SRC/ro" "$SRC/keep" "$NB_U/mnt/" || fail "cp -a into the mount"
# The other pattern: copied writable, then made read-only in place.
as_nobody cp -r "$SRC/keep" "$NB_U/mnt/later" || fail "cp -r into the mount"
as_nobody chmod -R a-w "$NB_U/mnt/later" || fail "chmod -R a-w in the mount"

as_nobody "$NB_U/bin/nbfs" wait --timeout 60 "$NB_U/mnt" >"$WORK/wait.out" 2>&1 ||
  fail "not synced within 60 s: $(cat "$WORK/wait.out"; as_nobody "$NB_U/bin/nbfs" status "$NB_U/mnt" 2>&1 | head -n 20)"

# tree_of DIR: "type path mode size md5" of every node below DIR, sorted
# (as nobody: root may not enter nobody's mount).
tree_of() {
  as_nobody bash -c 'cd "$1" && find . -path ./.nbfs -prune -o -mindepth 1 -printf "%y %p %m %s\n" | sort |
    while read -r type p mode size; do
      sum=-
      if [ "$type" = f ]; then sum=$(md5sum <"$p" | cut -c1-32); else size=0; fi
      echo "$type $p $mode $size $sum"
    done' sh "$1"
}
tree_of "$NB_U/mnt" >"$WORK/mount.tree"
tree_of "$NB_U/remote" >"$WORK/server.tree"
if ! diff "$WORK/mount.tree" "$WORK/server.tree" >"$WORK/tree.diff"; then
  head -n 30 "$WORK/tree.diff"
  fail "the server differs from the mount"
fi
grep -q '^d ./ro/sub 500 ' "$WORK/server.tree" || fail "ro/sub is not 0500 on the server: $(grep ' ./ro/sub ' "$WORK/server.tree")"
grep -q '^d ./later 500 ' "$WORK/server.tree" || fail "later is not 0500 on the server"
n=$(grep -c '^f ' "$WORK/server.tree")
[ "$n" -eq 16 ] || fail "$n files on the server, not 16"
# Directory times as cp -a left them (the time goes with the mode, last).
for d in ro ro/sub ro/sub/deep; do
  [ "$(stat -c %Y "$SRC/$d")" = "$(stat -c %Y "$NB_U/remote/$d")" ] ||
    fail "$d: time $(stat -c %Y "$NB_U/remote/$d") on the server, $(stat -c %Y "$SRC/$d") in the source"
done
# A file changed inside a read-only directory: its new content is renamed
# into place there, which takes the directory's write bit on the server
# for as long as it takes.
as_nobody bash -c 'echo more >>"$1/ro/sub/f1" && head -c 5000 /dev/urandom >"$1/ro/sub/deep/f2"' sh "$NB_U/mnt" ||
  fail "changing files in read-only directories"
as_nobody "$NB_U/bin/nbfs" wait --timeout 60 "$NB_U/mnt" >"$WORK/wait.out" 2>&1 ||
  fail "changes not synced within 60 s: $(cat "$WORK/wait.out")"
tree_of "$NB_U/mnt" >"$WORK/mount.tree"
tree_of "$NB_U/remote" >"$WORK/server.tree"
if ! diff "$WORK/mount.tree" "$WORK/server.tree" >"$WORK/tree.diff"; then
  head -n 30 "$WORK/tree.diff"
  fail "after changes in read-only directories, the server differs from the mount"
fi
grep -q '^d ./ro/sub/deep 555 ' "$WORK/server.tree" || fail "ro/sub/deep is not 0555 again on the server"
# Unmount by nobody, as its user would.
as_nobody fusermount3 -u "$NB_U/mnt" || fail "unmount"
pass "a tree with read-only directories (cp -a, and chmod -R a-w after cp) is on the server as it is in the mount: $n files, modes and times, also after files in them changed"
