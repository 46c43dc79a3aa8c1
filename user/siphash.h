/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * SipHash-2-4 of a byte string in userspace (the kernel has its own,
 * bpf/bv_hash.h, over the bytes of a beacon). The fleet names an
 * application's Redis key by its keyed hash, so no application id ever
 * reaches Redis.
 */
#ifndef BV_SIPHASH_H
#define BV_SIPHASH_H

#include <stddef.h>
#include <stdint.h>

uint64_t bv_siphash(const uint64_t k[2], const void *data, size_t n);

#endif /* BV_SIPHASH_H */
