/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_log.c - log search, the read-only overlay and vhdx_replay, on dirty images built in memory (logbuild.h).
 *
 * Each scenario compares the core against a model the test computes without core code: the clean image with the
 * winning descriptors applied (lb.m).  Checked: overlay reads equal the model with the file untouched (no write,
 * flush or resize), replay writes the model's bytes, clears LogGuid in both headers, raises the sequence by 3 and
 * renews FileWriteGuid and DataWriteGuid (version 4), and refusals write nothing.
 */
#include "logbuild.h"
#include "t.h"

#define MiB VHDX_MiB

/* CHECK_STATUS that also prints the image's message when the status is not the expected one */
#define CHECK_ST(st, want, img, ...) (CHECK_STATUS(st, want, __VA_ARGS__) || note_msg(img))

static int note_msg(const struct vhdx_image *img)
{
	T_NOTE("msg: %s", img->msg);
	return 0;
}

static const uint8_t RND[32] = { 0x10, 0x21, 0x32, 0x43, 0x54, 0x65, 0x76, 0x87, 0x98, 0xA9, 0xBA,
				 0xCB, 0xDC, 0xED, 0xFE, 0x0F, 0xF1, 0xE2, 0xD3, 0xC4, 0xB5, 0xA6,
				 0x97, 0x88, 0x79, 0x6A, 0x5B, 0x4C, 0x3D, 0x2E, 0x1F, 0x00 };

/* Opens a copy of lb.b read-only or writable; the caller closes and frees. */
static vhdx_status open_copy(const struct lb *l, struct vhdx_image *img, struct membackend *mb, int ro, int grow)
{
	if (ib_mb(&l->b, mb))
		return VHDX_E_NOMEM;
	mb->read_only = ro;
	mb->grow = grow;
	return vhdx_open(img, mb_io(mb));
}

static int untouched(const struct lb *l, const struct membackend *mb)
{
	return mb->writes == 0 && mb->flushes == 0 && mb->resizes == 0 && mb->size == l->b.size &&
	       memcmp(mb->buf, l->b.buf, (size_t)l->b.size) == 0;
}

/*
 * The common checks of a dirty image: opens read-only writing nothing, overlay content equals the model, replay
 * refused read-only; then a writable copy replays to the model's bytes with the header rules.  `name` prefixes
 * every case.  Returns the replayed backend in *out (caller frees) when asked.
 */
