/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_session_data.c - vhdx_session_update_data (core/session.c): the session update an OS asks for
 * before it writes its root through a read-write device-mapper table.  Checked: the new FileWriteGuid and
 * DataWriteGuid in both headers, sequence + 2, reserved bytes and content kept; refusals write nothing; and a crash
 * at each of its four operations (write, flush, write, flush) in every crashio mode leaves a file that opens with
 * the same content, whose current header has either the old or the new GUID pair (never a mix), and on which a
 * second run completes.
 */
#include "crashio.h"
#include "imgbuild.h"
#include "t.h"

#define OPS 4
#define CHECK_BYTES (4u << 20)

static const uint8_t RND1[32] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
				  17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32 };
static const uint8_t RND2[32] = { 0xF1, 0xE2, 0xD3, 0xC4, 0xB5, 0xA6, 0x97, 0x88, 0x79, 0x6A, 0x5B,
				  0x4C, 0x3D, 0x2E, 0x1F, 0x00, 0x99, 0x88, 0x77, 0x66, 0x55, 0x44,
				  0x33, 0x22, 0x11, 0x00, 0xAB, 0xCD, 0xEF, 0x12, 0x34, 0x56 };

static struct ib b;
static uint8_t want[CHECK_BYTES], got[CHECK_BYTES];

/* opens io, returns NULL or a reason; *hdr gets the current header; content compared with the builder's */
static const char *opens_same(struct vhdx_io *io, struct vhdx_header *hdr)
{
	struct vhdx_image img;
	vhdx_status st = vhdx_open(&img, io);

	if (st)
		return t_why("open: status %d: %s", (int)st, img.msg);
	*hdr = img.header[img.current];
	st = vhdx_read(&img, 0, got, CHECK_BYTES);
	vhdx_close(&img);
	if (st)
		return t_why("read: status %d", (int)st);
	if (memcmp(got, want, CHECK_BYTES))
		return "the virtual disk content changed";
	return NULL;
}

static void exact(const struct vhdx_header *old)
{
	struct membackend mb;
	struct vhdx_image img;
	struct vhdx_guid fw, dw;
	const char *r = ib_opened(&b, &img, &mb);

	if (!t_report(!r, r, "session --data: opens"))
		return;
	vhdx_status st = vhdx_session_update_data(&img, RND1);
	CHECK_EQ_U64(st, VHDX_OK, "session --data: succeeds");
	CHECK_EQ_U64(mb.writes, 2, "session --data: two header writes");
	CHECK_EQ_U64(mb.flushes, 2, "session --data: two flushes");
	vhdx_close(&img);
	vhdx_guid_from_random(&fw, RND1);
	vhdx_guid_from_random(&dw, RND1 + 16);
	struct vhdx_header h;
	r = opens_same(&mb.io, &h);
	t_report(!r, r, "session --data: reopens, content the same");
	CHECK_EQ_U64(h.sequence, old->sequence + 2, "session --data: sequence raised by two");
	CHECK(vhdx_guid_equal(&h.file_write_guid, &fw), "session --data: FileWriteGuid from random[0..15]");
	CHECK(vhdx_guid_equal(&h.data_write_guid, &dw), "session --data: DataWriteGuid from random[16..31]");
	CHECK(vhdx_guid_equal(&h.log_guid, &old->log_guid) && h.log_offset == old->log_offset,
	      "session --data: LogGuid and log location kept");
	int same = 1;
	for (int i = 0; i < 2; i++)
		for (size_t k = 80; k < VHDX_HEADER_SIZE; k++)
			same &= mb.buf[(i ? 128u : 64u) * 1024 + k] == (uint8_t)(k * 5 + 1);
	CHECK(same, "session --data: reserved bytes of both headers kept");
	CHECK(!memcmp(mb.buf + 192 * 1024, b.buf + 192 * 1024, (size_t)(b.size - 192 * 1024)),
	      "session --data: nothing after the header area written");
	mb_free(&mb);
}

