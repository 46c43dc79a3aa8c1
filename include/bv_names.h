/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The names the scanner acts on, as data: which header, cookie, query key
 * or mobile body key plays which role. Userspace writes them from the
 * config ([names], docs/CONFIG.md; Dynatrace's names by default) into two
 * maps: bv_names, the exact table, and bv_namefilt, a bit filter over each
 * name's first bytes that lets the scanner skip a header line, cookie or
 * parameter without reading its name when no configured name can start
 * that way. Both sides compute the filter with the functions below.
 *
 * Names that frame the request (Cookie, Content-Length, Transfer-Encoding,
 * Content-Encoding, the query's type=, the body's et=/dl=/cl=) are protocol,
 * not policy, and stay in the code.
 */
#ifndef BV_NAMES_H
#define BV_NAMES_H

#include <linux/types.h>

enum bv_name_where {
	BV_NAME_HEADER = 0, /* stored lower-case; matched case-insensitively */
	BV_NAME_COOKIE = 1, /* exact, plus an optional suffix of [0-9_] */
	BV_NAME_QUERY  = 2, /* a beacon's query key, exact */
	BV_NAME_BODY   = 3, /* a mobile beacon's body key, exact */
	BV_NAME_WHERE_MAX,
};

/* bv_name_val.roles bits; a name may have several (dtCookie: consent and
 * session). Which roles each place allows: docs/CONFIG.md, [names]. */
enum bv_name_role {
	BV_ROLE_CLIENT_IP  = 1 << 0,  /* header, body: client addresses, masked */
	BV_ROLE_FORWARDED  = 1 << 1,  /* header: RFC 7239 syntax, for= masked */
	BV_ROLE_DNT        = 1 << 2,  /* header: "1" is Do Not Track */
	BV_ROLE_GPC        = 1 << 3,  /* header: "1" is Global Privacy Control */
	BV_ROLE_APP_KEY    = 1 << 4,  /* header (Host-like), query: the app key */
	BV_ROLE_CONSENT    = 1 << 5,  /* cookie: its presence is consent */
	BV_ROLE_SESSION    = 1 << 6,  /* cookie, query, body: the session id */
	BV_ROLE_VISITOR    = 1 << 7,  /* cookie, query, body: visitor id, replaced */
	BV_ROLE_VISITOR_PC = 1 << 8,  /* cookie in dtPC form: "...$...v<VISITOR>-..." */
	BV_ROLE_DISABLED   = 1 << 9,  /* cookie: "true" disables RUM */
	BV_ROLE_USER_TAG   = 1 << 10, /* body: the user tag of identify-user events */
	BV_ROLE_DEVICE_SESSION = 1 << 11, /* query of a mobile beacon: DEVICEID_SESSION */
};

#define BV_NAME_LEN 30  /* longest name */
#define BV_MAX_NAMES 256

/* Key of bv_names: zero padded, so that it hashes the same however written. */
struct bv_name_key {
	__u8 where;               /* enum bv_name_where */
	__u8 len;                 /* bytes used in name */
	char name[BV_NAME_LEN];
};

struct bv_name_val {
	__u16 roles;              /* enum bv_name_role bits */
	__u16 _pad;
};

/* bv_namefilt[0]. valid = 1 once userspace wrote the names: until then
 * the program drops beacon-port payload (nothing it cannot read leaves). */
#define BV_NAMEFILT_BITS 1024
struct bv_name_filter {
	__u32 valid;
	/* moves on every write of the names (never 0 once written): the
	 * kernel's per-CPU cache of name lookups trusts an entry only under
	 * the generation it was filled in */
	__u32 gen;
	__u64 bits[BV_NAME_WHERE_MAX][BV_NAMEFILT_BITS / 64];
};

/*
 * The filter's key of a name: its first bv_name_fkey_len(where) bytes, or,
 * when the name is shorter, the name and its delimiter (':' after a header
 * name, '=' after the others), as a little-endian word. Header bytes are
 * | 0x20 (lower-case for letters; applied to the raw line on the kernel's
 * side, which is why it is applied to the stored lower-case name too).
 */
static inline __u32 bv_name_fkey_len(__u32 where)
{
	return where == BV_NAME_HEADER ? 8 : 4;
}

static inline char bv_name_delim(__u32 where)
{
	return where == BV_NAME_HEADER ? ':' : '=';
}

/* Which bit of bits[where] a key sets (a multiplicative hash, 10 bits). */
static inline __u32 bv_name_fbit(__u64 key)
{
	return (__u32)((key * 0x9E3779B97F4A7C15ULL) >> 54);
}

#endif /* BV_NAMES_H */
