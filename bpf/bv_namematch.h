/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Which role a header, cookie, query key or body key plays: the names are
 * data (include/bv_names.h, written by userspace from [names]). Two steps:
 * the bit filter over a name's first bytes (cheap, run on the raw bytes of
 * a line before its name is read, and on a finished name), then the exact
 * table. A "no" of the filter is certain; a "yes" may be a collision.
 */
#ifndef BV_NAMEMATCH_H
#define BV_NAMEMATCH_H

#include "bv_lexer.h"

static __always_inline const struct bv_name_filter *bv_namefilt_get(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&bv_namefilt, &zero);
}

/* Names written? Until then nothing of a beacon port may be read. */
static __always_inline int bv_names_ready(void)
{
	const struct bv_name_filter *f = bv_namefilt_get();

	return f && f->valid == 1;
}

static __always_inline int bv_filter_has(const struct bv_name_filter *f, __u32 where, __u64 key)
{
	__u32 b = bv_name_fbit(key);

	if (!f)
		return 1; /* cannot tell: the exact table decides */
	/* keep the mask below: the compiler may know where < 4, the
	 * verifier (after a spill) may not */
	asm volatile("" : "+r"(where));
	return (f->bits[where & (BV_NAME_WHERE_MAX - 1)][(b >> 6) & (BV_NAMEFILT_BITS / 64 - 1)] >>
		(b & 63)) & 1;
}

/* The filter key of a name that starts with the 8 bytes w of a buffer,
 * without a loop: the first delimiter byte is found a word at a time (the
 * lowest flagged byte of the zero-byte test is always exact). */
static __always_inline __u64 bv_fkey_word(__u64 w, __u32 where)
{
	const __u64 ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;
	__u64 keep = bv_name_fkey_len(where) == 8 ? ~0ULL : 0xffffffffULL;
	__u64 x = w ^ (ones * (__u8)bv_name_delim(where));
	__u64 hit = (x - ones) & ~x & highs & keep;

	if (where == BV_NAME_HEADER)
		w |= 0x2020202020202020ULL;
	if (hit)
		keep = ((hit & -hit) << 1) - 1; /* through the delimiter */
	return w & keep;
}

/* The same key of the finished name in the token register (a word of
 * it, the delimiter put after a short name). */
static __always_inline __u64 bv_fkey_tok(const struct bv_lexer *lx, __u32 where)
{
	__u32 n = bv_name_fkey_len(where), tl = lx->tok_len;
	__u64 w = *(const __u64 *)lx->tok, used;

	if (tl >= n) {
		used = n == 8 ? ~0ULL : 0xffffffffULL;
	} else {
		tl &= 7; /* < n <= 8 */
		used = ~0ULL >> (8 * (7 - tl)); /* tl + 1 bytes */
		w = (w & (used >> 8)) | (__u64)(__u8)bv_name_delim(where) << (8 * tl);
	}
	if (where == BV_NAME_HEADER)
		w |= 0x2020202020202020ULL;
	return w & used;
}

/* Word k (8 bytes, k < BV_TOK_LEN / 8) of tok, only its bytes before n
 * (the rest 0). */
static __always_inline __u64 bv_tok_word(const struct bv_lexer *lx, __u32 k, __u32 n)
{
	__u64 w = *(const __u64 *)((unsigned long)lx->tok + 8 * (k & (BV_TOK_LEN / 8 - 1)));
	__u32 have = n > 8 * k ? n - 8 * k : 0;

	if (have >= 8)
		return w;
	return w & ~(~0ULL << (8 * (have & 7))); /* have == 0: nothing */
}

/* The roles of bv_names[where, tok[0..n)], -1 when it is not there. The
 * key (struct bv_name_key: where, len, then the name, zero past it) built
 * as its four words, the name's bytes shifted in two places; looked up in
 * this CPU's cache first (a slot by a hash of the words), which holds the
 * answer of the names' current generation. */
