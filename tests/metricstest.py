#!/usr/bin/python3
"""metricstest.py - spfpd's Prometheus endpoint (metrics_listen).

    /usr/bin/python3 tests/metricstest.py --spfpd build/spfpd --log FILE

  promtool     after requests of every kind (knotd on loopback for the SPF
               results), GET /metrics: Content-Type, the counters of
               those requests, and "promtool check metrics" (Debian's
               prometheus package) finds nothing to say about the text;
               HEAD, 404, 501, headers over 8 kB refused
  outcomes     test_only's held-back refusals; a DNS timeout, temperror
  unix         the endpoint on a UNIX socket (socket_mode, removed at exit)
  prometheus   a real Prometheus server on loopback scrapes spfpd every
               second; a counter of known requests is read back through
               its HTTP API (/api/v1/query), query and answer in the log
  hostile      many HTTP clients that send nothing or half a header, more
               than the bound: policy answers stay prompt, spfpd never
               holds more than 16 of them, the idle ones are dropped
               after the timeout, a trickling one after the lifetime, a
               client over the bound waits, and /metrics works again
  emfile       out of descriptors on the metrics listener: spfpd pauses
               accepting instead of spinning, and recovers
  config       spfpd -p prints metrics_listen, a bad value is a file:line
               error, a reload that changes it says it needs a restart

Everything listens on 127.0.0.1 (or a UNIX socket in the temporary
directory) on ports picked here; every process started is stopped,
whatever happens.  The last line is "metrics: N passed, M failed".
"""
import http.client
import json
import os
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (Fail, Skip, Suite, arg_parser,  # noqa: E402
                     check, free_port, stop_process, wait_until)

MAX_CONNS = 16                  # METRICS_MAX_CONNS (metrics_http.h)
TIMEOUT = 5                     # METRICS_TIMEOUT
LIFETIME = 10                   # METRICS_LIFETIME
CTYPE = 'text/plain; version=0.0.4; charset=utf-8'

ZONES = {
    'pass.test': ['@ TXT "v=spf1 ip4:192.0.2.0/24 -all"'],
    'fail.test': ['@ TXT "v=spf1 -all"'],
    'soft.test': ['@ TXT "v=spf1 ~all"'],
    'none.test': ['@ A 192.0.2.99'],
    'perm.test': ['@ TXT "v=spf1 foo:bar -all"'],
    'helo.test': ['@ TXT "v=spf1 ip4:192.0.2.0/24 -all"'],
}


class Ctx(Suite):
    def __init__(self, spfpd, logf):
        Suite.__init__(self, 'metrics', spfpd, logf,
                       tmp=tempfile.mkdtemp(prefix='metricstest-'))
        self.knot = None
        self.procs = []         # other processes of the test (prometheus)

    def cleanup(self):
        for p in self.procs:
            stop_process(p, timeout=10)
        self.procs = []
        Suite.cleanup(self)

    def start(self, metrics=None, extra='', **kw):
        """spfpd with metrics_listen (a fresh loopback port unless
        given); (daemon, 'host:port' or the path)"""
        if metrics is None:
            metrics = 'inet:127.0.0.1:%d' % free_port()
        opts = {'user': '', 'skip_addresses': '198.51.100.0/24',
                'whitelist': '203.0.113.0/24', 'ptr_check': 'header',
                'dns_timeout': '300ms', 'dns_tries': '1',
                'metrics_listen': metrics,
                'dns_servers': '127.0.0.1:%d' % (self.knot.port if
                                                 self.knot else 9)}
        d = self.daemon(opts, extra, **kw)
        return d, metrics.split(':', 1)[1]


def get(addr, path='/metrics', method='GET', timeout=10):
    """(status, headers, body text) of one request to addr: host:port or
    /path of a UNIX socket."""
    if addr.startswith('/'):
        s = socket.socket(socket.AF_UNIX)
        s.settimeout(timeout)
        s.connect(addr)
        s.sendall(('%s %s HTTP/1.0\r\n\r\n' % (method, path)).encode())
        data = b''
        while True:
            d = s.recv(65536)
            if not d:
                break
            data += d
        s.close()
        head, _, body = data.partition(b'\r\n\r\n')
        lines = head.decode().split('\r\n')
        hdrs = dict(h.split(': ', 1) for h in lines[1:])
        return int(lines[0].split()[1]), hdrs, body.decode()
    host, port = addr.rsplit(':', 1)
    c = http.client.HTTPConnection(host.strip('[]'), int(port),
                                   timeout=timeout)
    try:
        c.request(method, path)
        r = c.getresponse()
        return r.status, dict(r.getheaders()), r.read().decode()
    finally:
        c.close()