static void check_dirty(struct lb *l, const char *name, uint64_t tail_seq, uint64_t head_seq, struct membackend *out)
{
	struct vhdx_image img;
	struct membackend mb;
	struct lb_hdrs before, after;
	uint8_t *want = lb_expect(l);
	const char *why;
	vhdx_status st;

	if (!CHECK(want != NULL, "%s: model", name))
		return;
	lb_headers(l->b.buf, &before);

	/* read-only: open, overlay, refusal */
	st = open_copy(l, &img, &mb, 1, 0);
	if (CHECK_ST(st, VHDX_OK, &img, "%s: opens read-only", name)) {
		if (head_seq) {
			CHECK(img.log_pending && img.log.active, "%s: log pending and overlay active", name);
			CHECK_EQ_U64(img.log.tail_seq, tail_seq, "%s: tail sequence", name);
			CHECK_EQ_U64(img.log.head_seq, head_seq, "%s: head sequence", name);
			CHECK_EQ_U64(img.log.entries, head_seq - tail_seq + 1, "%s: entries", name);
		} else {
			CHECK(img.log_pending && !img.log.active && img.log.entries == 0,
			      "%s: log pending, but an empty one (no overlay)", name);
			CHECK(ib_warned(&img, "no valid sequence") != 0, "%s: open warns that the log is empty", name);
		}
		CHECK(ib_warned(&img, "LogGuid") != 0, "%s: open warns about the pending log", name);
		why = lb_content(&img, want);
		t_report(!why, why, "%s: overlay reads equal the model", name);
		st = vhdx_replay(&img, RND);
		CHECK_STATUS(st, VHDX_E_READONLY, "%s: replay refused read-only", name);
		st = vhdx_session_update(&img, RND);
		CHECK(st == VHDX_E_READONLY || st == VHDX_E_LOG_PENDING, "%s: session refused read-only (status %d)",
		      name, (int)st);
		vhdx_close(&img);
		CHECK(untouched(l, &mb), "%s: read-only use left the file untouched (%u writes, %u flushes)", name,
		      mb.writes, mb.flushes);
	}
	mb_free(&mb);

	/* writable: session refused while the log is pending, then replay */
	st = open_copy(l, &img, &mb, 0, 1);
	if (!CHECK_ST(st, VHDX_OK, &img, "%s: opens writable", name)) {
		mb_free(&mb);
		free(want);
		return;
	}
	st = vhdx_session_update(&img, RND);
	CHECK_STATUS(st, VHDX_E_LOG_PENDING, "%s: session refused while the log is pending", name);
	CHECK(untouched(l, &mb), "%s: opening writable and the refused session wrote nothing", name);
	st = vhdx_replay(&img, RND);
	if (CHECK_ST(st, VHDX_OK, &img, "%s: replay", name)) {
		CHECK(!img.log_pending && !img.log.active, "%s: no log pending after replay", name);
		why = lb_content(&img, want);
		t_report(!why, why, "%s: reads after replay (same handle) equal the model", name);
		why = lb_file_matches(l, mb.buf, mb.size);
		t_report(!why, why, "%s: replayed file bytes equal the model", name);
		lb_headers(mb.buf, &after);
		CHECK(after.valid[0] && after.valid[1], "%s: both headers valid after replay", name);
		CHECK(vhdx_guid_is_zero(&after.h[0].log_guid) && vhdx_guid_is_zero(&after.h[1].log_guid),
		      "%s: LogGuid cleared in both headers", name);
		CHECK_EQ_U64(after.h[after.cur].sequence, before.h[before.cur].sequence + 3, "%s: sequence raised by 3",
			     name);
		CHECK_EQ_U64(after.h[!after.cur].sequence, before.h[before.cur].sequence + 2,
			     "%s: other header at sequence + 2", name);
		CHECK(!vhdx_guid_equal(&after.h[after.cur].file_write_guid, &before.h[before.cur].file_write_guid) &&
			      lb_guid_v4(&after.h[after.cur].file_write_guid),
		      "%s: FileWriteGuid renewed (version 4)", name);
		CHECK(!vhdx_guid_equal(&after.h[after.cur].data_write_guid, &before.h[before.cur].data_write_guid) &&
			      lb_guid_v4(&after.h[after.cur].data_write_guid),
		      "%s: DataWriteGuid renewed (version 4)", name);
		CHECK(mb.flushes >= 3, "%s: replay flushed at least 3 times (%u)", name, mb.flushes);
	}
	vhdx_close(&img);

	/* reopen: clean, same content; replay again is a no-op; a session update now works */
	{
		struct membackend mb2;
		struct vhdx_image img2;
		if (CHECK(mb_init_copy(&mb2, mb.buf, mb.size) == 0, "%s: copy", name)) {
			mb2.grow = 1;
			st = vhdx_open(&img2, mb_io(&mb2));
			if (CHECK_ST(st, VHDX_OK, &img2, "%s: reopens after replay", name)) {
				CHECK(!img2.log_pending, "%s: reopened without a pending log", name);
				why = lb_content(&img2, want);
				t_report(!why, why, "%s: reopened content equals the model", name);
				st = vhdx_replay(&img2, RND);
				CHECK(st == VHDX_OK && mb2.writes == 0 && mb2.flushes == 0 && mb2.resizes == 0,
				      "%s: replay of the clean image writes nothing (status %d, %u writes)", name, (int)st,
				      mb2.writes);
				st = vhdx_session_update(&img2, RND);
				CHECK_STATUS(st, VHDX_OK, "%s: session update after replay", name);
				vhdx_close(&img2);
			}
			mb_free(&mb2);
		}
	}
	if (out)
		*out = mb;
	else
		mb_free(&mb);
	free(want);
}

/* Puts LogGuid back into the current header of a replayed file: the same log must replay to the same bytes. */
static void redirty(struct membackend *mb, const struct vhdx_guid *g)
{
	struct lb_hdrs h;
	uint8_t *p;

	lb_headers(mb->buf, &h);
	p = mb->buf + (h.cur ? VHDX_HEADER2_OFFSET : VHDX_HEADER1_OFFSET);
	h.h[h.cur].log_guid = *g;
	vhdx_header_serialize(p, &h.h[h.cur]);
}

