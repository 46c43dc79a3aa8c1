/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * [names]: the scanner's names are data. The config side (lists, '+',
 * every error), the filter's agreement with the kernel's, and the real
 * program acting on names an operator added or removed, with no rebuild.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/bpf.h>
#include <bpf/bpf.h>
#include <cmocka.h>

#include "harness.h"
#include "names.h"
#include "pktbuild.h"

#define CLIENT4 "203.0.113.57"
#define SERVER4 "198.18.0.10"
#define RXV "1712345678901ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"

static struct bv_harness H;
static uint8_t out[16384];
static size_t outlen;
static uint16_t next_port = 41000;

/* ---- the config side -------------------------------------------------- */

static unsigned roles_of(const struct bv_names_cfg *c, int where, const char *name)
{
	for (int i = 0; i < c->n; i++)
		if (c->key[i].where == where && c->key[i].len == strlen(name) &&
		    !memcmp(c->key[i].name, name, c->key[i].len))
			return c->val[i].roles;
	return 0;
}

static void test_defaults(void **state)
{
	struct bv_names_cfg c;
	char err[300] = "";

	(void)state;
	bv_names_defaults(&c);
	assert_int_equal(roles_of(&c, BV_NAME_HEADER, "x-forwarded-for"), BV_ROLE_CLIENT_IP);
	assert_int_equal(roles_of(&c, BV_NAME_HEADER, "x-client-ip"), BV_ROLE_CLIENT_IP);
	assert_int_equal(roles_of(&c, BV_NAME_HEADER, "forwarded"), BV_ROLE_FORWARDED);
	assert_int_equal(roles_of(&c, BV_NAME_HEADER, "sec-gpc"), BV_ROLE_GPC);
	assert_int_equal(roles_of(&c, BV_NAME_HEADER, "host"), BV_ROLE_APP_KEY);
	assert_int_equal(roles_of(&c, BV_NAME_COOKIE, "dtCookie"), BV_ROLE_CONSENT | BV_ROLE_SESSION);
	assert_int_equal(roles_of(&c, BV_NAME_COOKIE, "rxVisitor"), BV_ROLE_VISITOR);
	assert_int_equal(roles_of(&c, BV_NAME_QUERY, "si"), BV_ROLE_SESSION | BV_ROLE_DEVICE_SESSION);
	assert_int_equal(roles_of(&c, BV_NAME_BODY, "na"), BV_ROLE_USER_TAG);
	assert_int_equal(c.n, 21); /* 8 headers, 4 cookies, 5 query keys, 4 body keys */
	assert_int_equal(bv_names_check(&c, err, sizeof(err)), 0);
}

static void test_set_replace_add(void **state)
{
	struct bv_names_cfg c;
	char err[300] = "";

	(void)state;
	bv_names_defaults(&c);
	/* '+' adds (and lower-cases a header) */
	assert_int_equal(bv_names_set(&c, "client_ip_headers", "+ CF-Connecting-IP,Fastly-Client-IP",
				      err, sizeof(err)), 0);
	assert_int_equal(roles_of(&c, BV_NAME_HEADER, "cf-connecting-ip"), BV_ROLE_CLIENT_IP);
	assert_int_equal(roles_of(&c, BV_NAME_HEADER, "fastly-client-ip"), BV_ROLE_CLIENT_IP);
	assert_int_equal(roles_of(&c, BV_NAME_HEADER, "x-real-ip"), BV_ROLE_CLIENT_IP);
	/* a plain list replaces */
	assert_int_equal(bv_names_set(&c, "client_ip_headers", "x-forwarded-for", err, sizeof(err)), 0);
	assert_int_equal(roles_of(&c, BV_NAME_HEADER, "x-real-ip"), 0);
	assert_int_equal(roles_of(&c, BV_NAME_HEADER, "cf-connecting-ip"), 0);
	assert_int_equal(roles_of(&c, BV_NAME_HEADER, "x-forwarded-for"), BV_ROLE_CLIENT_IP);
	/* an empty list: nobody has the role; the entry of a name left
	 * without any role goes away */
	assert_int_equal(bv_names_set(&c, "dnt_headers", "", err, sizeof(err)), 0);
	assert_int_equal(roles_of(&c, BV_NAME_HEADER, "dnt"), 0);
	/* session_cookies replaced: dtCookie keeps only consent */
	assert_int_equal(bv_names_set(&c, "session_cookies", "mySess", err, sizeof(err)), 0);
	assert_int_equal(roles_of(&c, BV_NAME_COOKIE, "dtCookie"), BV_ROLE_CONSENT);
	assert_int_equal(roles_of(&c, BV_NAME_COOKIE, "mySess"), BV_ROLE_SESSION);
	assert_int_equal(bv_names_check(&c, err, sizeof(err)), 0);
}

