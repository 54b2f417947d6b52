/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * efibin.c - what `vhdx install-boot` needs to know about an EFI application file: the machine it is built for
 * (PE/COFF Machine field) and whether it is vhdxboot.  "Ours" means its .sbat section has a line for the
 * component "vhdxboot": that section is what shim and the revocation tools read, so it is the binary's own
 * statement of what it is, and it survives signing (sbsign adds a certificate table, it does not touch sections).
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "esp.h"
#include "le.h"

#define DOS_MAGIC 0x5a4d          /* "MZ" */
#define DOS_LFANEW_OFFSET 0x3c    /* where the DOS stub keeps the offset of the PE signature */
#define PE_SIGNATURE 0x00004550u  /* "PE\0\0" */
#define COFF_HEADER_SIZE 20
#define SECTION_HEADER_SIZE 40
#define SBAT_COMPONENT "vhdxboot,"

/* Does the CSV text hold a line whose first field is our component name? */
static int sbat_names_us(const unsigned char *s, size_t n)
{
	size_t len = strlen(SBAT_COMPONENT), i = 0;

	while (i < n) {
		if (n - i >= len && !memcmp(s + i, SBAT_COMPONENT, len))
			return 1;
		while (i < n && s[i] != '\n')
			i++;
		i++;
	}
	return 0;
}

int efibin_inspect(const unsigned char *buf, size_t len, struct efi_binary *out, char *why, size_t whylen)
{
	uint32_t pe, sections_at;
	uint16_t nsect, opt_size, i;

	memset(out, 0, sizeof(*out));
	if (len < DOS_LFANEW_OFFSET + 4 || host_le16(buf) != DOS_MAGIC) {
		snprintf(why, whylen, "not a PE/COFF image (no MZ signature)");
		return -1;
	}
	pe = host_le32(buf + DOS_LFANEW_OFFSET);
	if ((uint64_t)pe + 4 + COFF_HEADER_SIZE > len || host_le32(buf + pe) != PE_SIGNATURE) {
		snprintf(why, whylen, "not a PE/COFF image (e_lfanew 0x%x does not point at a PE signature)", pe);
		return -1;
	}
	out->machine = host_le16(buf + pe + 4);
	nsect = host_le16(buf + pe + 4 + 2);
	opt_size = host_le16(buf + pe + 4 + 16);
	sections_at = pe + 4 + COFF_HEADER_SIZE + opt_size;
	if ((uint64_t)sections_at + (uint64_t)nsect * SECTION_HEADER_SIZE > len) {
		snprintf(why, whylen, "PE section table (%u sections at 0x%x) runs past the end of the file", nsect,
			 sections_at);
		return -1;
	}
	for (i = 0; i < nsect; i++) {
		const unsigned char *sh = buf + sections_at + (size_t)i * SECTION_HEADER_SIZE;
		uint32_t vsize = host_le32(sh + 8), rsize = host_le32(sh + 16), raw = host_le32(sh + 20);
		uint32_t n = vsize && vsize < rsize ? vsize : rsize;

		if (memcmp(sh, ".sbat\0\0\0", 8))
			continue;
		if ((uint64_t)raw + n > len) {
			snprintf(why, whylen, "PE section .sbat (0x%x bytes at 0x%x) runs past the end of the file", n, raw);
			return -1;
		}
		out->has_sbat = 1;
		out->ours = sbat_names_us(buf + raw, n);
	}
	return 0;
}

const char *efibin_machine_name(uint16_t machine)
{
	switch (machine) {
	case PE_MACHINE_X64: return "x64";
	case PE_MACHINE_IA32: return "ia32";
	case PE_MACHINE_AA64: return "aa64";
	default: return "unknown";
	}
}
