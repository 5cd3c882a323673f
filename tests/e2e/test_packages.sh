#!/usr/bin/env bash
# The Debian packages: CPack builds nbfs_*.deb and nbfs-server_*.deb with
# the right files and dependencies; `apt-get install ./...deb` installs
# them; a mount made with the installed files alone works (mount -t
# fuse.nbfs through /usr/sbin/mount.fuse.nbfs, /usr/bin/nbfs, and
# /usr/bin/nbfs-server found on the server's PATH); `dpkg -r` removes
# them again, also when the test fails. Skipped on a machine where nbfs
# is installed already, which the test must not remove.
# e2e: no-sanitizer: it builds and installs its own release packages
. "$(dirname "$0")/lib.sh"
e2e_init packages
for p in nbfs nbfs-server; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" &&
    skip "the package $p is installed on this machine: the test would remove it"
done
for f in /usr/bin/nbfs /usr/bin/nbfs-server /usr/sbin/mount.fuse.nbfs; do
  [ -e "$f" ] && skip "$f exists (not from a package): the test would replace it"
done
command -v cpack >/dev/null && command -v dpkg-shlibdeps >/dev/null ||
  fail "cpack or dpkg-shlibdeps missing: run contrib/install-deps.sh"

log "building the packages (a release build with prefix /usr)"
cmake -S "$REPO" -B "$WORK/build-deb" -DCMAKE_INSTALL_PREFIX=/usr -DNBFS_TESTS=OFF >"$WORK/build.log" 2>&1 &&
  cmake --build "$WORK/build-deb" -j"$(nproc)" >>"$WORK/build.log" 2>&1 &&
  (cd "$WORK/build-deb" && cpack -G DEB) >>"$WORK/build.log" 2>&1 ||
  { tail -n 30 "$WORK/build.log"; fail "building the packages failed"; }
client=$(ls "$WORK"/build-deb/nbfs_*.deb) && server=$(ls "$WORK"/build-deb/nbfs-server_*.deb) ||
  fail "packages missing: $(ls "$WORK/build-deb")"

# field DEB NAME: one control field.
field() { dpkg-deb -f "$1" "$2"; }
for dep in fuse3 libfuse3-3 libssh2-1 libsqlite3-0 libssl3; do
  field "$client" Depends | grep -q "\b$dep\b" || fail "nbfs does not depend on $dep: $(field "$client" Depends)"
done
field "$server" Depends | grep -q "libssl3" || fail "nbfs-server Depends: $(field "$server" Depends)"
field "$server" Depends | grep -q "fuse\|ssh2\|sqlite" && fail "nbfs-server needs no FUSE, libssh2 or SQLite"
dpkg-deb -c "$client" | awk '{print $6}' | sort >"$WORK/client.files"
dpkg-deb -c "$server" | awk '{print $6}' | sort >"$WORK/server.files"
for f in ./usr/bin/nbfs ./usr/sbin/mount.fuse.nbfs ./usr/share/man/man1/nbfs.1 \
  ./usr/share/bash-completion/completions/nbfs ./usr/lib/systemd/user/nbfs@.service; do
  grep -qx "$f" "$WORK/client.files" || fail "nbfs lacks $f"
done
for f in ./usr/bin/nbfs-server ./usr/share/man/man8/nbfs-server.8; do
  grep -qx "$f" "$WORK/server.files" || fail "nbfs-server lacks $f"
done
grep -q "nbfs-server" "$WORK/client.files" && fail "nbfs ships nbfs-server files"

log "installing $(basename "$client") and $(basename "$server")"
E2E_CLEANUP+=("dpkg -r nbfs nbfs-server >/dev/null 2>&1")
apt-get install -y -q --no-install-recommends "$client" "$server" >"$WORK/apt.log" 2>&1 ||
  { tail -n 20 "$WORK/apt.log"; fail "apt-get install of the packages failed"; }
/usr/bin/nbfs --version | grep -q "^nbfs " || fail "installed nbfs --version"
/usr/bin/nbfs-server --version | grep -q "^nbfs-server " || fail "installed nbfs-server --version"
[ "$(readlink -f /usr/sbin/mount.fuse.nbfs)" = /usr/bin/nbfs ] || fail "mount.fuse.nbfs does not lead to nbfs"

# sshd's PATH for a session is /usr/local/sbin:/usr/local/bin:/usr/sbin:
# /usr/bin:...: an nbfs-server installed from source (contrib/demo.sh
# puts one in /usr/local/bin) comes first, rightly, and would hide the
# package's. The test's sshd then gives its sessions a PATH without
# /usr/local, so that it is the package's program that is tested.
for d in /usr/local/sbin /usr/local/bin; do
  if [ -x "$d/nbfs-server" ]; then
    log "$d/nbfs-server would come first on sshd's PATH: the test's sshd sets PATH=/usr/bin:/bin"
    SSHD_SETENV="PATH=/usr/bin:/bin"
  fi
done
start_sshd
# No server= option: the server's PATH finds the installed nbfs-server.
mount -t fuse.nbfs -o "identity=$WORK/client_key,known_hosts=$KNOWN_HOSTS,cache=$CACHE,delay=0.3,_netdev" \
  "$(id -un)@127.0.0.1:$SSHD_PORT:$REMOTE" "$MNT" || fail "mount -t fuse.nbfs with the installed files failed"
E2E_MOUNTS+=("$MNT")
NBFS_PID=$(cat "$CACHE/lock")
[ "$(readlink "/proc/$NBFS_PID/exe")" = /usr/bin/nbfs ] || fail "the mount runs $(readlink "/proc/$NBFS_PID/exe")"
# served_by_installed: the sync thread's server (started by sshd for our
# root) is the installed program.
served_by_installed() {
  local p
  for p in $(pgrep -x nbfs-server); do
    grep -qF "$REMOTE" "/proc/$p/cmdline" 2>/dev/null &&
      [ "$(readlink "/proc/$p/exe")" = /usr/bin/nbfs-server ] && return 0
  done
  return 1
}
wait_until 30 served_by_installed || fail "no /usr/bin/nbfs-server serves $REMOTE: $(pgrep -ax nbfs-server)"
echo "from the packages" >"$MNT/pkg.txt"
/usr/bin/nbfs wait --timeout 30 "$MNT/pkg.txt" || fail "nbfs wait"
[ "$(cat "$REMOTE/pkg.txt")" = "from the packages" ] || fail "pkg.txt did not reach the server"
umount "$MNT" || fail "umount"
wait_until 30 bash -c "! kill -0 $NBFS_PID 2>/dev/null" || fail "nbfs did not exit after umount"

log "removing the packages"
dpkg -r nbfs nbfs-server >"$WORK/dpkg-r.log" 2>&1 || { cat "$WORK/dpkg-r.log"; fail "dpkg -r failed"; }
for f in /usr/bin/nbfs /usr/bin/nbfs-server /usr/sbin/mount.fuse.nbfs /usr/share/man/man1/nbfs.1; do
  [ -e "$f" ] && fail "$f is left after dpkg -r"
done
pass "packages built, installed, used for a mount, and removed"