static void expect_set_error(const char *key, const char *value, const char *want)
{
	struct bv_names_cfg c, before;
	char err[300] = "";

	bv_names_defaults(&c);
	before = c;
	assert_int_equal(bv_names_set(&c, key, value, err, sizeof(err)), -1);
	if (!strstr(err, want))
		fail_msg("%s = %s: want '%s' in '%s'", key, value, want, err);
	assert_memory_equal(&c, &before, sizeof(c)); /* unchanged */
}

static void test_set_errors(void **state)
{
	(void)state;
	expect_set_error("client_ip_headers", "+ Content-Length", "frames the request");
	expect_set_error("client_ip_headers", "+ cookie", "frames the request");
	expect_set_error("session_params", "type", "frames the request");
	expect_set_error("session_body_keys", "et", "frames the request");
	expect_set_error("client_ip_headers", "+ bad(name)", "character '(' is not allowed");
	expect_set_error("visitor_params", "a=b", "character '=' is not allowed");
	expect_set_error("visitor_cookies", "+ myVisitor2", "environment suffix");
	expect_set_error("visitor_cookies", "+ v", "environment suffix");
	expect_set_error("visitor_cookies", "+ abcdefghijabcdefghijabcdefghijX", "1..30 bytes");
	expect_set_error("no_such_names_key", "x", "unknown key in section [names]");
}

static void test_conflicting_roles(void **state)
{
	struct bv_names_cfg c;
	char err[300] = "";

	(void)state;
	bv_names_defaults(&c);
	assert_int_equal(bv_names_set(&c, "dnt_headers", "+ x-real-ip", err, sizeof(err)), 0);
	assert_int_equal(bv_names_check(&c, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "header 'x-real-ip' has roles that exclude each other (client_ip, dnt)"));

	bv_names_defaults(&c);
	assert_int_equal(bv_names_set(&c, "visitor_cookies", "+ dtCookie", err, sizeof(err)), 0);
	assert_int_equal(bv_names_check(&c, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "cookie 'dtCookie'"));

	bv_names_defaults(&c);
	assert_int_equal(bv_names_set(&c, "app_key_params", "+ si", err, sizeof(err)), 0);
	assert_int_equal(bv_names_check(&c, err, sizeof(err)), -1);
}

/* A [names] section in a real file: line numbers, and the check after it. */
static void test_config_file(void **state)
{
	char dir[] = "/tmp/bv-test-names-XXXXXX", path[300], err[600] = "";
	struct bv_config c;
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/beaconveil.conf", dir);

	f = fopen(path, "w");
	assert_non_null(f);
	fputs("[names]\nclient_ip_headers = + CF-Connecting-IP\nvisitor_cookies = + myVisitor\n", f);
	fclose(f);
	assert_int_equal(bv_config_load(&c, path, err, sizeof(err)), 0);
	assert_int_equal(roles_of(&c.names, BV_NAME_HEADER, "cf-connecting-ip"), BV_ROLE_CLIENT_IP);
	assert_int_equal(roles_of(&c.names, BV_NAME_COOKIE, "myVisitor"), BV_ROLE_VISITOR);
	assert_int_equal(roles_of(&c.names, BV_NAME_COOKIE, "rxVisitor"), BV_ROLE_VISITOR);
	bv_config_free(&c);

	f = fopen(path, "w");
	assert_non_null(f);
	fputs("[global]\nip_mask = all\n[names]\n\nvisitor_cookies = + my_Visitor_\n", f);
	fclose(f);
	assert_int_equal(bv_config_load(&c, path, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "beaconveil.conf:5: key 'visitor_cookies'"));

	f = fopen(path, "w");
	assert_non_null(f);
	fputs("[names]\ngpc_headers = dnt\n", f);
	fclose(f);
	assert_int_equal(bv_config_load(&c, path, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "beaconveil.conf:1: [names]: header 'dnt' has roles"));

	unlink(path);
	rmdir(dir);
}

