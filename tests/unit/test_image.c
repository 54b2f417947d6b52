/* SPDX-License-Identifier: BSD-2-Clause */
/* test_image.c - core/image.c: vhdx_open's argument checks, the file identifier, memory failures, vhdx_close. */
#include "imgbuild.h"
#include "t.h"

static struct vhdx_image img;
static struct ib b;

#define REFUSED(st, f1, f2, ...)                                                                                 \
	do {                                                                                                     \
		const char *r_ = ib_refused(&b, (st), (f1), (f2));                                                \
		t_report(r_ == NULL, r_, __VA_ARGS__);                                                            \
	} while (0)

static void fresh(void)
{
	ib_free(&b);
	if (ib_build(&b, NULL)) {
		printf("Bail out! cannot build an image\n");
		exit(2);
	}
}

static void arguments(void)
{
	struct membackend mb;

	fresh();
	ib_mb(&b, &mb);
	CHECK_STATUS(vhdx_open(NULL, mb_io(&mb)), VHDX_E_ARG, "open: NULL image refused");
	CHECK_STATUS(vhdx_open(&img, NULL), VHDX_E_ARG, "open: NULL backend refused");
	CHECK_STR_CONTAINS(img.msg, "I/O backend", "open: NULL backend message");
	struct vhdx_io io = *mb_io(&mb);
	io.read = NULL;
	CHECK_STATUS(vhdx_open(&img, &io), VHDX_E_ARG, "open: backend without read refused");
	io = *mb_io(&mb);
	io.alloc = NULL;
	CHECK_STATUS(vhdx_open(&img, &io), VHDX_E_ARG, "open: backend without alloc refused");
	io = *mb_io(&mb);
	io.free = NULL;
	CHECK_STATUS(vhdx_open(&img, &io), VHDX_E_ARG, "open: backend without free refused");
	CHECK_EQ_INT(img.validated, 0, "open: a refused image is not validated");
	/* write, flush and resize are optional for reading */
	io = *mb_io(&mb);
	io.write = NULL;
	io.flush = NULL;
	io.resize = NULL;
	io.read_only = 1;
	CHECK_STATUS(vhdx_open(&img, &io), VHDX_OK, "open: a read-only backend without write/flush/resize opens");
	CHECK_EQ_INT(img.validated, 1, "open: validated");
	vhdx_close(&img);
	CHECK_EQ_INT(img.validated, 0, "close: clears validated");
	vhdx_close(&img);
	CHECK_EQ_U64(mb.alloc_bytes_live, 0, "close: twice is harmless and everything is freed");
	vhdx_close(NULL);
	CHECK(1, "close: NULL is harmless");
	static struct vhdx_image zero;
	vhdx_close(&zero);
	CHECK(1, "close: an image never opened is harmless");
	mb_free(&mb);

	/* open resets whatever the struct held */
	fresh();
	ib_mb(&b, &mb);
	memset(&img, 0xA5, sizeof img);
	CHECK_STATUS(vhdx_open(&img, mb_io(&mb)), VHDX_OK, "open: over a struct full of garbage");
	CHECK(img.warnings == 0 && img.log_pending == 0 && img.stats.writes == 0, "open: the struct starts from zero");
	vhdx_close(&img);
	mb_free(&mb);
}

