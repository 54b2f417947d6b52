/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fat.c - the FAT32 file locator.
 *
 * Reads the boot sector, then walks the directories on the path cluster by cluster (following their FAT chains,
 * at most the volume's cluster count and at most the 65536 entries a FAT directory may hold, so a loop ends in a
 * refusal), matching each entry by its long (VFAT) name or its 8.3 name without regard to case, then follows the
 * file's chain for exactly the clusters its size needs; the entry after them must end the chain.  The FAT is read
 * through a window of one 4 KiB block at a time, only where the chains go.
 */
#include "fsutil.h"

#define FAT_WINDOW 4096u
#define FAT_ENTRY_MASK 0x0FFFFFFFu
#define FAT_BAD 0x0FFFFFF7u
#define FAT_EOC 0x0FFFFFF8u
#define FAT_CLEAN_SHUTDOWN 0x08000000u /* FAT[1]: set when the volume was dismounted cleanly */
#define FAT_STATE_DIRTY 0x01u          /* boot sector byte 0x41: Linux's "mounted, not cleanly unmounted" */
#define FAT_MAX_CLUSTERS 0x0FFFFFF5u
#define FAT_DIR_MAX_BYTES (65536u * 32u)
#define DIRENT 32
#define ATTR_LFN 0x0Fu
#define ATTR_VOLUME 0x08u
#define ATTR_DIR 0x10u
#define LFN_MAX_SEQ 20u /* 20 x 13 units >= 255 */
#define LFN_UNITS 13u

struct fat {
	const struct vhdx_io *io;
	struct vhdx_fs_file *out;
	uint32_t bps, cs;       /* bytes per sector, per cluster */
	uint64_t fat_off;       /* the active FAT, bytes */
	uint64_t fat_bytes;
	uint64_t data_off;      /* cluster 2 */
	uint32_t count;         /* clusters in the data area */
	uint32_t root;
	uint8_t state;          /* boot sector byte 0x41 */
	uint8_t *win;           /* FAT_WINDOW bytes of the FAT */
	uint64_t win_off;       /* offset of win inside the FAT, or UINT64_MAX */
	/* the long name being gathered while a directory is scanned */
	uint16_t lfn[LFN_MAX_SEQ * LFN_UNITS];
	unsigned lfn_next;      /* sequence number expected next (0: complete) */
	int lfn_valid;
	uint8_t lfn_sum;
	unsigned lfn_len;
};

static int pow2(uint32_t v)
{
	return v && !(v & (v - 1));
}

/* Checks the boot sector (the BPB of a FAT32 volume); fills *fs. */
static vhdx_status fat_super(struct fat *fs, const uint8_t *b)
{
	struct vhdx_fs_file *out = fs->out;
	uint32_t bps = vhdx_le16(b + 11), spc = b[13], rsvd = vhdx_le16(b + 14), nfats = b[16];
	uint32_t tot = vhdx_le32(b + 32), fatsz = vhdx_le32(b + 36), flags = vhdx_le16(b + 40), active = 0;
	uint64_t meta;

	if (b[510] != 0x55 || b[511] != 0xAA)
		return vhdx_fsu_fail(out, VHDX_E_CORRUPT, "FAT boot sector: signature 0x%02x%02x is not 0x55aa", b[510], b[511]);
	if (b[0] != 0xEB && b[0] != 0xE9)
		return vhdx_fsu_fail(out, VHDX_E_CORRUPT, "FAT boot sector: jump byte 0x%02x is not 0xeb or 0xe9", b[0]);
	if (!pow2(bps) || bps < 512 || bps > 4096)
		return vhdx_fsu_fail(out, VHDX_E_CORRUPT, "FAT boot sector: BPB_BytsPerSec %u", bps);
	if (!pow2(spc) || spc > 128)
		return vhdx_fsu_fail(out, VHDX_E_CORRUPT, "FAT boot sector: BPB_SecPerClus %u", spc);
	if (!rsvd || !nfats || nfats > 4)
		return vhdx_fsu_fail(out, VHDX_E_CORRUPT, "FAT boot sector: BPB_RsvdSecCnt %u, BPB_NumFATs %u", rsvd, nfats);
	if (vhdx_le16(b + 17) || vhdx_le16(b + 19) || vhdx_le16(b + 22) || !fatsz)
		return vhdx_fsu_fail(out, VHDX_E_UNSUPPORTED,
				     "FAT boot sector: BPB_RootEntCnt %u, BPB_TotSec16 %u, BPB_FATSz16 %u, BPB_FATSz32 %u: "
				     "not FAT32 (FAT12/16 are not served)",
				     vhdx_le16(b + 17), vhdx_le16(b + 19), vhdx_le16(b + 22), fatsz);
	if (flags & 0x80)
		active = flags & 0xF; /* mirroring off: only this FAT is current */
	if (active >= nfats)
		return vhdx_fsu_fail(out, VHDX_E_CORRUPT, "FAT boot sector: BPB_ExtFlags 0x%x names FAT %u of %u", flags, active,
				     nfats);
	meta = rsvd + (uint64_t)nfats * fatsz;
	if (tot <= meta || (tot - meta) / spc < 1)
		return vhdx_fsu_fail(out, VHDX_E_CORRUPT,
				     "FAT boot sector: BPB_TotSec32 %u leaves no data area after %llu reserved and FAT sectors", tot,
				     (unsigned long long)meta);
	fs->bps = bps;
	fs->cs = bps * spc;
	fs->count = (uint32_t)((tot - meta) / spc);
	if (fs->count > FAT_MAX_CLUSTERS)
		fs->count = FAT_MAX_CLUSTERS;
	fs->fat_bytes = (uint64_t)fatsz * bps;
	if (fs->fat_bytes / 4 < (uint64_t)fs->count + 2)
		return vhdx_fsu_fail(out, VHDX_E_CORRUPT, "FAT boot sector: BPB_FATSz32 %u sectors hold fewer than %u entries",
				     fatsz, fs->count + 2);
	fs->fat_off = ((uint64_t)rsvd + (uint64_t)active * fatsz) * bps;
	fs->data_off = meta * bps;
	fs->root = vhdx_le32(b + 44);
	fs->state = b[0x41];
	if (fs->root < 2 || fs->root > fs->count + 1)
		return vhdx_fsu_fail(out, VHDX_E_CORRUPT, "FAT boot sector: BPB_RootClus %u is outside 2..%u", fs->root,
				     fs->count + 1);
	return VHDX_OK;
}

