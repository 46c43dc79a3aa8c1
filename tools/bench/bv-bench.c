/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * bv-bench: per-packet cost of the beaconveil XDP program under
 * BPF_PROG_TEST_RUN, as a ratio to an empty XDP program (bpf/empty.bpf.c)
 * measured in the same run. Part of `make bench` (tools/bench/bench.sh).
 *
 * Method. Every run is one BPF_PROG_TEST_RUN with repeat = 1 and a freshly
 * built frame: with repeat > 1 the kernel would rerun the program on the
 * buffer it already rewrote and the flow state would see the same segment
 * again (a retransmission). Time is the kernel's own per-program accounting
 * (BPF_ENABLE_STATS: run_time_ns / run_cnt of bpf_prog_info, read before
 * and after a batch of runs), which covers the program and nothing of the
 * syscall. Flow state is real: a header segment is a new request on a
 * keep-alive connection each run (TCP seq advanced by the payload length,
 * checksums correct), a continuation segment is the next slice of a huge
 * body. Each figure is the median of several repetitions; the empty
 * program is measured right before each case, and the ratio is the median
 * of the per-repetition ratios.
 *
 * Every batch is checked against the program's counters (requests,
 * decisions, drops, out-of-order, evicted flows, lost events), so a figure
 * is only printed if the program did what the case says it does.
 *
 * Output (-o DIR): DIR/dataplane.md (markdown tables), DIR/growth-NAME.dat (gnuplot
 * data of the growth series), DIR/verdicts.tsv (case, figure, verdict).
 *
 * Usage: bv-bench -o DIR [--quick] [--reps N] [--runs N] [--cpu N]
 *                 [--only item1,head,cookies,parts,paths,ports,flows]
 *        bv-bench --spin other|header|body|malformed [--seconds S] [--cpu N]
 *                 [--head FILE] (a loop of one case, for a profiler; --head:
 *                 the header case sends FILE's bytes, one segment, instead)
 * BV_BENCH_DEBUG=1 prints every repetition's figures on stderr.
 * Needs root (CAP_BPF, CAP_NET_ADMIN, CAP_SYS_ADMIN for BPF_ENABLE_STATS).
 */
#include <errno.h>
#include <getopt.h>
#include <sched.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>
#include <unistd.h>
#include <linux/bpf.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bv_abi.h"
#include "bv_flow.h"
#include "config.h"
#include "loader.h"
#include "pktbuild.h"
#include "beaconveil.skel.h"
#include "empty.skel.h"

#define FRAME_CAP 4096
#define MSS 1448           /* payload of one segment on a 1500-byte MTU with TCP timestamps */
#define TCP_OPTS 12        /* NOP NOP timestamp, as Linux and browsers send */
#define BUDGET_NS 660.0    /* 100 GbE, 1 KB frames, 8 cores: 8 / 12.1 Mpps */

static int g_reps = 7, g_runs = 20000, g_grow_reps = 5, g_grow_runs = 4000;
static bool g_quick;
static FILE *g_md, *g_verdicts;
static const char *g_dir = ".";

static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "bv-bench: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	exit(1);
}

/* ---- programs ------------------------------------------------------------- */

struct bvp {
	struct beaconveil_bpf *s;
	int prog, stats, flows;
	struct bv_map_fds fds;
	struct bv_config cfg;
	struct ring_buffer *rb;
};

static int rb_discard(void *ctx, void *data, size_t len)
{
	(void)ctx;
	(void)data;
	(void)len;
	return 0;
}

static void bvp_open(struct bvp *b, __u32 max_flows)
{
	struct bv_load_opts o = { .mode = BV_MODE_INLINE, .pin = false, .max_flows = max_flows };
	char err[4096];

	memset(b, 0, sizeof(*b));
	b->s = bv_open_and_load(&o, err, sizeof(err));
	if (!b->s)
		die("loading build/beaconveil.bpf.o: %s", err);
	b->prog = bpf_program__fd(b->s->progs.beaconveil_xdp);
	b->stats = bpf_map__fd(b->s->maps.bv_stats);
	b->flows = bpf_map__fd(b->s->maps.bv_flows);
	bv_map_fds_get(b->s, &b->fds);
	bv_config_defaults(&b->cfg);
	if (bv_config_apply(&b->cfg, &b->fds, err, sizeof(err)))
		die("config: %s", err);
	/* A daemon drains the event ring; so do we, or every event after the
	 * first megabyte would take the cheaper "ring full" path. */
	b->rb = ring_buffer__new(bpf_map__fd(b->s->maps.bv_events), rb_discard, NULL, NULL);
	if (!b->rb)
		die("ring buffer: %s", strerror(errno));
}

static void bvp_apply(struct bvp *b)
{
	char err[1024];

	if (bv_config_apply(&b->cfg, &b->fds, err, sizeof(err)))
		die("config: %s", err);
}

static void bvp_close(struct bvp *b)
{
	ring_buffer__free(b->rb);
	beaconveil_bpf__destroy(b->s);
	bv_config_free(&b->cfg);
	memset(b, 0, sizeof(*b));
}

static struct empty_bpf *g_empty;
static int g_empty_fd;

/* ---- one run and a timed batch ----------------------------------------- */

static int run1(int fd, const void *in, size_t len)
{
	LIBBPF_OPTS(bpf_test_run_opts, t, .data_in = in, .data_size_in = (__u32)len, .repeat = 1);

	if (bpf_prog_test_run_opts(fd, &t))
		die("BPF_PROG_TEST_RUN (%zu bytes): %s", len, strerror(errno));
	return (int)t.retval;
}

static void prog_stats(int fd, __u64 *ns, __u64 *cnt)
{
	struct bpf_prog_info info;
	__u32 len = sizeof(info);

	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		die("bpf_obj_get_info_by_fd: %s", strerror(errno));
	*ns = info.run_time_ns;
	*cnt = info.run_cnt;
}

/* A source of frames: writes the next one into buf, returns its length. */
struct gen {
	size_t (*next)(struct gen *g, uint8_t *buf);
	/* connection(s) */
	struct pkt_opts o;
	uint32_t seq;
	const char *payload;  /* one request (or body slice) */
	size_t plen;
	size_t off;           /* offset of the next segment within payload */
	size_t seg;           /* segment size (MSS) */
	/* random flows */
	uint32_t nflows, *seqs, rnd;
	char src[32];
	/* fixed frame */
	const uint8_t *frame;
	size_t flen;
};

/* The request (or body) stream of one connection, cut into segments. */
static size_t gen_stream(struct gen *g, uint8_t *buf)
{
	size_t n = g->plen - g->off, len;

	if (n > g->seg)
		n = g->seg;
	g->o.seq = g->seq;
	len = pkt_build_tcp(buf, FRAME_CAP, &g->o, g->payload + g->off, n);
	if (!len)
		die("pkt_build_tcp");
	g->seq += (uint32_t)n;
	g->off += n;
	if (g->off >= g->plen)
		g->off = 0;
	return len;
}

static uint32_t xorshift(uint32_t *s)
{
	uint32_t x = *s;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	return *s = x;
}

