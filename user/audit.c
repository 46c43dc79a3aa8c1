/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* The Set-Cookie audit's counts, read and shown; see audit.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "percpu_rows.h"
#include "audit.h"

static const char *const cookie_names[BV_AUC_MAX] = {
	[BV_AUC_NONE] = "", [BV_AUC_DTCOOKIE] = "dtCookie", [BV_AUC_RXVISITOR] = "rxVisitor",
	[BV_AUC_RXVT] = "rxvt", [BV_AUC_DTPC] = "dtPC", [BV_AUC_DTSA] = "dtSa",
	[BV_AUC_DTLATC] = "dtLatC", [BV_AUC_DTDISABLED] = "dtDisabled",
};

static const char *const kind_names[BV_AU_MAX] = {
	[BV_AU_RESPONSES] = "responses", [BV_AU_SET] = "set",
	[BV_AU_SS_ABSENT] = "samesite_absent", [BV_AU_SS_NONE] = "samesite_none",
	[BV_AU_SS_LAX] = "samesite_lax", [BV_AU_SS_STRICT] = "samesite_strict",
	[BV_AU_SS_OTHER] = "samesite_other", [BV_AU_HTTPONLY] = "httponly",
	[BV_AU_NO_SECURE] = "no_secure", [BV_AU_NONE_INSECURE] = "samesite_none_insecure",
	[BV_AU_LIFETIME_LONG] = "lifetime_exceeded",
	[BV_AU_LIFETIME_UNKNOWN] = "lifetime_unknown", [BV_AU_INCOMPLETE] = "incomplete",
};

const char *bv_audit_cookie_name(int c)
{
	return c >= 0 && c < BV_AUC_MAX ? cookie_names[c] : "unknown";
}

const char *bv_audit_kind_name(int k)
{
	return k >= 0 && k < BV_AU_MAX ? kind_names[k] : "unknown";
}

const char *bv_audit_by_name(int by)
{
	switch (by) {
	case BV_AUBY_APP:
		return "app";
	case BV_AUBY_HOST:
		return "host";
	case BV_AUBY_PORT:
		return "port";
	}
	return ":overflow";
}

void bv_audit_app_text(const struct bv_audit_app *a, char *buf, size_t buflen)
{
	size_t n;

	if (!buflen)
		return;
	buf[0] = '\0';
	if (a->by == BV_AUBY_PORT) {
		snprintf(buf, buflen, "%u",
			 ((unsigned)(unsigned char)a->id[0] << 8) | (unsigned char)a->id[1]);
		return;
	}
	if (a->by != BV_AUBY_APP && a->by != BV_AUBY_HOST)
		return;
	n = a->len > BV_AUDIT_ID_LEN ? BV_AUDIT_ID_LEN : a->len;
	if (n >= buflen)
		n = buflen - 1;
	memcpy(buf, a->id, n);
	buf[n] = '\0';
}

/* Applications in order (overflow last), then cookies. */
static int cmp_rows(const void *pa, const void *pb)
{
	const struct bv_audit_key *a = &((const struct bv_audit_rowk *)pa)->key;
	const struct bv_audit_key *b = &((const struct bv_audit_rowk *)pb)->key;
	int ba = a->app.by ? a->app.by : 256, bb = b->app.by ? b->app.by : 256, c;

	if (ba != bb)
		return ba < bb ? -1 : 1;
	c = memcmp(a->app.id, b->app.id, BV_AUDIT_ID_LEN);
	if (c)
		return c;
	if (a->app.len != b->app.len)
		return a->app.len < b->app.len ? -1 : 1;
	return a->cookie < b->cookie ? -1 : a->cookie > b->cookie;
}

int bv_audit_read(int fd, struct bv_audit_rowk **rows, size_t *n)
{
	void *r = NULL;
	int ret = bv_percpu_rows(fd, sizeof(struct bv_audit_key), BV_AU_MAX, sizeof(**rows),
				 offsetof(struct bv_audit_rowk, n), cmp_rows, &r, n);

	*rows = r;
	return ret;
}

static int same_app(const struct bv_audit_app *a, const struct bv_audit_app *b)
{
	return a->by == b->by && a->len == b->len && !memcmp(a->id, b->id, BV_AUDIT_ID_LEN);
}

static const char *cookie_label(int c)
{
	return c == BV_AUC_NONE ? "unknown" : bv_audit_cookie_name(c);
}

