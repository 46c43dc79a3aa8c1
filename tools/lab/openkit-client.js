#!/usr/bin/env node
// tools/lab/openkit-client.js — the lab's mobile client: Dynatrace OpenKit for
// JavaScript (npm @dynatrace/openkit-js, pinned in tools/lab/openkit/, put in
// $BUILD/lab/openkit by tools/deps/npm.sh) sending one session through the
// lab's load balancer, as a mobile app would (docs/LAB.md).
//
//   node openkit-client.js --url http://198.19.80.80/mbeacon [options]
//
//   --url URL          the beacon endpoint (OpenKit adds ?type=m&...)
//   --app ID           application id (app=), default APPID
//   --device-id N      device id (vi=, si=), default 4282691011098906; OpenKit
//                      itself replaces it by a random one below dl=2
//   --dl 0|1|2         the client's data collection level (off, performance,
//                      user behavior), default 2
//   --cl 0|1|2         the client's crash reporting level (off, opt-out,
//                      opt-in), default 2
//   --ip ADDR          the client address OpenKit puts in the body (ip=),
//                      default 203.0.113.57; '' for none
//   --user TAG         identifyUser(TAG) (et=60 na=); '' for none;
//                      default jane.doe@example.com
//   --action NAME      enterAction(NAME) ... leaveAction() (et=1), default
//                      Checkout; '' for none
//   --error NAME:CODE  reportError inside the action (et=40), default oops:42;
//                      '' for none
//   --crash NAME       session.reportCrash(NAME, --crash-reason,
//                      --crash-stack) (et=50), default NullPointer; '' none
//   --crash-reason S   default 'reason text'
//   --crash-stack S    default 'at foo.bar(Baz.java:1)\nat x' (with a real
//                      newline)
//   --random-sn        SessionNumberStrategy.Random: a long session number
//   --record FILE      every request OpenKit made, as JSON lines: method,
//                      url, body (exactly the string handed to fetch),
//                      status (0: no answer), ms
//   --init-timeout S   how long to wait for OpenKit's status request to be
//                      answered, default 10
//   --timeout S        the whole run, default 30; then exit 3
//
// Prints one JSON object on stdout when OpenKit has shut down (all beacons
// sent, or given up): {"initialized", "deviceId" (the vi= OpenKit sent, if
// it sent a beacon), "deviceIdGiven", "userTag", "sessionNumber", "dl",
// "cl", "requests": [{method, url, status}], "elapsed_ms"}. Exit 0 when
// OpenKit initialised and shut down, 2 when its status request got no valid
// answer (it then sends nothing), 3 on --timeout, 1 on other errors.
'use strict';

const fs = require('fs');
const path = require('path');

const opts = {
	url: null, app: 'APPID', deviceId: '4282691011098906', dl: 2, cl: 2,
	ip: '203.0.113.57', user: 'jane.doe@example.com', action: 'Checkout',
	error: 'oops:42', crash: 'NullPointer', crashReason: 'reason text',
	crashStack: 'at foo.bar(Baz.java:1)\nat x', randomSn: false,
	record: null, initTimeout: 10, timeout: 30,
};
const argv = process.argv.slice(2);
function usage(msg) {
	if (msg) process.stderr.write(`openkit-client: ${msg}\n`);
	process.stderr.write('usage: openkit-client.js --url URL [--app ID] [--device-id N] [--dl N] [--cl N] [--ip A] [--user T] [--action A] [--error N:C] [--crash N] [--random-sn] [--record FILE] [--init-timeout S] [--timeout S]\n');
	process.exit(1);
}
const take = (i) => {
	if (i + 1 >= argv.length) usage(`${argv[i]} needs a value`);
	return argv[i + 1];
};
for (let i = 0; i < argv.length; i++) {
	const a = argv[i];
	const key = {
		'--url': 'url', '--app': 'app', '--device-id': 'deviceId', '--dl': 'dl', '--cl': 'cl',
		'--ip': 'ip', '--user': 'user', '--action': 'action', '--error': 'error',
		'--crash': 'crash', '--crash-reason': 'crashReason', '--crash-stack': 'crashStack',
		'--record': 'record', '--init-timeout': 'initTimeout', '--timeout': 'timeout',
	}[a];
	if (a === '--random-sn') opts.randomSn = true;
	else if (key) { opts[key] = take(i); i++; }
	else usage(`unknown argument ${a}`);
}
if (!opts.url) usage('--url is required');
for (const k of ['dl', 'cl', 'initTimeout', 'timeout']) {
	opts[k] = Number(opts[k]);
	if (!Number.isFinite(opts[k])) usage(`--${k}: not a number`);
}

