/*
 * A stand-in for a RUM JavaScript agent, for the beaconveil lab
 * (tools/lab/www/page.html). It does on the wire what the Dynatrace RUM
 * script does: sets the session, visitor and page-context cookies, then
 * sends beacons to rb_... URLs whose query string carries the session (sn=),
 * the visitor (vi=) and the application (app=), with a text/plain body:
 * half with navigator.sendBeacon, half with XMLHttpRequest, alternately to
 * the collector's X-Forwarded-For route and its PROXY-protocol route (/pp/).
 * When everything is sent it requests /done?run=...&xhr=I:STATUS:MS,... (each
 * XHR's outcome; sendBeacon's cannot be observed).
 *
 * Parameters, in the query string or the fragment (the lab decides the
 * identifiers, so that the tests know the originals and can prove they never
 * reach nginx when they must not; it passes them in the fragment):
 *   run      label of this run (in every beacon URL as pv=)
 *   n        number of beacons (default 6)
 *   vis      rxVisitor value (13-digit timestamp + 32 characters)
 *   pc       the random part of dtPC (16 characters)
 *   sid      session id (dtCookie value, and sn= of every beacon)
 *   app      application id (app=)
 *   consent  1 (default): set dtCookie, the consent cookie of opt-in mode
 *   big      bytes of an extra cookie, so that headers span TCP segments
 *   pp       0: never use the PROXY-protocol route
 */
(function () {
	"use strict";
	// Parameters come in the query string or, for the identifiers, in the
	// fragment (#vis=...&pc=...): a fragment is never sent to a server, not
	// even in the Referer header, so the originals reach the wire only
	// where the script puts them.
	var q = new URLSearchParams(location.search);
	var h = new URLSearchParams(location.hash.replace(/^#/, ""));
	function param(k, d) {
		var v = h.get(k);
		if (v === null || v === "") v = q.get(k);
		return v === null || v === "" ? d : v;
	}
	var run = param("run", "x");
	var n = parseInt(param("n", "6"), 10);
	var vis = param("vis", "1732000000000LABVISITORAAAAAAAAAAAAAAAAAAAAAAA");
	var pc = param("pc", "LABPCRANDOMAAAAA");
	var sid = param("sid", "v_4_srv_15_sn_LABSESSION0000000000000000000");
	var app = param("app", "ea7c4b59f27d43eb");
	var consent = param("consent", "1") === "1";
	var big = parseInt(param("big", "0"), 10);
	var pp = param("pp", "1") !== "0";
	var logEl = null;

	function log(s) {
		if (!logEl) logEl = document.getElementById("log");
		if (logEl) logEl.textContent += s + "\n";
	}
	function setCookie(k, v) {
		document.cookie = k + "=" + v + "; path=/; SameSite=Lax";
	}

	// What the agent stores. dtCookie only once the user consented (opt-in
	// mode: dtrum.enable()).
	if (consent) setCookie("dtCookie", sid);
	setCookie("rxVisitor", vis);
	setCookie("dtPC", "-15$" + String(Date.now() % 1e9) + "_123h12v" + pc + "-0e0");
	setCookie("rxvt", String(Date.now() + 1800000) + "|" + String(Date.now()));
	if (big > 0) {
		var filler = "";
		while (filler.length < big) filler += "0123456789abcdef";
		setCookie("dtSa", filler.substring(0, big));
	}

	function body(i, kind) {
		// A load action, as the agent writes it ($a=...), about 1 KB.
		var t = Date.now();
		var s = "$a=1%7C" + (i + 1) + "%7C_load_%7C_load_%7C-%7C" + t + "%7C" + (t + 321) +
			"%7C" + (i + 7) + "$rId=RID_" + i + "$rpId=-1234567$domR=" + (t + 200) +
			"$tvn=%2Flab%2Fpage.html$tvt=" + t + "$tvm=i1%3Bk0%3Bh0$tvtrg=1$w=1280$h=720" +
			"$sw=1280$sh=720$nt=a0b" + t + "c0d0e1f1g1h1i1j1k2l2m3n2o10p10q11r11s12t13" +
			"$ni=4g%7C10$di=1$fd=j1.9.1^so1.10^bs1.10^fu1^mp1$rt=" + kind +
			"$url=" + encodeURIComponent(location.origin + location.pathname) +
			"$title=beaconveil%20lab$latC=1$app=" + app + "$vi=" + pc + "$fId=" + t % 100000 +
			"$v=10289240325103055$vID=" + vis + "$time=" + t;
		while (s.length < 1000) s += "$pad=" + "x".repeat(40);
		return s;
	}
	function url(i) {
		var base = (pp && i % 2 === 1) ? "/pp/" : "/";
		return base + "rb_bf28208ayo?type=js3&sn=" + encodeURIComponent(sid) +
			"&svrid=15&flavor=post&vi=" + pc + "&modifiedSince=1732000000000" +
			"&rf=" + encodeURIComponent(location.origin + location.pathname) + "&bp=3&app=" + app +
			"&pv=" + encodeURIComponent(run) + "&i=" + i + "&end=1";
	}

	var pending = 0;
	var xhrs = [];
	function finished() {
		if (pending !== 0) return;
		// Give sendBeacon's requests a moment to leave, then say we're
		// done, with each XHR's outcome: index:status:milliseconds
		// (status 0: no HTTP answer, the connection failed).
		setTimeout(function () {
			var x = new XMLHttpRequest();
			x.open("GET", "/done?run=" + encodeURIComponent(run) + "&xhr=" + xhrs.join(","), true);
			x.send();
			log("done");
		}, 200);
	}

	function send() {
		for (var i = 0; i < n; i++) {
			if (i % 4 < 2) {
				var ok = navigator.sendBeacon(url(i), body(i, "beacon"));
				log("sendBeacon " + i + " queued=" + ok);
			} else {
				pending++;
				(function (i) {
					var x = new XMLHttpRequest();
					var t0 = performance.now();
					x.open("POST", url(i), true);
					x.setRequestHeader("Content-Type", "text/plain;charset=UTF-8");
					x.onloadend = function () {
						var ms = Math.round(performance.now() - t0);
						log("xhr " + i + " status=" + x.status + " " + ms + " ms");
						xhrs.push(i + ":" + x.status + ":" + ms);
						pending--;
						finished();
					};
					x.send(body(i, "xhr"));
				})(i);
			}
		}
		finished();
	}
	if (document.readyState === "complete") send();
	else window.addEventListener("load", send);
})();