static void t_several(void)
{
	struct lb l;
	struct membackend r1, r2, r3;
	struct vhdx_image img;
	vhdx_status st;

	if (!CHECK(lb_several(&l, 0) == 8, "several: build"))
		return;
	check_dirty(&l, "several", 10, 12, &r1);

	/* determinism: another copy replayed with the same random bytes gives the same file */
	st = open_copy(&l, &img, &r2, 0, 1);
	if (CHECK_STATUS(st, VHDX_OK, "several twice: open")) {
		CHECK_STATUS(vhdx_replay(&img, RND), VHDX_OK, "several twice: replay");
		vhdx_close(&img);
		CHECK(r1.size == r2.size && memcmp(r1.buf, r2.buf, (size_t)r1.size) == 0,
		      "several twice: two replays with the same random bytes give identical files");
	}
	/* idempotence: the replayed file made dirty again replays to the same data bytes */
	if (CHECK(mb_init_copy(&r3, r1.buf, r1.size) == 0, "several again: copy")) {
		redirty(&r3, &l.guid);
		r3.grow = 1;
		st = vhdx_open(&img, mb_io(&r3));
		if (CHECK_ST(st, VHDX_OK, &img, "several again: the re-dirtied file opens")) {
			CHECK_STATUS(vhdx_replay(&img, RND), VHDX_OK, "several again: replays");
			vhdx_close(&img);
			const char *why = lb_file_matches(&l, r3.buf, r3.size);
			t_report(!why, why, "several again: replaying twice gives identical bytes");
		}
		mb_free(&r3);
	}
	mb_free(&r1);
	mb_free(&r2);
	lb_free(&l);
}

/*
 * Three entries at the end of the ring: seq 20 at sectors 250-252, 21 at 253-254, 22's header at sector 255 and its
 * two data sectors wrapped to sectors 0 and 1, over stale entries of an earlier sequence (one overwritten by the
 * wrap, one left whole).
 */
static void t_wrap(void)
{
	struct lb l;
	struct ib_desc d[3];
	uint64_t b0, b1;
	uint32_t pos = 250, n = 0;
	int ok = lb_init(&l, 0, 2) == 0;

	b0 = lb_block_off(&l.m, 0);
	b1 = lb_block_off(&l.m, 1);
	d[0] = lb_d(b1 + 5 * LB_S, lb_data(&l, 90));
	ok = ok && lb_entry(&l, 0, 3, 0, NULL, d, 1, 0, 0, 0);
	ok = ok && lb_entry(&l, 2, 4, 0, NULL, d, 1, 0, 0, 0);
	d[0] = lb_d(b0, lb_data(&l, 20));
	d[1] = lb_d(b0 + LB_S, lb_data(&l, 21));
	ok = ok && (n = lb_entry(&l, pos, 20, 250, NULL, d, 2, 0, 0, 1)) == 3;
	pos += n;
	d[0] = lb_d(b1 + 7 * LB_S, lb_data(&l, 22));
	ok = ok && (n = lb_entry(&l, pos, 21, 250, NULL, d, 1, 0, 0, 1)) == 2;
	pos += n;
	d[0] = lb_d(b0 + LB_S, lb_data(&l, 23));
	d[1] = lb_z(b1 + 16 * LB_S, 4 * LB_S);
	d[2] = lb_d(b1 + 30 * LB_S, lb_data(&l, 24));
	ok = ok && pos == 255 && lb_entry(&l, pos, 22, 250, NULL, d, 3, 0, 0, 1) == 3;
	lb_dirty(&l);
	if (CHECK(ok, "wrap: build"))
		check_dirty(&l, "wrap", 20, 22, NULL);
	lb_free(&l);
}

/* Zero descriptors: a whole block (more than one 64 KiB write), part of another, then data over zeroed bytes. */
static void t_zero(void)
{
	struct lb l;
	struct ib_desc d[4];
	uint64_t b0, b1;
	int ok = lb_init(&l, 0, 3) == 0;

	b0 = lb_block_off(&l.m, 0);
	b1 = lb_block_off(&l.m, 1);
	d[0] = lb_z(b1, MiB);
	d[1] = lb_z(b0 + 8 * LB_S, 2 * LB_S);
	d[2] = lb_d(b1 + 9 * LB_S, lb_data(&l, 30));
	d[3] = lb_z(b0 + 100 * LB_S, 3 * 64 * 1024 + LB_S); /* not a multiple of the 64 KiB zero chunk */
	ok = ok && lb_entry(&l, 0, 40, 0, NULL, d, 4, 0, 0, 1) == 2;
	lb_dirty(&l);
	if (CHECK(ok, "zero: build"))
		check_dirty(&l, "zero", 40, 40, NULL);
	lb_free(&l);
}

