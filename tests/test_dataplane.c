/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Data-plane behaviour through the real, loaded XDP program: crafted frames
 * in, exact bytes, verdicts and counters out. One BPF_PROG_TEST_RUN per
 * frame; flow state carries over between frames as on the wire.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "beaconveil.skel.h"
#include <linux/bpf.h>
#include <cmocka.h>

#include "harness.h"
#include "pktbuild.h"
#include "rfc7239.h"

#define CLIENT4 "203.0.113.57"
#define SERVER4 "198.18.0.10"
#define CLIENT6 "2001:db8:85a3:8d3:1319:8a2e:370:7348"
#define SERVER6 "2001:db8::10"

static struct bv_harness H;
static uint8_t out[16384];
static size_t outlen;
static uint32_t next_cport = 40000;

/* One connection from the client's side. */
struct conn {
	struct pkt_opts o;
	uint32_t seq;
};

static void conn_init(struct conn *c, int family)
{
	memset(c, 0, sizeof(*c));
	c->o.family = family;
	c->o.src = family == 4 ? CLIENT4 : CLIENT6;
	c->o.dst = family == 4 ? SERVER4 : SERVER6;
	c->o.sport = (uint16_t)next_cport++;
	c->o.dport = 80;
	c->seq = 1000;
}

static int run(const uint8_t *in, size_t len)
{
	outlen = sizeof(out);
	return harness_run(&H, in, len, out, &outlen);
}

/* SYN, then nothing else: the flow is known from its start. */
static void conn_syn(struct conn *c)
{
	uint8_t f[256];
	struct pkt_opts o = c->o;
	size_t n;

	o.tcp_flags = 0x02;
	o.seq = c->seq - 1;
	n = pkt_build_tcp(f, sizeof(f), &o, NULL, 0);
	assert_true(n > 0);
	assert_int_equal(run(f, n), XDP_PASS);
}

/* Send one data segment; returns the XDP action; the output is in out. */
static int conn_send(struct conn *c, const char *payload, size_t plen)
{
	static uint8_t f[16384];
	struct pkt_opts o = c->o;
	size_t n;

	o.seq = c->seq;
	n = pkt_build_tcp(f, sizeof(f), &o, payload, plen);
	assert_true(n > 0);
	c->seq += (uint32_t)plen;
	return run(f, n);
}

static int conn_sends(struct conn *c, const char *s)
{
	return conn_send(c, s, strlen(s));
}

/* Payload of the output frame as a NUL-terminated string (static). */
static const char *out_payload(void)
{
	const char *s = pkt_payload_str(out, outlen);

	assert_non_null(s);
	return s;
}

static void assert_csums_ok(void)
{
	assert_true(pkt_ipv4_csum_ok(out, outlen));
	assert_true(pkt_l4_csum_ok(out, outlen));
}

static void assert_addr4(const uint8_t *a, int b0, int b1, int b2, int b3)
{
	assert_int_equal(a[0], b0);
	assert_int_equal(a[1], b1);
	assert_int_equal(a[2], b2);
	assert_int_equal(a[3], b3);
}

static __u64 stat(int idx)
{
	return harness_stat(&H, idx);
}

static int setup(void **state)
{
	(void)state;
	if (harness_open(&H, BV_MODE_INLINE))
		return -1;
	return 0;
}

static int setup_pcap(void **state)
{
	(void)state;
	if (harness_open(&H, BV_MODE_PCAP))
		return -1;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	harness_close(&H);
	return 0;
}

#define BEACON_LINE "POST /myapp/rb_bf12345abc?type=js3&sn=42&app=ea7c4b59f27d43eb HTTP/1.1\r\n"
#define RXV "1700000000000ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"

/* ------------------------------------------------------------------ */

static void test_non_beacon_port_untouched(void **state)
{
	struct conn c;
	const char *req = "POST /rb_bf1 HTTP/1.1\r\nX-Forwarded-For: 203.0.113.57\r\n\r\n";

	(void)state;
	conn_init(&c, 4);
	c.o.dport = 443;
	__u64 before = stat(BV_ST_OTHER_TCP);
	assert_int_equal(conn_sends(&c, req), XDP_PASS);
	assert_string_equal(out_payload(), req);
	assert_int_equal(stat(BV_ST_OTHER_TCP), before + 1);
}

static void test_beacon_xff_masked_pass(void **state)
{
	struct conn c;
	__u64 pass0 = stat(BV_DEC_PASS);

	(void)state;
	conn_init(&c, 4);
	conn_syn(&c);
	assert_int_equal(conn_sends(&c, BEACON_LINE
				    "Host: collector.example\r\n"
				    "X-Forwarded-For: 203.0.113.57, 198.51.100.200\r\n"
				    "Cookie: rxVisitor=" RXV "; dtCookie=v_4_srv\r\n"
				    "Content-Length: 0\r\n\r\n"), XDP_PASS);
	assert_string_equal(out_payload(), BEACON_LINE
			    "Host: collector.example\r\n"
			    "X-Forwarded-For: 203.0.113.0 , 198.51.100.0  \r\n"
			    "Cookie: rxVisitor=" RXV "; dtCookie=v_4_srv\r\n"
			    "Content-Length: 0\r\n\r\n");
	assert_csums_ok();
	assert_int_equal(stat(BV_DEC_PASS), pass0 + 1);
}

static void test_not_a_beacon_path(void **state)
{
	struct conn c;
	const char *req = "POST /rbx HTTP/1.1\r\nX-Forwarded-For: 203.0.113.57\r\nDNT: 1\r\n\r\n";
	__u64 req0 = stat(BV_ST_REQUESTS), pass0 = stat(BV_DEC_PASS);

	(void)state;
	conn_init(&c, 4);
	conn_syn(&c);
	assert_int_equal(conn_sends(&c, req), XDP_PASS);
	assert_string_equal(out_payload(), req);
	assert_int_equal(stat(BV_ST_REQUESTS), req0 + 1);
	assert_int_equal(stat(BV_DEC_PASS), pass0);
}


/* ---- policy decisions ------------------------------------------------ */

static void reset_policy(void)
{
	bv_config_free(&H.cfg);
	bv_config_defaults(&H.cfg);
	assert_int_equal(harness_apply(&H), 0);
}

static void set_policy(const char *key, const char *value)
{
	char err[256];

	assert_int_equal(bv_policy_set_field(&H.cfg.global, key, value, err, sizeof(err)), 0);
	assert_int_equal(harness_apply(&H), 0);
}

/* A beacon with every identifier: rxVisitor, dtPC random part, vi=. */
#define ID_REQ(extra)                                                              \
	"POST /myapp/rb_bf12345abc?type=js3&vi=QWERTYUIOPASDFGH&app=ea7c4b59f27d43eb HTTP/1.1\r\n" \
	"Host: collector.example\r\n" extra                                        \
	"Cookie: rxVisitor=" RXV "; dtPC=-15$123456789_123h12vABCDEFGHIJKLMNOP-0e0; dtCookie=v_4_srv_1\r\n" \
	"Content-Length: 0\r\n\r\n"

/* True if the identifier values in s are not the originals but keep shape. */
static void assert_ids_replaced(const char *s)
{
	const char *v = strstr(s, "rxVisitor=");
	const char *q = strstr(s, "vi=");
	const char *d = strstr(s, "h12v");

	assert_non_null(v);
	assert_non_null(q);
	assert_non_null(d);
	v += strlen("rxVisitor=");
	assert_memory_not_equal(v, RXV, 45);
	for (int i = 0; i < 45; i++) {
		if (i < 13)
			assert_true(v[i] >= '0' && v[i] <= '9');
		else if (RXV[i] >= 'A' && RXV[i] <= 'Z')
			assert_true(v[i] >= 'A' && v[i] <= 'Z');
		else
			assert_true(v[i] >= '0' && v[i] <= '9');
	}
	assert_int_equal(v[45], ';');
	q += 3;
	assert_memory_not_equal(q, "QWERTYUIOPASDFGH", 16);
	assert_int_equal(q[16], '&');
	d += 4;
	assert_memory_not_equal(d, "ABCDEFGHIJKLMNOP", 16);
	assert_memory_equal(d + 16, "-0e0;", 5);
	assert_non_null(strstr(s, "-15$123456789_123h12v"));
}

static void assert_ids_kept(const char *s)
{
	assert_non_null(strstr(s, "rxVisitor=" RXV ";"));
	assert_non_null(strstr(s, "vi=QWERTYUIOPASDFGH&"));
	assert_non_null(strstr(s, "h12vABCDEFGHIJKLMNOP-0e0"));
}

static int send_one(const char *req)
{
	struct conn c;

	conn_init(&c, 4);
	conn_syn(&c);
	return conn_sends(&c, req);
}

static void test_dnt_anonymizes(void **state)
{
	__u64 a0 = stat(BV_DEC_ANONYMIZED), r0 = stat(BV_ST_IDS_REPLACED);
	const char *req = ID_REQ("DNT: 1\r\n");

	(void)state;
	reset_policy();
	assert_int_equal(send_one(req), XDP_PASS);
	assert_int_equal(strlen(out_payload()), strlen(req));
	assert_ids_replaced(out_payload());
	assert_csums_ok();
	assert_int_equal(stat(BV_DEC_ANONYMIZED), a0 + 1);
	assert_int_equal(stat(BV_ST_IDS_REPLACED), r0 + 3);
}

static void test_no_signal_keeps_ids(void **state)
{
	(void)state;
	reset_policy();
	assert_int_equal(send_one(ID_REQ("")), XDP_PASS);
	assert_ids_kept(out_payload());
}

static void test_dnt_case_and_space(void **state)
{
	(void)state;
	reset_policy();
	assert_int_equal(send_one(ID_REQ("dNt:   1  \r\n")), XDP_PASS);
	assert_ids_replaced(out_payload());
	/* "DNT: 0" and "DNT: 10" are not a request not to be tracked */
	assert_int_equal(send_one(ID_REQ("DNT: 0\r\n")), XDP_PASS);
	assert_ids_kept(out_payload());
	assert_int_equal(send_one(ID_REQ("DNT: 10\r\n")), XDP_PASS);
	assert_ids_kept(out_payload());
}

static void test_pseudonyms_deterministic_and_unlinkable(void **state)
{
	char a[2048], b[2048];
	struct conn c;

	(void)state;
	reset_policy();
	conn_init(&c, 4);
	conn_syn(&c);
	assert_int_equal(conn_sends(&c, ID_REQ("DNT: 1\r\n")), XDP_PASS);
	strcpy(a, out_payload());
	/* the same request again on the same connection: a new pseudonym */
	assert_int_equal(conn_sends(&c, ID_REQ("DNT: 1\r\n")), XDP_PASS);
	strcpy(b, out_payload());
	assert_string_not_equal(a, b);
	assert_ids_replaced(b);
}

static void test_dnt_drop(void **state)
{
	__u64 d0 = stat(BV_DEC_DROPPED_DNT);

	(void)state;
	reset_policy();
	set_policy("dnt_action", "drop");
	assert_int_equal(send_one(ID_REQ("DNT: 1\r\n")), XDP_DROP);
	assert_int_equal(stat(BV_DEC_DROPPED_DNT), d0 + 1);
	set_policy("respect_dnt", "off");
	assert_int_equal(send_one(ID_REQ("DNT: 1\r\n")), XDP_PASS);
	assert_ids_kept(out_payload());
	reset_policy();
}

static void test_gpc(void **state)
{
	__u64 g0 = stat(BV_DEC_DROPPED_GPC);

	(void)state;
	reset_policy();
	assert_int_equal(send_one(ID_REQ("Sec-GPC: 1\r\n")), XDP_PASS);
	assert_ids_replaced(out_payload());
	set_policy("dnt_action", "drop");
	assert_int_equal(send_one(ID_REQ("sec-gpc: 1\r\n")), XDP_DROP);
	assert_int_equal(stat(BV_DEC_DROPPED_GPC), g0 + 1);
	set_policy("respect_gpc", "off");
	assert_int_equal(send_one(ID_REQ("Sec-GPC: 1\r\n")), XDP_PASS);
	assert_ids_kept(out_payload());
	reset_policy();
}

static void test_opt_in_consent(void **state)
{
	__u64 n0 = stat(BV_DEC_DROPPED_NO_CONSENT);
	const char *no_consent =
		"GET /rb_bf1?type=js3 HTTP/1.1\r\nHost: a\r\nCookie: xdtCookie=1; rxVisitor=" RXV "\r\n\r\n";
	const char *consent_sfx =
		"GET /rb_bf1?type=js3 HTTP/1.1\r\nHost: a\r\nCookie: a=b; dtCookie1234=v_4\r\n\r\n";

	(void)state;
	reset_policy();
	assert_int_equal(send_one(no_consent), XDP_PASS);
	set_policy("opt_in", "on");
	assert_int_equal(send_one(no_consent), XDP_DROP);
	assert_int_equal(stat(BV_DEC_DROPPED_NO_CONSENT), n0 + 1);
	assert_int_equal(send_one(consent_sfx), XDP_PASS);
	assert_int_equal(send_one(ID_REQ("")), XDP_PASS);
	reset_policy();
}

static void test_disabled_cookie(void **state)
{
	__u64 d0 = stat(BV_DEC_DROPPED_DISABLED);
	const char *dis = "POST /bf HTTP/1.1\r\nCookie: dtDisabled=true\r\n\r\n";
	const char *notdis = "POST /bf HTTP/1.1\r\nCookie: dtDisabled=false; xdtDisabled=true\r\n\r\n";

	(void)state;
	reset_policy();
	assert_int_equal(send_one(dis), XDP_DROP);
	assert_int_equal(stat(BV_DEC_DROPPED_DISABLED), d0 + 1);
	assert_int_equal(send_one(notdis), XDP_PASS);
	set_policy("honour_disabled", "off");
	assert_int_equal(send_one(dis), XDP_PASS);
	reset_policy();
}

