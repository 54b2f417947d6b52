#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""pecheck.py ARCH FILE - is FILE a UEFI application the firmware of ARCH (x86_64, aa64, ia32) will load?

Reads the PE headers independently of the binutils that wrote them (so a linker-script or objcopy mistake cannot hide) and checks: the MZ stub and the PE
signature; the COFF machine type (0x8664, 0xAA64, 0x14C); PE32+ (0x20B) on 64-bit, PE32 (0x10B) on ia32; the
subsystem 10 (EFI application); an entry point inside an executable section; .text, .data and .sbat sections
present, inside SizeOfImage, their raw data inside the file; .sbat starting with the "sbat,1," header line; the
image not marked "relocations stripped".  Prints one line per problem and exits 1, or exits 0 silently.
"""
import struct
import sys

MACHINE = {"x86_64": 0x8664, "aa64": 0xAA64, "ia32": 0x14C}
MAGIC = {"x86_64": 0x20B, "aa64": 0x20B, "ia32": 0x10B}
SUBSYSTEM_EFI_APPLICATION = 10
FILE_RELOCS_STRIPPED = 0x0001
SCN_MEM_EXECUTE = 0x20000000


def check(arch, data):
    bad = []
    if data[:2] != b"MZ":
        return ["no MZ signature at offset 0"]
    (lfanew,) = struct.unpack_from("<I", data, 0x3C)
    if data[lfanew:lfanew + 4] != b"PE\0\0":
        return ["no PE signature at e_lfanew 0x%x" % lfanew]
    machine, nsect, _, _, _, optsize, chars = struct.unpack_from("<HHIIIHH", data, lfanew + 4)
    if machine != MACHINE[arch]:
        bad.append("COFF Machine 0x%04x, expected 0x%04x for %s" % (machine, MACHINE[arch], arch))
    if chars & FILE_RELOCS_STRIPPED:
        bad.append("COFF Characteristics 0x%04x: relocations stripped (the firmware could only load it at its"
                   " ImageBase)" % chars)
    opt = lfanew + 24
    (magic,) = struct.unpack_from("<H", data, opt)
    if magic != MAGIC[arch]:
        return bad + ["optional header Magic 0x%x, expected 0x%x" % (magic, MAGIC[arch])]
    (entry,) = struct.unpack_from("<I", data, opt + 16)
    # PE32 has BaseOfData and a 4-byte ImageBase where PE32+ has an 8-byte ImageBase: the fields from
    # SectionAlignment on are at the same offsets in both
    size_of_image, size_of_headers = struct.unpack_from("<II", data, opt + 56)
    (subsystem,) = struct.unpack_from("<H", data, opt + 68)
    if subsystem != SUBSYSTEM_EFI_APPLICATION:
        bad.append("optional header Subsystem %d, expected 10 (EFI application)" % subsystem)
    sections = {}
    entry_ok = False
    for i in range(nsect):
        off = opt + optsize + 40 * i
        name = data[off:off + 8].rstrip(b"\0").decode("ascii", "replace")
        vsize, va, rawsize, rawptr = struct.unpack_from("<IIII", data, off + 8)
        (schars,) = struct.unpack_from("<I", data, off + 36)
        sections[name] = (va, vsize, rawptr, rawsize)
        if va + max(vsize, rawsize) > size_of_image and name not in (".reloc",):
            bad.append("section %s at 0x%x+0x%x ends beyond SizeOfImage 0x%x" % (name, va, max(vsize, rawsize),
                                                                                   size_of_image))
        if rawsize and rawptr + rawsize > len(data):
            bad.append("section %s raw data 0x%x+0x%x beyond the end of the file (0x%x bytes)" % (name, rawptr,
                                                                                                 rawsize, len(data)))
        if va < size_of_headers:
            bad.append("section %s at 0x%x overlaps the headers (0x%x bytes)" % (name, va, size_of_headers))
        if schars & SCN_MEM_EXECUTE and va <= entry < va + vsize:
            entry_ok = True
    if not entry_ok:
        bad.append("AddressOfEntryPoint 0x%x is not inside an executable section" % entry)
    for want in (".text", ".data", ".sbat"):
        if want not in sections:
            bad.append("no %s section (sections: %s)" % (want, " ".join(sorted(sections))))
    if ".sbat" in sections:
        va, vsize, rawptr, rawsize = sections[".sbat"]
        text = data[rawptr:rawptr + min(vsize, rawsize) if vsize else rawsize]
        if not text.startswith(b"sbat,1,"):
            bad.append(".sbat does not start with the SBAT header line: %r" % text[:16])
    return bad


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in MACHINE:
        print("usage: pecheck.py x86_64|aa64|ia32 FILE", file=sys.stderr)
        return 2
    with open(sys.argv[2], "rb") as f:
        data = f.read()
    bad = check(sys.argv[1], data)
    for b in bad:
        print("%s: %s" % (sys.argv[2], b))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
