/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * efiarch.h - what differs between the UEFI architectures the module is built for: the file name the
 * firmware boots from removable media, and the name of the CPU's own random-number instruction.  Everything else
 * in efi/ is the same C on every architecture (firmware calls go through EFIAPI pointers, which gnu-efi defines
 * per architecture).
 */
#ifndef VHDXBOOT_EFIARCH_H
#define VHDXBOOT_EFIARCH_H

#if defined(__x86_64__)
#define EFIARCH_NAME "x86_64"
#define EFIARCH_REMOVABLE_A "\\EFI\\BOOT\\BOOTX64.EFI"
#define EFIARCH_REMOVABLE L"\\EFI\\BOOT\\BOOTX64.EFI"
#define EFIARCH_HWRNG "RDRAND"
#elif defined(__i386__)
#define EFIARCH_NAME "ia32"
#define EFIARCH_REMOVABLE_A "\\EFI\\BOOT\\BOOTIA32.EFI"
#define EFIARCH_REMOVABLE L"\\EFI\\BOOT\\BOOTIA32.EFI"
#define EFIARCH_HWRNG "RDRAND"
#elif defined(__aarch64__)
#define EFIARCH_NAME "aa64"
#define EFIARCH_REMOVABLE_A "\\EFI\\BOOT\\BOOTAA64.EFI"
#define EFIARCH_REMOVABLE L"\\EFI\\BOOT\\BOOTAA64.EFI"
#define EFIARCH_HWRNG "RNDR"
#else
#error "vhdxboot: no UEFI architecture definitions for this target (x86_64, ia32 and aarch64 are known)"
#endif

#endif
