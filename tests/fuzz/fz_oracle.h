/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The packet fuzzer's privacy oracle: an independent, strict reading of a
 * client->server byte stream (PROXY v2, PROXY v1, then HTTP/1.x requests
 * with Content-Length or chunked bodies) that says which byte ranges the data plane
 * must not let out unchanged, and which it must not touch.
 *
 * It only speaks about what it understands exactly as real servers and
 * proxies do: at the first thing that is not strictly well-formed (bare LF,
 * obs-fold, a header name that is not a token, a bad Content-Length,
 * a transfer coding other than chunked, both Transfer-Encoding and
 * Content-Length, an unknown method, HTTP/0.9) it stops, and nothing
 * after that point is checked. This keeps it free of false alarms where
 * the data plane is documented to differ (README "Honest limits") while
 * checking every request real peers send.
 *
 * Checks:
 *  - PROTECT: the part beyond the kept prefix of a known client address
 *    (fz_client4/6, exact text, delimited as a token) in X-Forwarded-For,
 *    X-Real-IP, True-Client-IP, a Forwarded for= node (RFC 7239: addr,
 *    addr:port, "[v6]", "[v6]:port"), of a beacon request under a policy
 *    that masks it; the PROXY v1 source; and, when
 *    the request's decision cannot be "pass" (collection_level=performance,
 *    or DNT/GPC before the identifier with dnt_action=anonymize), the
 *    rxVisitor value, the dtPC random part and the vi= value (at least 12
 *    letters/digits). An address is violated when every byte of the range
 *    reaches the output unchanged (over all kept copies), an identifier
 *    when any 12 consecutive letters/digits of it do.
 *  - UNTOUCHED: every byte of a request that is not a beacon (in a copy,
 *    mirror/pcap, but for its client-address headers, which are PROTECTed
 *    like a beacon's), and the body
 *    (Content-Length bytes, chunk data) of every request. Violated when
 *    any kept copy differs.
 *  - BIN: the PROXY v2 source address (whole header in the first data
 *    segment): bits beyond the prefix are zero in every kept copy.
 */
#ifndef BV_FZ_ORACLE_H
#define BV_FZ_ORACLE_H

#include <stddef.h>
#include <stdint.h>
#include "fz_common.h"

enum fz_chk_kind { FZ_CHK_PROTECT = 1, FZ_CHK_UNTOUCHED, FZ_CHK_BIN };

struct fz_chk {
	uint32_t a, b;        /* stream byte range [a, b) */
	uint8_t kind;         /* enum fz_chk_kind */
	uint8_t family;       /* FZ_CHK_BIN: 4 or 6 */
	uint8_t prefix;       /* FZ_CHK_BIN: bits kept */
	uint8_t public_only;  /* FZ_CHK_BIN: private addresses may stay */
	uint8_t min_run;      /* FZ_CHK_PROTECT: 0 = violated when every byte is
	                         revealed; N = when N consecutive letters/digits are */
	uint32_t next_req;    /* identifiers: where the next request starts
	                         (UINT32_MAX: none) */
	const char *what;
};

struct fz_oracle_in {
	const uint8_t *s;     /* the stream */
	size_t n;
	size_t first_seg;     /* bytes of the first non-empty data segment */
	const struct bv_policy *gpol;
	const struct fz_app *apps;
	int napps;
	const struct bv_path_rule *paths;
	int npaths;
	int mask_other;       /* mirror/pcap: non-beacons' client addresses masked too */
};

/* Fills chk[0..max); returns the number of checks. *stop gets the offset
 * where the oracle stopped understanding the stream (n if it never did). */
int fz_oracle(const struct fz_oracle_in *in, struct fz_chk *chk, int max, size_t *stop);

/* Independent path-rule matcher (exported for tests of the oracle). */
int fz_path_is_beacon(const char *path, size_t len, const struct bv_path_rule *r, int n);

#endif /* BV_FZ_ORACLE_H */
