/* SPDX-License-Identifier: BSD-2-Clause */
/* fuzz_fs_ext4.c - libFuzzer harness of the ext4 file locator (core/ext4.c) and the probe; body in fuzz_fs.h. */
#define FS_KIND VHDX_FS_EXT4
#define FS_LOCATE vhdx_ext4_locate
#include "fuzz_fs.h"
