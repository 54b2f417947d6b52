/* SPDX-License-Identifier: BSD-2-Clause */
/* le.h - little-endian loads at any alignment, for the tool's parsers of on-disk structures (GPT, PE/COFF). */
#ifndef HOST_LE_H
#define HOST_LE_H

#include <stdint.h>

static inline uint16_t host_le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static inline uint32_t host_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint64_t host_le64(const uint8_t *p)
{
	return (uint64_t)host_le32(p) | (uint64_t)host_le32(p + 4) << 32;
}

#endif
