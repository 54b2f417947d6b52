/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * parentpath.h - where a differencing image's parent file lies on the child's volume, without the
 * firmware: parentpath.c compiles for the module and for the host tests (tests/unit/test_options.c), like ucs2.c.
 */
#ifndef VHDXBOOT_PARENTPATH_H
#define VHDXBOOT_PARENTPATH_H

#include <stddef.h>
#include <stdint.h>

#include "ucs2.h"

/*
 * The Parent Locator's relative_path (UTF-8 as the core decodes it, "\" separators; "/" is taken too) from the
 * folder of the file `child` (a path on the same volume, CHAR16), as an absolute path on that volume: "\a\b.vhdx".
 * "." and empty components are dropped and ".." goes up one folder.  NULL when the path climbs above the root,
 * names no file, is not valid UTF-8, or memory runs out; *why then says which (a static string).
 * The result is mem_alloc'd: mem_free it.
 */
uint16_t *parent_relative_path(const uint16_t *child, const char *relative, const char **why);

#endif
