#!/bin/bash
# check-distro.sh - run the whole "make check" of this work tree inside a
# fresh chroot of another Debian release, with that release's packages.
#
#   contrib/check-distro.sh DIST [CACHEDIR]     (make check-distro DIST=...)
#
# DIST is a debootstrap suite name (trixie, bookworm, ...).  CACHEDIR
# (default build/distro) keeps:
#   DIST-base.tar        the debootstrap --variant=minbase result: made on
#                        the first run, unpacked again on later ones
#   DIST-apt/            the .debs apt downloaded inside, kept across runs
#   DIST-root/           the chroot of the last run (removed when it starts,
#                        and when it ends unless DISTRO_KEEP=1)
#   DIST-deps.log        the output of install-deps.sh (apt) inside
#   DIST-check.log       the output of the last "make check" inside
# The work tree as it is (uncommitted changes too; not build*/, run/ nor
# .git) is copied to /src/spfpd in the chroot, and ../shared/data beside it
# when it exists; contrib/install-deps.sh installs the packages, then
# "make check" runs as root in a network namespace of its own with only
# loopback up.  The exit status is that of make check.
#
# Everything that is mounted (proc, sys, a private /dev with its own devpts
# and shm, the apt cache) lives in a mount namespace of its own, and every
# process in a PID namespace: a trap unmounts on the way out, and even
# when this script is killed outright the kernel drops the mounts and the
# processes with the namespaces, so nothing stays behind on the host.
#
# Needs root (re-runs itself through sudo), debootstrap (installed with
# apt-get when missing), util-linux.  Environment:
#   DISTRO_MIRROR     Debian mirror (default: the one apt uses here)
#   DISTRO_MAKE_ARGS  more arguments for the inner make check, read by the
#                     shell: DISTRO_MAKE_ARGS="CFLAGS='-O2 -g'"
#   DISTRO_KEEP=1     keep DIST-root/ after the run, to look into it
#   DISTRO_REFRESH=1  debootstrap again even if DIST-base.tar exists
set -euo pipefail

me=check-distro

die() {
	echo "$me: $*" >&2
	exit 2
}

now() { date +%s; }