/* Valid entries with another LogGuid and higher sequence numbers are not part of the log. */
static void t_stale_guid(void)
{
	struct lb l;
	struct ib_desc d[2];
	struct vhdx_guid other = ib_guid(99);
	uint64_t b0, b1;
	int ok = lb_init(&l, 0, 4) == 0;

	b0 = lb_block_off(&l.m, 0);
	b1 = lb_block_off(&l.m, 1);
	d[0] = lb_d(b0 + 2 * LB_S, lb_data(&l, 40));
	d[1] = lb_d(b1 + 3 * LB_S, lb_data(&l, 41));
	ok = ok && lb_entry(&l, 0, 100, 0, &other, d, 2, 0, 0, 0) == 3;
	ok = ok && lb_entry(&l, 3, 101, 0, &other, d + 1, 1, 0, 0, 0) == 2;
	d[0] = lb_d(b0 + 5 * LB_S, lb_data(&l, 42));
	ok = ok && lb_entry(&l, 40, 5, 40, NULL, d, 1, 0, 0, 1) == 2;
	ok = ok && lb_entry(&l, 42, 6, 40, NULL, d + 1, 1, 0, 0, 1) == 2; /* d[1]: the stale entries' target too */
	lb_dirty(&l);
	if (CHECK(ok, "stale guid: build"))
		check_dirty(&l, "stale guid", 5, 6, NULL);
	lb_free(&l);
}

/*
 * An older sequence with the same LogGuid is not replayed; neither is an entry of the live chain before the head's
 * Tail (seq 7 below: the head 9 says the log starts at seq 8).
 */
static void t_stale_seq(void)
{
	struct lb l;
	struct ib_desc d[1];
	uint64_t b0, b1;
	int ok = lb_init(&l, 0, 5) == 0;

	b0 = lb_block_off(&l.m, 0);
	b1 = lb_block_off(&l.m, 1);
	d[0] = lb_d(b0 + 20 * LB_S, lb_data(&l, 50));
	ok = ok && lb_entry(&l, 0, 1, 0, NULL, d, 1, 0, 0, 0) == 2;
	d[0] = lb_d(b1 + 20 * LB_S, lb_data(&l, 51));
	ok = ok && lb_entry(&l, 2, 2, 0, NULL, d, 1, 0, 0, 0) == 2;
	d[0] = lb_d(b0 + 21 * LB_S, lb_data(&l, 52));
	ok = ok && lb_entry(&l, 30, 7, 30, NULL, d, 1, 0, 0, 0) == 2; /* before the head's tail */
	d[0] = lb_d(b0 + 22 * LB_S, lb_data(&l, 53));
	ok = ok && lb_entry(&l, 32, 8, 30, NULL, d, 1, 0, 0, 1) == 2;
	d[0] = lb_d(b1 + 22 * LB_S, lb_data(&l, 54));
	ok = ok && lb_entry(&l, 34, 9, 32, NULL, d, 1, 0, 0, 1) == 2;
	lb_dirty(&l);
	if (CHECK(ok, "stale sequence: build"))
		check_dirty(&l, "stale sequence", 8, 9, NULL);
	lb_free(&l);
}

/* A torn head: its data sector no longer matches the entry checksum, so the sequence ends one entry earlier. */
static void t_torn_head(void)
{
	struct lb l;
	struct ib_desc d[1];
	uint64_t b0, b1;
	int ok = lb_init(&l, 0, 6) == 0;

	b0 = lb_block_off(&l.m, 0);
	b1 = lb_block_off(&l.m, 1);
	d[0] = lb_d(b0 + 40 * LB_S, lb_data(&l, 60));
	ok = ok && lb_entry(&l, 0, 30, 0, NULL, d, 1, 0, 0, 1) == 2;
	d[0] = lb_d(b1 + 40 * LB_S, lb_data(&l, 61));
	ok = ok && lb_entry(&l, 2, 31, 0, NULL, d, 1, 0, 0, 1) == 2;
	d[0] = lb_d(b0 + 40 * LB_S, lb_data(&l, 62));
	ok = ok && lb_entry(&l, 4, 32, 0, NULL, d, 1, 0, 0, 0) == 2;
	/* tear: the second half of its data sector never reached the disk */
	memset(l.b.buf + l.b.log_off + 5 * LB_S + LB_S / 2, 0, LB_S / 2 - 4);
	lb_dirty(&l);
	if (CHECK(ok, "torn head: build"))
		check_dirty(&l, "torn head", 30, 31, NULL);
	lb_free(&l);
}

