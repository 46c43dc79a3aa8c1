/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Config file parser, policy fields by name, and writing the maps
 * (user/config.c). The map test creates real BPF maps and needs root.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include <bpf/bpf.h>
#include <ini.h>

#include "config.h"

#define ERRLEN 512

static char tmpdir[64];
static char cfgpath[128];

static int group_setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/bv-test-config-XXXXXX");
	if (!mkdtemp(tmpdir))
		return -1;
	snprintf(cfgpath, sizeof(cfgpath), "%s/beaconveil.conf", tmpdir);
	return 0;
}

static int group_teardown(void **state)
{
	char p[160];

	(void)state;
	unlink(cfgpath);
	snprintf(p, sizeof(p), "%s/subdir", tmpdir);
	rmdir(p);
	rmdir(tmpdir);
	return 0;
}

static void write_bytes(const char *data, size_t len)
{
	FILE *f = fopen(cfgpath, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

static int load_bytes(const char *data, size_t len, struct bv_config *c, char *err)
{
	write_bytes(data, len);
	return bv_config_load(c, cfgpath, err, ERRLEN);
}

/* Loads text, which must succeed. */
static void load_ok(const char *text, struct bv_config *c)
{
	char err[ERRLEN] = "";
	int r = load_bytes(text, strlen(text), c, err);

	if (r != 0)
		print_error("unexpected error: %s\nfor config:\n%s\n", err, text);
	assert_int_equal(r, 0);
}

/*
 * Loads text, which must fail with a message "PATH:line: " + want exactly
 * (want_exact) or containing want.
 */
static void load_fail_at(const char *data, size_t len, int line, const char *want,
			 int want_exact)
{
	struct bv_config c;
	char err[ERRLEN] = "", prefix[200];
	int r = load_bytes(data, len, &c, err);

	snprintf(prefix, sizeof(prefix), "%s:%d: ", cfgpath, line);
	if (r != -1 || strncmp(err, prefix, strlen(prefix)) ||
	    (want_exact ? strcmp(err + strlen(prefix), want) != 0 : !strstr(err, want)))
		print_error("want line %d '%s', got r=%d '%s'\n", line, want, r, err);
	assert_int_equal(r, -1);
	assert_memory_equal(err, prefix, strlen(prefix));
	if (want_exact)
		assert_string_equal(err + strlen(prefix), want);
	else
		assert_non_null(strstr(err, want));
	/* a failed load leaves the defaults, nothing allocated */
	assert_null(c.apps);
	assert_int_equal(c.napps, 0);
	assert_int_equal(c.global.ipv4_prefix, 24);
}

static void fail_at(const char *text, int line, const char *want)
{
	load_fail_at(text, strlen(text), line, want, 0);
}

static void fail_exact(const char *text, int line, const char *want)
{
	load_fail_at(text, strlen(text), line, want, 1);
}

/* Field-wise comparison (struct padding is not part of the contract). */
static void assert_config_equal(const struct bv_config *a, const struct bv_config *b)
{
	assert_memory_equal(&a->global, &b->global, sizeof(a->global));
	assert_int_equal(a->settings.methods, b->settings.methods);
	assert_int_equal(a->settings.anon_key[0], b->settings.anon_key[0]);
	assert_int_equal(a->settings.anon_key[1], b->settings.anon_key[1]);
	assert_int_equal(a->ip_anon, b->ip_anon);
	assert_int_equal(a->ip_anon_key_set, b->ip_anon_key_set);
	assert_memory_equal(a->ip_anon_key, b->ip_anon_key, sizeof(a->ip_anon_key));
	assert_int_equal(a->nports, b->nports);
	assert_memory_equal(a->ports, b->ports, sizeof(a->ports[0]) * (size_t)a->nports);
	assert_int_equal(a->nvxlan, b->nvxlan);
	assert_memory_equal(a->vxlan_ports, b->vxlan_ports, sizeof(a->vxlan_ports[0]) * (size_t)a->nvxlan);
	assert_int_equal(a->ngeneve, b->ngeneve);
	assert_memory_equal(a->geneve_ports, b->geneve_ports,
			    sizeof(a->geneve_ports[0]) * (size_t)a->ngeneve);
	assert_int_equal(a->npaths, b->npaths);
	assert_memory_equal(a->paths, b->paths, sizeof(a->paths));
	assert_int_equal(a->napps, b->napps);
	for (int i = 0; i < a->napps; i++) {
		assert_memory_equal(&a->apps[i].key, &b->apps[i].key, sizeof(a->apps[i].key));
		assert_memory_equal(&a->apps[i].pol, &b->apps[i].pol, sizeof(a->apps[i].pol));
	}
	assert_string_equal(a->metrics_addr, b->metrics_addr);
	assert_int_equal(a->session_timeout_s, b->session_timeout_s);
	assert_int_equal(a->k_anonymity, b->k_anonymity);
	assert_int_equal(a->max_flows, b->max_flows);
	assert_int_equal(a->key_rotation_s, b->key_rotation_s);
	/* [names]: the same names with the same roles, in any order */
	assert_int_equal(a->names.n, b->names.n);
	for (int i = 0; i < a->names.n; i++) {
		int found = 0;

		for (int j = 0; j < b->names.n; j++)
			if (!memcmp(&a->names.key[i], &b->names.key[j], sizeof(a->names.key[i])) &&
			    a->names.val[i].roles == b->names.val[j].roles)
				found = 1;
		if (!found)
			fail_msg("[names]: '%.*s' differs", (int)a->names.key[i].len,
				 a->names.key[i].name);
	}
}

static void assert_rule(const struct bv_path_rule *r, int kind, const char *pat, int crash)
{
	struct bv_path_rule want;

	memset(&want, 0, sizeof(want));
	want.kind = (__u8)kind;
	want.len = (__u8)strlen(pat);
	want.crash_report = (__u8)crash;
	memcpy(want.pat, pat, strlen(pat));
	assert_memory_equal(r, &want, sizeof(want));
}

/* ------------------------------------------------------------------ */

static void test_defaults(void **state)
{
	struct bv_config c, e;
	struct bv_policy zero;

	(void)state;
	bv_config_defaults(&c);
	/* the policy defaults: README.md "Policy settings", docs/CONFIG.md [global] */
	assert_int_equal(c.global.valid, 1);
	assert_int_equal(c.global.ip_mask, BV_IPMASK_ALL);
	assert_int_equal(c.global.ipv4_prefix, 24);
	assert_int_equal(c.global.ipv6_prefix, 48);
	assert_int_equal(c.global.respect_dnt, 1);
	assert_int_equal(c.global.dnt_action, BV_DNT_ANONYMIZE);
	assert_int_equal(c.global.respect_gpc, 1);
	assert_int_equal(c.global.opt_in, 0);
	assert_int_equal(c.global.user_tracking, 0);
	assert_int_equal(c.global.honour_disabled, 1);
	assert_int_equal(c.global.drop_action, BV_DROPACT_DROP);
	assert_int_equal(c.global.collection_level, BV_LEVEL_USER_BEHAVIOR);
	assert_int_equal(c.global.crash_reports, 1);
	assert_int_equal(c.global.unreadable_body, BV_UNREADABLE_DROP);
	memset(&zero, 0, sizeof(zero));
	assert_memory_equal(c.global._pad, zero._pad, sizeof(zero._pad));
	/* the other defaults: docs/CONFIG.md [beacon], [anonymize], [daemon] */
	assert_int_equal(c.settings.methods, BV_M_GET | BV_M_POST);
	assert_int_equal(c.settings.anon_key[0], 0);
	assert_int_equal(c.settings.anon_key[1], 0);
	assert_int_equal(c.nports, 2);
	assert_int_equal(c.ports[0], 80);
	assert_int_equal(c.ports[1], 8080);
	assert_int_equal(c.npaths, 3);
	assert_rule(&c.paths[0], BV_PATH_SEG_PREFIX, "rb_", 0);
	assert_rule(&c.paths[1], BV_PATH_EXACT_OR_ID, "/bf", 0);
	assert_rule(&c.paths[2], BV_PATH_EXACT_OR_ID, "/mbeacon", 0);
	for (int i = 3; i < BV_MAX_PATHS; i++)
		assert_int_equal(c.paths[i].kind, BV_PATH_NONE);
	assert_null(c.apps);
	assert_int_equal(c.napps, 0);
	assert_string_equal(c.metrics_addr, "127.0.0.1:9477");
	assert_int_equal(c.session_timeout_s, 1800);
	assert_int_equal(c.k_anonymity, 10);
	assert_int_equal(c.max_flows, 65536);
	assert_int_equal(c.key_rotation_s, 86400);

	/* an empty file, and one of only comments and blank lines, are the defaults */
	load_ok("", &e);
	assert_config_equal(&c, &e);
	load_ok("# nothing\n\n   ; still nothing\n\t\n[global]\n[daemon]\n", &e);
	assert_config_equal(&c, &e);

	/* free leaves defaults and accepts NULL */
	load_ok("[app:x]\nopt_in = on\n", &e);
	assert_int_equal(e.napps, 1);
	bv_config_free(&e);
	assert_null(e.apps);
	assert_int_equal(e.napps, 0);
	bv_config_free(NULL);
}

/* Every policy key, every value, in [global] and in an override. */
static const struct { const char *key; const char *vals[6]; } pvals[] = {
	{ "ip_mask", { "all", "public", "off" } },
	{ "ipv4_prefix", { "0", "1", "24", "32" } },
	{ "ipv6_prefix", { "0", "48", "64", "128" } },
	{ "respect_dnt", { "on", "off" } },
	{ "dnt_action", { "anonymize", "drop" } },
	{ "respect_gpc", { "on", "off" } },
	{ "opt_in", { "off", "on" } },
	{ "user_tracking", { "off", "on" } },
	{ "honour_disabled", { "on", "off" } },
	{ "drop_action", { "drop", "reset" } },
	{ "collection_level", { "user_behavior", "performance", "off" } },
	{ "crash_reports", { "on", "off" } },
	{ "unreadable_body", { "drop", "pass" } },
};
#define NPVALS ((int)(sizeof(pvals) / sizeof(pvals[0])))

/* Byte of struct bv_policy holding key (independent of the code under test). */
static size_t poff(const char *key)
{
	static const struct { const char *k; size_t off; } t[] = {
		{ "ip_mask", offsetof(struct bv_policy, ip_mask) },
		{ "ipv4_prefix", offsetof(struct bv_policy, ipv4_prefix) },
		{ "ipv6_prefix", offsetof(struct bv_policy, ipv6_prefix) },
		{ "respect_dnt", offsetof(struct bv_policy, respect_dnt) },
		{ "dnt_action", offsetof(struct bv_policy, dnt_action) },
		{ "respect_gpc", offsetof(struct bv_policy, respect_gpc) },
		{ "opt_in", offsetof(struct bv_policy, opt_in) },
		{ "user_tracking", offsetof(struct bv_policy, user_tracking) },
		{ "honour_disabled", offsetof(struct bv_policy, honour_disabled) },
		{ "drop_action", offsetof(struct bv_policy, drop_action) },
		{ "collection_level", offsetof(struct bv_policy, collection_level) },
		{ "crash_reports", offsetof(struct bv_policy, crash_reports) },
		{ "unreadable_body", offsetof(struct bv_policy, unreadable_body) },
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (!strcmp(t[i].k, key))
			return t[i].off;
	fail_msg("no such key %s", key);
	return 0;
}

/* The numeric value of the j-th spelling of pvals[i]. */
static unsigned pnum(int i, int j)
{
	const char *v = pvals[i].vals[j];

	if (v[0] >= '0' && v[0] <= '9')
		return (unsigned)atoi(v);
	if (!strcmp(v, "on"))
		return 1;
	if (!strcmp(v, "off") && strcmp(pvals[i].key, "ip_mask") &&
	    strcmp(pvals[i].key, "collection_level"))
		return 0;
	return (unsigned)j; /* enums: table order is value order */
}

static void test_policy_keys_good(void **state)
{
	char text[256], out[64];
	struct bv_config c;

	(void)state;
	for (int i = 0; i < NPVALS; i++) {
		for (int j = 0; pvals[i].vals[j]; j++) {
			const char *k = pvals[i].key, *v = pvals[i].vals[j];
			snprintf(text, sizeof(text), "[global]\n%s = %s\n", k, v);
			load_ok(text, &c);
			assert_int_equal(((__u8 *)&c.global)[poff(k)], pnum(i, j));
			assert_int_equal(c.global.valid, 1);
			assert_int_equal(bv_policy_get_field(&c.global, k, out, sizeof(out)), 0);
			assert_string_equal(out, v);

			snprintf(text, sizeof(text), "[app:a1]\n%s = %s\n", k, v);
			load_ok(text, &c);
			assert_int_equal(c.napps, 1);
			assert_int_equal(((__u8 *)&c.apps[0].pol)[poff(k)], pnum(i, j));
			bv_config_free(&c);
		}
	}
	/* boolean spellings, case-insensitive keywords */
	static const struct { const char *v; int b; } bools[] = {
		{ "on", 1 }, { "off", 0 }, { "true", 1 }, { "false", 0 }, { "yes", 1 },
		{ "no", 0 }, { "1", 1 }, { "0", 0 }, { "ON", 1 }, { "False", 0 }, { "YES", 1 },
	};
	for (size_t i = 0; i < sizeof(bools) / sizeof(bools[0]); i++) {
		snprintf(text, sizeof(text), "[global]\nrespect_dnt = %s\nopt_in = %s\n",
			 bools[i].v, bools[i].v);
		load_ok(text, &c);
		assert_int_equal(c.global.respect_dnt, bools[i].b);
		assert_int_equal(c.global.opt_in, bools[i].b);
	}
	load_ok("[global]\nip_mask = PUBLIC\ncollection_level = Performance\n", &c);
	assert_int_equal(c.global.ip_mask, BV_IPMASK_PUBLIC);
	assert_int_equal(c.global.collection_level, BV_LEVEL_PERFORMANCE);
	/* all at once, with ':' delimiter and inline comment */
	load_ok("[global]\nip_mask: off\nipv4_prefix = 16 ; comment\nipv6_prefix=56\n"
		"respect_dnt = off\ndnt_action = drop\nrespect_gpc = off\nopt_in = on\n"
		"user_tracking = on\nhonour_disabled = off\ndrop_action = reset\n"
		"collection_level = off\ncrash_reports = off\n", &c);
	assert_int_equal(c.global.valid, 1);
	assert_int_equal(c.global.ip_mask, BV_IPMASK_OFF);
	assert_int_equal(c.global.ipv4_prefix, 16);
	assert_int_equal(c.global.ipv6_prefix, 56);
	assert_int_equal(c.global.respect_dnt, 0);
	assert_int_equal(c.global.dnt_action, BV_DNT_DROP);
	assert_int_equal(c.global.respect_gpc, 0);
	assert_int_equal(c.global.opt_in, 1);
	assert_int_equal(c.global.user_tracking, 1);
	assert_int_equal(c.global.honour_disabled, 0);
	assert_int_equal(c.global.drop_action, BV_DROPACT_RESET);
	assert_int_equal(c.global.collection_level, BV_LEVEL_OFF);
	assert_int_equal(c.global.crash_reports, 0);
}

static void test_policy_keys_bad(void **state)
{
	static const struct { const char *key, *val, *msg; } bad[] = {
		{ "ipv4_prefix", "33", "key 'ipv4_prefix': value '33' out of range 0..32" },
		{ "ipv4_prefix", "-1", "key 'ipv4_prefix': value '-1' out of range 0..32" },
		{ "ipv4_prefix", "2 4", "key 'ipv4_prefix': value '2 4' out of range 0..32" },
		{ "ipv4_prefix", "0x10", "key 'ipv4_prefix': value '0x10' out of range 0..32" },
		{ "ipv4_prefix", "99999999999999999999999",
		  "key 'ipv4_prefix': value '99999999999999999999999' out of range 0..32" },
		{ "ipv4_prefix", "", "key 'ipv4_prefix': value '' out of range 0..32" },
		{ "ipv6_prefix", "129", "key 'ipv6_prefix': value '129' out of range 0..128" },
		{ "ipv6_prefix", "+48", "key 'ipv6_prefix': value '+48' out of range 0..128" },
		{ "ip_mask", "none", "key 'ip_mask': value 'none' must be one of all, public, off" },
		{ "ip_mask", "1", "key 'ip_mask': value '1' must be one of all, public, off" },
		{ "dnt_action", "block",
		  "key 'dnt_action': value 'block' must be one of anonymize, drop" },
		{ "drop_action", "rst", "key 'drop_action': value 'rst' must be one of drop, reset" },
		{ "collection_level", "user-behavior", "key 'collection_level': value "
		  "'user-behavior' must be one of user_behavior, performance, off" },
	};
	static const char *const bools[] = {
		"respect_dnt", "respect_gpc", "opt_in", "user_tracking", "honour_disabled",
		"crash_reports",
	};
	char text[256], want[256];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), "[global]\n%s = %s\n", bad[i].key, bad[i].val);
		fail_exact(text, 2, bad[i].msg);
		snprintf(text, sizeof(text), "[global]\n[host:example.com]\n\n%s = %s\n",
			 bad[i].key, bad[i].val);
		fail_exact(text, 4, bad[i].msg);
	}
	for (size_t i = 0; i < sizeof(bools) / sizeof(bools[0]); i++) {
		const char *vals[] = { "2", "maybe", "onn", "" };
		for (size_t j = 0; j < 4; j++) {
			snprintf(text, sizeof(text), "[global]\n%s = %s\n", bools[i], vals[j]);
			snprintf(want, sizeof(want), "key '%s': value '%s' is not a boolean "
				 "(on/off, true/false, yes/no, 1/0)", bools[i], vals[j]);
			fail_exact(text, 2, want);
		}
	}
	/* the brief's example, on line 12 */
	fail_exact("# 1\n# 2\n\n[global]\nip_mask = all\n\n; 7\n\n\nipv6_prefix = 48\n\n"
		   "ipv4_prefix = 33\nopt_in = on\n", 12,
		   "key 'ipv4_prefix': value '33' out of range 0..32");
	/* binary bytes in values are escaped in the message */
	fail_exact("[global]\nip_mask = \xff\xfe\n", 2,
		   "key 'ip_mask': value '\\xff\\xfe' must be one of all, public, off");
}

