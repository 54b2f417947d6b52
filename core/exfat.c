/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * exfat.c - the exFAT file locator.
 *
 * Reads the main boot sector, then walks the directories on the path (the root through its FAT chain, others by
 * their stream extension: a FAT chain or, with NoFatChain, contiguous clusters), 4 KiB at a time whatever the
 * cluster size.  Each File directory entry set is gathered, its SetChecksum verified (a mismatch anywhere on the
 * way is a refusal: the directory is damaged), and its name compared without regard to case by simple case
 * folding (fsutil.c), not the volume's up-case table: a name whose case differs only outside Latin, Greek and
 * Cyrillic is not found.  A file whose ValidDataLength is below its DataLength is refused: the bytes past it read
 * as zero through the driver but hold stale data on the disk.
 */
#include "fsutil.h"

#define EXFAT_OEM "EXFAT   "
#define CHUNK 4096u
#define DIRENT 32u
#define SET_MAX 256u                 /* a primary entry and up to 255 secondaries */
#define DIR_MAX_BYTES (256u << 20)   /* the largest exFAT directory */
#define FAT_EOC 0xFFFFFFFFu
#define FAT_BAD 0xFFFFFFF7u
#define MAX_CLUSTERS 0xFFFFFFF5u
#define VOL_ACTIVE_FAT 0x1u
#define VOL_DIRTY 0x2u
#define T_END 0x00
#define T_FILE 0x85
#define T_STREAM 0xC0
#define T_NAME 0xC1
#define IN_USE 0x80
#define ATTR_DIR 0x10
#define SF_ALLOC_POSSIBLE 0x1
#define SF_NO_FAT_CHAIN 0x2
#define NAME_UNITS 15u

struct exfat {
	const struct vhdx_io *io;
	struct vhdx_fs_file *out;
	uint32_t cs;             /* cluster size */
	uint64_t fat_off;        /* the active FAT, bytes */
	uint64_t heap_off;       /* cluster 2 */
	uint32_t count;          /* ClusterCount */
	uint32_t root;
	uint16_t flags;          /* VolumeFlags */
	uint8_t *chunk;          /* CHUNK bytes of a directory */
	uint8_t *set;            /* SET_MAX entries */
	uint8_t fatwin[512];
	uint64_t fatwin_off;
};

/* A directory or file as a run of clusters. */
struct stream {
	uint32_t first;
	int contiguous;          /* NoFatChain */
	uint64_t length;         /* bytes; UINT64_MAX for the root (to the end of its chain) */
};

