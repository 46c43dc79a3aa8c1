/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The Set-Cookie audit through the real, loaded XDP program (pcap mode):
 * requests from the client, responses from the server, one
 * BPF_PROG_TEST_RUN per frame; then the counts in bv_audit, read the way
 * the daemon and `pcap --audit` read them. Rules in docs/AUDIT.md.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "beaconveil.skel.h"
#include <linux/bpf.h>
#include <cmocka.h>

#include "audit.h"
#include "bv_flow.h"
#include "harness.h"
#include "metrics.h"
#include "pktbuild.h"

#define CLIENT4 "203.0.113.57"
#define SERVER4 "198.18.0.10"
#define CLIENT6 "2001:db8:85a3:8d3:1319:8a2e:370:7348"
#define SERVER6 "2001:db8::10"
#define DATE "Date: Thu, 03 Dec 2026 10:00:00 GMT\r\n"
#define APP "ea7c4b59f27d43eb"

static struct bv_harness H;
static enum bv_mode mode = BV_MODE_PCAP;
static uint8_t out[16384];
static size_t outlen;
static uint16_t next_cport = 42000;

struct conn {
	int family;            /* 0: 4 */
	uint16_t cport, sport;
	uint32_t cseq, sseq;
	int syn;
};

static int run(const uint8_t *in, size_t len)
{
	outlen = sizeof(out);
	return harness_run(&H, in, len, out, &outlen);
}

static void conn_init(struct conn *c, uint16_t sport)
{
	memset(c, 0, sizeof(*c));
	c->cport = next_cport++;
	c->sport = sport;
	c->cseq = 1000;
	c->sseq = 5000;
}

/* The client's request (its SYN first, once). */
static void req(struct conn *c, const char *s)
{
	static uint8_t f[8192];
	struct pkt_opts o = { .family = 4, .src = CLIENT4, .dst = SERVER4,
			      .sport = c->cport, .dport = c->sport };
	size_t n;

	if (c->family == 6) {
		o.family = 6;
		o.src = CLIENT6;
		o.dst = SERVER6;
	}
	if (!c->syn) {
		o.tcp_flags = 0x02;
		o.seq = c->cseq - 1;
		n = pkt_build_tcp(f, sizeof(f), &o, NULL, 0);
		assert_true(n > 0);
		assert_int_equal(run(f, n), XDP_PASS);
		c->syn = 1;
		o.tcp_flags = 0;
	}
	o.seq = c->cseq;
	n = pkt_build_tcp(f, sizeof(f), &o, s, strlen(s));
	assert_true(n > 0);
	assert_int_equal(run(f, n), XDP_PASS);
	c->cseq += (uint32_t)strlen(s);
}

/* One server->client segment; checks the audit changed no payload byte. */
static void resp_at(struct conn *c, uint32_t seq, const char *s)
{
	static uint8_t f[8192];
	struct pkt_opts o = { .family = 4, .src = SERVER4, .dst = CLIENT4,
			      .sport = c->sport, .dport = c->cport, .seq = seq };
	const uint8_t *p;
	size_t n, plen = 0;

	if (c->family == 6) {
		o.family = 6;
		o.src = SERVER6;
		o.dst = CLIENT6;
	}
	n = pkt_build_tcp(f, sizeof(f), &o, s, strlen(s));
	assert_true(n > 0);
	assert_int_equal(run(f, n), XDP_PASS);
	p = pkt_payload(out, outlen, &plen);
	assert_non_null(p);
	assert_int_equal(plen, strlen(s));
	assert_memory_equal(p, s, plen);
	assert_true(pkt_ipv4_csum_ok(out, outlen));
	assert_true(pkt_l4_csum_ok(out, outlen));
	{
		/* the client's address (the destination here) masked as before */
		struct pkt_view v;

		assert_int_equal(pkt_parse(out, outlen, &v), 0);
		if (mode == BV_MODE_INLINE)
			assert_int_equal(v.dst[3], v.family == 4 ? 57 : 0x38);
		else if (v.family == 4)
			assert_int_equal(v.dst[3], 0);
		else
			assert_int_equal(v.dst[15], 0);
	}
}

static void resp(struct conn *c, const char *s)
{
	resp_at(c, c->sseq, s);
	c->sseq += (uint32_t)strlen(s);
}

/* A page request naming a host, then the response. */
static void page(const char *host, const char *response)
{
	struct conn c;
	char r[256];

	conn_init(&c, 80);
	snprintf(r, sizeof(r), "GET /index.html HTTP/1.1\r\nHost: %s\r\n\r\n", host);
	req(&c, r);
	resp(&c, response);
}

static int cookie_id(const char *name)
{
	for (int c = 0; c < BV_AUC_MAX; c++)
		if (!strcmp(bv_audit_cookie_name(c), name))
			return c;
	fail_msg("no cookie %s", name);
	return -1;
}