/* Flow i of the pre-filled table: client 198.18.(i>>8 & 0xff).(i & 0xff),
 * port 1024 + (i >> 16); server 198.19.0.10:80. */
static void flow_addr(uint32_t i, char *src, size_t cap, uint16_t *port)
{
	snprintf(src, cap, "198.18.%u.%u", (i >> 8) & 0xff, i & 0xff);
	*port = (uint16_t)(1024 + (i >> 16));
}

/* One whole request (single segment) on a random flow of the table. */
static size_t gen_random_flow(struct gen *g, uint8_t *buf)
{
	uint32_t i = xorshift(&g->rnd) % g->nflows;
	size_t len;

	flow_addr(i, g->src, sizeof(g->src), &g->o.sport);
	g->o.src = g->src;
	g->o.seq = g->seqs[i];
	len = pkt_build_tcp(buf, FRAME_CAP, &g->o, g->payload, g->plen);
	if (!len)
		die("pkt_build_tcp");
	g->seqs[i] += (uint32_t)g->plen;
	return len;
}

static size_t gen_fixed(struct gen *g, uint8_t *buf)
{
	memcpy(buf, g->frame, g->flen);
	return g->flen;
}

/*
 * runs frames from g through fd; ns per run from the kernel's accounting.
 * rb: event ring to drain (outside the timed program runs).
 */
static double time_batch(int fd, struct gen *g, int runs, struct ring_buffer *rb)
{
	static uint8_t buf[FRAME_CAP];
	__u64 ns0, c0, ns1, c1;

	prog_stats(fd, &ns0, &c0);
	for (int i = 0; i < runs; i++) {
		size_t len = g->next(g, buf);

		run1(fd, buf, len);
		if (rb && (i & 255) == 255)
			ring_buffer__consume(rb);
	}
	if (rb)
		ring_buffer__consume(rb);
	prog_stats(fd, &ns1, &c1);
	if (c1 - c0 != (__u64)runs)
		die("run_cnt moved by %llu for %d runs (is BPF_ENABLE_STATS on?)",
		    (unsigned long long)(c1 - c0), runs);
	return (double)(ns1 - ns0) / (double)runs;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	double *c = malloc(sizeof(*c) * (size_t)n), m;

	if (!c)
		die("out of memory");
	memcpy(c, v, sizeof(*c) * (size_t)n);
	qsort(c, (size_t)n, sizeof(*c), cmp_double);
	m = n % 2 ? c[n / 2] : (c[n / 2 - 1] + c[n / 2]) / 2;
	free(c);
	return m;
}

/* ---- frames ----------------------------------------------------------------- */

static const char *const CLIENT = "198.18.7.21";
static const char *const SERVER = "198.19.0.10";

static void opts_base(struct pkt_opts *o, uint16_t sport, uint16_t dport)
{
	memset(o, 0, sizeof(*o));
	o->family = 4;
	o->src = CLIENT;
	o->dst = SERVER;
	o->sport = sport;
	o->dport = dport;
	o->tcp_opts_len = TCP_OPTS;
	o->ttl = 64;
}

/* A 45-byte rxVisitor value: 13-digit ms timestamp + 32 characters. */
#define RXV "1700000000000Q7K2M9VBC4XD8RTLP3NWZ6HFJ5GSA0EYU1"
#define DTPC "2$523467940_565h12vMRCKNHPHUVAFPKFAHTCUMTRPBHJAKBHB-0e0"
#define DTCOOKIE "v_4_srv_2_sn_8A1F0C6B2E9D47A3B5C1D0E9F8A7B6C5_perc_100000_ol_0_mul_1_app-3Aea7c4b59f27d43eb_1"

/*
 * The realistic ~1 KB beacon head of a sendBeacon POST behind HAProxy:
 * Chromium's header order, DNT: 1, the Dynatrace cookies (dtCookie,
 * rxVisitor, dtPC, rxvt, dtSa), identifiers in the query, and the
 * x-forwarded-for HAProxy appends last. Content-Length 0: the head alone.
 */
/* Parts of the realistic head, to leave out one at a time (grow_parts). */
enum head_part {
	HP_QUERY = 1 << 0,  /* the Dynatrace query (else only app=) */
	HP_COOKIE = 1 << 1, /* the Cookie header */
	HP_XFF = 1 << 2,    /* x-forwarded-for */
	HP_DNT = 1 << 3,    /* DNT: 1 (so: anonymized, identifiers replaced) */
	HP_OTHER = 1 << 4,  /* the ordinary headers the scanner skips */
	HP_ALL = 0x1f,
};

static size_t head_parts(char *out, size_t cap, unsigned parts)
{
	int n = snprintf(out, cap, "POST /rb_bf28599qvx?%s HTTP/1.1\r\n"
		"Host: rum.shop.example\r\n"
		"Connection: keep-alive\r\n"
		"Content-Length: 0\r\n"
		"%s%s%s%s%s"
		"\r\n",
		(parts & HP_QUERY) ? "type=js3&sn=" DTCOOKIE "&svrid=2&flavor=post"
			"&vi=MRCKNHPHUVAFPKFAHTCUMTRPBHJAKBHB&modifiedSince=1700000000000"
			"&rf=https%3A%2F%2Fshop.example%2Fcart&bp=3&app=ea7c4b59f27d43eb"
			"&crc=2871626432&en=7hz1dn5q&end=1" : "app=ea7c4b59f27d43eb",
		(parts & HP_OTHER) ? "User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 "
			"(KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36\r\n" : "",
		(parts & HP_DNT) ? "DNT: 1\r\n" : "",
		(parts & HP_OTHER) ? "Content-Type: text/plain;charset=UTF-8\r\n"
			"Accept: */*\r\n"
			"Origin: https://shop.example\r\n"
			"Sec-Fetch-Site: same-site\r\n"
			"Sec-Fetch-Mode: no-cors\r\n"
			"Sec-Fetch-Dest: empty\r\n"
			"Referer: https://shop.example/cart?step=2\r\n"
			"Accept-Encoding: gzip, deflate, br\r\n"
			"Accept-Language: en-US,en;q=0.9,de;q=0.8\r\n" : "",
		(parts & HP_COOKIE) ? "Cookie: dtCookie=" DTCOOKIE "; rxVisitor=" RXV "; dtPC=" DTPC
			"; rxvt=1700001800000|1700000000000; dtSa=-; dtLatC=1\r\n" : "",
		(parts & HP_XFF) ? "x-forwarded-for: 198.19.77.23\r\n" : "");

	if (n < 0 || (size_t)n >= cap)
		die("head_parts: buffer");
	return (size_t)n;
}

static size_t head_realistic(char *out, size_t cap)
{
	return head_parts(out, cap, HP_ALL);
}

/* Generic header lines ("X-Pad-NN: ...") of exactly r bytes in total. */
static size_t pad_lines(char *out, size_t cap, size_t r)
{
	size_t w = 0;
	int k = 0;

	while (r > 0) {
		size_t n = r > 112 ? 100 : r, v;

		if (n < 13)
			die("pad_lines: %zu bytes cannot be filled", r);
		if (w + n >= cap)
			die("pad_lines: buffer");
		w += (size_t)snprintf(out + w, cap - w, "X-Pad-%02d: ", k++ % 100);
		for (v = 0; v < n - 12; v++)
			out[w++] = "abcdefghijklmnopqrstuvwxyz0123456789"[(v * 7 + (size_t)k) % 36];
		out[w++] = '\r';
		out[w++] = '\n';
		r -= n;
	}
	out[w] = 0;
	return w;
}

