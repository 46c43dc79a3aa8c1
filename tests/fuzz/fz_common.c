/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
#include <stdio.h>
#include <string.h>
#include "fz_common.h"

const char *const fz_client4[FZ_NCLIENT] = {
	"203.0.113.57", "198.51.100.23", "192.0.2.200", "10.1.2.3",
};
const char *const fz_client6[FZ_NCLIENT] = {
	"2001:db8:85a3:8d3:1319:8a2e:370:7348",
	"2001:db8:beef:42:a:b:c:d",
	"2a02:1234:5678:9abc:def0:1:2:3",
	"fd12:3456:789a:1:2:3:4:5",
};
const char *const fz_server4 = "198.18.0.10";
const char *const fz_server6 = "2001:db8::10";
const char *const fz_router6 = "2001:db8:ffff::1";

void fz_policy_default(struct bv_policy *p)
{
	memset(p, 0, sizeof(*p));
	p->valid = 1;
	p->ip_mask = BV_IPMASK_ALL;
	p->ipv4_prefix = 24;
	p->ipv6_prefix = 48;
	p->respect_dnt = 1;
	p->dnt_action = BV_DNT_ANONYMIZE;
	p->respect_gpc = 1;
	p->opt_in = 0;
	p->user_tracking = 0;
	p->honour_disabled = 1;
	p->drop_action = BV_DROPACT_DROP;
	p->collection_level = BV_LEVEL_USER_BEHAVIOR;
	p->crash_reports = 1;
}

void fz_policy(int idx, struct bv_policy *p)
{
	fz_policy_default(p);
	switch (idx % FZ_NPOL) {
	case 0:
		break;
	case 1:
		p->collection_level = BV_LEVEL_PERFORMANCE;
		break;
	case 2:
		p->dnt_action = BV_DNT_DROP;
		p->drop_action = BV_DROPACT_RESET;
		break;
	case 3:
		p->ip_mask = BV_IPMASK_PUBLIC;
		break;
	case 4:
		p->ipv4_prefix = 16;
		p->ipv6_prefix = 32;
		break;
	case 5:
		p->ipv4_prefix = 0;
		p->ipv6_prefix = 0;
		break;
	case 6:
		p->ip_mask = BV_IPMASK_OFF;
		break;
	case 7:
		p->opt_in = 1;
		p->drop_action = BV_DROPACT_RESET;
		break;
	case 8:
		p->ipv4_prefix = 20;
		p->ipv6_prefix = 52;
		break;
	case 9:
		p->ipv4_prefix = 32;
		p->ipv6_prefix = 128;
		break;
	case 10:
		p->collection_level = BV_LEVEL_OFF;
		p->drop_action = BV_DROPACT_RESET;
		break;
	case 11:
		p->respect_dnt = 0;
		p->crash_reports = 0;
		p->honour_disabled = 0;
		p->ipv4_prefix = 8;
		p->ipv6_prefix = 16;
		break;
	}
}

void fz_apps(struct fz_app a[FZ_NAPPS])
{
	for (int i = 0; i < FZ_NAPPS; i++)
		fz_policy_default(&a[i].pol);
	a[0].kind = BV_APPKEY_HOST;
	a[0].id = "nomask.example";
	a[0].pol.ip_mask = BV_IPMASK_OFF;
	a[1].kind = BV_APPKEY_APP;
	a[1].id = "perfapp";
	a[1].pol.collection_level = BV_LEVEL_PERFORMANCE;
	a[1].pol.ipv4_prefix = 16;
	a[1].pol.ipv6_prefix = 32;
	a[2].kind = BV_APPKEY_HOST;
	a[2].id = "strict.example";
	a[2].pol.ipv4_prefix = 8;
	a[2].pol.ipv6_prefix = 16;
	a[2].pol.dnt_action = BV_DNT_DROP;
	a[2].pol.drop_action = BV_DROPACT_RESET;
	a[3].kind = BV_APPKEY_APP;
	a[3].id = "ea7c4b59f27d43eb";
	a[3].pol.ip_mask = BV_IPMASK_PUBLIC;
}

