/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ext4.c - the ext4 file locator (also ext2/ext3 files that use block maps).
 *
 * Reads the superblock, then for each component of the path the directory's inode (through its group
 * descriptor) and the directory's blocks, scanned linearly (an htree directory's blocks are ordinary dirent blocks
 * to a linear scan: the index lives in entries with inode 0), then the file's inode and its extent tree or block
 * map.  The mapping must cover the file without a hole, with no unwritten extent and inside the volume: anything
 * else could not be served by raw extents.  Work is bounded by the file's own length in blocks: runs must come in
 * logical order, each starting where the last ended, and the tree walk may visit at most two nodes per block.
 */
#include "fsutil.h"

#define SB_OFFSET 1024
#define SB_MAGIC 0xEF53
#define ROOT_INO 2
#define EXT_MAGIC 0xF30A
#define EXT_MAX_DEPTH 5
#define EXT_INIT_MAX_LEN 32768u
#define NAME_DIRECT 12
#define MAX_LOG_BLOCK 6 /* 64 KiB blocks */

/* s_feature_incompat */
#define IN_COMPRESSION 0x1u
#define IN_FILETYPE 0x2u
#define IN_RECOVER 0x4u
#define IN_JOURNAL_DEV 0x8u
#define IN_META_BG 0x10u
#define IN_EXTENTS 0x40u
#define IN_64BIT 0x80u
#define IN_MMP 0x100u
#define IN_FLEX_BG 0x200u
#define IN_EA_INODE 0x400u
#define IN_DIRDATA 0x1000u
#define IN_CSUM_SEED 0x2000u
#define IN_LARGEDIR 0x4000u
#define IN_INLINE_DATA 0x8000u
#define IN_ENCRYPT 0x10000u
#define IN_CASEFOLD 0x20000u
#define IN_KNOWN (IN_FILETYPE | IN_RECOVER | IN_EXTENTS | IN_64BIT | IN_MMP | IN_FLEX_BG | IN_EA_INODE | IN_CSUM_SEED | \
		  IN_LARGEDIR | IN_INLINE_DATA | IN_ENCRYPT | IN_CASEFOLD)

/* i_flags */
#define FL_ENCRYPT 0x800u
#define FL_EXTENTS 0x80000u
#define FL_INLINE_DATA 0x10000000u

#define S_IFMT 0xF000u
#define S_IFDIR 0x4000u
#define S_IFREG 0x8000u
#define S_IFLNK 0xA000u

struct ext4 {
	const struct vhdx_io *io;
	struct vhdx_fs_file *out;
	uint32_t bs;              /* block size */
	uint64_t blocks;          /* s_blocks_count */
	uint32_t first_data_block;
	uint32_t ipg;             /* inodes per group */
	uint32_t inodes;          /* s_inodes_count */
	uint32_t inode_size, desc_size;
	uint32_t incompat;
	uint32_t state;
};

/* A walk over one inode's blocks: runs go to `sink` in logical order. */
struct map {
	uint64_t nblocks;  /* blocks the inode's size needs */
	uint64_t next;     /* the next logical block expected */
	uint64_t nodes;    /* extent tree nodes read (bounded) */
	int stop;          /* the sink found what it wanted */
	const char *what;  /* "file", "directory" ... for messages */
	vhdx_status (*sink)(struct ext4 *fs, struct map *m, uint64_t lblk, uint64_t pblk, uint64_t count);
	/* the directory search */
	const char *name;
	size_t len;
	uint32_t found;
	uint8_t *dirblk;
};