/*
 * A beacon head of exactly total bytes: the essentials (request line,
 * Host, Content-Length, DNT, Cookie, x-forwarded-for last) and, before
 * x-forwarded-for, generic headers the scanner only skips. The Cookie
 * header holds ncookies cookies: ncookies - 2 others first, then dtCookie
 * and rxVisitor (ncookies 1: rxVisitor alone).
 */
static size_t head_sized(char *out, size_t cap, size_t total, int ncookies)
{
	char ck[2048], pre[1024], pad[8192];
	size_t ckl = 0, fixed;
	int n;

	for (int i = 0; i < ncookies - 2; i++)
		ckl += (size_t)snprintf(ck + ckl, sizeof(ck) - ckl, "_ck%02d=%.*s; ", i, 14,
					"k3j5h7g9f1d2s4a6" + (i % 3));
	if (ncookies >= 2)
		ckl += (size_t)snprintf(ck + ckl, sizeof(ck) - ckl, "dtCookie=v_4_srv_2_sn_8A1F; ");
	snprintf(ck + ckl, sizeof(ck) - ckl, "rxVisitor=" RXV);
	n = snprintf(pre, sizeof(pre),
		     "POST /rb_bf28599qvx?type=js3&app=ea7c4b59f27d43eb HTTP/1.1\r\n"
		     "Host: rum.shop.example\r\n"
		     "Content-Length: 0\r\n"
		     "DNT: 1\r\n");
	fixed = (size_t)n + strlen("Cookie: \r\n") + strlen(ck) +
		strlen("x-forwarded-for: 198.19.77.23\r\n\r\n");
	if (fixed > total)
		die("head_sized: essentials (%zu bytes) exceed %zu", fixed, total);
	pad_lines(pad, sizeof(pad), total - fixed);
	n = snprintf(out, cap, "%sCookie: %s\r\n%sx-forwarded-for: 198.19.77.23\r\n\r\n", pre, ck,
		     pad);
	if (n < 0 || (size_t)n >= cap || (size_t)n != total)
		die("head_sized: %d != %zu", n, total);
	return (size_t)n;
}

/* ---- counters and checks ------------------------------------------------ */

struct snap {
	__u64 v[BV_ST_MAX];
};

static void snap(struct bvp *b, struct snap *s)
{
	if (bv_stats_read(b->stats, s->v))
		die("reading bv_stats: %s", strerror(errno));
}

static __u64 delta(const struct snap *a, const struct snap *b, int i)
{
	return b->v[i] - a->v[i];
}

static void dump_deltas(const struct snap *a, const struct snap *b)
{
	for (int i = 0; i < BV_ST_MAX; i++)
		if (delta(a, b, i))
			fprintf(stderr, "  %s +%llu\n", bv_stat_name(i),
				(unsigned long long)delta(a, b, i));
}

/* Anomalies that invalidate a figure. */
static void check_clean(const struct snap *a, const struct snap *b, const char *what)
{
	static const int bad[] = { BV_ST_FLOW_UNKNOWN, BV_ST_OUT_OF_ORDER, BV_ST_RETRANSMIT,
				   BV_ST_EVENTS_LOST, BV_ST_MALFORMED_PKT, BV_DEC_MALFORMED };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (delta(a, b, bad[i]) && (dump_deltas(a, b), 1))
			die("%s: counter %s moved by %llu: the case does not measure what it says",
			    what, bv_stat_name(bad[i]), (unsigned long long)delta(a, b, bad[i]));
}

static void expect(const struct snap *a, const struct snap *b, int idx, __u64 want,
		   const char *what)
{
	if (delta(a, b, idx) != want) {
		dump_deltas(a, b);
		die("%s: counter %s moved by %llu, expected %llu", what, bv_stat_name(idx),
		    (unsigned long long)delta(a, b, idx), (unsigned long long)want);
	}
}

/* SYN of g's connection through the program: flow state from the start. */
static void conn_open(struct bvp *b, struct gen *g)
{
	uint8_t f[FRAME_CAP];
	struct pkt_opts o = g->o;
	size_t n;

	o.tcp_flags = 0x02;
	o.seq = g->seq - 1;
	n = pkt_build_tcp(f, sizeof(f), &o, NULL, 0);
	if (!n || run1(b->prog, f, n) != XDP_PASS)
		die("SYN not passed");
}

/* ---- measuring ------------------------------------------------------------ */

struct result {
	double ns, empty_ns, ratio;   /* medians */
	double min_ns, max_ns;
};

typedef void (*check_fn)(const struct snap *a, const struct snap *b, int runs, void *arg);

/*
 * One measured configuration: a loaded program, a frame source, the check
 * of its counters, and an optional step run before each of its batches
 * (writing its configuration into the maps, since points may share one
 * program).
 */
struct point {
	struct bvp *b;
	struct gen g;
	check_fn chk;
	int segs;                    /* segments per request (header streams) */
	void (*prep)(struct point *p);
	int n;                       /* the point's x (rules, ports) for prep */
	double ns[64], en[64], ra[64];
	struct result r;
};

static uint8_t g_ref[FRAME_CAP];
static struct gen g_refgen;

/* The reference: the empty program on a 1 KB frame. */
static void ref_init(void)
{
	static const char pl[1024];
	struct pkt_opts o;

	opts_base(&o, 50000, 443);
	memset(&g_refgen, 0, sizeof(g_refgen));
	g_refgen.next = gen_fixed;
	g_refgen.frame = g_ref;
	g_refgen.flen = pkt_build_tcp(g_ref, sizeof(g_ref), &o, pl, 1024 - 14 - 20 - 32);
}

static void point_batch(struct point *p, int runs, double *ns, double *en)
{
	struct snap a, z;
	int r = runs - runs % (p->segs > 0 ? p->segs : 1);

	if (r < 1)
		r = p->segs > 0 ? p->segs : 1;
	*en = time_batch(g_empty_fd, &g_refgen, r, NULL);
	if (p->prep)
		p->prep(p);
	snap(p->b, &a);
	*ns = time_batch(p->b->prog, &p->g, r, p->b->rb);
	snap(p->b, &z);
	if (p->chk)
		p->chk(&a, &z, r, &p->segs);
}

/*
 * Measures n points round-robin: each repetition runs every point once
 * (the empty program right before each), starting at a different point
 * each time, so that a slow spell of the machine (this is a 2-core VM
 * shared with other work) hits every point alike instead of one.
 */
