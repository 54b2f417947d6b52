/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * disksel.c - `--disk SEL` over the VHDX devices found: "auto" (the only one), an index from --list, or device-path
 * text, exact first, else the one device whose text starts with it (case-insensitive).  No firmware calls; main.c
 * prints the outcome (see optparse.h).
 */
#include "optparse.h"

static const uint16_t *text_at(const uint16_t *const *texts, size_t stride, size_t i)
{
	return *(const uint16_t *const *)(const void *)((const char *)texts + i * stride);
}

enum disk_choice disk_select(const uint16_t *sel, const uint16_t *const *texts, size_t stride, size_t n,
			     size_t *pick, size_t *hits)
{
	uint64_t idx;
	size_t l = u16_len(sel);

	*pick = n;
	*hits = 0;
	if (u16_ieq_ascii(sel, "auto")) {
		if (n == 1)
			*pick = 0;
		return n == 1 ? DISK_PICKED : n == 0 ? DISK_NONE : DISK_SEVERAL;
	}
	if (!u16_to_u64(sel, &idx)) {
		if (idx >= n)
			return DISK_INDEX_RANGE;
		*pick = (size_t)idx;
		return DISK_PICKED;
	}
	for (size_t i = 0; i < n; i++)
		if (!u16_icmp(text_at(texts, stride, i), sel))
			*pick = i, *hits = 1;
	if (!*hits)
		for (size_t i = 0; i < n; i++) {
			const uint16_t *t = text_at(texts, stride, i);
			if (u16_len(t) >= l && !u16_nicmp(t, sel, l))
				*pick = i, ++*hits;
		}
	if (*hits != 1) {
		*pick = n;
		return DISK_MATCHES;
	}
	return DISK_PICKED;
}
