#!/usr/bin/env bash
# What nbfs keeps in the local cache only, for now: FIFOs and sockets, and
# file owners. FIFOs and sockets work in the mount but are never queued,
# not by the scan at the next mount either, and never reach the server;
# one renamed over a file removes that file on the server too. Device
# nodes are refused. Files keep the owner of the local user who made them
# (or chown's) in the mount, across a remount and cache eviction, while
# the server's copies belong to the SSH user.
. "$(dirname "$0")/lib.sh"
e2e_init local_only
start_sshd
mb=$((1024 * 1024))
mount_nbfs "$SSHD_PORT" "$CACHE" "allow_other,cache_max=24M"
chmod 755 "$MNT" || fail "chmod of the mount root"

# Entries in the queue, from the report behind `nbfs status`.
queued() {
  getfattr --only-values -n user.nbfs.status "$MNT" 2>/dev/null | grep -cvE '^(cache|link|sum|sync)'$'\t'
}
as_nobody() { setpriv --reuid 65534 --regid 65534 --clear-groups "$@"; }
owner() { stat -c %u:%g "$1"; }

# 1. FIFOs and sockets work, locally.
echo y >"$MNT/victim" && mkdir "$MNT/d" && echo x >"$MNT/d/f" || fail "setup"
nbfs_wait 60 "$MNT"
mkfifo "$MNT/d/p" || fail "mkfifo"
perl -MIO::Socket::UNIX -e \
  'IO::Socket::UNIX->new(Type => SOCK_STREAM(), Local => $ARGV[0], Listen => 1) or die "$!\n"' \
  "$MNT/d/s" || fail "bind of a unix socket"
chmod 600 "$MNT/d/p" "$MNT/d/s" || fail "chmod"
touch -h -d @1000000000 "$MNT/d/p" "$MNT/d/s" || fail "touch"
[ "$(stat -c %F "$MNT/d/p")" = fifo ] || fail "d/p is a $(stat -c %F "$MNT/d/p")"
[ "$(stat -c %F "$MNT/d/s")" = socket ] || fail "d/s is a $(stat -c %F "$MNT/d/s")"
n=$(queued)
[ "$n" -eq 0 ] || fail "$n entries queued for a fifo and a socket: $(getfattr --only-values -n user.nbfs.status "$MNT")"
(echo hello >"$MNT/d/p") &
read -r line <"$MNT/d/p"
wait
[ "$line" = hello ] || fail "read '$line' from the fifo"
attrs=$(getfattr -d "$MNT/d/p" 2>&1) || fail "getfattr -d on a fifo: $attrs"
[ -z "$attrs" ] || fail "getfattr -d on a fifo: $attrs"
if out=$(mknod "$MNT/d/null" c 1 3 2>&1); then fail "mknod of a device node succeeded"; fi
case $out in *"Operation not permitted"*) ;; *) fail "mknod of a device node: $out" ;; esac
[ ! -e "$MNT/d/null" ] || fail "a refused device node is listed"
# Renamed over a file, a fifo replaces it on the server too.
mkfifo "$MNT/q" && mv -T "$MNT/q" "$MNT/victim" || fail "rename of a fifo over a file"
nbfs_wait 60 "$MNT"
[ -p "$MNT/victim" ] || fail "victim is not the fifo"
[ ! -e "$REMOTE/victim" ] || fail "the server still has the file the fifo replaced"
[ ! -e "$REMOTE/d/p" ] && [ ! -e "$REMOTE/d/s" ] || fail "a fifo or socket reached the server"
cmp -s "$MNT/d/f" "$REMOTE/d/f" || fail "d/f differs on the server"
log "fifos and sockets work and stay local"

# 2. Owners: nobody's files are nobody's in the mount, the SSH user's on
# the server; root's chown sticks.
mkdir "$MNT/shared" && chmod 1777 "$MNT/shared" || fail "shared directory"
random_file "$WORK/mine" $((4 * mb))
chmod 644 "$WORK/mine"
as_nobody cp "$WORK/mine" "$MNT/shared/mine" || fail "nobody cannot create a file"
as_nobody chmod 600 "$MNT/shared/mine" || fail "nobody cannot chmod its own file"
as_nobody mkdir "$MNT/shared/dir" && as_nobody sh -c "echo inner >'$MNT/shared/dir/inner'" ||
  fail "nobody cannot write in its own directory"