/* Checks the superblock; fills *fs.  Every refusal names the field. */
static vhdx_status ext4_super(struct ext4 *fs, const uint8_t *sb)
{
	struct vhdx_fs_file *out = fs->out;
	uint32_t log = vhdx_le32(sb + 24), bpg = vhdx_le32(sb + 32), rev = vhdx_le32(sb + 76);
	uint64_t groups;

	if (vhdx_le16(sb + 56) != SB_MAGIC)
		return vhdx_fsu_fail(out, VHDX_E_CORRUPT, "ext4 superblock: s_magic 0x%04x is not 0xef53", vhdx_le16(sb + 56));
	if (log > MAX_LOG_BLOCK)
		return vhdx_fsu_fail(out, VHDX_E_CORRUPT, "ext4 superblock: s_log_block_size %u is beyond %u", log, MAX_LOG_BLOCK);
	fs->bs = 1024u << log;
	fs->incompat = vhdx_le32(sb + 96);
	fs->blocks = vhdx_le32(sb + 4);
	if (fs->incompat & IN_64BIT)
		fs->blocks |= (uint64_t)vhdx_le32(sb + 0x150) << 32;
	fs->first_data_block = vhdx_le32(sb + 20);
	fs->ipg = vhdx_le32(sb + 40);
	fs->inodes = vhdx_le32(sb);
	fs->inode_size = rev ? vhdx_le16(sb + 88) : 128;
	fs->desc_size = (fs->incompat & IN_64BIT) ? vhdx_le16(sb + 0xFE) : 32;
	fs->state = vhdx_le16(sb + 58);
	if (fs->first_data_block != (fs->bs == 1024 ? 1u : 0u))
		return vhdx_fsu_fail(out, VHDX_E_CORRUPT, "ext4 superblock: s_first_data_block %u with %u-byte blocks",
				     fs->first_data_block, fs->bs);
	if (!bpg || bpg > 8 * fs->bs)
		return vhdx_fsu_fail(out, VHDX_E_CORRUPT, "ext4 superblock: s_blocks_per_group %u (block size %u)", bpg, fs->bs);
	if (!fs->ipg || fs->ipg > 8 * fs->bs)
		return vhdx_fsu_fail(out, VHDX_E_CORRUPT, "ext4 superblock: s_inodes_per_group %u (block size %u)", fs->ipg,
				     fs->bs);
	if (fs->inode_size < 128 || fs->inode_size > fs->bs || (fs->inode_size & (fs->inode_size - 1)))
		return vhdx_fsu_fail(out, VHDX_E_CORRUPT, "ext4 superblock: s_inode_size %u", fs->inode_size);
	if (fs->desc_size < 32 || fs->desc_size > fs->bs || (fs->desc_size & (fs->desc_size - 1)))
		return vhdx_fsu_fail(out, VHDX_E_CORRUPT, "ext4 superblock: s_desc_size %u", fs->desc_size);
	if (fs->blocks <= fs->first_data_block || fs->blocks >> 48)
		return vhdx_fsu_fail(out, VHDX_E_CORRUPT, "ext4 superblock: s_blocks_count %llu",
				     (unsigned long long)fs->blocks);
	groups = (fs->blocks - fs->first_data_block + bpg - 1) / bpg;
	if (fs->inodes < ROOT_INO || (uint64_t)fs->inodes > groups * fs->ipg)
		return vhdx_fsu_fail(out, VHDX_E_CORRUPT,
				     "ext4 superblock: s_inodes_count %u for %llu groups of %u inodes", fs->inodes,
				     (unsigned long long)groups, fs->ipg);
	if (fs->incompat & ~IN_KNOWN)
		return vhdx_fsu_fail(out, VHDX_E_UNSUPPORTED,
				     "ext4 superblock: s_feature_incompat 0x%x has features this locator does not read (0x%x)",
				     fs->incompat, fs->incompat & ~IN_KNOWN);
	return VHDX_OK;
}

int vhdx_ext4_recognise(const uint8_t *first, size_t len)
{
	struct vhdx_fs_file tmp;
	struct ext4 fs = { .out = &tmp };

	return len >= SB_OFFSET + 1024 && ext4_super(&fs, first + SB_OFFSET) == VHDX_OK;
}

