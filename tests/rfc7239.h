/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * A strict parser of the Forwarded header value (RFC 7239 section 4, with
 * the node grammar of section 6 and RFC 3986's IPv4address/IPv6address):
 * the tests parse every rewrite of ours with it, so a masked header is one
 * a strict collector accepts, not only one nginx happens to tolerate.
 */
#ifndef BV_TESTS_RFC7239_H
#define BV_TESTS_RFC7239_H

#include <stddef.h>

/* The for= nodes of one header value. */
#define RFC7239_MAX_NODES 8
struct rfc7239_nodes {
	int n;
	char node[RFC7239_MAX_NODES][64];  /* nodename, unquoted ("[...]" kept) */
	char port[RFC7239_MAX_NODES][16];  /* "" when none */
};

/* 1 when v[0..len) is a valid Forwarded value; then *out (if given) holds
 * its for= nodes. 0 otherwise, with the reason in why[0..whylen). */
int rfc7239_parse(const char *v, size_t len, struct rfc7239_nodes *out, char *why, size_t whylen);

#endif /* BV_TESTS_RFC7239_H */
