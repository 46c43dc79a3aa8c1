/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The HTTP/1.x request scanner. It runs over one TCP segment's payload,
 * copied into the CPU's scratch buffer, as a resumable state machine: every
 * token that may be cut by a segment boundary (header names, cookie names,
 * addresses, identifiers) is carried in struct bv_lexer, never as bytes of
 * an earlier packet. Rewrites happen in the scratch copy; the caller writes
 * the changed range back and fixes the TCP checksum.
 *
 * Driven by bpf_loop(): the callback consumes one byte, or a whole run of
 * bytes in states that only look for a delimiter (word-at-a-time search).
 */
#ifndef BV_HTTP_H
#define BV_HTTP_H

#include "bv_runs.h"

struct bv_scan_ctx {
	struct bv_scratch *sc;
};

static long bv_scan_cb(__u64 i, void *vctx)
{
	struct bv_scan_ctx *x = vctx;
	struct bv_scratch *sc = x->sc;
	struct bv_lexer *lx;
	__u32 pos, len, next;
	int r;

	if (!sc)
		return 1;
	lx = &sc->lx;
	pos = sc->pos;
	len = sc->len;
	if (pos >= len || len > BV_SCRATCH_LEN)
		return 1;

	/* states that only wait for a delimiter skip ahead a word at a time */
	switch (lx->st) {
	case LX_BODY: {
		__u32 n = len - pos;

		if (n > lx->body_left)
			n = lx->body_left;
		lx->body_left -= n;
		sc->pos = pos + n;
		if (lx->body_left == 0)
			lx->st = LX_IDLE;
		return 0;
	}
	case LX_CHUNK_DATA: {
		__u32 n = len - pos;

		if (n > lx->body_left)
			n = lx->body_left;
		lx->body_left -= n;
		sc->pos = pos + n;
		if (lx->body_left == 0)
			lx->st = LX_CHUNK_CRLF;
		return 0;
	}
	case LX_OPAQUE:
	case LX_DROPALL:
		sc->pos = len;
		return 1;
	case LX_HSKIP:
		next = bv_find2(sc, pos, '\n', '\n');
		goto skipped;
	case LX_REQ_REST:
		next = bv_find2(sc, pos, '\n', '\n');
		goto skipped;
	case LX_HVAL:
		if (lx->hdr == H_COOKIE && lx->sub == C_SKIP) {
			next = bv_find2(sc, pos, ';', '\n');
			goto skipped;
		}
		break;
	}
	r = bv_run(sc);
	if (r == 2)
		return 0;
	if (r) {
		/* and the delimiter that ended the run */
		pos = sc->pos;
		if (pos >= len)
			return 0;
	}
	bv_lex_byte(sc, pos);
	sc->pos = pos + 1;
	return 0;

skipped:
	if (next > len)
		next = len;
	lx->hdr_bytes += next - pos;
	if (next < len) {
		bv_lex_byte(sc, next);
		next++;
	}
	sc->pos = next;
	return 0;
}

#endif /* BV_HTTP_H */
