#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""fslocate_check.py - checks `vhdx locate` output against the truth, for tests/interop/fslocate.sh.

  fslocate_check.py bytes IMAGE LOCATE_OUT REFERENCE   the extents are well formed (file order, no gap, no overlap,
                                                       merged, covering [0, size) exactly, inside the image) and the
                                                       image bytes they select equal REFERENCE, a copy of the file
                                                       read through the file system's own driver or tool
  fslocate_check.py blocks LOCATE_OUT BLOCKSIZE        the physical block numbers the extents cover, in file order,
                                                       one line each (to compare with `debugfs -R "blocks PATH"`)
  fslocate_check.py field LOCATE_OUT NAME              the value of a header line (fs, size, flags, extents)
Exit 0 when the check holds; otherwise 1 with the reason on stdout.
"""
import os
import sys


def parse(path):
    head, ext = {}, []
    with open(path) as f:
        for line in f:
            parts = line.split()
            if len(parts) == 2:
                head[parts[0]] = parts[1]
            elif len(parts) == 3:
                ext.append(tuple(int(x) for x in parts))
    if len(ext) != int(head.get('extents', -1)):
        sys.exit(f"'extents {head.get('extents')}' but {len(ext)} extent lines")
    return head, ext


def well_formed(head, ext, image_size):
    size, at = int(head['size']), 0
    for i, (fo, po, ln) in enumerate(ext):
        if fo != at or ln <= 0:
            return f'extent {i} starts at file byte {fo} (expected {at}), length {ln}'
        if po + ln > image_size:
            return f'extent {i} ends at {po + ln}, beyond the image ({image_size})'
        if i and ext[i - 1][1] + ext[i - 1][2] == po:
            return f'extent {i} continues extent {i - 1} on the partition: not merged'
        at += ln
    if at != size:
        return f'extents cover {at} bytes, the file has {size}'
    return None


def main():
    mode = sys.argv[1]
    if mode == 'field':
        head, _ = parse(sys.argv[2])
        print(head.get(sys.argv[3], ''))
        return 0
    if mode == 'blocks':
        _, ext = parse(sys.argv[2])
        bs = int(sys.argv[3])
        for fo, po, ln in ext:
            for b in range(po // bs, (po + ln + bs - 1) // bs):
                print(b)
        return 0
    image, out, ref = sys.argv[2:5]
    head, ext = parse(out)
    why = well_formed(head, ext, os.path.getsize(image))
    if why:
        print(why)
        return 1
    with open(image, 'rb') as img, open(ref, 'rb') as r:
        want = r.read()
        if len(want) != int(head['size']):
            print(f"size {head['size']}, the driver's copy has {len(want)} bytes")
            return 1
        for i, (fo, po, ln) in enumerate(ext):
            img.seek(po)
            if img.read(ln) != want[fo:fo + ln]:
                print(f'extent {i} (file byte {fo}, partition offset {po}, {ln} bytes) differs from the file')
                return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
