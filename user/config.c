/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Config file (docs/CONFIG.md) and policy fields by name.
 *
 * inih parses the key = value lines (delimiters, whitespace, inline ';'
 * comments) and calls handler(). We feed it through our own line reader,
 * which also:
 *  - counts lines, so every message names the line being handled;
 *  - rejects NUL bytes, control characters and lines longer than inih's
 *    buffer (inih would silently split them into several "lines");
 *  - strips leading whitespace, so indentation is allowed and inih's
 *    multi-line continuation can never glue an indented key onto the value
 *    of the previous one; the one exception is a list value (ports,
 *    methods) ending with ',': the next indented line continues it (inih
 *    calls handler() again with the same key), so long lists fit in inih's
 *    fixed line buffer;
 *  - handles [section] lines itself: inih truncates section names to 49
 *    bytes and never reports a section without keys, and both matter here
 *    ([host:NAME] may be 68 bytes; an empty duplicate section is an error).
 * Comment lines are never handed to inih, so they may be of any length.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include <arpa/inet.h>

#include <bpf/bpf.h>
#include <ini.h>

#include "config.h"
#include "names.h"
#include "ipanon.h"
#include "redis_url.h"

int bv_config_no_batch;

/* ------------------------------------------------------------------ */
/* Small helpers                                                      */

/* s, printable and bounded, for messages: bytes outside 0x20..0x7e as \xNN. */
static const char *q(char *dst, size_t n, const char *s)
{
	size_t o = 0;
	const size_t shown = 72;

	for (size_t i = 0; s[i] && o + 5 < n; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (i == shown) {
			o += snprintf(dst + o, n - o, "...");
			break;
		}
		if (ch >= 0x20 && ch < 0x7f && ch != '\\')
			dst[o++] = (char)ch;
		else
			o += snprintf(dst + o, n - o, "\\x%02x", ch);
	}
	dst[o < n ? o : n - 1] = '\0';
	return dst;
}

#define QBUF 300

