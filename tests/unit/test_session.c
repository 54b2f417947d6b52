/* SPDX-License-Identifier: BSD-2-Clause */
/* test_session.c - vhdx_session_update (core/header.c): the exact bytes, the order of writes, every refusal, faults. */
#include "imgbuild.h"
#include "t.h"

static struct vhdx_image img;
static struct membackend mb;
static struct ib b;

/* a trace of the backend calls: 'W' + offset/length, 'F' */
struct ev {
	char kind;
	uint64_t off;
	size_t len;
};
static struct ev trace[64];
static unsigned ntrace;
static int (*real_write)(void *, uint64_t, const void *, size_t);
static int (*real_flush)(void *);

static int tr_write(void *ctx, uint64_t off, const void *buf, size_t len)
{
	if (ntrace < 64)
		trace[ntrace++] = (struct ev){ 'W', off, len };
	return real_write(ctx, off, buf, len);
}
static int tr_flush(void *ctx)
{
	if (ntrace < 64)
		trace[ntrace++] = (struct ev){ 'F', 0, 0 };
	return real_flush(ctx);
}

static const uint8_t rnd[32] = { 0x10, 0x32, 0x54, 0x76, 0x98, 0xBA, 0xDC, 0xFE, 0x01, 0x23, 0x45, 0x67, 0x89, 0xAB, 0xCD, 0xEF,
				 0xF0, 0xE1, 0xD2, 0xC3, 0xB4, 0xA5, 0x96, 0x87, 0x78, 0x69, 0x5A, 0x4B, 0x3C, 0x2D, 0x1E, 0x0F };

static void fresh(void)
{
	ib_free(&b);
	ib_build(&b, NULL);
	/* reserved bytes of both header blocks carry a pattern that must survive */
	for (int i = 0; i < 2; i++) {
		for (size_t k = 80; k < VHDX_HEADER_SIZE; k++)
			ib_hdr(&b, i)[k] = (uint8_t)(k * 7 + 3);
		ib_hdr_fix(&b, i);
	}
}

/* opens b with the trace installed; 1 on success */
static int open_traced(const char *name)
{
	const char *r = ib_opened(&b, &img, &mb);
	t_report(!r, r, "%s: opens", name);
	if (r) {
		mb_free(&mb);
		return 0;
	}
	real_write = mb.io.write;
	real_flush = mb.io.flush;
	mb.io.write = tr_write;
	mb.io.flush = tr_flush;
	ntrace = 0;
	mb_reset_counters(&mb);
	return 1;
}

static void done(void)
{
	vhdx_close(&img);
	mb_free(&mb);
}

/* opens the backend's current bytes afresh; reason or NULL */
static const char *reopen(struct vhdx_image *out, struct membackend *m2)
{
	static char why[VHDX_MSG_LEN + 128];
	if (mb_init_copy(m2, mb.buf, mb.size))
		return "no memory";
	memset(out, 0, sizeof *out);
	vhdx_status st = vhdx_open(out, mb_io(m2));
	if (st) {
		snprintf(why, sizeof why, "reopen: %s", out->msg);
		mb_free(m2);
		return why;
	}
	return NULL;
}

