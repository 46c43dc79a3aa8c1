/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* [names]: the scanner's names as data; see names.h and docs/CONFIG.md. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <bpf/bpf.h>

#include "config.h"
#include "names.h"

struct name_key_def {
	const char *key;
	__u8 where;
	__u16 role;
	const char *defaults;
};

/* One config key per role and place, with Dynatrace's names as defaults. */
static const struct name_key_def defs[] = {
	{ "client_ip_headers", BV_NAME_HEADER, BV_ROLE_CLIENT_IP,
	  "x-forwarded-for, x-real-ip, true-client-ip, x-client-ip" },
	{ "forwarded_headers", BV_NAME_HEADER, BV_ROLE_FORWARDED, "forwarded" },
	{ "dnt_headers", BV_NAME_HEADER, BV_ROLE_DNT, "dnt" },
	{ "gpc_headers", BV_NAME_HEADER, BV_ROLE_GPC, "sec-gpc" },
	{ "app_key_headers", BV_NAME_HEADER, BV_ROLE_APP_KEY, "host" },
	{ "consent_cookies", BV_NAME_COOKIE, BV_ROLE_CONSENT, "dtCookie" },
	{ "session_cookies", BV_NAME_COOKIE, BV_ROLE_SESSION, "dtCookie" },
	{ "visitor_cookies", BV_NAME_COOKIE, BV_ROLE_VISITOR, "rxVisitor" },
	{ "visitor_pc_cookies", BV_NAME_COOKIE, BV_ROLE_VISITOR_PC, "dtPC" },
	{ "disabled_cookies", BV_NAME_COOKIE, BV_ROLE_DISABLED, "dtDisabled" },
	{ "visitor_params", BV_NAME_QUERY, BV_ROLE_VISITOR, "vi" },
	{ "session_params", BV_NAME_QUERY, BV_ROLE_SESSION, "sn, si" },
	{ "device_session_params", BV_NAME_QUERY, BV_ROLE_DEVICE_SESSION, "si" },
	{ "app_key_params", BV_NAME_QUERY, BV_ROLE_APP_KEY, "app, ai" },
	{ "client_ip_body_keys", BV_NAME_BODY, BV_ROLE_CLIENT_IP, "ip" },
	{ "visitor_body_keys", BV_NAME_BODY, BV_ROLE_VISITOR, "vi" },
	{ "session_body_keys", BV_NAME_BODY, BV_ROLE_SESSION, "sn" },
	{ "user_tag_body_keys", BV_NAME_BODY, BV_ROLE_USER_TAG, "na" },
};
#define NDEFS (sizeof(defs) / sizeof(defs[0]))

const char *const bv_names_keys[NDEFS + 1] = {
	"client_ip_headers", "forwarded_headers", "dnt_headers", "gpc_headers",
	"app_key_headers", "consent_cookies", "session_cookies", "visitor_cookies",
	"visitor_pc_cookies", "disabled_cookies", "visitor_params", "session_params",
	"device_session_params", "app_key_params", "client_ip_body_keys",
	"visitor_body_keys", "session_body_keys", "user_tag_body_keys", NULL,
};

static const char *const where_names[BV_NAME_WHERE_MAX] = {
	[BV_NAME_HEADER] = "header", [BV_NAME_COOKIE] = "cookie",
	[BV_NAME_QUERY] = "query key", [BV_NAME_BODY] = "body key",
};

static const char *const role_names[] = {
	"client_ip", "forwarded", "dnt", "gpc", "app_key", "consent", "session",
	"visitor", "visitor_pc", "disabled", "user_tag", "device_session",
};

/* Names that frame the request: HTTP's and the beacon protocols' own. */
static const char *const fixed_headers[] = {
	"cookie", "content-length", "transfer-encoding", "content-encoding", NULL,
};
static const char *const fixed_query[] = { "type", NULL };
static const char *const fixed_body[] = { "et", "dl", "cl", NULL };

void bv_names_roles_str(unsigned roles, char *buf, size_t len)
{
	size_t used = 0;

	if (len)
		buf[0] = 0;
	for (unsigned i = 0; i < sizeof(role_names) / sizeof(role_names[0]); i++) {
		if (!(roles & (1u << i)))
			continue;
		int w = snprintf(buf + used, used < len ? len - used : 0, "%s%s", used ? ", " : "",
				 role_names[i]);
		if (w > 0)
			used += (size_t)w;
	}
}

static const struct name_key_def *def_of(const char *key)
{
	for (size_t i = 0; i < NDEFS; i++)
		if (!strcmp(defs[i].key, key))
			return &defs[i];
	return NULL;
}

/* RFC 9110 tchar */
static int tchar(unsigned char ch)
{
	return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	       (ch && strchr("!#$%&'*+-.^_`|~", ch));
}

static int in_list(const char *const *l, const char *s, size_t n)
{
	for (; *l; l++)
		if (strlen(*l) == n && !memcmp(*l, s, n))
			return 1;
	return 0;
}

