#!/usr/bin/env python3
"""A peer of protocol 1, for the version tests: what nbfs 0.1.0 and
nbfs-server 0.1.0 said in their HELLO, and nothing more.

  oldpeer.py server [ARGS...]
                      act as an old nbfs-server on stdin/stdout: answer
                      the client's HELLO with a HELLO of version 1, then
                      wait for the end of input
  oldpeer.py client SERVER ARGS...
                      act as an old nbfs client of the server command run
                      with its stdin and stdout on pipes: send a HELLO of
                      version 1 and print the server's answer (its text)
                      on stderr; exit 0 if the server refused with an
                      ERROR, 1 otherwise

Frames: u32 length (type + payload), u8 type, payload; HELLO (type 1):
str "nbfs", u32 version, str software; ERROR (type 3): u32 code, str
text; str = u32 length + bytes. All big-endian.
"""
import struct
import subprocess
import sys


def frame(ftype, payload):
    return struct.pack(">IB", len(payload) + 1, ftype) + payload


def string(b):
    return struct.pack(">I", len(b)) + b


def hello(version, software):
    return frame(1, string(b"nbfs") + struct.pack(">I", version) + string(software))


def read_exact(f, n):
    data = b""
    while len(data) < n:
        chunk = f.read(n - len(data))
        if not chunk:
            return None
        data += chunk
    return data


def read_frame(f):
    head = read_exact(f, 5)
    if head is None:
        return None, None
    length, ftype = struct.unpack(">IB", head)
    if length < 1 or length > 1 << 21:
        return None, None
    return ftype, read_exact(f, length - 1)


def main():
    out = sys.stdout.buffer
    inp = sys.stdin.buffer
    if sys.argv[1:2] == ["server"]:  # nbfs adds --root DIR
        ftype, _ = read_frame(inp)
        if ftype != 1:
            return 1
        out.write(hello(1, b"nbfs-server 0.1.0"))
        out.flush()
        while inp.read(65536):
            pass
        return 0
    if len(sys.argv) > 2 and sys.argv[1] == "client":
        proc = subprocess.Popen(sys.argv[2:], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        proc.stdin.write(hello(1, b"nbfs 0.1.0"))
        proc.stdin.flush()
        ftype, payload = read_frame(proc.stdout)
        proc.stdin.close()
        proc.wait(timeout=20)
        if ftype == 3 and payload is not None and len(payload) >= 8:
            (n,) = struct.unpack(">I", payload[4:8])
            text = payload[8:8 + n].decode("utf-8", "replace")
            print("ERROR: " + text, file=sys.stderr)
            return 0
        print("answer of type %s" % ftype, file=sys.stderr)
        return 1
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
