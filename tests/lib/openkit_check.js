#!/usr/bin/env node
// tests/lib/openkit_check.js — the byte-level checks of tests/e2e_openkit.sh:
// what OpenKit sent (tools/lab/openkit-client.js --record) against what the
// mobile collector logged (tools/lab/mbeacon-collector.js).
//
//   openkit_check.js compare --sent REC --got LOG --from N --to M
//        [--ip keep|mask] [--ids keep|pseudo] [--si keep|pseudo|any]
//        [--na keep|pseudo] [--crash keep|erase]
//     Pairs the client's requests (REC, in order) with the collector's
//     records on lines N..M-1 of LOG (0-based) and checks every byte:
//       ip=       keep: unchanged; mask: the /24 text (203.0.113.57 ->
//                 203.0.113.0) then '&' up to the original length; IPv6
//                 (%3A for ':') /48, each masked group's digits 0
//       vi=, sn=  keep: unchanged; pseudo: the same length and shape (a digit
//                 for a digit, a letter for a letter, %XX and anything else
//                 kept) and, vi= always and sn= when 4 characters or more,
//                 not the original
//       si=       (query) its device part, before '_': the same way; 'any':
//                 either; the session part: unchanged or the same shape
//       na=       of identify-user events (et=60): as vi=
//       crash     erase: every crash event (et=50, et=42) from its 'et=' to
//                 the byte before the next 'et=' (or the end) is '&'
//     and every other byte unchanged, the same length, Content-Length
//     equal to it and no Content-Encoding; then parses the body as
//     application/x-www-form-urlencoded and checks the events (their et=
//     sequence and every parameter) against the sent ones.
//     Prints "ok: ..." and "FAIL: ..." lines; exit 1 if any check failed.
//
//   openkit_check.js streams --tsv FILE --t0 T0 --t1 T1 --out FILE
//     FILE: tshark -T fields -e frame.time_epoch -e tcp.stream -e tcp.seq_raw
//     -e tcp.payload of the segments toward the collector. Writes the bytes
//     of the segments in [T0, T1], per TCP stream in sequence order (each
//     sequence number once), streams separated by a newline: text that grep
//     searches across segment boundaries. (Only the window's segments:
//     HAProxy reuses a backend connection for the next case's requests.)
//
//   openkit_check.js slice --got LOG --from N --to M --out FILE
//     The records' method, URL, headers and body bytes as they were received,
//     one record after the other: what grep searches for leaks.
'use strict';

const fs = require('fs');

function args(argv) {
	const o = {};
	for (let i = 0; i < argv.length; i++) {
		if (!argv[i].startsWith('--')) throw new Error(`unexpected ${argv[i]}`);
		o[argv[i].slice(2)] = argv[i + 1];
		i++;
	}
	return o;
}
const readJsonl = (f) => fs.readFileSync(f, 'utf8').split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l));
const show = (s, n = 160) => JSON.stringify(s.length > n ? s.slice(0, n) + '…' : s);

let nbad = 0;
const ok = (m) => console.log(`ok: ${m}`);
const bad = (m) => { console.log(`FAIL: ${m}`); nbad++; };
const note = (m) => console.log(`note: ${m}`);