/* n[kind] of the row (by, id, cookie); id "" for the port 80 rows' text. */
static unsigned long long count(int by, const char *id, const char *cookie, int kind)
{
	struct bv_audit_rowk *rows;
	size_t n;
	unsigned long long v = 0;
	char t[64];
	int ck = cookie_id(cookie);

	assert_int_equal(bv_audit_read(bpf_map__fd(H.skel->maps.bv_audit), &rows, &n), 0);
	if (getenv("BV_AUDIT_DEBUG")) /* BV_AUDIT_DEBUG=1: every row read, on stderr */
		bv_audit_report(stderr, rows, n);
	for (size_t i = 0; i < n; i++) {
		bv_audit_app_text(&rows[i].key.app, t, sizeof(t));
		if (rows[i].key.app.by == by && !strcmp(t, id) && rows[i].key.cookie == ck)
			v += rows[i].n[kind];
	}
	free(rows);
	return v;
}

/* The sum of n[kind] over every row. */
static unsigned long long total(int kind)
{
	struct bv_audit_rowk *rows;
	size_t n;
	unsigned long long v = 0;

	assert_int_equal(bv_audit_read(bpf_map__fd(H.skel->maps.bv_audit), &rows, &n), 0);
	for (size_t i = 0; i < n; i++)
		v += rows[i].n[kind];
	free(rows);
	return v;
}

static unsigned long long findings(void)
{
	return total(BV_AU_HTTPONLY) + total(BV_AU_NO_SECURE) + total(BV_AU_NONE_INSECURE) +
	       total(BV_AU_LIFETIME_LONG) + total(BV_AU_LIFETIME_UNKNOWN);
}

static void clear_map(int fd, size_t ksz)
{
	unsigned char k[128];

	assert_true(ksz <= sizeof(k));
	for (int guard = 0; guard < 100000 && !bpf_map_get_next_key(fd, NULL, k); guard++)
		bpf_map_delete_elem(fd, k);
}

/* Audit on with the given extra flags and audit ports; state forgotten. */
static void audit_config(__u32 flags, const __u16 *ports, int nports)
{
	H.cfg.settings.flags &= ~(BV_SETF_AUDIT | BV_SETF_AUDIT_SECURE | BV_SETF_RVCL_MASK);
	H.cfg.settings.flags |= BV_SETF_AUDIT | flags;
	H.cfg.naudit_ports = nports;
	for (int i = 0; i < nports; i++)
		H.cfg.audit_ports[i] = ports[i];
	assert_int_equal(harness_apply(&H), 0);
	harness_clear_flows(&H);
	clear_map(bpf_map__fd(H.skel->maps.bv_audit), sizeof(struct bv_audit_key));
	clear_map(bpf_map__fd(H.skel->maps.bv_auflow), sizeof(struct bv_flow_key));
}

#define HOST(h) BV_AUBY_HOST, h

static void test_compliant_no_finding(void **state)
{
	(void)state;
	audit_config(0, NULL, 0);
	page("www.example.com",
	     "HTTP/1.1 200 OK\r\nServer: nginx\r\n" DATE
	     "Set-Cookie: dtCookie=v_4_srv_7_sn_4D31; Path=/; SameSite=Lax\r\n"
	     "Set-Cookie: rxVisitor=1733221234567ABCDEFGHIJKLMNOPQRSTUVWXYZ012345; "
	     "Max-Age=31536000; Path=/; SameSite=Lax\r\n"
	     "Set-Cookie: rxvt=1733223034567|1733221234567; Path=/; Expires=Thu, 03 Dec 2026 "
	     "10:30:00 GMT\r\n"
	     "Content-Length: 0\r\n\r\n");
	assert_int_equal(count(HOST("www.example.com"), "", BV_AU_RESPONSES), 1);
	assert_int_equal(count(HOST("www.example.com"), "dtCookie", BV_AU_SET), 1);
	assert_int_equal(count(HOST("www.example.com"), "dtCookie", BV_AU_SS_LAX), 1);
	assert_int_equal(count(HOST("www.example.com"), "rxVisitor", BV_AU_SET), 1);
	assert_int_equal(count(HOST("www.example.com"), "rxvt", BV_AU_SS_ABSENT), 1);
	assert_int_equal(findings(), 0);
	assert_int_equal(total(BV_AU_INCOMPLETE), 0);
}

static void test_httponly_on_rxvisitor(void **state)
{
	(void)state;
	audit_config(0, NULL, 0);
	page("www.example.com",
	     "HTTP/1.1 200 OK\r\n" DATE
	     "set-cookie: dtCookie=v_4_srv_7; Path=/\r\n"
	     "SET-COOKIE: rxVisitor=1733221234567ABC; Path=/; httponly\r\n\r\n");
	assert_int_equal(count(HOST("www.example.com"), "rxVisitor", BV_AU_HTTPONLY), 1);
	assert_int_equal(count(HOST("www.example.com"), "dtCookie", BV_AU_HTTPONLY), 0);
	assert_int_equal(findings(), 1);
}