static void refusals(void)
{
	struct membackend mb;
	struct vhdx_image img;
	const char *r = ib_opened(&b, &img, &mb);

	if (!t_report(!r, r, "refusal: opens"))
		return;
	img.io->read_only = 1;
	vhdx_status st = vhdx_session_update_data(&img, RND1);
	CHECK(st == VHDX_E_READONLY && mb.writes == 0 && mb.flushes == 0,
	      "refusal: a read-only medium: VHDX_E_READONLY, nothing written (%s)", img.msg);
	vhdx_close(&img);
	mb_free(&mb);

	struct vhdx_image none;
	memset(&none, 0, sizeof none);
	none.io = &mb.io;
	CHECK_EQ_U64(vhdx_session_update_data(&none, RND1), VHDX_E_STATE, "refusal: an image that was not opened");
}

static void crashes(const struct vhdx_header *old)
{
	struct vhdx_guid fw1, dw1, fw2, dw2;
	char what[96];

	vhdx_guid_from_random(&fw1, RND1);
	vhdx_guid_from_random(&dw1, RND1 + 16);
	vhdx_guid_from_random(&fw2, RND2);
	vhdx_guid_from_random(&dw2, RND2 + 16);
	for (int m = 0; m < CIO_MODES; m++) {
		for (unsigned at = 1; at <= OPS; at++) {
			struct crashio c;
			struct membackend mb;
			struct vhdx_image img;
			struct vhdx_header h;
			if (cio_init(&c, b.buf, b.size, (enum cio_mode)m, at))
				return;
			if (!vhdx_open(&img, &c.io)) {
				vhdx_session_update_data(&img, RND1);
				vhdx_close(&img);
			}
			cio_describe(&c, at, what, sizeof what);
			if (cio_disk(&c, &mb)) {
				cio_free(&c);
				return;
			}
			cio_free(&c);
			const char *r = opens_same(&mb.io, &h);
			int was_old = vhdx_guid_equal(&h.file_write_guid, &old->file_write_guid) &&
				      vhdx_guid_equal(&h.data_write_guid, &old->data_write_guid);
			int was_new = vhdx_guid_equal(&h.file_write_guid, &fw1) && vhdx_guid_equal(&h.data_write_guid, &dw1);
			if (!r && !was_old && !was_new)
				r = "the current header has neither the old nor the new FileWriteGuid/DataWriteGuid pair";
			t_report(!r, r, "crash (%s) at %s: opens, content the same, old or new GUIDs", cio_mode_name[m],
				 what);
			struct vhdx_image again;
			vhdx_status st = vhdx_open(&again, &mb.io);
			if (!st) {
				st = vhdx_session_update_data(&again, RND2);
				vhdx_close(&again);
			}
			r = st ? t_why("status %d", (int)st) : opens_same(&mb.io, &h);
			if (!r && !(vhdx_guid_equal(&h.file_write_guid, &fw2) && vhdx_guid_equal(&h.data_write_guid, &dw2)))
				r = "the second run's GUIDs are not current";
			t_report(!r, r, "crash (%s) at %s: a second run completes", cio_mode_name[m], what);
			mb_free(&mb);
		}
	}
}

int main(void)
{
	struct membackend mb;
	struct vhdx_image img;
	struct vhdx_header old;
	const char *r;

	if (!CHECK(!ib_build(&b, NULL), "build an image"))
		return t_done();
	CHECK(ib_alloc_block(&b, 0) && ib_alloc_block(&b, 2), "two present blocks");
	for (int i = 0; i < 2; i++) {
		for (size_t k = 80; k < VHDX_HEADER_SIZE; k++)
			ib_hdr(&b, i)[k] = (uint8_t)(k * 5 + 1);
		ib_hdr_fix(&b, i);
	}
	ib_expect(&b, 0, want, CHECK_BYTES);
	r = ib_opened(&b, &img, &mb);
	if (!t_report(!r, r, "the model image opens"))
		return t_done();
	old = img.header[img.current];
	vhdx_close(&img);
	mb_free(&mb);

	exact(&old);
	refusals();
	crashes(&old);
	ib_free(&b);
	return t_done();
}
