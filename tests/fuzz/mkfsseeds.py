#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""mkfsseeds.py - a partition image as a seed of the file-locator harnesses (input format: tests/fuzz/fuzz_fs.h).

  mkfsseeds.py IMAGE PATH OUT [--extent-max N] [--skip OFFSET:LENGTH ...]

Keeps the non-zero 32-byte pieces of the image (adjacent ones merged into one chunk), minus the skipped ranges
(structures the locator never reads, such as exFAT's up-case table), so a seed of a 33 MiB volume is a few KiB.
"""
import struct
import sys

GRAIN = 32


def main():
    args = sys.argv[1:]
    image, path, out = args[:3]
    extent_max, skips = 0, []
    rest = args[3:]
    while rest:
        if rest[0] == '--extent-max':
            extent_max = int(rest[1])
        elif rest[0] == '--skip':
            o, n = rest[1].split(':')
            skips.append((int(o, 0), int(n, 0)))
        rest = rest[2:]
    data = open(image, 'rb').read()
    p = path.encode()
    blob = bytearray([len(p)]) + p + bytes([extent_max & 255, 0]) + struct.pack('<I', len(data))
    off, chunks = 0, []
    while off < len(data):
        piece = data[off:off + GRAIN]
        if any(piece) and not any(o <= off < o + n for o, n in skips):
            if chunks and chunks[-1][0] + len(chunks[-1][1]) == off and len(chunks[-1][1]) + GRAIN <= 0xFFFF:
                chunks[-1][1].extend(piece)
            else:
                chunks.append([off, bytearray(piece)])
        off += GRAIN
    for o, b in chunks:
        blob += struct.pack('<IH', o, len(b)) + b
    open(out, 'wb').write(blob)
    print(f'{out}: {len(blob)} bytes, {len(chunks)} chunks')


if __name__ == '__main__':
    main()