static void test_beacon_ports_methods(void **state)
{
	struct bv_config c;
	char text[1024];
	size_t o;

	(void)state;
	load_ok("[beacon]\nports = 80, 8080\n", &c);
	assert_int_equal(c.nports, 2);
	assert_int_equal(c.ports[0], 80);
	assert_int_equal(c.ports[1], 8080);
	load_ok("[beacon]\nports=443\n", &c);
	assert_int_equal(c.nports, 1);
	assert_int_equal(c.ports[0], 443);
	load_ok("[beacon]\nports = 1,65535 ,  9000\n", &c);
	assert_int_equal(c.nports, 3);
	assert_int_equal(c.ports[0], 1);
	assert_int_equal(c.ports[1], 65535);
	assert_int_equal(c.ports[2], 9000);

	/* 64 ports fit (on continuation lines), 65 do not */
	o = (size_t)snprintf(text, sizeof(text), "[beacon]\nports = ");
	for (int i = 0; i < 64; i++)
		o += (size_t)snprintf(text + o, sizeof(text) - o, "%s%d%s",
				      i && i % 16 == 0 ? "\n\t" : i ? " " : "", 10000 + i,
				      i < 63 ? "," : "");
	snprintf(text + o, sizeof(text) - o, "\n");
	load_ok(text, &c);
	assert_int_equal(c.nports, 64);
	for (int i = 0; i < 64; i++)
		assert_int_equal(c.ports[i], 10000 + i);
	snprintf(text + o, sizeof(text) - o, ",\n  20000\n");
	fail_exact(text, 6, "key 'ports': too many ports (max 64)");

	/* continuation: comments and blank lines may sit in between */
	load_ok("[beacon]\nports = 80, 8080,\n  # more\n\n  81 ,\n\t82 ; inline\n"
		"methods = GET,\n   post\n[global]\n", &c);
	assert_int_equal(c.nports, 4);
	assert_int_equal(c.ports[2], 81);
	assert_int_equal(c.ports[3], 82);
	assert_int_equal(c.settings.methods, BV_M_GET | BV_M_POST);
	fail_exact("[beacon]\nports = 80,\n    8080, 80\n", 3,
		   "key 'ports': value '8080, 80': port 80 listed twice");
	fail_exact("[beacon]\nports = 80,\n", 2,
		   "key 'ports': value ends with ',' but no indented continuation line follows");
	fail_exact("[beacon]\nports = 80,\n# c\n[global]\n", 2,
		   "key 'ports': value ends with ',' but no indented continuation line follows");
	fail_exact("[beacon]\nmethods = GET,\n\nports = 80\n", 2,
		   "key 'methods': value ends with ',' but no indented continuation line follows");
	fail_exact("[beacon]\nports = 80,\n  81\n  82\n", 4,
		   "expected 'key = value', '[section]' or a comment");
	fail_exact("[beacon]\nports = 80,\n  81\nports = 82\n", 4,
		   "key 'ports': given twice in section [beacon]");
	fail_exact("[beacon]\nports = 80,\n  opt_in = on\n", 3,
		   "key 'ports': value 'opt_in = on': 'opt_in = on' is not a port 1..65535");

	fail_exact("[beacon]\nports = 0\n", 2,
		   "key 'ports': value '0': '0' is not a port 1..65535");
	fail_exact("[beacon]\nports = 80, 65536\n", 2,
		   "key 'ports': value '80, 65536': '65536' is not a port 1..65535");
	fail_exact("[beacon]\nports = 80 8080\n", 2,
		   "key 'ports': value '80 8080': '80 8080' is not a port 1..65535");
	fail_exact("[beacon]\nports = http\n", 2,
		   "key 'ports': value 'http': 'http' is not a port 1..65535");
	fail_exact("[beacon]\nports = 80,80\n", 2,
		   "key 'ports': value '80,80': port 80 listed twice");
	const char *lists[] = { "", "80,,81", ",80", " , ", ",,", "80, ,81" };
	for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++) {
		char want[200];
		snprintf(text, sizeof(text), "[beacon]\nports = %s\n", lists[i]);
		/* inih strips the value's surrounding spaces */
		snprintf(want, sizeof(want), "key 'ports': value '%s' must be a "
			 "comma-separated list of ports 1..65535",
			 !strcmp(lists[i], " , ") ? "," : lists[i]);
		fail_exact(text, 2, want);
	}

	load_ok("[beacon]\nmethods = POST, GET\n", &c);
	assert_int_equal(c.settings.methods, BV_M_POST | BV_M_GET);
	load_ok("[beacon]\nmethods = put\n", &c);
	assert_int_equal(c.settings.methods, BV_M_PUT);
	load_ok("[beacon]\nmethods = GET,POST,PUT,HEAD,OPTIONS,PATCH,DELETE\n", &c);
	assert_int_equal(c.settings.methods, BV_M_GET | BV_M_POST | BV_M_PUT | BV_M_HEAD |
			 BV_M_OPTIONS | BV_M_PATCH | BV_M_DELETE);
	load_ok("[beacon]\nmethods = OPTIONS\n", &c);
	assert_int_equal(c.settings.methods, BV_M_OPTIONS);
	fail_exact("[beacon]\nmethods = GET, FETCH\n", 2,
		   "key 'methods': value 'GET, FETCH': unknown method 'FETCH' "
		   "(GET, POST, PUT, HEAD, OPTIONS, PATCH, DELETE)");
	fail_exact("[beacon]\nmethods = GET, get\n", 2,
		   "key 'methods': value 'GET, get': method 'get' listed twice");
	fail_at("[beacon]\nmethods =\n", 2, "key 'methods': value '' must be a comma-separated");
	fail_at("[beacon]\nmethods = GET,,\n", 2, "key 'methods': value 'GET,,' must be");
	fail_exact("[beacon]\nports = 80\nports = 81\n", 3,
		   "key 'ports': given twice in section [beacon]");
	fail_exact("[beacon]\nmethods = GET\n\nmethods = GET\n", 4,
		   "key 'methods': given twice in section [beacon]");
}

