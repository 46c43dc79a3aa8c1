#!/usr/bin/env node
// tools/lab/mbeacon-collector.js — the lab's collector of mobile beacons
// (docs/LAB.md): what a Dynatrace cluster's /mbeacon endpoint is to OpenKit,
// small enough to log every byte it gets.
//
//   node mbeacon-collector.js --log FILE --listen ADDR:PORT [--listen ...]
//
// Answers every request on /mbeacon and /mbeacon/<env> (OpenKit's status
// request, new-session request and beacon POSTs alike) with 200 and the JSON
// status OpenKit needs before it sends anything (capture on, crashes and
// errors reported, one server). Anything else: 404. /healthz: 200, not
// logged (the lab's readiness probe).
//
// Logs one JSON object per request and line to FILE, written when the
// request has ended:
//   {"t": ms since the epoch, "port": local port, "peer": "addr port",
//    "method", "url", "version": "1.1",
//    "headers": [name, value, ...]   (as received: order, case, repeats),
//    "body": the body as a string, one character per byte (latin1), JSON-
//            escaped: grep finds text in it; Buffer.from(body, 'latin1')
//            gives the bytes back,
//    "body_b64": the same bytes in base64, "body_len": their count,
//    "aborted": true if the connection closed before the body ended}
// Nothing is parsed or decoded: this is what the collector was given.
'use strict';

const http = require('http');
const fs = require('fs');

function usage(msg) {
	if (msg) process.stderr.write(`mbeacon-collector: ${msg}\n`);
	process.stderr.write('usage: mbeacon-collector.js --log FILE --listen ADDR:PORT [--listen ADDR:PORT ...]\n');
	process.exit(2);
}

let logFile = null;
const listens = [];
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
	const a = argv[i];
	if (a === '--log' && i + 1 < argv.length) logFile = argv[++i];
	else if (a === '--listen' && i + 1 < argv.length) listens.push(argv[++i]);
	else usage(`unknown argument ${a}`);
}
if (!logFile || listens.length === 0) usage();

const log = fs.openSync(logFile, 'a');
const isBeaconPath = (p) => /^\/mbeacon(\/[^/?#]+)?$/.test(p);

function status() {
	return JSON.stringify({
		mobileAgentConfig: { maxBeaconSizeKb: 150 },
		appConfig: { capture: 1, reportCrashes: 1, reportErrors: 1 },
		dynamicConfig: { multiplicity: 1, serverId: 1 },
		timestamp: Date.now(),
	});
}

function handle(req, res) {
	const chunks = [];
	let aborted = false;
	req.on('data', (c) => chunks.push(c));
	req.on('aborted', () => { aborted = true; });
	const path = req.url.split('?')[0];
	// (the socket may be gone by 'close')
	const port = req.socket.localPort;
	const peer = `${req.socket.remoteAddress} ${req.socket.remotePort}`;
	req.on('close', () => {
		if (path === '/healthz') return;
		const body = Buffer.concat(chunks);
		const rec = {
			t: Date.now(),
			port,
			peer,
			method: req.method,
			url: req.url,
			version: req.httpVersion,
			headers: req.rawHeaders,
			body: body.toString('latin1'),
			body_b64: body.toString('base64'),
			body_len: body.length,
		};
		if (aborted || !req.complete) rec.aborted = true;
		// One write per record: lines never interleave.
		fs.writeSync(log, JSON.stringify(rec) + '\n');
	});
	req.on('end', () => {
		if (path === '/healthz') {
			res.writeHead(200, { 'Content-Type': 'text/plain' });
			res.end('ok\n');
		} else if (isBeaconPath(path)) {
			// The application id is the one asked for: OpenKit stops
			// capturing when the answer names another application.
			const app = new URL(req.url, 'http://x').searchParams.get('app');
			const s = JSON.parse(status());
			if (app) s.appConfig.applicationId = app;
			const b = JSON.stringify(s);
			res.writeHead(200, {
				'Content-Type': 'application/json',
				'Content-Length': Buffer.byteLength(b),
				'Cache-Control': 'no-store',
			});
			res.end(b);
		} else {
			res.writeHead(404, { 'Content-Type': 'text/plain' });
			res.end('not found\n');
		}
	});
}

let pending = listens.length;
for (const l of listens) {
	const m = /^\[?([^\]]+?)\]?:(\d+)$/.exec(l);
	if (!m) usage(`bad --listen ${l}`);
	const srv = http.createServer(handle);
	srv.keepAliveTimeout = 30000;
	srv.headersTimeout = 10000;
	srv.requestTimeout = 10000;
	srv.on('error', (e) => {
		process.stderr.write(`mbeacon-collector: ${l}: ${e.message}\n`);
		process.exit(1);
	});
	srv.listen({ host: m[1], port: Number(m[2]) }, () => {
		process.stderr.write(`mbeacon-collector: listening on ${l}\n`);
		if (--pending === 0) process.stderr.write(`mbeacon-collector: ready: pid ${process.pid}, log ${logFile}\n`);
	});
}
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => process.exit(0));
