/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Lock files under /run/beaconveil; see runlock.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/file.h>
#include <sys/stat.h>

#include "runlock.h"

static void lock_path(const char *name, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s.lock", BV_RUN_DIR, name);
}

/* Reads "PID\nEXTRA" from fd. */
static void read_content(int fd, pid_t *pid, char *extra, size_t extralen)
{
	char buf[512];
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
	char *nl;

	*pid = 0;
	if (extra && extralen)
		extra[0] = '\0';
	if (n <= 0)
		return;
	buf[n] = '\0';
	*pid = (pid_t)strtol(buf, NULL, 10);
	nl = strchr(buf, '\n');
	if (nl && extra && extralen) {
		char *e = strchr(nl + 1, '\n');
		if (e)
			*e = '\0';
		snprintf(extra, extralen, "%s", nl + 1);
	}
}

int bv_lock_take(const char *name, const char *content, pid_t *holder, char *err, size_t errlen)
{
	char path[256];
	int fd;

	*holder = 0;
	if (mkdir(BV_RUN_DIR, 0755) && errno != EEXIST) {
		snprintf(err, errlen, "cannot create %s: %s", BV_RUN_DIR, strerror(errno));
		return -1;
	}
	lock_path(name, path, sizeof(path));
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0) {
		snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
		return -1;
	}
	/* A `beaconveil status` probing the lock holds it shared for a moment:
	 * retry briefly before calling it taken. */
	for (int i = 0; flock(fd, LOCK_EX | LOCK_NB); i++) {
		int e = errno;

		if (e == EWOULDBLOCK && i < 10) {
			read_content(fd, holder, NULL, 0);
			if (*holder == 0 || i < 2) {
				usleep(20000);
				continue;
			}
		}

		if (e == EWOULDBLOCK) {
			read_content(fd, holder, NULL, 0);
			snprintf(err, errlen, "%s is locked", path);
		} else {
			snprintf(err, errlen, "cannot lock %s: %s", path, strerror(e));
		}
		close(fd);
		return -1;
	}
	if (ftruncate(fd, 0) || pwrite(fd, content, strlen(content), 0) < 0) {
		snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

int bv_lock_probe(const char *name, pid_t *pid, char *extra, size_t extralen, char *err,
		  size_t errlen)
{
	char path[256];
	int fd, r;

	*pid = 0;
	lock_path(name, path, sizeof(path));
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
		return -1;
	}
	if (flock(fd, LOCK_SH | LOCK_NB) == 0) {
		flock(fd, LOCK_UN);
		r = 0;
	} else if (errno == EWOULDBLOCK) {
		read_content(fd, pid, extra, extralen);
		r = 1;
	} else {
		snprintf(err, errlen, "cannot probe %s: %s", path, strerror(errno));
		r = -1;
	}
	close(fd);
	return r;
}
