/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Reference Crypto-PAn for the tests, written from the paper's definition
 * (Xu, Fan, Ammar, Moon 2002) on OpenSSL's AES-128, bit by bit on byte
 * arrays: nothing shared with bpf/ or user/, so the program under test is
 * checked against a second implementation.
 */
#ifndef BV_TESTS_CRYPTOPAN_REF_H
#define BV_TESTS_CRYPTOPAN_REF_H

#include <stdint.h>
#include <stddef.h>

struct cpan_ref {
	void *ctx;          /* EVP_CIPHER_CTX, AES-128-ECB with key[0..16) */
	uint8_t pad[16];    /* AES(key[16..32)) */
};

/* 0 ok, -1 (OpenSSL failed). */
int  cpan_ref_init(struct cpan_ref *r, const uint8_t key[32]);
void cpan_ref_free(struct cpan_ref *r);
/* One AES-128 block under the key's first half (for the AES test). */
void cpan_ref_aes(struct cpan_ref *r, const uint8_t in[16], uint8_t out[16]);
/* n = 4 (IPv4) or 16 (IPv6) bytes, network order. */
void cpan_ref_anon(struct cpan_ref *r, const uint8_t *in, uint8_t *out, size_t n);

#endif /* BV_TESTS_CRYPTOPAN_REF_H */
