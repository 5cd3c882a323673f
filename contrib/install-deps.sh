#!/usr/bin/env bash
# Install the Debian 12 packages nbfs needs to build and test, and with
# --bench also those only the benchmark suite (tests/bench/run) compares
# against. Idempotent and quick when everything is already there.
# Installing needs root: as another user it runs itself again through
# sudo, where there is one.
#   contrib/install-deps.sh [--bench]
set -euo pipefail

packages=(
  build-essential cmake pkg-config git
  libfuse3-dev fuse3 libssh2-1-dev libssl-dev libsqlite3-dev libcmocka-dev
  openssh-server openssh-client attr rsync sshfs
  openssl bc procps psmisc util-linux coreutils
  clang libclang-rt-14-dev
  mandoc bash-completion python3 dpkg-dev systemd tmux
)
# The peers the benchmarks measure nbfs against (scp, rsync and sshfs are
# above already, the e2e tests use them too).
bench_packages=(rclone)

for arg in "$@"; do
  case $arg in
  --bench) packages+=("${bench_packages[@]}") ;;
  *)
    echo "usage: $0 [--bench]" >&2
    exit 2
    ;;
  esac
done

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all packages present"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: missing ${missing[*]}" >&2
  . "$(dirname "$0")/as-root.sh"
  as_root "$0" "$@"
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