static void measure_points(struct point *pt, int n, int reps, int runs)
{
	double d1, d2;

	if (reps > 64)
		reps = 64;
	for (int i = 0; i < n; i++) { /* warm-up: caches, predictors, flow entries */
		if (pt[i].segs < 1)
			pt[i].segs = 1;
		point_batch(&pt[i], runs / 10 + 1, &d1, &d2);
	}
	for (int r = 0; r < reps; r++) {
		for (int k = 0; k < n; k++) {
			struct point *p = &pt[(k + r) % n];

			point_batch(p, runs, &p->ns[r], &p->en[r]);
			p->ra[r] = p->ns[r] / p->en[r];
		}
	}
	if (getenv("BV_BENCH_DEBUG"))
		for (int i = 0; i < n; i++) {
			fprintf(stderr, "point %d:", i);
			for (int r = 0; r < reps; r++)
				fprintf(stderr, " %.0f/%.0f", pt[i].ns[r], pt[i].en[r]);
			fprintf(stderr, "\n");
		}
	for (int i = 0; i < n; i++) {
		struct point *p = &pt[i];

		p->r.ns = median(p->ns, reps);
		p->r.empty_ns = median(p->en, reps);
		p->r.ratio = median(p->ra, reps);
		p->r.min_ns = p->r.max_ns = p->ns[0];
		for (int k = 1; k < reps; k++) {
			if (p->ns[k] < p->r.min_ns)
				p->r.min_ns = p->ns[k];
			if (p->ns[k] > p->r.max_ns)
				p->r.max_ns = p->ns[k];
		}
	}
}

/* Checks of the cases. arg: segments per request (header streams). */
static void chk_requests(const struct snap *a, const struct snap *b, int runs, void *arg)
{
	int segs = arg ? *(int *)arg : 1;
	__u64 reqs;

	check_clean(a, b, "header segment");
	expect(a, b, BV_ST_PKTS, (__u64)runs, "header segment");
	expect(a, b, BV_ST_ACT_PASS, (__u64)runs, "header segment");
	/* the connection's first data moves it out of the half-open table */
	if (delta(a, b, BV_ST_FLOW_NEW) > 1)
		die("header segment: %llu flows created (one connection)",
		    (unsigned long long)delta(a, b, BV_ST_FLOW_NEW));
	reqs = delta(a, b, BV_ST_REQUESTS);
	/* a batch may start or end inside a multi-segment request */
	if (reqs + 1 < (__u64)runs / (__u64)segs || reqs > (__u64)runs / (__u64)segs + 1)
		die("header segment: %llu requests in %d segments of %d per request",
		    (unsigned long long)reqs, runs, segs);
	if (delta(a, b, BV_DEC_ANONYMIZED) + 1 < reqs)
		die("header segment: %llu anonymized of %llu requests (DNT: 1 is in every one)",
		    (unsigned long long)delta(a, b, BV_DEC_ANONYMIZED), (unsigned long long)reqs);
	if (delta(a, b, BV_ST_TEXT_MASKED) + 1 < reqs)
		die("header segment: x-forwarded-for not masked in every request");
}

static void chk_body(const struct snap *a, const struct snap *b, int runs, void *arg)
{
	(void)arg;
	check_clean(a, b, "continuation");
	expect(a, b, BV_ST_ACT_PASS, (__u64)runs, "continuation");
	expect(a, b, BV_ST_REQUESTS, 0, "continuation");
	expect(a, b, BV_ST_BEACON_PORT, (__u64)runs, "continuation");
}

static void chk_other(const struct snap *a, const struct snap *b, int runs, void *arg)
{
	(void)arg;
	check_clean(a, b, "non-beacon");
	expect(a, b, BV_ST_OTHER_TCP, (__u64)runs, "non-beacon");
	expect(a, b, BV_ST_ACT_PASS, (__u64)runs, "non-beacon");
}

static void chk_malformed(const struct snap *a, const struct snap *b, int runs, void *arg)
{
	(void)arg;
	expect(a, b, BV_ST_MALFORMED_PKT, (__u64)runs, "malformed");
	expect(a, b, BV_ST_ACT_DROP, (__u64)runs, "malformed");
}

/* ---- item 1: the four packets ------------------------------------------- */

static const char *verdict(double v, double target)
{
	return v <= target ? "PASS" : "MISS";
}

static void row1(const char *key, const char *name, size_t frame, const struct result *r,
		 double target)
{
	char t[32];
	const char *v = target > 0 ? verdict(r->ratio, target) : "—";

	if (target > 0)
		snprintf(t, sizeof(t), "≤ %.1f×", target);
	else
		snprintf(t, sizeof(t), "none");
	fprintf(g_md, "| %s | %zu | %.1f | %.1f–%.1f | %.1f | %.2f× | %s | **%s** | %.0f%% |\n",
		name, frame, r->ns, r->min_ns, r->max_ns, r->empty_ns, r->ratio, t, v,
		100.0 * r->ns / BUDGET_NS);
	fprintf(g_verdicts, "%s\t%s\t%.1f\t%.1f\t%.2f\t%.1f\t%s\n", key, name, r->ns, r->empty_ns,
		r->ratio, target, target > 0 ? v : "-");
	printf("  %-36s %8.1f ns/pkt  empty %5.1f ns  ratio %7.2fx  target %-8s %s\n", name,
	       r->ns, r->empty_ns, r->ratio, target > 0 ? t : "none", v);
	fflush(stdout);
}

enum kase { K_OTHER, K_HEAD, K_BODY, K_MALF, K_MAX };
static const char *const kase_key[K_MAX] = { "other", "header", "body", "malformed" };

/* Sets g up to produce frames of case k on b (opening connections as
 * needed); returns the frame length and the display name in *name. */
static const char *g_head_file; /* --head FILE: the header case's head (--spin only) */

static size_t head_from_file(char *out, size_t cap)
{
	FILE *f = fopen(g_head_file, "rb");
	size_t n;

	if (!f)
		die("--head %s: %s", g_head_file, strerror(errno));
	n = fread(out, 1, cap - 1, f);
	fclose(f);
	if (n == 0 || n > MSS)
		die("--head %s: %zu bytes (1 to %d, one segment)", g_head_file, n, MSS);
	out[n] = 0;
	return n;
}