static void test_collection_level(void **state)
{
	__u64 o0 = stat(BV_DEC_DROPPED_LEVEL_OFF);

	(void)state;
	reset_policy();
	set_policy("collection_level", "off");
	assert_int_equal(send_one(ID_REQ("")), XDP_DROP);
	assert_int_equal(stat(BV_DEC_DROPPED_LEVEL_OFF), o0 + 1);
	set_policy("collection_level", "performance");
	assert_int_equal(send_one(ID_REQ("")), XDP_PASS);
	assert_ids_replaced(out_payload());
	reset_policy();
}

static void test_crash_reports(void **state)
{
	__u64 c0 = stat(BV_DEC_DROPPED_CRASH_REPORT);
	struct bv_path_rule *r;
	const char *crash = "POST /myapp/crash/rb_x HTTP/1.1\r\nHost: a\r\n\r\n";

	(void)state;
	reset_policy();
	r = &H.cfg.paths[H.cfg.npaths++];
	memset(r, 0, sizeof(*r));
	r->kind = BV_PATH_PREFIX;
	r->crash_report = 1;
	strcpy(r->pat, "/myapp/crash/");
	r->len = (__u8)strlen(r->pat);
	assert_int_equal(harness_apply(&H), 0);
	assert_int_equal(send_one(crash), XDP_PASS);
	set_policy("crash_reports", "off");
	assert_int_equal(send_one(crash), XDP_DROP);
	assert_int_equal(stat(BV_DEC_DROPPED_CRASH_REPORT), c0 + 1);
	/* an ordinary beacon is not a crash report */
	assert_int_equal(send_one(ID_REQ("")), XDP_PASS);
	reset_policy();
}

static void add_app(int kind, const char *id, const char *key, const char *value)
{
	struct bv_config_app *a;
	char err[256];

	H.cfg.apps = realloc(H.cfg.apps, sizeof(*a) * (size_t)(H.cfg.napps + 1));
	assert_non_null(H.cfg.apps);
	a = &H.cfg.apps[H.cfg.napps++];
	memset(a, 0, sizeof(*a));
	a->key.kind = (__u8)kind;
	a->key.len = (__u8)strlen(id);
	memcpy(a->key.id, id, strlen(id));
	a->pol = H.cfg.global;
	assert_int_equal(bv_policy_set_field(&a->pol, key, value, err, sizeof(err)), 0);
	assert_int_equal(harness_apply(&H), 0);
}

static void test_per_app_override(void **state)
{
	(void)state;
	reset_policy();
	add_app(BV_APPKEY_APP, "ea7c4b59f27d43eb", "dnt_action", "drop");
	assert_int_equal(send_one(ID_REQ("DNT: 1\r\n")), XDP_DROP);
	/* another application: the global policy */
	assert_int_equal(send_one("POST /rb_1?app=other HTTP/1.1\r\nDNT: 1\r\n\r\n"), XDP_PASS);
	reset_policy();
	add_app(BV_APPKEY_HOST, "shop.example", "collection_level", "off");
	assert_int_equal(send_one("POST /rb_1 HTTP/1.1\r\nHost: Shop.Example:8080\r\n\r\n"), XDP_DROP);
	assert_int_equal(send_one("POST /rb_1 HTTP/1.1\r\nHost: other.example\r\n\r\n"), XDP_PASS);
	reset_policy();
}

/* ---- recognition and segmentation ----------------------------------- */

static void test_path_rules(void **state)
{
	static const struct { const char *line; int beacon; } cases[] = {
		{ "POST /rb_bf12345abc HTTP/1.1", 1 },
		{ "GET /myapp/rb_bf12345abc?type=js3&sn=1 HTTP/1.1", 1 },
		{ "POST /bf HTTP/1.1", 1 },
		{ "POST /bf/abc123 HTTP/1.1", 1 },
		{ "POST /bf/abc/def HTTP/1.1", 0 },
		{ "POST /bfx HTTP/1.1", 0 },
		{ "POST /rbx HTTP/1.1", 0 },
		{ "POST /rb_/x HTTP/1.1", 0 },
		{ "PUT /rb_bf1 HTTP/1.1", 0 },     /* method not in the set */
		{ "GET / HTTP/1.1", 0 },
	};
	char req[256];

	(void)state;
	reset_policy();
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		__u64 b0 = stat(BV_DEC_PASS);

		snprintf(req, sizeof(req), "%s\r\nX-Forwarded-For: 203.0.113.57\r\n\r\n", cases[i].line);
		assert_int_equal(send_one(req), XDP_PASS);
		if (cases[i].beacon) {
			assert_non_null(strstr(out_payload(), "203.0.113.0 "));
			assert_int_equal(stat(BV_DEC_PASS), b0 + 1);
		} else {
			assert_string_equal(out_payload(), req);
			assert_int_equal(stat(BV_DEC_PASS), b0);
		}
	}
}

static void test_dnt_split_across_segments(void **state)
{
	struct conn c;
	__u64 a0 = stat(BV_DEC_ANONYMIZED);

	(void)state;
	reset_policy();
	conn_init(&c, 4);
	conn_syn(&c);
	assert_int_equal(conn_sends(&c, "POST /rb_1?vi=ABCDEFGH HTTP/1.1\r\nHost: a\r\nDN"), XDP_PASS);
	assert_int_equal(conn_sends(&c, "T: 1\r\nCookie: rxVisitor=" RXV "\r\n\r\n"), XDP_PASS);
	assert_null(strstr(out_payload(), RXV));
	assert_int_equal(stat(BV_DEC_ANONYMIZED), a0 + 1);
	assert_csums_ok();
}

static void test_xff_split_across_segments(void **state)
{
	struct conn c;
	char seg1[64];

	(void)state;
	reset_policy();
	conn_init(&c, 4);
	conn_syn(&c);
	assert_int_equal(conn_sends(&c, "POST /rb_1 HTTP/1.1\r\nX-Forwarded-For: 203.0.1"), XDP_PASS);
	strcpy(seg1, out_payload());
	assert_string_equal(seg1, "POST /rb_1 HTTP/1.1\r\nX-Forwarded-For: 203.0.1");
	assert_int_equal(conn_sends(&c, "13.57, 2001:db8:85a3:8d3:1319:8a2e:370:7348\r\n\r\n"), XDP_PASS);
	assert_string_equal(out_payload(), "13.0 , 2001:db8:85a3:000:0000:0000:000:0000\r\n\r\n");
	assert_csums_ok();
	/* cut inside the masked octet: "0" then spaces, never a digit of it */
	conn_init(&c, 4);
	conn_syn(&c);
	assert_int_equal(conn_sends(&c, "POST /rb_1 HTTP/1.1\r\nX-Real-IP: 203.0.113.5"), XDP_PASS);
	assert_string_equal(out_payload(), "POST /rb_1 HTTP/1.1\r\nX-Real-IP: 203.0.113.0");
	assert_int_equal(conn_sends(&c, "7\r\n\r\n"), XDP_PASS);
	assert_string_equal(out_payload(), " \r\n\r\n");
}

static void test_header_name_split(void **state)
{
	struct conn c;

	(void)state;
	reset_policy();
	conn_init(&c, 4);
	conn_syn(&c);
	assert_int_equal(conn_sends(&c, "POST /rb_1 HTTP/1.1\r\nX-Forw"), XDP_PASS);
	assert_int_equal(conn_sends(&c, "arded-For: 203.0.113.57\r\n\r\n"), XDP_PASS);
	assert_string_equal(out_payload(), "arded-For: 203.0.113.0 \r\n\r\n");
}

static void test_keepalive_each_request(void **state)
{
	struct conn c;
	__u64 p0 = stat(BV_DEC_PASS), a0 = stat(BV_DEC_ANONYMIZED), d0 = stat(BV_DEC_DROPPED_DNT);

	(void)state;
	reset_policy();
	conn_init(&c, 4);
	conn_syn(&c);
	assert_int_equal(conn_sends(&c, ID_REQ("")), XDP_PASS);
	assert_ids_kept(out_payload());
	assert_int_equal(conn_sends(&c, ID_REQ("DNT: 1\r\n")), XDP_PASS);
	assert_ids_replaced(out_payload());
	/* a request with a body, then another request */
	assert_int_equal(conn_sends(&c, "POST /rb_1 HTTP/1.1\r\nContent-Length: 10\r\n\r\n"), XDP_PASS);
	assert_int_equal(conn_sends(&c, "0123456789"), XDP_PASS);
	assert_int_equal(conn_sends(&c, ID_REQ("")), XDP_PASS);
	assert_ids_kept(out_payload());
	/* HAProxy's http-reuse: another client's request on the same connection */
	set_policy("dnt_action", "drop");
	assert_int_equal(conn_sends(&c, ID_REQ("DNT: 1\r\n")), XDP_DROP);
	assert_int_equal(stat(BV_DEC_PASS), p0 + 3);
	assert_int_equal(stat(BV_DEC_ANONYMIZED), a0 + 1);
	assert_int_equal(stat(BV_DEC_DROPPED_DNT), d0 + 1);
	reset_policy();
}

static void test_body_spanning_segments(void **state)
{
	struct conn c;
	const char *body_with_headers = "X-Forwarded-For: 203.0.113.57\r\n\r\n";

	(void)state;
	reset_policy();
	conn_init(&c, 4);
	conn_syn(&c);
	assert_int_equal(conn_sends(&c, "POST /rb_1 HTTP/1.1\r\nContent-Length: 40\r\n\r\n0123"), XDP_PASS);
	/* body bytes that look like headers are body, not headers */
	assert_int_equal(conn_sends(&c, body_with_headers), XDP_PASS);
	assert_string_equal(out_payload(), body_with_headers);
	assert_int_equal(conn_send(&c, "xxx", 3), XDP_PASS);
	assert_int_equal(conn_sends(&c, "POST /rb_1 HTTP/1.1\r\nX-Forwarded-For: 203.0.113.57\r\n\r\n"), XDP_PASS);
	assert_non_null(strstr(out_payload(), "203.0.113.0 "));
}

/* ---- addresses in text ------------------------------------------------ */

static void test_client_ip_headers(void **state)
{
	(void)state;
	reset_policy();
	assert_int_equal(send_one("POST /rb_1 HTTP/1.1\r\n"
				  "X-Forwarded-For:203.0.113.57,2001:db8:85a3:8d3:1319:8a2e:370:7348, unknown\r\n"
				  "X-Real-IP: 198.51.100.23\r\n"
				  "True-Client-IP: 2001:db8:1:2::99\r\n"
				  "Forwarded: for=203.0.113.57;proto=http;by=198.18.0.10, for=\"[2001:db8:85a3:8d3::7348]\"\r\n"
				  "X-Other: 203.0.113.57\r\n\r\n"), XDP_PASS);
	assert_string_equal(out_payload(), "POST /rb_1 HTTP/1.1\r\n"
			    "X-Forwarded-For:203.0.113.0 ,2001:db8:85a3:000:0000:0000:000:0000, unknown\r\n"
			    "X-Real-IP: 198.51.100.0 \r\n"
			    "True-Client-IP: 2001:db8:1:0::00\r\n"
			    "Forwarded: for=203.0.113.0;;proto=http;by=198.18.0.10, for=\"[2001:db8:85a3:000::0000]\"\r\n"
			    "X-Other: 203.0.113.57\r\n\r\n");
	assert_csums_ok();
}

/* Every Forwarded form (docs/MASKING.md lists the same): the exact output,
 * and input and output both valid under a strict RFC 7239 parser, except
 * the two forms marked, which RFC 7239 itself does not allow. */