def samples(text):
    """{'name{labels}': value} of an exposition text"""
    out = {}
    for line in text.splitlines():
        if line and not line.startswith('#'):
            k, v = line.rsplit(' ', 1)
            out[k] = float(v)
    return out


# ----- promtool -----

def t_promtool(ctx):
    if not os.path.exists('/usr/bin/promtool'):
        raise Skip('no promtool (Debian package prometheus)')
    d, addr = ctx.start()
    # the readiness probe of the harness was a connection too
    conns0 = samples(get(addr)[2])['spfpd_connections_total']
    c = d.connect()
    helo = {'helo': 'helo.test'}
    asks = [
        ('192.0.2.1', 'a@pass.test', {}),               # pass, prepend
        ('192.0.2.1', 'a@fail.test', {}),               # fail, reject
        ('192.0.2.1', 'a@soft.test', {}),               # softfail
        ('192.0.2.1', 'a@none.test', {}),               # none
        ('192.0.2.1', 'a@perm.test', {}),               # permerror
        ('198.51.100.7', 'a@fail.test', {}),            # skip_addresses
        ('203.0.113.9', 'a@fail.test', {}),             # whitelist
        ('192.0.2.1', 'a@pass.test', {'protocol_state': 'CONNECT',
                                      'sender': ''}),   # a session stage
    ]
    for ip, sender, attrs in asks:
        c.ask(ip, sender, **dict(helo, **attrs))
    c.ask('192.0.2.1', 'a@pass.test', instance='same', **helo)
    c.ask('192.0.2.1', 'a@pass.test', instance='same', rcpt='v@dest.test',
          **helo)                                        # repeat
    c.close()
    st, hdrs, text = get(addr)
    ctx.logf.write('--- /metrics after the requests:\n%s---\n' % text)
    check(st == 200, 'GET /metrics: %d' % st)
    check(hdrs.get('Content-Type') == CTYPE, 'Content-Type %r' %
          hdrs.get('Content-Type'))
    p = subprocess.run(['promtool', 'check', 'metrics'], input=text,
                       capture_output=True, text=True, timeout=60)
    ctx.logf.write('promtool check metrics: exit %d, output %r\n' %
                   (p.returncode, p.stdout + p.stderr))
    check(p.returncode == 0 and not (p.stdout + p.stderr).strip(),
          'promtool check metrics: exit %d: %s' % (
              p.returncode, (p.stdout + p.stderr).strip()[:300]))
    s = samples(text)
    want = {
        'spfpd_requests_total{protocol_state="RCPT"}': 9,
        'spfpd_requests_total{protocol_state="CONNECT"}': 1,
        'spfpd_decisions_total{identity="mailfrom",result="pass",'
        'action="prepend"}': 2,
        'spfpd_decisions_total{identity="mailfrom",result="fail",'
        'action="reject"}': 1,
        'spfpd_decisions_total{identity="mailfrom",result="softfail",'
        'action="prepend"}': 1,
        'spfpd_decisions_total{identity="mailfrom",result="permerror",'
        'action="prepend"}': 1,
        'spfpd_decisions_total{identity="none",result="skipped",'
        'action="dunno"}': 2,
        'spfpd_decisions_total{identity="none",result="repeat",'
        'action="dunno"}': 1,
        'spfpd_decisions_total{identity="helo",result="pass",'
        'action="dunno"}': 1,
        'spfpd_skips_total{reason="skip_addresses"}': 1,
        'spfpd_skips_total{reason="whitelist"}': 1,
        # the refusal's recipient domain has no MX: nothing lifted
        'spfpd_overrides_total{by="mx"}': 0,
        'spfpd_overrides_total{by="dnswl"}': 0,
        'spfpd_decision_duration_seconds_count': 10,
        'spfpd_decision_duration_seconds_bucket{le="+Inf"}': 10,
        'spfpd_connections_total': conns0 + 1,
        'spfpd_connections_open': 0,
        'spfpd_build_info{version="0.1.0"}': 1,
    }
    # none.test: "none" for MAIL FROM, the HELO's pass is named instead
    bad = ['%s = %s, not %s' % (k, s.get(k), v) for k, v in want.items()
           if s.get(k) != v]
    check(not bad, '; '.join(bad))
    iprev = sum(v for k, v in s.items() if k.startswith('spfpd_iprev_'))
    check(iprev == 7, 'iprev results counted %s times, not 7' % iprev)
    check(s['spfpd_dns_questions_total'] > 0 and
          s['spfpd_dns_upstream_queries_total{type="TXT"}'] >= 5 and
          s['spfpd_dns_upstream_queries_total{type="PTR"}'] >= 1 and
          s['spfpd_dns_upstream_duration_seconds_count'] ==
          sum(v for k, v in s.items()
              if k.startswith('spfpd_dns_upstream_queries_total')),
          'DNS counters: %s' % {k: v for k, v in s.items() if 'dns' in k})
    # HEAD, other paths, other methods
    st, hdrs, body = get(addr, method='HEAD')
    check(st == 200 and body == '' and hdrs.get('Content-Type') == CTYPE,
          'HEAD /metrics: %d %r' % (st, body[:40]))
    st, _, _ = get(addr, path='/')
    check(st == 404, 'GET /: %d, not 404' % st)
    st, _, _ = get(addr, method='POST')
    check(st in (405, 501), 'POST /metrics: %d' % st)
    # headers over 8 kB: refused, not read on
    host, port = addr.rsplit(':', 1)
    s = socket.create_connection((host, int(port)), timeout=10)
    s.sendall(b'GET /metrics HTTP/1.1\r\nX-Big: ' + b'a' * 10000 +
              b'\r\n\r\n')
    r = b''
    try:
        while True:
            x = s.recv(65536)
            if not x:
                break
            r += x
    except ConnectionResetError:
        pass
    s.close()
    check(not r.startswith(b'HTTP/1.1 200'), 'a 10 kB header was served')
    ctx.logf.write('10 kB header: %r\n' % r[:40])
    d.stop()