/*
 * The filter's key computed the kernel's way from a raw line (the code
 * below mirrors bv_fkey_word in bpf/bv_namematch.h) has its bit set for
 * every configured name, with what may follow it on the wire.
 */
static int kernel_bit(const struct bv_name_filter *f, int where, const char *line)
{
	size_t n = bv_name_fkey_len((__u32)where), i;
	__u64 key = 0;

	for (i = 0; i < n && line[i]; i++) {
		unsigned char ch = (unsigned char)line[i];

		key |= (__u64)(where == BV_NAME_HEADER ? (ch | 0x20) : ch) << (8 * i);
		if (line[i] == bv_name_delim((__u32)where))
			break;
	}
	__u32 b = bv_name_fbit(key);
	return (int)((f->bits[where][b / 64] >> (b % 64)) & 1);
}

static void test_filter(void **state)
{
	struct bv_names_cfg c;
	struct bv_name_filter f;
	char err[300];
	int others = 0;

	(void)state;
	bv_names_defaults(&c);
	assert_int_equal(bv_names_set(&c, "visitor_cookies", "+ vv, sid", err, sizeof(err)), 0);
	bv_names_filter(&c, &f);
	assert_int_equal(f.valid, 1);
	assert_true(kernel_bit(&f, BV_NAME_HEADER, "X-Forwarded-For: 1"));
	assert_true(kernel_bit(&f, BV_NAME_HEADER, "DNT: 1"));
	assert_true(kernel_bit(&f, BV_NAME_HEADER, "Sec-GPC: 1"));
	assert_true(kernel_bit(&f, BV_NAME_HEADER, "HOST: a"));
	assert_true(kernel_bit(&f, BV_NAME_COOKIE, "dtCookie=1"));
	assert_true(kernel_bit(&f, BV_NAME_COOKIE, "dtPC_12=1"));
	assert_true(kernel_bit(&f, BV_NAME_COOKIE, "vv=1"));
	assert_true(kernel_bit(&f, BV_NAME_COOKIE, "vv1=1"));
	assert_true(kernel_bit(&f, BV_NAME_COOKIE, "vv_12=1"));
	assert_true(kernel_bit(&f, BV_NAME_COOKIE, "sid9=1"));
	assert_true(kernel_bit(&f, BV_NAME_QUERY, "vi=x"));
	assert_true(kernel_bit(&f, BV_NAME_QUERY, "app=x"));
	assert_true(kernel_bit(&f, BV_NAME_BODY, "na=x"));
	/* and it says "no" to nearly everything else */
	static const char *const others_h[] = {
		"User-Agent: x", "Accept: x", "Accept-Language: x", "Sec-Fetch-Site: x",
		"Sec-Fetch-Mode: x", "Sec-Fetch-Dest: x", "Referer: x", "Origin: x",
		"Connection: x", "Sec-Ch-Ua: x", "Sec-Ch-Ua-Mobile: x", "Priority: x",
	};
	for (size_t i = 0; i < sizeof(others_h) / sizeof(others_h[0]); i++)
		others += kernel_bit(&f, BV_NAME_HEADER, others_h[i]);
	assert_true(others <= 1);
}

/* ---- the program ------------------------------------------------------ */

static int setup(void **state)
{
	(void)state;
	if (geteuid() != 0) {
		fprintf(stderr, "test_names: needs root (BPF_PROG_TEST_RUN)\n");
		return -1;
	}
	return harness_open(&H, BV_MODE_INLINE);
}

static int teardown(void **state)
{
	(void)state;
	harness_close(&H);
	return 0;
}

/* A request on a new connection (SYN, then the head in one segment):
 * the XDP action; the output frame is in out. */
static int send_req(const char *req)
{
	static uint8_t f[16384];
	struct pkt_opts o;
	size_t n;

	memset(&o, 0, sizeof(o));
	o.family = 4;
	o.src = CLIENT4;
	o.dst = SERVER4;
	o.sport = next_port++;
	o.dport = 80;
	o.tcp_flags = 0x02;
	o.seq = 999;
	n = pkt_build_tcp(f, sizeof(f), &o, NULL, 0);
	assert_true(n > 0);
	outlen = sizeof(out);
	assert_int_equal(harness_run(&H, f, n, out, &outlen), XDP_PASS);
	o.tcp_flags = 0;
	o.seq = 1000;
	n = pkt_build_tcp(f, sizeof(f), &o, req, strlen(req));
	assert_true(n > 0);
	outlen = sizeof(out);
	return harness_run(&H, f, n, out, &outlen);
}

