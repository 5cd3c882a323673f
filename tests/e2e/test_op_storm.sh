#!/usr/bin/env bash
# Random namespace operations race the sync thread, checked against a
# model. Every operation (write, append, truncate, chmod, mkdir, rmdir,
# unlink, rename of files and directories, over files and into other
# directories) runs on a plain local directory (the model) and on the
# mount, with delay=0 so the sync thread publishes, renames and deletes
# on the server while the next operations arrive. The two must agree:
# - each operation succeeds on the mount exactly when it succeeds on the
#   model;
# - every few operations, the mount's tree (names, types, sizes, modes,
#   contents) equals the model's (the view stays consistent while the
#   server catches up);
# - halfway (and every KILL_EVERY operations, if set), nbfs is killed
#   with SIGKILL and mounted again on the same cache: what had returned
#   must still be there;
# - network faults, by FAULT (default cut):
#   cut:   the test proxy cuts the connection every CUT_EVERY (default
#          50) operations, so queued operations are replayed over a new
#          one (cuts found the lost-answer conflicts described in
#          docs/DESIGN.md, "Conflicts");
#   stall: every CUT_EVERY operations the proxy stops forwarding both ways
#          with the sockets left open (a silent stall: nbfs notices by its
#          timeout, 5 s here), and nbfs-server is killed (SIGKILL) at a
#          quarter and at three quarters of the run;
#   none:  no fault but the SIGKILL of nbfs;
# - at the end, after nbfs wait, the server's tree equals the model's
#   (no partial or temporary file published under a real name; partial
#   files of content abandoned at the SIGKILL may stay in .nbfs until the
#   stale sweep, by design).
# OPS (default 500) operations; SEED (default: random, printed) makes a
# failing run repeatable. tests/e2e/test_op_storm_stall.sh is FAULT=stall.
. "$(dirname "$0")/lib.sh"
FAULT=${FAULT:-cut}
OPS=${OPS:-500}
CUT_EVERY=${CUT_EVERY:-50}
KILL_EVERY=${KILL_EVERY:-0}
SEED=${SEED:-$((RANDOM * 32768 + RANDOM))}
e2e_init "op_storm_$FAULT"
start_sshd
MOUNT_OPTS=
case $FAULT in
  cut) start_proxy ;;
  stall)
    start_proxy --cut-mode stall --stall-seconds 600
    MOUNT_OPTS=timeout=5 ;;
  none) start_proxy; CUT_EVERY=0 ;;
  *) fail "FAULT=$FAULT: cut, stall or none" ;;
esac
storm_mount() { NB_DELAY=0 mount_nbfs "$PROXY_PORT" "$CACHE" "$MOUNT_OPTS"; }
storm_mount
# The server side dies at these operations (stall only), or at the first
# one after with a server running (none runs while nbfs reconnects).
server_kills=()
[ "$FAULT" = stall ] && server_kills=($((OPS / 4)) $((OPS * 3 / 4)))
killed_servers=0
kill_server_due() {
  ((killed_servers < ${#server_kills[@]} && i >= server_kills[killed_servers])) || return 0
  # Only this test's servers: the pattern holds its own work dir.
  pkill -9 -f "nbfs-server --root $REMOTE" && killed_servers=$((killed_servers + 1))
}

RANDOM=$SEED
log "seed $SEED, $OPS operations, faults: $FAULT every $CUT_EVERY"
MODEL=$WORK/model
mkdir -p "$MODEL"
DATA=$WORK/data
mkdir -p "$DATA"

# Names from small pools, so operations collide often.
dirs=(a b c)
files=(x y z w)
rand_dir() {
  case $((RANDOM % 4)) in
    0) echo "" ;;
    1) echo "${dirs[RANDOM % 3]}/" ;;
    *) echo "${dirs[RANDOM % 3]}/${dirs[RANDOM % 3]}/" ;;
  esac
}
rand_file() { echo "$(rand_dir)${files[RANDOM % 4]}"; }
rand_path() { if ((RANDOM % 3)); then rand_file; else local d; d=$(rand_dir); echo "${d}${dirs[RANDOM % 3]}"; fi; }

