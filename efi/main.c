/*
 * main.c - the flow of vhdxboot.efi:
 *   options -> find the VHDX -> validate (vhdx_open, writes nothing; a pending log is seen replayed in memory)
 *   -> decide what may be written (check-only? read-only medium? a random source?) -> replay the log if one is
 *   pending -> the session header update -> chainload the next stage -> return its status.
 * A refusal (the image fails validation, the replay or the update fails) stops before the next stage unless
 * on-error is "continue"; the image is never written after a refusal.  When nothing may be written, a dirty image
 * still boots read-only through the in-memory replay.
 */
#include "boot.h"

EFI_HANDLE g_image;
EFI_SYSTEM_TABLE *g_st;
EFI_BOOT_SERVICES *g_bs;
EFI_LOADED_IMAGE *g_loaded;

EFI_GUID g_guid_loaded_image = EFI_LOADED_IMAGE_PROTOCOL_GUID;
EFI_GUID g_guid_device_path = EFI_DEVICE_PATH_PROTOCOL_GUID;
EFI_GUID g_guid_block_io = EFI_BLOCK_IO_PROTOCOL_GUID;
EFI_GUID g_guid_simple_fs = EFI_SIMPLE_FILE_SYSTEM_PROTOCOL_GUID;
EFI_GUID g_guid_file_info = EFI_FILE_INFO_ID;
EFI_GUID g_guid_fs_info = EFI_FILE_SYSTEM_INFO_ID;
EFI_GUID g_guid_rng = EFI_RNG_PROTOCOL_GUID;
EFI_GUID g_guid_shell_params = EFI_SHELL_PARAMETERS_PROTOCOL_GUID;
EFI_GUID g_guid_dp_to_text = EFI_DEVICE_PATH_TO_TEXT_PROTOCOL_GUID;

EFI_STATUS efi_status_of(vhdx_status st)
{
	switch (st) {
	case VHDX_OK:
		return EFI_SUCCESS;
	case VHDX_E_IO:
		return EFI_DEVICE_ERROR;
	case VHDX_E_NOMEM:
		return EFI_OUT_OF_RESOURCES;
	case VHDX_E_ARG:
		return EFI_INVALID_PARAMETER;
	case VHDX_E_CORRUPT:
		return EFI_VOLUME_CORRUPTED;
	case VHDX_E_UNSUPPORTED:
		return EFI_UNSUPPORTED;
	case VHDX_E_READONLY:
		return EFI_WRITE_PROTECTED;
	case VHDX_E_LOG_PENDING:
		return EFI_NOT_READY;
	case VHDX_E_SEQUENCE:
		return EFI_VOLUME_FULL;
	case VHDX_E_RANGE:
		return EFI_END_OF_MEDIA;
	default:
		return EFI_ABORTED;
	}
}

struct session {
	struct boot_options opt;
	struct backend be;
	int be_is_file;
	EFI_HANDLE be_handle;      /* the block device, or the volume holding the file */
	int be_open;
	struct vhdx_image img;
	int img_open;
	EFI_STATUS result;         /* the refusal, or EFI_SUCCESS */
	char wrote[160];           /* what was written, for the summary */
	int updated;               /* the session update was written (issue 10: the handoff variable says so) */
	struct chain *chain;       /* issue 11: a differencing image's parents (chain.c) */
};

