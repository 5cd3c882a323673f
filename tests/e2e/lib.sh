# Shared helpers for the end-to-end tests: a private sshd on loopback, the
# test proxy, nbfs mounts, and cleanup that runs even when a test fails.
# Every wait has a timeout, so a hang fails the test instead of stalling.
#
# A test script sources this file, calls e2e_init, and uses the helpers.
# Environment: BUILD (default <repo>/build), KEEP=1 keeps the work dir.

set -u
E2E_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$E2E_DIR/../.." && pwd)
BUILD=${BUILD:-$REPO/build}
NBFS=$BUILD/nbfs
NBFS_SERVER=$BUILD/nbfs-server
TESTPROXY=$BUILD/nbfs-testproxy

E2E_PIDS=()
E2E_MOUNTS=()
# Commands (strings for eval) run first in the cleanup, e.g. removing
# packages a test installed.
E2E_CLEANUP=()

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*"; }
fail() {
  log "FAIL: $*"
  e2e_dump_logs
  exit 1
}

e2e_dump_logs() {
  [ -n "${WORK:-}" ] || return 0
  for f in "$WORK"/cache*/nbfs.log "$WORK"/sshd.log "$WORK"/server.log; do
    [ -f "$f" ] || continue
    echo "---- tail of $f"
    tail -n 40 "$f"
  done
}

e2e_cleanup() {
  local rc=$?
  set +e
  local c
  for c in "${E2E_CLEANUP[@]}"; do
    eval "$c"
  done
  for m in "${E2E_MOUNTS[@]}"; do
    # /proc/mounts, not mountpoint(1): root may not stat a mount of
    # nobody's own (mount_nobody).
    awk -v m="$m" '$2 == m { f = 1 } END { exit !f }' /proc/mounts && fusermount3 -u -z "$m" 2>/dev/null
  done
  for p in "${E2E_PIDS[@]}"; do
    kill "$p" 2>/dev/null
  done
  sleep 0.2
  for p in "${E2E_PIDS[@]}"; do
    kill -9 "$p" 2>/dev/null
  done
  # nbfs processes that were started on our caches
  for lock in "$WORK"/cache*/lock "$WORK"/user/cache/lock; do
    [ -f "$lock" ] || continue
    local pid
    pid=$(cat "$lock" 2>/dev/null)
    [ -n "$pid" ] && [ -d "/proc/$pid" ] && grep -q nbfs "/proc/$pid/cmdline" 2>/dev/null &&
      kill -9 "$pid" 2>/dev/null
  done
  if [ "${KEEP:-0}" != 1 ] && [ -n "${WORK:-}" ]; then
    rm -rf "$WORK"
  else
    log "work dir kept: $WORK"
  fi
  exit $rc
}

e2e_init() {
  local name=$1
  [ -x "$NBFS" ] && [ -x "$NBFS_SERVER" ] || { echo "build first: $NBFS missing" >&2; exit 1; }
  WORK=$(mktemp -d "/tmp/nbfs-e2e.$name.XXXXXX")
  chmod 755 "$WORK"
  REMOTE=$WORK/remote
  MNT=$WORK/mnt
  CACHE=$WORK/cache
  mkdir -p "$REMOTE" "$MNT"
  # The user's own ~/.config/nbfs/config (contrib/demo.sh writes one)
  # must not change what a test mounts; a test of the config file
  # writes its own here.
  export XDG_CONFIG_HOME=$WORK/xdg-config
  trap e2e_cleanup EXIT
  trap 'exit 130' INT TERM
  log "test $name in $WORK"
}

# wait_until SECONDS COMMAND...: poll until COMMAND succeeds.
wait_until() {
  local secs=$1
  shift
  local deadline=$((SECONDS + secs))
  until "$@"; do
    [ $SECONDS -lt $deadline ] || return 1
    sleep 0.05
  done
}