void bv_seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* Unsigned decimal, digits only (no sign, no spaces), <= max. */
static int parse_uint(const char *s, unsigned long max, unsigned long *out)
{
	unsigned long v = 0;

	if (!*s)
		return -1;
	for (; *s; s++) {
		unsigned long d = (unsigned long)(*s - '0');
		if (*s < '0' || *s > '9' || d > max)
			return -1;
		if (v > (max - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

static int parse_bool(const char *s, int *out)
{
	static const char *const yes[] = { "on", "true", "yes", "1" };
	static const char *const no[] = { "off", "false", "no", "0" };

	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (!strcasecmp(s, yes[i])) {
			*out = 1;
			return 0;
		}
		if (!strcasecmp(s, no[i])) {
			*out = 0;
			return 0;
		}
	}
	return -1;
}

/* Seconds, or a number with suffix s, m or h; 1..max seconds. */
static int parse_duration(const char *s, unsigned long max, unsigned long *out)
{
	char num[24];
	size_t n = strlen(s);
	unsigned long mul = 1, v;

	if (n == 0 || n >= sizeof(num))
		return -1;
	memcpy(num, s, n + 1);
	switch (num[n - 1]) {
	case 's': mul = 1; num[--n] = '\0'; break;
	case 'm': mul = 60; num[--n] = '\0'; break;
	case 'h': mul = 3600; num[--n] = '\0'; break;
	default: break;
	}
	if (parse_uint(num, max, &v) < 0 || v == 0 || v > max / mul)
		return -1;
	*out = v * mul;
	return 0;
}

/*
 * Next item of a comma-separated list into tok (spaces around items are
 * ignored). 1: an item, 0: end of list, -1: empty or too long item.
 */
static int next_item(const char **sp, char *tok, size_t toklen)
{
	const char *s = *sp, *b, *e;

	while (*s == ' ' || *s == '\t')
		s++;
	if (!*s)
		return 0;
	b = s;
	while (*s && *s != ',')
		s++;
	e = s;
	while (e > b && (e[-1] == ' ' || e[-1] == '\t'))
		e--;
	if (*s == ',') {
		s++;
		/* a trailing comma ends in an empty item */
		const char *t = s;
		while (*t == ' ' || *t == '\t')
			t++;
		if (!*t)
			return -1;
	}
	if (e == b || (size_t)(e - b) >= toklen)
		return -1;
	memcpy(tok, b, (size_t)(e - b));
	tok[e - b] = '\0';
	*sp = s;
	return 1;
}

/* ------------------------------------------------------------------ */
/* Policy fields                                                      */

enum ftype { F_BOOL, F_ENUM, F_RANGE };

struct pfield {
	const char *name;
	size_t off;
	enum ftype type;
	const char *const *names; /* F_ENUM: spelling of each value */
	unsigned max;             /* F_ENUM: count - 1; F_RANGE: max */
};

static const char *const ipmask_names[] = { "all", "public", "off" };
static const char *const dnt_names[] = { "anonymize", "drop" };
static const char *const dropact_names[] = { "drop", "reset" };
static const char *const level_names[] = { "user_behavior", "performance", "off" };
static const char *const unreadable_names[] = { "drop", "pass" };

#define PF(n, t, nm, mx) { #n, offsetof(struct bv_policy, n), t, nm, mx }
static const struct pfield pfields[] = {
	PF(ip_mask, F_ENUM, ipmask_names, BV_IPMASK_OFF),
	PF(ipv4_prefix, F_RANGE, NULL, 32),
	PF(ipv6_prefix, F_RANGE, NULL, 128),
	PF(respect_dnt, F_BOOL, NULL, 1),
	PF(dnt_action, F_ENUM, dnt_names, BV_DNT_DROP),
	PF(respect_gpc, F_BOOL, NULL, 1),
	PF(opt_in, F_BOOL, NULL, 1),
	PF(user_tracking, F_BOOL, NULL, 1),
	PF(honour_disabled, F_BOOL, NULL, 1),
	PF(drop_action, F_ENUM, dropact_names, BV_DROPACT_RESET),
	PF(collection_level, F_ENUM, level_names, BV_LEVEL_OFF),
	PF(crash_reports, F_BOOL, NULL, 1),
	PF(unreadable_body, F_ENUM, unreadable_names, BV_UNREADABLE_PASS),
};
#undef PF
#define NPFIELDS ((int)(sizeof(pfields) / sizeof(pfields[0])))

const char *const bv_policy_keys[] = {
	"ip_mask", "ipv4_prefix", "ipv6_prefix", "respect_dnt", "dnt_action",
	"respect_gpc", "opt_in", "user_tracking", "honour_disabled",
	"drop_action", "collection_level", "crash_reports", "unreadable_body", NULL,
};
_Static_assert(sizeof(bv_policy_keys) / sizeof(bv_policy_keys[0]) ==
	       sizeof(pfields) / sizeof(pfields[0]) + 1,
	       "bv_policy_keys and pfields out of step");

static int pfield_find(const char *key)
{
	for (int i = 0; i < NPFIELDS; i++)
		if (!strcmp(pfields[i].name, key))
			return i;
	return -1;
}

/* Parses value for field f into *v; -1 with "value '...' ..." in err. */
static int pfield_parse(const struct pfield *f, const char *value, __u8 *v,
			char *err, size_t errlen)
{
	char qb[QBUF];
	unsigned long n;
	int b;

	switch (f->type) {
	case F_BOOL:
		if (parse_bool(value, &b) == 0) {
			*v = (__u8)b;
			return 0;
		}
		bv_seterr(err, errlen, "key '%s': value '%s' is not a boolean "
		       "(on/off, true/false, yes/no, 1/0)", f->name,
		       q(qb, sizeof(qb), value));
		return -1;
	case F_ENUM:
		for (unsigned i = 0; i <= f->max; i++) {
			if (!strcasecmp(value, f->names[i])) {
				*v = (__u8)i;
				return 0;
			}
		}
		{
			char list[128] = "";
			size_t o = 0;
			for (unsigned i = 0; i <= f->max; i++)
				o += snprintf(list + o, sizeof(list) - o, "%s%s",
					      i ? ", " : "", f->names[i]);
			bv_seterr(err, errlen, "key '%s': value '%s' must be one of %s",
			       f->name, q(qb, sizeof(qb), value), list);
		}
		return -1;
	case F_RANGE:
		if (parse_uint(value, f->max, &n) == 0) {
			*v = (__u8)n;
			return 0;
		}
		bv_seterr(err, errlen, "key '%s': value '%s' out of range 0..%u",
		       f->name, q(qb, sizeof(qb), value), f->max);
		return -1;
	}
	return -1;
}

int bv_policy_set_field(struct bv_policy *p, const char *key, const char *value,
			char *err, size_t errlen)
{
	char qb[QBUF];
	int i;
	__u8 v;

	if (!p || !key || !value) {
		bv_seterr(err, errlen, "missing policy key or value");
		return -1;
	}
	i = pfield_find(key);
	if (i < 0) {
		bv_seterr(err, errlen, "key '%s': unknown policy key", q(qb, sizeof(qb), key));
		return -1;
	}
	if (pfield_parse(&pfields[i], value, &v, err, errlen) < 0)
		return -1;
	((__u8 *)p)[pfields[i].off] = v;
	return 0;
}

int bv_policy_get_field(const struct bv_policy *p, const char *key, char *out,
			size_t outlen)
{
	const struct pfield *f;
	int i, n;
	__u8 v;

	if (!p || !key || !out || !outlen)
		return -1;
	i = pfield_find(key);
	if (i < 0)
		return -1;
	f = &pfields[i];
	v = ((const __u8 *)p)[f->off];
	if (f->type == F_BOOL && v <= 1)
		n = snprintf(out, outlen, "%s", v ? "on" : "off");
	else if (f->type == F_ENUM && v <= f->max)
		n = snprintf(out, outlen, "%s", f->names[v]);
	else
		n = snprintf(out, outlen, "%u", v);
	return n < 0 || (size_t)n >= outlen ? -1 : 0;
}

/* ------------------------------------------------------------------ */
/* Defaults                                                           */

static void path_rule(struct bv_path_rule *r, __u8 kind, const char *pat, __u8 crash)
{
	size_t n = strlen(pat);

	memset(r, 0, sizeof(*r));
	r->kind = kind;
	r->len = (__u8)n;
	r->crash_report = crash;
	memcpy(r->pat, pat, n);
}

void bv_config_defaults(struct bv_config *c)
{
	memset(c, 0, sizeof(*c));
	bv_policy_defaults(&c->global);
	c->settings.methods = BV_M_GET | BV_M_POST;
	c->ports[0] = 80;
	c->ports[1] = 8080;
	c->nports = 2;
	c->vxlan_ports[0] = 4789;   /* IANA */
	c->nvxlan = 1;
	c->geneve_ports[0] = 6081;  /* IANA */
	c->ngeneve = 1;
	path_rule(&c->paths[0], BV_PATH_SEG_PREFIX, "rb_", 0);
	path_rule(&c->paths[1], BV_PATH_EXACT_OR_ID, "/bf", 0);
	path_rule(&c->paths[2], BV_PATH_EXACT_OR_ID, "/mbeacon", 0); /* mobile agents */
	c->npaths = 3;
	c->apps = NULL;
	c->napps = 0;
	snprintf(c->metrics_addr, sizeof(c->metrics_addr), "127.0.0.1:9477");
	c->session_timeout_s = 30 * 60;
	c->k_anonymity = 10;
	c->max_flows = 65536;
	c->key_rotation_s = 24 * 3600;
	c->fleet_visitor_lifetime_s = 48 * 3600;
	bv_names_defaults(&c->names);
}

void bv_config_free(struct bv_config *c)
{
	if (!c)
		return;
	free(c->apps);
	bv_config_defaults(c);
}

/* ------------------------------------------------------------------ */
/* The parser                                                         */

enum sect { S_NONE, S_GLOBAL, S_BEACON, S_ANONYMIZE, S_DAEMON, S_FLEET, S_MIRROR, S_AUDIT, S_NAMES, S_APP };
static const char *const sect_names[] = {
	[S_GLOBAL] = "global", [S_BEACON] = "beacon",
	[S_ANONYMIZE] = "anonymize", [S_DAEMON] = "daemon", [S_FLEET] = "fleet",
	[S_MIRROR] = "mirror", [S_AUDIT] = "audit", [S_NAMES] = "names",
};

static const char *const beacon_keys[] = { "ports", "methods", "path", "crash_path", NULL };
static const char *const anon_keys[] = { "key", "other_requests", "ip_anon", "ip_anon_key", NULL };
static const char *const daemon_keys[] = {
	"metrics", "session_timeout", "k_anonymity", "max_flows", "key_rotation", NULL,
};
static const char *const fleet_keys[] = { "redis", "visitor_lifetime", NULL };
static const char *const mirror_keys[] = { "vxlan_ports", "geneve_ports", NULL };
static const char *const audit_keys[] = { "enabled", "require_secure", "rvcl", "ports", NULL };

struct ovr {
	struct bv_app_key key;
	struct bv_policy pol;  /* only the fields in set are meaningful */
	unsigned set;          /* bit per pfields index */
	int line;
};

struct pctx {
	const char *path;
	char *err;
	size_t errlen;
	int failed;
	/* reader */
	const char *buf;
	size_t len, pos;
	int line;
	/* current section */
	enum sect sect;
	int cur;               /* S_APP: index in ovr */
	unsigned seen;         /* keys given in the current section */
	char sname[80];        /* for messages */
	int sect_line[S_APP];  /* line of each fixed section, 0 = not yet */
	/* results */
	struct bv_config *c;
	struct ovr *ovr;
	int novr, capovr;
	struct bv_path_rule up[BV_MAX_PATHS], cp[BV_MAX_PATHS];
	int nup, ncp;
	int cp_line[BV_MAX_PATHS];
	/* list values (ports, methods) continued on indented lines */
	int cont;              /* the line being handled continues a list */
	int list_open;         /* the last list value ended with ',' */
	int list_line;         /* ... on this line */
	char list_key[16];
	int redis_line;        /* [fleet] redis given on this line */
};

static void failf(struct pctx *x, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void failf(struct pctx *x, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (x->failed)
		return;
	x->failed = 1;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	bv_seterr(x->err, x->errlen, "%s:%d: %s", x->path, x->line, msg);
}

/* ASCII only, whatever the locale */
static int alnum(unsigned char ch)
{
	return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z');
}

static int app_id_ok(const char *s, size_t n)
{
	if (n < 1 || n >= BV_APPKEY_LEN)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!alnum((unsigned char)s[i]) && s[i] != '.' && s[i] != '_' && s[i] != '-')
			return 0;
	return 1;
}

/* Host names: letters, digits, '-', '_', dot-separated non-empty labels. */
static int host_ok(const char *s, size_t n)
{
	if (n < 1 || n >= BV_APPKEY_LEN)
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (ch == '.') {
			if (i == 0 || i == n - 1 || s[i - 1] == '.')
				return 0;
		} else if (!alnum(ch) && ch != '-' && ch != '_') {
			return 0;
		}
	}
	return s[0] != '-' && s[n - 1] != '-';
}

int bv_app_key_make(struct bv_app_key *k, int kind, const char *name, char *err, size_t errlen)
{
	char qb[QBUF];
	size_t n = name ? strlen(name) : 0;

	memset(k, 0, sizeof(*k));
	if (kind == BV_APPKEY_APP) {
		if (!app_id_ok(name, n)) {
			bv_seterr(err, errlen, "application id '%s': must be 1..%d bytes of "
			       "A-Z a-z 0-9 . _ -", q(qb, sizeof(qb), name ? name : ""),
			       BV_APPKEY_LEN - 1);
			return -1;
		}
		memcpy(k->id, name, n);
	} else if (kind == BV_APPKEY_HOST) {
		if (!host_ok(name, n)) {
			bv_seterr(err, errlen, "host '%s': must be 1..%d bytes of A-Z a-z 0-9 - _ "
			       "in dot-separated labels, without a port",
			       q(qb, sizeof(qb), name ? name : ""), BV_APPKEY_LEN - 1);
			return -1;
		}
		for (size_t i = 0; i < n; i++)
			k->id[i] = name[i] >= 'A' && name[i] <= 'Z' ? (char)(name[i] - 'A' + 'a')
								    : name[i];
	} else {
		bv_seterr(err, errlen, "invalid application key kind %d", kind);
		return -1;
	}
	k->kind = (__u8)kind;
	k->len = (__u8)n;
	return 0;
}

/* A "[...]" line (p..p+n, stripped); 0 ok, -1 failed. */
static int section_line(struct pctx *x, const char *p, size_t n)
{
	char qb[QBUF], name[256];
	const char *e = memchr(p, ']', n), *b = p + 1, *t;
	size_t len;

	if (!e) {
		failf(x, "section header without closing ']'");
		return -1;
	}
	for (t = e + 1; t < p + n && (*t == ' ' || *t == '\t'); t++)
		;
	if (t < p + n && *t != ';' && *t != '#') {
		failf(x, "unexpected text after section header");
		return -1;
	}
	while (b < e && (*b == ' ' || *b == '\t'))
		b++;
	while (e > b && (e[-1] == ' ' || e[-1] == '\t'))
		e--;
	len = (size_t)(e - b);
	if (len >= sizeof(name))
		len = sizeof(name) - 1;
	memcpy(name, b, len);
	name[len] = '\0';
	q(x->sname, sizeof(x->sname), name);
	x->seen = 0;

	for (int s = S_GLOBAL; s < S_APP; s++) {
		if (strcmp(name, sect_names[s]))
			continue;
		if (x->sect_line[s]) {
			failf(x, "duplicate section [%s] (first at line %d)", name,
			      x->sect_line[s]);
			return -1;
		}
		x->sect_line[s] = x->line;
		x->sect = (enum sect)s;
		return 0;
	}

	struct bv_app_key key;
	memset(&key, 0, sizeof(key));
	if (!strncmp(name, "app:", 4)) {
		const char *id = name + 4;
		size_t il = strlen(id);
		if (!app_id_ok(id, il)) {
			failf(x, "section [%s]: application id must be 1..%d bytes of "
			      "A-Z a-z 0-9 . _ -", x->sname, BV_APPKEY_LEN - 1);
			return -1;
		}
		key.kind = BV_APPKEY_APP;
		key.len = (__u8)il;
		memcpy(key.id, id, il);
	} else if (!strncmp(name, "host:", 5)) {
		const char *h = name + 5;
		size_t hl = strlen(h);
		const char *colon = strchr(h, ':');
		if (colon && host_ok(h, (size_t)(colon - h))) {
			failf(x, "section [%s]: give the host without a port (the "
			      "policy applies to the host on every beacon port)", x->sname);
			return -1;
		}
		if (!host_ok(h, hl)) {
			failf(x, "section [%s]: host must be 1..%d bytes of A-Z a-z 0-9 - _ "
			      "in dot-separated labels", x->sname, BV_APPKEY_LEN - 1);
			return -1;
		}
		key.kind = BV_APPKEY_HOST;
		key.len = (__u8)hl;
		for (size_t i = 0; i < hl; i++)
			key.id[i] = h[i] >= 'A' && h[i] <= 'Z' ? (char)(h[i] - 'A' + 'a') : h[i];
	} else {
		failf(x, "unknown section [%s] (expected global, beacon, anonymize, "
		      "daemon, fleet, mirror, audit, names, app:ID or host:NAME)", q(qb, sizeof(qb), name));
		return -1;
	}

	for (int i = 0; i < x->novr; i++) {
		if (!memcmp(&x->ovr[i].key, &key, sizeof(key))) {
			failf(x, "duplicate section [%s] (first at line %d%s)", x->sname,
			      x->ovr[i].line, key.kind == BV_APPKEY_HOST ?
			      "; host names are compared case-insensitively" : "");
			return -1;
		}
	}
	if (x->novr >= BV_CONFIG_MAX_APPS) {
		failf(x, "section [%s]: too many app/host sections (max %d)",
		      x->sname, BV_CONFIG_MAX_APPS);
		return -1;
	}
	if (x->novr == x->capovr) {
		int cap = x->capovr ? x->capovr * 2 : 16;
		struct ovr *o = realloc(x->ovr, (size_t)cap * sizeof(*o));
		if (!o) {
			failf(x, "out of memory");
			return -1;
		}
		x->ovr = o;
		x->capovr = cap;
	}
	memset(&x->ovr[x->novr], 0, sizeof(x->ovr[0]));
	x->ovr[x->novr].key = key;
	x->ovr[x->novr].line = x->line;
	x->cur = x->novr++;
	x->sect = S_APP;
	return 0;
}

/* A list value ended with ',' but no continuation line followed. */
static int list_unfinished(struct pctx *x)
{
	if (!x->list_open)
		return 0;
	x->line = x->list_line;
	failf(x, "key '%s': value ends with ',' but no indented continuation "
	      "line follows", x->list_key);
	return 1;
}

/* fgets-like reader for ini_parse_stream(); see the top of the file. */
static char *reader(char *str, int num, void *stream)
{
	struct pctx *x = stream;
	const char *p, *nl;
	size_t n;

	x->cont = 0;
	if (x->failed)
		return NULL;
	if (x->pos >= x->len) {
		list_unfinished(x);
		return NULL;
	}
	if (x->pos == 0 && x->len >= 3 && !memcmp(x->buf, "\xef\xbb\xbf", 3))
		x->pos = 3; /* UTF-8 byte order mark */
	p = x->buf + x->pos;
	nl = memchr(p, '\n', x->len - x->pos);
	n = nl ? (size_t)(nl - p) : x->len - x->pos;
	x->pos += n + (nl ? 1 : 0);
	x->line++;

	if (n && p[n - 1] == '\r')
		n--;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)p[i];
		if (ch == 0) {
			failf(x, "NUL byte in line (not a text file?)");
			return NULL;
		}
		if ((ch < 0x20 && ch != '\t') || ch == 0x7f) {
			failf(x, "control character 0x%02x in line (not a text file?)", ch);
			return NULL;
		}
	}
	const char *line = p;
	while (n && (*p == ' ' || *p == '\t'))
		p++, n--;
	while (n && (p[n - 1] == ' ' || p[n - 1] == '\t'))
		n--;

	str[0] = '\0';
	if (n == 0 || *p == '#' || *p == ';')
		return str;
	if (x->list_open && p > line && *p != '[') {
		/* continuation of a list: keep one space of indentation for inih;
		 * inih does not strip inline comments from these, so do it here */
		for (size_t i = 1; i < n; i++) {
			if (p[i] == ';' && (p[i - 1] == ' ' || p[i - 1] == '\t')) {
				n = i;
				break;
			}
		}
		while (n && (p[n - 1] == ' ' || p[n - 1] == '\t'))
			n--;
		if (num < 5 || n > (size_t)num - 4) {
			failf(x, "line too long (%zu bytes; at most %d)", n + 1,
			      num > 3 ? num - 3 : 0);
			return NULL;
		}
		x->cont = 1;
		str[0] = ' ';
		memcpy(str + 1, p, n);
		str[n + 1] = '\0';
		return str;
	}
	if (list_unfinished(x))
		return NULL;
	if (*p == '[')
		return section_line(x, p, n) < 0 ? NULL : str;
	if (num < 4 || n > (size_t)num - 3) {
		failf(x, "line too long (%zu bytes; at most %d)", n, num > 3 ? num - 3 : 0);
		return NULL;
	}
	if (!memchr(p, '=', n) && !memchr(p, ':', n)) {
		failf(x, "expected 'key = value', '[section]' or a comment");
		return NULL;
	}
	memcpy(str, p, n);
	str[n] = '\0';
	return str;
}

