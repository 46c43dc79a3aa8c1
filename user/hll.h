/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * HyperLogLog with 64-bit hashes and 2^p one-byte registers, estimated with
 * Ertl's improved raw estimator ("New cardinality estimation algorithms for
 * HyperLogLog sketches", 2017): unbiased from 0 to far beyond 2^32 without
 * empirical bias tables or a switch to linear counting. Standard error
 * 1.04/sqrt(2^p) (p = 14: 0.81 %, 16 KiB).
 *
 * Inputs should be hashes; each is passed through a 64-bit bijective mixer
 * first, so distinct inputs stay distinct and sequential test inputs work.
 * A sketch holds no input: it cannot list its members, only estimate how
 * many there were. Not thread-safe: callers lock.
 */
#ifndef BV_HLL_H
#define BV_HLL_H

#include <stdint.h>

#define BV_HLL_P_MIN 4
#define BV_HLL_P_MAX 18

struct bv_hll {
	unsigned p;       /* precision: 2^p registers */
	uint32_t m;       /* 2^p */
	uint8_t *reg;     /* m registers, each 0..64-p+1 */
};

/* 0 ok; -1 with errno EINVAL (p out of range) or ENOMEM. */
int      bv_hll_init(struct bv_hll *h, unsigned p);
void     bv_hll_free(struct bv_hll *h);      /* h zeroed; NULL reg allowed */
void     bv_hll_clear(struct bv_hll *h);     /* back to empty */
void     bv_hll_add(struct bv_hll *h, uint64_t hash);
double   bv_hll_estimate(const struct bv_hll *h);
/* Registers that are not empty: a lower bound on the distinct inputs that
 * is never wrong (each such register needed at least one). */
uint32_t bv_hll_occupied(const struct bv_hll *h);
/* Union into dst; same p required. 0 ok, -1 (EINVAL). */
int      bv_hll_merge(struct bv_hll *dst, const struct bv_hll *src);
/* 1.04 / sqrt(2^p): relative standard error of the estimate. */
double   bv_hll_std_error(unsigned p);

#endif /* BV_HLL_H */