static vhdx_status exfat_super(struct exfat *fs, const uint8_t *b, uint64_t part_size)
{
	struct vhdx_fs_file *out = fs->out;
	unsigned bshift = b[108], cshift = b[109], nfats = b[110];
	uint64_t vol = vhdx_le64(b + 72);
	uint32_t fat = vhdx_le32(b + 80), fatlen = vhdx_le32(b + 84), heap = vhdx_le32(b + 88);

	(void)part_size;
	if (memcmp(b + 3, EXFAT_OEM, 8))
		return vhdx_fsu_fail(out, VHDX_E_CORRUPT, "exFAT boot sector: FileSystemName is not \"EXFAT   \"");
	if (b[510] != 0x55 || b[511] != 0xAA)
		return vhdx_fsu_fail(out, VHDX_E_CORRUPT, "exFAT boot sector: BootSignature 0x%02x%02x is not 0x55aa", b[510],
				     b[511]);
	for (unsigned i = 11; i < 64; i++)
		if (b[i])
			return vhdx_fsu_fail(out, VHDX_E_CORRUPT, "exFAT boot sector: MustBeZero byte %u is 0x%02x", i, b[i]);
	if (bshift < 9 || bshift > 12 || cshift > 25 - bshift)
		return vhdx_fsu_fail(out, VHDX_E_CORRUPT, "exFAT boot sector: BytesPerSectorShift %u, SectorsPerClusterShift %u",
				     bshift, cshift);
	if (nfats < 1 || nfats > 2)
		return vhdx_fsu_fail(out, VHDX_E_CORRUPT, "exFAT boot sector: NumberOfFats %u", nfats);
	if (b[105] != 1)
		return vhdx_fsu_fail(out, VHDX_E_UNSUPPORTED, "exFAT boot sector: FileSystemRevision %u.%02u (1.x is read)",
				     b[105], b[104]);
	fs->cs = 1u << (bshift + cshift);
	fs->count = vhdx_le32(b + 92);
	fs->root = vhdx_le32(b + 96);
	fs->flags = vhdx_le16(b + 106);
	if (!fs->count || fs->count > MAX_CLUSTERS)
		return vhdx_fsu_fail(out, VHDX_E_CORRUPT, "exFAT boot sector: ClusterCount %u", fs->count);
	if (fat < 24 || (uint64_t)fatlen << bshift < ((uint64_t)fs->count + 2) * 4)
		return vhdx_fsu_fail(out, VHDX_E_CORRUPT, "exFAT boot sector: FatOffset %u, FatLength %u for ClusterCount %u",
				     fat, fatlen, fs->count);
	if (heap < (uint64_t)fat + (uint64_t)fatlen * nfats ||
	    ((uint64_t)heap << bshift) + (uint64_t)fs->count * fs->cs > vol << bshift)
		return vhdx_fsu_fail(out, VHDX_E_CORRUPT,
				     "exFAT boot sector: ClusterHeapOffset %u and ClusterCount %u do not fit VolumeLength %llu "
				     "after the FATs", heap, fs->count, (unsigned long long)vol);
	if (fs->root < 2 || fs->root > fs->count + 1)
		return vhdx_fsu_fail(out, VHDX_E_CORRUPT, "exFAT boot sector: FirstClusterOfRootDirectory %u is outside 2..%u",
				     fs->root, fs->count + 1);
	fs->fat_off = ((uint64_t)fat + ((fs->flags & VOL_ACTIVE_FAT) && nfats == 2 ? fatlen : 0)) << bshift;
	fs->heap_off = (uint64_t)heap << bshift;
	return VHDX_OK;
}

int vhdx_exfat_recognise(const uint8_t *first, size_t len)
{
	struct vhdx_fs_file tmp;
	struct exfat fs = { .out = &tmp };

	return len >= 512 && exfat_super(&fs, first, len) == VHDX_OK;
}

static int valid_cluster(const struct exfat *fs, uint32_t c)
{
	return c >= 2 && c <= fs->count + 1;
}

static uint64_t cluster_off(const struct exfat *fs, uint32_t c)
{
	return fs->heap_off + (uint64_t)(c - 2) * fs->cs;
}

/* The cluster after c: *next 0 at the end of the chain. */
static vhdx_status chain_next(struct exfat *fs, uint32_t c, uint32_t *next, const char *what)
{
	uint64_t off = (uint64_t)c * 4, base = off - off % sizeof(fs->fatwin);
	uint32_t v;

	if (base != fs->fatwin_off) {
		vhdx_status st = vhdx_fsu_read(fs->io, fs->out, fs->fat_off + base, fs->fatwin, sizeof(fs->fatwin), "exFAT FAT");
		if (st)
			return st;
		fs->fatwin_off = base;
	}
	v = vhdx_le32(fs->fatwin + (off - base));
	if (v == FAT_EOC) {
		*next = 0;
		return VHDX_OK;
	}
	if (!valid_cluster(fs, v))
		return vhdx_fsu_fail(fs->out, VHDX_E_CORRUPT, "exFAT FAT entry %u of the %s's chain: 0x%08x is %s", c, what, v,
				     v == FAT_BAD ? "a bad-cluster mark" : v == 0 ? "free" : "outside the volume's clusters");
	*next = v;
	return VHDX_OK;
}