static size_t case_setup(struct bvp *b, enum kase k, struct gen *g, char *name, size_t namelen)
{
	static char head[4096], body[1000], tls[1000];
	static uint8_t mf[FRAME_CAP];
	uint8_t f[FRAME_CAP];
	size_t hl;

	for (size_t i = 0; i < sizeof(tls); i++)
		tls[i] = (char)(i * 131 + 17);
	for (size_t i = 0; i < sizeof(body); i++)
		body[i] = "{\"actions\":[{\"name\":\"click on Buy\",\"t\":1234}],\"res\":[]}"[i % 55];
	memset(g, 0, sizeof(*g));
	g->next = gen_stream;
	g->seg = MSS;
	switch (k) {
	case K_OTHER:
		/* TCP to 443: a 1 KB segment of a TLS stream */
		opts_base(&g->o, 51000, 443);
		g->seq = 1000;
		g->payload = tls;
		g->plen = 1024 - 14 - 20 - 32;
		snprintf(name, namelen, "non-beacon TCP (port 443)");
		return 1024;
	case K_HEAD:
		/* a new ~1 KB request on a keep-alive connection every run */
		hl = g_head_file ? head_from_file(head, sizeof(head)) : head_realistic(head, sizeof(head));
		opts_base(&g->o, 51001, 80);
		g->seq = 5000;
		g->payload = head;
		g->plen = hl;
		conn_open(b, g);
		snprintf(name, namelen, "beacon header segment (%zu B head)", hl);
		return 14 + 20 + 32 + hl;
	case K_BODY: {
		/* 1 KB slices of a body of Content-Length 1000000000 (the
		 * program accepts up to 1 GiB) */
		static const char *h = "POST /rb_bf28599qvx?type=js3&app=ea7c4b59f27d43eb HTTP/1.1\r\n"
				       "Host: rum.shop.example\r\n"
				       "Content-Type: text/plain;charset=UTF-8\r\n"
				       "Content-Length: 1000000000\r\n"
				       "Cookie: dtCookie=v_4_srv_2_sn_8A1F; rxVisitor=" RXV "\r\n"
				       "\r\n";
		struct snap a, z;

		opts_base(&g->o, 51002, 80);
		g->seq = 9000;
		conn_open(b, g);
		g->payload = h;
		g->plen = strlen(h);
		snap(b, &a);
		if (run1(b->prog, f, gen_stream(g, f)) != XDP_PASS)
			die("continuation: the head was not passed");
		snap(b, &z);
		expect(&a, &z, BV_ST_REQUESTS, 1, "continuation head");
		g->payload = body;
		g->plen = 1024 - 14 - 20 - 32;
		g->off = 0;
		snprintf(name, namelen, "continuation (body) segment");
		return 1024;
	}
	case K_MALF:
	default: {
		/* IPv4 total length beyond the frame */
		struct pkt_opts o;

		opts_base(&o, 51003, 80);
		g->next = gen_fixed;
		g->flen = pkt_build_tcp(mf, sizeof(mf), &o, body, 1024 - 14 - 20 - 32);
		mf[14 + 2] = 0x0f; /* tot_len 4000 */
		mf[14 + 3] = 0xa0;
		pkt_fix_csums(mf, g->flen);
		g->frame = mf;
		snprintf(name, namelen, "malformed (IPv4 length > frame)");
		return g->flen;
	}
	}
}

static void item1(void)
{
	static const check_fn chk[K_MAX] = { chk_other, chk_requests, chk_body, chk_malformed };
	static const double target[K_MAX] = { 1.2, 20, 2, 0 }; /* non-beacon, header, body, malformed (none) */
	struct point pt[K_MAX];
	char name[K_MAX][96];
	size_t frame[K_MAX];
	struct bvp b;

	printf("1. per-packet cost (%d repetitions x %d runs)\n", g_reps, g_runs);
	bvp_open(&b, 0);
	memset(pt, 0, sizeof(pt));
	for (int k = 0; k < K_MAX; k++) {
		pt[k].b = &b;
		pt[k].chk = chk[k];
		frame[k] = case_setup(&b, (enum kase)k, &pt[k].g, name[k], sizeof(name[k]));
	}
	measure_points(pt, K_MAX, g_reps, g_runs);
	fprintf(g_md,
		"| packet | frame bytes | ns/packet (median) | range of repetitions | empty program ns | ratio to empty | target | verdict | share of the 660 ns budget |\n"
		"| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: |\n");
	for (int k = 0; k < K_MAX; k++)
		row1(kase_key[k], name[k], frame[k], &pt[k].r, target[k]);
	bvp_close(&b);
	fprintf(g_md, "\n");
}

/*
 * --spin CASE SECONDS: run one case without measuring, for a profiler
 * (perf record -e cpu-clock) to sample which BPF functions the time is
 * spent in.
 */
static void spin(const char *which, double secs)
{
	static uint8_t buf[FRAME_CAP];
	struct bvp b;
	struct gen g;
	char name[96];
	struct timespec t0, t;
	int k, sfd;
	unsigned long n = 0;
	__u64 ns0, c0, ns1, c1;

	for (k = 0; k < K_MAX; k++)
		if (!strcmp(which, kase_key[k]))
			break;
	if (k == K_MAX)
		die("--spin: unknown case %s (other, header, body, malformed)", which);
	bvp_open(&b, 0);
	case_setup(&b, (enum kase)k, &g, name, sizeof(name));
	sfd = bpf_enable_stats(BPF_STATS_RUN_TIME);
	prog_stats(b.prog, &ns0, &c0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		for (int i = 0; i < 256; i++, n++)
			run1(b.prog, buf, g.next(&g, buf));
		ring_buffer__consume(b.rb);
		clock_gettime(CLOCK_MONOTONIC, &t);
	} while ((double)(t.tv_sec - t0.tv_sec) + (double)(t.tv_nsec - t0.tv_nsec) / 1e9 < secs);
	prog_stats(b.prog, &ns1, &c1);
	if (sfd >= 0 && c1 > c0)
		printf("%s: %lu runs, %.1f ns/run (the kernel's accounting)\n", name, n,
		       (double)(ns1 - ns0) / (double)(c1 - c0));
	else
		printf("%s: %lu runs\n", name, n);
	if (sfd >= 0)
		close(sfd);
	bvp_close(&b);
}

/* ---- item 2: growth ------------------------------------------------------- */

static FILE *dat_open(const char *name, const char *cols)
{
	char p[512];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", g_dir, name);
	f = fopen(p, "w");
	if (!f)
		die("%s: %s", p, strerror(errno));
	fprintf(f, "# %s\n", cols);
	return f;
}

/* A growth point that sends head[0..len) as a new request on its own
 * keep-alive connection (client port sport) every run. */
static void point_head(struct point *p, struct bvp *b, check_fn chk, uint16_t sport,
		       const char *head, size_t len)
{
	p->b = b;
	p->chk = chk;
	p->segs = (int)((len + MSS - 1) / MSS);
	p->g.next = gen_stream;
	opts_base(&p->g.o, sport, 80);
	p->g.seq = 7000;
	p->g.payload = head;
	p->g.plen = len;
	p->g.seg = MSS;
	conn_open(b, &p->g);
}

