#!/usr/bin/env bash
# Scriptable status and the summary line: `nbfs status --json` and
# `nbfs status --follow [--json]`, parsed with python3's json module and
# checked against what really happens (a file held back while the
# server is away shows as pending with its real size; once back, the
# follower reports it synced; a name with quotes, control bytes and a
# non-UTF-8 byte comes out as valid JSON with its exact bytes in hex),
# followers end cleanly (unmount, SIGINT, a reader that goes away), and
# `nbfs status -w` in a real 80-column terminal (tmux) starts with the
# summary line and keeps every line within 80 columns.
# e2e: no-tsan: one sync thread moving two files; the threads are raced by the other tests
. "$(dirname "$0")/lib.sh"
e2e_init status_json
command -v python3 >/dev/null || skip "python3 missing (contrib/install-deps.sh)"
command -v tmux >/dev/null || skip "tmux missing (contrib/install-deps.sh)"
start_sshd
start_proxy
mount_nbfs "$PROXY_PORT"
PY=$WORK/check.py
SIZE=$((3 * 1024 * 1024 + 17))
# A name with a quote, a backslash, a newline, a tab and a byte that is
# not UTF-8; its bytes in hex, as path_hex must show them.
WEIRD=$'we"ird\\\n\t\xffname.txt'
WEIRD_HEX=$(printf '%s' "$WEIRD" | od -An -tx1 | tr -d ' \n')

# Followers, started before anything happens (once the mount has
# connected: it may return before that): JSON lines and text.
connected() { "$NBFS" status --json "$MNT" | python3 -c 'import json,sys; sys.exit(json.load(sys.stdin)["connection"] != "connected")'; }
wait_until 15 connected || fail "status --json never said connected: $("$NBFS" status --json "$MNT")"
"$NBFS" status --follow --json "$MNT" >"$WORK/follow.jsonl" 2>"$WORK/follow.err" &
FOLLOW_JSON=$!
E2E_PIDS+=("$FOLLOW_JSON")
"$NBFS" status --follow "$MNT" >"$WORK/follow.txt" 2>&1 &
FOLLOW_TEXT=$!
E2E_PIDS+=("$FOLLOW_TEXT")
# Each has written its first event (the connection) before the cut.
wait_until 10 test -s "$WORK/follow.jsonl" -a -s "$WORK/follow.txt" || fail "the followers wrote nothing"

# The server goes away: the proxy refuses, and cuts what it carries.
kill -USR2 "$PROXY_PID"
kill -USR1 "$PROXY_PID"
offline() { "$NBFS" status --json "$MNT" | python3 -c 'import json,sys; sys.exit(json.load(sys.stdin)["connection"] != "offline")'; }
wait_until 15 offline || fail "status --json never said offline: $("$NBFS" status --json "$MNT")"

random_file "$WORK/held.bin" $SIZE
cp "$WORK/held.bin" "$MNT/held.bin" || fail "cp"
printf 'odd\n' >"$MNT/$WEIRD" || fail "writing the odd name"
sleep 1 # older than 0 s, for the ages

# 1. --json: one object that python parses, with the real numbers.
"$NBFS" status --json "$MNT" >"$WORK/status.json" || fail "status --json failed"
[ "$(wc -l <"$WORK/status.json")" -eq 1 ] || fail "status --json is not one line"
cat >"$PY" <<'EOF'
import json, os, sys
size, weird_hex = int(sys.argv[2]), sys.argv[3]
raw = open(sys.argv[1], "rb").read()
s = json.loads(raw.decode("utf-8"))      # strict UTF-8: no raw bytes slipped out
def need(cond, what):
    if not cond:
        sys.exit("status --json: %s\n%s" % (what, json.dumps(s, indent=1)))
