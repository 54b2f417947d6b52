/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_crash.c - crash consistency of the log replay and the session header update (crashio.h, logbuild.h).
 *
 * Two scenarios, each run once without a crash to count its operations, then once per operation N and per crash
 * mode (cut, tear, drop, drop-some; see crashio.h) with the crash at operation N:
 *
 *   "replay+session": the dirty image of lb_several(grow = 1) (three log entries, eleven 4 KiB..64 KiB replay
 *       writes, a LastFileOffset one block past the end), opened, replayed, then given a session update, as
 *       `vhdx session` does on a dirty image.  Its 23 operations, in order (the test prints them as it goes):
 *         1 write header 1 (LogGuid kept, new FileWriteGuid/DataWriteGuid, sequence 7)   2 flush
 *         3 resize to 8 MiB (LastFileOffset)
 *         4-14 the replay writes, tail to head: seq 10: block 0 +4 KiB, the BAT sector, 6 MiB, 6 MiB +8 KiB;
 *              seq 11: block 1 sector 0, 64 KiB + 64 KiB of zeros in block 1, the 6 MiB +8 KiB sector zeroed;
 *              seq 12: block 0 +4 KiB, the BAT sector, 7 MiB +12 KiB
 *         15 flush                                                                      (data durable)
 *         16 write header 2 (LogGuid zero, sequence 8)   17 flush
 *         18 write header 1 (LogGuid zero, sequence 9)   19 flush                      (replay done)
 *         20 write header 2 (session, sequence 10)       21 flush
 *         22 write header 1 (session, sequence 11)       23 flush
 *   "session": the replayed model image (clean), given a session update: 4 operations
 *         1 write header 1 (sequence 7)   2 flush   3 write header 2 (sequence 8)   4 flush
 *
 * That is 27 crash points in 4 modes: 108 crashed first runs.  After each: the surviving file opens (vhdx_open),
 * its virtual disk (through the overlay when the log is still pending) equals the expected content, and a second
 * run (replay when a log is pending, then a session update) completes, leaves no log pending and both headers
 * valid, and the content is still the expected one.  For "replay+session" the second run is also crashed at each
 * of its own operations (cut and tear modes), and a third run must then complete with the same content.
 */
#include <malloc.h>

#include "crashio.h"
#include "logbuild.h"
#include "t.h"

static const uint8_t RND1[32] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
				  17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32 };
static const uint8_t RND2[32] = { 0xF1, 0xE2, 0xD3, 0xC4, 0xB5, 0xA6, 0x97, 0x88, 0x79, 0x6A, 0x5B,
				  0x4C, 0x3D, 0x2E, 0x1F, 0x00, 0x99, 0x88, 0x77, 0x66, 0x55, 0x44,
				  0x33, 0x22, 0x11, 0x00, 0xAB, 0xCD, 0xEF, 0x12, 0x34, 0x56 };

struct scenario {
	const char *name;
	const uint8_t *bytes;
	uint64_t size;
	const uint8_t *want; /* the whole virtual disk */
	unsigned ops;        /* operations of an uninterrupted run, as listed at the top of this file */
};

/*
 * One run of the operation under test: open, then vhdx_prepare_write (replay if a log is pending, session update),
 * with the same 32 random bytes for the replay and the session as before the rule moved into the core.
 */
static vhdx_status run(struct vhdx_io *io, const uint8_t *rnd, char *msg, size_t n)
{
	struct vhdx_image img;
	struct vhdx_prepare_report rep;
	uint8_t both[VHDX_PREPARE_RANDOM];
	vhdx_status st = vhdx_open(&img, io);

	memcpy(both, rnd, 32);
	memcpy(both + 32, rnd, 32);
	if (!st)
		st = vhdx_prepare_write(&img, both, &rep);
	snprintf(msg, n, "%s", img.msg);
	if (img.validated)
		vhdx_close(&img);
	return st;
}

