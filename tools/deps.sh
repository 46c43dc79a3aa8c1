#!/usr/bin/env bash
# Installs the Debian/Ubuntu packages beaconveil builds and tests with, only
# those missing, so `sudo make check` works on a fresh machine. The package
# lists live in tools/deps/*.list, one file per topic (why each is needed is
# said there and in the README); the npm packages of the deploy tests are
# locked in tests/deploy/package-lock.json, those of the lab (OpenKit, the
# mobile beacon client) in tools/lab/openkit/package-lock.json
# (tools/deps/npm.sh, installed into $BUILD/lab/openkit).
set -euo pipefail
cd "$(dirname "$0")"

mapfile -t PKGS < <(cat deps/*.list | sed 's/#.*//' | tr -s ' \t' '\n' | grep -v '^$' | sort -u)

missing=()
for p in "${PKGS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
# Debian's nodejs comes without npm, which is its own package there; a
# nodejs from elsewhere may bring npm and conflict with that package.
if ! command -v npm >/dev/null; then
	missing+=(npm)
fi

if [ ${#missing[@]} -gt 0 ]; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "deps.sh: missing packages: ${missing[*]}; run as root (sudo make ...)" >&2
		exit 1
	fi
	echo "deps.sh: installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	# tshark asks whether non-root users may capture; answer no, non-interactively.
	echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# npm packages of the deploy tests, exactly as locked; again only when the
# lock file changed since the last install.
npmdir=../tests/deploy
if [ ! -f "$npmdir/node_modules/.package-lock.json" ] ||
	[ "$npmdir/package-lock.json" -nt "$npmdir/node_modules/.package-lock.json" ]; then
	echo "deps.sh: npm ci in tests/deploy"
	(cd "$npmdir" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
fi

# npm packages of the lab: OpenKit for tests/e2e_openkit.sh, into
# $BUILD/lab/openkit. A failure there (no registry) does not stop the
# build: only that test needs them, and it fails then.
deps/npm.sh || echo "deps.sh: the lab's npm packages are not installed (tools/deps/npm.sh): tests/e2e_openkit.sh will fail" >&2
