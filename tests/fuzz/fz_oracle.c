/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* The packet fuzzer's privacy oracle; see fz_oracle.h. */
#include <arpa/inet.h>
#include <string.h>
#include "fz_oracle.h"
#include "fz_frame.h"

#define MAXIDS 32

struct idcand {
	uint32_t a, b;
	struct bv_policy pol;  /* policy of the request when the id was seen */
	int dnt, gpc;          /* signal lines complete before the id */
	const char *what;
};

struct ost {
	const struct fz_oracle_in *in;
	const uint8_t *s;
	size_t n;
	struct fz_chk *chk;
	int max, cnt;
	struct idcand ids[MAXIDS];
	int nids;
};

static void add(struct ost *o, size_t a, size_t b, int kind, const char *what)
{
	if (a >= b || o->cnt >= o->max)
		return;
	memset(&o->chk[o->cnt], 0, sizeof(o->chk[0]));
	o->chk[o->cnt].a = (uint32_t)a;
	o->chk[o->cnt].b = (uint32_t)b;
	o->chk[o->cnt].kind = (uint8_t)kind;
	o->chk[o->cnt].what = what;
	o->chk[o->cnt].next_req = UINT32_MAX;
	o->cnt++;
}

static int ipchar(uint8_t c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') ||
	       c == ':' || c == '.';
}

/* RFC 9110 tchar */
static int tchar(uint8_t c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c && strchr("!#$%&'*+-.^_`|~", c));
}

