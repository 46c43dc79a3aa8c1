/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * libFuzzer target for the config parser, bv_config_load() (user/config.c),
 * on hostile files: binary garbage, NULs, huge lines, duplicate keys and
 * sections, files over the 1 MiB limit (an input starting with 0xff 0xNN is
 * its rest repeated to (NN + 1) * 8 KiB). Built with ASan and UBSan.
 *
 * Invariants:
 *  C1 the result is 0 or -1; the message is NUL-terminated within errlen,
 *     printable ASCII, and starts with the file name ("FILE:LINE: ..." or
 *     "FILE: ..."); a failed load leaves the defaults; a short errlen (1, 8)
 *     or no buffer at all is safe;
 *  C2 a loaded config is in range: policy fields (global and every
 *     override), methods, ports (1..64 distinct non-zero), path rules (kind,
 *     length, printable pattern without space/?/#, '/'-rules start with '/',
 *     seg_prefix without '/', crash rules first), application keys (kind,
 *     length, zero padding, allowed characters, no duplicates), metrics
 *     address, durations, k, max_flows;
 *  C3 loading is deterministic, and a loaded config written back out as a
 *     file (every key explicit) loads to exactly the same config;
 *  C4 every policy field reads back (bv_policy_get_field) as a value
 *     bv_policy_set_field accepts and that gives the same byte.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "config.h"

static int fd_in = -1, fd_rt = -1;
static unsigned long long n_ok, n_err, n_big, n_apps;

static void summary(void)
{
	fprintf(stderr, "beaconveil-fuzz-config summary: %llu files loaded (written back and "
		"reloaded identically; %llu with overrides), %llu rejected with a message, "
		"%llu over the size limit\n", n_ok, n_apps, n_err, n_big);
}
static char path_in[64], path_rt[64];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fd_in = memfd_create("bv-fuzz-config", MFD_CLOEXEC);
	fd_rt = memfd_create("bv-fuzz-config-rt", MFD_CLOEXEC);
	if (fd_in < 0 || fd_rt < 0) {
		perror("memfd_create");
		exit(1);
	}
	snprintf(path_in, sizeof(path_in), "/proc/self/fd/%d", fd_in);
	snprintf(path_rt, sizeof(path_rt), "/proc/self/fd/%d", fd_rt);
	atexit(summary);
	return 0;
}

static const uint8_t *cur_data;
static size_t cur_len;

static void fail(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
static void fail(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "\nbeaconveil-fuzz-config: INVARIANT VIOLATED: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n  (input of %zu bytes)\n", cur_len);
	abort();
}

static void put_file(int fd, const void *d, size_t n)
{
	const char *p = d;

	if (ftruncate(fd, 0))
		fail("ftruncate: %m");
	while (n) {
		ssize_t w = pwrite(fd, p, n, p - (const char *)d);

		if (w <= 0)
			fail("pwrite: %m");
		p += w;
		n -= (size_t)w;
	}
}

/* ---- C2 ------------------------------------------------------------------ */

static void check_policy(const struct bv_policy *p, const char *who)
{
	if (p->valid != 1)
		fail("%s: valid = %u", who, p->valid);
	if (p->ip_mask > BV_IPMASK_OFF || p->ipv4_prefix > 32 || p->ipv6_prefix > 128 ||
	    p->respect_dnt > 1 || p->dnt_action > BV_DNT_DROP || p->respect_gpc > 1 ||
	    p->opt_in > 1 || p->user_tracking > 1 || p->honour_disabled > 1 ||
	    p->drop_action > BV_DROPACT_RESET || p->collection_level > BV_LEVEL_OFF ||
	    p->crash_reports > 1 || p->unreadable_body > BV_UNREADABLE_PASS)
		fail("%s: a field out of range", who);
	if (p->_pad[0] || p->_pad[1])
		fail("%s: padding not zero", who);
	/* C4 */
	for (int i = 0; bv_policy_keys[i]; i++) {
		char v[64], err[256];
		struct bv_policy q = *p;

		if (bv_policy_get_field(p, bv_policy_keys[i], v, sizeof(v)))
			fail("%s: bv_policy_get_field(%s) failed", who, bv_policy_keys[i]);
		memset(&q, 0xee, sizeof(q));
		q = *p;
		if (bv_policy_set_field(&q, bv_policy_keys[i], v, err, sizeof(err)))
			fail("%s: '%s = %s' read back is refused: %s", who, bv_policy_keys[i], v, err);
		if (memcmp(&q, p, sizeof(q)))
			fail("%s: '%s = %s' does not round-trip", who, bv_policy_keys[i], v);
	}
}