static void test_forwarded_forms(void **state)
{
	static const struct {
		const char *pol, *val, *in, *out;
		int strict; /* 2: in and out valid; 1: the output is not (the one
			     * form the streaming masker cannot keep valid);
			     * 0: not an RFC 7239 form to begin with */
	} c[] = {
		{ NULL, NULL, "for=203.0.113.57", "for=203.0.113.0;", 2 },
		{ NULL, NULL, "for=203.0.113.57;proto=http;by=198.18.0.10",
		  "for=203.0.113.0;;proto=http;by=198.18.0.10", 2 },
		{ NULL, NULL, "proto=https;for=203.0.113.5", "proto=https;for=203.0.113.0", 2 },
		{ NULL, NULL, "for=\"203.0.113.5\"", "for=\"203.0.113.0\"", 2 },
		{ NULL, NULL, "for=\"203.0.113.213\"", "for=\"203.0.113.0\";;", 2 },
		{ NULL, NULL, "For=\"203.0.113.43:8443\"", "For=\"203.0.113.0\";;;;;;", 2 },
		{ NULL, NULL, "for=\"203.0.113.43:_p1\";by=_x", "for=\"203.0.113.0\";;;;;;by=_x", 2 },
		{ NULL, NULL, "for=198.51.100.23, for=\"203.0.113.57:4711\";proto=http",
		  "for=198.51.100.0;, for=\"203.0.113.0\";;;;;;;proto=http", 2 },
		{ NULL, NULL, "for=\"[2001:db8:85a3:8d3:1319:8a2e:370:7348]\"",
		  "for=\"[2001:db8:85a3:000:0000:0000:000:0000]\"", 2 },
		{ NULL, NULL, "for=\"[2001:db8:1:2::3]:4711\"", "for=\"[2001:db8:1:0::0]\";;;;;", 2 },
		{ NULL, NULL, "for=\"[2001:db8:1:2::3]:_x\"", "for=\"[2001:db8:1:0::0]\";;;", 2 },
		{ NULL, NULL, "for=unknown;by=_hidden, for=_gazonk", "for=unknown;by=_hidden, for=_gazonk", 2 },
		{ "ipv4_prefix", "16", "for=\"203.0.113.57:4711\"", "for=\"203.0.0.0\";;;;;;;;", 2 },
		{ "ipv4_prefix", "0", "for=203.0.113.57", "for=0.0.0.0;;;;;", 2 },
		{ "ipv6_prefix", "0", "for=\"[2001:db8::1]:80\"", "for=\"[0000:000::0]\";;;", 2 },
		{ "ipv4_prefix", "32", "for=\"203.0.113.57:4711\"", "for=\"203.0.113.57:4711\"", 2 },
		{ "ip_mask", "public", "for=\"10.1.2.3:4711\", for=\"[fd12::1]:80\"",
		  "for=\"10.1.2.3:4711\", for=\"[fd12::1]:80\"", 2 },
		{ "ip_mask", "off", "for=\"203.0.113.43:8443\"", "for=\"203.0.113.43:8443\"", 2 },
		/* not RFC 7239 on the way in, or (embedded IPv4) not on the way
		 * out: masked all the same, nothing of the address revealed */
		{ NULL, NULL, "for=2001:db8:1:2::3", "for=2001:db8:1:0::0", 0 },
		{ NULL, NULL, "for=[2001:db8:1:2::3]:4711", "for=[2001:db8:1:0::0]:0000", 0 },
		{ NULL, NULL, "for=\"[::ffff:203.0.113.5]\"", "for=\"[::0000:000.0.000.0]\"", 1 },
	};
	char why[160];

	(void)state;
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		char req[512];
		const char *o, *v;
		size_t vlen = strlen(c[i].in);

		reset_policy();
		if (c[i].pol)
			set_policy(c[i].pol, c[i].val);
		if (rfc7239_parse(c[i].in, vlen, NULL, why, sizeof(why)) != (c[i].strict > 0))
			fail_msg("input '%s': strict parse %s", c[i].in, c[i].strict ? why : "passed");
		snprintf(req, sizeof(req), "POST /rb_1 HTTP/1.1\r\nForwarded: %s\r\n\r\n", c[i].in);
		assert_int_equal(send_one(req), XDP_PASS);
		o = out_payload();
		assert_int_equal(strlen(o), strlen(req));
		v = o + strlen("POST /rb_1 HTTP/1.1\r\nForwarded: ");
		if (strncmp(v, c[i].out, vlen) || strlen(c[i].out) != vlen)
			fail_msg("'%s' -> '%.*s', want '%s'", c[i].in, (int)vlen, v, c[i].out);
		if (c[i].strict == 2 && !rfc7239_parse(v, vlen, NULL, why, sizeof(why)))
			fail_msg("'%.*s' is not valid RFC 7239: %s", (int)vlen, v, why);
		assert_csums_ok();
	}
	/* the parser itself refuses what the old rewrite produced */
	assert_int_equal(rfc7239_parse("for=\"203.0.113.0      \"", 23, NULL, why, sizeof(why)), 0);
	assert_int_equal(rfc7239_parse("for=203.0.113.0 ;proto=http", 27, NULL, why, sizeof(why)), 0);
	assert_int_equal(rfc7239_parse("for=203.0.113.00", 16, NULL, why, sizeof(why)), 0);
	reset_policy();
}

static void test_ip_mask_modes_and_prefixes(void **state)
{
	const char *req = "POST /rb_1 HTTP/1.1\r\nX-Forwarded-For: 10.1.2.3, 203.0.113.57, fd00:1:2:3::4, 172.20.1.1\r\n\r\n";

	(void)state;
	reset_policy();
	set_policy("ip_mask", "public");
	assert_int_equal(send_one(req), XDP_PASS);
	assert_string_equal(out_payload(), "POST /rb_1 HTTP/1.1\r\nX-Forwarded-For: 10.1.2.3, 203.0.113.0 , fd00:1:2:3::4, 172.20.1.1\r\n\r\n");
	set_policy("ip_mask", "off");
	assert_int_equal(send_one(req), XDP_PASS);
	assert_string_equal(out_payload(), req);
	set_policy("ip_mask", "all");
	set_policy("ipv4_prefix", "16");
	set_policy("ipv6_prefix", "32");
	assert_int_equal(send_one(req), XDP_PASS);
	assert_string_equal(out_payload(), "POST /rb_1 HTTP/1.1\r\nX-Forwarded-For: 10.1.0.0, 203.0.0.0   , fd00:1:0:0::0, 172.20.0.0\r\n\r\n");
	/* a prefix that is not a whole octet keeps only whole octets in text */
	set_policy("ipv4_prefix", "20");
	assert_int_equal(send_one(req), XDP_PASS);
	assert_non_null(strstr(out_payload(), " 203.0.0.0   ,"));
	set_policy("ipv4_prefix", "0");
	assert_int_equal(send_one(req), XDP_PASS);
	assert_non_null(strstr(out_payload(), " 0.0.0.0     ,"));
	assert_non_null(strstr(out_payload(), ": 0.0.0.0 ,"));
	reset_policy();
}

/* What nginx and HAProxy accept as a PROXY v1 line (their parsers, read
 * strictly): "PROXY TCP4|TCP6 SRC DST SPORT DPORT\r\n", single spaces,
 * addresses that inet_pton takes, ports of digits up to 65535 (leading
 * zeros allowed: both read them with strtol-like loops). *sport gets the
 * source port's value. */
static int proxy1_parses(const char *l, size_t n, char *src, size_t srclen, long *sport)
{
	char buf[128], *f[6], *save = NULL;
	unsigned char bin[16];
	int nf = 0, v6;

	if (n < 8 || n >= sizeof(buf) || l[n - 2] != '\r' || l[n - 1] != '\n')
		return 0;
	memcpy(buf, l, n - 2);
	buf[n - 2] = 0;
	if (strstr(buf, "  ") || buf[n - 3] == ' ')
		return 0;
	for (char *t = strtok_r(buf, " ", &save); t && nf < 6; t = strtok_r(NULL, " ", &save))
		f[nf++] = t;
	if (nf != 6 || strtok_r(NULL, " ", &save) || strcmp(f[0], "PROXY"))
		return 0;
	v6 = !strcmp(f[1], "TCP6");
	if (!v6 && strcmp(f[1], "TCP4"))
		return 0;
	if (inet_pton(v6 ? AF_INET6 : AF_INET, f[2], bin) != 1 ||
	    inet_pton(v6 ? AF_INET6 : AF_INET, f[3], bin) != 1)
		return 0;
	for (int k = 4; k < 6; k++) {
		char *e;
		long v = strtol(f[k], &e, 10);

		if (*e || !*f[k] || v < 0 || v > 65535 || f[k][0] == '-' || f[k][0] == '+')
			return 0;
		if (k == 4)
			*sport = v;
	}
	snprintf(src, srclen, "%s", f[2]);
	return 1;
}

static void test_proxy_v1(void **state)
{
	static const struct {
		const char *pol, *val, *in, *out;
	} c[] = {
		/* the masked source loses characters: DST moves left, SPORT
		 * takes the same number of leading zeros */
		{ NULL, NULL, "PROXY TCP4 203.0.113.57 198.18.0.10 56324 80\r\n",
		  "PROXY TCP4 203.0.113.0 198.18.0.10 056324 80\r\n" },
		{ NULL, NULL, "PROXY TCP4 192.0.2.123 198.18.0.10 40003 443\r\n",
		  "PROXY TCP4 192.0.2.0 198.18.0.10 0040003 443\r\n" },
		{ NULL, NULL, "PROXY TCP4 192.0.2.5 198.18.0.10 1 80\r\n",
		  "PROXY TCP4 192.0.2.0 198.18.0.10 1 80\r\n" },
		{ "ipv4_prefix", "16", "PROXY TCP4 203.0.113.57 198.18.0.10 56324 80\r\n",
		  "PROXY TCP4 203.0.0.0 198.18.0.10 00056324 80\r\n" },
		{ "ipv4_prefix", "0", "PROXY TCP4 203.0.113.213 198.18.0.10 65535 65535\r\n",
		  "PROXY TCP4 0.0.0.0 198.18.0.10 00000065535 65535\r\n" },
		/* IPv6 keeps its length: digits of masked groups become 0 */
		{ NULL, NULL, "PROXY TCP6 2001:db8:85a3:8d3:1319:8a2e:370:7348 2001:db8::10 4711 80\r\n",
		  "PROXY TCP6 2001:db8:85a3:000:0000:0000:000:0000 2001:db8::10 4711 80\r\n" },
		{ NULL, NULL, "PROXY TCP6 2001:db8:1:2::99 2001:db8::10 4711 80\r\n",
		  "PROXY TCP6 2001:db8:1:0::00 2001:db8::10 4711 80\r\n" },
		/* nothing to mask */
		{ "ip_mask", "public", "PROXY TCP4 10.1.2.3 198.18.0.10 56324 80\r\n",
		  "PROXY TCP4 10.1.2.3 198.18.0.10 56324 80\r\n" },
		{ "ip_mask", "off", "PROXY TCP4 203.0.113.57 198.18.0.10 56324 80\r\n",
		  "PROXY TCP4 203.0.113.57 198.18.0.10 56324 80\r\n" },
		{ NULL, NULL, "PROXY UNKNOWN\r\n", "PROXY UNKNOWN\r\n" },
		{ NULL, NULL, "PROXY UNKNOWN 203.0.113.57 198.18.0.10 1 2\r\n",
		  "PROXY UNKNOWN 203.0.113.57 198.18.0.10 1 2\r\n" },
	};
	const char *req = "POST /rb_1 HTTP/1.1\r\nDNT: 1\r\nCookie: rxVisitor=" RXV "\r\n\r\n";

	(void)state;
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		char pl[512], src[64];
		const char *o;
		size_t n = strlen(c[i].in);
		__u64 p0 = stat(BV_ST_PROXY_V1);
		struct conn k;
		long sp_in = -1, sp_out = -1;

		reset_policy();
		if (c[i].pol)
			set_policy(c[i].pol, c[i].val);
		conn_init(&k, strstr(c[i].in, "TCP6") ? 6 : 4);
		conn_syn(&k);
		snprintf(pl, sizeof(pl), "%s%s", c[i].in, req);
		assert_int_equal(conn_sends(&k, pl), XDP_PASS);
		o = out_payload();
		assert_int_equal(strlen(o), strlen(pl)); /* sequence numbers stay */
		if (strncmp(o, c[i].out, n))
			fail_msg("'%.*s' -> '%.*s', want '%.*s'", (int)n - 2, c[i].in,
				 (int)n - 2, o, (int)n - 2, c[i].out);
		assert_int_equal(strncmp(o + n, req, 29), 0); /* its request line and DNT */
		assert_null(strstr(o, RXV));
		if (strncmp(c[i].in, "PROXY UNKNOWN", 13)) {
			if (!proxy1_parses(o, n, src, sizeof(src), &sp_out) ||
			    !proxy1_parses(c[i].in, n, src + 32, 32, &sp_in))
				fail_msg("'%.*s' does not parse as PROXY v1", (int)n - 2, o);
			assert_int_equal(sp_out, sp_in);
		}
		assert_int_equal(stat(BV_ST_PROXY_V1), p0 + 1);
		assert_csums_ok();
	}
	reset_policy();
}

/* A PROXY v1 line is rewritten only whole in the connection's first data
 * segment (HAProxy sends it so); cut, or not a line servers accept, the
 * connection's data is dropped: its source would leave unmasked. */
static void test_proxy_v1_cut_or_broken(void **state)
{
	static const char *bad[] = {
		"PROXY TCP4 203.0.113.57  198.18.0.10 56324 80\r\n",
		"PROXY TCP4 203.0.113.57 198.18.0.10 56324 80 9\r\n",
		"PROXY TCP4 203.0.113.57 198.18.0.10 56324\r\n",
		"PROXY TCP4 203.0.113.57 198.18.0.10 56324 80\n",
		"PROXY TCP5 203.0.113.57 198.18.0.10 56324 80\r\n",
		"PROXY TCP4 203.0.113.57x 198.18.0.10 56324 80\r\n",
		"PROXY TCP4 203.0.113.57 198.18.0.10 56324 80", /* no line end in the segment */
	};
	const char *line = "PROXY TCP4 203.0.113.57 198.18.0.10 56324 80\r\nGET /rb_1 HTTP/1.1\r\n\r\n";
	struct conn k;

	(void)state;
	reset_policy();
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		__u64 m0 = stat(BV_ST_MALFORMED_PKT);

		conn_init(&k, 4);
		conn_syn(&k);
		assert_int_equal(conn_sends(&k, bad[i]), XDP_DROP);
		assert_int_equal(stat(BV_ST_MALFORMED_PKT), m0 + 1);
		/* and the rest of that connection with it */
		assert_int_equal(conn_sends(&k, "GET /rb_1 HTTP/1.1\r\nX-Real-IP: 203.0.113.57\r\n\r\n"), XDP_DROP);
	}
	/* cut anywhere: the part before the cut may pass only if it holds
	 * no byte of the source; the rest never passes */
	for (size_t cut = 1; cut < (size_t)(strchr(line, '\n') - line + 1); cut++) {
		int r1, r2;

		conn_init(&k, 4);
		conn_syn(&k);
		r1 = conn_send(&k, line, cut);
		if (r1 == XDP_PASS && cut > 5) /* "PROXY" at most: no address */
			fail_msg("cut at %zu: '%.*s' passed", cut, (int)cut, line);
		r2 = conn_send(&k, line + cut, strlen(line) - cut);
		assert_int_equal(r2, XDP_DROP);
	}
	/* "PROXY" later on the connection is not a PROXY header */
	conn_init(&k, 4);
	conn_syn(&k);
	assert_int_equal(conn_sends(&k, "GET /rb_1 HTTP/1.1\r\n\r\n"), XDP_PASS);
	assert_int_equal(conn_sends(&k, "PROXY TCP4 203.0.113.57 198.18.0.10 1 80\r\n"), XDP_PASS);
}