static int alnum(uint8_t c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int bv_hex(uint8_t c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 :
	       c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

static uint8_t lower(uint8_t c)
{
	return (c >= 'A' && c <= 'Z') ? (uint8_t)(c + 32) : c;
}

/* s[a..b) equals lit, ASCII case-insensitively */
static int ci_is(const uint8_t *s, size_t a, size_t b, const char *lit)
{
	size_t n = strlen(lit);

	if (b - a != n)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (lower(s[a + i]) != (uint8_t)lit[i])
			return 0;
	return 1;
}

static int is(const uint8_t *s, size_t a, size_t b, const char *lit)
{
	size_t n = strlen(lit);

	return b - a == n && !memcmp(s + a, lit, n);
}

/* Name equals base followed by an optional [0-9_]* environment suffix. */
static int is_sfx(const uint8_t *s, size_t a, size_t b, const char *base)
{
	size_t n = strlen(base);

	if (b - a < n || b - a > 40 || memcmp(s + a, base, n))
		return 0;
	for (size_t i = a + n; i < b; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
			return 0;
	return 1;
}

static void trim(const uint8_t *s, size_t *a, size_t *b)
{
	while (*a < *b && (s[*a] == ' ' || s[*a] == '\t'))
		(*a)++;
	while (*b > *a && (s[*b - 1] == ' ' || s[*b - 1] == '\t'))
		(*b)--;
}

int fz_path_is_beacon(const char *path, size_t len, const struct bv_path_rule *r, int n)
{
	if (len > 63)
		return 0; /* documented: longer paths are not matched */
	for (int i = 0; i < n; i++) {
		size_t pl = r[i].len, seg = 0;

		if (!pl || pl > sizeof(r[i].pat))
			continue;
		switch (r[i].kind) {
		case BV_PATH_SEG_PREFIX:
			for (size_t k = 0; k < len; k++)
				if (path[k] == '/')
					seg = k + 1;
			if (len - seg >= pl && !memcmp(path + seg, r[i].pat, pl))
				return 1;
			break;
		case BV_PATH_EXACT_OR_ID:
			if (len == pl && !memcmp(path, r[i].pat, pl))
				return 1;
			if (len > pl + 1 && !memcmp(path, r[i].pat, pl) && path[pl] == '/' &&
			    !memchr(path + pl + 1, '/', len - pl - 1))
				return 1;
			break;
		case BV_PATH_PREFIX:
			if (len >= pl && !memcmp(path, r[i].pat, pl))
				return 1;
			break;
		case BV_PATH_EXACT:
			if (len == pl && !memcmp(path, r[i].pat, pl))
				return 1;
			break;
		}
	}
	return 0;
}

/* An occurrence of a known client address text at s[i..i+L): protect the
 * part beyond the prefix the policy keeps in text (whole octets/groups). */
static void protect_text(struct ost *o, size_t i, const char *t, int fam,
			 const struct bv_policy *pol, const char *what)
{
	uint8_t bin[16];
	size_t L = strlen(t), toff = 0;
	int keep, groups = fam == 4 ? 4 : 8, seen = 0;

	if (pol->ip_mask == BV_IPMASK_OFF)
		return;
	if (inet_pton(fam == 4 ? AF_INET : AF_INET6, t, bin) != 1)
		return;
	if (pol->ip_mask == BV_IPMASK_PUBLIC && (fam == 4 ? fz_private4(bin) : fz_private6(bin)))
		return;
	keep = fam == 4 ? pol->ipv4_prefix / 8 : pol->ipv6_prefix / 16;
	if (keep >= groups)
		return;
	for (size_t k = 0; k < L && seen < keep; k++) {
		if (t[k] == (fam == 4 ? '.' : ':') && ++seen == keep)
			toff = k + 1;
	}
	add(o, i + toff, i + L, FZ_CHK_PROTECT, what);
}

/* Known client address tokens in s[v0..v1). */
static void protect_addrs(struct ost *o, size_t v0, size_t v1, const struct bv_policy *pol,
			  const char *what)
{
	const uint8_t *s = o->s;

	if (pol->ip_mask == BV_IPMASK_OFF)
		return;
	for (size_t i = v0; i < v1; i++) {
		if (i > v0 && ipchar(s[i - 1]))
			continue;
		for (int fam = 4; fam <= 6; fam += 2) {
			for (int k = 0; k < FZ_NCLIENT; k++) {
				const char *t = fam == 4 ? fz_client4[k] : fz_client6[k];
				size_t L = strlen(t);

				if (i + L > v1 || memcmp(s + i, t, L))
					continue;
				if (i + L < v1 && ipchar(s[i + L]) && !(fam == 4 && s[i + L] == ':'))
					continue;
				protect_text(o, i, t, fam, pol, what);
			}
		}
	}
}

/* A for= value that is a node (RFC 7239 section 6: IPv4, IPv4:port,
 * "[IPv6]", "[IPv6]:port"; and IPv6 unbracketed, as seen in practice) whose
 * address is a known client address. Anything else is not an address to
 * any consumer: not checked. */
static void for_node(struct ost *o, size_t a, size_t b, const struct bv_policy *pol)
{
	const uint8_t *s = o->s;
	size_t e = b;

	if (a < b && s[a] == '[') {
		const uint8_t *r = memchr(s + a, ']', b - a);

		if (!r)
			return;
		e = (size_t)(r - s);
		if (e + 1 < b && s[e + 1] != ':')
			return;
		for (size_t i = e + 2; i < b; i++)
			if (s[i] < '0' || s[i] > '9')
				return;
		a++;
	} else {
		size_t colon = b, ncolon = 0;

		for (size_t i = a; i < b; i++)
			if (s[i] == ':') {
				ncolon++;
				colon = i;
			}
		if (ncolon == 1) { /* IPv4:port */
			for (size_t i = colon + 1; i < b; i++)
				if (s[i] < '0' || s[i] > '9')
					return;
			e = colon;
		}
	}
	for (int fam = 4; fam <= 6; fam += 2)
		for (int k = 0; k < FZ_NCLIENT; k++) {
			const char *t = fam == 4 ? fz_client4[k] : fz_client6[k];

			if (is(s, a, e, t))
				protect_text(o, a, t, fam, pol, "Forwarded for=");
		}
}

/* RFC 7239 Forwarded: known addresses in for= values. */
static void forwarded(struct ost *o, size_t p, size_t v1, const struct bv_policy *pol)
{
	const uint8_t *s = o->s;

	for (;;) {
		size_t n0, n1, a, b;

		while (p < v1 && (s[p] == ' ' || s[p] == '\t'))
			p++;
		if (p >= v1)
			return;
		if (s[p] == ';' || s[p] == ',') {
			p++;
			continue;
		}
		n0 = p;
		while (p < v1 && tchar(s[p]))
			p++;
		n1 = p;
		if (n0 == n1 || p >= v1 || s[p] != '=')
			return;
		p++;
		if (p < v1 && s[p] == '"') {
			a = ++p;
			while (p < v1 && s[p] != '"') {
				if (s[p] == '\\')
					p++;
				p++;
			}
			if (p >= v1)
				return;
			b = p++;
		} else {
			a = p;
			while (p < v1 && (tchar(s[p]) || s[p] == ':' || s[p] == '[' || s[p] == ']'))
				p++;
			b = p;
		}
		if (ci_is(s, n0, n1, "for"))
			for_node(o, a, b, pol);
		while (p < v1 && (s[p] == ' ' || s[p] == '\t'))
			p++;
		if (p < v1 && s[p] != ';' && s[p] != ',')
			return;
	}
}

static void idcand(struct ost *o, size_t a, size_t b, const struct bv_policy *pol, int dnt,
		   int gpc, const char *what)
{
	int nal = 0;

	for (size_t i = a; i < b; i++)
		nal += alnum(o->s[i]);
	if (nal < 12 || o->nids >= MAXIDS)
		return;
	o->ids[o->nids].a = (uint32_t)a;
	o->ids[o->nids].b = (uint32_t)b;
	o->ids[o->nids].pol = *pol;
	o->ids[o->nids].dnt = dnt;
	o->ids[o->nids].gpc = gpc;
	o->ids[o->nids].what = what;
	o->nids++;
}

/* Cookie header: rxVisitor values and dtPC random parts. */
static void cookies(struct ost *o, size_t p, size_t v1, const struct bv_policy *pol, int dnt,
		    int gpc)
{
	const uint8_t *s = o->s;

	while (p < v1) {
		size_t n0, n1, a, b;

		while (p < v1 && (s[p] == ' ' || s[p] == '\t' || s[p] == ';'))
			p++;
		n0 = p;
		while (p < v1 && s[p] != '=' && s[p] != ';')
			p++;
		if (p >= v1 || s[p] == ';')
			continue;
		n1 = p++;
		a = p;
		while (p < v1 && s[p] != ';')
			p++;
		b = p;
		if (is_sfx(s, n0, n1, "rxVisitor")) {
			idcand(o, a, b, pol, dnt, gpc, "rxVisitor");
		} else if (is_sfx(s, n0, n1, "dtPC")) {
			const uint8_t *d = memchr(s + a, '$', b - a);
			const uint8_t *v = d ? memchr(d, 'v', (size_t)(s + b - d)) : NULL;

			if (v) {
				size_t i0 = (size_t)(v - s) + 1, i1 = i0;

				while (i1 < b && s[i1] != '-')
					i1++;
				idcand(o, i0, i1, pol, dnt, gpc, "dtPC");
			}
		}
	}
}

/* Does policy P make the request's decision "anonymized" (or a drop)? */
static int anon_sure(const struct bv_policy *P, int dnt, int gpc)
{
	return P->collection_level == BV_LEVEL_PERFORMANCE ||
	       (P->respect_dnt && P->dnt_action == BV_DNT_ANONYMIZE && dnt) ||
	       (P->respect_dnt && P->respect_gpc && P->dnt_action == BV_DNT_ANONYMIZE && gpc);
}

static const struct fz_app *app_find(const struct fz_oracle_in *in, int kind, const uint8_t *id,
				     size_t len)
{
	for (int i = 0; i < in->napps; i++)
		if (in->apps[i].kind == kind && strlen(in->apps[i].id) == len &&
		    !memcmp(in->apps[i].id, id, len))
			return &in->apps[i];
	return NULL;
}

/* A chunked body from *pp, strictly (RFC 9112 7.1): chunk data must not
 * change. 1: whole body and trailers seen (*pp after them); 0: stop. */
static int chunks(struct ost *o, size_t *pp)
{
	const uint8_t *s = o->s;
	size_t n = o->n, p = *pp;

	for (;;) {
		size_t size = 0, d0;
		int nd = 0;

		while (p < n && bv_hex(s[p]) >= 0 && nd < 7) {
			size = size * 16 + (size_t)bv_hex(s[p++]);
			nd++;
		}
		if (!nd || p >= n)
			return 0;
		if (s[p] == ';') /* extensions: no CR/LF/controls */
			while (p < n && (s[p] == '\t' || (s[p] >= 0x20 && s[p] != 0x7f)))
				p++;
		if (p + 2 > n || s[p] != '\r' || s[p + 1] != '\n')
			return 0;
		p += 2;
		if (!size)
			break;
		d0 = p;
		if (p + size > n) {
			add(o, d0, n, FZ_CHK_UNTOUCHED, "chunk data");
			return 0;
		}
		add(o, d0, p + size, FZ_CHK_UNTOUCHED, "chunk data");
		p += size;
		if (p + 2 > n || s[p] != '\r' || s[p + 1] != '\n')
			return 0;
		p += 2;
	}
	/* trailer fields, then the empty line */
	for (;;) {
		size_t ls = p;

		if (p + 2 <= n && s[p] == '\r' && s[p + 1] == '\n') {
			*pp = p + 2;
			return 1;
		}
		while (p < n && tchar(s[p]))
			p++;
		if (p >= n || p == ls || s[p] != ':')
			return 0;
		while (p < n && s[p] != '\r' && (s[p] == '\t' || (s[p] >= 0x20 && s[p] != 0x7f)))
			p++;
		if (p + 2 > n || s[p] != '\r' || s[p + 1] != '\n')
			return 0;
		p += 2;
	}
}

/*
 * A mobile agent's form body (/mbeacon with type=m): the client address in
 * ip=; under collection_level=performance the device id vi= and the user
 * tag (na= of an et=60 event); with crash_reports=off the values of crash
 * and exception events (et=50, et=42). Only a body of printable, non-space
 * bytes is understood.
 */
static void mobile_body(struct ost *o, size_t p, size_t e, const struct bv_policy *pol)
{
	const uint8_t *s = o->s;
	int perf = pol->collection_level == BV_LEVEL_PERFORMANCE, et = 0;

	for (size_t i = p; i < e; i++)
		if (s[i] <= 0x20 || s[i] >= 0x7f)
			return;
	while (p < e) {
		size_t n0 = p, n1, a, b;

		while (p < e && s[p] != '=' && s[p] != '&')
			p++;
		if (p >= e || s[p] == '&') {
			p++;
			continue;
		}
		n1 = p++;
		a = p;
		while (p < e && s[p] != '&')
			p++;
		b = p++;
		if (is(s, n0, n1, "et")) {
			et = 0;
			for (size_t i = a; i < b && et < 1000; i++)
				et = s[i] >= '0' && s[i] <= '9' ? et * 10 + (s[i] - '0') : 1000;
			continue;
		}
		if (is(s, n0, n1, "ip")) {
			protect_addrs(o, a, b, pol, "mobile ip=");
		} else if (o->cnt < o->max &&
			   ((perf && is(s, n0, n1, "vi") && b - a >= 12) ||
			    (perf && et == 60 && is(s, n0, n1, "na") && b - a >= 4) ||
			    (!pol->crash_reports && (et == 50 || et == 42) && b - a >= 4))) {
			add(o, a, b, FZ_CHK_PROTECT, is(s, n0, n1, "vi") ? "mobile vi=" :
			    et == 60 ? "mobile user tag" : "mobile crash event");
			o->chk[o->cnt - 1].min_run = is(s, n0, n1, "vi") ? 12 : 4;
		}
	}
}

static const char *const methods[] = { "GET", "POST", "PUT", "HEAD", "OPTIONS", "PATCH", "DELETE" };

/* One request from *pp. 1: continue with the next, 0: stop (*pp = where). */
static int request(struct ost *o, size_t *pp)
{
	const struct fz_oracle_in *in = o->in;
	const uint8_t *s = o->s;
	size_t n = o->n, p = *pp, rs, m0, t0, t1, path_end, stop = 0;
	int beacon = 0, known = 0, switched = 0, dnt = 0, gpc = 0, te = 0, done = 0, chunked = 0;
	int mobile = 0, encoded = 0, other_masked;
	size_t hs = 0;
	long clen = -1;
	struct bv_policy cur = *in->gpol;

	rs = p;
	m0 = p;
	while (p < n && s[p] >= 'A' && s[p] <= 'Z')
		p++;
	if (p >= n || s[p] != ' ')
		goto out_stop;
	for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
		known |= is(s, m0, p, methods[i]);
	if (!known)
		goto out_stop;
	t0 = ++p;
	while (p < n && s[p] > 0x20 && s[p] < 0x7f)
		p++;
	if (p >= n || s[p] != ' ' || p == t0)
		goto out_stop;
	t1 = p++;
	if (p + 10 > n || memcmp(s + p, "HTTP/1.", 7) || s[p + 7] < '0' || s[p + 7] > '9' ||
	    s[p + 8] != '\r' || s[p + 9] != '\n')
		goto out_stop;
	p += 10;
	hs = p;
	path_end = t0;
	while (path_end < t1 && s[path_end] != '?')
		path_end++;
	beacon = (is(s, m0, t0 - 1, "GET") || is(s, m0, t0 - 1, "POST")) &&
		 fz_path_is_beacon((const char *)s + t0, path_end - t0, in->paths, in->npaths);
	/* a copy masks a non-beacon's client addresses too: its lines are
	 * checked one by one instead of the request as a whole */
	other_masked = !beacon && in->mask_other;
	if (other_masked)
		add(o, rs, hs, FZ_CHK_UNTOUCHED, "non-beacon request line");

	if (beacon && path_end < t1) {
		size_t q = path_end + 1, qe = q;

		while (qe < t1 && s[qe] != '#')
			qe++;
		while (q < qe) {
			size_t n0 = q, n1, a, b;

			while (q < qe && s[q] != '=' && s[q] != '&')
				q++;
			if (q >= qe || s[q] == '&') {
				q++;
				continue;
			}
			n1 = q++;
			a = q;
			while (q < qe && s[q] != '&')
				q++;
			b = q++;
			if (is(s, n0, n1, "type") && is(s, a, b, "m")) {
				mobile = 1;
			} else if (is(s, n0, n1, "vi")) {
				idcand(o, a, b, &cur, 0, 0, "vi=");
			} else if ((is(s, n0, n1, "app") || is(s, n0, n1, "ai")) && !switched) {
				const struct fz_app *ap = app_find(in, BV_APPKEY_APP, s + a, b - a);

				if (ap && b - a <= 63) {
					cur = ap->pol;
					switched = 1;
				}
			}
		}
	}

	/* header lines */
	for (;;) {
		size_t ls, n1, v0, v1;
		int complete;

		if (p + 2 <= n && s[p] == '\r' && s[p + 1] == '\n') {
			p += 2;
			done = 1;
			break;
		}
		if (p >= n || (s[p] == '\r' && p + 1 >= n)) {
			stop = n; /* the stream ends inside the head */
			break;
		}
		ls = p;
		while (p < n && tchar(s[p]))
			p++;
		if (p >= n) {
			stop = n;
			break;
		}
		if (s[p] != ':' || p == ls) {
			stop = ls;
			break;
		}
		n1 = p++;
		v0 = p;
		while (p < n && s[p] != '\r' && (s[p] == '\t' || s[p] >= 0x20) && s[p] != 0x7f)
			p++;
		complete = 0;
		if (p >= n || (s[p] == '\r' && p + 1 >= n)) {
			v1 = p; /* the stream ends inside this line */
		} else if (s[p] == '\r' && s[p + 1] == '\n') {
			v1 = p;
			p += 2;
			complete = 1;
		} else {
			stop = ls; /* a control character, bare CR or bare LF */
			break;
		}
		if (other_masked) {
			if (ci_is(s, ls, n1, "x-forwarded-for") || ci_is(s, ls, n1, "x-real-ip") ||
			    ci_is(s, ls, n1, "true-client-ip") || ci_is(s, ls, n1, "x-client-ip"))
				protect_addrs(o, v0, v1, &cur, "non-beacon client-address header");
			else if (ci_is(s, ls, n1, "forwarded"))
				forwarded(o, v0, v1, &cur);
			else
				add(o, ls, p, FZ_CHK_UNTOUCHED, "non-beacon header line");
		}
		if (beacon) {
			if (ci_is(s, ls, n1, "x-forwarded-for"))
				protect_addrs(o, v0, v1, &cur, "X-Forwarded-For");
			else if (ci_is(s, ls, n1, "x-real-ip"))
				protect_addrs(o, v0, v1, &cur, "X-Real-IP");
			else if (ci_is(s, ls, n1, "true-client-ip"))
				protect_addrs(o, v0, v1, &cur, "True-Client-IP");
			else if (ci_is(s, ls, n1, "x-client-ip"))
				protect_addrs(o, v0, v1, &cur, "X-Client-IP");
			else if (ci_is(s, ls, n1, "forwarded"))
				forwarded(o, v0, v1, &cur);
			else if (ci_is(s, ls, n1, "cookie"))
				cookies(o, v0, v1, &cur, dnt, gpc);
		}
		if (!complete) {
			stop = n;
			break;
		}
		{
			size_t a = v0, b = v1;

			trim(s, &a, &b);
			if (beacon && ci_is(s, ls, n1, "dnt") && is(s, a, b, "1"))
				dnt = 1;
			if (beacon && ci_is(s, ls, n1, "sec-gpc") && is(s, a, b, "1"))
				gpc = 1;
			if (beacon && ci_is(s, ls, n1, "host") && !switched) {
				size_t e = a;
				uint8_t key[64];

				while (e < b && s[e] != ':' && s[e] != ' ' && s[e] != '\t')
					e++;
				if (e - a <= 63) {
					const struct fz_app *ap;

					for (size_t i = a; i < e; i++)
						key[i - a] = lower(s[i]);
					ap = app_find(in, BV_APPKEY_HOST, key, e - a);
					if (ap) {
						cur = ap->pol;
						switched = 1;
					}
				}
			}
			if (ci_is(s, ls, n1, "content-length")) {
				if (clen >= 0 || a == b || b - a > 8) {
					stop = ls;
					break;
				}
				clen = 0;
				for (size_t i = a; i < b; i++) {
					if (s[i] < '0' || s[i] > '9') {
						clen = -2;
						break;
					}
					clen = clen * 10 + (s[i] - '0');
				}
				if (clen < 0) {
					stop = ls;
					break;
				}
			}
			if (ci_is(s, ls, n1, "content-encoding") && !ci_is(s, a, b, "identity"))
				encoded = 1;
			if (ci_is(s, ls, n1, "transfer-encoding")) {
				chunked = !te && ci_is(s, a, b, "chunked");
				te = 1;
			}
		}
	}

	/* identifiers: replaced when the decision cannot be "pass" */
	for (int i = 0; i < o->nids; i++)
		if (anon_sure(&o->ids[i].pol, o->ids[i].dnt, o->ids[i].gpc) &&
		    anon_sure(&cur, o->ids[i].dnt, o->ids[i].gpc))
			if (o->cnt < o->max) {
				add(o, o->ids[i].a, o->ids[i].b, FZ_CHK_PROTECT, o->ids[i].what);
				o->chk[o->cnt - 1].min_run = 12;
			}
	o->nids = 0;

	if (!done) {
		if (!beacon && !other_masked)
			add(o, rs, stop, FZ_CHK_UNTOUCHED, "non-beacon request");
		*pp = stop;
		return 0;
	}
	if (!beacon && !other_masked)
		add(o, rs, p, FZ_CHK_UNTOUCHED, "non-beacon request");
	if (te) {
		if (!chunked || clen >= 0 || !chunks(o, &p)) {
			*pp = p;
			return 0;
		}
		*pp = p;
		return 1;
	}
	if (clen > 0) {
		size_t e = p + (size_t)clen > n ? n : p + (size_t)clen;

		if (beacon && mobile && !encoded)
			mobile_body(o, p, e, &cur); /* rewritten: not untouched */
		else
			add(o, p, e, FZ_CHK_UNTOUCHED, "request body");
		p = e;
	}
	*pp = p;
	return 1;

out_stop:
	*pp = rs;
	return 0;
}

static const uint8_t v2sig[12] = { '\r', '\n', '\r', '\n', 0, '\r', '\n', 'Q', 'U', 'I', 'T', '\n' };

int fz_oracle(const struct fz_oracle_in *in, struct fz_chk *chk, int max, size_t *stop)
{
	struct ost o = { .in = in, .s = in->s, .n = in->n, .chk = chk, .max = max };
	const uint8_t *s = in->s;
	size_t n = in->n, p = 0;
	int after_v2 = 0;

	if (n >= 16 && !memcmp(s, v2sig, 12)) {
		size_t hlen = 16 + (((size_t)s[14] << 8) | s[15]);
		int fam = s[13] >> 4, alen = fam == 1 ? 4 : fam == 2 ? 16 : 0;

		if (hlen > in->first_seg || hlen > n) {
			*stop = 0;
			return 0;
		}
		if (alen && hlen >= 16 + 2 * (size_t)alen && in->gpol->ip_mask != BV_IPMASK_OFF &&
		    o.cnt < max) {
			add(&o, 16, 16 + (size_t)alen, FZ_CHK_BIN, "PROXY v2 source");
			chk[o.cnt - 1].family = fam == 1 ? 4 : 6;
			chk[o.cnt - 1].prefix = fam == 1 ? in->gpol->ipv4_prefix : in->gpol->ipv6_prefix;
			chk[o.cnt - 1].public_only = in->gpol->ip_mask == BV_IPMASK_PUBLIC;
		}
		p = hlen;
		after_v2 = 1;
	}
	if (!after_v2 && n >= 6 && !memcmp(s, "PROXY ", 6)) {
		const uint8_t *e = NULL;
		size_t f[9], nf = 0, le;

		for (size_t i = 0; i + 1 < n && i < 106; i++)
			if (s[i] == '\r' && s[i + 1] == '\n') {
				e = s + i;
				break;
			}
		if (!e) {
			*stop = 0;
			return 0;
		}
		le = (size_t)(e - s);
		f[nf++] = 0;
		for (size_t i = 0; i < le; i++) {
			if (s[i] == ' ') {
				if (nf == 8) {
					*stop = 0;
					return 0;
				}
				f[nf++] = i + 1;
			} else if (s[i] < 0x21 || s[i] > 0x7e) {
				*stop = 0;
				return 0;
			}
		}
		f[nf] = le + 1;
		if (nf >= 2 && is(s, f[1], f[2] - 1, "UNKNOWN")) {
			/* no addresses */
		} else if (nf == 6 && (is(s, f[1], f[2] - 1, "TCP4") || is(s, f[1], f[2] - 1, "TCP6"))) {
			int fam = s[f[1] + 3] == '4' ? 4 : 6;

			for (int k = 0; k < FZ_NCLIENT; k++) {
				const char *t = fam == 4 ? fz_client4[k] : fz_client6[k];

				if (is(s, f[2], f[3] - 1, t))
					protect_text(&o, f[2], t, fam, in->gpol, "PROXY v1 source");
			}
		} else {
			*stop = 0;
			return 0;
		}
		p = le + 2;
	}
	for (;;) {
		int first = o.cnt, more;

		while (p < n && (s[p] == '\r' || s[p] == '\n'))
			p++;
		if (p >= n)
			break;
		more = request(&o, &p);
		while (p < n && (s[p] == '\r' || s[p] == '\n'))
			p++;
		for (int i = first; i < o.cnt; i++)
			if (chk[i].min_run && p < n)
				chk[i].next_req = (uint32_t)p;
		if (!more)
			break;
	}
	*stop = p < n ? p : n;
	return o.cnt;
}
