/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * pinparse.c - the policy keys' values as the options give them: GUIDs, a SHA-256 in hex, stop or warn.
 * No firmware calls, so the host tests it with the other option parsers (tests/unit/test_options.c); policy.c
 * checks the pins at boot and embedded.c feeds the signed .vhdxpol section through the same policy_set.
 */
#include "optparse.h"

static const char *const pin_names[] = { "require-disk-id", "require-data-write-guid", "require-sha256",
					  "on-mismatch" };

/* the value as ASCII (policy values are GUIDs, hex and words); -1 if it holds anything else or is too long */
static int narrow(const uint16_t *v, char *out, size_t size)
{
	size_t n = 0;
	for (; v[n]; n++) {
		if (n + 1 >= size || v[n] > 0x7e)
			return -1;
		out[n] = (char)v[n];
	}
	out[n] = 0;
	return (int)n;
}

int policy_key_index(const uint16_t *k, size_t n)
{
	for (int i = 0; i < PIN_KEYS; i++) {
		size_t l = 0;
		while (pin_names[i][l])
			l++;
		if (l == n && u16_ncmp_ascii(k, pin_names[i], n) == 0)
			return i;
	}
	return -1;
}

int policy_set(struct boot_policy *p, int key, const uint16_t *value, const char *where, int from_embedded)
{
	if (p->embedded && !from_embedded) {
		con_say("%s: %s ignored: the embedded policy is in force", where, pin_names[key]);
		return OPT_OK;
	}
	char v[80];
	int n = value ? narrow(value, v, sizeof v) : -1;
	if (n <= 0) {
		con_say("%s: %s needs a value (ASCII, at most %u characters)", where, pin_names[key],
			(unsigned)sizeof v - 1);
		return OPT_INVALID;
	}
	switch (key) {
	case PIN_KEY_DISK:
	case PIN_KEY_DATA: {
		struct vhdx_guid *g = key == PIN_KEY_DISK ? &p->disk_id : &p->data_write_guid;
		if (vhdx_guid_parse(v, (size_t)n, g)) {
			con_say("%s: %s: \"%s\" is not a GUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)", where,
				pin_names[key], v);
			return OPT_INVALID;
		}
		p->have |= key == PIN_KEY_DISK ? POLICY_DISK_ID : POLICY_DATA_WRITE;
		break;
	}
	case PIN_KEY_SHA:
		if (vhdx_sha256_parse_hex(v, (size_t)n, p->sha256)) {
			con_say("%s: require-sha256: \"%s\" is not 64 hex digits", where, v);
			return OPT_INVALID;
		}
		p->have |= POLICY_SHA256;
		break;
	case PIN_KEY_ONMISMATCH:
		if (u16_ieq_ascii(value, "stop"))
			p->warn_only = 0;
		else if (u16_ieq_ascii(value, "warn"))
			p->warn_only = 1;
		else {
			con_say("%s: on-mismatch is stop or warn, not \"%s\"", where, v);
			return OPT_INVALID;
		}
		break;
	}
	return OPT_OK;
}
