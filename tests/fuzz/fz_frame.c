/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
#include <string.h>
#include "fz_frame.h"
#include "pktbuild.h"

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
	return ((uint32_t)get16(p) << 16) | get16(p + 2);
}

static size_t ext6_len(const struct fz_l3 *o)
{
	size_t n = 0;

	if (o->hbh)
		n += ((size_t)o->hbh_len + 1) * 8;
	if (o->dst)
		n += 8;
	if (o->rt)
		n += 24;
	if (o->frag6)
		n += 8;
	return n;
}

size_t fz_overhead(const struct fz_l3 *o)
{
	size_t n = 14 + 4 * (size_t)o->nvlan;

	if (o->family == 4)
		n += 20 + (size_t)o->ip4_opts;
	else
		n += 40 + ext6_len(o);
	return n + 20 + (size_t)o->tcp_opts;
}

/* Options area of n bytes: PadN options, a Pad1 for a last odd byte. */
static void padn(uint8_t *p, size_t n)
{
	while (n >= 2) {
		size_t k = n - 2 > 255 ? 255 : n - 2;

		if (n - (k + 2) == 1)
			k--; /* leave room for a PadN, not a lone byte */
		p[0] = 1;
		p[1] = (uint8_t)k;
		memset(p + 2, 0, k);
		p += k + 2;
		n -= k + 2;
	}
	if (n == 1)
		p[0] = 0;
}

size_t fz_build_tcp(uint8_t *buf, size_t cap, const struct fz_l3 *o,
		    const uint8_t *src, const uint8_t *dst, uint16_t sport, uint16_t dport,
		    uint32_t seq, uint32_t ack, uint8_t flags, const uint8_t *pl, size_t plen)
{
	static const uint8_t mac_a[6] = { 0x02, 0, 0, 0, 0, 0x02 };
	static const uint8_t mac_b[6] = { 0x02, 0, 0, 0, 0, 0x01 };
	size_t total = fz_overhead(o) + plen, off = 12, thl = 20 + (size_t)o->tcp_opts;
	uint8_t *ip, *t;

	if (total > cap || total > 0xffff)
		return 0;
	memset(buf, 0, total);
	memcpy(buf, mac_a, 6);
	memcpy(buf + 6, mac_b, 6);
	for (int i = 0; i < o->nvlan; i++) {
		put16(buf + off, (o->nvlan == 2 && i == 0) ? 0x88a8 : 0x8100);
		put16(buf + off + 2, (uint16_t)(100 + i));
		off += 4;
	}
	put16(buf + off, o->family == 4 ? 0x0800 : 0x86dd);
	off += 2;
	ip = buf + off;
	if (o->family == 4) {
		size_t hl = 20 + (size_t)o->ip4_opts;

		ip[0] = (uint8_t)(0x40 | (hl / 4));
		put16(ip + 2, (uint16_t)(hl + thl + plen));
		put16(ip + 4, 1);
		put16(ip + 6, o->frag_off);
		ip[8] = 64;
		ip[9] = 6;
		memcpy(ip + 12, src, 4);
		memcpy(ip + 16, dst, 4);
		if (o->ip4_opts) {
			memset(ip + 20, 1, (size_t)o->ip4_opts - 1);
			ip[hl - 1] = 0;
		}
		t = ip + hl;
	} else {
		size_t el = ext6_len(o);
		uint8_t *e = ip + 40, *nh = ip + 6;

		put32(ip, 6u << 28);
		put16(ip + 4, (uint16_t)(el + thl + plen));
		ip[7] = 64;
		memcpy(ip + 8, src, 16);
		memcpy(ip + 24, dst, 16);
		if (o->hbh) {
			size_t n = ((size_t)o->hbh_len + 1) * 8;

			*nh = 0;
			e[1] = (uint8_t)o->hbh_len;
			padn(e + 2, n - 2);
			nh = e;
			e += n;
		}
		if (o->dst) {
			*nh = 60;
			padn(e + 2, 6);
			nh = e;
			e += 8;
		}
		if (o->rt) {
			*nh = 43;
			e[1] = 2;                 /* 24 bytes */
			e[2] = 4;                 /* segment routing header */
			e[3] = o->rt_segleft ? 1 : 0;
			e[4] = 0;                 /* last entry */
			if (o->rt_final)
				memcpy(e + 8, o->rt_final, 16);
			nh = e;
			e += 24;
		}
		if (o->frag6) {
			*nh = 44;
			put32(e + 4, 1);          /* offset 0, M 0: atomic */
			nh = e;
			e += 8;
		}
		*nh = 6;
		t = e;
	}
	put16(t, sport);
	put16(t + 2, dport);
	put32(t + 4, seq);
	put32(t + 8, ack);
	t[12] = (uint8_t)((thl / 4) << 4);
	t[13] = flags;
	put16(t + 14, 64240);
	if (o->tcp_opts) {
		size_t nop = (size_t)o->tcp_opts;

		if (nop >= 12)
			nop -= 10;
		memset(t + 20, 1, nop);
		if (o->tcp_opts >= 12) {
			t[20 + nop] = 8;
			t[21 + nop] = 10;
			put32(t + 22 + nop, 0x01020304);
		}
	}
	if (plen)
		memcpy(t + thl, pl, plen);
	pkt_fix_csums(buf, total);
	return total;
}

