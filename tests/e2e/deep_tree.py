#!/usr/bin/env python3
"""Work in a tree more than 16 KiB deep, for test_long_paths.sh.

No path of such a tree can be handed to the kernel whole (PATH_MAX is
4096), so every step goes down one directory at a time with chdir, as a
program with a deep working directory does.

usage: deep_tree.py ACTION ROOT [ARG]
  make ROOT SRC      create the tree; below it deep.bin (a copy of SRC),
                     small.txt, a symlink "link" -> deep.bin, a directory sub
  check ROOT SRC     the tree holds what make wrote (deep.bin equal to SRC)
  moved ROOT SRC     the tree holds what make wrote after "move"
  move ROOT          rename deep.bin to moved.bin, small.txt one level up
  top                print the first component (to remove the tree)
"""
import hashlib
import os
import sys

# 66 names of 250 bytes: 16,566 bytes below ROOT, more than four times PATH_MAX.
NAMES = ["%03d" % i + chr(ord("a") + i % 26) * 247 for i in range(66)]


def down(root, create=False):
    os.chdir(root)
    for name in NAMES:
        if create:
            os.mkdir(name)
        os.chdir(name)


def md5(path):
    with open(path, "rb") as f:
        return hashlib.md5(f.read()).hexdigest()


def fail(msg):
    sys.exit("deep_tree: " + msg)


def expect(cond, msg):
    if not cond:
        fail(msg)


def main():
    action = sys.argv[1]
    if action == "top":
        print(NAMES[0])
        return
    root = sys.argv[2]
    src = sys.argv[3] if len(sys.argv) > 3 else None
    if src:
        src = os.path.abspath(src)
    if action == "make":
        os.mkdir(root)
        down(root, create=True)
        with open(src, "rb") as f, open("deep.bin", "wb") as out:
            out.write(f.read())
        with open("small.txt", "w") as f:
            f.write("small and deep\n")
        os.symlink("deep.bin", "link")
        os.mkdir("sub")
    elif action == "check":
        down(root)
        expect(sorted(os.listdir(".")) == ["deep.bin", "link", "small.txt", "sub"],
               "listing: %s" % sorted(os.listdir(".")))
        expect(md5("deep.bin") == md5(src), "deep.bin differs from the source")
        with open("small.txt") as f:
            expect(f.read() == "small and deep\n", "small.txt differs")
        expect(os.readlink("link") == "deep.bin", "link: " + os.readlink("link"))
        expect(os.path.isdir("sub"), "sub is no directory")
    elif action == "move":
        down(root)
        os.rename("deep.bin", "moved.bin")
        os.rename("small.txt", "../small.txt")
    elif action == "moved":
        down(root)
        expect(sorted(os.listdir(".")) == ["link", "moved.bin", "sub"],
               "listing after the move: %s" % sorted(os.listdir(".")))
        expect(md5("moved.bin") == md5(src), "moved.bin differs from the source")
        with open("../small.txt") as f:
            expect(f.read() == "small and deep\n", "../small.txt differs")
    else:
        fail("unknown action " + action)


main()
