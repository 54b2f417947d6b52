/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * blockio.c - struct vhdx_io over EFI_BLOCK_IO_PROTOCOL: a VHDX that is a whole disk or a raw partition.
 *
 * Byte offsets become block reads through one bounce buffer aligned to the device's IoAlign; partial blocks at
 * the edges of a write are read, patched and written back.  Every call passes the MediaId seen at open (a changed
 * medium fails with EFI_MEDIA_CHANGED instead of touching another disk), nothing is written to ReadOnly media,
 * FlushBlocks follows each flush request, and a device error is reported once and never retried.
 */
#include "boot.h"

#define MAX_BLOCK_BYTES (64u * 1024u)

/*
 * The bounce buffer serves what cannot go straight into the caller's buffer: a buffer the device's IoAlign does
 * not accept, and the partial blocks at the edges.  Each parent request costs a fixed time that dwarfs the copy
 * (about 0.35 ms per virtio or NVMe request under QEMU, whatever its size up to a MiB or more: 4 KiB and 1 MiB
 * requests differ 100-fold in throughput), so the buffer holds a whole 1 MiB request from any start in the block
 * (plus the largest BlockSize accepted): such a request is one parent read and one copy, not four.
 */
#define BOUNCE_BYTES (1024u * 1024u + MAX_BLOCK_BYTES)

struct blk {
	EFI_BLOCK_IO_PROTOCOL *bio;
	UINT32 media_id;
	UINT32 bs;
	UINTN align;
	UINT8 *bounce;   /* aligned */
	void *bounce_base;
	UINTN bounce_len; /* a multiple of bs */
	struct backend *b;
	unsigned errors;  /* reported ones; a failing disk should not flood the console */
};

static int fail(struct blk *k, EFI_STATUS st, const char *what, EFI_LBA lba)
{
	k->b->last = st;
	if (k->errors < 8)
		con_say("%ls: %s at block %llu: %s", k->b->name, what, (unsigned long long)lba, efi_status_name(st));
	else if (k->errors == 8)
		con_say("%ls: further device errors not shown", k->b->name);
	k->errors++;
	return -1;
}

static int aligned(const struct blk *k, const void *p)
{
	return k->align <= 1 || ((UINTN)p & (k->align - 1)) == 0;
}

static int blk_read(void *ctx, uint64_t off, void *buf, size_t len)
{
	struct blk *k = ctx;
	UINT8 *out = buf;
	while (len) {
		EFI_LBA lba = off / k->bs;
		UINTN within = (UINTN)(off % k->bs);
		/* whole aligned blocks straight into the caller's buffer when it suits the device */
		if (!within && len >= k->bs && aligned(k, out)) {
			UINTN n = (UINTN)(len - len % k->bs);
			if (n > 16u * 1024 * 1024)
				n = 16u * 1024 * 1024;
			EFI_STATUS st = k->bio->ReadBlocks(k->bio, k->media_id, lba, n, out);
			if (EFI_ERROR(st))
				return fail(k, st, "read", lba);
			off += n, out += n, len -= n;
			continue;
		}
		UINTN want = within + len;
		if (want > k->bounce_len)
			want = k->bounce_len;
		UINTN nbytes = (want + k->bs - 1) / k->bs * k->bs;
		EFI_STATUS st = k->bio->ReadBlocks(k->bio, k->media_id, lba, nbytes, k->bounce);
		if (EFI_ERROR(st))
			return fail(k, st, "read", lba);
		UINTN take = nbytes - within;
		if (take > len)
			take = len;
		g_bs->CopyMem(out, k->bounce + within, take); /* the firmware's copy: fast at any alignment */
		off += take, out += take, len -= take;
	}
	return 0;
}