static void rule(struct bv_path_rule *r, int kind, const char *pat, int crash)
{
	memset(r, 0, sizeof(*r));
	r->kind = (__u8)kind;
	r->len = (__u8)strlen(pat);
	r->crash_report = (__u8)crash;
	memcpy(r->pat, pat, strlen(pat));
}

/* Crash rule first, as bv_config_load orders them. */
void fz_paths(struct bv_path_rule r[FZ_NPATHS])
{
	rule(&r[0], BV_PATH_PREFIX, "/crash/", 1);
	rule(&r[1], BV_PATH_SEG_PREFIX, "rb_", 0);
	rule(&r[2], BV_PATH_EXACT_OR_ID, "/bf", 0);
	rule(&r[3], BV_PATH_PREFIX, "/collect", 0);
	rule(&r[4], BV_PATH_EXACT, "/g/collect", 0);
	rule(&r[5], BV_PATH_EXACT_OR_ID, "/mbeacon", 0);
}

static const uint16_t sports[4] = { 80, 8080, 443, 3128 };
static const uint16_t cports[4] = { 40000, 40001, 80, 8080 };
static const int topts[4] = { 0, 4, 12, 40 };

int fz_decode(const uint8_t *d, size_t n, struct fz_case *c)
{
	uint8_t h[8];
	size_t off;

	memset(c, 0, sizeof(*c));
	if (n < 2)
		return -1;
	c->mode = (d[0] & 3) == 3 ? BV_MODE_PCAP : (d[0] & 3);
	c->kind = (d[0] >> 2) & 3;
	c->carry = !!(d[0] & 0x10);
	c->syn = !!(d[0] & 0x20);
	c->acks = !!(d[0] & 0x40);
	c->s2c = !!(d[0] & 0x80);
	c->pol = d[1] % FZ_NPOL;
	if (c->kind == FZ_RAW || c->kind == FZ_RAW_FIXED) {
		c->raw = d + 2;
		c->rawlen = n - 2;
		return c->rawlen >= 14 ? 0 : -1;
	}
	if (n < 8)
		return -1;
	memcpy(h, d, 8);
	c->family = (h[2] & 1) ? 6 : 4;
	c->nvlan = ((h[2] >> 1) & 3) % 3;
	{
		int v = h[2] >> 3;

		if (c->family == 4) {
			if (v <= 10)
				c->ip4_opts = 4 * v;
			else if (v == 11)
				c->frag_off = 0x2000;
			else if (v == 12)
				c->frag_off = 0x0001;
			else if (v == 13)
				c->frag_off = 0x2001;
			else
				c->frag_off = 0x4000;
		} else {
			c->hbh = !!(v & 1);
			c->dst = !!(v & 2);
			c->rt = !!(v & 4);
			c->rt_segleft = !!(v & 8);
			c->frag6 = !!(v & 16);
		}
	}
	c->hbh_len = h[3];
	c->client = h[4] & 3;
	c->sport = sports[(h[4] >> 2) & 3];
	c->cport = cports[(h[4] >> 4) & 3];
	c->tcp_opts = topts[h[4] >> 6];
	c->nseg = (h[5] & 7) + 1;
	c->fin = !!(h[5] & 8);
	c->rst = !!(h[5] & 16);
	c->dup = !!(h[5] & 32);
	c->move = !!(h[5] & 64);
	c->coalesce = !!(h[5] & 128);
	c->op_k = h[6] & 7;
	c->op_j = (h[6] >> 3) & 7;
	c->seq0 = ((uint32_t)h[7] << 24) | 0x00fff000u;
	off = 8;
	if (n < off + 2 * (size_t)(c->nseg - 1))
		c->nseg = 1 + (int)((n - off) / 2);
	for (int i = 0; i < c->nseg - 1; i++) {
		c->split[i] = (uint16_t)((d[off] << 8) | d[off + 1]);
		off += 2;
	}
	c->pl = d + off;
	c->plen = n - off;
	return 0;
}