def t_outcomes(ctx):
    """test_only's held-back refusals, DNS timeouts and temperror"""
    d, addr = ctx.start(extra='test_only = yes\nptr_check = no\n')
    c = d.connect()
    check(c.ask('192.0.2.1', 'a@fail.test').startswith('PREPEND '),
          'test_only: not a header')
    c.close()
    s = samples(get(addr)[2])
    d.stop()
    check(s['spfpd_test_only_would_reject_total'] == 1 and
          s.get('spfpd_decisions_total{identity="mailfrom",result="fail",'
                'action="prepend"}') == 1,
          'test_only: %s' % {k: v for k, v in s.items()
                             if 'decisions' in k or 'test_only' in k})
    d, addr = ctx.start(extra='dns_servers = %s\nptr_check = no\n'
                        'helo_reject = no_check\n' % ctx.dead_dns())
    check(d.connect().ask('192.0.2.1', 'a@pass.test').startswith(
        'PREPEND Received-SPF: temperror'), 'no temperror')
    s = samples(get(addr)[2])
    d.stop()
    check(s['spfpd_dns_timeouts_total'] >= 1 and
          s['spfpd_dns_upstream_duration_seconds_sum'] >= 0.2 and
          s.get('spfpd_decisions_total{identity="mailfrom",'
                'result="temperror",action="prepend"}') == 1,
          'temperror: %s' % {k: v for k, v in s.items()
                             if 'timeouts' in k or 'temperror' in k or
                             'upstream_duration_seconds_sum' in k})


def t_unix(ctx):
    path = os.path.join(ctx.tmp, 'metrics.sock')
    d, addr = ctx.start('unix:' + path, 'socket_mode = 0660\n')
    check(os.stat(path).st_mode & 0o777 == 0o660, 'socket mode %o' %
          (os.stat(path).st_mode & 0o777))
    d.connect().ask('198.51.100.1', 'a@example.com')
    st, hdrs, text = get(addr)
    check(st == 200 and hdrs.get('Content-Type') == CTYPE, 'status %d' % st)
    check(samples(text).get('spfpd_skips_total{reason="skip_addresses"}')
          == 1, 'skip not counted')
    d.stop()
    check(not os.path.exists(path), 'socket file left at exit')