static void test_secure_required(void **state)
{
	(void)state;
	audit_config(BV_SETF_AUDIT_SECURE, NULL, 0);
	page("shop.example.com",
	     "HTTP/1.1 200 OK\r\n" DATE
	     "Set-Cookie: dtCookie=v_4; Path=/; SameSite=Lax\r\n"
	     "Set-Cookie: dtPC=7$221234567_123h1; Path=/; SECURE; SameSite=Strict\r\n\r\n");
	assert_int_equal(count(HOST("shop.example.com"), "dtCookie", BV_AU_NO_SECURE), 1);
	assert_int_equal(count(HOST("shop.example.com"), "dtPC", BV_AU_NO_SECURE), 0);
	assert_int_equal(count(HOST("shop.example.com"), "dtPC", BV_AU_SS_STRICT), 1);
	assert_int_equal(findings(), 1);

	/* not required: no finding for the same response */
	audit_config(0, NULL, 0);
	page("shop.example.com",
	     "HTTP/1.1 200 OK\r\n" DATE "Set-Cookie: dtCookie=v_4; Path=/; SameSite=Lax\r\n\r\n");
	assert_int_equal(findings(), 0);
	assert_int_equal(count(HOST("shop.example.com"), "dtCookie", BV_AU_SET), 1);
}

static void test_samesite_none_needs_secure(void **state)
{
	(void)state;
	audit_config(0, NULL, 0);
	page("www.example.com",
	     "HTTP/1.1 200 OK\r\n" DATE
	     "Set-Cookie: dtSa=-; Path=/; samesite=NONE\r\n"
	     "Set-Cookie: dtLatC=12; Path=/; SameSite = None ; Secure\r\n"
	     "Set-Cookie: dtDisabled=true; Path=/; SameSite=Sometimes\r\n\r\n");
	assert_int_equal(count(HOST("www.example.com"), "dtSa", BV_AU_NONE_INSECURE), 1);
	assert_int_equal(count(HOST("www.example.com"), "dtSa", BV_AU_SS_NONE), 1);
	assert_int_equal(count(HOST("www.example.com"), "dtLatC", BV_AU_NONE_INSECURE), 0);
	assert_int_equal(count(HOST("www.example.com"), "dtLatC", BV_AU_SS_NONE), 1);
	assert_int_equal(count(HOST("www.example.com"), "dtDisabled", BV_AU_SS_OTHER), 1);
	assert_int_equal(findings(), 1);
}

static void test_rxvisitor_max_age(void **state)
{
	(void)state;
	/* default rvcl 24 months = 24 * 2629746 = 63113904 s */
	audit_config(0, NULL, 0);
	page("a.example.com", "HTTP/1.1 200 OK\r\n"
	     "Set-Cookie: rxVisitor=1; Max-Age=63113904; Path=/\r\n\r\n");
	assert_int_equal(findings(), 0);
	page("a.example.com", "HTTP/1.1 200 OK\r\n"
	     "Set-Cookie: rxVisitor=1; max-age=63113905; Path=/\r\n\r\n");
	assert_int_equal(count(HOST("a.example.com"), "rxVisitor", BV_AU_LIFETIME_LONG), 1);
	/* a long dtCookie is not judged for lifetime */
	page("a.example.com", "HTTP/1.1 200 OK\r\n"
	     "Set-Cookie: dtCookie=1; Max-Age=99999999999\r\n\r\n");
	assert_int_equal(findings(), 1);

	/* rvcl 12: 31556952 s */
	audit_config(12u << BV_SETF_RVCL_SHIFT, NULL, 0);
	page("a.example.com", "HTTP/1.1 200 OK\r\n"
	     "Set-Cookie: rxVisitor=1; Max-Age=31536000\r\n\r\n");
	assert_int_equal(findings(), 0);
	page("a.example.com", "HTTP/1.1 200 OK\r\n"
	     "Set-Cookie: rxVisitor=1; Max-Age=31556953\r\n\r\n");
	assert_int_equal(count(HOST("a.example.com"), "rxVisitor", BV_AU_LIFETIME_LONG), 1);
	/* Max-Age wins over Expires (RFC 6265 5.3) */
	page("a.example.com", "HTTP/1.1 200 OK\r\n" DATE
	     "Set-Cookie: rxVisitor=1; Expires=Fri, 03 Dec 2100 10:00:00 GMT; Max-Age=100\r\n\r\n");
	assert_int_equal(findings(), 1);
	/* a deletion is no finding, whatever it carries */
	page("a.example.com", "HTTP/1.1 200 OK\r\n"
	     "Set-Cookie: rxVisitor=; Max-Age=0; HttpOnly\r\n\r\n");
	assert_int_equal(findings(), 1);
	/* not digits: the attribute is ignored, a session cookie remains */
	page("a.example.com", "HTTP/1.1 200 OK\r\n"
	     "Set-Cookie: rxVisitor=1; Max-Age=1e9\r\n\r\n");
	assert_int_equal(findings(), 1);
}

