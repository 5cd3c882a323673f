# Sourced by the scripts that must run as root (contrib/demo.sh,
# tests/run.sh, contrib/install-deps.sh). `as_root "$0" "$@"` returns
# when we are root; otherwise it runs the script again through sudo
# (keeping the NBFS_* and test-selection variables, which sudo's
# env_reset would drop), or, where there is no sudo (a minimal Debian
# has none), stops with a message saying what to do.

as_root() {
  [ "$(id -u)" -eq 0 ] && return 0
  local self name keep=() v
  self=$(readlink -f "$1")
  name=$(basename "$1")
  shift
  if command -v sudo >/dev/null 2>&1; then
    for v in $(compgen -e); do
      case $v in NBFS_* | E2E | E2E_* | BUILD | KEEP | SEED | CUT_EVERY) keep+=("$v=${!v}") ;; esac
    done
    echo "$name: needs root: running it again through sudo" >&2
    exec sudo -- env "${keep[@]}" "$self" "$@"
  fi
  echo "$name: needs root (it installs packages, starts sshd and mounts FUSE filesystems)," >&2
  echo "$name: and there is no sudo here: log in as root (su -) and run it again" >&2
  exit 1
}