static void test_beacon_paths(void **state)
{
	struct bv_config c;
	char text[2048], pat[80];
	size_t o;

	(void)state;
	/* any path replaces the defaults; order kept */
	load_ok("[beacon]\npath = prefix:/collect\n", &c);
	assert_int_equal(c.npaths, 1);
	assert_rule(&c.paths[0], BV_PATH_PREFIX, "/collect", 0);
	assert_int_equal(c.paths[1].kind, BV_PATH_NONE);
	load_ok("[beacon]\npath = exact:/beacon\npath = seg_prefix:rb_\n"
		"path = exact_or_id : /bf\npath=prefix:/g/collect\n", &c);
	assert_int_equal(c.npaths, 4);
	assert_rule(&c.paths[0], BV_PATH_EXACT, "/beacon", 0);
	assert_rule(&c.paths[1], BV_PATH_SEG_PREFIX, "rb_", 0);
	assert_rule(&c.paths[2], BV_PATH_EXACT_OR_ID, "/bf", 0);
	assert_rule(&c.paths[3], BV_PATH_PREFIX, "/g/collect", 0);
	/* crash_path alone adds to the default path rules, crash rules first */
	load_ok("[beacon]\ncrash_path = prefix:/crash\n", &c);
	assert_int_equal(c.npaths, 4);
	assert_rule(&c.paths[0], BV_PATH_PREFIX, "/crash", 1);
	assert_rule(&c.paths[1], BV_PATH_SEG_PREFIX, "rb_", 0);
	assert_rule(&c.paths[2], BV_PATH_EXACT_OR_ID, "/bf", 0);
	assert_rule(&c.paths[3], BV_PATH_EXACT_OR_ID, "/mbeacon", 0);
	load_ok("[beacon]\npath = prefix:/c\ncrash_path = exact:/c/crash\n"
		"crash_path = seg_prefix:crash_\n", &c);
	assert_int_equal(c.npaths, 3);
	assert_rule(&c.paths[0], BV_PATH_EXACT, "/c/crash", 1);
	assert_rule(&c.paths[1], BV_PATH_SEG_PREFIX, "crash_", 1);
	assert_rule(&c.paths[2], BV_PATH_PREFIX, "/c", 0);

	/* 59-byte pattern fits, 60 does not */
	memset(pat, 'a', sizeof(pat));
	pat[0] = '/';
	pat[59] = '\0';
	snprintf(text, sizeof(text), "[beacon]\npath = prefix:%s\n", pat);
	load_ok(text, &c);
	assert_int_equal(c.paths[0].len, 59);
	assert_rule(&c.paths[0], BV_PATH_PREFIX, pat, 0);
	pat[59] = 'a';
	pat[60] = '\0';
	snprintf(text, sizeof(text), "[beacon]\npath = prefix:%s\n", pat);
	fail_at(text, 2, "pattern must be 1..59 bytes");

	fail_exact("[beacon]\npath = rb_\n", 2, "key 'path': value 'rb_' must be "
		   "KIND:PATTERN (KIND: seg_prefix, exact_or_id, prefix, exact)");
	fail_exact("[beacon]\npath = suffix:/x\n", 2, "key 'path': value 'suffix:/x': "
		   "unknown kind (expected seg_prefix, exact_or_id, prefix or exact)");
	fail_exact("[beacon]\ncrash_path = prefix:collect\n", 2, "key 'crash_path': "
		   "value 'prefix:collect': a prefix pattern must start with '/'");
	fail_at("[beacon]\npath = exact:bf\n", 2, "a exact pattern must start with '/'");
	fail_at("[beacon]\npath = exact_or_id:bf\n", 2, "must start with '/'");
	fail_at("[beacon]\npath = seg_prefix:a/b\n", 2, "cannot contain '/'");
	fail_at("[beacon]\npath = prefix:\n", 2, "pattern must be 1..59 bytes");
	fail_at("[beacon]\npath = prefix:/a b\n", 2, "without spaces");
	fail_at("[beacon]\npath = prefix:/a?b=1\n", 2, "without spaces, '?' or '#'");
	fail_at("[beacon]\npath = prefix:/\xc3\xa4\n", 2, "printable ASCII");
	fail_at("[beacon]\npath = prefix:/a\npath = prefix:/a\n", 3,
		"the same rule is given twice");

	/* 16 rules in all; the 17th fails on its line */
	o = (size_t)snprintf(text, sizeof(text), "[beacon]\n");
	for (int i = 0; i < 16; i++)
		o += (size_t)snprintf(text + o, sizeof(text) - o, "%s = prefix:/p%d\n",
				      i % 2 ? "crash_path" : "path", i);
	load_ok(text, &c);
	assert_int_equal(c.npaths, 16);
	assert_rule(&c.paths[0], BV_PATH_PREFIX, "/p1", 1);
	assert_rule(&c.paths[8], BV_PATH_PREFIX, "/p0", 0);
	assert_rule(&c.paths[15], BV_PATH_PREFIX, "/p14", 0);
	snprintf(text + o, sizeof(text) - o, "path = prefix:/p16\n");
	fail_exact(text, 18, "key 'path': too many path rules (max 16 for path and "
		   "crash_path together)");
	/* 13 crash rules + the 3 defaults fit; the 14th crash rule does not */
	o = (size_t)snprintf(text, sizeof(text), "[beacon]\n");
	for (int i = 0; i < 13; i++)
		o += (size_t)snprintf(text + o, sizeof(text) - o, "crash_path = prefix:/c%d\n", i);
	load_ok(text, &c);
	assert_int_equal(c.npaths, 16);
	assert_rule(&c.paths[13], BV_PATH_SEG_PREFIX, "rb_", 0);
	snprintf(text + o, sizeof(text) - o, "crash_path = prefix:/c13\n# x\n");
	fail_at(text, 15, "key 'crash_path': too many path rules (max 16, the 3 default");
	/* ... unless a path replaces the defaults, even after the crash rules */
	o += (size_t)snprintf(text + o, sizeof(text) - o, "crash_path = prefix:/c13\n");
	snprintf(text + o, sizeof(text) - o, "crash_path = prefix:/c14\npath = prefix:/b\n");
	load_ok(text, &c);
	assert_int_equal(c.npaths, 16);
	assert_rule(&c.paths[15], BV_PATH_PREFIX, "/b", 0);
}

