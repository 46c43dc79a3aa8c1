/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* The `[fleet] redis` URL; see redis_url.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "redis_url.h"

static int num(const char *s, size_t n, long max, long *out)
{
	long v = 0;

	if (n == 0 || n > 9)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	if (v > max)
		return -1;
	*out = v;
	return 0;
}

static int copy(char *dst, size_t cap, const char *s, size_t n)
{
	if (n >= cap)
		return -1;
	memcpy(dst, s, n);
	dst[n] = '\0';
	return 0;
}

static int parse_unix(const char *p, struct bv_redis_url *u, char *err, size_t errlen)
{
	const char *qm = strchr(p, '?');
	size_t n = qm ? (size_t)(qm - p) : strlen(p);
	long db;

	if (p[0] != '/' || n < 2 || copy(u->host, sizeof(u->host), p, n)) {
		snprintf(err, errlen, "unix:// needs an absolute socket path (unix:///run/redis/redis.sock)");
		return -1;
	}
	u->unix_socket = 1;
	if (qm) {
		if (strncmp(qm + 1, "db=", 3) || num(qm + 4, strlen(qm + 4), 1000000, &db)) {
			snprintf(err, errlen, "after the socket path only '?db=N' may follow");
			return -1;
		}
		u->db = (int)db;
	}
	return 0;
}

static int parse_tcp(const char *p, struct bv_redis_url *u, char *err, size_t errlen)
{
	const char *at = strrchr(p, '@'), *h = p, *slash, *end, *colon = NULL;
	long v;

	if (at) {
		const char *c = memchr(p, ':', (size_t)(at - p));

		if (!c) {
			snprintf(err, errlen, "credentials must be ':PASSWORD@' or 'USER:PASSWORD@'");
			return -1;
		}
		if (copy(u->user, sizeof(u->user), p, (size_t)(c - p)) ||
		    copy(u->password, sizeof(u->password), c + 1, (size_t)(at - c - 1)) ||
		    !u->password[0]) {
			snprintf(err, errlen, "user (< 64 bytes) or password (1..127 bytes) too long or empty");
			return -1;
		}
		h = at + 1;
	}
	slash = strchr(h, '/');
	end = slash ? slash : h + strlen(h);
	if (*h == '[') {
		const char *rb = memchr(h, ']', (size_t)(end - h));

		if (!rb || (rb + 1 != end && rb[1] != ':') ||
		    copy(u->host, sizeof(u->host), h + 1, (size_t)(rb - h - 1)) || !u->host[0]) {
			snprintf(err, errlen, "bad [IPv6] host");
			return -1;
		}
		colon = rb + 1 != end ? rb + 1 : NULL;
	} else {
		colon = memchr(h, ':', (size_t)(end - h));
		if (copy(u->host, sizeof(u->host), h, (size_t)((colon ? colon : end) - h)) ||
		    !u->host[0]) {
			snprintf(err, errlen, "no host");
			return -1;
		}
	}
	if (colon) {
		if (num(colon + 1, (size_t)(end - colon - 1), 65535, &v) || v == 0) {
			snprintf(err, errlen, "port must be 1..65535");
			return -1;
		}
		u->port = (int)v;
	}
	if (slash && slash[1]) {
		if (num(slash + 1, strlen(slash + 1), 1000000, &v)) {
			snprintf(err, errlen, "database must be a number (redis://HOST:PORT/0)");
			return -1;
		}
		u->db = (int)v;
	}
	return 0;
}

int bv_redis_url_parse(const char *s, struct bv_redis_url *u, char *err, size_t errlen)
{
	memset(u, 0, sizeof(*u));
	u->port = 6379;
	if (!strncmp(s, "unix://", 7))
		return parse_unix(s + 7, u, err, errlen);
	if (!strncmp(s, "redis://", 8))
		return parse_tcp(s + 8, u, err, errlen);
	snprintf(err, errlen, "expected redis://HOST[:PORT][/DB] or unix:///PATH[?db=N]");
	return -1;
}