static void test_proxy_v2(void **state)
{
	struct conn c;
	uint8_t hdr[16 + 12] = { '\r', '\n', '\r', '\n', 0, '\r', '\n', 'Q', 'U', 'I', 'T', '\n',
				 0x21, 0x11, 0, 12, 203, 0, 113, 57, 198, 18, 0, 10, 0xdc, 0x04, 0, 80 };
	uint8_t hdr6[16 + 36] = { '\r', '\n', '\r', '\n', 0, '\r', '\n', 'Q', 'U', 'I', 'T', '\n',
				  0x21, 0x21, 0, 36,
				  0x20, 0x01, 0x0d, 0xb8, 0x85, 0xa3, 0x08, 0xd3, 0x13, 0x19, 0x8a, 0x2e, 0x03, 0x70, 0x73, 0x48,
				  0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
				  0xdc, 0x04, 0, 80 };
	const uint8_t *p;
	size_t plen;

	(void)state;
	reset_policy();
	conn_init(&c, 4);
	conn_syn(&c);
	assert_int_equal(conn_send(&c, (const char *)hdr, sizeof(hdr)), XDP_PASS);
	p = pkt_payload(out, outlen, &plen);
	assert_int_equal(plen, sizeof(hdr));
	assert_memory_equal(p, hdr, 16);
	assert_int_equal(p[16], 203); assert_int_equal(p[17], 0);
	assert_int_equal(p[18], 113); assert_int_equal(p[19], 0);
	assert_memory_equal(p + 20, hdr + 20, 8);    /* destination and ports kept */
	assert_csums_ok();
	assert_int_equal(conn_sends(&c, "POST /rb_1 HTTP/1.1\r\nX-Real-IP: 203.0.113.57\r\n\r\n"), XDP_PASS);
	assert_non_null(strstr(out_payload(), "203.0.113.0 "));

	conn_init(&c, 6);
	conn_syn(&c);
	assert_int_equal(conn_send(&c, (const char *)hdr6, sizeof(hdr6)), XDP_PASS);
	p = pkt_payload(out, outlen, &plen);
	assert_memory_equal(p + 16, hdr6 + 16, 6);
	for (int i = 22; i < 32; i++)
		assert_int_equal(p[i], 0);
	assert_memory_equal(p + 32, hdr6 + 32, 20);
	assert_csums_ok();
}

/* ---- L2/L3 shapes ------------------------------------------------------- */

static void test_vlan_options_ext_headers(void **state)
{
	struct conn c;
	const char *req = "POST /rb_1 HTTP/1.1\r\nX-Forwarded-For: 203.0.113.57\r\n\r\n";

	(void)state;
	reset_policy();
	for (int fam = 4; fam <= 6; fam += 2) {
		for (int nv = 0; nv <= 2; nv++) {
			conn_init(&c, fam);
			c.o.nvlan = nv;
			c.o.vlan_id[0] = 100;
			c.o.vlan_id[1] = 200;
			if (fam == 4)
				c.o.ip_opts_len = 8;
			else
				c.o.ipv6_ext = 2;
			c.o.tcp_opts_len = 12;
			conn_syn(&c);
			assert_int_equal(conn_sends(&c, req), XDP_PASS);
			assert_non_null(strstr(out_payload(), "203.0.113.0 \r\n"));
			assert_csums_ok();
		}
	}
}

static void test_malformed_packets(void **state)
{
	uint8_t f[512];
	struct pkt_opts o = { .family = 4, .src = CLIENT4, .dst = SERVER4, .sport = 1234, .dport = 80, .seq = 1 };
	const char *pl = "POST /rb_1 HTTP/1.1\r\nX-Forwarded-For: 203.0.113.57\r\n\r\n";
	size_t n = pkt_build_tcp(f, sizeof(f), &o, pl, strlen(pl));
	uint8_t g[512];
	__u64 m0 = stat(BV_ST_MALFORMED_PKT), fr0 = stat(BV_ST_FRAGMENT);

	(void)state;
	reset_policy();
	/* bad IHL */
	memcpy(g, f, n);
	g[14] = 0x44;
	assert_int_equal(run(g, n), XDP_DROP);
	/* IHL beyond the packet */
	memcpy(g, f, n);
	g[14] = 0x4f;
	assert_int_equal(run(g, 14 + 40), XDP_DROP);
	/* total length beyond the frame (truncated) */
	assert_int_equal(run(f, n - 10), XDP_DROP);
	/* TCP data offset < 5 and beyond the datagram */
	memcpy(g, f, n);
	g[14 + 20 + 12] = 0x40;
	assert_int_equal(run(g, n), XDP_DROP);
	memcpy(g, f, n);
	g[14 + 20 + 12] = 0xf0;
	assert_int_equal(run(g, 14 + 20 + 30), XDP_DROP);
	/* truncated Ethernet / IP header */
	assert_int_equal(run(f, 20), XDP_DROP);
	assert_int_equal(stat(BV_ST_MALFORMED_PKT), m0 + 6);
	/* IPv4 fragments of TCP: dropped, never reassembled unmasked */
	o.frag_off = 0x2000; /* MF */
	n = pkt_build_tcp(f, sizeof(f), &o, pl, strlen(pl));
	assert_int_equal(run(f, n), XDP_DROP);
	o.frag_off = 0x0010;
	n = pkt_build_tcp(f, sizeof(f), &o, pl, strlen(pl));
	assert_int_equal(run(f, n), XDP_DROP);
	assert_int_equal(stat(BV_ST_FRAGMENT), fr0 + 2);
}

static void test_non_ip_and_udp_pass(void **state)
{
	uint8_t f[128] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0, 1, 0x08, 0x06 };
	struct pkt_opts o = { .family = 4, .src = CLIENT4, .dst = SERVER4, .sport = 53, .dport = 53 };
	size_t n;
	__u64 n0 = stat(BV_ST_NON_IP), u0 = stat(BV_ST_NON_TCP);

	(void)state;
	assert_int_equal(run(f, 60), XDP_PASS);
	assert_memory_equal(out, f, 60);
	n = pkt_build_udp(f, sizeof(f), &o, "hello", 5);
	assert_int_equal(run(f, n), XDP_PASS);
	assert_memory_equal(out, f, n);
	assert_int_equal(stat(BV_ST_NON_IP), n0 + 1);
	assert_int_equal(stat(BV_ST_NON_TCP), u0 + 1);
}

/* ---- flow state ----------------------------------------------------------- */

static void test_retransmission_masked_again(void **state)
{
	struct conn c;
	char first[512];
	const char *req = "POST /rb_1 HTTP/1.1\r\nX-Forwarded-For: 203.0.113.57\r\nDNT: 1\r\nCookie: rxVisitor=" RXV "\r\n\r\n";

	(void)state;
	reset_policy();
	conn_init(&c, 4);
	conn_syn(&c);
	assert_int_equal(conn_sends(&c, req), XDP_PASS);
	strcpy(first, out_payload());
	c.seq -= (uint32_t)strlen(req);
	assert_int_equal(conn_sends(&c, req), XDP_PASS);
	assert_string_equal(out_payload(), first);
}

static void test_retransmission_of_dropped_request(void **state)
{
	struct conn c;
	const char *req = "POST /rb_1 HTTP/1.1\r\nDNT: 1\r\n\r\n";
	__u64 d0 = stat(BV_DEC_DROPPED_DNT);

	(void)state;
	reset_policy();
	set_policy("dnt_action", "drop");
	conn_init(&c, 4);
	conn_syn(&c);
	assert_int_equal(conn_sends(&c, req), XDP_DROP);
	c.seq -= (uint32_t)strlen(req);
	assert_int_equal(conn_sends(&c, req), XDP_DROP);
	assert_int_equal(stat(BV_DEC_DROPPED_DNT), d0 + 1); /* one request, one decision */
	reset_policy();
}

static void test_unknown_flow_dropped_until_syn(void **state)
{
	struct conn c;
	struct pkt_view v;
	__u64 u0 = stat(BV_ST_FLOW_UNKNOWN);

	(void)state;
	reset_policy();
	conn_init(&c, 4);
	c.o.ack = 4242;
	/* no SYN seen, mid-request: could be the middle of a beacon; inline the
	 * client is reset so it reconnects at once */
	assert_int_equal(conn_sends(&c, "X-Forwarded-For: 203.0.113.57\r\n\r\n"), XDP_TX);
	assert_int_equal(pkt_parse(out, outlen, &v), 0);
	assert_int_equal(v.tcp_flags, 0x14);
	assert_int_equal(v.seq, 4242);
	assert_int_equal(v.payload_len, 0);
	/* a segment that starts like a request is no proof of a boundary:
	 * body bytes can look like that (see test_fake_head_in_body) */
	assert_int_equal(conn_sends(&c, "POST /rb_1 HTTP/1.1\r\nX-Forwarded-For: 203.0.113.57\r\n\r\n"), XDP_TX);
	assert_int_equal(stat(BV_ST_FLOW_UNKNOWN), u0 + 2);
	/* a new connection (SYN) is judged from its start */
	conn_init(&c, 4);
	conn_syn(&c);
	assert_int_equal(conn_sends(&c, "GET /rb_1 HTTP/1.1\r\nX-Forwarded-For: 203.0.113.57\r\n\r\n"), XDP_PASS);
	assert_non_null(strstr(out_payload(), "203.0.113.0 "));
	/* TCP Fast Open data in a SYN is never passed unscanned */
	{
		uint8_t f[512];
		struct pkt_opts o = c.o;
		const char *pl = "POST /rb_1 HTTP/1.1\r\nX-Forwarded-For: 203.0.113.57\r\n\r\n";
		size_t n;

		o.sport++;
		o.tcp_flags = 0x02;
		n = pkt_build_tcp(f, sizeof(f), &o, pl, strlen(pl));
		assert_int_equal(run(f, n), XDP_DROP);
	}
}

/* A body is the sender's to choose: bytes in it that look like a request
 * must never be taken for one, or the request that really follows (another
 * client's, behind a proxy that reuses connections) would be swallowed. */
static void test_fake_head_in_body(void **state)
{
	struct conn c;
	const char *fake = "GET /x HTTP/1.1\r\nX-Pad: ";

	(void)state;
	reset_policy();
	/* a Content-Length body whose second segment starts like a request */
	conn_init(&c, 4);
	conn_syn(&c);
	{
		char req[256];

		snprintf(req, sizeof(req), "POST /rb_1 HTTP/1.1\r\nContent-Length: %zu\r\n\r\nab", 2 + strlen(fake));
		assert_int_equal(conn_sends(&c, req), XDP_PASS);
	}
	assert_int_equal(conn_sends(&c, fake), XDP_PASS);
	assert_int_equal(conn_sends(&c, "POST /rb_1 HTTP/1.1\r\nX-Forwarded-For: 198.51.100.23\r\n\r\n"), XDP_PASS);
	assert_non_null(strstr(out_payload(), "198.51.100.0 "));
	/* the same inside a chunked body */
	conn_init(&c, 4);
	conn_syn(&c);
	assert_int_equal(conn_sends(&c, "POST /rb_1 HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"), XDP_PASS);
	{
		char chunk[128];

		snprintf(chunk, sizeof(chunk), "%zx\r\n%s\r\n", strlen(fake), fake);
		assert_int_equal(conn_sends(&c, chunk), XDP_PASS);
	}
	assert_int_equal(conn_sends(&c, "0\r\n\r\n"), XDP_PASS);
	assert_int_equal(conn_sends(&c, "POST /rb_1 HTTP/1.1\r\nX-Forwarded-For: 198.51.100.23\r\n\r\n"), XDP_PASS);
	assert_non_null(strstr(out_payload(), "198.51.100.0 "));
}

static void test_chunked_bodies(void **state)
{
	struct conn c;
	__u64 m0 = stat(BV_DEC_MALFORMED);

	(void)state;
	reset_policy();
	/* chunks with extensions and a trailer, then the next request */
	conn_init(&c, 4);
	conn_syn(&c);
	assert_int_equal(conn_sends(&c, "POST /rb_1 HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"
				    "5;ext=1\r\nhello\r\n"), XDP_PASS);
	assert_int_equal(conn_sends(&c, "A\r\n0123456789\r\n0\r\nX-Trailer: 1\r\n\r\n"
				    "POST /rb_1 HTTP/1.1\r\nX-Real-IP: 203.0.113.57\r\n\r\n"), XDP_PASS);
	assert_non_null(strstr(out_payload(), "X-Real-IP: 203.0.113.0 \r\n"));
	/* a dropped beacon's chunks are dropped, the next request is read */
	set_policy("dnt_action", "drop");
	assert_int_equal(conn_sends(&c, "POST /rb_1 HTTP/1.1\r\nDNT: 1\r\nTransfer-Encoding: chunked\r\n\r\n"), XDP_DROP);
	assert_int_equal(conn_sends(&c, "3\r\nabc\r\n"), XDP_DROP);
	assert_int_equal(conn_sends(&c, "0\r\n\r\n"), XDP_DROP);
	assert_int_equal(conn_sends(&c, "POST /rb_1 HTTP/1.1\r\nX-Real-IP: 203.0.113.57\r\n\r\n"), XDP_PASS);
	assert_non_null(strstr(out_payload(), "203.0.113.0 "));
	/* a bad chunk size, or a coding other than chunked: malformed */
	reset_policy();
	conn_init(&c, 4);
	conn_syn(&c);
	assert_int_equal(conn_sends(&c, "POST /rb_1 HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"), XDP_DROP);
	conn_init(&c, 4);
	conn_syn(&c);
	assert_int_equal(conn_sends(&c, "POST /rb_1 HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n"), XDP_DROP);
	/* one decision per request: the first was decided (pass) at its head,
	 * its broken body is dropped all the same */
	assert_int_equal(stat(BV_DEC_MALFORMED), m0 + 1);
}

