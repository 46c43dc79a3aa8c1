/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Streaming, length-preserving masking of one textual IP address, one
 * character at a time. The output for a character depends only on the
 * characters before it, so an address cut by a TCP segment boundary is
 * masked the same way in both segments without buffering either.
 *
 * Rules (documented in docs/MASKING.md):
 *  - Text keeps whole octets (IPv4) / groups (IPv6): ipv4_prefix/8 octets,
 *    ipv6_prefix/16 groups. A partial octet/group is masked entirely.
 *  - IPv4: from the first masked octet on, the output is "0", ".0" for each
 *    further octet, then spaces: "203.0.113.57" /24 -> "203.0.113.0 ".
 *    Spaces, not zero padding, because glibc inet_pton rejects "00". The
 *    caller may pick another padding character (cfg.pad): Forwarded uses
 *    ';' (RFC 7239 allows no space inside an element, but empty pairs).
 *  - IPv6: every hex digit of a masked group becomes '0', separators stay:
 *    "2001:db8:85a3:8d3::7348" /48 -> "2001:db8:85a3:000::0000" (valid).
 *    After a "::" the group index is unknown, so every later group is
 *    masked (reveals less, never more).
 *  - A token that turns out not to be an address is copied unchanged from
 *    the point where that is known; every character emitted before then
 *    was either kept-prefix or already masked.
 *  - ip_mask=public: private ranges are left alone when they can be told
 *    from the kept prefix; when they cannot, the address is masked.
 * The caller feeds only characters of [0-9A-Fa-f:.] and resets the state
 * (zeroes it) at every other character.
 */
#ifndef BV_TEXTMASK_H
#define BV_TEXTMASK_H

#include "bv_flow.h"

#define BV_IPM_MASKING  0x01 /* inside the masked part */
#define BV_IPM_DCOLON   0x02 /* IPv6 "::" seen */
#define BV_IPM_COLON    0x04 /* previous character was ':' */
#define BV_IPM_VERBATIM 0x08 /* not an address, or private: copy */
#define BV_IPM_ZERO     0x10 /* masking style: hex digit -> '0' */
#define BV_IPM_COUNTED  0x20 /* caller counted this address */

struct bv_ipm_cfg {
	__u8 keep4;       /* octets kept */
	__u8 keep6;       /* groups kept */
	__u8 public_only; /* leave private ranges */
	char pad;         /* IPv4 padding after the masked tail; 0: ' ' */
};

static __always_inline int bv_hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static __always_inline int bv_is_ipchar(char c)
{
	return bv_hexval(c) >= 0 || c == ':' || c == '.';
}

/* Is the address private, judged from what we saw before masking starts?
 * Returns 1 private, 0 public or cannot tell (then: mask). */
static __always_inline int bv_ipm_private(const struct bv_ipm *s)
{
	if (s->fam == 4) {
		__u16 a = s->first, b = s->second;

		if (s->idx < 1)
			return 0;
		if (a == 10 || a == 127)
			return 1;
		if (s->idx < 2)
			return 0;
		return (a == 172 && (b & 0xf0) == 16) || (a == 192 && b == 168) ||
		       (a == 169 && b == 254) || (a == 100 && (b & 0xc0) == 64);
	}
	if (s->fam == 6 && s->idx >= 1)
		return (s->first & 0xfe00) == 0xfc00 || (s->first & 0xffc0) == 0xfe80;
	return 0;
}

/* Start masking at the current character; returns its output. */
static __always_inline char bv_ipm_begin(struct bv_ipm *s, const struct bv_ipm_cfg *cfg)
{
	if (cfg->public_only && bv_ipm_private(s)) {
		s->flags |= BV_IPM_VERBATIM;
		return 0;
	}
	s->flags |= BV_IPM_MASKING;
	if (s->fam != 4)
		s->flags |= BV_IPM_ZERO;
	s->tail = 1;
	return '0';
}

/* Feed one address character, get the character to put in its place. */
static __always_inline char bv_ipm_step(struct bv_ipm *s, char c, const struct bv_ipm_cfg *cfg)
{
	int h = bv_hexval(c);
	char out;

	if (s->flags & BV_IPM_VERBATIM)
		return c;
	if (s->flags & BV_IPM_MASKING) {
		if (s->flags & BV_IPM_ZERO)
			return h >= 0 ? '0' : c;
		/* IPv4 tail "0.0.0" for the masked octets, then padding */
		out = cfg->pad ? cfg->pad : ' ';
		if (s->tail < 2 * (4 - s->keep) - 1)
			out = (s->tail & 1) ? '.' : '0';
		s->tail++;
		return out;
	}

	if (h >= 0) {
		if (h > 9 && s->fam == 0) {
			s->fam = 6;
			s->keep = cfg->keep6;
		}
		if (s->fam == 4 && h > 9)
			goto verbatim;
		s->ndig++;
		if (s->ndig > 4 || (s->fam == 4 && s->ndig > 3))
			goto verbatim;
		if (s->fam == 4)
			s->val = s->val * 10 + h;
		else
			s->val = (s->val << 4) | h;
		s->flags &= ~BV_IPM_COLON;
		if (s->ndig == 1) {
			/* first character of an octet/group: masked from here? */
			if (s->fam == 0) {
				/* family unknown yet and one family masks from the
				 * first character on: mask (public_only cannot tell).
				 * The IPv4 tail "0.0.0.0" is valid whatever follows. */
				if (cfg->keep4 == 0) {
					s->flags |= BV_IPM_MASKING;
					s->tail = 1;
					return '0';
				}
				if (cfg->keep6 == 0) {
					s->flags |= BV_IPM_MASKING | BV_IPM_ZERO;
					return '0';
				}
			} else if (s->idx >= s->keep ||
				   ((s->flags & BV_IPM_DCOLON) && s->keep < 8)) {
				out = bv_ipm_begin(s, cfg);
				return out ? out : c;
			}
		}
		return c;
	}

	if (c == '.') {
		if (s->fam == 0) {
			s->fam = 4;
			s->keep = cfg->keep4;
			/* the first group was read as hex: re-read it as decimal */
			s->val = ((s->val >> 8) & 0xf) * 100 + ((s->val >> 4) & 0xf) * 10 + (s->val & 0xf);
		}
		if (s->fam == 6) {
			/* embedded IPv4 in IPv6: mask it all from here */
			s->flags |= BV_IPM_MASKING | BV_IPM_ZERO;
			return c;
		}
		if (s->ndig == 0 || s->val > 255 || s->idx >= 3)
			goto verbatim;
		if (s->idx == 0)
			s->first = s->val;
		else if (s->idx == 1)
			s->second = s->val;
		s->idx++;
		s->ndig = 0;
		s->val = 0;
		return c;
	}

	/* ':' */
	if (s->fam == 4)
		goto verbatim; /* a port after a kept address */
	if (s->fam == 0) {
		s->fam = 6;
		s->keep = cfg->keep6;
	}
	if (s->flags & BV_IPM_COLON) {
		if (s->flags & BV_IPM_DCOLON)
			goto verbatim; /* two "::" */
		s->flags |= BV_IPM_DCOLON;
		return c;
	}
	if (s->ndig > 0) {
		if (s->idx == 0)
			s->first = s->val;
		s->idx++;
	} else if (s->idx > 0) {
		goto verbatim; /* ":" after nothing, not at the start */
	}
	if (s->idx > 7)
		goto verbatim;
	s->ndig = 0;
	s->val = 0;
	s->flags |= BV_IPM_COLON;
	return c;

verbatim:
	s->flags |= BV_IPM_VERBATIM;
	return c;
}

#endif /* BV_TEXTMASK_H */
