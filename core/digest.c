/*
 * digest.c - the SHA-256 of a whole virtual disk, streamed block by block.
 *
 * A sealed image is pinned by the hash of what a reader of its virtual disk sees, so the digest must equal
 * `sha256sum` of `vhdx export`.  Blocks that store nothing read as zeros; hashing them from a shared zero buffer
 * instead of reading keeps the boot-time cost proportional to the data actually allocated (plus the hashing).
 */
#include "internal.h"

#define DIGEST_MIN_BUF 4096
#define ZERO_CHUNK 4096

static const uint8_t zero_chunk[ZERO_CHUNK];

/* Does reading this block touch the file?  Only stored data does; a differencing disk's absent blocks would come
 * from its parent, which vhdx_read refuses by name, so those are read (and refused) too. */
static int block_is_stored(const struct vhdx_image *img, unsigned state)
{
	if (state == VHDX_BAT_FULLY_PRESENT || state == VHDX_BAT_PARTIALLY_PRESENT)
		return 1;
	return img->has_parent && state == VHDX_BAT_NOT_PRESENT;
}

static void hash_zeros(struct vhdx_sha256 *ctx, uint64_t n)
{
	while (n) {
		size_t k = n < ZERO_CHUNK ? (size_t)n : ZERO_CHUNK;
		vhdx_sha256_update(ctx, zero_chunk, k);
		n -= k;
	}
}

static vhdx_status hash_stored(struct vhdx_image *img, struct vhdx_sha256 *ctx, uint64_t off, uint64_t n,
			       uint8_t *buf, size_t buflen)
{
	while (n) {
		size_t k = n < buflen ? (size_t)n : buflen;
		vhdx_status st = vhdx_read(img, off, buf, k);
		if (st)
			return st;
		vhdx_sha256_update(ctx, buf, k);
		off += k;
		n -= k;
	}
	return VHDX_OK;
}

vhdx_status vhdx_digest_virtual(struct vhdx_image *img, struct vhdx_sha256 *ctx, void *buf, size_t buflen,
				vhdx_progress_fn progress, void *arg)
{
	if (!img->validated)
		return vhdx_fail(img, VHDX_E_STATE, "digest: the image was not opened and validated");
	if (!ctx || !buf || buflen < DIGEST_MIN_BUF)
		return vhdx_fail(img, VHDX_E_ARG, "digest: a scratch buffer of at least %u bytes is needed, got %llu",
				 DIGEST_MIN_BUF, (unsigned long long)(buf ? buflen : 0));

	uint64_t done = 0;
	for (uint64_t b = 0; b < img->payload_blocks; b++) {
		uint64_t n = img->virtual_size - done;
		if (n > img->block_size)
			n = img->block_size; /* the last block may be partial */
		unsigned state;
		uint64_t file_off;
		vhdx_status st = vhdx_block_lookup(img, b, &state, &file_off);
		if (st)
			return st;
		if (block_is_stored(img, state)) {
			st = hash_stored(img, ctx, done, n, buf, buflen);
			if (st)
				return st;
		} else {
			hash_zeros(ctx, n);
		}
		done += n;
		if (progress)
			progress(arg, done, img->virtual_size);
	}
	return VHDX_OK;
}
