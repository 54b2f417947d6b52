/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_host_handoff.c - host/handoff.c: the handoff variable, as efivarfs shows it, printed as the shell
 * assignments the initramfs evaluates.  The variable is written out byte by byte here (not with the core's
 * encoder), so the printout is checked against the documented version-1 layout itself.
 */
#include <stdio.h>
#include <stdlib.h>

#include "../../host/host.h"
#include "t.h"

#define ATTR_BYTES 4

/* A known variable: efivarfs attributes, then the version-1 fixed part; the path follows when file is set. */
static size_t known_variable(uint8_t *v, uint32_t flags, const char *file)
{
	size_t n = ATTR_BYTES + 112;
	memset(v, 0, n);
	v[0] = 0x06; /* BOOTSERVICE_ACCESS | RUNTIME_ACCESS: what efivarfs puts first */
	uint8_t *p = v + ATTR_BYTES;
	p[0] = 1;                                       /* version */
	p[2] = 112;                                     /* fixed-part size */
	p[4] = (uint8_t)flags;
	for (int i = 0; i < 16; i++) {
		p[8 + i] = (uint8_t)i;                  /* VirtualDiskId */
		p[24 + i] = (uint8_t)(0x10 + i);        /* DataWriteGuid */
		p[40 + i] = (uint8_t)(0x20 + i);        /* FileWriteGuid */
		p[56 + i] = (uint8_t)(0xA0 + i);        /* partition GUID */
	}
	p[72] = 0x00, p[73] = 0x10;                     /* offset 4096 */
	p[80 + 3] = 0x40;                               /* virtual size 1 GiB */
	p[88] = 42;                                     /* sequence */
	p[96] = 3;                                      /* partition 3 */
	p[101] = 0x02;                                  /* 512-byte sectors */
	p[104 + 4] = 0x01;                              /* device size 4 GiB */
	if (file) {
		for (size_t i = 0; i <= strlen(file); i++) {
			v[n++] = (uint8_t)file[i];
			v[n++] = 0;
		}
	}
	return n;
}

/* host_handoff_print into a string; returns its exit code. */
static int print(const uint8_t *v, size_t len, char *out, size_t outlen, char *msg, size_t msglen)
{
	char *text = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&text, &size);
	if (!f)
		return -1;
	msg[0] = 0;
	int rc = host_handoff_print(f, v, len, msg, msglen);
	fclose(f);
	snprintf(out, outlen, "%s", text ? text : "");
	free(text);
	return rc;
}

static void printout(void)
{
	uint8_t v[1024];
	char out[2048], msg[512];

	size_t n = known_variable(v, 0x1 | 0x2 | 0x8, NULL); /* OS_WRITE, PARTITION, UPDATED */
	CHECK_EQ_INT(print(v, n, out, sizeof out, msg, sizeof msg), 0, "handoff print: a partition, OS may write");
	CHECK_STR_EQ(out,
		     "VHDX_DISK_ID=03020100-0504-0706-0809-0A0B0C0D0E0F\n"
		     "VHDX_DATA_WRITE_GUID=13121110-1514-1716-1819-1A1B1C1D1E1F\n"
		     "VHDX_FILE_WRITE_GUID=23222120-2524-2726-2829-2A2B2C2D2E2F\n"
		     "VHDX_PARTUUID=A3A2A1A0-A5A4-A7A6-A8A9-AAABACADAEAF\n"
		     "VHDX_PARTNO=3\n"
		     "VHDX_OFFSET=4096\n"
		     "VHDX_VIRTUAL_SIZE=1073741824\n"
		     "VHDX_OS_WRITE=yes\n"
		     "VHDX_UPDATED=yes\n"
		     "VHDX_EXPAND=no\n"
		     "VHDX_FILE=''\n",
		     "handoff print: every assignment of a known variable, in order");

	n = known_variable(v, 0x4, "\\vm\\root.vhdx"); /* FILE only */
	CHECK_EQ_INT(print(v, n, out, sizeof out, msg, sizeof msg), 0, "handoff print: a file image");
	CHECK_STR_CONTAINS(out, "VHDX_PARTUUID=\n", "handoff print: no PARTITION flag: VHDX_PARTUUID empty");
	CHECK_STR_CONTAINS(out, "VHDX_OS_WRITE=no\nVHDX_UPDATED=no\n", "handoff print: no flags: read-only, not updated");
	CHECK_STR_CONTAINS(out, "VHDX_FILE='/vm/root.vhdx'\n", "handoff print: the file path, FAT's \\ as /");

	n = known_variable(v, 0x1 | 0x8 | 0x10, NULL); /* OS_WRITE, UPDATED, EXPAND */
	CHECK_EQ_INT(print(v, n, out, sizeof out, msg, sizeof msg), 0, "handoff print: os-write = expand");
	CHECK_STR_CONTAINS(out, "VHDX_OS_WRITE=yes\nVHDX_UPDATED=yes\nVHDX_EXPAND=yes\n",
			   "handoff print: the EXPAND flag as VHDX_EXPAND=yes");
}

static void refusals(void)
{
	uint8_t v[1024];
	char out[2048], msg[512];
	size_t n;

	n = known_variable(v, 0x4, "\\a'b.vhdx");
	CHECK_EQ_INT(print(v, n, out, sizeof out, msg, sizeof msg), EXIT_BAD, "handoff print: a quote in the path");
	CHECK_STR_CONTAINS(msg, "not plain printable ASCII", "handoff print: ... refused, saying why");
	CHECK_STR_EQ(out, "", "handoff print: ... and nothing printed for eval");

	n = known_variable(v, 0x4, "\\a$(reboot).vhdx");
	CHECK_EQ_INT(print(v, n, out, sizeof out, msg, sizeof msg), EXIT_BAD, "handoff print: a $ in the path refused");

	n = known_variable(v, 0x4, "\\x.vhdx");
	v[ATTR_BYTES + 112 + 2] = 0xE9; /* 'é' as one UTF-16 unit */
	CHECK_EQ_INT(print(v, n, out, sizeof out, msg, sizeof msg), EXIT_BAD, "handoff print: a non-ASCII path refused");

	n = known_variable(v, 0, NULL);
	v[ATTR_BYTES] = 2;
	CHECK_EQ_INT(print(v, n, out, sizeof out, msg, sizeof msg), EXIT_BAD, "handoff print: version 2 refused");
	CHECK_STR_CONTAINS(msg, "version 2", "handoff print: ... naming the version");

	CHECK_EQ_INT(print(v, 3, out, sizeof out, msg, sizeof msg), EXIT_BAD, "handoff print: 3 bytes refused");
	CHECK_STR_CONTAINS(msg, "3 bytes", "handoff print: ... naming the length");
	n = known_variable(v, 0, NULL);
	CHECK_EQ_INT(print(v, n - 1, out, sizeof out, msg, sizeof msg), EXIT_BAD, "handoff print: 111 data bytes");
	CHECK_STR_CONTAINS(msg, "111 bytes", "handoff print: ... refused naming the length");
}

int main(void)
{
	printout();
	refusals();
	return t_done();
}