# ----- a real Prometheus -----

def http_json(url, timeout=5):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return json.loads(r.read().decode())


def t_prometheus(ctx):
    if not os.path.exists('/usr/bin/prometheus'):
        raise Skip('no prometheus (Debian package prometheus)')
    d, addr = ctx.start()
    pport = free_port()
    pdir = os.path.join(ctx.tmp, 'prometheus')
    os.makedirs(pdir)
    conf = os.path.join(pdir, 'prometheus.yml')
    with open(conf, 'w') as f:
        f.write('global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n'
                'scrape_configs:\n  - job_name: spfpd\n'
                '    static_configs:\n      - targets: [\'%s\']\n' % addr)
    plog = open(os.path.join(pdir, 'prometheus.log'), 'w')
    p = subprocess.Popen(
        ['prometheus', '--config.file=' + conf,
         '--storage.tsdb.path=' + os.path.join(pdir, 'data'),
         '--web.listen-address=127.0.0.1:%d' % pport],
        stdout=plog, stderr=subprocess.STDOUT, cwd=pdir)
    ctx.procs.append(p)
    base = 'http://127.0.0.1:%d' % pport

    def ready():
        check(p.poll() is None, 'prometheus exited %s' % p.returncode)
        try:
            with urllib.request.urlopen(base + '/-/ready', timeout=2) as r:
                return r.status == 200
        except OSError:
            return False
    wait_until(ready, 60, 'prometheus to be ready', interval=0.2)
    # known requests: 7 from a whitelisted client, decided without DNS
    c = d.connect()
    for i in range(7):
        check(c.ask('203.0.113.%d' % (i + 1), 'a@example.com') == 'DUNNO',
              'whitelisted client not DUNNO')
    c.close()
    query = 'spfpd_skips_total{reason="whitelist"}'
    url = base + '/api/v1/query?' + urllib.parse.urlencode({'query': query})
    last = [None]

    def answered():
        try:
            a = http_json(url)
        except OSError:
            return None
        last[0] = a
        res = a.get('data', {}).get('result', [])
        return a if res and res[0]['value'][1] == '7' else None
    try:
        a = wait_until(answered, 60, 'prometheus to show the counter',
                       interval=0.5)
    except Fail as e:
        raise Fail('%s; last answer %s' % (e, json.dumps(last[0])))
    line = 'prometheus: GET /api/v1/query?query=%s -> %s' % (
        query, json.dumps(a, sort_keys=True))
    ctx.logf.write(line + '\n')
    ctx.note(line)
    # and the target is healthy (its scrapes parse)
    t = http_json(base + '/api/v1/targets')
    health = [x['health'] for x in t['data']['activeTargets']]
    check(health == ['up'], 'target health %s: %s' % (
        health, [x.get('lastError') for x in t['data']['activeTargets']]))
    stop_process(p, timeout=10)
    check(p.returncode == 0, 'prometheus exited %s' % p.returncode)
    d.stop()


# ----- hostile clients -----

def accepted(pid, port):
    """How many TCP connections on port spfpd holds: rows of
    /proc/net/tcp (established, local port port) whose socket is among
    spfpd's descriptors.  Read in that order, each socket counted was
    accepted before the rows were read and still open when the
    descriptors were: all were open at once, whatever changed during the
    two reads (one alone is not a snapshot).  Sockets still in the
    listen queue have no descriptor, nor an inode in the rows."""
    rows = set()
    with open('/proc/net/tcp') as f:
        for line in f.readlines()[1:]:
            fl = line.split()
            if int(fl[1].split(':')[1], 16) == port and fl[3] == '01':
                rows.add('socket:[%s]' % fl[9])
    n = 0
    fds = '/proc/%d/fd' % pid
    for fd in os.listdir(fds):
        try:
            if os.readlink(os.path.join(fds, fd)) in rows:
                n += 1
        except OSError:
            pass                # closed meanwhile
    return n