static int idx_of(const uint16_t *tab, uint16_t v)
{
	for (int i = 0; i < 4; i++)
		if (tab[i] == v)
			return i;
	return 0;
}

size_t fz_encode(const struct fz_case *c, uint8_t *out, size_t cap)
{
	size_t need;
	uint8_t h0;

	h0 = (uint8_t)((c->mode & 3) | ((c->kind & 3) << 2) | (c->carry ? 0x10 : 0) |
		       (c->syn ? 0x20 : 0) | (c->acks ? 0x40 : 0) | (c->s2c ? 0x80 : 0));
	if (c->kind == FZ_RAW || c->kind == FZ_RAW_FIXED) {
		need = 2 + c->rawlen;
		if (need > cap)
			return 0;
		out[0] = h0;
		out[1] = (uint8_t)c->pol;
		memcpy(out + 2, c->raw, c->rawlen);
		return need;
	}
	need = 8 + 2 * (size_t)(c->nseg - 1) + c->plen;
	if (need > cap || c->nseg < 1 || c->nseg > FZ_MAXSEG)
		return 0;
	out[0] = h0;
	out[1] = (uint8_t)c->pol;
	{
		int v = 0;

		if (c->family == 4) {
			if (c->frag_off == 0x2000)
				v = 11;
			else if (c->frag_off == 0x0001)
				v = 12;
			else if (c->frag_off == 0x2001)
				v = 13;
			else if (c->frag_off == 0x4000)
				v = 14;
			else
				v = c->ip4_opts / 4;
		} else {
			v = (c->hbh ? 1 : 0) | (c->dst ? 2 : 0) | (c->rt ? 4 : 0) |
			    (c->rt_segleft ? 8 : 0) | (c->frag6 ? 16 : 0);
		}
		out[2] = (uint8_t)((c->family == 6 ? 1 : 0) | ((c->nvlan % 3) << 1) | (v << 3));
	}
	out[3] = (uint8_t)c->hbh_len;
	out[4] = (uint8_t)((c->client & 3) | (idx_of(sports, c->sport) << 2) |
			   (idx_of(cports, c->cport) << 4) |
			   ((c->tcp_opts == 40 ? 3 : c->tcp_opts == 12 ? 2 : c->tcp_opts == 4 ? 1 : 0) << 6));
	out[5] = (uint8_t)(((c->nseg - 1) & 7) | (c->fin ? 8 : 0) | (c->rst ? 16 : 0) |
			   (c->dup ? 32 : 0) | (c->move ? 64 : 0) | (c->coalesce ? 128 : 0));
	out[6] = (uint8_t)((c->op_k & 7) | ((c->op_j & 7) << 3));
	out[7] = (uint8_t)(c->seq0 >> 24);
	for (int i = 0; i < c->nseg - 1; i++) {
		out[8 + 2 * i] = (uint8_t)(c->split[i] >> 8);
		out[9 + 2 * i] = (uint8_t)c->split[i];
	}
	memcpy(out + 8 + 2 * (c->nseg - 1), c->pl, c->plen);
	return need;
}

/* ---- grammar-driven streams ---------------------------------------------- */

struct gbuf {
	uint8_t *p;
	size_t n, cap;
};

static void gput(struct gbuf *g, const void *s, size_t n)
{
	if (n > g->cap - g->n)
		n = g->cap - g->n;
	memcpy(g->p + g->n, s, n);
	g->n += n;
}

static void gstr(struct gbuf *g, const char *s)
{
	gput(g, s, strlen(s));
}

static void gfill(struct gbuf *g, char ch, size_t n)
{
	while (n-- && g->n < g->cap)
		g->p[g->n++] = (uint8_t)ch;
}

