/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * `beaconveil pcap` plumbing, run as the built binary (../beaconveil next
 * to this test's directory, or $BEACONVEIL_BIN): exit codes, usage errors,
 * input formats (pcap µs/ns, pcapng written by hand, empty captures),
 * link-type and file errors, unprocessable frames, and that OUT is never
 * left half-written. What the program does to beacons is tested elsewhere;
 * the captures here hold no beacon traffic. In pcap and mirror modes the
 * program masks L3 client addresses of all IP traffic (docs/MASKING.md), so byte
 * equality is asserted under a config with ip_mask = off, in inline mode,
 * and for non-IP frames; otherwise frames keep count, length and timestamp
 * and their checksums stay valid.
 *
 * Needs root (the binary loads BPF): exits 77 (skip) otherwise.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <setjmp.h>
#include <cmocka.h>
#include <bpf/libbpf.h>
#define PCAP_DONT_INCLUDE_PCAP_BPF_H
#include <pcap/pcap.h>
#include <pcap/dlt.h>

#include "loader.h"
#include "pktbuild.h"
#include "beaconveil.skel.h"

#define LINKTYPE_RAW 101 /* in files; libpcap reports it as DLT_RAW */

static char bin[PATH_MAX];
static char dir[64];
static char off_conf[128]; /* [global] ip_mask = off */

/* ---- files ------------------------------------------------------------- */

static const char *tpath(const char *name)
{
	static char p[32][PATH_MAX]; /* a test holds a handful at once */
	static int i;

	i = (i + 1) % 32;
	snprintf(p[i], sizeof(p[i]), "%s/%s", dir, name);
	return p[i];
}

static bool exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0;
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t n = 0, cap = 0;

	if (!f)
		return NULL;
	for (;;) {
		if (n + 4096 + 1 > cap) {
			cap = (n + 4096 + 1) * 2;
			buf = realloc(buf, cap);
			assert_non_null(buf);
		}
		size_t r = fread(buf + n, 1, 4096, f);
		n += r;
		if (r < 4096)
			break;
	}
	fclose(f);
	buf[n] = '\0';
	if (len)
		*len = n;
	return buf;
}

