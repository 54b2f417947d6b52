/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * main.c - the flow of vhdxboot.efi, a list of named steps:
 *   read the options -> find the VHDX -> validate it (vhdx_open writes nothing; a pending log is seen replayed in
 *   memory) -> attach a differencing image's parents -> hold it against the policy -> decide whether anything may
 *   be written -> replay a pending log and do the session header update -> summary -> start the next stage.
 * A step either lets the next one run or stops the list: by refusing (refuse(): the image failed a check or a
 * write failed; s->result says why) or by having nothing more to do (stop_here(): check-only, a read-only medium,
 * no random source).  After a refusal the image is never written, and the next stage starts only with
 * on-error = continue.  When nothing may be written, a dirty image still boots read-only through the in-memory
 * replay.  Everything a session opened is closed in one place, session_close().
 */
#include "boot.h"
#include "fsfile.h"

#define INSIDE_PREFIX "vhdx:" /* next = vhdx:PATH boots PATH from inside the image's virtual disk */
#define INSIDE_PREFIX_LEN 5

struct session {
	struct boot_options opt;
	struct backend be;
	int be_is_file;            /* a file on a FAT volume, through the firmware's file system */
	int be_is_fsfile;          /* a file on an NTFS, exFAT, ext4 or FAT32 partition, through the core's locator */
	EFI_HANDLE be_handle;      /* the block device, or the volume (partition) holding the file */
	int be_open;
	struct vhdx_image img;
	int img_open;
	EFI_STATUS result;         /* the refusal, or EFI_SUCCESS */
	char wrote[160];           /* what was written, for the summary */
	int updated;               /* the session update was written: the handoff variable tells the OS so */
	struct parents *parents;   /* a differencing image's parents (parents.c) */
};

enum step_result { STEP_NEXT, STEP_STOP };

/* The one way to refuse: the status to return, and what the summary reports as written. */
static enum step_result refuse(struct session *s, EFI_STATUS why, const char *wrote, ...) VHDX_PRINTF(3, 4);
static enum step_result refuse(struct session *s, EFI_STATUS why, const char *wrote, ...)
{
	va_list ap;
	va_start(ap, wrote);
	fmt_v(s->wrote, sizeof s->wrote, wrote, ap);
	va_end(ap);
	s->result = why;
	return STEP_STOP;
}

/* The checks are done and nothing is to be written: no refusal, the next stage may start. */
static enum step_result stop_here(struct session *s, const char *why)
{
	fmt(s->wrote, sizeof s->wrote, "nothing (%s)", why);
	return STEP_STOP;
}

/* The one way to close a session: the image, then its parents, then the medium; safe to call twice. */
static void session_close(struct session *s)
{
	if (s->img_open) {
		vhdx_close(&s->img);
		s->img_open = 0;
	}
	parents_release(&s->parents); /* after the child, which reads through them */
	if (s->be_open) {
		if (s->be_is_fsfile)
			fs_backend_close(&s->be);
		else if (s->be_is_file)
			file_backend_close(&s->be);
		else
			blk_backend_close(&s->be);
		s->be_open = 0;
	}
}

/*
 * --image [PARTUUID:]PATH on a partition with no firmware driver for its file system (NTFS, exFAT, ext4), or on a
 * FAT32 partition the firmware does not mount: the core's locator reads the partition raw (fsfile.c).
 */
static EFI_STATUS open_fs_image(struct session *s)
{
	EFI_HANDLE part = NULL;
	EFI_STATUS st = fs_backend_open(&s->be, s->opt.image, &part);
	if (st == EFI_NOT_FOUND)
		con_say("image file %ls: not on any FAT volume, nor on an NTFS, exFAT, ext4 or FAT32 partition",
			s->opt.image);
	else if (EFI_ERROR(st))
		con_say("image file %ls: %s", s->opt.image, efi_status_name(st));
	if (EFI_ERROR(st))
		return st;
	s->be_is_fsfile = 1;
	s->be_handle = part;
	s->be_open = 1;
	return EFI_SUCCESS;
}

/* PARTUUID:PATH names a partition, so only the locator can serve it (a GUID is never the start of a FAT path). */
static int pinned_to_partition(const CHAR16 *spec)
{
	return u16_len(spec) > VHDX_GUID_TEXT && spec[VHDX_GUID_TEXT - 1] == L':';
}