static void test_rxvisitor_expires(void **state)
{
	(void)state;
	audit_config(0, NULL, 0);
	/* 2026-12-03 + 731 days (2028 is a leap year) > 63113904 s */
	page("b.example.com", "HTTP/1.1 200 OK\r\n" DATE
	     "Set-Cookie: rxVisitor=1; Path=/; Expires=Sun, 03 Dec 2028 10:00:00 GMT\r\n\r\n");
	assert_int_equal(count(HOST("b.example.com"), "rxVisitor", BV_AU_LIFETIME_LONG), 1);
	/* within: 729 days, IMF-fixdate and the Netscape form; Date after the cookie */
	page("b.example.com", "HTTP/1.1 200 OK\r\n"
	     "Set-Cookie: rxVisitor=1; Path=/; Expires=Fri, 01 Dec 2028 10:00:00 GMT\r\n"
	     "Set-Cookie: rxVisitor_1234=1; expires=Fri, 01-Dec-2028 10:00:00 GMT; Path=/\r\n"
	     DATE "\r\n");
	assert_int_equal(count(HOST("b.example.com"), "rxVisitor", BV_AU_LIFETIME_LONG), 1);
	assert_int_equal(count(HOST("b.example.com"), "rxVisitor", BV_AU_SET), 3);
	assert_int_equal(findings(), 1);
	/* Expires without a Date: the lifetime cannot be known */
	page("b.example.com", "HTTP/1.1 200 OK\r\n"
	     "Set-Cookie: rxVisitor=1; Expires=Fri, 01 Dec 2028 10:00:00 GMT\r\n\r\n");
	assert_int_equal(count(HOST("b.example.com"), "rxVisitor", BV_AU_LIFETIME_UNKNOWN), 1);
	/* an Expires we cannot read, too */
	page("b.example.com", "HTTP/1.1 200 OK\r\n" DATE
	     "Set-Cookie: rxVisitor=1; Expires=someday\r\n\r\n");
	assert_int_equal(count(HOST("b.example.com"), "rxVisitor", BV_AU_LIFETIME_UNKNOWN), 2);
	/* in the past: a deletion, no finding */
	page("b.example.com", "HTTP/1.1 200 OK\r\n" DATE
	     "Set-Cookie: rxVisitor=; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly\r\n\r\n");
	assert_int_equal(findings(), 3);
}

/* The date forms and attribute spellings docs/AUDIT.md promises. */
static void test_dates_and_spellings(void **state)
{
	(void)state;
	audit_config(0, NULL, 0);
	/* asctime, RFC 850 (two-digit year), over 24 months after Date */
	page("f.example.com", "HTTP/1.1 200 OK\r\n" DATE
	     "Set-Cookie: rxVisitor=1; Expires=Sun Dec  3 10:00:00 2028\r\n"
	     "Set-Cookie: rxVisitor=2; Expires=Sunday, 03-Dec-28 10:00:00 GMT\r\n\r\n");
	assert_int_equal(count(HOST("f.example.com"), "rxVisitor", BV_AU_LIFETIME_LONG), 2);
	/* spaces around the value are not part of it; a Max-Age with spaces inside is ignored */
	page("f.example.com", "HTTP/1.1 200 OK\r\n"
	     "Set-Cookie: rxVisitor=1; Max-Age= 99999999 \r\n"
	     "Set-Cookie: rxVisitor=1; Max-Age=9999 9999\r\n\r\n");
	assert_int_equal(count(HOST("f.example.com"), "rxVisitor", BV_AU_LIFETIME_LONG), 3);
	/* a negative Max-Age deletes: no finding for its HttpOnly */
	page("f.example.com", "HTTP/1.1 200 OK\r\nSet-Cookie: rxVisitor=; Max-Age=-1; HttpOnly\r\n\r\n");
	/* two Date headers: which clock? the lifetime is unknown */
	page("f.example.com", "HTTP/1.1 200 OK\r\n" DATE DATE
	     "Set-Cookie: rxVisitor=1; Expires=Fri, 01 Dec 2028 10:00:00 GMT\r\n\r\n");
	assert_int_equal(count(HOST("f.example.com"), "rxVisitor", BV_AU_LIFETIME_UNKNOWN), 1);
	/* SameSite without a value; the last of two SameSite counts */
	page("f.example.com", "HTTP/1.1 200 OK\r\n"
	     "Set-Cookie: dtSa=1; SameSite\r\n"
	     "Set-Cookie: dtPC=1; SameSite=None; SameSite=Lax\r\n\r\n");
	assert_int_equal(count(HOST("f.example.com"), "dtSa", BV_AU_SS_OTHER), 1);
	assert_int_equal(count(HOST("f.example.com"), "dtPC", BV_AU_SS_LAX), 1);
	assert_int_equal(count(HOST("f.example.com"), "dtPC", BV_AU_NONE_INSECURE), 0);
	assert_int_equal(findings(), 4);
	assert_int_equal(total(BV_AU_INCOMPLETE), 0);
}