static void test_gap_dropped_inline(void **state)
{
	struct conn c;
	__u64 o0 = stat(BV_ST_OUT_OF_ORDER);

	(void)state;
	reset_policy();
	conn_init(&c, 4);
	conn_syn(&c);
	assert_int_equal(conn_sends(&c, "POST /rb_1 HTTP/1.1\r\nHost: a\r\n"), XDP_PASS);
	c.seq += 10; /* ten bytes never seen */
	assert_int_equal(conn_sends(&c, "X-Forwarded-For: 203.0.113.57\r\n\r\n"), XDP_DROP);
	assert_int_equal(stat(BV_ST_OUT_OF_ORDER), o0 + 1);
}

static void test_signal_after_identifier(void **state)
{
	struct conn c;
	__u64 h0 = stat(BV_ST_HELD_UNDECIDED);

	(void)state;
	reset_policy();
	/* curl-style: the visitor cookie leaves before DNT is seen */
	conn_init(&c, 4);
	conn_syn(&c);
	assert_int_equal(conn_sends(&c, "POST /rb_1 HTTP/1.1\r\nCookie: rxVisitor=" RXV "\r\n"), XDP_PASS);
	assert_null(strstr(out_payload(), RXV));
	assert_int_equal(stat(BV_ST_HELD_UNDECIDED), h0 + 1);
	assert_int_equal(conn_sends(&c, "DNT: 1\r\n\r\n"), XDP_PASS);
	/* same, but the end of headers is in the same segment: decided, kept */
	assert_int_equal(send_one("POST /rb_1 HTTP/1.1\r\nCookie: rxVisitor=" RXV "\r\n\r\n"), XDP_PASS);
	assert_non_null(strstr(out_payload(), RXV));
	/* a later DNT could drop it: the identifier that leaves first is
	 * replaced too (a dropped request must not leak its visitor) */
	set_policy("dnt_action", "drop");
	conn_init(&c, 4);
	conn_syn(&c);
	assert_int_equal(conn_sends(&c, "POST /rb_1 HTTP/1.1\r\nCookie: rxVisitor=" RXV "\r\n"), XDP_PASS);
	assert_null(strstr(out_payload(), RXV));
	assert_int_equal(conn_sends(&c, "DNT: 1\r\n\r\n"), XDP_DROP);
	/* opt-in without a consent cookie yet: replaced as well */
	reset_policy();
	set_policy("opt_in", "on");
	set_policy("respect_dnt", "off");
	set_policy("honour_disabled", "off");
	conn_init(&c, 4);
	conn_syn(&c);
	assert_int_equal(conn_sends(&c, "POST /rb_1?vi=ABCDEFGH HTTP/1.1\r\nCookie: rxVisitor=" RXV "\r\n"), XDP_PASS);
	assert_null(strstr(out_payload(), RXV));
	assert_null(strstr(out_payload(), "ABCDEFGH"));
	assert_int_equal(conn_sends(&c, "X-A: b\r\n\r\n"), XDP_DROP);
	/* ... but once the consent cookie was seen, nothing can stop "pass" */
	conn_init(&c, 4);
	conn_syn(&c);
	assert_int_equal(conn_sends(&c, "POST /rb_1 HTTP/1.1\r\nCookie: dtCookie=1; rxVisitor=" RXV "\r\n"), XDP_PASS);
	assert_non_null(strstr(out_payload(), RXV));
	assert_int_equal(conn_sends(&c, "X-A: b\r\n\r\n"), XDP_PASS);
	reset_policy();
}

static void test_certain_drop_stops_early(void **state)
{
	struct conn c;
	__u64 d0 = stat(BV_DEC_DROPPED_DNT), o0 = stat(BV_DEC_DROPPED_LEVEL_OFF);

	(void)state;
	reset_policy();
	set_policy("dnt_action", "drop");
	conn_init(&c, 4);
	conn_syn(&c);
	/* DNT in the first segment: the drop is certain, nothing leaves */
	assert_int_equal(conn_sends(&c, "POST /rb_1 HTTP/1.1\r\nDNT: 1\r\nX-Forwarded-For: 203.0.113.57\r\n"), XDP_DROP);
	assert_int_equal(conn_sends(&c, "Cookie: rxVisitor=" RXV "\r\n"), XDP_DROP);
	assert_int_equal(conn_sends(&c, "\r\n"), XDP_DROP);
	assert_int_equal(stat(BV_DEC_DROPPED_DNT), d0 + 1);
	/* collection_level=off: from the request line on */
	reset_policy();
	set_policy("collection_level", "off");
	conn_init(&c, 4);
	conn_syn(&c);
	assert_int_equal(conn_sends(&c, "POST /rb_1?vi=ABCDEFGH HTTP/1.1\r\nHost: a\r\n"), XDP_DROP);
	assert_int_equal(conn_sends(&c, "\r\n"), XDP_DROP);
	assert_int_equal(stat(BV_DEC_DROPPED_LEVEL_OFF), o0 + 1);
	/* a non-beacon request on the same connection passes again */
	assert_int_equal(conn_sends(&c, "GET /index.html HTTP/1.1\r\n\r\n"), XDP_PASS);
	reset_policy();
}

static void test_reset_inline(void **state)
{
	struct conn c;
	struct pkt_view v;
	const char *req = "POST /rb_1 HTTP/1.1\r\nDNT: 1\r\n\r\n";
	__u64 t0 = stat(BV_ST_ACT_TX);

	(void)state;
	reset_policy();
	set_policy("dnt_action", "drop");
	set_policy("drop_action", "reset");
	for (int fam = 4; fam <= 6; fam += 2) {
		conn_init(&c, fam);
		conn_syn(&c);
		c.o.ack = 777;
		assert_int_equal(conn_sends(&c, req), XDP_TX);
		assert_int_equal(pkt_parse(out, outlen, &v), 0);
		assert_int_equal(v.tcp_flags, 0x14);
		assert_int_equal(v.sport, 80);
		assert_int_equal(v.dport, c.o.sport);
		assert_int_equal(v.seq, 777);
		assert_int_equal(v.ack, c.seq);
		assert_int_equal(v.payload_len, 0);
		assert_csums_ok();
		if (fam == 4) {
			assert_addr4(v.src, 198, 18, 0, 10);
			assert_addr4(v.dst, 203, 0, 113, 57);
		}
		/* MACs swapped */
		assert_int_equal(out[5], 0x01);
		assert_int_equal(out[11], 0x02);
	}
	assert_int_equal(stat(BV_ST_ACT_TX), t0 + 2);
	reset_policy();
}

static void test_every_packet_counted(void **state)
{
	__u64 p0 = stat(BV_ST_PKTS), a0 = stat(BV_ST_ACT_PASS) + stat(BV_ST_ACT_DROP) +
		   stat(BV_ST_ACT_TX) + stat(BV_ST_ACT_REDIRECT);
	__u64 p1, a1;

	(void)state;
	reset_policy();
	send_one(ID_REQ("DNT: 1\r\n"));
	run(out, 20);
	p1 = stat(BV_ST_PKTS);
	a1 = stat(BV_ST_ACT_PASS) + stat(BV_ST_ACT_DROP) + stat(BV_ST_ACT_TX) + stat(BV_ST_ACT_REDIRECT);
	assert_int_equal(p1, p0 + 3);       /* SYN, data, runt */
	assert_int_equal(a1 - a0, p1 - p0); /* one verdict each */
}

/* ---- mirror / pcap mode ------------------------------------------------ */

/* A copy (pcap, mirror) goes to analysis tools: a request that is not a
 * beacon (the page, its favicon) has its client-address headers masked too,
 * unless [anonymize] other_requests = off. Inline they stay (that is the
 * site's own traffic to its own server). */
static void test_pcap_mode_other_requests_masked(void **state)
{
	static const char *req = "GET /favicon.ico HTTP/1.1\r\nHost: shop.example\r\n"
				 "X-Forwarded-For: 203.0.113.57, 198.51.100.23\r\nX-Real-IP: 203.0.113.57\r\n"
				 "Forwarded: for=\"[2001:db8:1:2::3]:4711\";proto=http\r\n"
				 "X-Client-IP: 192.0.2.200\r\nCookie: rxVisitor=" RXV "\r\n\r\n";
	static const char *want = "GET /favicon.ico HTTP/1.1\r\nHost: shop.example\r\n"
				  "X-Forwarded-For: 203.0.113.0 , 198.51.100.0 \r\nX-Real-IP: 203.0.113.0 \r\n"
				  "Forwarded: for=\"[2001:db8:1:0::0]\";;;;;;proto=http\r\n"
				  "X-Client-IP: 192.0.2.0  \r\nCookie: rxVisitor=" RXV "\r\n\r\n";
	struct conn c;

	(void)state;
	reset_policy();
	conn_init(&c, 4);
	conn_syn(&c);
	assert_int_equal(conn_sends(&c, req), XDP_PASS);
	assert_string_equal(out_payload(), want); /* not a beacon: its cookie is its own */
	assert_csums_ok();
	H.cfg.settings.flags |= BV_SETF_KEEP_OTHER_REQUESTS;
	assert_int_equal(harness_apply(&H), 0);
	conn_init(&c, 4);
	conn_syn(&c);
	assert_int_equal(conn_sends(&c, req), XDP_PASS);
	assert_string_equal(out_payload(), req);
	reset_policy();
}

/* Every run of 8 or more letters and digits of a differs from b's, keeping
 * its shape; everything else is equal but for the masked addresses. */
static void assert_runs_replaced(const char *a, const char *b)
{
	size_t n = strlen(a), i = 0;

	assert_int_equal(strlen(b), n);
	while (i < n) {
		size_t j = i;

		while (j < n && isalnum((unsigned char)a[j]))
			j++;
		if (j - i >= 8) {
			if (!memcmp(a + i, b + i, j - i))
				fail_msg("run '%.*s' kept", (int)(j - i), a + i);
			for (size_t k = i; k < j; k++)
				assert_int_equal(!!isdigit((unsigned char)a[k]), !!isdigit((unsigned char)b[k]));
		}
		i = j > i ? j : i + 1;
	}
}

/* pcap --midstream: a connection whose SYN is not in the capture is picked
 * up and rewritten conservatively; without the option it is dropped. */
static void test_pcap_midstream(void **state)
{
	static const char *req = "POST /rb_bf12345abc?type=js3&vi=QWERTYUIOPASDFGH HTTP/1.1\r\n"
				 "Host: collector.example\r\nX-Forwarded-For: 203.0.113.57, 2001:db8:85a3:8d3:1319:8a2e:370:7348\r\n"
				 "Cookie: rxVisitor=" RXV "; dtCookie=v_4_srv_1\r\n\r\n";
	struct conn c;
	char whole[1024];
	__u64 m0 = stat(BV_ST_MIDSTREAM);

	(void)state;
	reset_policy();
	conn_init(&c, 4);
	assert_int_equal(conn_sends(&c, req), XDP_DROP); /* no SYN seen: lost */
	H.cfg.settings.flags |= BV_SETF_MIDSTREAM;
	assert_int_equal(harness_apply(&H), 0);
	conn_init(&c, 4);
	assert_int_equal(conn_sends(&c, req), XDP_PASS);
	snprintf(whole, sizeof(whole), "%s", out_payload());
	assert_csums_ok();
	assert_null(strstr(whole, "203.0.113.57"));
	assert_non_null(strstr(whole, "203.0.113.0 , 2001:db8:85a3:000:0000:0000:000:0000"));
	assert_null(strstr(whole, RXV + 13)); /* every long run replaced */
	assert_null(strstr(whole, "QWERTYUIOPASDFGH"));
	assert_non_null(strstr(whole, "POST /")); /* short words stay */
	assert_runs_replaced(req, whole);
	assert_int_equal(stat(BV_ST_MIDSTREAM), m0 + 1);
	/* cut anywhere: no long run and no address leaves whole, whatever the
	 * cut (a run cut by a segment end is replaced even if short) */
	for (size_t k = 1; k <= 64; k = k * 2 + 1) {
		static char acc[1024];
		size_t off = 0, alen = 0, n = strlen(req);

		conn_init(&c, 4);
		while (off < n) {
			size_t len = n - off < k ? n - off : k, plen = 0;
			const uint8_t *p;

			assert_int_equal(conn_send(&c, req + off, len), XDP_PASS);
			p = pkt_payload(out, outlen, &plen);
			memcpy(acc + alen, p, plen);
			alen += plen;
			off += len;
		}
		acc[alen] = 0;
		assert_null(strstr(acc, "203.0.113.57"));
		assert_null(strstr(acc, "QWERTYUIOPASDFGH"));
		assert_runs_replaced(req, acc);
	}
	/* a gap in a known connection: picked up again at the next segment */
	conn_init(&c, 4);
	conn_syn(&c);
	assert_int_equal(conn_sends(&c, "POST /rb_1 HTTP/1.1\r\nHost: a\r\n"), XDP_PASS);
	c.seq += 100; /* lost */
	assert_int_equal(conn_sends(&c, "X-Real-IP: 198.51.100.23\r\nCookie: rxVisitor=" RXV "\r\n\r\n"), XDP_PASS);
	assert_null(strstr(out_payload(), "198.51.100.23"));
	assert_null(strstr(out_payload(), RXV + 13));
	reset_policy();
}

