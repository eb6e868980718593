#!/usr/bin/python3
"""run.py - spfpd against pypolicyd-spf and postfix-policyd-spf-perl, side
by side, in one run, on one DNS world (tests/bench/world.py) served by
knotd, under the ceiling: tests/bench/nullpolicy.c, a policy server that
answers DUNNO at once (no parsing, no DNS, no logging).  Started by "make
bench" inside a private network namespace (unshare -nm) where knotd
answers on 127.0.0.1:53 and, for the delayed scenarios,
tests/bench/delayproxy.py on 127.0.0.2:53; /etc/resolv.conf is
bind-mounted over with ours, since the peers read it.

For every DNS delay, daemon, concurrency and cache state:
  - tests/bench/loadgen (C) drives N persistent connections, each a new
    message (fresh instance) per request, for a fixed time;
  - peak RSS summed over all the daemon's processes (sampled every
    100 ms), CPU seconds per 1,000 requests;
  - the peers run one process per connection, as Postfix's spawn(8) starts
    them (tests/bench/spawner.py); spfpd runs as one daemon;
  - "null-policy" (the ceiling) runs once per delay and concurrency, in
    the warm rows (it has no cache); every spfpd row gives its req/s as
    a share of the ceiling's at the same delay and concurrency.
"cold" starts the daemon afresh and walks the corpus at most once, so
every domain is new to it; "warm" first walks the whole corpus (spfpd's
cache is filled; the peers have no cache across messages).  The first
request of every connection is not measured: it starts a peer's process,
which Postfix pays once per smtpd, not per message.  The "upstream
queries" column counts the questions knotd was asked during the measured
phase (its mod-stats module, read with knotc): 0 for spfpd warm.

Writes OUT/results.md (the table, the command, the machine) and prints it.
"""
import argparse
import json
import os
import platform
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))

PYPOLICYD_CONF = """debugLevel = 1
TestOnly = 1
HELO_reject = Fail
Mail_From_reject = Fail
PermError_reject = False
TempError_Defer = False
skip_addresses = 127.0.0.0/8,::ffff:127.0.0.0/104,::1
Header_Type = SPF
Lookup_Time = 20
"""

# the same policy: defaults of both (refuse fail, prepend the rest);
# reverse DNS off, as the peers have none ("spfpd+iprev": on, spfpd's
# default, to show what it costs).  The cache holds the whole world, in
# entries and in bytes (with iprev it has more names than the default
# 20,000 entries, and a corpus walked in a cycle through a smaller LRU
# cache never hits): warm is warm.  The world costs about 3.8 entries and
# 1.1 kB of cache per sender domain with iprev (5,000 domains: 18,933
# entries, 5.4 MB; spfpd's "stopped:" line); the bounds below give twice
# that.  Under the default dns_cache_bytes of 8M, --domains 20000 (20.7 MB
# of cache) evicted 152,030 entries and its warm phase asked 107,288
# questions upstream.
SPFPD_CONF = """listen = unix:{sock}
user =
ptr_check = {ptr}
max_connections = 5000
dns_cache_size = {entries}
dns_cache_bytes = {cache_bytes}
"""


def spfpd_conf(args, sock, ptr):
    conf = SPFPD_CONF.format(sock=sock, ptr=ptr,
                             entries=max(100000, 8 * args.domains),
                             cache_bytes=max(64 << 20,
                                             2304 * args.domains))
    # --sections N: a migrated Per_User file, one section per address,
    # none matching the bench's recipients: every request scans them all
    for i in range(args.sections):
        conf += ('\n[recipient = user%d@per-user.invalid]\n'
                 'mail_from_reject = softfail\n' % i)
    return conf


CEILING = 'null-policy'


def is_spfpd(kind):
    return kind.startswith('spfpd')


def is_peer(kind):
    """One process per connection, under tests/bench/spawner.py."""
    return not is_spfpd(kind) and kind != CEILING