need(s["version"] == 1, "version")
need(s["connection"] == "offline" and s["detail"], "connection offline, with the reason")
need(s["cache"]["used"] >= size, "cache used")
by = {e["path"]: e for e in s["entries"]}
h = by.get("held.bin")
need(h is not None, "held.bin listed")
need(h["op"] == "upload" and h["state"] == "pending", "held.bin pending upload")
need(h["total"] == size and h["done"] == 0, "held.bin total %d" % size)
need(h["rate"] == 0 and h["eta"] is None, "held.bin: no rate, no ETA")
need(h["age"] >= 1 and "path_hex" not in h, "held.bin age, no path_hex")
w = [e for e in s["entries"] if e.get("path_hex") == weird_hex]
need(len(w) == 1, "the odd name, with its bytes in path_hex")
need(w[0]["path"] == 'we"ird\\\n\t\ufffdname.txt', "the odd name's string")
need(w[0]["total"] == 4, "the odd file's size")
t = s["totals"]
need(t["entries"] == len(s["entries"]) == 2 and t["files"] == 2, "totals: 2 entries")
need(t["total"] == size + 4 and t["done"] == 0, "totals: bytes")
need(t["eta"] is None and t["oldest_age"] >= 1 and t["unlisted"] == 0, "totals: eta, age")
EOF
python3 "$PY" "$WORK/status.json" $SIZE "$WEIRD_HEX" || fail "status --json does not match reality"
log "status --json: $(cut -c1-300 "$WORK/status.json")..."

# 2. -w in a real terminal: 80 columns, the summary on top.
TMUX_SOCK=nbfs-e2e-$$
E2E_CLEANUP+=("tmux -L $TMUX_SOCK kill-server 2>/dev/null")
TERM=xterm tmux -L "$TMUX_SOCK" -f /dev/null new-session -d -x 80 -y 24 \
  "$NBFS status -w '$MNT'; sleep 60" || fail "tmux did not start"
pane() { tmux -L "$TMUX_SOCK" capture-pane -p -t 0 >"$WORK/pane.txt" 2>/dev/null; }
# Drawn whole: the summary line and the bar under it (a capture may
# fall between the two writes of one redraw).
drawn() { pane && grep -q '^to sync: 2 files' "$WORK/pane.txt" && grep -q '0%|.*held.bin' "$WORK/pane.txt"; }
wait_until 10 drawn || fail "no summary line on top: $(cat "$WORK/pane.txt")"
cp "$WORK/pane.txt" "$WORK/pane-offline.txt"
head -1 "$WORK/pane.txt" | grep -q 'OFFLINE' || fail "the summary does not say OFFLINE: $(head -1 "$WORK/pane.txt")"
head -1 "$WORK/pane.txt" | grep -qE '3\.0 MiB .* oldest [0-9]+s' || fail "summary: $(head -1 "$WORK/pane.txt")"
grep -q '0%|.*held.bin' "$WORK/pane.txt" || fail "no bar for held.bin: $(cat "$WORK/pane.txt")"
wide=$(python3 -c 'import sys; print(max(len(l) for l in open(sys.argv[1], encoding="utf-8", errors="replace").read().splitlines()))' "$WORK/pane.txt")
[ "$wide" -le 80 ] || fail "a line of $wide columns"
log "nbfs status -w, offline:"
sed -n '1,8p' "$WORK/pane.txt"

# 3. Back online: it syncs, and the followers say so.
kill -USR2 "$PROXY_PID"
nbfs_wait 25 "$MNT"
cmp "$WORK/held.bin" "$REMOTE/held.bin" || fail "held.bin differs on the server"
synced_seen() { grep -q '"event":"synced".*"path":"held.bin"' "$WORK/follow.jsonl"; }
wait_until 5 synced_seen || fail "--follow --json did not report held.bin synced: $(cat "$WORK/follow.jsonl")"
wait_until 5 grep -qE ' synced +held.bin$' "$WORK/follow.txt" || fail "--follow did not report held.bin synced: $(cat "$WORK/follow.txt")"
all_synced() { pane && head -1 "$WORK/pane.txt" | grep -q '^all synced | online'; }
wait_until 5 all_synced || fail "-w does not show all synced: $(cat "$WORK/pane.txt")"
"$NBFS" status --json "$MNT" | python3 -c '
import json, sys
s = json.load(sys.stdin)
assert s["connection"] == "connected" and s["entries"] == [], s
assert s["totals"]["entries"] == 0 and s["totals"]["total"] == 0, s' || fail "status --json after the sync"