/* the session from a current header in slot `cur` with sequence `seq` */
static void exact(const char *name, int cur, uint64_t seq)
{
	uint8_t before[2][VHDX_HEADER_SIZE];
	struct vhdx_image r;
	struct membackend m2;
	struct vhdx_guid fw;

	if (!open_traced(name))
		return;
	CHECK_EQ_INT(img.current, cur, "%s: header %d is current before", name, cur + 1);
	memcpy(before[0], mb.buf + VHDX_HEADER1_OFFSET, VHDX_HEADER_SIZE);
	memcpy(before[1], mb.buf + VHDX_HEADER2_OFFSET, VHDX_HEADER_SIZE);
	uint8_t *copy = malloc(mb.size);
	memcpy(copy, mb.buf, mb.size);

	CHECK_STATUS(vhdx_session_update(&img, rnd), VHDX_OK, "%s: succeeds", name);
	CHECK(ntrace == 4 && trace[0].kind == 'W' && trace[1].kind == 'F' && trace[2].kind == 'W' && trace[3].kind == 'F',
	      "%s: exactly write, flush, write, flush (%u calls)", name, ntrace);
	uint64_t first = cur ? VHDX_HEADER1_OFFSET : VHDX_HEADER2_OFFSET, second = cur ? VHDX_HEADER2_OFFSET : VHDX_HEADER1_OFFSET;
	CHECK(ntrace == 4 && trace[0].off == first && trace[0].len == VHDX_HEADER_SIZE && trace[2].off == second &&
		      trace[2].len == VHDX_HEADER_SIZE,
	      "%s: the non-current slot first, then the current one, 4 KiB each", name);
	CHECK_EQ_U64(mb.writes_after_flush, 0, "%s: the last write is flushed", name);
	CHECK_MEM_EQ(mb.buf + VHDX_HEADER2_OFFSET + VHDX_HEADER_SIZE, copy + VHDX_HEADER2_OFFSET + VHDX_HEADER_SIZE,
		     mb.size - VHDX_HEADER2_OFFSET - VHDX_HEADER_SIZE, "%s: nothing after header 2 changed", name);
	CHECK_MEM_EQ(mb.buf, copy, VHDX_HEADER1_OFFSET, "%s: the file identifier is untouched", name);
	CHECK_MEM_EQ(mb.buf + VHDX_HEADER1_OFFSET + VHDX_HEADER_SIZE, copy + VHDX_HEADER1_OFFSET + VHDX_HEADER_SIZE,
		     VHDX_HEADER2_OFFSET - VHDX_HEADER1_OFFSET - VHDX_HEADER_SIZE, "%s: the rest of slot 1 is untouched", name);
	free(copy);

	struct vhdx_header h[2];
	vhdx_header_parse(&h[0], mb.buf + VHDX_HEADER1_OFFSET);
	vhdx_header_parse(&h[1], mb.buf + VHDX_HEADER2_OFFSET);
	vhdx_guid_from_random(&fw, rnd);
	CHECK(h[!cur].sequence == seq + 1 && h[cur].sequence == seq + 2, "%s: sequences %llu (slot %d) and %llu (slot %d)", name,
	      (unsigned long long)seq + 1, !cur + 1, (unsigned long long)seq + 2, cur + 1);
	struct vhdx_guid dw = ib_guid(2);
	int g_ok = 1, keep_ok = 1;
	for (int i = 0; i < 2; i++) {
		uint8_t *blk = mb.buf + (i ? VHDX_HEADER2_OFFSET : VHDX_HEADER1_OFFSET);
		if (!vhdx_guid_equal(&h[i].file_write_guid, &fw) || (h[i].file_write_guid.data3 >> 12) != 4 ||
		    (h[i].file_write_guid.data4[0] & 0xC0) != 0x80)
			g_ok = 0;
		if (!vhdx_guid_equal(&h[i].data_write_guid, &dw) || !vhdx_guid_is_zero(&h[i].log_guid) ||
		    h[i].log_length != VHDX_MiB || h[i].log_offset != VHDX_MiB || h[i].version != 1 || h[i].log_version != 0)
			keep_ok = 0;
		if (memcmp(blk + 80, before[cur] + 80, VHDX_HEADER_SIZE - 80))
			keep_ok = 0;
		if (vhdx_le32(blk + 4) != vhdx_struct_crc(blk, VHDX_HEADER_SIZE, 4))
			g_ok = 0;
	}
	CHECK(g_ok, "%s: both copies carry FileWriteGuid v4 from random[0..15] and a valid checksum", name);
	CHECK(keep_ok, "%s: DataWriteGuid, LogGuid, log fields, Version and the reserved bytes 80..4095 kept", name);
	CHECK(img.current == cur && img.header[cur].sequence == seq + 2 && img.header[!cur].sequence == seq + 1 &&
		      img.header_valid[0] && img.header_valid[1],
	      "%s: the image struct follows (current slot %d)", name, cur + 1);

	const char *why = reopen(&r, &m2);
	t_report(!why, why, "%s: the result opens", name);
	if (!why) {
		CHECK(r.header_valid[0] && r.header_valid[1] && r.current == cur && r.warnings == 0,
		      "%s: reopened: both headers valid, slot %d current, no warnings", name, cur + 1);
		vhdx_close(&r);
		mb_free(&m2);
	}
	/* a second session on the same image */
	ntrace = 0;
	uint8_t rnd2[32];
	memset(rnd2, 0x3C, sizeof rnd2);
	CHECK_STATUS(vhdx_session_update(&img, rnd2), VHDX_OK, "%s: a second session succeeds", name);
	vhdx_header_parse(&h[0], mb.buf + VHDX_HEADER1_OFFSET);
	vhdx_header_parse(&h[1], mb.buf + VHDX_HEADER2_OFFSET);
	vhdx_guid_from_random(&fw, rnd2);
	CHECK(ntrace == 4 && h[!cur].sequence == seq + 3 && h[cur].sequence == seq + 4 &&
		      vhdx_guid_equal(&h[0].file_write_guid, &fw) && vhdx_guid_equal(&h[1].file_write_guid, &fw),
	      "%s: the second session raises to %llu/%llu with its own FileWriteGuid", name, (unsigned long long)seq + 3,
	      (unsigned long long)seq + 4);
	done();
}

