/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * bootentry.c - the firmware boot entry of `vhdx install-boot`, through efibootmgr (the tool Debian's own
 * boot loaders use, so an entry looks the same as theirs and efivarfs quirks are efibootmgr's business).
 * Our entry is the one whose description is the label and whose file path is the loader.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bootentry.h"
#include "esp.h"
#include "host.h"

#define EFIBOOTMGR "efibootmgr"
#define BOOT_PREFIX "Boot"
#define BOOT_NUM_DIGITS 4

/* Case-insensitive substring search: firmware and efibootmgr may print the path in either case. */
static int contains_nocase(const char *hay, size_t hlen, const char *needle)
{
	size_t n = strlen(needle), i, j;

	for (i = 0; i + n <= hlen; i++) {
		for (j = 0; j < n && tolower((unsigned char)hay[i + j]) == tolower((unsigned char)needle[j]); j++)
			;
		if (j == n)
			return 1;
	}
	return 0;
}

/*
 * Walks `efibootmgr -v`: lines "BootXXXX* LABEL<TAB>DEVICE-PATH".  Returns the first entry matching label and
 * loader (when loader is NULL: label only, when want >= 0: the number want only), or -1; -2 when efibootmgr fails.
 */
static int scan(const char *label, const char *loader, int want)
{
	char *argv[] = { EFIBOOTMGR, "-v", NULL };
	char *out = NULL, *line, *save = NULL;
	int rc, found = -1;

	rc = esp_run(argv, &out);
	if (rc != 0) {
		if (rc < 0)
			host_error("install-boot", "cannot run " EFIBOOTMGR ": %s", strerror(errno));
		else
			host_error("install-boot", EFIBOOTMGR " -v exited with status %d", rc);
		free(out);
		return -2;
	}
	for (line = strtok_r(out, "\n", &save); line && found < 0; line = strtok_r(NULL, "\n", &save)) {
		unsigned num;
		char *name, *tab;
		size_t i;

		if (strncmp(line, BOOT_PREFIX, strlen(BOOT_PREFIX)))
			continue;
		for (i = 0; i < BOOT_NUM_DIGITS; i++)
			if (!isxdigit((unsigned char)line[strlen(BOOT_PREFIX) + i]))
				break;
		if (i < BOOT_NUM_DIGITS || sscanf(line + strlen(BOOT_PREFIX), "%4x", &num) != 1)
			continue;
		name = line + strlen(BOOT_PREFIX) + BOOT_NUM_DIGITS;
		if (*name == '*')
			name++;
		while (*name == ' ')
			name++;
		tab = strchr(name, '\t');
		if (!tab || (size_t)(tab - name) != strlen(label) || strncmp(name, label, strlen(label)))
			continue;
		if (want >= 0 && (int)num != want)
			continue;
		if (loader && !contains_nocase(tab, strlen(tab), loader))
			continue;
		found = (int)num;
	}
	free(out);
	return found;
}

int bootentry_find(const char *label, const char *loader)
{
	return scan(label, loader, -1);
}

int bootentry_exists(const char *label, unsigned num)
{
	int r = scan(label, NULL, (int)num);

	return r >= 0 ? 1 : r == -1 ? 0 : -2;
}

int bootentry_create(const char *disk, unsigned part, const char *loader, const char *label)
{
	char partstr[16];
	char *argv[] = { EFIBOOTMGR, "--quiet", "--create", "--disk", (char *)disk, "--part", partstr,
			 "--loader", (char *)loader, "--label", (char *)label, NULL };
	char *out = NULL;
	int rc;

	snprintf(partstr, sizeof(partstr), "%u", part);
	rc = esp_run(argv, &out);
	free(out);
	if (rc != 0) {
		if (rc < 0)
			host_error("install-boot", "cannot run " EFIBOOTMGR ": %s", strerror(errno));
		else
			host_error("install-boot", EFIBOOTMGR " --create --disk %s --part %u exited with status %d", disk,
				   part, rc);
		return -2;
	}
	return bootentry_find(label, loader);
}

int bootentry_delete(unsigned num)
{
	char numstr[8];
	char *argv[] = { EFIBOOTMGR, "--quiet", "--bootnum", numstr, "--delete-bootnum", NULL };
	char *out = NULL;
	int rc;

	snprintf(numstr, sizeof(numstr), "%04X", num);
	rc = esp_run(argv, &out);
	free(out);
	if (rc != 0) {
		if (rc < 0)
			host_error("install-boot", "cannot run " EFIBOOTMGR ": %s", strerror(errno));
		else
			host_error("install-boot", EFIBOOTMGR " --delete-bootnum --bootnum %s exited with status %d",
				   numstr, rc);
		return -1;
	}
	return 0;
}