/* An address in some textual form; k picks address and form. */
static void gaddr(struct gbuf *g, unsigned k)
{
	static const char *const other[] = { "198.18.0.10", "2001:db8::10", "unknown", "_hidden",
					     "10.0.0.1", "::1" };
	unsigned a = k % 14, form = (k / 14) % 6;
	const char *t;
	int v6;

	if (a < 4)
		t = fz_client4[a];
	else if (a < 8)
		t = fz_client6[a - 4];
	else
		t = other[a - 8];
	v6 = strchr(t, ':') != NULL;
	switch (form) {
	case 1: /* with a port */
		if (v6) {
			gstr(g, "[");
			gstr(g, t);
			gstr(g, "]:4711");
		} else {
			gstr(g, t);
			gstr(g, ":4711");
		}
		return;
	case 2:
		gstr(g, " ");
		gstr(g, t);
		gstr(g, " ");
		return;
	case 3: /* upper-case hex */
		for (const char *c = t; *c; c++) {
			char ch = *c >= 'a' && *c <= 'f' ? (char)(*c - 32) : *c;

			gput(g, &ch, 1);
		}
		return;
	default:
		gstr(g, t);
	}
}

static const char *const g_paths[] = {
	"/rb_1", "/myapp/rb_bf12345abc", "/bf", "/bf/x1y2", "/bf/a/b", "/bfx", "/collect",
	"/collect/x", "/g/collect", "/g/collectx", "/crash/rb_x", "/index.html", "z/rb_0",
	"/a/b/c/d/e/f/g/h/i/j/k/l/m/n/o/p/q/r/s/t/u/v/w/x/y/z/0/1/2/3/4/rb_long", "/rbx", "/",
};
static const char *const g_methods[] = { "POST", "GET", "PUT", "HEAD", "OPTIONS", "DELETE" };
static const char *const g_queries[] = {
	"", "?type=js3&sn=42", "?vi=QWERTYUIOPASDFGH", "?app=perfapp&vi=QWERTYUIOPASDFGHJK",
	"?vi=QWERTYUIOPASDFGHJK&app=perfapp", "?type=js3&sn=42&app=ea7c4b59f27d43eb&vi=ZXCVBNMASDFGHJKL",
	"?ai=perfapp", "?app=other&vi=MNBVCXZLKJHGFDSA#frag",
};
static const char *const g_hosts[] = {
	"collector.example", "nomask.example", "Strict.Example:8080", "strict.example",
	"NOMASK.EXAMPLE", "other.example:80",
};
static const char *const g_cookies[] = {
	"rxVisitor=1700000000000ABCDEFGHIJKLMNOPQRSTUVWXYZ012345",
	"dtPC=-15$123456789_123h12vABCDEFGHIJKLMNOP-0e0",
	"dtCookie=v_4_srv_1", "dtCookie1234=v_4", "dtDisabled=true", "dtDisabled=false",
	"xrxVisitor=1700000000000ABCDEFGHIJKLMNOPQRSTUVWXYZ012345",
	"rxVisitor_7=1700000000000ZYXWVUTSRQPONMLKJIHGFEDCBA543210",
	"rxvt=1700000000000|1700000000000", "a=b",
};

