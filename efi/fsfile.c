/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fsfile.c - a VHDX file on an NTFS, exFAT, ext4 or FAT32 partition, with no file-system driver in the firmware.
 *
 * Firmware reads FAT only.  For `image = PATH` that no FAT volume holds, every partition's Block I/O is offered to
 * the core's locator (core/fs.h), which answers where the file's bytes lie; core/fsio.c then serves the image
 * through those extents, so validation, replay and the session update touch the file's own bytes and nothing else
 * of the volume.  Linux runs the same locator on the same partition (`vhdx map /dev/sda2/PATH`), so both agree.
 *
 * `image = PARTUUID:PATH` looks on that GPT partition only.  Without a pin, a file found on two partitions is a
 * refusal that names both: booting the wrong copy would be silent.  A volume that its own driver would not want
 * written behind its back (dirty, hibernated Windows, an ext4 journal to recover) is opened read-only, and says
 * why.
 */
#include "boot.h"
#include "fsfile.h"
#include "fsio.h"

#define FSFILE_EXTENT_MAX 65536u /* fragments of one image file; more is refused by the locator, named */
#define HD_SIGNATURE_GUID 0x02   /* HARDDRIVE_DEVICE_PATH.SignatureType of a GPT partition */
#define HD_NODE_LENGTH 42        /* the UEFI spec's length of the node; gnu-efi's struct is padded to 48 */
#define PARTUUID_TEXT 36

struct fsfile {
	struct backend part;       /* the partition, through its Block I/O */
	struct vhdx_fs_file file;  /* where the image's bytes lie on it */
	struct vhdx_fs_io fio;     /* the core's seam over them */
	EFI_HANDLE handle;
	CHAR16 *text;              /* the partition's device path, for messages */
};

/* The GPT partition GUID of a handle's device path (its last hard-drive node); 0 when it has none. */
static int partition_guid(EFI_HANDLE h, struct vhdx_guid *g)
{
	const EFI_DEVICE_PATH *dp = dp_of(h);
	const HARDDRIVE_DEVICE_PATH *hd = NULL;

	while (dp && !((dp->Type & 0x7f) == END_DEVICE_PATH_TYPE && dp->SubType == END_ENTIRE_DEVICE_PATH_SUBTYPE)) {
		UINTN len = (UINTN)dp->Length[0] | ((UINTN)dp->Length[1] << 8);
		if (len < sizeof(EFI_DEVICE_PATH))
			break; /* malformed: stop rather than loop */
		if (dp->Type == MEDIA_DEVICE_PATH && dp->SubType == MEDIA_HARDDRIVE_DP && len >= HD_NODE_LENGTH)
			hd = (const HARDDRIVE_DEVICE_PATH *)dp;
		dp = (const EFI_DEVICE_PATH *)((const UINT8 *)dp + len);
	}
	if (!hd || hd->SignatureType != HD_SIGNATURE_GUID)
		return 0;
	vhdx_guid_load(g, hd->Signature);
	return 1;
}

/* "PARTUUID:PATH" pins the partition; anything else is a path on any partition. */
static const CHAR16 *split_pin(const CHAR16 *spec, struct vhdx_guid *pin, int *pinned)
{
	char text[PARTUUID_TEXT + 1];

	*pinned = 0;
	if (u16_len(spec) <= PARTUUID_TEXT + 1 || spec[PARTUUID_TEXT] != L':') /* a GUID, ':' and a path */
		return spec;
	for (int i = 0; i < PARTUUID_TEXT; i++)
		text[i] = spec[i] < 0x80 ? (char)spec[i] : '?';
	text[PARTUUID_TEXT] = 0;
	if (vhdx_guid_parse(text, PARTUUID_TEXT, pin) != 0)
		return spec;
	*pinned = 1;
	return spec + PARTUUID_TEXT + 1;
}

/* The path as UTF-8 for the locator (a pool string), or NULL for a lone surrogate or no memory. */
static char *utf8_of(const CHAR16 *s)
{
	UINTN n = u16_len(s), o = 0;
	char *out = mem_alloc(n * 3 + 1);

	for (UINTN i = 0; out && i < n; i++) {
		uint32_t c = s[i];
		if (c >= 0xd800 && c <= 0xdbff && i + 1 < n && s[i + 1] >= 0xdc00 && s[i + 1] <= 0xdfff) {
			c = 0x10000 + ((c - 0xd800) << 10) + (s[++i] - 0xdc00u);
		} else if (c >= 0xd800 && c <= 0xdfff) {
			mem_free(out);
			return NULL;
		}
		if (c < 0x80) {
			out[o++] = (char)c;
		} else if (c < 0x800) {
			out[o++] = (char)(0xc0 | (c >> 6));
			out[o++] = (char)(0x80 | (c & 0x3f));
		} else if (c < 0x10000) {
			out[o++] = (char)(0xe0 | (c >> 12));
			out[o++] = (char)(0x80 | ((c >> 6) & 0x3f));
			out[o++] = (char)(0x80 | (c & 0x3f));
		} else {
			/* a pair took two units, so their six bytes of room hold these four */
			out[o++] = (char)(0xf0 | (c >> 18));
			out[o++] = (char)(0x80 | ((c >> 12) & 0x3f));
			out[o++] = (char)(0x80 | ((c >> 6) & 0x3f));
			out[o++] = (char)(0x80 | (c & 0x3f));
		}
	}
	if (out)
		out[o] = 0;
	return out;
}

static void fsfile_free(struct fsfile *ff)
{
	if (!ff)
		return;
	blk_backend_close(&ff->part);
	mem_free(ff->file.extents);
	mem_free(ff->text);
	mem_free(ff);
}

