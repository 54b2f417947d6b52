#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# 93-aa64: vhdxboot on aarch64 UEFI: build/aa64/*.efi under AAVMF (qemu-efi-aarch64) on QEMU's virt
# board, disks on virtio.  The cases are tests/boot/lib/archsuite.bash's; the CPUs: cortex-a57 (CRC32, no RNDR)
# for the no-randomness case, max (FEAT_RNG) for RNDR as the only source.
BOOT_ARCH=aa64
source "$(dirname "$0")/lib/common.bash"
source "$(dirname "$0")/lib/archsuite.bash"
need_tools
run_arch_suite cortex-a57 max RNDR