/* The cluster after c in the stream (contiguous or chained). */
static vhdx_status stream_next(struct exfat *fs, const struct stream *s, uint32_t c, uint32_t *next, const char *what)
{
	if (!s->contiguous)
		return chain_next(fs, c, next, what);
	if (c >= fs->count + 1)
		return vhdx_fsu_fail(fs->out, VHDX_E_CORRUPT, "exFAT %s: contiguous clusters from %u run past the last, %u",
				     what, s->first, fs->count + 1);
	*next = c + 1;
	return VHDX_OK;
}

static uint16_t set_checksum(const uint8_t *set, unsigned entries)
{
	uint16_t sum = 0;
	for (unsigned i = 0; i < entries * DIRENT; i++) {
		if (i == 2 || i == 3)
			continue;
		sum = (uint16_t)(((sum & 1) ? 0x8000 : 0) + (sum >> 1) + set[i]);
	}
	return sum;
}

/* A gathered File entry set: checksum, then the name; 1 when it is the one wanted. */
static vhdx_status set_check(struct exfat *fs, unsigned entries, const uint16_t *want, unsigned n, int *match)
{
	const uint8_t *s = fs->set, *stream = fs->set + DIRENT;
	unsigned nlen = stream[3];
	uint16_t sum = set_checksum(s, entries);

	*match = 0;
	if (sum != vhdx_le16(s + 2))
		return vhdx_fsu_fail(fs->out, VHDX_E_CORRUPT,
				     "exFAT directory entry set: SetChecksum 0x%04x, computed 0x%04x (a damaged directory)",
				     vhdx_le16(s + 2), sum);
	if (stream[0] != T_STREAM)
		return vhdx_fsu_fail(fs->out, VHDX_E_CORRUPT, "exFAT directory entry set: second entry type 0x%02x is not a "
				     "stream extension (0xc0)", stream[0]);
	if (!nlen || (nlen + NAME_UNITS - 1) / NAME_UNITS > entries - 2)
		return vhdx_fsu_fail(fs->out, VHDX_E_CORRUPT,
				     "exFAT directory entry set: NameLength %u does not fit %u file name entries", nlen, entries - 2);
	if (nlen != n)
		return VHDX_OK;
	for (unsigned i = 0; i < nlen; i++) {
		const uint8_t *e = s + DIRENT * (2 + i / NAME_UNITS);
		if (e[0] != T_NAME)
			return vhdx_fsu_fail(fs->out, VHDX_E_CORRUPT,
					     "exFAT directory entry set: entry %u type 0x%02x is not a file name (0xc1)",
					     2 + i / NAME_UNITS, e[0]);
		if (vhdx_fsu_fold(vhdx_le16(e + 2 + 2 * (i % NAME_UNITS))) != want[i])
			return VHDX_OK;
	}
	*match = 1;
	return VHDX_OK;
}

/* Scans the directory stream for the name; fs->set holds the entry set found. */
static vhdx_status dir_find(struct exfat *fs, const struct stream *dir, const uint16_t *want, unsigned n, int *found)
{
	uint64_t limit = dir->length < DIR_MAX_BYTES ? dir->length : DIR_MAX_BYTES;
	uint32_t c = dir->first, clusters = 0;
	unsigned have = 0, need = 0;
	vhdx_status st;

	*found = 0;
	for (uint64_t pos = 0; pos < limit && c;) {
		uint32_t in = (uint32_t)(pos % fs->cs), len = fs->cs - in < CHUNK ? fs->cs - in : CHUNK;
		if (!in && ++clusters > fs->count)
			return vhdx_fsu_fail(fs->out, VHDX_E_CORRUPT,
					     "exFAT directory at cluster %u: its chain runs past %u clusters (a loop)", dir->first,
					     fs->count);
		st = vhdx_fsu_read(fs->io, fs->out, cluster_off(fs, c) + in, fs->chunk, len, "exFAT directory");
		if (st)
			return st;
		for (uint32_t k = 0; k < len && pos + k < limit; k += DIRENT) {
			const uint8_t *e = fs->chunk + k;
			if (e[0] == T_END)
				return VHDX_OK;
			if (have && (e[0] & 0xC0) == 0xC0) {
				memcpy(fs->set + DIRENT * have++, e, DIRENT);
				if (have == need) {
					int match;
					st = set_check(fs, have, want, n, &match);
					if (st || match) {
						*found = match;
						return st;
					}
					have = 0;
				}
				continue;
			}
			have = 0; /* a set cut short by another entry is dropped; the entry is looked at on its own */
			if (e[0] == T_FILE) {
				need = 1u + e[1];
				if (e[1] < 2)
					return vhdx_fsu_fail(fs->out, VHDX_E_CORRUPT,
							     "exFAT File directory entry: SecondaryCount %u (at least 2)", e[1]);
				memcpy(fs->set, e, DIRENT);
				have = 1;
			}
		}
		pos += len;
		if (pos % fs->cs == 0 && pos < limit) {
			st = stream_next(fs, dir, c, &c, "directory");
			if (st)
				return st;
		}
	}
	if (dir->length != UINT64_MAX && c == 0)
		return vhdx_fsu_fail(fs->out, VHDX_E_CORRUPT, "exFAT directory at cluster %u: its chain ends before DataLength %llu",
				     dir->first, (unsigned long long)dir->length);
	return VHDX_OK;
}

