#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""vhdxshuffle - moves the present payload blocks of a VHDX to each other's places in the file, BAT updated.

  vhdxshuffle.py IMAGE [SEED] [--absent N]

The virtual disk keeps every byte; only where its blocks lie in the file changes, as in an image filled in random
order (no two neighbours stay file-contiguous by chance more than a shuffle allows).  --absent N also marks every
Nth present block NOT_PRESENT (its data then reads as zeros: the caller must compare against that).  For the
read benchmarks and boot tests of the virtual disk; python3 stdlib only.  Prints the blocks moved.
"""
import os
import random
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vhdxlib  # noqa: E402

MiB = 1 << 20


def main(argv):
    args = [a for a in argv[1:] if not a.startswith("--")]
    absent = 0
    if "--absent" in argv:
        absent = int(argv[argv.index("--absent") + 1])
        args.remove(str(absent))
    if not args:
        print(__doc__)
        return 2
    path = args[0]
    seed = int(args[1]) if len(args) > 1 else 1
    buf = bytearray(open(path, "rb").read())
    meta = vhdxlib.find_region(buf, vhdxlib.GUID_METADATA)
    bat = vhdxlib.find_region(buf, vhdxlib.GUID_BAT)
    fp = vhdxlib.meta_item(buf, meta["offset"], vhdxlib.GUID_FILE_PARAMS)
    block_size = struct.unpack_from("<I", buf, meta["offset"] + fp["offset"])[0]
    ls = vhdxlib.meta_item(buf, meta["offset"], vhdxlib.GUID_LOGICAL)
    logical = struct.unpack_from("<I", buf, meta["offset"] + ls["offset"])[0]
    vs = vhdxlib.meta_item(buf, meta["offset"], vhdxlib.GUID_VDISK_SIZE)
    vsize = struct.unpack_from("<Q", buf, meta["offset"] + vs["offset"])[0]
    cr = vhdxlib.chunk_ratio(block_size, logical)
    blocks = []
    for b in range(-(-vsize // block_size)):
        e = vhdxlib.get_bat(buf, vhdxlib.bat_index(b, cr), bat["offset"])
        if e & 7 == 6 and min(block_size, vsize - b * block_size) == block_size:
            blocks.append((b, e & ~(MiB - 1)))
    data = {off: bytes(buf[off:off + block_size]) for _, off in blocks}
    places = [off for _, off in blocks]
    random.Random(seed).shuffle(places)
    for k, ((b, old), new) in enumerate(zip(blocks, places)):
        buf[new:new + block_size] = data[old]
        state = 0 if absent and k % absent == absent - 1 else 6
        vhdxlib.set_bat(buf, vhdxlib.bat_index(b, cr), (new if state else 0) | state, bat["offset"])
    open(path, "r+b").write(buf)
    print(len(blocks))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