static void spit(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

/* ---- captures written by hand ---------------------------------------------- */

struct rec {
	uint32_t sec, frac;      /* frac: µs, or ns in a nanosecond file */
	const uint8_t *data;
	uint32_t caplen, len;
};

/* pcap: magic a1b2c3d4 (µs) or a1b23c4d (ns), host byte order. */
static void write_pcap(const char *path, bool nano, uint32_t linktype,
		       const struct rec *r, size_t n)
{
	FILE *f = fopen(path, "wb");
	uint32_t magic = nano ? 0xa1b23c4d : 0xa1b2c3d4;
	uint16_t ver[2] = { 2, 4 };
	uint32_t rest[4] = { 0, 0, 262144, linktype }; /* thiszone, sigfigs, snaplen, dlt */

	assert_non_null(f);
	fwrite(&magic, 4, 1, f);
	fwrite(ver, 2, 2, f);
	fwrite(rest, 4, 4, f);
	for (size_t i = 0; i < n; i++) {
		uint32_t h[4] = { r[i].sec, r[i].frac, r[i].caplen, r[i].len };
		fwrite(h, 4, 4, f);
		fwrite(r[i].data, 1, r[i].caplen, f);
	}
	assert_int_equal(fclose(f), 0);
}

static void put32(FILE *f, uint32_t v) { fwrite(&v, 4, 1, f); }
static void put16(FILE *f, uint16_t v) { fwrite(&v, 2, 1, f); }

/* pcapng: SHB, one IDB (default resolution µs), one EPB per record. */
static void write_pcapng(const char *path, uint16_t linktype, const struct rec *r, size_t n)
{
	FILE *f = fopen(path, "wb");
	static const uint8_t zero[4];

	assert_non_null(f);
	/* Section Header Block */
	put32(f, 0x0A0D0D0A);
	put32(f, 28);
	put32(f, 0x1A2B3C4D);
	put16(f, 1);
	put16(f, 0);
	put32(f, 0xffffffff); /* section length: unknown (-1) */
	put32(f, 0xffffffff);
	put32(f, 28);
	/* Interface Description Block */
	put32(f, 1);
	put32(f, 20);
	put16(f, linktype);
	put16(f, 0);
	put32(f, 262144);
	put32(f, 20);
	/* Enhanced Packet Blocks */
	for (size_t i = 0; i < n; i++) {
		uint32_t pad = (4 - r[i].caplen % 4) % 4;
		uint32_t tot = 32 + r[i].caplen + pad;
		uint64_t ts = (uint64_t)r[i].sec * 1000000u + r[i].frac;

		put32(f, 6);
		put32(f, tot);
		put32(f, 0);                    /* interface id */
		put32(f, (uint32_t)(ts >> 32));
		put32(f, (uint32_t)ts);
		put32(f, r[i].caplen);
		put32(f, r[i].len);
		fwrite(r[i].data, 1, r[i].caplen, f);
		fwrite(zero, 1, pad, f);
		put32(f, tot);
	}
	assert_int_equal(fclose(f), 0);
}

/* Reads a capture with libpcap; records and their data are malloc'ed. */
static size_t read_capture(const char *path, int prec, struct rec **out, int *dlt)
{
	char ebuf[PCAP_ERRBUF_SIZE];
	pcap_t *p = pcap_open_offline_with_tstamp_precision(path, prec, ebuf);
	struct pcap_pkthdr *h;
	const u_char *d;
	size_t n = 0;
	int r;

	if (!p)
		print_error("pcap_open_offline(%s): %s\n", path, ebuf);
	assert_non_null(p);
	if (dlt)
		*dlt = pcap_datalink(p);
	*out = NULL;
	while ((r = pcap_next_ex(p, &h, &d)) == 1) {
		uint8_t *copy = malloc(h->caplen ? h->caplen : 1);

		assert_non_null(copy);
		memcpy(copy, d, h->caplen);
		*out = realloc(*out, (n + 1) * sizeof(**out));
		assert_non_null(*out);
		(*out)[n++] = (struct rec){ (uint32_t)h->ts.tv_sec, (uint32_t)h->ts.tv_usec, copy,
					    h->caplen, h->len };
	}
	assert_int_equal(r, PCAP_ERROR_BREAK);
	pcap_close(p);
	return n;
}

static void free_recs(struct rec *r, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free((void *)r[i].data);
	free(r);
}

static bool is_ip(const struct rec *r)
{
	uint16_t et;

	if (r->caplen < 14)
		return false;
	et = (uint16_t)(r->data[12] << 8 | r->data[13]);
	return et == 0x0800 || et == 0x86dd || et == 0x8100 || et == 0x88a8;
}

/* Same timestamps and lengths; same bytes too, or (!ip_bytes) for non-IP frames only. */
static void assert_recs(const struct rec *a, size_t na, const struct rec *b, size_t nb,
			bool ip_bytes)
{
	assert_int_equal(na, nb);
	for (size_t i = 0; i < na; i++) {
		assert_int_equal(a[i].sec, b[i].sec);
		assert_int_equal(a[i].frac, b[i].frac);
		assert_int_equal(a[i].caplen, b[i].caplen);
		assert_int_equal(a[i].len, b[i].len);
		if (ip_bytes || !is_ip(&a[i]))
			assert_memory_equal(a[i].data, b[i].data, a[i].caplen);
	}
}

#define assert_same_recs(a, na, b, nb) assert_recs(a, na, b, nb, true)

/* ---- frames ------------------------------------------------------------------ */

static uint8_t f_tcp4[256], f_udp4[256], f_tcp6[256], f_l2[64], f_syn[128], f_big[2000];
static size_t l_tcp4, l_udp4, l_tcp6, l_syn, l_big;

static void build_frames(void)
{
	static const char q[] = "SELECT 1;";
	static const uint8_t dns[] = { 0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0 };
	struct pkt_opts o = { .family = 4, .src = "198.51.100.7", .dst = "203.0.113.9",
			      .sport = 40000, .dport = 5432, .seq = 1000, .ack = 1 };
	uint8_t big[1400];

	l_tcp4 = pkt_build_tcp(f_tcp4, sizeof(f_tcp4), &o, q, sizeof(q) - 1);
	o.tcp_flags = 0x02; /* SYN */
	o.dport = 443;
	l_syn = pkt_build_tcp(f_syn, sizeof(f_syn), &o, NULL, 0);
	o.tcp_flags = 0;
	o.dport = 53;
	l_udp4 = pkt_build_udp(f_udp4, sizeof(f_udp4), &o, dns, sizeof(dns));
	memset(big, 'z', sizeof(big));
	o.dport = 9000;
	l_big = pkt_build_tcp(f_big, sizeof(f_big), &o, big, sizeof(big));
	o.family = 6;
	o.src = "2001:db8::7";
	o.dst = "2001:db8:1::9";
	o.dport = 22;
	l_tcp6 = pkt_build_tcp(f_tcp6, sizeof(f_tcp6), &o, "SSH-2.0-x\r\n", 11);
	assert_true(l_tcp4 && l_syn && l_udp4 && l_tcp6 && l_big);
	/* A non-IP frame (local experimental ethertype), padded to 60 bytes. */
	memset(f_l2, 0, sizeof(f_l2));
	memcpy(f_l2, "\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01\x88\xb5", 14);
	memcpy(f_l2 + 14, "beaconveil", 10);
}

/* ---- running the binary -------------------------------------------------------- */

struct res {
	int code;       /* exit code; 128 + signal if killed */
	char *out, *err;
};

static void res_free(struct res *r)
{
	free(r->out);
	free(r->err);
	memset(r, 0, sizeof(*r));
}

/* Runs bin with the NULL-terminated arguments; stdin from in_path (or /dev/null). */
static void run_in(struct res *r, const char *in_path, ...)
{
	char *argv[32];
	int argc = 0;
	va_list ap;
	pid_t pid;
	int st;
	char o[PATH_MAX], e[PATH_MAX];

	snprintf(o, sizeof(o), "%s/stdout.txt", dir);
	snprintf(e, sizeof(e), "%s/stderr.txt", dir);

	argv[argc++] = bin;
	va_start(ap, in_path);
	while (argc < 31 && (argv[argc] = va_arg(ap, char *)))
		argc++;
	va_end(ap);
	argv[argc] = NULL;

	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int fo = open(o, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		int fe = open(e, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		int fi = open(in_path ? in_path : "/dev/null", O_RDONLY);

		if (fo < 0 || fe < 0 || fi < 0)
			_exit(126);
		dup2(fi, 0);
		dup2(fo, 1);
		dup2(fe, 2);
		execv(bin, argv);
		_exit(127);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	r->code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	r->out = slurp(o, NULL);
	r->err = slurp(e, NULL);
	assert_non_null(r->out);
	assert_non_null(r->err);
	if (r->err[0])
		print_message("    [beaconveil stderr] %s", r->err);
}

#define run(r, ...) run_in(r, NULL, __VA_ARGS__, (char *)NULL)

/* Value of the summary line "name value"; -1 if absent. */
static long long summary(const char *out, const char *name)
{
	size_t n = strlen(name);

	for (const char *p = out; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
		if (!strncmp(p, name, n) && p[n] == ' ')
			return strtoll(p + n + 1, NULL, 10);
	return -1;
}

static void assert_contains(const char *hay, const char *needle)
{
	if (!strstr(hay, needle))
		fail_msg("\"%s\" not found in: %s", needle, hay);
}

/* ---- tests ---------------------------------------------------------------------- */

static void test_names(void **state)
{
	static const char *const readme[] = { /* README.md's names, enum bv_decision order */
		"pass", "anonymized", "dropped_dnt", "dropped_gpc", "dropped_no_consent",
		"dropped_disabled", "dropped_level_off", "dropped_crash_report", "malformed",
		"dropped_unreadable",
	};
	(void)state;
	assert_int_equal(sizeof(readme) / sizeof(readme[0]), BV_DEC_MAX);
	for (int i = 0; i < BV_DEC_MAX; i++) {
		assert_string_equal(bv_decision_name(i), readme[i]);
		assert_string_equal(bv_stat_name(i), readme[i]);
	}
	assert_string_equal(bv_decision_name(-1), "unknown");
	assert_string_equal(bv_decision_name(BV_DEC_MAX), "unknown");
	assert_string_equal(bv_stat_name(BV_ST_MAX), "unknown");
	assert_string_equal(bv_stat_name(BV_ST_PKTS), "pkts");
	assert_string_equal(bv_stat_name(BV_ST_PROXY_V2), "proxy_v2");
	for (int i = 0; i < BV_ST_MAX; i++) {
		const char *s = bv_stat_name(i);

		assert_string_not_equal(s, "unknown");
		assert_int_equal(strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_"), strlen(s));
		for (int j = 0; j < i; j++)
			assert_string_not_equal(s, bv_stat_name(j));
	}
}

static void test_linear_max(void **state)
{
	(void)state;
	long page = sysconf(_SC_PAGESIZE);
	size_t m = bv_xdp_linear_max();

	print_message("    XDP test_run linear limit: %zu bytes\n", m);
	assert_true(m > 1500 && m < (size_t)page);
}

static void test_usage(void **state)
{
	struct res r;
	(void)state;

	run(&r, "--help");
	assert_int_equal(r.code, 0);
	assert_contains(r.out, "pcap");
	res_free(&r);
	run(&r, "pcap", "--help");
	assert_int_equal(r.code, 0);
	assert_contains(r.out, "Usage: beaconveil pcap IN OUT");
	res_free(&r);

	run_in(&r, NULL, (char *)NULL); /* no command */
	assert_int_equal(r.code, 2);
	res_free(&r);
	run(&r, "frobnicate");
	assert_int_equal(r.code, 2);
	assert_contains(r.err, "unknown command 'frobnicate'");
	res_free(&r);
	run(&r, "pcap");
	assert_int_equal(r.code, 2);
	res_free(&r);
	run(&r, "pcap", tpath("in.pcap"));
	assert_int_equal(r.code, 2);
	res_free(&r);
	run(&r, "pcap", "a", "b", "c");
	assert_int_equal(r.code, 2);
	res_free(&r);
	run(&r, "pcap", "--no-such-option", "a", "b");
	assert_int_equal(r.code, 2);
	res_free(&r);
	run(&r, "pcap", "--mode", "bogus", "a", "b");
	assert_int_equal(r.code, 2);
	assert_contains(r.err, "bogus");
	res_free(&r);
	run(&r, "pcap", "a", "b", "-c");
	assert_int_equal(r.code, 2);
	res_free(&r);
	run(&r, "pcap", "a", "-");
	assert_int_equal(r.code, 2);
	res_free(&r);
}

/* --jobs: the frames of a capture of many connections (beacons cut over
 * segments, keep-alive, both directions, IPv4 and IPv6, DNS and TLS; more
 * frames than one batch) run on several CPUs at once give the same OUT,
 * byte for byte, and the same counters as one CPU; bad values are usage
 * errors. */
static void test_jobs(void **state)
{
	const char *ip = tpath("jobs.pcap"), *o1 = tpath("jobs1.pcap"), *on = tpath("jobsn.pcap");
	static const char *const modes[] = { "pcap", "mirror", "inline" };
	char gen[PATH_MAX + 32], cmd[3 * PATH_MAX];
	struct res r1, rn;
	char *a, *b;
	size_t la, lb;
	(void)state;

	snprintf(gen, sizeof(gen), "%s", bin);
	snprintf(cmd, sizeof(cmd), "%s/gen-beacons -q -n 1200 -s 3 '%s'", dirname(gen), ip);
	assert_int_equal(system(cmd), 0);
	for (size_t m = 0; m < sizeof(modes) / sizeof(modes[0]); m++) {
		run(&r1, "pcap", "-j", "1", "-m", modes[m], ip, o1);
		assert_int_equal(r1.code, 0);
		assert_true(summary(r1.out, "packets_in") > 8192); /* several batches */
		assert_true(summary(r1.out, "requests") > 1000);
		for (const char *j = "2"; j; j = strcmp(j, "2") ? NULL : "5") {
			run(&rn, "pcap", "--jobs", j, "-m", modes[m], ip, on);
			assert_int_equal(rn.code, 0);
			/* the summary after its first line (which names OUT) */
			assert_string_equal(strchr(r1.out, '\n'), strchr(rn.out, '\n'));
			a = slurp(o1, &la);
			b = slurp(on, &lb);
			assert_non_null(a);
			assert_non_null(b);
			assert_int_equal(la, lb);
			assert_memory_equal(a, b, la);
			free(a);
			free(b);
			res_free(&rn);
		}
		res_free(&r1);
	}
	/* cut off after several batches (a batch running when the read
	 * fails): a named error, no OUT, no OUT.tmp */
	{
		const char *cut = tpath("jobs.cut.pcap"), *oc = tpath("jobs.cut.out.pcap");
		char *all = slurp(ip, &la);

		assert_non_null(all);
		assert_true(la > 4000000);
		spit(cut, all, la - la / 4 - 7);
		free(all);
		run(&r1, "pcap", "-j", "2", cut, oc);
		assert_int_equal(r1.code, 1);
		assert_contains(r1.err, "jobs.cut.pcap");
		assert_contains(r1.err, "truncated");
		res_free(&r1);
		assert_false(exists(oc));
		assert_false(exists(tpath("jobs.cut.out.pcap.tmp")));
	}
	for (size_t i = 0; i < 4; i++) {
		static const char *const bad[] = { "0", "65", "two", "" };

		run(&r1, "pcap", "--jobs", bad[i], ip, o1);
		assert_int_equal(r1.code, 2);
		assert_contains(r1.err, "--jobs");
		res_free(&r1);
	}
}

/* --midstream: a capture that starts in the middle of a beacon connection
 * (no SYN) loses it by default; with the option its segment is written,
 * rewritten conservatively, and counted. Only in pcap mode. */
static void test_midstream(void **state)
{
	static const char pl[] = "POST /rb_bf1?vi=QWERTYUIOPASDFGH HTTP/1.1\r\n"
				 "X-Forwarded-For: 203.0.113.57\r\n\r\n";
	struct pkt_opts o = { .family = 4, .src = "198.51.100.7", .dst = "203.0.113.9",
			      .sport = 40001, .dport = 80, .seq = 5000, .ack = 1 };
	static uint8_t f[512];
	const char *ip = tpath("mid.pcap"), *op = tpath("mid.out.pcap");
	struct rec in = { 1700000000, 1, f, 0, 0 }, *out;
	struct res r;
	int frames = -1, bad = -1;
	(void)state;

	in.caplen = in.len = (uint32_t)pkt_build_tcp(f, sizeof(f), &o, pl, sizeof(pl) - 1);
	write_pcap(ip, false, DLT_EN10MB, &in, 1);
	run(&r, "pcap", ip, op);
	assert_int_equal(r.code, 0);
	assert_int_equal(summary(r.out, "packets_dropped"), 1);
	res_free(&r);
	run(&r, "pcap", "--midstream", ip, op);
	assert_int_equal(r.code, 0);
	assert_int_equal(summary(r.out, "packets_written"), 1);
	assert_int_equal(summary(r.out, "midstream"), 1);
	res_free(&r);
	assert_int_equal(read_capture(op, PCAP_TSTAMP_PRECISION_MICRO, &out, NULL), 1);
	assert_int_equal(out[0].caplen, in.caplen);
	assert_null(memmem(out[0].data, out[0].caplen, "203.0.113.57", 12));
	assert_null(memmem(out[0].data, out[0].caplen, "QWERTYUIOPASDFGH", 16));
	/* the address masked; the header's name is a run of 9 letters: replaced too */
	assert_non_null(memmem(out[0].data, out[0].caplen, "-For: 203.0.113.0 \r\n", 20));
	assert_null(memmem(out[0].data, out[0].caplen, "Forwarded", 9));
	free_recs(out, 1);
	assert_int_equal(pkt_tshark_check(op, &frames, &bad), 0);
	assert_int_equal(frames, 1);
	assert_int_equal(bad, 0);
	run(&r, "pcap", "--midstream", "--mode", "mirror", ip, op);
	assert_int_equal(r.code, 2);
	assert_contains(r.err, "--midstream needs --mode pcap");
	res_free(&r);
}

/* A non-beacon capture comes out identical, and the summary adds up. */
static void test_passthrough(void **state)
{
	const struct rec in[] = {
		{ 1700000000, 1, f_syn, (uint32_t)l_syn, (uint32_t)l_syn },
		{ 1700000000, 250000, f_tcp4, (uint32_t)l_tcp4, (uint32_t)l_tcp4 },
		{ 1700000001, 999999, f_udp4, (uint32_t)l_udp4, (uint32_t)l_udp4 },
		{ 1700000002, 0, f_tcp6, (uint32_t)l_tcp6, (uint32_t)l_tcp6 },
		{ 1700000003, 42, f_l2, 60, 60 },
		{ 1700000004, 43, f_l2, 40, 1514 },        /* truncated capture */
		{ 1700000005, 44, f_big, (uint32_t)l_big, (uint32_t)l_big },
	};
	const size_t n = sizeof(in) / sizeof(in[0]);
	const char *ip = tpath("pass.pcap"), *op = tpath("pass.out.pcap");
	struct rec *out;
	struct res r;
	int frames = -1, bad = -1, dlt;
	(void)state;

	write_pcap(ip, false, DLT_EN10MB, in, n);

	/* Default policy: addresses masked, everything else as it was. */
	run(&r, "pcap", ip, op);
	assert_int_equal(r.code, 0);
	assert_int_equal(summary(r.out, "packets_in"), n);
	assert_int_equal(summary(r.out, "packets_written"), n);
	assert_int_equal(summary(r.out, "packets_dropped"), 0);
	assert_int_equal(summary(r.out, "packets_unprocessable"), 0);
	for (int i = 0; i < BV_ST_MAX; i++)
		assert_true(summary(r.out, bv_stat_name(i)) >= 0);
	assert_false(exists(tpath("pass.out.pcap.tmp")));
	res_free(&r);
	assert_int_equal(read_capture(op, PCAP_TSTAMP_PRECISION_MICRO, &out, &dlt), n);
	assert_int_equal(dlt, DLT_EN10MB);
	assert_recs(in, n, out, n, false);
	free_recs(out, n);
	assert_int_equal(pkt_tshark_check(op, &frames, &bad), 0);
	assert_int_equal(frames, (int)n);
	assert_int_equal(bad, 0);

	/* ip_mask = off (pcap mode), and inline mode: byte for byte. */
	run(&r, "pcap", "-c", off_conf, ip, op);
	assert_int_equal(r.code, 0);
	assert_int_equal(summary(r.out, "packets_written"), n);
	res_free(&r);
	assert_int_equal(read_capture(op, PCAP_TSTAMP_PRECISION_MICRO, &out, NULL), n);
	assert_same_recs(in, n, out, n);
	free_recs(out, n);

	run(&r, "pcap", "-m", "inline", ip, op);
	assert_int_equal(r.code, 0);
	assert_int_equal(summary(r.out, "packets_written"), n);
	res_free(&r);
	assert_int_equal(read_capture(op, PCAP_TSTAMP_PRECISION_MICRO, &out, NULL), n);
	assert_same_recs(in, n, out, n);
	free_recs(out, n);

	/* Mirror: kept frames are redirected, and written like passed ones. */
	run(&r, "pcap", "--mode", "mirror", "-q", ip, op);
	assert_int_equal(r.code, 0);
	assert_string_equal(r.out, "");
	res_free(&r);
	assert_int_equal(read_capture(op, PCAP_TSTAMP_PRECISION_MICRO, &out, NULL), n);
	assert_recs(in, n, out, n, false);
	free_recs(out, n);
}

static void test_nanosecond_pcap(void **state)
{
	const struct rec in[] = {
		{ 1700000000, 123456789, f_tcp4, (uint32_t)l_tcp4, (uint32_t)l_tcp4 },
		{ 1700000001, 1, f_udp4, (uint32_t)l_udp4, (uint32_t)l_udp4 },
	};
	const char *ip = tpath("ns.pcap"), *op = tpath("ns.out.pcap");
	struct rec *out;
	struct res r;
	uint32_t magic;
	char *raw;
	(void)state;

	write_pcap(ip, true, DLT_EN10MB, in, 2);
	run(&r, "pcap", "-c", off_conf, ip, op);
	assert_int_equal(r.code, 0);
	res_free(&r);
	raw = slurp(op, NULL);
	assert_non_null(raw);
	memcpy(&magic, raw, 4);
	free(raw);
	assert_int_equal(magic, 0xa1b23c4d);
	assert_int_equal(read_capture(op, PCAP_TSTAMP_PRECISION_NANO, &out, NULL), 2);
	assert_same_recs(in, 2, out, 2);
	free_recs(out, 2);
}

static void test_pcapng(void **state)
{
	const struct rec in[] = {
		{ 1700000000, 500, f_tcp4, (uint32_t)l_tcp4, (uint32_t)l_tcp4 },
		{ 1700000000, 501, f_l2, 61, 61 },          /* odd length: EPB padding */
		{ 1700000009, 0, f_tcp6, (uint32_t)l_tcp6, (uint32_t)l_tcp6 },
	};
	const char *ip = tpath("in.pcapng"), *op = tpath("ng.out.pcap");
	struct rec *out;
	struct res r;
	int dlt;
	(void)state;

	write_pcapng(ip, DLT_EN10MB, in, 3);
	run(&r, "pcap", "-c", off_conf, ip, op);
	assert_int_equal(r.code, 0);
	assert_int_equal(summary(r.out, "packets_in"), 3);
	assert_int_equal(summary(r.out, "packets_written"), 3);
	res_free(&r);
	assert_int_equal(read_capture(op, PCAP_TSTAMP_PRECISION_MICRO, &out, &dlt), 3);
	assert_int_equal(dlt, DLT_EN10MB);
	assert_same_recs(in, 3, out, 3);
	free_recs(out, 3);

	/* Empty pcapng (SHB + IDB only). */
	write_pcapng(ip, DLT_EN10MB, NULL, 0);
	run(&r, "pcap", ip, op);
	assert_int_equal(r.code, 0);
	assert_int_equal(summary(r.out, "packets_in"), 0);
	res_free(&r);
	assert_int_equal(read_capture(op, PCAP_TSTAMP_PRECISION_MICRO, &out, NULL), 0);
	free(out);
}

static void test_empty_pcap(void **state)
{
	const char *ip = tpath("empty.pcap"), *op = tpath("empty.out.pcap");
	struct rec *out;
	struct res r;
	int dlt;
	(void)state;

	write_pcap(ip, false, DLT_EN10MB, NULL, 0);
	run(&r, "pcap", ip, op);
	assert_int_equal(r.code, 0);
	assert_int_equal(summary(r.out, "packets_in"), 0);
	assert_int_equal(summary(r.out, "packets_written"), 0);
	res_free(&r);
	assert_true(exists(op));
	assert_int_equal(read_capture(op, PCAP_TSTAMP_PRECISION_MICRO, &out, &dlt), 0);
	assert_int_equal(dlt, DLT_EN10MB);
	free(out);
}

static void test_stdin(void **state)
{
	const struct rec in[] = { { 5, 6, f_tcp4, (uint32_t)l_tcp4, (uint32_t)l_tcp4 } };
	const char *ip = tpath("stdin.pcap"), *op = tpath("stdin.out.pcap");
	struct rec *out;
	struct res r;
	(void)state;

	write_pcap(ip, false, DLT_EN10MB, in, 1);
	run_in(&r, ip, "pcap", "-c", off_conf, "-", op, (char *)NULL);
	assert_int_equal(r.code, 0);
	res_free(&r);
	assert_int_equal(read_capture(op, PCAP_TSTAMP_PRECISION_MICRO, &out, NULL), 1);
	assert_same_recs(in, 1, out, 1);
	free_recs(out, 1);
}

static void test_missing_input(void **state)
{
	const char *ip = tpath("does-not-exist.pcap"), *op = tpath("missing.out.pcap");
	struct res r;
	(void)state;

	run(&r, "pcap", ip, op);
	assert_int_equal(r.code, 1);
	assert_contains(r.err, "does-not-exist.pcap");
	assert_contains(r.err, strerror(ENOENT));
	res_free(&r);
	assert_false(exists(op));
	assert_false(exists(tpath("missing.out.pcap.tmp")));

	/* Not a capture at all. */
	spit(tpath("junk.pcap"), "this is not a capture file at all\n", 34);
	run(&r, "pcap", tpath("junk.pcap"), op);
	assert_int_equal(r.code, 1);
	assert_contains(r.err, "junk.pcap");
	res_free(&r);
	assert_false(exists(op));

	/* A missing config file is a runtime error too. */
	write_pcap(tpath("ok.pcap"), false, DLT_EN10MB, NULL, 0);
	run(&r, "pcap", "-c", tpath("no-such.conf"), tpath("ok.pcap"), op);
	assert_int_equal(r.code, 1);
	assert_contains(r.err, "no-such.conf");
	res_free(&r);
	assert_false(exists(op));
}

/* DLT_RAW is refused by name; an existing OUT is left as it was. */
static void test_link_type(void **state)
{
	static const char keep[] = "previous output, must survive\n";
	const struct rec in[] = { { 1, 0, f_tcp4 + 14, (uint32_t)l_tcp4 - 14,
				    (uint32_t)l_tcp4 - 14 } };
	const char *ip = tpath("raw.pcap"), *op = tpath("raw.out.pcap");
	struct res r;
	size_t len;
	char *c;
	(void)state;

	write_pcap(ip, false, LINKTYPE_RAW, in, 1);
	run(&r, "pcap", ip, op);
	assert_int_equal(r.code, 1);
	assert_contains(r.err, "link type");
	assert_contains(r.err, pcap_datalink_val_to_name(DLT_RAW));
	res_free(&r);
	assert_false(exists(op));
	assert_false(exists(tpath("raw.out.pcap.tmp")));

	spit(op, keep, sizeof(keep) - 1);
	run(&r, "pcap", ip, op);
	assert_int_equal(r.code, 1);
	res_free(&r);
	c = slurp(op, &len);
	assert_non_null(c);
	assert_int_equal(len, sizeof(keep) - 1);
	assert_memory_equal(c, keep, len);
	free(c);
	assert_false(exists(tpath("raw.out.pcap.tmp")));

	/* pcapng with a non-Ethernet interface too. */
	write_pcapng(tpath("raw.pcapng"), LINKTYPE_RAW, in, 1);
	run(&r, "pcap", tpath("raw.pcapng"), op);
	assert_int_equal(r.code, 1);
	assert_contains(r.err, "link type");
	res_free(&r);
}

/* A capture cut inside a record: error, no OUT. */
static void test_truncated_file(void **state)
{
	const struct rec in[] = {
		{ 1, 0, f_tcp4, (uint32_t)l_tcp4, (uint32_t)l_tcp4 },
		{ 2, 0, f_tcp6, (uint32_t)l_tcp6, (uint32_t)l_tcp6 },
	};
	const char *ip = tpath("cut.pcap"), *op = tpath("cut.out.pcap");
	struct res r;
	size_t len;
	char *c;
	(void)state;

	write_pcap(ip, false, DLT_EN10MB, in, 2);
	c = slurp(ip, &len);
	assert_non_null(c);
	spit(ip, c, len - 10);
	free(c);
	run(&r, "pcap", ip, op);
	assert_int_equal(r.code, 1);
	assert_contains(r.err, "cut.pcap");
	assert_contains(r.err, "truncated");
	res_free(&r);
	assert_false(exists(op));
	assert_false(exists(tpath("cut.out.pcap.tmp")));
}

/* Runts and frames the program cannot see whole are never written. */
static void test_unprocessable(void **state)
{
	struct beaconveil_bpf *s = beaconveil_bpf__open();
	size_t lin = bv_xdp_linear_max(), huge = 100000;
	bool frags;
	uint8_t *at_max, *over, *giant;
	struct rec *out;
	struct res r;
	size_t nw;
	(void)state;

	assert_non_null(s);
	frags = bpf_program__flags(s->progs.beaconveil_xdp) & BPF_F_XDP_HAS_FRAGS;
	beaconveil_bpf__destroy(s);

	at_max = calloc(1, lin);
	over = calloc(1, lin + 1);
	giant = calloc(1, huge);
	assert_true(at_max && over && giant);
	memcpy(at_max, f_l2, 14);
	memcpy(over, f_l2, 14);
	memcpy(giant, f_l2, 14);
	memset(at_max + 14, 'a', lin - 14);
	memset(over + 14, 'b', lin + 1 - 14);

	const struct rec in[] = {
		{ 1, 0, f_l2, 10, 10 },                          /* runt */
		{ 1, 1, f_l2, 13, 13 },                          /* runt */
		{ 2, 0, at_max, (uint32_t)lin, (uint32_t)lin },  /* fits */
		{ 3, 0, over, (uint32_t)lin + 1, (uint32_t)lin + 1 },
		{ 4, 0, giant, (uint32_t)huge, (uint32_t)huge }, /* beyond any XDP buffer */
		{ 5, 0, f_tcp4, (uint32_t)l_tcp4, (uint32_t)l_tcp4 },
	};
	const char *ip = tpath("unproc.pcap"), *op = tpath("unproc.out.pcap");

	write_pcap(ip, false, DLT_EN10MB, in, 6);
	run(&r, "pcap", "-c", off_conf, ip, op);
	assert_int_equal(r.code, 0);
	assert_int_equal(summary(r.out, "packets_in"), 6);
	assert_int_equal(summary(r.out, "packets_unprocessable"), frags ? 3 : 4);
	assert_int_equal(summary(r.out, "packets_written"), frags ? 3 : 2);
	res_free(&r);

	nw = read_capture(op, PCAP_TSTAMP_PRECISION_MICRO, &out, NULL);
	assert_int_equal(nw, frags ? 3 : 2);
	assert_same_recs(&in[2], 1, &out[0], 1);
	if (frags)
		assert_same_recs(&in[3], 1, &out[1], 1);
	assert_same_recs(&in[5], 1, &out[nw - 1], 1);
	free_recs(out, nw);
	free(at_max);
	free(over);
	free(giant);
}

/* ---- setup ------------------------------------------------------------------------ */

static int rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(p);
}

static int group_setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/bv-test-pcap.XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(off_conf, sizeof(off_conf), "%s/ip_mask_off.conf", dir);
	{
		static const char conf[] = "[global]\nip_mask = off\n";
		spit(off_conf, conf, sizeof(conf) - 1);
	}
	build_frames();
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	if (!getenv("BV_KEEP_TMP"))
		nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	else
		fprintf(stderr, "test files kept in %s\n", dir);
	return 0;
}

static int find_binary(const char *argv0)
{
	char self[PATH_MAX];
	const char *env = getenv("BEACONVEIL_BIN");
	ssize_t n;

	if (env && *env) {
		snprintf(bin, sizeof(bin), "%s", env);
	} else {
		n = readlink("/proc/self/exe", self, sizeof(self) - 1);
		if (n > 0)
			self[n] = '\0';
		else
			snprintf(self, sizeof(self), "%s", argv0);
		snprintf(bin, sizeof(bin), "%s/../beaconveil", dirname(self));
	}
	if (access(bin, X_OK)) {
		fprintf(stderr, "test_pcap: no executable %s (%s); build it first or set BEACONVEIL_BIN\n",
			bin, strerror(errno));
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_linear_max),
		cmocka_unit_test(test_usage),
		cmocka_unit_test(test_passthrough),
		cmocka_unit_test(test_midstream),
		cmocka_unit_test(test_jobs),
		cmocka_unit_test(test_nanosecond_pcap),
		cmocka_unit_test(test_pcapng),
		cmocka_unit_test(test_empty_pcap),
		cmocka_unit_test(test_stdin),
		cmocka_unit_test(test_missing_input),
		cmocka_unit_test(test_link_type),
		cmocka_unit_test(test_truncated_file),
		cmocka_unit_test(test_unprocessable),
	};

	(void)argc;
	if (geteuid() != 0) {
		fprintf(stderr, "test_pcap: needs root (loads BPF); skipped\n");
		return 77;
	}
	if (find_binary(argv[0]))
		return 1;
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
