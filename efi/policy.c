/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * policy.c - what the owner pins about the image, and the verdict at boot.
 *
 *   require-disk-id = GUID          VirtualDiskId (metadata "Page 83 data"): which disk
 *   require-data-write-guid = GUID  DataWriteGuid: changes only with user-visible data writes, so pinning it says
 *                                   "nobody changed the data since it was sealed"
 *   require-sha256 = HEX            SHA-256 of the whole virtual disk, streamed at boot (absent blocks: zeros, unread)
 *   on-mismatch = stop | warn       stop (default): no next stage, EFI_SECURITY_VIOLATION; warn: say so and boot
 *
 * The keys come from vhdxboot.conf and the command line (through options.c), unless the module carries an
 * embedded policy (efi/embedded.c: the .vhdxpol section `make sign` adds before signing): then those are ignored,
 * with a line saying so, because a config file on an unsigned ESP can be edited by anyone.
 * The check runs after validation and before anything is written: an image that is not the pinned one gets no
 * session update either (with stop).
 */
#include "boot.h"

/* Bytes per read while hashing: each read is one firmware call (BlockIo or the file system), so large requests
 * keep the per-call cost small against the data; the smaller size is the fallback when memory is short. */
#define HASH_BUF (8u << 20)
#define HASH_BUF_MIN (1u << 20)
#define HASH_PROGRESS_STEP (256ull << 20)

static struct {
	uint64_t next;
} hash_progress;

static void say_progress(void *arg, uint64_t done, uint64_t total)
{
	(void)arg;
	if (done >= hash_progress.next || done == total) {
		con_say("require-sha256: hashed %llu of %llu MiB", (unsigned long long)(done >> 20),
			(unsigned long long)(total >> 20));
		while (hash_progress.next <= done)
			hash_progress.next += HASH_PROGRESS_STEP;
	}
}

/* seconds since midnight from the RTC: enough to say how long a whole-disk hash took */
static int64_t clock_seconds(void)
{
	EFI_TIME t;
	if (EFI_ERROR(g_st->RuntimeServices->GetTime(&t, NULL)))
		return -1;
	return (int64_t)t.Hour * 3600 + t.Minute * 60 + t.Second;
}

static EFI_STATUS hash_disk(struct vhdx_image *img, uint8_t out[VHDX_SHA256_SIZE])
{
	uint32_t buflen = HASH_BUF;
	void *buf = mem_alloc(buflen);
	if (!buf)
		buf = mem_alloc(buflen = HASH_BUF_MIN);
	if (!buf) {
		con_say("require-sha256: no memory for a %u-byte read buffer", HASH_BUF_MIN);
		return EFI_OUT_OF_RESOURCES;
	}
	uint64_t before = img->stats.read_bytes;
	int64_t t0 = clock_seconds();
	struct vhdx_sha256 ctx;
	vhdx_sha256_init(&ctx);
	hash_progress.next = HASH_PROGRESS_STEP;
	vhdx_status vs = vhdx_digest_virtual(img, &ctx, buf, buflen, say_progress, NULL);
	mem_free(buf);
	if (vs != VHDX_OK) {
		con_say("require-sha256: cannot hash the virtual disk: %s: %s", vhdx_status_message(vs), img->msg);
		return efi_status_of(vs);
	}
	vhdx_sha256_final(&ctx, out);
	int64_t t1 = clock_seconds();
	uint64_t secs = (t0 < 0 || t1 < t0) ? 0 : (uint64_t)(t1 - t0); /* RTC seconds; 0 across midnight */
	con_say("require-sha256: hashed %llu MiB (read %llu MiB of stored blocks) in about %llu s",
		(unsigned long long)(img->virtual_size >> 20),
		(unsigned long long)((img->stats.read_bytes - before) >> 20), (unsigned long long)secs);
	return EFI_SUCCESS;
}

static int guid_mismatch(const char *field, const struct vhdx_guid *pinned, const struct vhdx_guid *found)
{
	if (vhdx_guid_equal(pinned, found))
		return 0;
	char a[VHDX_GUID_TEXT], b[VHDX_GUID_TEXT];
	vhdx_guid_format(pinned, a);
	vhdx_guid_format(found, b);
	con_say("policy: mismatch: %s: pinned %s, found %s", field, a, b);
	return 1;
}

EFI_STATUS policy_check(struct boot_policy *p, struct vhdx_image *img)
{
	uint8_t digest[VHDX_SHA256_SIZE];
	int have_digest = 0, bad = 0;
	if (p->have & POLICY_SHA256) {
		EFI_STATUS st = hash_disk(img, digest);
		if (EFI_ERROR(st)) {
			con_say("policy: mismatch: require-sha256: the virtual disk could not be hashed (%s)",
				efi_status_name(st));
			bad++;
		} else {
			have_digest = 1;
		}
	}
	/* the measurement comes first: the event log records what was booted or refused, either way */
	measure_image(img, have_digest ? digest : NULL);
	if (!p->have)
		return EFI_SUCCESS;

	if (p->have & POLICY_DISK_ID)
		bad += guid_mismatch("require-disk-id (VirtualDiskId)", &p->disk_id, &img->disk_id);
	if (p->have & POLICY_DATA_WRITE)
		bad += guid_mismatch("require-data-write-guid (DataWriteGuid)", &p->data_write_guid,
				     &img->header[img->current].data_write_guid);
	if (have_digest && memcmp(p->sha256, digest, sizeof digest)) {
		char a[VHDX_SHA256_HEX], b[VHDX_SHA256_HEX];
		vhdx_sha256_hex(p->sha256, a);
		vhdx_sha256_hex(digest, b);
		con_say("policy: mismatch: require-sha256 (virtual disk content): pinned %s, found %s", a, b);
		bad++;
	}
	const char *src = p->embedded ? "embedded policy" : "policy";
	if (!bad) {
		con_say("%s: the image matches%s%s%s", src, p->have & POLICY_DISK_ID ? " require-disk-id" : "",
			p->have & POLICY_DATA_WRITE ? " require-data-write-guid" : "",
			p->have & POLICY_SHA256 ? " require-sha256" : "");
		return EFI_SUCCESS;
	}
	if (p->warn_only) {
		con_say("%s: %d mismatch(es); on-mismatch = warn: booting anyway", src, bad);
		return EFI_SUCCESS;
	}
	con_say("%s: %d mismatch(es); on-mismatch = stop: the image is refused, nothing is written and the next "
		"stage is not started (EFI_SECURITY_VIOLATION)", src, bad);
	p->refused = 1;
	return EFI_SECURITY_VIOLATION;
}
