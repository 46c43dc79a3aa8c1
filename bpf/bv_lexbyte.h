/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The per-byte machine: one byte in the current state.
 */
#ifndef BV_LEXBYTE_H
#define BV_LEXBYTE_H

#include "bv_headers.h"
#include "bv_mobile.h"
#include "bv_midstream.h"

/* ---- the per-byte machine ---------------------------------------------- */

BV_GLOBAL int bv_lex_byte(struct bv_scratch *sc, __u32 pos)
{
	struct bv_lexer *lx;
	int roles;
	char c;

	if (!sc)
		return 0;
	lx = &sc->lx;
	c = sc->buf[pos & BV_MASK];

	if (lx->st >= LX_REQ_REST && lx->st <= LX_HSKIP) {
		if (++lx->hdr_bytes > BV_MAX_HEAD) {
			lx->sig |= BV_SIG_MALFORMED;
			bv_malformed(sc, pos);
			return 0;
		}
	}

	switch (lx->st) {
	case LX_IDLE:
		if (c == '\r' || c == '\n')
			return 0;
		bv_tok_reset(lx);
		bv_tok_add(lx, c);
		lx->st = LX_METHOD;
		return 0;

	case LX_METHOD:
		if (c != ' ') {
			if (lx->tok_len >= 8 || c < 'A' || c > 'Z') {
				lx->st = LX_OPAQUE; /* not HTTP/1.x */
				return 0;
			}
			bv_tok_add(lx, c);
			return 0;
		}
		if ((lx->flags & BV_LXF_FIRST) && TOK_IS(lx, "PROXY")) {
			/* a PROXY v1 line not whole in its segment (bv_proxy_v1
			 * takes whole ones): its source cannot be rewritten
			 * into a form servers parse, so nothing of it leaves */
			if (pos >= sc->live_from)
				bv_count(BV_ST_MALFORMED_PKT);
			sc->seg_drop = 1;
			lx->st = LX_DROPALL;
			return 0;
		}
		{
			__u32 m = bv_method_bit(lx);

			if (!m) {
				lx->st = LX_OPAQUE;
				return 0;
			}
			bv_req_start(sc, pos);
			if (!(sc->set.methods & m))
				lx->flags |= BV_LXF_NOMETHOD; /* method not a beacon method */
			else
				lx->flags &= ~BV_LXF_NOMETHOD;
		}
		bv_tok_reset(lx);
		lx->st = LX_PATH;
		return 0;

	case LX_CHUNK_SIZE: {
		/* sub bits: 1 a digit seen, 2 inside extensions */
		int h = bv_hexval(c);

		if (c == '\n') {
			if (!(lx->sub & 1)) {          /* no digit at all */
				lx->sig |= BV_SIG_MALFORMED;
				bv_malformed(sc, pos);
			} else if (lx->body_left == 0) {
				lx->st = LX_CHUNK_TRAILER;  /* last chunk */
				lx->sub = 0;
			} else {
				lx->st = LX_CHUNK_DATA;
			}
			return 0;
		}
		if ((lx->sub & 2) || c == '\r')     /* extensions, line end */
			return 0;
		if (c == ';' || c == ' ' || c == '\t') {
			lx->sub |= 2;
			return 0;
		}
		if (h < 0 || lx->body_left > BV_MAX_BODY / 16) {
			lx->sig |= BV_SIG_MALFORMED;
			bv_malformed(sc, pos);
			return 0;
		}
		lx->body_left = lx->body_left * 16 + h;
		lx->sub |= 1;
		return 0;
	}
	case LX_MBODY:
		bv_mbody_char(sc, pos);
		return 0;

	case LX_MIDSTREAM:
		bv_mid_char(sc, pos);
		return 0;

	case LX_CHUNK_CRLF:
		if (c == '\n') {
			lx->st = LX_CHUNK_SIZE;
			lx->body_left = 0;
			lx->sub = 0;
		} else if (c != '\r') {
			lx->sig |= BV_SIG_MALFORMED;
			bv_malformed(sc, pos);
		}
		return 0;
	case LX_CHUNK_TRAILER:
		/* sub: 0 at a line start, 1 inside a trailer line */
		if (c == '\n') {
			if (lx->sub == 0)
				lx->st = LX_IDLE;   /* the empty line ends the message */
			lx->sub = 0;
		} else if (c != '\r') {
			lx->sub = 1;
		}
		return 0;

	case LX_PATH:
		if (c == '?' || c == ' ' || c == '\r' || c == '\n') {
			if (!(lx->flags & BV_LXF_NOMETHOD))
				bv_match_path(sc);
			if (c == '?' && (lx->sig & BV_SIG_BEACON)) {
				lx->st = LX_QNAME;
				bv_tok_reset(lx);
			} else {
				lx->st = c == '\n' ? LX_LINE : LX_REQ_REST;
			}
			return 0;
		}
		bv_tok_add(lx, c);
		return 0;

	case LX_QNAME:
	case LX_QVAL:
		if (c == ' ' || c == '\r' || c == '\n' || c == '#' || c == '&') {
			if (lx->st == LX_QVAL && lx->sub == Q_APP) {
				bv_note_app(lx);
				bv_lookup_app(lx, BV_APPKEY_APP);
			}
			if (lx->st == LX_QVAL && lx->sub == Q_TYPE && TOK_IS(lx, "m"))
				lx->sig |= BV_SIG_MOBILE;
			bv_id_end(sc);
			bv_tok_reset(lx);
			lx->st = c == '&' ? LX_QNAME : (c == '\n' ? LX_LINE : LX_REQ_REST);
			return 0;
		}
		if (lx->st == LX_QNAME) {
			if (c != '=') {
				bv_tok_add(lx, c);
				return 0;
			}
			lx->st = LX_QVAL;
			lx->sub = Q_SKIP;
			/* type= is the protocol's; the other keys are configured */
			roles = 0;
			if (TOK_IS(lx, "type"))
				lx->sub = Q_TYPE;
			else
				roles = bv_name_roles(lx, BV_NAME_QUERY);
			if (roles & BV_ROLE_VISITOR)
				lx->sub = Q_ID;
			else if (roles & BV_ROLE_APP_KEY)
				lx->sub = Q_APP;
			else if ((roles & BV_ROLE_DEVICE_SESSION) && (lx->sig & BV_SIG_MOBILE)) {
				/* a mobile agent's DEVICEID_SESSION: both parts are
				 * identifiers; the whole, the session hash */
				lx->sub = Q_MSI;
				lx->sub2 = 0;
				if (!(lx->flags & BV_LXF_SH)) {
					lx->flags |= BV_LXF_SH | BV_LXF_SH_Q;
					lx->sub2 = 2;
				}
			} else if ((roles & BV_ROLE_SESSION) && !(lx->flags & BV_LXF_SH)) {
				lx->sub = Q_SESS;
				lx->flags |= BV_LXF_SH | BV_LXF_SH_Q;
			}
			bv_tok_reset(lx);
			return 0;
		}
		if (lx->sub == Q_ID)
			bv_id_char(sc, pos);
		else if (lx->sub == Q_APP || lx->sub == Q_TYPE)
			bv_tok_add(lx, c);
		else if (lx->sub == Q_MSI) {
			/* sub2 bits: 1 past the '_', 2 hashing */
			if (lx->sub2 & 2)
				bv_shash_byte(&lx->sh, (__u8)c);
			/* the session number after '_' is one too, as the
			 * body's sn= is */
			if (c == '_' && !(lx->sub2 & 1)) {
				bv_id_end(sc);
				lx->sub2 |= 1;
			} else {
				bv_id_char(sc, pos);
			}
		}
		else if (lx->sub == Q_SESS)
			bv_shash_byte(&lx->sh, (__u8)c);
		return 0;

	case LX_REQ_REST:
		if (c == '\n')
			lx->st = LX_LINE;
		return 0;

	case LX_LINE:
		if (c == '\r') {
			lx->st = LX_LINE_CR;
			return 0;
		}
		if (c == '\n') {
			bv_end_headers(sc, pos);
			return 0;
		}
		if ((c == ' ' || c == '\t') && lx->hdr != H_OTHER) {
			/* obs-fold: the previous header value goes on */
			bv_ip_reset(lx);
			lx->st = LX_HVAL;
			return 0;
		}
		bv_tok_reset(lx);
		bv_tok_add(lx, bv_lower(c));
		lx->st = LX_HNAME;
		return 0;

	case LX_LINE_CR:
		if (c == '\n') {
			bv_end_headers(sc, pos);
			return 0;
		}
		lx->sig |= BV_SIG_MALFORMED;
		bv_malformed(sc, pos);
		return 0;

	case LX_HNAME:
		if (c == '\n') {  /* a line without a colon: ignore it */
			lx->st = LX_LINE;
			return 0;
		}
		if (c != ':') {
			if (c == ' ' || c == '\t') /* no space before ':' (RFC 9112) */
				lx->flags |= BV_LXF_TOKOVF;
			bv_tok_add(lx, bv_lower(c));
			return 0;
		}
		lx->hdr = bv_hdr_kind(lx);
		lx->sub = 0;
		lx->sub2 = 0;
		bv_tok_reset(lx);
		bv_ip_reset(lx);
		/* a request that is not a beacon: only its framing, and in a
		 * copy (sc->mask_other) its client addresses; with the
		 * Set-Cookie audit its Host (bv_audit.h) */
		if (!(lx->sig & BV_SIG_BEACON) && lx->hdr != H_CLEN && lx->hdr != H_TE &&
		    !(sc->mask_other && (lx->hdr == H_IPLIST || lx->hdr == H_FWD)) &&
		    !(lx->hdr == H_HOST && (sc->set.flags & BV_SETF_AUDIT)))
			lx->hdr = H_OTHER;
		if (lx->hdr == H_CLEN)
			lx->body_left = 0;
		lx->st = lx->hdr == H_OTHER ? LX_HSKIP : LX_HVAL;
		return 0;

	case LX_HSKIP:
		if (c == '\n')
			lx->st = LX_LINE;
		return 0;

	case LX_HVAL:
		if (c == '\n') {
			bv_hdr_done(sc);
			return 0;
		}
		if (c == '\r')
			return 0;
		switch (lx->hdr) {
		case H_DNT:
		case H_GPC:
			if (c == ' ' || c == '\t')
				return 0;
			lx->sub = (lx->sub == 0 && c == '1') ? 1 : 2;
			return 0;
		case H_HOST:
			if ((c == ' ' || c == '\t') && lx->tok_len == 0)
				return 0; /* leading OWS */
			if (c == ':' || c == ' ' || c == '\t')
				lx->sub = 1;
			else if (lx->sub == 0)
				bv_tok_add(lx, bv_lower(c));
			return 0;
		case H_COOKIE:
			bv_cookie_char(sc, pos, c);
			return 0;
		case H_IPLIST:
			bv_ip_char(sc, pos, c);
			return 0;
		case H_FWD:
			bv_fwd_char(sc, pos, c);
			return 0;
		case H_CLEN:
			if (c == ' ' || c == '\t')
				return 0;
			if (c < '0' || c > '9' || lx->body_left > BV_MAX_BODY / 10) {
				lx->sig |= BV_SIG_MALFORMED;
				bv_malformed(sc, pos);
				return 0;
			}
			lx->body_left = lx->body_left * 10 + (c - '0');
			lx->sig |= BV_SIG_HAS_CLEN;
			return 0;
		case H_TE:
		case H_CENC:
			if (c != ' ' && c != '\t' && c != ',')
				bv_tok_add(lx, bv_lower(c));
			return 0;
		}
		return 0;
	}
	return 0;
}

#endif /* BV_LEXBYTE_H */
