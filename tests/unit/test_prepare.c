/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_prepare.c - vhdx_prepare_write, the one rule before a binding's first write: replay a pending log, then
 * the session update.  Checks the random-byte layout documented in core/vhdx.h (0..15 the session's FileWriteGuid,
 * 32..47 / 48..63 the replay's FileWriteGuid / DataWriteGuid), the report each binding prints from, and that each
 * refusal names its step and leaves the file untouched.  Crash points of the same sequence: test_crash.c (its run()
 * goes through vhdx_prepare_write).
 */
#include "logbuild.h"
#include "t.h"

static uint8_t RND[VHDX_PREPARE_RANDOM];

static struct vhdx_guid guid_at(unsigned off)
{
	struct vhdx_guid g;
	vhdx_guid_from_random(&g, RND + off);
	return g;
}

static vhdx_status open_copy(const struct ib *b, struct vhdx_image *img, struct membackend *mb, int ro, int grow)
{
	if (ib_mb(b, mb))
		return VHDX_E_NOMEM;
	mb->read_only = ro;
	mb->grow = grow;
	return vhdx_open(img, mb_io(mb));
}

static int untouched(const struct ib *b, const struct membackend *mb)
{
	return mb->writes == 0 && mb->flushes == 0 && mb->resizes == 0 && mb->size == b->size &&
	       memcmp(mb->buf, b->buf, (size_t)b->size) == 0;
}

/* A dirty image: replay, then the session update, in one call. */
static void dirty(struct lb *l, const uint8_t *want)
{
	struct vhdx_image img;
	struct membackend mb;
	struct vhdx_prepare_report rep;
	struct lb_hdrs h;
	const char *why;
	uint64_t seq;
	vhdx_status st;

	st = open_copy(&l->b, &img, &mb, 0, 1);
	if (!CHECK_STATUS(st, VHDX_OK, "dirty: opens writable (%s)", img.msg)) {
		mb_free(&mb);
		return;
	}
	seq = img.header[img.current].sequence;
	st = vhdx_prepare_write(&img, RND, &rep);
	CHECK_STATUS(st, VHDX_OK, "dirty: prepare_write succeeds (%s)", img.msg);
	CHECK(rep.replayed && !rep.replay_failed, "dirty: the report says replayed, not failed");
	CHECK_EQ_U64(rep.entries, 3, "dirty: the report counts the three log entries");
	CHECK_EQ_U64(rep.sequence_before, seq, "dirty: sequence before");
	CHECK_EQ_U64(rep.sequence_replayed, seq + 3, "dirty: the replay raised the sequence by three");
	CHECK_EQ_U64(img.header[img.current].sequence, seq + 5, "dirty: the session update raised it by two more");
	CHECK(!img.log_pending && !img.log.active, "dirty: no log pending afterwards");
	lb_headers(mb.buf, &h);
	CHECK(h.valid[0] && h.valid[1], "dirty: both headers valid on disk");
	CHECK(vhdx_guid_is_zero(&h.h[0].log_guid) && vhdx_guid_is_zero(&h.h[1].log_guid), "dirty: LogGuid cleared");
	CHECK(h.h[h.cur].sequence == seq + 5 && h.h[!h.cur].sequence == seq + 4,
	      "dirty: on disk the copies hold sequence %llu and %llu (current %d)", (unsigned long long)h.h[0].sequence,
	      (unsigned long long)h.h[1].sequence, h.cur + 1);
	struct vhdx_guid fw = guid_at(0), dw = guid_at(48), other = guid_at(32);
	CHECK(vhdx_guid_equal(&h.h[h.cur].file_write_guid, &fw), "dirty: FileWriteGuid from random bytes 0..15");
	CHECK(vhdx_guid_equal(&h.h[h.cur].data_write_guid, &dw), "dirty: DataWriteGuid from random bytes 48..63");
	CHECK(!vhdx_guid_equal(&h.h[h.cur].file_write_guid, &other),
	      "dirty: the replay's FileWriteGuid (bytes 32..47) was replaced by the session's");
	why = lb_content(&img, want);
	t_report(!why, why, "dirty: the virtual disk equals the model after the replay");
	vhdx_close(&img);
	mb_free(&mb);
}

/* A clean image: no replay, only the session update. */
static void clean(const struct ib *m)
{
	struct vhdx_image img;
	struct membackend mb;
	struct vhdx_prepare_report rep;
	struct vhdx_guid dw, fw = guid_at(0);
	uint64_t seq;
	vhdx_status st;

	st = open_copy(m, &img, &mb, 0, 0);
	if (CHECK_STATUS(st, VHDX_OK, "clean: opens writable (%s)", img.msg)) {
		seq = img.header[img.current].sequence;
		dw = img.header[img.current].data_write_guid;
		st = vhdx_prepare_write(&img, RND, &rep);
		CHECK_STATUS(st, VHDX_OK, "clean: prepare_write succeeds (%s)", img.msg);
		CHECK(!rep.replayed && !rep.replay_failed && rep.entries == 0, "clean: the report says no replay");
		CHECK_EQ_U64(rep.sequence_before, seq, "clean: sequence before");
		CHECK_EQ_U64(img.header[img.current].sequence, seq + 2, "clean: sequence raised by two");
		CHECK(vhdx_guid_equal(&img.header[img.current].file_write_guid, &fw),
		      "clean: FileWriteGuid from random bytes 0..15");
		CHECK(vhdx_guid_equal(&img.header[img.current].data_write_guid, &dw), "clean: DataWriteGuid kept");
		CHECK_EQ_U64(mb.writes, 2, "clean: two header writes and nothing else");
		vhdx_close(&img);
	}
	mb_free(&mb);

	st = open_copy(m, &img, &mb, 1, 0);
	if (CHECK_STATUS(st, VHDX_OK, "clean, read-only: opens (%s)", img.msg)) {
		st = vhdx_prepare_write(&img, RND, &rep);
		CHECK_STATUS(st, VHDX_E_READONLY, "clean, read-only: refused");
		CHECK(!rep.replay_failed && !rep.replayed, "clean, read-only: the refusal is the session update's");
		CHECK_STR_CONTAINS(img.msg, "session update", "clean, read-only: the message names the step");
		vhdx_close(&img);
		CHECK(untouched(m, &mb), "clean, read-only: the file is untouched");
	}
	mb_free(&mb);
}

/* Refusals of a dirty image: each names the replay as the failed step and writes nothing. */
static void dirty_refused(struct lb *l)
{
	static const struct {
		const char *name;
		int ro, grow;
		vhdx_status want;
		const char *frag;
	} cases[] = {
		{ "read-only", 1, 0, VHDX_E_READONLY, "read-only" },
		{ "cannot grow", 0, 0, VHDX_E_UNSUPPORTED, "LastFileOffset" },
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct vhdx_image img;
		struct membackend mb;
		struct vhdx_prepare_report rep;
		vhdx_status st = open_copy(&l->b, &img, &mb, cases[i].ro, cases[i].grow);

		if (CHECK_STATUS(st, VHDX_OK, "dirty, %s: opens (%s)", cases[i].name, img.msg)) {
			st = vhdx_prepare_write(&img, RND, &rep);
			CHECK_STATUS(st, cases[i].want, "dirty, %s: refused", cases[i].name);
			CHECK(rep.replay_failed && !rep.replayed && rep.entries == 0,
			      "dirty, %s: the report names the replay as the failed step", cases[i].name);
			CHECK_STR_CONTAINS(img.msg, cases[i].frag, "dirty, %s: the message says why", cases[i].name);
			CHECK(img.log_pending, "dirty, %s: the log is still pending", cases[i].name);
			vhdx_close(&img);
			CHECK(untouched(&l->b, &mb), "dirty, %s: the file is untouched", cases[i].name);
		}
		mb_free(&mb);
	}
}

/* The replay succeeds and the session update's first write fails: the report says replayed, the session failed. */
static void session_fails_after_replay(struct lb *l)
{
	struct vhdx_image img;
	struct membackend mb;
	struct vhdx_prepare_report rep;
	unsigned replay_writes = 0;
	uint8_t half[32];
	vhdx_status st;

	memcpy(half, RND + 32, sizeof half);
	st = open_copy(&l->b, &img, &mb, 0, 1);
	if (CHECK_STATUS(st, VHDX_OK, "replay alone: opens (%s)", img.msg)) {
		st = vhdx_replay(&img, half);
		CHECK_STATUS(st, VHDX_OK, "replay alone: succeeds (%s)", img.msg);
		replay_writes = mb.writes;
		vhdx_close(&img);
	}
	mb_free(&mb);
	if (!CHECK(replay_writes > 0, "replay alone: counted %u writes", replay_writes))
		return;

	st = open_copy(&l->b, &img, &mb, 0, 1);
	if (CHECK_STATUS(st, VHDX_OK, "session fails after replay: opens (%s)", img.msg)) {
		mb.fail_write_at = replay_writes + 1;
		st = vhdx_prepare_write(&img, RND, &rep);
		CHECK_STATUS(st, VHDX_E_IO, "session fails after replay: the write failure is reported");
		CHECK(rep.replayed && !rep.replay_failed && rep.entries == 3,
		      "session fails after replay: the report says replayed (3 entries), the session update failed");
		CHECK_EQ_U64(rep.sequence_replayed, rep.sequence_before + 3,
			     "session fails after replay: sequence after the replay");
		CHECK(!img.log_pending, "session fails after replay: the log is no longer pending");
		vhdx_close(&img);
	}
	mb_free(&mb);
}

int main(void)
{
	struct lb l;
	uint8_t *want;

	for (unsigned i = 0; i < sizeof RND; i++)
		RND[i] = (uint8_t)(0x5A ^ (i * 37 + 11));
	if (!CHECK(lb_several(&l, 1) == 10, "scenario: the several-entries dirty image (grow; ten descriptors)"))
		return t_done();
	want = lb_expect(&l);
	if (CHECK(want != NULL, "scenario: model content")) {
		dirty(&l, want);
		clean(&l.m);
		dirty_refused(&l);
		session_fails_after_replay(&l);
	}
	free(want);
	lb_free(&l);
	return t_done();
}