# 4. Followers end cleanly: one on SIGINT, one whose reader went away,
# the first two when the mount goes away.
"$NBFS" status --follow "$MNT" >/dev/null &
pid=$!
sleep 0.5
kill -INT $pid
wait_until 5 bash -c "! kill -0 $pid 2>/dev/null" || fail "--follow ignored SIGINT"
wait $pid || fail "--follow exited with $? on SIGINT"
timeout 10 bash -c "'$NBFS' status --follow --json '$MNT' | head -n 1 >'$WORK/head.out'; exit \${PIPESTATUS[0]}" ||
  fail "--follow did not end when its reader went away (status $?)"
grep -q '"event":"connection"' "$WORK/head.out" || fail "first event: $(cat "$WORK/head.out")"
# Two followers look into the mount four times a second (two getxattr
# calls each) and -w once a second: the unmount may meet one of those
# calls, and is run again then. One that kept the mount busy would fail
# all five tries.
umount_nbfs_busy 5
wait_until 5 bash -c "! kill -0 $FOLLOW_JSON 2>/dev/null && ! kill -0 $FOLLOW_TEXT 2>/dev/null" ||
  fail "--follow still runs after the unmount"
wait $FOLLOW_JSON || fail "--follow --json exited with $?: $(cat "$WORK/follow.err")"
wait $FOLLOW_TEXT || fail "--follow exited with $?"
tail -1 "$WORK/follow.txt" | grep -q ' unmounted ' || fail "text follower's last line: $(tail -1 "$WORK/follow.txt")"

# 5. The whole JSON stream, in order.
cat >"$PY" <<'EOF'
import json, sys
size, weird_hex = int(sys.argv[2]), sys.argv[3]
ev = [json.loads(l) for l in open(sys.argv[1], "rb").read().decode("utf-8").splitlines()]
def need(cond, what):
    if not cond:
        sys.exit("--follow --json: %s\n%s" % (what, "\n".join(json.dumps(e) for e in ev)))
need(all(e["version"] == 1 and isinstance(e["time"], int) for e in ev), "version and time on each")
names = [e["event"] for e in ev]
need(names[0] == "connection" and ev[0]["connection"] == "connected", "starts with the connection")
need(names[-1] == "unmounted", "ends with unmounted")
def first(pred, what):
    for i, e in enumerate(ev):
        if pred(e):
            return i
    need(False, what)
off = first(lambda e: e["event"] == "connection" and e["connection"] == "offline", "offline event")
q = first(lambda e: e["event"] == "queued" and e["path"] == "held.bin", "held.bin queued")
on = first(lambda e: e["event"] == "connection" and e["connection"] == "connected" and ev.index(e) > off, "back online")
syn = first(lambda e: e["event"] == "synced" and e["path"] == "held.bin", "held.bin synced")
need(off < q < on < syn, "order: offline, queued, online, synced (%d %d %d %d)" % (off, q, on, syn))
need(ev[q]["state"] == "pending" and ev[q]["op"] == "upload", "queued as a pending upload")
need(ev[syn]["state"] == "synced" and ev[syn]["done"] == ev[syn]["total"] == size, "synced with its size")
first(lambda e: e["event"] == "synced" and e.get("path_hex") == weird_hex, "the odd name synced, in hex")
need(not [e for e in ev if e["event"] in ("missed", "dropped")], "nothing missed or dropped")
EOF
python3 "$PY" "$WORK/follow.jsonl" $SIZE "$WEIRD_HEX" || fail "the --follow --json stream"
log "--follow --json wrote $(wc -l <"$WORK/follow.jsonl") events; text follower:"
cat "$WORK/follow.txt"
pass "status --json and --follow match reality; -w draws a summary within 80 columns"
