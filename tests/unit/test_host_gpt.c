/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_host_gpt.c - host/gpt.c: the GPT inside a virtual disk.  A GPT is laid out here, byte by byte as the UEFI
 * specification defines it, on an 8 MiB disk (checked with sgdisk -v when sgdisk is installed), put into a VHDX
 * built in memory, and read back through vhdx_read: its partitions, the selections `vhdx map --partition` takes,
 * the backup used when the primary is damaged, and the refusals of a bad table.
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "../../host/gpt.h"
#include "../../host/host.h"
#include "imgbuild.h"
#include "t.h"

#define SECTOR 512
#define DISK_BYTES (8ull << 20)
#define DISK_LBAS (DISK_BYTES / SECTOR)
#define ENTRIES 128
#define ENTRY_SIZE 128
#define ARRAY_LBAS (ENTRIES * ENTRY_SIZE / SECTOR)      /* 32 */
#define FIRST_USABLE (2 + ARRAY_LBAS)                   /* 34 */
#define LAST_USABLE (DISK_LBAS - 2 - ARRAY_LBAS)        /* 16350 */

#define ESP_TYPE "C12A7328-F81F-11D2-BA4B-00A0C93EC93B"
#if defined(__x86_64__)
#define ROOT_TYPE "4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709"
#elif defined(__aarch64__)
#define ROOT_TYPE "B921B045-1DF0-41C3-AF44-4C6F280D3FAE"
#elif defined(__i386__)
#define ROOT_TYPE "44479540-F297-41B2-9AF7-D131D5F0458A"
#endif
#define ESP_UUID "11111111-2222-3333-4444-555555555555"
#define ROOT_UUID "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"

/* CRC-32 (IEEE 802.3) by table, written apart from gpt.c's bitwise one; checked against the standard check value. */
static uint32_t crc_table[256];
static uint32_t crc32(const uint8_t *p, size_t n)
{
	if (!crc_table[1])
		for (uint32_t i = 0; i < 256; i++) {
			uint32_t c = i;
			for (int k = 0; k < 8; k++)
				c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
			crc_table[i] = c;
		}
	uint32_t c = 0xFFFFFFFFu;
	while (n--)
		c = crc_table[(c ^ *p++) & 0xFF] ^ (c >> 8);
	return c ^ 0xFFFFFFFFu;
}

static void put_guid(uint8_t *p, const char *text)
{
	struct vhdx_guid g;
	vhdx_guid_parse(text, strlen(text), &g);
	vhdx_guid_store(p, &g);
}

static void entry(uint8_t *disk, unsigned slot, const char *type, const char *uuid, uint64_t first, uint64_t last,
		  const char *name)
{
	uint8_t *e = disk + 2 * SECTOR + (size_t)slot * ENTRY_SIZE;
	put_guid(e, type);
	put_guid(e + 16, uuid);
	vhdx_put64(e + 32, first);
	vhdx_put64(e + 40, last);
	vhdx_put64(e + 48, 0);
	for (size_t i = 0; name[i]; i++)
		vhdx_put16(e + 56 + 2 * i, (uint8_t)name[i]);
}

/* Header copy at lba (its array at array_lba), CRCs computed. */
static void header(uint8_t *disk, uint64_t lba, uint64_t alt, uint64_t array_lba)
{
	uint8_t *h = disk + lba * SECTOR;
	memset(h, 0, SECTOR);
	memcpy(h, "EFI PART", 8);
	vhdx_put32(h + 8, 0x00010000);
	vhdx_put32(h + 12, 92);
	vhdx_put64(h + 24, lba);
	vhdx_put64(h + 32, alt);
	vhdx_put64(h + 40, FIRST_USABLE);
	vhdx_put64(h + 48, LAST_USABLE);
	put_guid(h + 56, "01234567-89AB-CDEF-0123-456789ABCDEF");
	vhdx_put64(h + 72, array_lba);
	vhdx_put32(h + 80, ENTRIES);
	vhdx_put32(h + 84, ENTRY_SIZE);
	vhdx_put32(h + 88, crc32(disk + 2 * SECTOR, ENTRIES * ENTRY_SIZE));
	vhdx_put32(h + 16, crc32(h, 92));
}

/* Both copies of the table whose entries are at LBA 2: the backup array is a copy, then the headers. */
static void seal(uint8_t *disk)
{
	memcpy(disk + (LAST_USABLE + 1) * SECTOR, disk + 2 * SECTOR, ENTRIES * ENTRY_SIZE);
	header(disk, 1, DISK_LBAS - 1, 2);
	header(disk, DISK_LBAS - 1, 1, LAST_USABLE + 1);
}

