#!/bin/sh
# bench.sh BUILDDIR OUTDIR [run.py options] - the benchmark, in a private
# network and mount namespace: knotd answers on 127.0.0.1:53 there, and
# /etc/resolv.conf is bind-mounted over (the peers read it), so nothing
# leaves the machine and the host's resolver is untouched.  /dev is a
# private copy with a /dev/log socket that tests/bench/logsink.c reads,
# as syslogd would: every daemon logs its decisions to syslog, and without a
# listener each syslog() call would try to connect again (and lose the
# line), which is neither what a mail server has nor fair.
set -eu
b=$(cd "$1" && pwd)
mkdir -p "$2"
out=$(cd "$2" && pwd)
shift 2
printf 'nameserver 127.0.0.1\n' > "$out/resolv.conf"
mkdir -p "$out/hostdev"
exec unshare --net --mount sh -c '
	set -eu
	out=$1 b=$2
	shift 2
	mount --make-rprivate /
	ip link set lo up
	# the syslog socket queue of a systemd host (the kernel default is 10)
	echo 512 > /proc/sys/net/unix/max_dgram_qlen
	mount --bind "$out/resolv.conf" /etc/resolv.conf
	mount --bind /dev "$out/hostdev"
	mount -t tmpfs -o mode=755 bench-dev /dev
	for n in null zero full random urandom tty; do
		touch /dev/$n
		mount --bind "$out/hostdev/$n" /dev/$n
	done
	mkdir /dev/shm /dev/pts
	mount -t tmpfs -o mode=1777 bench-shm /dev/shm
	ln -s /proc/self/fd /dev/fd
	ln -s /proc/self/fd/0 /dev/stdin
	ln -s /proc/self/fd/1 /dev/stdout
	ln -s /proc/self/fd/2 /dev/stderr
	exec /usr/bin/python3 tests/bench/run.py --spfpd "$b/spfpd" \
	    --loadgen "$b/loadgen" --out "$out" --syslog /dev/log \
	    --logsink "$b/logsink" --nullpolicy "$b/nullpolicy" "$@"
' bench "$out" "$b" "$@"