static void exact_cases(void)
{
	fresh();
	exact("session (header 2 current)", 1, IB_SEQ2);
	fresh();
	vhdx_put64(ib_hdr(&b, 0) + VHDX_HDR_SEQUENCE, 100);
	ib_hdr_fix(&b, 0);
	exact("session (header 1 current)", 0, 100);
	fresh();
	ib_hdr(&b, 0)[3000] ^= 1; /* header 1 invalid */
	exact("session (only header 2 valid)", 1, IB_SEQ2);
	fresh();
	memcpy(ib_hdr(&b, 1), ib_hdr(&b, 0), VHDX_HEADER_SIZE);
	exact("session (equal, identical copies)", 0, IB_SEQ1);
	fresh();
	vhdx_put64(ib_hdr(&b, 1) + VHDX_HDR_SEQUENCE, UINT64_MAX - 2);
	ib_hdr_fix(&b, 1);
	if (open_traced("session at UINT64_MAX - 2")) {
		CHECK_STATUS(vhdx_session_update(&img, rnd), VHDX_OK, "session at UINT64_MAX - 2: allowed (reaches UINT64_MAX)");
		CHECK(vhdx_le64(mb.buf + VHDX_HEADER1_OFFSET + 8) == UINT64_MAX - 1 &&
			      vhdx_le64(mb.buf + VHDX_HEADER2_OFFSET + 8) == UINT64_MAX,
		      "session at UINT64_MAX - 2: sequences UINT64_MAX - 1 and UINT64_MAX");
		CHECK_STATUS(vhdx_session_update(&img, rnd), VHDX_E_SEQUENCE, "session at UINT64_MAX: a further session refused");
		done();
	}
}

/* a refusal: status, message fragments, no write or flush, nothing changed */
static void refusal(const char *name, vhdx_status want, const char *f1, const char *f2)
{
	uint8_t *copy = malloc(mb.size);
	memcpy(copy, mb.buf, mb.size);
	ntrace = 0;
	mb_reset_counters(&mb);
	CHECK_STATUS(vhdx_session_update(&img, rnd), want, "%s: refused", name);
	CHECK_STR_CONTAINS(img.msg, f1, "%s: message names it", name);
	if (f2)
		CHECK_STR_CONTAINS(img.msg, f2, "%s: message says why", name);
	CHECK(mb.writes == 0 && mb.flushes == 0 && ntrace == 0, "%s: no write and no flush (%u, %u)", name, mb.writes, mb.flushes);
	CHECK_MEM_EQ(mb.buf, copy, mb.size, "%s: the file is unchanged", name);
	CHECK_EQ_U64(mb.alloc_bytes_live, 0 + (img.batwin ? img.batwin_cap * sizeof(uint64_t) : 0),
		     "%s: no memory kept", name);
	free(copy);
}

