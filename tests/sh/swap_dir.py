#!/usr/bin/env python3
"""swap_dir.py -- exchange two paths in one step (renameat2 RENAME_EXCHANGE), either now or the
moment another process has finished listing a directory.

    swap_dir.py now A B
    swap_dir.py after-list DIR A B TIMEOUT_S

`after-list` watches DIR with inotify, prints "armed" once the watch is in place, and waits for
DIR to be closed after a read-only open (IN_CLOSE_NOWRITE on the directory itself: a walker has
just listed it). It then exchanges A and B at once and prints "swapped". Exit status 0 when it
swapped, 3 when nobody listed DIR within TIMEOUT_S seconds, 1 on an error.

The tests use it to turn a directory of the tree into a symbolic link between the time the
agent lists the directory and the time it reads the files it listed there: without a link in
the way at any moment, and without depending on luck.
"""
import ctypes
import ctypes.util
import os
import select
import struct
import sys
import time

AT_FDCWD = -100
RENAME_EXCHANGE = 1 << 1
IN_CLOSE_NOWRITE = 0x00000010
IN_ONLYDIR = 0x01000000
IN_ISDIR = 0x40000000

libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
libc.renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p,
                           ctypes.c_uint]
libc.inotify_init1.argtypes = [ctypes.c_int]
libc.inotify_add_watch.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_uint32]


def exchange(a, b):
    if libc.renameat2(AT_FDCWD, os.fsencode(a), AT_FDCWD, os.fsencode(b), RENAME_EXCHANGE) != 0:
        err = ctypes.get_errno()
        sys.exit(f"swap_dir.py: cannot exchange {a} and {b}: {os.strerror(err)}")


def after_list(d, a, b, timeout):
    fd = libc.inotify_init1(os.O_CLOEXEC)
    if fd < 0:
        sys.exit(f"swap_dir.py: inotify_init1: {os.strerror(ctypes.get_errno())}")
    if libc.inotify_add_watch(fd, os.fsencode(d), IN_CLOSE_NOWRITE | IN_ONLYDIR) < 0:
        sys.exit(f"swap_dir.py: cannot watch {d}: {os.strerror(ctypes.get_errno())}")
    print("armed", flush=True)
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            print(f"swap_dir.py: nobody listed {d} within {timeout} s", file=sys.stderr)
            return 3
        ready, _, _ = select.select([fd], [], [], left)
        if not ready:
            continue
        buf = os.read(fd, 65536)
        off = 0
        while off < len(buf):
            _wd, mask, _cookie, namelen = struct.unpack_from("iIII", buf, off)
            off += 16 + namelen
            # the directory itself (no name), closed after reading: it has been listed
            if namelen == 0 and mask & IN_CLOSE_NOWRITE and mask & IN_ISDIR:
                exchange(a, b)
                print("swapped", flush=True)
                return 0


def main(argv):
    if len(argv) == 4 and argv[1] == "now":
        exchange(argv[2], argv[3])
        return 0
    if len(argv) == 6 and argv[1] == "after-list":
        return after_list(argv[2], argv[3], argv[4], float(argv[5]))
    print(__doc__, file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