static void test_pcap_mode_l3_and_dscp(void **state)
{
	struct conn c;
	struct pkt_view v;
	uint8_t f[512];
	struct pkt_opts o;
	size_t n;

	(void)state;
	/* client -> server: source masked, DSCP tags the privacy class */
	conn_init(&c, 4);
	conn_syn(&c);
	assert_int_equal(pkt_parse(out, outlen, &v), 0);
	assert_addr4(v.src, 203, 0, 113, 0);
	assert_addr4(v.dst, 198, 18, 0, 10);
	assert_csums_ok();
	assert_int_equal(conn_sends(&c, ID_REQ("DNT: 1\r\n")), XDP_PASS);
	assert_int_equal(pkt_parse(out, outlen, &v), 0);
	assert_addr4(v.src, 203, 0, 113, 0);
	assert_int_equal(v.tos >> 2, BV_DSCP_BASE + BV_CLASS_ANONYMIZED);
	assert_ids_replaced(out_payload());
	assert_csums_ok();
	/* server -> client: destination masked */
	o = c.o;
	o.src = SERVER4;
	o.dst = CLIENT4;
	o.sport = 80;
	o.dport = c.o.sport;
	n = pkt_build_tcp(f, sizeof(f), &o, "HTTP/1.1 204 No Content\r\n\r\n", 27);
	assert_int_equal(run(f, n), XDP_PASS);
	assert_int_equal(pkt_parse(out, outlen, &v), 0);
	assert_addr4(v.dst, 203, 0, 113, 0);
	assert_addr4(v.src, 198, 18, 0, 10);
	assert_csums_ok();
	/* IPv6 and UDP: both addresses masked (no client side known) */
	o.family = 6;
	o.src = CLIENT6;
	o.dst = SERVER6;
	n = pkt_build_udp(f, sizeof(f), &o, "q", 1);
	assert_int_equal(run(f, n), XDP_PASS);
	assert_int_equal(pkt_parse(out, outlen, &v), 0);
	{
		static const uint8_t want[16] = { 0x20, 0x01, 0x0d, 0xb8, 0x85, 0xa3 };

		assert_memory_equal(v.src, want, 16);
	}
	assert_csums_ok();
}

static void test_pcap_mode_tshark_validates(void **state)
{
	uint8_t *frames[64];
	size_t lens[64], nf = 0;
	struct conn c;
	int total = 0, bad = -1;
	char path[] = "/tmp/bv_dp_XXXXXX";
	int fd = mkstemp(path);

	(void)state;
	assert_true(fd >= 0);
	for (int fam = 4; fam <= 6; fam += 2) {
		for (int i = 0; i < 4; i++) {
			conn_init(&c, fam);
			c.o.nvlan = i & 1;
			conn_syn(&c);
			frames[nf] = malloc(outlen);
			memcpy(frames[nf], out, outlen);
			lens[nf++] = outlen;
			assert_int_equal(conn_sends(&c, ID_REQ("X-Forwarded-For: 203.0.113.57, 2001:db8::1\r\nDNT: 1\r\n")), XDP_PASS);
			frames[nf] = malloc(outlen);
			memcpy(frames[nf], out, outlen);
			lens[nf++] = outlen;
		}
	}
	assert_int_equal(pkt_write_pcap(path, frames, lens, nf), 0);
	assert_int_equal(pkt_tshark_check(path, &total, &bad), 0);
	assert_int_equal(total, (int)nf);
	assert_int_equal(bad, 0);
	for (size_t i = 0; i < nf; i++)
		free(frames[i]);
	unlink(path);
	close(fd);
}

static void test_policy_garbage_is_sanitized(void **state)
{
	struct bv_policy p;
	__u32 zero = 0;

	(void)state;
	/* what an operator might write with bpftool: out-of-range bytes */
	memset(&p, 0xee, sizeof(p));
	p.valid = 1;
	assert_int_equal(bpf_map_update_elem(H.fds.policy, &zero, &p, 0), 0);
	assert_int_equal(send_one(ID_REQ("DNT: 1\r\nX-Forwarded-For: 203.0.113.57\r\n")), XDP_PASS);
	/* defaults apply: anonymize, /24 */
	assert_ids_replaced(out_payload());
	assert_non_null(strstr(out_payload(), "203.0.113.0 "));
	/* an entry never written (valid = 0) means the defaults too */
	memset(&p, 0, sizeof(p));
	assert_int_equal(bpf_map_update_elem(H.fds.policy, &zero, &p, 0), 0);
	assert_int_equal(send_one(ID_REQ("DNT: 1\r\nX-Forwarded-For: 203.0.113.57\r\n")), XDP_PASS);
	assert_ids_replaced(out_payload());
	reset_policy();
}


/* ---- events to the daemon -------------------------------------------- */

/* Reference SipHash-2-4 (byte-wise, independent of bpf/bv_hash.h). */
#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND do { v0 += v1; v1 = ROTL(v1, 13); v1 ^= v0; v0 = ROTL(v0, 32); \
	v2 += v3; v3 = ROTL(v3, 16); v3 ^= v2; v0 += v3; v3 = ROTL(v3, 21); v3 ^= v0; \
	v2 += v1; v1 = ROTL(v1, 17); v1 ^= v2; v2 = ROTL(v2, 32); } while (0)
static uint64_t ref_siphash(const __u64 k[2], const void *data, size_t n)
{
	const uint8_t *p = data;
	uint64_t v0 = k[0] ^ 0x736f6d6570736575ULL, v1 = k[1] ^ 0x646f72616e646f6dULL;
	uint64_t v2 = k[0] ^ 0x6c7967656e657261ULL, v3 = k[1] ^ 0x7465646279746573ULL;
	uint64_t b = (uint64_t)n << 56, m;
	size_t i;

	for (i = 0; i + 8 <= n; i += 8) {
		memcpy(&m, p + i, 8);
		v3 ^= m; SIPROUND; SIPROUND; v0 ^= m;
	}
	for (size_t j = 0; i + j < n; j++)
		b |= (uint64_t)p[i + j] << (8 * j);
	v3 ^= b; SIPROUND; SIPROUND; v0 ^= b;
	v2 ^= 0xff;
	SIPROUND; SIPROUND; SIPROUND; SIPROUND;
	return v0 ^ v1 ^ v2 ^ v3;
}

static struct bv_event evs[64];
static int nevs;

static int ev_cb(void *ctx, void *data, size_t len)
{
	(void)ctx;
	assert_int_equal(len, sizeof(struct bv_event));
	if (nevs < 64)
		memcpy(&evs[nevs++], data, sizeof(struct bv_event));
	return 0;
}

static void test_events_carry_only_keyed_hashes(void **state)
{
	struct bv_hash_key key = { .k = { 0x0706050403020100ULL, 0x0f0e0d0c0b0a0908ULL }, .epoch = 7 };
	uint8_t vec[15];
	__u32 zero = 0;
	struct ring_buffer *rb;
	const char *pats[] = { "203.0.113", "198.51.100", RXV, "ABCDEFGHIJKLMNOP", "QWERTYUIOP", "v_4_srv_1" };

	(void)state;
	/* the reference is SipHash-2-4: check it on the published vector */
	for (int i = 0; i < 15; i++)
		vec[i] = (uint8_t)i;
	assert_true(ref_siphash(key.k, vec, 15) == 0xa129ca6149be45e5ULL);

	reset_policy();
	assert_int_equal(bpf_map_update_elem(bpf_map__fd(H.skel->maps.bv_keys), &zero, &key, 0), 0);
	rb = ring_buffer__new(bpf_map__fd(H.skel->maps.bv_events), ev_cb, NULL, NULL);
	assert_non_null(rb);
	ring_buffer__consume(rb);
	nevs = 0;

	assert_int_equal(send_one(ID_REQ("X-Forwarded-For: 203.0.113.57, 198.51.100.23\r\n")), XDP_PASS);
	assert_int_equal(send_one(ID_REQ("DNT: 1\r\n")), XDP_PASS);
	set_policy("dnt_action", "drop");
	assert_int_equal(send_one("POST /bf?sn=S355ION&app=x HTTP/1.1\r\nDNT: 1\r\n\r\n"), XDP_DROP);
	assert_int_equal(send_one("GET /index.html HTTP/1.1\r\n\r\n"), XDP_PASS); /* no event */
	ring_buffer__consume(rb);
	assert_int_equal(nevs, 3);

	assert_int_equal(evs[0].decision, BV_DEC_PASS);
	assert_true(evs[0].visitor == ref_siphash(key.k, RXV, 45));
	assert_true(evs[0].session == ref_siphash(key.k, "v_4_srv_1", 9));
	assert_int_equal(evs[0].epoch, 7);
	assert_int_equal(evs[0].app_len, 16);
	assert_memory_equal(evs[0].app, "ea7c4b59f27d43eb", 16);
	assert_true(evs[0].sig & BV_SIG_CONSENT);
	assert_true(evs[0].ts_ns > 0);

	assert_int_equal(evs[1].decision, BV_DEC_ANONYMIZED);
	assert_true(evs[1].visitor == 0);            /* identity removed: not tracked */
	assert_true(evs[1].session == evs[0].session);
	assert_true(evs[1].sig & BV_SIG_DNT);

	assert_int_equal(evs[2].decision, BV_DEC_DROPPED_DNT);
	assert_true(evs[2].session == ref_siphash(key.k, "S355ION", 7)); /* sn= without cookie */
	assert_int_equal(evs[2].app_len, 1);

	/* nothing raw in any event's bytes */
	for (int i = 0; i < nevs; i++)
		for (size_t j = 0; j < sizeof(pats) / sizeof(pats[0]); j++)
			assert_null(memmem(&evs[i], sizeof(evs[i]), pats[j], strlen(pats[j])));
	ring_buffer__free(rb);
	reset_policy();
}


static void test_ipv6_malformed_shapes(void **state)
{
	uint8_t f[512], g[512];
	struct pkt_opts o = { .family = 6, .src = CLIENT6, .dst = SERVER6, .sport = 1234, .dport = 80, .seq = 1, .ipv6_ext = 1 };
	const char *pl = "POST /rb_1 HTTP/1.1\r\n\r\n";
	size_t n = pkt_build_tcp(f, sizeof(f), &o, pl, strlen(pl));
	__u64 m0 = stat(BV_ST_MALFORMED_PKT), fr0 = stat(BV_ST_FRAGMENT);

	(void)state;
	reset_policy();
	/* payload length beyond the frame */
	assert_int_equal(run(f, n - 8), XDP_DROP);
	/* extension header length running past the datagram */
	memcpy(g, f, n);
	g[14 + 40 + 1] = 200;
	assert_int_equal(run(g, n), XDP_DROP);
	/* a chain of hop-by-hop headers longer than we follow */
	{
		uint8_t h[600];
		size_t hl = 14 + 40;

		memcpy(h, f, hl);
		h[14 + 6] = 0; /* next header: hop-by-hop */
		for (int i = 0; i < 8; i++) {
			memset(h + hl, 0, 8);
			h[hl] = 0;  /* next: hop-by-hop again */
			hl += 8;
		}
		h[14 + 4] = 0;
		h[14 + 5] = 8 * 8;
		assert_int_equal(run(h, hl), XDP_DROP);
	}
	/* version field lying */
	memcpy(g, f, n);
	g[14] = 0x40;
	assert_int_equal(run(g, n), XDP_DROP);
	assert_int_equal(stat(BV_ST_MALFORMED_PKT), m0 + 4);
	/* IPv6 fragment header in front of TCP */
	{
		uint8_t h[600];
		size_t l4 = 14 + 40 + 8;
		size_t tcp_len = n - l4;

		memcpy(h, f, 14 + 40);
		h[14 + 6] = 44; /* fragment */
		memset(h + 14 + 40, 0, 8);
		h[14 + 40] = 6;  /* next: TCP */
		h[14 + 40 + 3] = 1; /* M flag */
		memcpy(h + 14 + 48, f + l4, tcp_len);
		h[14 + 4] = (uint8_t)((8 + tcp_len) >> 8);
		h[14 + 5] = (uint8_t)(8 + tcp_len);
		assert_int_equal(run(h, 14 + 48 + tcp_len), XDP_DROP);
		assert_int_equal(stat(BV_ST_FRAGMENT), fr0 + 1);
	}
}

static void test_metadata_tag(void **state)
{
	const struct bv_meta *m;

	(void)state;
	reset_policy();
	assert_int_equal(send_one(ID_REQ("DNT: 1\r\n")), XDP_PASS);
	assert_int_equal(H.meta_len, sizeof(struct bv_meta));
	m = (const struct bv_meta *)H.meta;
	assert_int_equal(m->magic, BV_META_MAGIC);
	assert_int_equal(m->class, BV_CLASS_ANONYMIZED);
	assert_int_equal(m->decision, BV_DEC_ANONYMIZED);
	assert_true(m->flags & BV_SIG_DNT);
	assert_int_equal(send_one(ID_REQ("")), XDP_PASS);
	assert_int_equal(((const struct bv_meta *)H.meta)->class, BV_CLASS_IDENTIFIED);
	/* not a beacon: no metadata */
	assert_int_equal(send_one("GET /index.html HTTP/1.1\r\n\r\n"), XDP_PASS);
	assert_int_equal(H.meta_len, 0);
}

static void test_mirror_redirects_to_egress(void **state)
{
	struct bv_harness M;
	struct conn c;
	__u32 zero = 0, lo = 1;
	uint8_t f[512];
	struct pkt_opts o;
	size_t n;
	int act;

	(void)state;
	assert_int_equal(harness_open(&M, BV_MODE_MIRROR), 0);
	conn_init(&c, 4);
	o = c.o;
	o.seq = c.seq - 1;
	o.tcp_flags = 0x02;
	n = pkt_build_tcp(f, sizeof(f), &o, NULL, 0);
	outlen = sizeof(out);
	assert_int_equal(harness_run(&M, f, n, out, &outlen), XDP_DROP); /* no egress yet */
	o.tcp_flags = 0;
	o.seq = c.seq;
	n = pkt_build_tcp(f, sizeof(f), &o, "POST /rb_1 HTTP/1.1\r\n\r\n", 24);
	/* no egress configured: nothing leaves */
	outlen = sizeof(out);
	assert_int_equal(harness_run(&M, f, n, out, &outlen), XDP_DROP);
	assert_int_equal(bpf_map_update_elem(bpf_map__fd(M.skel->maps.bv_egress), &zero, &lo, 0), 0);
	o.sport++;
	o.seq = c.seq - 1;
	o.tcp_flags = 0x02;
	n = pkt_build_tcp(f, sizeof(f), &o, NULL, 0);
	outlen = sizeof(out);
	assert_int_equal(harness_run(&M, f, n, out, &outlen), XDP_REDIRECT);
	o.tcp_flags = 0;
	o.seq = c.seq;
	n = pkt_build_tcp(f, sizeof(f), &o, "POST /rb_1 HTTP/1.1\r\n\r\n", 24);
	outlen = sizeof(out);
	act = harness_run(&M, f, n, out, &outlen);
	assert_int_equal(act, XDP_REDIRECT);
	assert_int_equal(out[14 + 15], 0); /* source masked on the copy too */
	harness_close(&M);
}