static void grow_head(void)
{
	static const size_t lens[] = { 256, 512, 1024, 1448, 2048, 3072, 4096 };
	enum { N = sizeof(lens) / sizeof(lens[0]) };
	static char head[N][8192];
	static struct point pt[N];
	struct bvp b;
	FILE *d = dat_open("growth-head.dat", "head_bytes segments ns_per_request ns_per_segment ratio_per_segment");

	printf("2a. cost against header length\n");
	bvp_open(&b, 0);
	memset(pt, 0, sizeof(pt));
	for (size_t i = 0; i < N; i++) {
		struct point *p = &pt[i];

		head_sized(head[i], sizeof(head[i]), lens[i], 2);
		point_head(p, &b, chk_requests, (uint16_t)(52000 + i), head[i], lens[i]);
	}
	measure_points(pt, N, g_grow_reps, g_grow_runs);
	fprintf(g_md,
		"**Header length** (one request per run; heads over one MSS of %d bytes arrive in several segments, as they do on the wire; the bytes beyond the essentials (request line, Host, Content-Length, DNT, a Cookie with dtCookie and rxVisitor, x-forwarded-for) are ordinary headers the scanner skips to the end of the line):\n\n"
		"| head bytes | segments | ns/request | ns/segment | ratio/segment | ns per head byte |\n"
		"| ---: | ---: | ---: | ---: | ---: | ---: |\n",
		MSS);
	for (size_t i = 0; i < N; i++) {
		struct point *p = &pt[i];

		fprintf(g_md, "| %zu | %d | %.0f | %.0f | %.1f× | %.2f |\n", lens[i], p->segs,
			p->r.ns * p->segs, p->r.ns, p->r.ratio, p->r.ns * p->segs / (double)lens[i]);
		fprintf(d, "%zu %d %.1f %.1f %.2f\n", lens[i], p->segs, p->r.ns * p->segs, p->r.ns,
			p->r.ratio);
		printf("  %5zu B  %d seg  %7.0f ns/request  %6.1fx per segment\n", lens[i], p->segs,
		       p->r.ns * p->segs, p->r.ratio);
	}
	fclose(d);
	bvp_close(&b);
	fprintf(g_md, "\n");
}

static void grow_cookies(void)
{
	static const int counts[] = { 1, 2, 4, 8, 16, 32 };
	enum { N = sizeof(counts) / sizeof(counts[0]) };
	static char head[N][4096];
	static struct point pt[N];
	struct bvp b;
	FILE *d = dat_open("growth-cookies.dat", "cookies ns ratio");

	printf("2b. cost against number of cookies (head 1400 B)\n");
	bvp_open(&b, 0);
	memset(pt, 0, sizeof(pt));
	for (size_t i = 0; i < N; i++) {
		struct point *p = &pt[i];

		head_sized(head[i], sizeof(head[i]), 1400, counts[i]);
		point_head(p, &b, chk_requests, (uint16_t)(53000 + i), head[i], 1400);
	}
	measure_points(pt, N, g_grow_reps, g_grow_runs);
	fprintf(g_md,
		"**Cookies** (head fixed at 1400 bytes, one segment; the Cookie header holds N cookies (N − 2 others, then dtCookie and rxVisitor), the rest of the head is ordinary headers):\n\n"
		"| cookies | ns/packet | ratio |\n| ---: | ---: | ---: |\n");
	for (size_t i = 0; i < N; i++) {
		fprintf(g_md, "| %d | %.0f | %.1f× |\n", counts[i], pt[i].r.ns, pt[i].r.ratio);
		fprintf(d, "%d %.1f %.2f\n", counts[i], pt[i].r.ns, pt[i].r.ratio);
		printf("  %2d cookies  %7.0f ns  %6.1fx\n", counts[i], pt[i].r.ns, pt[i].r.ratio);
	}
	fclose(d);
	bvp_close(&b);
	fprintf(g_md, "\n");
}

/* Checks of a head of the parts table: one request a run, passed. */
static void chk_part(const struct snap *a, const struct snap *b, int runs, void *arg)
{
	(void)arg;
	check_clean(a, b, "head part");
	expect(a, b, BV_ST_PKTS, (__u64)runs, "head part");
	expect(a, b, BV_ST_ACT_PASS, (__u64)runs, "head part");
	expect(a, b, BV_ST_REQUESTS, (__u64)runs, "head part");
}

/* The realistic head, and the same without one of its parts at a time:
 * what each part costs, so that the next step is visible. */
static void grow_parts(void)
{
	static const struct { unsigned parts; const char *name; } v[] = {
		{ HP_ALL, "the realistic head" },
		{ HP_ALL & ~HP_QUERY, "without the Dynatrace query (app= only)" },
		{ HP_ALL & ~HP_COOKIE, "without the Cookie header" },
		{ HP_ALL & ~HP_XFF, "without x-forwarded-for" },
		{ HP_ALL & ~HP_DNT, "without DNT (not anonymized: nothing replaced)" },
		{ HP_ALL & ~HP_OTHER, "without the ordinary headers" },
		{ 0, "request line with app=, Host, Connection, Content-Length" },
	};
	enum { N = sizeof(v) / sizeof(v[0]) };
	static char head[N][4096];
	static struct point pt[N];
	size_t len[N];
	struct bvp b;

	printf("2c. cost of the parts of the realistic head\n");
	bvp_open(&b, 0);
	memset(pt, 0, sizeof(pt));
	for (size_t i = 0; i < N; i++) {
		struct point *p = &pt[i];

		len[i] = head_parts(head[i], sizeof(head[i]), v[i].parts);
		point_head(p, &b, chk_part, (uint16_t)(55000 + i), head[i], len[i]);
	}
	measure_points(pt, N, g_grow_reps, g_grow_runs);
	fprintf(g_md,
		"**Parts of the head** (the realistic head of section 1, then the same with one part left out; "
		"the part's cost is the difference to the first row):\n\n"
		"| head | bytes | ns/packet | ratio | the part costs |\n| --- | ---: | ---: | ---: | ---: |\n");
	for (size_t i = 0; i < N; i++) {
		char cost[32] = "—";

		if (i > 0 && i < N - 1)
			snprintf(cost, sizeof(cost), "%.0f ns", pt[0].r.ns - pt[i].r.ns);
		fprintf(g_md, "| %s | %zu | %.0f | %.1f× | %s |\n", v[i].name, len[i], pt[i].r.ns,
			pt[i].r.ratio, cost);
		printf("  %-58s %5zu B %7.0f ns  %6.1fx\n", v[i].name, len[i], pt[i].r.ns, pt[i].r.ratio);
	}
	bvp_close(&b);
	fprintf(g_md, "\n");
}

/* N path rules of which the last one, rb_, matches the beacon. */
static void prep_rules(struct point *p)
{
	struct bvp *b = p->b;

	memset(b->cfg.paths, 0, sizeof(b->cfg.paths));
	for (int k = 0; k < p->n - 1; k++) {
		struct bv_path_rule *r = &b->cfg.paths[k];

		r->kind = BV_PATH_PREFIX;
		r->len = (__u8)snprintf(r->pat, sizeof(r->pat), "/collect/v%02d", k);
	}
	b->cfg.paths[p->n - 1].kind = BV_PATH_SEG_PREFIX;
	b->cfg.paths[p->n - 1].len = 3;
	memcpy(b->cfg.paths[p->n - 1].pat, "rb_", 3);
	b->cfg.npaths = p->n;
	bvp_apply(b);
}