static const char *payload(void)
{
	const char *s = pkt_payload_str(out, outlen);

	assert_non_null(s);
	return s;
}

static void set_names(const char *key, const char *value)
{
	char err[300] = "";

	if (bv_names_set(&H.cfg.names, key, value, err, sizeof(err)) ||
	    bv_names_check(&H.cfg.names, err, sizeof(err)))
		fail_msg("%s", err);
	assert_int_equal(harness_apply(&H), 0);
}

static void reset_names(void)
{
	bv_names_defaults(&H.cfg.names);
	assert_int_equal(harness_apply(&H), 0);
}

static void test_added_client_ip_header(void **state)
{
	const char *req = "GET /rb_bf1?type=js3 HTTP/1.1\r\nHost: a\r\n"
			  "CF-Connecting-IP: 203.0.113.57\r\nFastly-Client-IP: 203.0.113.58\r\n\r\n";
	__u64 m0;

	(void)state;
	reset_names();
	assert_int_equal(send_req(req), XDP_PASS);
	assert_non_null(strstr(payload(), "CF-Connecting-IP: 203.0.113.57\r\n"));

	set_names("client_ip_headers", "+ CF-Connecting-IP, fastly-client-ip");
	m0 = harness_stat(&H, BV_ST_TEXT_MASKED);
	assert_int_equal(send_req(req), XDP_PASS);
	assert_non_null(strstr(payload(), "CF-Connecting-IP: 203.0.113.0 \r\n"));
	assert_non_null(strstr(payload(), "Fastly-Client-IP: 203.0.113.0 \r\n"));
	assert_int_equal(harness_stat(&H, BV_ST_TEXT_MASKED), m0 + 2);
	/* the defaults still work next to them */
	assert_int_equal(send_req("GET /rb_bf1 HTTP/1.1\r\nX-Client-IP: 203.0.113.57\r\n\r\n"), XDP_PASS);
	assert_non_null(strstr(payload(), "X-Client-IP: 203.0.113.0 \r\n"));
	/* removed again without a rebuild: left alone */
	set_names("client_ip_headers", "x-forwarded-for");
	assert_int_equal(send_req("GET /rb_bf1 HTTP/1.1\r\nX-Client-IP: 203.0.113.57\r\n\r\n"), XDP_PASS);
	assert_non_null(strstr(payload(), "X-Client-IP: 203.0.113.57\r\n"));
	reset_names();
}

static void test_added_visitor_cookie(void **state)
{
	char req[512];
	__u64 r0;

	(void)state;
	reset_names();
	snprintf(req, sizeof(req), "GET /rb_bf1 HTTP/1.1\r\nDNT: 1\r\nCookie: a=b; myVisitor_7=%s; "
		 "vv1=%s\r\n\r\n", RXV, RXV);
	assert_int_equal(send_req(req), XDP_PASS);
	assert_non_null(strstr(payload(), "myVisitor_7=" RXV ";"));
	assert_non_null(strstr(payload(), "vv1=" RXV "\r\n"));

	set_names("visitor_cookies", "+ myVisitor, vv");
	r0 = harness_stat(&H, BV_ST_IDS_REPLACED);
	assert_int_equal(send_req(req), XDP_PASS);
	/* anonymized (DNT): both values replaced in place, the length kept */
	assert_null(strstr(payload(), RXV));
	assert_non_null(strstr(payload(), "myVisitor_7="));
	assert_int_equal(strlen(payload()), strlen(req));
	assert_true(harness_stat(&H, BV_ST_IDS_REPLACED) >= r0 + 2);
	reset_names();
}