def t_hostile(ctx):
    d, addr = ctx.start()
    port = int(addr.rsplit(':', 1)[1])
    opened = []

    def conn():
        s = socket.create_connection(('127.0.0.1', port), timeout=5)
        opened.append(s)
        return s
    peak = [0]
    stop = threading.Event()

    def watch():
        while not stop.is_set():
            peak[0] = max(peak[0], accepted(d.pid, port))
            time.sleep(0.02)
    w = threading.Thread(target=watch)
    w.start()
    try:
        # one trickler first (accepted first): a byte every 0.5 s
        trick = conn()
        t0 = time.monotonic()
        trick_closed = [None]

        def trickle():
            for b in b'GET /metrics HTTP/1.1\r\nX-' + b'a' * 200:
                try:
                    trick.send(bytes([b]), socket.MSG_NOSIGNAL)
                except OSError:
                    trick_closed[0] = time.monotonic() - t0
                    return
                time.sleep(0.5)
        th = threading.Thread(target=trickle)
        th.start()
        wait_until(lambda: accepted(d.pid, port) >= 1, 5,
                   'the trickler accepted')
        # 40 more: half a header, or nothing at all
        hostile = []
        t_open = time.monotonic()
        for i in range(40):
            s = conn()
            if i % 2 == 0:
                s.sendall(b'GET /metrics HTTP/1.1\r\nHost: x\r\n')
            hostile.append(s)
        wait_until(lambda: accepted(d.pid, port) >= MAX_CONNS, 5,
                   '%d metrics connections accepted' % MAX_CONNS)
        # a well-behaved client over the bound waits in the queue
        waiter = conn()
        waiter.sendall(b'GET /metrics HTTP/1.0\r\n\r\n')
        waiter.settimeout(2)
        try:
            early = waiter.recv(100)
        except socket.timeout:
            early = None
        check(early is None, 'a client over the bound was served at once '
              '(%r)' % early)
        # policy answers stay prompt meanwhile
        c = d.connect()
        worst = 0
        for i in range(100):
            t = time.monotonic()
            r = c.ask('198.51.100.%d' % (i % 250 + 1), 'a@example.com')
            worst = max(worst, time.monotonic() - t)
            check(r == 'DUNNO', 'reply %r' % r)
        c.close()
        check(worst < 1.0, 'a policy answer took %.3fs' % worst)
        ctx.note('hostile: 100 policy answers with 41 hostile HTTP clients '
                 'connected, slowest %.1f ms' % (worst * 1000))
        # the first idle ones are dropped after the timeout
        first = hostile[:MAX_CONNS - 1]
        for s in first:
            s.settimeout(TIMEOUT + 4)
        for s in first:
            try:
                while s.recv(4096):
                    pass
            except socket.timeout:
                raise Fail('an idle metrics client was not dropped within '
                           '%ds' % (TIMEOUT + 4))
            except ConnectionResetError:
                pass
        ctx.note('hostile: the first %d idle clients dropped %.1fs after '
                 'they connected (timeout %ds)' % (
                     len(first), time.monotonic() - t_open, TIMEOUT))
        # the trickler: dropped at the lifetime, though it sends
        th.join(LIFETIME + 10)
        check(trick_closed[0] is not None and
              trick_closed[0] < LIFETIME + 4,
              'the trickling client was not dropped by its lifetime '
              '(%s)' % trick_closed[0])
        # the waiter is served once its turn comes
        waiter.settimeout(3 * (TIMEOUT + 2))
        data = b''
        try:
            while True:
                x = waiter.recv(65536)
                if not x:
                    break
                data += x
        except socket.timeout:
            pass
        check(data.startswith(b'HTTP/1.1 200') or
              data.startswith(b'HTTP/1.0 200'),
              'the waiting client got %r' % data[:60])
        for s in hostile:
            s.close()
        # all gone: /metrics at once, and the bound held throughout
        wait_until(lambda: accepted(d.pid, port) == 0, 3 * (TIMEOUT + 2),
                   'the metrics connections to close')
        st, _, text = get(addr, timeout=3)
        check(st == 200 and 'spfpd_build_info' in text,
              '/metrics after the storm: %d' % st)
    finally:
        stop.set()
        w.join()
        for s in opened:
            s.close()
    check(peak[0] <= MAX_CONNS, 'spfpd held %d metrics connections at '
          'once (bound %d)' % (peak[0], MAX_CONNS))
    check(peak[0] == MAX_CONNS, 'the bound was never reached (%d)' %
          peak[0])
    ctx.note('hostile: at most %d metrics connections accepted at once, '
             'of 42 opened' % peak[0])
    d.wait_log('metrics: %d connections open: not accepting' % MAX_CONNS)
    d.stop()