// --- the body's parameters, with their offsets -----------------------------
function tokens(s) {
	const out = [];
	let off = 0;
	for (const t of s.split('&')) {
		const eq = t.indexOf('=');
		out.push({ off, len: t.length, key: eq < 0 ? t : t.slice(0, eq), voff: eq < 0 ? off + t.length : off + eq + 1, value: eq < 0 ? '' : t.slice(eq + 1) });
		off += t.length + 1;
	}
	return out;
}
const isDigit = (c) => c >= '0' && c <= '9';
const isLetter = (c) => (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
const isHex = (c) => /^[0-9A-Fa-f]$/.test(c);

// shapeOk(orig, got): a pseudonym of orig: digits for digits, letters for
// letters, %XX escapes and every other byte kept. Returns '' or why not.
function shapeWhy(orig, got) {
	if (got.length !== orig.length) return `length ${got.length}, not ${orig.length}`;
	for (let i = 0; i < orig.length; i++) {
		const c = orig[i], g = got[i];
		if (c === '%' && i + 2 < orig.length && isHex(orig[i + 1]) && isHex(orig[i + 2])) {
			if (got.slice(i, i + 3) !== orig.slice(i, i + 3)) return `the escape ${orig.slice(i, i + 3)} at ${i} became ${got.slice(i, i + 3)}`;
			i += 2;
		} else if (isDigit(c)) {
			if (!isDigit(g)) return `a digit at ${i} became ${JSON.stringify(g)}`;
		} else if (isLetter(c)) {
			if (!isLetter(g)) return `a letter at ${i} became ${JSON.stringify(g)}`;
		} else if (g !== c) {
			return `${JSON.stringify(c)} at ${i} became ${JSON.stringify(g)}`;
		}
	}
	return '';
}

// The masked text of a client address with the default prefixes: IPv4 /24
// ('&'-padded to its length: 203.0.113.57 -> 203.0.113.0&), IPv6 /48 as it
// travels in the form, with %3A for ':' (every digit after the third group
// a 0, the same length). IPv6 with '::' is not handled here.
function maskIp(v) {
	const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(v);
	if (m) {
		const t = `${m[1]}.${m[2]}.${m[3]}.0`;
		return t + '&'.repeat(v.length - t.length);
	}
	const g = v.split('%3A');
	if (g.length === 8 && g.every((x) => /^[0-9A-Fa-f]{1,4}$/.test(x))) {
		return g.map((x, i) => (i < 3 ? x : x.replace(/./g, '0'))).join('%3A');
	}
	return null;
}

// Check one field: rule keep | pseudo | any.
function field(what, rule, orig, got, minDiffer = 1) {
	if (rule === 'keep') {
		if (got === orig) return { ok: true, msg: `${what} kept (${show(orig, 40)})` };
		return { ok: false, msg: `${what} is ${show(got, 60)}, the client sent ${show(orig, 60)}: it must pass unchanged` };
	}
	const why = shapeWhy(orig, got);
	if (why) return { ok: false, msg: `${what}: ${show(got, 60)} is no pseudonym of the same shape as the client's ${show(orig, 60)} (${why})` };
	if (got === orig) {
		if (rule === 'any') return { ok: true, msg: `${what} kept (${show(orig, 40)})` };
		if (orig.length < minDiffer) return { ok: true, note: true, msg: `${what} ${show(orig)} equals the original (${orig.length} character(s): a pseudonym may)` };
		return { ok: false, msg: `${what} still the client's ${show(orig, 60)}: not replaced` };
	}
	return { ok: true, msg: `${what} ${show(orig, 40)} -> ${show(got, 40)} (same shape)` };
}

// Events of a parsed body: the parameters before the first et= (the
// beacon's header), then one list per event.
function events(params) {
	const head = [], evs = [];
	for (const [k, v] of params) {
		if (k === 'et') evs.push([[k, v]]);
		else if (evs.length) evs[evs.length - 1].push([k, v]);
		else head.push([k, v]);
	}
	return { head, evs };
}
const isCrash = (ev) => ev[0][1] === '50' || ev[0][1] === '42';

function compareBody(what, S, G, o) {
	const res = [];
	const rewritten = new Array(S.length).fill(false);
	const mark = (a, n) => { for (let i = a; i < a + n; i++) rewritten[i] = true; };
	if (G.length !== S.length) bad(`${what}: the body is ${G.length} bytes at the collector, ${S.length} as sent: its length must be kept`);
	const tk = tokens(S);
	let ev = null;
	const etStarts = tk.filter((t) => t.key === 'et').map((t) => t.off);
	for (const t of tk) {
		if (t.key === 'et') ev = t.value;
		const gotv = G.slice(t.voff, t.voff + t.value.length);
		if (t.key === 'ip' && ev === null) {
			if (o.ip === 'mask') {
				const want = maskIp(t.value);
				if (want === null) { bad(`${what}: ip=${t.value}: the test masks IPv4 and full-form IPv6 (%3A) only`); continue; }
				mark(t.voff, t.value.length);
				if (gotv === want) res.push({ ok: true, msg: `ip=${t.value} -> ip=${gotv} ('&'-padded)` });
				else res.push({ ok: false, msg: `ip= is ${show(gotv)}, expected ${show(want)} (the client sent ${t.value})` });
			} else {
				res.push(field('ip=', 'keep', t.value, gotv));
			}
		} else if ((t.key === 'vi' || t.key === 'sn') && ev === null) {
			mark(t.voff, t.value.length);
			res.push(field(`${t.key}=`, o.ids, t.value, gotv, t.key === 'sn' ? 4 : 1));
		} else if (t.key === 'na' && ev === '60') {
			mark(t.voff, t.value.length);
			res.push(field('et=60 na= (user tag)', o.na, t.value, gotv));
		}
	}
	// Crash events.
	for (const t of tk) {
		if (t.key !== 'et' || (t.value !== '50' && t.value !== '42')) continue;
		const next = etStarts.find((x) => x > t.off);
		const end = next === undefined ? S.length : next;
		const span = S.slice(t.off, end);
		const gspan = G.slice(t.off, end);
		if (o.crash === 'erase') {
			mark(t.off, end - t.off);
			if (gspan === '&'.repeat(end - t.off)) res.push({ ok: true, msg: `crash event et=${t.value} (${end - t.off} bytes) erased to '&'` });
			else res.push({ ok: false, msg: `crash event et=${t.value} not erased: the collector got ${show(gspan, 120)} (sent ${show(span, 120)})` });
		} else if (gspan === span) {
			res.push({ ok: true, msg: `crash event et=${t.value} kept` });
		} else {
			res.push({ ok: false, msg: `crash event et=${t.value} changed: ${show(gspan, 120)}, sent ${show(span, 120)}` });
		}
	}
	for (const r of res) (r.ok ? (r.note ? note : ok) : bad)(`${what}: ${r.msg}`);
	// Every other byte.
	const diffs = [];
	for (let i = 0; i < Math.min(S.length, G.length); i++) if (!rewritten[i] && S[i] !== G[i]) diffs.push(i);
	if (diffs.length === 0) ok(`${what}: every other byte of the ${S.length} is as sent`);
	else {
		const i = diffs[0];
		bad(`${what}: ${diffs.length} bytes outside the rewritten fields differ, the first at ${i}: sent ${show(S.slice(Math.max(0, i - 20), i + 40))}, got ${show(G.slice(Math.max(0, i - 20), i + 40))}`);
	}

	// Parsed as a form, as a collector would.
	const sp = events([...new URLSearchParams(S)]);
	const gp = events([...new URLSearchParams(G)]);
	const wantEvs = sp.evs.filter((e) => !(o.crash === 'erase' && isCrash(e)));
	const seq = (evs) => evs.map((e) => e[0][1]).join(',');
	if (seq(gp.evs) === seq(wantEvs)) ok(`${what}: parsed as a form: events et=${seq(gp.evs)}${o.crash === 'erase' ? ` (sent: ${seq(sp.evs)})` : ''}`);
	else bad(`${what}: parsed as a form: events et=${seq(gp.evs)}, expected ${seq(wantEvs)} (sent: ${seq(sp.evs)})`);
	const pseudo = (k, et) => (o.ids !== 'keep' && et === null && (k === 'vi' || k === 'sn')) || (o.na !== 'keep' && et === '60' && k === 'na') || (et === null && k === 'ip');
	const cmpList = (label, w, g, et) => {
		const wk = w.map((p) => p[0]).join('&'), gk = g.map((p) => p[0]).join('&');
		if (wk !== gk) return `${label}: parameters ${gk}, expected ${wk}`;
		for (let i = 0; i < w.length; i++) {
			if (pseudo(w[i][0], et)) continue;
			if (w[i][1] !== g[i][1]) return `${label}: ${w[i][0]}=${show(g[i][1], 60)}, sent ${show(w[i][1], 60)}`;
		}
		return '';
	};
	const errs = [];
	const h = cmpList('beacon header', sp.head, gp.head, null);
	if (h) errs.push(h);
	if (o.ip === 'mask') {
		const ip = gp.head.find((p) => p[0] === 'ip');
		const raw = tokens(S).find((t) => t.key === 'ip');
		const want = raw ? maskIp(raw.value) : null;
		if (ip && want !== null && ip[1] !== decodeURIComponent(want.replace(/&+$/, ''))) {
			errs.push(`ip parses as ${show(ip[1])}, not ${show(decodeURIComponent(want.replace(/&+$/, '')))}`);
		}
	}
	if (seq(gp.evs) === seq(wantEvs)) {
		for (let i = 0; i < wantEvs.length; i++) {
			const e = cmpList(`event ${i + 1} (et=${wantEvs[i][0][1]})`, wantEvs[i], gp.evs[i], wantEvs[i][0][1]);
			if (e) errs.push(e);
		}
	}
	if (errs.length === 0) ok(`${what}: parsed as a form: header and every event's parameters as sent${o.ids !== 'keep' || o.na !== 'keep' || o.ip === 'mask' ? ' (but for the replaced values)' : ''}`);
	else bad(`${what}: parsed as a form: ${errs.join('; ')}`);
}

function compareUrl(what, sentUrl, gotUrl, o) {
	const u = new URL(sentUrl);
	const S = u.pathname + u.search;
	const si = /[?&]si=([^&]*)/.exec(S);
	if (!si) {
		if (gotUrl === S) ok(`${what}: the URL as sent`);
		else bad(`${what}: the URL is ${show(gotUrl)}, sent ${show(S)}`);
		return;
	}
	const start = si.index + si[0].indexOf('=') + 1;
	const val = si[1];
	const us = val.indexOf('_');
	const dev = us < 0 ? val : val.slice(0, us);
	const rest = us < 0 ? '' : val.slice(us);
	if (gotUrl.length !== S.length) { bad(`${what}: the URL is ${gotUrl.length} bytes, sent ${S.length}: ${show(gotUrl)}`); return; }
	if (gotUrl.slice(0, start) !== S.slice(0, start) || gotUrl.slice(start + val.length) !== S.slice(start + val.length)) {
		bad(`${what}: the URL outside si= differs: ${show(gotUrl)}, sent ${show(S)}`);
	}
	const gdev = gotUrl.slice(start, start + dev.length);
	const grest = gotUrl.slice(start + dev.length, start + val.length);
	const r = field('si= device part', o.si, dev, gdev);
	(r.ok ? (r.note ? note : ok) : bad)(`${what}: ${r.msg}`);
	if (grest === rest) ok(`${what}: si= session part ${rest} kept`);
	else {
		const why = shapeWhy(rest, grest);
		if (why) bad(`${what}: si= session part ${show(grest)} (sent ${show(rest)}): ${why}`);
		else note(`${what}: si= session part ${rest} -> ${grest} (same shape)`);
	}
}

function header(rec, name) {
	const h = rec.headers || [];
	const out = [];
	for (let i = 0; i + 1 < h.length; i += 2) if (h[i].toLowerCase() === name) out.push(h[i + 1]);
	return out;
}

function cmdCompare(o) {
	o.ip = o.ip || 'keep'; o.ids = o.ids || 'keep'; o.si = o.si || o.ids; o.na = o.na || 'keep'; o.crash = o.crash || 'keep';
	const sent = readJsonl(o.sent);
	const got = readJsonl(o.got).slice(Number(o.from), Number(o.to));
	const label = o.case || 'case';
	if (got.length !== sent.length) {
		bad(`${label}: the client made ${sent.length} requests (${sent.map((r) => r.method).join(' ')}), the collector logged ${got.length} (${got.map((r) => r.method).join(' ')})`);
	} else {
		ok(`${label}: the collector logged all ${sent.length} requests the client made (${sent.map((r) => r.method).join(' ')})`);
	}
	const n = Math.min(sent.length, got.length);
	for (let i = 0; i < n; i++) {
		const s = sent[i], g = got[i];
		const what = `${label} request ${i + 1} (${s.method}${s.body !== null ? `, ${Buffer.byteLength(s.body, 'latin1')}-byte body` : ''})`;
		if (g.method !== s.method) { bad(`${what}: the collector got a ${g.method}`); continue; }
		compareUrl(what, s.url, g.url, o);
		if (g.aborted) bad(`${what}: the collector's connection closed before the body ended`);
		const G = Buffer.from(g.body_b64, 'base64').toString('latin1');
		if (s.body === null) {
			if (G.length !== 0) bad(`${what}: the collector got a ${G.length}-byte body`);
			continue;
		}
		const S = Buffer.from(s.body, 'utf8').toString('latin1');
		const cl = header(g, 'content-length');
		if (cl.length === 1 && Number(cl[0]) === G.length && G.length === S.length) ok(`${what}: Content-Length ${cl[0]}, the body's length, as sent`);
		else bad(`${what}: Content-Length ${JSON.stringify(cl)}, body ${G.length} bytes, sent ${S.length}`);
		const ce = header(g, 'content-encoding');
		if (ce.length) bad(`${what}: Content-Encoding ${ce.join(',')}`);
		compareBody(what, S, G, o);
	}
	process.exit(nbad ? 1 : 0);
}

function cmdStreams(o) {
	const t0 = Number(o.t0), t1 = Number(o.t1);
	const streams = new Map();
	const lines = fs.existsSync(o.tsv) ? fs.readFileSync(o.tsv, 'utf8').split('\n') : [];
	for (const l of lines) {
		const [t, st, seq, hex] = l.split('\t');
		if (!hex) continue;
		const tt = Number(t);
		if (!(tt >= t0 && tt <= t1)) continue;
		if (!streams.has(st)) streams.set(st, { segs: new Map() });
		const s = streams.get(st);
		if (!s.segs.has(seq)) s.segs.set(seq, Buffer.from(hex.replace(/:/g, ''), 'hex'));
	}
	const out = [];
	for (const s of streams.values()) {
		const segs = [...s.segs.entries()].sort((a, b) => Number(a[0]) - Number(b[0]));
		out.push(Buffer.concat(segs.map((x) => x[1])), Buffer.from('\n'));
	}
	fs.writeFileSync(o.out, Buffer.concat(out));
	console.log(out.length / 2);
}

function cmdSlice(o) {
	const got = readJsonl(o.got).slice(Number(o.from), Number(o.to));
	const out = [];
	for (const g of got) {
		out.push(Buffer.from(`${g.method} ${g.url}\n${(g.headers || []).join('\n')}\n\n`, 'latin1'), Buffer.from(g.body_b64, 'base64'), Buffer.from('\n'));
	}
	fs.writeFileSync(o.out, Buffer.concat(out));
	console.log(got.length);
}

const [cmd, ...rest] = process.argv.slice(2);
const o = args(rest);
if (cmd === 'compare') cmdCompare(o);
else if (cmd === 'streams') cmdStreams(o);
else if (cmd === 'slice') cmdSlice(o);
else { console.error('usage: openkit_check.js compare|streams|slice ...'); process.exit(2); }