/* The file's clusters, as many as DataLength needs, into out's extents. */
static vhdx_status file_runs(struct exfat *fs, const struct stream *f)
{
	struct vhdx_fs_file *out = fs->out;
	uint64_t need = f->length / fs->cs + (f->length % fs->cs != 0);
	uint32_t c = f->first;
	vhdx_status st;

	if (!need)
		return VHDX_OK;
	if (need > fs->count || !valid_cluster(fs, c))
		return vhdx_fsu_fail(out, VHDX_E_CORRUPT, "exFAT stream extension: DataLength %llu from FirstCluster %u does "
				     "not fit the volume's %u clusters", (unsigned long long)f->length, c, fs->count);
	if (f->contiguous) {
		if (need > (uint64_t)fs->count + 2 - c)
			return vhdx_fsu_fail(out, VHDX_E_CORRUPT, "exFAT stream extension: %llu contiguous clusters from FirstCluster "
					     "%u run past the last, %u", (unsigned long long)need, c, fs->count + 1);
		return vhdx_fsu_extent(fs->io, out, 0, cluster_off(fs, c), need * fs->cs, "exFAT file");
	}
	for (uint64_t i = 0; i < need; i++) {
		uint32_t next;
		st = vhdx_fsu_extent(fs->io, out, i * fs->cs, cluster_off(fs, c), fs->cs, "exFAT file");
		if (!st)
			st = chain_next(fs, c, &next, "file");
		if (st)
			return st;
		if ((i + 1 < need) != (next != 0))
			return vhdx_fsu_fail(out, VHDX_E_CORRUPT,
					     "exFAT FAT chain of the file: %s after %llu clusters (cluster %u, next 0x%08x); "
					     "DataLength %llu needs %llu", next ? "goes on" : "ends", (unsigned long long)i + 1, c,
					     next, (unsigned long long)f->length, (unsigned long long)need);
		c = next;
	}
	return VHDX_OK;
}

/* The stream extension of the set found, as a stream. */
static vhdx_status set_stream(struct exfat *fs, struct stream *s, int *is_dir, uint64_t *valid)
{
	const uint8_t *x = fs->set + DIRENT;

	*is_dir = (vhdx_le16(fs->set + 4) & ATTR_DIR) != 0;
	s->first = vhdx_le32(x + 20);
	s->length = vhdx_le64(x + 24);
	s->contiguous = (x[1] & SF_NO_FAT_CHAIN) != 0;
	*valid = vhdx_le64(x + 8);
	if (!(x[1] & SF_ALLOC_POSSIBLE) && (s->first || s->length))
		return vhdx_fsu_fail(fs->out, VHDX_E_CORRUPT, "exFAT stream extension: AllocationPossible clear but FirstCluster "
				     "%u, DataLength %llu", s->first, (unsigned long long)s->length);
	if (*valid > s->length)
		return vhdx_fsu_fail(fs->out, VHDX_E_CORRUPT, "exFAT stream extension: ValidDataLength %llu beyond DataLength %llu",
				     (unsigned long long)*valid, (unsigned long long)s->length);
	if (*is_dir && (!valid_cluster(fs, s->first) || !s->length))
		return vhdx_fsu_fail(fs->out, VHDX_E_CORRUPT, "exFAT directory's stream extension: FirstCluster %u, DataLength %llu",
				     s->first, (unsigned long long)s->length);
	return VHDX_OK;
}

