#!/usr/bin/env bash
# A Host alias of an ssh configuration reaches the server: nbfs asks
# `ssh -F FILE -G ALIAS` (-o ssh_config=FILE) for the host name, port,
# user, key, known_hosts file and compression. Options given to nbfs win
# over the file; without an ssh client nbfs goes on with the name as it
# is; -o compress shrinks what crosses the wire for compressible data.
# e2e: no-tsan: how the ssh configuration is read
. "$(dirname "$0")/lib.sh"
e2e_init ssh_config
start_sshd
start_proxy
user=$(id -un)

cat >"$WORK/ssh_config" <<CFG
Host nbfs-alias
  HostName 127.0.0.1
  Port $PROXY_PORT
  User $user
  IdentityFile $WORK/client_key
  UserKnownHostsFile $KNOWN_HOSTS
  Compression yes
Host nbfs-plain
  HostName 127.0.0.1
  Port $PROXY_PORT
  User $user
  IdentityFile $WORK/client_key
  UserKnownHostsFile $KNOWN_HOSTS
CFG
chmod 600 "$WORK/ssh_config"
base="server=$NBFS_SERVER,delay=0.3,debug,ssh_config=$WORK/ssh_config"

# mount_alias REMOTE CACHE [OPTS]: mount through the ssh config alone.
mount_alias() {
  "$NBFS" -o "$base,cache=$2${3:+,$3}" "$1" "$MNT" || fail "mount of $1 failed"
  E2E_MOUNTS+=("$MNT")
  NBFS_PID=$(cat "$2/lock")
}

# upload_cost NAME: bytes through the proxy for 16 MiB of zeros.
upload_cost() {
  local before after
  before=$(proxy_stat_settled up)
  head -c $((16 * 1024 * 1024)) /dev/zero >"$MNT/$1"
  nbfs_wait 60 "$MNT/$1"
  after=$(proxy_stat_settled up)
  cmp -n $((16 * 1024 * 1024)) /dev/zero "$REMOTE/$1" || fail "$1 differs on the server"
  echo $((after - before))
}

mount_alias "nbfs-alias:$REMOTE" "$WORK/cache1"
[ "$(proxy_stat connections)" -ge 1 ] || fail "did not go through the alias's port"
compressed=$(upload_cost zeros1)
umount_nbfs
log "16 MiB of zeros with Compression yes: $compressed bytes on the wire"

mount_alias "nbfs-plain:$REMOTE" "$WORK/cache2"
plain=$(upload_cost zeros2)
log "16 MiB of zeros without compression: $plain bytes on the wire"
[ "$plain" -gt $((16 * 1024 * 1024)) ] || fail "uncompressed upload took only $plain bytes"
[ "$compressed" -lt $((plain / 8)) ] || fail "compression: $compressed bytes against $plain"
umount_nbfs

# An identity in nbfs's config file is tried first, not alone: the
# alias's IdentityFile still logs in (contrib/demo.sh writes such a
# file, and CI once failed here on a machine where the demo had run).
# The order is libssh2's to keep (ssh puts -i keys first itself).
ssh-keygen -q -t ed25519 -N '' -f "$WORK/config_key"
mkdir -p "$XDG_CONFIG_HOME/nbfs"
printf 'identity = %s\n' "$WORK/config_key" >"$XDG_CONFIG_HOME/nbfs/config"
mount_alias "nbfs-plain:$REMOTE" "$WORK/cache8" ssh=libssh2 2>"$WORK/err"
cat "$WORK/err" >&2
grep -q "key $WORK/config_key not accepted" "$WORK/err" ||
  fail "the config file's identity was not tried first"
umount_nbfs
rm "$XDG_CONFIG_HOME/nbfs/config"

# -o compress on the command line, for an alias without it.
mount_alias "nbfs-plain:$REMOTE" "$WORK/cache3" compress
forced=$(upload_cost zeros3)
[ "$forced" -lt $((plain / 8)) ] || fail "-o compress: $forced bytes against $plain"
umount_nbfs

# Explicit options win: -o port= goes around the proxy, -o identity= is
# the only key tried (through libssh2; ssh adds the alias's IdentityFile
# after it, and nothing can take that away on its command line).
conns=$(proxy_stat connections)
mount_alias "nbfs-alias:$REMOTE" "$WORK/cache4" "port=$SSHD_PORT,known_hosts=$KNOWN_HOSTS"
[ "$(proxy_stat connections)" = "$conns" ] || fail "-o port did not win over the ssh config's Port"
umount_nbfs
ssh-keygen -q -t ed25519 -N '' -f "$WORK/stranger_key"
if "$NBFS" -o "$base,cache=$WORK/cache5,identity=$WORK/stranger_key,ssh=libssh2" "nbfs-alias:$REMOTE" "$MNT" 2>"$WORK/err"; then
  E2E_MOUNTS+=("$MNT")
  fail "mounted with a key that is not authorised"
fi
grep -q "stranger_key" "$WORK/err" && ! grep -q "client_key" "$WORK/err" ||
  fail "-o identity did not win over IdentityFile: $(cat "$WORK/err")"

# A configuration ssh refuses is an error that names it.
printf 'Host *\n  NoSuchKeyword yes\n' >"$WORK/bad_config"
if "$NBFS" -o "cache=$WORK/cache6,ssh_config=$WORK/bad_config" "nbfs-alias:$REMOTE" "$MNT" 2>"$WORK/err"; then
  E2E_MOUNTS+=("$MNT")
  fail "mounted with a broken ssh config"
fi
grep -q "ssh_config $WORK/bad_config" "$WORK/err" && grep -qi "bad configuration\|NoSuchKeyword" "$WORK/err" ||
  fail "unhelpful message for a broken ssh config: $(cat "$WORK/err")"

# No ssh client: the host is taken as it is (and the alias means nothing).
mkdir -p "$WORK/empty_path"
PATH=$WORK/empty_path "$NBFS" -o "debug,server=$NBFS_SERVER,cache=$WORK/cache7,identity=$WORK/client_key,known_hosts=$KNOWN_HOSTS" \
  "$user@127.0.0.1:$SSHD_PORT:$REMOTE" "$MNT" 2>"$WORK/err" || fail "no mount without an ssh client: $(cat "$WORK/err")"
E2E_MOUNTS+=("$MNT")
NBFS_PID=$(cat "$WORK/cache7/lock")
wait_until 20 test -f "$MNT/zeros1" || fail "mount without an ssh client does not list the server's files"
umount_nbfs
grep -q "connecting through libssh2" "$WORK/cache7/nbfs.log" || fail "without an ssh client nbfs did not fall back to libssh2"
pass "ssh config alias, explicit options win, compression, no ssh client"
