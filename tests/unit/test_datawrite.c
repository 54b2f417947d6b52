/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_datawrite.c - vhdx_write (core/datawrite.c): virtual-disk bytes written in place into FULLY_PRESENT blocks,
 * what the boot module's writable virtual disk does for the loader inside.  Checked: a write across two present
 * blocks reads back and changes no other byte of the file; refusals (the DataWriteGuid not renewed, an absent
 * block in the range, a read-only medium, a parent, beyond the end) write nothing and name the block and state;
 * and a crash at each of the write's operations in every crashio mode leaves a file that opens, with the renewed
 * DataWriteGuid, every byte outside the range unchanged and every byte inside it old or new.
 */
#include "crashio.h"
#include "imgbuild.h"
#include "t.h"

#define MIB (1024u * 1024u)
#define CHECK_BYTES (8u * MIB)
/* the range written: the last 3 KiB of block 1 and the first 5 KiB of block 2 (blocks are 1 MiB) */
#define W_OFF (2u * MIB - 3072u)
#define W_LEN 8192u

static const uint8_t RND[VHDX_PREPARE_RANDOM] = { 9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 11, 12, 13, 14, 15, 16,
						  17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32 };

static struct ib b;
static uint8_t want[CHECK_BYTES], got[CHECK_BYTES], data[W_LEN];

static const char *read_all(struct vhdx_io *io, struct vhdx_header *hdr)
{
	struct vhdx_image img;
	vhdx_status st = vhdx_open(&img, io);
	if (st)
		return t_why("open: status %d: %s", (int)st, img.msg);
	if (hdr)
		*hdr = img.header[img.current];
	st = vhdx_read(&img, 0, got, CHECK_BYTES);
	vhdx_close(&img);
	return st ? t_why("read: status %d", (int)st) : NULL;
}

/* the session update (data), then the write: the happy path, byte for byte */
static void exact(void)
{
	struct membackend mb;
	struct vhdx_image img;
	struct vhdx_prepare_report rep;
	struct vhdx_write_refusal why;
	const char *r = ib_opened(&b, &img, &mb);
	if (!t_report(!r, r, "write: opens"))
		return;
	struct vhdx_guid old_dw = img.header[img.current].data_write_guid;
	CHECK_EQ_U64(vhdx_write(&img, W_OFF, data, W_LEN, &why), VHDX_E_STATE,
		     "write: before the DataWriteGuid renewal: VHDX_E_STATE");
	CHECK(mb.writes == 0 && !why.refused, "write: before the renewal: nothing written (%s)", img.msg);
	CHECK_EQ_U64(vhdx_prepare_write_data(&img, RND, &rep), VHDX_OK, "write: session update (data)");
	uint64_t hdr_writes = mb.writes;
	uint8_t *after_hdr = malloc(b.size);
	memcpy(after_hdr, mb.buf, b.size);
	CHECK_EQ_U64(vhdx_write(&img, W_OFF, data, W_LEN, &why), VHDX_OK, "write: across blocks 1 and 2");
	CHECK_EQ_U64(mb.writes - hdr_writes, 2, "write: one backend write per block");
	CHECK_EQ_U64(vhdx_write_flush(&img), VHDX_OK, "write: flush");
	/* the file as it should be: the bytes of the range at their blocks' file offsets, nothing else */
	unsigned st1 = 0, st2 = 0;
	uint64_t f1 = 0, f2 = 0;
	vhdx_block_lookup(&img, 1, &st1, &f1);
	vhdx_block_lookup(&img, 2, &st2, &f2);
	memcpy(after_hdr + f1 + (MIB - 3072u), data, 3072u);
	memcpy(after_hdr + f2, data + 3072u, W_LEN - 3072u);
	vhdx_close(&img);
	struct vhdx_header h;
	r = read_all(&mb.io, &h);
	if (t_report(!r, r, "write: reopens")) {
		memcpy(want + W_OFF, data, W_LEN);
		CHECK(!memcmp(got, want, CHECK_BYTES), "write: the virtual disk reads the new bytes, the rest as before");
		ib_expect(&b, 0, want, CHECK_BYTES);
	}
	CHECK(!vhdx_guid_equal(&h.data_write_guid, &old_dw), "write: DataWriteGuid is new");
	CHECK(st1 == VHDX_BAT_FULLY_PRESENT && st2 == VHDX_BAT_FULLY_PRESENT && f1 != f2 + MIB &&
		      !memcmp(mb.buf, after_hdr, b.size),
	      "write: the file is the one before plus the range at its blocks' offsets, nothing else");
	free(after_hdr);
	mb_free(&mb);
}