/* Which VHDX: --image PATH (a file) or a Block I/O device picked by --disk. */
static EFI_STATUS choose_backend(struct session *s)
{
	EFI_STATUS st;
	if (s->opt.image) {
		EFI_HANDLE vol = NULL;
		st = find_image_file(s->opt.image, &vol);
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

	struct found_disk *list = NULL;
	UINTN n = 0;
	st = discover_disks(&list, &n);
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

static void say_guid(const char *what, const struct vhdx_guid *g)
{
	char t[VHDX_GUID_TEXT];
	vhdx_guid_format(g, t);
	con_say("%s %s", what, t);
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

static void say_io(const struct vhdx_image *img)
{
	const struct vhdx_stats *t = &img->stats;
	con_say("I/O: %llu reads (%llu KiB), %llu writes (%llu KiB), %llu flushes", (unsigned long long)t->reads,
		(unsigned long long)(t->read_bytes >> 10),
		(unsigned long long)t->writes, (unsigned long long)(t->write_bytes >> 10),
		(unsigned long long)t->flushes);
}

/* Validation, then the header update when everything allows it.  Sets s->result on a refusal. */
static void check_and_update(struct session *s)
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
		s->result = efi_status_of(vs);
		fmt(s->wrote, sizeof s->wrote, "nothing (image refused)");
		return;
	}
	s->img_open = 1;
	const struct vhdx_header *h = &img->header[img->current];
	con_say("valid: virtual size %llu MiB, block size %u KiB, %u-byte sectors, header %d current, sequence %llu",
		(unsigned long long)(img->virtual_size >> 20), img->block_size >> 10, img->logical_sector_size,
		img->current + 1,
		(unsigned long long)h->sequence);
	for (unsigned i = 0; i < img->warnings && i < VHDX_MAX_WARNINGS; i++)
		con_say("warning: %s", img->warning[i]);
	if (img->log_pending)
		con_say("log pending: %u entries (sequence %llu..%llu); reads see them replayed in memory",
			img->log.entries, (unsigned long long)img->log.tail_seq, (unsigned long long)img->log.head_seq);
	/* issue 11: a differencing image's whole chain is found and validated before the policy and any write */
	if (img->has_parent) {
		EFI_STATUS cs = chain_attach(&s->chain, img, s->be_handle, s->be_is_file ? s->opt.image : NULL);
		if (EFI_ERROR(cs)) {
			s->result = cs;
			fmt(s->wrote, sizeof s->wrote, "nothing (differencing image: its parent chain is incomplete)");
			return;
		}
	}
	/* issue 12: measure, and hold the image against the pinned policy before anything is written */
	if (EFI_ERROR(policy_check(&s->opt.policy, img))) {
		s->result = EFI_SECURITY_VIOLATION;
		fmt(s->wrote, sizeof s->wrote, "nothing (policy mismatch)");
		return;
	}
	if (s->opt.check_only) {
		con_say("check-only: writing nothing");
		fmt(s->wrote, sizeof s->wrote, "nothing (check-only)");
		return;
	}
	if (s->be.io.read_only) {
		con_say("read-only: %s: writing nothing", s->be.ro_reason ? s->be.ro_reason : "the medium");
		fmt(s->wrote, sizeof s->wrote, "nothing (read-only medium)");
		return;
	}
	uint8_t rnd[VHDX_PREPARE_RANDOM]; /* layout: core/vhdx.h, vhdx_prepare_write */
	const char *source = NULL;
	if (EFI_ERROR(random_get(rnd, sizeof rnd, &source))) {
		con_say("no random source: %s: not writing the session update (FileWriteGuid needs real randomness)",
			source);
		fmt(s->wrote, sizeof s->wrote, "nothing (no random source)");
		return;
	}
	struct vhdx_prepare_report rep;
	vs = vhdx_prepare_write(img, rnd, &rep);
	memset(rnd, 0, sizeof rnd);
	uint64_t before = rep.sequence_before;
	int replayed = rep.replayed;
	if (rep.replay_failed) {
		con_say("%ls: log replay failed: %s: %s%s%s", s->be.name, vhdx_status_message(vs), img->msg,
			EFI_ERROR(s->be.last) ? "; device: " : "",
			EFI_ERROR(s->be.last) ? efi_status_name(s->be.last) : "");
		s->result = efi_status_of(vs);
		fmt(s->wrote, sizeof s->wrote, "log replay FAILED (%s)", vhdx_status_message(vs));
		return;
	}
	if (replayed)
		con_say("log replay: %u entries applied, sequence %llu -> %llu", rep.entries,
			(unsigned long long)before,
			(unsigned long long)rep.sequence_replayed);
	if (vs != VHDX_OK) {
		con_say("%ls: session update failed: %s: %s%s%s", s->be.name, vhdx_status_message(vs), img->msg,
			EFI_ERROR(s->be.last) ? "; device: " : "", EFI_ERROR(s->be.last) ? efi_status_name(s->be.last) : "");
		s->result = efi_status_of(vs);
		fmt(s->wrote, sizeof s->wrote, "session update FAILED (%s)", vhdx_status_message(vs));
		return;
	}
	s->updated = 1;
	h = &img->header[img->current];
	con_say("session update: sequence %llu -> %llu, random from %s", (unsigned long long)before,
		(unsigned long long)h->sequence, source);
	say_guid("new FileWriteGuid", &h->file_write_guid);
	fmt(s->wrote, sizeof s->wrote, "%ssession update (sequence %llu -> %llu)", replayed ? "log replay and " : "",
	    (unsigned long long)before, (unsigned long long)h->sequence);
}

static EFI_STATUS run(struct session *s)
{
	EFI_STATUS st = policy_load_embedded(&s->opt.policy); /* issue 12: before any other source of policy */
	if (EFI_ERROR(st))
		return st;
	st = options_parse_cmdline(&s->opt);
	if (EFI_ERROR(st)) {
		options_usage();
		return st;
	}
	if (s->opt.help) {
		options_usage();
		return EFI_SUCCESS;
	}
	st = options_read_config(&s->opt);
	if (EFI_ERROR(st))
		return st;

	if (s->opt.list) {
		struct found_disk *list = NULL;
		UINTN n = 0;
		st = discover_disks(&list, &n);
		if (EFI_ERROR(st))
			return st;
		discover_print(list, n);
		discover_free(list, n);
		return EFI_SUCCESS;
	}

	int inside = s->opt.next && u16_ncmp_ascii(s->opt.next, "vhdx:", 5) == 0;
	st = choose_backend(s);
	if (EFI_ERROR(st)) {
		s->result = st;
		fmt(s->wrote, sizeof s->wrote, "nothing (no image)");
	} else {
		check_and_update(s);
		say_io(&s->img);
	}

	const struct vhdx_header *h = s->img_open ? &s->img.header[s->img.current] : NULL;
	char hdr[64];
	if (h)
		fmt(hdr, sizeof hdr, "header %d, sequence %llu", s->img.current + 1, (unsigned long long)h->sequence);
	else
		fmt(hdr, sizeof hdr, "no valid header in use");
	int go = s->opt.next && (!EFI_ERROR(s->result) || s->opt.on_error == ON_ERROR_CONTINUE);
	if (inside && !s->img_open)
		go = 0;
	if (s->opt.policy.refused) /* issue 12: on-mismatch = stop outranks on-error = continue */
		go = 0;
	con_say("summary: image %ls; %s; wrote %s; next %ls%s", s->be.name ? s->be.name : L"(none)", hdr, s->wrote,
		s->opt.next ? s->opt.next : L"(none)",
		!s->opt.next ? "" : go ? "" : " (not started: the image was refused)");
	if (EFI_ERROR(s->result) && s->opt.next && go)
		con_say("on-error continue: starting the next stage anyway");

	if (!go) {
		if (s->img_open) {
			vhdx_close(&s->img);
			s->img_open = 0;
		}
		return s->result;
	}
	if (inside) {
		struct vdisk *vd = NULL;
		const CHAR16 *path = s->opt.next + 5;
		st = vdisk_install(&vd, &s->img, s->be_handle, vdisk_writable(&s->opt, &s->img, s->updated));
		if (!EFI_ERROR(st)) {
			handoff_publish(&s->img, s->be_handle, s->be_is_file ? s->opt.image : NULL, s->opt.os_write,
					s->updated);
			st = vdisk_boot(vd, *path ? path : EFIARCH_REMOVABLE, s->opt.child_args);
			handoff_clear(); /* the next stage returned: the image is no longer what runs */
			vdisk_uninstall(vd);
		}
		vhdx_close(&s->img);
		s->img_open = 0;
		return st;
	}
	if (s->img_open) {
		vhdx_close(&s->img);
		s->img_open = 0;
	}
	chain_release(&s->chain); /* issue 11: after the child */
	/* the backend is released before the next stage runs: it may well open the same device */
	if (s->be_open) {
		if (s->be_is_file)
			file_backend_close(&s->be);
		else
			blk_backend_close(&s->be);
		s->be_open = 0;
	}
	return chainload_path(g_loaded->DeviceHandle, s->opt.next, s->opt.child_args);
}

EFI_STATUS efi_main(EFI_HANDLE image, EFI_SYSTEM_TABLE *systab)
{
	g_image = image;
	g_st = systab;
	g_bs = systab->BootServices;
	if (EFI_ERROR(g_bs->HandleProtocol(image, &g_guid_loaded_image, (void **)&g_loaded)) || !g_loaded)
		return EFI_LOAD_ERROR;
	con_say("vhdxboot %s", VHDX_VERSION_STRING);

	static struct session s; /* the image struct is large; keep it off the firmware's stack */
	memset(&s, 0, sizeof s);
	EFI_STATUS st = run(&s);
	if (s.img_open)
		vhdx_close(&s.img);
	chain_release(&s.chain); /* issue 11: after the child */
	if (s.be_open) {
		if (s.be_is_file)
			file_backend_close(&s.be);
		else
			blk_backend_close(&s.be);
	}
	con_say("exit status %s", efi_status_name(st));
	return st;
}