static void test_suffixes_and_other_cookies(void **state)
{
	(void)state;
	audit_config(0, NULL, 0);
	page("c.example.com", "HTTP/1.1 200 OK\r\n" DATE
	     "Set-Cookie: dtCookie1234=v_4; HttpOnly\r\n"
	     "Set-Cookie: rxVisitor_1234=1; HttpOnly\r\n"
	     "Set-Cookie: dtCookie=v_4; HttpOnly\r\n"
	     /* not RUM cookies: ignored whatever they carry */
	     "Set-Cookie: session=abc; HttpOnly; SameSite=None\r\n"
	     "Set-Cookie: xrxVisitor=1; HttpOnly\r\n"
	     "Set-Cookie: rxVisitorX=1; HttpOnly\r\n"
	     "Set-Cookie: dtCookieConsent=yes; HttpOnly\r\n"
	     "Set-Cookie: rxvisitor=1; HttpOnly\r\n\r\n");
	assert_int_equal(count(HOST("c.example.com"), "dtCookie", BV_AU_HTTPONLY), 2);
	assert_int_equal(count(HOST("c.example.com"), "rxVisitor", BV_AU_HTTPONLY), 1);
	assert_int_equal(findings(), 3);
	assert_int_equal(total(BV_AU_SET), 3);
	assert_int_equal(total(BV_AU_INCOMPLETE), 0);
}

static void test_incomplete_never_judged(void **state)
{
	(void)state;
	audit_config(BV_SETF_AUDIT_SECURE, NULL, 0);
	/* a head cut by the segment's end: nothing judged, not even whole lines */
	page("d.example.com", "HTTP/1.1 200 OK\r\n" DATE
	     "Set-Cookie: rxVisitor=1; HttpOnly\r\nSet-Cookie: dtCook");
	assert_int_equal(count(HOST("d.example.com"), "", BV_AU_INCOMPLETE), 1);
	assert_int_equal(count(HOST("d.example.com"), "", BV_AU_RESPONSES), 0);
	assert_int_equal(findings(), 0);
	assert_int_equal(total(BV_AU_SET), 0);

	/* malformed lines: no '=', a control byte, folded onto the next line */
	page("d.example.com", "HTTP/1.1 200 OK\r\n" DATE
	     "Set-Cookie: rxVisitor\r\n"
	     "Set-Cookie: rxVisitor=1\x01; HttpOnly\r\n"
	     "Set-Cookie: dtCookie=1; Path=/\r\n\tHttpOnly\r\n"
	     "Set-Cookie: rxvt=1; Secure\r\n\r\n");
	assert_int_equal(count(HOST("d.example.com"), "", BV_AU_RESPONSES), 1);
	assert_int_equal(count(HOST("d.example.com"), "", BV_AU_INCOMPLETE), 2);
	assert_int_equal(count(HOST("d.example.com"), "rxVisitor", BV_AU_INCOMPLETE), 1);
	assert_int_equal(count(HOST("d.example.com"), "dtCookie", BV_AU_INCOMPLETE), 1);
	assert_int_equal(count(HOST("d.example.com"), "rxvt", BV_AU_SET), 1);
	assert_int_equal(findings(), 0);
	/* two lines not judged in one response: the response counts once */
	page("d.example.com", "HTTP/1.1 200 OK\r\n"
	     "Set-Cookie: dtCookie=1\r\n HttpOnly\r\n"
	     "Set-Cookie: dtCookie=2\r\n\tHttpOnly\r\n\r\n");
	assert_int_equal(count(HOST("d.example.com"), "dtCookie", BV_AU_INCOMPLETE), 2);
	assert_int_equal(findings(), 0);

	/* bodies and continuations are not response heads: not read */
	page("d.example.com", "<html>Set-Cookie: rxVisitor=1; HttpOnly\r\n\r\n</html>");
	assert_int_equal(count(HOST("d.example.com"), "", BV_AU_RESPONSES), 2);
	assert_int_equal(findings(), 0);
}