/* One name of a list: checked, and lower-cased for a header. */
static int name_make(struct bv_name_key *k, __u8 where, const char *s, size_t n, const char *key,
		     char *err, size_t errlen)
{
	memset(k, 0, sizeof(*k));
	if (n < 1 || n > BV_NAME_LEN) {
		bv_seterr(err, errlen, "key '%s': name '%.*s' must be 1..%d bytes", key, (int)n, s,
		       BV_NAME_LEN);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];
		int ok = where == BV_NAME_HEADER || where == BV_NAME_COOKIE
				 ? tchar(ch)
				 : (ch > 0x20 && ch < 0x7f && !strchr("=&#%?;+\"", ch));

		if (!ok) {
			bv_seterr(err, errlen, "key '%s': name '%.*s': character '%c' is not allowed in "
			       "a %s", key, (int)n, s, ch >= 0x20 && ch < 0x7f ? ch : '?',
			       where_names[where]);
			return -1;
		}
		k->name[i] = where == BV_NAME_HEADER && ch >= 'A' && ch <= 'Z' ? (char)(ch + 32)
									     : (char)ch;
	}
	if (where == BV_NAME_COOKIE) {
		char last = s[n - 1];

		/* the environment suffix would eat it (dtCookie1234 is dtCookie) */
		if (n < 2 || (last >= '0' && last <= '9') || last == '_') {
			bv_seterr(err, errlen, "key '%s': cookie name '%.*s' must be 2 or more bytes "
			       "and not end in a digit or '_' (those are the optional "
			       "environment suffix)", key, (int)n, s);
			return -1;
		}
	}
	if ((where == BV_NAME_HEADER && in_list(fixed_headers, k->name, n)) ||
	    (where == BV_NAME_QUERY && in_list(fixed_query, k->name, n)) ||
	    (where == BV_NAME_BODY && in_list(fixed_body, k->name, n))) {
		bv_seterr(err, errlen, "key '%s': '%.*s' frames the request and cannot be given a "
		       "role", key, (int)n, s);
		return -1;
	}
	k->where = where;
	k->len = (__u8)n;
	return 0;
}

static int find(const struct bv_names_cfg *c, const struct bv_name_key *k)
{
	for (int i = 0; i < c->n; i++)
		if (!memcmp(&c->key[i], k, sizeof(*k)))
			return i;
	return -1;
}

/* Drops the entries left without a role. */
static void compact(struct bv_names_cfg *c)
{
	int j = 0;

	for (int i = 0; i < c->n; i++) {
		if (!c->val[i].roles)
			continue;
		c->key[j] = c->key[i];
		c->val[j] = c->val[i];
		j++;
	}
	c->n = j;
}

static int set_list(struct bv_names_cfg *c, const struct name_key_def *d, const char *value,
		    char *err, size_t errlen)
{
	const char *p = value;

	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == '+')
		p++;
	else
		for (int i = 0; i < c->n; i++)
			if (c->key[i].where == d->where)
				c->val[i].roles &= (__u16)~d->role;
	for (;;) {
		struct bv_name_key k;
		const char *s;
		size_t n;
		int i;

		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if (!*p)
			break;
		s = p;
		while (*p && *p != ',' && *p != ' ' && *p != '\t')
			p++;
		n = (size_t)(p - s);
		if (name_make(&k, d->where, s, n, d->key, err, errlen))
			return -1;
		i = find(c, &k);
		if (i < 0) {
			if (c->n >= BV_MAX_NAMES) {
				bv_seterr(err, errlen, "key '%s': more than %d names in [names]", d->key,
				       BV_MAX_NAMES);
				return -1;
			}
			i = c->n++;
			c->key[i] = k;
			c->val[i].roles = 0;
			c->val[i]._pad = 0;
		}
		c->val[i].roles |= d->role;
	}
	compact(c);
	return 0;
}

void bv_names_defaults(struct bv_names_cfg *c)
{
	memset(c, 0, sizeof(*c));
	for (size_t i = 0; i < NDEFS; i++) {
		char msg[200];
		char plus[200];

		snprintf(plus, sizeof(plus), "+%s", defs[i].defaults);
		if (set_list(c, &defs[i], plus, msg, sizeof(msg)))
			fprintf(stderr, "beaconveil: built-in [names] default: %s\n", msg); /* a bug */
	}
}

int bv_names_set(struct bv_names_cfg *c, const char *key, const char *value, char *err,
		 size_t errlen)
{
	const struct name_key_def *d = def_of(key);
	struct bv_names_cfg tmp;

	if (!d) {
		bv_seterr(err, errlen, "key '%s': unknown key in section [names]", key);
		return -1;
	}
	tmp = *c;
	if (set_list(&tmp, d, value ? value : "", err, errlen))
		return -1;
	*c = tmp;
	return 0;
}

static int popcount(unsigned v)
{
	return __builtin_popcount(v);
}

