#!/usr/bin/env bash
# Hard links are made as copies: `cp -a`, `tar -x` and `rsync -aH` of a
# tree with hard links into the mount succeed, and every name reaches
# the server with the source's bytes, mode and mtime (when link(2) was
# refused, each tool failed on the second name and that file was
# missing). After the link the names are separate files. A source that
# is only on the server is fetched first; directories stay refused.
. "$(dirname "$0")/lib.sh"
e2e_init hard_links
start_sshd
mount_nbfs "$SSHD_PORT"

src=$WORK/src
mkdir -p "$src/sub"
random_file "$src/big" $((3 * 1024 * 1024 + 5))
ln "$src/big" "$src/big.link"
ln "$src/big" "$src/sub/big.again"
echo "small one" >"$src/sub/small"
chmod 640 "$src/sub/small"
touch -d '2020-02-02 02:02:02' "$src/sub/small"
ln "$src/sub/small" "$src/small.link"
ln -s sub/small "$src/sym"
ln -P "$src/sym" "$src/sym.link"
[ "$(stat -c %h "$src/big")" = 3 ] || fail "the source has no hard links to copy"

cp -a "$src" "$MNT/cpa" || fail "cp -a of a tree with hard links failed"
(cd "$WORK" && tar cf src.tar src) || fail "tar c"
mkdir "$MNT/tar"
tar xf "$WORK/src.tar" -C "$MNT/tar" || fail "tar x of an archive with hard links failed"
rsync -aH "$src/" "$MNT/rsync/" || fail "rsync -aH of a tree with hard links failed"
nbfs_wait 90 "$MNT"

# Every name on the server: the source's bytes, and what a hard link
# shares (mode, mtime); symlinks with their target.
check_tree() {
  local dst=$1 f
  for f in big big.link sub/big.again sub/small small.link; do
    cmp "$src/$f" "$dst/$f" || fail "$dst/$f differs from the source"
    [ "$(stat -c '%a %Y' "$src/$f")" = "$(stat -c '%a %Y' "$dst/$f")" ] ||
      fail "$dst/$f: mode and mtime $(stat -c '%a %Y' "$dst/$f"), the source's $(stat -c '%a %Y' "$src/$f")"
  done
  for f in sym sym.link; do
    [ "$(readlink "$dst/$f")" = sub/small ] || fail "$dst/$f is not the symlink to sub/small"
  done
}
for t in cpa tar/src rsync; do
  check_tree "$REMOTE/$t"
  check_tree "$MNT/$t"
done
log "cp -a, tar x and rsync -aH: every hard-linked name is on the server"

# Separate files from then on.
echo appended >>"$MNT/cpa/big.link"
nbfs_wait 30 "$MNT/cpa/big.link"
cmp "$src/big" "$REMOTE/cpa/big" || fail "a write to one name changed the other on the server"
[ "$(stat -c %s "$REMOTE/cpa/big.link")" = $((3 * 1024 * 1024 + 5 + 9)) ] || fail "the write to big.link did not arrive"
[ "$(stat -c %h "$MNT/cpa/big")" = 1 ] || fail "st_nlink is not 1 on a name made by a copy"

# link(2) itself: errors as link(2) gives them.
python3 - "$MNT" <<'PY' || fail "link(2) errors"
import errno, os, sys
m = sys.argv[1]
def expect(err, a, b):
    try:
        os.link(os.path.join(m, a), os.path.join(m, b), follow_symlinks=False)
    except OSError as e:
        if e.errno != err:
            sys.exit(f"link {a} {b}: {errno.errorcode[e.errno]}, expected {errno.errorcode[err]}")
        return
    sys.exit(f"link {a} {b}: succeeded, expected {errno.errorcode[err]}")
expect(errno.EPERM, "cpa/sub", "dirlink")
expect(errno.EEXIST, "cpa/big", "cpa/sub/small")
expect(errno.ENOENT, "cpa/missing", "x")
PY
umount_nbfs

# A source only on the server: fetched, then copied.
mount_nbfs "$SSHD_PORT" "$WORK/cache2"
ln "$MNT/cpa/sub/small" "$MNT/cpa/remote.link" || fail "ln of a file only on the server failed"
nbfs_wait 30 "$MNT/cpa/remote.link"
cmp "$src/sub/small" "$REMOTE/cpa/remote.link" || fail "the link of a file only on the server differs"
umount_nbfs
no_partials
pass "hard links made as copies: cp -a, tar x, rsync -aH complete; names separate afterwards"