static void test_attribution(void **state)
{
	struct conn c;
	uint32_t s0;

	(void)state;
	audit_config(0, (const __u16[]){ 8000 }, 1);
	/* a beacon naming its application, then a page on the same connection */
	conn_init(&c, 80);
	req(&c, "POST /rb_bf12345abc?type=js3&app=" APP "&sn=1 HTTP/1.1\r\n"
		"Host: www.example.com\r\nContent-Length: 0\r\n\r\n");
	s0 = c.sseq;
	resp(&c, "HTTP/1.1 200 OK\r\nSet-Cookie: rxVisitor=1; HttpOnly\r\n\r\n");
	assert_int_equal(count(BV_AUBY_APP, APP, "rxVisitor", BV_AU_HTTPONLY), 1);
	/* the same response again (a retransmission) is not counted twice */
	resp_at(&c, s0, "HTTP/1.1 200 OK\r\nSet-Cookie: rxVisitor=1; HttpOnly\r\n\r\n");
	assert_int_equal(count(BV_AUBY_APP, APP, "rxVisitor", BV_AU_HTTPONLY), 1);
	req(&c, "GET /page HTTP/1.1\r\nHost: WWW.Example.COM:80\r\n\r\n");
	resp(&c, "HTTP/1.1 200 OK\r\nSet-Cookie: dtCookie=1; HttpOnly\r\n\r\n");
	assert_int_equal(count(HOST("www.example.com"), "dtCookie", BV_AU_HTTPONLY), 1);
	assert_int_equal(count(BV_AUBY_APP, APP, "", BV_AU_RESPONSES), 1);

	/* an audited port without the request scanner: by server port */
	conn_init(&c, 8000);
	req(&c, "GET / HTTP/1.1\r\nHost: www.example.com\r\n\r\n");
	resp(&c, "HTTP/1.1 200 OK\r\nSet-Cookie: dtCookie=1; HttpOnly\r\n\r\n");
	assert_int_equal(count(BV_AUBY_PORT, "8000", "dtCookie", BV_AU_HTTPONLY), 1);
	/* IPv6: the same attribution */
	conn_init(&c, 80);
	c.family = 6;
	req(&c, "GET / HTTP/1.1\r\nHost: v6.example.com\r\n\r\n");
	resp(&c, "HTTP/1.1 200 OK\r\nSet-Cookie: dtCookie=1; HttpOnly\r\n\r\n");
	assert_int_equal(count(HOST("v6.example.com"), "dtCookie", BV_AU_HTTPONLY), 1);
	/* a port that is neither: not read */
	conn_init(&c, 9000);
	resp(&c, "HTTP/1.1 200 OK\r\nSet-Cookie: dtCookie=1; HttpOnly\r\n\r\n");
	assert_int_equal(findings(), 4);
}

/* More applications than bv_audit has rows: the rest in the overflow row,
 * no count lost, and /metrics names it. */
static void test_overflow_row(void **state)
{
	struct bv_metrics_src src = { .stats_fd = -1, .ifdec_fd = -1, .events_fd = -1,
				      .audit_fd = bpf_map__fd(H.skel->maps.bv_audit),
				      .audit_k = 1, .mode = "pcap" };
	struct bv_audit_rowk *rows;
	size_t n, len = 0;
	char host[64], *text = NULL;
	unsigned long long ovf = 0;
	const int napps = BV_AUDIT_MAX + 50;

	(void)state;
	audit_config(0, NULL, 0);
	for (int i = 0; i < napps; i++) {
		snprintf(host, sizeof(host), "h%d.example.com", i);
		page(host, "HTTP/1.1 200 OK\r\nSet-Cookie: dtCookie=1; HttpOnly\r\n\r\n");
	}
	assert_int_equal(bv_audit_read(bpf_map__fd(H.skel->maps.bv_audit), &rows, &n), 0);
	assert_true(n <= BV_AUDIT_MAX);
	for (size_t i = 0; i < n; i++)
		if (rows[i].key.app.by == BV_AUBY_OVERFLOW)
			ovf += rows[i].n[BV_AU_HTTPONLY];
	free(rows);
	assert_true(ovf >= 50);
	assert_int_equal(total(BV_AU_HTTPONLY), napps);
	assert_int_equal(total(BV_AU_RESPONSES), napps);
	assert_int_equal(bv_metrics_render(&src, &text, &len), 0);
	assert_non_null(strstr(text, "beaconveil_audit_findings_total{by=\"\",app=\":overflow\","
				     "cookie=\"dtCookie\",finding=\"httponly\"}"));
	free(text);
}

static void test_audit_off(void **state)
{
	(void)state;
	audit_config(0, NULL, 0);
	H.cfg.settings.flags &= ~BV_SETF_AUDIT;
	assert_int_equal(harness_apply(&H), 0);
	page("e.example.com", "HTTP/1.1 200 OK\r\nSet-Cookie: rxVisitor=1; HttpOnly\r\n\r\n");
	assert_int_equal(total(BV_AU_RESPONSES), 0);
	assert_int_equal(findings(), 0);
}

static void test_report_and_metrics_text(void **state)
{
	struct bv_audit_rowk *rows;
	char *buf = NULL;
	size_t n, len = 0;
	FILE *f;

	(void)state;
	audit_config(0, NULL, 0);
	page("www.example.com", "HTTP/1.1 200 OK\r\nSet-Cookie: rxVisitor=1; HttpOnly\r\n\r\n");
	assert_int_equal(bv_audit_read(bpf_map__fd(H.skel->maps.bv_audit), &rows, &n), 0);
	f = open_memstream(&buf, &len);
	assert_non_null(f);
	bv_audit_report(f, rows, n);
	fclose(f);
	free(rows);
	assert_non_null(strstr(buf, "host www.example.com\n"));
	assert_non_null(strstr(buf, "  responses 1\n"));
	assert_non_null(strstr(buf, "  rxVisitor httponly 1\n"));
	assert_non_null(strstr(buf, "audit_findings 1\n"));
	free(buf);

	/* an application id a client chose is shown escaped, never raw */
	{
		struct conn c;

		audit_config(0, NULL, 0);
		conn_init(&c, 80);
		req(&c, "POST /rb_bf1?app=a%b\x1b[2J HTTP/1.1\r\nHost: x.example.com\r\n"
			"Content-Length: 0\r\n\r\n");
		resp(&c, "HTTP/1.1 200 OK\r\nSet-Cookie: dtPC=1; HttpOnly\r\n\r\n");
		assert_int_equal(bv_audit_read(bpf_map__fd(H.skel->maps.bv_audit), &rows, &n), 0);
		buf = NULL;
		f = open_memstream(&buf, &len);
		assert_non_null(f);
		bv_audit_report(f, rows, n);
		fclose(f);
		free(rows);
		assert_null(strchr(buf, 0x1b));
		assert_non_null(strstr(buf, "app a%25b%1B[2J\n"));
		free(buf);
	}
}