static uint8_t *standard_disk(void)
{
	uint8_t *disk = calloc(1, DISK_BYTES);
	entry(disk, 0, ESP_TYPE, ESP_UUID, 2048, 4095, "EFI system");
	entry(disk, 1, ROOT_TYPE, ROOT_UUID, 4096, LAST_USABLE - 1, "root");
	seal(disk);
	return disk;
}

/* The disk as a VHDX: the blocks holding the two tables present, the rest absent (reads zero, as the disk is). */
static struct ib b;
static struct membackend mb;
static struct vhdx_image img;

static int open_disk(const uint8_t *disk, const char *name)
{
	memset(&b, 0, sizeof b);
	if (ib_build(&b, NULL))
		return 0;
	uint64_t first = ib_alloc_block(&b, 0), last = ib_alloc_block(&b, 7);
	memcpy(b.buf + first, disk, 1u << 20);
	memcpy(b.buf + last, disk + (7u << 20), 1u << 20);
	const char *r = ib_opened(&b, &img, &mb);
	t_report(!r, r, "%s: the VHDX opens", name);
	if (r) {
		mb_free(&mb);
		ib_free(&b);
	}
	return !r;
}

static void close_disk(void)
{
	vhdx_close(&img);
	mb_free(&mb);
	ib_free(&b);
}

/* sgdisk's opinion of the raw disk, when sgdisk is installed: the fixture is a real GPT. */
static void sgdisk_verifies(const uint8_t *disk)
{
	if (system("command -v sgdisk >/dev/null 2>&1")) {
		T_SKIP("gpt fixture: sgdisk -v", "sgdisk not installed");
		return;
	}
	char path[] = "/tmp/test_host_gpt.XXXXXX", cmd[256], out[4096] = "";
	int fd = mkstemp(path);
	if (fd < 0 || write(fd, disk, DISK_BYTES) != (ssize_t)DISK_BYTES) {
		CHECK(0, "gpt fixture: a temporary file for sgdisk");
		return;
	}
	close(fd);
	snprintf(cmd, sizeof cmd, "sgdisk -v %s 2>&1; sgdisk -i 2 %s 2>&1", path, path);
	FILE *p = popen(cmd, "r");
	size_t n = p ? fread(out, 1, sizeof out - 1, p) : 0;
	out[n] = 0;
	if (p)
		pclose(p);
	unlink(path);
	CHECK_STR_CONTAINS(out, "No problems found", "gpt fixture: sgdisk -v finds no problem with the table built here");
	CHECK_STR_CONTAINS(out, "Partition unique GUID: AAAAAAAA-BBBB-CCCC-DDDD-EEEEEEEEEEEE",
			   "gpt fixture: sgdisk reads partition 2's unique GUID");
}