int vhdx_fat_recognise(const uint8_t *first, size_t len)
{
	struct vhdx_fs_file tmp;
	struct fat fs = { .out = &tmp };

	return len >= 512 && fat_super(&fs, first) == VHDX_OK;
}

/* FAT entry n (masked), through the window. */
static vhdx_status fat_entry(struct fat *fs, uint32_t n, uint32_t *v)
{
	uint64_t off = (uint64_t)n * 4, base = off - off % FAT_WINDOW;
	if (base != fs->win_off) {
		uint64_t len = fs->fat_bytes - base < FAT_WINDOW ? fs->fat_bytes - base : FAT_WINDOW;
		vhdx_status st = vhdx_fsu_read(fs->io, fs->out, fs->fat_off + base, fs->win, (size_t)len, "FAT");
		if (st)
			return st;
		fs->win_off = base;
	}
	*v = vhdx_le32(fs->win + (off - base)) & FAT_ENTRY_MASK;
	return VHDX_OK;
}

static int valid_cluster(const struct fat *fs, uint32_t c)
{
	return c >= 2 && c <= fs->count + 1;
}

static uint64_t cluster_off(const struct fat *fs, uint32_t c)
{
	return fs->data_off + (uint64_t)(c - 2) * fs->cs;
}

/* The cluster after c in a chain: *next is 0 at the end of the chain; anything but a cluster or an end refused. */
static vhdx_status chain_next(struct fat *fs, uint32_t c, uint32_t *next, const char *what)
{
	uint32_t v;
	vhdx_status st = fat_entry(fs, c, &v);

	if (st)
		return st;
	if (v >= FAT_EOC) {
		*next = 0;
		return VHDX_OK;
	}
	if (!valid_cluster(fs, v))
		return vhdx_fsu_fail(fs->out, VHDX_E_CORRUPT, "FAT entry %u of the %s's chain: 0x%08x is %s", c, what, v,
				     v == FAT_BAD ? "a bad-cluster mark" : v == 0 ? "free" : "outside the volume's clusters");
	*next = v;
	return VHDX_OK;
}

static uint8_t short_sum(const uint8_t *name)
{
	uint8_t s = 0;
	for (unsigned i = 0; i < 11; i++)
		s = (uint8_t)(((s & 1) << 7) + (s >> 1) + name[i]);
	return s;
}