/* Reads inode ino (fs->inode_size bytes) into buf. */
static vhdx_status read_inode(struct ext4 *fs, uint32_t ino, uint8_t *buf)
{
	uint8_t gd[64];
	uint32_t g, idx;
	uint64_t table, off;
	vhdx_status st;

	if (ino < 1 || ino > fs->inodes)
		return vhdx_fsu_fail(fs->out, VHDX_E_CORRUPT, "ext4 directory entry: inode %u is outside 1..%u", ino,
				     fs->inodes);
	g = (ino - 1) / fs->ipg;
	idx = (ino - 1) % fs->ipg;
	off = (uint64_t)(fs->first_data_block + 1) * fs->bs + (uint64_t)g * fs->desc_size;
	st = vhdx_fsu_read(fs->io, fs->out, off, gd, fs->desc_size < sizeof(gd) ? fs->desc_size : sizeof(gd),
			   "ext4 group descriptor");
	if (st)
		return st;
	table = vhdx_le32(gd + 8);
	if (fs->desc_size >= 64)
		table |= (uint64_t)vhdx_le32(gd + 0x28) << 32;
	if (table <= fs->first_data_block || table >= fs->blocks ||
	    (uint64_t)idx * fs->inode_size / fs->bs >= fs->blocks - table)
		return vhdx_fsu_fail(fs->out, VHDX_E_CORRUPT,
				     "ext4 group descriptor %u: bg_inode_table %llu is outside the volume (%llu blocks)", g,
				     (unsigned long long)table, (unsigned long long)fs->blocks);
	return vhdx_fsu_read(fs->io, fs->out, table * fs->bs + (uint64_t)idx * fs->inode_size, buf, fs->inode_size,
			     "ext4 inode");
}

/* One run of data blocks: checks order and range, then hands it to the sink. */
static vhdx_status run(struct ext4 *fs, struct map *m, uint64_t lblk, uint64_t pblk, uint64_t count)
{
	if (lblk != m->next)
		return vhdx_fsu_fail(fs->out, lblk > m->next ? VHDX_E_UNSUPPORTED : VHDX_E_CORRUPT,
				     "ext4 %s: logical block %llu follows block %llu (%s)", m->what,
				     (unsigned long long)lblk, (unsigned long long)m->next,
				     lblk > m->next ? "a hole: sparse files are not served" : "runs overlap or go backwards");
	if (count > m->nblocks - lblk)
		count = m->nblocks - lblk;
	if (pblk < fs->first_data_block || pblk >= fs->blocks || count > fs->blocks - pblk)
		return vhdx_fsu_fail(fs->out, VHDX_E_CORRUPT,
				     "ext4 %s: logical block %llu maps to blocks %llu+%llu, outside the volume (%llu blocks)",
				     m->what, (unsigned long long)lblk, (unsigned long long)pblk, (unsigned long long)count,
				     (unsigned long long)fs->blocks);
	m->next += count;
	return m->sink(fs, m, lblk, pblk, count);
}

static vhdx_status ext_node(struct ext4 *fs, struct map *m, const uint8_t *node, size_t len, int depth_want);

/* The child of an index entry, read into its own buffer. */
static vhdx_status ext_child(struct ext4 *fs, struct map *m, uint64_t blk, int depth)
{
	uint8_t *buf;
	vhdx_status st;

	if (++m->nodes > 2 * m->nblocks + 2 * EXT_MAX_DEPTH)
		return vhdx_fsu_fail(fs->out, VHDX_E_CORRUPT,
				     "ext4 %s: the extent tree has more than %llu nodes for %llu blocks", m->what,
				     (unsigned long long)(2 * m->nblocks + 2 * EXT_MAX_DEPTH), (unsigned long long)m->nblocks);
	if (blk < fs->first_data_block || blk >= fs->blocks)
		return vhdx_fsu_fail(fs->out, VHDX_E_CORRUPT, "ext4 %s: extent index points at block %llu, outside the volume",
				     m->what, (unsigned long long)blk);
	buf = vhdx_fsu_alloc(fs->io, fs->bs);
	if (!buf)
		return vhdx_fsu_nomem(fs->out, fs->bs, "ext4 extent node");
	st = vhdx_fsu_read(fs->io, fs->out, blk * fs->bs, buf, fs->bs, "ext4 extent node");
	if (!st)
		st = ext_node(fs, m, buf, fs->bs, depth);
	vhdx_fsu_free(fs->io, buf, fs->bs);
	return st;
}