class Syslog:
    """A /dev/log: tests/bench/logsink (C, recvmmsg) reads it and counts
    the lines, and the lines spfpd reports it lost (its socket full)."""

    def __init__(self, path, sink):
        self.proc = subprocess.Popen([sink, path], stdout=subprocess.PIPE,
                                     text=True)
        if self.proc.stdout.readline().strip() != 'ready':
            raise RuntimeError('logsink did not start')

    def counts(self):
        """(lines, lost) so far."""
        self.proc.send_signal(signal.SIGUSR1)
        lines, lost = self.proc.stdout.readline().split()
        return int(lines), int(lost)

    def stop(self):
        self.proc.terminate()
        self.proc.wait()


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def descendants(pid):
    out = []
    todo = [pid]
    while todo:
        p = todo.pop()
        try:
            for tid in os.listdir('/proc/%d/task' % p):
                with open('/proc/%d/task/%s/children' % (p, tid)) as f:
                    kids = [int(x) for x in f.read().split()]
                out += kids
                todo += kids
        except OSError:
            pass
    return out


def rss_kb(pid):
    try:
        with open('/proc/%d/status' % pid) as f:
            for line in f:
                if line.startswith('VmRSS:'):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def cpu_s(pid):
    try:
        with open('/proc/%d/stat' % pid) as f:
            fields = f.read().rsplit(')', 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf(
            'SC_CLK_TCK')
    except OSError:
        return 0.0


class Sampler(threading.Thread):
    """Peak of the summed RSS of a process and its descendants."""

    def __init__(self, pid, include_self=True):
        super().__init__(daemon=True)
        self.pid = pid
        self.include_self = include_self
        self.peak = 0
        self.stop_ev = threading.Event()

    def run(self):
        while not self.stop_ev.is_set():
            pids = descendants(self.pid)
            if self.include_self:
                pids.append(self.pid)
            self.peak = max(self.peak, sum(rss_kb(p) for p in pids))
            self.stop_ev.wait(0.1)

    def stop(self):
        self.stop_ev.set()
        self.join()
        return self.peak


class Knot:
    def __init__(self, out, world):
        self.dir = os.path.join(out, 'knot')
        os.makedirs(self.dir, exist_ok=True)
        lines = ['server:', '    rundir: "%s"' % self.dir,
                 '    listen: 127.0.0.1@53', '    udp-workers: 1',
                 '    tcp-workers: 1', '    background-workers: 1',
                 'database:', '    storage: "%s"' % self.dir,
                 'control:', '    listen: "%s/knot.sock"' % self.dir,
                 'log:', '  - target: stderr', '    any: error',
                 'mod-stats:', '  - id: bench',
                 '    request-protocol: on',
                 'template:', '  - id: default',
                 '    global-module: mod-stats/bench',
                 '    semantic-checks: off', 'zone:']
        with open(os.path.join(world, 'zones.list')) as f:
            for line in f:
                origin, path = line.split()
                lines += ['  - domain: %s' % origin, '    file: "%s"' % path]
        conf = os.path.join(self.dir, 'knot.conf')
        with open(conf, 'w') as f:
            f.write('\n'.join(lines) + '\n')
        self.proc = subprocess.Popen(['knotd', '-c', conf],
                                     stderr=open(os.path.join(
                                         self.dir, 'knot.log'), 'w'))
        deadline = time.time() + 30
        while time.time() < deadline:
            r = subprocess.run(['kdig', '@127.0.0.1', 'bench', 'SOA',
                                '+short', '+timeout=1', '+retry=0'],
                               capture_output=True, text=True)
            if r.stdout.strip():
                return
            time.sleep(0.2)
        raise RuntimeError('knotd did not answer')

    def queries(self):
        """Questions knotd was asked so far (its mod-stats counters): every
        query that went upstream, through the delay proxy or not."""
        r = subprocess.run(['knotc', '-c', os.path.join(self.dir,
                                                        'knot.conf'),
                            'stats', 'mod-stats.request-protocol'],
                           capture_output=True, text=True)
        n = None
        for line in r.stdout.splitlines():
            if line.startswith('mod-stats.request-protocol'):
                n = (n or 0) + int(line.rsplit('=', 1)[1])
        return n

    def stop(self):
        self.proc.terminate()
        self.proc.wait()


def set_resolver(ip):
    # the bind-mounted file: rewritten in place, so the mount still holds
    with open('/etc/resolv.conf', 'w') as f:
        f.write('nameserver %s\noptions timeout:2 attempts:2\n' % ip)


def wait_socket(path, proc, timeout=20):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError('daemon exited %d' % proc.returncode)
        try:
            s = socket.socket(socket.AF_UNIX)
            s.connect(path)
            s.close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError('no daemon on %s' % path)


class Daemon:
    """One daemon under test, on a UNIX socket."""

    def __init__(self, kind, args, out):
        self.kind = kind
        self.args = args
        self.out = out
        self.sock = os.path.join(out, '%s.sock' % kind)
        self.stats = os.path.join(out, '%s.stats' % kind)
        if os.path.exists(self.sock):
            os.unlink(self.sock)
        if is_spfpd(kind):
            conf = os.path.join(out, '%s.conf' % kind)
            with open(conf, 'w') as f:
                f.write(spfpd_conf(args, self.sock, 'header' if
                                   kind == 'spfpd+iprev' else 'no'))
            cmd = [args.spfpd, '-c', conf]
        elif kind == CEILING:
            cmd = [args.nullpolicy, self.sock]
        else:
            if kind == 'pypolicyd-spf':
                conf = os.path.join(out, 'policyd-spf.conf')
                with open(conf, 'w') as f:
                    f.write(PYPOLICYD_CONF)
                peer = ['/usr/bin/policyd-spf', conf]
            else:
                peer = ['/usr/sbin/postfix-policyd-spf-perl']
            cmd = ['/usr/bin/python3', os.path.join(HERE, 'spawner.py'),
                   '--socket', self.sock, '--stats', self.stats, '--'] + peer
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL,
                                     stderr=open(os.path.join(
                                         out, '%s.log' % kind), 'a'))
        wait_socket(self.sock, self.proc)
        # the spawner itself is Postfix's part, not the peer's
        self.sampler = Sampler(self.proc.pid, include_self=not is_peer(kind))
        self.sampler.start()
        self.cpu0 = 0.0 if is_peer(kind) else cpu_s(self.proc.pid)

    def mark(self):
        """Start of a measured window (after priming)."""
        self.sampler.peak = 0
        self.cpu0 = 0.0 if is_peer(self.kind) else cpu_s(self.proc.pid)

    def stop(self):
        """Peak RSS (kB) and CPU seconds since the last mark()."""
        peak = self.sampler.stop()
        if not is_peer(self.kind):
            cpu = cpu_s(self.proc.pid) - self.cpu0
            self.proc.terminate()
            self.proc.wait()
        else:
            self.proc.terminate()
            self.proc.wait()
            try:
                with open(self.stats) as f:
                    cpu = json.load(f)['cpu_seconds']
            except (OSError, ValueError):
                cpu = float('nan')
        return peak, cpu


