/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Forwarded (RFC 7239), strictly:
 *   Forwarded         = 1#forwarded-element        (OWS "," OWS between)
 *   forwarded-element = [ forwarded-pair ] *( ";" [ forwarded-pair ] )
 *   forwarded-pair    = token "=" value
 *   value             = token / quoted-string
 * and for the for/by parameters (section 6):
 *   node     = nodename [ ":" node-port ]
 *   nodename = IPv4address / "[" IPv6address "]" / "unknown" / obfnode
 *   obfnode  = "_" 1*( ALPHA / DIGIT / "." / "_" / "-" )
 *   node-port = port / obfport;  port = 1*5DIGIT;  obfport = "_" 1*(...)
 * IPv4address as RFC 3986 (dec-octets without leading zeros); IPv6address
 * by inet_pton (RFC 4291 text forms, each group 1-4 hex digits). No space
 * inside an element: OWS only around the commas and at the ends.
 */
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include "rfc7239.h"

static int fail(char *why, size_t n, const char *fmt, ...)
{
	va_list ap;

	if (why && n) {
		va_start(ap, fmt);
		vsnprintf(why, n, fmt, ap);
		va_end(ap);
	}
	return 0;
}

/* RFC 9110 tchar */
static int tchar(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c && strchr("!#$%&'*+-.^_`|~", c));
}

static int obfchars(const char *s, size_t n)
{
	if (n < 2 || s[0] != '_')
		return 0;
	for (size_t i = 1; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'z') ||
		      (s[i] >= 'A' && s[i] <= 'Z') || s[i] == '.' || s[i] == '_' || s[i] == '-'))
			return 0;
	return 1;
}

static int ipv4address(const char *s, size_t n)
{
	size_t i = 0;

	for (int o = 0; o < 4; o++) {
		size_t d = 0;
		unsigned v = 0;

		if (o && (i >= n || s[i++] != '.'))
			return 0;
		while (i < n && s[i] >= '0' && s[i] <= '9' && d < 4) {
			v = v * 10 + (unsigned)(s[i++] - '0');
			d++;
		}
		if (d == 0 || d > 3 || v > 255 || (d > 1 && s[i - d] == '0'))
			return 0;
	}
	return i == n;
}

static int ipv6address(const char *s, size_t n)
{
	char buf[64];
	unsigned char bin[16];

	if (n == 0 || n >= sizeof(buf))
		return 0;
	memcpy(buf, s, n);
	buf[n] = 0;
	/* an embedded IPv4 part must be a strict IPv4address too */
	if (strchr(buf, '.')) {
		const char *c = strrchr(buf, ':');

		if (!c || !ipv4address(c + 1, strlen(c + 1)))
			return 0;
	}
	return inet_pton(AF_INET6, buf, bin) == 1;
}

/* A for=/by= node (already unquoted). */
static int node(const char *s, size_t n, struct rfc7239_nodes *out, char *why, size_t wl)
{
	size_t name_end = n;
	const char *port = NULL;
	size_t plen = 0;

	if (n && s[0] == '[') {
		const char *r = memchr(s, ']', n);

		if (!r)
			return fail(why, wl, "'[' without ']' in node '%.*s'", (int)n, s);
		name_end = (size_t)(r - s) + 1;
		if (!ipv6address(s + 1, name_end - 2))
			return fail(why, wl, "not an IPv6address in '%.*s'", (int)n, s);
	} else {
		const char *c = memchr(s, ':', n);

		if (c)
			name_end = (size_t)(c - s);
		if (!(name_end == 7 && !memcmp(s, "unknown", 7)) && !obfchars(s, name_end) &&
		    !ipv4address(s, name_end))
			return fail(why, wl, "nodename '%.*s' is not IPv4address, [IPv6], unknown "
				    "or obfnode", (int)name_end, s);
	}
	if (name_end < n) {
		if (s[name_end] != ':')
			return fail(why, wl, "junk after the nodename in '%.*s'", (int)n, s);
		port = s + name_end + 1;
		plen = n - name_end - 1;
		if (!obfchars(port, plen)) {
			if (plen < 1 || plen > 5)
				return fail(why, wl, "port '%.*s' is not 1*5DIGIT", (int)plen, port);
			for (size_t i = 0; i < plen; i++)
				if (port[i] < '0' || port[i] > '9')
					return fail(why, wl, "port '%.*s' is not 1*5DIGIT", (int)plen, port);
		}
	}
	if (out && out->n < RFC7239_MAX_NODES) {
		snprintf(out->node[out->n], sizeof(out->node[0]), "%.*s", (int)name_end, s);
		snprintf(out->port[out->n], sizeof(out->port[0]), "%.*s", (int)plen, port ? port : "");
		out->n++;
	}
	return 1;
}

int rfc7239_parse(const char *v, size_t len, struct rfc7239_nodes *out, char *why, size_t wl)
{
	size_t i = 0;
	int elements = 0;

	if (out)
		memset(out, 0, sizeof(*out));
	for (;;) {
		/* OWS, then one element (possibly empty) */
		while (i < len && (v[i] == ' ' || v[i] == '\t'))
			i++;
		for (;;) {
			size_t k0 = i, v0, vlen;
			char val[128];
			int is_for;

			while (i < len && tchar(v[i]))
				i++;
			if (i == k0) { /* an empty pair */
				if (i < len && v[i] == ';') {
					i++;
					continue;
				}
				break;
			}
			if (i >= len || v[i] != '=')
				return fail(why, wl, "pair '%.*s' has no '='", (int)(i - k0), v + k0);
			is_for = (i - k0 == 3 && !strncasecmp(v + k0, "for", 3)) ||
				 (i - k0 == 2 && !strncasecmp(v + k0, "by", 2));
			is_for = is_for ? (v[k0] == 'f' || v[k0] == 'F') + 1 : 0;
			i++;
			v0 = i;
			if (i < len && v[i] == '"') {
				vlen = 0;
				for (i++; i < len && v[i] != '"'; i++) {
					char c = v[i];

					if (c == '\\') {
						if (++i >= len)
							return fail(why, wl, "a quoted-pair at the end");
						c = v[i];
					} else if (c == ' ' || c == '\t') {
						/* qdtext allows it, but no node holds a space */
						if (is_for)
							return fail(why, wl, "a space inside the node '%.*s'",
								    (int)(i - v0), v + v0);
					} else if ((unsigned char)c < 0x21 || c == 0x7f) {
						return fail(why, wl, "a control byte in a quoted-string");
					}
					if (vlen + 1 < sizeof(val))
						val[vlen++] = c;
				}
				if (i >= len)
					return fail(why, wl, "an unterminated quoted-string");
				i++;
			} else {
				while (i < len && tchar(v[i]))
					i++;
				vlen = i - v0;
				if (vlen == 0 || vlen >= sizeof(val))
					return fail(why, wl, "an empty or overlong token value");
				memcpy(val, v + v0, vlen);
			}
			val[vlen] = 0;
			if (is_for && !node(val, vlen, is_for == 2 ? out : NULL, why, wl))
				return 0;
			if (i < len && v[i] == ';') {
				i++;
				continue;
			}
			break;
		}
		elements++;
		while (i < len && (v[i] == ' ' || v[i] == '\t'))
			i++;
		if (i >= len)
			break;
		if (v[i] != ',')
			return fail(why, wl, "'%c' at %zu where ';', ',' or the end must be", v[i], i);
		i++;
	}
	return elements > 0 ? 1 : fail(why, wl, "no element");
}
