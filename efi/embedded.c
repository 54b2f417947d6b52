/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * embedded.c - the policy `make sign` embeds in the module: a PE section named .vhdxpol holding "key = value"
 * lines (the policy keys only).  Secure Boot's signature covers every section, so this policy is as trustworthy as
 * the module itself, unlike vhdxboot.conf on the ESP.  It is found in our own loaded image: LoadedImage.ImageBase
 * -> DOS header -> PE signature -> COFF header -> section table; every offset is checked against ImageSize.
 */
#include "boot.h"

#define DOS_LFANEW 0x3c
#define PE_SIGNATURE 0x00004550u /* "PE\0\0" */
#define COFF_SIZE 20
#define COFF_SECTIONS 2
#define COFF_OPT_SIZE 16
#define SECTION_SIZE 40
#define SECTION_VSIZE 8
#define SECTION_RVA 12
#define SECTION_RAWSIZE 16
#define POLICY_SECTION ".vhdxpol"
#define POLICY_MAX (16u << 10)

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] | (p[1] << 8));
}

/* The section's bytes in our image, or NULL (no such section, or headers that do not add up). */
static const char *find_section(UINTN *len)
{
	const uint8_t *base = g_loaded->ImageBase;
	uint64_t size = g_loaded->ImageSize;
	if (!base || size < DOS_LFANEW + 4)
		return NULL;
	uint64_t pe = rd32(base + DOS_LFANEW);
	if (pe + 4 + COFF_SIZE > size || rd32(base + pe) != PE_SIGNATURE)
		return NULL;
	const uint8_t *coff = base + pe + 4;
	unsigned nsec = rd16(coff + COFF_SECTIONS);
	uint64_t table = pe + 4 + COFF_SIZE + rd16(coff + COFF_OPT_SIZE);
	if (table + (uint64_t)nsec * SECTION_SIZE > size)
		return NULL;
	for (unsigned i = 0; i < nsec; i++) {
		const uint8_t *s = base + table + (uint64_t)i * SECTION_SIZE;
		if (memcmp(s, POLICY_SECTION, sizeof POLICY_SECTION - 1))
			continue;
		uint64_t rva = rd32(s + SECTION_RVA), n = rd32(s + SECTION_VSIZE), raw = rd32(s + SECTION_RAWSIZE);
		/* the loader zero-fills past the raw data: only the raw bytes are the policy */
		if (raw && raw < n)
			n = raw;
		if (rva + n > size || n > POLICY_MAX)
			return NULL;
		*len = (UINTN)n;
		return (const char *)base + rva;
	}
	return NULL;
}

static int is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

EFI_STATUS policy_load_embedded(struct boot_policy *p)
{
	UINTN len = 0;
	const char *text = find_section(&len);
	if (!text)
		return EFI_SUCCESS;
	p->embedded = 1;
	con_say("embedded policy: %llu bytes in the module's %s section; policy keys from %ls and the command line "
		"are ignored", (unsigned long long)len, POLICY_SECTION, VHDXBOOT_CONF);
	const char *q = text, *end = text + len;
	UINTN line = 0;
	while (q < end && *q) {
		const char *eol = q;
		while (eol < end && *eol && *eol != '\n')
			eol++;
		line++;
		const char *a = q, *b = eol;
		q = eol < end && *eol ? eol + 1 : eol;
		for (const char *h = a; h < b; h++)
			if (*h == '#') {
				b = h;
				break;
			}
		while (a < b && is_ws(*a))
			a++;
		while (b > a && is_ws(b[-1]))
			b--;
		if (a == b)
			continue;
		const char *eq = a;
		while (eq < b && *eq != '=')
			eq++;
		const char *ke = eq, *v = eq < b ? eq + 1 : b;
		while (ke > a && is_ws(ke[-1]))
			ke--;
		while (v < b && is_ws(*v))
			v++;
		char where[48];
		fmt(where, sizeof where, "embedded policy line %llu", (unsigned long long)line);
		CHAR16 *key = u16_from_ascii(a, (UINTN)(ke - a));
		CHAR16 *val = eq < b ? u16_from_ascii(v, (UINTN)(b - v)) : NULL;
		int ki = key ? policy_key_index(key, u16_len(key)) : -1;
		EFI_STATUS st = EFI_INVALID_PARAMETER;
		if (ki < 0)
			con_say("%s: \"%ls\" is not a policy key (require-disk-id, require-data-write-guid, "
				"require-sha256, on-mismatch)", where, key ? key : L"?");
		else
			st = policy_set(p, ki, val, where, 1) == OPT_OK ? EFI_SUCCESS : EFI_INVALID_PARAMETER;
		mem_free(key);
		mem_free(val);
		/* a signed policy that does not parse is not a policy to boot under */
		if (EFI_ERROR(st)) {
			p->refused = 1;
			return st;
		}
	}
	return EFI_SUCCESS;
}
