/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * esp.c - the system around an EFI System Partition: the mount table, the file system type, the block device
 * and partition number in sysfs (efibootmgr needs the disk and the partition, not the mount point), and running
 * efibootmgr.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statfs.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "esp.h"

#define MSDOS_SUPER_MAGIC_VALUE 0x4d44     /* linux/magic.h: vfat and msdos */
#define FUSE_SUPER_MAGIC_VALUE 0x65735546  /* linux/magic.h: every FUSE file system */
#define FUSEFAT_TYPE "fuse.fusefat"
#define MOUNTINFO "/proc/self/mountinfo"
#define SYSFS_DEV_BLOCK "/sys/dev/block"
#define SYSFS_EFI "/sys/firmware/efi"
#define RUN_CHUNK 4096

/* mountinfo escapes space, tab, newline and backslash as \ooo; undoes that in place. */
static void unescape(char *s)
{
	char *d = s;

	while (*s) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' && s[3] >= '0' &&
		    s[3] <= '7') {
			*d++ = (char)((s[1] - '0') << 6 | (s[2] - '0') << 3 | (s[3] - '0'));
			s += 4;
		} else {
			*d++ = *s++;
		}
	}
	*d = 0;
}

static void copy_field(char *dst, size_t len, const char *src)
{
	snprintf(dst, len, "%s", src);
	unescape(dst);
}

/*
 * One mountinfo line: ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPEROPTIONS.
 * Fills m when the mount point is dir.
 */
static void match_line(char *line, const char *dir, struct esp_mount *m)
{
	char *field[6], *save = NULL, *tok, *fstype, *source;
	char mp[PATH_MAX];
	unsigned maj, min;
	int n = 0;

	for (tok = strtok_r(line, " \n", &save); tok; tok = n < 6 ? strtok_r(NULL, " \n", &save) : NULL)
		field[n++] = tok;
	if (n < 6 || sscanf(field[2], "%u:%u", &maj, &min) != 2)
		return;
	copy_field(mp, sizeof(mp), field[4]);
	if (strcmp(mp, dir))
		return;
	/* the optional fields end at a lone "-" */
	for (tok = field[5]; tok && strcmp(tok, "-"); tok = strtok_r(NULL, " \n", &save))
		;
	fstype = strtok_r(NULL, " \n", &save);
	source = strtok_r(NULL, " \n", &save);
	if (!fstype)
		return;
	m->found = 1;
	m->major = maj;
	m->minor = min;
	copy_field(m->fstype, sizeof(m->fstype), fstype);
	copy_field(m->source, sizeof(m->source), source ? source : "");
	copy_field(m->root, sizeof(m->root), field[3]);
}

int esp_find_mount(const char *dir, struct esp_mount *m)
{
	FILE *f = fopen(MOUNTINFO, "r");
	char *line = NULL;
	size_t cap = 0;

	memset(m, 0, sizeof(*m));
	if (!f)
		return errno;
	/* later lines are mounted on top of earlier ones: the last match is what dir shows */
	while (getline(&line, &cap, f) > 0)
		match_line(line, dir, m);
	free(line);
	fclose(f);
	return 0;
}

int esp_is_fat(const char *dir, const struct esp_mount *m, char *what, size_t whatlen)
{
	struct statfs sf;

	if (statfs(dir, &sf) < 0)
		return -1;
	if ((unsigned long)sf.f_type == MSDOS_SUPER_MAGIC_VALUE)
		return 1;
	if ((unsigned long)sf.f_type == FUSE_SUPER_MAGIC_VALUE && m->found && !strcmp(m->fstype, FUSEFAT_TYPE))
		return 1;
	if (m->found)
		snprintf(what, whatlen, "statfs type 0x%lx, mounted as %s", (unsigned long)sf.f_type, m->fstype);
	else
		snprintf(what, whatlen, "statfs type 0x%lx", (unsigned long)sf.f_type);
	return 0;
}

/* Reads a small sysfs attribute as one trimmed line; 0 or -1. */
static int read_attr(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");
	int ok;

	if (!f)
		return -1;
	ok = fgets(buf, (int)len, f) != NULL;
	fclose(f);
	if (!ok)
		return -1;
	buf[strcspn(buf, "\n")] = 0;
	return 0;
}

int esp_partition(const struct esp_mount *m, char *disk, size_t disklen, unsigned *part, char *why, size_t whylen)
{
	char path[PATH_MAX], real[PATH_MAX], num[32];
	const char *name;
	char *end;
	unsigned long v;

	snprintf(path, sizeof(path), SYSFS_DEV_BLOCK "/%u:%u", m->major, m->minor);
	if (access(path, F_OK)) {
		snprintf(why, whylen, "its file system (%s, device %u:%u) is not on a block device", m->source,
			 m->major, m->minor);
		return -1;
	}
	snprintf(path, sizeof(path), SYSFS_DEV_BLOCK "/%u:%u/partition", m->major, m->minor);
	if (read_attr(path, num, sizeof(num))) {
		snprintf(why, whylen, "block device %u:%u (%s) is not a partition (no %s)", m->major, m->minor,
			 m->source, path);
		return -1;
	}
	errno = 0;
	v = strtoul(num, &end, 10);
	if (errno || *end || v == 0 || v > UINT_MAX) {
		snprintf(why, whylen, "%s holds \"%s\", not a partition number", path, num);
		return -1;
	}
	/* the partition's sysfs directory sits inside its disk's */
	snprintf(path, sizeof(path), SYSFS_DEV_BLOCK "/%u:%u/..", m->major, m->minor);
	if (!realpath(path, real)) {
		snprintf(why, whylen, "cannot resolve %s: %s", path, strerror(errno));
		return -1;
	}
	name = strrchr(real, '/');
	name = name ? name + 1 : real;
	snprintf(disk, disklen, "/dev/%s", name);
	*part = (unsigned)v;
	return 0;
}

int esp_run(char *const argv[], char **out)
{
	int fd[2], status, e;
	size_t len = 0, cap = RUN_CHUNK;
	char *buf;
	pid_t pid;
	ssize_t r;

	*out = NULL;
	buf = malloc(cap + 1);
	if (!buf)
		return -1;
	if (pipe(fd) < 0) {
		e = errno;
		free(buf);
		errno = e;
		return -1;
	}
	pid = fork();
	if (pid < 0) {
		e = errno;
		close(fd[0]);
		close(fd[1]);
		free(buf);
		errno = e;
		return -1;
	}
	if (pid == 0) {
		dup2(fd[1], STDOUT_FILENO);
		close(fd[0]);
		close(fd[1]);
		execvp(argv[0], argv);
		/* 127 as the shell does for a command it cannot run */
		_exit(127);
	}
	close(fd[1]);
	for (;;) {
		if (len == cap) {
			char *nb = realloc(buf, cap * 2 + 1);
			if (!nb)
				break;
			buf = nb;
			cap *= 2;
		}
		r = read(fd[0], buf + len, cap - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		len += (size_t)r;
	}
	close(fd[0]);
	buf[len] = 0;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR) {
			free(buf);
			return -1;
		}
	*out = buf;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 127) {
		errno = ENOENT;
		free(buf);
		*out = NULL;
		return -1;
	}
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int esp_uefi_system(void)
{
	return access(SYSFS_EFI, F_OK) == 0;
}