static void test_anonymize_key(void **state)
{
	struct bv_config c;

	(void)state;
	load_ok("[anonymize]\nkey = 00112233445566778899aabbccddeeff\n", &c);
	assert_true(c.settings.anon_key[0] == 0x0011223344556677ULL);
	assert_true(c.settings.anon_key[1] == 0x8899aabbccddeeffULL);
	load_ok("[anonymize]\nkey = FFEEDDCCBBAA99887766554433221100\n", &c);
	assert_true(c.settings.anon_key[0] == 0xffeeddccbbaa9988ULL);
	assert_true(c.settings.anon_key[1] == 0x7766554433221100ULL);
	load_ok("[anonymize]\nkey = 00000000000000000000000000000001\n", &c);
	assert_true(c.settings.anon_key[0] == 0);
	assert_true(c.settings.anon_key[1] == 1);
	/* other_requests: on by default (flag clear), off sets the flag */
	assert_int_equal(c.settings.flags, 0);
	load_ok("[anonymize]\nother_requests = off\n", &c);
	assert_int_equal(c.settings.flags, BV_SETF_KEEP_OTHER_REQUESTS);
	load_ok("[anonymize]\nother_requests = on\n", &c);
	assert_int_equal(c.settings.flags, 0);
	fail_exact("[anonymize]\nother_requests = maybe\n", 2,
		   "key 'other_requests': value 'maybe' is not a boolean (on/off, true/false, yes/no, 1/0)");

	/* ip_anon: truncate (the default) or prefix_preserving; ip_anon_key:
	 * 64 hex digits, not all zero */
	assert_int_equal(c.ip_anon, 0);
	assert_int_equal(c.ip_anon_key_set, 0);
	load_ok("[anonymize]\nip_anon = prefix_preserving\nip_anon_key = "
		"1522178d33a4cf80130a5b1649907d10d8988f837979652762574c2d2a842202\n", &c);
	assert_int_equal(c.ip_anon, 1);
	assert_int_equal(c.ip_anon_key_set, 1);
	assert_int_equal(c.ip_anon_key[0], 0x15);
	assert_int_equal(c.ip_anon_key[3], 0x8d);
	assert_int_equal(c.ip_anon_key[31], 0x02);
	load_ok("[anonymize]\nip_anon = truncate\n", &c);
	assert_int_equal(c.ip_anon, 0);
	fail_exact("[anonymize]\nip_anon = crypto\n", 2,
		   "key 'ip_anon': value 'crypto' is not one of truncate, prefix_preserving");
	fail_exact("[anonymize]\nip_anon_key = 00112233\n", 2,
		   "key 'ip_anon_key': value '00112233' must be exactly 64 hex digits (256 bits)");
	fail_exact("[anonymize]\nip_anon_key = "
		   "0000000000000000000000000000000000000000000000000000000000000000\n", 2,
		   "key 'ip_anon_key': the all-zero key is reserved (it means: no key configured, "
		   "one is derived from [anonymize] key)");

	const char *bad[] = {
		"00112233445566778899aabbccddeef", "00112233445566778899aabbccddeeff0",
		"00112233445566778899aabbccddeefg", "0x112233445566778899aabbccddeeff",
		"0011223344556677 8899aabbccddeeff", "",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char text[200], want[200];
		snprintf(text, sizeof(text), "[anonymize]\nkey = %s\n", bad[i]);
		snprintf(want, sizeof(want), "key 'key': value '%s' must be exactly 32 "
			 "hex digits (128 bits)", bad[i]);
		fail_exact(text, 2, want);
	}
	fail_at("[anonymize]\nkey = 00000000000000000000000000000000\n", 2,
		"key 'key': the all-zero key is reserved");
	fail_exact("[anonymize]\nkey = 00112233445566778899aabbccddeeff\n"
		   "key = 00112233445566778899aabbccddeeff\n", 3,
		   "key 'key': given twice in section [anonymize]");
}

static void test_daemon_keys(void **state)
{
	struct bv_config c;
	char text[256], want[300];

	(void)state;
	load_ok("[daemon]\nmetrics = 0.0.0.0:9100\n", &c);
	assert_string_equal(c.metrics_addr, "0.0.0.0:9100");
	load_ok("[daemon]\nmetrics = [::1]:9477\n", &c);
	assert_string_equal(c.metrics_addr, "[::1]:9477");
	load_ok("[daemon]\nmetrics = [2001:db8::17]:65535\n", &c);
	assert_string_equal(c.metrics_addr, "[2001:db8::17]:65535");
	const char *badm[] = {
		"localhost:9477", "127.0.0.1", "127.0.0.1:0", "127.0.0.1:65536", "[::1]9477",
		"::1:9477", "[::1]:", "127.0.0.1:94a", "[127.0.0.1]:9477", "256.0.0.1:80",
		"[2001:db8:0000:0000:0000:0000:0000:0001:1234:5678:9abc:def0]:80",
	};
	for (size_t i = 0; i < sizeof(badm) / sizeof(badm[0]); i++) {
		snprintf(text, sizeof(text), "[daemon]\nmetrics = %s\n", badm[i]);
		snprintf(want, sizeof(want), "key 'metrics': value '%s' must be IPv4:PORT or "
			 "[IPv6]:PORT (numeric address, port 1..65535)", badm[i]);
		fail_exact(text, 2, want);
	}

	static const struct { const char *v; unsigned s; } durs[] = {
		{ "1", 1 }, { "90", 90 }, { "45s", 45 }, { "10m", 600 }, { "2h", 7200 },
		{ "24h", 86400 }, { "1440m", 86400 }, { "86400", 86400 },
	};
	for (size_t i = 0; i < sizeof(durs) / sizeof(durs[0]); i++) {
		snprintf(text, sizeof(text), "[daemon]\nsession_timeout = %s\n"
			 "key_rotation = %s\n", durs[i].v, durs[i].v);
		load_ok(text, &c);
		assert_int_equal(c.session_timeout_s, durs[i].s);
		assert_int_equal(c.key_rotation_s, durs[i].s);
	}
	const char *badd[] = {
		"0", "0s", "25h", "1441m", "86401", "10 m", "1d", "-5", "", "m", "30M",
		"99999999999999999999h",
	};
	for (size_t i = 0; i < sizeof(badd) / sizeof(badd[0]); i++) {
		const char *keys[] = { "session_timeout", "key_rotation" };
		for (int k = 0; k < 2; k++) {
			snprintf(text, sizeof(text), "[daemon]\n%s = %s\n", keys[k], badd[i]);
			snprintf(want, sizeof(want), "key '%s': value '%s' must be a duration "
				 "1s..24h (seconds, or a number with suffix s, m or h)",
				 keys[k], badd[i]);
			fail_exact(text, 2, want);
		}
	}

	load_ok("[daemon]\nk_anonymity = 1\nmax_flows = 1024\n", &c);
	assert_int_equal(c.k_anonymity, 1);
	assert_int_equal(c.max_flows, 1024);
	load_ok("[daemon]\nk_anonymity = 1000000\nmax_flows = 16777216\n", &c);
	assert_int_equal(c.k_anonymity, 1000000);
	assert_int_equal(c.max_flows, 16777216);
	fail_exact("[daemon]\nk_anonymity = 0\n", 2,
		   "key 'k_anonymity': value '0' out of range 1..1000000");
	fail_exact("[daemon]\nk_anonymity = 1000001\n", 2,
		   "key 'k_anonymity': value '1000001' out of range 1..1000000");
	fail_exact("[daemon]\nmax_flows = 1023\n", 2,
		   "key 'max_flows': value '1023' out of range 1024..16777216");
	fail_exact("[daemon]\nmax_flows = 16777217\n", 2,
		   "key 'max_flows': value '16777217' out of range 1024..16777216");
	fail_exact("[daemon]\nmax_flows = 64k\n", 2,
		   "key 'max_flows': value '64k' out of range 1024..16777216");
	fail_exact("[daemon]\nk_anonymity = 5\nmax_flows = 2048\nk_anonymity = 5\n", 4,
		   "key 'k_anonymity': given twice in section [daemon]");
}

static const char override_body_global[] =
	"[global]\nipv4_prefix = 16\nopt_in = on\n";
static const char override_body_apps[] =
	"[app:ea7c4b59f27d43eb]\nip_mask = off\nopt_in = off\n"
	"[host:RUM.Example.COM]\ncollection_level = performance\n"
	"[app:Shop_App-2.v1]\n";

static void check_overrides(const struct bv_config *c)
{
	struct bv_app_key k;

	assert_int_equal(c->global.ipv4_prefix, 16);
	assert_int_equal(c->global.opt_in, 1);
	assert_int_equal(c->napps, 3);

	/* file order of the override sections */
	memset(&k, 0, sizeof(k));
	k.kind = BV_APPKEY_APP;
	k.len = 16;
	memcpy(k.id, "ea7c4b59f27d43eb", 16);
	assert_memory_equal(&c->apps[0].key, &k, sizeof(k));
	/* starts from the final [global], sets only what it names */
	struct bv_policy p = c->global;
	p.ip_mask = BV_IPMASK_OFF;
	p.opt_in = 0;
	assert_memory_equal(&c->apps[0].pol, &p, sizeof(p));

	memset(&k, 0, sizeof(k));
	k.kind = BV_APPKEY_HOST;
	k.len = 15;
	memcpy(k.id, "rum.example.com", 15); /* lower-cased */
	assert_memory_equal(&c->apps[1].key, &k, sizeof(k));
	p = c->global;
	p.collection_level = BV_LEVEL_PERFORMANCE;
	assert_memory_equal(&c->apps[1].pol, &p, sizeof(p));

	memset(&k, 0, sizeof(k));
	k.kind = BV_APPKEY_APP;
	k.len = 14;
	memcpy(k.id, "Shop_App-2.v1", 13); /* app ids keep their case */
	k.len = 13;
	assert_memory_equal(&c->apps[2].key, &k, sizeof(k));
	/* an empty override section is the global policy */
	assert_memory_equal(&c->apps[2].pol, &c->global, sizeof(c->global));
	assert_int_equal(c->apps[2].pol.valid, 1);
}

