/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Binary address masking (IP headers, PROXY v2): keep `prefix` bits, zero
 * the rest, and tell the checksum accumulator what changed. With ip_mask
 * "public" private-range addresses are left alone (RFC 1918, loopback,
 * link-local, ULA, CGNAT). With ip_anon = prefix_preserving (bv_ipanon on)
 * the whole address is replaced by its Crypto-PAn form instead (bv_cpan.h).
 */
#ifndef BV_ADDR_H
#define BV_ADDR_H

#include "bv_csum.h"
#include "bv_abi.h"
#include "bv_cpan.h"
#include <bpf/bpf_endian.h>

static __always_inline int bv_v4_private(__u32 a /* network order */)
{
	__u32 h = bpf_ntohl(a);

	return (h >> 24) == 10 || (h >> 24) == 127 ||
	       (h >> 20) == (172 << 4 | 1) ||          /* 172.16/12 */
	       (h >> 16) == (192 << 8 | 168) ||         /* 192.168/16 */
	       (h >> 16) == (169 << 8 | 254) ||         /* 169.254/16 */
	       (h >> 22) == (100 << 2 | 1);             /* 100.64/10 */
}

static __always_inline int bv_v6_private(const __u32 *a)
{
	__u32 w0 = bpf_ntohl(a[0]);

	if ((w0 >> 25) == (0xfc >> 1))                  /* fc00::/7 */
		return 1;
	if ((w0 >> 22) == (0xfe80 >> 6))                /* fe80::/10 */
		return 1;
	return a[0] == 0 && a[1] == 0 && a[2] == 0 && a[3] == bpf_htonl(1);
}

/* Network-order mask for 32-bit word `w` (0..3) of a `prefix`-bit prefix. */
static __always_inline __u32 bv_word_mask(__u32 prefix, int w)
{
	int keep = (int)prefix - w * 32;

	if (keep >= 32)
		return 0xffffffff;
	if (keep <= 0)
		return 0;
	return bpf_htonl(~((1u << (32 - keep)) - 1));
}

static __always_inline void bv_set_word(__u32 *w, __u32 new, __u64 *acc)
{
	__u32 old = *w;

	if (old == new)
		return;
	csum_acc16(acc, (__u16)old, (__u16)new);
	csum_acc16(acc, (__u16)(old >> 16), (__u16)(new >> 16));
	*w = new;
}

/* The address in place by its Crypto-PAn form; 0: off (truncate). The
 * work area is the CPU's scratch (the stack is short under bv_l3_rewrite). */
static __always_inline int bv_anon_addr(__u32 *a, int family, __u64 *acc)
{
	struct bv_scratch *sc;
	struct bv_cpan_io *io;
	__u32 zero = 0;

	sc = bpf_map_lookup_elem(&bv_scratch, &zero);
	if (!sc)
		return 0;
	io = &sc->ipt.io;
	io->family = family;
	io->a[0] = a[0];
	io->a[1] = family == 6 ? a[1] : 0;
	io->a[2] = family == 6 ? a[2] : 0;
	io->a[3] = family == 6 ? a[3] : 0;
	if (bv_ipanon_addr(io) != 1)
		return 0;
	bv_set_word(&a[0], io->a[0], acc);
	if (family == 6) {
		bv_set_word(&a[1], io->a[1], acc);
		bv_set_word(&a[2], io->a[2], acc);
		bv_set_word(&a[3], io->a[3], acc);
	}
	return 1;
}

static __always_inline void bv_mask_word(__u32 *w, __u32 m, __u64 *acc)
{
	__u32 old = *w, new = old & m;

	if (old == new)
		return;
	csum_acc16(acc, (__u16)old, (__u16)new);
	csum_acc16(acc, (__u16)(old >> 16), (__u16)(new >> 16));
	*w = new;
}

/*
 * Mask one address in place. Returns 1 if it was masked (even to the same
 * value), 0 if policy leaves it. `acc` collects the checksum delta.
 */
static __always_inline int bv_mask_addr(__u32 *a, int family, const struct bv_policy *pol,
					__u64 *acc)
{
	if (pol->ip_mask == BV_IPMASK_OFF)
		return 0;
	if (family == 4) {
		if (pol->ip_mask == BV_IPMASK_PUBLIC && bv_v4_private(a[0]))
			return 0;
		if (bv_anon_addr(a, 4, acc))
			return 1;
		bv_mask_word(&a[0], bv_word_mask(pol->ipv4_prefix, 0), acc);
		return 1;
	}
	if (pol->ip_mask == BV_IPMASK_PUBLIC && bv_v6_private(a))
		return 0;
	if (bv_anon_addr(a, 6, acc))
		return 1;
	bv_mask_word(&a[0], bv_word_mask(pol->ipv6_prefix, 0), acc);
	bv_mask_word(&a[1], bv_word_mask(pol->ipv6_prefix, 1), acc);
	bv_mask_word(&a[2], bv_word_mask(pol->ipv6_prefix, 2), acc);
	bv_mask_word(&a[3], bv_word_mask(pol->ipv6_prefix, 3), acc);
	return 1;
}

#endif /* BV_ADDR_H */