static void grow_paths(void)
{
	static const int counts[] = { 1, 2, 4, 8, 16 };
	enum { N = sizeof(counts) / sizeof(counts[0]) };
	static char head[4096];
	static struct point pt[N];
	struct bvp b;
	FILE *d = dat_open("growth-paths.dat", "rules ns ratio");
	size_t hl = head_realistic(head, sizeof(head));

	printf("2c. cost against number of path rules\n");
	bvp_open(&b, 0);
	memset(pt, 0, sizeof(pt));
	for (size_t i = 0; i < N; i++) {
		struct point *p = &pt[i];

		p->b = &b;
		p->chk = chk_requests;
		p->prep = prep_rules;
		p->n = counts[i];
		p->g.next = gen_stream;
		opts_base(&p->g.o, (uint16_t)(54000 + i), 80);
		p->g.seq = 7000;
		p->g.payload = head;
		p->g.plen = hl;
		p->g.seg = MSS;
		conn_open(&b, &p->g);
	}
	measure_points(pt, N, g_grow_reps, g_grow_runs);
	fprintf(g_md,
		"**Path rules** (the realistic %zu-byte head; N rules of which the last one, `rb_`, matches; the others are `/collect/vNN` prefixes):\n\n"
		"| rules | ns/packet | ratio |\n| ---: | ---: | ---: |\n", hl);
	for (size_t i = 0; i < N; i++) {
		fprintf(g_md, "| %d | %.0f | %.1f× |\n", counts[i], pt[i].r.ns, pt[i].r.ratio);
		fprintf(d, "%d %.1f %.2f\n", counts[i], pt[i].r.ns, pt[i].r.ratio);
		printf("  %2d rules  %7.0f ns  %6.1fx\n", counts[i], pt[i].r.ns, pt[i].r.ratio);
	}
	fclose(d);
	bvp_close(&b);
	fprintf(g_md, "\n");
}

static void prep_ports(struct point *p)
{
	struct bvp *b = p->b;

	b->cfg.nports = p->n;
	for (int k = 0; k < p->n; k++)
		b->cfg.ports[k] = (__u16)(k == 0 ? 80 : 8000 + k);
	bvp_apply(b);
}

static void grow_ports(void)
{
	static const int counts[] = { 1, 2, 16, 64 };
	enum { N = sizeof(counts) / sizeof(counts[0]) };
	static char tls[1024];
	static struct point pt[N];
	struct bvp b;
	FILE *d = dat_open("growth-ports.dat", "ports ns_nonbeacon ratio");

	printf("2d. cost against number of beacon ports (non-beacon packet)\n");
	bvp_open(&b, 0);
	memset(pt, 0, sizeof(pt));
	for (size_t i = 0; i < N; i++) {
		struct point *p = &pt[i];

		p->b = &b;
		p->chk = chk_other;
		p->prep = prep_ports;
		p->n = counts[i];
		p->g.next = gen_stream;
		opts_base(&p->g.o, (uint16_t)(55000 + i), 443);
		p->g.seq = 7000;
		p->g.payload = tls;
		p->g.plen = 1024 - 14 - 20 - 32;
		p->g.seg = MSS;
	}
	measure_points(pt, N, g_grow_reps, g_grow_runs);
	fprintf(g_md,
		"**Beacon ports** (a 1 KB non-beacon packet to port 443; the port test is two array lookups whatever the count):\n\n"
		"| ports | ns/packet | ratio |\n| ---: | ---: | ---: |\n");
	for (size_t i = 0; i < N; i++) {
		fprintf(g_md, "| %d | %.1f | %.2f× |\n", counts[i], pt[i].r.ns, pt[i].r.ratio);
		fprintf(d, "%d %.1f %.2f\n", counts[i], pt[i].r.ns, pt[i].r.ratio);
		printf("  %2d ports  %7.1f ns  %6.2fx\n", counts[i], pt[i].r.ns, pt[i].r.ratio);
	}
	fclose(d);
	bvp_close(&b);
	fprintf(g_md, "\n");
}

/* The head that opens every pre-filled flow: a beacon POST whose body of
 * 1000000000 bytes then follows in 1 KB segments. */
static const char *const BODY_HEAD =
	"POST /rb_bf28599qvx?type=js3&app=ea7c4b59f27d43eb HTTP/1.1\r\n"
	"Host: rum.shop.example\r\n"
	"Content-Type: text/plain;charset=UTF-8\r\n"
	"Content-Length: 1000000000\r\n"
	"Cookie: dtCookie=v_4_srv_2_sn_8A1F; rxVisitor=" RXV "\r\n"
	"\r\n";

/*
 * Pre-fills b's bv_flows with n connections (flow_addr), each in the state
 * of flow 0 after its SYN and BODY_HEAD (so inside a huge body), copied by
 * batch map updates. Returns the seq of the next body byte of every flow.
 */
static uint32_t prefill_flows(struct bvp *b, uint32_t n, uint32_t isn)
{
	const uint32_t chunk = 65536;
	struct bv_flow tmpl;
	struct bv_flow_key *keys, k0;
	struct bv_flow *vals;
	struct pkt_opts o;
	uint8_t f[FRAME_CAP];
	char src[32];
	size_t fl, hl = strlen(BODY_HEAD);

	opts_base(&o, 0, 80);
	flow_addr(0, src, sizeof(src), &o.sport);
	o.src = src;
	o.tcp_flags = 0x02;
	o.seq = isn - 1;
	fl = pkt_build_tcp(f, sizeof(f), &o, NULL, 0);
	if (run1(b->prog, f, fl) != XDP_PASS)
		die("SYN");
	o.tcp_flags = 0;
	o.seq = isn;
	fl = pkt_build_tcp(f, sizeof(f), &o, BODY_HEAD, hl);
	if (run1(b->prog, f, fl) != XDP_PASS)
		die("flow template: head not passed");
	if (bpf_map_get_next_key(b->flows, NULL, &k0) || bpf_map_lookup_elem(b->flows, &k0, &tmpl))
		die("template flow: %s", strerror(errno));
	keys = calloc(chunk, sizeof(*keys));
	vals = calloc(chunk, sizeof(*vals));
	if (!keys || !vals)
		die("out of memory");
	for (uint32_t base = 0; base < n; base += chunk) {
		__u32 cnt = n - base < chunk ? n - base : chunk;
		LIBBPF_OPTS(bpf_map_batch_opts, bo);

		for (__u32 j = 0; j < cnt; j++) {
			uint32_t fi = base + j;
			uint16_t port;

			flow_addr(fi, src, sizeof(src), &port);
			memset(&keys[j], 0, sizeof(keys[j]));
			keys[j].client[0] = htonl(0xc6120000u | ((fi >> 8 & 0xff) << 8) | (fi & 0xff));
			keys[j].server[0] = htonl(0xc613000au); /* 198.19.0.10 */
			keys[j].cport = htons(port);
			keys[j].sport = htons(80);
			keys[j].family = 4;
			vals[j] = tmpl;
		}
		if (bpf_map_update_batch(b->flows, keys, vals, &cnt, &bo))
			die("pre-filling bv_flows: %s", strerror(errno));
	}
	free(keys);
	free(vals);
	return isn + (uint32_t)hl;
}

/*
 * Live flows: bv_flows sized to 1.25 x N and pre-filled with N connections
 * inside a huge beacon body; every run is the next 1 KB body segment of a
 * random one of them. A body segment costs little else, so what grows is
 * the flow lookup and the copies of the flow's state, which miss the caches
 * once the table outgrows them, as under real load. All sizes are loaded at
 * once and measured round-robin.
 */
