#!/usr/bin/env bash
# Directory and symlink mtimes reach the server, as rsync -a carries
# them: after `cp -a` of a tree whose directories and symlink have times
# in the past and `nbfs wait`, every directory and the symlink on the
# server have the time they have in the source (and in the mount); a
# later change in a directory (a file added, one removed, a rename
# between two directories, a new subdirectory) leaves the server's
# directory with the time the mount shows for it, and `touch -h` on the
# symlink in the mount moves the server's link's time, not its
# target's, and never makes the link again (a file the server holds in
# its place stays); a link only on the server keeps the server's time.
. "$(dirname "$0")/lib.sh"
e2e_init dir_mtimes
start_sshd
NB_DELAY=0.2 mount_nbfs "$SSHD_PORT"

# mtime_list ROOT: "relative-path seconds" of every directory below ROOT
# (ROOT itself as "."), sorted.
mtime_list() {
  (cd "$1" && find . -path ./.nbfs -prune -o -type d -printf '%p %TY%Tm%Td%TH%TM%TS\n' | sort)
}
# dirs_match A B: the directory times below A and B agree (to the second).
dirs_match() {
  [ "$(mtime_list "$1" | sed 's/\.[0-9]*$//')" = "$(mtime_list "$2" | sed 's/\.[0-9]*$//')" ]
}
show_diff() {
  diff <(mtime_list "$1") <(mtime_list "$2") | head -20
}

# --- a source tree: nested and empty directories, small files, one
# large file (offered and streamed, not sent whole), a symlink; the
# directories' times set last, deepest first, to dates in the past.
SRC=$WORK/src
mkdir -p "$SRC/a/b/c" "$SRC/a/empty" "$SRC/d2/x"
for i in 1 2 3; do echo "file $i" >"$SRC/a/f$i.txt"; done
echo deep >"$SRC/a/b/c/deep.txt"
random_file "$SRC/a/b/large.bin" $((3 * 1024 * 1024))
echo two >"$SRC/d2/x/two.txt"
ln -s ../a/f1.txt "$SRC/d2/link"
touch -h -d "2018-05-06 07:08:09" "$SRC/d2/link"
day=1
for d in $(cd "$SRC" && find . -mindepth 1 -type d | sort -r) .; do
  touch -h -d "2019-03-$((10 + day)) 12:34:56" "$SRC/$d"
  day=$((day + 1))
done

cp -a "$SRC" "$MNT/tree"
nbfs_wait 30 "$MNT"
dirs_match "$SRC" "$MNT/tree" || fail "the mount's directory times differ from the source: $(show_diff "$SRC" "$MNT/tree")"
dirs_match "$SRC" "$REMOTE/tree" ||
  fail "directory times on the server differ from the source: $(show_diff "$SRC" "$REMOTE/tree")"
cmp "$SRC/a/b/large.bin" "$REMOTE/tree/a/b/large.bin" || fail "large.bin differs on the server"
pass "cp -a: $(mtime_list "$SRC" | wc -l) directory times on the server as in the source"
link_time() { stat -c %Y "$1"; } # stat does not follow a symlink without -L
[ -L "$REMOTE/tree/d2/link" ] && [ "$(readlink "$REMOTE/tree/d2/link")" = ../a/f1.txt ] ||
  fail "the symlink did not reach the server as it is"
[ "$(link_time "$REMOTE/tree/d2/link")" = "$(link_time "$SRC/d2/link")" ] ||
  fail "the symlink's time on the server is $(link_time "$REMOTE/tree/d2/link"), the source's $(link_time "$SRC/d2/link")"
pass "cp -a: the symlink's own time on the server as in the source"