static void read_table(void)
{
	uint8_t *disk = standard_disk();
	struct host_gpt gpt;
	char msg[512];

	CHECK_EQ_HEX(crc32((const uint8_t *)"123456789", 9), 0xCBF43926u, "crc32 of the test: the standard check value");
	sgdisk_verifies(disk);
	if (!open_disk(disk, "gpt")) {
		free(disk);
		return;
	}
	CHECK_EQ_INT(host_gpt_read(&img, &gpt, msg, sizeof msg), 0, "gpt read: the table is read (%s)", msg);
	CHECK_EQ_INT(gpt.used_backup, 0, "gpt read: the primary serves");
	CHECK_EQ_U64(gpt.sector, SECTOR, "gpt read: 512-byte sectors");
	if (CHECK_EQ_U64(gpt.count, 2, "gpt read: two used entries of 128")) {
		struct vhdx_guid g;
		char t[VHDX_GUID_TEXT];
		CHECK_EQ_U64(gpt.part[0].index, 1, "gpt read: entry 1's index");
		CHECK_EQ_U64(gpt.part[0].first_lba, 2048, "gpt read: entry 1's first LBA");
		CHECK_EQ_U64(gpt.part[0].last_lba, 4095, "gpt read: entry 1's last LBA");
		CHECK_STR_EQ(gpt.part[0].name, "EFI system", "gpt read: entry 1's name");
		vhdx_guid_parse(ESP_TYPE, strlen(ESP_TYPE), &g);
		CHECK(vhdx_guid_equal(&gpt.part[0].type, &g), "gpt read: entry 1's type GUID");
		CHECK_EQ_U64(gpt.part[1].index, 2, "gpt read: entry 2's index");
		CHECK_EQ_U64(gpt.part[1].first_lba, 4096, "gpt read: entry 2's first LBA");
		CHECK_EQ_U64(gpt.part[1].last_lba, LAST_USABLE - 1, "gpt read: entry 2's last LBA");
		CHECK_STR_EQ(gpt.part[1].name, "root", "gpt read: entry 2's name");
		vhdx_guid_format(&gpt.part[1].uuid, t);
		CHECK_STR_EQ(t, "AAAAAAAA-BBBB-CCCC-DDDD-EEEEEEEEEEEE", "gpt read: entry 2's unique GUID");

		static const struct { const char *sel; unsigned index; } picks[] = {
			{ "1", 1 }, { "2", 2 }, { "esp", 1 }, { "root", 2 }, { ROOT_UUID, 2 }, { "{" ESP_UUID "}", 1 },
		};
		for (size_t i = 0; i < sizeof picks / sizeof picks[0]; i++) {
			const struct host_gpt_part *p = host_gpt_select(&gpt, picks[i].sel, msg, sizeof msg);
			CHECK(p && p->index == picks[i].index, "gpt select '%s': partition %u", picks[i].sel,
			      picks[i].index);
		}
		static const struct { const char *sel, *why; } misses[] = {
			{ "3", "partition 3: no such partition in the GPT (2 used entries)" },
			{ "usr", "partition 'usr': no partition of type" },
			{ "12345678-1234-1234-1234-123456789abc", "no partition with that PARTUUID" },
			{ "2x", "not a number, a PARTUUID, root, usr or esp" },
		};
		for (size_t i = 0; i < sizeof misses / sizeof misses[0]; i++) {
			msg[0] = 0;
			CHECK(!host_gpt_select(&gpt, misses[i].sel, msg, sizeof msg), "gpt select '%s': none",
			      misses[i].sel);
			CHECK_STR_CONTAINS(msg, misses[i].why, "gpt select '%s': the reason", misses[i].sel);
		}
		host_gpt_free(&gpt);
	}
	uint64_t off = 0, len = 0;
	CHECK_EQ_INT(host_gpt_partition(&img, "disk", "root", &off, &len), 0, "gpt partition root");
	CHECK_EQ_U64(off, 4096ull * SECTOR, "gpt partition root: byte offset");
	CHECK_EQ_U64(len, (LAST_USABLE - 4096ull) * SECTOR, "gpt partition root: byte length");
	close_disk();
	free(disk);
}

static void damaged(void)
{
	struct host_gpt gpt;
	char msg[512];
	uint8_t *disk = standard_disk();

	disk[SECTOR + 40] ^= 1; /* FirstUsableLBA of the primary, its CRC now wrong */
	if (open_disk(disk, "gpt primary damaged")) {
		CHECK_EQ_INT(host_gpt_read(&img, &gpt, msg, sizeof msg), 0, "gpt primary damaged: read (%s)", msg);
		CHECK_EQ_INT(gpt.used_backup, 1, "gpt primary damaged: the backup at the last LBA serves");
		CHECK(gpt.count == 2 && gpt.part[1].first_lba == 4096, "gpt primary damaged: the backup's entries");
		host_gpt_free(&gpt);
		close_disk();
	}
	disk[(DISK_LBAS - 1) * SECTOR + 40] ^= 1;
	if (open_disk(disk, "gpt both damaged")) {
		CHECK_EQ_INT(host_gpt_read(&img, &gpt, msg, sizeof msg), -1, "gpt both damaged: refused");
		CHECK_STR_CONTAINS(msg, "GPT primary header: HeaderCRC32 0x", "gpt both damaged: the primary's CRC named");
		CHECK_STR_CONTAINS(msg, "(the backup is no better)", "gpt both damaged: ... and the backup's state");
		close_disk();
	}
	free(disk);

	disk = standard_disk();
	entry(disk, 1, ROOT_TYPE, ROOT_UUID, 4096, LAST_USABLE + 1, "root");
	seal(disk);
	if (open_disk(disk, "gpt entry beyond the usable LBAs")) {
		CHECK_EQ_INT(host_gpt_read(&img, &gpt, msg, sizeof msg), -1, "gpt entry beyond the usable LBAs: refused");
		CHECK_STR_CONTAINS(msg, "entry 2: LBAs 4096..16351 outside the usable 34..16350",
				   "gpt entry beyond the usable LBAs: entry and values named");
		close_disk();
	}
	free(disk);

	disk = standard_disk();
	entry(disk, 0, ROOT_TYPE, ESP_UUID, 2048, 4095, "second root");
	seal(disk);
	if (open_disk(disk, "gpt two roots")) {
		if (CHECK_EQ_INT(host_gpt_read(&img, &gpt, msg, sizeof msg), 0, "gpt two roots: read")) {
			CHECK(!host_gpt_select(&gpt, "root", msg, sizeof msg), "gpt two roots: 'root' is ambiguous");
			CHECK_STR_CONTAINS(msg, "both 1 and 2 have type", "gpt two roots: both partitions named");
			host_gpt_free(&gpt);
		}
		close_disk();
	}
	free(disk);

	disk = standard_disk();
	vhdx_put32(disk + SECTOR + 84, 96); /* SizeOfPartitionEntry below 128 in both headers */
	vhdx_put32(disk + SECTOR + 16, 0);
	vhdx_put32(disk + SECTOR + 16, crc32(disk + SECTOR, 92));
	memcpy(disk + (DISK_LBAS - 1) * SECTOR + 84, disk + SECTOR + 84, 4);
	vhdx_put32(disk + (DISK_LBAS - 1) * SECTOR + 16, 0);
	vhdx_put32(disk + (DISK_LBAS - 1) * SECTOR + 16, crc32(disk + (DISK_LBAS - 1) * SECTOR, 92));
	if (open_disk(disk, "gpt entry size 96")) {
		CHECK_EQ_INT(host_gpt_read(&img, &gpt, msg, sizeof msg), -1, "gpt entry size 96: refused");
		CHECK_STR_CONTAINS(msg, "128 entries of 96 bytes", "gpt entry size 96: count and size named");
		close_disk();
	}
	free(disk);
}

