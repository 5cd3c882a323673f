#!/usr/bin/env bash
# Conflicts: each upload states the server version it was based on. If
# the server's file changed since (someone on the server, another client),
# nothing is overwritten: the local version is published beside it under
# a conflict name, its state is "conflict", and both are visible. The
# same for a symlink made where someone put a file; and a removal keeps
# a file changed on the server since (and a directory still holding one).
. "$(dirname "$0")/lib.sh"
e2e_init conflict
start_sshd
NB_DELAY=3 mount_nbfs "$SSHD_PORT"

echo "version 1" >"$MNT/shared.txt"
nbfs_wait 30 "$MNT/shared.txt"
# A local edit, still in its quiet time...
echo "local edit" >"$MNT/shared.txt"
[ "$(state_of "$MNT/shared.txt")" = pending ] || fail "local edit not pending"
# ...while someone changes the file on the server.
echo "server edit" >"$REMOTE/shared.txt.tmp"
mv "$REMOTE/shared.txt.tmp" "$REMOTE/shared.txt"
find_copy() { ls "$REMOTE" | grep -q '^shared\.conflict-.*\.txt$'; }
wait_until 30 find_copy || fail "no conflict copy on the server: $(ls "$REMOTE")"
copy=$(ls "$REMOTE" | grep '^shared\.conflict-.*\.txt$')
log "conflict copy: $copy"
[ "$(cat "$REMOTE/shared.txt")" = "server edit" ] || fail "the server's version was overwritten"
[ "$(cat "$REMOTE/$copy")" = "local edit" ] || fail "the conflict copy does not hold the local edit"
wait_until 30 bash -c "[ \"\$(getfattr --only-values -n user.nbfs.state '$MNT/$copy' 2>/dev/null)\" = conflict ]" ||
  fail "state of the copy is '$(state_of "$MNT/$copy")'"
if "$NBFS" wait --timeout 5 "$MNT/$copy" 2>"$WORK/wait.err"; then fail "nbfs wait accepted a conflict copy"; fi
grep -q conflict "$WORK/wait.err" || fail "nbfs wait said nothing about the conflict: $(cat "$WORK/wait.err")"
wait_until 15 bash -c "[ \"\$(cat '$MNT/shared.txt' 2>/dev/null)\" = 'server edit' ]" ||
  fail "the mount does not show the server's version: $(cat "$MNT/shared.txt")"
[ "$(cat "$MNT/$copy")" = "local edit" ] || fail "the mount does not show the conflict copy"

# A new local file whose name appeared on the server meanwhile.
echo "mine" >"$MNT/fresh.txt"
echo "theirs" >"$REMOTE/fresh.txt"
find_copy2() { ls "$REMOTE" | grep -q '^fresh\.conflict-.*\.txt$'; }
wait_until 30 find_copy2 || fail "no conflict copy for a name taken on the server: $(ls "$REMOTE")"
[ "$(cat "$REMOTE/fresh.txt")" = theirs ] || fail "the server's new file was overwritten"

# Touching the copy resolves it into an ordinary file.
echo "merged" >"$MNT/$copy"
nbfs_wait 30 "$MNT/$copy"
[ "$(state_of "$MNT/$copy")" = synced ] || fail "an edited conflict copy still says '$(state_of "$MNT/$copy")'"
# A removal here of a file someone changed on the server since this
# mount synced it: the server's version stays, and shows in the mount
# again; an unchanged one goes.
echo "to remove" >"$MNT/removed.txt"
echo "unchanged" >"$MNT/plain.txt"
nbfs_wait 30 "$MNT/removed.txt" "$MNT/plain.txt"
# ... and one only listed in the mount, never opened here
echo "server only" >"$REMOTE/listed.txt"
wait_until 15 test -e "$MNT/listed.txt" || fail "a file made on the server does not show"
"$NBFS" pause "$MNT" || fail "nbfs pause failed"
rm "$MNT/removed.txt" "$MNT/plain.txt" "$MNT/listed.txt" || fail "rm in the mount"
echo "edited on the server" >"$REMOTE/removed.txt.tmp"
mv "$REMOTE/removed.txt.tmp" "$REMOTE/removed.txt"
echo "server only, edited after the listing" >"$REMOTE/listed.txt"
"$NBFS" status --follow --json "$MNT" >"$WORK/follow.jsonl" 2>&1 &
E2E_PIDS+=("$!")
wait_until 10 test -s "$WORK/follow.jsonl" || fail "the follower wrote nothing"
"$NBFS" resume "$MNT" || fail "nbfs resume failed"
wait_until 30 bash -c "[ ! -e '$REMOTE/plain.txt' ]" || fail "an unchanged file removed here stays on the server"
wait_until 15 bash -c "[ \"\$(cat '$MNT/removed.txt' 2>/dev/null)\" = 'edited on the server' ]" ||
  fail "the mount does not show the server's version kept: $(ls "$MNT")"