echo given >"$MNT/shared/given" && chown 65533:65533 "$MNT/shared/given" || fail "chown"
nbfs_wait 60 "$MNT"
[ "$(owner "$MNT/shared/mine")" = 65534:65534 ] || fail "mine: owner $(owner "$MNT/shared/mine")"
[ "$(owner "$MNT/shared/given")" = 65533:65533 ] || fail "given: owner $(owner "$MNT/shared/given")"
cmp -s "$WORK/mine" "$REMOTE/shared/mine" || fail "mine differs on the server"
[ "$(owner "$REMOTE/shared/mine")" = "$(id -u):$(id -g)" ] || fail "mine on the server: $(owner "$REMOTE/shared/mine")"
[ "$(owner "$REMOTE/shared/given")" = "$(id -u):$(id -g)" ] || fail "given on the server: $(owner "$REMOTE/shared/given")"
log "owners kept in the mount, not on the server"

# 3. Across a remount: the fifo and socket are still there (times and
# modes too), still not queued; the owners are still the same.
umount_nbfs
mount_nbfs "$SSHD_PORT" "$CACHE" "allow_other,cache_max=24M"
n=$(queued)
[ "$n" -eq 0 ] || fail "$n entries queued at the next mount: $(getfattr --only-values -n user.nbfs.status "$MNT")"
[ "$(stat -c %F:%a:%Y "$MNT/d/p")" = fifo:600:1000000000 ] || fail "d/p after remount: $(stat -c %F:%a:%Y "$MNT/d/p")"
[ "$(stat -c %F:%a:%Y "$MNT/d/s")" = socket:600:1000000000 ] || fail "d/s after remount: $(stat -c %F:%a:%Y "$MNT/d/s")"
[ "$(owner "$MNT/shared/mine")" = 65534:65534 ] || fail "mine after remount: owner $(owner "$MNT/shared/mine")"
[ "$(owner "$MNT/shared/dir/inner")" = 65534:65534 ] || fail "dir/inner after remount: owner $(owner "$MNT/shared/dir/inner")"
as_nobody sh -c "echo more >>'$MNT/shared/mine'" || fail "nobody cannot write its file after remount"
log "fifo, socket and owners survive a remount"

# 4. The cache evicts root's synced copies, never nobody's (the least
# recently used, but its owner lives only here).
nbfs_wait 60 "$MNT"
for i in 1 2 3 4 5; do
  random_file "$WORK/r$i" $((5 * mb))
  cp "$WORK/r$i" "$MNT/r$i" || fail "writing r$i"
done
nbfs_wait 60 "$MNT"
some_evicted() {
  local i
  for i in 1 2 3 4 5; do [ "$(state_of "$MNT/r$i")" = remote ] && return 0; done
  return 1
}
wait_until 60 some_evicted || fail "nothing was evicted"
[ -f "$CACHE/stage/shared/mine" ] || fail "nobody's file was evicted"
[ "$(state_of "$MNT/shared/mine")" = synced ] || fail "mine is $(state_of "$MNT/shared/mine")"
[ "$(owner "$MNT/shared/mine")" = 65534:65534 ] || fail "mine: owner $(owner "$MNT/shared/mine") after eviction"
for i in 1 2 3 4 5; do cmp -s "$WORK/r$i" "$MNT/r$i" || fail "r$i reads back wrong"; done

# Removing the fifo and socket queues nothing either.
rm "$MNT/d/p" "$MNT/d/s" "$MNT/victim" || fail "rm"
n=$(queued)
[ "$n" -eq 0 ] || fail "$n entries queued for removing a fifo and a socket"
umount_nbfs
pass "fifos and sockets local only; owners kept locally, across remount and eviction"