void fz_parse(const uint8_t *b, size_t len, struct fz_view *v)
{
	size_t off = 14;
	uint16_t type;

	memset(v, 0, sizeof(*v));
	v->kind = FZ_V_MALFORMED;
	if (len < 14)
		return;
	type = get16(b + 12);
	for (int i = 0; i < 2 && (type == 0x8100 || type == 0x88a8); i++) {
		if (off + 4 > len)
			return;
		type = get16(b + off + 2);
		off += 4;
	}
	if (type == 0x8100 || type == 0x88a8)
		return; /* more tags than documented: malformed */
	if (type != 0x0800 && type != 0x86dd) {
		v->kind = FZ_V_NONIP;
		return;
	}
	v->l3_off = off;
	if (type == 0x0800) {
		const uint8_t *ip = b + off;
		size_t ihl, tot;

		if (off + 20 > len || (ip[0] >> 4) != 4)
			return;
		ihl = (size_t)(ip[0] & 15) * 4;
		tot = get16(ip + 2);
		if (ihl < 20 || tot < ihl || off + tot > len)
			return;
		v->family = 4;
		v->proto = ip[9];
		v->ip4_opts = ihl > 20;
		v->l3_end = off + tot;
		v->l4_off = off + ihl;
		v->frag = (get16(ip + 6) & 0x3fff) != 0;
		v->frag_later = (get16(ip + 6) & 0x1fff) != 0;
		v->src = ip + 12;
		v->dst = ip + 16;
	} else {
		const uint8_t *ip = b + off;
		size_t l4;
		uint8_t nh;
		int n;

		if (off + 40 > len || (ip[0] >> 4) != 6)
			return;
		v->family = 6;
		v->l3_end = off + 40 + get16(ip + 4);
		if (v->l3_end > len)
			return;
		v->src = ip + 8;
		v->dst = ip + 24;
		nh = ip[6];
		l4 = off + 40;
		for (n = 0; nh == 0 || nh == 43 || nh == 60 || nh == 44 || nh == 51; n++) {
			const uint8_t *e = b + l4;

			if (n == 6)
				return; /* longer chain than documented: malformed */
			if (l4 + 8 > len)
				return;
			v->ip6_ext = 1;
			if (nh == 43)
				v->rt = 1;
			if (nh == 43 && e[3])
				v->rt_segleft = 1;
			if (nh == 44) {
				v->frag = 1;
				v->frag_later = (get16(e + 2) & 0xfff8) != 0;
				l4 += 8;
			} else if (nh == 51) {
				l4 += ((size_t)e[1] + 2) * 4;
			} else {
				l4 += ((size_t)e[1] + 1) * 8;
			}
			nh = e[0];
			if (l4 > v->l3_end)
				return;
		}
		v->proto = nh;
		v->l4_off = l4;
	}
	if (v->proto == 6 && !v->frag_later) {
		const uint8_t *t = b + v->l4_off;
		size_t doff;

		if (v->l4_off + 20 > len)
			return;
		doff = (size_t)(t[12] >> 4) * 4;
		if (doff < 20 || v->l4_off + doff > v->l3_end)
			return;
		v->tcp = 1;
		v->sport = get16(t);
		v->dport = get16(t + 2);
		v->seq = get32(t + 4);
		v->ack = get32(t + 8);
		v->flags = t[13];
		v->pl_off = v->l4_off + doff;
		v->pl_len = v->l3_end - v->pl_off;
	}
	v->kind = FZ_V_IP;
}

int fz_private4(const uint8_t a[4])
{
	return a[0] == 10 || a[0] == 127 || (a[0] == 172 && (a[1] & 0xf0) == 16) ||
	       (a[0] == 192 && a[1] == 168) || (a[0] == 169 && a[1] == 254) ||
	       (a[0] == 100 && (a[1] & 0xc0) == 64);
}

int fz_private6(const uint8_t a[16])
{
	static const uint8_t loop[16] = { [15] = 1 };

	return (a[0] & 0xfe) == 0xfc || (a[0] == 0xfe && (a[1] & 0xc0) == 0x80) ||
	       !memcmp(a, loop, 16);
}

int fz_zero_beyond(const uint8_t *a, int nbytes, int prefix)
{
	for (int i = 0; i < nbytes; i++) {
		int keep = prefix - 8 * i;
		uint8_t m;

		if (keep >= 8)
			continue;
		m = keep <= 0 ? 0xff : (uint8_t)(0xff >> keep);
		if (a[i] & m)
			return 0;
	}
	return 1;
}