/* The /metrics families: valid for promtool, applications under k merged. */
static void test_metrics_families(void **state)
{
	struct bv_metrics_src src = { .stats_fd = -1, .ifdec_fd = -1, .events_fd = -1,
				      .audit_fd = bpf_map__fd(H.skel->maps.bv_audit),
				      .audit_k = 2, .mode = "pcap" };
	char *text = NULL, cmd[256], path[] = "/tmp/bva-metrics.XXXXXX";
	size_t len = 0;
	int fd, rc;

	(void)state;
	audit_config(0, NULL, 0);
	page("big.example.com", "HTTP/1.1 200 OK\r\nSet-Cookie: rxVisitor=1; HttpOnly\r\n\r\n");
	page("big.example.com", "HTTP/1.1 200 OK\r\nSet-Cookie: dtCookie=1\r\n\r\n");
	page("small.example.com", "HTTP/1.1 200 OK\r\nSet-Cookie: rxVisitor=1; HttpOnly\r\n\r\n");
	assert_int_equal(bv_metrics_render(&src, &text, &len), 0);
	assert_non_null(strstr(text, "beaconveil_audit_responses_total{by=\"host\",app=\"big.example.com\"} 2\n"));
	assert_non_null(strstr(text, "beaconveil_audit_findings_total{by=\"host\",app=\"big.example.com\","
				     "cookie=\"rxVisitor\",finding=\"httponly\"} 1\n"));
	assert_non_null(strstr(text, "beaconveil_audit_cookies_total{by=\"host\",app=\"big.example.com\","
				     "cookie=\"dtCookie\",samesite=\"absent\"} 1\n"));
	/* one response only: merged, its name not shown */
	assert_null(strstr(text, "small.example.com"));
	assert_non_null(strstr(text, "beaconveil_audit_findings_total{by=\"\",app=\":below_k\","
				     "cookie=\"rxVisitor\",finding=\"httponly\"} 1\n"));
	assert_non_null(strstr(text, "beaconveil_audit_responses_total{by=\"\",app=\":below_k\"} 1\n"));
	assert_non_null(strstr(text, "beaconveil_audit_incomplete_total{by=\"host\",app=\"big.example.com\","
				     "cookie=\"unknown\"} 0\n"));
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	close(fd);
	if (system("command -v promtool >/dev/null 2>&1") != 0)
		fail_msg("promtool not found: install the Debian package 'prometheus' "
			 "(tools/deps/metrics.list; sudo make deps)");
	snprintf(cmd, sizeof(cmd), "promtool check metrics < %s 2>&1 | grep -q . && exit 1; "
		 "promtool check metrics < %s >/dev/null 2>&1", path, path);
	rc = system(cmd);
	unlink(path);
	if (rc != 0)
		fail_msg("promtool check metrics failed on:\n%s", text);
	free(text);
}

/* The request side is the same with the audit on: every output byte of a
 * page request and a beacon, whole and cut into small segments, and the
 * attribution still found from a Host cut by a segment boundary. */
static void send_cut(struct conn *c, const char *s, size_t seg, uint8_t *acc, size_t *alen)
{
	static uint8_t f[8192];
	size_t len = strlen(s);

	for (size_t off = 0; off < len; off += seg) {
		struct pkt_opts o = { .family = 4, .src = CLIENT4, .dst = SERVER4,
				      .sport = c->cport, .dport = c->sport, .seq = c->cseq };
		size_t n = len - off < seg ? len - off : seg, plen = 0, fl;
		const uint8_t *p;

		fl = pkt_build_tcp(f, sizeof(f), &o, s + off, n);
		assert_true(fl > 0);
		assert_int_equal(run(f, fl), XDP_PASS);
		p = pkt_payload(out, outlen, &plen);
		assert_non_null(p);
		assert_int_equal(plen, n);
		memcpy(acc + *alen, p, plen);
		*alen += plen;
		c->cseq += (uint32_t)n;
	}
}