def cpu_seconds(pid):
    with open('/proc/%d/stat' % pid) as f:
        fl = f.read().rsplit(')', 1)[1].split()
    return (int(fl[11]) + int(fl[12])) / os.sysconf('SC_CLK_TCK')


def t_emfile(ctx):
    # the descriptors spfpd uses without clients, then room for 3 more
    d, _ = ctx.start()
    base = len(os.listdir('/proc/%d/fd' % d.pid))
    d.stop()
    limit = base + 3

    def low_nofile():
        resource.setrlimit(resource.RLIMIT_NOFILE, (limit, limit))
    d, addr = ctx.start(preexec_fn=low_nofile)
    port = int(addr.rsplit(':', 1)[1])
    socks = [socket.create_connection(('127.0.0.1', port), timeout=5)
             for _ in range(10)]
    try:
        d.wait_log('metrics: accept: Too many open files: pausing accept')
        cpu0 = cpu_seconds(d.pid)
        time.sleep(3)
        cpu = cpu_seconds(d.pid) - cpu0
        check(cpu < 0.5, 'spfpd used %.2fs of CPU in 3s out of '
              'descriptors: spinning' % cpu)
        ctx.note('emfile: %.2fs CPU in 3s with the metrics listener out of '
                 'descriptors' % cpu)
        # the policy service still answers
        check(d.connect().ask('198.51.100.1', 'a@x.example') == 'DUNNO',
              'policy answer')
    finally:
        for s in socks:
            s.close()
    # once they are gone, /metrics works again
    wait_until(lambda: get(addr, timeout=3)[0] == 200, 20,
               '/metrics to work again')
    d.stop()


# ----- the option -----

def t_config(ctx):
    conf = os.path.join(ctx.tmp, 'bad.conf')
    with open(conf, 'w') as f:
        f.write('# bad\nmetrics_listen = tcp:127.0.0.1:9\n')
    p = ctx.command(['-n', '-c', conf])
    check(p.returncode == 1 and '%s:2: metrics_listen: ' % conf in p.stderr,
          'spfpd -n: %d %r' % (p.returncode, p.stderr))
    with open(conf, 'w') as f:
        f.write('metrics_listen = inet:[::1]:9045\n')
    p = ctx.command(['-p', '-c', conf])
    check('metrics_listen = inet:[::1]:9045\n' in p.stdout, 'spfpd -p: %r'
          % p.stdout)
    # a reload that changes it: logged, the endpoint stays where it was
    d, addr = ctx.start()
    with open(d.cmd[d.cmd.index('-c') + 1], 'a') as f:
        f.write('# edited\n')
    d.signal(signal.SIGHUP)
    d.wait_log('reloaded configuration')
    conf = d.cmd[d.cmd.index('-c') + 1]
    with open(conf) as f:
        text = f.read()
    with open(conf, 'w') as f:
        f.write(text.replace(addr, '127.0.0.1:%d' % free_port()))
    d.signal(signal.SIGHUP)
    d.wait_log('reload: metrics_listen changed: the new address takes '
               'effect at the next start')
    with open(conf, 'a') as f:
        f.write('no equals sign\n')
    d.signal(signal.SIGHUP)
    d.wait_log('reload: errors in')
    s = samples(get(addr)[2])
    check(s['spfpd_config_reloads_total{result="ok"}'] == 2 and
          s['spfpd_config_reloads_total{result="failed"}'] == 1,
          'reload counters %s' % {k: v for k, v in s.items()
                                  if 'reload' in k})
    d.stop()


TESTS = [
    ('config', t_config),
    ('promtool', t_promtool),
    ('outcomes', t_outcomes),
    ('unix', t_unix),
    ('prometheus', t_prometheus),
    ('hostile', t_hostile),
    ('emfile', t_emfile),
]


def main():
    args = arg_parser(__doc__).parse_args()
    ctx = Ctx(args.spfpd, open(args.log, 'a'))
    return ctx.run_with_knot(ZONES, TESTS, only=args.only)


if __name__ == '__main__':
    # SIGPIPE stays ignored (Python's default): a write to a socket spfpd
    # closed is an exception, and the test's processes are still stopped
    sys.exit(main())