def loadgen(args, sock, conns, duration=None, n=None, prefix='m', warm=0):
    cmd = [args.loadgen, '-s', 'unix:' + sock, '-c', str(conns), '-f',
           os.path.join(args.out, 'world', 'corpus.txt'), '-t', '60',
           '-p', prefix]
    if warm:
        cmd += ['-W', str(warm)]
    if duration is not None:
        # loadgen stops after 10 s unless told: -d 0 is "only -n"
        cmd += ['-d', str(duration)]
    if n:
        cmd += ['-n', str(n)]
    r = subprocess.run(cmd, capture_output=True, text=True,
                       timeout=(duration or 600) + 120)
    if r.returncode != 0:
        raise RuntimeError('loadgen: %s' % r.stderr.strip()[-300:])
    return json.loads(r.stdout)


def udp_drops():
    """UDP datagrams the kernel dropped in this namespace (a full
    receive buffer: knotd's, the proxy's or a daemon's resolver's)."""
    with open('/proc/net/snmp') as f:
        rows = [line.split() for line in f if line.startswith('Udp:')]
    return int(dict(zip(rows[0][1:], rows[1][1:]))['RcvbufErrors'])


def busy_cpus(interval=0.5):
    def sample():
        with open('/proc/stat') as f:
            v = [int(x) for x in f.readline().split()[1:]]
        return sum(v), v[3] + v[4]             # total, idle + iowait
    t0, i0 = sample()
    time.sleep(interval)
    t1, i1 = sample()
    return (os.cpu_count() or 1) * (1 - (i1 - i0) / max(1, t1 - t0))