static int key_index(const char *const *keys, const char *name)
{
	for (int i = 0; keys[i]; i++)
		if (!strcmp(keys[i], name))
			return i;
	return -1;
}

/* "KIND:PATTERN" of [beacon] path / crash_path. */
static int parse_path(struct pctx *x, const char *name, const char *value,
		      struct bv_path_rule *r)
{
	static const char *const kinds[] = {
		[BV_PATH_SEG_PREFIX] = "seg_prefix", [BV_PATH_EXACT_OR_ID] = "exact_or_id",
		[BV_PATH_PREFIX] = "prefix", [BV_PATH_EXACT] = "exact",
	};
	char qb[QBUF], kind[32];
	const char *colon = strchr(value, ':'), *pat;
	size_t kl, pl;
	int k = 0;

	if (!colon) {
		failf(x, "key '%s': value '%s' must be KIND:PATTERN (KIND: seg_prefix, "
		      "exact_or_id, prefix, exact)", name, q(qb, sizeof(qb), value));
		return -1;
	}
	kl = (size_t)(colon - value);
	while (kl && (value[kl - 1] == ' ' || value[kl - 1] == '\t'))
		kl--;
	if (kl < sizeof(kind)) {
		memcpy(kind, value, kl);
		kind[kl] = '\0';
		for (int i = BV_PATH_SEG_PREFIX; i <= BV_PATH_EXACT; i++)
			if (!strcmp(kind, kinds[i]))
				k = i;
	}
	if (!k) {
		failf(x, "key '%s': value '%s': unknown kind (expected seg_prefix, "
		      "exact_or_id, prefix or exact)", name, q(qb, sizeof(qb), value));
		return -1;
	}
	pat = colon + 1;
	while (*pat == ' ' || *pat == '\t')
		pat++;
	pl = strlen(pat);
	if (pl < 1 || pl > BV_PATH_LEN - 1) {
		failf(x, "key '%s': value '%s': pattern must be 1..%d bytes", name,
		      q(qb, sizeof(qb), value), BV_PATH_LEN - 1);
		return -1;
	}
	for (size_t i = 0; i < pl; i++) {
		unsigned char ch = (unsigned char)pat[i];
		if (ch <= 0x20 || ch >= 0x7f || ch == '?' || ch == '#') {
			failf(x, "key '%s': value '%s': pattern must be printable ASCII "
			      "without spaces, '?' or '#' (rules match the path, not "
			      "the query)", name, q(qb, sizeof(qb), value));
			return -1;
		}
	}
	if (k == BV_PATH_SEG_PREFIX && strchr(pat, '/')) {
		failf(x, "key '%s': value '%s': a seg_prefix pattern matches within "
		      "the last path segment and cannot contain '/'", name,
		      q(qb, sizeof(qb), value));
		return -1;
	}
	if (k != BV_PATH_SEG_PREFIX && pat[0] != '/') {
		failf(x, "key '%s': value '%s': a %s pattern must start with '/'",
		      name, q(qb, sizeof(qb), value), kinds[k]);
		return -1;
	}
	path_rule(r, (__u8)k, pat, !strcmp(name, "crash_path"));
	return 0;
}

