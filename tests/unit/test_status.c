/* SPDX-License-Identifier: BSD-2-Clause */
/* test_status.c - core/status.c messages and core/io.c (the backend wrapper: bounds, read-only, statistics). */
#include "imgbuild.h"
#include "t.h"

static void messages(void)
{
	int distinct = 1;

	for (int s = 0; s < VHDX_STATUS_COUNT; s++) {
		const char *m = vhdx_status_message((vhdx_status)s);
		CHECK(m && *m, "status %d: has a non-empty message (\"%s\")", s, m ? m : "(null)");
		for (int t = 0; t < s; t++) {
			const char *o = vhdx_status_message((vhdx_status)t);
			if (m && o && strcmp(m, o) == 0)
				distinct = 0;
		}
	}
	CHECK(distinct, "status: all %d messages are distinct", VHDX_STATUS_COUNT);
	CHECK_STR_EQ(vhdx_status_message(VHDX_OK), "success", "status: VHDX_OK reads \"success\"");
	const char *u = vhdx_status_message(VHDX_STATUS_COUNT);
	CHECK(u && *u, "status: VHDX_STATUS_COUNT gets a non-empty fallback message");
	const char *u2 = vhdx_status_message((vhdx_status)-1);
	CHECK(u2 && *u2, "status: a negative status gets a non-empty fallback message");
	CHECK(u && strcmp(u, vhdx_status_message(VHDX_E_IO)) != 0, "status: the fallback is not the message of a real status");
	CHECK_EQ_INT(VHDX_OK, 0, "status: VHDX_OK is 0");
}

static struct vhdx_image img;

