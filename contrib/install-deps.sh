#!/bin/sh
# install-deps.sh - install the Debian packages that building and testing
# spfpd need, when they are missing.  Idempotent: does nothing (and needs no
# network) when everything is there.  The package names are those of the
# running release: the sanitizer and libFuzzer runtime is the one of the
# default clang (libclang-rt-dev where the release has it, else
# libclang-rt-<version>-dev); a package the release does not have is an
# error that names the release.
set -eu

PKGS="gcc make pkg-config libc6-dev libevent-dev libspf2-dev libc-ares-dev
      libidn2-dev
      libcmocka-dev python3 python3-yaml python3-dnspython netcat-openbsd
      knot knot-dnsutils iproute2 procps python3-spf postfix clang
      libsystemd-dev systemd prometheus opendmarc spamassassin gpg-agent
      util-linux
      build-essential dpkg-dev debhelper lintian"

# --bench: also what "make bench" compares against and measures with
if [ "${1:-}" = "--bench" ]; then
	PKGS="$PKGS postfix-policyd-spf-python postfix-policyd-spf-perl
	      valgrind util-linux"
fi

# shellcheck disable=SC1091
release=$( (. /etc/os-release && echo "${PRETTY_NAME:-$ID $VERSION_ID}") \
    2>/dev/null || echo "this system")

installed() {
	dpkg-query -W -f '${Status}' "$1" 2>/dev/null |
	    grep -q '^install ok installed$'
}

# The major version of the default clang, from the Depends of the "clang"
# package: installed (no network), else apt's candidate.
clang_version() {
	if installed clang; then
		dpkg-query -W -f '${Depends}' clang
	else
		apt-cache depends clang 2>/dev/null | sed -n 's/^ *Depends: //p'
	fi | tr ',' '\n' | sed -n 's/^ *clang-\([0-9][0-9.]*\)\b.*/\1/p' |
	    head -n 1
}

missing=""
for p in $PKGS; do
	installed "$p" || missing="$missing $p"
done
# the compiler runtime (sanitizers, libFuzzer): installed in either name?
rt=""
if ! installed libclang-rt-dev; then
	v=$(clang_version)
	if [ -z "$v" ] || ! installed "libclang-rt-$v-dev"; then
		rt=unresolved
	fi
fi
[ -z "$missing" ] && [ -z "$rt" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	if command -v sudo >/dev/null 2>&1; then
		SUDO=sudo
	else
		echo "install-deps: not root and no sudo: install these:$missing" \
		    "${rt:+libclang-rt-dev}" >&2
		exit 1
	fi
else
	SUDO=
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q

# Whether the release has a package (a candidate version) under that name.
available() {
	apt-cache policy "$1" 2>/dev/null |
	    grep -q '^ *Candidate: [^(]'
}

if [ -n "$rt" ]; then
	if available libclang-rt-dev; then
		rt=libclang-rt-dev
	else
		v=$(clang_version)
		rt=libclang-rt-${v:-X}-dev
	fi
	missing="$missing $rt"
fi
absent=""
for p in $missing; do
	available "$p" || absent="$absent $p"
done
if [ -n "$absent" ]; then
	echo "install-deps: $release has no package$absent" \
	    "(after apt-get update; sources: /etc/apt/sources.list*)" >&2
	exit 1
fi

echo "install-deps: installing:$missing"
# Postfix is for the tests, which run their own private instance: do not
# let the package set up (and start) a system mail server.
case "$missing" in
*postfix*)
	echo "postfix postfix/main_mailer_type select No configuration" |
	    $SUDO debconf-set-selections
	;;
esac
# shellcheck disable=SC2086
$SUDO apt-get install -y -q --no-install-recommends $missing