static __always_inline int bv_names_get(const struct bv_lexer *lx, const struct bv_name_filter *f,
					__u32 where, __u32 n)
{
	__u64 k[4], t0 = bv_tok_word(lx, 0, n), t1 = bv_tok_word(lx, 1, n),
		    t2 = bv_tok_word(lx, 2, n), t3 = bv_tok_word(lx, 3, n), h;
	const struct bv_name_val *v;
	struct bv_name_cache *nc;
	struct bv_name_cent *e = NULL;
	__u32 zero = 0, gen = f ? f->gen : 0;
	int roles;

	_Static_assert(sizeof(struct bv_name_key) == sizeof(k), "bv_name_key is 4 words");
	k[0] = (__u64)(__u8)where | (__u64)(__u8)n << 8 | t0 << 16;
	k[1] = t0 >> 48 | t1 << 16;
	k[2] = t1 >> 48 | t2 << 16;
	k[3] = t2 >> 48 | t3 << 16;
	nc = gen ? bpf_map_lookup_elem(&bv_namecache, &zero) : NULL;
	if (nc) {
		h = (k[0] ^ k[1] * 0x9e3779b97f4a7c15ULL ^ k[2] * 0xc2b2ae3d27d4eb4fULL ^ k[3]) *
		    0x9e3779b97f4a7c15ULL;
		e = &nc->e[(h >> 56) & (BV_NAMECACHE_SLOTS - 1)];
		if (e->gen == gen && e->k[0] == k[0] && e->k[1] == k[1] && e->k[2] == k[2] &&
		    e->k[3] == k[3])
			return e->roles;
	}
	v = bpf_map_lookup_elem(&bv_names, k);
	roles = v ? v->roles : -1;
	if (e) {
		e->k[0] = k[0];
		e->k[1] = k[1];
		e->k[2] = k[2];
		e->k[3] = k[3];
		e->roles = roles;
		e->gen = gen;
	}
	return roles;
}

/* Strips one [0-9_] off the end of tok[0..base) per call. */
struct bv_sfx_ctx {
	const struct bv_lexer *lx;
	__u32 base;
};

static long bv_sfx_cb(__u64 i, void *vctx)
{
	struct bv_sfx_ctx *x = vctx;
	char c;

	if (!x->lx || x->base == 0)
		return 1;
	c = x->lx->tok[(x->base - 1) & (BV_TOK_LEN - 1)];
	if (!((c >= '0' && c <= '9') || c == '_'))
		return 1;
	x->base--;
	return 0;
}

/*
 * The roles (enum bv_name_role bits) of the name in the token register at
 * `where`, 0 for none. A cookie name may carry an environment suffix of
 * [0-9_] after a configured name (dtCookie1234 is dtCookie): the exact
 * name is tried first, then the name without its trailing [0-9_].
 */
BV_GLOBAL int bv_name_roles(const struct bv_lexer *lx, __u32 where)
{
	const struct bv_name_filter *f = bv_namefilt_get();
	__u32 n, base;
	int r;

	if (!lx || where >= BV_NAME_WHERE_MAX)
		return 0;
	n = lx->tok_len;
	if (n == 0 || n >= BV_TOK_LEN || (lx->flags & BV_LXF_TOKOVF))
		return 0;
	if (!bv_filter_has(f, where, bv_fkey_tok(lx, where)))
		return 0;
	if (n <= BV_NAME_LEN) {
		r = bv_names_get(lx, f, where, n);
		if (r >= 0)
			return r;
	}
	if (where != BV_NAME_COOKIE)
		return 0;
	{
		struct bv_sfx_ctx x = { .lx = lx, .base = n };

		/* a callback is verified once, whatever the suffix's length */
		bpf_loop(BV_TOK_LEN, bv_sfx_cb, &x, 0);
		base = x.base;
	}
	if (base == n || base == 0 || base > BV_NAME_LEN)
		return 0;
	r = bv_names_get(lx, f, where, base);
	return r > 0 ? r : 0;
}

#endif /* BV_NAMEMATCH_H */