static int rule_char_ok(char ch)
{
	return (unsigned char)ch > 0x20 && (unsigned char)ch < 0x7f && ch != '?' && ch != '#';
}

static void check_config(const struct bv_config *c)
{
	unsigned char a[16];
	char host[64];
	int seen_plain = 0;

	check_policy(&c->global, "[global]");
	if (!c->settings.methods || (c->settings.methods & ~0x7fu))
		fail("methods = %#x", c->settings.methods);
	if (c->settings.flags & ~(__u32)(BV_SETF_KEEP_OTHER_REQUESTS | BV_SETF_AUDIT |
					 BV_SETF_AUDIT_SECURE | BV_SETF_RVCL_MASK))
		fail("settings flags %#x: a bit no key sets", c->settings.flags);
	if (((c->settings.flags & BV_SETF_RVCL_MASK) >> BV_SETF_RVCL_SHIFT) > BV_RVCL_MAX)
		fail("rvcl %u months", (c->settings.flags & BV_SETF_RVCL_MASK) >> BV_SETF_RVCL_SHIFT);
	if (c->naudit_ports < 0 || c->naudit_ports > BV_CONFIG_MAX_PORTS)
		fail("naudit_ports = %d", c->naudit_ports);
	for (int i = 0; i < c->naudit_ports; i++) {
		if (!c->audit_ports[i])
			fail("audit port 0 configured");
		for (int j = 0; j < i; j++)
			if (c->audit_ports[i] == c->audit_ports[j])
				fail("audit port %u twice", c->audit_ports[i]);
	}
	if (c->nports < 1 || c->nports > BV_CONFIG_MAX_PORTS)
		fail("nports = %d", c->nports);
	for (int i = 0; i < c->nports; i++) {
		if (!c->ports[i])
			fail("port 0 configured");
		for (int j = 0; j < i; j++)
			if (c->ports[i] == c->ports[j])
				fail("port %u twice", c->ports[i]);
	}
	if (c->nvxlan < 0 || c->nvxlan > BV_CONFIG_MAX_TUNNEL_PORTS ||
	    c->ngeneve < 0 || c->ngeneve > BV_CONFIG_MAX_TUNNEL_PORTS)
		fail("nvxlan = %d, ngeneve = %d", c->nvxlan, c->ngeneve);
	for (int i = 0; i < c->nvxlan + c->ngeneve; i++) {
		__u16 p = i < c->nvxlan ? c->vxlan_ports[i] : c->geneve_ports[i - c->nvxlan];

		if (!p)
			fail("tunnel port 0 configured");
		for (int j = 0; j < i; j++)
			if (p == (j < c->nvxlan ? c->vxlan_ports[j] : c->geneve_ports[j - c->nvxlan]))
				fail("tunnel port %u twice", p);
	}
	if (c->npaths < 1 || c->npaths > BV_MAX_PATHS)
		fail("npaths = %d", c->npaths);
	for (int i = 0; i < BV_MAX_PATHS; i++) {
		const struct bv_path_rule *r = &c->paths[i];

		if (i >= c->npaths) {
			static const struct bv_path_rule zero;

			if (memcmp(r, &zero, sizeof(zero)))
				fail("unused path rule %d not zero", i);
			continue;
		}
		if (r->kind < BV_PATH_SEG_PREFIX || r->kind > BV_PATH_EXACT)
			fail("path rule %d: kind %u", i, r->kind);
		if (r->len < 1 || r->len > BV_PATH_LEN - 1)
			fail("path rule %d: len %u", i, r->len);
		for (int k = 0; k < BV_PATH_LEN; k++) {
			if (k < r->len && !rule_char_ok(r->pat[k]))
				fail("path rule %d: byte %#x in the pattern", i, (unsigned char)r->pat[k]);
			if (k >= r->len && r->pat[k])
				fail("path rule %d: pattern not zero padded", i);
		}
		if (r->kind == BV_PATH_SEG_PREFIX && memchr(r->pat, '/', r->len))
			fail("path rule %d: seg_prefix with '/'", i);
		if (r->kind != BV_PATH_SEG_PREFIX && r->pat[0] != '/')
			fail("path rule %d: does not start with '/'", i);
		if (r->crash_report > 1 || r->_pad)
			fail("path rule %d: crash_report %u pad %u", i, r->crash_report, r->_pad);
		if (!r->crash_report)
			seen_plain = 1;
		else if (seen_plain)
			fail("path rule %d: a crash rule after a plain rule", i);
	}
	if (c->napps < 0 || c->napps > BV_CONFIG_MAX_APPS || (c->napps && !c->apps))
		fail("napps = %d", c->napps);
	for (int i = 0; i < c->napps; i++) {
		const struct bv_app_key *k = &c->apps[i].key;
		char who[96];

		snprintf(who, sizeof(who), "override %d", i);
		check_policy(&c->apps[i].pol, who);
		if ((k->kind != BV_APPKEY_APP && k->kind != BV_APPKEY_HOST) || k->len < 1 ||
		    k->len >= BV_APPKEY_LEN || k->_pad[0] || k->_pad[1])
			fail("%s: key kind %u len %u", who, k->kind, k->len);
		for (int j = 0; j < BV_APPKEY_LEN; j++) {
			char ch = k->id[j];

			if (j >= k->len) {
				if (ch)
					fail("%s: key not zero padded", who);
				continue;
			}
			if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') ||
			      (ch >= 'A' && ch <= 'Z' && k->kind == BV_APPKEY_APP) ||
			      ch == '.' || ch == '_' || ch == '-'))
				fail("%s: byte %#x in the key", who, (unsigned char)ch);
		}
		for (int j = 0; j < i; j++)
			if (!memcmp(k, &c->apps[j].key, sizeof(*k)))
				fail("%s: same key as override %d", who, j);
	}
	if (!memchr(c->metrics_addr, 0, sizeof(c->metrics_addr)))
		fail("metrics_addr not terminated");
	if (c->metrics_addr[0] == '[') {
		const char *e = strchr(c->metrics_addr, ']');
		size_t hl = e ? (size_t)(e - c->metrics_addr - 1) : 0;

		if (!e || e[1] != ':' || hl >= sizeof(host))
			fail("metrics_addr '%s'", c->metrics_addr);
		memcpy(host, c->metrics_addr + 1, hl);
		host[hl] = 0;
		if (inet_pton(AF_INET6, host, a) != 1)
			fail("metrics_addr '%s'", c->metrics_addr);
	} else {
		const char *e = strrchr(c->metrics_addr, ':');
		size_t hl = e ? (size_t)(e - c->metrics_addr) : 0;

		if (!e || hl >= sizeof(host))
			fail("metrics_addr '%s'", c->metrics_addr);
		memcpy(host, c->metrics_addr, hl);
		host[hl] = 0;
		if (inet_pton(AF_INET, host, a) != 1)
			fail("metrics_addr '%s'", c->metrics_addr);
	}
	if (c->session_timeout_s < 1 || c->session_timeout_s > 86400 ||
	    c->key_rotation_s < 1 || c->key_rotation_s > 86400 ||
	    c->k_anonymity < 1 || c->k_anonymity > 1000000 ||
	    c->max_flows < 1024 || c->max_flows > 16777216)
		fail("a [daemon] value out of range");
}

