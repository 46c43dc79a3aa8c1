/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * SipHash-2-4 of a byte string (see siphash.h): the kernel's own streaming
 * implementation, bpf/bv_hash.h, compiled here as plain C, so the project
 * has one SipHash.
 */
#include <linux/types.h>
#include <sys/cdefs.h>
#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif
#include "../bpf/bv_hash.h"
#include "siphash.h"

uint64_t bv_siphash(const uint64_t k[2], const void *data, size_t n)
{
	const uint8_t *p = data;
	const __u64 key[2] = { k[0], k[1] };
	struct bv_shash h;

	bv_shash_init(&h, key);
	for (size_t i = 0; i < n; i++)
		bv_shash_byte(&h, p[i]);
	return bv_shash_final(&h);
}
