/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * SipHash-2-4 over whole 64-bit words: the keyed hash behind replacement
 * identifiers, so a pseudonym cannot be linked to the original without the
 * key, and the same capture with the same key gives the same bytes.
 */
#ifndef BV_HASH_H
#define BV_HASH_H

#include <linux/types.h>
#include "bv_flow.h"
#include "bv_pseudo.h"

#define BV_ROTL(x, b) (((x) << (b)) | ((x) >> (64 - (b))))

struct bv_sip { __u64 v0, v1, v2, v3; };

static __always_inline void bv_sipround(struct bv_sip *s)
{
	s->v0 += s->v1; s->v1 = BV_ROTL(s->v1, 13); s->v1 ^= s->v0; s->v0 = BV_ROTL(s->v0, 32);
	s->v2 += s->v3; s->v3 = BV_ROTL(s->v3, 16); s->v3 ^= s->v2;
	s->v0 += s->v3; s->v3 = BV_ROTL(s->v3, 21); s->v3 ^= s->v0;
	s->v2 += s->v1; s->v1 = BV_ROTL(s->v1, 17); s->v1 ^= s->v2; s->v2 = BV_ROTL(s->v2, 32);
}

static __always_inline void bv_sip_init(struct bv_sip *s, const __u64 k[2])
{
	s->v0 = k[0] ^ 0x736f6d6570736575ULL;
	s->v1 = k[1] ^ 0x646f72616e646f6dULL;
	s->v2 = k[0] ^ 0x6c7967656e657261ULL;
	s->v3 = k[1] ^ 0x7465646279746573ULL;
}

static __always_inline void bv_sip_word(struct bv_sip *s, __u64 m)
{
	s->v3 ^= m;
	bv_sipround(s);
	bv_sipround(s);
	s->v0 ^= m;
}

static __always_inline __u64 bv_sip_final(struct bv_sip *s, __u64 nbytes)
{
	bv_sip_word(s, nbytes << 56);
	s->v2 ^= 0xff;
	bv_sipround(s);
	bv_sipround(s);
	bv_sipround(s);
	bv_sipround(s);
	return s->v0 ^ s->v1 ^ s->v2 ^ s->v3;
}

/* Streaming SipHash-2-4: state kept in struct bv_shash (include/bv_flow.h). */
static __always_inline void bv_shash_init(struct bv_shash *h, const __u64 k[2])
{
	h->v[0] = k[0] ^ 0x736f6d6570736575ULL;
	h->v[1] = k[1] ^ 0x646f72616e646f6dULL;
	h->v[2] = k[0] ^ 0x6c7967656e657261ULL;
	h->v[3] = k[1] ^ 0x7465646279746573ULL;
	h->m = 0;
	h->n = 0;
}

/* Compress the pending word. A global function: verified once, not at
 * every place a byte is hashed. */
__attribute__((noinline)) int bv_shash_block(struct bv_shash *h)
{
	struct bv_sip s;

	if (!h)
		return 0;
	s.v0 = h->v[0]; s.v1 = h->v[1]; s.v2 = h->v[2]; s.v3 = h->v[3];
	bv_sip_word(&s, h->m);
	h->v[0] = s.v0; h->v[1] = s.v1; h->v[2] = s.v2; h->v[3] = s.v3;
	h->m = 0;
	return 0;
}

static __always_inline void bv_shash_byte(struct bv_shash *h, __u8 c)
{
	h->m |= (__u64)c << (8 * (h->n & 7));
	h->n++;
	if ((h->n & 7) == 0)
		bv_shash_block(h);
}

__attribute__((noinline)) __u64 bv_shash_final(const struct bv_shash *h)
{
	struct bv_sip s;

	if (!h)
		return 0;
	s.v0 = h->v[0]; s.v1 = h->v[1]; s.v2 = h->v[2]; s.v3 = h->v[3];

	bv_sip_word(&s, ((__u64)(h->n & 0xff) << 56) | h->m);
	s.v2 ^= 0xff;
	bv_sipround(&s);
	bv_sipround(&s);
	bv_sipround(&s);
	bv_sipround(&s);
	return s.v0 ^ s.v1 ^ s.v2 ^ s.v3;
}

#endif /* BV_HASH_H */