# --- later changes: the server's directory gets the mount's new time.
sleep 1.1 # so that "now" differs from any time the server gave by itself
echo later >"$MNT/tree/a/b/later.txt"
rm "$MNT/tree/a/f2.txt"
mv "$MNT/tree/d2/x/two.txt" "$MNT/tree/a/empty/two.txt"
mkdir "$MNT/tree/d2/new"
touch -d "2020-01-02 03:04:05" "$MNT/tree/d2/new"
nbfs_wait 30 "$MNT"
[ -f "$REMOTE/tree/a/b/later.txt" ] && [ ! -e "$REMOTE/tree/a/f2.txt" ] &&
  [ -f "$REMOTE/tree/a/empty/two.txt" ] && [ -d "$REMOTE/tree/d2/new" ] ||
  fail "the later changes did not reach the server"
[ "$(stat -c %Y "$MNT/tree/a/b")" -gt "$(stat -c %Y "$SRC/a/b")" ] ||
  fail "adding a file did not change the mount's time of a/b"
dirs_match "$MNT/tree" "$REMOTE/tree" ||
  fail "after later changes, directory times on the server differ from the mount: $(show_diff "$MNT/tree" "$REMOTE/tree")"
[ "$(stat -c %Y "$REMOTE/tree/d2/new")" = "$(date -d '2020-01-02 03:04:05' +%s)" ] ||
  fail "a new directory's time set in the mount did not reach the server"
pass "later changes: directory times on the server follow the mount"

# --- touch -h on the synced symlink: its time goes, its target's stays.
f1_time=$(stat -c %Y "$REMOTE/tree/a/f1.txt")
touch -h -d "2021-07-08 09:10:11" "$MNT/tree/d2/link"
want=$(date -d '2021-07-08 09:10:11' +%s)
[ "$(link_time "$MNT/tree/d2/link")" = "$want" ] || fail "touch -h did not set the link's time in the mount"
nbfs_wait 30 "$MNT"
[ "$(link_time "$REMOTE/tree/d2/link")" = "$want" ] ||
  fail "touch -h on the symlink in the mount did not reach the server ($(link_time "$REMOTE/tree/d2/link"))"
[ "$(readlink "$REMOTE/tree/d2/link")" = ../a/f1.txt ] || fail "the link's target changed on the server"
[ "$(stat -c %Y "$REMOTE/tree/a/f1.txt")" = "$f1_time" ] || fail "touch -h moved the target's time on the server"
pass "touch -h on a synced symlink: the server's link has the time, its target keeps its own"

# --- touch -h sends a time, never the link again: a file someone put
# on the server in place of the synced link stays as it is.
rm "$REMOTE/tree/d2/link"
echo "the server's own file" >"$REMOTE/tree/d2/link"
touch -h -d "2022-01-01 00:00:00" "$MNT/tree/d2/link" || fail "touch -h on the link"
nbfs_wait 30 "$MNT"
sleep 1 # a SYMLINK sent in error would be answered by now
[ -f "$REMOTE/tree/d2/link" ] && [ ! -L "$REMOTE/tree/d2/link" ] &&
  [ "$(cat "$REMOTE/tree/d2/link")" = "the server's own file" ] ||
  fail "touch -h on a link in the mount replaced a file on the server"
pass "touch -h on a link the server replaced with a file: the file stays"

# --- a symlink only on the server (made there by someone else) keeps
# the server's time: touch -h on it succeeds and changes nothing there.
ln -s a/f3.txt "$REMOTE/tree/srvlink"
touch -h -d "2015-01-02 03:04:05" "$REMOTE/tree/srvlink"
srv_time=$(link_time "$REMOTE/tree/srvlink")
wait_until 30 test -L "$MNT/tree/srvlink" || fail "a symlink made on the server did not show in the mount"
touch -h -d "2016-02-03 04:05:06" "$MNT/tree/srvlink" || fail "touch -h on a symlink only on the server"
nbfs_wait 30 "$MNT"
[ "$(link_time "$REMOTE/tree/srvlink")" = "$srv_time" ] && [ "$(readlink "$REMOTE/tree/srvlink")" = a/f3.txt ] ||
  fail "touch -h on a symlink only on the server changed it there"
pass "touch -h on a symlink only on the server: accepted, the server's link as it was"