/* FlushedFileOffset beyond the file: refused at open with a message, nothing written. */
static void t_flushed_beyond(void)
{
	struct lb l;
	struct ib_desc d[1];
	const char *why;
	int ok = lb_init(&l, 0, 7) == 0;

	d[0] = lb_d(lb_block_off(&l.m, 0), lb_data(&l, 70));
	ok = ok && lb_entry(&l, 0, 3, 0, NULL, d, 1, l.b.size + MiB, l.b.size + MiB, 1) == 2;
	lb_dirty(&l);
	if (CHECK(ok, "flushed beyond: build")) {
		why = ib_refused(&l.b, VHDX_E_CORRUPT, "FlushedFileOffset", "beyond");
		t_report(!why, why, "flushed beyond: open refuses, names FlushedFileOffset, writes nothing");
	}
	lb_free(&l);
}

/* A descriptor beyond both the file and LastFileOffset: refused at open. */
static void t_desc_beyond(void)
{
	struct lb l;
	struct ib_desc d[1];
	const char *why;
	int ok = lb_init(&l, 0, 8) == 0;

	d[0] = lb_d(l.b.size + 2 * MiB, lb_data(&l, 80));
	ok = ok && lb_entry(&l, 0, 3, 0, NULL, d, 1, 0, l.b.size + MiB, 0) == 2;
	lb_dirty(&l);
	if (CHECK(ok, "descriptor beyond: build")) {
		why = ib_refused(&l.b, VHDX_E_CORRUPT, "LastFileOffset", NULL);
		t_report(!why, why, "descriptor beyond LastFileOffset and the file: open refuses, writes nothing");
	}
	lb_free(&l);
}

/* The log may not rewrite the headers or itself: a descriptor aimed at either is refused at open. */
static void t_desc_forbidden(void)
{
	static const struct {
		const char *what;
		uint64_t off;
	} target[] = { { "header 1", VHDX_HEADER1_OFFSET }, { "header 2", VHDX_HEADER2_OFFSET }, { "the log", MiB + 64 * LB_S } };

	for (unsigned i = 0; i < sizeof target / sizeof target[0]; i++) {
		struct lb l;
		struct ib_desc d[1];
		const char *why;
		int ok = lb_init(&l, 0, 11) == 0;

		d[0] = lb_d(target[i].off, lb_data(&l, 110));
		ok = ok && lb_entry(&l, 0, 3, 0, NULL, d, 1, 0, 0, 0) == 2;
		lb_dirty(&l);
		if (CHECK(ok, "descriptor into %s: build", target[i].what)) {
			why = ib_refused(&l.b, VHDX_E_CORRUPT, "log entry 3", NULL);
			t_report(!why, why, "descriptor into %s: open refuses, writes nothing", target[i].what);
		}
		lb_free(&l);
	}
}

/* An entry with 130 data descriptors: its descriptors fill a second descriptor sector. */
static void t_big_entry(void)
{
	static uint8_t big[130][LB_S]; /* lb_data recycles 64 buffers: the entry needs all 130 at once */
	static struct ib_desc d[130];
	struct lb l;
	uint64_t b1;
	int ok = lb_init(&l, 0, 12) == 0;

	b1 = lb_block_off(&l.m, 1);
	for (unsigned i = 0; i < 130; i++) {
		memcpy(big[i], lb_data(&l, 200 + i), LB_S);
		d[i] = lb_d(b1 + i * LB_S, big[i]);
	}
	ok = ok && lb_entry(&l, 100, 50, 100, NULL, d, 130, 0, 0, 1) == 132;
	d[0] = lb_z(b1 + 2 * LB_S, 3 * LB_S);
	ok = ok && lb_entry(&l, 232, 51, 100, NULL, d, 1, 0, 0, 1) == 1;
	lb_dirty(&l);
	if (CHECK(ok, "big entry: build"))
		check_dirty(&l, "big entry", 50, 51, NULL);
	lb_free(&l);
}

