#!/usr/bin/env bash
# ssh=openssh: nbfs runs the installed ssh client instead of libssh2.
#  - files large and small arrive whole through it, and a link that
#    stalls in mid-upload is noticed (timeout) and the upload resumes;
#  - a host key ssh does not know is refused at mount, with ssh's words,
#    and nothing is retried or mounted;
#  - a host that ssh's configuration reaches through a ProxyJump gets
#    ssh by itself (libssh2 would dial the host directly), and
#    ssh=libssh2 for it is refused with the reason.
. "$(dirname "$0")/lib.sh"
e2e_init openssh
start_sshd
mb=$((1024 * 1024))

# --- through ssh, with a stall in the middle of a 40 MiB upload
size=$((40 * mb))
start_proxy --cut-after $((size / 2)) --cut-mode stall --rate 20000000
mount_nbfs "$PROXY_PORT" "$CACHE" "ssh=openssh,timeout=4"
grep -q "connecting through the OpenSSH client" "$CACHE/nbfs.log" || fail "the log does not say ssh is used"
pgrep -P "$NBFS_PID" -x ssh >/dev/null || fail "no ssh process under nbfs"
random_file "$WORK/big.bin" $size
mkdir -p "$WORK/small"
for i in $(seq 1 40); do random_file "$WORK/small/f$i" $((i * 977)); done
cp "$WORK/big.bin" "$MNT/" || fail "cp big"
cp -r "$WORK/small" "$MNT/" || fail "cp small"
nbfs_wait 120 "$MNT/big.bin" "$MNT/small"
cmp "$WORK/big.bin" "$REMOTE/big.bin" || fail "big.bin differs on the server"
diff -r "$WORK/small" "$REMOTE/small" || fail "the small files differ on the server"
no_partials
[ "$(proxy_stat cuts)" -ge 1 ] || fail "the proxy never stalled the link"
[ "$(proxy_stat connections)" -ge 2 ] || fail "nbfs did not reconnect after the stall"
grep -q "resuming at [1-9]" "$CACHE/nbfs.log" || fail "the upload started over instead of resuming"
umount_nbfs
pgrep -f "ssh -v .*-p$PROXY_PORT" >/dev/null && fail "ssh outlived the unmount"
log "40 MiB and 40 small files through ssh; the stall was noticed and the upload resumed"

# --- an unknown host key: refused at mount, with ssh's reason
: >"$WORK/empty_known_hosts"
opts="identity=$WORK/client_key,known_hosts=$WORK/empty_known_hosts,cache=$WORK/cache2,server=$NBFS_SERVER,ssh=openssh"
start=$(date +%s)
if "$NBFS" -o "$opts" "$(id -un)@127.0.0.1:$SSHD_PORT:$REMOTE" "$MNT" 2>"$WORK/err1"; then
  E2E_MOUNTS+=("$MNT")
  fail "mounted although the host key is unknown"
fi
grep -q "REFUSED: the host \[127.0.0.1\]:$SSHD_PORT is not in $WORK/empty_known_hosts" "$WORK/err1" &&
  grep -q "accept_new_host" "$WORK/err1" &&
  grep -q "$(ssh-keygen -lf "$WORK/host_key.pub" | cut -d' ' -f2)" "$WORK/err1" ||
  fail "the refusal does not give ssh's reason: $(cat "$WORK/err1")"
[ $(($(date +%s) - start)) -lt 20 ] || fail "the refusal took more than 20 s (retried?)"
mountpoint -q "$MNT" && fail "mounted anyway"
log "unknown host key refused: $(head -c 300 "$WORK/err1" | tr '\n' ' ')"

# --- ProxyJump from ssh's configuration: ssh is chosen by itself
cat >"$WORK/ssh_config" <<CFG
Host nbfs-gate
  HostName 127.0.0.1
  Port $SSHD_PORT
  User $(id -un)
  IdentityFile $WORK/client_key
  UserKnownHostsFile $KNOWN_HOSTS
Host nbfs-behind
  HostName 127.0.0.1
  Port $SSHD_PORT
  User $(id -un)
  IdentityFile $WORK/client_key
  UserKnownHostsFile $KNOWN_HOSTS
  ProxyJump nbfs-gate
CFG
opts="ssh_config=$WORK/ssh_config,cache=$WORK/cache3,server=$NBFS_SERVER,delay=0.3,debug"
if "$NBFS" -o "$opts,ssh=libssh2" "nbfs-behind:$REMOTE" "$MNT" 2>"$WORK/err2"; then
  E2E_MOUNTS+=("$MNT")
  fail "ssh=libssh2 mounted a host behind a ProxyJump"
fi
grep -q "ProxyJump nbfs-gate" "$WORK/err2" && grep -q "drop ssh=libssh2" "$WORK/err2" ||
  fail "unhelpful refusal of ssh=libssh2: $(cat "$WORK/err2")"
accepted_before=$(grep -c "Accepted publickey" "$WORK/sshd.log")
"$NBFS" -o "$opts" "nbfs-behind:$REMOTE" "$MNT" || fail "the mount through the ProxyJump failed"
E2E_MOUNTS+=("$MNT")
NBFS_PID=$(cat "$WORK/cache3/lock")
grep -q "connecting through the OpenSSH client (ProxyJump nbfs-gate)" "$WORK/cache3/nbfs.log" ||
  fail "the log does not say why ssh was chosen"
echo "behind the gate" >"$MNT/jumped.txt"
nbfs_wait 60 "$MNT/jumped.txt"
[ "$(cat "$REMOTE/jumped.txt")" = "behind the gate" ] || fail "jumped.txt did not arrive"
# Each connection through the gate logs in twice: at the gate, then at
# the host behind it (the same sshd here).
accepted=$(($(grep -c "Accepted publickey" "$WORK/sshd.log") - accepted_before))
[ "$accepted" -ge 2 ] || fail "the connection did not go through the gate ($accepted logins)"
umount_nbfs
pass "ssh=openssh: upload with a stall resumed, unknown host refused, ProxyJump followed"