static void test_obs_fold_continuation_masked(void **state)
{
	(void)state;
	reset_policy();
	assert_int_equal(send_one("POST /rb_1 HTTP/1.1\r\nX-Forwarded-For: 198.51.100.23,\r\n 203.0.113.57\r\nX-Other: a\r\n 203.0.113.57\r\n\r\n"), XDP_PASS);
	assert_string_equal(out_payload(), "POST /rb_1 HTTP/1.1\r\nX-Forwarded-For: 198.51.100.0 ,\r\n 203.0.113.0 \r\nX-Other: a\r\n 203.0.113.57\r\n\r\n");
}


/* Send req on a fresh connection (fixed ports and seq) in chunks of k bytes
 * (0: whole); returns the concatenated output payloads (static). */
static const char *send_chunked(const char *req, size_t k, int *dropped)
{
	static char acc[8192];
	struct conn c;
	size_t n = strlen(req), off = 0, alen = 0;

	harness_clear_flows(&H);
	conn_init(&c, 4);
	c.o.sport = 45678;
	conn_syn(&c);
	*dropped = 0;
	while (off < n) {
		size_t len = k ? (n - off < k ? n - off : k) : n;
		int act;

		/* a PROXY v1 line comes whole in its own segment, as HAProxy
		 * sends it (a cut one drops the connection: test_proxy_v1_cut) */
		if (off == 0 && k && !strncmp(req, "PROXY ", 6))
			len = (size_t)(strchr(req, '\n') + 1 - req);
		act = conn_send(&c, req + off, len);
		size_t plen = 0;
		const uint8_t *p;

		if (act != XDP_PASS) {
			*dropped = 1;
		} else {
			p = pkt_payload(out, outlen, &plen);
			assert_non_null(p);
			assert_int_equal(plen, len);
			memcpy(acc + alen, p, plen);
			alen += plen;
		}
		off += len;
	}
	acc[alen] = 0;
	return acc;
}

/* The fast paths (whole tokens in one segment) and the streaming paths
 * (tokens cut anywhere) must rewrite exactly the same bytes. */
static void test_split_equals_whole(void **state)
{
	static const char *reqs[] = {
		ID_REQ("X-Forwarded-For: 203.0.113.57, 2001:db8:85a3:8d3:1319:8a2e:370:7348\r\n"),
		"POST /myapp/rb_bf1?type=js3&flavor=post&vi=ABCDEF123456&svrid=3&app=a1b2 HTTP/1.1\r\n"
		"host: x\r\ncookie: a=b; rxVisitor=" RXV "; c=d;dtPC=2$12_3h4vZYXWVUTSRQ-0e0;rxvt=1|2\r\n"
		"Forwarded: for=203.0.113.57;proto=http, for=\"[2001:db8:1:2::3]\"\r\n"
		"Forwarded: For=\"203.0.113.43:8443\";by=_x, for=\"[2001:db8:1:2::3]:4711\"\r\n"
		"X-Real-IP:198.51.100.23\r\nTrue-Client-IP:   2001:db8::1  \r\nContent-Length: 4\r\n\r\nbody",
		"PROXY TCP6 2001:db8:85a3:8d3:1319:8a2e:370:7348 2001:db8::10 4711 80\r\n"
		"GET /bf/abc?vi=QQQQ&sn=1 HTTP/1.1\r\nUser-Agent: curl\r\nCookie: rxVisitor=" RXV "\r\n\r\n",
		"PROXY TCP4 203.0.113.57 198.18.0.10 56324 80\r\n"
		"GET /bf/abc?vi=QQQQ&sn=1 HTTP/1.1\r\nX-Real-IP: 203.0.113.57\r\nCookie: rxVisitor=" RXV "\r\n\r\n",
	};
	static const size_t ks[] = { 1, 2, 3, 5, 8, 13, 64 };

	(void)state;
	for (int pol = 0; pol < 2; pol++) {
		reset_policy();
		if (pol == 0)
			set_policy("collection_level", "performance"); /* ids always replaced */
		else {                                             /* ids never replaced */
			set_policy("respect_dnt", "off");
			set_policy("honour_disabled", "off");
		}
		for (size_t r = 0; r < sizeof(reqs) / sizeof(reqs[0]); r++) {
			char whole[8192];
			int d0, d1;

			strcpy(whole, send_chunked(reqs[r], 0, &d0));
			assert_false(d0);
			assert_int_equal(strlen(whole), strlen(reqs[r]));
			if (pol == 0)
				assert_null(strstr(whole, RXV));
			else
				assert_non_null(strstr(whole, RXV));
			assert_null(strstr(whole, "203.0.113.57"));
			for (size_t i = 0; i < sizeof(ks) / sizeof(ks[0]); i++) {
				const char *split = send_chunked(reqs[r], ks[i], &d1);

				assert_false(d1);
				if (strcmp(split, whole))
					fail_msg("policy %d request %zu chunk %zu:\nwhole: %s\nsplit: %s",
						 pol, r, ks[i], whole, split);
			}
		}
	}
	reset_policy();
}

/* ---- mobile beacons (OpenKit, the mobile agent) ------------------------
 * The body is what @dynatrace/openkit-js 4.2.0 sent (captured): basic data,
 * then events: 18 session start, 60 identify user, 40 error, 1 action, 50
 * crash, 19 session end. */
#define MB_BODY                                                                         \
	"vv=3&va=8.323.40200&ap=APPID&vn=1.0&os=Linux&pt=1&tt=okjs&vi=4282691011098906&dl=2&cl=2" \
	"&sn=1&ip=203.0.113.57&tv=1796285322888&mp=1&tx=1796285322889&et=18&it=1&pa=0&s0=1&t0=0" \
	"&et=60&na=jane.doe%40example.com&it=1&pa=0&s0=2&t0=0&et=40&na=oops&it=1&pa=1&s0=4&t0=0" \
	"&ev=42&tt=c&et=1&na=Checkout&it=1&ca=1&pa=0&s0=3&s1=5&t0=0&t1=1&et=50&na=NullPointer"   \
	"&it=1&pa=0&s0=6&t0=1&rs=reason%20text&st=at%20foo.bar(Baz.java%3A1)%0Aat%20x&tt=c&et=19" \
	"&it=1&pa=0&s0=7&t0=1"
#define MB_QUERY "/mbeacon?type=m&srvid=1&app=APPID&va=8.323.40200&pt=1&tt=okjs&cts=0&resp=json" \
		 "&si=4282691011098906_1"

static char mb_req[4096];
static size_t mb_head;

/* The request with body b (and extra header lines); its head's length in mb_head. */
static const char *mb_make(const char *b, const char *extra)
{
	mb_head = (size_t)snprintf(mb_req, sizeof(mb_req),
				   "POST " MB_QUERY " HTTP/1.1\r\nHost: rum.example\r\n"
				   "Content-Type: text/plain;charset=UTF-8\r\n%sContent-Length: %zu\r\n\r\n",
				   extra, strlen(b));
	snprintf(mb_req + mb_head, sizeof(mb_req) - mb_head, "%s", b);
	return mb_req;
}

/* A form body as a collector reads it: name=value pairs, empty ones
 * skipped. Returns the number of pairs; k[i]/v[i] point into buf. */
static int form_parse(const char *body, char *buf, size_t bl, char **k, char **v, int max)
{
	int n = 0;
	char *save = NULL;

	snprintf(buf, bl, "%s", body);
	for (char *t = strtok_r(buf, "&", &save); t && n < max; t = strtok_r(NULL, "&", &save)) {
		char *eq = strchr(t, '=');

		k[n] = t;
		v[n] = eq ? eq + 1 : NULL; /* NULL: a name without '=' */
		if (eq)
			*eq = 0;
		n++;
	}
	return n;
}

/* Same length, digits where digits were, letters where letters, and not
 * the original. */
static void assert_shape_replaced(const char *got, const char *orig, size_t n)
{
	assert_false(memcmp(got, orig, n) == 0);
	for (size_t i = 0; i < n; i++) {
		if (orig[i] >= '0' && orig[i] <= '9')
			assert_true(got[i] >= '0' && got[i] <= '9');
		else if (orig[i] >= 'a' && orig[i] <= 'z')
			assert_true(got[i] >= 'a' && got[i] <= 'z');
		else if (orig[i] >= 'A' && orig[i] <= 'Z')
			assert_true(got[i] >= 'A' && got[i] <= 'Z');
		else
			assert_int_equal(got[i], orig[i]);
	}
}

struct mb_out {
	int act;
	char body[4096], query[512];
	char buf[4096], *k[128], *v[128];
	int n;
	char obuf[4096], *ok[128], *ov[128];
	int on;
};

/* Sends the request whole and parses what came out, and the original. */
static void mb_send(struct mb_out *o, const char *req)
{
	const char *p, *q;

	memset(o, 0, sizeof(*o));
	o->act = send_one(req);
	o->on = form_parse(req + mb_head, o->obuf, sizeof(o->obuf), o->ok, o->ov, 128);
	if (o->act != XDP_PASS)
		return;
	p = out_payload();
	assert_int_equal(strlen(p), strlen(req));
	assert_csums_ok();
	snprintf(o->body, sizeof(o->body), "%s", p + mb_head);
	q = strchr(p, ' ') + 1;
	snprintf(o->query, sizeof(o->query), "%.*s", (int)(strchr(q, ' ') - q), q);
	o->n = form_parse(o->body, o->buf, sizeof(o->buf), o->k, o->v, 128);
}

/* Value of the i-th occurrence of key k (0 first), or NULL. */
static const char *mb_val(char **k, char **v, int n, const char *key, int nth)
{
	for (int i = 0; i < n; i++)
		if (v[i] && !strcmp(k[i], key) && nth-- == 0)
			return v[i];
	return NULL;
}

/* The event types in order, "18,60,40,1,50,19". */
static void mb_events(const struct mb_out *o, char *out, size_t len)
{
	size_t w = 0;

	out[0] = 0;
	for (int i = 0; i < o->n; i++)
		if (!strcmp(o->k[i], "et"))
			w += (size_t)snprintf(out + w, len - w, "%s%s", w ? "," : "", o->v[i]);
}

static void test_mobile_defaults(void **state)
{
	struct mb_out o;
	char ev[128];
	__u64 m0 = stat(BV_ST_MOBILE), p0 = stat(BV_DEC_PASS);

	(void)state;
	reset_policy();
	mb_send(&o, mb_make(MB_BODY, ""));
	assert_int_equal(o.act, XDP_PASS);
	assert_int_equal(stat(BV_ST_MOBILE), m0 + 1);
	assert_int_equal(stat(BV_DEC_PASS), p0 + 1);
	/* ip= masked, padded with empty parameters; nothing else changed */
	assert_non_null(strstr(o.body, "&ip=203.0.113.0&&tv="));
	assert_null(strstr(mb_req, "203.0.113.0&")); /* the input had no such text */
	assert_int_equal(o.n, o.on);
	for (int i = 0; i < o.n; i++) {
		assert_string_equal(o.k[i], o.ok[i]);
		if (strcmp(o.k[i], "ip"))
			assert_string_equal(o.v[i], o.ov[i]);
	}
	assert_string_equal(mb_val(o.k, o.v, o.n, "ip", 0), "203.0.113.0");
	assert_non_null(strstr(o.query, "&si=4282691011098906_1"));
	mb_events(&o, ev, sizeof(ev));
	assert_string_equal(ev, "18,60,40,1,50,19");
	/* IPv6 travels with %3A; the X-Client-IP header is masked too */
	{
		char body[2048], *p;

		snprintf(body, sizeof(body), "%s", MB_BODY);
		p = strstr(body, "&ip=203.0.113.57&");
		memmove(p + 4 + 50, p + 16, strlen(p + 16) + 1);
		memcpy(p + 4, "2001%3Adb8%3A85a3%3A8d3%3A1319%3A8a2e%3A370%3A7348", 50);
		mb_send(&o, mb_make(body, "X-Client-IP: 203.0.113.57\r\n"));
		assert_int_equal(o.act, XDP_PASS);
		assert_non_null(strstr(o.body, "&ip=2001%3Adb8%3A85a3%3A000%3A0000%3A0000%3A000%3A0000&"));
		assert_non_null(strstr(out_payload(), "X-Client-IP: 203.0.113.0 \r\n"));
	}
}

/* collection_level=performance for the application: device id, session
 * number, the si= device part and the user tag replaced; crashes stay. */