static void test_overrides(void **state)
{
	struct bv_config a, b;
	char text[1024];

	(void)state;
	snprintf(text, sizeof(text), "%s%s", override_body_global, override_body_apps);
	load_ok(text, &a);
	check_overrides(&a);
	/* order of sections does not matter */
	snprintf(text, sizeof(text), "%s%s", override_body_apps, override_body_global);
	load_ok(text, &b);
	check_overrides(&b);
	assert_config_equal(&a, &b);
	bv_config_free(&a);
	bv_config_free(&b);
	/* [global] split around the overrides is a duplicate section, not merged */
	fail_exact("[global]\nipv4_prefix = 16\n[app:x]\n[global]\nopt_in = on\n", 4,
		   "duplicate section [global] (first at line 1)");

	/* 63-byte app id and host (section line longer than inih's 49-byte names) */
	char id[64];
	memset(id, 'a', 63);
	id[63] = '\0';
	id[10] = '.';
	snprintf(text, sizeof(text), "[app:%s]\nopt_in = on\n[host:%s]\nopt_in = off\n",
		 id, id);
	load_ok(text, &a);
	assert_int_equal(a.napps, 2);
	assert_int_equal(a.apps[0].key.kind, BV_APPKEY_APP);
	assert_int_equal(a.apps[0].key.len, 63);
	assert_memory_equal(a.apps[0].key.id, id, 64); /* includes the zero pad */
	assert_int_equal(a.apps[0].pol.opt_in, 1);
	assert_int_equal(a.apps[1].key.kind, BV_APPKEY_HOST);
	assert_int_equal(a.apps[1].key.len, 63);
	assert_int_equal(a.apps[1].pol.opt_in, 0);
	bv_config_free(&a);
	/* two ids differing only after byte 49 are two sections */
	snprintf(text, sizeof(text), "[app:%s]\n", id);
	id[62] = 'b';
	snprintf(text + strlen(text), sizeof(text) - strlen(text), "[app:%s]\n", id);
	load_ok(text, &a);
	assert_int_equal(a.napps, 2);
	bv_config_free(&a);
	id[62] = 'a';
	snprintf(text, sizeof(text), "[app:%sa]\n", id);
	fail_at(text, 1, "application id must be 1..63 bytes");
	snprintf(text, sizeof(text), "\n[host:%sa]\n", id);
	fail_at(text, 2, "host must be 1..63 bytes");

	fail_at("[app:]\n", 1, "section [app:]: application id must be 1..63 bytes");
	fail_at("[app:my app]\n", 1, "section [app:my app]: application id");
	fail_at("[app:a/b]\n", 1, "application id");
	fail_at("[host:]\n", 1, "section [host:]: host must be");
	fail_at("[host:-bad.com]\n", 1, "host must be");
	fail_at("[host:a..b]\n", 1, "host must be");
	fail_at("[host:.a.b]\n", 1, "host must be");
	fail_at("[host:a.b.]\n", 1, "host must be");
	fail_at("[host:a b]\n", 1, "host must be");
	fail_exact("[host:example.com:8080]\n", 1, "section [host:example.com:8080]: give "
		   "the host without a port (the policy applies to the host on every "
		   "beacon port)");
	fail_exact("[host:Example.com]\nopt_in = on\n\n[host:example.COM]\n", 4,
		   "duplicate section [host:example.COM] (first at line 1; host names "
		   "are compared case-insensitively)");
	fail_exact("[app:x1]\n[app:x2]\n[app:x1]\n", 3,
		   "duplicate section [app:x1] (first at line 1)");
	/* an app id and a host of the same bytes are different keys */
	load_ok("[app:abc]\n[host:abc]\n[app:ABC]\n", &a);
	assert_int_equal(a.napps, 3);
	bv_config_free(&a);
	fail_exact("[app:x]\nports = 80\n", 2, "key 'ports': unknown key in section [app:x]");
	fail_exact("[app:x]\nopt_in = on\nopt_in = off\n", 3,
		   "key 'opt_in': given twice in section [app:x]");
	fail_exact("[host:h]\nopt_in = maybe\n", 2, "key 'opt_in': value 'maybe' is not "
		   "a boolean (on/off, true/false, yes/no, 1/0)");

	/* BV_CONFIG_MAX_APPS sections fit, one more does not */
	size_t cap = (BV_CONFIG_MAX_APPS + 1) * 16, o = 0;
	char *big = malloc(cap);
	assert_non_null(big);
	for (int i = 0; i < BV_CONFIG_MAX_APPS; i++)
		o += (size_t)snprintf(big + o, cap - o, "[app:a%d]\n", i);
	load_ok(big, &a);
	assert_int_equal(a.napps, BV_CONFIG_MAX_APPS);
	assert_string_equal(a.apps[BV_CONFIG_MAX_APPS - 1].key.id, "a1023");
	bv_config_free(&a);
	snprintf(big + o, cap - o, "[app:last]\n");
	fail_at(big, BV_CONFIG_MAX_APPS + 1, "too many app/host sections (max 1024)");
	free(big);
}

static void test_structure_errors(void **state)
{
	struct bv_config c;

	(void)state;
	fail_exact("[global]\n[foo]\nx = 1\n", 2, "unknown section [foo] (expected global, "
		   "beacon, anonymize, daemon, fleet, mirror, audit, names, app:ID or host:NAME)");
	fail_at("[Global]\n", 1, "unknown section [Global]");
	fail_at("[app]\n", 1, "unknown section [app]");
	fail_exact("[global]\nopt_in = on\n[beacon]\n[global]\n", 4,
		   "duplicate section [global] (first at line 1)");
	fail_exact("[daemon]\n\n[daemon]\n", 3, "duplicate section [daemon] (first at line 1)");
	fail_exact("[beacon]\n[anonymize]\n[beacon]\n", 3,
		   "duplicate section [beacon] (first at line 1)");
	fail_exact("opt_in = on\n[global]\n", 1, "key 'opt_in' before any [section]");
	fail_exact("[global]\nopt_in = on\nopt_in = on\n", 3,
		   "key 'opt_in': given twice in section [global]");
	fail_exact("[global]\nipv4_prefix = 24\nipv4_prefx = 24\n", 3,
		   "key 'ipv4_prefx': unknown key in section [global]");
	fail_exact("[global]\nports = 80\n", 2, "key 'ports': unknown key in section [global]");
	fail_exact("[beacon]\nopt_in = on\n", 2, "key 'opt_in': unknown key in section [beacon]");
	fail_exact("[daemon]\nmetric = 1.2.3.4:5\n", 2,
		   "key 'metric': unknown key in section [daemon]");
	fail_exact("[anonymize]\nseed = 1\n", 2, "key 'seed': unknown key in section [anonymize]");
	fail_exact("[global]\nIP_MASK = all\n", 2, "key 'IP_MASK': unknown key in section [global]");
	fail_exact("[global]\n= all\n", 2, "key '': unknown key in section [global]");
	fail_exact("[global\nopt_in = on\n", 1, "section header without closing ']'");
	fail_exact("[global] opt_in = on\n", 1, "unexpected text after section header");
	fail_exact("[global]\nopt_in on\n", 2,
		   "expected 'key = value', '[section]' or a comment");
	/* a line inih itself rejects (';' comment before the '=') */
	fail_exact("[global]\n\nopt_in ;= on\n", 3,
		   "syntax error (expected 'key = value', '[section]' or a comment)");

	/* indentation is allowed, not a continuation of the previous value */
	load_ok("[global]\n  ip_mask = off\n\tipv4_prefix = 16\n   [beacon]\n  ports = 81\n", &c);
	assert_int_equal(c.global.ip_mask, BV_IPMASK_OFF);
	assert_int_equal(c.global.ipv4_prefix, 16);
	assert_int_equal(c.ports[0], 81);
	fail_exact("[beacon]\nports = 80\n    8080\n", 3,
		   "expected 'key = value', '[section]' or a comment");
	/* section headers with spaces inside and a trailing comment */
	load_ok("[ global ] ; the defaults\nopt_in = on\n[daemon] # more\n", &c);
	assert_int_equal(c.global.opt_in, 1);
	/* CRLF, a UTF-8 BOM, UTF-8 in comments, no final newline */
	load_ok("\xef\xbb\xbf[global]\r\n# gr\xc3\xbc\xc3\x9f""e\r\nopt_in = on\r\nipv4_prefix = 8", &c);
	assert_int_equal(c.global.opt_in, 1);
	assert_int_equal(c.global.ipv4_prefix, 8);
	/* '#' is a comment only at the start of a line */
	fail_exact("[global]\nipv4_prefix = 8 # eight\n", 2,
		   "key 'ipv4_prefix': value '8 # eight' out of range 0..32");
}

