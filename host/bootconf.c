/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * bootconf.c - the vhdxboot.conf that `vhdx install-boot` writes.  The module reads "key = value" lines, strips
 * a "#" comment and the spaces around key and value, and narrows everything to ASCII (efi/options.c), so a value
 * that would not read back exactly as given is refused here rather than written.
 */
#include <stdio.h>
#include <string.h>

#include "installboot.h"

static const char *const key_names[BM_CONF_KEYS] = {
	[BM_KEY_NEXT] = "next", [BM_KEY_DISK] = "disk", [BM_KEY_IMAGE] = "image",
	[BM_KEY_ONERR] = "on-error", [BM_KEY_ARGS] = "args",
};

#define CONF_HEADER                                                                                               \
	"# vhdxboot.conf, written by `vhdx install-boot` (see vhdxboot.conf(5)).\n"                                    \
	"# Options in the boot entry or on the UEFI Shell command line win over these.\n"

/* Firmware paths use backslashes; a path typed on Linux usually has slashes. */
static int is_path_key(int k)
{
	return k == BM_KEY_NEXT || k == BM_KEY_IMAGE;
}

static int check_value(const char *key, const char *v, char *why, size_t whylen)
{
	size_t i, n = strlen(v);

	if (!n) {
		snprintf(why, whylen, "the value for \"%s\" is empty", key);
		return -1;
	}
	if (v[0] == ' ' || v[0] == '\t' || v[n - 1] == ' ' || v[n - 1] == '\t') {
		snprintf(why, whylen, "the value for \"%s\" starts or ends with a space, which the config reader drops",
			 key);
		return -1;
	}
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)v[i];

		if (c == '#') {
			snprintf(why, whylen, "the value for \"%s\" has a '#' at offset %zu, which would start a comment",
				 key, i);
			return -1;
		}
		if (c < 0x20 || c > 0x7e) {
			snprintf(why, whylen, "the value for \"%s\" has byte 0x%02x at offset %zu: only printable ASCII "
					      "reads back from vhdxboot.conf", key, c, i);
			return -1;
		}
	}
	return 0;
}

int bm_conf_text(const char *const value[BM_CONF_KEYS], int check_only, int os_write, int vdisk_write, char *out,
		 size_t outlen, char *why, size_t whylen)
{
	size_t used;
	int k;

	used = (size_t)snprintf(out, outlen, "%s", CONF_HEADER);
	for (k = 0; k < BM_CONF_KEYS; k++) {
		char v[BM_CONF_MAX];
		size_t i;

		if (!value[k])
			continue;
		if (check_value(key_names[k], value[k], why, whylen))
			return -1;
		snprintf(v, sizeof(v), "%s", value[k]);
		for (i = 0; is_path_key(k) && v[i]; i++)
			if (v[i] == '/')
				v[i] = '\\';
		used += (size_t)snprintf(out + used, used < outlen ? outlen - used : 0, "%s = %s\n", key_names[k], v);
		if (used >= outlen) {
			snprintf(why, whylen, "the options make a config longer than %d bytes", BM_CONF_MAX);
			return -1;
		}
	}
	if (check_only)
		used += (size_t)snprintf(out + used, used < outlen ? outlen - used : 0, "check-only = yes\n");
	if (os_write && used < outlen)
		used += (size_t)snprintf(out + used, outlen - used, "os-write = %s\n",
					 os_write == BM_OS_WRITE_EXPAND ? "expand" : "yes");
	if (vdisk_write && used < outlen)
		used += (size_t)snprintf(out + used, outlen - used, "vdisk-write = yes\n");
	if (used >= outlen) {
		snprintf(why, whylen, "the options make a config longer than %d bytes", BM_CONF_MAX);
		return -1;
	}
	return 0;
}
