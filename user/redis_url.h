/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The `[fleet] redis` URL (docs/CONFIG.md): where the fleet's Redis is.
 *
 *   redis://[[USER]:PASSWORD@]HOST[:PORT][/DB]   TCP; HOST a name, IPv4 or [IPv6]
 *   unix://PATH[?db=DB]                          a unix socket (PATH absolute)
 *
 * Parsed at config load, so a bad URL is a config error with a line number,
 * never a surprise at the first connection.
 */
#ifndef BV_REDIS_URL_H
#define BV_REDIS_URL_H

#include <stddef.h>

struct bv_redis_url {
	int unix_socket;       /* 1: path, else host and port */
	char host[256];        /* host, or the socket's path */
	int port;              /* default 6379 */
	int db;                /* SELECT, default 0 */
	char user[64];         /* AUTH USER PASSWORD when set (Redis 6 ACLs) */
	char password[128];    /* AUTH PASSWORD when set */
};

/* 0 ok; -1 with the reason in err (never echoing a password). */
int bv_redis_url_parse(const char *s, struct bv_redis_url *u, char *err, size_t errlen);

#endif /* BV_REDIS_URL_H */