int bv_names_check(const struct bv_names_cfg *c, char *err, size_t errlen)
{
	for (int i = 0; i < c->n; i++) {
		unsigned r = c->val[i].roles, other;
		int ok;
		char rs[160];

		switch (c->key[i].where) {
		case BV_NAME_COOKIE:
			ok = popcount(r & ~(unsigned)BV_ROLE_CONSENT) <= 1; /* dtCookie: consent, session */
			break;
		case BV_NAME_QUERY:
			other = r & ~(unsigned)(BV_ROLE_SESSION | BV_ROLE_DEVICE_SESSION);
			ok = !other || (other == r && popcount(r) == 1);
			break;
		default:
			ok = popcount(r) == 1;
			break;
		}
		if (!ok) {
			bv_names_roles_str(r, rs, sizeof(rs));
			bv_seterr(err, errlen, "[names]: %s '%.*s' has roles that exclude each other "
			       "(%s)%s", where_names[c->key[i].where], (int)c->key[i].len,
			       c->key[i].name, rs,
			       c->key[i].where == BV_NAME_COOKIE
				       ? ": a cookie may be a consent cookie and one other thing"
				       : c->key[i].where == BV_NAME_QUERY
						 ? ": a query key may be session and device_session, or one other thing"
						 : ": one role each");
			return -1;
		}
	}
	return 0;
}

static void set_bit(struct bv_name_filter *f, __u32 where, const unsigned char *b, size_t n)
{
	__u64 key = 0;
	__u32 bit;

	for (size_t i = 0; i < n; i++)
		key |= (__u64)(where == BV_NAME_HEADER ? (b[i] | 0x20) : b[i]) << (8 * i);
	bit = bv_name_fbit(key);
	f->bits[where][bit / 64] |= 1ULL << (bit % 64);
}

/* A short cookie name with every environment suffix that still ends
 * inside the key: "sid" -> "sid=", "sid0".."sid9", "sid_". */
static void cookie_bits(struct bv_name_filter *f, unsigned char *b, size_t n, size_t klen)
{
	static const char sfx[] = "0123456789_";

	b[n] = '=';
	set_bit(f, BV_NAME_COOKIE, b, n + 1);
	if (n + 1 == klen) {
		for (const char *s = sfx; *s; s++) {
			b[n] = (unsigned char)*s;
			set_bit(f, BV_NAME_COOKIE, b, klen);
		}
		return;
	}
	for (const char *s = sfx; *s; s++) {
		b[n] = (unsigned char)*s;
		cookie_bits(f, b, n + 1, klen);
	}
}

void bv_names_filter(const struct bv_names_cfg *c, struct bv_name_filter *f)
{
	memset(f, 0, sizeof(*f));
	f->valid = 1;
	for (int i = 0; i < c->n; i++) {
		const struct bv_name_key *k = &c->key[i];
		size_t klen = bv_name_fkey_len(k->where);
		unsigned char b[16] = { 0 };

		memcpy(b, k->name, k->len < klen ? k->len : klen);
		if (k->len >= klen)
			set_bit(f, k->where, b, klen);
		else if (k->where == BV_NAME_COOKIE)
			cookie_bits(f, b, k->len, klen);
		else {
			b[k->len] = (unsigned char)bv_name_delim(k->where);
			set_bit(f, k->where, b, k->len + 1u);
		}
	}
}

int bv_names_apply(const struct bv_names_cfg *c, int names_fd, int filter_fd, char *err,
		   size_t errlen)
{
	struct bv_name_key k, next, stale[BV_MAX_NAMES];
	const struct bv_name_key *prev = NULL;
	struct bv_name_filter f;
	size_t nstale = 0;
	__u32 zero = 0;

	if (names_fd >= 0) {
		for (int i = 0; i < c->n; i++) {
			if (bpf_map_update_elem(names_fd, &c->key[i], &c->val[i], BPF_ANY) < 0) {
				bv_seterr(err, errlen, "bv_names: update of '%.*s': %s",
				       (int)c->key[i].len, c->key[i].name, strerror(errno));
				return -1;
			}
		}
		/* collect first, delete after: deleting while walking a hash restarts it */
		while (bpf_map_get_next_key(names_fd, prev, &next) == 0) {
			struct bv_name_key tmp = next;

			if (find(c, &tmp) < 0 && nstale < BV_MAX_NAMES)
				stale[nstale++] = next;
			k = next;
			prev = &k;
		}
		for (size_t i = 0; i < nstale; i++) {
			if (bpf_map_delete_elem(names_fd, &stale[i]) < 0 && errno != ENOENT) {
				bv_seterr(err, errlen, "bv_names: delete: %s", strerror(errno));
				return -1;
			}
		}
	}
	if (filter_fd >= 0) {
		struct bv_name_filter old;

		bv_names_filter(c, &f);
		/* a new generation: what the kernel's per-CPU caches of name
		 * lookups hold from before is no longer trusted (written after
		 * bv_names, so a lookup under the new one sees the new names) */
		if (bpf_map_lookup_elem(filter_fd, &zero, &old) < 0)
			old.gen = 0;
		f.gen = old.gen + 1 ? old.gen + 1 : 1;
		if (bpf_map_update_elem(filter_fd, &zero, &f, BPF_ANY) < 0) {
			bv_seterr(err, errlen, "bv_namefilt: update: %s", strerror(errno));
			return -1;
		}
	}
	return 0;
}