/* Gathers one long-name entry; an entry out of sequence drops the name. */
static void lfn_entry(struct fat *fs, const uint8_t *d)
{
	static const uint8_t at[LFN_UNITS] = { 1, 3, 5, 7, 9, 14, 16, 18, 20, 22, 24, 28, 30 };
	unsigned seq = d[0] & 0x3F;

	if (d[0] & 0x40) {
		fs->lfn_valid = seq >= 1 && seq <= LFN_MAX_SEQ;
		fs->lfn_next = seq;
		fs->lfn_sum = d[13];
		fs->lfn_len = seq * LFN_UNITS;
	} else if (!fs->lfn_valid || seq != fs->lfn_next || d[13] != fs->lfn_sum) {
		fs->lfn_valid = 0;
	}
	if (!fs->lfn_valid)
		return;
	for (unsigned i = 0; i < LFN_UNITS; i++) {
		uint16_t u = vhdx_le16(d + at[i]);
		unsigned pos = (seq - 1) * LFN_UNITS + i;
		if (u == 0 && pos < fs->lfn_len)
			fs->lfn_len = pos;
		fs->lfn[pos] = vhdx_fsu_fold(u);
	}
	fs->lfn_next--;
}

/* Does the 8.3 name of entry d spell want (folded units)?  Bytes beyond ASCII never match (their code page is
 * not known here); a long name is the way to reach such a file. */
static int short_match(const uint8_t *d, const uint16_t *want, unsigned n)
{
	uint8_t name[12];
	unsigned k = 0, base = 8, ext = 3;

	while (base && d[base - 1] == ' ')
		base--;
	while (ext && d[8 + ext - 1] == ' ')
		ext--;
	for (unsigned i = 0; i < base; i++)
		name[k++] = (i == 0 && d[0] == 0x05) ? 0xE5 : d[i];
	if (ext) {
		name[k++] = '.';
		for (unsigned i = 0; i < ext; i++)
			name[k++] = d[8 + i];
	}
	if (k != n)
		return 0;
	for (unsigned i = 0; i < k; i++)
		if (name[i] >= 0x80 || vhdx_fsu_fold(name[i]) != want[i])
			return 0;
	return 1;
}

/* Scans the directory starting at cluster dir for the name; *entry gets its 32 bytes. */
static vhdx_status dir_find(struct fat *fs, uint32_t dir, const uint16_t *want, unsigned n, uint8_t *buf,
			    uint8_t entry[DIRENT], int *found)
{
	uint32_t c = dir, max = FAT_DIR_MAX_BYTES / fs->cs + 1, steps = 0;
	vhdx_status st;

	fs->lfn_valid = 0;
	*found = 0;
	if (max > fs->count)
		max = fs->count;
	while (c) {
		if (++steps > max)
			return vhdx_fsu_fail(fs->out, VHDX_E_CORRUPT,
					     "FAT directory at cluster %u: its chain runs past %u clusters (a loop, or more than "
					     "65536 entries)", dir, max);
		st = vhdx_fsu_read(fs->io, fs->out, cluster_off(fs, c), buf, fs->cs, "FAT directory cluster");
		if (st)
			return st;
		for (uint32_t pos = 0; pos < fs->cs; pos += DIRENT) {
			const uint8_t *d = buf + pos;
			if (d[0] == 0)
				return VHDX_OK; /* the end of the directory */
			if (d[0] == 0xE5) {
				fs->lfn_valid = 0;
				continue;
			}
			if ((d[11] & 0x3F) == ATTR_LFN) {
				lfn_entry(fs, d);
				continue;
			}
			int lfn_ok = fs->lfn_valid && fs->lfn_next == 0 && fs->lfn_sum == short_sum(d);
			fs->lfn_valid = 0;
			if ((d[11] & ATTR_VOLUME) || (d[0] == '.' && (d[1] == ' ' || d[1] == '.')))
				continue;
			if ((lfn_ok && fs->lfn_len == n && !memcmp(fs->lfn, want, n * sizeof(*want))) ||
			    short_match(d, want, n)) {
				memcpy(entry, d, DIRENT);
				*found = 1;
				return VHDX_OK;
			}
		}
		st = chain_next(fs, c, &c, "directory");
		if (st)
			return st;
	}
	return VHDX_OK;
}