# Run one command on the model and on the mount (each with its own root
# as working directory); the exit statuses must agree.
both() {
  local rm rn
  printf '%(%T)T.%.3s %s: %s\n' -1 "${EPOCHREALTIME#*.}" "$i" "$*" >>"$WORK/ops.log"
  (cd "$MODEL" && "$@") >/dev/null 2>&1
  rm=$?
  (cd "$MNT" && "$@") >"$WORK/op.err" 2>&1
  rn=$?
  [ $((rm == 0)) -eq $((rn == 0)) ] ||
    fail "op $i ($*): model exit $rm, mount exit $rn: $(head -c 300 "$WORK/op.err")"
}

# The tree under $1 as "type path size mode md5" lines, sorted.
tree_of() {
  (cd "$1" && find . -path ./.nbfs -prune -o -mindepth 1 -printf '%y %p %s %m\n' | sort |
    while read -r type p size mode; do
      [ "$type" = d ] && size=0 # directory sizes are the filesystem's business
      sum=-
      [ "$type" = f ] && sum=$(md5sum <"$p" | cut -c1-32)
      echo "$type $p $size $mode $sum"
    done)
}

compare_trees() { # WHAT DIR
  tree_of "$MODEL" >"$WORK/model.tree"
  tree_of "$2" >"$WORK/other.tree"
  if ! diff "$WORK/model.tree" "$WORK/other.tree" >"$WORK/tree.diff"; then
    head -n 30 "$WORK/tree.diff"
    fail "$1 differs from the model after op $i"
  fi
}

one_op() {
  local f d p q n
  case $((RANDOM % 14)) in
    0 | 1 | 2) # write a whole file (new or over an old one), up to 192 KiB
      f=$(rand_file)
      n=$(((RANDOM % 4 == 0) ? RANDOM * 6 : RANDOM % 200))
      head -c "$n" /dev/urandom >"$DATA/blob"
      both cp "$DATA/blob" "$f" ;;
    3) # append
      f=$(rand_file)
      both sh -c "[ -f '$f' ] && echo 'line $i' >>'$f'" ;;
    4) # truncate an existing file
      f=$(rand_file)
      both sh -c "[ -f '$f' ] && truncate -s $((RANDOM % 3000)) '$f'" ;;
    5) # chmod
      f=$(rand_file)
      both chmod "$(((RANDOM % 2) ? 600 : 644))" "$f" ;;
    6 | 7) # mkdir
      d=$(rand_dir)
      both mkdir "${d}${dirs[RANDOM % 3]}" ;;
    8) # rmdir
      both rmdir "$(rand_dir)${dirs[RANDOM % 3]}" ;;
    9) # unlink
      both rm "$(rand_file)" ;;
    10 | 11) # rename a file: over a file, into another directory
      p=$(rand_file)
      q=$(rand_file)
      both mv -T "$p" "$q" ;;
    12) # rename a directory (over an empty one or into another)
      p=$(rand_path)
      q=$(rand_path)
      both mv -T "$p" "$q" ;;
    13) # the editor pattern: write a temporary file, rename it over
      f=$(rand_file)
      head -c $((RANDOM % 5000)) /dev/urandom >"$DATA/blob"
      both sh -c "[ -d \"\$(dirname '$f')\" ] && cp '$DATA/blob' '$f.tmp' && mv '$f.tmp' '$f'" ;;
  esac
}

half=$((OPS / 2))
kills=0
for ((i = 1; i <= OPS; i++)); do
  one_op
  ((CUT_EVERY > 0 && i % CUT_EVERY == CUT_EVERY / 2)) && kill -USR1 "$PROXY_PID"
  kill_server_due
  if ((i % 100 == 0)); then
    compare_trees "the mount" "$MNT"
    log "op $i: the mount agrees with the model"
  fi
  if ((i == half || (KILL_EVERY > 0 && i % KILL_EVERY == 0 && i < OPS))); then
    kills=$((kills + 1))
    kill_nbfs
    storm_mount
    compare_trees "the mount after SIGKILL and remount" "$MNT"
    log "op $i: killed nbfs and mounted again: nothing lost"
  fi
done

compare_trees "the mount" "$MNT"
((killed_servers == ${#server_kills[@]})) || fail "killed $killed_servers servers, not ${#server_kills[@]}"
nbfs_wait 180 "$MNT"
compare_trees "the server" "$REMOTE"
umount_nbfs
pass "$OPS random operations (seed $SEED, $FAULT): mount and server agree with the model, across $(proxy_stat cuts) network faults ($FAULT), $killed_servers server kills and $kills SIGKILL(s) of nbfs"