static void test_line_numbers(void **state)
{
	char text[4096];
	size_t o;

	(void)state;
	/* an error on line N says N, after blank, comment, CRLF and long comment lines */
	o = (size_t)snprintf(text, sizeof(text), "# c\r\n\r\n[global]\r\n;\n");
	memset(text + o, 'x', 1000);
	text[o] = '#';
	o += 1000;
	o += (size_t)snprintf(text + o, sizeof(text) - o, "\n\n   \nopt_in = on\n"
			      "[daemon]\n\n\nk_anonymity = 0\n");
	fail_exact(text, 12, "key 'k_anonymity': value '0' out of range 1..1000000");
	for (int n = 1; n <= 40; n += 13) {
		o = (size_t)snprintf(text, sizeof(text), "[global]\n");
		for (int i = 2; i < n; i++)
			o += (size_t)snprintf(text + o, sizeof(text) - o, i % 3 ? "\n" : "# %d\n", i);
		snprintf(text + o, sizeof(text) - o, "opt_in = sometimes\nopt_in = on\n");
		fail_at(text, n < 2 ? 2 : n, "key 'opt_in': value 'sometimes'");
	}
	/* reader-level errors say their line too */
	static const char nul[] = "[global]\nopt_in = on\n\n# a\nip_mask = a\0l\n";
	load_fail_at(nul, sizeof(nul) - 1, 5, "NUL byte in line (not a text file?)", 1);
	fail_exact("[global]\n\nopt_in = on\x01\n", 3,
		   "control character 0x01 in line (not a text file?)");
	fail_exact("[global]\nopt_in = o\rn\n", 2,
		   "control character 0x0d in line (not a text file?)");
	fail_exact("[global]\nopt_in = \x7f\n", 2,
		   "control character 0x7f in line (not a text file?)");
}

static void test_garbage(void **state)
{
	struct bv_config c;
	char err[ERRLEN];
	size_t n = 100 * 1024;
	char *buf = malloc(n + 64);

	(void)state;
	assert_non_null(buf);
	/* random bytes, NULs included; several seeds, several sizes */
	for (unsigned seed = 1; seed <= 64; seed++) {
		size_t len = 1 + (seed * 997) % 8192;
		srand(seed);
		for (size_t i = 0; i < len; i++)
			buf[i] = (char)(rand() & 0xff);
		err[0] = '\0';
		assert_int_equal(load_bytes(buf, len, &c, err), -1);
		assert_memory_equal(err, cfgpath, strlen(cfgpath));
		assert_int_equal(err[strlen(cfgpath)], ':');
		assert_null(c.apps);
	}
	/* printable noise: still an error naming a line */
	srand(7);
	for (size_t i = 0; i < 4000; i++)
		buf[i] = (char)(rand() % 8 == 0 ? '\n' : 0x20 + rand() % 95);
	assert_int_equal(load_bytes(buf, 4000, &c, err), -1);
	assert_memory_equal(err, cfgpath, strlen(cfgpath));

	/* a 100 KB line: an error, not split into several lines */
	memcpy(buf, "[global]\n", 9);
	memset(buf + 9, 'a', n);
	memcpy(buf + 9 + n, " = 1\n", 5);
	load_fail_at(buf, 9 + n + 5, 2, "line too long (102404 bytes; at most", 0);
	memcpy(buf + 9, "opt_in = ", 9);
	load_fail_at(buf, 9 + n, 2, "line too long (102400 bytes; at most", 0);
	/* the longest line inih's buffer takes still works; one more byte fails */
	{
		const int lim = INI_MAX_LINE - 3;
		char line[INI_MAX_LINE + 8];
		memset(line, 'x', sizeof(line));
		memcpy(line, "[global]\nopt_in = on ;", 22);
		line[9 + lim] = '\n';
		assert_int_equal(load_bytes(line, (size_t)(9 + lim + 1), &c, err), 0);
		assert_int_equal(c.global.opt_in, 1);
		line[9 + lim] = 'x';
		line[9 + lim + 1] = '\n';
		char want[80];
		snprintf(want, sizeof(want), "line too long (%d bytes; at most %d)", lim + 1, lim);
		load_fail_at(line, (size_t)(9 + lim + 2), 2, want, 1);
	}
	/* a 100 KB comment line is fine: comments are never handed to inih */
	memcpy(buf, "[global]\n#", 10);
	memset(buf + 10, 'c', n);
	memcpy(buf + 10 + n, "\nopt_in = on\n", 13);
	assert_int_equal(load_bytes(buf, 10 + n + 13, &c, err), 0);
	assert_int_equal(c.global.opt_in, 1);
	free(buf);

	/* larger than BV_CONFIG_MAX_FILE */
	buf = malloc(BV_CONFIG_MAX_FILE + 2);
	assert_non_null(buf);
	memset(buf, '\n', BV_CONFIG_MAX_FILE + 1);
	buf[0] = '#';
	assert_int_equal(load_bytes(buf, BV_CONFIG_MAX_FILE + 1, &c, err), -1);
	assert_non_null(strstr(err, "larger than 1048576 bytes"));
	assert_int_equal(load_bytes(buf, BV_CONFIG_MAX_FILE, &c, err), 0);
	free(buf);
}

