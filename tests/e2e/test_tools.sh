#!/usr/bin/env bash
# Normal tools just work: rsync -a of a tree with nested directories,
# symlinks, odd names and modes, after which the server's copy is one
# rsync -a finds nothing to change in (times of symlinks included);
# rsync --preallocate and fallocate(1)
# (fallocate was EOPNOTSUPP: fallocate(1) failed); tar -x of 2,000 small files; git clone,
# git status and git fsck, in the mount and on the server's copy.
. "$(dirname "$0")/lib.sh"
e2e_init tools
start_sshd
mount_nbfs "$SSHD_PORT"

# --- rsync -a
SRC=$WORK/src
mkdir -p "$SRC/a/b/c" "$SRC/spaces in dir" "$SRC/ünïcødé" "$SRC/-leading-dash"
echo one >"$SRC/a/one.txt"
echo deep >"$SRC/a/b/c/deep.txt"
echo "with spaces" >"$SRC/spaces in dir/file name.txt"
echo "utf8" >"$SRC/ünïcødé/日本語.txt"
echo "dash" >"$SRC/-leading-dash/-n"
echo "tab" >"$SRC/a/name	with	tabs"
head -c 100000 /dev/urandom >"$SRC/a/b/binary.bin"
chmod 600 "$SRC/a/one.txt"
chmod 751 "$SRC/a/b"
chmod 755 "$SRC/a/b/binary.bin"
ln -s one.txt "$SRC/a/link-rel"
ln -s /etc/hostname "$SRC/a/link-abs"
ln -s ../nowhere "$SRC/a/dangling"
touch -h -d "2019-06-07 08:09:10" "$SRC/a/link-rel" "$SRC/a/link-abs" "$SRC/a/dangling"
rsync -a "$SRC/" "$MNT/rs/" || fail "rsync -a into the mount"
nbfs_wait 60 "$MNT"
diff -r --no-dereference "$SRC" "$REMOTE/rs" || fail "rsync tree differs on the server"
(cd "$SRC" && find . -printf '%m %y %p %l\n' | sort) >"$WORK/meta.src"
(cd "$REMOTE/rs" && find . -printf '%m %y %p %l\n' | sort) >"$WORK/meta.dst"
diff "$WORK/meta.src" "$WORK/meta.dst" || fail "modes or symlinks differ"
# A second rsync finds nothing to do (times and sizes match).
rsync -ai "$SRC/" "$MNT/rs/" >"$WORK/rsync2.out"; n=$(wc -l <"$WORK/rsync2.out")
[ "$n" -eq 0 ] || fail "a repeated rsync still transferred $n items: $(cat "$WORK/rsync2.out")"
# Nor would one straight to the server's copy: the times of files,
# directories and symlinks, modes and sizes there are the source's.
rsync -ain "$SRC/" "$REMOTE/rs/" >"$WORK/rsync3.out"; n=$(wc -l <"$WORK/rsync3.out")
[ "$n" -eq 0 ] || fail "rsync from the source to the server's copy would change $n items: $(cat "$WORK/rsync3.out")"

# --- preallocating writers: rsync --preallocate, fallocate(1)
random_file "$WORK/pre.bin" $((5 * 1024 * 1024 + 3))
rsync --preallocate "$WORK/pre.bin" "$MNT/pre.bin" || fail "rsync --preallocate into the mount"
fallocate -l 3M "$MNT/alloc.bin" || fail "fallocate(1) in the mount"
nbfs_wait 60 "$MNT/pre.bin" "$MNT/alloc.bin"
cmp "$WORK/pre.bin" "$REMOTE/pre.bin" || fail "the preallocated rsync copy differs on the server"
cmp <(head -c $((3 * 1024 * 1024)) /dev/zero) "$REMOTE/alloc.bin" || fail "fallocate's 3 MiB of zeros differ on the server"

# --- tar -x of 2,000 small files
mkdir -p "$WORK/tarsrc"
for d in $(seq 1 20); do
  mkdir -p "$WORK/tarsrc/dir$d"
  for f in $(seq 1 100); do echo "file $d/$f $RANDOM" >"$WORK/tarsrc/dir$d/f$f.txt"; done
done
tar -C "$WORK" -cf "$WORK/t.tar" tarsrc
start=$SECONDS
tar -C "$MNT" -xf "$WORK/t.tar" || fail "tar -x"
log "tar -x of 2,000 files returned in $((SECONDS - start)) s"
nbfs_wait 180 "$MNT"
diff -r "$WORK/tarsrc" "$REMOTE/tarsrc" || fail "tar tree differs on the server"
[ "$(find "$REMOTE/tarsrc" -type f | wc -l)" -eq 2000 ] || fail "file count on the server"

# --- git clone, status, fsck
mkdir -p "$WORK/repo"
(cd "$WORK/repo" && git init -q && git config user.email t@e && git config user.name t &&
  for i in $(seq 1 30); do echo "line $i" >>"f$((i % 5)).txt"; git add -A; git commit -qm "c$i"; done) ||
  fail "making a test repository"
git clone -q "$WORK/repo" "$MNT/clone" || fail "git clone into the mount"
(cd "$MNT/clone" && git status --porcelain | grep -q . && fail "git status in the mount is not clean") || true
(cd "$MNT/clone" && git fsck --strict 2>&1) || fail "git fsck in the mount"
nbfs_wait 120 "$MNT"
(cd "$REMOTE/clone" && git status --porcelain | grep -q .) && fail "git status on the server is not clean"
(cd "$REMOTE/clone" && git fsck --strict) || fail "git fsck on the server"
[ "$(cd "$REMOTE/clone" && git log --oneline | wc -l)" -eq 30 ] || fail "history on the server"
umount_nbfs
pass "rsync -a, tar -x of 2,000 files, git clone/status/fsck"