static void grow_flows(void)
{
	static const uint32_t full[] = { 1024, 4096, 16384, 65536, 262144, 1048576 };
	static const uint32_t quick[] = { 1024, 16384, 65536 };
	const uint32_t *sizes = g_quick ? quick : full;
	size_t nn = g_quick ? 3 : 6;
	static char body[1024];
	static struct point pt[6];
	static struct bvp bs[6];
	FILE *d = dat_open("growth-flows.dat", "flows ns ratio");
	const uint32_t isn = 1000;

	printf("2e. cost against live flows in the LRU (body segment of a random flow per run)\n");
	for (size_t i = 0; i < sizeof(body); i++)
		body[i] = "{\"actions\":[{\"name\":\"click on Buy\",\"t\":1234}],\"res\":[]}"[i % 55];
	memset(pt, 0, sizeof(pt));
	for (size_t i = 0; i < nn; i++) {
		struct point *p = &pt[i];
		uint32_t n = sizes[i], seq0;

		bvp_open(&bs[i], n + n / 4);
		seq0 = prefill_flows(&bs[i], n, isn);
		p->b = &bs[i];
		p->chk = chk_body;
		opts_base(&p->g.o, 1024, 80);
		p->g.next = gen_random_flow;
		p->g.seqs = calloc(n, sizeof(*p->g.seqs));
		if (!p->g.seqs)
			die("out of memory");
		for (uint32_t j = 0; j < n; j++)
			p->g.seqs[j] = seq0;
		p->g.nflows = n;
		p->g.rnd = 0x9e3779b9u;
		p->g.payload = body;
		p->g.plen = 1024 - 14 - 20 - 32;
	}
	measure_points(pt, (int)nn, g_grow_reps, g_grow_runs);
	fprintf(g_md,
		"**Live flows** (bv_flows sized 1.25 × N and pre-filled with N connections inside a large beacon body; each run is the next 1 KB body segment of a random one of them, so the flow lookup and the copies of its state (%zu bytes a flow) miss the caches as under real load; no flow was evicted):\n\n"
		"| live flows | ns/packet | ratio |\n| ---: | ---: | ---: |\n",
		sizeof(struct bv_flow));
	for (size_t i = 0; i < nn; i++) {
		struct snap z;

		snap(pt[i].b, &z);
		if (z.v[BV_ST_FLOW_NEW] > 1) /* the template's connection only */
			die("flows: %llu flows created during the run: the table evicted",
			    (unsigned long long)z.v[BV_ST_FLOW_NEW] - 1);
		fprintf(g_md, "| %u | %.0f | %.1f× |\n", sizes[i], pt[i].r.ns, pt[i].r.ratio);
		fprintf(d, "%u %.1f %.2f\n", sizes[i], pt[i].r.ns, pt[i].r.ratio);
		printf("  %7u flows  %7.0f ns  %6.1fx\n", sizes[i], pt[i].r.ns, pt[i].r.ratio);
		free(pt[i].g.seqs);
		bvp_close(&bs[i]);
	}
	fclose(d);
	fprintf(g_md, "\n");
}

/* ---- main ----------------------------------------------------------------- */

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "out", required_argument, NULL, 'o' },  { "quick", no_argument, NULL, 'q' },
		{ "reps", required_argument, NULL, 'r' }, { "runs", required_argument, NULL, 'n' },
		{ "cpu", required_argument, NULL, 'c' },  { "help", no_argument, NULL, 'h' },
		{ "spin", required_argument, NULL, 'S' }, { "seconds", required_argument, NULL, 's' },
		{ "head", required_argument, NULL, 'H' },
		{ "only", required_argument, NULL, 'O' },
		{ NULL, 0, NULL, 0 },
	};
	int c, cpu = -1, stats_fd;
	char p[512];
	const char *spin_case = NULL, *only = NULL;
	double spin_secs = 5;

	while ((c = getopt_long(argc, argv, "o:qr:n:c:h", lo, NULL)) != -1) {
		switch (c) {
		case 'o':
			g_dir = optarg;
			break;
		case 'q':
			g_quick = true;
			g_reps = 3;
			g_runs = 3000;
			g_grow_reps = 3;
			g_grow_runs = 1000;
			break;
		case 'r':
			g_reps = atoi(optarg);
			break;
		case 'n':
			g_runs = atoi(optarg);
			break;
		case 'c':
			cpu = atoi(optarg);
			break;
		case 'S':
			spin_case = optarg;
			break;
		case 'O':
			only = optarg;
			break;
		case 's':
			spin_secs = atof(optarg);
			break;
		case 'H':
			g_head_file = optarg;
			break;
		case 'h':
			printf("Usage: bv-bench -o DIR [--quick] [--reps N] [--runs N] [--cpu N]\n"
			       "                [--only item1,head,cookies,parts,paths,ports,flows]\n"
			       "       bv-bench --spin other|header|body|malformed [--seconds S] [--cpu N] [--head FILE]\n");
			return 0;
		default:
			return 2;
		}
	}
	if (g_reps < 1 || g_reps > 64 || g_runs < 10)
		die("--reps 1..64, --runs >= 10");
	if (cpu < 0)
		cpu = (int)sysconf(_SC_NPROCESSORS_ONLN) - 1;
	{
		cpu_set_t set;

		CPU_ZERO(&set);
		CPU_SET(cpu, &set);
		if (sched_setaffinity(0, sizeof(set), &set))
			fprintf(stderr, "bv-bench: cannot pin to CPU %d: %s\n", cpu, strerror(errno));
	}
	if (spin_case) {
		spin(spin_case, spin_secs);
		return 0;
	}
	/* the kernel's per-program run time accounting, on while this fd lives */
	stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
	if (stats_fd < 0)
		die("BPF_ENABLE_STATS: %s (needs root)", strerror(errno));

	g_empty = empty_bpf__open_and_load();
	if (!g_empty)
		die("loading the empty reference program: %s", strerror(errno));
	g_empty_fd = bpf_program__fd(g_empty->progs.empty_xdp);
	ref_init();

	snprintf(p, sizeof(p), "%s/dataplane.md", g_dir);
	g_md = fopen(p, "w");
	snprintf(p, sizeof(p), "%s/verdicts.tsv", g_dir);
	g_verdicts = fopen(p, "w");
	if (!g_md || !g_verdicts)
		die("%s: %s", p, strerror(errno));
	fprintf(g_md, "### 1. Per-packet cost, BPF_PROG_TEST_RUN\n\n");
	fprintf(g_md, "*%d repetitions × %d runs per case, pinned to CPU %d.*\n\n", g_reps, g_runs, cpu);
#define WANT(x) (!only || strstr(only, x))
	if (WANT("item1"))
		item1();
	fprintf(g_md, "### 2. Growth\n\n");
	fprintf(g_md, "*%d repetitions × %d runs per point, pinned to CPU %d.*\n\n", g_grow_reps, g_grow_runs, cpu);
	if (WANT("head"))
		grow_head();
	if (WANT("cookies"))
		grow_cookies();
	if (WANT("parts"))
		grow_parts();
	if (WANT("paths"))
		grow_paths();
	if (WANT("ports"))
		grow_ports();
	if (WANT("flows"))
		grow_flows();
	fclose(g_md);
	fclose(g_verdicts);
	empty_bpf__destroy(g_empty);
	close(stats_fd);
	return 0;
}