static int blk_write(void *ctx, uint64_t off, const void *buf, size_t len)
{
	struct blk *k = ctx;
	const UINT8 *in = buf;
	if (k->bio->Media->ReadOnly) {
		k->b->last = EFI_WRITE_PROTECTED;
		con_say("%ls: write refused: the medium is read-only", k->b->name);
		return -1;
	}
	while (len) {
		EFI_LBA lba = off / k->bs;
		UINTN within = (UINTN)(off % k->bs);
		UINTN want = within + len;
		if (want > k->bounce_len)
			want = k->bounce_len;
		UINTN nbytes = (want + k->bs - 1) / k->bs * k->bs;
		UINTN take = nbytes - within;
		if (take > len)
			take = len;
		/* the first and last block are only partly ours: read them before patching */
		if (within) {
			EFI_STATUS st = k->bio->ReadBlocks(k->bio, k->media_id, lba, k->bs, k->bounce);
			if (EFI_ERROR(st))
				return fail(k, st, "read before write", lba);
		}
		if ((within + take) % k->bs && (nbytes > k->bs || !within)) {
			EFI_LBA last = lba + nbytes / k->bs - 1;
			EFI_STATUS st =
				k->bio->ReadBlocks(k->bio, k->media_id, last, k->bs, k->bounce + nbytes - k->bs);
			if (EFI_ERROR(st))
				return fail(k, st, "read before write", last);
		}
		memcpy(k->bounce + within, in, take);
		EFI_STATUS st = k->bio->WriteBlocks(k->bio, k->media_id, lba, nbytes, k->bounce);
		if (EFI_ERROR(st))
			return fail(k, st, "write", lba);
		off += take, in += take, len -= take;
	}
	return 0;
}

static int blk_flush(void *ctx)
{
	struct blk *k = ctx;
	EFI_STATUS st = k->bio->FlushBlocks(k->bio);
	if (EFI_ERROR(st))
		return fail(k, st, "flush", 0);
	return 0;
}

EFI_STATUS blk_backend_open(struct backend *b, EFI_HANDLE h)
{
	EFI_BLOCK_IO_PROTOCOL *bio = NULL;
	EFI_STATUS st = g_bs->HandleProtocol(h, &g_guid_block_io, (void **)&bio);
	if (EFI_ERROR(st))
		return st;
	EFI_BLOCK_IO_MEDIA *m = bio->Media;
	if (!m->MediaPresent)
		return EFI_NO_MEDIA;
	if (m->BlockSize < 512 || (m->BlockSize & (m->BlockSize - 1)) || m->BlockSize > MAX_BLOCK_BYTES)
		return EFI_UNSUPPORTED;
	if (m->IoAlign > 1 && (m->IoAlign & (m->IoAlign - 1)))
		return EFI_UNSUPPORTED;

	struct blk *k = mem_zalloc(sizeof *k);
	if (!k)
		return EFI_OUT_OF_RESOURCES;
	k->bio = bio;
	k->media_id = m->MediaId;
	k->bs = m->BlockSize;
	k->align = m->IoAlign > 1 ? m->IoAlign : 1;
	k->bounce_len = BOUNCE_BYTES < k->bs ? k->bs : BOUNCE_BYTES - BOUNCE_BYTES % k->bs;
	k->bounce = mem_alloc_aligned(k->bounce_len, k->align, &k->bounce_base);
	if (!k->bounce) {
		mem_free(k);
		return EFI_OUT_OF_RESOURCES;
	}
	k->b = b;

	memset(&b->io, 0, sizeof b->io);
	b->io.ctx = k;
	b->io.size = ((uint64_t)m->LastBlock + 1) * m->BlockSize;
	b->io.read_only = m->ReadOnly ? 1 : 0;
	b->ro_reason = m->ReadOnly ? "the device is read-only" : NULL;
	b->io.read = blk_read;
	b->io.write = blk_write;
	b->io.flush = blk_flush;
	b->io.resize = NULL;
	backend_set_alloc(&b->io);
	b->priv = k;
	b->last = EFI_SUCCESS;
	if (!b->name)
		b->name = dp_text(dp_of(h));
	return EFI_SUCCESS;
}

void blk_backend_close(struct backend *b)
{
	struct blk *k = b->priv;
	if (k) {
		mem_free(k->bounce_base);
		mem_free(k);
	}
	b->priv = NULL;
}
