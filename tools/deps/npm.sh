#!/usr/bin/env bash
# tools/deps/npm.sh — the npm packages of the lab: Dynatrace OpenKit for
# JavaScript (@dynatrace/openkit-js), the mobile beacon client of
# tests/e2e_openkit.sh (tools/lab/openkit-client.js). Run by tools/deps.sh
# after the Debian packages (nodejs is in lab.list).
#
# The versions are pinned in tools/lab/openkit/package.json and, with their
# integrity hashes, in tools/lab/openkit/package-lock.json (committed);
# `npm ci` installs exactly those into $BUILD/lab/openkit/node_modules
# (never committed; `make clean` removes it). Nothing is done when what is
# there was installed from the same lock file.
#
# Environment: BUILD (default build, relative to the repository).
# Exit 0: installed or already there; 1: it could not be installed.
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
SRC=$ROOT/tools/lab/openkit
DST=$BUILD/lab/openkit

# Installed from this lock already?
if [ -f "$DST/node_modules/.package-lock.json" ] && cmp -s "$SRC/package-lock.json" "$DST/package-lock.json" &&
	cmp -s "$SRC/package.json" "$DST/package.json"; then
	exit 0
fi

if ! command -v node >/dev/null 2>&1; then
	echo "deps/npm.sh: no node (Debian package nodejs, tools/deps/lab.list): cannot install $SRC" >&2
	exit 1
fi
if ! command -v npm >/dev/null 2>&1; then
	# Debian's nodejs comes without npm (a package of its own); a Node.js
	# that brings its own npm never gets here.
	if [ "$(id -u)" -ne 0 ]; then
		echo "deps/npm.sh: no npm; run as root (sudo make ...) to install Debian's npm" >&2
		exit 1
	fi
	echo "deps/npm.sh: installing npm"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq && apt-get install -y -qq --no-install-recommends npm >/dev/null ||
		{ echo "deps/npm.sh: apt-get install npm failed" >&2; exit 1; }
fi

echo "deps/npm.sh: npm ci in $DST ($(sed -n 's/.*"\(@dynatrace\/openkit-js\)": *"\([^"]*\)".*/\1@\2/p' "$SRC/package.json"))"
mkdir -p "$DST" || exit 1
rm -rf "$DST/node_modules"
cp "$SRC/package.json" "$SRC/package-lock.json" "$DST/" || exit 1
# --ignore-scripts: no install script of any package runs (OpenKit has none).
if ! (cd "$DST" && timeout 300 npm ci --ignore-scripts --no-audit --no-fund --loglevel=error); then
	rm -f "$DST/package-lock.json"
	echo "deps/npm.sh: npm ci failed in $DST" >&2
	exit 1
fi