// OpenKit: from NODE_PATH, or from the build directory next to this script.
let openkit;
try {
	openkit = require('@dynatrace/openkit-js');
} catch (e) {
	const root = path.resolve(__dirname, '../..');
	const build = process.env.BUILD ? path.resolve(root, process.env.BUILD) : path.join(root, 'build');
	try {
		openkit = require(path.join(build, 'lab/openkit/node_modules/@dynatrace/openkit-js'));
	} catch (e2) {
		process.stderr.write(`openkit-client: cannot load @dynatrace/openkit-js (${e2.message}); run tools/deps/npm.sh\n`);
		process.exit(1);
	}
}

// Every request OpenKit makes goes through fetch (its FetchHttpClient): note
// it, exactly as handed over, and its answer.
const requests = [];
let inFlight = 0;
const rec = opts.record ? fs.openSync(opts.record, 'a') : null;
const realFetch = globalThis.fetch;
const t0 = Date.now();
globalThis.fetch = async (url, init = {}) => {
	const r = { method: init.method || 'GET', url: String(url), body: init.body === undefined ? null : String(init.body), status: 0, ms: 0 };
	requests.push(r);
	inFlight++;
	const start = Date.now();
	const write = () => {
		inFlight--;
		r.ms = Date.now() - start;
		if (rec !== null) fs.writeSync(rec, JSON.stringify(r) + '\n');
	};
	try {
		const res = await realFetch(url, init);
		r.status = res.status;
		write();
		return res;
	} catch (e) {
		r.error = String(e.cause ? e.cause.code || e.cause.message || e.cause : e.message);
		write();
		throw e;
	}
};

const param = (body, name) => {
	if (body === null) return null;
	for (const kv of body.split('&')) {
		if (kv.startsWith(name + '=')) return kv.slice(name.length + 1);
	}
	return null;
};

function finish(code, initialized) {
	const posts = requests.filter((r) => r.method === 'POST' && r.body !== null);
	const first = posts.length ? posts[0].body : null;
	const out = {
		initialized,
		deviceIdGiven: opts.deviceId,
		deviceId: param(first, 'vi'),
		sessionNumber: param(first, 'sn'),
		userTag: opts.user,
		dl: opts.dl,
		cl: opts.cl,
		requests: requests.map((r) => ({ method: r.method, url: r.url, status: r.status, ...(r.error ? { error: r.error } : {}) })),
		elapsed_ms: Date.now() - t0,
	};
	clearTimeout(hard);
	process.stdout.write(JSON.stringify(out) + '\n');
	process.exit(code);
}

const hard = setTimeout(() => {
	process.stderr.write(`openkit-client: not done after ${opts.timeout} s\n`);
	finish(3, null);
}, opts.timeout * 1000);

// A decimal device id within Number's safe range is OpenKit's as it is (vi=);
// anything else OpenKit hashes.
const devId = /^[0-9]{1,16}$/.test(opts.deviceId) && Number(opts.deviceId) <= Number.MAX_SAFE_INTEGER
	? Number(opts.deviceId) : opts.deviceId;
const builder = new openkit.OpenKitBuilder(opts.url, opts.app, devId)
	.withApplicationVersion('1.0')
	.withOperatingSystem('Linux')
	.withDataCollectionLevel(opts.dl)
	.withCrashReportingLevel(opts.cl)
	.withLogLevel(openkit.LogLevel.Error);
if (opts.randomSn) builder.withSessionNumberStrategy(1);
const ok = builder.build();

// Ends the run once no request is in flight any more.
function finishWhenIdle(code, initialized) {
	if (inFlight === 0) finish(code, initialized);
	else setTimeout(() => finishWhenIdle(code, initialized), 20);
}

ok.waitForInit((initialized) => {
	if (!initialized) {
		// OpenKit got no valid status answer and will send nothing.
		ok.shutdown();
		finishWhenIdle(2, false);
		return;
	}
	// OpenKit's sending loop flushes once right at initialisation, then every
	// second; a session recorded while that first flush is still running is
	// sent by whichever of it and shutdown's flush gets there first, and
	// shutdown may then report done while the beacon is still in flight.
	// Record the session after that first flush, and leave only when no
	// request is in flight.
	setTimeout(runSession, 100);
}, opts.initTimeout * 1000);

function runSession() {
	const session = opts.ip === '' ? ok.createSession() : ok.createSession(opts.ip);
	if (opts.user !== '') session.identifyUser(opts.user);
	if (opts.action !== '') {
		const action = session.enterAction(opts.action);
		if (opts.error !== '') {
			const i = opts.error.lastIndexOf(':');
			action.reportError(opts.error.slice(0, i), Number(opts.error.slice(i + 1)));
		}
		action.leaveAction();
	}
	if (opts.crash !== '') session.reportCrash(opts.crash, opts.crashReason, opts.crashStack);
	session.end();
	ok.shutdown(() => finishWhenIdle(0, true));
}