static void identifier(void)
{
	struct membackend mb;
	const char *r;

	fresh();
	r = ib_opened(&b, &img, &mb);
	t_report(!r, r, "identifier: a built image opens");
	CHECK_STR_EQ(img.creator, "imgbuild", "identifier: creator read from UTF-16LE");
	vhdx_close(&img);
	mb_free(&mb);

	fresh();
	b.buf[0] = 'V';
	REFUSED(VHDX_E_CORRUPT, "file identifier", "signature", "identifier: \"Vhdxfile\" refused");
	fresh();
	memset(b.buf, 0, 8);
	REFUSED(VHDX_E_CORRUPT, "file identifier: signature 0x0", NULL, "identifier: zero signature refused");

	/* a file shorter than the header area */
	fresh();
	b.size = VHDX_MiB - 1;
	REFUSED(VHDX_E_CORRUPT, "file identifier", "less than the 1 MiB header area", "identifier: a file of 1 MiB - 1 bytes refused");
	b.size = 0;
	REFUSED(VHDX_E_CORRUPT, "0 bytes", NULL, "identifier: an empty file refused");

	/* creator: non-ASCII as '?', stops at NUL, never overflows the 128-byte field */
	fresh();
	uint8_t *c = b.buf + VHDX_IDENT_CREATOR;
	memset(c, 0, VHDX_IDENT_CREATOR_LEN);
	vhdx_put16(c + 0, 'A');
	vhdx_put16(c + 2, 0x00E9); /* é */
	vhdx_put16(c + 4, 0x0007); /* a control character */
	vhdx_put16(c + 6, 'z');
	vhdx_put16(c + 10, 'X'); /* after the NUL */
	r = ib_opened(&b, &img, &mb);
	CHECK(!r && strcmp(img.creator, "A??z") == 0, "identifier: creator \"A\\u00e9\\u0007z\" shown as \"A??z\" (got \"%s\")",
	      r ? r : img.creator);
	vhdx_close(&img);
	mb_free(&mb);
	for (int i = 0; i < VHDX_IDENT_CREATOR_LEN / 2; i++)
		vhdx_put16(c + 2 * i, (uint16_t)('a' + i % 26));
	r = ib_opened(&b, &img, &mb);
	CHECK(!r && strlen(img.creator) == sizeof img.creator - 1 && img.creator[0] == 'a',
	      "identifier: a 256-character creator is cut to 127 characters and terminated");
	vhdx_close(&img);
	mb_free(&mb);
	memset(c, 0, VHDX_IDENT_CREATOR_LEN);
	r = ib_opened(&b, &img, &mb);
	CHECK(!r && img.creator[0] == 0, "identifier: an empty creator");
	vhdx_close(&img);
	mb_free(&mb);
}

/* every allocation open makes can fail: VHDX_E_NOMEM, nothing kept, nothing written */
static void memory(void)
{
	struct membackend mb;

	fresh();
	ib_alloc_block(&b, 2);
	ib_mb(&b, &mb);
	memset(&img, 0, sizeof img);
	vhdx_open(&img, mb_io(&mb));
	unsigned allocs = mb.allocs;
	vhdx_close(&img);
	mb_free(&mb);
	T_NOTE("open makes %u allocations", allocs);
	CHECK(allocs >= 2, "open memory: at least the scratch and the BAT window allocated (%u)", allocs);

	for (unsigned k = 1; k <= allocs; k++) {
		ib_mb(&b, &mb);
		mb.fail_alloc_at = k;
		memset(&img, 0, sizeof img);
		vhdx_status st = vhdx_open(&img, mb_io(&mb));
		CHECK_STATUS(st, VHDX_E_NOMEM, "open memory: allocation %u of %u fails: VHDX_E_NOMEM", k, allocs);
		CHECK(strstr(img.msg, "memory") != NULL, "open memory: allocation %u: message \"%s\"", k, img.msg);
		CHECK(mb.alloc_bytes_live == 0 && mb.writes == 0 && !img.validated,
		      "open memory: allocation %u: nothing kept (%zu bytes), nothing written, not validated", k, mb.alloc_bytes_live);
		vhdx_close(&img);
		mb_free(&mb);
	}
	/* a read failure at any point of open: VHDX_E_IO, nothing kept */
	ib_mb(&b, &mb);
	memset(&img, 0, sizeof img);
	vhdx_open(&img, mb_io(&mb));
	unsigned reads = mb.reads;
	vhdx_close(&img);
	mb_free(&mb);
	int ok = 1;
	char why[VHDX_MSG_LEN + 128] = "";
	for (unsigned k = 1; k <= reads; k++) {
		ib_mb(&b, &mb);
		mb.fail_read_at = k;
		memset(&img, 0, sizeof img);
		vhdx_status st = vhdx_open(&img, mb_io(&mb));
		if (st != VHDX_E_IO || mb.alloc_bytes_live || img.validated) {
			snprintf(why, sizeof why, "read %u: status %d, %zu bytes kept: %s", k, (int)st, mb.alloc_bytes_live, img.msg);
			ok = 0;
		}
		vhdx_close(&img);
		mb_free(&mb);
	}
	t_report(ok, why, "open I/O: a failure at each of the %u reads gives VHDX_E_IO and keeps nothing", reads);
}

int main(void)
{
	arguments();
	identifier();
	memory();
	ib_free(&b);
	return t_done();
}