/* One node of the extent tree (the root: depth_want -1). */
static vhdx_status ext_node(struct ext4 *fs, struct map *m, const uint8_t *node, size_t len, int depth_want)
{
	uint16_t magic = vhdx_le16(node), entries = vhdx_le16(node + 2), max = vhdx_le16(node + 4);
	uint16_t depth = vhdx_le16(node + 6);
	vhdx_status st;

	if (magic != EXT_MAGIC)
		return vhdx_fsu_fail(fs->out, VHDX_E_CORRUPT, "ext4 %s: extent header eh_magic 0x%04x is not 0xf30a", m->what,
				     magic);
	if (max > (len - 12) / 12 || entries > max)
		return vhdx_fsu_fail(fs->out, VHDX_E_CORRUPT,
				     "ext4 %s: extent header eh_entries %u, eh_max %u (room for %zu)", m->what, entries, max,
				     (len - 12) / 12);
	if (depth > EXT_MAX_DEPTH)
		return vhdx_fsu_fail(fs->out, VHDX_E_CORRUPT, "ext4 %s: extent header eh_depth %u (at most %u)", m->what,
				     depth, EXT_MAX_DEPTH);
	if (depth_want >= 0 && depth != depth_want)
		return vhdx_fsu_fail(fs->out, VHDX_E_CORRUPT, "ext4 %s: extent header eh_depth %u below a node of depth %d",
				     m->what, depth, depth_want + 1);
	for (unsigned i = 0; i < entries && !m->stop && m->next < m->nblocks; i++) {
		const uint8_t *e = node + 12 + 12 * i;
		uint64_t lblk = vhdx_le32(e);
		if (depth) {
			uint64_t child = vhdx_le32(e + 4) | (uint64_t)vhdx_le16(e + 8) << 32;
			if (lblk >= m->nblocks)
				break;
			st = ext_child(fs, m, child, depth - 1);
		} else {
			uint32_t n = vhdx_le16(e + 4);
			uint64_t start = vhdx_le32(e + 8) | (uint64_t)vhdx_le16(e + 6) << 32;
			if (lblk >= m->nblocks)
				break;
			if (n > EXT_INIT_MAX_LEN)
				return vhdx_fsu_fail(fs->out, VHDX_E_UNSUPPORTED,
						     "ext4 %s: extent at logical block %llu is unwritten (ee_len %u): its bytes "
						     "read as zero through the driver, not from the disk",
						     m->what, (unsigned long long)lblk, n);
			if (!n)
				return vhdx_fsu_fail(fs->out, VHDX_E_CORRUPT, "ext4 %s: extent at logical block %llu has ee_len 0",
						     m->what, (unsigned long long)lblk);
			st = run(fs, m, lblk, start, n);
		}
		if (st)
			return st;
	}
	return VHDX_OK;
}

/* One block of a block map: level 0 is a data block, 1..3 indirect blocks. */
static vhdx_status map_ptr(struct ext4 *fs, struct map *m, uint64_t blk, unsigned level)
{
	uint8_t *buf;
	uint32_t per = fs->bs / 4;
	vhdx_status st = VHDX_OK;

	if (!blk)
		return vhdx_fsu_fail(fs->out, VHDX_E_UNSUPPORTED,
				     "ext4 %s: block map has no block at logical block %llu (a hole: sparse files are not served)",
				     m->what, (unsigned long long)m->next);
	if (!level)
		return run(fs, m, m->next, blk, 1);
	if (blk < fs->first_data_block || blk >= fs->blocks)
		return vhdx_fsu_fail(fs->out, VHDX_E_CORRUPT, "ext4 %s: indirect block %llu is outside the volume", m->what,
				     (unsigned long long)blk);
	buf = vhdx_fsu_alloc(fs->io, fs->bs);
	if (!buf)
		return vhdx_fsu_nomem(fs->out, fs->bs, "ext4 indirect block");
	st = vhdx_fsu_read(fs->io, fs->out, blk * fs->bs, buf, fs->bs, "ext4 indirect block");
	for (uint32_t i = 0; !st && i < per && !m->stop && m->next < m->nblocks; i++)
		st = map_ptr(fs, m, vhdx_le32(buf + 4 * i), level - 1);
	vhdx_fsu_free(fs->io, buf, fs->bs);
	return st;
}