/* --image PATH: a file on some simple-file-system volume, else on a partition the locator reads. */
static EFI_STATUS open_file_image(struct session *s)
{
	EFI_HANDLE vol = NULL;
	if (pinned_to_partition(s->opt.image))
		return open_fs_image(s);
	EFI_STATUS st = find_image_file(s->opt.image, &vol);
	if (st == EFI_NOT_FOUND)
		return open_fs_image(s);
	if (EFI_ERROR(st)) {
		con_say("image file %ls: %s", s->opt.image, efi_status_name(st));
		return st;
	}
	st = file_backend_open(&s->be, vol, s->opt.image);
	if (EFI_ERROR(st)) {
		con_say("image file %ls: open: %s", s->opt.image, efi_status_name(st));
		return st;
	}
	CHAR16 *t = dp_text(dp_of(vol));
	con_say("image file %ls on %ls", s->opt.image, t);
	mem_free(t);
	s->be_is_file = 1;
	s->be_handle = vol;
	s->be_open = 1;
	return EFI_SUCCESS;
}

/* A Block I/O device that starts with the VHDX signature, picked by --disk (default: the only one). */
static EFI_STATUS open_disk_image(struct session *s)
{
	struct found_disk *list = NULL;
	UINTN n = 0;
	EFI_STATUS st = discover_disks(&list, &n);
	if (EFI_ERROR(st)) {
		con_say("looking for VHDX devices: %s", efi_status_name(st));
		return st;
	}
	const CHAR16 *sel = s->opt.disk ? s->opt.disk : L"auto";
	size_t pick = n, hits = 0;
	/* the texts of list[], one struct found_disk apart (disksel.c is firmware-free, so it takes no handles) */
	const CHAR16 *const *texts = n ? (const CHAR16 *const *)&list[0].text : NULL;
	switch (disk_select(sel, texts, sizeof list[0], n, &pick, &hits)) {
	case DISK_PICKED:
		break;
	case DISK_NONE:
		con_say("no VHDX found on any block device (a file: --image PATH)");
		break;
	case DISK_SEVERAL:
		con_say("several VHDX found; pick one with --disk INDEX or --disk DEVICE-PATH:");
		discover_print(list, n);
		break;
	case DISK_INDEX_RANGE:
		con_say("--disk %ls: there are %llu VHDX devices", sel, (unsigned long long)n);
		break;
	case DISK_MATCHES:
		con_say("--disk %ls matches %llu VHDX devices", sel, (unsigned long long)hits);
		discover_print(list, n);
		break;
	}
	if (pick >= n) {
		discover_free(list, n);
		return n == 0 ? EFI_NOT_FOUND : EFI_INVALID_PARAMETER;
	}
	s->be.name = u16_dup(list[pick].text);
	s->be_handle = list[pick].handle;
	discover_free(list, n);
	st = blk_backend_open(&s->be, s->be_handle);
	if (EFI_ERROR(st)) {
		con_say("%ls: %s", s->be.name, efi_status_name(st));
		return st;
	}
	s->be_open = 1;
	EFI_BLOCK_IO_PROTOCOL *bio = NULL;
	g_bs->HandleProtocol(s->be_handle, &g_guid_block_io, (void **)&bio);
	con_say("image %ls (%u-byte blocks%s)", s->be.name, bio ? bio->Media->BlockSize : 0,
		s->be.io.read_only ? ", read-only" : "");
	return EFI_SUCCESS;
}

/* Step: which VHDX (--image PATH, else a device picked by --disk). */
static enum step_result find_image(struct session *s)
{
	EFI_STATUS st = s->opt.image ? open_file_image(s) : open_disk_image(s);
	return EFI_ERROR(st) ? refuse(s, st, "nothing (no image)") : STEP_NEXT;
}

/*
 * Progress while validating: the core reads the BAT once, front to back; on a large image that takes noticeable
 * time, so the read callback is wrapped to print a line for every PROGRESS_STEP bytes read.
 */
#define PROGRESS_STEP (64ull << 20)
static struct {
	int (*read)(void *ctx, uint64_t off, void *buf, size_t len);
	uint64_t bytes, next;
} progress;

static int read_with_progress(void *ctx, uint64_t off, void *buf, size_t len)
{
	progress.bytes += len;
	if (progress.bytes >= progress.next) {
		con_say("validating: %llu MiB read", (unsigned long long)(progress.bytes >> 20));
		progress.next += PROGRESS_STEP;
	}
	return progress.read(ctx, off, buf, len);
}

/* Step: vhdx_open, which checks everything it reads and writes nothing. */
static enum step_result validate(struct session *s)
{
	struct vhdx_image *img = &s->img;
	con_say("validating %ls (%llu MiB)...", s->be.name, (unsigned long long)(s->be.io.size >> 20));
	progress.read = s->be.io.read;
	progress.bytes = 0;
	progress.next = PROGRESS_STEP;
	s->be.io.read = read_with_progress;
	vhdx_status vs = vhdx_open(img, &s->be.io);
	s->be.io.read = progress.read;
	if (vs != VHDX_OK) {
		con_say("%ls: refused: %s: %s", s->be.name, vhdx_status_message(vs), img->msg);
		return refuse(s, efi_status_of(vs), "nothing (image refused)");
	}
	s->img_open = 1;
	const struct vhdx_header *h = &img->header[img->current];
	con_say("valid: virtual size %llu MiB, block size %u KiB, %u-byte sectors, header %d current, sequence %llu",
		(unsigned long long)(img->virtual_size >> 20), img->block_size >> 10, img->logical_sector_size,
		img->current + 1, (unsigned long long)h->sequence);
	for (unsigned i = 0; i < img->warnings && i < VHDX_MAX_WARNINGS; i++)
		con_say("warning: %s", img->warning[i]);
	if (img->log_pending)
		con_say("log pending: %u entries (sequence %llu..%llu); reads see them replayed in memory",
			img->log.entries, (unsigned long long)img->log.tail_seq, (unsigned long long)img->log.head_seq);
	return STEP_NEXT;
}