/*
 * The state a file must be in after any crash: opens, shows the expected content.  Returns NULL or a reason.
 * *pending tells whether the log is still pending.
 */
static const char *survivor_ok(struct membackend *mb, const uint8_t *want, int *pending)
{
	static char why[VHDX_MSG_LEN + 64];
	struct vhdx_image img;
	const char *c;
	vhdx_status st = vhdx_open(&img, mb_io(mb));

	if (st) {
		snprintf(why, sizeof why, "open: status %d: %s", (int)st, img.msg);
		return why;
	}
	*pending = img.log_pending;
	c = lb_content(&img, want);
	vhdx_close(&img);
	if (c)
		return c;
	if (mb->writes || mb->flushes || mb->resizes)
		return "opening and reading wrote to the file";
	return NULL;
}

/* After a completed run: no log, both headers valid with LogGuid zero, the expected content.  NULL or a reason. */
static const char *final_ok(const uint8_t *bytes, uint64_t size, const uint8_t *want)
{
	static char why[VHDX_MSG_LEN + 64];
	struct membackend mb;
	struct lb_hdrs h;
	const char *c;
	int pending = 0;

	if (mb_init_copy(&mb, bytes, size))
		return "no memory";
	c = survivor_ok(&mb, want, &pending);
	lb_headers(mb.buf, &h);
	mb_free(&mb);
	if (c)
		return c;
	if (pending)
		return "the log is still pending";
	if (!h.valid[0] || !h.valid[1]) {
		snprintf(why, sizeof why, "header %d is not valid", h.valid[0] ? 2 : 1);
		return why;
	}
	if (!vhdx_guid_is_zero(&h.h[0].log_guid) || !vhdx_guid_is_zero(&h.h[1].log_guid))
		return "a header still has a LogGuid";
	return NULL;
}

/* A second (or third) run over mb's bytes without a crash; NULL or a reason. */
static const char *complete(struct membackend *mb, const uint8_t *want, const uint8_t *rnd)
{
	static char why[VHDX_MSG_LEN + 64];
	char msg[VHDX_MSG_LEN];
	vhdx_status st;

	mb_reset_counters(mb);
	st = run(mb_io(mb), rnd, msg, sizeof msg);
	if (st) {
		snprintf(why, sizeof why, "status %d: %s", (int)st, msg);
		return why;
	}
	return final_ok(mb->buf, mb->size, want);
}

/* Crashes the second run at each of its operations (mode `m`), then completes with a third.  NULL or a reason. */
static const char *crash_second(struct membackend *first, const uint8_t *want, enum cio_mode m, unsigned *points)
{
	static char why[VHDX_MSG_LEN + 128];
	struct crashio dry, c;
	char msg[VHDX_MSG_LEN];
	const char *r = NULL;

	if (cio_init(&dry, first->buf, first->size, CIO_CUT, 0))
		return "no memory";
	run(&dry.io, RND2, msg, sizeof msg);
	*points = dry.nop;
	for (unsigned n = 1; n <= dry.nop && !r; n++) {
		struct membackend mb;
		int pending;
		if (cio_init(&c, first->buf, first->size, m, n))
			return "no memory";
		run(&c.io, RND2, msg, sizeof msg);
		if (cio_disk(&c, &mb)) {
			cio_free(&c);
			return "no memory";
		}
		r = survivor_ok(&mb, want, &pending);
		if (!r)
			r = complete(&mb, want, RND1);
		if (r) {
			snprintf(why, sizeof why, "second run crashed at op %u: %s", n, r);
			r = why;
		}
		mb_free(&mb);
		cio_free(&c);
	}
	cio_free(&dry);
	return r;
}

