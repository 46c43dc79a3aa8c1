/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * A HyperLogLog in Redis' own encoding (dense: "HYLL", 2^14 six-bit
 * registers, elements hashed with MurmurHash64A, seed 0xadc83b19), so that
 * what a node PFADDed can be rebuilt in Redis bit for bit: Redis documents
 * that a HyperLogLog is a string that GET serializes and SET restores, and
 * PFMERGE of such a string into the fleet's key takes each register's
 * maximum. The fleet keeps one per key it PFADDs to (user/fleet.c): after
 * Redis was unreachable or lost its data, PFMERGE of the node's copy puts
 * back every visitor it ever added, in 12 KiB, however many there were.
 *
 * Holds no element: only register maxima, like any HyperLogLog.
 */
#ifndef BV_REDIS_HLL_H
#define BV_REDIS_HLL_H

#include <stddef.h>
#include <stdint.h>

#define BV_RHLL_P     14
#define BV_RHLL_REGS  (1u << BV_RHLL_P)
#define BV_RHLL_HDR   16
#define BV_RHLL_SIZE  (BV_RHLL_HDR + BV_RHLL_REGS * 6 / 8)   /* 12304 bytes */

struct bv_rhll {
	/* one byte more than Redis' string: its register macros touch it */
	uint8_t b[BV_RHLL_SIZE + 1];
};

void     bv_rhll_init(struct bv_rhll *h);                 /* empty, dense */
/* As PFADD ele: 1 when a register grew, else 0. */
int      bv_rhll_add(struct bv_rhll *h, const void *ele, size_t len);
/* Takes the register maxima of a Redis HyperLogLog string (dense or
 * sparse, as GET returns it). 0 ok, -1 not a valid one (h unchanged). */
int      bv_rhll_merge(struct bv_rhll *h, const void *redis, size_t len);
unsigned bv_rhll_get(const struct bv_rhll *h, unsigned reg);
int      bv_rhll_empty(const struct bv_rhll *h);
/* Redis' hash of PFADD elements. */
uint64_t bv_murmur64a(const void *key, size_t len, uint64_t seed);

#endif /* BV_REDIS_HLL_H */
