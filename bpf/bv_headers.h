/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Header lines: which ones we act on, what a line said when it ends, and
 * the values read character by character (Cookie, Forwarded).
 */
#ifndef BV_HEADERS_H
#define BV_HEADERS_H

#include "bv_request.h"
#include "bv_ipfield.h"
#include "bv_audit.h"

/* ---- header lines -------------------------------------------------------- */

/* The header line's kind from its (lower-case) name: the framing headers
 * are HTTP's own; the others are configured names (bv_namematch.h). */
BV_GLOBAL int bv_hdr_kind(const struct bv_lexer *lx)
{
	int roles;

	if (!lx)
		return H_OTHER;
	switch (lx->tok_len) {
	case 6:
		if (TOK_IS(lx, "cookie"))
			return H_COOKIE;
		break;
	case 14:
		if (TOK_IS(lx, "content-length"))
			return H_CLEN;
		break;
	case 16:
		if (TOK_IS(lx, "content-encoding"))
			return H_CENC;
		break;
	case 17:
		if (TOK_IS(lx, "transfer-encoding"))
			return H_TE;
		break;
	}
	roles = bv_name_roles(lx, BV_NAME_HEADER);
	if (roles & BV_ROLE_FORWARDED)
		return H_FWD;
	if (roles & BV_ROLE_CLIENT_IP)
		return H_IPLIST;
	if (roles & BV_ROLE_DNT)
		return H_DNT;
	if (roles & BV_ROLE_GPC)
		return H_GPC;
	if (roles & BV_ROLE_APP_KEY)
		return H_HOST;
	return H_OTHER;
}

/* A header line ended ('\n'): act on what it said. */
BV_GLOBAL int bv_hdr_done(struct bv_scratch *sc)
{
	struct bv_lexer *lx;

	if (!sc)
		return 0;
	lx = &sc->lx;

	switch (lx->hdr) {
	case H_DNT:
		if (lx->sub == 1)
			lx->sig |= BV_SIG_DNT;
		break;
	case H_GPC:
		if (lx->sub == 1)
			lx->sig |= BV_SIG_GPC;
		break;
	case H_HOST:
		if (lx->sig & BV_SIG_BEACON)
			bv_lookup_app(lx, BV_APPKEY_HOST);
		bv_audit_note_host(sc);
		break;
	case H_TE:
		/* "chunked" as the last coding frames the body; a request with
		 * any other coding has no length we can follow (RFC 9112 6.3:
		 * servers reject it): malformed */
		if (lx->tok_len >= 7 && !(lx->flags & BV_LXF_TOKOVF) &&
		    lx->tok[(lx->tok_len - 7) & 63] == 'c' && lx->tok[(lx->tok_len - 6) & 63] == 'h' &&
		    lx->tok[(lx->tok_len - 5) & 63] == 'u' && lx->tok[(lx->tok_len - 4) & 63] == 'n' &&
		    lx->tok[(lx->tok_len - 3) & 63] == 'k' && lx->tok[(lx->tok_len - 2) & 63] == 'e' &&
		    lx->tok[(lx->tok_len - 1) & 63] == 'd')
			lx->sig |= BV_SIG_CHUNKED;
		else if (lx->tok_len)
			lx->sig |= BV_SIG_MALFORMED;
		break;
	case H_COOKIE:
		if (lx->sub == C_DIS && TOK_IS(lx, "true"))
			lx->sig |= BV_SIG_DISABLED;
		bv_id_end(sc);
		break;
	case H_CENC:
		/* a body in a coding we do not decode cannot be read */
		if (lx->tok_len && !TOK_IS(lx, "identity"))
			lx->sig |= BV_SIG_ENCODED;
		break;
	}
	bv_ip_reset(lx);
	lx->st = LX_LINE;
	return 0;
}

