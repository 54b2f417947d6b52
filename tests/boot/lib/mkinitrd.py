#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""mkinitrd - a tiny initramfs (cpio "newc") around a static busybox, written without root.

  mkinitrd.py OUT BUSYBOX MARKER

/init mounts /proc, prints "LINUX-MARKER: MARKER ..." with the kernel release and command line, and powers off.
/dev/console is in the archive as a device node, so init has a console before any devtmpfs exists.
"""
import sys

INIT = """#!/bin/sh
/bin/busybox mount -t proc proc /proc
echo "LINUX-MARKER: {marker} kernel $(/bin/busybox uname -r) cmdline: $(/bin/busybox cat /proc/cmdline)"
/bin/busybox poweroff -f
"""


def entry(ino, name, mode, data=b"", rdev=(0, 0), nlink=1):
    name_b = name.encode() + b"\0"
    hdr = "070701" + "".join("%08X" % v for v in (
        ino, mode, 0, 0, nlink, 0, len(data), 0, 0, rdev[0], rdev[1], len(name_b), 0))
    out = hdr.encode() + name_b
    out += b"\0" * ((4 - len(out) % 4) % 4)
    out += data
    out += b"\0" * ((4 - len(data) % 4) % 4)
    return out


def main(argv):
    if len(argv) != 4:
        print(__doc__)
        return 2
    busybox = open(argv[2], "rb").read()
    parts = []
    ino = 1
    for d in ("bin", "dev", "proc", "sys"):
        parts.append(entry(ino, d, 0o040755, nlink=2))
        ino += 1
    parts.append(entry(ino, "dev/console", 0o020600, rdev=(5, 1)))
    ino += 1
    parts.append(entry(ino, "bin/busybox", 0o100755, busybox))
    ino += 1
    parts.append(entry(ino, "bin/sh", 0o120777, b"busybox"))
    ino += 1
    parts.append(entry(ino, "init", 0o100755, INIT.format(marker=argv[3]).encode()))
    ino += 1
    parts.append(entry(0, "TRAILER!!!", 0))
    data = b"".join(parts)
    data += b"\0" * ((512 - len(data) % 512) % 512)
    open(argv[1], "wb").write(data)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