/* ---- C3 ------------------------------------------------------------------ */

static int same_config(const struct bv_config *x, const struct bv_config *y)
{
	if (memcmp(&x->global, &y->global, sizeof(x->global)) ||
	    memcmp(&x->settings, &y->settings, sizeof(x->settings)) || x->nports != y->nports ||
	    memcmp(x->ports, y->ports, (size_t)x->nports * sizeof(x->ports[0])) ||
	    x->npaths != y->npaths || memcmp(x->paths, y->paths, sizeof(x->paths)) ||
	    x->napps != y->napps || strcmp(x->metrics_addr, y->metrics_addr) ||
	    x->session_timeout_s != y->session_timeout_s || x->k_anonymity != y->k_anonymity ||
	    x->max_flows != y->max_flows || x->key_rotation_s != y->key_rotation_s ||
	    x->nvxlan != y->nvxlan || x->ngeneve != y->ngeneve ||
	    memcmp(x->vxlan_ports, y->vxlan_ports, (size_t)x->nvxlan * sizeof(x->vxlan_ports[0])) ||
	    memcmp(x->geneve_ports, y->geneve_ports, (size_t)x->ngeneve * sizeof(x->geneve_ports[0])) ||
	    x->naudit_ports != y->naudit_ports ||
	    memcmp(x->audit_ports, y->audit_ports, (size_t)x->naudit_ports * sizeof(x->audit_ports[0])))
		return 0;
	for (int i = 0; i < x->napps; i++)
		if (memcmp(&x->apps[i], &y->apps[i], sizeof(x->apps[i])))
			return 0;
	return 1;
}