def settle(limit=60):
    """Wait until the machine is idle again: after 100 peer processes
    (4 GB) are killed the kernel keeps a CPU busy for a while, and the
    next scenario would pay for it."""
    t0 = time.time()
    while time.time() - t0 < limit:
        b = busy_cpus()
        if b < 0.15:
            return
    log('bench: machine still busy (%.2f CPUs) after %ds' % (b, limit))


def scenario(args, kind, conns, delay, cache, syslog, knot):
    settle()
    logs0 = syslog.counts() if syslog else (0, 0)
    drops0 = udp_drops()
    d = Daemon(kind, args, args.out)
    try:
        if cache == 'warm' and is_spfpd(kind):
            # the whole corpus, however long it takes (at 20 ms and 10
            # connections, loadgen's default 10 s walked half of it, and
            # the "warm" phase then went upstream for the rest)
            prime = loadgen(args, d.sock, min(100, conns), n=args.domains,
                            duration=0, prefix='prime')
            if prime['requests'] < args.domains:
                log('bench: priming answered %d of %d requests: not warm' %
                    (prime['requests'], args.domains))
            d.mark()
        # upstream queries of the measured phase (after priming): 0 for
        # spfpd warm, whose cache holds the world
        q0 = knot.queries()
        # the first request of each connection is not measured (it starts
        # a peer's process); cold: one walk of the corpus at most, so
        # every domain is new to spfpd
        res = loadgen(args, d.sock, conns, duration=args.duration,
                      n=args.domains - conns if cache == 'cold' else None,
                      prefix='%s%d' % (cache, conns), warm=1)
        q1 = knot.queries()
        res['upstream'] = None if q0 is None or q1 is None else q1 - q0
    finally:
        peak, cpu = d.stop()
    logs1 = syslog.counts() if syslog else (0, 0)
    res.update({'log_lines': logs1[0] - logs0[0],
                'log_lost': logs1[1] - logs0[1],
                'udp_drops': udp_drops() - drops0})
    log('bench: %s: %.0f req/s, p99 %.2f ms, %d UDP datagrams dropped, '
        '%s upstream queries' % (kind, res['rps'], res['p99_ms'],
                                 res['udp_drops'], res['upstream']))
    res.update({'daemon': kind, 'delay_ms': delay, 'cache': cache,
                'peak_rss_mb': peak / 1024.0,
                'cpu_per_1k': cpu / res['requests'] * 1000
                if res['requests'] else float('nan')})
    return res


