#!/usr/bin/env bash
# A mount in the background logs to syslog (the journal, under systemd)
# as well as to <cache>/nbfs.log; in the foreground (-f) only to stderr.
# The test runs in a private mount namespace whose /dev is a tmpfs with
# the few devices needed, so that its own listener can be /dev/log
# without touching the machine's.
# e2e: no-tsan: where log lines go
if [ -z "${NB_IN_NAMESPACE:-}" ]; then
  exec unshare -m --propagation private env NB_IN_NAMESPACE=1 bash "$0" "$@"
fi
. "$(dirname "$0")/lib.sh"
e2e_init syslog
mkdir -p "$WORK/olddev"
mount --bind /dev "$WORK/olddev" && mount -t tmpfs nbfs-test-dev /dev || fail "cannot set up a private /dev"
for n in null zero urandom random tty fuse; do
  touch "/dev/$n" && mount --bind "$WORK/olddev/$n" "/dev/$n" || fail "cannot bind /dev/$n"
done
ln -s /proc/self/fd /dev/fd
umount -l "$WORK/olddev"

# The syslog listener: every datagram on /dev/log, one per line.
/usr/bin/python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind("/dev/log")
with open(sys.argv[1], "ab", buffering=0) as out:
    while True:
        out.write(s.recv(65536) + b"\n")
' "$WORK/syslog" &
E2E_PIDS+=($!)
wait_until 10 test -S /dev/log || fail "the syslog listener did not start"

mount_local "$CACHE"
pid=$NBFS_PID
echo hello >"$MNT/hello.txt"
nbfs_wait 30 "$MNT/hello.txt"
umount_nbfs
wait_until 10 grep -q "unmounting" "$WORK/syslog" || fail "no unmount line in syslog: $(cat "$WORK/syslog")"
# <daemon.info> is <30>; each line names nbfs and its pid.
grep -q "^<30>.*nbfs\[$pid\]: nb_cli_mount: mounted local:$REMOTE on $MNT" "$WORK/syslog" ||
  fail "no mount line in syslog: $(cat "$WORK/syslog")"
grep -q "nb_cli_mount: mounted local:$REMOTE" "$CACHE/nbfs.log" || fail "nbfs.log lost its lines"

# In the foreground, the log goes to stderr and not to syslog.
: >"$WORK/syslog"
"$NBFS" -f -o "cache=$WORK/cache_fg,debug" "local:$REMOTE" "$MNT" 2>"$WORK/fg.err" &
fg=$!
E2E_PIDS+=($fg)
E2E_MOUNTS+=("$MNT")
wait_until 10 mountpoint -q "$MNT" || fail "no foreground mount"
fusermount3 -u "$MNT"
wait_until 10 bash -c "! kill -0 $fg 2>/dev/null" || fail "foreground nbfs did not exit"
grep -q "nb_cli_mount: mounted" "$WORK/fg.err" || fail "foreground stderr: $(cat "$WORK/fg.err")"
[ ! -s "$WORK/syslog" ] || fail "the foreground mount wrote to syslog: $(cat "$WORK/syslog")"
pass "background mounts log to syslog and nbfs.log, foreground ones to stderr"