# --- inside the namespaces (see the end of this file) ---------------------
if [ "${1:-}" = "--inside" ]; then
	root=$2 dist=$3 apt=$4 log=$5 deplog=$6
	mounts=()
	# shellcheck disable=SC2317  # called by the traps
	cleanup() {
		local i
		trap - EXIT INT TERM HUP
		for ((i = ${#mounts[@]} - 1; i >= 0; i--)); do
			umount "${mounts[i]}" 2>/dev/null ||
			    umount -l "${mounts[i]}" 2>/dev/null || true
		done
	}
	trap cleanup EXIT
	trap 'cleanup; exit 130' INT
	trap 'cleanup; exit 143' TERM HUP
	mnt() {		# mnt DIR mount-arguments...
		local d=$1
		shift
		mount "$@" "$d"
		mounts+=("$d")
	}
	mnt "$root/proc" -t proc proc
	mnt "$root/sys" -t sysfs -o ro,nosuid,nodev,noexec sysfs
	# a /dev of our own: nothing under the chroot is the host's /dev
	mnt "$root/dev" -t tmpfs -o mode=755,nosuid dev
	while read -r n major minor; do
		mknod -m 666 "$root/dev/$n" c "$major" "$minor"
	done <<-EOF
	null 1 3
	zero 1 5
	full 1 7
	random 1 8
	urandom 1 9
	tty 5 0
	EOF
	ln -s /proc/self/fd "$root/dev/fd"
	ln -s /proc/self/fd/0 "$root/dev/stdin"
	ln -s /proc/self/fd/1 "$root/dev/stdout"
	ln -s /proc/self/fd/2 "$root/dev/stderr"
	mkdir -m 755 "$root/dev/pts"
	mkdir -m 1777 "$root/dev/shm"
	mnt "$root/dev/pts" -t devpts \
	    -o newinstance,ptmxmode=0666,mode=0620,gid=5 devpts
	ln -s pts/ptmx "$root/dev/ptmx"
	mnt "$root/dev/shm" -t tmpfs -o mode=1777,nosuid,nodev shm
	mkdir -p "$root/var/cache/apt/archives"
	mnt "$root/var/cache/apt/archives" --bind "$apt"
	chmod 1777 "$root/tmp"
	cp -L /etc/resolv.conf "$root/etc/resolv.conf"
	host=spfpd-$dist
	echo "$host" > /proc/sys/kernel/hostname	# our UTS namespace
	echo "$host" > "$root/etc/hostname"
	printf '%s\n' "127.0.0.1	localhost" "127.0.1.1	$host" \
	    "::1	localhost ip6-localhost ip6-loopback" \
	    "ff02::1	ip6-allnodes" "ff02::2	ip6-allrouters" \
	    > "$root/etc/hosts"

	run() {		# the chroot, a clean environment, no stdin
		chroot "$root" /usr/bin/env -i HOME=/root LANG=C.UTF-8 \
		    TERM="${TERM:-dumb}" CI="${CI:-}" \
		    DISTRO_MAKE_ARGS="${DISTRO_MAKE_ARGS:-}" \
		    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
		    /bin/sh -c "cd /src/spfpd && $1" < /dev/null
	}
	t0=$(now)
	echo "$me: $dist: contrib/install-deps.sh (log: $deplog)"
	if ! run contrib/install-deps.sh > "$deplog" 2>&1; then
		tail -n 30 "$deplog" >&2
		echo "$me: $dist: contrib/install-deps.sh failed" >&2
		exit 2
	fi
	t1=$(now)
	echo "$me: $dist: packages: $((t1 - t0)) s"
	# only loopback: the tests need nothing else, and nothing can reach
	# the host's other services nor the network
	echo "$me: $dist: make check ${DISTRO_MAKE_ARGS:-}"
	set +e
	# shellcheck disable=SC2016  # $DISTRO_MAKE_ARGS: for the shell inside
	run 'unshare --net sh -c '\''ip link set lo up &&
	    eval "exec make check $DISTRO_MAKE_ARGS"'\' 2>&1 | tee "$log"
	rc=${PIPESTATUS[0]}
	set -e
	t2=$(now)
	echo "$me: $dist: make check: $((t2 - t1)) s, exit $rc"
	exit "$rc"
fi

# --- outside ---------------------------------------------------------------
if [ $# -lt 1 ] || [ -z "$1" ]; then
	die "usage: $0 DIST [CACHEDIR]"
fi
dist=$1
top=$(cd "$(dirname "$0")/.." && pwd)
cache=${2:-$top/build/distro}

if [ "$(id -u)" -ne 0 ]; then
	command -v sudo >/dev/null 2>&1 ||
	    die "needs root (debootstrap, chroot, mount), and there is no sudo"
	exec sudo -E "$0" "$@"
fi

if ! command -v debootstrap >/dev/null 2>&1; then
	echo "$me: installing debootstrap"
	export DEBIAN_FRONTEND=noninteractive
	apt-get install -y -q --no-install-recommends debootstrap \
	    > /dev/null 2>&1 || { apt-get update -q > /dev/null &&
	    apt-get install -y -q --no-install-recommends debootstrap; } ||
	    die "cannot install debootstrap"
fi
[ -e "/usr/share/debootstrap/scripts/$dist" ] ||
    die "this debootstrap does not know the release \"$dist\""

# The mirror apt uses here: the first "deb" source of this release (not
# -security nor -updates), one-line or deb822 format.
host_mirror() {
	local codename f
	# shellcheck disable=SC1091
	codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -f "$f" ] || continue
		awk -v c="$codename" '
		    $1 == "deb" { i = 2
			if ($i ~ /^\[/) { while ($i !~ /\]$/ && i < NF) i++; i++ }
			if ($(i + 1) == c) { print $i; exit } }' "$f"
	done
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] || continue
		awk -v c="$codename" '
		    function flush() { if (deb && suite && uri != "") {
			print uri; exit } deb = suite = 0; uri = "" }
		    /^[ \t]*$/ { flush(); next }
		    /^[ \t]*#/ { next }
		    tolower($1) == "types:" { for (i = 2; i <= NF; i++)
			if ($i == "deb") deb = 1 }
		    tolower($1) == "uris:" { uri = $2 }
		    tolower($1) == "suites:" { for (i = 2; i <= NF; i++)
			if ($i == c) suite = 1 }
		    tolower($1) == "enabled:" && tolower($2) == "no" {
			deb = 0 }
		    END { flush() }' "$f"
	done
}
mirror=${DISTRO_MIRROR:-$(host_mirror | head -n 1)}
mirror=${mirror:-http://deb.debian.org/debian}

mkdir -p "$cache"
cache=$(cd "$cache" && pwd)
base=$cache/$dist-base.tar
root=$cache/$dist-root
apt=$cache/$dist-apt
log=$cache/$dist-check.log
deplog=$cache/$dist-deps.log

# one run per release at a time
exec 9> "$cache/$dist.lock"
flock -n 9 || die "another check-distro $dist runs (lock $cache/$dist.lock)"

# Remove a directory tree that must have nothing mounted under it.
remove_tree() {
	local d=$1
	[ -e "$d" ] || return 0
	if awk -v d="$d" '$5 == d || index($5, d "/") == 1 { f = 1 }
	    END { exit !f }' /proc/self/mountinfo; then
		die "something is mounted under $d: unmount it first"
	fi
	rm -rf --one-file-system "$d"
}

t_boot=cached
if [ ! -f "$base" ] || [ "${DISTRO_REFRESH:-}" = 1 ]; then
	new=$cache/$dist-base.new
	remove_tree "$new"
	echo "$me: debootstrap --variant=minbase $dist from $mirror" \
	    "(log: $cache/$dist-debootstrap.log)"
	t0=$(now)
	# debootstrap mounts /proc and /sys in the target: keep them in a
	# mount namespace of their own, gone when it ends, however it ends
	if ! unshare --mount --propagation private --fork --kill-child \
	    debootstrap --variant=minbase "$dist" "$new" "$mirror" \
	    > "$cache/$dist-debootstrap.log" 2>&1 < /dev/null; then
		tail -n 20 "$cache/$dist-debootstrap.log" >&2
		[ -f "$new/debootstrap/debootstrap.log" ] &&
		    tail -n 20 "$new/debootstrap/debootstrap.log" >&2
		die "debootstrap of $dist from $mirror failed"
	fi
	# packages must not start daemons in the chroot (knot, postfix)
	printf '#!/bin/sh\nexit 101\n' > "$new/usr/sbin/policy-rc.d"
	chmod 755 "$new/usr/sbin/policy-rc.d"
	# no systemd here: no point in translations and documentation either
	printf 'Acquire::Languages "none";\n' \
	    > "$new/etc/apt/apt.conf.d/90check-distro"
	rm -f "$new/var/cache/apt/archives/"*.deb
	tar -C "$new" --numeric-owner -cf "$base.tmp" .
	mv "$base.tmp" "$base"
	remove_tree "$new"
	t_boot="$(($(now) - t0)) s"
fi
echo "$me: $dist: debootstrap: $t_boot"

remove_tree "$root"
mkdir -p "$root" "$apt"
tar -C "$root" --numeric-owner -xf "$base"
mkdir -p "$root/src/spfpd"
tar -C "$top" --exclude=./.git --exclude='./build*' --exclude=./run \
    -cf - . | tar -C "$root/src/spfpd" -xf -
if [ -d "$top/../shared/data" ]; then
	mkdir -p "$root/src/shared"
	cp -r "$top/../shared/data" "$root/src/shared/data"
fi

# A new mount, UTS and PID namespace for the rest: its mounts and
# processes cannot outlive it.  --kill-child: if we are killed, so is it.
set +e
unshare --mount --propagation private --uts --pid --fork \
    --kill-child=SIGTERM "$0" --inside "$root" "$dist" "$apt" "$log" \
    "$deplog" 9>&-
rc=$?
set -e

if [ "${DISTRO_KEEP:-}" = 1 ]; then
	echo "$me: $dist: kept the chroot in $root"
else
	remove_tree "$root"
fi
echo "$me: $dist: exit $rc (the inner make check's output: $log)"
exit "$rc"