static void test_requests_unchanged(void **state)
{
	static const char page_req[] =
		"GET /index.html HTTP/1.1\r\nHost: www.example.com\r\n"
		"X-Forwarded-For: 203.0.113.77\r\nCookie: rxVisitor=1733221234567ABCDEFGHIJKLMNOPQRSTUVWXYZ012345\r\n\r\n";
	static const char beacon_req[] =
		"POST /rb_bf12345abc?type=js3&app=" APP "&vi=ABCDEFGHIJKLMNOP HTTP/1.1\r\n"
		"Host: www.example.com\r\nDNT: 1\r\nX-Forwarded-For: 203.0.113.77\r\n"
		"Cookie: dtCookie=v_4_srv_7; rxVisitor=1733221234567ABCDEFGHIJKLMNOPQRSTUVWXYZ012345\r\n"
		"Content-Length: 0\r\n\r\n";
	static uint8_t off_bytes[2][1024], on_bytes[2][1024];
	size_t segs[] = { 1, 3, 7, 500 };

	(void)state;
	for (size_t k = 0; k < sizeof(segs) / sizeof(segs[0]); k++) {
		for (int audit = 0; audit < 2; audit++) {
			struct conn c;
			size_t l0 = 0, l1 = 0;

			audit_config(0, NULL, 0);
			if (!audit) {
				H.cfg.settings.flags &= ~BV_SETF_AUDIT;
				assert_int_equal(harness_apply(&H), 0);
			}
			conn_init(&c, 80);
			c.cport = 43000; /* the same connection both times: the same pseudonyms */
			req(&c, "");
			c.cseq = 1000;
			send_cut(&c, page_req, segs[k], audit ? on_bytes[0] : off_bytes[0], &l0);
			send_cut(&c, beacon_req, segs[k], audit ? on_bytes[1] : off_bytes[1], &l1);
			assert_int_equal(l0, strlen(page_req));
			assert_int_equal(l1, strlen(beacon_req));
			if (audit) {
				resp(&c, "HTTP/1.1 200 OK\r\nSet-Cookie: rxVisitor=1; HttpOnly\r\n\r\n");
				assert_int_equal(count(BV_AUBY_APP, APP, "rxVisitor", BV_AU_HTTPONLY), 1);
			}
		}
		assert_memory_equal(off_bytes[0], on_bytes[0], strlen(page_req));
		assert_memory_equal(off_bytes[1], on_bytes[1], strlen(beacon_req));
		/* and the program did rewrite them (the comparison means something) */
		assert_null(memmem(on_bytes[0], strlen(page_req), "203.0.113.77", 12));
		assert_null(memmem(on_bytes[1], strlen(beacon_req), "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345", 32));
	}
	/* a page alone, its Host cut into 1-byte segments: attributed by Host */
	{
		struct conn c;
		size_t l = 0;

		audit_config(0, NULL, 0);
		conn_init(&c, 80);
		req(&c, "");
		c.cseq = 1000;
		send_cut(&c, page_req, 1, on_bytes[0], &l);
		resp(&c, "HTTP/1.1 200 OK\r\nSet-Cookie: dtCookie=1; HttpOnly\r\n\r\n");
		assert_int_equal(count(HOST("www.example.com"), "dtCookie", BV_AU_HTTPONLY), 1);
	}
}

/* Inline: the NIC sees no responses in real life; a response given to it
 * anyway is not read (and the program refuses nothing for the audit). */
static void test_inline_reads_nothing(void **state)
{
	(void)state;
	harness_close(&H);
	mode = BV_MODE_INLINE;
	assert_int_equal(harness_open(&H, BV_MODE_INLINE), 0);
	audit_config(BV_SETF_AUDIT_SECURE, NULL, 0);
	page("www.example.com", "HTTP/1.1 200 OK\r\nSet-Cookie: rxVisitor=1; HttpOnly\r\n\r\n");
	assert_int_equal(total(BV_AU_RESPONSES), 0);
	assert_int_equal(findings(), 0);
	assert_int_equal(total(BV_AU_INCOMPLETE), 0);
}

static int setup(void **state)
{
	(void)state;
	return harness_open(&H, BV_MODE_PCAP);
}

static int teardown(void **state)
{
	(void)state;
	harness_close(&H);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_compliant_no_finding),
		cmocka_unit_test(test_httponly_on_rxvisitor),
		cmocka_unit_test(test_secure_required),
		cmocka_unit_test(test_samesite_none_needs_secure),
		cmocka_unit_test(test_rxvisitor_max_age),
		cmocka_unit_test(test_rxvisitor_expires),
		cmocka_unit_test(test_dates_and_spellings),
		cmocka_unit_test(test_suffixes_and_other_cookies),
		cmocka_unit_test(test_incomplete_never_judged),
		cmocka_unit_test(test_attribution),
		cmocka_unit_test(test_overflow_row),
		cmocka_unit_test(test_audit_off),
		cmocka_unit_test(test_report_and_metrics_text),
		cmocka_unit_test(test_metrics_families),
		cmocka_unit_test(test_requests_unchanged),
		cmocka_unit_test(test_inline_reads_nothing), /* last: it reloads in inline mode */
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