/* Step: a differencing image's whole chain is found and validated before the policy and any write. */
static enum step_result attach_parents(struct session *s)
{
	if (!s->img.has_parent)
		return STEP_NEXT;
	EFI_STATUS st = parents_attach(&s->parents, &s->img, s->be_handle, s->be_is_file ? s->opt.image : NULL);
	if (EFI_ERROR(st))
		return refuse(s, st, "nothing (differencing image: its parent chain is incomplete)");
	return STEP_NEXT;
}

/* Step: measure the image and hold it against the pinned policy before anything is written. */
static enum step_result hold_to_policy(struct session *s)
{
	if (EFI_ERROR(policy_check(&s->opt.policy, &s->img)))
		return refuse(s, EFI_SECURITY_VIOLATION, "nothing (policy mismatch)");
	return STEP_NEXT;
}

/* Step: writing is wanted (not check-only) and possible (not a read-only medium). */
static enum step_result may_write(struct session *s)
{
	if (s->opt.check_only) {
		con_say("check-only: writing nothing");
		return stop_here(s, "check-only");
	}
	if (s->be.io.read_only) {
		con_say("read-only: %s: writing nothing", s->be.ro_reason ? s->be.ro_reason : "the medium");
		return stop_here(s, "read-only medium");
	}
	return STEP_NEXT;
}

/* A write failed: say what the core and the device said, and refuse. */
static enum step_result write_failed(struct session *s, const char *what, vhdx_status vs, const char *wrote)
{
	con_say("%ls: %s failed: %s: %s%s%s", s->be.name, what, vhdx_status_message(vs), s->img.msg,
		EFI_ERROR(s->be.last) ? "; device: " : "", EFI_ERROR(s->be.last) ? efi_status_name(s->be.last) : "");
	return refuse(s, efi_status_of(vs), "%s FAILED (%s)", wrote, vhdx_status_message(vs));
}

/* Step: replay a pending log, then the session header update (a new FileWriteGuid from a real random source). */
static enum step_result update_session(struct session *s)
{
	struct vhdx_image *img = &s->img;
	uint8_t rnd[VHDX_PREPARE_RANDOM]; /* layout: core/vhdx.h, vhdx_prepare_write */
	const char *source = NULL;
	if (EFI_ERROR(random_get(rnd, sizeof rnd, &source))) {
		con_say("no random source: %s: not writing the session update (FileWriteGuid needs real randomness)",
			source);
		return stop_here(s, "no random source");
	}
	struct vhdx_prepare_report rep;
	vhdx_status vs = vhdx_prepare_write(img, rnd, &rep);
	memset(rnd, 0, sizeof rnd);
	if (rep.replay_failed)
		return write_failed(s, "log replay", vs, "log replay");
	if (rep.replayed)
		con_say("log replay: %u entries applied, sequence %llu -> %llu", rep.entries,
			(unsigned long long)rep.sequence_before, (unsigned long long)rep.sequence_replayed);
	if (vs != VHDX_OK)
		return write_failed(s, "session update", vs, "session update");
	s->updated = 1;
	const struct vhdx_header *h = &img->header[img->current];
	con_say("session update: sequence %llu -> %llu, random from %s", (unsigned long long)rep.sequence_before,
		(unsigned long long)h->sequence, source);
	char guid[VHDX_GUID_TEXT];
	vhdx_guid_format(&h->file_write_guid, guid);
	con_say("new FileWriteGuid %s", guid);
	fmt(s->wrote, sizeof s->wrote, "%ssession update (sequence %llu -> %llu)",
	    rep.replayed ? "log replay and " : "", (unsigned long long)rep.sequence_before,
	    (unsigned long long)h->sequence);
	return STEP_NEXT;
}

/* The checks and writes, in order; the first step that does not answer STEP_NEXT ends the list. */
static enum step_result (*const steps[])(struct session *s) = {
	find_image, validate, attach_parents, hold_to_policy, may_write, update_session,
};

