#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# 94-ia32: vhdxboot on 32-bit x86 UEFI: build/ia32/*.efi under OVMF32 (ovmf-ia32, the Secure Boot build
# with no keys enrolled) on q35 with SMM, disks on virtio.  The cases are tests/boot/lib/archsuite.bash's; the
# CPUs: qemu32 (no RDRAND) for the no-randomness case, max (RDRAND) for RDRAND as the only source.
BOOT_ARCH=ia32
source "$(dirname "$0")/lib/common.bash"
source "$(dirname "$0")/lib/archsuite.bash"
need_tools
run_arch_suite qemu32 max RDRAND
