/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Redis' HyperLogLog encoding; see redis_hll.h (and Redis' hyperloglog.c,
 * whose layout this follows). */
#include <string.h>

#include "redis_hll.h"

#define REG_MAX 63u
#define SEED 0xadc83b19ULL

uint64_t bv_murmur64a(const void *key, size_t len, uint64_t seed)
{
	const uint64_t m = 0xc6a4a7935bd1e995ULL;
	const int r = 47;
	const uint8_t *data = key, *end = data + (len - (len & 7));
	uint64_t h = seed ^ (len * m);

	for (; data != end; data += 8) {
		uint64_t k = 0;

		for (int i = 7; i >= 0; i--)   /* little endian, as Redis on x86/arm */
			k = (k << 8) | data[i];
		k *= m;
		k ^= k >> r;
		k *= m;
		h ^= k;
		h *= m;
	}
	switch (len & 7) {
	case 7: h ^= (uint64_t)data[6] << 48; /* fall through */
	case 6: h ^= (uint64_t)data[5] << 40; /* fall through */
	case 5: h ^= (uint64_t)data[4] << 32; /* fall through */
	case 4: h ^= (uint64_t)data[3] << 24; /* fall through */
	case 3: h ^= (uint64_t)data[2] << 16; /* fall through */
	case 2: h ^= (uint64_t)data[1] << 8;  /* fall through */
	case 1: h ^= (uint64_t)data[0];
		h *= m;
	}
	h ^= h >> r;
	h *= m;
	h ^= h >> r;
	return h;
}

unsigned bv_rhll_get(const struct bv_rhll *h, unsigned reg)
{
	const uint8_t *p = h->b + BV_RHLL_HDR;
	unsigned long byte = reg * 6 / 8, fb = reg * 6 & 7, fb8 = 8 - fb;

	return (unsigned)(((unsigned long)p[byte] >> fb | (unsigned long)p[byte + 1] << fb8) & REG_MAX);
}

static void set_reg(struct bv_rhll *h, unsigned reg, unsigned long v)
{
	uint8_t *p = h->b + BV_RHLL_HDR;
	unsigned long byte = reg * 6 / 8, fb = reg * 6 & 7, fb8 = 8 - fb;

	p[byte] &= (uint8_t)~(REG_MAX << fb);
	p[byte] |= (uint8_t)(v << fb);
	p[byte + 1] &= (uint8_t)~(REG_MAX >> fb8);
	p[byte + 1] |= (uint8_t)(v >> fb8);
}

static int raise_reg(struct bv_rhll *h, unsigned reg, unsigned v)
{
	if (bv_rhll_get(h, reg) >= v)
		return 0;
	set_reg(h, reg, v);
	h->b[15] |= 0x80;   /* Redis' cached cardinality: invalid */
	return 1;
}

void bv_rhll_init(struct bv_rhll *h)
{
	memset(h, 0, sizeof(*h));
	memcpy(h->b, "HYLL", 4);   /* encoding 0: dense */
	h->b[15] = 0x80;
}

int bv_rhll_add(struct bv_rhll *h, const void *ele, size_t len)
{
	uint64_t hash = bv_murmur64a(ele, len, SEED), bit = 1;
	unsigned reg = (unsigned)(hash & (BV_RHLL_REGS - 1)), count = 1;

	hash >>= BV_RHLL_P;
	hash |= 1ULL << (64 - BV_RHLL_P);   /* the loop ends, count <= 51 */
	while (!(hash & bit)) {
		count++;
		bit <<= 1;
	}
	return raise_reg(h, reg, count);
}

int bv_rhll_empty(const struct bv_rhll *h)
{
	for (size_t i = BV_RHLL_HDR; i < BV_RHLL_SIZE; i++)
		if (h->b[i])
			return 0;
	return 1;
}

/* Sparse: runs of zero registers (00xxxxxx, 01xxxxxx yyyyyyyy) and of one
 * value (1vvvvvxx). Checked whole before anything is taken. */
static int merge_sparse(struct bv_rhll *h, const uint8_t *p, size_t len, int apply)
{
	unsigned reg = 0;

	for (size_t i = BV_RHLL_HDR; i < len;) {
		unsigned run, val = 0;

		if ((p[i] & 0xc0) == 0) {
			run = (p[i] & 0x3fu) + 1;
			i++;
		} else if ((p[i] & 0xc0) == 0x40) {
			if (i + 1 >= len)
				return -1;
			run = (((p[i] & 0x3fu) << 8) | p[i + 1]) + 1;
			i += 2;
		} else {
			val = ((p[i] >> 2) & 0x1fu) + 1;
			run = (p[i] & 0x3u) + 1;
			i++;
		}
		if (reg + run > BV_RHLL_REGS)
			return -1;
		for (unsigned j = 0; apply && val && j < run; j++)
			raise_reg(h, reg + j, val);
		reg += run;
	}
	return reg == BV_RHLL_REGS ? 0 : -1;
}

int bv_rhll_merge(struct bv_rhll *h, const void *redis, size_t len)
{
	const uint8_t *p = redis;

	if (len < BV_RHLL_HDR || memcmp(p, "HYLL", 4))
		return -1;
	if (p[4] == 1) {
		if (merge_sparse(h, p, len, 0))
			return -1;
		return merge_sparse(h, p, len, 1);
	}
	if (p[4] != 0 || len != BV_RHLL_SIZE)
		return -1;
	{
		struct bv_rhll src;

		memcpy(src.b, p, len);
		src.b[BV_RHLL_SIZE] = 0;
		for (unsigned r = 0; r < BV_RHLL_REGS; r++)
			raise_reg(h, r, bv_rhll_get(&src, r));
	}
	return 0;
}