static void test_file_errors(void **state)
{
	struct bv_config c;
	char err[ERRLEN], want[300], p[160];

	(void)state;
	snprintf(p, sizeof(p), "%s/does-not-exist.conf", tmpdir);
	assert_int_equal(bv_config_load(&c, p, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s: cannot open: %s", p, strerror(ENOENT));
	assert_string_equal(err, want);
	assert_int_equal(c.global.ipv4_prefix, 24);

	snprintf(p, sizeof(p), "%s/subdir", tmpdir);
	assert_int_equal(mkdir(p, 0700), 0);
	assert_int_equal(bv_config_load(&c, p, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s: cannot read: %s", p, strerror(EISDIR));
	assert_string_equal(err, want);
	rmdir(p);

	/* unreadable (root reads anything, so only checked as non-root) */
	if (geteuid() != 0) {
		write_bytes("[global]\n", 9);
		chmod(cfgpath, 0);
		assert_int_equal(bv_config_load(&c, cfgpath, err, sizeof(err)), -1);
		snprintf(want, sizeof(want), "%s: cannot open: %s", cfgpath, strerror(EACCES));
		assert_string_equal(err, want);
		chmod(cfgpath, 0600);
	}
	/* a small err buffer is truncated, not overrun */
	char small[12];
	memset(small, 'Z', sizeof(small));
	write_bytes("[nope]\n", 7);
	assert_int_equal(bv_config_load(&c, cfgpath, small, 8), -1);
	assert_int_equal(strlen(small), 7);
	assert_int_equal(small[8], 'Z');
	/* no err buffer at all */
	assert_int_equal(bv_config_load(&c, cfgpath, NULL, 0), -1);
}

static void test_policy_fields(void **state)
{
	static const char *const order[] = {
		"ip_mask", "ipv4_prefix", "ipv6_prefix", "respect_dnt", "dnt_action",
		"respect_gpc", "opt_in", "user_tracking", "honour_disabled",
		"drop_action", "collection_level", "crash_reports", "unreadable_body",
	};
	struct bv_config d;
	struct bv_policy p, before;
	char out[64], err[ERRLEN];
	int n = 0;

	(void)state;
	while (bv_policy_keys[n])
		n++;
	assert_int_equal(n, 13);
	assert_int_equal(NPVALS, 13);
	for (int i = 0; i < n; i++) {
		assert_string_equal(bv_policy_keys[i], order[i]);
		assert_string_equal(pvals[i].key, order[i]);
	}

	bv_config_defaults(&d);
	for (int i = 0; i < NPVALS; i++) {
		const char *k = pvals[i].key;
		/* defaults read back as README.md's policy table spells them */
		static const char *const defs[] = {
			"all", "24", "48", "on", "anonymize", "on", "off", "off", "on",
			"drop", "user_behavior", "on", "drop",
		};
		assert_int_equal(bv_policy_get_field(&d.global, k, out, sizeof(out)), 0);
		assert_string_equal(out, defs[i]);
		for (int j = 0; pvals[i].vals[j]; j++) {
			p = d.global;
			before = p;
			assert_int_equal(bv_policy_set_field(&p, k, pvals[i].vals[j], err,
							     sizeof(err)), 0);
			assert_int_equal(((__u8 *)&p)[poff(k)], pnum(i, j));
			/* nothing else changed, valid untouched */
			((__u8 *)&before)[poff(k)] = ((__u8 *)&p)[poff(k)];
			assert_memory_equal(&p, &before, sizeof(p));
			assert_int_equal(bv_policy_get_field(&p, k, out, sizeof(out)), 0);
			assert_string_equal(out, pvals[i].vals[j]);
			/* round trip: get -> set gives the same struct */
			struct bv_policy p2 = d.global;
			assert_int_equal(bv_policy_set_field(&p2, k, out, err, sizeof(err)), 0);
			assert_memory_equal(&p, &p2, sizeof(p));
		}
		/* a bad value leaves the policy alone */
		p = d.global;
		memset(err, 0, sizeof(err));
		assert_int_equal(bv_policy_set_field(&p, k, "bogus", err, sizeof(err)), -1);
		assert_memory_equal(&p, &d.global, sizeof(p));
		assert_true(!strncmp(err, "key '", 5) && strstr(err, k) && strstr(err, "'bogus'"));
	}
	/* valid is not a settable field */
	p = d.global;
	assert_int_equal(bv_policy_set_field(&p, "valid", "0", err, sizeof(err)), -1);
	assert_string_equal(err, "key 'valid': unknown policy key");
	assert_int_equal(p.valid, 1);
	assert_int_equal(bv_policy_set_field(&p, "nope", "on", err, sizeof(err)), -1);
	assert_string_equal(err, "key 'nope': unknown policy key");
	assert_int_equal(bv_policy_set_field(&p, "opt_in", NULL, err, sizeof(err)), -1);
	assert_int_equal(bv_policy_get_field(&p, "nope", out, sizeof(out)), -1);
	assert_int_equal(bv_policy_get_field(&p, "valid", out, sizeof(out)), -1);
	/* output buffer too small */
	assert_int_equal(bv_policy_get_field(&p, "collection_level", out, 5), -1);
	assert_int_equal(bv_policy_get_field(&p, "collection_level", out, 14), 0);
	assert_string_equal(out, "user_behavior");
	assert_int_equal(bv_policy_get_field(&p, "collection_level", out, 13), -1);
	/* values out of range (written by hand with bpftool) print as numbers */
	p.ip_mask = 7;
	p.respect_dnt = 2;
	p.ipv4_prefix = 200;
	assert_int_equal(bv_policy_get_field(&p, "ip_mask", out, sizeof(out)), 0);
	assert_string_equal(out, "7");
	assert_int_equal(bv_policy_get_field(&p, "respect_dnt", out, sizeof(out)), 0);
	assert_string_equal(out, "2");
	assert_int_equal(bv_policy_get_field(&p, "ipv4_prefix", out, sizeof(out)), 0);
	assert_string_equal(out, "200");
	/* set's aliases */
	assert_int_equal(bv_policy_set_field(&p, "respect_dnt", "yes", err, sizeof(err)), 0);
	assert_int_equal(p.respect_dnt, 1);
	assert_int_equal(bv_policy_set_field(&p, "respect_dnt", "FALSE", err, sizeof(err)), 0);
	assert_int_equal(p.respect_dnt, 0);
	assert_int_equal(bv_policy_set_field(&p, "ipv6_prefix", "129", err, sizeof(err)), -1);
	assert_string_equal(err, "key 'ipv6_prefix': value '129' out of range 0..128");
	/* a NULL err is allowed */
	assert_int_equal(bv_policy_set_field(&p, "ipv6_prefix", "129", NULL, 0), -1);
}

/* [fleet]: off by default, a URL checked at load and never echoed, and
 * key periods that tile the day. */
static void test_fleet_section(void **state)
{
	struct bv_config c;

	(void)state;
	bv_config_defaults(&c);
	assert_string_equal(c.fleet_redis, "");
	assert_int_equal(c.fleet_visitor_lifetime_s, 48 * 3600);
	load_ok("[fleet]\nredis = redis://:pw@127.0.0.1:6379/0\nvisitor_lifetime = 30m\n", &c);
	assert_string_equal(c.fleet_redis, "redis://:pw@127.0.0.1:6379/0");
	assert_int_equal(c.fleet_visitor_lifetime_s, 1800);
	load_ok("[daemon]\nkey_rotation = 6h\n[fleet]\nredis = unix:///run/redis/redis.sock\n", &c);
	assert_int_equal(c.key_rotation_s, 6 * 3600);
	fail_exact("[fleet]\nredis = http://h\n", 2,
		   "key 'redis': expected redis://HOST[:PORT][/DB] or unix:///PATH[?db=N]");
	fail_exact("[fleet]\nredis = redis://:hunter2@h:0\n", 2, "key 'redis': port must be 1..65535");
	fail_exact("[fleet]\n\nredis = redis://h\n[daemon]\nkey_rotation = 7m\n", 3,
		   "key 'redis': with a fleet, [daemon] key_rotation (420s) must divide 24h (e.g. "
		   "1h, 6h, 24h) so that every node cuts the day into the same periods");
	fail_at("[fleet]\nvisitor_lifetime = 49h\n", 2, "must be a duration 1s..48h");
	fail_at("[fleet]\nport = 1\n", 2, "unknown key in section [fleet]");
	/* without a fleet, any key_rotation stays valid */
	load_ok("[daemon]\nkey_rotation = 7m\n", &c);
}

static void test_mirror_section(void **state)
{
	struct bv_config c;

	(void)state;
	bv_config_defaults(&c);
	assert_int_equal(c.nvxlan, 1);
	assert_int_equal(c.vxlan_ports[0], 4789);
	assert_int_equal(c.ngeneve, 1);
	assert_int_equal(c.geneve_ports[0], 6081);
	load_ok("[mirror]\nvxlan_ports = 4789, 8472\ngeneve_ports = 16081\n", &c);
	assert_int_equal(c.nvxlan, 2);
	assert_int_equal(c.vxlan_ports[0], 4789);
	assert_int_equal(c.vxlan_ports[1], 8472);
	assert_int_equal(c.ngeneve, 1);
	assert_int_equal(c.geneve_ports[0], 16081);
	/* 0 or nothing: off */
	load_ok("[mirror]\nvxlan_ports = 0\ngeneve_ports =\n", &c);
	assert_int_equal(c.nvxlan, 0);
	assert_int_equal(c.ngeneve, 0);
	/* a key not given keeps its default */
	load_ok("[mirror]\ngeneve_ports = 0\n", &c);
	assert_int_equal(c.nvxlan, 1);
	assert_int_equal(c.vxlan_ports[0], 4789);
	assert_int_equal(c.ngeneve, 0);
	/* the settings flag exists only in the map (bv_config_apply) */
	assert_int_equal(c.settings.flags, 0);
	fail_exact("[mirror]\nvxlan_ports = 0, 4789\n", 2,
		   "key 'vxlan_ports': value '0, 4789' must be a comma-separated list of UDP "
		   "ports 1..65535, or 0 (or nothing) for none");
	fail_at("[mirror]\ngeneve_ports = 65536\n", 2, "key 'geneve_ports': value '65536' must be");
	fail_at("[mirror]\ngeneve_ports = 6081,\n", 2, "key 'geneve_ports'");
	fail_at("[mirror]\ngeneve_ports = x\n", 2, "key 'geneve_ports'");
	fail_exact("[mirror]\nvxlan_ports = 1, 1\n", 2,
		   "key 'vxlan_ports': value '1, 1': port 1 listed twice");
	fail_exact("[mirror]\nvxlan_ports = 1,2,3,4,5,6,7,8,9\n", 2,
		   "key 'vxlan_ports': too many ports (max 8)");
	fail_exact("[mirror]\n\nvxlan_ports = 6081\n", 1,
		   "port 6081 is in both vxlan_ports and geneve_ports");
	fail_at("[mirror]\nvxlan_ports = 1\nvxlan_ports = 2\n", 3, "given twice in section [mirror]");
	fail_at("[mirror]\nports = 1\n", 2, "unknown key in section [mirror]");
}

/* The example at the top of the repository. */

static void test_audit_section(void **state)
{
	struct bv_config c;

	(void)state;
	bv_config_defaults(&c);
	assert_int_equal(c.settings.flags & (BV_SETF_AUDIT | BV_SETF_AUDIT_SECURE | BV_SETF_RVCL_MASK), 0);
	assert_int_equal(c.naudit_ports, 0);
	load_ok("[audit]\nenabled = on\nrequire_secure = yes\nrvcl = 13\nports = 8000, 8443\n", &c);
	assert_true(c.settings.flags & BV_SETF_AUDIT);
	assert_true(c.settings.flags & BV_SETF_AUDIT_SECURE);
	assert_int_equal((c.settings.flags & BV_SETF_RVCL_MASK) >> BV_SETF_RVCL_SHIFT, 13);
	assert_int_equal(c.naudit_ports, 2);
	assert_int_equal(c.audit_ports[0], 8000);
	assert_int_equal(c.audit_ports[1], 8443);
	/* the other settings flags are not touched */
	load_ok("[anonymize]\nother_requests = off\n[audit]\nenabled = off\nrvcl = 1\n", &c);
	assert_true(c.settings.flags & BV_SETF_KEEP_OTHER_REQUESTS);
	assert_false(c.settings.flags & BV_SETF_AUDIT);
	assert_int_equal((c.settings.flags & BV_SETF_RVCL_MASK) >> BV_SETF_RVCL_SHIFT, 1);
	fail_exact("[audit]\nrvcl = 25\n", 2,
		   "key 'rvcl': value '25' must be a number of months 1..24 (the rxVisitor lifetime limit)");
	fail_at("[audit]\nrvcl = 0\n", 2, "must be a number of months 1..24");
	fail_at("[audit]\nenabled = maybe\n", 2, "key 'enabled': value 'maybe' is not a boolean");
	fail_at("[audit]\nports = 80, 80\n", 2, "port 80 listed twice");
	fail_at("[audit]\nports = 70000\n", 2, "is not a port 1..65535");
	fail_at("[audit]\nports = 80,\n", 2, "must be a comma-separated list of ports");
	fail_at("[audit]\nmax_age = 1\n", 2, "unknown key in section [audit]");
	fail_at("[audit]\nrvcl = 2\nrvcl = 3\n", 3, "given twice in section [audit]");
}

/* The example at the top of the repository. */
static char *find_example(void)
{
	char exe[PATH_MAX], *p;
	static char cand[PATH_MAX + 64];
	ssize_t n;

	if (access("beaconveil.conf.example", R_OK) == 0)
		return strcpy(cand, "beaconveil.conf.example");
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return NULL;
	exe[n] = '\0';
	for (int up = 0; up < 4; up++) { /* BUILD/tests/test_config -> repo */
		p = strrchr(exe, '/');
		if (!p)
			return NULL;
		*p = '\0';
		snprintf(cand, sizeof(cand), "%s/beaconveil.conf.example", exe);
		if (access(cand, R_OK) == 0)
			return cand;
	}
	return NULL;
}

static void test_example_file(void **state)
{
	struct bv_config c, d;
	char err[ERRLEN] = "", *text, key[64];
	const char *path = find_example();
	FILE *f;
	long len;

	(void)state;
	if (!path)
		fail_msg("beaconveil.conf.example not found (cwd or above the binary)");
	if (bv_config_load(&c, path, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	bv_config_defaults(&d);
	assert_config_equal(&c, &d); /* every key at its default */

	f = fopen(path, "r");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	rewind(f);
	text = calloc(1, (size_t)len + 2);
	assert_non_null(text);
	text[0] = '\n';
	assert_int_equal(fread(text + 1, 1, (size_t)len, f), (size_t)len);
	fclose(f);
	/* every key is shown, as "key = " on a line of its own (maybe commented) */
	const char *others[] = {
		"ports", "methods", "path", "crash_path", "key", "metrics",
		"session_timeout", "k_anonymity", "max_flows", "key_rotation",
		"vxlan_ports", "geneve_ports",
	};
	size_t nnames = 0;

	while (bv_names_keys[nnames])
		nnames++;
	for (size_t i = 0; i < 12 + sizeof(others) / sizeof(others[0]) + nnames; i++) {
		size_t no = sizeof(others) / sizeof(others[0]);
		const char *k = i < 12 ? bv_policy_keys[i] : i < 12 + no ? others[i - 12]
									 : bv_names_keys[i - 12 - no];
		snprintf(key, sizeof(key), "\n%s = ", k);
		char *hit = strstr(text, key);
		snprintf(key, sizeof(key), "\n# %s = ", k);
		if (!hit)
			hit = strstr(text, key);
		if (!hit)
			fail_msg("example lacks key '%s'", k);
	}
	const char *sects[] = { "\n[global]", "\n[beacon]", "\n[anonymize]", "\n[daemon]",
				"\n[mirror]", "\n[names]", "\n# [app:", "\n# [host:" };
	for (size_t i = 0; i < sizeof(sects) / sizeof(sects[0]); i++)
		if (!strstr(text, sects[i]))
			fail_msg("example lacks section '%s'", sects[i] + 1);
	free(text);
}

/* ------------------------------------------------------------------ */
/* bv_config_apply on real maps                                       */

static int make_maps(struct bv_map_fds *m)
{
	m->policy = bpf_map_create(BPF_MAP_TYPE_ARRAY, "bv_policy", sizeof(__u32),
				   sizeof(struct bv_policy), 1, NULL);
	m->apppol = bpf_map_create(BPF_MAP_TYPE_HASH, "bv_apppol", sizeof(struct bv_app_key),
				   sizeof(struct bv_policy), BV_CONFIG_MAX_APPS, NULL);
	m->settings = bpf_map_create(BPF_MAP_TYPE_ARRAY, "bv_settings", sizeof(__u32),
				     sizeof(struct bv_settings), 1, NULL);
	m->ports = bpf_map_create(BPF_MAP_TYPE_ARRAY, "bv_ports", sizeof(__u32),
				  sizeof(__u8), 65536, NULL);
	m->paths = bpf_map_create(BPF_MAP_TYPE_ARRAY, "bv_paths", sizeof(__u32),
				  sizeof(struct bv_path_rule), BV_MAX_PATHS, NULL);
	return m->policy >= 0 && m->apppol >= 0 && m->settings >= 0 && m->ports >= 0 &&
	       m->paths >= 0 ? 0 : -1;
}

static void close_maps(struct bv_map_fds *m)
{
	int *fds[] = { &m->policy, &m->apppol, &m->settings, &m->ports, &m->paths };
	for (size_t i = 0; i < 5; i++)
		if (*fds[i] >= 0)
			close(*fds[i]);
}

/* The maps hold exactly c. */
static void check_maps(const struct bv_map_fds *m, const struct bv_config *c)
{
	__u32 zero = 0, cnt = 0;
	struct bv_policy pol;
	struct bv_settings st;
	struct bv_path_rule r, none;
	struct bv_app_key k, next;
	const struct bv_app_key *prev = NULL;
	int napps = 0;

	assert_int_equal(bpf_map_lookup_elem(m->policy, &zero, &pol), 0);
	assert_memory_equal(&pol, &c->global, sizeof(pol));
	assert_int_equal(bpf_map_lookup_elem(m->settings, &zero, &st), 0);
	assert_int_equal(st.methods, c->settings.methods);
	assert_int_equal(st.flags, c->settings.flags |
		(c->nvxlan || c->ngeneve ? (__u32)BV_SETF_DECAP : 0u));
	assert_true(st.anon_key[0] == c->settings.anon_key[0]);
	assert_true(st.anon_key[1] == c->settings.anon_key[1]);

	memset(&none, 0, sizeof(none));
	for (__u32 i = 0; i < BV_MAX_PATHS; i++) {
		assert_int_equal(bpf_map_lookup_elem(m->paths, &i, &r), 0);
		if ((int)i < c->npaths)
			assert_memory_equal(&r, &c->paths[i], sizeof(r));
		else
			assert_memory_equal(&r, &none, sizeof(r));
	}

	for (__u32 port = 0; port < 65536; port++) {
		__u8 v = 0xee, want = 0;
		for (int i = 0; i < c->nports; i++)
			if (c->ports[i] == port)
				want |= BV_PORT_BEACON;
		for (int i = 0; i < c->nvxlan; i++)
			if (c->vxlan_ports[i] == port)
				want |= BV_PORT_VXLAN;
		for (int i = 0; i < c->ngeneve; i++)
			if (c->geneve_ports[i] == port)
				want |= BV_PORT_GENEVE;
		assert_int_equal(bpf_map_lookup_elem(m->ports, &port, &v), 0);
		if (v != want)
			fail_msg("bv_ports[%u] = %u, want %u", port, v, want);
		cnt += (v & BV_PORT_BEACON) + !!(v & BV_PORT_VXLAN) + !!(v & BV_PORT_GENEVE);
	}
	assert_int_equal(cnt, c->nports + c->nvxlan + c->ngeneve);

	while (bpf_map_get_next_key(m->apppol, prev, &next) == 0) {
		int found = -1;
		for (int i = 0; i < c->napps; i++)
			if (!memcmp(&c->apps[i].key, &next, sizeof(next)))
				found = i;
		if (found < 0)
			fail_msg("stale bv_apppol entry '%.*s'", (int)next.len, next.id);
		assert_int_equal(bpf_map_lookup_elem(m->apppol, &next, &pol), 0);
		assert_memory_equal(&pol, &c->apps[found].pol, sizeof(pol));
		napps++;
		k = next;
		prev = &k;
	}
	assert_int_equal(napps, c->napps);
}

static void test_apply(void **state)
{
	struct bv_map_fds m = { -1, -1, -1, -1, -1, -1, -1, -1 };
	struct bv_config a, b, d;
	char err[ERRLEN] = "";

	(void)state;
	if (geteuid() != 0) {
		print_message("test_apply needs root (BPF maps); skipped\n");
		skip();
	}
	if (make_maps(&m) < 0) {
		close_maps(&m);
		fail_msg("bpf_map_create: %s", strerror(errno));
	}
	/* a foreign entry written by hand: apply replaces all entries */
	struct bv_app_key fk;
	struct bv_policy fp;
	memset(&fk, 0, sizeof(fk));
	fk.kind = BV_APPKEY_HOST;
	fk.len = 3;
	memcpy(fk.id, "old", 3);
	memset(&fp, 0, sizeof(fp));
	fp.valid = 1;
	assert_int_equal(bpf_map_update_elem(m.apppol, &fk, &fp, BPF_ANY), 0);

	load_ok("[global]\nipv4_prefix = 20\n"
		"[beacon]\nports = 80, 8080, 443, 65535, 1\nmethods = POST\n"
		"path = prefix:/collect\npath = seg_prefix:rb_\ncrash_path = exact:/crash\n"
		"[anonymize]\nkey = 0123456789abcdef0123456789abcdef\n"
		"[app:keep]\nopt_in = on\n[app:gone]\nip_mask = off\n[host:www.example.org]\n"
		"collection_level = off\n[mirror]\nvxlan_ports = 4789, 80\ngeneve_ports = 6081\n", &a);
	assert_int_equal(bv_config_apply(&a, &m, err, sizeof(err)), 0);
	check_maps(&m, &a);

	/* fewer ports, paths and apps: old ones cleared, stale entries removed */
	load_ok("[beacon]\nports = 9000\npath = exact:/b\n[app:keep]\nopt_in = off\n"
		"[mirror]\nvxlan_ports = 0\ngeneve_ports =\n", &b);
	assert_int_equal(bv_config_apply(&b, &m, err, sizeof(err)), 0);
	check_maps(&m, &b);

	/* the per-key fallback does the same */
	bv_config_no_batch = 1;
	assert_int_equal(bv_config_apply(&a, &m, err, sizeof(err)), 0);
	check_maps(&m, &a);
	assert_int_equal(bv_config_apply(&b, &m, err, sizeof(err)), 0);
	check_maps(&m, &b);
	bv_config_no_batch = 0;

	/* the defaults: no apps at all */
	bv_config_defaults(&d);
	assert_int_equal(bv_config_apply(&d, &m, err, sizeof(err)), 0);
	check_maps(&m, &d);

	/* a negative fd skips that map */
	struct bv_map_fds only = { -1, -1, -1, m.ports, -1, -1, -1, -1 };
	assert_int_equal(bv_config_apply(&b, &only, err, sizeof(err)), 0);
	__u32 port = 9000, zero = 0;
	__u8 v = 0;
	struct bv_settings st;
	assert_int_equal(bpf_map_lookup_elem(m.ports, &port, &v), 0);
	assert_int_equal(v, 1);
	assert_int_equal(bpf_map_lookup_elem(m.settings, &zero, &st), 0);
	assert_int_equal(st.methods, d.settings.methods); /* untouched */

	/* errors name the map: a map of the wrong value size */
	int wrong = bpf_map_create(BPF_MAP_TYPE_ARRAY, "bv_wrong", sizeof(__u32), 4, 1, NULL);
	assert_true(wrong >= 0);
	struct bv_map_fds bad = { -1, -1, -1, -1, -1, -1, -1, -1 };
	bad.paths = wrong;
	assert_int_equal(bv_config_apply(&a, &bad, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "bv_paths: update of rule"));
	/* a closed fd */
	bad.paths = -1;
	bad.policy = 1000000;
	assert_int_equal(bv_config_apply(&a, &bad, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "bv_policy: update: "));
	close(wrong);

	bv_config_free(&a);
	bv_config_free(&b);
	close_maps(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_policy_keys_good),
		cmocka_unit_test(test_policy_keys_bad),
		cmocka_unit_test(test_beacon_ports_methods),
		cmocka_unit_test(test_beacon_paths),
		cmocka_unit_test(test_anonymize_key),
		cmocka_unit_test(test_daemon_keys),
		cmocka_unit_test(test_overrides),
		cmocka_unit_test(test_structure_errors),
		cmocka_unit_test(test_line_numbers),
		cmocka_unit_test(test_garbage),
		cmocka_unit_test(test_file_errors),
		cmocka_unit_test(test_policy_fields),
		cmocka_unit_test(test_example_file),
		cmocka_unit_test(test_fleet_section),
		cmocka_unit_test(test_mirror_section),
		cmocka_unit_test(test_audit_section),
		cmocka_unit_test(test_apply),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