def callgrind(args):
    """Instructions per request in spfpd, warm cache, no DNS delay: a
    number that does not move with the machine's load."""
    sock = os.path.join(args.out, 'cg.sock')
    conf = os.path.join(args.out, 'cg.conf')
    outf = os.path.join(args.out, 'callgrind.out')
    with open(conf, 'w') as f:
        f.write(spfpd_conf(args, sock, 'no'))
    p = subprocess.Popen(['valgrind', '--tool=callgrind',
                          '--callgrind-out-file=' + outf, args.spfpd, '-c',
                          conf], stdout=subprocess.DEVNULL,
                         stderr=open(os.path.join(args.out, 'cg.log'), 'w'))
    wait_socket(sock, p, timeout=60)
    n = 2000
    loadgen(args, sock, 10, n=min(args.domains, 5000), duration=0,
            prefix='cgprime')
    subprocess.run(['callgrind_control', '-z', str(p.pid)],
                   capture_output=True)
    # all n, however slow valgrind is (loadgen's default stops at 10 s)
    n = loadgen(args, sock, 10, n=n, duration=0, prefix='cg')['requests']
    subprocess.run(['callgrind_control', '-d', str(p.pid)],
                   capture_output=True)
    p.terminate()
    p.wait()
    # the dump after -d has the counts since -z; the file name gets a
    # suffix: take the largest "summary:" of the dumps that ran n requests
    best = None
    for name in os.listdir(args.out):
        if not name.startswith('callgrind.out'):
            continue
        with open(os.path.join(args.out, name)) as f:
            for line in f:
                if line.startswith('summary:') or line.startswith('totals:'):
                    ir = int(line.split()[1])
                    if name != 'callgrind.out' and (best is None or
                                                    ir > best):
                        best = ir
    return None if best is None or not n else best / n


def fmt(x, f='%.1f'):
    if x is None or x != x:
        return 'n/a'
    return f % x


def of_ceiling(r, ceil):
    """r's req/s as a share of the ceiling's (its warm row, at the same
    delay and concurrency), or '' without both."""
    c = ceil.get((r['delay_ms'], r['conns']))
    if not r.get('rps') or not c or not c.get('rps'):
        return ''
    pct = 100.0 * r['rps'] / c['rps']
    return ('%.1f%%' if pct >= 1 else '%.2f%%') % pct


def ceilings(rows):
    return {(r['delay_ms'], r['conns']): r for r in rows
            if r['daemon'] == CEILING and r['cache'] == 'warm'}