/* The file's chain, exactly as many clusters as its size needs, into out's extents. */
static vhdx_status file_chain(struct fat *fs, uint32_t first)
{
	struct vhdx_fs_file *out = fs->out;
	uint64_t need = out->size / fs->cs + (out->size % fs->cs != 0);
	uint32_t c = first;
	vhdx_status st;

	if (!need)
		return VHDX_OK;
	if (need > fs->count)
		return vhdx_fsu_fail(out, VHDX_E_CORRUPT, "FAT directory entry: DIR_FileSize %llu needs %llu clusters of %u; "
				     "the volume has %u", (unsigned long long)out->size, (unsigned long long)need, fs->cs, fs->count);
	if (!valid_cluster(fs, first))
		return vhdx_fsu_fail(out, VHDX_E_CORRUPT, "FAT directory entry: first cluster %u is outside 2..%u", first,
				     fs->count + 1);
	for (uint64_t i = 0; i < need; i++) {
		uint32_t next;
		st = vhdx_fsu_extent(fs->io, out, i * fs->cs, cluster_off(fs, c), fs->cs, "FAT file");
		if (!st)
			st = chain_next(fs, c, &next, "file");
		if (st)
			return st;
		if (i + 1 < need && !next)
			return vhdx_fsu_fail(out, VHDX_E_CORRUPT,
					     "FAT chain of the file: ends after %llu clusters at cluster %u; DIR_FileSize %llu "
					     "needs %llu", (unsigned long long)i + 1, c, (unsigned long long)out->size,
					     (unsigned long long)need);
		if (i + 1 == need && next)
			return vhdx_fsu_fail(out, VHDX_E_CORRUPT,
					     "FAT chain of the file: cluster %u (the last DIR_FileSize %llu needs) continues to "
					     "%u instead of ending (a loop or a chain longer than the file)", c,
					     (unsigned long long)out->size, next);
		c = next;
	}
	return VHDX_OK;
}

vhdx_status vhdx_fat_locate(const struct vhdx_io *part, const char *path, struct vhdx_fs_file *out)
{
	struct fat *fs;
	uint8_t boot[512], entry[DIRENT], *buf = 0;
	uint16_t want[VHDX_FS_NAME_MAX];
	uint32_t dir, fat1;
	unsigned n;
	const char *p = path, *name;
	size_t len;
	int found, is_dir = 1;
	vhdx_status st;

	vhdx_fsu_reset(out, VHDX_FS_FAT);
	st = vhdx_fsu_read(part, out, 0, boot, sizeof(boot), "FAT boot sector");
	if (st)
		return st;
	fs = vhdx_fsu_alloc(part, sizeof(*fs));
	if (!fs)
		return vhdx_fsu_nomem(out, sizeof(*fs), "FAT locator");
	memset(fs, 0, sizeof(*fs));
	fs->io = part;
	fs->out = out;
	fs->win_off = UINT64_MAX;
	st = fat_super(fs, boot);
	if (!st) {
		out->cluster_size = fs->cs;
		fs->win = vhdx_fsu_alloc(part, FAT_WINDOW);
		buf = vhdx_fsu_alloc(part, fs->cs);
		if (!fs->win || !buf)
			st = vhdx_fsu_nomem(out, FAT_WINDOW + fs->cs, "FAT window and directory cluster");
	}
	if (!st)
		st = fat_entry(fs, 1, &fat1);
	if (!st && (!(fat1 & FAT_CLEAN_SHUTDOWN) || (fs->state & FAT_STATE_DIRTY)))
		out->fs_flags |= VHDX_FS_DIRTY;
	dir = fs->root;
	while (!st && vhdx_fsu_component(&p, &name, &len)) {
		if (!is_dir) {
			st = vhdx_fsu_fail(out, VHDX_E_NOTFOUND, "FAT: '%s' is looked up in a file, not a directory", VHDX_FSU_NAME(name, len));
			break;
		}
		if (vhdx_fsu_utf16(name, len, want, &n)) {
			st = vhdx_fsu_fail(out, VHDX_E_NOTFOUND, "FAT: path component '%s' is not a name of at most 255 "
					   "UTF-16 units in UTF-8", VHDX_FSU_NAME(name, len));
			break;
		}
		st = dir_find(fs, dir, want, n, buf, entry, &found);
		if (!st && !found)
			st = vhdx_fsu_fail(out, VHDX_E_NOTFOUND, "FAT: no entry '%s' in the directory at cluster %u", VHDX_FSU_NAME(name, len), dir);
		if (st)
			break;
		is_dir = (entry[11] & ATTR_DIR) != 0;
		dir = (uint32_t)vhdx_le16(entry + 20) << 16 | vhdx_le16(entry + 26);
		if (is_dir && !valid_cluster(fs, dir))
			st = vhdx_fsu_fail(out, VHDX_E_CORRUPT, "FAT directory entry '%s': first cluster %u is outside 2..%u",
					   VHDX_FSU_NAME(name, len), dir, fs->count + 1);
	}
	if (!st && is_dir)
		st = vhdx_fsu_fail(out, VHDX_E_NOTFOUND, "FAT: '%s' is a directory, not a file", path);
	if (!st) {
		out->size = vhdx_le32(entry + 28);
		st = file_chain(fs, dir);
	}
	vhdx_fsu_free(part, buf, fs->cs);
	vhdx_fsu_free(part, fs->win, FAT_WINDOW);
	vhdx_fsu_free(part, fs, sizeof(*fs));
	return st;
}