/* Cookie header value, one character. */
BV_GLOBAL int bv_cookie_char(struct bv_scratch *sc, __u32 pos, char c)
{
	struct bv_lexer *lx;
	int roles;

	if (!sc)
		return 0;
	lx = &sc->lx;

	switch (lx->sub) {
	case C_OWS:
		if (c == ' ' || c == '\t' || c == ';')
			return 0;
		lx->sub = C_NAME;
		bv_tok_reset(lx);
		bv_tok_add(lx, c);
		return 0;
	case C_NAME:
		if (c == ';') {
			lx->sub = C_OWS;
			return 0;
		}
		if (c != '=') {
			bv_tok_add(lx, c);
			return 0;
		}
		lx->sub = C_SKIP;
		lx->sub2 = 0;
		roles = bv_name_roles(lx, BV_NAME_COOKIE);
		if (roles & BV_ROLE_CONSENT)
			lx->sig |= BV_SIG_CONSENT;
		if (roles & BV_ROLE_SESSION) {
			lx->sub = C_SESS;
			if (!(lx->flags & BV_LXF_SH) || (lx->flags & BV_LXF_SH_Q)) {
				bv_shash_init(&lx->sh, sc->hkey.k);
				lx->flags = (lx->flags | BV_LXF_SH) & ~BV_LXF_SH_Q;
				lx->sub2 = 1;
			}
		} else if (roles & BV_ROLE_VISITOR) {
			lx->sub = C_RXV;
			if (!(lx->flags & BV_LXF_VH)) {
				lx->flags |= BV_LXF_VH;
				lx->sub2 = 1;
			}
		} else if (roles & BV_ROLE_VISITOR_PC) {
			lx->sub = C_DTPC;
			lx->sub2 = 0;
		} else if (roles & BV_ROLE_DISABLED) {
			lx->sub = C_DIS;
			bv_tok_reset(lx);
		}
		return 0;
	}
	if (c == ';') {
		if (lx->sub == C_DIS && TOK_IS(lx, "true"))
			lx->sig |= BV_SIG_DISABLED;
		bv_id_end(sc);
		lx->sub = C_OWS;
		return 0;
	}
	switch (lx->sub) {
	case C_RXV:
		if (c == ' ' || c == '\t' || c == '"')
			sc->span_open = 0; /* the span must stay contiguous */
		else {
			if (lx->sub2)
				bv_shash_byte(&lx->vh, (__u8)c);
			bv_id_char(sc, pos);
		}
		return 0;
	case C_SESS:
		if (lx->sub2 && c != ' ' && c != '\t' && c != '"')
			bv_shash_byte(&lx->sh, (__u8)c);
		return 0;
	case C_DTPC:
		/* <server>$<page>_<n>h<hits>v<VISITOR RANDOM>-<rest>: the part
		 * after the first 'v' following '$', up to '-' */
		if (lx->sub2 == 0 && c == '$')
			lx->sub2 = 1;
		else if (lx->sub2 == 1 && c == 'v')
			lx->sub2 = 2;
		else if (lx->sub2 == 2 && c == '-') {
			bv_id_end(sc);
			lx->sub2 = 3;
		} else if (lx->sub2 == 2)
			bv_id_char(sc, pos);
		return 0;
	case C_DIS:
		if (c != ' ' && c != '\t')
			bv_tok_add(lx, c);
		return 0;
	}
	return 0;
}

/*
 * Forwarded header value (RFC 7239), one character: mask for= nodes.
 * A masked IPv4 node is shorter than the original, and RFC 7239 allows no
 * padding space inside an element: the masker pads with ';' (empty pairs,
 * which the grammar allows), and inside a quoted node the first pad closes
 * the quotes early, the rest of the quoted string (the original closing
 * quote too) becoming ';':  for="203.0.113.43:8443" -> for="203.0.113.0";;;;;;
 * An IPv6 node keeps its length ("[v6]"); its port goes the same way when
 * the address was masked. docs/MASKING.md lists every form.
 */
BV_GLOBAL int bv_fwd_char(struct bv_scratch *sc, __u32 pos, char c)
{
	struct bv_lexer *lx;

	if (!sc)
		return 0;
	lx = &sc->lx;

	if (lx->sub == F_FOR && (lx->sub2 & BV_FWD_CLOSED)) {
		bv_iptok_more(sc, pos, c); /* the node's length, for ip_anon */
		bv_put(sc, pos, ';');
		if (c == '"') { /* the original end of the quoted string */
			lx->sub = F_SKIP;
			lx->sub2 = 0;
		}
		return 0;
	}
	if (c == ';' || c == ',') {
		bv_ip_reset(lx);
		lx->sub = F_NAME;
		lx->sub2 = 0;
		bv_tok_reset(lx);
		return 0;
	}
	switch (lx->sub) {
	case F_NAME:
		if (c == ' ' || c == '\t')
			return 0;
		if (c == '=') {
			lx->sub = (lx->tok_len == 3 && lx->tok[0] == 'f' && lx->tok[1] == 'o' &&
				   lx->tok[2] == 'r') ? F_FOR : F_SKIP;
			lx->sub2 = 0;
			bv_ip_reset(lx);
			return 0;
		}
		bv_tok_add(lx, bv_lower(c));
		return 0;
	case F_FOR:
		if (c == '"') {
			if (lx->sub2 & BV_FWD_QUOTED)
				lx->sub = F_SKIP; /* the value ends */
			lx->sub2 = BV_FWD_QUOTED;
			bv_ip_reset(lx);
			return 0;
		}
		if (c == '[') {
			lx->sub2 |= BV_FWD_BRACKET;
			bv_ip_reset(lx);
			return 0;
		}
		if (c == ']') {
			if (lx->ipm.flags & BV_IPM_MASKING)
				lx->sub2 |= BV_FWD_MASKED;
			lx->sub2 = (lx->sub2 & ~BV_FWD_BRACKET) | BV_FWD_AFTER;
			bv_ip_reset(lx);
			return 0;
		}
		if (lx->sub2 & BV_FWD_AFTER) {
			/* ":port" of a masked "[v6]": with the time, a load
			 * balancer's log maps a source port to its client */
			if (!(lx->sub2 & BV_FWD_MASKED))
				return 0;
			if (lx->sub2 & BV_FWD_QUOTED) {
				bv_put(sc, pos, '"');
				lx->sub2 |= BV_FWD_CLOSED;
			} else if (c >= '0' && c <= '9') {
				bv_put(sc, pos, '0'); /* unquoted: not RFC 7239 anyway */
			}
			return 0;
		}
		bv_ip_char(sc, pos, c);
		return 0;
	}
	return 0;
}

#endif /* BV_HEADERS_H */