def table(rows, args):
    hdr = ('| delay | cache | conns | daemon | req/s | p50 ms | p90 ms | '
           'p99 ms | max ms | errors | peak RSS MB | CPU s/1k req | '
           'log lines lost | upstream queries | spfpd ÷ peer | '
           '% of ceiling |')
    out = [hdr, '|' + '---|' * 16]
    base = {(r['delay_ms'], r['cache'], r['conns']): r for r in rows
            if r['daemon'] == 'spfpd'}
    ceil = ceilings(rows)
    for r in rows:
        s = base.get((r['delay_ms'], r['cache'], r['conns']))
        ratio = ''
        if is_peer(r['daemon']) and s and r.get('rps'):
            ratio = '%.1f×' % (s['rps'] / r['rps'])
        if r.get('skipped'):
            out.append('| %d ms | %s | %d | %s | %s |' % (
                r['delay_ms'], r['cache'], r['conns'], r['daemon'],
                r['skipped'] + ' |' * 11))
            continue
        up = r.get('upstream')
        out.append('| %d ms | %s | %d | %s | %s | %s | %s | %s | %s | %d | '
                   '%s | %s | %s | %s | %s | %s |' % (
                       r['delay_ms'], r['cache'], r['conns'], r['daemon'],
                       fmt(r['rps']), fmt(r['p50_ms'], '%.2f'),
                       fmt(r['p90_ms'], '%.2f'), fmt(r['p99_ms'], '%.2f'),
                       fmt(r['max_ms'], '%.1f'), r['errors'],
                       fmt(r['peak_rss_mb']), fmt(r['cpu_per_1k'], '%.3f'),
                       r.get('log_lost', ''),
                       'n/a' if up is None else '{:,}'.format(up), ratio,
                       of_ceiling(r, ceil) if is_spfpd(r['daemon'])
                       else ''))
    return '\n'.join(out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--spfpd', required=True)
    ap.add_argument('--loadgen', required=True)
    ap.add_argument('--out', required=True)
    ap.add_argument('--duration', type=int, default=10)
    ap.add_argument('--domains', type=int, default=5000)
    ap.add_argument('--conns', default='10,100,1000')
    ap.add_argument('--delays', default='0,20')
    ap.add_argument('--peers', default='pypolicyd-spf,postfix-policyd-spf-perl')
    ap.add_argument('--no-iprev', dest='iprev', action='store_false',
                    help='no spfpd+iprev rows (spfpd with ptr_check = '
                    'header, its default)')
    ap.add_argument('--peer-max-conns', type=int, default=100,
                    help='peers start one process per connection: above '
                    'this they are not run (1,000 Python processes need '
                    '13 GB)')
    ap.add_argument('--nullpolicy', help='tests/bench/nullpolicy, built: '
                    'the ceiling')
    ap.add_argument('--no-ceiling', dest='ceiling', action='store_false',
                    help='no null-policy rows (the ceiling: a policy '
                    'server that answers DUNNO at once)')
    ap.add_argument('--no-callgrind', action='store_true')
    ap.add_argument('--sections', type=int, default=0,
                    help='spfpd.conf ends with this many [recipient = '
                    'ADDRESS] sections that match no request (the cost of '
                    'choosing a section)')
    ap.add_argument('--syslog', help='be syslogd on this socket')
    ap.add_argument('--logsink', help='tests/bench/logsink, built')
    ap.add_argument('--command', default=' '.join(map(shlex.quote,
                                                       sys.argv)))
    args = ap.parse_args()
    if args.ceiling and not args.nullpolicy:
        ap.error('--nullpolicy is needed, unless --no-ceiling')
    args.spfpd = os.path.abspath(args.spfpd)
    args.loadgen = os.path.abspath(args.loadgen)
    if args.nullpolicy:
        args.nullpolicy = os.path.abspath(args.nullpolicy)
    os.makedirs(args.out, exist_ok=True)
    syslog = None
    if args.syslog:
        syslog = Syslog(args.syslog, args.logsink)
    subprocess.run(['/usr/bin/python3', os.path.join(HERE, 'world.py'),
                    '--domains', str(args.domains), '--requests',
                    str(args.domains), '--out',
                    os.path.join(args.out, 'world')], check=True,
                   stdout=subprocess.DEVNULL)
    knot = Knot(args.out, os.path.join(args.out, 'world'))
    proxy = None
    rows = []
    daemons = ([CEILING] if args.ceiling else []) + ['spfpd'] + (
        ['spfpd+iprev'] if args.iprev else []) + [
        p for p in args.peers.split(',') if p]
    try:
        for delay in [int(x) for x in args.delays.split(',')]:
            if proxy:
                proxy.terminate()
                proxy.wait()
                proxy = None
            if delay:
                proxy = subprocess.Popen(
                    ['/usr/bin/python3', os.path.join(HERE, 'delayproxy.py'),
                     '--listen', '127.0.0.2', '--port', '53', '--upstream',
                     '127.0.0.1:53', '--delay-ms', str(delay)],
                    stdout=subprocess.PIPE, text=True)
                proxy.stdout.readline()
                set_resolver('127.0.0.2')
            else:
                set_resolver('127.0.0.1')
            for conns in [int(x) for x in args.conns.split(',')]:
                for cache in ('cold', 'warm'):
                    for kind in daemons:
                        if kind == CEILING and cache == 'cold':
                            # no cache: one run, in the warm rows
                            continue
                        if is_peer(kind) and conns > args.peer_max_conns:
                            rows.append({'daemon': kind, 'delay_ms': delay,
                                         'cache': cache, 'conns': conns,
                                         'skipped': 'not run (one process '
                                         'per connection)'})
                            continue
                        log('bench: %s, %d conns, %d ms, %s' % (
                            kind, conns, delay, cache))
                        try:
                            rows.append(scenario(args, kind, conns, delay,
                                                 cache, syslog, knot))
                        except Exception as e:
                            log('bench: %s failed: %s' % (kind, e))
                            rows.append({'daemon': kind, 'delay_ms': delay,
                                         'cache': cache, 'conns': conns,
                                         'skipped': 'failed: %s' %
                                         str(e)[:80]})
        set_resolver('127.0.0.1')
        if proxy:
            proxy.terminate()
            proxy.wait()
            proxy = None
        ipr = None
        if not args.no_callgrind:
            try:
                ipr = callgrind(args)
            except Exception as e:      # the table is worth more
                log('bench: callgrind failed: %r' % e)
    finally:
        if proxy:
            proxy.terminate()
        knot.stop()
        total_lines = 'none'
        if syslog:
            total_lines = syslog.counts()[0]
            syslog.stop()
    with open(os.path.join(args.out, 'world', 'world.json')) as f:
        world = json.load(f)
    ceiling_text = (
        '  "null-policy" is the ceiling: tests/bench/nullpolicy (C, '
        'epoll, one thread) answers every request with DUNNO as soon as '
        'its empty line arrives, without parsing it, asking DNS or '
        'logging; it has no cache, so it runs once per delay and '
        'concurrency, in the warm rows, and the delay does not reach it.  '
        'It shows what the machine, the load generator and the socket '
        'allow.  "% of ceiling": the row\'s req/s as a share of '
        'null-policy\'s at the same delay and concurrency (its warm row, '
        'for the cold rows as well); the rest, up to 100%, is what '
        'spfpd\'s work costs.')
    text = ['# spfpd benchmark', '',
            'Command: `%s`' % args.command, '',
            'Machine: %s, %d CPUs, %s; %s' % (
                platform.node(), os.cpu_count(), platform.platform(),
                time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())), '',
            'World: %s' % json.dumps(world), '',
            'Each request is a new message (fresh instance); %d s per '
            'scenario; the same policy everywhere (refuse SPF fail, '
            'prepend the rest; spfpd with ptr_check = no, spfpd+iprev with '
            'ptr_check = header, its default, adding a PTR and a forward '
            'lookup per client). Peers run one '
            'process per connection as spawn(8) starts them; their RSS and '
            'CPU are those of all their processes. Every daemon logs to '
            'syslog: a /dev/log read by tests/bench/logsink (C, '
            'recvmmsg), with net.unix.max_dgram_qlen 512 as systemd sets '
            'it; %s lines in all.  "log lines lost": lines spfpd counted '
            'and reported lost because the socket was full (it never '
            'waits for syslogd; the peers block in syslog(3)).  '
            '"upstream queries": questions knotd was asked during the '
            'measured phase (its mod-stats counters), after priming in '
            'the warm rows: 0 for spfpd warm, whose cache holds the '
            'world; the peers have no cache across messages.%s' % (
                args.duration, total_lines, ceiling_text if args.ceiling
                else ''),
            '',
            table(rows, args), '']
    if ipr is not None:
        line = ('spfpd instructions per request (callgrind, warm cache, '
                '10 connections): %.0f' % ipr)
        # the same scenario's req/s against the ceiling's, if both ran
        warm10 = [r for r in rows if r['daemon'] == 'spfpd' and
                  r['cache'] == 'warm' and r['conns'] == 10 and
                  r['delay_ms'] == 0]
        pct = of_ceiling(warm10[0], ceilings(rows)) if warm10 else ''
        if pct:
            line += ('; spfpd warm, 10 connections, 0 ms: %s of the '
                     'ceiling\'s req/s' % pct)
        text += [line, '']
    report = '\n'.join(text)
    with open(os.path.join(args.out, 'results.md'), 'w') as f:
        f.write(report)
    with open(os.path.join(args.out, 'results.json'), 'w') as f:
        json.dump(rows, f, indent=1)
    print(report)


if __name__ == '__main__':
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    main()