/* A real disk's bytes through host_gpt_read_disk, as `vhdx find` reads a partition's parent disk. */
struct raw_ctx {
	const uint8_t *disk;
	unsigned reads, outside;
	uint64_t fail_at; /* a read starting here fails (0: none) */
};

static int raw_read(void *ctx, uint64_t off, void *buf, size_t len, char *why, size_t whylen)
{
	struct raw_ctx *c = ctx;

	c->reads++;
	if (off > DISK_BYTES || len > DISK_BYTES - off) {
		c->outside++;
		snprintf(why, whylen, "outside the disk");
		return -1;
	}
	if (c->fail_at && off == c->fail_at) {
		snprintf(why, whylen, "test I/O error");
		return -1;
	}
	memcpy(buf, c->disk + off, len);
	return 0;
}

static void raw_disk(void)
{
	uint8_t *disk = standard_disk();
	struct raw_ctx c = { disk, 0, 0, 0 };
	struct host_gpt_disk d = { SECTOR, DISK_BYTES, raw_read, &c };
	struct host_gpt gpt;
	char msg[512];

	if (CHECK_EQ_INT(host_gpt_read_disk(&d, &gpt, msg, sizeof msg), 0, "gpt raw disk: read (%s)", msg)) {
		CHECK(gpt.count == 2 && gpt.part[1].index == 2 && gpt.part[1].first_lba == 4096 && !gpt.used_backup,
		      "gpt raw disk: the two partitions, from the primary");
		host_gpt_free(&gpt);
	}
	disk[SECTOR + 16] ^= 1; /* the primary's HeaderCRC32 */
	if (CHECK_EQ_INT(host_gpt_read_disk(&d, &gpt, msg, sizeof msg), 0, "gpt raw disk, primary damaged: read")) {
		CHECK(gpt.used_backup && gpt.count == 2, "gpt raw disk, primary damaged: the backup serves");
		host_gpt_free(&gpt);
	}
	disk[SECTOR + 16] ^= 1;
	c.fail_at = 2ull * SECTOR; /* the primary's entry array */
	CHECK_EQ_INT(host_gpt_read_disk(&d, &gpt, msg, sizeof msg), 0, "gpt raw disk, primary array unreadable: read");
	CHECK(gpt.used_backup, "gpt raw disk, primary array unreadable: the backup serves");
	host_gpt_free(&gpt);
	c.fail_at = (uint64_t)(DISK_LBAS - 1) * SECTOR;
	disk[SECTOR + 16] ^= 1;
	msg[0] = 0;
	CHECK_EQ_INT(host_gpt_read_disk(&d, &gpt, msg, sizeof msg), -1, "gpt raw disk, both unusable: refused");
	CHECK_STR_CONTAINS(msg, "GPT primary header: HeaderCRC32", "gpt raw disk, both unusable: the primary's reason");
	c.fail_at = 0;
	d.size = 2 * SECTOR;
	msg[0] = 0;
	CHECK_EQ_INT(host_gpt_read_disk(&d, &gpt, msg, sizeof msg), -1, "gpt raw disk of two sectors: refused");
	CHECK_STR_CONTAINS(msg, "too small", "gpt raw disk of two sectors: the reason");
	CHECK_EQ_U64(c.outside, 0, "gpt raw disk: no read outside the disk (%u reads)", c.reads);
	free(disk);
}

int main(void)
{
	read_table();
	damaged();
	raw_disk();
	return t_done();
}