static void scenario(const struct scenario *s, int nested)
{
	struct crashio dry;
	char msg[VHDX_MSG_LEN], what[96];
	vhdx_status st;
	const char *why;
	unsigned total;

	if (!CHECK(cio_init(&dry, s->bytes, s->size, CIO_CUT, 0) == 0, "%s: dry run set-up", s->name))
		return;
	st = run(&dry.io, RND1, msg, sizeof msg);
	total = dry.nop;
	CHECK_EQ_U64(total, s->ops, "%s: the operations are the ones listed at the top of test_crash.c", s->name);
	CHECK(st == VHDX_OK && !dry.overflow, "%s: dry run completes (status %d: %s)", s->name, (int)st, msg);
	why = final_ok(dry.live, dry.live_size, s->want);
	t_report(!why, why, "%s: dry run result", s->name);
	CHECK(dry.alloc_live == 0, "%s: dry run holds no memory afterwards (%zu bytes)", s->name, dry.alloc_live);
	T_NOTE("%s: %u crash points", s->name, total);
	for (unsigned n = 1; n <= total; n++)
		T_NOTE("  %s", cio_describe(&dry, n, what, sizeof what));

	for (int m = 0; m < CIO_MODES; m++) {
		for (unsigned n = 1; n <= total; n++) {
			struct crashio c;
			struct membackend mb;
			int pending = 0;
			unsigned points = 0;

			cio_describe(&dry, n, what, sizeof what);
			if (!CHECK(cio_init(&c, s->bytes, s->size, (enum cio_mode)m, n) == 0, "%s, %s, %s: set-up", s->name,
				   what, cio_mode_name[m]))
				continue;
			st = run(&c.io, RND1, msg, sizeof msg);
			why = st == VHDX_OK      ? "the run did not fail at the crash" :
			      !c.crashed         ? "the crash was not reached" :
			      c.alloc_live       ? "the failed run left scratch memory allocated" :
			      cio_disk(&c, &mb)  ? "no memory" :
						   NULL;
			if (why) {
				t_report(0, why, "%s, crash at %s, %s: the file opens with the expected content", s->name, what,
					 cio_mode_name[m]);
				cio_free(&c);
				continue;
			}
			why = survivor_ok(&mb, s->want, &pending);
			t_report(!why, why, "%s, crash at %s, %s: the file opens with the expected content%s", s->name,
				 what, cio_mode_name[m], pending ? " (log pending)" : "");
			if (nested && (m == CIO_CUT || m == CIO_TEAR) && !why) {
				struct membackend copy;
				if (mb_init_copy(&copy, mb.buf, mb.size) == 0) {
					why = crash_second(&copy, s->want, (enum cio_mode)m, &points);
					t_report(!why, why,
						 "%s, crash at %s, %s: the second run crashed at each of its %u ops, a third completes",
						 s->name, what, cio_mode_name[m], points);
					mb_free(&copy);
				}
			}
			why = complete(&mb, s->want, RND2);
			t_report(!why, why, "%s, crash at %s, %s: a second run completes with the expected content",
				 s->name, what, cio_mode_name[m]);
			mb_free(&mb);
			cio_free(&c);
		}
	}
	cio_free(&dry);
}

int main(void)
{
	struct lb l;
	struct scenario s;
	uint8_t *want;

	/* hundreds of runs each allocate a few 8 MiB buffers: keep them in the heap instead of fresh, faulted mmaps */
	mallopt(M_MMAP_THRESHOLD, 64 << 20);
	mallopt(M_TRIM_THRESHOLD, 256 << 20);
	if (!CHECK(lb_several(&l, 1) == 10, "build the dirty image"))
		return t_done();
	want = lb_expect(&l);
	if (!CHECK(want != NULL, "expected content"))
		return t_done();

	s = (struct scenario){ "replay+session", l.b.buf, l.b.size, want, 23 };
	scenario(&s, 1);
	s = (struct scenario){ "session", l.m.buf, l.m.size, want, 4 };
	scenario(&s, 0);

	free(want);
	lb_free(&l);
	return t_done();
}