static int beacon_key(struct pctx *x, const char *name, const char *value)
{
	static const struct { const char *n; __u32 bit; } methods[] = {
		{ "GET", BV_M_GET }, { "POST", BV_M_POST }, { "PUT", BV_M_PUT },
		{ "HEAD", BV_M_HEAD }, { "OPTIONS", BV_M_OPTIONS },
		{ "PATCH", BV_M_PATCH }, { "DELETE", BV_M_DELETE },
	};
	struct bv_config *c = x->c;
	char qb[QBUF], qt[QBUF], tok[32];
	const char *s = value;
	int r;

	if (!strcmp(name, "ports") || !strcmp(name, "methods")) {
		int ports = name[0] == 'p', open = 0, any = 0;
		char list[256];
		size_t l = strlen(value);

		/* a trailing ',' continues the list on the next indented line */
		if (l >= sizeof(list))
			l = sizeof(list) - 1;
		memcpy(list, value, l);
		list[l] = '\0';
		if (l && list[l - 1] == ',') {
			open = 1;
			list[--l] = '\0';
			while (l && (list[l - 1] == ' ' || list[l - 1] == '\t'))
				list[--l] = '\0';
		}
		if (!x->cont) {
			if (ports)
				c->nports = 0;
			else
				c->settings.methods = 0;
		}
		s = list;
		while ((r = next_item(&s, tok, sizeof(tok))) > 0) {
			any = 1;
			if (ports) {
				unsigned long v;
				if (parse_uint(tok, 65535, &v) < 0 || v == 0) {
					failf(x, "key 'ports': value '%s': '%s' is not a port "
					      "1..65535", q(qb, sizeof(qb), value),
					      q(qt, sizeof(qt), tok));
					return -1;
				}
				for (int i = 0; i < c->nports; i++) {
					if (c->ports[i] == v) {
						failf(x, "key 'ports': value '%s': port %lu "
						      "listed twice", q(qb, sizeof(qb), value), v);
						return -1;
					}
				}
				if (c->nports == BV_CONFIG_MAX_PORTS) {
					failf(x, "key 'ports': too many ports (max %d)",
					      BV_CONFIG_MAX_PORTS);
					return -1;
				}
				c->ports[c->nports++] = (__u16)v;
			} else {
				__u32 bit = 0;
				for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
					if (!strcasecmp(tok, methods[i].n))
						bit = methods[i].bit;
				if (!bit) {
					failf(x, "key 'methods': value '%s': unknown method '%s' "
					      "(GET, POST, PUT, HEAD, OPTIONS, PATCH, DELETE)",
					      q(qb, sizeof(qb), value), q(qt, sizeof(qt), tok));
					return -1;
				}
				if (c->settings.methods & bit) {
					failf(x, "key 'methods': value '%s': method '%s' listed "
					      "twice", q(qb, sizeof(qb), value),
					      q(qt, sizeof(qt), tok));
					return -1;
				}
				c->settings.methods |= bit;
			}
		}
		if (r < 0 || !any) {
			if (ports)
				failf(x, "key 'ports': value '%s' must be a comma-separated "
				      "list of ports 1..65535", q(qb, sizeof(qb), value));
			else
				failf(x, "key 'methods': value '%s' must be a comma-separated "
				      "list of GET, POST, PUT, HEAD, OPTIONS, PATCH, DELETE",
				      q(qb, sizeof(qb), value));
			return -1;
		}
		x->list_open = open;
		x->list_line = x->line;
		snprintf(x->list_key, sizeof(x->list_key), "%s", name);
		return 0;
	}
	/* path / crash_path */
	struct bv_path_rule rule;
	int crash = !strcmp(name, "crash_path");
	if (parse_path(x, name, value, &rule) < 0)
		return -1;
	for (int i = 0; i < x->nup + x->ncp; i++) {
		const struct bv_path_rule *o = i < x->nup ? &x->up[i] : &x->cp[i - x->nup];
		if (!memcmp(o, &rule, sizeof(rule))) {
			failf(x, "key '%s': value '%s': the same rule is given twice",
			      name, q(qb, sizeof(qb), value));
			return -1;
		}
	}
	if (x->nup + x->ncp >= BV_MAX_PATHS) {
		failf(x, "key '%s': too many path rules (max %d for path and "
		      "crash_path together)", name, BV_MAX_PATHS);
		return -1;
	}
	if (crash) {
		x->cp_line[x->ncp] = x->line;
		x->cp[x->ncp++] = rule;
	} else {
		x->up[x->nup++] = rule;
	}
	return 0;
}