struct sbuf {
	char *p;
	size_t n, cap;
};

static void sb(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	int k;

	if (!b->p) {
		b->cap = 4096;
		b->p = malloc(b->cap);
		if (!b->p)
			fail("out of memory");
	}
	for (;;) {
		va_start(ap, fmt);
		k = vsnprintf(b->p + b->n, b->cap - b->n, fmt, ap);
		va_end(ap);
		if (k < 0)
			fail("vsnprintf");
		if ((size_t)k < b->cap - b->n)
			break;
		b->cap = b->cap * 2 + (size_t)k + 64;
		b->p = realloc(b->p, b->cap);
		if (!b->p)
			fail("out of memory");
	}
	b->n += (size_t)k;
}

static void write_policy(struct sbuf *b, const struct bv_policy *p)
{
	for (int i = 0; bv_policy_keys[i]; i++) {
		char v[64];

		bv_policy_get_field(p, bv_policy_keys[i], v, sizeof(v));
		sb(b, "%s = %s\n", bv_policy_keys[i], v);
	}
}

static void serialize(const struct bv_config *c, struct sbuf *b)
{
	static const char *const kinds[] = { "", "seg_prefix", "exact_or_id", "prefix", "exact" };
	static const char *const meth[] = { "GET", "POST", "PUT", "HEAD", "OPTIONS", "PATCH", "DELETE" };
	int first = 1;

	sb(b, "# written back by fuzz_config\n[global]\n");
	write_policy(b, &c->global);
	sb(b, "[beacon]\nports =");
	for (int i = 0; i < c->nports; i++)
		sb(b, "%s %u%s", i && i % 8 == 0 ? "\n   " : "", c->ports[i],
		   i + 1 < c->nports ? "," : "\n");
	sb(b, "methods =");
	for (int i = 0; i < 7; i++)
		if (c->settings.methods & (1u << i)) {
			sb(b, "%s %s", first ? "" : ",", meth[i]);
			first = 0;
		}
	sb(b, "\n");
	for (int i = 0; i < c->npaths; i++)
		sb(b, "%s = %s:%.*s\n", c->paths[i].crash_report ? "crash_path" : "path",
		   kinds[c->paths[i].kind], (int)c->paths[i].len, c->paths[i].pat);
	sb(b, "[anonymize]\n");
	if (c->settings.anon_key[0] || c->settings.anon_key[1])
		sb(b, "key = %016llx%016llx\n", (unsigned long long)c->settings.anon_key[0],
		   (unsigned long long)c->settings.anon_key[1]);
	sb(b, "other_requests = %s\n",
	   (c->settings.flags & BV_SETF_KEEP_OTHER_REQUESTS) ? "off" : "on");
	sb(b, "[daemon]\nmetrics = %s\nsession_timeout = %us\nk_anonymity = %u\n"
	   "max_flows = %u\nkey_rotation = %us\n", c->metrics_addr, c->session_timeout_s,
	   c->k_anonymity, c->max_flows, c->key_rotation_s);
	sb(b, "[mirror]\nvxlan_ports =%s", c->nvxlan ? "" : " 0");
	for (int i = 0; i < c->nvxlan; i++)
		sb(b, "%s %u", i ? "," : "", c->vxlan_ports[i]);
	sb(b, "\ngeneve_ports =%s", c->ngeneve ? "" : "");
	for (int i = 0; i < c->ngeneve; i++)
		sb(b, "%s %u", i ? "," : "", c->geneve_ports[i]);
	sb(b, "\n");
	sb(b, "[audit]\nenabled = %s\nrequire_secure = %s\n",
	   (c->settings.flags & BV_SETF_AUDIT) ? "on" : "off",
	   (c->settings.flags & BV_SETF_AUDIT_SECURE) ? "on" : "off");
	if (c->settings.flags & BV_SETF_RVCL_MASK)
		sb(b, "rvcl = %u\n", (c->settings.flags & BV_SETF_RVCL_MASK) >> BV_SETF_RVCL_SHIFT);
	for (int i = 0; i < c->naudit_ports; i++)
		sb(b, "%s%u%s", i ? " " : "ports = ", c->audit_ports[i],
		   i + 1 < c->naudit_ports ? "," : "\n");
	for (int i = 0; i < c->napps; i++) {
		sb(b, "[%s:%.*s]\n", c->apps[i].key.kind == BV_APPKEY_APP ? "app" : "host",
		   (int)c->apps[i].key.len, c->apps[i].key.id);
		write_policy(b, &c->apps[i].pol);
	}
}

