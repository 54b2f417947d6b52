/* SPDX-License-Identifier: BSD-2-Clause */
/* fuzz_fs_fat.c - libFuzzer harness of the fat file locator (core/fat.c) and the probe; body in fuzz_fs.h. */
#define FS_KIND VHDX_FS_FAT
#define FS_LOCATE vhdx_fat_locate
#include "fuzz_fs.h"