static void test_added_query_key(void **state)
{
	const char *req = "GET /rb_bf1?type=js3&vid=ABCDEFGHIJKL&x=1 HTTP/1.1\r\nDNT: 1\r\n\r\n";

	(void)state;
	reset_names();
	assert_int_equal(send_req(req), XDP_PASS);
	assert_non_null(strstr(payload(), "vid=ABCDEFGHIJKL&"));
	set_names("visitor_params", "+ vid");
	assert_int_equal(send_req(req), XDP_PASS);
	assert_null(strstr(payload(), "ABCDEFGHIJKL"));
	assert_non_null(strstr(payload(), "&x=1 HTTP/1.1"));
	reset_names();
}

/* The program caches name lookups per CPU: a name looked up under the old
 * names (DNT, here) must not keep its role once the names change, so every
 * write of the names moves the filter's generation. */
static void test_removed_dnt_header(void **state)
{
	struct bv_name_filter f0, f1;
	__u32 zero = 0;
	__u64 a0, p0;

	(void)state;
	reset_names();
	a0 = harness_stat(&H, BV_DEC_ANONYMIZED);
	assert_int_equal(send_req("GET /rb_bf1 HTTP/1.1\r\nDNT: 1\r\n\r\n"), XDP_PASS);
	assert_int_equal(harness_stat(&H, BV_DEC_ANONYMIZED), a0 + 1);
	assert_int_equal(bpf_map_lookup_elem(H.fds.namefilt, &zero, &f0), 0);
	set_names("dnt_headers", "x-dnt");
	assert_int_equal(bpf_map_lookup_elem(H.fds.namefilt, &zero, &f1), 0);
	assert_true(f0.gen != 0 && f1.gen != 0 && f1.gen != f0.gen);
	p0 = harness_stat(&H, BV_DEC_PASS);
	assert_int_equal(send_req("GET /rb_bf1 HTTP/1.1\r\nDNT: 1\r\n\r\n"), XDP_PASS);
	assert_int_equal(harness_stat(&H, BV_DEC_PASS), p0 + 1);
	a0 = harness_stat(&H, BV_DEC_ANONYMIZED);
	assert_int_equal(send_req("GET /rb_bf1 HTTP/1.1\r\nX-DNT: 1\r\n\r\n"), XDP_PASS);
	assert_int_equal(harness_stat(&H, BV_DEC_ANONYMIZED), a0 + 1);
	reset_names();
}

/* Maps nobody wrote (the program loaded by something else): nothing of a
 * beacon port is read, so nothing of it passes. */
static void test_names_unset(void **state)
{
	struct bv_names_cfg empty;
	__u64 d0;

	(void)state;
	memset(&empty, 0, sizeof(empty));
	assert_int_equal(bv_names_apply(&empty, H.fds.names, -1, NULL, 0), 0);
	{
		struct bv_name_filter z;
		__u32 zero = 0;

		memset(&z, 0, sizeof(z));
		assert_int_equal(bpf_map_update_elem(H.fds.namefilt, &zero, &z, BPF_ANY), 0);
	}
	d0 = harness_stat(&H, BV_ST_NO_NAMES);
	assert_int_equal(send_req("GET /rb_bf1 HTTP/1.1\r\nX-Forwarded-For: 203.0.113.57\r\n\r\n"),
			 XDP_DROP);
	assert_int_equal(harness_stat(&H, BV_ST_NO_NAMES), d0 + 1);
	reset_names();
	assert_int_equal(send_req("GET /rb_bf1 HTTP/1.1\r\nX-Forwarded-For: 203.0.113.57\r\n\r\n"),
			 XDP_PASS);
	assert_non_null(strstr(payload(), "X-Forwarded-For: 203.0.113.0 \r\n"));
}

int main(void)
{
	const struct CMUnitTest config_tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_set_replace_add),
		cmocka_unit_test(test_set_errors),
		cmocka_unit_test(test_conflicting_roles),
		cmocka_unit_test(test_config_file),
		cmocka_unit_test(test_filter),
	};
	const struct CMUnitTest prog_tests[] = {
		cmocka_unit_test(test_added_client_ip_header),
		cmocka_unit_test(test_added_visitor_cookie),
		cmocka_unit_test(test_added_query_key),
		cmocka_unit_test(test_removed_dnt_header),
		cmocka_unit_test(test_names_unset),
	};
	int r = cmocka_run_group_tests_name("names: config", config_tests, NULL, NULL);

	return r | cmocka_run_group_tests_name("names: program", prog_tests, setup, teardown);
}