[ "$(cat "$REMOTE/removed.txt")" = "edited on the server" ] || fail "a file changed on the server was removed"
[ "$(cat "$REMOTE/listed.txt")" = "server only, edited after the listing" ] ||
  fail "a file changed on the server after the mount listed it was removed"
grep -q "removed.txt: changed on the server since this mount last saw it: kept there" "$CACHE/nbfs.log" ||
  fail "the log does not say why removed.txt stays"
kept_event() { grep -q '"event":"conflict".*"path":"removed.txt","op":"delete"' "$WORK/follow.jsonl"; }
wait_until 5 kept_event || fail "no conflict event for the kept file: $(cat "$WORK/follow.jsonl")"
! grep '"path":"removed.txt"' "$WORK/follow.jsonl" | grep -q '"copy"' || fail "a copy named for a removal"

# rm -r of a directory in which someone changed a file on the server:
# that file and its directory stay there, and show in the mount again.
mkdir "$MNT/dir"
echo "one" >"$MNT/dir/one.txt"
echo "two" >"$MNT/dir/two.txt"
nbfs_wait 30 "$MNT/dir"
"$NBFS" pause "$MNT" || fail "nbfs pause failed"
rm -r "$MNT/dir" || fail "rm -r in the mount"
echo "two, edited on the server" >"$REMOTE/dir/two.txt"
"$NBFS" resume "$MNT" || fail "nbfs resume failed"
wait_until 30 bash -c "[ \"\$(cat '$MNT/dir/two.txt' 2>/dev/null)\" = 'two, edited on the server' ]" ||
  fail "the mount does not show the kept directory: $(ls -R "$MNT")"
[ ! -e "$REMOTE/dir/one.txt" ] || fail "an unchanged file of the removed directory stays on the server"
[ ! -e "$MNT/dir/one.txt" ] || fail "an unchanged file of the removed directory is back in the mount"
"$NBFS" wait --timeout 20 "$MNT" || fail "something stays queued after the kept rm -r: $("$NBFS" status "$MNT")"

# A symlink made here while someone put a file of that name on the
# server: their file stays, the link goes beside it as a conflict copy.
"$NBFS" pause "$MNT" || fail "nbfs pause failed"
ln -s some/target "$MNT/link" || fail "ln -s in the mount"
echo "a file of theirs" >"$REMOTE/link"
"$NBFS" resume "$MNT" || fail "nbfs resume failed"
link_copy() { ls "$REMOTE" | grep -q '^link\.conflict-'; }
wait_until 30 link_copy || fail "no conflict copy of the link: $(ls "$REMOTE")"
[ "$(cat "$REMOTE/link")" = "a file of theirs" ] || fail "the link replaced a file put on the server"
lcopy=$(ls "$REMOTE" | grep '^link\.conflict-')
[ "$(readlink "$REMOTE/$lcopy")" = some/target ] || fail "the conflict copy is not the link: $(ls -l "$REMOTE/$lcopy")"
wait_until 15 bash -c "[ \"\$(cat '$MNT/link' 2>/dev/null)\" = 'a file of theirs' ]" ||
  fail "the mount does not show the server's file at the link's name"

umount_nbfs
pass "conflicts keep both versions; a removal keeps a version changed on the server; a link does not replace a file put there"