/* Options from the embedded policy, the command line and vhdxboot.conf.  *done: nothing more to do (--help). */
static EFI_STATUS read_options(struct boot_options *o, int *done)
{
	EFI_STATUS st = policy_load_embedded(&o->policy); /* before any other source of policy */
	if (EFI_ERROR(st))
		return st;
	st = options_parse_cmdline(o);
	if (EFI_ERROR(st) || o->help) {
		options_usage();
		*done = 1;
		return st;
	}
	return options_read_config(o);
}

static EFI_STATUS list_disks(void)
{
	struct found_disk *list = NULL;
	UINTN n = 0;
	EFI_STATUS st = discover_disks(&list, &n);
	if (EFI_ERROR(st))
		return st;
	discover_print(list, n);
	discover_free(list, n);
	return EFI_SUCCESS;
}

static int boots_inside(const struct session *s)
{
	return s->opt.next && u16_ncmp_ascii(s->opt.next, INSIDE_PREFIX, INSIDE_PREFIX_LEN) == 0;
}

/* Whether the next stage starts.  A policy refusal (on-mismatch = stop) outranks on-error = continue; booting
 * from inside needs the image open. */
static int may_start(const struct session *s)
{
	if (!s->opt.next || s->opt.policy.refused)
		return 0;
	if (boots_inside(s) && !s->img_open)
		return 0;
	return !EFI_ERROR(s->result) || s->opt.on_error == ON_ERROR_CONTINUE;
}

static void say_summary(const struct session *s, int go)
{
	const struct vhdx_stats *t = &s->img.stats;
	if (s->be_open)
		con_say("I/O: %llu reads (%llu KiB), %llu writes (%llu KiB), %llu flushes", (unsigned long long)t->reads,
			(unsigned long long)(t->read_bytes >> 10), (unsigned long long)t->writes,
			(unsigned long long)(t->write_bytes >> 10), (unsigned long long)t->flushes);
	char hdr[64];
	if (s->img_open)
		fmt(hdr, sizeof hdr, "header %d, sequence %llu", s->img.current + 1,
		    (unsigned long long)s->img.header[s->img.current].sequence);
	else
		fmt(hdr, sizeof hdr, "no valid header in use");
	con_say("summary: image %ls; %s; wrote %s; next %ls%s", s->be.name ? s->be.name : L"(none)", hdr, s->wrote,
		s->opt.next ? s->opt.next : L"(none)",
		!s->opt.next ? "" : go ? "" : " (not started: the image was refused)");
	if (EFI_ERROR(s->result) && go)
		con_say("on-error continue: starting the next stage anyway");
}

/* next = vhdx:PATH: PATH from the image's virtual disk, with the handoff variable set while it runs. */
static EFI_STATUS start_inside(struct session *s)
{
	const CHAR16 *path = s->opt.next + INSIDE_PREFIX_LEN;
	struct vdisk *vd = NULL;
	EFI_STATUS st = vdisk_install(&vd, &s->img, s->be_handle, vdisk_writable(&s->opt, &s->img, s->updated));
	if (EFI_ERROR(st))
		return st;
	/* a file's path on its partition, without a PARTUUID: pin (the partition is named apart) */
	const CHAR16 *file = s->be_is_file ? s->opt.image : s->be_is_fsfile ? s->be.name : NULL;
	handoff_publish(&s->img, s->be_handle, file, s->opt.os_write, s->updated);
	st = vdisk_boot(vd, *path ? path : EFIARCH_REMOVABLE, s->opt.child_args);
	handoff_clear(); /* the next stage returned: the image is no longer what runs */
	vdisk_uninstall(vd);
	return st;
}

/* next = PATH on our own volume: the session is closed first, since the next stage may open the same device. */
static EFI_STATUS start_next(struct session *s)
{
	session_close(s);
	return chainload_path(g_loaded->DeviceHandle, s->opt.next, s->opt.child_args);
}

static EFI_STATUS run(struct session *s)
{
	int done = 0;
	EFI_STATUS st = read_options(&s->opt, &done);
	if (EFI_ERROR(st) || done)
		return st;
	if (s->opt.list)
		return list_disks();

	for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++)
		if (steps[i](s) != STEP_NEXT)
			break;
	int go = may_start(s);
	say_summary(s, go);
	if (!go)
		return s->result;
	return boots_inside(s) ? start_inside(s) : start_next(s);
}

EFI_STATUS efi_main(EFI_HANDLE image, EFI_SYSTEM_TABLE *systab)
{
	if (EFI_ERROR(efi_globals_set(image, systab)))
		return EFI_LOAD_ERROR;
	con_say("vhdxboot %s", VHDX_VERSION_STRING);

	static struct session s; /* the image struct is large; keep it off the firmware's stack */
	memset(&s, 0, sizeof s);
	EFI_STATUS st = run(&s);
	session_close(&s);
	con_say("exit status %s", efi_status_name(st));
	return st;
}