# Below the kernel's range of ephemeral ports (32768 on), which the
# local end of every outgoing connection takes: a listener cannot bind
# a port that such an end holds, and probing with a connection does not
# see it (seen: sshd's "Address already in use" at 36628).
free_port() {
  local p lo
  lo=$(awk '{print $1}' /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null)
  [ "${lo:-0}" -gt 12000 ] || lo=32768
  for _ in $(seq 1 50); do
    p=$((10000 + RANDOM % (lo - 10000)))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
      echo "$p"
      return 0
    fi
  done
  return 1
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# start_sshd: a private sshd on 127.0.0.1:$SSHD_PORT that accepts
# $WORK/client_key for the current user; $KNOWN_HOSTS lists its host key.
# SSHD_EXTRA_CONFIG: more sshd_config lines (the benchmarks use it).
# SSHD_SETENV: NAME=VALUE words for the sessions' environment.
# Keepalives are sshd's own defaults, as Debian ships it
# (ClientAliveInterval 0: sshd never notices a dead client by itself, so
# a server session behind a dead link lives on until nbfs-server's idle
# limit or a takeover by the same mount ends it); a test environment
# kinder than that hid the stale-session bug of issue 9.
# SSHD_CLIENT_ALIVE=1: ClientAliveInterval 5 instead, for experiments.
start_sshd() {
  local alive="# ClientAlive*: sshd's defaults"
  [ "${SSHD_CLIENT_ALIVE:-0}" = 1 ] && alive="ClientAliveInterval 5
ClientAliveCountMax 3"
  mkdir -p /run/sshd
  ssh-keygen -q -t ed25519 -N '' -f "$WORK/host_key" -C nbfs-test-host
  [ -f "$WORK/client_key" ] || ssh-keygen -q -t ed25519 -N '' -f "$WORK/client_key" -C nbfs-test-client
  cp "$WORK/client_key.pub" "$WORK/authorized_keys"
  chmod 600 "$WORK/authorized_keys"
  SSHD_PORT=$(free_port)
  cat >"$WORK/sshd_config" <<CFG
ListenAddress 127.0.0.1
Port $SSHD_PORT
HostKey $WORK/host_key
AuthorizedKeysFile $WORK/authorized_keys
PidFile $WORK/sshd.pid
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
StrictModes no
UsePAM no
$alive
Subsystem sftp internal-sftp
# bash run by sshd sources ~/.bashrc when SHLVL < 2 (Debian's build):
# one that starts slow tools (pyenv, say) can take longer than the tests'
# timeout=5 on a loaded machine, and every connection pays it.
# sshd takes only the first SetEnv line: more variables go on this one
# (SSHD_SETENV).
SetEnv SHLVL=1 ${SSHD_SETENV:-}
${SSHD_EXTRA_CONFIG:-}
CFG
  /usr/sbin/sshd -f "$WORK/sshd_config" -E "$WORK/sshd.log" || fail "sshd did not start"
  wait_until 10 test -s "$WORK/sshd.pid" || fail "sshd wrote no pid"
  E2E_PIDS+=("$(cat "$WORK/sshd.pid")")
  wait_until 10 port_open "$SSHD_PORT" || fail "sshd not listening on $SSHD_PORT"
  KNOWN_HOSTS=$WORK/known_hosts
  echo "[127.0.0.1]:$SSHD_PORT $(cut -d' ' -f1-2 "$WORK/host_key.pub")" >"$KNOWN_HOSTS"
  log "sshd on 127.0.0.1:$SSHD_PORT"
}

# start_proxy ARGS...: the test proxy in front of sshd; sets PROXY_PORT,
# PROXY_PID, PROXY_STATS.
start_proxy() {
  PROXY_STATS=$WORK/proxy.stats
  rm -f "$WORK/proxy.port" "$PROXY_STATS"
  "$TESTPROXY" --listen 127.0.0.1:0 --target "127.0.0.1:$SSHD_PORT" \
    --port-file "$WORK/proxy.port" --stats "$PROXY_STATS" "$@" >"$WORK/proxy.log" 2>&1 &
  PROXY_PID=$!
  E2E_PIDS+=("$PROXY_PID")
  wait_until 10 test -s "$WORK/proxy.port" || fail "proxy did not start"
  PROXY_PORT=$(cat "$WORK/proxy.port")
  # The same server, reached through another port.
  echo "[127.0.0.1]:$PROXY_PORT $(cut -d' ' -f1-2 "$WORK/host_key.pub")" >>"$KNOWN_HOSTS"
  log "proxy on 127.0.0.1:$PROXY_PORT -> $SSHD_PORT ($*)"
}

# proxy_stat NAME: a counter from the proxy's stats file (0 if absent).
proxy_stat() {
  awk -v k="$1" '$1 == k { print $2; found = 1 } END { if (!found) print 0 }' "$PROXY_STATS" 2>/dev/null || echo 0
}

# proxy_stat_settled NAME: the counter once the proxy has written its
# last change (it writes its stats at most every 50 ms, so a count read
# right after an upload finished can miss megabytes of it), for the
# final counts a test judges; proxy_stat is for polling.
proxy_stat_settled() {
  local a b
  b=$(proxy_stat "$1")
  for _ in $(seq 1 50); do
    sleep 0.12
    a=$b
    b=$(proxy_stat "$1")
    [ "$a" = "$b" ] && break
  done
  echo "$b"
}

# mount_nbfs PORT [CACHE] [EXTRA_OPTS]: mount $REMOTE over SSH on $MNT.
mount_nbfs() {
  local port=$1 cache=${2:-$CACHE} extra=${3:-}
  local opts="identity=$WORK/client_key,known_hosts=$KNOWN_HOSTS,cache=$cache,server=$NBFS_SERVER"
  opts+=",delay=${NB_DELAY:-0.3},debug"
  # NB_E2E_SSH=libssh2 (or openssh) picks how a test's SSH mounts speak SSH.
  [ -n "${NB_E2E_SSH:-}" ] && opts+=",ssh=$NB_E2E_SSH"
  [ -n "$extra" ] && opts+=",$extra"
  "$NBFS" -o "$opts" "$(id -un)@127.0.0.1:$port:$REMOTE" "$MNT" || fail "nbfs mount failed"
  E2E_MOUNTS+=("$MNT")
  mountpoint -q "$MNT" || fail "$MNT is not a mount point"
  NBFS_PID=$(cat "$cache/lock")
  log "mounted (pid $NBFS_PID, cache $cache)"
}

# mount_local [CACHE] [EXTRA_OPTS]: mount $REMOTE with the local transport.
mount_local() {
  local cache=${1:-$CACHE} extra=${2:-}
  local opts="cache=$cache,delay=${NB_DELAY:-0.3},debug"
  [ -n "$extra" ] && opts+=",$extra"
  "$NBFS" -o "$opts" "local:$REMOTE" "$MNT" || fail "nbfs mount failed"
  E2E_MOUNTS+=("$MNT")
  NBFS_PID=$(cat "$cache/lock")
}

# as_nobody COMMAND...: run as nobody:nogroup, no other groups (with
# ASan's options pointing at a suppressions file nobody may read).
as_nobody() {
  setpriv --reuid=nobody --regid=nogroup --clear-groups env HOME=/nonexistent \
    ${NB_ASAN_OPTIONS:+ASAN_OPTIONS=$NB_ASAN_OPTIONS} "$@"
}

# mount_nobody [EXTRA_OPTS]: a mount of nobody's own, as a user makes one
# (nbfs and nbfs-server run as nobody, the local transport), at
# $WORK/user/mnt over $WORK/user/remote; sets NB_U to $WORK/user, whose
# bin/ holds copies of nbfs, nbfs-server and nbfs-posixcheck nobody may
# run. Unmounted by the cleanup like every mount.
mount_nobody() {
  local extra=${1:-}
  NB_U=$WORK/user
  mkdir -p "$NB_U/bin" "$NB_U/mnt" "$NB_U/remote" "$NB_U/cache"
  cp "$NBFS" "$NB_U/bin/"
  # Under the sanitizers nbfs-server is a script that puts their options
  # back for sshd's cleared environment (tests/run-sanitizers.sh): nobody
  # gets the binary it runs, and the options from this environment.
  local server=$NBFS_SERVER
  if [ "$(head -c 2 "$server")" = "#!" ]; then
    server=$(sed -n "s/.* exec '\([^']*\)'.*/\1/p" "$server")
    [ -x "$server" ] || fail "no server binary behind $NBFS_SERVER"
  fi
  cp "$server" "$NB_U/bin/nbfs-server"
  local supp
  supp=$(printf '%s' "${ASAN_OPTIONS:-}" | sed -n 's/.*suppressions=\([^:]*\).*/\1/p')
  if [ -n "$supp" ]; then
    cp "$supp" "$NB_U/asan.supp"
    NB_ASAN_OPTIONS=${ASAN_OPTIONS/suppressions=$supp/suppressions=$NB_U/asan.supp}
  fi
  [ -x "$BUILD/nbfs-posixcheck" ] && cp "$BUILD/nbfs-posixcheck" "$NB_U/bin/"
  chmod 755 "$NB_U" "$NB_U/bin" "$NB_U/bin/"*
  chown nobody:nogroup "$NB_U/mnt" "$NB_U/remote" "$NB_U/cache"
  # Debian's udev rule makes /dev/fuse 0666 (users mount through it); a
  # machine without udev (some VMs, containers) may have it 0600.
  if [ "$(stat -c %a /dev/fuse)" != 666 ]; then
    log "/dev/fuse is $(stat -c %a /dev/fuse): made 0666, as Debian's udev rule makes it"
    chmod 666 /dev/fuse || fail "chmod 666 /dev/fuse"
  fi
  local opts="cache=$NB_U/cache,server=$NB_U/bin/nbfs-server,delay=${NB_DELAY:-0.3}"
  [ -n "$extra" ] && opts+=",$extra"
  as_nobody "$NB_U/bin/nbfs" -o "$opts" "local:$NB_U/remote" "$NB_U/mnt" || fail "nobody could not mount"
  E2E_MOUNTS+=("$NB_U/mnt")
  log "mounted by nobody on $NB_U/mnt"
}

# umount_nbfs: a clean unmount; waits for the process to exit.
umount_nbfs() {
  local pid=${NBFS_PID:-}
  fusermount3 -u "$MNT" || fail "unmount failed"
  [ -n "$pid" ] && { wait_until 30 bash -c "! kill -0 $pid 2>/dev/null" || fail "nbfs did not exit after unmount"; }
}

# umount_nbfs_busy TRIES: umount_nbfs while something looks into the
# mount now and then (a status follower): an unmount that lands while a
# call of theirs is inside answers EBUSY, as it does for any process,
# and is run again, as a user would (README, "Unmounting"), up to TRIES
# times 100 ms apart. Something that holds the mount for good still
# fails it.
umount_nbfs_busy() {
  local tries=$1 pid=${NBFS_PID:-} i
  for ((i = 1; ; i++)); do
    fusermount3 -u "$MNT" 2>"$WORK/umount.err" && break
    grep -q "busy" "$WORK/umount.err" && [ "$i" -lt "$tries" ] ||
      fail "unmount failed (try $i of $tries): $(cat "$WORK/umount.err")"
    log "unmount: busy at try $i ($(cat "$WORK/umount.err")); again"
    sleep 0.1
  done
  [ -n "$pid" ] && { wait_until 30 bash -c "! kill -0 $pid 2>/dev/null" || fail "nbfs did not exit after unmount"; }
}

# kill_nbfs: SIGKILL, as a crash would; clears the dead mount.
kill_nbfs() {
  kill -9 "$NBFS_PID" 2>/dev/null
  wait_until 10 bash -c "! kill -0 $NBFS_PID 2>/dev/null" || fail "nbfs survived SIGKILL"
  fusermount3 -u -z "$MNT" 2>/dev/null
  wait_until 10 bash -c "! mountpoint -q '$MNT'" || fail "dead mount did not go away"
}

state_of() { getfattr --only-values -n user.nbfs.state "$1" 2>/dev/null; }

# nbfs_wait SECONDS PATH...: nbfs wait with a timeout.
nbfs_wait() {
  local secs=$1
  shift
  "$NBFS" wait --timeout "$secs" "$@" || fail "nbfs wait failed for $*"
}

# wait_hashed CACHE NAME...: the mount with cache CACHE has the MD5 of
# each file NAME (at the mount's root) from following its writes. Then
# an upload that starts is offered by that MD5 (PUT_OPEN) and meets a
# partial kept under it, instead of streaming under a key of its own,
# as a file closed before its MD5 is known does.
wait_hashed() {
  local cache=$1 name
  shift
  for name in "$@"; do
    wait_until 30 grep -qF " $name: MD5 computed as it was written" "$cache/nbfs.log" ||
      fail "$cache: no MD5 of $name from following its writes"
  done
}

# no_partials: the server's partial directory holds nothing.
no_partials() {
  local n
  n=$(find "$REMOTE/.nbfs/partial" -type f 2>/dev/null | wc -l)
  [ "$n" -eq 0 ] || fail "$n partial files left on the server: $(ls "$REMOTE/.nbfs/partial")"
}

# partial_size: bytes in the server's partial files.
partial_size() {
  local s=0 f
  for f in "$REMOTE"/.nbfs/partial/*; do
    [ -f "$f" ] && s=$((s + $(stat -c %s "$f")))
  done
  echo $s
}

pass() { log "PASS: $*"; }

# skip REASON: the test cannot run here. Exit status 77, which run.sh
# counts as skipped, neither passed nor failed.
skip() {
  log "SKIPPED: $*"
  exit 77
}

# random_file PATH BYTES: incompressible content, fast (AES-CTR keystream).
random_file() {
  openssl enc -aes-128-ctr -nosalt -pass "pass:$RANDOM$RANDOM$1" -in /dev/zero 2>/dev/null |
    head -c "$2" >"$1"
}
