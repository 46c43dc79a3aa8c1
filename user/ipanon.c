/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* The Crypto-PAn key of the XDP program; see ipanon.h. */
#include <string.h>
#include <bpf/bpf.h>
#include "../bpf/bv_aes.h"
#include "ipanon.h"
#include "siphash.h"

void bv_ipanon_derive(const __u64 anon_key[2], uint8_t key[32])
{
	for (int i = 0; i < 4; i++) {
		char msg[] = "beaconveil ip_anon 0";
		const uint64_t k[2] = { anon_key[0], anon_key[1] };
		uint64_t h;

		msg[sizeof(msg) - 2] = (char)('0' + i);
		h = bv_siphash(k, msg, sizeof(msg) - 1);
		for (int b = 0; b < 8; b++)
			key[8 * i + b] = (uint8_t)(h >> (8 * b));
	}
}

void bv_ipanon_expand(const uint8_t key[32], struct bv_ipanon *out)
{
	struct bv_aes_blk pad;

	memset(out, 0, sizeof(*out));
	out->on = 1;
	bv_aes_expand(key, out->rk);
	/* pad = AES_K(last 16 bytes of the key) */
	for (int w = 0; w < 4; w++)
		pad.w[w] = (__u32)key[16 + 4 * w] << 24 | (__u32)key[17 + 4 * w] << 16 |
			   (__u32)key[18 + 4 * w] << 8 | key[19 + 4 * w];
	bv_aes_encrypt(out->rk, &pad);
	memcpy(out->pad, pad.w, sizeof(out->pad));
}

int bv_ipanon_write(int fd, int on, const uint8_t key[32])
{
	struct bv_ipanon cur, v;
	__u32 zero = 0, g;

	memset(&v, 0, sizeof(v));
	if (on)
		bv_ipanon_expand(key, &v);
	memset(&cur, 0, sizeof(cur));
	if (bpf_map_lookup_elem(fd, &zero, &cur))
		memset(&cur, 0, sizeof(cur));
	g = cur.gen;
	cur.gen = 0;
	if (memcmp(&cur, &v, sizeof(v)) != 0 || (g == 0 && on))
		g = g + 1 ? g + 1 : 1; /* never 0 once on */
	v.gen = g;
	return bpf_map_update_elem(fd, &zero, &v, BPF_ANY);
}
