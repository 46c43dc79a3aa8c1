/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* SipHash-2-4 (Aumasson, Bernstein 2012); see siphash.h. */
#include "siphash.h"

#define ROTL(x, b) (((x) << (b)) | ((x) >> (64 - (b))))

static void rounds(uint64_t v[4], int n)
{
	while (n--) {
		v[0] += v[1]; v[1] = ROTL(v[1], 13); v[1] ^= v[0]; v[0] = ROTL(v[0], 32);
		v[2] += v[3]; v[3] = ROTL(v[3], 16); v[3] ^= v[2];
		v[0] += v[3]; v[3] = ROTL(v[3], 21); v[3] ^= v[0];
		v[2] += v[1]; v[1] = ROTL(v[1], 17); v[1] ^= v[2]; v[2] = ROTL(v[2], 32);
	}
}

uint64_t bv_siphash(const uint64_t k[2], const void *data, size_t n)
{
	const uint8_t *p = data;
	uint64_t v[4] = {
		k[0] ^ 0x736f6d6570736575ULL, k[1] ^ 0x646f72616e646f6dULL,
		k[0] ^ 0x6c7967656e657261ULL, k[1] ^ 0x7465646279746573ULL,
	};
	uint64_t m = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		m |= (uint64_t)p[i] << (8 * (i & 7));
		if ((i & 7) == 7) {
			v[3] ^= m;
			rounds(v, 2);
			v[0] ^= m;
			m = 0;
		}
	}
	m |= (uint64_t)(n & 0xff) << 56;
	v[3] ^= m;
	rounds(v, 2);
	v[0] ^= m;
	v[2] ^= 0xff;
	rounds(v, 4);
	return v[0] ^ v[1] ^ v[2] ^ v[3];
}