size_t fz_generate(const uint8_t *prog, size_t n, uint8_t *out, size_t cap)
{
	struct gbuf g = { out, 0, cap };
	char num[32];

	for (size_t i = 0; i + 1 < n && g.n < cap; i += 2) {
		unsigned op = prog[i] % 14, a = prog[i + 1];

		switch (op) {
		case 0: /* request line */
			gstr(&g, g_methods[(a >> 5) % 6 == 5 ? a % 6 : (a >> 5) % 2]);
			gstr(&g, " ");
			gstr(&g, g_paths[a % 16]);
			gstr(&g, g_queries[(a >> 4) % 8]);
			gstr(&g, (a & 0x80) && (a & 1) ? " HTTP/1.0\r\n" : " HTTP/1.1\r\n");
			break;
		case 1: /* X-Forwarded-For, one to three elements */
			gstr(&g, (a & 1) ? "x-forwarded-for:" : "X-Forwarded-For: ");
			gaddr(&g, a >> 1);
			if (a & 0x40) {
				gstr(&g, (a & 2) ? "," : ", ");
				gaddr(&g, (a >> 2) + 5);
			}
			if (a & 0x80) {
				gstr(&g, ", ");
				gaddr(&g, (a >> 3) + 9);
			}
			gstr(&g, "\r\n");
			break;
		case 2:
			gstr(&g, (a & 1) ? "X-Real-IP: " : (a & 2) ? "True-Client-IP: " : "x-real-ip:");
			gaddr(&g, a >> 2);
			gstr(&g, "\r\n");
			break;
		case 3: /* Forwarded */
			gstr(&g, (a & 1) ? "Forwarded: for=" : "forwarded: by=_proxy;For=");
			if (a & 2) {
				gstr(&g, "\"");
				gaddr(&g, (a >> 2) % 14 + 14); /* with a port, v6 bracketed */
				gstr(&g, "\"");
			} else {
				gaddr(&g, a >> 2);
			}
			if (a & 0x80) {
				gstr(&g, ";proto=http, for=");
				gaddr(&g, (a >> 3) + 3);
			}
			gstr(&g, "\r\n");
			break;
		case 4: /* Cookie: one or two cookies */
			gstr(&g, "Cookie: ");
			gstr(&g, g_cookies[a % 10]);
			if (a >= 128) {
				gstr(&g, "; ");
				gstr(&g, g_cookies[(a >> 3) % 10]);
			}
			gstr(&g, "\r\n");
			break;
		case 5: {
			static const char *const sig[] = { "DNT: 1\r\n", "Sec-GPC: 1\r\n", "DNT: 0\r\n",
							   "dnt:1\r\n", "DNT: 10\r\n", "sec-gpc:  1 \r\n" };
			gstr(&g, sig[a % 6]);
			break;
		}
		case 6:
			gstr(&g, "Host: ");
			gstr(&g, g_hosts[a % 6]);
			gstr(&g, "\r\n");
			break;
		case 7: /* filler header: line length 14 + 0..1020 */
			gstr(&g, "User-Agent: ");
			gfill(&g, 'u', (size_t)a * 4 + (a & 3));
			gstr(&g, "\r\n");
			break;
		case 8: /* end of head with a Content-Length body */
			snprintf(num, sizeof(num), "Content-Length: %u\r\n\r\n", a % 64);
			gstr(&g, num);
			gfill(&g, 'b', a % 64);
			break;
		case 9: /* end of head */
			gstr(&g, "\r\n");
			break;
		case 10: /* end of head with a chunked body */
			gstr(&g, "Transfer-Encoding: chunked\r\n\r\n");
			for (unsigned k = 0; k < (a & 3); k++) {
				snprintf(num, sizeof(num), "%x%s\r\n", (a >> 2) % 40 + 1, (a & 0x40) ? ";x=y" : "");
				gstr(&g, num);
				gfill(&g, 'c', (a >> 2) % 40 + 1);
				gstr(&g, "\r\n");
			}
			gstr(&g, (a & 0x80) ? "0\r\nX-Trailer: t\r\n\r\n" : "0\r\n\r\n");
			break;
		case 11: /* PROXY v1 */
			gstr(&g, (a & 1) ? "PROXY TCP6 " : "PROXY TCP4 ");
			gstr(&g, (a & 1) ? fz_client6[(a >> 1) % 4] : fz_client4[(a >> 1) % 4]);
			gstr(&g, (a & 1) ? " 2001:db8::10 56324 80\r\n" : " 198.18.0.10 56324 80\r\n");
			break;
		case 12: /* raw bytes from the program */
			{
				size_t k = a % 16;

				if (k > n - i - 2)
					k = n - i - 2;
				gput(&g, prog + i + 2, k);
				i += k;
			}
			break;
		case 13: /* another header */
			gstr(&g, (a & 1) ? "X-Other: 203.0.113.57\r\n" : "Accept: */*\r\n");
			break;
		}
	}
	return g.n;
}
