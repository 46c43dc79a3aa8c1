/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Crypto-PAn (Xu, Fan, Ammar, Moon 2002): keyed, prefix-preserving,
 * one-to-one anonymization of an IPv4 or IPv6 address. For each bit i of
 * the address, most significant first, the PRF input is the first i bits
 * of the address followed by the remaining bits of the 128-bit pad; output
 * bit i is input bit i XOR the first (most significant) bit of
 * AES-128_K(that block). Two addresses sharing exactly a k-bit prefix map
 * to outputs sharing exactly a k-bit prefix. IPv4 uses 32 blocks (bytes
 * 4..15 of every block are the pad's), IPv6 128.
 *
 * K and the pad come expanded from userspace (bv_ipanon); results are kept
 * in bv_ipcache per key generation. AES is one global function, verified
 * once, called in a loop.
 */
#ifndef BV_CPAN_H
#define BV_CPAN_H

#include <bpf/bpf_endian.h>
#include "bv_aes.h"
#include "bv_lexer.h"

/* One AES-128 block in place with the round keys of k. */
BV_GLOBAL int bv_aes_block(const struct bv_ipanon *k, struct bv_aes_blk *b)
{
	if (!k || !b)
		return 0;
	bv_aes_encrypt(k->rk, b);
	return 0;
}

/* The one-time pad of io->h: bit i from the block of its first i bits. */
BV_GLOBAL int bv_cpan_calc(const struct bv_ipanon *k, struct bv_cpan_io *io)
{
	struct bv_aes_blk *b;
	__u32 nbits;

	if (!k || !io)
		return 0;
	b = &io->blk;
	nbits = io->family == 4 ? 32 : 128;
	for (__u32 i = 0; i < 128; i++) {
		__u32 w = (i >> 5) & 3, m = 1u << (31 - (i & 31));

		if (i >= nbits)
			break;
		b->w[0] = io->cur[0];
		b->w[1] = io->cur[1];
		b->w[2] = io->cur[2];
		b->w[3] = io->cur[3];
		bv_aes_block(k, b);
		if (b->w[0] >> 31)
			io->otp[w] |= m;
		/* the next block carries one more bit of the address */
		io->cur[w] = (io->cur[w] & ~m) | (io->h[w] & m);
	}
	return 1;
}

/*
 * io->a through Crypto-PAn when bv_ipanon is on. Returns 1 with io->a
 * anonymized, 0 when off (io->a unchanged: the caller truncates).
 */
BV_GLOBAL int bv_ipanon_addr(struct bv_cpan_io *io)
{
	struct bv_ipcache_key *ck;
	struct bv_ipanon *k;
	__u32 zero = 0, *v;
	int n;

	if (!io)
		return 0;
	k = bpf_map_lookup_elem(&bv_ipanon, &zero);
	if (!k || k->on != 1)
		return 0;
	ck = &io->ck;
	n = io->family == 4 ? 1 : 4;
	for (int w = 0; w < 4; w++) {
		ck->a[w] = w < n ? io->a[w] : 0;
		io->h[w] = bpf_ntohl(ck->a[w]);
		io->cur[w] = k->pad[w];
		io->otp[w] = 0;
	}
	ck->gen = k->gen;
	ck->family = n == 1 ? 4 : 6;
	v = bpf_map_lookup_elem(&bv_ipcache, ck);
	if (v) {
		for (int w = 0; w < 4; w++)
			io->a[w] = v[w];
		return 1;
	}
	io->family = ck->family;
	bv_cpan_calc(k, io);
	for (int w = 0; w < 4; w++)
		io->a[w] = w < n ? bpf_htonl(io->h[w] ^ io->otp[w]) : 0;
	bpf_map_update_elem(&bv_ipcache, ck, io->a, BPF_ANY);
	bv_count(BV_ST_IP_ANON_COMPUTED);
	return 1;
}

#endif /* BV_CPAN_H */