/* An id as text for a terminal: printable ASCII other than '%' as is,
 * anything else (a hostile app= may hold escape sequences) as %XX. */
static void safe_text(FILE *f, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c > 0x20 && c < 0x7f && c != '%')
			fputc(c, f);
		else
			fprintf(f, "%%%02X", c);
	}
}

void bv_audit_report(FILE *f, const struct bv_audit_rowk *rows, size_t n)
{
	__u64 tot[BV_AU_MAX] = { 0 };
	char id[BV_AUDIT_ID_LEN + 8];

	fprintf(f, "# Set-Cookie audit: per application (by app id, Host, or server port when\n"
		   "# no request was read), cookie and finding; zero counts left out\n");
	for (size_t i = 0; i < n; i++) {
		const struct bv_audit_rowk *r = &rows[i];

		if (i == 0 || !same_app(&r->key.app, &rows[i - 1].key.app)) {
			/* an application whose rows are all zero (the overflow
			 * row the kernel makes first) is left out */
			int any = 0;

			for (size_t j = i; j < n && same_app(&rows[j].key.app, &r->key.app); j++)
				for (int k = 0; k < BV_AU_MAX; k++)
					any |= rows[j].n[k] != 0;
			if (any) {
				bv_audit_app_text(&r->key.app, id, sizeof(id));
				fprintf(f, "%s%s", bv_audit_by_name(r->key.app.by), id[0] ? " " : "");
				safe_text(f, id);
				fputc('\n', f);
			}
		}
		for (int k = 0; k < BV_AU_MAX; k++) {
			tot[k] += r->n[k];
			if (!r->n[k])
				continue;
			if (r->key.cookie == BV_AUC_NONE && k == BV_AU_RESPONSES)
				fprintf(f, "  responses %llu\n", (unsigned long long)r->n[k]);
			else
				fprintf(f, "  %s %s %llu\n", cookie_label(r->key.cookie),
					bv_audit_kind_name(k), (unsigned long long)r->n[k]);
		}
	}
	fprintf(f, "# audit totals\n");
	fprintf(f, "audit_responses %llu\n", (unsigned long long)tot[BV_AU_RESPONSES]);
	fprintf(f, "audit_cookies %llu\n", (unsigned long long)tot[BV_AU_SET]);
	fprintf(f, "audit_findings %llu\n",
		(unsigned long long)(tot[BV_AU_HTTPONLY] + tot[BV_AU_NO_SECURE] +
				     tot[BV_AU_NONE_INSECURE] + tot[BV_AU_LIFETIME_LONG] +
				     tot[BV_AU_LIFETIME_UNKNOWN]));
	fprintf(f, "audit_incomplete %llu\n", (unsigned long long)tot[BV_AU_INCOMPLETE]);
}

/* ---- Prometheus ------------------------------------------------------------ */

static const int ss_kinds[] = { BV_AU_SS_ABSENT, BV_AU_SS_NONE, BV_AU_SS_LAX, BV_AU_SS_STRICT,
				BV_AU_SS_OTHER };
static const char *const ss_names[] = { "absent", "none", "lax", "strict", "other" };
static const int finding_kinds[] = { BV_AU_HTTPONLY, BV_AU_NO_SECURE, BV_AU_NONE_INSECURE,
				     BV_AU_LIFETIME_LONG, BV_AU_LIFETIME_UNKNOWN };

/* The labels of a row: by and app, or the merged row below k. */
static void labels(FILE *f, const struct bv_audit_app *a, int below,
		   void (*lv)(FILE *, const char *, size_t))
{
	char id[BV_AUDIT_ID_LEN + 8];

	if (below || a->by == BV_AUBY_OVERFLOW) {
		fprintf(f, "by=\"\",app=\"%s\"", below ? ":below_k" : ":overflow");
		return;
	}
	bv_audit_app_text(a, id, sizeof(id));
	fprintf(f, "by=\"%s\",app=\"", bv_audit_by_name(a->by));
	lv(f, id, strlen(id));
	fputc('"', f);
}

