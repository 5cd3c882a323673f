#!/usr/bin/env bash
# The server never reads or writes outside its root, whatever is planted
# in the root while nbfs works: a symlink to a directory outside, a
# symlink to the root's parent on the way to a file, a symlink in place of
# a file being replaced. (Hostile names on the wire are covered by the
# unit tests of pathname, root and session.)
. "$(dirname "$0")/lib.sh"
e2e_init confinement
start_sshd
OUTSIDE=$WORK/outside
mkdir -p "$OUTSIDE/dir"
echo "secret" >"$OUTSIDE/secret.txt"
echo "must not be listed" >"$OUTSIDE/dir/visible-if-followed"
ln -s "$OUTSIDE/dir" "$REMOTE/evil-dir"
mount_nbfs "$SSHD_PORT"

# A symlink found on the server is listed as a symlink, with its target
# (which the client's kernel may then follow on the client's side, as
# with any symlink; the server itself never follows it: see below and
# tests/unit/test_root.c).
[ -L "$MNT/evil-dir" ] || fail "evil-dir is not shown as a symlink"
[ "$(readlink "$MNT/evil-dir")" = "$OUTSIDE/dir" ] || fail "symlink target: $(readlink "$MNT/evil-dir")"
grep -q "list 'evil-dir'" "$CACHE/nbfs.log" && fail "the client asked the server to list through a symlink"

# Directories the client knows, replaced on the server by symlinks that
# lead outside, before files are uploaded into them.
mkdir -p "$MNT/pdir" "$MNT/updir"
nbfs_wait 30 "$MNT"
rmdir "$REMOTE/pdir" "$REMOTE/updir"
ln -s "$OUTSIDE/dir" "$REMOTE/pdir"
ln -s .. "$REMOTE/updir"
echo payload >"$MNT/pdir/x.txt"
echo payload >"$MNT/updir/z.txt"
wait_until 30 bash -c "[ \"\$(getfattr --only-values -n user.nbfs.state '$MNT/pdir/x.txt' 2>/dev/null)\" = error ]" ||
  fail "upload through a planted directory symlink did not fail (state $(state_of "$MNT/pdir/x.txt"))"
wait_until 30 bash -c "[ \"\$(getfattr --only-values -n user.nbfs.state '$MNT/updir/z.txt' 2>/dev/null)\" = error ]" ||
  fail "upload through a planted '..' symlink did not fail"
err=$(getfattr --only-values -n user.nbfs.error "$MNT/pdir/x.txt")
log "error shown for pdir/x.txt: $err"
[ -n "$err" ] || fail "no user.nbfs.error text"
[ ! -e "$OUTSIDE/dir/x.txt" ] || fail "x.txt was written outside the root"
[ ! -e "$WORK/z.txt" ] || fail "z.txt was written into the root's parent"
if "$NBFS" wait --timeout 5 "$MNT/pdir/x.txt" 2>"$WORK/wait.err"; then
  fail "nbfs wait returned 0 for a file in error"
fi
grep -q "sync failed" "$WORK/wait.err" || fail "nbfs wait gave no message: $(cat "$WORK/wait.err")"

# A file replaced on the server by a symlink to a file outside: the next
# upload never writes through it. (The server's copy changed, so the local
# version is kept beside it as a conflict copy.)
echo "version 1" >"$MNT/a.txt"
nbfs_wait 30 "$MNT/a.txt"
rm "$REMOTE/a.txt"
ln -s "$OUTSIDE/secret.txt" "$REMOTE/a.txt"
echo "version 2" >"$MNT/a.txt"
copy_made() { ls "$REMOTE" | grep -q '^a\.conflict-.*\.txt$'; }
wait_until 30 copy_made || fail "no conflict copy: $(ls "$REMOTE")"
[ "$(cat "$OUTSIDE/secret.txt")" = secret ] || fail "the file outside the root was modified"
[ -L "$REMOTE/a.txt" ] || fail "the planted symlink was replaced without a conflict"
[ "$(cat "$REMOTE"/a.conflict-*.txt)" = "version 2" ] || fail "the conflict copy has the wrong content"
[ "$(ls -A "$OUTSIDE/dir")" = visible-if-followed ] || fail "the outside directory changed: $(ls -A "$OUTSIDE/dir")"
pass "nothing left the root"