/* Tries one partition: 1 found (ff filled), 0 not there or not a file system we read, -1 refused (said). */
static int try_partition(EFI_HANDLE h, const char *path, struct fsfile **out)
{
	struct fsfile *ff = mem_zalloc(sizeof *ff);
	enum vhdx_fs_kind kind = VHDX_FS_UNKNOWN;
	char msg[256];

	*out = NULL;
	if (!ff)
		return 0;
	ff->handle = h;
	ff->text = dp_text(dp_of(h));
	ff->part.name = ff->text;
	ff->file.extents = mem_zalloc(FSFILE_EXTENT_MAX * sizeof(*ff->file.extents));
	ff->file.extent_max = FSFILE_EXTENT_MAX;
	if (!ff->file.extents || EFI_ERROR(blk_backend_open(&ff->part, h)) ||
	    vhdx_fs_probe(&ff->part.io, &kind, msg) != VHDX_OK || kind == VHDX_FS_UNKNOWN) {
		fsfile_free(ff);
		return 0;
	}
	vhdx_status st = vhdx_fs_locate(&ff->part.io, path, &ff->file);
	if (st == VHDX_E_NOTFOUND) {
		fsfile_free(ff);
		return 0;
	}
	if (st != VHDX_OK) {
		con_say("image file %s on %ls (%s): refused: %s", path, ff->text, vhdx_fs_kind_name(kind), ff->file.msg);
		fsfile_free(ff);
		return -1;
	}
	*out = ff;
	return 1;
}

/* Every logical partition, or the pinned one: exactly one must hold the file. */
static EFI_STATUS find(const char *path, const struct vhdx_guid *pin, int pinned, struct fsfile **out)
{
	EFI_HANDLE *hs = NULL;
	UINTN nh = 0;
	struct fsfile *found = NULL;
	int refused = 0, several = 0;

	*out = NULL;
	EFI_STATUS st = g_bs->LocateHandleBuffer(ByProtocol, &g_guid_block_io, NULL, &nh, &hs);
	if (EFI_ERROR(st))
		return st == EFI_NOT_FOUND ? EFI_NOT_FOUND : st;
	/* this line and the one naming the file bracket the lookup in a timestamped console log (the benchmarks) */
	con_say("image file %s: looking on %s (no file-system driver: the core's locators)", path,
		pinned ? "the pinned partition" : "every partition");
	for (UINTN i = 0; i < nh; i++) {
		EFI_BLOCK_IO_PROTOCOL *bio = NULL;
		struct vhdx_guid g;
		struct fsfile *ff;
		if (EFI_ERROR(g_bs->HandleProtocol(hs[i], &g_guid_block_io, (void **)&bio)) || !bio ||
		    !bio->Media->LogicalPartition || !bio->Media->MediaPresent)
			continue;
		if (pinned && (!partition_guid(hs[i], &g) || !vhdx_guid_equal(&g, pin)))
			continue;
		int r = try_partition(hs[i], path, &ff);
		refused += r < 0;
		if (r <= 0)
			continue;
		if (found) {
			if (!several)
				con_say("image file %s is on %ls", path, found->text);
			con_say("image file %s is on %ls", path, ff->text);
			several = 1;
			fsfile_free(ff);
			continue;
		}
		found = ff;
	}
	g_bs->FreePool(hs);
	if (several) {
		con_say("image file %s: found on several partitions; pin one with image = PARTUUID:PATH", path);
		fsfile_free(found);
		return EFI_INVALID_PARAMETER;
	}
	if (!found)
		return refused ? EFI_UNSUPPORTED : EFI_NOT_FOUND;
	*out = found;
	return EFI_SUCCESS;
}

EFI_STATUS fs_backend_open(struct backend *b, const CHAR16 *spec, EFI_HANDLE *holder)
{
	struct vhdx_guid pin;
	int pinned;
	const CHAR16 *p = split_pin(spec, &pin, &pinned);
	char *path = utf8_of(p);
	struct fsfile *ff = NULL;
	char msg[256];

	if (!path)
		return EFI_INVALID_PARAMETER;
	EFI_STATUS st = find(path, &pin, pinned, &ff);
	mem_free(path);
	if (EFI_ERROR(st))
		return st;
	int ro = ff->part.io.read_only;
	const char *why = ff->part.ro_reason;
	if (!ro && ff->file.fs_flags) {
		ro = 1;
		why = ff->file.fs_flags & VHDX_FS_HIBERNATED ? "the NTFS volume is hibernated (Windows fast startup)"
		      : ff->file.fs_flags & VHDX_FS_RECOVERY ? "the ext4 journal needs recovery"
							     : "the volume's dirty flag is set";
	}
	if (vhdx_fs_io_init(&ff->fio, &ff->part.io, &ff->file, ro, msg) != VHDX_OK) {
		con_say("image file %ls on %ls: %s", p, ff->text, msg);
		fsfile_free(ff);
		return EFI_VOLUME_CORRUPTED;
	}
	/* the lookup's cost as the locator counts it: `vhdx locate --json` gives the same figures on Linux */
	con_say("image file %ls on %ls (%s, %u extent%s; the lookup read %llu bytes in %u reads)", p, ff->text,
		vhdx_fs_kind_name(ff->file.kind), ff->file.extent_count, ff->file.extent_count == 1 ? "" : "s",
		(unsigned long long)ff->file.bytes_read, (unsigned)ff->file.reads);
	b->io = ff->fio.io;
	b->name = u16_dup(p);
	b->ro_reason = ro ? why : NULL;
	b->priv = ff;
	*holder = ff->handle;
	return EFI_SUCCESS;
}

void fs_backend_close(struct backend *b)
{
	fsfile_free(b->priv);
	mem_free(b->name);
	b->priv = NULL;
	b->name = NULL;
}
