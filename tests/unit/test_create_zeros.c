/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_create_zeros.c - core/create.c's VHDX_SOURCE_ZEROS answer (what `vhdx create --from` gives for a hole of a
 * sparse source): the piece reads back as zeros although the source left garbage in the buffer, a dynamic image
 * allocates no block for it, a fixed image still stores zeros there (also over a medium holding old bytes, as a
 * block device written with --force does, where the zeros must really be written), and the blocks around it keep
 * their data.
 */
#include "imgbuild.h"
#include "t.h"

#define MiB VHDX_MiB
#define BLOCK (1 * MiB)
#define BLOCKS 6
#define GARBAGE 0xA5

/* blocks 1, 2 and 4 answer "zeros" after scribbling over the buffer; the others carry ib_pattern bytes */
static const int hole[BLOCKS] = { 0, 1, 1, 0, 1, 0 };

static int source(void *ctx, uint64_t off, void *buf, size_t len)
{
	int *calls = ctx;
	(*calls)++;
	if (hole[off / BLOCK]) {
		memset(buf, GARBAGE, len);
		return VHDX_SOURCE_ZEROS;
	}
	for (size_t i = 0; i < len; i++)
		((uint8_t *)buf)[i] = ib_pattern(off + i);
	return 0;
}

#define OLD_BYTE 0x5A

static void one(int fixed, int old_medium)
{
	const char *name = !fixed ? "dynamic" : old_medium ? "fixed over old bytes" : "fixed";
	struct vhdx_create_params p;
	struct membackend mb, m2;
	struct vhdx_image img;
	char msg[VHDX_MSG_LEN] = "unset";
	int calls = 0;

	memset(&p, 0, sizeof p);
	p.virtual_size = BLOCKS * BLOCK;
	p.block_size = BLOCK;
	p.fixed = fixed;
	for (int i = 0; i < 64; i++)
		p.random[i] = (uint8_t)(i * 31 + 3);
	p.source = source;
	p.source_ctx = &calls;
	mb_init(&mb, old_medium ? 16 * MiB : 0);
	if (old_medium)
		memset(mb.buf, OLD_BYTE, (size_t)mb.size);
	mb.grow = 1;
	vhdx_status st = vhdx_create(mb_io(&mb), &p, msg, sizeof msg);
	if (!CHECK_STATUS(st, VHDX_OK, "source zeros, %s: created (%s)", name, msg)) {
		mb_free(&mb);
		return;
	}
	CHECK_EQ_U64(calls, BLOCKS, "source zeros, %s: the source is asked once per block", name);
	mb_init_copy(&m2, mb.buf, mb.size);
	memset(&img, 0, sizeof img);
	st = vhdx_open(&img, mb_io(&m2));
	if (CHECK_STATUS(st, VHDX_OK, "source zeros, %s: opens (%s)", name, img.msg)) {
		uint8_t *got = malloc(BLOCK), *want = malloc(BLOCK);
		int present = 0;
		for (uint64_t b = 0; b < BLOCKS; b++) {
			unsigned state;
			uint64_t file_off;
			vhdx_block_lookup(&img, b, &state, &file_off);
			present += state == VHDX_BAT_FULLY_PRESENT;
			CHECK_STATUS(vhdx_read(&img, b * BLOCK, got, BLOCK), VHDX_OK, "source zeros, %s: block %llu reads",
				     name, (unsigned long long)b);
			for (size_t i = 0; i < BLOCK; i++)
				want[i] = hole[b] ? 0 : ib_pattern(b * BLOCK + i);
			CHECK_MEM_EQ(got, want, BLOCK, "source zeros, %s: block %llu reads back as %s", name,
				     (unsigned long long)b, hole[b] ? "zeros, not the garbage left in the buffer" : "its data");
		}
		CHECK_EQ_U64(present, fixed ? BLOCKS : 3, "source zeros, %s: blocks present", name);
		vhdx_close(&img);
		free(got);
		free(want);
	}
	mb_free(&m2);
	mb_free(&mb);
}

int main(void)
{
	one(0, 0);
	one(1, 0);
	one(1, 1);
	return t_done();
}