/* ---- C1 ------------------------------------------------------------------ */

static void check_msg(const char *err, size_t errlen, const char *path, int r)
{
	size_t n = strnlen(err, errlen), pl = strlen(path);

	if (n >= errlen)
		fail("message not NUL-terminated within %zu bytes", errlen);
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)err[i] < 0x20 || (unsigned char)err[i] > 0x7e)
			fail("message byte %zu is %#x: \"%s\"", i, (unsigned char)err[i], err);
	if (r < 0 && errlen > pl + 2 && (strncmp(err, path, pl) || err[pl] != ':'))
		fail("message does not start with the file name: \"%s\"", err);
	if (r < 0 && !n && errlen > 1)
		fail("failed without a message");
}

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	static char *big;
	struct bv_config c, c2, defs;
	char err[1024], small[8], one[1];
	int r, r2;

	cur_data = d;
	cur_len = n;
	if (n >= 3 && d[0] == 0xff) {
		size_t want = ((size_t)d[1] + 1) * 8192, unit = n - 2, k = 0;

		if (!big && !(big = malloc(257 * 8192)))
			fail("out of memory");
		while (k < want) {
			size_t m = want - k < unit ? want - k : unit;

			memcpy(big + k, d + 2, m);
			k += m;
		}
		put_file(fd_in, big, want);
		n_big += want > BV_CONFIG_MAX_FILE;
	} else {
		put_file(fd_in, d, n);
	}

	memset(err, 'x', sizeof(err));
	r = bv_config_load(&c, path_in, err, sizeof(err));
	if (r != 0 && r != -1)
		fail("bv_config_load returned %d", r);
	check_msg(err, sizeof(err), path_in, r);
	bv_config_defaults(&defs);
	if (r < 0)
		n_err++;
	else
		n_ok++, n_apps += c.napps > 0;
	if (r < 0) {
		if (!same_config(&c, &defs) || c.apps)
			fail("a failed load did not leave the defaults: %s", err);
	} else {
		struct sbuf b = { 0 };

		check_config(&c);
		/* deterministic */
		r2 = bv_config_load(&c2, path_in, err, sizeof(err));
		if (r2 != 0 || !same_config(&c, &c2))
			fail("the same file loaded twice gives different results");
		bv_config_free(&c2);
		/* written back and loaded again: the same config */
		serialize(&c, &b);
		put_file(fd_rt, b.p, b.n);
		r2 = bv_config_load(&c2, path_rt, err, sizeof(err));
		if (r2 != 0) {
			fprintf(stderr, "%.*s", (int)b.n, b.p);
			fail("the config written back is refused: %s", err);
		}
		if (!same_config(&c, &c2)) {
			fprintf(stderr, "%.*s", (int)b.n, b.p);
			fail("the config written back loads differently");
		}
		bv_config_free(&c2);
		free(b.p);
	}
	bv_config_free(&c);
	if (c.apps || !same_config(&c, &defs))
		fail("bv_config_free did not leave the defaults");

	/* short and missing message buffers */
	memset(small, 'x', sizeof(small));
	r2 = bv_config_load(&c2, path_in, small, sizeof(small));
	if (r2 != r)
		fail("result depends on errlen (%d vs %d)", r2, r);
	check_msg(small, sizeof(small), path_in, r2);
	bv_config_free(&c2);
	one[0] = 'x';
	r2 = bv_config_load(&c2, path_in, one, sizeof(one));
	if (r2 != r || one[0])
		fail("errlen 1: result %d, message byte %#x", r2, (unsigned char)one[0]);
	bv_config_free(&c2);
	r2 = bv_config_load(&c2, path_in, NULL, 0);
	if (r2 != r)
		fail("no message buffer: result %d vs %d", r2, r);
	bv_config_free(&c2);
	return 0;
}
