#!/bin/sh
# install-deps.sh - install the Debian packages that building and testing
# spfpd need, when they are missing.  Idempotent: does nothing (and needs no
# network) when everything is there.
set -eu

PKGS="gcc make pkg-config libc6-dev libevent-dev libspf2-dev libc-ares-dev
      libcmocka-dev python3 python3-yaml python3-dnspython netcat-openbsd
      knot knot-dnsutils iproute2 procps python3-spf postfix
      clang libclang-rt-14-dev"

# --bench: also what "make bench" compares against and measures with
if [ "${1:-}" = "--bench" ]; then
	PKGS="$PKGS postfix-policyd-spf-python postfix-policyd-spf-perl
	      valgrind util-linux"
fi

missing=""
for p in $PKGS; do
	if ! dpkg-query -W -f '${Status}' "$p" 2>/dev/null |
	    grep -q '^install ok installed$'; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0

echo "install-deps: installing:$missing"
if [ "$(id -u)" -ne 0 ]; then
	if command -v sudo >/dev/null 2>&1; then
		SUDO=sudo
	else
		echo "install-deps: not root and no sudo: install these:$missing" >&2
		exit 1
	fi
else
	SUDO=
fi
export DEBIAN_FRONTEND=noninteractive
# Postfix is for the tests, which run their own private instance: do not
# let the package set up (and start) a system mail server.
case "$missing" in
*postfix*)
	echo "postfix postfix/main_mailer_type select No configuration" |
	    $SUDO debconf-set-selections
	;;
esac
$SUDO apt-get update -q
# shellcheck disable=SC2086
$SUDO apt-get install -y -q --no-install-recommends $missing