static void refusals(void)
{
	fresh();
	if (open_traced("session read-only")) {
		mb.read_only = 1;
		mb_io(&mb);
		mb.io.write = tr_write;
		refusal("session read-only", VHDX_E_READONLY, "session update", "read-only");
		done();
	}
	fresh();
	vhdx_put64(ib_hdr(&b, 1) + VHDX_HDR_SEQUENCE, UINT64_MAX - 1);
	ib_hdr_fix(&b, 1);
	if (open_traced("session sequence UINT64_MAX - 1")) {
		refusal("session sequence UINT64_MAX - 1", VHDX_E_SEQUENCE, "header 2: SequenceNumber 18446744073709551614",
			"nothing was written");
		done();
	}
	fresh();
	vhdx_put64(ib_hdr(&b, 1) + VHDX_HDR_SEQUENCE, UINT64_MAX);
	ib_hdr_fix(&b, 1);
	if (open_traced("session sequence UINT64_MAX")) {
		refusal("session sequence UINT64_MAX", VHDX_E_SEQUENCE, "SequenceNumber 18446744073709551615", NULL);
		done();
	}
	fresh();
	struct vhdx_guid lg = ib_guid(77);
	ib_set_log_guid(&b, &lg);
	ib_log_entry(&b, 0, 1, 0, &lg, NULL, 0, 0, 0);
	if (open_traced("session with a log pending")) {
		CHECK_EQ_INT(img.log_pending, 1, "session with a log pending: log_pending after open");
		CHECK(ib_warned(&img, "LogGuid"), "session with a log pending: open warned");
		refusal("session with a log pending", VHDX_E_LOG_PENDING, "LogGuid 1122334D-", "replayed");
		done();
	}
	fresh();
	if (open_traced("session after the header changed on disk")) {
		mb.buf[VHDX_HEADER2_OFFSET + 2000] ^= 0xFF;
		refusal("session after the header changed on disk", VHDX_E_CORRUPT, "header 2", "changed on disk");
		done();
	}
	fresh();
	if (open_traced("session without memory")) {
		mb.fail_alloc_at = mb.allocs + 1;
		refusal("session without memory", VHDX_E_NOMEM, "header", "memory");
		done();
	}
	fresh();
	if (open_traced("session after close")) {
		vhdx_close(&img);
		refusal("session after close", VHDX_E_STATE, "session update", "not opened");
		mb_free(&mb);
	}
	/* never opened */
	static struct vhdx_image never;
	memset(&never, 0, sizeof never);
	struct membackend m3;
	mb_init(&m3, 4096);
	never.io = mb_io(&m3);
	CHECK_STATUS(vhdx_session_update(&never, rnd), VHDX_E_STATE, "session never opened: refused with VHDX_E_STATE");
	CHECK_EQ_U64(m3.writes + m3.flushes, 0, "session never opened: nothing written");
	mb_free(&m3);
	/* a failed open leaves an image that refuses too */
	fresh();
	vhdx_put32(b.buf, 0);
	mb_init_copy(&m3, b.buf, b.size);
	memset(&never, 0, sizeof never);
	CHECK(vhdx_open(&never, mb_io(&m3)) != VHDX_OK, "session after a failed open: the open failed");
	CHECK_STATUS(vhdx_session_update(&never, rnd), VHDX_E_STATE, "session after a failed open: refused with VHDX_E_STATE");
	CHECK_EQ_U64(m3.writes + m3.flushes, 0, "session after a failed open: nothing written");
	mb_free(&m3);
}

/* a fault on the n-th write or flush: VHDX_E_IO, and the file still opens with a valid current header */
static void faults(void)
{
	static const struct {
		int write;
		unsigned n;
		const char *name;
		int cur_after; /* which slot is current on reopen */
		uint64_t seq_after;
	} f[] = {
		{ 1, 1, "first write", 1, IB_SEQ2 },  { 1, 2, "second write", 0, IB_SEQ2 + 1 },
		{ 0, 1, "first flush", 0, IB_SEQ2 + 1 }, { 0, 2, "second flush", 1, IB_SEQ2 + 2 },
	};
	for (size_t k = 0; k < sizeof f / sizeof f[0]; k++) {
		char name[80];
		snprintf(name, sizeof name, "session fault on the %s", f[k].name);
		fresh();
		if (!open_traced(name))
			continue;
		if (f[k].write)
			mb.fail_write_at = f[k].n;
		else
			mb.fail_flush_at = f[k].n;
		CHECK_STATUS(vhdx_session_update(&img, rnd), VHDX_E_IO, "%s: VHDX_E_IO", name);
		CHECK_STR_CONTAINS(img.msg, f[k].write ? "write" : "flush", "%s: the message names the %s", name,
				   f[k].write ? "write" : "flush");
		unsigned writes = 0;
		for (unsigned i = 0; i < ntrace; i++)
			writes += trace[i].kind == 'W';
		CHECK_EQ_U64(writes, f[k].write ? f[k].n : f[k].n, "%s: stopped at the fault", name);
		CHECK_EQ_U64(mb.alloc_bytes_live, img.batwin_cap * sizeof(uint64_t), "%s: the header block was freed", name);
		struct vhdx_image r;
		struct membackend m2;
		const char *why = reopen(&r, &m2);
		t_report(!why, why, "%s: the file still opens", name);
		if (!why) {
			CHECK(r.current == f[k].cur_after && r.header[r.current].sequence == f[k].seq_after,
			      "%s: reopened with header %d current at sequence %llu (got %d, %llu)", name, f[k].cur_after + 1,
			      (unsigned long long)f[k].seq_after, r.current + 1,
			      (unsigned long long)r.header[r.current].sequence);
			vhdx_close(&r);
			mb_free(&m2);
		}
		done();
	}
}

int main(void)
{
	exact_cases();
	refusals();
	faults();
	ib_free(&b);
	return t_done();
}