int bv_audit_render(FILE *f, int fd, unsigned k, void (*lv)(FILE *, const char *, size_t))
{
	struct bv_audit_rowk *rows, *out;
	size_t n, no = 0;
	int *below;

	if (bv_audit_read(fd, &rows, &n))
		return -1;
	/* merge the applications under k responses into one row per cookie */
	out = calloc(n + BV_AUC_MAX, sizeof(*out));
	below = calloc(n + BV_AUC_MAX, sizeof(*below));
	if (!out || !below) {
		free(rows);
		free(out);
		free(below);
		errno = ENOMEM;
		return -1;
	}
	{
		struct bv_audit_rowk merged[BV_AUC_MAX];
		int any[BV_AUC_MAX] = { 0 };

		memset(merged, 0, sizeof(merged));
		for (size_t i = 0; i < n;) {
			size_t j = i;
			__u64 resp = 0;

			while (j < n && same_app(&rows[j].key.app, &rows[i].key.app)) {
				if (rows[j].key.cookie == BV_AUC_NONE)
					resp += rows[j].n[BV_AU_RESPONSES];
				j++;
			}
			for (size_t m = i; m < j; m++) {
				int c = rows[m].key.cookie < BV_AUC_MAX ? rows[m].key.cookie : 0;

				if (rows[i].key.app.by == BV_AUBY_OVERFLOW || resp >= k) {
					out[no++] = rows[m];
					continue;
				}
				any[c] = 1;
				merged[c].key.cookie = (__u8)c;
				for (int q = 0; q < BV_AU_MAX; q++)
					merged[c].n[q] += rows[m].n[q];
			}
			i = j;
		}
		for (int c = 0; c < BV_AUC_MAX; c++)
			if (any[c]) {
				below[no] = 1;
				out[no++] = merged[c];
			}
	}

	fprintf(f, "# HELP beaconveil_audit_responses_total Set-Cookie audit (mirror/pcap): HTTP/1.x response heads read whole, by application; applications under k responses merged into app=\":below_k\".\n"
		   "# TYPE beaconveil_audit_responses_total counter\n");
	for (size_t i = 0; i < no; i++)
		if (out[i].key.cookie == BV_AUC_NONE) {
			fputs("beaconveil_audit_responses_total{", f);
			labels(f, &out[i].key.app, below[i], lv);
			fprintf(f, "} %llu\n", (unsigned long long)out[i].n[BV_AU_RESPONSES]);
		}
	fprintf(f, "# HELP beaconveil_audit_cookies_total Set-Cookie audit: RUM cookies set (Set-Cookie lines read whole), by application, cookie and SameSite value.\n"
		   "# TYPE beaconveil_audit_cookies_total counter\n");
	for (size_t i = 0; i < no; i++)
		if (out[i].key.cookie != BV_AUC_NONE)
			for (size_t s = 0; s < sizeof(ss_kinds) / sizeof(ss_kinds[0]); s++) {
				fputs("beaconveil_audit_cookies_total{", f);
				labels(f, &out[i].key.app, below[i], lv);
				fprintf(f, ",cookie=\"%s\",samesite=\"%s\"} %llu\n",
					cookie_label(out[i].key.cookie), ss_names[s],
					(unsigned long long)out[i].n[ss_kinds[s]]);
			}
	fprintf(f, "# HELP beaconveil_audit_findings_total Set-Cookie audit: findings on RUM cookies (docs/AUDIT.md), by application, cookie and finding.\n"
		   "# TYPE beaconveil_audit_findings_total counter\n");
	for (size_t i = 0; i < no; i++)
		if (out[i].key.cookie != BV_AUC_NONE)
			for (size_t s = 0; s < sizeof(finding_kinds) / sizeof(finding_kinds[0]); s++) {
				fputs("beaconveil_audit_findings_total{", f);
				labels(f, &out[i].key.app, below[i], lv);
				fprintf(f, ",cookie=\"%s\",finding=\"%s\"} %llu\n",
					cookie_label(out[i].key.cookie),
					bv_audit_kind_name(finding_kinds[s]),
					(unsigned long long)out[i].n[finding_kinds[s]]);
			}
	fprintf(f, "# HELP beaconveil_audit_incomplete_total Set-Cookie audit: response heads or Set-Cookie lines not judged (cut by the segment's end, malformed, folded), by application and cookie (unknown: the head, or a line without a RUM name).\n"
		   "# TYPE beaconveil_audit_incomplete_total counter\n");
	for (size_t i = 0; i < no; i++) {
		fputs("beaconveil_audit_incomplete_total{", f);
		labels(f, &out[i].key.app, below[i], lv);
		fprintf(f, ",cookie=\"%s\"} %llu\n", cookie_label(out[i].key.cookie),
			(unsigned long long)out[i].n[BV_AU_INCOMPLETE]);
	}
	free(rows);
	free(out);
	free(below);
	return 0;
}
