#!/bin/sh
# deps.sh - install the Debian packages billrun builds, tests and runs with.
# Installs only what is missing; needs root for apt-get, else says what to run.
# The packaging tests (tests/integration/test_ops.c) need the last line:
# chromium and prometheus are about 140 MB to fetch, about a minute to install.
# python3-jsonschema, at the end of it, validates the lineage events
# (tests/lineage/validate.py).
# With VALGRIND=1 in the environment it adds valgrind (`make test VALGRIND=1`).
# The e-invoice tests (tests/einvoice/check.sh) need an XSLT 2.0 processor:
# Saxon-HE (libsaxonhe-java) and a Java runtime, jq to read the JSON.
set -eu
PKGS="gcc make pkg-config libc6-dev libpq-dev postgresql-15 libconfig-dev libarchive-dev
libcmocka-dev libxml2-dev libxml2-utils libssl-dev openssl libcairo2-dev libhpdf-dev poppler-utils qpdf iso-codes
util-linux clang libclang-rt-14-dev pigz jq libsaxonhe-java default-jre-headless
systemd man-db groff-base dpkg-dev binutils lintian adduser chromium prometheus python3 python3-jsonschema"
# `make test VALGRIND=1` (VALGRIND=1 in the environment) also needs valgrind.
if [ "${VALGRIND:-0}" = 1 ]; then PKGS="$PKGS valgrind"; fi
missing=""
for p in $PKGS; do
	st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	case "$st" in
	*"ok installed"*) ;;
	*) missing="$missing $p" ;;
	esac
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
	echo "billrun needs these Debian packages:$missing" >&2
	echo "install them as root: apt-get install$missing" >&2
	exit 1
fi
echo "deps: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >&2
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >&2
