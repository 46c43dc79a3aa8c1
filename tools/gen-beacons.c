/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * gen-beacons: writes synthetic RUM beacon traffic as an Ethernet pcap, for
 * tests, the demo and benchmarks of beaconveil.
 *
 *   gen-beacons [-n FLOWS] [-s SEED] [-6 PERCENT_IPV6] [--size BYTES]
 *               [--mix realistic|beacons|nonbeacon] [--keepalive N]
 *               [--dnt PERCENT] [--manifest FILE] [-q] OUT.pcap
 *
 * Every flow is a complete conversation with consistent sequence and
 * acknowledgment numbers, TCP timestamps, IPv4 and TCP/UDP checksums
 * computed here. Flows are interleaved (up to 16 open at once, as on a busy
 * collector), timestamps strictly increase. The same arguments give the same
 * bytes: nothing depends on the clock, the host or memory addresses.
 *
 * Addresses are documentation ranges only: clients from 198.18.0.0/15
 * (never 198.18.0.0/24, never a .0 or .255 host) and 2001:db8::/32 (never
 * 2001:db8:0::/48, never an all-zero interface id), collector 198.18.0.10 /
 * 2001:db8::10, DNS server 198.18.0.53 / 2001:db8::53, a shared reverse proxy
 * 198.18.0.3 / 2001:db8::3. MACs 02:00:00:00:00:01 (client side) and
 * 02:00:00:00:00:02 (collector).
 *
 * What the realistic mix models (see XDP-NOTES "What real peers put on the
 * wire"): Chromium's sendBeacon through an HAProxy that terminates TLS and
 * connects to the collector transparently (the client address stays the IP
 * source), so every beacon carries the client address twice, in L3 and in an
 * appended header:
 *  - beacon connections (78 %): Dynatrace-style POSTs (5 % GETs) to
 *    /<app>/rb_bf<digits>?type=js3&sn=..&svrid=..&vi=..&app=.., /bf and
 *    /bf/<env>; 30 % keep-alive connections with 2-4 beacons (--keepalive N:
 *    every browser connection carries exactly N); 8 % are one shared
 *    HAProxy backend connection (http-reuse) carrying 2-4 beacons of
 *    different clients, each with its own x-forwarded-for (--keepalive
 *    leaves those as they are);
 *  - header order of Chromium (Host, Connection, Content-Length, User-Agent,
 *    DNT, Sec-GPC, ..., Cookie last), either as Chromium writes the names or
 *    all lowercase (HAProxy HTX); then what HAProxy appends: x-real-ip,
 *    forwarded (for=v4, for="[v6]", sometimes with a port), x-forwarded-for;
 *    7 % come through a corporate proxy that already added an
 *    X-Forwarded-For (so there are two lines, the first with the user's
 *    address, the second with the proxy's, which is also the IP source);
 *  - cookies: dtCookie (80 %), rxVisitor, rxvt, dtPC, dtSa, site cookies;
 *    dtDisabled=true (2 %); 10 % of browsers carry 2-4 KB of cookies, so the
 *    head spans several segments (MSS 1448 for IPv4, 1428 for IPv6, with TCP
 *    timestamps) and the appended address header is in a later segment;
 *  - DNT: 1 (15 %, or --dnt PERCENT), Sec-GPC: 1 (5 %), per browser (also
 *    the browsers behind the shared proxy and those of other HTTP);
 *  - server side: SYN-ACK, 204 No Content answers, FIN/ACK;
 *  - non-beacon traffic (22 %): HTTP to port 80 that is not a beacon
 *    (GET /index.html, assets, an API POST, paths that look almost like
 *    beacon paths), DNS-like UDP to port 53, random bytes over TCP 443.
 * `beacons` writes only beacon connections and `nonbeacon` only the rest,
 * both client to server only (the server's sequence numbers advance as if
 * its packets had been sent, as on a one-way mirror).
 *
 * Without --keepalive and --dnt the bytes are those of the versions before
 * these options: their defaults draw the same random numbers.
 *
 * --manifest FILE writes one line per generated flow and per HTTP request
 * (kind, signals, identifiers, every client address as written, input
 * frames), so that tests can predict decisions and look for leaks.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <pcap/pcap.h>

#define PROG "gen-beacons"

#define EXIT_USAGE 2
#define MAX_FLOWS 10000000UL
#define WINDOW 16                  /* flows open at once */
#define BASE_EPOCH 1740830400ULL   /* 2025-03-01 12:00:00 UTC, first frame */
#define STD_FRAME 1514             /* Ethernet frame without FCS at MTU 1500 */
#define MIN_SIZE 64
#define MAX_SIZE 9014              /* a 9000-byte MTU jumbo frame */
#define SNAPLEN 65535
#define MAX_KEEPALIVE 1000         /* --keepalive: beacons per connection */

enum mix { MIX_REALISTIC, MIX_BEACONS, MIX_NONBEACON };
static const char *const mix_names[] = { "realistic", "beacons", "nonbeacon" };

/* ---- errors ---------------------------------------------------------------- */

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, PROG ": ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p)
		die("out of memory");
	return p;
}

static char *xstrdup(const char *s)
{
	char *d = strdup(s);

	if (!d)
		die("out of memory");
	return d;
}

/* ---- deterministic random numbers ------------------------------------------- */

/*
 * xoshiro256** seeded through splitmix64. Every flow has its own stream
 * (seed, flow number), so a flow's content does not depend on how flows
 * are interleaved; the interleaving has a stream of its own.
 */
struct rng {
	uint64_t s[4];
};

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static void rng_seed(struct rng *r, uint64_t seed, uint64_t stream)
{
	uint64_t x = seed ^ (stream * 0xd1b54a32d192ed03ULL);

	for (int i = 0; i < 4; i++)
		r->s[i] = splitmix64(&x);
}

static uint64_t rotl64(uint64_t v, int k)
{
	return (v << k) | (v >> (64 - k));
}

static uint64_t rng_next(struct rng *r)
{
	uint64_t *s = r->s;
	uint64_t res = rotl64(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl64(s[3], 45);
	return res;
}

/* Uniform in [0, n), n > 0. */
static uint32_t rnd(struct rng *r, uint32_t n)
{
	return (uint32_t)(((rng_next(r) >> 32) * (uint64_t)n) >> 32);
}

/* Uniform in [lo, hi]. */
static uint32_t rrange(struct rng *r, uint32_t lo, uint32_t hi)
{
	return lo + rnd(r, hi - lo + 1);
}

/* True with probability permille / 1000. */
static bool chance(struct rng *r, uint32_t permille)
{
	return rnd(r, 1000) < permille;
}

static const char UPPER_ALNUM[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
static const char UPPER[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
static const char ALNUM[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
static const char LOWER_ALNUM[] = "abcdefghijklmnopqrstuvwxyz0123456789";
static const char HEX_UPPER[] = "0123456789ABCDEF";
static const char B64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* n random characters of alphabet, NUL-terminated (buf holds n + 1). */
static void rand_str(struct rng *r, char *buf, size_t n, const char *alphabet)
{
	uint32_t k = (uint32_t)strlen(alphabet);

	for (size_t i = 0; i < n; i++)
		buf[i] = alphabet[rnd(r, k)];
	buf[n] = '\0';
}

/* ---- growable strings -------------------------------------------------------- */

struct sbuf {
	char *p;
	size_t len, cap;
};

static void sb_reserve(struct sbuf *b, size_t add)
{
	if (b->len + add + 1 <= b->cap)
		return;
	size_t cap = b->cap ? b->cap : 256;
	while (cap < b->len + add + 1)
		cap *= 2;
	b->p = xrealloc(b->p, cap);
	b->cap = cap;
}

static void sb_add(struct sbuf *b, const char *s, size_t n)
{
	sb_reserve(b, n);
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void sb_puts(struct sbuf *b, const char *s)
{
	sb_add(b, s, strlen(s));
}

static void sb_printf(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		die("formatting failed");
	sb_reserve(b, (size_t)n);
	va_start(ap, fmt);
	vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

static void sb_reset(struct sbuf *b)
{
	b->len = 0;
	if (b->p)
		b->p[0] = '\0';
}

static void sb_free(struct sbuf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}

/* ---- addresses -------------------------------------------------------------- */

struct addr {
	int fam;            /* 4 or 6 */
	uint8_t b[16];      /* network order; IPv4 in b[0..3] */
	char txt[INET6_ADDRSTRLEN];
};

static void addr_text(struct addr *a)
{
	if (!inet_ntop(a->fam == 4 ? AF_INET : AF_INET6, a->b, a->txt, sizeof(a->txt)))
		die("inet_ntop: %s", strerror(errno));
}

static void addr_fixed(struct addr *a, int fam, const char *txt)
{
	memset(a, 0, sizeof(*a));
	a->fam = fam;
	if (inet_pton(fam == 4 ? AF_INET : AF_INET6, txt, a->b) != 1)
		die("internal: bad address %s", txt);
	addr_text(a);
}

/*
 * A client address. IPv4: 198.18.1.0-198.19.255.255, host byte 1-254.
 * IPv6: 2001:db8:G2:G3:IID with G2 != 0, and an interface id whose last
 * group is non-zero; one in five has zero groups in the middle, so that its
 * text form uses "::". Either way, masking to /24 or /48 always changes it.
 */
static void addr_client(struct rng *r, int fam, struct addr *a)
{
	memset(a, 0, sizeof(*a));
	a->fam = fam;
	if (fam == 4) {
		a->b[0] = 198;
		a->b[1] = (uint8_t)(18 + rnd(r, 2));
		a->b[2] = (uint8_t)(a->b[1] == 18 ? rrange(r, 1, 255) : rnd(r, 256));
		a->b[3] = (uint8_t)rrange(r, 1, 254);
	} else {
		uint16_t g[8] = { 0x2001, 0x0db8 };
		bool gap = chance(r, 200);

		g[2] = (uint16_t)rrange(r, 1, 0xffff);
		g[3] = (uint16_t)rnd(r, 0x10000);
		for (int i = 4; i < 8; i++)
			g[i] = (uint16_t)rrange(r, 1, 0xffff);
		if (gap)
			g[4] = g[5] = g[6] = 0;
		for (int i = 0; i < 8; i++) {
			a->b[2 * i] = (uint8_t)(g[i] >> 8);
			a->b[2 * i + 1] = (uint8_t)g[i];
		}
	}
	addr_text(a);
}

/* ---- pcap output -------------------------------------------------------------- */

struct pkt {
	uint8_t *data;
	uint32_t len;
	int req;            /* index into the flow's requests, or -1 */
};

/* One HTTP request, for the manifest: fields without the frame numbers. */
struct req {
	char *fields;
	uint64_t first, last;  /* input frames (1-based) of its segments */
};

struct flow {
	unsigned long id;
	char *fields;          /* manifest line of the flow */
	uint64_t first, last;
	struct pkt *pk;
	size_t npk, cappk, next;
	struct req *rq;
	size_t nrq, caprq;
};

struct stats {
	uint64_t frames, bytes;
	uint64_t beacon_conns, shared_conns, keepalive_conns, http_conns, tls_flows, dns_flows;
	uint64_t beacons, beacons_v6, beacons_get, beacons_multiseg, beacons_dnt, beacons_gpc;
	uint64_t beacons_no_consent, beacons_disabled, beacons_upstream_xff, beacons_forwarded;
	uint64_t http_other;
	uint64_t padded_min, padded_max;
};

struct gen {
	uint64_t seed;
	unsigned long nflows;
	unsigned ipv6_pct;
	unsigned size;       /* 0: natural sizes */
	enum mix mix;
	unsigned keepalive;  /* beacons per browser connection; 0: 1, or 2-4 (30 %) */
	int dnt_pct;         /* share of browsers with DNT: 1; -1: the default 15 % */
	bool server_side;    /* emit server packets */
	struct addr collector4, collector6, dns4, dns6, proxy4, proxy6;
	uint16_t port_base;
	pcap_dumper_t *dump;
	FILE *manifest;
	uint64_t t_us;       /* time of the last frame, from BASE_EPOCH */
	struct stats st;
};

static const uint8_t MAC_CLIENT[6] = { 0x02, 0, 0, 0, 0, 0x01 };
static const uint8_t MAC_SERVER[6] = { 0x02, 0, 0, 0, 0, 0x02 };

static void flow_add_pkt(struct flow *f, uint8_t *data, uint32_t len, int req)
{
	if (f->npk == f->cappk) {
		f->cappk = f->cappk ? 2 * f->cappk : 16;
		f->pk = xrealloc(f->pk, f->cappk * sizeof(*f->pk));
	}
	f->pk[f->npk++] = (struct pkt){ .data = data, .len = len, .req = req };
}

static int flow_add_req(struct flow *f, char *fields)
{
	if (f->nrq == f->caprq) {
		f->caprq = f->caprq ? 2 * f->caprq : 4;
		f->rq = xrealloc(f->rq, f->caprq * sizeof(*f->rq));
	}
	f->rq[f->nrq] = (struct req){ .fields = fields };
	return (int)f->nrq++;
}

static void flow_free(struct flow *f)
{
	for (size_t i = 0; i < f->npk; i++)
		free(f->pk[i].data);
	for (size_t i = 0; i < f->nrq; i++)
		free(f->rq[i].fields);
	free(f->pk);
	free(f->rq);
	free(f->fields);
	free(f);
}

/* ---- checksums and frames --------------------------------------------------- */

static uint32_t csum_add(uint32_t sum, const uint8_t *p, size_t len)
{
	while (len > 1) {
		sum += (uint32_t)p[0] << 8 | p[1];
		p += 2;
		len -= 2;
	}
	if (len)
		sum += (uint32_t)p[0] << 8;
	return sum;
}

static uint16_t csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static void put16(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* One end-to-end conversation: addresses, ports, sequence state. */
struct conn {
	int fam;
	struct addr cli, srv;
	uint16_t cport, sport;
	uint32_t cseq, sseq;      /* next sequence number each side sends */
	uint16_t cid, sid;        /* IPv4 identification */
	uint32_t flowlabel;
	uint32_t cts, sts;        /* next TCP timestamp value of each side */
	uint32_t cts_seen, sts_seen;
	uint32_t mss;             /* payload bytes per segment, client side */
	uint32_t smss;            /* server side */
	uint32_t nseg;            /* segments the client sent (for stats) */
};

enum { TH_FIN = 0x01, TH_SYN = 0x02, TH_RST = 0x04, TH_PSH = 0x08, TH_ACK = 0x10 };

/*
 * Builds one frame: Ethernet, IPv4 (DF, no options) or IPv6 (no extension
 * headers), then L4 header (TCP with options, or UDP) and payload; computes
 * every checksum.
 */
static uint8_t *build_frame(const struct conn *c, bool from_client, int proto,
			    const uint8_t *l4hdr, size_t l4hdr_len,
			    const uint8_t *pl, size_t plen, uint32_t *out_len)
{
	size_t iph = c->fam == 4 ? 20 : 40;
	size_t l4len = l4hdr_len + plen;
	size_t len = 14 + iph + l4len;
	uint8_t *f = calloc(1, len);
	const struct addr *src = from_client ? &c->cli : &c->srv;
	const struct addr *dst = from_client ? &c->srv : &c->cli;
	uint8_t *ip = f + 14, *l4 = f + 14 + iph;
	uint32_t sum = 0;
	uint8_t pseudo[40];

	if (!f)
		die("out of memory");
	memcpy(f, from_client ? MAC_SERVER : MAC_CLIENT, 6);
	memcpy(f + 6, from_client ? MAC_CLIENT : MAC_SERVER, 6);
	put16(f + 12, c->fam == 4 ? 0x0800 : 0x86dd);
	if (c->fam == 4) {
		ip[0] = 0x45;
		ip[1] = 0;
		put16(ip + 2, (uint32_t)(iph + l4len));
		put16(ip + 4, from_client ? c->cid : c->sid);
		put16(ip + 6, 0x4000);                 /* DF */
		ip[8] = from_client ? 62 : 64;
		ip[9] = (uint8_t)proto;
		memcpy(ip + 12, src->b, 4);
		memcpy(ip + 16, dst->b, 4);
		put16(ip + 10, csum_fold(csum_add(0, ip, 20)));
		memcpy(pseudo, src->b, 4);
		memcpy(pseudo + 4, dst->b, 4);
		pseudo[8] = 0;
		pseudo[9] = (uint8_t)proto;
		put16(pseudo + 10, (uint32_t)l4len);
		sum = csum_add(0, pseudo, 12);
	} else {
		put32(ip, 0x60000000u | (c->flowlabel & 0xfffff));
		put16(ip + 4, (uint32_t)l4len);
		ip[6] = (uint8_t)proto;
		ip[7] = 64;
		memcpy(ip + 8, src->b, 16);
		memcpy(ip + 24, dst->b, 16);
		memcpy(pseudo, src->b, 16);
		memcpy(pseudo + 16, dst->b, 16);
		sum = csum_add(0, pseudo, 32);
		put32(pseudo, (uint32_t)l4len);
		pseudo[4] = pseudo[5] = pseudo[6] = 0;
		pseudo[7] = (uint8_t)proto;
		sum = csum_add(sum, pseudo, 8);
	}
	memcpy(l4, l4hdr, l4hdr_len);
	if (plen)
		memcpy(l4 + l4hdr_len, pl, plen);
	if (proto == IPPROTO_UDP)
		put16(l4 + 4, (uint32_t)l4len);
	sum = csum_add(sum, l4, l4len);
	{
		uint16_t ck = csum_fold(sum);

		if (proto == IPPROTO_UDP && ck == 0)
			ck = 0xffff;
		put16(l4 + (proto == IPPROTO_TCP ? 16 : 6), ck);
	}
	*out_len = (uint32_t)len;
	return f;
}

/*
 * Sends one TCP segment. Server segments are built only when the server
 * side is captured; otherwise only the sequence state advances, as on a
 * one-way mirror.
 */
static void tcp_seg(struct gen *g, struct flow *f, struct conn *c, bool from_client,
		    uint8_t flags, const void *pl, size_t plen, int req)
{
	uint8_t h[40];
	size_t hl;
	uint32_t seq = from_client ? c->cseq : c->sseq;
	uint32_t ack = from_client ? c->sseq : c->cseq;
	uint32_t tsval = from_client ? c->cts : c->sts;
	uint32_t tsecr = from_client ? c->sts_seen : c->cts_seen;
	bool emit = from_client || g->server_side;

	if (emit) {
		memset(h, 0, sizeof(h));
		put16(h, from_client ? c->cport : c->sport);
		put16(h + 2, from_client ? c->sport : c->cport);
		put32(h + 4, seq);
		put32(h + 8, (flags & TH_ACK) ? ack : 0);
		if (flags & TH_SYN) {
			uint8_t *o = h + 20;
			uint32_t mss = from_client ? c->mss : c->smss;

			/* Linux order: MSS, SACK permitted, timestamps, NOP, window scale */
			o[0] = 2; o[1] = 4; put16(o + 2, mss + 12);
			o[4] = 4; o[5] = 2;
			o[6] = 8; o[7] = 10; put32(o + 8, tsval); put32(o + 12, (flags & TH_ACK) ? tsecr : 0);
			o[16] = 1;
			o[17] = 3; o[18] = 3; o[19] = 7;
			hl = 40;
			put16(h + 14, from_client ? 64240 : 65160);
		} else {
			uint8_t *o = h + 20;

			o[0] = 1; o[1] = 1;
			o[2] = 8; o[3] = 10; put32(o + 4, tsval); put32(o + 8, tsecr);
			hl = 32;
			put16(h + 14, from_client ? 502 : 509);
		}
		h[12] = (uint8_t)((hl / 4) << 4);
		h[13] = flags;

		uint32_t len;
		uint8_t *fr = build_frame(c, from_client, IPPROTO_TCP, h, hl, pl, plen, &len);

		flow_add_pkt(f, fr, len, req);
	}
	if (from_client) {
		c->cseq += (uint32_t)plen + !!(flags & TH_SYN) + !!(flags & TH_FIN);
		c->cts_seen = c->cts;
		c->cts++;
		c->cid++;
		c->nseg++;
	} else {
		c->sseq += (uint32_t)plen + !!(flags & TH_SYN) + !!(flags & TH_FIN);
		c->sts_seen = c->sts;
		c->sts++;
		c->sid++;
	}
}

/* Sends data from one side, cut into MSS-sized segments; PSH on the last. */
static uint32_t tcp_data(struct gen *g, struct flow *f, struct conn *c, bool from_client,
			 const char *data, size_t n, int req)
{
	size_t mss = from_client ? c->mss : c->smss, off = 0;
	uint32_t segs = 0;

	while (off < n) {
		size_t k = n - off < mss ? n - off : mss;

		tcp_seg(g, f, c, from_client, TH_ACK | (off + k == n ? TH_PSH : 0),
			data + off, k, req);
		off += k;
		segs++;
	}
	return segs;
}

static void tcp_open(struct gen *g, struct flow *f, struct conn *c)
{
	tcp_seg(g, f, c, true, TH_SYN, NULL, 0, -1);
	tcp_seg(g, f, c, false, TH_SYN | TH_ACK, NULL, 0, -1);
	tcp_seg(g, f, c, true, TH_ACK, NULL, 0, -1);
}

static void tcp_close(struct gen *g, struct flow *f, struct conn *c)
{
	tcp_seg(g, f, c, true, TH_FIN | TH_ACK, NULL, 0, -1);
	tcp_seg(g, f, c, false, TH_FIN | TH_ACK, NULL, 0, -1);
	tcp_seg(g, f, c, true, TH_ACK, NULL, 0, -1);
}

static uint16_t client_port(const struct gen *g, unsigned long id)
{
	/* 7 is prime to 28232: unique for the first 28232 flows */
	return (uint16_t)(32768 + (g->port_base + (uint64_t)id * 7) % 28232);
}

static void conn_init(struct gen *g, struct rng *r, struct conn *c, const struct addr *cli,
		      uint16_t cport, uint16_t sport)
{
	memset(c, 0, sizeof(*c));
	c->fam = cli->fam;
	c->cli = *cli;
	c->srv = cli->fam == 4 ? g->collector4 : g->collector6;
	c->cport = cport;
	c->sport = sport;
	c->cseq = (uint32_t)rng_next(r);
	c->sseq = (uint32_t)rng_next(r);
	c->cid = (uint16_t)rng_next(r);
	c->sid = (uint16_t)rng_next(r);
	c->flowlabel = (uint32_t)rng_next(r) & 0xfffff;
	c->cts = (uint32_t)rng_next(r);
	c->sts = (uint32_t)rng_next(r);
	c->mss = c->smss = cli->fam == 4 ? 1448 : 1428;
}

/* ---- browsers and beacons --------------------------------------------------- */

struct app {
	const char *id;         /* app= */
	const char *origin;     /* page origin host */
	const char *prefix;     /* path before rb_bf */
	const char *rbid;       /* digits after rb_bf */
	const char *env;        /* agentless /bf/<env> */
};

static const struct app APPS[] = {
	{ "ea7c4b59f27d43eb", "www.shop.example", "/myapp", "28599", "umsaywsjuo" },
	{ "9a1f0c3d5e7b2468", "portal.example.org", "", "10457", "xkq93mza01" },
	{ "0b6d2e8f41c97a35", "news.example.net", "/static/rum", "77031", "pq7rt2ww9c" },
	{ "c4e1a9b07d3f5268", "app.example.com", "/portal/app", "4242", "e3b0c44298" },
};
#define NAPPS (sizeof(APPS) / sizeof(APPS[0]))

struct ua {
	const char *ua, *platform, *mobile;
};

static const struct ua UAS[] = {
	{ "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
	  "Chrome/156.0.0.0 Safari/537.36", "\"Linux\"", "?0" },
	{ "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
	  "Chrome/156.0.0.0 Safari/537.36", "\"Windows\"", "?0" },
	{ "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
	  "Chrome/156.0.0.0 Safari/537.36", "\"macOS\"", "?0" },
	{ "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) "
	  "Chrome/156.0.0.0 Mobile Safari/537.36", "\"Android\"", "?1" },
	{ "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
	  "Chrome/156.0.0.0 Safari/537.36 Edg/156.0.0.0", "\"Windows\"", "?0" },
};
#define NUAS (sizeof(UAS) / sizeof(UAS[0]))

enum xff_style {
	XS_XFF,           /* x-forwarded-for: C */
	XS_FWD,           /* forwarded: proto=https;for=C */
	XS_FWD_XFF,       /* forwarded + x-forwarded-for */
	XS_REALIP_XFF,    /* x-real-ip + x-forwarded-for */
	XS_UPSTREAM,      /* X-Forwarded-For: U[, V] from a corporate proxy, then ours */
};

/* One browser (visitor) and the way its requests reach the collector. */
struct browser {
	struct addr l3;           /* IP source of the connection (client or proxy) */
	struct addr user, user2;  /* XS_UPSTREAM: addresses behind the corporate proxy */
	bool two_users;
	const struct app *app;
	const struct ua *ua;
	enum xff_style xs;
	bool fwd_port;            /* forwarded for= with a port */
	uint16_t fwd_port_num;
	bool lower;               /* header names lowercase (HAProxy HTX) */
	bool dnt, gpc, consent, disabled, big;
	bool agentless;           /* /bf beacons instead of rb_ */
	bool agentless_id;        /* /bf/<env> */
	char rxvisitor[46];
	char dtpc_rand[21];
	char dtpc[96];
	char vi[17];
	char dtcookie[128];
	char rxvt[40];
	uint64_t ms;              /* the browser's clock, ms since 1970 */
	int svrid;
	char *site_cookies;       /* "; "-joined, may be empty */
};

static void browser_free(struct browser *b)
{
	free(b->site_cookies);
	b->site_cookies = NULL;
}

static void make_site_cookies(struct rng *r, struct browser *b)
{
	struct sbuf parts[12] = { { 0 } };
	size_t np = 0, total = 0, target = b->big ? rrange(r, 2048, 4096) : 0;
	char tmp[2048];
	struct sbuf out = { 0 };

	/* a few ordinary site cookies */
	if (chance(r, 600)) {
		/* one random call per statement: argument order is unspecified */
		unsigned id = rrange(r, 100000000, 2000000000);
		unsigned first = (unsigned)(b->ms / 1000 - rnd(r, 86400 * 30));

		sb_printf(&parts[np++], "_ga=GA1.1.%u.%u", id, first);
	}
	if (chance(r, 500))
		sb_printf(&parts[np++], "lang=%s", chance(r, 500) ? "en-US" : "de-DE");
	if (chance(r, 300))
		sb_printf(&parts[np++], "consent_prefs=necessary%%2Cstatistics%s",
			  chance(r, 500) ? "%2Cmarketing" : "");
	if (chance(r, 200)) {
		rand_str(r, tmp, 24, LOWER_ALNUM);
		sb_printf(&parts[np++], "cart=%s", tmp);
	}
	for (size_t i = 0; i < np; i++)
		total += parts[i].len + 2;
	/* large ones until the target is reached */
	while (total < target && np < sizeof(parts) / sizeof(parts[0])) {
		size_t want = target - total;
		static const char *const names[] = { "session", "_fbp_state", "ab_buckets",
						     "recently_viewed", "auth_token", "prefs" };
		const char *name = names[rnd(r, sizeof(names) / sizeof(names[0]))];
		size_t n;

		if (want > 1400)
			want = rrange(r, 600, 1400);
		n = want > strlen(name) + 3 ? want - strlen(name) - 3 : 8;
		if (n > sizeof(tmp) - 1)
			n = sizeof(tmp) - 1;
		rand_str(r, tmp, n, B64);
		sb_printf(&parts[np++], "%s=%s", name, tmp);
		total += parts[np - 1].len + 2;
	}
	for (size_t i = 0; i < np; i++) {
		if (i)
			sb_puts(&out, "; ");
		sb_add(&out, parts[i].p, parts[i].len);
		sb_free(&parts[i]);
	}
	b->site_cookies = out.p ? out.p : xstrdup("");
}

static void make_browser(struct gen *g, struct rng *r, int fam, struct browser *b)
{
	char up[33], hex[33];

	memset(b, 0, sizeof(*b));
	addr_client(r, fam, &b->l3);
	b->app = &APPS[rnd(r, NAPPS)];
	b->ua = &UAS[rnd(r, NUAS)];
	{
		uint32_t x = rnd(r, 100);

		b->xs = x < 70 ? XS_XFF : x < 80 ? XS_FWD : x < 88 ? XS_FWD_XFF
		      : x < 93 ? XS_REALIP_XFF : XS_UPSTREAM;
	}
	if (b->xs == XS_UPSTREAM) {
		addr_client(r, rnd(r, 100) < g->ipv6_pct ? 6 : 4, &b->user);
		b->two_users = chance(r, 300);
		if (b->two_users)
			addr_client(r, rnd(r, 100) < g->ipv6_pct ? 6 : 4, &b->user2);
	}
	b->fwd_port = chance(r, 250);
	b->fwd_port_num = (uint16_t)rrange(r, 1024, 65535);
	b->lower = chance(r, 500);
	/* one draw either way: without --dnt the stream is as it always was */
	b->dnt = chance(r, g->dnt_pct < 0 ? 150 : (uint32_t)g->dnt_pct * 10);
	b->gpc = chance(r, 50);
	b->consent = chance(r, 800);
	b->disabled = chance(r, 20);
	b->big = g->size ? false : chance(r, 100);
	b->agentless = chance(r, 150);
	b->agentless_id = chance(r, 500);
	b->ms = (BASE_EPOCH * 1000) - rnd(r, 90u * 86400u) * 1000ULL;
	b->ms -= rnd(r, 1000);
	b->svrid = (int)rrange(r, 1, 40);

	/* rxVisitor: 13-digit ms timestamp + 32 uppercase alphanumerics */
	rand_str(r, up, 32, UPPER_ALNUM);
	snprintf(b->rxvisitor, sizeof(b->rxvisitor), "%013" PRIu64 "%s", b->ms, up);
	rand_str(r, b->dtpc_rand, 20, UPPER);
	{
		unsigned p1 = rrange(r, 1, 40), p2 = rrange(r, 0, 999999999);
		unsigned p3 = rrange(r, 0, 999), p4 = rrange(r, 1, 30);

		snprintf(b->dtpc, sizeof(b->dtpc), "%u$%09u_%03uh%uv%s-0e0", p1, p2, p3, p4,
			 b->dtpc_rand);
	}
	rand_str(r, b->vi, 16, ALNUM);
	rand_str(r, hex, 32, HEX_UPPER);
	snprintf(b->dtcookie, sizeof(b->dtcookie),
		 "v_4_srv_%d_sn_%s_perc_100000_ol_0_mul_1_app-3A%s_1", b->svrid, hex, b->app->id);
	b->ms = BASE_EPOCH * 1000 + rnd(r, 600000);
	snprintf(b->rxvt, sizeof(b->rxvt), "%" PRIu64 "|%" PRIu64, b->ms + 1800000, b->ms);
	make_site_cookies(r, b);
}

/* Header name in the style of the connection. */
static const char *hn(const struct browser *b, const char *chromium, const char *lower)
{
	return b->lower ? lower : chromium;
}

static void cookie_header(struct rng *r, const struct browser *b, struct sbuf *out)
{
	const char *items[16];
	char buf[8][160];
	size_t n = 0, nb = 0;

	if (b->consent) {
		snprintf(buf[nb], sizeof(buf[nb]), "dtCookie=%s", b->dtcookie);
		items[n++] = buf[nb++];
	}
	snprintf(buf[nb], sizeof(buf[nb]), "rxVisitor=%s", b->rxvisitor);
	items[n++] = buf[nb++];
	snprintf(buf[nb], sizeof(buf[nb]), "rxvt=%s", b->rxvt);
	items[n++] = buf[nb++];
	snprintf(buf[nb], sizeof(buf[nb]), "dtPC=%s", b->dtpc);
	items[n++] = buf[nb++];
	items[n++] = "dtSa=-";
	if (b->disabled)
		items[n++] = "dtDisabled=true";
	if (b->site_cookies[0])
		items[n++] = b->site_cookies;
	/* Chromium orders by path length and age: any order can be seen */
	for (size_t i = n - 1; i > 0; i--) {
		size_t j = rnd(r, (uint32_t)i + 1);
		const char *t = items[i];

		items[i] = items[j];
		items[j] = t;
	}
	sb_printf(out, "%s: ", hn(b, "Cookie", "cookie"));
	for (size_t i = 0; i < n; i++)
		sb_printf(out, "%s%s", i ? "; " : "", items[i]);
	sb_puts(out, "\r\n");
}

/* `for=` value of a Forwarded element */
static void fwd_value(const struct browser *b, const struct addr *a, struct sbuf *out)
{
	if (a->fam == 6)
		sb_printf(out, "for=\"[%s]%s", a->txt, b->fwd_port ? ":" : "");
	else
		sb_printf(out, "for=%s%s%s", b->fwd_port ? "\"" : "", a->txt, b->fwd_port ? ":" : "");
	if (b->fwd_port)
		sb_printf(out, "%u", b->fwd_port_num);
	if (a->fam == 6 || b->fwd_port)
		sb_puts(out, "\"");
}

/*
 * The headers the proxies add, after everything the browser sent; records
 * every address written in addrs (comma-separated).
 */
static void proxy_headers(const struct browser *b, struct sbuf *out, struct sbuf *addrs)
{
	const struct addr *c = &b->l3;

	sb_printf(addrs, "%s", c->txt);
	switch (b->xs) {
	case XS_XFF:
		sb_printf(out, "x-forwarded-for: %s\r\n", c->txt);
		break;
	case XS_FWD:
		sb_puts(out, "forwarded: proto=https;");
		fwd_value(b, c, out);
		sb_puts(out, "\r\n");
		break;
	case XS_FWD_XFF:
		sb_puts(out, "forwarded: proto=https;");
		fwd_value(b, c, out);
		sb_printf(out, "\r\nx-forwarded-for: %s\r\n", c->txt);
		break;
	case XS_REALIP_XFF:
		sb_printf(out, "x-real-ip: %s\r\nx-forwarded-for: %s\r\n", c->txt, c->txt);
		break;
	case XS_UPSTREAM:
		sb_printf(out, "%s: %s", hn(b, "X-Forwarded-For", "x-forwarded-for"), b->user.txt);
		sb_printf(addrs, ",%s", b->user.txt);
		if (b->two_users) {
			sb_printf(out, ", %s", b->user2.txt);
			sb_printf(addrs, ",%s", b->user2.txt);
		}
		sb_printf(out, "\r\nx-forwarded-for: %s\r\n", c->txt);
		break;
	}
}

/*
 * A sendBeacon text/plain body: a third carry a user action with its
 * timings, the others are short visit/heartbeat beacons; 10 % add a resource
 * timing entry. No identifiers in the body (they travel in cookies and the
 * query string). Random values are drawn one per statement: the order in
 * which function arguments are evaluated is unspecified in C, and the bytes
 * must not depend on the compiler.
 */
static void beacon_body(struct rng *r, const struct browser *b, struct sbuf *out)
{
	uint64_t t0 = b->ms + rnd(r, 60000);
	unsigned v[6];

	if (chance(r, 350)) {
		static const char *const names[] = { "_load_", "click%20on%20%22Buy%22",
						     "_onload_", "XHR%20Call%3A%20%2Fapi%2Fcart" };
		const char *nm = names[rnd(r, sizeof(names) / sizeof(names[0]))];

		v[0] = rnd(r, 3000);
		v[1] = rnd(r, 500);
		sb_printf(out, "$a=1%%7C1%%7C%s%%7C%s%%7C-%%7C%" PRIu64 "%%7C%" PRIu64
			  "%%7C%u%%7C-%%7C-%%7C-%%7C-%%7C-%%7Chttps%%3A%%2F%%2F%s%%2F",
			  nm, nm, t0, t0 + v[0], v[1], b->app->origin);
	}
	v[0] = rnd(r, 2000000000);
	v[1] = rnd(r, 2000000000);
	v[2] = rnd(r, 1000000);
	v[3] = rnd(r, 5000);
	sb_printf(out, "$rId=RID_%d$rpId=-%u$fId=%u$v=10305250108095236$time=%" PRIu64,
		  (int)v[0] - 1000000000, v[1], v[2], t0 + v[3]);
	if (chance(r, 100)) {
		v[0] = rnd(r, 100);
		v[1] = rnd(r, 1000);
		v[2] = rnd(r, 300);
		v[3] = (unsigned)rng_next(r);
		v[4] = rnd(r, 90000);
		v[5] = rnd(r, 90000);
		sb_printf(out, "$rt=%u%%7C%u%%7Chttps%%3A%%2F%%2F%s%%2Fassets%%2Fbundle-%08x.js"
			  "%%7Cb%ue0f0g0h0i0j0k0l0m0v%uw%u",
			  v[0], v[1], b->app->origin, v[3], v[2], v[4], v[5]);
	}
}

static void request_line(struct rng *r, const struct browser *b, bool get, struct sbuf *out,
			 struct sbuf *uri)
{
	const struct app *a = b->app;
	uint64_t since = b->ms - rnd(r, 86400000);
	unsigned crc = rnd(r, 4000000000u);

	if (b->agentless) {
		if (b->agentless_id)
			sb_printf(uri, "/bf/%s", a->env);
		else
			sb_puts(uri, "/bf");
	} else {
		sb_printf(uri, "%s/rb_bf%s", a->prefix, a->rbid);
	}
	sb_printf(uri, "?type=js3&sn=%s&svrid=%d&flavor=%s&vi=%s&modifiedSince=%" PRIu64
		  "&bp=3&app=%s&crc=%u&end=1",
		  b->dtcookie, b->svrid, get ? "get" : "post", b->vi, since, a->id, crc);
	sb_printf(out, "%s %s HTTP/1.1\r\n", get ? "GET" : "POST", uri->p);
}

struct beacon_out {
	char *fields;     /* manifest fields */
	struct sbuf text; /* request head and body */
	bool get;
	size_t body_len;
};

/* Builds one beacon request of browser b (the head in Chromium's order). */
static void build_beacon(struct gen *g, struct rng *r, const struct conn *c,
			 const struct browser *b, struct beacon_out *bo)
{
	struct sbuf body = { 0 }, head = { 0 }, uri = { 0 }, tail = { 0 }, addrs = { 0 };
	struct sbuf rl = { 0 }, fields = { 0 };
	const char *host = b->agentless ? "bf.rum.example.net" : b->app->origin;
	bool get = g->size ? false : chance(r, 50);
	size_t frame_hdr = 14 + (size_t)(c->fam == 4 ? 20 : 40) + 32;

	request_line(r, b, get, &rl, &uri);
	if (!get)
		beacon_body(r, b, &body);

	/* everything after Content-Length, which may change with --size */
	sb_printf(&tail, "%s: %s\r\n", hn(b, "User-Agent", "user-agent"), b->ua->ua);
	if (b->dnt)
		sb_printf(&tail, "%s: 1\r\n", hn(b, "DNT", "dnt"));
	if (b->gpc)
		sb_printf(&tail, "%s: 1\r\n", hn(b, "Sec-GPC", "sec-gpc"));
	sb_printf(&tail, "sec-ch-ua: \"Chromium\";v=\"156\", \"Not)A;Brand\";v=\"24\", "
		  "\"Google Chrome\";v=\"156\"\r\n");
	sb_printf(&tail, "sec-ch-ua-platform: %s\r\n", b->ua->platform);
	if (!get)
		sb_printf(&tail, "%s: text/plain;charset=UTF-8\r\n",
			  hn(b, "Content-Type", "content-type"));
	sb_printf(&tail, "sec-ch-ua-mobile: %s\r\n", b->ua->mobile);
	sb_printf(&tail, "%s: */*\r\n", hn(b, "Accept", "accept"));
	sb_printf(&tail, "%s: https://%s\r\n", hn(b, "Origin", "origin"), b->app->origin);
	sb_printf(&tail, "%s: %s\r\n%s: no-cors\r\n%s: empty\r\n",
		  hn(b, "Sec-Fetch-Site", "sec-fetch-site"),
		  b->agentless ? "cross-site" : "same-origin",
		  hn(b, "Sec-Fetch-Mode", "sec-fetch-mode"),
		  hn(b, "Sec-Fetch-Dest", "sec-fetch-dest"));
	sb_printf(&tail, "%s: https://%s/\r\n", hn(b, "Referer", "referer"), b->app->origin);
	sb_printf(&tail, "%s: gzip, deflate, br, zstd\r\n",
		  hn(b, "Accept-Encoding", "accept-encoding"));
	sb_printf(&tail, "%s: en-US,en;q=0.9\r\n", hn(b, "Accept-Language", "accept-language"));
	cookie_header(r, b, &tail);
	proxy_headers(b, &tail, &addrs);
	sb_puts(&tail, "\r\n");

	/*
	 * --size: pad the body so that the whole request is one frame of
	 * exactly `size` bytes: find the body length L with
	 * fixed + digits(L) + L == size (Content-Length's digits count too).
	 */
	if (g->size && !get) {
		size_t fixed, want = 0;

		sb_reset(&head);
		sb_printf(&head, "%s: %s\r\n%s: keep-alive\r\n%s: \r\n", hn(b, "Host", "host"),
			  host, hn(b, "Connection", "connection"),
			  hn(b, "Content-Length", "content-length"));
		fixed = frame_hdr + rl.len + head.len + tail.len;
		for (size_t d = 1; d <= 5; d++) {
			size_t lo = d == 1 ? 0 : 1, hi = 9;

			for (size_t k = 1; k < d; k++) {
				lo *= 10;
				hi = hi * 10 + 9;
			}
			if (g->size > fixed + d && g->size - fixed - d >= lo &&
			    g->size - fixed - d <= hi) {
				want = g->size - fixed - d;
				break;
			}
		}
		if (want >= body.len + 5) {
			sb_puts(&body, "$pad=");
			while (body.len < want)
				sb_add(&body, "x", 1);
		}
	}
	sb_reset(&head);
	sb_printf(&head, "%s: %s\r\n%s: keep-alive\r\n", hn(b, "Host", "host"), host,
		  hn(b, "Connection", "connection"));
	if (!get)
		sb_printf(&head, "%s: %zu\r\n", hn(b, "Content-Length", "content-length"),
			  body.len);

	sb_reset(&bo->text);
	sb_add(&bo->text, rl.p, rl.len);
	sb_add(&bo->text, head.p, head.len);
	sb_add(&bo->text, tail.p, tail.len);
	if (body.len)
		sb_add(&bo->text, body.p, body.len);
	bo->get = get;
	bo->body_len = body.len;

	sb_printf(&fields, "kind=beacon\tfam=%d\tmethod=%s\tdnt=%d\tgpc=%d\tconsent=%d"
		  "\tdisabled=%d\trxvisitor=%s\tdtpc=%s\tvi=%s\tapp=%s\taddrs=%s\turi=%s",
		  c->fam, get ? "GET" : "POST", b->dnt, b->gpc, b->consent, b->disabled,
		  b->rxvisitor, b->dtpc_rand, b->vi, b->app->id, addrs.p, uri.p);
	bo->fields = fields.p;
	sb_free(&body);
	sb_free(&head);
	sb_free(&uri);
	sb_free(&tail);
	sb_free(&addrs);
	sb_free(&rl);
}

static void http_date(uint64_t t_s, char *buf, size_t n)
{
	time_t t = (time_t)t_s;
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, n, "%a, %d %b %Y %H:%M:%S GMT", &tm);
}

static void response_204(const struct browser *b, uint64_t t_s, struct sbuf *out)
{
	char date[64];

	http_date(t_s, date, sizeof(date));
	sb_printf(out, "HTTP/1.1 204 No Content\r\ndate: %s\r\n"
		  "access-control-allow-origin: https://%s\r\n"
		  "access-control-allow-credentials: true\r\ntiming-allow-origin: *\r\n"
		  "cache-control: no-store\r\n\r\n", date, b->app->origin);
}

static void count_beacon(struct gen *g, const struct browser *b, const struct conn *c,
			 const struct beacon_out *bo, uint32_t segs)
{
	g->st.beacons++;
	g->st.beacons_v6 += c->fam == 6;
	g->st.beacons_get += bo->get;
	g->st.beacons_multiseg += segs > 1;
	g->st.beacons_dnt += b->dnt;
	g->st.beacons_gpc += b->gpc;
	g->st.beacons_no_consent += !b->consent;
	g->st.beacons_disabled += b->disabled;
	g->st.beacons_upstream_xff += b->xs == XS_UPSTREAM;
	g->st.beacons_forwarded += b->xs == XS_FWD || b->xs == XS_FWD_XFF;
}

static void send_beacon(struct gen *g, struct rng *r, struct flow *f, struct conn *c,
			const struct browser *b, unsigned long flow_id)
{
	struct beacon_out bo = { 0 };
	struct sbuf resp = { 0 }, fields = { 0 };
	uint32_t segs;
	int req;

	build_beacon(g, r, c, b, &bo);
	/* frames and segments are filled in when written */
	req = flow_add_req(f, NULL);
	segs = tcp_data(g, f, c, true, bo.text.p, bo.text.len, req);
	sb_printf(&fields, "sport=%u\tsegs=%u\t%s", c->cport, segs, bo.fields);
	f->rq[req].fields = fields.p;
	count_beacon(g, b, c, &bo, segs);
	if (g->size && bo.text.len + 14 + (c->fam == 4 ? 20 : 40) + 32 > g->size) {
		uint64_t fl = bo.text.len + 14 + (c->fam == 4 ? 20 : 40) + 32;

		if (!g->st.padded_min || fl < g->st.padded_min)
			g->st.padded_min = fl;
		if (fl > g->st.padded_max)
			g->st.padded_max = fl;
	}
	response_204(b, BASE_EPOCH + flow_id / 100, &resp);
	tcp_data(g, f, c, false, resp.p, resp.len, -1);
	if (chance(r, 300))
		tcp_seg(g, f, c, true, TH_ACK, NULL, 0, -1);
	free(bo.fields);
	sb_free(&bo.text);
	sb_free(&resp);
}

/* A browser's connection with 1 (70 %) or 2-4 beacons, or --keepalive N. */
static void gen_beacon_conn(struct gen *g, struct rng *r, struct flow *f, int fam)
{
	struct browser b;
	struct conn c;
	unsigned n;

	make_browser(g, r, fam, &b);
	conn_init(g, r, &c, &b.l3, client_port(g, f->id), 80);
	if (g->size && g->size > STD_FRAME)
		c.mss = g->size - 14 - (fam == 4 ? 20 : 40) - 32;
	/* --keepalive draws nothing; without it the draw is as it always was */
	if (g->keepalive)
		n = g->keepalive;
	else
		n = chance(r, 300) ? rrange(r, 2, 4) : 1;
	g->st.beacon_conns++;
	g->st.keepalive_conns += n > 1;
	{
		struct sbuf fl = { 0 };

		sb_printf(&fl, "proto=tcp\tdport=80\tkind=beacon\tsrc=%s\tsport=%u\trequests=%u",
			  b.l3.txt, c.cport, n);
		f->fields = fl.p;
	}
	tcp_open(g, f, &c);
	for (unsigned i = 0; i < n; i++)
		send_beacon(g, r, f, &c, &b, f->id);
	tcp_close(g, f, &c);
	browser_free(&b);
}

/*
 * One HAProxy backend connection (http-reuse): beacons of 2-4 different
 * browsers one after another, from the proxy's own address. All header
 * names lowercase (HTX).
 */
static void gen_shared_conn(struct gen *g, struct rng *r, struct flow *f, int fam)
{
	struct addr proxy = fam == 4 ? g->proxy4 : g->proxy6;
	struct conn c;
	unsigned n = rrange(r, 2, 4);

	conn_init(g, r, &c, &proxy, client_port(g, f->id), 80);
	if (g->size && g->size > STD_FRAME)
		c.mss = g->size - 14 - (fam == 4 ? 20 : 40) - 32;
	g->st.beacon_conns++;
	g->st.shared_conns++;
	{
		struct sbuf fl = { 0 };

		sb_printf(&fl, "proto=tcp\tdport=80\tkind=beacon-shared\tsrc=%s\tsport=%u"
			  "\trequests=%u", proxy.txt, c.cport, n);
		f->fields = fl.p;
	}
	tcp_open(g, f, &c);
	for (unsigned i = 0; i < n; i++) {
		struct browser b;

		make_browser(g, r, rnd(r, 100) < g->ipv6_pct ? 6 : 4, &b);
		b.lower = true;
		if (b.xs == XS_UPSTREAM)
			b.xs = XS_XFF;
		send_beacon(g, r, f, &c, &b, f->id);
		browser_free(&b);
	}
	tcp_close(g, f, &c);
}

/* ---- non-beacon traffic ------------------------------------------------------- */

/* HTTP on port 80 that is not a beacon: pages, assets, API, near misses. */
static void gen_http_conn(struct gen *g, struct rng *r, struct flow *f, int fam)
{
	static const char *const paths[] = {
		"GET /index.html", "GET /index.html", "GET /", "GET /static/app.js",
		"GET /favicon.ico", "POST /api/cart", "GET /rb_assets/logo.png",
		"GET /static/rb.js", "GET /bfcache/index.html", "GET /bf/a/b", "POST /collect",
		"GET /myapp/xrb_bf12345",
	};
	struct browser b;
	struct conn c;
	unsigned n = chance(r, 400) ? rrange(r, 2, 3) : 1;

	make_browser(g, r, fam, &b);
	conn_init(g, r, &c, &b.l3, client_port(g, f->id), 80);
	g->st.http_conns++;
	{
		struct sbuf fl = { 0 };

		sb_printf(&fl, "proto=tcp\tdport=80\tkind=http\tsrc=%s\tsport=%u\trequests=%u",
			  b.l3.txt, c.cport, n);
		f->fields = fl.p;
	}
	tcp_open(g, f, &c);
	for (unsigned i = 0; i < n; i++) {
		const char *ml = paths[rnd(r, sizeof(paths) / sizeof(paths[0]))];
		bool post = ml[0] == 'P';
		struct sbuf t = { 0 }, addrs = { 0 }, resp = { 0 }, fields = { 0 }, body = { 0 };
		char date[64];
		int req;
		uint32_t segs;

		if (post) {
			unsigned item = rnd(r, 100000), qty = rrange(r, 1, 9);

			sb_printf(&body, "{\"item\":%u,\"qty\":%u}", item, qty);
		}
		sb_printf(&t, "%s HTTP/1.1\r\n%s: %s\r\n%s: keep-alive\r\n", ml,
			  hn(&b, "Host", "host"), b.app->origin, hn(&b, "Connection", "connection"));
		if (post)
			sb_printf(&t, "%s: %zu\r\n", hn(&b, "Content-Length", "content-length"),
				  body.len);
		sb_printf(&t, "%s: %s\r\n", hn(&b, "User-Agent", "user-agent"), b.ua->ua);
		if (b.dnt)
			sb_printf(&t, "%s: 1\r\n", hn(&b, "DNT", "dnt"));
		if (post)
			sb_printf(&t, "%s: application/json\r\n", hn(&b, "Content-Type", "content-type"));
		sb_printf(&t, "%s: %s\r\n", hn(&b, "Accept", "accept"),
			  post ? "*/*" : "text/html,application/xhtml+xml,*/*;q=0.8");
		sb_printf(&t, "%s: gzip, deflate, br, zstd\r\n%s: en-US,en;q=0.9\r\n",
			  hn(&b, "Accept-Encoding", "accept-encoding"),
			  hn(&b, "Accept-Language", "accept-language"));
		cookie_header(r, &b, &t);
		proxy_headers(&b, &t, &addrs);
		sb_puts(&t, "\r\n");
		sb_add(&t, body.p ? body.p : "", body.len);

		req = flow_add_req(f, NULL);
		segs = tcp_data(g, f, &c, true, t.p, t.len, req);
		sb_printf(&fields, "sport=%u\tsegs=%u\tkind=other\tfam=%d\tmethod=%s\tdnt=%d\tgpc=%d"
			  "\tconsent=%d\tdisabled=%d\trxvisitor=%s\tdtpc=%s\tvi=-\tapp=-\taddrs=%s"
			  "\turi=%s", c.cport, segs, fam, post ? "POST" : "GET", b.dnt, b.gpc,
			  b.consent, b.disabled, b.rxvisitor, b.dtpc_rand, addrs.p, strchr(ml, ' ') + 1);
		f->rq[req].fields = fields.p;
		g->st.http_other++;

		http_date(BASE_EPOCH + f->id / 100, date, sizeof(date));
		{
			unsigned blen = rrange(r, 200, 2500);
			char *pg = malloc(blen + 1);

			if (!pg)
				die("out of memory");
			rand_str(r, pg, blen, LOWER_ALNUM);
			memcpy(pg, "<!doctype html>", 15);
			sb_printf(&resp, "HTTP/1.1 200 OK\r\ndate: %s\r\ncontent-type: %s\r\n"
				  "content-length: %u\r\ncache-control: max-age=60\r\n\r\n%s",
				  date, post ? "application/json" : "text/html", blen, pg);
			free(pg);
		}
		tcp_data(g, f, &c, false, resp.p, resp.len, -1);
		tcp_seg(g, f, &c, true, TH_ACK, NULL, 0, -1);
		sb_free(&t);
		sb_free(&addrs);
		sb_free(&resp);
		sb_free(&body);
	}
	tcp_close(g, f, &c);
	browser_free(&b);
}

/* TLS-looking bytes to port 443: a record header, then random bytes. */
static void gen_tls_flow(struct gen *g, struct rng *r, struct flow *f, int fam)
{
	struct addr a;
	struct conn c;
	size_t n = rrange(r, 250, 600), m = rrange(r, 1200, 4000);
	uint8_t *buf = malloc(m);

	if (!buf)
		die("out of memory");
	addr_client(r, fam, &a);
	conn_init(g, r, &c, &a, client_port(g, f->id), 443);
	g->st.tls_flows++;
	{
		struct sbuf fl = { 0 };

		sb_printf(&fl, "proto=tcp\tdport=443\tkind=tls\tsrc=%s\tsport=%u\trequests=0",
			  a.txt, c.cport);
		f->fields = fl.p;
	}
	tcp_open(g, f, &c);
	for (size_t i = 0; i < m; i++)
		buf[i] = (uint8_t)rng_next(r);
	buf[0] = 0x16; buf[1] = 0x03; buf[2] = 0x01;
	put16(buf + 3, (uint32_t)(n - 5));
	tcp_data(g, f, &c, true, (const char *)buf, n, -1);
	buf[0] = 0x16; buf[1] = 0x03; buf[2] = 0x03;
	put16(buf + 3, (uint32_t)(m - 5));
	tcp_data(g, f, &c, false, (const char *)buf, m, -1);
	tcp_seg(g, f, &c, true, TH_ACK, NULL, 0, -1);
	for (size_t i = 0; i < n; i++)
		buf[i] = (uint8_t)rng_next(r);
	buf[0] = 0x17; buf[1] = 0x03; buf[2] = 0x03;
	put16(buf + 3, (uint32_t)(n - 5));
	tcp_data(g, f, &c, true, (const char *)buf, n, -1);
	tcp_close(g, f, &c);
	free(buf);
}

static size_t dns_name(uint8_t *p, const char *name)
{
	size_t off = 0;

	while (*name) {
		const char *dot = strchr(name, '.');
		size_t l = dot ? (size_t)(dot - name) : strlen(name);

		p[off++] = (uint8_t)l;
		memcpy(p + off, name, l);
		off += l;
		name += l + (dot ? 1 : 0);
	}
	p[off++] = 0;
	return off;
}

static void udp_send(struct gen *g, struct flow *f, struct conn *c, bool from_client,
		     const uint8_t *pl, size_t n)
{
	uint8_t h[8] = { 0 };
	uint32_t len = 0;
	uint8_t *fr;

	if (!from_client && !g->server_side)
		return;
	put16(h, from_client ? c->cport : c->sport);
	put16(h + 2, from_client ? c->sport : c->cport);
	fr = build_frame(c, from_client, IPPROTO_UDP, h, 8, pl, n, &len);
	flow_add_pkt(f, fr, len, -1);
	if (from_client)
		c->cid++;
	else
		c->sid++;
}

/* A DNS-like query for the collector's name, and its answer. */
static void gen_dns_flow(struct gen *g, struct rng *r, struct flow *f, int fam)
{
	static const char *const names[] = { "www.shop.example", "bf.rum.example.net",
					     "portal.example.org", "news.example.net" };
	const char *name = names[rnd(r, 4)];
	struct addr a;
	struct conn c;
	uint8_t q[300];
	size_t n = 12;
	bool aaaa = chance(r, 400);
	uint16_t id = (uint16_t)rng_next(r);

	addr_client(r, fam, &a);
	conn_init(g, r, &c, &a, client_port(g, f->id), 53);
	c.srv = fam == 4 ? g->dns4 : g->dns6;
	g->st.dns_flows++;
	{
		struct sbuf fl = { 0 };

		sb_printf(&fl, "proto=udp\tdport=53\tkind=dns\tsrc=%s\tsport=%u\trequests=0",
			  a.txt, c.cport);
		f->fields = fl.p;
	}
	memset(q, 0, sizeof(q));
	put16(q, id);
	put16(q + 2, 0x0100);    /* RD */
	put16(q + 4, 1);
	n += dns_name(q + n, name);
	put16(q + n, aaaa ? 28 : 1);
	put16(q + n + 2, 1);
	n += 4;
	udp_send(g, f, &c, true, q, n);
	/* answer: flags, one answer pointing at the question name */
	put16(q + 2, 0x8180);
	put16(q + 6, 1);
	q[n++] = 0xc0; q[n++] = 12;
	put16(q + n, aaaa ? 28 : 1); n += 2;
	put16(q + n, 1); n += 2;
	put32(q + n, 300); n += 4;
	if (aaaa) {
		put16(q + n, 16); n += 2;
		memcpy(q + n, g->collector6.b, 16); n += 16;
	} else {
		put16(q + n, 4); n += 2;
		memcpy(q + n, g->collector4.b, 4); n += 4;
	}
	udp_send(g, f, &c, false, q, n);
}

/* ---- flows, interleaving and output ----------------------------------------- */

static struct flow *make_flow(struct gen *g, unsigned long id)
{
	struct flow *f = calloc(1, sizeof(*f));
	struct rng r;
	int fam;
	uint32_t x;

	if (!f)
		die("out of memory");
	f->id = id;
	rng_seed(&r, g->seed, (uint64_t)id + 1);
	fam = rnd(&r, 100) < g->ipv6_pct ? 6 : 4;
	x = rnd(&r, 1000);
	switch (g->mix) {
	case MIX_REALISTIC:
		if (x < 60)
			gen_dns_flow(g, &r, f, fam);
		else if (x < 120)
			gen_tls_flow(g, &r, f, fam);
		else if (x < 220)
			gen_http_conn(g, &r, f, fam);
		else if (x < 282)
			gen_shared_conn(g, &r, f, fam);
		else
			gen_beacon_conn(g, &r, f, fam);
		break;
	case MIX_BEACONS:
		if (x < 80)
			gen_shared_conn(g, &r, f, fam);
		else
			gen_beacon_conn(g, &r, f, fam);
		break;
	case MIX_NONBEACON:
		if (x < 300)
			gen_dns_flow(g, &r, f, fam);
		else if (x < 600)
			gen_tls_flow(g, &r, f, fam);
		else
			gen_http_conn(g, &r, f, fam);
		break;
	}
	return f;
}

static void write_manifest(struct gen *g, const struct flow *f)
{
	if (!g->manifest)
		return;
	fprintf(g->manifest, "flow\tflow=%lu\t%s\tframes=%" PRIu64 "-%" PRIu64 "\n", f->id,
		f->fields ? f->fields : "", f->first, f->last);
	for (size_t i = 0; i < f->nrq; i++)
		fprintf(g->manifest, "req\tflow=%lu\t%s\tframes=%" PRIu64 "-%" PRIu64 "\n",
			f->id, f->rq[i].fields ? f->rq[i].fields : "", f->rq[i].first,
			f->rq[i].last);
}

static void emit(struct gen *g, struct rng *sched, struct flow *f)
{
	struct pkt *p = &f->pk[f->next++];
	struct pcap_pkthdr h;

	g->t_us += rrange(sched, 3, 400);
	if (chance(sched, 5))
		g->t_us += rrange(sched, 1000, 50000);
	h.ts.tv_sec = (time_t)(BASE_EPOCH + g->t_us / 1000000);
	h.ts.tv_usec = (suseconds_t)(g->t_us % 1000000);
	h.caplen = h.len = p->len;
	pcap_dump((u_char *)g->dump, &h, p->data);
	g->st.frames++;
	g->st.bytes += p->len;
	if (!f->first)
		f->first = g->st.frames;
	f->last = g->st.frames;
	if (p->req >= 0) {
		struct req *q = &f->rq[p->req];

		if (!q->first)
			q->first = g->st.frames;
		q->last = g->st.frames;
	}
	free(p->data);
	p->data = NULL;
}

static void run(struct gen *g)
{
	struct flow *active[WINDOW];
	size_t nactive = 0;
	unsigned long next = 0;
	struct rng sched;

	rng_seed(&sched, g->seed, 0);
	while (next < g->nflows || nactive) {
		while (nactive < WINDOW && next < g->nflows) {
			struct flow *f = make_flow(g, next++);

			if (f->npk == 0) {
				flow_free(f);
				continue;
			}
			active[nactive++] = f;
		}
		if (!nactive)
			break;
		size_t i = rnd(&sched, (uint32_t)nactive);
		struct flow *f = active[i];

		emit(g, &sched, f);
		if (f->next == f->npk) {
			write_manifest(g, f);
			flow_free(f);
			active[i] = active[--nactive];
		}
	}
}

/* ---- command line ------------------------------------------------------------- */

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: " PROG " [-n FLOWS] [-s SEED] [-6 PERCENT_IPV6] [--size BYTES]\n"
		"                   [--mix realistic|beacons|nonbeacon] [--keepalive N]\n"
		"                   [--dnt PERCENT] [--manifest FILE] [-q] OUT.pcap\n"
		"\n"
		"Writes synthetic RUM beacon traffic to OUT.pcap (Ethernet, microsecond\n"
		"pcap; - for stdout): complete TCP conversations to a collector on port 80,\n"
		"IPv4 and IPv6, with correct sequence numbers and checksums. Addresses are\n"
		"documentation ranges only (clients 198.18.0.0/15 and 2001:db8::/32,\n"
		"collector 198.18.0.10 and 2001:db8::10). The same arguments always give\n"
		"the same bytes.\n"
		"\n"
		"Options:\n"
		"  -n, --flows FLOWS     flows (TCP connections or DNS exchanges), 1-%lu\n"
		"                        (default 100)\n"
		"  -s, --seed SEED       random seed, 0-2^64-1 (default 1)\n"
		"  -6, --ipv6 PERCENT    share of flows over IPv6, 0-100 (default 25)\n"
		"      --size BYTES      pad beacon bodies so that each beacon request is one\n"
		"                        frame of about BYTES bytes, %d-%d; above %d the\n"
		"                        connection uses a jumbo MSS; all beacons are POSTs,\n"
		"                        no large cookies (default: natural sizes). Note:\n"
		"                        beaconveil pcap leaves frames larger than an XDP\n"
		"                        buffer (about 3.5 KB here) unprocessed\n"
		"      --mix MIX         realistic (default): beacons (78%% of flows), other\n"
		"                        HTTP, DNS and TLS-like flows, both directions;\n"
		"                        beacons: beacon connections only, client to server;\n"
		"                        nonbeacon: no beacons, client to server\n"
		"      --keepalive N     every browser's beacon connection carries exactly N\n"
		"                        beacons one after another, 1-%d (default: 1, or\n"
		"                        2-4 on 30%% of them); the shared-proxy connections\n"
		"                        keep their 2-4 beacons of different browsers\n"
		"      --dnt PERCENT     share of browsers that send DNT: 1, 0-100, drawn per\n"
		"                        browser: beacon connections, the browsers behind\n"
		"                        the shared proxy and other HTTP (default 15)\n"
		"      --manifest FILE   write one line per flow and per HTTP request: kind,\n"
		"                        privacy signals, identifiers, every client address\n"
		"                        written, input frames (tab-separated key=value)\n"
		"  -q, --quiet           do not print the summary\n"
		"  -h, --help            this help\n"
		"\n"
		"Prints a summary as \"name value\" lines (on stderr when OUT is -).\n"
		"Exit status: 0 ok, 1 runtime error, 2 usage error.\n",
		MAX_FLOWS, MIN_SIZE, MAX_SIZE, STD_FRAME, MAX_KEEPALIVE);
}

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, PROG ": ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry '" PROG " --help'.\n");
	return EXIT_USAGE;
}

/* Unsigned decimal (or 0x hex) in [min, max]; no sign, no trailing garbage. */
static bool parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (!*s || *s == '-' || *s == '+' || *s == ' ')
		return false;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || *end || v < min || v > max)
		return false;
	*out = v;
	return true;
}

static void print_summary(const struct gen *g, FILE *o, const char *path)
{
	const struct stats *s = &g->st;

	fprintf(o, "# " PROG " %s: seed %" PRIu64 ", mix %s, %lu flows, %u%% IPv6",
		path, g->seed, mix_names[g->mix], g->nflows, g->ipv6_pct);
	if (g->size)
		fprintf(o, ", size %u", g->size);
	if (g->keepalive)
		fprintf(o, ", keepalive %u", g->keepalive);
	if (g->dnt_pct >= 0)
		fprintf(o, ", DNT %d%%", g->dnt_pct);
	fprintf(o, "\n");
	fprintf(o, "frames %" PRIu64 "\n", s->frames);
	fprintf(o, "bytes %" PRIu64 "\n", s->bytes);
	fprintf(o, "flows %lu\n", g->nflows);
	fprintf(o, "beacon_conns %" PRIu64 "\n", s->beacon_conns);
	fprintf(o, "shared_conns %" PRIu64 "\n", s->shared_conns);
	fprintf(o, "keepalive_conns %" PRIu64 "\n", s->keepalive_conns);
	fprintf(o, "http_conns %" PRIu64 "\n", s->http_conns);
	fprintf(o, "tls_flows %" PRIu64 "\n", s->tls_flows);
	fprintf(o, "dns_flows %" PRIu64 "\n", s->dns_flows);
	fprintf(o, "beacon_requests %" PRIu64 "\n", s->beacons);
	fprintf(o, "beacon_requests_ipv6 %" PRIu64 "\n", s->beacons_v6);
	fprintf(o, "beacon_requests_get %" PRIu64 "\n", s->beacons_get);
	fprintf(o, "beacon_requests_multiseg %" PRIu64 "\n", s->beacons_multiseg);
	fprintf(o, "beacons_dnt %" PRIu64 "\n", s->beacons_dnt);
	fprintf(o, "beacons_gpc %" PRIu64 "\n", s->beacons_gpc);
	fprintf(o, "beacons_no_consent %" PRIu64 "\n", s->beacons_no_consent);
	fprintf(o, "beacons_disabled %" PRIu64 "\n", s->beacons_disabled);
	fprintf(o, "beacons_upstream_xff %" PRIu64 "\n", s->beacons_upstream_xff);
	fprintf(o, "beacons_forwarded %" PRIu64 "\n", s->beacons_forwarded);
	fprintf(o, "other_http_requests %" PRIu64 "\n", s->http_other);
	fprintf(o, "http_requests %" PRIu64 "\n", s->beacons + s->http_other);
}

int main(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "flows", required_argument, NULL, 'n' },
		{ "seed", required_argument, NULL, 's' },
		{ "ipv6", required_argument, NULL, '6' },
		{ "size", required_argument, NULL, 'S' },
		{ "mix", required_argument, NULL, 'm' },
		{ "keepalive", required_argument, NULL, 'K' },
		{ "dnt", required_argument, NULL, 'D' },
		{ "manifest", required_argument, NULL, 'M' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct gen g = { .seed = 1, .nflows = 100, .ipv6_pct = 25, .mix = MIX_REALISTIC,
			 .dnt_pct = -1 };
	const char *manifest_path = NULL, *out_path;
	char *tmp_path = NULL, *mtmp_path = NULL;
	bool quiet = false, to_stdout;
	pcap_t *dead;
	uint64_t v;
	int opt;

	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":n:s:6:m:qh", lopts, NULL)) != -1) {
		switch (opt) {
		case 'n':
			if (!parse_u64(optarg, 1, MAX_FLOWS, &v))
				return usage_error("-n: '%s' is not a number of flows (1-%lu)",
						   optarg, MAX_FLOWS);
			g.nflows = (unsigned long)v;
			break;
		case 's':
			if (!parse_u64(optarg, 0, UINT64_MAX, &v))
				return usage_error("-s: '%s' is not a seed (0 to 2^64-1)", optarg);
			g.seed = v;
			break;
		case '6':
			if (!parse_u64(optarg, 0, 100, &v))
				return usage_error("-6: '%s' is not a percentage (0-100)", optarg);
			g.ipv6_pct = (unsigned)v;
			break;
		case 'S':
			if (!parse_u64(optarg, MIN_SIZE, MAX_SIZE, &v))
				return usage_error("--size: '%s' is not a frame size in bytes (%d-%d)",
						   optarg, MIN_SIZE, MAX_SIZE);
			g.size = (unsigned)v;
			break;
		case 'm': {
			bool ok = false;

			for (int i = 0; i < 3; i++)
				if (!strcmp(optarg, mix_names[i])) {
					g.mix = (enum mix)i;
					ok = true;
				}
			if (!ok)
				return usage_error("--mix: unknown mix '%s' (realistic, beacons, "
						   "nonbeacon)", optarg);
			break;
		}
		case 'K':
			if (!parse_u64(optarg, 1, MAX_KEEPALIVE, &v))
				return usage_error("--keepalive: '%s' is not a number of beacons per "
						   "connection (1-%d)", optarg, MAX_KEEPALIVE);
			g.keepalive = (unsigned)v;
			break;
		case 'D':
			if (!parse_u64(optarg, 0, 100, &v))
				return usage_error("--dnt: '%s' is not a percentage (0-100)", optarg);
			g.dnt_pct = (int)v;
			break;
		case 'M':
			if (!*optarg)
				return usage_error("--manifest: empty file name");
			manifest_path = optarg;
			break;
		case 'q':
			quiet = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case ':':
			if (optopt)
				return usage_error("option -%c needs a value", optopt);
			return usage_error("option %s needs a value", argv[optind - 1]);
		default:
			if (optopt)
				return usage_error("unknown option -%c", optopt);
			return usage_error("unknown option %s", argv[optind - 1]);
		}
	}
	if (argc - optind != 1)
		return usage_error(argc - optind == 0 ? "expects OUT.pcap"
						      : "too many arguments (expects one OUT.pcap)");
	out_path = argv[optind];
	if (!*out_path)
		return usage_error("OUT.pcap must not be empty");
	if (g.size && g.mix == MIX_NONBEACON)
		fprintf(stderr, PROG ": note: --size pads beacons; the nonbeacon mix has none\n");
	if (g.keepalive && g.mix == MIX_NONBEACON)
		fprintf(stderr, PROG ": note: --keepalive sets beacons per connection; the "
			"nonbeacon mix has none\n");
	to_stdout = !strcmp(out_path, "-");

	g.server_side = g.mix == MIX_REALISTIC;
	addr_fixed(&g.collector4, 4, "198.18.0.10");
	addr_fixed(&g.collector6, 6, "2001:db8::10");
	addr_fixed(&g.dns4, 4, "198.18.0.53");
	addr_fixed(&g.dns6, 6, "2001:db8::53");
	addr_fixed(&g.proxy4, 4, "198.18.0.3");
	addr_fixed(&g.proxy6, 6, "2001:db8::3");
	{
		struct rng r;

		rng_seed(&r, g.seed, UINT64_MAX);
		g.port_base = (uint16_t)rnd(&r, 28232);
	}

	dead = pcap_open_dead(DLT_EN10MB, SNAPLEN);
	if (!dead)
		die("pcap_open_dead failed");
	if (to_stdout) {
		g.dump = pcap_dump_open(dead, "-");
	} else {
		if (asprintf(&tmp_path, "%s.tmp", out_path) < 0)
			die("out of memory");
		g.dump = pcap_dump_open(dead, tmp_path);
	}
	if (!g.dump)
		die("cannot write %s: %s", to_stdout ? "stdout" : tmp_path, pcap_geterr(dead));
	if (manifest_path) {
		if (asprintf(&mtmp_path, "%s.tmp", manifest_path) < 0)
			die("out of memory");
		g.manifest = fopen(mtmp_path, "w");
		if (!g.manifest) {
			int e = errno;

			pcap_dump_close(g.dump);
			if (tmp_path)
				unlink(tmp_path);
			die("cannot write manifest %s: %s", mtmp_path, strerror(e));
		}
		fprintf(g.manifest, "# " PROG " manifest: seed=%" PRIu64 " mix=%s flows=%lu ipv6=%u"
			" size=%u", g.seed, mix_names[g.mix], g.nflows, g.ipv6_pct, g.size);
		if (g.keepalive)
			fprintf(g.manifest, " keepalive=%u", g.keepalive);
		if (g.dnt_pct >= 0)
			fprintf(g.manifest, " dnt=%d", g.dnt_pct);
		fprintf(g.manifest, "\n# flow\tflow=N\tproto=..\tdport=..\tkind=beacon|beacon-shared|http|"
			"tls|dns\tsrc=L3 client\tsport=..\trequests=N\tframes=FIRST-LAST\n"
			"# req\tflow=N\tsport=..\tsegs=N\tkind=beacon|other\tfam=4|6\tmethod=..\tdnt=0|1"
			"\tgpc=0|1\tconsent=0|1\tdisabled=0|1\trxvisitor=..\tdtpc=..\tvi=..\tapp=..\t"
			"addrs=A,B,..\turi=..\tframes=FIRST-LAST\n");
	}

	run(&g);

	if (pcap_dump_flush(g.dump) || ferror(pcap_dump_file(g.dump))) {
		int e = errno;

		pcap_dump_close(g.dump);
		if (tmp_path)
			unlink(tmp_path);
		die("writing %s: %s", to_stdout ? "stdout" : tmp_path, strerror(e ? e : EIO));
	}
	pcap_dump_close(g.dump);
	pcap_close(dead);
	if (g.manifest) {
		if (fflush(g.manifest) || ferror(g.manifest) || fclose(g.manifest)) {
			int e = errno;

			if (tmp_path)
				unlink(tmp_path);
			unlink(mtmp_path);
			die("writing manifest %s: %s", mtmp_path, strerror(e ? e : EIO));
		}
		if (rename(mtmp_path, manifest_path))
			die("cannot rename %s to %s: %s", mtmp_path, manifest_path, strerror(errno));
	}
	if (tmp_path && rename(tmp_path, out_path)) {
		int e = errno;

		unlink(tmp_path);
		die("cannot rename %s to %s: %s", tmp_path, out_path, strerror(e));
	}
	if (g.size && g.st.padded_max)
		fprintf(stderr, PROG ": note: some beacons are larger than --size %u without "
			"padding (%" PRIu64 "-%" PRIu64 " bytes)\n", g.size, g.st.padded_min,
			g.st.padded_max);
	if (!quiet)
		print_summary(&g, to_stdout ? stderr : stdout, out_path);
	free(tmp_path);
	free(mtmp_path);
	return 0;
}
