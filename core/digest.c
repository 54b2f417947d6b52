/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * digest.c - the SHA-256 of a whole virtual disk, streamed piece by piece.
 *
 * A sealed image is pinned by the hash of what a reader of its virtual disk sees, so the digest must equal
 * `sha256sum` of `vhdx export`.  Blocks that store nothing read as zeros; hashing them as zeros instead of reading
 * keeps the I/O proportional to the data actually allocated (the hashing itself still covers every byte).
 * vhdx_digest_piece says which stretches must be read; vhdx_digest_virtual is the single-threaded loop the boot
 * module runs, and `vhdx seal` runs the same pieces with its reads on a second thread (host/seal.c).
 */
#include "internal.h"

#define DIGEST_MIN_BUF 4096

/* Does reading this block touch the file?  Only stored data does; a differencing disk's absent blocks would come
 * from its parent, which vhdx_read refuses by name, so those are read (and refused) too. */
static int block_is_stored(const struct vhdx_image *img, unsigned state)
{
	if (state == VHDX_BAT_FULLY_PRESENT || state == VHDX_BAT_PARTIALLY_PRESENT)
		return 1;
	return img->has_parent && state == VHDX_BAT_NOT_PRESENT;
}

vhdx_status vhdx_digest_piece(struct vhdx_image *img, uint64_t off, uint64_t *len, int *stored)
{
	if (!img->validated)
		return vhdx_fail(img, VHDX_E_STATE, "digest: the image was not opened and validated");
	if (off >= img->virtual_size)
		return vhdx_fail(img, VHDX_E_ARG, "digest: offset %llu is not below the virtual size %llu",
				 (unsigned long long)off, (unsigned long long)img->virtual_size);

	uint64_t b = off / img->block_size, end = off;
	int first = -1;
	for (; b < img->payload_blocks && end < img->virtual_size; b++) {
		unsigned state;
		uint64_t file_off;
		vhdx_status st = vhdx_block_lookup(img, b, &state, &file_off);
		if (st)
			return st;
		int s = block_is_stored(img, state);
		if (first >= 0 && s != first)
			break;
		first = s;
		end = (b + 1) * (uint64_t)img->block_size;
		if (end > img->virtual_size)
			end = img->virtual_size; /* the last block may be partial */
	}
	*len = end - off;
	*stored = first;
	return VHDX_OK;
}

static vhdx_status hash_stored(struct vhdx_image *img, struct vhdx_sha256 *ctx, uint64_t off, uint64_t n,
			       uint8_t *buf, size_t buflen, vhdx_progress_fn progress, void *arg)
{
	while (n) {
		size_t k = n < buflen ? (size_t)n : buflen;
		vhdx_status st = vhdx_read(img, off, buf, k);
		if (st)
			return st;
		vhdx_sha256_update(ctx, buf, k);
		off += k;
		n -= k;
		if (progress)
			progress(arg, off, img->virtual_size);
	}
	return VHDX_OK;
}

/* zeros a block at a time, so that the progress callback still moves across a long empty stretch */
static void hash_zeros(struct vhdx_image *img, struct vhdx_sha256 *ctx, uint64_t off, uint64_t n,
		       vhdx_progress_fn progress, void *arg)
{
	while (n) {
		uint64_t k = n < img->block_size ? n : img->block_size;
		vhdx_sha256_zeros(ctx, k);
		off += k;
		n -= k;
		if (progress)
			progress(arg, off, img->virtual_size);
	}
}

vhdx_status vhdx_digest_virtual(struct vhdx_image *img, struct vhdx_sha256 *ctx, void *buf, size_t buflen,
				vhdx_progress_fn progress, void *arg)
{
	if (!img->validated)
		return vhdx_fail(img, VHDX_E_STATE, "digest: the image was not opened and validated");
	if (!ctx || !buf || buflen < DIGEST_MIN_BUF)
		return vhdx_fail(img, VHDX_E_ARG, "digest: a scratch buffer of at least %u bytes is needed, got %llu",
				 DIGEST_MIN_BUF, (unsigned long long)(buf ? buflen : 0));

	uint64_t off = 0, n;
	for (; off < img->virtual_size; off += n) {
		int stored;
		vhdx_status st = vhdx_digest_piece(img, off, &n, &stored);
		if (st)
			return st;
		if (!stored) {
			hash_zeros(img, ctx, off, n, progress, arg);
			continue;
		}
		st = hash_stored(img, ctx, off, n, buf, buflen, progress, arg);
		if (st)
			return st;
	}
	return VHDX_OK;
}