static void test_mobile_performance(void **state)
{
	struct mb_out o;
	char ev[128];
	const char *na;
	__u64 a0 = stat(BV_DEC_ANONYMIZED), i0 = stat(BV_ST_MOBILE_IDS),
	      u0 = stat(BV_ST_USER_TAG_REMOVED);

	(void)state;
	reset_policy();
	add_app(BV_APPKEY_APP, "APPID", "collection_level", "performance");
	mb_send(&o, mb_make(MB_BODY, ""));
	assert_int_equal(o.act, XDP_PASS);
	assert_int_equal(stat(BV_DEC_ANONYMIZED), a0 + 1);
	assert_shape_replaced(mb_val(o.k, o.v, o.n, "vi", 0), "4282691011098906", 16);
	assert_shape_replaced(strstr(o.query, "&si=") + 4, "4282691011098906", 16);
	assert_int_equal(strstr(o.query, "&si=")[20], '_');
	assert_true(isdigit((unsigned char)strstr(o.query, "&si=")[21]));
	/* one digit has ten values: replaced means "not linkable", it may
	 * come out equal; the shape is what is asserted */
	assert_int_equal(strlen(mb_val(o.k, o.v, o.n, "sn", 0)), 1);
	na = mb_val(o.k, o.v, o.n, "na", 0);
	assert_int_equal(strlen(na), strlen("jane.doe%40example.com"));
	assert_shape_replaced(na, "jane.doe%40example.com", strlen(na));
	assert_non_null(strstr(na, "%40"));
	assert_null(strstr(o.body, "jane"));
	assert_null(strstr(o.body, "example"));
	assert_null(strstr(o.body, "4282691011098906"));
	assert_int_equal(stat(BV_ST_MOBILE_IDS), i0 + 4); /* vi=, sn=, si= both parts */
	assert_int_equal(stat(BV_ST_USER_TAG_REMOVED), u0 + 1);
	/* other actions' names and the crash are kept */
	assert_string_equal(mb_val(o.k, o.v, o.n, "na", 2), "Checkout");
	mb_events(&o, ev, sizeof(ev));
	assert_string_equal(ev, "18,60,40,1,50,19");
	reset_policy();
}

/* crash_reports=off: the crash event is gone, everything else intact; a
 * crash_path rule for /mbeacon does not drop the beacon. */
static void test_mobile_crash_off(void **state)
{
	struct mb_out o;
	char ev[128];
	__u64 c0 = stat(BV_ST_CRASH_REMOVED), p0 = stat(BV_DEC_PASS);

	(void)state;
	for (int with_rule = 0; with_rule < 2; with_rule++) {
		reset_policy();
		if (with_rule) {
			/* the operator marks /mbeacon as a crash-report path */
			memmove(&H.cfg.paths[1], &H.cfg.paths[0], sizeof(H.cfg.paths[0]) * (size_t)H.cfg.npaths);
			H.cfg.npaths++;
			H.cfg.paths[0] = H.cfg.paths[3];
			H.cfg.paths[0].crash_report = 1;
		}
		set_policy("crash_reports", "off");
		mb_send(&o, mb_make(MB_BODY, ""));
		assert_int_equal(o.act, XDP_PASS);
		mb_events(&o, ev, sizeof(ev));
		assert_string_equal(ev, "18,60,40,1,19");
		assert_null(strstr(o.body, "NullPointer"));
		assert_null(strstr(o.body, "reason"));
		assert_null(strstr(o.body, "Baz"));
		/* the pairs left are exactly the original's without the crash event's */
		{
			int j = 0;

			for (int i = 0; i < o.on; i++) {
				if (!strcmp(o.ok[i], "et") && !strcmp(o.ov[i], "50")) {
					while (++i < o.on && strcmp(o.ok[i], "et"))
						;
					i--;
					continue;
				}
				assert_true(j < o.n);
				assert_string_equal(o.k[j], o.ok[i]);
				if (strcmp(o.k[j], "ip"))
					assert_string_equal(o.v[j], o.ov[i]);
				j++;
			}
			assert_int_equal(j, o.n);
		}
		assert_string_equal(mb_val(o.k, o.v, o.n, "vi", 0), "4282691011098906");
	}
	assert_int_equal(stat(BV_ST_CRASH_REMOVED), c0 + 2);
	assert_int_equal(stat(BV_DEC_PASS), p0 + 2);
	reset_policy();
}

/* The agent's own dl=1 cl=1 with the operator's defaults: the stricter
 * applies to what follows dl= and cl=. collection_level=off drops. */
static void test_mobile_agent_level_and_off(void **state)
{
	char body[2048], *p;
	struct mb_out o;
	char ev[128];

	(void)state;
	reset_policy();
	snprintf(body, sizeof(body), "%s", MB_BODY);
	p = strstr(body, "&dl=2&cl=2");
	p[4] = '1';
	p[9] = '1';
	mb_send(&o, mb_make(body, ""));
	assert_int_equal(o.act, XDP_PASS);
	assert_shape_replaced(mb_val(o.k, o.v, o.n, "vi", 0), "4282691011098906", 16);
	assert_null(strstr(o.body, "jane"));
	mb_events(&o, ev, sizeof(ev));
	assert_string_equal(ev, "18,60,40,1,19");
	/* the query's si= goes by the operator's level: kept */
	assert_non_null(strstr(o.query, "&si=4282691011098906_1"));

	add_app(BV_APPKEY_APP, "APPID", "collection_level", "off");
	{
		__u64 d0 = stat(BV_DEC_DROPPED_LEVEL_OFF);

		mb_send(&o, mb_make(MB_BODY, ""));
		assert_int_equal(o.act, XDP_DROP);
		assert_int_equal(stat(BV_DEC_DROPPED_LEVEL_OFF), d0 + 1);
	}
	reset_policy();
}

/* A body we cannot read: dropped by default, passed untouched on request. */
static void test_mobile_unreadable_body(void **state)
{
	struct mb_out o;
	__u64 d0 = stat(BV_DEC_DROPPED_UNREADABLE), u0 = stat(BV_ST_BODY_UNREADABLE);

	(void)state;
	reset_policy();
	mb_send(&o, mb_make(MB_BODY, "Content-Encoding: gzip\r\n"));
	assert_int_equal(o.act, XDP_DROP);
	assert_int_equal(stat(BV_DEC_DROPPED_UNREADABLE), d0 + 1);
	assert_int_equal(stat(BV_ST_BODY_UNREADABLE), u0 + 1);
	set_policy("unreadable_body", "pass");
	mb_send(&o, mb_make(MB_BODY, "content-encoding:  GZIP \r\n"));
	assert_int_equal(o.act, XDP_PASS);
	assert_string_equal(o.body, MB_BODY); /* not read, so not rewritten */
	/* identity is no coding: read as usual */
	reset_policy();
	mb_send(&o, mb_make(MB_BODY, "Content-Encoding: identity\r\n"));
	assert_int_equal(o.act, XDP_PASS);
	assert_non_null(strstr(o.body, "&ip=203.0.113.0&&tv="));
	assert_int_equal(stat(BV_ST_BODY_UNREADABLE), u0 + 2);
	reset_policy();
}

/* Cut anywhere: the same bytes as whole, but for a crash event whose
 * "et=50" is cut: it cannot be erased, so the rest of the beacon is dropped
 * and counted. */
static void test_mobile_split_equals_whole(void **state)
{
	static const size_t ks[] = { 1, 2, 3, 5, 8, 13, 64, 100, 500 };
	const char *crash = strstr(MB_BODY, "&et=50&") + 1;

	(void)state;
	for (int pol = 0; pol < 2; pol++) {
		char whole[4096];
		int d;
		const char *req;

		reset_policy();
		if (pol == 0)
			add_app(BV_APPKEY_APP, "APPID", "collection_level", "performance");
		else
			set_policy("crash_reports", "off");
		req = mb_make(MB_BODY, "");
		snprintf(whole, sizeof(whole), "%s", send_chunked(req, 0, &d));
		assert_false(d);
		for (size_t i = 0; i < sizeof(ks) / sizeof(ks[0]); i++) {
			size_t e0 = mb_head + (size_t)(crash - MB_BODY), e1 = e0 + 5;

			if (pol == 0 && i == 0)
				assert_true(ks[i] < mb_head); /* cuts in the head too */
			int cut = pol == 1 && e0 / ks[i] != e1 / ks[i];
			__u64 c0 = stat(BV_ST_BODY_CUT);
			const char *split = send_chunked(req, ks[i], &d);

			if (cut) {
				/* what passed is the whole's prefix, and nothing
				 * of the crash event's values */
				assert_true(d);
				assert_int_equal(stat(BV_ST_BODY_CUT), c0 + 1);
				if (strlen(split) < e0 - e0 % ks[i] ||
				    strncmp(split + mb_head, whole + mb_head, e0 - e0 % ks[i] - mb_head))
					fail_msg("chunk %zu, crash at %zu: passed %zu bytes:\n%s", ks[i], e0,
						 strlen(split), split);
				assert_null(strstr(split, "NullPointer"));
				continue;
			}
			assert_false(d);
			/* the body; in the head, a si= that leaves before the
			 * end of the head is replaced while undecided (README,
			 * "Signals after identifiers") */
			assert_int_equal(strlen(split), strlen(whole));
			if (pol == 1 && strcmp(split + mb_head, whole + mb_head)) {
				/* in an erased event, a parameter name cut by a
				 * segment end keeps its first part (a name without
				 * value, no data): a collector parses the same pairs */
				static char b1[4096], b2[4096];
				char *k1[128], *v1[128], *k2[128], *v2[128];
				int n1 = form_parse(whole + mb_head, b1, sizeof(b1), k1, v1, 128);
				int n2 = form_parse(split + mb_head, b2, sizeof(b2), k2, v2, 128), j = 0;

				assert_int_equal(strlen(split), strlen(whole));
				for (int m = 0; m < n2; m++) {
					if (!v2[m]) { /* a bare name: part of a real one */
						assert_non_null(strstr(MB_BODY, k2[m]));
						continue;
					}
					assert_true(j < n1);
					assert_string_equal(k2[m], k1[j]);
					assert_string_equal(v2[m], v1[j]);
					j++;
				}
				assert_int_equal(j, n1);
				continue;
			}
			if (strcmp(split + mb_head, whole + mb_head)) {
				size_t k = mb_head;

				while (split[k] == whole[k])
					k++;
				fail_msg("policy %d chunk %zu, first difference at %zu:\nwhole: %.60s\nsplit: %.60s",
					 pol, ks[i], k, whole + (k > 30 ? k - 30 : 0), split + (k > 30 ? k - 30 : 0));
			}
		}
	}
	reset_policy();
}

int main(void)
{
	const struct CMUnitTest inline_tests[] = {
		cmocka_unit_test(test_non_beacon_port_untouched),
		cmocka_unit_test(test_beacon_xff_masked_pass),
		cmocka_unit_test(test_not_a_beacon_path),
		cmocka_unit_test(test_dnt_anonymizes),
		cmocka_unit_test(test_no_signal_keeps_ids),
		cmocka_unit_test(test_dnt_case_and_space),
		cmocka_unit_test(test_pseudonyms_deterministic_and_unlinkable),
		cmocka_unit_test(test_dnt_drop),
		cmocka_unit_test(test_gpc),
		cmocka_unit_test(test_opt_in_consent),
		cmocka_unit_test(test_disabled_cookie),
		cmocka_unit_test(test_collection_level),
		cmocka_unit_test(test_crash_reports),
		cmocka_unit_test(test_per_app_override),
		cmocka_unit_test(test_path_rules),
		cmocka_unit_test(test_dnt_split_across_segments),
		cmocka_unit_test(test_xff_split_across_segments),
		cmocka_unit_test(test_header_name_split),
		cmocka_unit_test(test_keepalive_each_request),
		cmocka_unit_test(test_body_spanning_segments),
		cmocka_unit_test(test_client_ip_headers),
		cmocka_unit_test(test_forwarded_forms),
		cmocka_unit_test(test_ip_mask_modes_and_prefixes),
		cmocka_unit_test(test_proxy_v1),
		cmocka_unit_test(test_proxy_v1_cut_or_broken),
		cmocka_unit_test(test_proxy_v2),
		cmocka_unit_test(test_vlan_options_ext_headers),
		cmocka_unit_test(test_malformed_packets),
		cmocka_unit_test(test_non_ip_and_udp_pass),
		cmocka_unit_test(test_retransmission_masked_again),
		cmocka_unit_test(test_retransmission_of_dropped_request),
		cmocka_unit_test(test_unknown_flow_dropped_until_syn),
		cmocka_unit_test(test_fake_head_in_body),
		cmocka_unit_test(test_chunked_bodies),
		cmocka_unit_test(test_gap_dropped_inline),
		cmocka_unit_test(test_signal_after_identifier),
		cmocka_unit_test(test_certain_drop_stops_early),
		cmocka_unit_test(test_reset_inline),
		cmocka_unit_test(test_every_packet_counted),
		cmocka_unit_test(test_policy_garbage_is_sanitized),
		cmocka_unit_test(test_events_carry_only_keyed_hashes),
		cmocka_unit_test(test_ipv6_malformed_shapes),
		cmocka_unit_test(test_metadata_tag),
		cmocka_unit_test(test_mirror_redirects_to_egress),
		cmocka_unit_test(test_obs_fold_continuation_masked),
		cmocka_unit_test(test_split_equals_whole),
		cmocka_unit_test(test_mobile_defaults),
		cmocka_unit_test(test_mobile_performance),
		cmocka_unit_test(test_mobile_crash_off),
		cmocka_unit_test(test_mobile_agent_level_and_off),
		cmocka_unit_test(test_mobile_unreadable_body),
		cmocka_unit_test(test_mobile_split_equals_whole),
	};
	const struct CMUnitTest pcap_tests[] = {
		cmocka_unit_test(test_pcap_mode_l3_and_dscp),
		cmocka_unit_test(test_pcap_mode_other_requests_masked),
		cmocka_unit_test(test_pcap_midstream),
		cmocka_unit_test(test_pcap_mode_tshark_validates),
	};
	int fails = 0;

	fails += cmocka_run_group_tests_name("dataplane_inline", inline_tests, setup, teardown);
	fails += cmocka_run_group_tests_name("dataplane_pcap", pcap_tests, setup_pcap, teardown);
	return fails ? 1 : 0;
}