/* A log that grows the file: with resize it replays; without, VHDX_E_UNSUPPORTED and nothing written. */
static void t_growth(void)
{
	struct lb l;
	struct vhdx_image img;
	struct membackend mb;
	uint8_t *want;
	const char *why;
	vhdx_status st;

	if (!CHECK(lb_several(&l, 1) == 10, "growth: build"))
		return;
	CHECK_EQ_U64(l.m.size, l.b.size + MiB, "growth: the model is one block longer than the file");
	check_dirty(&l, "growth", 10, 12, NULL);

	st = open_copy(&l, &img, &mb, 0, 0); /* writable, but io->resize is NULL */
	if (CHECK_ST(st, VHDX_OK, &img, "growth, no resize: opens")) {
		CHECK_EQ_U64(img.log.last_offset, l.b.size + MiB, "growth, no resize: LastFileOffset seen");
		CHECK_EQ_U64(img.file_size, l.b.size + MiB, "growth, no resize: file size as validated");
		want = lb_expect(&l);
		why = want ? lb_content(&img, want) : "no memory";
		t_report(!why, why, "growth, no resize: overlay reads the block beyond the end of the file");
		free(want);
		st = vhdx_replay(&img, RND);
		CHECK_STATUS(st, VHDX_E_UNSUPPORTED, "growth, no resize: replay refused");
		CHECK_STR_CONTAINS(img.msg, "LastFileOffset", "growth, no resize: the message names LastFileOffset");
		CHECK(untouched(&l, &mb), "growth, no resize: nothing written (%u writes, %u flushes, %u resizes)",
		      mb.writes, mb.flushes, mb.resizes);
		CHECK(img.log_pending, "growth, no resize: the log is still pending");
		vhdx_close(&img);
	}
	mb_free(&mb);
	lb_free(&l);
}

/*
 * LogGuid set over a log without a valid sequence (a writer interrupted before its first entry was complete): an
 * empty log.  Open warns, reads the file as it is, and replay only clears LogGuid.  Once with an all-zero log, once
 * with a single torn entry (its data sector half written).
 */
static void t_no_sequence(void)
{
	struct lb l;
	struct ib_desc d[1];

	if (CHECK(lb_init(&l, 0, 9) == 0, "empty log: build")) {
		lb_dirty(&l);
		check_dirty(&l, "empty log", 0, 0, NULL);
	}
	lb_free(&l);
	if (!CHECK(lb_init(&l, 0, 10) == 0, "torn only entry: build"))
		return;
	d[0] = lb_d(lb_block_off(&l.m, 0), lb_data(&l, 100));
	CHECK(lb_entry(&l, 7, 1, 7, NULL, d, 1, 0, 0, 0) == 2, "torn only entry: entry");
	memset(l.b.buf + l.b.log_off + 8 * LB_S + LB_S / 2, 0, LB_S / 2 - 4);
	lb_dirty(&l);
	check_dirty(&l, "torn only entry", 0, 0, NULL);
	lb_free(&l);
}

/* A sequence number that cannot be raised by 3: replay refused with nothing written. */
static void t_sequence_limit(void)
{
	struct lb l;
	struct vhdx_image img;
	struct membackend mb;
	vhdx_status st;

	if (!CHECK(lb_several(&l, 0) == 8, "sequence limit: build"))
		return;
	vhdx_put64(ib_hdr(&l.b, 1) + VHDX_HDR_SEQUENCE, UINT64_MAX - 2);
	ib_hdr_fix(&l.b, 1);
	st = open_copy(&l, &img, &mb, 0, 1);
	if (CHECK_ST(st, VHDX_OK, &img, "sequence limit: opens")) {
		st = vhdx_replay(&img, RND);
		CHECK_STATUS(st, VHDX_E_SEQUENCE, "sequence limit: replay needs 3 more sequence numbers");
		CHECK(untouched(&l, &mb), "sequence limit: nothing written");
		vhdx_close(&img);
	}
	mb_free(&mb);
	lb_free(&l);
}

/* Replay before open, or on a failed open, is refused. */
static void t_state(void)
{
	struct vhdx_image img;
	struct membackend mb;

	memset(&img, 0, sizeof img);
	if (mb_init(&mb, MiB))
		return;
	img.io = mb_io(&mb);
	CHECK_STATUS(vhdx_replay(&img, RND), VHDX_E_STATE, "state: replay of an image that was never opened");
	CHECK_STATUS(vhdx_open(&img, mb_io(&mb)), VHDX_E_CORRUPT, "state: an empty file does not open");
	CHECK_STATUS(vhdx_replay(&img, RND), VHDX_E_STATE, "state: replay after a failed open");
	CHECK(mb.writes == 0 && mb.flushes == 0, "state: nothing written");
	mb_free(&mb);
}

int main(void)
{
	t_several();
	t_wrap();
	t_zero();
	t_stale_guid();
	t_stale_seq();
	t_torn_head();
	t_flushed_beyond();
	t_desc_beyond();
	t_desc_forbidden();
	t_big_entry();
	t_growth();
	t_no_sequence();
	t_sequence_limit();
	t_state();
	return t_done();
}