/* Walks the blocks of the inode in ino_buf (size bytes) into m->sink. */
static vhdx_status map_inode(struct ext4 *fs, struct map *m, const uint8_t *inode, uint64_t size)
{
	uint32_t flags = vhdx_le32(inode + 32);
	const uint8_t *iblock = inode + 40;
	vhdx_status st = VHDX_OK;

	if (flags & FL_INLINE_DATA)
		return vhdx_fsu_fail(fs->out, VHDX_E_UNSUPPORTED,
				     "ext4 %s: inode i_flags 0x%x: inline data (the bytes live in the inode)", m->what, flags);
	if (flags & FL_ENCRYPT)
		return vhdx_fsu_fail(fs->out, VHDX_E_UNSUPPORTED, "ext4 %s: inode i_flags 0x%x: encrypted", m->what, flags);
	if (size / fs->bs > fs->blocks)
		return vhdx_fsu_fail(fs->out, VHDX_E_CORRUPT, "ext4 %s: i_size %llu is larger than the volume", m->what,
				     (unsigned long long)size);
	m->nblocks = size / fs->bs + (size % fs->bs != 0);
	m->next = 0;
	m->nodes = 0;
	if (flags & FL_EXTENTS) {
		st = ext_node(fs, m, iblock, 60, -1);
	} else {
		static const unsigned level[15] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3 };
		for (unsigned i = 0; !st && i < 15 && !m->stop && m->next < m->nblocks; i++)
			st = map_ptr(fs, m, vhdx_le32(iblock + 4 * i), level[i]);
	}
	if (!st && !m->stop && m->next < m->nblocks)
		return vhdx_fsu_fail(fs->out, VHDX_E_UNSUPPORTED,
				     "ext4 %s: i_size %llu needs %llu blocks but the mapping ends at block %llu (a hole at the end)",
				     m->what, (unsigned long long)size, (unsigned long long)m->nblocks, (unsigned long long)m->next);
	return st;
}

/* Sink of a directory walk: scans each block of the run for m->name. */
static vhdx_status dir_sink(struct ext4 *fs, struct map *m, uint64_t lblk, uint64_t pblk, uint64_t count)
{
	for (uint64_t b = 0; b < count && !m->stop; b++) {
		vhdx_status st = vhdx_fsu_read(fs->io, fs->out, (pblk + b) * fs->bs, m->dirblk, fs->bs, "ext4 directory block");
		if (st)
			return st;
		for (uint32_t pos = 0; pos + 8 <= fs->bs;) {
			const uint8_t *d = m->dirblk + pos;
			uint32_t ino = vhdx_le32(d), rec = vhdx_le16(d + 4);
			uint32_t nlen = (fs->incompat & IN_FILETYPE) ? d[6] : vhdx_le16(d + 6);
			if (fs->bs == 65536 && (rec == 0 || rec == 65535))
				rec = 65536;
			if (rec < 8 || rec % 4 || rec > fs->bs - pos || nlen + 8 > rec)
				return vhdx_fsu_fail(fs->out, VHDX_E_CORRUPT,
						     "ext4 directory block %llu (logical %llu): entry at %u has rec_len %u, name_len %u",
						     (unsigned long long)(pblk + b), (unsigned long long)(lblk + b), pos, rec, nlen);
			if (ino && nlen == m->len && !memcmp(d + 8, m->name, nlen)) {
				m->found = ino;
				m->stop = 1;
				break;
			}
			pos += rec;
		}
	}
	return VHDX_OK;
}

/* Sink of the file itself: its runs become the extents. */
static vhdx_status file_sink(struct ext4 *fs, struct map *m, uint64_t lblk, uint64_t pblk, uint64_t count)
{
	(void)m;
	return vhdx_fsu_extent(fs->io, fs->out, lblk * fs->bs, pblk * fs->bs, count * fs->bs, "ext4 file");
}

