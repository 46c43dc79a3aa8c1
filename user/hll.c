/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* HyperLogLog, see hll.h. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "hll.h"

/* A bijection on 64-bit words with good avalanche (the MurmurHash3
 * finalizer constants): uniform inputs stay uniform, others become so. */
static inline uint64_t mix64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	x ^= x >> 33;
	return x;
}

int bv_hll_init(struct bv_hll *h, unsigned p)
{
	memset(h, 0, sizeof(*h));
	if (p < BV_HLL_P_MIN || p > BV_HLL_P_MAX) {
		errno = EINVAL;
		return -1;
	}
	h->reg = calloc((size_t)1 << p, 1);
	if (!h->reg)
		return -1;
	h->p = p;
	h->m = (uint32_t)1 << p;
	return 0;
}

void bv_hll_free(struct bv_hll *h)
{
	if (!h)
		return;
	free(h->reg);
	memset(h, 0, sizeof(*h));
}

void bv_hll_clear(struct bv_hll *h)
{
	if (h->reg)
		memset(h->reg, 0, h->m);
}

void bv_hll_add(struct bv_hll *h, uint64_t hash)
{
	uint64_t x = mix64(hash);
	uint32_t idx = (uint32_t)(x >> (64 - h->p));
	uint64_t w = x << h->p;   /* the other 64-p bits, at the top */
	unsigned q = 64 - h->p;
	/* Position of the first 1 bit in those q bits; q+1 when all are 0. */
	uint8_t rho = w ? (uint8_t)(__builtin_clzll(w) + 1) : (uint8_t)(q + 1);

	if (rho > h->reg[idx])
		h->reg[idx] = rho;
}

/* sigma(x) = x + sum_{k>=1} x^(2^k) 2^(k-1), for the empty registers. */
static double hll_sigma(double x)
{
	double y = 1.0, z = x, zp;

	if (x == 1.0)
		return INFINITY;
	do {
		x *= x;
		zp = z;
		z += x * y;
		y += y;
	} while (z != zp);
	return z;
}

/* tau(x) = (1 - x - sum_{k>=1} (1 - x^(2^-k))^2 2^-k) / 3, for the
 * saturated registers. */
static double hll_tau(double x)
{
	double y = 1.0, z, zp;

	if (x == 0.0 || x == 1.0)
		return 0.0;
	z = 1.0 - x;
	do {
		x = sqrt(x);
		zp = z;
		y *= 0.5;
		z -= (1.0 - x) * (1.0 - x) * y;
	} while (z != zp);
	return z / 3.0;
}

double bv_hll_estimate(const struct bv_hll *h)
{
	uint32_t c[66] = { 0 };   /* register histogram, values 0..q+1 <= 61 */
	unsigned q = 64 - h->p;
	double m = (double)h->m, z;

	if (!h->reg)
		return 0.0;
	for (uint32_t i = 0; i < h->m; i++)
		c[h->reg[i]]++;
	if (c[0] == h->m)
		return 0.0;
	z = m * hll_tau(1.0 - (double)c[q + 1] / m);
	for (unsigned k = q; k >= 1; k--)
		z = 0.5 * (z + (double)c[k]);
	z += m * hll_sigma((double)c[0] / m);
	/* alpha_inf = 1 / (2 ln 2) */
	return (m * m) / (2.0 * M_LN2 * z);
}

uint32_t bv_hll_occupied(const struct bv_hll *h)
{
	uint32_t n = 0;

	if (!h->reg)
		return 0;
	for (uint32_t i = 0; i < h->m; i++)
		n += h->reg[i] != 0;
	return n;
}

int bv_hll_merge(struct bv_hll *dst, const struct bv_hll *src)
{
	if (!dst->reg || !src->reg || dst->p != src->p) {
		errno = EINVAL;
		return -1;
	}
	for (uint32_t i = 0; i < dst->m; i++)
		if (src->reg[i] > dst->reg[i])
			dst->reg[i] = src->reg[i];
	return 0;
}

double bv_hll_std_error(unsigned p)
{
	return 1.04 / sqrt((double)((uint64_t)1 << p));
}
