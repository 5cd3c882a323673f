#!/usr/bin/env python3
"""CPU-seconds spent by processes of the given names while this runs.

proc_cpu.py NAME[,NAME...]: samples /proc/PID/stat every 50 ms until
SIGTERM or SIGINT, then prints one line per name with the CPU-seconds
(user + system) its processes spent since they were first seen. A
process that ends between two samples loses at most its last 50 ms.
"""
import os
import signal
import sys
import time

names = set(sys.argv[1].split(","))
tick = os.sysconf("SC_CLK_TCK")
first, last = {}, {}
stop = False


def on_stop(*_):
    global stop
    stop = True


signal.signal(signal.SIGTERM, on_stop)
signal.signal(signal.SIGINT, on_stop)
while not stop:
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/stat") as f:
                s = f.read()
        except OSError:
            continue
        comm = s[s.index("(") + 1 : s.rindex(")")]
        if comm not in names:
            continue
        fields = s[s.rindex(")") + 2 :].split()
        cpu = (int(fields[11]) + int(fields[12])) / tick
        first.setdefault(pid, cpu)
        last[pid] = (comm, cpu)
    time.sleep(0.05)
total = {n: 0.0 for n in names}
for pid, (comm, cpu) in last.items():
    total[comm] += cpu - first[pid]
for n in sorted(total):
    print(f"{n:14s} {total[n]:6.2f}")
