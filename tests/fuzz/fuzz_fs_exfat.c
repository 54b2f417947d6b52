/* SPDX-License-Identifier: BSD-2-Clause */
/* fuzz_fs_exfat.c - libFuzzer harness of the exfat file locator (core/exfat.c) and the probe; body in fuzz_fs.h. */
#define FS_KIND VHDX_FS_EXFAT
#define FS_LOCATE vhdx_exfat_locate
#include "fuzz_fs.h"