static uint64_t inode_size(const uint8_t *inode)
{
	return vhdx_le32(inode + 4) | (uint64_t)vhdx_le32(inode + 108) << 32;
}

/* Looks up one component in the directory whose inode is in `inode`; *ino gets the entry's inode. */
static vhdx_status dir_lookup(struct ext4 *fs, const uint8_t *inode, const char *name, size_t len, uint32_t *ino)
/* (*ino: in, the directory's inode number; out, the entry's) */
{
	struct map m = { .what = "directory", .sink = dir_sink, .name = name, .len = len };
	vhdx_status st;

	m.dirblk = vhdx_fsu_alloc(fs->io, fs->bs);
	if (!m.dirblk)
		return vhdx_fsu_nomem(fs->out, fs->bs, "ext4 directory block");
	st = map_inode(fs, &m, inode, inode_size(inode));
	vhdx_fsu_free(fs->io, m.dirblk, fs->bs);
	if (st)
		return st;
	if (!m.found)
		return vhdx_fsu_fail(fs->out, VHDX_E_NOTFOUND, "ext4: no entry '%s' in the directory of inode %u",
				     VHDX_FSU_NAME(name, len), *ino);
	*ino = m.found;
	return VHDX_OK;
}

vhdx_status vhdx_ext4_locate(const struct vhdx_io *part, const char *path, struct vhdx_fs_file *out)
{
	struct ext4 fs = { .io = part, .out = out };
	uint8_t sb[1024];
	uint8_t *inode = 0;
	uint32_t ino = ROOT_INO, mode;
	const char *p = path, *name;
	size_t len;
	vhdx_status st;

	vhdx_fsu_reset(out, VHDX_FS_EXT4);
	st = vhdx_fsu_read(part, out, SB_OFFSET, sb, sizeof(sb), "ext4 superblock");
	if (!st)
		st = ext4_super(&fs, sb);
	if (st)
		return st;
	out->cluster_size = fs.bs;
	if (!(fs.state & 1) || (fs.state & 2))
		out->fs_flags |= VHDX_FS_DIRTY;
	if (fs.incompat & IN_RECOVER)
		out->fs_flags |= VHDX_FS_RECOVERY;
	inode = vhdx_fsu_alloc(part, fs.inode_size);
	if (!inode)
		return vhdx_fsu_nomem(out, fs.inode_size, "ext4 inode");
	st = read_inode(&fs, ino, inode);
	while (!st && vhdx_fsu_component(&p, &name, &len)) {
		mode = vhdx_le16(inode) & S_IFMT;
		if (mode != S_IFDIR) {
			st = vhdx_fsu_fail(out, VHDX_E_NOTFOUND, "ext4: '%s' is looked up in inode %u, which is not a directory (i_mode 0x%x)",
					   VHDX_FSU_NAME(name, len), ino, vhdx_le16(inode));
			break;
		}
		st = dir_lookup(&fs, inode, name, len, &ino);
		if (!st)
			st = read_inode(&fs, ino, inode);
		if (!st && !vhdx_le16(inode + 26))
			st = vhdx_fsu_fail(out, VHDX_E_CORRUPT, "ext4 inode %u ('%s'): i_links_count 0 (a deleted inode)", ino,
					   VHDX_FSU_NAME(name, len));
	}
	if (!st) {
		mode = vhdx_le16(inode) & S_IFMT;
		if (mode != S_IFREG)
			st = vhdx_fsu_fail(out, mode == S_IFLNK ? VHDX_E_UNSUPPORTED : VHDX_E_NOTFOUND,
					   "ext4 inode %u: i_mode 0x%x is not a regular file%s", ino, vhdx_le16(inode),
					   mode == S_IFLNK ? " (symbolic links are not followed)" : "");
	}
	if (!st) {
		struct map m = { .what = "file", .sink = file_sink };
		out->size = inode_size(inode);
		st = map_inode(&fs, &m, inode, out->size);
	}
	vhdx_fsu_free(part, inode, fs.inode_size);
	return st;
}
