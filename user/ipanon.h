/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The bv_ipanon map's value from the config: ip_anon and the 32-byte
 * Crypto-PAn key (ip_anon_key, else derived from [anonymize] key), kept
 * expanded for the XDP program (AES-128 round keys and the pad). See
 * docs/MASKING.md, "Prefix-preserving anonymization".
 */
#ifndef BV_IPANON_H
#define BV_IPANON_H

#include <stdint.h>
#include "bv_abi.h"

enum bv_ip_anon { BV_IPANON_TRUNCATE = 0, BV_IPANON_PREFIX_PRESERVING = 1 };

/* The Crypto-PAn key when ip_anon_key is not given: SipHash-2-4 under the
 * [anonymize] key of "beaconveil ip_anon N" for N = 0..3, each 8 bytes
 * little-endian. */
void bv_ipanon_derive(const __u64 anon_key[2], uint8_t key[32]);

/* out = the map value for key (on = 1, gen left 0). */
void bv_ipanon_expand(const uint8_t key[32], struct bv_ipanon *out);

/*
 * Writes bv_ipanon[0] (fd): off (all zero) or on with key. The generation
 * goes up by one whenever what the map holds changes, so that the
 * program's cached results of the old key are never used again.
 * 0 ok, -1 with errno set.
 */
int bv_ipanon_write(int fd, int on, const uint8_t key[32]);

#endif /* BV_IPANON_H */