static void io_wrapper(void)
{
	struct membackend mb;
	uint8_t buf[64], data[64];

	mb_init(&mb, 4096);
	for (int i = 0; i < 4096; i++)
		mb.buf[i] = (uint8_t)i;
	memset(&img, 0, sizeof img);
	img.io = mb_io(&mb);
	img.file_size = mb.size; /* what vhdx_open sets */

	CHECK_STATUS(vhdx_pread(&img, 100, buf, 64, "thing"), VHDX_OK, "io pread: inside the file");
	CHECK(buf[0] == 100 && buf[63] == (uint8_t)163, "io pread: returns the bytes at the offset");
	CHECK(img.stats.reads == 1 && img.stats.read_bytes == 64, "io pread: counts one read of 64 bytes");
	CHECK_STATUS(vhdx_pread(&img, 4032, buf, 64, "thing"), VHDX_OK, "io pread: ending exactly at the end of the file");

	unsigned reads = mb.reads;
	CHECK_STATUS(vhdx_pread(&img, 4033, buf, 64, "the widget"), VHDX_E_CORRUPT, "io pread: one byte beyond the end");
	CHECK_STR_CONTAINS(img.msg, "the widget", "io pread: beyond the end names the structure");
	CHECK_STR_CONTAINS(img.msg, "beyond the end of the file", "io pread: beyond the end says so");
	CHECK_EQ_U64(mb.reads, reads, "io pread: beyond the end never calls the backend");
	CHECK_STATUS(vhdx_pread(&img, UINT64_MAX - 10, buf, 64, "x"), VHDX_E_CORRUPT, "io pread: offset + length overflows");

	mb.fail_read_at = mb.reads + 1;
	CHECK_STATUS(vhdx_pread(&img, 0, buf, 8, "the gadget"), VHDX_E_IO, "io pread: a failing backend read gives VHDX_E_IO");
	CHECK_STR_CONTAINS(img.msg, "the gadget", "io pread: the I/O failure names the structure");
	mb.fail_read_at = 0;

	/* vhdx_raw_read: the backend as it is, same bounds and failures */
	CHECK_STATUS(vhdx_raw_read(&img, 4000, buf, 64, "raw"), VHDX_OK, "io raw_read: inside the file");
	CHECK(buf[0] == (uint8_t)4000 && buf[63] == (uint8_t)4063, "io raw_read: returns the bytes at the offset");
	CHECK_STATUS(vhdx_raw_read(&img, 4040, buf, 64, "the raw thing"), VHDX_E_CORRUPT, "io raw_read: beyond the end");
	CHECK_STR_CONTAINS(img.msg, "the raw thing", "io raw_read: beyond the end names the structure");
	mb.fail_read_at = mb.reads + 1;
	CHECK_STATUS(vhdx_raw_read(&img, 0, buf, 8, "raw"), VHDX_E_IO, "io raw_read: a failing backend read gives VHDX_E_IO");
	mb.fail_read_at = 0;

	/* vhdx_pread past the backing file but inside file_size (a log that grows the file) reads zeros */
	img.file_size = 8192;
	memset(buf, 0xCC, sizeof buf);
	CHECK_STATUS(vhdx_pread(&img, 4064, buf, 64, "grown"), VHDX_OK, "io pread: across the backing end inside file_size");
	CHECK(buf[0] == (uint8_t)4064 && buf[31] == (uint8_t)4095 && buf[32] == 0 && buf[63] == 0,
	      "io pread: the part beyond the backing file reads as zeros");
	CHECK_STATUS(vhdx_pread(&img, 8160, buf, 64, "grown"), VHDX_E_CORRUPT, "io pread: beyond file_size refused");
	img.file_size = mb.size;

	memset(data, 0xAB, sizeof data);
	CHECK_STATUS(vhdx_pwrite(&img, 10, data, 64, "blob"), VHDX_OK, "io pwrite: inside the file");
	CHECK(mb.buf[10] == 0xAB && mb.buf[73] == 0xAB && mb.buf[74] == 74, "io pwrite: writes exactly those bytes");
	CHECK(img.stats.writes == 1 && img.stats.write_bytes == 64, "io pwrite: counts one write of 64 bytes");
	unsigned writes = mb.writes;
	CHECK_STATUS(vhdx_pwrite(&img, 4090, data, 64, "blob"), VHDX_E_ARG, "io pwrite: beyond the end of the file");
	CHECK_EQ_U64(mb.writes, writes, "io pwrite: beyond the end never calls the backend");
	mb.fail_write_at = mb.writes + 1;
	CHECK_STATUS(vhdx_pwrite(&img, 0, data, 8, "blob"), VHDX_E_IO, "io pwrite: a failing backend write gives VHDX_E_IO");
	mb.fail_write_at = 0;

	mb.read_only = 1;
	mb_io(&mb);
	writes = mb.writes;
	CHECK_STATUS(vhdx_pwrite(&img, 0, data, 8, "blob"), VHDX_E_READONLY, "io pwrite: read-only medium refused");
	CHECK_STR_CONTAINS(img.msg, "read-only", "io pwrite: the refusal says read-only");
	CHECK_EQ_U64(mb.writes, writes, "io pwrite: read-only never calls the backend");
	mb.read_only = 0;
	mb_io(&mb);
	struct vhdx_io saved = mb.io;
	mb.io.write = NULL;
	CHECK_STATUS(vhdx_pwrite(&img, 0, data, 8, "blob"), VHDX_E_READONLY, "io pwrite: a backend without write is read-only");
	mb.io = saved;

	CHECK_STATUS(vhdx_flush(&img), VHDX_OK, "io flush: succeeds");
	CHECK_EQ_U64(img.stats.flushes, 1, "io flush: counted");
	mb.fail_flush_at = mb.flushes + 1;
	CHECK_STATUS(vhdx_flush(&img), VHDX_E_IO, "io flush: a failing backend flush gives VHDX_E_IO");
	CHECK_STR_CONTAINS(img.msg, "flush", "io flush: the failure names the flush");
	mb.fail_flush_at = 0;
	mb.io.flush = NULL;
	CHECK_STATUS(vhdx_flush(&img), VHDX_OK, "io flush: a backend without flush succeeds");
	mb.io = saved;
	mb_free(&mb);
}

int main(void)
{
	messages();
	io_wrapper();
	return t_done();
}