static int hexval(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* ip_anon_key: the 32-byte Crypto-PAn key, 64 hex digits. */
static int ip_anon_key(struct pctx *x, const char *value)
{
	char qb[QBUF];
	unsigned char k[32];
	int nz = 0;

	if (strlen(value) != 64)
		goto bad;
	for (int i = 0; i < 32; i++) {
		int hi = hexval(value[2 * i]), lo = hexval(value[2 * i + 1]);

		if (hi < 0 || lo < 0)
			goto bad;
		k[i] = (unsigned char)(hi << 4 | lo);
		nz |= k[i];
	}
	if (!nz) {
		failf(x, "key 'ip_anon_key': the all-zero key is reserved (it means: no "
		      "key configured, one is derived from [anonymize] key)");
		return -1;
	}
	memcpy(x->c->ip_anon_key, k, sizeof(k));
	x->c->ip_anon_key_set = 1;
	return 0;
bad:
	failf(x, "key 'ip_anon_key': value '%s' must be exactly 64 hex digits (256 bits)",
	      q(qb, sizeof(qb), value));
	return -1;
}

static int anon_key(struct pctx *x, const char *value)
{
	char qb[QBUF];
	__u64 k[2] = { 0, 0 };

	if (strlen(value) != 32)
		goto bad;
	for (int i = 0; i < 32; i++) {
		int h = hexval(value[i]);
		if (h < 0)
			goto bad;
		k[i / 16] = (k[i / 16] << 4) | (__u64)h;
	}
	if (!k[0] && !k[1]) {
		failf(x, "key 'key': the all-zero key is reserved (it means: no key "
		      "configured, the daemon picks a random one)");
		return -1;
	}
	x->c->settings.anon_key[0] = k[0];
	x->c->settings.anon_key[1] = k[1];
	return 0;
bad:
	failf(x, "key 'key': value '%s' must be exactly 32 hex digits (128 bits)",
	      q(qb, sizeof(qb), value));
	return -1;
}

static int metrics_addr(struct pctx *x, const char *value)
{
	char qb[QBUF], host[64];
	const char *colon;
	unsigned char a[16];
	unsigned long port;
	size_t hl;
	int fam;

	if (strlen(value) >= sizeof(x->c->metrics_addr))
		goto bad;
	if (value[0] == '[') {
		const char *e = strchr(value, ']');
		if (!e || e[1] != ':')
			goto bad;
		hl = (size_t)(e - value - 1);
		memcpy(host, value + 1, hl);
		host[hl] = '\0';
		colon = e + 1;
		fam = AF_INET6;
	} else {
		colon = strrchr(value, ':');
		if (!colon)
			goto bad;
		hl = (size_t)(colon - value);
		memcpy(host, value, hl);
		host[hl] = '\0';
		fam = AF_INET;
	}
	if (inet_pton(fam, host, a) != 1)
		goto bad;
	if (parse_uint(colon + 1, 65535, &port) < 0 || port == 0)
		goto bad;
	snprintf(x->c->metrics_addr, sizeof(x->c->metrics_addr), "%s", value);
	return 0;
bad:
	failf(x, "key 'metrics': value '%s' must be IPv4:PORT or [IPv6]:PORT "
	      "(numeric address, port 1..65535)", q(qb, sizeof(qb), value));
	return -1;
}

static int daemon_key(struct pctx *x, const char *name, const char *value)
{
	struct bv_config *c = x->c;
	char qb[QBUF];
	unsigned long v;

	if (!strcmp(name, "metrics"))
		return metrics_addr(x, value);
	if (!strcmp(name, "session_timeout") || !strcmp(name, "key_rotation")) {
		if (parse_duration(value, 86400, &v) < 0) {
			failf(x, "key '%s': value '%s' must be a duration 1s..24h "
			      "(seconds, or a number with suffix s, m or h)", name,
			      q(qb, sizeof(qb), value));
			return -1;
		}
		if (name[0] == 's')
			c->session_timeout_s = (unsigned)v;
		else
			c->key_rotation_s = (unsigned)v;
		return 0;
	}
	if (!strcmp(name, "k_anonymity")) {
		if (parse_uint(value, 1000000, &v) < 0 || v < 1) {
			failf(x, "key 'k_anonymity': value '%s' out of range 1..1000000",
			      q(qb, sizeof(qb), value));
			return -1;
		}
		c->k_anonymity = (unsigned)v;
		return 0;
	}
	/* max_flows */
	if (parse_uint(value, 16777216, &v) < 0 || v < 1024) {
		failf(x, "key 'max_flows': value '%s' out of range 1024..16777216",
		      q(qb, sizeof(qb), value));
		return -1;
	}
	c->max_flows = (unsigned)v;
	return 0;
}

static int fleet_key(struct pctx *x, const char *name, const char *value)
{
	struct bv_redis_url u;
	char qb[QBUF], why[160];
	unsigned long v;

	if (!strcmp(name, "visitor_lifetime")) {
		if (parse_duration(value, 48 * 3600, &v) < 0) {
			failf(x, "key 'visitor_lifetime': value '%s' must be a duration 1s..48h "
			      "(seconds, or a number with suffix s, m or h)", q(qb, sizeof(qb), value));
			return -1;
		}
		x->c->fleet_visitor_lifetime_s = (unsigned)v;
		return 0;
	}
	/* redis: the value may hold a password, so it is never echoed */
	if (strlen(value) >= sizeof(x->c->fleet_redis) ||
	    bv_redis_url_parse(value, &u, why, sizeof(why))) {
		failf(x, "key 'redis': %s", strlen(value) >= sizeof(x->c->fleet_redis) ?
		      "URL too long" : why);
		return -1;
	}
	memset(&u, 0, sizeof(u));
	x->redis_line = x->line;
	snprintf(x->c->fleet_redis, sizeof(x->c->fleet_redis), "%s", value);
	return 0;
}

/* [mirror] vxlan_ports / geneve_ports: a list of UDP ports, or 0 (or
 * nothing) for none. */
static int mirror_key(struct pctx *x, const char *name, const char *value)
{
	struct bv_config *c = x->c;
	int vx = name[0] == 'v', zero = 0, r;
	__u16 *ports = vx ? c->vxlan_ports : c->geneve_ports;
	int *n = vx ? &c->nvxlan : &c->ngeneve;
	char qb[QBUF], tok[32];
	const char *s = value;
	unsigned long v;

	*n = 0;
	while ((r = next_item(&s, tok, sizeof(tok))) > 0) {
		if (parse_uint(tok, 65535, &v) < 0) {
			r = -1;
			break;
		}
		if (v == 0) {
			zero = 1;
			continue;
		}
		for (int i = 0; i < *n; i++) {
			if (ports[i] == v) {
				failf(x, "key '%s': value '%s': port %lu listed twice", name,
				      q(qb, sizeof(qb), value), v);
				return -1;
			}
		}
		if (*n == BV_CONFIG_MAX_TUNNEL_PORTS) {
			failf(x, "key '%s': too many ports (max %d)", name,
			      BV_CONFIG_MAX_TUNNEL_PORTS);
			return -1;
		}
		ports[(*n)++] = (__u16)v;
	}
	if (r < 0 || (zero && *n)) {
		failf(x, "key '%s': value '%s' must be a comma-separated list of UDP ports "
		      "1..65535, or 0 (or nothing) for none", name, q(qb, sizeof(qb), value));
		return -1;
	}
	return 0;
}

/* [audit]: the Set-Cookie audit of mirror/pcap mode (docs/AUDIT.md). */
static int audit_key(struct pctx *x, const char *name, const char *value)
{
	struct bv_config *c = x->c;
	char qb[QBUF], qt[QBUF], tok[32];
	unsigned long v;
	int b, r, any = 0;
	const char *s = value;

	if (!strcmp(name, "enabled") || !strcmp(name, "require_secure")) {
		__u32 bit = name[0] == 'e' ? BV_SETF_AUDIT : BV_SETF_AUDIT_SECURE;

		if (parse_bool(value, &b)) {
			failf(x, "key '%s': value '%s' is not a boolean (on/off, true/false, "
			      "yes/no, 1/0)", name, q(qb, sizeof(qb), value));
			return -1;
		}
		if (b)
			c->settings.flags |= bit;
		else
			c->settings.flags &= ~bit;
		return 0;
	}
	if (!strcmp(name, "rvcl")) {
		if (parse_uint(value, BV_RVCL_MAX, &v) < 0 || v < 1) {
			failf(x, "key 'rvcl': value '%s' must be a number of months 1..%d "
			      "(the rxVisitor lifetime limit)", q(qb, sizeof(qb), value),
			      BV_RVCL_MAX);
			return -1;
		}
		c->settings.flags = (c->settings.flags & ~BV_SETF_RVCL_MASK) |
				    ((__u32)v << BV_SETF_RVCL_SHIFT);
		return 0;
	}
	/* ports: server ports audited besides the beacon ports, one line */
	c->naudit_ports = 0;
	while ((r = next_item(&s, tok, sizeof(tok))) > 0) {
		any = 1;
		if (parse_uint(tok, 65535, &v) < 0 || v == 0) {
			failf(x, "key 'ports': value '%s': '%s' is not a port 1..65535",
			      q(qb, sizeof(qb), value), q(qt, sizeof(qt), tok));
			return -1;
		}
		for (int i = 0; i < c->naudit_ports; i++)
			if (c->audit_ports[i] == v) {
				failf(x, "key 'ports': value '%s': port %lu listed twice",
				      q(qb, sizeof(qb), value), v);
				return -1;
			}
		if (c->naudit_ports == BV_CONFIG_MAX_PORTS) {
			failf(x, "key 'ports': too many ports (max %d)", BV_CONFIG_MAX_PORTS);
			return -1;
		}
		c->audit_ports[c->naudit_ports++] = (__u16)v;
	}
	if (r < 0 || !any) {
		failf(x, "key 'ports': value '%s' must be a comma-separated list of ports "
		      "1..65535", q(qb, sizeof(qb), value));
		return -1;
	}
	return 0;
}

static int handler(void *user, const char *section, const char *name, const char *value)
{
	struct pctx *x = user;
	const char *const *keys = NULL;
	char qb[QBUF], msg[512];
	int ki, repeatable = 0;

	(void)section; /* tracked by reader(): inih truncates long names */
	if (x->failed)
		return 0;
	switch (x->sect) {
	case S_NONE:
		failf(x, "key '%s' before any [section]", q(qb, sizeof(qb), name));
		return 0;
	case S_GLOBAL:
	case S_APP:
		keys = bv_policy_keys;
		break;
	case S_BEACON:
		keys = beacon_keys;
		break;
	case S_ANONYMIZE:
		keys = anon_keys;
		break;
	case S_DAEMON:
		keys = daemon_keys;
		break;
	case S_FLEET:
		keys = fleet_keys;
		break;
	case S_MIRROR:
		keys = mirror_keys;
		break;
	case S_NAMES:
		keys = bv_names_keys;
		break;
	case S_AUDIT:
		keys = audit_keys;
		break;
	}
	ki = key_index(keys, name);
	if (ki < 0) {
		failf(x, "key '%s': unknown key in section [%s]", q(qb, sizeof(qb), name),
		      x->sname);
		return 0;
	}
	if (x->sect == S_BEACON && (!strcmp(name, "path") || !strcmp(name, "crash_path")))
		repeatable = 1;
	if (!repeatable && !x->cont && (x->seen & (1u << ki))) {
		failf(x, "key '%s': given twice in section [%s]", name, x->sname);
		return 0;
	}
	x->seen |= 1u << ki;
	x->list_open = 0;

	switch (x->sect) {
	case S_GLOBAL:
		if (bv_policy_set_field(&x->c->global, name, value, msg, sizeof(msg)) < 0)
			failf(x, "%s", msg);
		break;
	case S_APP:
		if (bv_policy_set_field(&x->ovr[x->cur].pol, name, value, msg, sizeof(msg)) < 0)
			failf(x, "%s", msg);
		x->ovr[x->cur].set |= 1u << ki;
		break;
	case S_BEACON:
		beacon_key(x, name, value);
		break;
	case S_ANONYMIZE:
		if (!strcmp(name, "key")) {
			anon_key(x, value);
		} else if (!strcmp(name, "ip_anon")) {
			char qb2[QBUF];

			if (!strcasecmp(value, "truncate"))
				x->c->ip_anon = BV_IPANON_TRUNCATE;
			else if (!strcasecmp(value, "prefix_preserving"))
				x->c->ip_anon = BV_IPANON_PREFIX_PRESERVING;
			else
				failf(x, "key 'ip_anon': value '%s' is not one of truncate, "
				      "prefix_preserving", q(qb2, sizeof(qb2), value));
		} else if (!strcmp(name, "ip_anon_key")) {
			ip_anon_key(x, value);
		} else {
			/* other_requests: on (mask them too, the default) or off */
			int b;

			if (parse_bool(value, &b)) {
				char qb2[QBUF];

				failf(x, "key 'other_requests': value '%s' is not a boolean "
				      "(on/off, true/false, yes/no, 1/0)", q(qb2, sizeof(qb2), value));
				break;
			}
			if (b)
				x->c->settings.flags &= ~(__u32)BV_SETF_KEEP_OTHER_REQUESTS;
			else
				x->c->settings.flags |= BV_SETF_KEEP_OTHER_REQUESTS;
		}
		break;
	case S_DAEMON:
		daemon_key(x, name, value);
		break;
	case S_FLEET:
		fleet_key(x, name, value);
		break;
	case S_MIRROR:
		mirror_key(x, name, value);
		break;
	case S_NAMES:
		if (bv_names_set(&x->c->names, name, value, msg, sizeof(msg)) < 0)
			failf(x, "%s", msg);
		break;
	case S_AUDIT:
		audit_key(x, name, value);
		break;
	case S_NONE:
		break;
	}
	return !x->failed;
}

/* After the whole file: path rules and overrides against the final [global]. */
static int resolve(struct pctx *x)
{
	struct bv_config *c = x->c;
	const struct bv_path_rule *up = x->up;
	int nup = x->nup, n = 0;

	if (x->sect_line[S_NAMES]) {
		char msg[400];

		if (bv_names_check(&c->names, msg, sizeof(msg)) < 0) {
			x->line = x->sect_line[S_NAMES];
			failf(x, "%s", msg);
			return -1;
		}
	}
	/* Fleet key periods are named by their start in the UTC day. */
	if (c->fleet_redis[0] && 86400 % c->key_rotation_s) {
		x->line = x->redis_line;
		failf(x, "key 'redis': with a fleet, [daemon] key_rotation (%us) must divide 24h "
		      "(e.g. 1h, 6h, 24h) so that every node cuts the day into the same periods",
		      c->key_rotation_s);
		return -1;
	}
	/* one decapsulation per port: the two headers cannot be told apart */
	for (int i = 0; i < c->nvxlan; i++) {
		for (int j = 0; j < c->ngeneve; j++) {
			if (c->vxlan_ports[i] == c->geneve_ports[j]) {
				x->line = x->sect_line[S_MIRROR];
				failf(x, "port %u is in both vxlan_ports and geneve_ports",
				      c->vxlan_ports[i]);
				return -1;
			}
		}
	}
	if (!nup) {
		up = c->paths; /* still the defaults */
		nup = c->npaths;
	}
	if (x->ncp + nup > BV_MAX_PATHS) {
		x->line = x->cp_line[BV_MAX_PATHS - nup];
		failf(x, "key 'crash_path': too many path rules (max %d, the %d default "
		      "path rules included; give 'path' to replace them)", BV_MAX_PATHS, nup);
		return -1;
	}
	/* crash rules first: a request matching both kinds is a crash report */
	struct bv_path_rule paths[BV_MAX_PATHS];
	memset(paths, 0, sizeof(paths));
	for (int i = 0; i < x->ncp; i++)
		paths[n++] = x->cp[i];
	for (int i = 0; i < nup; i++)
		paths[n++] = up[i];
	memcpy(c->paths, paths, sizeof(paths));
	c->npaths = n;

	if (x->novr) {
		c->apps = calloc((size_t)x->novr, sizeof(*c->apps));
		if (!c->apps) {
			bv_seterr(x->err, x->errlen, "%s: out of memory", x->path);
			return -1;
		}
	}
	for (int i = 0; i < x->novr; i++) {
		struct bv_config_app *a = &c->apps[i];
		a->key = x->ovr[i].key;
		a->pol = c->global;
		for (int f = 0; f < NPFIELDS; f++)
			if (x->ovr[i].set & (1u << f))
				((__u8 *)&a->pol)[pfields[f].off] =
					((const __u8 *)&x->ovr[i].pol)[pfields[f].off];
	}
	c->napps = x->novr;
	return 0;
}

static int read_file(const char *path, char **bufp, size_t *lenp, char *err, size_t errlen)
{
	size_t cap = 4096, len = 0;
	struct stat st;
	char *buf;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		bv_seterr(err, errlen, "%s: cannot open: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
		bv_seterr(err, errlen, "%s: cannot read: %s", path, strerror(EISDIR));
		close(fd);
		return -1;
	}
	buf = malloc(cap);
	if (!buf)
		goto oom;
	for (;;) {
		ssize_t r;
		if (len == cap) {
			char *nb;
			if (cap > BV_CONFIG_MAX_FILE) {
				bv_seterr(err, errlen, "%s: larger than %d bytes; not a config file?",
				       path, BV_CONFIG_MAX_FILE);
				free(buf);
				close(fd);
				return -1;
			}
			nb = realloc(buf, cap * 2);
			if (!nb)
				goto oom;
			buf = nb;
			cap *= 2;
		}
		r = read(fd, buf + len, cap - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			bv_seterr(err, errlen, "%s: cannot read: %s", path, strerror(errno));
			free(buf);
			close(fd);
			return -1;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	close(fd);
	if (len > BV_CONFIG_MAX_FILE) {
		bv_seterr(err, errlen, "%s: larger than %d bytes; not a config file?",
		       path, BV_CONFIG_MAX_FILE);
		free(buf);
		return -1;
	}
	*bufp = buf;
	*lenp = len;
	return 0;
oom:
	bv_seterr(err, errlen, "%s: out of memory", path);
	free(buf);
	close(fd);
	return -1;
}

int bv_config_load(struct bv_config *c, const char *path, char *err, size_t errlen)
{
	struct bv_config nc;
	struct pctx *x;
	char *buf = NULL;
	size_t len = 0;
	int r, ret = -1;

	bv_config_defaults(c);
	if (err && errlen)
		err[0] = '\0';
	if (!path) {
		bv_seterr(err, errlen, "no config file given");
		return -1;
	}
	if (read_file(path, &buf, &len, err, errlen) < 0)
		return -1;
	x = calloc(1, sizeof(*x));
	if (!x) {
		bv_seterr(err, errlen, "%s: out of memory", path);
		free(buf);
		return -1;
	}
	bv_config_defaults(&nc);
	x->path = path;
	x->err = err;
	x->errlen = errlen;
	x->buf = buf;
	x->len = len;
	x->c = &nc;

	r = ini_parse_stream(reader, x, handler, x);
	if (x->failed) {
		/* message already set */
	} else if (r > 0) {
		x->line = r;
		failf(x, "syntax error (expected 'key = value', '[section]' or a comment)");
	} else if (r < 0) {
		bv_seterr(err, errlen, "%s: parser error %d", path, r);
	} else if (resolve(x) == 0) {
		*c = nc;
		ret = 0;
	}
	if (ret < 0)
		free(nc.apps);
	free(x->ovr);
	free(x);
	free(buf);
	return ret;
}

/* ------------------------------------------------------------------ */
/* Writing the maps                                                   */

static int apply_ports(const struct bv_config *c, int fd, char *err, size_t errlen)
{
	const __u32 n = 65536;
	__u32 *keys = malloc(n * sizeof(*keys));
	__u8 *vals = calloc(n, 1);
	int ret = -1;

	if (!keys || !vals) {
		bv_seterr(err, errlen, "bv_ports: out of memory");
		goto out;
	}
	for (__u32 i = 0; i < n; i++)
		keys[i] = i;
	for (int i = 0; i < c->nports; i++)
		vals[c->ports[i]] |= BV_PORT_BEACON;
	for (int i = 0; i < c->nvxlan; i++)
		vals[c->vxlan_ports[i]] |= BV_PORT_VXLAN;
	for (int i = 0; i < c->ngeneve; i++)
		vals[c->geneve_ports[i]] |= BV_PORT_GENEVE;
	for (int i = 0; i < c->naudit_ports; i++)
		vals[c->audit_ports[i]] |= BV_PORT_AUDIT;

	if (!bv_config_no_batch) {
		LIBBPF_OPTS(bpf_map_batch_opts, opts, .elem_flags = 0, .flags = 0);
		__u32 count = n;
		if (bpf_map_update_batch(fd, keys, vals, &count, &opts) == 0 && count == n) {
			ret = 0;
			goto out;
		}
		/* old kernel or odd map: fall back to one update per port */
	}
	for (__u32 i = 0; i < n; i++) {
		if (bpf_map_update_elem(fd, &keys[i], &vals[i], BPF_ANY) < 0) {
			bv_seterr(err, errlen, "bv_ports: update of port %u: %s", i,
			       strerror(errno));
			goto out;
		}
	}
	ret = 0;
out:
	free(keys);
	free(vals);
	return ret;
}

static int apply_apppol(const struct bv_config *c, int fd, char *err, size_t errlen)
{
	struct bv_app_key k, next, *stale = NULL;
	const struct bv_app_key *prev = NULL;
	size_t nstale = 0, cap = 0;
	int ret = -1;

	for (int i = 0; i < c->napps; i++) {
		if (bpf_map_update_elem(fd, &c->apps[i].key, &c->apps[i].pol, BPF_ANY) < 0) {
			bv_seterr(err, errlen, "bv_apppol: update of '%.*s': %s",
			       (int)c->apps[i].key.len, c->apps[i].key.id, strerror(errno));
			return -1;
		}
	}
	/* collect first, delete after: deleting while walking a hash restarts it */
	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		int keep = 0;
		for (int i = 0; i < c->napps && !keep; i++)
			keep = !memcmp(&c->apps[i].key, &next, sizeof(next));
		if (!keep) {
			if (nstale == cap) {
				size_t nc = cap ? cap * 2 : 64;
				struct bv_app_key *s = realloc(stale, nc * sizeof(*s));
				if (!s) {
					bv_seterr(err, errlen, "bv_apppol: out of memory");
					goto out;
				}
				stale = s;
				cap = nc;
			}
			stale[nstale++] = next;
		}
		k = next;
		prev = &k;
	}
	if (errno != ENOENT) {
		bv_seterr(err, errlen, "bv_apppol: walking keys: %s", strerror(errno));
		goto out;
	}
	for (size_t i = 0; i < nstale; i++) {
		if (bpf_map_delete_elem(fd, &stale[i]) < 0 && errno != ENOENT) {
			bv_seterr(err, errlen, "bv_apppol: delete: %s", strerror(errno));
			goto out;
		}
	}
	ret = 0;
out:
	free(stale);
	return ret;
}

int bv_config_apply(const struct bv_config *c, const struct bv_map_fds *fds,
		    char *err, size_t errlen)
{
	struct bv_settings st;
	__u32 zero = 0;

	if (!c || !fds) {
		bv_seterr(err, errlen, "bv_config_apply: no config or map fds");
		return -1;
	}
	st = c->settings;
	if (c->nvxlan || c->ngeneve)
		st.flags |= BV_SETF_DECAP;
	if (fds->settings >= 0 &&
	    bpf_map_update_elem(fds->settings, &zero, &st, BPF_ANY) < 0) {
		bv_seterr(err, errlen, "bv_settings: update: %s", strerror(errno));
		return -1;
	}
	if (fds->paths >= 0) {
		for (__u32 i = 0; i < BV_MAX_PATHS; i++) {
			struct bv_path_rule r;
			if ((int)i < c->npaths)
				r = c->paths[i];
			else
				memset(&r, 0, sizeof(r));
			if (bpf_map_update_elem(fds->paths, &i, &r, BPF_ANY) < 0) {
				bv_seterr(err, errlen, "bv_paths: update of rule %u: %s", i,
				       strerror(errno));
				return -1;
			}
		}
	}
	if (fds->ports >= 0 && apply_ports(c, fds->ports, err, errlen) < 0)
		return -1;
	if (fds->policy >= 0 &&
	    bpf_map_update_elem(fds->policy, &zero, &c->global, BPF_ANY) < 0) {
		bv_seterr(err, errlen, "bv_policy: update: %s", strerror(errno));
		return -1;
	}
	if (fds->apppol >= 0 && apply_apppol(c, fds->apppol, err, errlen) < 0)
		return -1;
	if (bv_names_apply(&c->names, fds->names, fds->namefilt, err, errlen) < 0)
		return -1;
	if (fds->ipanon >= 0) {
		unsigned char key[32];

		if (c->ip_anon_key_set)
			memcpy(key, c->ip_anon_key, sizeof(key));
		else
			bv_ipanon_derive(c->settings.anon_key, key);
		if (bv_ipanon_write(fds->ipanon, c->ip_anon == BV_IPANON_PREFIX_PRESERVING,
				    key) < 0) {
			bv_seterr(err, errlen, "bv_ipanon: update: %s", strerror(errno));
			return -1;
		}
	}
	return 0;
}
