/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Reference Crypto-PAn; see cryptopan_ref.h. */
#include <string.h>
#include <openssl/evp.h>
#include "cryptopan_ref.h"

void cpan_ref_aes(struct cpan_ref *r, const uint8_t in[16], uint8_t out[16])
{
	int n = 0;

	EVP_EncryptUpdate(r->ctx, out, &n, in, 16);
}

int cpan_ref_init(struct cpan_ref *r, const uint8_t key[32])
{
	memset(r, 0, sizeof(*r));
	r->ctx = EVP_CIPHER_CTX_new();
	if (!r->ctx || EVP_EncryptInit_ex(r->ctx, EVP_aes_128_ecb(), NULL, key, NULL) != 1 ||
	    EVP_CIPHER_CTX_set_padding(r->ctx, 0) != 1) {
		cpan_ref_free(r);
		return -1;
	}
	cpan_ref_aes(r, key + 16, r->pad);
	return 0;
}

void cpan_ref_free(struct cpan_ref *r)
{
	if (r->ctx)
		EVP_CIPHER_CTX_free(r->ctx);
	r->ctx = NULL;
}

static int bit(const uint8_t *a, size_t i)
{
	return (a[i / 8] >> (7 - i % 8)) & 1;
}

void cpan_ref_anon(struct cpan_ref *r, const uint8_t *in, uint8_t *out, size_t n)
{
	memset(out, 0, n);
	for (size_t i = 0; i < 8 * n; i++) {
		uint8_t blk[16], enc[16];

		/* the first i bits of the address, then the pad's */
		memcpy(blk, r->pad, 16);
		for (size_t j = 0; j < i; j++) {
			blk[j / 8] &= (uint8_t)~(0x80 >> (j % 8));
			blk[j / 8] |= (uint8_t)(bit(in, j) << (7 - j % 8));
		}
		cpan_ref_aes(r, blk, enc);
		if (bit(in, i) ^ (enc[0] >> 7))
			out[i / 8] |= (uint8_t)(0x80 >> (i % 8));
	}
}