static void refused(const char *name, uint64_t off, uint64_t len, vhdx_status want_st, int want_refusal,
		    uint64_t want_block, unsigned want_state, void (*spoil)(struct vhdx_image *))
{
	struct membackend mb;
	struct vhdx_image img;
	struct vhdx_prepare_report rep;
	struct vhdx_write_refusal why;
	const char *r = ib_opened(&b, &img, &mb);
	if (!t_report(!r, r, "%s: opens", name))
		return;
	if (vhdx_prepare_write_data(&img, RND, &rep))
		t_report(0, img.msg, "%s: session update", name);
	uint8_t *before = malloc(mb.size);
	memcpy(before, mb.buf, mb.size);
	uint64_t w0 = mb.writes;
	if (spoil)
		spoil(&img);
	vhdx_status st = vhdx_write(&img, off, data, (size_t)len, &why);
	CHECK_EQ_U64(st, want_st, "%s: status (%s)", name, img.msg);
	CHECK(mb.writes == w0 && !memcmp(before, mb.buf, mb.size), "%s: nothing written", name);
	CHECK_EQ_U64(why.refused, want_refusal, "%s: refusal reported", name);
	if (want_refusal) {
		CHECK_EQ_U64(why.block, want_block, "%s: the block named", name);
		CHECK_EQ_U64(why.state, want_state, "%s: its state", name);
		char blk[32];
		snprintf(blk, sizeof blk, "payload block %llu", (unsigned long long)want_block);
		CHECK(strstr(img.msg, blk) && strstr(img.msg, vhdx_bat_state_name(want_state)),
		      "%s: the message names block and state: %s", name, img.msg);
	}
	free(before);
	img.child = NULL;
	img.io->read_only = 0;
	vhdx_close(&img);
	mb_free(&mb);
}

static struct vhdx_image fake_child;
static void make_parent(struct vhdx_image *img)
{
	img->child = &fake_child;
}
static void make_read_only(struct vhdx_image *img)
{
	img->io->read_only = 1;
}

static void crashes(void)
{
	char what[96];
	for (int m = 0; m < CIO_MODES; m++) {
		for (unsigned at = 1; at <= 3; at++) { /* write, write, flush */
			struct crashio c;
			struct membackend mb;
			struct vhdx_image img;
			struct vhdx_prepare_report rep;
			struct vhdx_write_refusal why;
			struct vhdx_header h;
			uint8_t *base;
			uint64_t base_size;
			/* the renewal first, on a plain backend: the crash points are the data write's own */
			const char *r = ib_opened(&b, &img, &mb);
			if (!t_report(!r, r, "crash: opens"))
				return;
			vhdx_prepare_write_data(&img, RND, &rep);
			struct vhdx_guid dw = img.header[img.current].data_write_guid;
			vhdx_close(&img);
			base = mb.buf;
			base_size = mb.size;
			if (cio_init(&c, base, base_size, (enum cio_mode)m, at))
				return;
			if (!vhdx_open(&img, &c.io)) {
				img.data_renewed = 1; /* the same session as the renewal above */
				if (!vhdx_write(&img, W_OFF, data, W_LEN, &why))
					vhdx_write_flush(&img);
				vhdx_close(&img);
			}
			cio_describe(&c, at, what, sizeof what);
			struct membackend after;
			if (cio_disk(&c, &after)) {
				cio_free(&c);
				mb_free(&mb);
				return;
			}
			cio_free(&c);
			r = read_all(&after.io, &h);
			if (!r && !vhdx_guid_equal(&h.data_write_guid, &dw))
				r = "DataWriteGuid is not the renewed one";
			if (!r && (memcmp(got, want, W_OFF) ||
				   memcmp(got + W_OFF + W_LEN, want + W_OFF + W_LEN, CHECK_BYTES - W_OFF - W_LEN)))
				r = "bytes outside the written range changed";
			for (unsigned k = 0; !r && k < W_LEN; k++)
				if (got[W_OFF + k] != want[W_OFF + k] && got[W_OFF + k] != data[k])
					r = t_why("byte %u of the range is neither old nor new", k);
			t_report(!r, r, "crash (%s) at %s: opens, renewed DataWriteGuid, range old or new, rest unchanged",
				 cio_mode_name[m], what);
			mb_free(&after);
			mb_free(&mb);
		}
	}
}

int main(void)
{
	if (!CHECK(!ib_build(&b, NULL), "build an image"))
		return t_done();
	/* blocks 2, 0, 1 in that file order (a write across 1 and 2 goes to two places); block 3 absent */
	CHECK(ib_alloc_block(&b, 2) && ib_alloc_block(&b, 0) && ib_alloc_block(&b, 1), "three present blocks");
	ib_expect(&b, 0, want, CHECK_BYTES);
	for (unsigned k = 0; k < W_LEN; k++)
		data[k] = (uint8_t)(0xA5 ^ k ^ (k >> 8));

	crashes(); /* before exact(): it leaves want[] with the new bytes */
	refused("absent block", 3u * MIB - 512u, 1024u, VHDX_E_READONLY, 1, 3, VHDX_BAT_NOT_PRESENT, NULL);
	refused("absent block far in the range", 0, 4u * MIB, VHDX_E_READONLY, 1, 3, VHDX_BAT_NOT_PRESENT, NULL);
	refused("beyond the end", CHECK_BYTES - 512u, 1024u, VHDX_E_RANGE, 0, 0, 0, NULL);
	refused("a parent", W_OFF, 512u, VHDX_E_READONLY, 0, 0, 0, make_parent);
	refused("read-only medium", W_OFF, 512u, VHDX_E_READONLY, 0, 0, 0, make_read_only);
	exact();
	ib_free(&b);
	return t_done();
}