vhdx_status vhdx_exfat_locate(const struct vhdx_io *part, const char *path, struct vhdx_fs_file *out)
{
	struct exfat *fs;
	uint8_t boot[512];
	uint16_t want[VHDX_FS_NAME_MAX];
	struct stream s;
	uint64_t valid = 0;
	unsigned n;
	const char *p = path, *name;
	size_t len;
	int found, is_dir = 1;
	vhdx_status st;

	vhdx_fsu_reset(out, VHDX_FS_EXFAT);
	st = vhdx_fsu_read(part, out, 0, boot, sizeof(boot), "exFAT boot sector");
	if (st)
		return st;
	fs = vhdx_fsu_alloc(part, sizeof(*fs));
	if (!fs)
		return vhdx_fsu_nomem(out, sizeof(*fs), "exFAT locator");
	memset(fs, 0, sizeof(*fs));
	fs->io = part;
	fs->out = out;
	fs->fatwin_off = UINT64_MAX;
	st = exfat_super(fs, boot, part->size);
	if (!st) {
		out->cluster_size = fs->cs;
		if (fs->flags & VOL_DIRTY)
			out->fs_flags |= VHDX_FS_DIRTY;
		fs->chunk = vhdx_fsu_alloc(part, CHUNK);
		fs->set = vhdx_fsu_alloc(part, SET_MAX * DIRENT);
		if (!fs->chunk || !fs->set)
			st = vhdx_fsu_nomem(out, CHUNK + SET_MAX * DIRENT, "exFAT directory buffers");
	}
	s.first = fs->root;
	s.contiguous = 0;
	s.length = UINT64_MAX;
	while (!st && vhdx_fsu_component(&p, &name, &len)) {
		if (!is_dir) {
			st = vhdx_fsu_fail(out, VHDX_E_NOTFOUND, "exFAT: '%s' is looked up in a file, not a directory", VHDX_FSU_NAME(name, len));
			break;
		}
		if (vhdx_fsu_utf16(name, len, want, &n)) {
			st = vhdx_fsu_fail(out, VHDX_E_NOTFOUND, "exFAT: path component '%s' is not a name of at most 255 "
					   "UTF-16 units in UTF-8", VHDX_FSU_NAME(name, len));
			break;
		}
		st = dir_find(fs, &s, want, n, &found);
		if (!st && !found)
			st = vhdx_fsu_fail(out, VHDX_E_NOTFOUND, "exFAT: no entry '%s' in the directory at cluster %u", VHDX_FSU_NAME(name, len), s.first);
		if (!st)
			st = set_stream(fs, &s, &is_dir, &valid);
	}
	if (!st && is_dir)
		st = vhdx_fsu_fail(out, VHDX_E_NOTFOUND, "exFAT: '%s' is a directory, not a file", path);
	if (!st && valid < s.length)
		st = vhdx_fsu_fail(out, VHDX_E_UNSUPPORTED, "exFAT stream extension: ValidDataLength %llu is below DataLength %llu "
				   "(the bytes past it read as zero through the driver, not from the disk)",
				   (unsigned long long)valid, (unsigned long long)s.length);
	if (!st) {
		out->size = s.length;
		st = file_runs(fs, &s);
	}
	vhdx_fsu_free(part, fs->set, SET_MAX * DIRENT);
	vhdx_fsu_free(part, fs->chunk, CHUNK);
	vhdx_fsu_free(part, fs, sizeof(*fs));
	return st;
}
