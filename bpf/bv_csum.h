/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Incremental Internet checksums (RFC 1624): HC' = ~(~HC + ~m + m').
 * All 16-bit words are taken as raw memory loads; the one's complement sum
 * is byte-order independent as long as every word is taken the same way.
 * A byte at an even offset is the low byte of its (little-endian) load.
 */
#ifndef BV_CSUM_H
#define BV_CSUM_H

#include <linux/types.h>

static __always_inline void csum_acc16(__u64 *acc, __u16 old, __u16 new)
{
	*acc += (__u16)~old;
	*acc += new;
}

/* A payload byte changed at segment offset `off` (TCP header length is even). */
static __always_inline void csum_acc8(__u64 *acc, __u32 off, __u8 old, __u8 new)
{
	if (off & 1)
		csum_acc16(acc, (__u16)old << 8, (__u16)new << 8);
	else
		csum_acc16(acc, old, new);
}

static __always_inline __u16 csum_fold64(__u64 s)
{
	s = (s & 0xffffffff) + (s >> 32);
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return (__u16)s;
}

/* Eight payload bytes changed at segment offset `off` (a 64-bit load each):
 * summed as four aligned 16-bit lanes; at an odd offset the lanes straddle
 * the true words, which gives the byte-swapped sum (RFC 1071). */
static __always_inline void csum_acc64(__u64 *acc, __u32 off, __u64 old, __u64 new)
{
	__u64 o = ~old, s;

	s = (o & 0xffff) + ((o >> 16) & 0xffff) + ((o >> 32) & 0xffff) + (o >> 48) +
	    (new & 0xffff) + ((new >> 16) & 0xffff) + ((new >> 32) & 0xffff) + (new >> 48);
	s = csum_fold64(s);
	if (off & 1)
		s = ((s & 0xff) << 8) | (s >> 8);
	*acc += s;
}

/* Apply an accumulated delta to a checksum field value. */
static __always_inline __u16 csum_apply(__u16 check, __u64 acc)
{
	return ~csum_fold64((__u16)~check + acc);
}

/* UDP: a checksum of 0 means "none"; a computed 0 is sent as 0xffff. */
static __always_inline __u16 csum_apply_udp(__u16 check, __u64 acc)
{
	__u16 c;

	if (check == 0)
		return 0;
	c = csum_apply(check, acc);
	return c ? c : 0xffff;
}

#endif /* BV_CSUM_H */
