/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * optshim.h - the host side of efi/optparse.h for tests: mem_alloc/mem_free over malloc with a count of live
 * blocks, fmt, and con_say collecting the messages in opt_said (last message in opt_last).
 */
#ifndef OPTSHIM_H
#define OPTSHIM_H

#include "optparse.h"

extern char opt_said[4096];  /* every message since opt_shim_reset, one per line */
extern char opt_last[512];   /* the last message */
extern long opt_live;        /* blocks allocated and not freed */
extern long opt_fail_alloc;  /* > 0: that allocation (counting from 1) returns NULL */

void opt_shim_reset(void);
/* a CHAR16 string from ASCII, in a static ring of buffers (for test tables) */
uint16_t *opt_u16(const char *s);

#endif
