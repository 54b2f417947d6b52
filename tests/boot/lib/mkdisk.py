#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""mkdisk - a raw GPT disk with one EFI system partition holding a given FAT image (python3 stdlib only).

  mkdisk.py OUT DISK_MIB FAT_IMAGE [SECTOR]    SECTOR 512 (default) or 4096: the LBA size the GPT is laid out in

The partition starts at 1 MiB; the FAT image must fit before the backup GPT.  Written from the UEFI spec's GPT
layout (protective MBR, header at LBA 1, 128 entries of 128 bytes at LBA 2, backup entries and header at the end).
"""
import os
import struct
import sys
import uuid
import zlib

ESP_TYPE = uuid.UUID("C12A7328-F81F-11D2-BA4B-00A0C93EC93B")


def header(my_lba, alt_lba, first, last, disk_guid, entries_lba, entries_crc):
    h = struct.pack("<8sIIIIQQQQ16sQIII", b"EFI PART", 0x00010000, 92, 0, 0, my_lba, alt_lba, first, last,
                    disk_guid.bytes_le, entries_lba, 128, 128, entries_crc)
    crc = zlib.crc32(h) & 0xFFFFFFFF
    return h[:16] + struct.pack("<I", crc) + h[20:]


def main(argv):
    if len(argv) not in (4, 5):
        print(__doc__)
        return 2
    out, disk_mib, fat = argv[1], int(argv[2]), argv[3]
    ss = int(argv[4]) if len(argv) == 5 else 512
    size = disk_mib << 20
    n = size // ss
    fat_data = open(fat, "rb").read()
    ent_sectors = (128 * 128 + ss - 1) // ss
    first_usable = 2 + ent_sectors
    last_usable = n - 2 - ent_sectors
    start = (1 << 20) // ss
    count = (len(fat_data) + ss - 1) // ss
    end = start + count - 1
    if end > last_usable:
        print("FAT image too large for the disk")
        return 1
    disk_guid = uuid.uuid4()
    entries = bytearray(128 * 128)
    name = "EFI system".encode("utf-16-le")
    struct.pack_into("<16s16sQQQ", entries, 0, ESP_TYPE.bytes_le, uuid.uuid4().bytes_le, start, end, 0)
    entries[56:56 + len(name)] = name
    ecrc = zlib.crc32(entries) & 0xFFFFFFFF

    with open(out, "wb") as f:
        f.truncate(size)
        mbr = bytearray(ss)
        struct.pack_into("<BBBBBBBBII", mbr, 446, 0, 0, 2, 0, 0xEE, 0xFF, 0xFF, 0xFF, 1, min(n - 1, 0xFFFFFFFF))
        mbr[510:512] = b"\x55\xaa"
        f.seek(0)
        f.write(mbr)
        f.seek(1 * ss)
        f.write(header(1, n - 1, first_usable, last_usable, disk_guid, 2, ecrc))
        f.seek(2 * ss)
        f.write(entries)
        f.seek((n - 1 - ent_sectors) * ss)
        f.write(entries)
        f.seek((n - 1) * ss)
        f.write(header(n - 1, 1, first_usable, last_usable, disk_guid, n - 1 - ent_sectors, ecrc))
        f.seek(start * ss)
        f.write(fat_data)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
